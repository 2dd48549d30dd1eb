#[test]
fn replaces_the_database_name() {
    use super::replace_database as r;
    assert_eq!(r("postgres://u@h:5/postgres", "x"), "postgres://u@h:5/x");
    assert_eq!(r("postgres://u@h:5", "x"), "postgres://u@h:5/x");
    assert_eq!(
        r("postgres://u@h/db?sslmode=disable", "x"),
        "postgres://u@h/x?sslmode=disable"
    );
}
