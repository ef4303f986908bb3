// The NOC sign-in page (GET /noc/login?token=...): take the token out of
// the address bar and the history at once, then, in a browser signed in
// as nobody, post the form that exchanges it for a NOC device session.
(function () {
  "use strict";
  if (window.location.search) {
    window.history.replaceState(null, "", window.location.pathname);
  }
  var form = document.getElementById("noc-login");
  if (form && form.dataset.autosubmit === "true") {
    form.submit();
  }
})();
