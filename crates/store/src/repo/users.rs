use diesel::prelude::*;
use domain::model::{JsonList, TenantRole};

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
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub tenant_roles: JsonList<TenantRole>,
    pub disabled: bool,
    pub failed_logins: i32,
    pub locked_until: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub version: i64,
}

impl UserRow {
    /// The tenant roles as the claims carry them.
    pub fn role_names(&self) -> Vec<String> {
        self.tenant_roles
            .iter()
            .map(|r| r.as_str().to_owned())
            .collect()
    }
}

impl UserRow {
    /// A new, enabled user of `tenant_id` at version 1.
    pub fn new(
        tenant_id: &str,
        email: String,
        password_hash: String,
        mfa_enabled: bool,
        tenant_roles: Vec<TenantRole>,
        now: i64,
    ) -> UserRow {
        UserRow {
            id: domain::ids::new_id(),
            tenant_id: tenant_id.to_owned(),
            email,
            password_hash,
            mfa_enabled,
            tenant_roles: tenant_roles.into(),
            disabled: false,
            failed_logins: 0,
            locked_until: None,
            created_at: now,
            updated_at: now,
            version: 1,
        }
    }
}

pub fn insert(conn: &mut DbConnection, row: &UserRow) -> Result<(), StoreError> {
    diesel::insert_into(users::table)
        .values(row.clone())
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

pub fn find(
    conn: &mut DbConnection,
    tenant_id: &str,
    id: &str,
) -> Result<Option<UserRow>, StoreError> {
    Ok(users::table
        .filter(users::tenant_id.eq(tenant_id))
        .filter(users::id.eq(id))
        .select(UserRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn list(
    conn: &mut DbConnection,
    tenant_id: &str,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<UserRow>, StoreError> {
    let mut q = users::table
        .filter(users::tenant_id.eq(tenant_id.to_owned()))
        .select(UserRow::as_select())
        .order(users::id.asc())
        .limit(limit)
        .into_boxed();
    if let Some(a) = after {
        q = q.filter(users::id.gt(a.to_owned()));
    }
    Ok(q.load(conn)?)
}

/// What a PATCH may change; `None` keeps the value.
#[derive(Debug, Default, Clone)]
pub struct UserChanges {
    pub mfa_enabled: Option<bool>,
    pub tenant_roles: Option<Vec<TenantRole>>,
    pub disabled: Option<bool>,
}

/// `UserChanges` as the columns store them.
#[derive(AsChangeset)]
#[diesel(table_name = users)]
struct Columns {
    mfa_enabled: Option<bool>,
    tenant_roles: Option<String>,
    disabled: Option<bool>,
}

impl From<&UserChanges> for Columns {
    fn from(c: &UserChanges) -> Self {
        Columns {
            mfa_enabled: c.mfa_enabled,
            tenant_roles: c.tenant_roles.clone().map(|r| JsonList(r).into()),
            disabled: c.disabled,
        }
    }
}

pub fn update_if_version(
    conn: &mut DbConnection,
    tenant_id: &str,
    id: &str,
    version: i64,
    changes: &UserChanges,
    now: i64,
) -> Result<bool, StoreError> {
    let n = diesel::update(
        users::table
            .filter(users::tenant_id.eq(tenant_id))
            .filter(users::id.eq(id))
            .filter(users::version.eq(version)),
    )
    .set((
        Columns::from(changes),
        users::version.eq(version + 1),
        users::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Counts a failed sign-in; the `max`-th failure in a row locks the account until
/// `now + lock_secs`. One UPDATE, so concurrent failures on any replica all count.
pub fn record_failed_login(
    conn: &mut DbConnection,
    id: &str,
    max: i32,
    lock_secs: i64,
    now: i64,
) -> Result<(), StoreError> {
    use diesel::dsl::case_when;
    let reached = users::failed_logins.ge(max - 1);
    diesel::update(users::table.filter(users::id.eq(id)))
        .set((
            users::failed_logins.eq(case_when::<_, _, diesel::sql_types::Integer>(reached, 0)
                .otherwise(users::failed_logins + 1)),
            users::locked_until.eq(case_when::<
                _,
                _,
                diesel::sql_types::Nullable<diesel::sql_types::BigInt>,
            >(reached, Some(now + lock_secs))
            .otherwise(users::locked_until)),
        ))
        .execute(conn)?;
    Ok(())
}

/// A successful sign-in clears the failure count.
pub fn clear_failed_logins(conn: &mut DbConnection, id: &str) -> Result<(), StoreError> {
    diesel::update(
        users::table.filter(users::id.eq(id)).filter(
            users::failed_logins
                .ne(0)
                .or(users::locked_until.is_not_null()),
        ),
    )
    .set((
        users::failed_logins.eq(0),
        users::locked_until.eq(None::<i64>),
    ))
    .execute(conn)?;
    Ok(())
}

/// Takes one of the `max` code sends the user has per `window` seconds; `false` when they are
/// used up. One conditional UPDATE, so concurrent sign-ins cannot exceed the limit.
pub fn take_code_send(
    conn: &mut DbConnection,
    id: &str,
    max: i32,
    window: i64,
    now: i64,
) -> Result<bool, StoreError> {
    use diesel::dsl::case_when;
    use diesel::sql_types::{BigInt, Integer};
    let expired = users::code_window_start.le(now - window);
    let n = diesel::update(
        users::table.filter(users::id.eq(id)).filter(
            users::code_window_start
                .le(now - window)
                .or(users::code_sends.lt(max)),
        ),
    )
    .set((
        users::code_sends
            .eq(case_when::<_, _, Integer>(expired, 1).otherwise(users::code_sends + 1)),
        users::code_window_start
            .eq(case_when::<_, _, BigInt>(expired, now).otherwise(users::code_window_start)),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Seconds until the user's code-send window ends.
pub fn code_window_left(
    conn: &mut DbConnection,
    id: &str,
    window: i64,
    now: i64,
) -> Result<i64, StoreError> {
    let start: Option<i64> = users::table
        .filter(users::id.eq(id))
        .select(users::code_window_start)
        .first(conn)
        .optional()?;
    Ok(start.map_or(0, |s| (s + window - now).max(1)))
}

/// Gives a code send back (the mail could not go out), so a mail outage does not use up the
/// person's sends.
pub fn return_code_send(conn: &mut DbConnection, id: &str) -> Result<(), StoreError> {
    diesel::update(
        users::table
            .filter(users::id.eq(id))
            .filter(users::code_sends.gt(0)),
    )
    .set(users::code_sends.eq(users::code_sends - 1))
    .execute(conn)?;
    Ok(())
}
