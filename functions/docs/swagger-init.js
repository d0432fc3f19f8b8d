// Swagger UI for Arena's API, from files this API serves (no CDN). The API that served this page comes first in
// the server list, so "Try it out" calls it: its stage prefix is what precedes /api/docs in the page's path.
"use strict";
(function () {
  const base = window.location.pathname.replace(/\/api\/docs\/?$/, "");
  fetch("openapi.json")
    .then(function (answer) {
      if (!answer.ok) throw new Error("openapi.json answered " + answer.status);
      return answer.json();
    })
    .then(function (spec) {
      spec.servers = [{ url: window.location.origin + base, description: "This API" }].concat(spec.servers || []);
      window.ui = SwaggerUIBundle({
        spec: spec,
        dom_id: "#swagger-ui",
        deepLinking: true,
        validatorUrl: null, // Swagger UI would otherwise load a badge from validator.swagger.io
        presets: [SwaggerUIBundle.presets.apis],
        layout: "BaseLayout",
      });
    })
    .catch(function (error) {
      document.getElementById("swagger-ui").textContent = "The API document could not be loaded: " + error.message;
    });
})();
