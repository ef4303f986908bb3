// The NOC wall screen. Keeps a websocket to /ws only as a change signal:
// a frame marks the tiles dirty, and the tiles are re-fetched from
// /noc/tiles at most once a second, plus every 30 s regardless (and every
// 10 s when nothing happens, to prove the data is fresh). #noc-status
// says live, stale (amber) or disconnected (red). The page never
// navigates by itself: errors and an ended session show in the status.
(function () {
  "use strict";
  var body = document.body;
  var statusEl = document.getElementById("noc-status");
  var ageEl = document.getElementById("noc-age");
  var clockEl = document.getElementById("noc-clock");
  var grid = document.getElementById("noc-tiles");
  if (!statusEl || !grid) return;

  // Timings, in ms; a test may shorten them with ?stale_ms=…&retry_ms=…
  // (or data-stale-ms, data-retry-ms … on <body>).
  var params = new URLSearchParams(location.search);
  function timing(name, def) {
    var v = parseInt(params.get(name.replace(/-/g, "_")) || body.getAttribute("data-" + name), 10);
    return v > 0 ? v : def;
  }
  var MIN_FETCH_MS = timing("min-fetch-ms", 1000), PERIODIC_MS = timing("periodic-ms", 30000);
  var QUIET_MS = timing("quiet-ms", 10000), STALE_MS = timing("stale-ms", 15000), DOWN_MS = timing("down-ms", 60000);
  var RETRY_MS = timing("retry-ms", 1000), BACKOFF_CAP_MS = timing("retry-cap-ms", 10000);
  var bannerEl = document.getElementById("noc-banner");

  var lastId = parseInt(body.dataset.afterId, 10) || 0;
  var lastUpdate = Date.now(); // the last frame or successful refresh
  var lastFetch = 0, dirty = false, fetching = false, fetchTimer = 0;
  var ws = null, sockOpen = false, delay = RETRY_MS, retryTimer = 0;
  var ended = false, fetchFailed = false, settled = false; // settled: the first socket opened or failed
  var endedWhy = ""; // the server's close reason when it ended this screen's credential

  function setStatus(state, text) {
    if (statusEl.dataset.state !== state) statusEl.dataset.state = state;
    if (statusEl.textContent !== text) statusEl.textContent = text;
    document.documentElement.dataset.conn = state;
  }

  function secondsAgo(t) {
    return Math.max(0, Math.round((Date.now() - t) / 1000));
  }

  function paint() {
    var age = Date.now() - lastUpdate;
    var note = "updated " + secondsAgo(lastUpdate) + " s ago";
    if (ended) {
      setStatus("disconnected", "session ended");
      note = (endedWhy && endedWhy !== "session ended" ? endedWhy + " · " : "") + "sign this screen in again with /noc/login?token=…";
    } else if (!settled && !sockOpen) {
      setStatus("connecting", "connecting");
    } else if (!sockOpen || age > DOWN_MS) {
      setStatus("disconnected", "disconnected");
      if (!sockOpen && retryTimer) note += " · reconnecting";
    } else if (age > STALE_MS || fetchFailed) {
      setStatus("stale", "stale");
    } else {
      setStatus("live", "live");
    }
    if (ageEl.textContent !== note) ageEl.textContent = note;
    banner(statusEl.dataset.state, age);
    var d = new Date();
    var hh = String(d.getUTCHours()).padStart(2, "0"), mm = String(d.getUTCMinutes()).padStart(2, "0");
    var clock = hh + ":" + mm + " UTC";
    if (clockEl.textContent !== clock) clockEl.textContent = clock;
  }

  // ageText says how old the data is, shortly: "40 s", "2 min", "3 h".
  function ageText(ms) {
    var s = Math.max(0, Math.round(ms / 1000));
    if (s < 60) return s + " s";
    if (s < 3600) return Math.floor(s / 60) + " min";
    if (s < 172800) return Math.floor(s / 3600) + " h";
    return Math.floor(s / 86400) + " d";
  }

  // banner shows, across the whole width, how old the data is whenever it
  // is not live: "data 2 min old — reconnecting".
  function banner(state, age) {
    if (!bannerEl) return;
    var text = "";
    if (ended) text = "session ended — data " + ageText(age) + " old; sign this screen in again";
    else if (state === "disconnected") text = "data " + ageText(age) + " old — " + (retryTimer ? "reconnecting" : "console unreachable");
    else if (state === "stale") text = "data " + ageText(age) + " old — " + (fetchFailed ? "refresh failing" : "waiting for the console");
    var show = text !== "";
    if (bannerEl.hidden === show) bannerEl.hidden = !show;
    if (bannerEl.dataset.state !== state) bannerEl.dataset.state = state;
    if (show && bannerEl.textContent !== text) bannerEl.textContent = text;
  }

  // fit keeps every tile inside its box, whatever the screen: while a
  // tile's content overflows, the last row of its longest list is hidden
  // and the list ends with "+N more".
  var LISTS = "ol.noc-events, ul.lines, tbody, ul.moves";
  function rowsOf(list) {
    return Array.prototype.filter.call(list.children, function (el) { return !el.classList.contains("more"); });
  }
  function moreRow(list) {
    var m = list.querySelector(":scope > .more.fitted");
    if (!m) {
      m = document.createElement(list.tagName === "TBODY" ? "tr" : "li");
      m.className = "more fitted";
      if (list.tagName === "TBODY") {
        var td = document.createElement("td");
        td.colSpan = 9;
        m.appendChild(td);
      }
      list.appendChild(m);
    }
    return m;
  }
  function overflows(el) {
    return el.scrollHeight > el.clientHeight + 1;
  }
  function fit() {
    grid.querySelectorAll("section.tile").forEach(function (tile) {
      var lists = tile.querySelectorAll(LISTS);
      var guard = 200;
      while (overflows(tile) && guard-- > 0) {
        var best = null, bestN = 0;
        lists.forEach(function (l) {
          var n = rowsOf(l).filter(function (r) { return !r.hidden; }).length;
          if (n > bestN) { best = l; bestN = n; }
        });
        if (!best) break;
        var rows = rowsOf(best).filter(function (r) { return !r.hidden; });
        rows[rows.length - 1].hidden = true;
        var hiddenN = rowsOf(best).filter(function (r) { return r.hidden; }).length;
        var extra = 0; // "+N more" the server already counted
        var own = best.querySelector(":scope > .more:not(.fitted)");
        if (own) {
          extra = parseInt((own.textContent.match(/\d+/) || ["0"])[0], 10) || 0;
          own.hidden = true;
        }
        var m = moreRow(best);
        var label = "+" + (hiddenN + extra) + " more";
        (m.firstElementChild || m).textContent = label;
      }
    });
  }

  function maxEventId(root) {
    var m = 0;
    root.querySelectorAll(".noc-event[data-id]").forEach(function (el) {
      m = Math.max(m, parseInt(el.dataset.id, 10) || 0);
    });
    return m;
  }

  function swap(html) {
    var tpl = document.createElement("template");
    tpl.innerHTML = html;
    var tiles = tpl.content.querySelectorAll("section.tile[id]");
    tiles.forEach(function (fresh) {
      var old = document.getElementById(fresh.id);
      if (old) old.replaceWith(fresh);
      else grid.appendChild(fresh);
    });
    lastId = Math.max(lastId, maxEventId(grid));
    fit();
  }

  function refresh() {
    fetchTimer = 0;
    if (fetching) return;
    fetching = true;
    dirty = false;
    lastFetch = Date.now();
    fetch(body.dataset.tilesUrl, {
      credentials: "same-origin",
      cache: "no-store",
      redirect: "manual",
      headers: { Accept: "text/html, application/json;q=0.1" },
    }).then(function (res) {
      if (res.status === 401 || res.status === 403 || res.type === "opaqueredirect") {
        ended = true;
        throw new Error("session ended");
      }
      if (!res.ok) throw new Error("status " + res.status);
      return res.text();
    }).then(function (html) {
      swap(html);
      ended = false;
      fetchFailed = false;
      lastUpdate = Date.now();
    }).catch(function () {
      fetchFailed = true;
    }).finally(function () {
      fetching = false;
      if (dirty) schedule();
      paint();
    });
  }

  // schedule fetches the tiles soon, but not more than once a second.
  function schedule() {
    dirty = true;
    if (fetchTimer || fetching) return;
    var wait = Math.max(0, lastFetch + MIN_FETCH_MS - Date.now());
    fetchTimer = setTimeout(refresh, wait);
  }

  function connect() {
    retryTimer = 0;
    var u = new URL(body.dataset.ws, location.href);
    u.protocol = location.protocol === "https:" ? "wss:" : "ws:";
    u.searchParams.set("after_id", String(lastId));
    u.searchParams.set("batch", "1"); // each message an array of frames
    try {
      ws = new WebSocket(u.toString());
    } catch (e) {
      retry();
      return;
    }
    ws.onopen = function () {
      sockOpen = true;
      settled = true;
      delay = RETRY_MS;
      ended = false;
      lastUpdate = Date.now();
      schedule(); // whatever happened while away
      paint();
    };
    ws.onmessage = function (e) {
      var fs;
      try {
        fs = JSON.parse(e.data);
      } catch (err) {
        return;
      }
      if (!Array.isArray(fs)) fs = [fs];
      fs.forEach(function (f) {
        if (f.type === "event" && f.id > lastId) lastId = f.id;
        if (f.type === "resync" && f.data && f.data.oldest_id) lastId = Math.max(lastId, f.data.oldest_id - 1);
      });
      lastUpdate = Date.now();
      schedule();
    };
    ws.onclose = function (e) {
      var was = sockOpen;
      settled = true;
      sockOpen = false;
      ws = null;
      if (e && e.code === 4001) {
        // The console ended this screen's session (token revoked): say
        // so, and do not knock again with a credential that is gone.
        ended = true;
        endedWhy = e.reason || "session ended";
        paint();
        return;
      }
      if (!was) fetchSessionCheck();
      retry();
      paint();
    };
  }

  // A socket refused before it opened may mean the session ended: a
  // tile fetch tells (401) without leaving the page.
  function fetchSessionCheck() {
    if (!fetching && Date.now() - lastFetch > 5000) refresh();
  }

  function retry() {
    if (retryTimer) return;
    var wait = delay + Math.floor(Math.random() * Math.min(250, delay / 4));
    delay = Math.min(delay * 2, BACKOFF_CAP_MS);
    retryTimer = setTimeout(connect, wait);
  }

  setInterval(function () {
    var quiet = Date.now() - lastFetch;
    if (quiet >= PERIODIC_MS || (sockOpen && quiet >= QUIET_MS && Date.now() - lastUpdate >= QUIET_MS)) schedule();
    paint();
  }, 1000);
  lastId = Math.max(lastId, maxEventId(grid));
  fit();
  window.addEventListener("resize", function () {
    grid.querySelectorAll("[hidden]").forEach(function (el) { el.hidden = false; });
    grid.querySelectorAll(".more.fitted").forEach(function (el) { el.remove(); });
    fit();
  });
  connect();
  paint();
})();
