//! `/account/invitations`: a tenant admin (or an entity's owner) invites a person to an entity
//! by email — how a new entity gets its first owner without anyone choosing a password for them.

use actix_web::{web, HttpResponse};
use domain::model::MembershipRole;
use domain::secrets::MasterKey;
use http::{ApiError, BodyProblems, CommonProblems, Valid};
use serde::{Deserialize, Serialize};
use store::Store;
use tokens::TokenService;
use utoipa::ToSchema;
use validator::Validate;

use crate::caller::Caller;
use crate::mail::Mailer;
use crate::members::{self, MemberError};

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"organization_id": "VN0192f0c4e8a37c1e9d4b5a6f7e8d9c0b", "email": "olga@vendor.example", "role": "owner"}))]
pub struct CreateInvitation {
    #[validate(length(min = 3, max = 100, message = "must be an organization id"))]
    pub organization_id: String,
    #[validate(email(message = "must be an email address"))]
    pub email: String,
    pub role: MembershipRole,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Invited {
    pub email: String,
    pub role: MembershipRole,
    /// The link in the mail works until then (seconds since the epoch), once.
    pub expires_at: i64,
}

/// Invite a person to an entity.
///
/// A tenant admin, or an owner of the entity, sends a single-use link valid 24 hours to
/// `email`; the person sets a password there (or, with an account, just accepts) and signs in
/// with the emailed code. Only a hash of the link's token is kept.
#[utoipa::path(
    post, path = "/account/invitations", tag = "Account",
    request_body = CreateInvitation,
    responses(
        (status = 202, description = "Sent", body = Invited),
        CommonProblems,
        BodyProblems,
    ),
    security(("bearer" = []))
)]
pub async fn create(
    caller: Caller,
    body: Valid<CreateInvitation>,
    store: web::Data<Store>,
    master_key: web::Data<MasterKey>,
    mailer: web::Data<Mailer>,
    svc: web::Data<TokenService>,
) -> Result<HttpResponse, ApiError> {
    let b = body.0;
    let org = if caller.is_tenant_admin() {
        let (t, o) = (caller.tenant_id().to_owned(), b.organization_id.clone());
        store
            .run(move |c| store::repo::organizations::find(c, &t, &o))
            .await?
            .ok_or_else(|| ApiError::NotFound("entity".into()))?
    } else {
        match caller.entity(&store, &b.organization_id).await? {
            (org, MembershipRole::Owner) => org,
            _ => {
                return Err(ApiError::Denied(
                    "only a tenant admin or an owner of the entity invites".into(),
                ))
            }
        }
    };
    let tenant = registry::tenants::find(&store, caller.tenant_id())
        .await?
        .ok_or_else(|| ApiError::NotFound("tenant".into()))?;
    let link = format!("{}/t/{}/portal/invite", svc.public_url, tenant.slug);
    let event = caller.audit(
        "member.invite",
        &format!("organization:{}", org.id),
        serde_json::json!({"role": b.role}),
    );
    members::invite(
        &store,
        &mailer,
        &master_key,
        &link,
        &tenant.name,
        &org,
        &b.email,
        b.role,
        &caller.user.id,
        event,
    )
    .await
    .map_err(|e| match e {
        MemberError::Invalid(why) => ApiError::invalid("email", why),
        MemberError::Store(s) => s.into(),
        MemberError::Mail | MemberError::Busy => ApiError::Unavailable(e.to_string()),
        other => ApiError::Conflict(other.to_string()),
    })?;
    Ok(HttpResponse::Accepted().json(Invited {
        email: b.email,
        role: b.role,
        expires_at: domain::now_unix() + members::INVITATION_TTL,
    }))
}
