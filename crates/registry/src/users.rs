//! People of a tenant: creation (the password hashed behind the gate), updates of roles,
//! memberships, MFA and state. The rules (who may hold which role, MFA in production, one email
//! form, memberships only in the tenant's organizations), then the rows and the audit event in
//! one transaction, then the person dropped from this replica's cache.

use domain::model::{Environment, MembershipRole, TenantRole};
use domain::now_unix;
use serde::{Deserialize, Serialize};
use store::repo::memberships::{self, MembershipRow};
use store::repo::tenants::TenantRow;
use store::repo::users::{self, UserChanges, UserRow};
use store::repo::{audit, organizations};
use store::{Store, StoreError};
use tokens::cache::Caches;
use tokens::cache::Changed;
use tokens::password_gate::PasswordGate;
use utoipa::ToSchema;
use validator::Validate;

use crate::actor::Actor;

#[derive(Debug, Clone, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Membership {
    pub organization_id: String,
    pub role: MembershipRole,
}

#[derive(Debug, thiserror::Error)]
pub enum UserError {
    /// A field breaks a rule.
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("a user with this email exists in the tenant")]
    EmailTaken,
    #[error("user not found")]
    NotFound,
    #[error("the user changed since it was read")]
    Changed,
    #[error("{0}")]
    Busy(String),
    #[error("password hashing failed")]
    Hash,
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for UserError {
    fn from(e: StoreError) -> Self {
        UserError::Store(e)
    }
}

fn invalid(field: &'static str, message: impl Into<String>) -> UserError {
    UserError::Invalid {
        field,
        message: message.into(),
    }
}

fn unknown_organization() -> UserError {
    invalid("memberships", "an organization is not in this tenant")
}

/// A person to create.
pub struct NewUser {
    pub email: String,
    pub password: String,
    pub mfa_enabled: bool,
    pub tenant_roles: Vec<TenantRole>,
    pub memberships: Vec<Membership>,
}

/// What an update changes; `None` keeps the value, `memberships` replaces them all.
pub struct UserUpdate {
    pub mfa_enabled: Option<bool>,
    pub tenant_roles: Option<Vec<TenantRole>>,
    pub disabled: Option<bool>,
    pub memberships: Option<Vec<Membership>>,
}

fn check_roles(
    tenant: &TenantRow,
    roles: &[TenantRole],
    mfa: Option<bool>,
) -> Result<(), UserError> {
    crate::tenants::check_platform_admin(tenant, roles)
        .map_err(|why| invalid("tenant_roles", why))?;
    if mfa == Some(false) && tenant.environment == Environment::Production {
        return Err(invalid(
            "mfa_enabled",
            "every user of a production tenant signs in with MFA",
        ));
    }
    Ok(())
}

/// Checks that every organization belongs to the tenant; the rows to store.
fn membership_rows(
    conn: &mut store::DbConnection,
    tenant_id: &str,
    user_id: &str,
    ms: &[Membership],
    now: i64,
) -> Result<Option<Vec<MembershipRow>>, StoreError> {
    let mut rows = Vec::new();
    for m in ms {
        if organizations::find(conn, tenant_id, &m.organization_id)?.is_none() {
            return Ok(None);
        }
        rows.push(MembershipRow {
            user_id: user_id.to_owned(),
            organization_id: m.organization_id.clone(),
            role: m.role,
            created_at: now,
        });
    }
    Ok(Some(rows))
}

/// Creates the person with their memberships.
pub async fn create(
    store: &Store,
    gate: &PasswordGate,
    actor: &Actor,
    tenant: &TenantRow,
    new: NewUser,
) -> Result<(UserRow, Vec<MembershipRow>), UserError> {
    check_roles(tenant, &new.tenant_roles, Some(new.mfa_enabled))?;
    let email =
        domain::email::normalize(&new.email).map_err(|e| invalid("email", e.to_string()))?;
    let pw = new.password;
    let hash = gate
        .run(move |hasher| hasher.hash(&pw))
        .await
        .map_err(|e| UserError::Busy(e.to_string()))?
        .map_err(|_| UserError::Hash)?;
    let now = now_unix();
    let user = UserRow::new(
        &tenant.id,
        email,
        hash,
        new.mfa_enabled,
        new.tenant_roles.clone(),
        now,
    );
    let event = actor.audit(
        &tenant.id,
        "user.create",
        &format!("user:{}", user.id),
        serde_json::json!({"email": user.email, "tenant_roles": new.tenant_roles}),
    );
    let (inserted, ms, tid) = (user.clone(), new.memberships, tenant.id.clone());
    let stored = store
        .transaction(move |c| {
            // Checked before anything is written; an error rolls the whole creation back.
            let Some(rows) = membership_rows(c, &tid, &inserted.id, &ms, now)? else {
                return Ok(None);
            };
            users::insert(c, &inserted)?;
            memberships::replace(c, &inserted.id, &rows)?;
            audit::insert(c, &event)?;
            Ok(Some(rows))
        })
        .await
        .map_err(|e| match e {
            StoreError::Conflict { .. } => UserError::EmailTaken,
            e => UserError::Store(e),
        })?
        .ok_or_else(unknown_organization)?;
    Ok((user, stored))
}

/// Updates the person if still at `version`; disabling signs them out everywhere (refresh
/// tokens end now, access tokens at once here and within the cache bound elsewhere).
pub async fn update(
    store: &Store,
    caches: &Caches,
    actor: &Actor,
    tenant: &TenantRow,
    user_id: &str,
    version: i64,
    update: UserUpdate,
) -> Result<(UserRow, Vec<MembershipRow>), UserError> {
    check_roles(
        tenant,
        update.tenant_roles.as_deref().unwrap_or_default(),
        update.mfa_enabled,
    )?;
    let changes = UserChanges {
        mfa_enabled: update.mfa_enabled,
        tenant_roles: update.tenant_roles.clone(),
        disabled: update.disabled,
    };
    let event = actor.audit(
        &tenant.id,
        "user.update",
        &format!("user:{user_id}"),
        serde_json::json!({"tenant_roles": changes.tenant_roles, "disabled": changes.disabled,
            "mfa_enabled": changes.mfa_enabled, "memberships": update.memberships}),
    );
    let (tid, uid, ms) = (tenant.id.clone(), user_id.to_owned(), update.memberships);
    let outcome = store
        .transaction(move |c| {
            if users::find(c, &tid, &uid)?.is_none() {
                return Ok(Err(UserError::NotFound));
            }
            if !users::update_if_version(c, &tid, &uid, version, &changes, now_unix())? {
                return Ok(Err(UserError::Changed));
            }
            if let Some(ms) = ms {
                match membership_rows(c, &tid, &uid, &ms, now_unix())? {
                    Some(rows) => memberships::replace(c, &uid, &rows)?,
                    // Undo the whole update.
                    None => {
                        return Err(StoreError::Conflict {
                            constraint: "memberships".into(),
                        })
                    }
                }
            }
            if changes.disabled == Some(true) {
                store::repo::refresh_tokens::revoke_user(c, &uid, now_unix())?;
            }
            audit::insert(c, &event)?;
            let u = users::find(c, &tid, &uid)?.ok_or(StoreError::NotFound)?;
            Ok(Ok((u, memberships::of_user(c, &uid)?)))
        })
        .await
        .map_err(|e| match e {
            StoreError::Conflict { .. } => unknown_organization(),
            StoreError::NotFound => UserError::NotFound,
            e => UserError::Store(e),
        })??;
    caches
        .invalidate(Changed::Person {
            tenant_id: &tenant.id,
            id: &outcome.0.id,
        })
        .await;
    Ok(outcome)
}

#[cfg(test)]
mod tests;
