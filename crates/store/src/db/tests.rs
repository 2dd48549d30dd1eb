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

#[test]
fn postgres_connections_give_up_on_an_unreachable_host() {
    assert_eq!(
        with_connect_timeout("postgres://u@h/db"),
        "postgres://u@h/db?connect_timeout=3&tcp_user_timeout=10000"
    );
    assert_eq!(
        with_connect_timeout("postgres://u@h/db?sslmode=require"),
        "postgres://u@h/db?sslmode=require&connect_timeout=3&tcp_user_timeout=10000"
    );
    assert_eq!(
        with_connect_timeout("postgres://u@h/db?connect_timeout=10&tcp_user_timeout=1"),
        "postgres://u@h/db?connect_timeout=10&tcp_user_timeout=1"
    );
}

#[test]
fn lost_connections_and_a_busy_writer_are_unavailable_not_errors() {
    use diesel::result::{DatabaseErrorKind, Error};
    struct Info(&'static str);
    impl diesel::result::DatabaseErrorInformation for Info {
        fn message(&self) -> &str {
            self.0
        }
        fn details(&self) -> Option<&str> {
            None
        }
        fn hint(&self) -> Option<&str> {
            None
        }
        fn table_name(&self) -> Option<&str> {
            None
        }
        fn column_name(&self) -> Option<&str> {
            None
        }
        fn constraint_name(&self) -> Option<&str> {
            None
        }
        fn statement_position(&self) -> Option<i32> {
            None
        }
    }
    let db = |kind, m| StoreError::from(Error::DatabaseError(kind, Box::new(Info(m))));
    let closed = db(
        DatabaseErrorKind::ClosedConnection,
        "server closed the connection",
    );
    assert!(closed.is_unavailable() && closed.is_connection_lost());
    let terminated = db(
        DatabaseErrorKind::Unknown,
        "terminating connection due to administrator command",
    );
    assert!(terminated.is_unavailable() && terminated.is_connection_lost());
    let locked = db(DatabaseErrorKind::Unknown, "database is locked");
    assert!(locked.is_unavailable() && !locked.is_connection_lost());
    let bad = db(DatabaseErrorKind::Unknown, "invalid input syntax for type");
    assert!(!bad.is_unavailable() && !bad.is_connection_lost());
}
