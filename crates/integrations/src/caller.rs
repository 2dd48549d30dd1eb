//! Who calls the account API: a person, by an access token they got by signing in to their
//! tenant. Client tokens are refused; so are tokens of people since disabled.

use std::future::Future;
use std::pin::Pin;

use actix_web::{web, FromRequest, HttpRequest};
use domain::model::{MembershipRole, TenantRole};
use domain::now_unix;
use http::ApiError;
use registry::actor::Actor;
use store::repo::audit::AuditRow;
use store::repo::memberships;
use store::repo::organizations::{self, OrganizationRow};
use store::repo::users::{self, UserRow};
use store::Store;

/// How recent a sign-in with the emailed code must be for issuing or rotating secrets.
pub const STEP_UP_MAX_AGE: i64 = 10 * 60;

pub struct Caller {
    pub actor: Actor,
    pub user: UserRow,
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Caller, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let actor = Actor::from_request(req, payload);
        let store = req.app_data::<web::Data<Store>>().cloned();
        Box::pin(async move {
            let actor = actor.await?;
            let store = store.ok_or_else(|| ApiError::Internal("store not configured".into()))?;
            if !actor.bearer.is_person() {
                return Err(ApiError::Denied(
                    "the account API is for people: sign in with grant_type=password at your \
                     tenant's token endpoint (client_id=portal)"
                        .into(),
                ));
            }
            let (tid, uid) = (actor.bearer.tenant.id.clone(), actor.bearer.sub.clone());
            let user = store
                .run(move |c| users::find(c, &tid, &uid))
                .await?
                .filter(|u| !u.disabled)
                .ok_or_else(|| ApiError::InvalidToken("the account is disabled".into()))?;
            Ok(Caller { actor, user })
        })
    }
}

impl Caller {
    pub fn tenant_id(&self) -> &str {
        &self.actor.bearer.tenant.id
    }

    pub fn is_tenant_admin(&self) -> bool {
        self.actor.bearer.has_role(TenantRole::TenantAdmin.as_str())
    }

    /// RFC 9470 step-up: the token must come from a sign-in with the emailed code, made within
    /// [`STEP_UP_MAX_AGE`].
    pub fn require_recent_mfa(&self) -> Result<(), ApiError> {
        let claims = &self.actor.bearer.claims;
        let otp = claims
            .amr
            .as_ref()
            .is_some_and(|amr| amr.iter().any(|m| m == "otp"));
        let recent = claims
            .auth_time
            .is_some_and(|t| t >= now_unix() - STEP_UP_MAX_AGE);
        if otp && recent {
            Ok(())
        } else {
            Err(ApiError::StepUpRequired {
                max_age: STEP_UP_MAX_AGE,
            })
        }
    }

    /// The entity and the caller's role in it. An entity of another tenant, or one the caller
    /// is not a member of, is a 404: its existence does not leak.
    pub async fn entity(
        &self,
        store: &Store,
        entity_id: &str,
    ) -> Result<(OrganizationRow, MembershipRole), ApiError> {
        let (tid, uid, oid) = (
            self.tenant_id().to_owned(),
            self.user.id.clone(),
            entity_id.to_owned(),
        );
        let found = store
            .run(move |c| {
                let Some(org) = organizations::find(c, &tid, &oid)? else {
                    return Ok(None);
                };
                Ok(memberships::role_of(c, &uid, &oid)?.map(|r| (org, r)))
            })
            .await?;
        match found {
            Some((org, role)) => Ok((org, role)),
            None => Err(ApiError::NotFound("entity".into())),
        }
    }

    /// The entity, if the caller is its owner or admin; a member is refused (403).
    pub async fn managed_entity(
        &self,
        store: &Store,
        entity_id: &str,
        what: &str,
    ) -> Result<OrganizationRow, ApiError> {
        let (org, role) = self.entity(store, entity_id).await?;
        match role {
            MembershipRole::Owner | MembershipRole::Admin => Ok(org),
            MembershipRole::Member => Err(ApiError::Denied(format!(
                "only an owner or admin of the entity may {what}; you are a member"
            ))),
        }
    }

    pub fn audit(&self, action: &str, target: &str, details: serde_json::Value) -> AuditRow {
        self.actor.audit(self.tenant_id(), action, target, details)
    }
}
