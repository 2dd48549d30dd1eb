//! The bearer guard (RFC 6750): one extractor that every protected API uses.

use std::future::Future;
use std::ops::Deref;
use std::pin::Pin;
use std::sync::Arc;

use actix_web::http::header::AUTHORIZATION;
use actix_web::{web, FromRequest, HttpRequest};
use domain::claims::AccessClaims;

use crate::cache::Tenant;
use crate::mint;
use crate::mtls::{self, ClientCert};
use crate::service::TokenService;
use domain::model::Environment;
use http::ApiError;

/// A request's validated access token: signature, issuer, expiry, type, revocation, tenant
/// and client state all checked.
pub struct Bearer {
    pub tenant: Arc<Tenant>,
    pub claims: AccessClaims,
}

impl Deref for Bearer {
    type Target = AccessClaims;
    fn deref(&self) -> &AccessClaims {
        &self.claims
    }
}

pub fn invalid_token(why: impl Into<String>) -> ApiError {
    ApiError::InvalidToken(why.into())
}

/// RFC 8705 §3: a certificate-bound token is only good with that certificate. Production
/// tenants also refuse any presented certificate that is self-signed, out of validity or not
/// chained to their trust anchors.
fn check_binding(
    tenant: &Tenant,
    claims: &AccessClaims,
    cert: Option<&ClientCert>,
) -> Result<(), ApiError> {
    if let Some(c) = cert {
        let checked = if tenant.environment == Environment::Production {
            tenant.anchors.verify(c)
        } else {
            c.check_validity()
        };
        checked.map_err(|p| invalid_token(p.to_string()))?;
    }
    let Some(cnf) = &claims.cnf else {
        return Ok(());
    };
    match cert {
        Some(c) if c.thumbprint == cnf.x5t_s256 => Ok(()),
        Some(_) => Err(invalid_token(
            "the token is bound to another client certificate",
        )),
        None => Err(invalid_token(
            "the token is bound to a client certificate; present it over mutual TLS",
        )),
    }
}

impl FromRequest for Bearer {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Bearer, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let header = req
            .headers()
            .get(AUTHORIZATION)
            .map(|v| v.to_str().map(str::to_owned));
        let svc = req.app_data::<web::Data<TokenService>>().cloned();
        let cert = mtls::presented(req);
        Box::pin(async move {
            let svc =
                svc.ok_or_else(|| ApiError::Internal("token service not configured".into()))?;
            let value = match header {
                None => return Err(ApiError::Unauthorized),
                Some(Err(_)) => return Err(invalid_token("the Authorization header is not ASCII")),
                Some(Ok(v)) => v,
            };
            let token = match value.split_once(' ') {
                Some((scheme, t)) if scheme.eq_ignore_ascii_case("bearer") => t.trim(),
                _ => return Err(ApiError::Unauthorized),
            };
            let (tenant, claims) =
                mint::validate(&svc, token, None)
                    .await
                    .map_err(|e| match e {
                        mint::Rejection::Invalid(why) => invalid_token(why.to_string()),
                        // The database could not say: a 503, never a 401 for a token that may be good.
                        mint::Rejection::Store(e) => ApiError::from(e),
                    })?;
            // RFC 9068 §4: a token exchanged for another resource server is not for these APIs.
            if claims.aud != tenant.issuer {
                return Err(invalid_token("the token is for another audience"));
            }
            check_binding(&tenant, &claims, cert.as_deref())?;
            Ok(Bearer { tenant, claims })
        })
    }
}
