// Mailnet Admin: htmx settings for a strict Content-Security-Policy
// (script-src 'self', style-src 'self'). Loaded after htmx, before the
// DOM is ready, so htmx reads these before it initialises.
(function () {
  "use strict";
  if (typeof htmx === "undefined") {
    return; // pages work without JavaScript; htmx only shortens round trips
  }
  htmx.config.allowEval = false;              // no eval / new Function under the CSP
  htmx.config.allowScriptTags = false;        // fragments never run scripts
  htmx.config.historyCacheSize = 0;           // no admin page copies in localStorage
  htmx.config.refreshOnHistoryMiss = true;    // back button reloads from the server
  htmx.config.includeIndicatorStyles = false; // inline <style> would break style-src 'self'
  htmx.config.selfRequestsOnly = true;
})();
