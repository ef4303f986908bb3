// A job page's live progress: listens to the job frames of /ws
// ({"type": "job", "id", "data": job}) and updates the figures in place
// instead of re-downloading the page. When the job finishes it fetches the
// progress section once (the final per-user rows and next steps) and
// swaps it in. Frames published while the socket was down are not
// replayed, so after a reconnect, and after 15 s without a frame, it
// fetches the section once to catch up. Reconnects with backoff; without
// websockets the page keeps its Refresh link.
(function () {
  "use strict";
  var sec = document.getElementById("job-progress");
  if (!sec || sec.dataset.live !== "true" || !window.WebSocket) return;
  var jobId = parseInt(sec.dataset.jobId, 10);
  var ws = null, delay = 500, finished = false, opened = false, quietTimer = 0;
  var QUIET_MS = 15000;
  var statusEl = document.getElementById("job-live");

  function setLive(state, text) {
    if (!statusEl) return;
    statusEl.dataset.state = state;
    statusEl.textContent = text;
  }

  function fmt(n) {
    return Number(n || 0).toLocaleString("en-US");
  }

  function set(field, value) {
    sec.querySelectorAll('[data-f="' + field + '"]').forEach(function (el) {
      el.textContent = fmt(value);
    });
  }

  function apply(j) {
    set("done", j.done);
    set("total", j.total);
    set("moved", j.moved);
    set("failed", j.failed);
    set("cancelled", j.cancelled);
    set("skipped", j.skipped);
    set("users_total", j.users_total);
    set("pending", Math.max(0, (j.users_total || 0) - (j.users_done || 0)));
    var bar = sec.querySelector("progress.job-bar");
    if (bar) {
      bar.max = j.total > 0 ? j.total : 1;
      bar.value = j.done;
      bar.textContent = j.total > 0 ? Math.min(100, Math.floor(j.done * 100 / j.total)) + "%" : "0%";
    }
    var pct = sec.querySelector('[data-f="percent"]');
    if (pct) pct.textContent = j.total > 0 ? Math.min(100, Math.floor(j.done * 100 / j.total)) + "%" : "0%";
    if (j.status === "done" || j.status === "failed" || j.status === "cancelled") {
      finish();
      return;
    }
    var badge = sec.querySelector(".job-head .badge[class*='job-']");
    if (badge && badge.textContent !== j.status) {
      badge.textContent = j.status;
      badge.className = "badge job-" + j.status;
    }
  }

  // finish swaps in the finished job's section, fetched once.
  function finish() {
    if (finished) return;
    finished = true;
    clearTimeout(quietTimer);
    if (ws) ws.close();
    resync();
  }

  // resync fetches the progress section and swaps it in; a section that
  // no longer listens (the job has ended) stops the updates.
  function resync() {
    fetch(location.pathname, { headers: { "HX-Request": "true" }, credentials: "same-origin" })
      .then(function (r) {
        if (!r.ok) throw new Error("status " + r.status);
        return r.text();
      })
      .then(function (html) {
        var t = document.createElement("template");
        t.innerHTML = html.trim();
        var next = t.content.querySelector("#job-progress");
        if (!next) return;
        sec.replaceWith(next);
        sec = next;
        statusEl = document.getElementById("job-live");
        if (sec.dataset.live !== "true") {
          finished = true;
          clearTimeout(quietTimer);
          if (ws) ws.close();
        } else if (ws && ws.readyState === 1) {
          setLive("live", "live");
        }
      })
      .catch(function () {
        setLive("disconnected", "could not refresh; reload the page");
      });
  }

  // quiet re-arms the catch-up fetch after QUIET_MS without a frame.
  function quiet() {
    clearTimeout(quietTimer);
    if (finished) return;
    quietTimer = setTimeout(function () {
      resync();
      quiet();
    }, QUIET_MS);
  }

  function connect() {
    var u = new URL("/ws", location.href);
    u.protocol = location.protocol === "https:" ? "wss:" : "ws:";
    u.searchParams.set("types", "job");
    try {
      ws = new WebSocket(u.toString());
    } catch (e) {
      retry();
      return;
    }
    ws.onopen = function () {
      delay = 500;
      setLive("live", "live");
      if (opened) resync(); // frames sent while the socket was down are lost
      opened = true;
      quiet();
    };
    ws.onmessage = function (ev) {
      var f;
      try {
        f = JSON.parse(ev.data);
      } catch (e) {
        return;
      }
      if (!f || f.type !== "job" || !f.data || f.data.id !== jobId) return;
      quiet();
      apply(f.data);
    };
    ws.onclose = function () {
      ws = null;
      if (!finished) retry();
    };
  }

  function retry() {
    setLive("disconnected", "reconnecting…");
    setTimeout(connect, delay);
    delay = Math.min(delay * 2, 10000);
  }

  connect();
})();
