use diesel::prelude::*;
use domain::client_metadata::ClientMetadata;
use domain::model::{AuthMethod, ClientKind, GrantType, JsonList, SigningAlg, TenantRole};

use crate::schema::{client_secrets, clients};
use crate::{DbConnection, StoreError};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = clients)]
pub struct ClientRow {
    /// Internal key; `client_id` is what clients send and is unique per tenant.
    pub id: String,
    pub tenant_id: String,
    pub client_id: String,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub kind: ClientKind,
    pub name: String,
    pub organization_id: Option<String>,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub auth_method: AuthMethod,
    /// JSON arrays of names.
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub grant_types: JsonList<GrantType>,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub scopes: JsonList<String>,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub default_scopes: JsonList<String>,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub tenant_roles: JsonList<TenantRole>,
    pub access_token_ttl: Option<i64>,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub access_token_alg: SigningAlg,
    pub jwks: Option<String>,
    pub jwks_uri: Option<String>,
    /// JSON object of further RFC 7591 / 8705 metadata.
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub metadata: ClientMetadata,
    pub disabled: bool,
    pub failed_auth_count: i32,
    pub locked_until: Option<i64>,
    pub created_by: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub version: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = client_secrets)]
pub struct ClientSecretRow {
    pub id: String,
    pub client_pk: String,
    /// HMAC-SHA-256 of the secret under the master key; never the secret itself.
    pub secret_hash: Vec<u8>,
    pub created_at: i64,
    pub expires_at: Option<i64>,
}

pub fn insert(conn: &mut DbConnection, row: &ClientRow) -> Result<(), StoreError> {
    diesel::insert_into(clients::table)
        .values(row.clone())
        .execute(conn)?;
    Ok(())
}

pub fn insert_secret(conn: &mut DbConnection, row: &ClientSecretRow) -> Result<(), StoreError> {
    diesel::insert_into(client_secrets::table)
        .values(row.clone())
        .execute(conn)?;
    Ok(())
}

pub fn find(
    conn: &mut DbConnection,
    tenant_id: &str,
    client_id: &str,
) -> Result<Option<ClientRow>, StoreError> {
    Ok(clients::table
        .filter(clients::tenant_id.eq(tenant_id))
        .filter(clients::client_id.eq(client_id))
        .select(ClientRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn secrets_of(
    conn: &mut DbConnection,
    client_pk: &str,
) -> Result<Vec<ClientSecretRow>, StoreError> {
    Ok(client_secrets::table
        .filter(client_secrets::client_pk.eq(client_pk))
        .select(ClientSecretRow::as_select())
        .load(conn)?)
}

pub fn find_by_pk(conn: &mut DbConnection, pk: &str) -> Result<Option<ClientRow>, StoreError> {
    Ok(clients::table
        .find(pk)
        .select(ClientRow::as_select())
        .first(conn)
        .optional()?)
}

/// A page of the tenant's clients, or of those of one kind that one organization owns.
pub fn list(
    conn: &mut DbConnection,
    tenant_id: &str,
    owned: Option<(&str, &str)>,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<ClientRow>, StoreError> {
    let mut q = clients::table
        .filter(clients::tenant_id.eq(tenant_id.to_owned()))
        .select(ClientRow::as_select())
        .order(clients::id.asc())
        .limit(limit)
        .into_boxed();
    if let Some((organization_id, kind)) = owned {
        q = q
            .filter(clients::organization_id.eq(organization_id.to_owned()))
            .filter(clients::kind.eq(kind.to_owned()));
    }
    if let Some(a) = after {
        q = q.filter(clients::id.gt(a.to_owned()));
    }
    Ok(q.load(conn)?)
}

/// What a PATCH may change; `None` leaves a field as it is.
#[derive(Debug, Default, Clone)]
pub struct ClientChanges {
    pub name: Option<String>,
    pub grant_types: Option<Vec<GrantType>>,
    pub scopes: Option<Vec<String>>,
    pub default_scopes: Option<Vec<String>>,
    pub tenant_roles: Option<Vec<TenantRole>>,
    pub access_token_ttl: Option<Option<i64>>,
    pub access_token_alg: Option<SigningAlg>,
    pub jwks: Option<Option<String>>,
    pub jwks_uri: Option<Option<String>>,
    pub disabled: Option<bool>,
    pub metadata: Option<ClientMetadata>,
}

/// `ClientChanges` as the columns store them.
#[derive(AsChangeset)]
#[diesel(table_name = clients)]
struct Columns {
    name: Option<String>,
    grant_types: Option<String>,
    scopes: Option<String>,
    default_scopes: Option<String>,
    tenant_roles: Option<String>,
    access_token_ttl: Option<Option<i64>>,
    access_token_alg: Option<String>,
    jwks: Option<Option<String>>,
    jwks_uri: Option<Option<String>>,
    disabled: Option<bool>,
    metadata: Option<String>,
}

fn json_list<T: serde::Serialize + Clone>(v: &Option<Vec<T>>) -> Option<String> {
    v.clone().map(|v| JsonList(v).into())
}

impl From<&ClientChanges> for Columns {
    fn from(c: &ClientChanges) -> Self {
        Columns {
            name: c.name.clone(),
            grant_types: json_list(&c.grant_types),
            scopes: json_list(&c.scopes),
            default_scopes: json_list(&c.default_scopes),
            tenant_roles: json_list(&c.tenant_roles),
            access_token_ttl: c.access_token_ttl,
            access_token_alg: c.access_token_alg.map(String::from),
            jwks: c.jwks.clone(),
            jwks_uri: c.jwks_uri.clone(),
            disabled: c.disabled,
            metadata: c.metadata.clone().map(String::from),
        }
    }
}

pub fn update_if_version(
    conn: &mut DbConnection,
    pk: &str,
    version: i64,
    changes: &ClientChanges,
    now: i64,
) -> Result<bool, StoreError> {
    let n = diesel::update(
        clients::table
            .filter(clients::id.eq(pk))
            .filter(clients::version.eq(version)),
    )
    .set((
        Columns::from(changes),
        clients::version.eq(version + 1),
        clients::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

pub fn delete(conn: &mut DbConnection, pk: &str) -> Result<bool, StoreError> {
    Ok(diesel::delete(clients::table.find(pk)).execute(conn)? == 1)
}

/// Gives every live secret of the client except `keep` an expiry no later than `at`.
pub fn expire_secrets_except(
    conn: &mut DbConnection,
    client_pk: &str,
    keep: &str,
    at: i64,
) -> Result<usize, StoreError> {
    let base = client_secrets::table
        .filter(client_secrets::client_pk.eq(client_pk))
        .filter(client_secrets::id.ne(keep));
    let a = diesel::update(base.filter(client_secrets::expires_at.is_null()))
        .set(client_secrets::expires_at.eq(Some(at)))
        .execute(conn)?;
    let b = diesel::update(base.filter(client_secrets::expires_at.gt(at)))
        .set(client_secrets::expires_at.eq(Some(at)))
        .execute(conn)?;
    Ok(a + b)
}

pub fn delete_secret(
    conn: &mut DbConnection,
    client_pk: &str,
    id: &str,
) -> Result<bool, StoreError> {
    Ok(diesel::delete(
        client_secrets::table
            .filter(client_secrets::client_pk.eq(client_pk))
            .filter(client_secrets::id.eq(id)),
    )
    .execute(conn)?
        == 1)
}

/// Counts a failed authentication (a wrong secret, or a wrong device secret sent with it); the
/// `max`-th in a row locks the client until `now + lock_secs`. One UPDATE: concurrent failures
/// on any replica all count.
/// Addressed by the client id a request named, whether or not such a client exists: an unknown
/// id costs the same statement (matching no row), so failures do not tell which ids exist.
pub fn record_failed_auth(
    conn: &mut DbConnection,
    tenant_id: &str,
    client_id: &str,
    max: i32,
    lock_secs: i64,
    now: i64,
) -> Result<(), StoreError> {
    use diesel::dsl::case_when;
    use diesel::sql_types::{BigInt, Integer, Nullable};
    let reached = clients::failed_auth_count.ge(max - 1);
    diesel::update(
        clients::table
            .filter(clients::tenant_id.eq(tenant_id))
            .filter(clients::client_id.eq(client_id)),
    )
    .set((
        clients::failed_auth_count
            .eq(case_when::<_, _, Integer>(reached, 0).otherwise(clients::failed_auth_count + 1)),
        clients::locked_until.eq(case_when::<_, _, Nullable<BigInt>>(
            reached,
            Some(now + lock_secs),
        )
        .otherwise(clients::locked_until)),
    ))
    .execute(conn)?;
    Ok(())
}

/// A successful authentication clears the failure count.
pub fn clear_failed_auth(conn: &mut DbConnection, pk: &str) -> Result<(), StoreError> {
    diesel::update(clients::table.filter(clients::id.eq(pk)))
        .set((
            clients::failed_auth_count.eq(0),
            clients::locked_until.eq(None::<i64>),
        ))
        .execute(conn)?;
    Ok(())
}
