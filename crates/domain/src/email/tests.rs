use super::*;

#[test]
fn one_form_per_mailbox() {
    let a = normalize("bob@acmé.example").unwrap();
    assert_eq!(a, "bob@xn--acm-dma.example");
    assert_eq!(normalize(" Bob@ACMÉ.Example ").unwrap(), a);
    assert_eq!(normalize("bob@xn--acm-dma.example").unwrap(), a);
    assert_eq!(normalize("Ada@Acme.Example").unwrap(), "ada@acme.example");
}

#[test]
fn refuses_what_is_not_an_address() {
    assert_eq!(normalize("no-at-sign"), Err(EmailError::Malformed));
    assert_eq!(normalize("@acme.example"), Err(EmailError::Malformed));
    assert_eq!(normalize("bob@"), Err(EmailError::Malformed));
    assert_eq!(normalize("bob@exa mple.com"), Err(EmailError::Domain));
}
