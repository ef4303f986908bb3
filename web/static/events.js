// The event log's live tail: connects to /ws with the page's filters,
// resumes after the newest event rendered, puts new events at the top,
// pauses and resumes, reconnects with backoff from the last id seen, and
// reloads the page when the server says the gap cannot be filled.
//
// Frames are only queued as they arrive; once per animation frame the
// queue is drawn in one go (at most data-limit rows, the newest, and the
// table cut to data-limit), with the counts per severity and the rate
// sparkline, so that thousands of events a second stay one short task a
// frame. Long tasks are kept in window.mailnetLongTasks for the load tool.
(function () {
  "use strict";
  window.mailnetLongTasks = [];
  if (window.PerformanceObserver) {
    try {
      new PerformanceObserver(function (list) {
        list.getEntries().forEach(function (e) {
          if (window.mailnetLongTasks.length < 10000) window.mailnetLongTasks.push({ start: e.startTime, duration: e.duration });
        });
      }).observe({ type: "longtask", buffered: true });
    } catch (e) { /* no longtask timing in this browser */ }
  }
  var bar = document.getElementById("events-live");
  if (!bar || bar.dataset.live !== "true" || !window.WebSocket) return;
  var rows = document.getElementById("events-rows");
  var status = document.getElementById("events-status");
  var pauseBtn = document.getElementById("events-pause");
  var pendingEl = document.getElementById("events-pending");
  var limit = parseInt(bar.dataset.limit, 10) || 150;
  // At most DRAW new rows are drawn a frame (the newest): a frame's style,
  // layout and paint grow with the rows it adds, and nobody reads more
  // than that in a sixtieth of a second. The rest still count. While
  // events come faster than that, the table also keeps only what fits
  // the screen (paint grows with the rows kept): rows below it would be
  // pushed out within the second anyway.
  var DRAW = Math.min(limit, parseInt(bar.dataset.draw, 10) || 10);
  // While overrun, a redraw puts only the newest OVERRUN_DRAW on top, 12
  // rows a second, about what one can read; the counts and the sparkline
  // carry the rate, and the page says it is sampling. Adding 3 rows
  // instead of 10 took a redraw from 34 to 24 ms of the main thread's
  // CPU (median in Chromium's timeline at 5,000 events/s).
  var OVERRUN_DRAW = Math.min(DRAW, parseInt(bar.dataset.overrunDraw, 10) || 3);
  var sampledEl = document.getElementById("events-sampled");
  // The rows the log's box shows (it scrolls inside the page), plus one:
  // each row kept is moved down by every redraw.
  var rowH = 0, wrap = rows.closest(".table-wrap");
  function screenRows() {
    if (!rowH) rowH = (rows.rows[0] && rows.rows[0].offsetHeight) || 20;
    var h = (wrap && wrap.clientHeight) || innerHeight;
    return Math.max(30, Math.min(limit, Math.ceil(h / rowH) + 1));
  }
  window.addEventListener("resize", function () { rowH = 0; });
  var keep = (bar.dataset.severities || "").split(",").filter(Boolean);
  var counts = {};
  ["info", "warning", "error"].forEach(function (sev) {
    var c = document.getElementById("events-n-" + sev);
    counts[sev] = { el: c, n: c ? parseInt(c.textContent, 10) || 0 : 0 };
  });
  var spark = document.querySelector("#events-spark polyline");
  var rateEl = document.getElementById("events-rate");
  var SPARK_S = 60, perSec = [], secNow = Math.floor(Date.now() / 1000);
  for (var i = 0; i < SPARK_S; i++) perSec.push(0);
  var queue = [], frame = 0, received = 0;
  var lastId = parseInt(bar.dataset.afterId, 10) || 0;
  var help = {};
  document.querySelectorAll("#event-help [data-event-id]").forEach(function (el) {
    help[el.dataset.eventId] = el.dataset.short;
  });
  var ws = null, delay = 500, retryTimer = 0, tick = 0;
  var paused = false, pending = [], overflowed = false;

  function setState(state, text) {
    status.dataset.state = state;
    status.textContent = text;
  }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function link(href, text, title) {
    var a = el("a", "", text);
    a.href = href;
    if (title) a.title = title;
    return a;
  }

  function isRequestor(s) {
    var i = s.indexOf("/");
    return i > 0 && i < s.length - 1;
  }

  // fieldsText mirrors views.FieldsText: "from: a · to: b", the usual
  // fields first, then the others by name, without the field skip.
  function fieldsText(f, skip) {
    var keys = ["from", "to", "remote_address", "connector"];
    Object.keys(f).sort().forEach(function (k) {
      if (keys.indexOf(k) < 0) keys.push(k);
    });
    var parts = [];
    keys.forEach(function (k) {
      if (f[k] && k !== skip) parts.push(k + ": " + f[k]);
    });
    return parts.join(" · ");
  }

  // row mirrors views.EventRow.
  function row(d) {
    var tr = el("tr", "ev sev-" + d.severity + " ev-new");
    tr.dataset.id = d.id;
    // The pages' one date format (views.DateLayout): d.time is UTC.
    var t = el("time", "", String(d.time).replace("T", " ").slice(0, 19) + " UTC");
    t.title = "just now";
    t.setAttribute("datetime", d.time);
    var td = el("td", "nowrap");
    td.appendChild(t);
    tr.appendChild(td);

    td = el("td", "clip");
    if (d.server_id) {
      td.appendChild(link("/servers/" + d.server_id, d.server));
    } else if (isRequestor(d.server)) {
      td.appendChild(link("/dirsync", d.server, "dir-sync requestor"));
    } else {
      td.appendChild(document.createTextNode(d.server));
      if (d.unknown_server) td.appendChild(el("span", "badge warn", "unknown"));
    }
    tr.appendChild(td);
    tr.appendChild(el("td", "clip", d.source));

    td = el("td", "num");
    if (help[d.event_id]) {
      var a = link("#event-" + d.event_id, d.event_id, help[d.event_id]);
      a.className = "evid";
      td.appendChild(a);
    } else {
      td.textContent = d.event_id;
    }
    tr.appendChild(td);
    tr.appendChild(el("td", "clip", d.category));
    td = el("td");
    td.appendChild(el("span", "badge sev " + d.severity, d.severity));
    tr.appendChild(td);

    // One text node for the description and one for the fields: a row's
    // style, layout and paint grow with its elements (views.FieldsText).
    td = el("td", "desc", d.description);
    if (d.subject) {
      var sub = el("span", "subject", "Subject: ");
      sub.title = "ReqTx and SrvTx subjects are explained below the log";
      sub.appendChild(el("code", "", d.subject));
      td.appendChild(sub);
    }
    var f = d.fields || {};
    var fs = fieldsText(f, "connector");
    if (fs) td.appendChild(el("span", "ev-fields", fs));
    if (f.connector) {
      // views.ConnectorHref
      var href = d.server_id ? "/x400?server_id=" + d.server_id + "&status=all" : "/x400";
      var c = link(href, "connector " + f.connector, "the X.400 check of this server's connectors");
      c.className = "ev-link";
      td.appendChild(c);
    }
    var all = fieldsText(f);
    td.title = all ? d.description + "\n" + all : d.description;
    tr.appendChild(td);
    return tr;
  }

  // roll moves the per-second counts on to now.
  function roll() {
    var now = Math.floor(Date.now() / 1000);
    var steps = Math.min(now - secNow, SPARK_S);
    for (var i = 0; i < steps; i++) {
      perSec.shift();
      perSec.push(0);
    }
    if (now > secNow) secNow = now;
  }

  // drawStats writes the counts and redraws the sparkline of events per
  // second over the last minute, the current second last.
  function drawStats() {
    roll();
    Object.keys(counts).forEach(function (sev) {
      var c = counts[sev];
      if (c.el && c.el.textContent !== String(c.n)) c.el.textContent = String(c.n);
    });
    if (spark) {
      var top = 1;
      perSec.forEach(function (v) { if (v > top) top = v; });
      var pts = [];
      for (var i = 0; i < perSec.length; i++) {
        pts.push(i + "," + (19 - (perSec[i] / top) * 18).toFixed(1));
      }
      spark.setAttribute("points", pts.join(" "));
    }
    if (rateEl) rateEl.textContent = String(perSec[perSec.length - 2] || 0);
  }

  // mailnetFlush: how long the script's own part of each frame took.
  var stats = window.mailnetFlush = { frames: 0, ms: 0, max: 0, rows: 0 };
  function flush() {
    var t0 = performance.now();
    frame = 0;
    var list = queue;
    queue = [];
    lastDraw = t0;
    var was = overrun;
    overrun = list.length > DRAW;
    // While overrun every row is its own layer: a redraw moves the rows
    // kept down by the rows it adds, and a moved layer is composited
    // again where a moved row of the page's layer is painted again (the
    // paint of a redraw went from 6 to 1.3 ms, its median CPU from 18 to
    // 11 ms).
    if (overrun !== was) rows.classList.toggle("overrun", overrun);
    if (!paused) show(overrun ? list.slice(list.length - OVERRUN_DRAW) : list, overrun ? screenRows() : limit);
    var note = overrun && !paused ? "too fast to list every event: the newest " + OVERRUN_DRAW + " every ¼ s (Pause to read)" : "";
    if (sampledEl && sampledEl.textContent !== note) sampledEl.textContent = note;
    drawStats();
    var d = performance.now() - t0;
    stats.frames++;
    stats.ms += d;
    stats.rows += list.length;
    if (d > stats.max) stats.max = d;
  }

  // While events come faster than a frame draws them (overrun), the
  // table is redrawn at most every OVERRUN_MS: nobody reads thousands of
  // rows a second, and a frame of the table costs the page 10-20 ms of
  // style, layout and paint, which at 60 frames a second would leave the
  // page no time for anything else.
  var OVERRUN_MS = 250, lastDraw = 0, overrun = false;
  function schedule() {
    if (frame) return;
    var wait = overrun ? lastDraw + OVERRUN_MS - performance.now() : 0;
    if (wait > 0) {
      frame = setTimeout(function () { frame = requestAnimationFrame(flush); }, wait);
      return;
    }
    frame = requestAnimationFrame(flush);
  }

  // show puts list (oldest first) on top and cuts the table to keep rows.
  function show(list, keep) {
    if (!list.length) return;
    var empty = document.getElementById("events-empty");
    if (empty) empty.remove();
    var frag = document.createDocumentFragment();
    for (var i = list.length - 1; i >= 0; i--) frag.appendChild(row(list[i]));
    rows.insertBefore(frag, rows.firstChild);
    var n = rows.rows.length;
    while (n > (keep || limit)) rows.deleteRow(--n);
    rows.dataset.received = String(received);
  }

  function onFrame(f) {
    if (f.type === "resync") {
      // Events after our id were pruned: the page reloads the newest state.
      setState("resync", "reloading: events were pruned");
      location.reload();
      return false;
    }
    if (f.type !== "event" || !f.data || f.id <= lastId) return;
    lastId = f.id;
    if (keep.length && keep.indexOf(f.data.severity) < 0) return;
    received++;
    roll();
    perSec[perSec.length - 1]++;
    if (counts[f.data.severity]) counts[f.data.severity].n++;
    schedule();
    if (paused) {
      pending.push(f.data);
      if (pending.length > limit) {
        pending.shift();
        overflowed = true;
      }
      pendingEl.textContent = pending.length + (overflowed ? "+" : "") + " new while paused";
      return;
    }
    queue.push(f.data);
    if (queue.length > limit) queue.shift();
  }

  function liveText() {
    return paused ? "paused (still receiving)" : "live";
  }

  function connect() {
    clearTimeout(retryTimer);
    var u = new URL(bar.dataset.ws, location.href);
    u.protocol = location.protocol === "https:" ? "wss:" : "ws:";
    u.searchParams.set("after_id", String(lastId));
    // Each message is an array of the frames written together: one task
    // per batch here, not one per event.
    u.searchParams.set("batch", "1");
    setState("connecting", "connecting…");
    try {
      ws = new WebSocket(u.toString());
    } catch (e) {
      retry();
      return;
    }
    ws.onopen = function () {
      window.mailnetEventsOpens = (window.mailnetEventsOpens || 0) + 1;
      delay = 500;
      setState(paused ? "paused" : "live", liveText());
    };
    ws.onmessage = function (e) {
      var fs;
      try {
        fs = JSON.parse(e.data);
      } catch (err) {
        return;
      }
      if (!Array.isArray(fs)) fs = [fs];
      for (var i = 0; i < fs.length; i++) {
        if (onFrame(fs[i]) === false) return; // reloading
      }
    };
    ws.onclose = function (e) {
      ws = null;
      if (e && e.code === 4001) {
        // The console ended this page's credential (signed out, session
        // ended, token revoked): say so instead of reconnecting.
        clearInterval(tick);
        setState("disconnected", (e.reason || "session ended") + "; sign in again to resume from event " + lastId);
        return;
      }
      retry();
    };
  }

  function retry() {
    var wait = delay;
    delay = Math.min(delay * 2, 10000);
    var until = Date.now() + wait;
    clearInterval(tick);
    var show = function () {
      var s = Math.max(0, Math.ceil((until - Date.now()) / 1000));
      setState("disconnected", "disconnected; reconnecting in " + s + " s from event " + lastId);
    };
    show();
    tick = setInterval(show, 1000);
    retryTimer = setTimeout(function () {
      clearInterval(tick);
      connect();
    }, wait);
  }

  // The sparkline moves on with time even when nothing arrives.
  setInterval(function () { if (!frame) drawStats(); }, 1000);
  pauseBtn.hidden = false;
  pauseBtn.addEventListener("click", function () {
    paused = !paused;
    pauseBtn.textContent = paused ? "Resume" : "Pause";
    pauseBtn.setAttribute("aria-pressed", String(paused));
    if (!paused) {
      if (overflowed) {
        location.reload();
        return;
      }
      show(pending);
      pending = [];
      pendingEl.textContent = "";
    }
    if (ws && ws.readyState === WebSocket.OPEN) setState(paused ? "paused" : "live", liveText());
  });
  connect();
})();
