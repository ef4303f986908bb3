// Mailnet Admin: the routing map. Pointing at (or focusing) a server
// lights up its routes and dims the others; leaving restores the map as
// the server drew it (a clicked server stays lit: the page marks it).
// The map works without this file: it is only the hover.
(function () {
  "use strict";
  var svg = document.getElementById("netmap");
  if (!svg) {
    return;
  }
  var lines = svg.querySelectorAll("path.link");
  var pinned = svg.classList.contains("focus");
  function light(id) {
    svg.classList.add("focus", "hover");
    for (var i = 0; i < lines.length; i++) {
      var l = lines[i];
      var on = l.getAttribute("data-a") === id || l.getAttribute("data-b") === id;
      l.classList.toggle("hover-hl", on);
    }
  }
  function reset() {
    svg.classList.remove("hover");
    if (!pinned) {
      svg.classList.remove("focus");
    }
    for (var i = 0; i < lines.length; i++) {
      lines[i].classList.remove("hover-hl");
    }
  }
  var nodes = svg.querySelectorAll("a.node");
  for (var i = 0; i < nodes.length; i++) {
    (function (a) {
      var id = a.getAttribute("data-id");
      a.addEventListener("mouseenter", function () { light(id); });
      a.addEventListener("focus", function () { light(id); });
      a.addEventListener("mouseleave", reset);
      a.addEventListener("blur", reset);
    })(nodes[i]);
  }
})();
