//! The OpenAPI document: this crate's operations plus each API crate's part.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Portcullis",
        description = "Multi-tenant OAuth 2.0 authorization server for machine-to-machine \
            authentication: tenants, organizations and devices, integration accounts, and token \
            issuance, introspection and revocation.\n\n\
            **Admin API.** Get a token for the `admin` client of the `system` tenant \
            (`POST /t/system/oauth2/token`, `grant_type=client_credentials`, HTTP Basic with the \
            secret printed at first start), press *Authorize* and paste it as the bearer token. \
            Tenant admins use a token of their own tenant.\n\n\
            **Account API.** People sign in at their tenant's token endpoint with \
            `grant_type=password` and `client_id=portal`; with MFA the answer is 403 \
            `mfa_required` plus an `mfa_token`, and a 6-digit code arrives by email; \
            `grant_type=urn:portcullis:params:oauth:grant-type:mfa-otp` with `mfa_token` and `otp` \
            gives the tokens. Issuing or rotating integration secrets needs such a sign-in within \
            10 minutes, else 401 `insufficient_user_authentication` (RFC 9470): sign in again.\n\n\
            **Mutual TLS.** At the HTTPS listener a client certificate authenticates \
            `tls_client_auth` clients and devices and binds the tokens issued (RFC 8705).\n\n\
            **Errors.** Admin and account APIs answer RFC 9457 problem documents naming each \
            invalid field and carrying the request id; OAuth endpoints answer RFC 6749 errors \
            with an `error_description`.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
        contact(name = "Portcullis maintainers")
    ),
    servers((url = "/", description = "This server")),
    paths(crate::ops::healthz, crate::ops::readyz, crate::ops::metrics),
    components(schemas(http::Problem, http::FieldError)),
    tags((name = "Operations", description = "Health and readiness probes for orchestrators.")),
    modifiers(&SecuritySchemes)
)]
struct ServerApi;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        let components = api.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "An access token from `POST /t/{tenant}/oauth2/token` (for the admin \
                         API: the `admin` client of the `system` tenant).",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "mutual_tls",
            SecurityScheme::MutualTls {
                description: Some(
                    "A client certificate over TLS (RFC 8705), at the HTTPS listener \
                     (`PORTCULLIS_TLS_BIND`, advertised as `mtls_endpoint_aliases`): \
                     `tls_client_auth` clients authenticate with it, devices are recognised by it, \
                     and tokens issued over it are bound to it (`cnf.x5t#S256`). Production \
                     tenants accept only certificates chained to their trust anchors."
                        .to_owned(),
                ),
                extensions: None,
            },
        );
        components.add_security_scheme(
            "client_secret_basic",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Basic)
                    .description(Some(
                        "client_id and client_secret as HTTP Basic credentials.",
                    ))
                    .build(),
            ),
        );
    }
}

/// The whole spec, as served at `/openapi.json` and committed as `openapi/openapi.json`.
pub fn spec() -> utoipa::openapi::OpenApi {
    let mut api = ServerApi::openapi();
    api.merge(tokens::TokensApi::openapi());
    api.merge(registry::RegistryApi::openapi());
    api.merge(integrations::AccountApi::openapi());
    qualify_operation_ids(&mut api);
    api
}

/// utoipa names operations after their handler (`create`, `list`), which repeats across
/// modules; prefixed with their tag they are unique and still read well (`admin_clients_create`).
fn qualify_operation_ids(api: &mut utoipa::openapi::OpenApi) {
    for item in api.paths.paths.values_mut() {
        let ops = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.options,
            &mut item.head,
            &mut item.patch,
            &mut item.trace,
        ];
        for op in ops.into_iter().flatten() {
            let tag = op
                .tags
                .as_ref()
                .and_then(|t| t.first())
                .cloned()
                .unwrap_or_default();
            let prefix: String = tag
                .to_lowercase()
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .collect::<String>()
                .split('_')
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join("_");
            if let Some(id) = &op.operation_id {
                op.operation_id = Some(format!("{prefix}_{id}"));
            }
        }
    }
}

/// The committed form: pretty JSON with a final newline.
pub fn spec_json() -> Result<String, serde_json::Error> {
    spec().to_pretty_json().map(|mut s| {
        s.push('\n');
        s
    })
}
