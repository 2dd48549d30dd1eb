use std::collections::HashMap;

use diesel::prelude::*;
use domain::model::MembershipRole;

use crate::schema::memberships;
use crate::{DbConnection, StoreError};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = memberships)]
pub struct MembershipRow {
    pub user_id: String,
    pub organization_id: String,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub role: MembershipRole,
    pub created_at: i64,
}

pub fn of_user(conn: &mut DbConnection, user_id: &str) -> Result<Vec<MembershipRow>, StoreError> {
    Ok(memberships::table
        .filter(memberships::user_id.eq(user_id))
        .order(memberships::organization_id.asc())
        .select(MembershipRow::as_select())
        .load(conn)?)
}

/// The memberships of each of `user_ids` (a page of users), in one query.
pub fn of_users(
    conn: &mut DbConnection,
    user_ids: &[&str],
) -> Result<HashMap<String, Vec<MembershipRow>>, StoreError> {
    let rows: Vec<MembershipRow> = memberships::table
        .filter(memberships::user_id.eq_any(user_ids))
        .order((
            memberships::user_id.asc(),
            memberships::organization_id.asc(),
        ))
        .select(MembershipRow::as_select())
        .load(conn)?;
    let mut of: HashMap<String, Vec<MembershipRow>> = HashMap::new();
    for row in rows {
        of.entry(row.user_id.clone()).or_default().push(row);
    }
    Ok(of)
}

/// Replaces the user's memberships with `rows`.
pub fn replace(
    conn: &mut DbConnection,
    user_id: &str,
    rows: &[MembershipRow],
) -> Result<(), StoreError> {
    diesel::delete(memberships::table.filter(memberships::user_id.eq(user_id))).execute(conn)?;
    for r in rows {
        diesel::insert_into(memberships::table)
            .values(r.clone())
            .execute(conn)?;
    }
    Ok(())
}

/// The user's role in the organization, if a member.
pub fn role_of(
    conn: &mut DbConnection,
    user_id: &str,
    organization_id: &str,
) -> Result<Option<MembershipRole>, StoreError> {
    let role: Option<String> = memberships::table
        .filter(memberships::user_id.eq(user_id))
        .filter(memberships::organization_id.eq(organization_id))
        .select(memberships::role)
        .first(conn)
        .optional()?;
    role.map(|r| MembershipRole::try_from(r).map_err(|e| StoreError::Corrupt(e.to_string())))
        .transpose()
}

/// A page of the user's memberships with their organizations, by organization id.
pub fn entities_of(
    conn: &mut DbConnection,
    user_id: &str,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<(MembershipRow, crate::repo::organizations::OrganizationRow)>, StoreError> {
    use crate::repo::organizations::OrganizationRow;
    use crate::schema::organizations;
    let mut q = memberships::table
        .inner_join(organizations::table)
        .filter(memberships::user_id.eq(user_id.to_owned()))
        .select((MembershipRow::as_select(), OrganizationRow::as_select()))
        .order(memberships::organization_id.asc())
        .limit(limit)
        .into_boxed();
    if let Some(a) = after {
        q = q.filter(memberships::organization_id.gt(a.to_owned()));
    }
    Ok(q.load(conn)?)
}
