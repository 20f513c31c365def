// Starts Swagger UI on /api/v1/docs. validatorUrl null: never send the spec to swagger.io.
window.addEventListener("load", () => {
  const container = document.getElementById("swagger-ui-container");
  window.ui = SwaggerUIBundle({
    url: container.dataset.specUrl,
    dom_id: "#swagger-ui-container",
    validatorUrl: null,
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    layout: "BaseLayout",
  });
});
