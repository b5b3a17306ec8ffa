// Tasksync: boots ReDoc from the vendored standalone bundle. Kept out of the
// HTML so the page's Content-Security-Policy needs no 'unsafe-inline' for scripts.
(function () {
  "use strict";
  var el = document.getElementById("redoc-container");
  Redoc.init(el.getAttribute("data-openapi-url"), {}, el);
})();
