//! Client authentication at the token, introspection and revocation endpoints:
//! `client_secret_basic`, `client_secret_post` (RFC 6749 §2.3.1) and `private_key_jwt`
//! (RFC 7523 §2.2 and §3, RFC 7521 §4.2).

use http::has_control;
use std::sync::Arc;

use actix_web::http::header::AUTHORIZATION;
use actix_web::HttpRequest;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use domain::model::{AuthMethod, Environment};
use domain::now_unix;
use josekit::jwk::Jwk;
use josekit::jws::{self, JwsVerifier};
use serde::Deserialize;

use crate::cache::{Client, Tenant};
use crate::crypto::TokenVerifier;
use crate::form::{printable, Form};
use crate::jwks_fetch::AssertionVerifier;
use crate::jws::Jws;
use crate::keys::SigningAlg;
use crate::mtls::{self, ClientCert};
use crate::service::TokenService;
use http::oauth::OAuthError;

pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Signature algorithms accepted for client assertions: asymmetric only, never `none` or HS*.
pub const ASSERTION_ALGS: &[&str] = &[
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA",
];

/// Clock skew tolerated on `iat`, `nbf` and `exp`.
pub const SKEW_SECS: i64 = 60;
/// Longest an assertion may live (`exp` after `iat` or now).
pub const MAX_ASSERTION_LIFETIME: i64 = 300;

pub struct Authenticated {
    pub client: Arc<Client>,
    pub method: AuthMethod,
    /// The client certificate the request came with (mutual TLS), already checked against the
    /// tenant; tokens issued to this request are bound to it.
    pub cert: Option<Arc<ClientCert>>,
}

/// A client whose credentials verified, before the endpoint accepted the request: it may still
/// refuse it (a wrong device secret counts as a failed authentication of the client). The
/// client itself is reached through [`Verified::accept`], which clears the failure count — so
/// an endpoint cannot use a client and forget the lockout bookkeeping.
#[must_use = "accept() the verified client once the request's other credentials are checked"]
pub struct Verified(Authenticated);

impl Verified {
    /// For checks before accepting (grant types, device authentication).
    pub fn client(&self) -> &Arc<Client> {
        &self.0.client
    }

    pub fn cert(&self) -> Option<&Arc<ClientCert>> {
        self.0.cert.as_ref()
    }

    /// The request is accepted: failures in a row end here.
    pub async fn accept(self, svc: &TokenService) -> Result<Authenticated, OAuthError> {
        svc.clear_auth_failures(&self.0.client).await?;
        Ok(self.0)
    }
}

/// Authenticates the client of an OAuth request. A presented certificate is checked first, once:
/// valid now everywhere; in production tenants also chained to the trust anchors and not
/// self-signed.
pub async fn authenticate(
    svc: &TokenService,
    tenant: &Tenant,
    req: &HttpRequest,
    form: &Form,
) -> Result<Verified, OAuthError> {
    let cert = mtls::presented(req);
    if let Some(c) = &cert {
        let checked = if tenant.environment == Environment::Production {
            tenant.anchors.verify(c)
        } else {
            c.check_validity()
        };
        checked.map_err(|p| OAuthError::invalid_client(p.to_string()))?;
    }
    let mut auth = credentials(svc, tenant, req, form, cert.as_deref()).await?;
    auth.cert = cert;
    Ok(Verified(auth))
}

async fn credentials(
    svc: &TokenService,
    tenant: &Tenant,
    req: &HttpRequest,
    form: &Form,
    cert: Option<&ClientCert>,
) -> Result<Authenticated, OAuthError> {
    let basic = basic_credentials(req)?;
    let assertion_type = form.get("client_assertion_type");
    let assertion = form.get("client_assertion");
    let form_secret = form.get("client_secret");
    let form_id = form.get("client_id");
    let used = [
        basic.is_some(),
        assertion.is_some() || assertion_type.is_some(),
        form_secret.is_some(),
    ];
    if used.iter().filter(|u| **u).count() > 1 {
        return Err(OAuthError::invalid_request(
            "use exactly one client authentication method",
        ));
    }
    if let Some((id, secret)) = basic {
        if form_id.is_some_and(|f| f != id) {
            return Err(OAuthError::invalid_request(
                "client_id in the body differs from the one in the Authorization header",
            ));
        }
        return by_secret(svc, tenant, &id, &secret, AuthMethod::ClientSecretBasic)
            .await
            .map_err(|e| e.with_basic_challenge(true));
    }
    if assertion_type.is_some() || assertion.is_some() {
        if assertion_type != Some(JWT_BEARER) {
            return Err(OAuthError::invalid_request(format!(
                "client_assertion_type must be {JWT_BEARER}"
            )));
        }
        let assertion = form.require("client_assertion")?;
        return by_assertion(svc, tenant, assertion, form_id).await;
    }
    if let Some(secret) = form_secret {
        let id = form.require("client_id")?;
        return by_secret(svc, tenant, id, secret, AuthMethod::ClientSecretPost).await;
    }
    if let Some(id) = form_id {
        return without_secret(svc, tenant, cert, id).await;
    }
    Err(OAuthError::invalid_client(
        "client authentication required: HTTP Basic, client_secret_post or private_key_jwt",
    ))
}

/// A client that sends only its `client_id`: a public client (RFC 6749 §2.1, `auth_method:
/// none` — the `portal` people sign in through), or one that authenticates with its mutual-TLS
/// certificate (RFC 8705 §2). Any other client without credentials is refused.
async fn without_secret(
    svc: &TokenService,
    tenant: &Tenant,
    cert: Option<&ClientCert>,
    client_id: &str,
) -> Result<Authenticated, OAuthError> {
    let unauthenticated = || {
        OAuthError::invalid_client(
            "client authentication required: HTTP Basic, client_secret_post, private_key_jwt or a client certificate",
        )
    };
    let client = svc
        .caches
        .client(&tenant.id, client_id)
        .await?
        .filter(|c| !c.disabled)
        .ok_or_else(unauthenticated)?;
    let method = client.auth_method;
    match method {
        AuthMethod::None => {}
        AuthMethod::TlsClientAuth => {
            let cert = cert.ok_or_else(|| {
                OAuthError::invalid_client(
                    "tls_client_auth: present the client certificate over mutual TLS",
                )
            })?;
            // Production tenants verified the chain already, for every certificate.
            if tenant.environment != Environment::Production {
                tenant
                    .anchors
                    .verify(cert)
                    .map_err(|p| OAuthError::invalid_client(p.to_string()))?;
            }
            if !client
                .tls_identity
                .as_ref()
                .is_some_and(|i| i.matches(cert))
            {
                return Err(OAuthError::invalid_client(
                    "the client certificate's subject or SAN is not the one registered for this client",
                ));
            }
        }
        AuthMethod::SelfSignedTlsClientAuth => {
            if tenant.environment == Environment::Production {
                return Err(OAuthError::invalid_client(
                    "self_signed_tls_client_auth is not accepted in production tenants",
                ));
            }
            // Its validity was checked with every presented certificate.
            let cert = cert.ok_or_else(|| {
                OAuthError::invalid_client(
                    "self_signed_tls_client_auth: present the client certificate over mutual TLS",
                )
            })?;
            if !client.self_signed_certs.contains(&cert.thumbprint) {
                return Err(OAuthError::invalid_client(
                    "the client certificate is not one of those in the client's JWKS (x5c)",
                ));
            }
        }
        _ => return Err(unauthenticated()),
    }
    Ok(Authenticated {
        client,
        method,
        cert: None,
    })
}

/// `Authorization: Basic base64(urlencode(id):urlencode(secret))`, if present.
fn basic_credentials(req: &HttpRequest) -> Result<Option<(String, String)>, OAuthError> {
    let Some(value) = req.headers().get(AUTHORIZATION) else {
        return Ok(None);
    };
    let bad = || {
        OAuthError::invalid_client("malformed HTTP Basic credentials").with_basic_challenge(true)
    };
    let value = value.to_str().map_err(|_| bad())?;
    let Some((scheme, encoded)) = value.split_once(' ') else {
        return Err(bad());
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(OAuthError::invalid_request(
            "the token endpoint takes client credentials as HTTP Basic, not another scheme",
        ));
    }
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| bad())?;
    let decoded = String::from_utf8(decoded).map_err(|_| bad())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(bad)?;
    // RFC 6749 §2.3.1: both parts are form-encoded; most are plain, so decode only when needed.
    let unescape = |s: &str| -> String {
        if !s.contains(['%', '+']) {
            return s.to_owned();
        }
        form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    let (id, secret) = (unescape(id), unescape(secret));
    if has_control(&id) || has_control(&secret) {
        return Err(OAuthError::invalid_request(
            "the HTTP Basic credentials contain a control character",
        ));
    }
    Ok(Some((id, secret)))
}

const SECRET_FAILED: &str = "client authentication failed";

async fn by_secret(
    svc: &TokenService,
    tenant: &Tenant,
    client_id: &str,
    secret: &str,
    method: AuthMethod,
) -> Result<Authenticated, OAuthError> {
    let client = svc.caches.client(&tenant.id, client_id).await?;
    let Some(client) = client.filter(|c| !c.disabled) else {
        // Same work and answer as a wrong secret of a real client (a keyed hash, then the
        // failure counted), so neither timing nor text tells which client ids exist.
        let _ = svc.master_key.hash_secret(secret);
        svc.record_auth_failure(&tenant.id, client_id).await?;
        return Err(OAuthError::invalid_client(SECRET_FAILED));
    };
    if !client.auth_method.uses_secret() {
        let _ = svc.master_key.hash_secret(secret);
        return Err(OAuthError::invalid_client(format!(
            "client is registered for {}, not a client secret",
            client.auth_method
        )));
    }
    let now = now_unix();
    if let Err(locked) = check_not_locked(&client, now) {
        let _ = svc.master_key.hash_secret(secret);
        svc.record_auth_failure(&tenant.id, client_id).await?;
        return Err(locked);
    }
    let ok = client
        .secrets
        .iter()
        .filter(|(_, exp)| exp.is_none_or(|e| e > now))
        .any(|(hash, _)| svc.master_key.verify_secret(secret, hash));
    if !ok {
        svc.record_auth_failure(&tenant.id, client_id).await?;
        return Err(OAuthError::invalid_client(SECRET_FAILED));
    }
    // The failure count is cleared when the endpoint accepts the request (Verified::accept)
    // (a wrong device secret after a right client secret still counts).
    Ok(Authenticated {
        client,
        method,
        cert: None,
    })
}

/// A client locked after repeated failures is refused until the lock ends, even with the
/// right secret, so guessing stops paying. The refusal reads like any failed authentication:
/// telling "locked" would tell that the client id exists. (Its owner sees the lock in the
/// admin API and the audit log.)
pub fn check_not_locked(client: &Client, now: i64) -> Result<(), OAuthError> {
    match client.locked_until {
        Some(until) if until > now => Err(OAuthError::invalid_client(SECRET_FAILED)),
        _ => Ok(()),
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize)]
struct AssertionClaims {
    iss: Option<String>,
    sub: Option<String>,
    aud: Option<Audience>,
    exp: Option<f64>,
    iat: Option<f64>,
    nbf: Option<f64>,
    jti: Option<String>,
}

/// RFC 7523 §3 on the assertion's times, with [`SKEW_SECS`] of clock skew: `exp` required and
/// not past, at most [`MAX_ASSERTION_LIFETIME`] after `iat` (or now), `iat` and `nbf` not in
/// the future. Returns `exp`.
fn check_lifetime(claims: &AssertionClaims, now: i64) -> Result<i64, OAuthError> {
    let exp = claims
        .exp
        .ok_or_else(|| bad_assertion("`exp` is required"))? as i64;
    if exp <= now - SKEW_SECS {
        return Err(bad_assertion("the assertion has expired"));
    }
    let start = claims.iat.map(|i| i as i64).unwrap_or(now);
    if exp > start.max(now) + MAX_ASSERTION_LIFETIME + SKEW_SECS
        || exp - start > MAX_ASSERTION_LIFETIME + SKEW_SECS
    {
        return Err(bad_assertion("`exp` may be at most 5 minutes after `iat`"));
    }
    if claims.iat.is_some_and(|i| i as i64 > now + SKEW_SECS) {
        return Err(bad_assertion("`iat` is in the future"));
    }
    if claims.nbf.is_some_and(|n| n as i64 > now + SKEW_SECS) {
        return Err(bad_assertion("the assertion is not valid yet (`nbf`)"));
    }
    Ok(exp)
}

fn bad_assertion(why: impl std::fmt::Display) -> OAuthError {
    OAuthError::invalid_client(format!("client_assertion: {why}"))
}

async fn by_assertion(
    svc: &TokenService,
    tenant: &Tenant,
    assertion: &str,
    form_id: Option<&str>,
) -> Result<Authenticated, OAuthError> {
    let jws = Jws::parse(assertion).map_err(bad_assertion)?;
    let alg = jws.header.alg.as_str();
    if !ASSERTION_ALGS.contains(&alg) {
        return Err(bad_assertion(format!(
            "alg `{}` is not accepted; use one of {}",
            printable(alg),
            ASSERTION_ALGS.join(", ")
        )));
    }
    let claims: AssertionClaims = jws.claims().map_err(bad_assertion)?;
    let iss = claims
        .iss
        .as_deref()
        .ok_or_else(|| bad_assertion("`iss` is required"))?;
    if claims.sub.as_deref() != Some(iss) {
        return Err(bad_assertion("`iss` and `sub` must both be the client_id"));
    }
    if form_id.is_some_and(|f| f != iss) {
        return Err(bad_assertion(
            "client_id differs from the assertion's `iss`",
        ));
    }
    let client = svc.caches.client(&tenant.id, iss).await?;
    let Some(client) = client.filter(|c| !c.disabled) else {
        return Err(OAuthError::invalid_client(SECRET_FAILED));
    };
    if client.auth_method != AuthMethod::PrivateKeyJwt {
        return Err(OAuthError::invalid_client(format!(
            "client is registered for {}, not private_key_jwt",
            client.auth_method
        )));
    }
    if let Some(jku) = &jws.header.jku {
        if client.jwks_uri.as_deref() != Some(jku.as_str()) {
            return Err(bad_assertion(
                "`jku` does not match the registered jwks_uri",
            ));
        }
    }

    let production = tenant.environment == domain::model::Environment::Production;
    verify_signature(svc, &client, &jws, production).await?;

    let exp = check_lifetime(&claims, now_unix())?;
    let aud_ok = |a: &str| a == tenant.token_endpoint || a == tenant.issuer;
    let aud_matches = match &claims.aud {
        Some(Audience::One(a)) => aud_ok(a),
        Some(Audience::Many(v)) => v.iter().any(|a| aud_ok(a)),
        None => false,
    };
    if !aud_matches {
        return Err(bad_assertion(format!(
            "`aud` must be the token endpoint {} or the issuer",
            tenant.token_endpoint
        )));
    }
    let jti = claims
        .jti
        .as_deref()
        .ok_or_else(|| bad_assertion("`jti` is required"))?;
    if jti.len() > 256 {
        return Err(bad_assertion("`jti` is longer than 256 characters"));
    }
    if !svc.consume_jti(&client.id, jti, exp + SKEW_SECS).await? {
        return Err(bad_assertion("`jti` was already used"));
    }
    Ok(Authenticated {
        client,
        method: AuthMethod::PrivateKeyJwt,
        cert: None,
    })
}

/// Finds the client's key the assertion names and checks the signature with it; an unknown
/// `kid` re-reads the client's `jwks_uri` once (rate-limited).
async fn verify_signature(
    svc: &TokenService,
    client: &Client,
    jws: &Jws<'_>,
    production: bool,
) -> Result<(), OAuthError> {
    let keys = match (&client.jwks, &client.jwks_uri) {
        (Some(set), _) => Keys::Inline(set),
        (None, Some(uri)) => Keys::Uri(uri),
        (None, None) => return Err(bad_assertion("the client has no registered keys")),
    };
    verify_jws(svc, keys, ASSERTION_ALGS, jws, production)
        .await
        .map_err(bad_assertion)
}

/// Where the keys that check a JWS are: registered inline, or published at a URL.
pub enum Keys<'a> {
    Inline(&'a Arc<crate::jwks_fetch::KeySet>),
    Uri(&'a str),
}

/// Checks `jws` with the key its header names among `keys`, for an algorithm of `algs`; an
/// unknown `kid` re-reads a published set once (within the URL's refetch budget). The header's
/// `jku` and `x5u` are never followed: only the registered keys count.
pub async fn verify_jws(
    svc: &TokenService,
    keys: Keys<'_>,
    algs: &[&'static str],
    jws: &Jws<'_>,
    production: bool,
) -> Result<(), String> {
    let Some(alg) = algs.iter().copied().find(|a| *a == jws.header.alg) else {
        return Err("unsupported alg".into());
    };
    let kid = jws.header.kid.as_deref();
    for refresh in [false, true] {
        let set = match keys {
            Keys::Inline(set) => set.clone(),
            Keys::Uri(uri) => svc
                .jwks
                .get(uri, refresh, production)
                .await
                .map_err(|e| e.to_string())?,
        };
        let candidates: Vec<(usize, &Jwk)> = set
            .set
            .keys()
            .into_iter()
            .enumerate()
            .filter(|(_, k)| kid.is_none_or(|kid| k.key_id() == Some(kid)))
            .filter(|(_, k)| k.algorithm().is_none_or(|a| a == alg))
            .filter(|(_, k)| k.key_use().is_none_or(|u| u == "sig"))
            .collect();
        if candidates.is_empty() {
            if matches!(keys, Keys::Uri(_)) && !refresh {
                continue;
            }
            return Err(match kid {
                Some(k) => format!("no registered key with kid `{}` for {alg}", printable(k)),
                None => format!("no registered key for {alg}"),
            });
        }
        for (index, jwk) in candidates.iter().take(4) {
            if let Some(v) = set.verifier(*index, alg, || verifier(alg, jwk)) {
                if v.verifies(jws) {
                    return Ok(());
                }
            }
        }
        return Err("signature does not verify".into());
    }
    Err("signature does not verify".into())
}

/// Whether a client's public JWK is a key assertions can be checked with: registration
/// refuses one that is not (a malformed modulus, an unknown curve, a short RSA key) instead of
/// storing it to fail at every sign-in later.
pub fn check_client_jwk(jwk: &Jwk) -> Result<(), String> {
    let alg = match (jwk.algorithm(), jwk.key_type(), jwk.curve()) {
        (Some(alg), _, _) => alg,
        (None, "RSA", _) => "RS256",
        (None, "EC", Some("P-256")) => "ES256",
        (None, "EC", Some("P-384")) => "ES384",
        (None, "OKP", Some("Ed25519")) => "EdDSA",
        (None, kty, crv) => {
            return Err(format!(
                "unsupported key type {kty}{}",
                crv.map(|c| format!(" ({c})")).unwrap_or_default()
            ))
        }
    };
    if !ASSERTION_ALGS.contains(&alg) {
        return Err(format!("unsupported alg {alg}"));
    }
    verifier(alg, jwk)
        .map(|_| ())
        .ok_or_else(|| format!("not a valid {alg} public key (RSA keys need 2048 bits or more)"))
}

fn verifier(alg: &str, jwk: &Jwk) -> Option<AssertionVerifier> {
    let own = match alg {
        "RS256" => Some(SigningAlg::Rs256),
        "ES256" => Some(SigningAlg::Es256),
        _ => None,
    };
    if let Some(own) = own {
        let value = serde_json::Value::Object(jwk.as_ref().clone());
        return TokenVerifier::from_jwk(own, &value)
            .ok()
            .map(AssertionVerifier::Own);
    }
    let v: Box<dyn JwsVerifier> = match alg {
        "RS256" => Box::new(jws::RS256.verifier_from_jwk(jwk).ok()?),
        "RS384" => Box::new(jws::RS384.verifier_from_jwk(jwk).ok()?),
        "RS512" => Box::new(jws::RS512.verifier_from_jwk(jwk).ok()?),
        "PS256" => Box::new(jws::PS256.verifier_from_jwk(jwk).ok()?),
        "PS384" => Box::new(jws::PS384.verifier_from_jwk(jwk).ok()?),
        "PS512" => Box::new(jws::PS512.verifier_from_jwk(jwk).ok()?),
        "ES256" => Box::new(jws::ES256.verifier_from_jwk(jwk).ok()?),
        "ES384" => Box::new(jws::ES384.verifier_from_jwk(jwk).ok()?),
        "EdDSA" => Box::new(jws::EdDSA.verifier_from_jwk(jwk).ok()?),
        _ => return None,
    };
    Some(AssertionVerifier::Jose(v))
}

#[cfg(test)]
mod tests;
