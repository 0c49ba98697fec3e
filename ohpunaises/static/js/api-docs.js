// Starts Swagger UI on /api/v1/docs with the settings the page carries as JSON.
const config = JSON.parse(document.getElementById("swagger-ui-config").textContent);
window.ui = SwaggerUIBundle(config);
