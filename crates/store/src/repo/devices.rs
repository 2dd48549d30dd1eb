use diesel::prelude::*;

use crate::schema::devices;
use crate::{DbConnection, StoreError};

/// Live device tokens of a tenant signed by `kid`: what retiring that key invalidates.
pub fn count_tokens_signed_by(
    conn: &mut DbConnection,
    tenant_id: &str,
    kid: &str,
) -> Result<i64, StoreError> {
    Ok(devices::table
        .filter(devices::tenant_id.eq(tenant_id))
        .filter(devices::token_kid.eq(kid))
        .filter(devices::disabled.eq(false))
        .count()
        .get_result(conn)?)
}
