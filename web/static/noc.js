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

  var MIN_FETCH_MS = 1000, PERIODIC_MS = 30000, QUIET_MS = 10000;
  var STALE_MS = 15000, DOWN_MS = 60000, BACKOFF_CAP_MS = 10000;

  var lastId = parseInt(body.dataset.afterId, 10) || 0;
  var lastUpdate = Date.now(); // the last frame or successful refresh
  var lastFetch = 0, dirty = false, fetching = false, fetchTimer = 0;
  var ws = null, sockOpen = false, delay = 1000, retryTimer = 0;
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
    var d = new Date();
    var hh = String(d.getUTCHours()).padStart(2, "0"), mm = String(d.getUTCMinutes()).padStart(2, "0");
    var clock = hh + ":" + mm + " UTC";
    if (clockEl.textContent !== clock) clockEl.textContent = clock;
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
    try {
      ws = new WebSocket(u.toString());
    } catch (e) {
      retry();
      return;
    }
    ws.onopen = function () {
      sockOpen = true;
      settled = true;
      delay = 1000;
      ended = false;
      lastUpdate = Date.now();
      schedule(); // whatever happened while away
      paint();
    };
    ws.onmessage = function (e) {
      var f;
      try {
        f = JSON.parse(e.data);
      } catch (err) {
        return;
      }
      if (f.type === "event" && f.id > lastId) lastId = f.id;
      if (f.type === "resync" && f.data && f.data.oldest_id) lastId = Math.max(lastId, f.data.oldest_id - 1);
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
    var wait = delay + Math.floor(Math.random() * 250);
    delay = Math.min(delay * 2, BACKOFF_CAP_MS);
    retryTimer = setTimeout(connect, wait);
  }

  setInterval(function () {
    var quiet = Date.now() - lastFetch;
    if (quiet >= PERIODIC_MS || (sockOpen && quiet >= QUIET_MS && Date.now() - lastUpdate >= QUIET_MS)) schedule();
    paint();
  }, 1000);
  lastId = Math.max(lastId, maxEventId(grid));
  connect();
  paint();
})();
