//! Minting and validating access tokens.

use std::sync::Arc;

use domain::accounts::Person;
use domain::claims::{AccessClaims, IdClaims, PersonIdClaims};
use domain::{ids, now_unix};

use crate::cache::{Client, Device, Tenant};
use crate::jws::{self, Jws};
use crate::keys::SigningAlg;
use crate::service::TokenService;
use http::oauth::OAuthError;

pub struct Minted {
    pub token: String,
    pub expires_in: i64,
}

/// What a client's token says beyond the client itself.
#[derive(Default, Clone, Copy)]
pub struct Extras<'a> {
    /// An integration acting for an enrolled department.
    pub on_behalf_of: Option<&'a str>,
    /// The device that authenticated with the request (`device` and `org` claims).
    pub device: Option<&'a Device>,
    /// The certificate the token is bound to (RFC 8705 `cnf.x5t#S256`).
    pub cnf: Option<&'a str>,
    /// The external token it was minted from (JWT bearer grant): its issuer and subject.
    pub external: Option<(&'a str, &'a str)>,
}

/// An access token for a client acting as itself (client_credentials), possibly for a device,
/// bound to a certificate, or — an integration whose vendor is enrolled with the department —
/// for `on_behalf_of`.
pub fn client_access_token(
    tenant: &Tenant,
    client: &Client,
    scope: &str,
    extras: Extras<'_>,
) -> Result<(Minted, AccessClaims), OAuthError> {
    signed(tenant, client, client_claims(tenant, client, scope, extras))
}

/// Signs `claims` with the key of `client`'s algorithm.
pub fn signed(
    tenant: &Tenant,
    client: &Client,
    claims: AccessClaims,
) -> Result<(Minted, AccessClaims), OAuthError> {
    let token = sign_access(tenant, client.access_token_alg, &claims)?;
    Ok((
        Minted {
            token,
            expires_in: claims.exp.map_or(0, |exp| exp - claims.iat),
        },
        claims,
    ))
}

/// The claims of [`client_access_token`].
pub fn client_claims(
    tenant: &Tenant,
    client: &Client,
    scope: &str,
    extras: Extras<'_>,
) -> AccessClaims {
    let now = now_unix();
    let ttl = client.access_token_ttl.unwrap_or(tenant.access_token_ttl());
    AccessClaims {
        iss: tenant.issuer.clone(),
        sub: client.client_id.clone(),
        aud: tenant.issuer.clone(),
        client_id: client.client_id.clone(),
        scope: scope.to_owned(),
        jti: ids::new_id(),
        iat: now,
        exp: Some(now + ttl),
        tenant: tenant.slug.clone(),
        org: extras
            .device
            .map(|d| d.organization_id.clone())
            .or_else(|| client.organization_id.clone()),
        device: extras.device.map(|d| d.id.clone()),
        cnf: extras.cnf.map(confirmation),
        roles: client.roles.clone(),
        amr: None,
        auth_time: None,
        on_behalf_of: extras.on_behalf_of.map(str::to_owned),
        gid: None,
        ext_iss: extras.external.map(|e| e.0.to_owned()),
        ext_sub: extras.external.map(|e| e.1.to_owned()),
        act: None,
        ver: None,
    }
}

fn confirmation(thumbprint: &str) -> domain::claims::Confirmation {
    domain::claims::Confirmation {
        x5t_s256: thumbprint.to_owned(),
    }
}

/// An access token for a person signed in through `client` (the password grant).
pub fn person_access_token(
    tenant: &Tenant,
    client: &Client,
    person: &Person,
    scope: &str,
    cnf: Option<&str>,
    grant: Option<&str>,
) -> Result<(Minted, AccessClaims), OAuthError> {
    signed(
        tenant,
        client,
        person_claims(tenant, client, person, scope, cnf, grant),
    )
}

/// The claims of [`person_access_token`].
pub fn person_claims(
    tenant: &Tenant,
    client: &Client,
    person: &Person,
    scope: &str,
    cnf: Option<&str>,
    grant: Option<&str>,
) -> AccessClaims {
    let now = now_unix();
    let ttl = client.access_token_ttl.unwrap_or(tenant.access_token_ttl());
    AccessClaims {
        gid: grant.map(str::to_owned),
        ext_iss: None,
        ext_sub: None,
        act: None,
        iss: tenant.issuer.clone(),
        sub: person.user_id.clone(),
        aud: tenant.issuer.clone(),
        client_id: client.client_id.clone(),
        scope: scope.to_owned(),
        jti: ids::new_id(),
        iat: now,
        exp: Some(now + ttl),
        tenant: tenant.slug.clone(),
        org: None,
        device: None,
        cnf: cnf.map(confirmation),
        roles: person.roles.clone(),
        amr: Some(person.amr.clone()),
        auth_time: Some(person.auth_time),
        on_behalf_of: None,
        ver: None,
    }
}

pub fn sign_access(
    tenant: &Tenant,
    alg: SigningAlg,
    claims: &AccessClaims,
) -> Result<String, OAuthError> {
    let key = tenant.keys.signer(alg).ok_or_else(|| {
        OAuthError::server_error(format!(
            "tenant {} has no active {} key",
            tenant.slug,
            alg.as_str()
        ))
    })?;
    jws::sign(&key.access_header, claims, &key.signer).map_err(OAuthError::server_error)
}

/// The id_token of a client session: what was granted, to whom, until when.
pub fn id_token(
    tenant: &Tenant,
    client: &Client,
    access: &AccessClaims,
) -> Result<String, OAuthError> {
    let claims = IdClaims {
        iss: tenant.issuer.clone(),
        sub: access.sub.clone(),
        aud: client.client_id.clone(),
        iat: access.iat,
        exp: access.exp.unwrap_or(access.iat + tenant.access_token_ttl()),
        auth_time: access.auth_time,
        tenant: tenant.slug.clone(),
        policies: access.scopes().map(str::to_owned).collect(),
        roles: access.roles.clone(),
        org: access.org.clone(),
        device: access.device.clone(),
    };
    let key = tenant
        .keys
        .signer(client.access_token_alg)
        .ok_or_else(|| OAuthError::server_error("no active key"))?;
    jws::sign(&key.id_header, &claims, &key.signer).map_err(OAuthError::server_error)
}

/// The OpenID Connect id_token of a person's sign-in at `client` (authorization code flow):
/// `nonce` from the request, `auth_time` and `amr` of the sign-in, `at_hash` of the access token
/// issued with it, and the email when the `email` scope was granted.
pub fn person_id_token(
    tenant: &Tenant,
    client: &Client,
    access: &AccessClaims,
    access_token: &str,
    nonce: Option<&str>,
    email: Option<&str>,
) -> Result<String, OAuthError> {
    use base64::Engine;
    let digest = openssl::sha::sha256(access_token.as_bytes());
    let at_hash = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..16]);
    let claims = PersonIdClaims {
        iss: tenant.issuer.clone(),
        sub: access.sub.clone(),
        aud: client.client_id.clone(),
        iat: access.iat,
        exp: access.exp.unwrap_or(access.iat + tenant.access_token_ttl()),
        auth_time: access.auth_time.unwrap_or(access.iat),
        nonce: nonce.map(str::to_owned),
        amr: access.amr.clone().unwrap_or_default(),
        at_hash,
        email_verified: email.map(|_| true),
        email: email.map(str::to_owned),
    };
    let key = tenant
        .keys
        .signer(client.access_token_alg)
        .ok_or_else(|| OAuthError::server_error("no active key"))?;
    jws::sign(&key.id_header, &claims, &key.signer).map_err(OAuthError::server_error)
}

/// The audience (client id) of an id_token this tenant signed, expired or not (an
/// `id_token_hint`, OpenID Connect RP-initiated logout); `None` if it is not one of ours.
pub fn id_token_audience(tenant: &Tenant, token: &str) -> Option<String> {
    let jws = Jws::parse(token).ok()?;
    let key = tenant.keys.verifier(jws.header.kid.as_deref()?)?;
    if key.alg.as_str() != jws.header.alg {
        return None;
    }
    jws.verify_own(&key.verifier).ok()?;
    let claims: serde_json::Value = jws.claims().ok()?;
    (claims["iss"].as_str()? == tenant.issuer).then(|| claims["aud"].as_str().map(str::to_owned))?
}

/// A non-expiring device token (the tenant-service contract): tenant, organization, device, a
/// version, and the certificate binding when there is one. It stays valid until the device is
/// deleted or disabled, its token re-issued, its certificate changed, or the signing key retired.
pub fn device_token(
    tenant: &Tenant,
    device_id: &str,
    organization_id: &str,
    version: i64,
    thumbprint: Option<&str>,
) -> Result<(String, String), OAuthError> {
    let key = tenant
        .keys
        .signer(SigningAlg::Rs256)
        .ok_or_else(|| OAuthError::server_error("no active RS256 key"))?;
    let claims = AccessClaims {
        iss: tenant.issuer.clone(),
        sub: device_id.to_owned(),
        aud: tenant.issuer.clone(),
        client_id: device_id.to_owned(),
        scope: String::new(),
        jti: ids::new_id(),
        iat: now_unix(),
        exp: None,
        tenant: tenant.slug.clone(),
        org: Some(organization_id.to_owned()),
        device: Some(device_id.to_owned()),
        cnf: thumbprint.map(|t| domain::claims::Confirmation {
            x5t_s256: t.to_owned(),
        }),
        roles: Vec::new(),
        amr: None,
        auth_time: None,
        on_behalf_of: None,
        ver: Some(version),
        gid: None,
        ext_iss: None,
        ext_sub: None,
        act: None,
    };
    let token =
        jws::sign(&key.access_header, &claims, &key.signer).map_err(OAuthError::server_error)?;
    Ok((token, key.kid.clone()))
}

/// Why a presented access token is not accepted; the text goes into `error_description`.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Invalid {
    #[error("the token is malformed")]
    Malformed,
    #[error("the token's tenant is unknown or disabled")]
    Tenant,
    #[error("the token is not an access token")]
    Type,
    #[error("the token's signature does not verify")]
    Signature,
    #[error("the token has expired")]
    Expired,
    #[error("the token has been revoked")]
    Revoked,
    #[error("the token's client is unknown or disabled")]
    Client,
    #[error("the device token is no longer valid")]
    Device,
    #[error("device tokens of production tenants must be bound to the device's certificate")]
    Unbound,
    #[error("the account is disabled")]
    Person,
    #[error("the enrollment this token acts under is no longer active")]
    Enrollment,
    #[error("the person took back what they allowed this application")]
    Grant,
    #[error("the token's issuer is trusted, but its rules do not accept this token here")]
    External,
}

/// Why a token could not be accepted: it is not good ([`Invalid`], a 401 or `active: false`),
/// or the database could not tell (a 503: the token may well be valid).
#[derive(Debug, thiserror::Error)]
pub enum Rejection {
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error(transparent)]
    Store(#[from] store::StoreError),
}

/// Validates an access token issued by this server, for any tenant (the bearer guard) or for
/// one (introspection; pass `only_tenant`).
pub async fn validate(
    svc: &TokenService,
    token: &str,
    only_tenant: Option<&str>,
) -> Result<(Arc<Tenant>, AccessClaims), Rejection> {
    let jws = Jws::parse(token).map_err(|_| Invalid::Malformed)?;
    // Ours are all `at+jwt`; anything else may be a person's token from a trusted issuer.
    let ours = jws
        .header
        .typ
        .as_deref()
        .is_none_or(|t| t.eq_ignore_ascii_case("at+jwt"));
    // Routing only: which tenant's keys to check with. Trusted after the signature verifies.
    let claims: Option<AccessClaims> = if ours { jws.claims().ok() } else { None };
    let Some(claims) = claims else {
        return match crate::federation::person_bearer(svc, &jws, only_tenant).await? {
            Some(found) => Ok(found),
            None if ours => Err(Invalid::Malformed.into()),
            None => Err(Invalid::Type.into()),
        };
    };
    if only_tenant.is_some_and(|t| t != claims.tenant) {
        return Err(Invalid::Tenant.into());
    }
    let tenant = svc
        .caches
        .tenant(&claims.tenant)
        .await?
        .filter(|t| !t.disabled)
        .ok_or(Invalid::Tenant)?;
    let kid = jws.header.kid.as_deref().ok_or(Invalid::Signature)?;
    let key = tenant.keys.verifier(kid).ok_or(Invalid::Signature)?;
    if key.alg.as_str() != jws.header.alg {
        return Err(Invalid::Signature.into());
    }
    jws.verify_own(&key.verifier)
        .map_err(|_| Invalid::Signature)?;
    if claims.iss != tenant.issuer {
        return Err(Invalid::Signature.into());
    }
    if svc.is_revoked(&claims.jti) {
        return Err(Invalid::Revoked.into());
    }
    match claims.exp {
        Some(exp) if exp > now_unix() => {}
        Some(_) => return Err(Invalid::Expired.into()),
        // A device token does not expire: it lives as long as its device says so.
        None => {
            check_device(svc, &tenant, &claims, kid, key.state).await?;
            return Ok((tenant, claims));
        }
    }
    let client = svc.caches.client(&tenant.id, &claims.client_id).await?;
    let Some(client) = client.filter(|c| !c.disabled) else {
        return Err(Invalid::Client.into());
    };
    if claims.is_person() && !svc.caches.person_active(&tenant.id, &claims.sub).await? {
        return Err(Invalid::Person.into());
    }
    if let Some(grant) = &claims.gid {
        if !svc.caches.grant_active(&tenant.id, grant).await? {
            return Err(Invalid::Grant.into());
        }
    }
    if let Some(department) = &claims.on_behalf_of {
        let vendor = client
            .organization_id
            .as_deref()
            .ok_or(Invalid::Enrollment)?;
        if !svc.caches.enrollment_active(vendor, department).await? {
            return Err(Invalid::Enrollment.into());
        }
    }
    Ok((tenant, claims))
}

async fn check_device(
    svc: &TokenService,
    tenant: &Tenant,
    claims: &AccessClaims,
    kid: &str,
    key_state: domain::model::KeyState,
) -> Result<(), Rejection> {
    let device_id = claims.device.as_deref().ok_or(Invalid::Type)?;
    if key_state == domain::model::KeyState::Retired {
        return Err(Invalid::Device.into());
    }
    let device = svc
        .caches
        .device(&tenant.id, device_id)
        .await?
        .ok_or(Invalid::Device)?;
    let bound = claims.cnf.as_ref().map(|c| c.x5t_s256.as_str());
    if bound.is_none() && tenant.environment == domain::model::Environment::Production {
        return Err(Invalid::Unbound.into());
    }
    let current = !device.disabled
        && claims.ver == Some(device.token_version)
        && device.token_kid.as_deref() == Some(kid)
        && bound == device.cert_thumbprint.as_deref()
        && claims.org.as_deref() == Some(device.organization_id.as_str());
    if current {
        Ok(())
    } else {
        Err(Invalid::Device.into())
    }
}
