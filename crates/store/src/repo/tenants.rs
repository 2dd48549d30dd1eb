use diesel::prelude::*;
use domain::model::Environment;
use domain::tenant_settings::TenantSettings;

use crate::schema::tenants;
use crate::{DbConnection, StoreError};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = tenants)]
pub struct TenantRow {
    pub id: String,
    pub slug: String,
    pub name: String,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub environment: Environment,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub settings: TenantSettings,
    pub disabled: bool,
    pub created_at: i64,
    pub updated_at: i64,
    /// Bumped by every update; the resource's ETag.
    pub version: i64,
}

pub fn insert(conn: &mut DbConnection, row: &TenantRow) -> Result<(), StoreError> {
    diesel::insert_into(tenants::table)
        .values(row.clone())
        .execute(conn)?;
    Ok(())
}

pub fn find_by_slug(conn: &mut DbConnection, slug: &str) -> Result<Option<TenantRow>, StoreError> {
    Ok(tenants::table
        .filter(tenants::slug.eq(slug))
        .select(TenantRow::as_select())
        .first(conn)
        .optional()?)
}

/// The tenant with this id, or else the one with this slug. A slug may spell another tenant's
/// id (32 hex digits is a valid slug); the id wins, as in the URLs.
///
/// Ids are UUIDs in simple form: a key of that shape is looked up as an id first, any other as
/// a slug first, and the second lookup runs only when the first finds nothing. So the common
/// case is one indexed lookup (a single `id = $1 OR slug = $1` costs PostgreSQL a bitmap scan
/// and a sort on every admin request).
pub fn find_by_id_or_slug(
    conn: &mut DbConnection,
    key: &str,
) -> Result<Option<TenantRow>, StoreError> {
    let id_shaped = key.len() == 32 && key.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    let found = if id_shaped {
        find(conn, key)?
    } else {
        find_by_slug(conn, key)?
    };
    match found {
        Some(t) => Ok(Some(t)),
        None if id_shaped => find_by_slug(conn, key),
        None => find(conn, key),
    }
}

pub fn count(conn: &mut DbConnection) -> Result<i64, StoreError> {
    Ok(tenants::table.count().get_result(conn)?)
}

pub fn find(conn: &mut DbConnection, id: &str) -> Result<Option<TenantRow>, StoreError> {
    Ok(tenants::table
        .find(id)
        .select(TenantRow::as_select())
        .first(conn)
        .optional()?)
}

/// Tenants in id order after `cursor`, at most `limit`; `only` restricts to one tenant id.
pub fn list(
    conn: &mut DbConnection,
    after: Option<&str>,
    limit: i64,
    only: Option<&str>,
) -> Result<Vec<TenantRow>, StoreError> {
    let mut q = tenants::table
        .select(TenantRow::as_select())
        .order(tenants::id.asc())
        .limit(limit)
        .into_boxed();
    if let Some(a) = after {
        q = q.filter(tenants::id.gt(a.to_owned()));
    }
    if let Some(id) = only {
        q = q.filter(tenants::id.eq(id.to_owned()));
    }
    Ok(q.load(conn)?)
}

/// What a PATCH may change; `None` keeps the value.
#[derive(Debug, Default, Clone)]
pub struct TenantChanges {
    pub name: Option<String>,
    pub environment: Option<Environment>,
    pub settings: Option<TenantSettings>,
    pub disabled: Option<bool>,
}

/// `TenantChanges` as the columns store them.
#[derive(AsChangeset)]
#[diesel(table_name = tenants)]
struct Columns {
    name: Option<String>,
    environment: Option<String>,
    settings: Option<String>,
    disabled: Option<bool>,
}

impl From<&TenantChanges> for Columns {
    fn from(c: &TenantChanges) -> Self {
        Columns {
            name: c.name.clone(),
            environment: c.environment.map(String::from),
            settings: c.settings.clone().map(String::from),
            disabled: c.disabled,
        }
    }
}

/// Applies `changes` if the row is still at `version`; `false` when someone else changed it
/// first (or it does not exist).
pub fn update_if_version(
    conn: &mut DbConnection,
    id: &str,
    version: i64,
    changes: &TenantChanges,
    now: i64,
) -> Result<bool, StoreError> {
    let n = diesel::update(
        tenants::table
            .filter(tenants::id.eq(id))
            .filter(tenants::version.eq(version)),
    )
    .set((
        Columns::from(changes),
        tenants::version.eq(version + 1),
        tenants::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(n == 1)
}
