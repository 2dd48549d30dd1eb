//! The bearer guard (RFC 6750): one extractor that every protected API uses.

use std::future::Future;
use std::ops::Deref;
use std::pin::Pin;
use std::sync::Arc;

use actix_web::http::header::AUTHORIZATION;
use actix_web::{web, FromRequest, HttpRequest};
use domain::claims::AccessClaims;

use crate::http::ApiError;
use crate::mint;
use crate::service::{Tenant, TokenService};

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

impl FromRequest for Bearer {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Bearer, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let header = req
            .headers()
            .get(AUTHORIZATION)
            .map(|v| v.to_str().map(str::to_owned));
        let svc = req.app_data::<web::Data<TokenService>>().cloned();
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
            let (tenant, claims) = mint::validate(&svc, token, None)
                .await
                .map_err(|e| invalid_token(e.to_string()))?;
            Ok(Bearer { tenant, claims })
        })
    }
}
