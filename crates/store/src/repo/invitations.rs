//! Invitations to an entity, and the entity's members.

use diesel::prelude::*;
use domain::model::MembershipRole;

use crate::schema::{invitations, memberships, users};
use crate::{DbConnection, StoreError};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = invitations)]
pub struct InvitationRow {
    pub id: String,
    pub token_hash: Vec<u8>,
    pub tenant_id: String,
    pub organization_id: String,
    pub email: String,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub role: MembershipRole,
    pub invited_by: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

pub fn insert(conn: &mut DbConnection, row: &InvitationRow) -> Result<(), StoreError> {
    diesel::insert_into(invitations::table)
        .values(row.clone())
        .execute(conn)?;
    Ok(())
}

pub fn find_by_hash(
    conn: &mut DbConnection,
    tenant_id: &str,
    hash: &[u8],
) -> Result<Option<InvitationRow>, StoreError> {
    Ok(invitations::table
        .filter(invitations::tenant_id.eq(tenant_id))
        .filter(invitations::token_hash.eq(hash))
        .select(InvitationRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn delete(conn: &mut DbConnection, id: &str) -> Result<(), StoreError> {
    diesel::delete(invitations::table.find(id)).execute(conn)?;
    Ok(())
}

/// Spends the invitation, if it is still unused and alive (one conditional UPDATE decides).
pub fn use_once(conn: &mut DbConnection, id: &str, now: i64) -> Result<bool, StoreError> {
    Ok(diesel::update(
        invitations::table
            .filter(invitations::id.eq(id))
            .filter(invitations::used_at.is_null())
            .filter(invitations::expires_at.gt(now)),
    )
    .set(invitations::used_at.eq(Some(now)))
    .execute(conn)?
        == 1)
}

/// The entity's members: user id, email, role; by email.
pub fn members_of(
    conn: &mut DbConnection,
    organization_id: &str,
) -> Result<Vec<(String, String, MembershipRole)>, StoreError> {
    let rows: Vec<(String, String, String)> = memberships::table
        .inner_join(users::table)
        .filter(memberships::organization_id.eq(organization_id))
        .order(users::email.asc())
        .select((users::id, users::email, memberships::role))
        .load(conn)?;
    rows.into_iter()
        .map(|(id, email, role)| {
            MembershipRole::try_from(role)
                .map(|r| (id, email, r))
                .map_err(|e| StoreError::Corrupt(e.to_string()))
        })
        .collect()
}

/// Adds or changes one membership.
pub fn set_role(
    conn: &mut DbConnection,
    user_id: &str,
    organization_id: &str,
    role: MembershipRole,
    now: i64,
) -> Result<(), StoreError> {
    let changed = diesel::update(
        memberships::table
            .filter(memberships::user_id.eq(user_id))
            .filter(memberships::organization_id.eq(organization_id)),
    )
    .set(memberships::role.eq(role.as_str()))
    .execute(conn)?;
    if changed == 0 {
        diesel::insert_into(memberships::table)
            .values((
                memberships::user_id.eq(user_id),
                memberships::organization_id.eq(organization_id),
                memberships::role.eq(role.as_str()),
                memberships::created_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(())
}

pub fn remove(
    conn: &mut DbConnection,
    user_id: &str,
    organization_id: &str,
) -> Result<bool, StoreError> {
    Ok(diesel::delete(
        memberships::table
            .filter(memberships::user_id.eq(user_id))
            .filter(memberships::organization_id.eq(organization_id)),
    )
    .execute(conn)?
        == 1)
}

pub fn owners(conn: &mut DbConnection, organization_id: &str) -> Result<i64, StoreError> {
    Ok(memberships::table
        .filter(memberships::organization_id.eq(organization_id))
        .filter(memberships::role.eq(MembershipRole::Owner.as_str()))
        .count()
        .get_result(conn)?)
}
