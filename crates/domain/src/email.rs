//! Email addresses as sign-in names: one form per mailbox, so that `Bob@Acmé.example` and
//! `bob@xn--acm-dma.example` are the same person, not two users.

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EmailError {
    #[error("must be an email address")]
    Malformed,
    #[error("the domain is not a valid internationalized domain name")]
    Domain,
}

/// The normalized form: the local part case-folded, the domain in its IDNA ASCII form
/// (UTS #46: punycode, lower case).
pub fn normalize(raw: &str) -> Result<String, EmailError> {
    let raw = raw.trim();
    let (local, domain) = raw.rsplit_once('@').ok_or(EmailError::Malformed)?;
    if local.is_empty() || domain.is_empty() || local.chars().any(|c| c.is_control()) {
        return Err(EmailError::Malformed);
    }
    let domain = idna::domain_to_ascii(domain).map_err(|_| EmailError::Domain)?;
    // The lenient UTS #46 mapping lets through what no mail domain holds (spaces, `_`).
    let hostname = domain
        .split('.')
        .all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
    if !hostname {
        return Err(EmailError::Domain);
    }
    Ok(format!("{}@{domain}", local.to_lowercase()))
}

#[cfg(test)]
mod tests;
