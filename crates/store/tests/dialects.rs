//! The SQLite and PostgreSQL migrations must describe the same schema: same tables, columns,
//! column types, nullability, primary keys, unique constraints and indexes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;

use diesel::prelude::*;
use diesel::sql_types::{Bool, Integer, Text};
use store::testing::TestDb;
use store::{establish, migrate, DatabaseUrl, DbConnection};

#[derive(Debug, Default, PartialEq)]
struct Schema {
    /// (table, column, normalised type, nullable)
    columns: BTreeSet<(String, String, String, bool)>,
    /// (table, comma-separated columns, unique, primary)
    indexes: BTreeSet<(String, String, bool, bool)>,
}

const IGNORED: &str = "__diesel_schema_migrations";

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
}

#[derive(QueryableByName)]
struct SqliteColumn {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    ty: String,
    #[diesel(sql_type = Integer)]
    notnull: i32,
}

#[derive(QueryableByName)]
struct SqliteIndex {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Integer)]
    unique: i32,
    #[diesel(sql_type = Text)]
    origin: String,
}

fn sqlite_schema(conn: &mut SqliteConnection) -> Schema {
    let mut schema = Schema::default();
    let tables: Vec<Name> = diesel::sql_query(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    )
    .load(conn)
    .unwrap();
    for table in tables.into_iter().map(|t| t.name).filter(|t| t != IGNORED) {
        let cols: Vec<SqliteColumn> = diesel::sql_query(format!(
            "SELECT name, type AS ty, \"notnull\" FROM pragma_table_info('{table}')"
        ))
        .load(conn)
        .unwrap();
        for c in cols {
            let ty = match c.ty.to_lowercase().as_str() {
                "blob" => "bytea".to_owned(),
                other => other.to_owned(),
            };
            schema
                .columns
                .insert((table.clone(), c.name, ty, c.notnull == 0));
        }
        let indexes: Vec<SqliteIndex> = diesel::sql_query(format!(
            "SELECT name, \"unique\", origin FROM pragma_index_list('{table}')"
        ))
        .load(conn)
        .unwrap();
        for ix in indexes {
            let cols: Vec<Name> = diesel::sql_query(format!(
                "SELECT name FROM pragma_index_info('{}') ORDER BY seqno",
                ix.name
            ))
            .load(conn)
            .unwrap();
            let cols = cols
                .into_iter()
                .map(|c| c.name)
                .collect::<Vec<_>>()
                .join(",");
            schema
                .indexes
                .insert((table.clone(), cols, ix.unique != 0, ix.origin == "pk"));
        }
    }
    schema
}

#[derive(QueryableByName)]
struct PgColumn {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Text)]
    data_type: String,
    #[diesel(sql_type = Text)]
    is_nullable: String,
}

#[derive(QueryableByName)]
struct PgIndex {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    columns: String,
    #[diesel(sql_type = Bool)]
    is_unique: bool,
    #[diesel(sql_type = Bool)]
    is_primary: bool,
}

fn postgres_schema(conn: &mut PgConnection) -> Schema {
    let mut schema = Schema::default();
    let cols: Vec<PgColumn> = diesel::sql_query(
        "SELECT table_name::text, column_name::text, data_type::text, is_nullable::text \
         FROM information_schema.columns WHERE table_schema = current_schema()",
    )
    .load(conn)
    .unwrap();
    for c in cols.into_iter().filter(|c| c.table_name != IGNORED) {
        schema.columns.insert((
            c.table_name,
            c.column_name,
            c.data_type,
            c.is_nullable == "YES",
        ));
    }
    let indexes: Vec<PgIndex> = diesel::sql_query(
        "SELECT t.relname::text AS table_name, \
                string_agg(a.attname::text, ',' ORDER BY k.ord) AS columns, \
                ix.indisunique AS is_unique, ix.indisprimary AS is_primary \
         FROM pg_index ix \
         JOIN pg_class t ON t.oid = ix.indrelid \
         JOIN pg_class i ON i.oid = ix.indexrelid \
         JOIN pg_namespace n ON n.oid = t.relnamespace \
         CROSS JOIN LATERAL unnest(ix.indkey) WITH ORDINALITY AS k(attnum, ord) \
         JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum \
         WHERE n.nspname = current_schema() \
         GROUP BY t.relname, i.relname, ix.indisunique, ix.indisprimary",
    )
    .load(conn)
    .unwrap();
    for ix in indexes.into_iter().filter(|i| i.table_name != IGNORED) {
        schema
            .indexes
            .insert((ix.table_name, ix.columns, ix.is_unique, ix.is_primary));
    }
    schema
}

fn migrated(url: &DatabaseUrl) -> DbConnection {
    let mut conn = establish(url).unwrap();
    migrate(&mut conn).unwrap();
    conn
}

#[test]
fn sqlite_and_postgres_migrations_define_the_same_schema() {
    let admin = TestDb::postgres_admin_url().expect(
        "this test compares against a real PostgreSQL: run `cargo xtask test`, or set \
         PORTCULLIS_TEST_PG_URL / TEST_DATABASE_URL to a postgres:// URL",
    );
    let lite_db = TestDb::sqlite();
    let pg_db = TestDb::postgres(&admin);

    let DbConnection::Sqlite(mut lite) = migrated(&lite_db.url) else {
        panic!("not SQLite")
    };
    let DbConnection::Postgres(mut pg) = migrated(&pg_db.url) else {
        panic!("not PostgreSQL")
    };
    let lite = sqlite_schema(&mut lite);
    let pg = postgres_schema(&mut pg);

    assert!(
        lite.columns.len() > 100,
        "the whole domain model is there: {}",
        lite.columns.len()
    );
    let tables: BTreeSet<_> = lite.columns.iter().map(|c| c.0.as_str()).collect();
    for t in [
        "tenants",
        "organizations",
        "devices",
        "users",
        "memberships",
        "clients",
        "client_secrets",
        "signing_keys",
        "trust_anchors",
        "enrollments",
        "refresh_tokens",
        "used_jtis",
        "revoked_tokens",
        "mfa_challenges",
        "audit_events",
    ] {
        assert!(tables.contains(t), "table {t} missing");
    }

    let only_lite: Vec<_> = lite.columns.difference(&pg.columns).collect();
    let only_pg: Vec<_> = pg.columns.difference(&lite.columns).collect();
    assert!(
        only_lite.is_empty() && only_pg.is_empty(),
        "columns differ\n only in SQLite: {only_lite:#?}\n only in PostgreSQL: {only_pg:#?}"
    );
    let only_lite: Vec<_> = lite.indexes.difference(&pg.indexes).collect();
    let only_pg: Vec<_> = pg.indexes.difference(&lite.indexes).collect();
    assert!(
        only_lite.is_empty() && only_pg.is_empty(),
        "indexes and unique constraints differ\n only in SQLite: {only_lite:#?}\n only in PostgreSQL: {only_pg:#?}"
    );
}
