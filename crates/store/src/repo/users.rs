use diesel::prelude::*;

use crate::schema::users;
use crate::{DbConnection, StoreError};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = users)]
pub struct UserRow {
    pub id: String,
    pub tenant_id: String,
    pub email: String,
    pub password_hash: String,
    pub mfa_enabled: bool,
    /// JSON array of tenant role names.
    pub tenant_roles: String,
    pub disabled: bool,
    pub failed_logins: i32,
    pub locked_until: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

pub fn insert(conn: &mut DbConnection, row: &UserRow) -> Result<(), StoreError> {
    diesel::insert_into(users::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn find_by_email(
    conn: &mut DbConnection,
    tenant_id: &str,
    email: &str,
) -> Result<Option<UserRow>, StoreError> {
    Ok(users::table
        .filter(users::tenant_id.eq(tenant_id))
        .filter(users::email.eq(email))
        .select(UserRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn count_in_tenant(conn: &mut DbConnection, tenant_id: &str) -> Result<i64, StoreError> {
    Ok(users::table
        .filter(users::tenant_id.eq(tenant_id))
        .count()
        .get_result(conn)?)
}
