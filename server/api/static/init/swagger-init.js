// Tasksync: boots Swagger UI from the vendored bundle. Kept out of the HTML so
// the page's Content-Security-Policy needs no 'unsafe-inline' for scripts.
(function () {
  "use strict";
  var el = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: el.getAttribute("data-openapi-url"),
    dom_id: "#swagger-ui",
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    deepLinking: true,
    validatorUrl: null // never call validator.swagger.io
  });
})();
