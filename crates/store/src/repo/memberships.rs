use diesel::prelude::*;

use crate::schema::memberships;
use crate::{DbConnection, StoreError};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = memberships)]
pub struct MembershipRow {
    pub user_id: String,
    pub organization_id: String,
    pub role: String,
    pub created_at: i64,
}

pub fn of_user(conn: &mut DbConnection, user_id: &str) -> Result<Vec<MembershipRow>, StoreError> {
    Ok(memberships::table
        .filter(memberships::user_id.eq(user_id))
        .order(memberships::organization_id.asc())
        .select(MembershipRow::as_select())
        .load(conn)?)
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
            .values(r)
            .execute(conn)?;
    }
    Ok(())
}
