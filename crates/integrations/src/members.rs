//! An entity's members: invitations by email (a single-use link valid 24 hours; invited people
//! sign in with the emailed code), roles, removal — never of the last owner.

use domain::model::MembershipRole;
use domain::secrets::{generate_secret, MasterKey};
use domain::{ids, now_unix};
use store::repo::audit::{self, AuditRow};
use store::repo::invitations::{self, InvitationRow};
use store::repo::organizations::OrganizationRow;
use store::repo::users::{self, UserRow};
use store::{Store, StoreError};
use tokens::password_gate::PasswordGate;

use crate::mail::Mailer;

/// An invitation's link works this long, once.
pub const INVITATION_TTL: i64 = 24 * 3600;
/// The shortest password an invited person may choose.
pub const MIN_PASSWORD: usize = 12;

#[derive(Debug, thiserror::Error)]
pub enum MemberError {
    #[error("{0}")]
    Invalid(&'static str),
    #[error("this invitation was used already or has expired; ask for a new one")]
    Unusable,
    #[error("an entity keeps at least one owner")]
    LastOwner,
    #[error("no such member")]
    NotFound,
    #[error("the invitation could not be sent; nothing was changed, retry later")]
    Mail,
    #[error("too many passwords are being checked; retry in a moment")]
    Busy,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Invites `email` to `org` as `role`: the link goes by mail, only the token's hash is kept.
/// When the mail cannot go, the invitation is removed.
#[allow(clippy::too_many_arguments)]
pub async fn invite(
    store: &Store,
    mailer: &Mailer,
    master_key: &MasterKey,
    link_base: &str,
    tenant_name: &str,
    org: &OrganizationRow,
    email: &str,
    role: MembershipRole,
    by_user: &str,
    event: AuditRow,
) -> Result<(), MemberError> {
    let email = domain::email::normalize(email)
        .map_err(|_| MemberError::Invalid("give an email address"))?;
    let token = generate_secret().map_err(|e| StoreError::Task(e.to_string()))?;
    let now = now_unix();
    let row = InvitationRow {
        id: ids::new_id(),
        token_hash: master_key
            .hash_secret(&token)
            .map_err(|e| StoreError::Task(e.to_string()))?,
        tenant_id: org.tenant_id.clone(),
        organization_id: org.id.clone(),
        email: email.clone(),
        role,
        invited_by: by_user.to_owned(),
        created_at: now,
        expires_at: now + INVITATION_TTL,
        used_at: None,
    };
    let id = row.id.clone();
    audit::audited(store, event, move |c| invitations::insert(c, &row)).await?;
    let link = format!("{link_base}?token={token}");
    if let Err(e) = mailer
        .send_invitation(&email, &link, &org.name, tenant_name)
        .await
    {
        tracing::warn!(error = %e, "invitation not sent");
        store.run(move |c| invitations::delete(c, &id)).await?;
        return Err(MemberError::Mail);
    }
    Ok(())
}

/// The invitation a link's token names, if it can still be used.
pub async fn pending(
    store: &Store,
    master_key: &MasterKey,
    tenant_id: &str,
    token: &str,
) -> Result<(InvitationRow, Option<UserRow>), MemberError> {
    let hash = master_key
        .hash_secret(token)
        .map_err(|e| StoreError::Task(e.to_string()))?;
    let tid = tenant_id.to_owned();
    let now = now_unix();
    let found = store
        .run(move |c| {
            let Some(inv) = invitations::find_by_hash(c, &tid, &hash)? else {
                return Ok(None);
            };
            let user = users::find_by_email(c, &tid, &inv.email)?;
            Ok(Some((inv, user)))
        })
        .await?;
    match found {
        Some((inv, user)) if inv.used_at.is_none() && inv.expires_at > now => Ok((inv, user)),
        _ => Err(MemberError::Unusable),
    }
}

/// Accepts an invitation: the person joins the entity; a new person is created with
/// `password` and the emailed code switched on. Single use, decided by one conditional UPDATE.
pub async fn accept(
    store: &Store,
    gate: &PasswordGate,
    master_key: &MasterKey,
    tenant_id: &str,
    token: &str,
    password: Option<&str>,
    event: impl FnOnce(&str) -> AuditRow,
) -> Result<InvitationRow, MemberError> {
    let (inv, existing) = pending(store, master_key, tenant_id, token).await?;
    let new_user = match existing {
        Some(_) => None,
        None => {
            let password = password.unwrap_or_default().to_owned();
            if password.chars().count() < MIN_PASSWORD {
                return Err(MemberError::Invalid(
                    "choose a password of at least 12 characters",
                ));
            }
            let hash = gate
                .run(move |h| h.hash(&password))
                .await
                .map_err(|_| MemberError::Busy)?
                .map_err(|e| StoreError::Task(e.to_string()))?;
            Some(UserRow::new(
                tenant_id,
                inv.email.clone(),
                hash,
                true,
                Vec::new(),
                now_unix(),
            ))
        }
    };
    let user_id = match (&new_user, &existing) {
        (Some(u), _) => u.id.clone(),
        (None, Some(u)) => u.id.clone(),
        (None, None) => return Err(MemberError::Unusable),
    };
    let event = event(&user_id);
    let row = inv.clone();
    let accepted = store
        .transaction(move |c| {
            if !invitations::use_once(c, &row.id, now_unix())? {
                return Ok(false);
            }
            if let Some(u) = &new_user {
                users::insert(c, u)?;
            }
            invitations::set_role(c, &user_id, &row.organization_id, row.role, now_unix())?;
            audit::insert(c, &event)?;
            Ok(true)
        })
        .await?;
    if accepted {
        Ok(inv)
    } else {
        Err(MemberError::Unusable)
    }
}

/// Changes a member's role; the last owner stays an owner.
pub async fn set_role(
    store: &Store,
    org: &OrganizationRow,
    user_id: &str,
    role: MembershipRole,
    event: AuditRow,
) -> Result<(), MemberError> {
    let (o, u) = (org.id.clone(), user_id.to_owned());
    let outcome = store
        .transaction(move |c| {
            let Some(current) = store_role(c, &u, &o)? else {
                return Ok(Err(MemberError::NotFound));
            };
            if current == MembershipRole::Owner
                && role != MembershipRole::Owner
                && invitations::owners(c, &o)? <= 1
            {
                return Ok(Err(MemberError::LastOwner));
            }
            invitations::set_role(c, &u, &o, role, now_unix())?;
            audit::insert(c, &event)?;
            Ok(Ok(()))
        })
        .await?;
    outcome
}

/// Removes a member; never the last owner.
pub async fn remove(
    store: &Store,
    org: &OrganizationRow,
    user_id: &str,
    event: AuditRow,
) -> Result<(), MemberError> {
    let (o, u) = (org.id.clone(), user_id.to_owned());
    store
        .transaction(move |c| {
            let Some(current) = store_role(c, &u, &o)? else {
                return Ok(Err(MemberError::NotFound));
            };
            if current == MembershipRole::Owner && invitations::owners(c, &o)? <= 1 {
                return Ok(Err(MemberError::LastOwner));
            }
            invitations::remove(c, &u, &o)?;
            audit::insert(c, &event)?;
            Ok(Ok(()))
        })
        .await?
}

fn store_role(
    c: &mut store::DbConnection,
    user_id: &str,
    org: &str,
) -> Result<Option<MembershipRole>, StoreError> {
    store::repo::memberships::role_of(c, user_id, org)
}
