use super::*;

#[test]
fn urls_pick_their_backend() {
    assert_eq!(
        "sqlite://data/p.db".parse::<DatabaseUrl>().unwrap(),
        DatabaseUrl::Sqlite("data/p.db".into())
    );
    assert_eq!(
        "sqlite:///tmp/p.db".parse::<DatabaseUrl>().unwrap(),
        DatabaseUrl::Sqlite("/tmp/p.db".into())
    );
    assert_eq!(
        "postgresql://u@h/db"
            .parse::<DatabaseUrl>()
            .unwrap()
            .backend(),
        Backend::Postgres
    );
    assert_eq!(
        "mysql://x".parse::<DatabaseUrl>(),
        Err(DatabaseUrlError::UnknownScheme)
    );
    assert_eq!(
        "data/p.db".parse::<DatabaseUrl>(),
        Err(DatabaseUrlError::UnknownScheme)
    );
    assert_eq!(
        "sqlite://".parse::<DatabaseUrl>(),
        Err(DatabaseUrlError::EmptyPath)
    );
}

#[test]
fn display_hides_the_password() {
    let u: DatabaseUrl = "postgres://app:s3cret@db:5432/portcullis".parse().unwrap();
    let shown = u.to_string();
    assert!(!shown.contains("s3cret"), "{shown}");
    assert_eq!(shown, "postgres://app:***@db:5432/portcullis");
}
