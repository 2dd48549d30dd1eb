//! The audit log: who did what to which object, when, from where. Never a secret.

use diesel::prelude::*;

use crate::schema::audit_events;
use crate::{DbConnection, StoreError};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = audit_events)]
pub struct AuditRow {
    pub id: String,
    pub tenant_id: String,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub at: i64,
    pub client_ip: Option<String>,
    pub request_id: Option<String>,
    /// JSON object of non-secret details.
    pub details: String,
}

/// Runs `write` and records `event` in the same transaction: a change and its audit row exist
/// together or not at all.
pub async fn audited<T, F>(store: &crate::Store, event: AuditRow, write: F) -> Result<T, StoreError>
where
    F: FnOnce(&mut DbConnection) -> Result<T, StoreError> + Send + 'static,
    T: Send + 'static,
{
    store
        .transaction(move |c| {
            let out = write(c)?;
            insert(c, &event)?;
            Ok(out)
        })
        .await
}

pub fn insert(conn: &mut DbConnection, row: &AuditRow) -> Result<(), StoreError> {
    diesel::insert_into(audit_events::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

#[derive(Debug, Default, Clone)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub target: Option<String>,
    pub from: Option<i64>,
    pub to: Option<i64>,
}

/// Events of a tenant, oldest first, after the `after` id.
pub fn list(
    conn: &mut DbConnection,
    tenant_id: &str,
    filter: &AuditFilter,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<AuditRow>, StoreError> {
    let mut q = audit_events::table
        .filter(audit_events::tenant_id.eq(tenant_id.to_owned()))
        .select(AuditRow::as_select())
        .order(audit_events::id.asc())
        .limit(limit)
        .into_boxed();
    if let Some(a) = after {
        q = q.filter(audit_events::id.gt(a.to_owned()));
    }
    if let Some(v) = &filter.actor {
        q = q.filter(audit_events::actor.eq(v.clone()));
    }
    if let Some(v) = &filter.action {
        q = q.filter(audit_events::action.eq(v.clone()));
    }
    if let Some(v) = &filter.target {
        q = q.filter(audit_events::target.eq(v.clone()));
    }
    if let Some(v) = filter.from {
        q = q.filter(audit_events::at.ge(v));
    }
    if let Some(v) = filter.to {
        q = q.filter(audit_events::at.le(v));
    }
    Ok(q.load(conn)?)
}

/// Events of a tenant matching `filter`, newest first, before the `before` id.
pub fn latest(
    conn: &mut DbConnection,
    tenant_id: &str,
    filter: &AuditFilter,
    before: Option<&str>,
    limit: i64,
) -> Result<Vec<AuditRow>, StoreError> {
    let mut q = audit_events::table
        .filter(audit_events::tenant_id.eq(tenant_id.to_owned()))
        .select(AuditRow::as_select())
        .order(audit_events::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(b) = before {
        q = q.filter(audit_events::id.lt(b.to_owned()));
    }
    if let Some(v) = &filter.actor {
        q = q.filter(audit_events::actor.eq(v.clone()));
    }
    if let Some(v) = &filter.action {
        q = q.filter(audit_events::action.eq(v.clone()));
    }
    Ok(q.load(conn)?)
}

/// Events about an organization (an entity), newest first: those whose target or details name
/// it. Organization ids are unique and prefixed (`VN…`, `FD…`, `OR…`), so the match is exact
/// enough; `%` and `_` cannot occur in them.
pub fn of_entity(
    conn: &mut DbConnection,
    tenant_id: &str,
    organization_id: &str,
    action: Option<&str>,
    before: Option<&str>,
    limit: i64,
) -> Result<Vec<AuditRow>, StoreError> {
    let pattern = format!("%{organization_id}%");
    let mut q = audit_events::table
        .filter(audit_events::tenant_id.eq(tenant_id.to_owned()))
        .filter(
            audit_events::target
                .like(pattern.clone())
                .or(audit_events::details.like(pattern)),
        )
        .select(AuditRow::as_select())
        .order(audit_events::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(b) = before {
        q = q.filter(audit_events::id.lt(b.to_owned()));
    }
    if let Some(a) = action {
        q = q.filter(audit_events::action.eq(a.to_owned()));
    }
    Ok(q.load(conn)?)
}
