//! Scope tokens (RFC 6749 §3.3) as clients and tenants list them.

/// RFC 6749 §3.3 scope tokens; `*` is reserved for "all allowed".
#[allow(clippy::ptr_arg)]
pub fn valid_scopes(scopes: &Vec<String>) -> Result<(), validator::ValidationError> {
    let ok = scopes.len() <= 100
        && scopes.iter().all(|s| {
            !s.is_empty()
                && s.len() <= 100
                && s != "*"
                && s.bytes()
                    .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b))
        });
    if ok {
        Ok(())
    } else {
        let mut e = validator::ValidationError::new("scopes");
        e.message = Some("scope tokens are printable ASCII without spaces, quotes or backslashes; `*` is reserved".into());
        Err(e)
    }
}
