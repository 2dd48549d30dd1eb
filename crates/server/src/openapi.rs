//! The OpenAPI document: this crate's operations plus each API crate's part.

use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Portcullis",
        description = "Multi-tenant OAuth 2.0 authorization server for machine-to-machine \
            authentication: tenants, organizations and devices, integration accounts, and token \
            issuance, introspection and revocation.",
        license(name = "Apache-2.0", identifier = "Apache-2.0")
    ),
    paths(crate::ops::healthz, crate::ops::readyz),
    components(schemas(tokens::http::Problem, tokens::http::FieldError)),
    tags((name = "Operations", description = "Health and readiness probes for orchestrators."))
)]
struct ServerApi;

/// The whole spec, as served at `/openapi.json` and committed as `openapi/openapi.json`.
pub fn spec() -> utoipa::openapi::OpenApi {
    ServerApi::openapi()
}

/// The committed form: pretty JSON with a final newline.
pub fn spec_json() -> Result<String, serde_json::Error> {
    spec().to_pretty_json().map(|mut s| {
        s.push('\n');
        s
    })
}
