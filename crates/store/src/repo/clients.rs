use diesel::prelude::*;

use crate::schema::{client_secrets, clients};
use crate::{DbConnection, StoreError};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = clients)]
pub struct ClientRow {
    /// Internal key; `client_id` is what clients send and is unique per tenant.
    pub id: String,
    pub tenant_id: String,
    pub client_id: String,
    pub kind: String,
    pub name: String,
    pub organization_id: Option<String>,
    pub auth_method: String,
    /// JSON arrays of names.
    pub grant_types: String,
    pub scopes: String,
    pub default_scopes: String,
    pub tenant_roles: String,
    pub access_token_ttl: Option<i64>,
    pub access_token_alg: String,
    pub jwks: Option<String>,
    pub jwks_uri: Option<String>,
    /// JSON object of further RFC 7591 / 8705 metadata.
    pub metadata: String,
    pub disabled: bool,
    pub failed_auth_count: i32,
    pub locked_until: Option<i64>,
    pub created_by: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
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
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn insert_secret(conn: &mut DbConnection, row: &ClientSecretRow) -> Result<(), StoreError> {
    diesel::insert_into(client_secrets::table)
        .values(row)
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
