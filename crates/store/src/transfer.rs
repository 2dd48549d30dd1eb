//! `portcullis migrate-to`: copies a SQLite database (possibly in use by a running instance)
//! into an empty PostgreSQL database, from one snapshot, and verifies the copy.
//!
//! Generic over the schema: the tables, their columns and their foreign keys are read from
//! SQLite itself, so a new migration needs no change here. Rows travel as JSON (SQLite's
//! `json_object`, blobs as PostgreSQL's `\x…` hex), and PostgreSQL turns them back into its
//! own column types with `json_populate_recordset`, in batches, in one transaction.

use std::collections::{BTreeMap, BTreeSet};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use diesel::{PgConnection, SqliteConnection};

use crate::db::{establish, migrate, DatabaseUrl, DbConnection};
use crate::StoreError;

/// Rows per INSERT: big enough to amortise the round trip, small enough to bound memory.
const BATCH: i64 = 2_000;

#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    #[error("the source must be a SQLite database, the target a PostgreSQL one")]
    Backends,
    #[error("the target database is not empty (table `{0}` has rows): refusing to copy into it")]
    NotEmpty(String),
    #[error("table `{table}`: {message}")]
    Table { table: String, message: String },
    #[error(
        "after the copy, table `{table}` has {target} rows where the source had {source_rows}"
    )]
    Mismatch {
        table: String,
        source_rows: i64,
        target: i64,
    },
    #[error("the foreign keys between tables form a cycle: {0}")]
    Cycle(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What diesel's transaction wrapper itself may fail with (BEGIN, COMMIT).
impl From<diesel::result::Error> for TransferError {
    fn from(e: diesel::result::Error) -> Self {
        TransferError::Store(e.into())
    }
}

/// What was copied: rows per table, in copy order.
pub type Copied = Vec<(String, i64)>;

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
}

#[derive(QueryableByName)]
struct Column {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    ty: String,
}

#[derive(QueryableByName)]
struct Parent {
    #[diesel(sql_type = Text)]
    table: String,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct Json {
    #[diesel(sql_type = Text)]
    row: String,
}

const IGNORED: &str = "__diesel_schema_migrations";

fn table_error(table: &str) -> impl Fn(diesel::result::Error) -> TransferError + '_ {
    move |e| TransferError::Table {
        table: table.to_owned(),
        message: e.to_string(),
    }
}

/// A double-quoted SQL identifier (names come from the schema, but quote them anyway).
fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Copies `source` (SQLite) into `target` (PostgreSQL, migrated here if need be, and empty),
/// reporting each table as it is done.
pub fn copy(
    source: &DatabaseUrl,
    target: &DatabaseUrl,
    mut progress: impl FnMut(&str, i64),
) -> Result<Copied, TransferError> {
    let (mut from, mut to) = match (establish(source), establish(target)) {
        (Ok(DbConnection::Sqlite(s)), Ok(DbConnection::Postgres(p))) => (s, p),
        (Err(e), _) | (_, Err(e)) => return Err(StoreError::Connect(e).into()),
        _ => return Err(TransferError::Backends),
    };
    // The source must be at the current schema too, so both sides have the same columns.
    let mut source_conn = DbConnection::Sqlite(from);
    migrate(&mut source_conn)?;
    let DbConnection::Sqlite(s) = source_conn else {
        return Err(TransferError::Backends);
    };
    from = s;
    let mut target_conn = DbConnection::Postgres(to);
    migrate(&mut target_conn)?;
    let DbConnection::Postgres(p) = target_conn else {
        return Err(TransferError::Backends);
    };
    to = p;

    // One read transaction: in WAL mode, a snapshot that a running instance's writes do not
    // change while we read.
    from.transaction::<_, TransferError, _>(|from| {
        let tables = copy_order(from)?;
        for table in &tables {
            if target_count(&mut to, table)? > 0 {
                return Err(TransferError::NotEmpty(table.clone()));
            }
        }
        let mut copied = Vec::new();
        to.transaction::<_, TransferError, _>(|to| {
            for table in &tables {
                let n = copy_table(from, to, table)?;
                progress(table, n);
                copied.push((table.clone(), n));
            }
            Ok(())
        })?;
        // Statistics for the planner at once, not when autovacuum comes round to the new rows.
        to.batch_execute("ANALYZE").map_err(StoreError::from)?;
        // Verified against the snapshot's own counts, not the copy loop's.
        for (table, _) in &copied {
            let (source_rows, target) = (source_count(from, table)?, target_count(&mut to, table)?);
            if target != source_rows {
                return Err(TransferError::Mismatch {
                    table: table.clone(),
                    source_rows,
                    target,
                });
            }
        }
        Ok(copied)
    })
}

/// The tables, parents before children (by their foreign keys).
fn copy_order(from: &mut SqliteConnection) -> Result<Vec<String>, TransferError> {
    let names: Vec<Name> = diesel::sql_query(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    )
    .load(from)
    .map_err(StoreError::from)?;
    let mut parents: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for t in names.into_iter().map(|n| n.name).filter(|t| t != IGNORED) {
        let of: Vec<Parent> = diesel::sql_query(format!(
            "SELECT DISTINCT \"table\" FROM pragma_foreign_key_list('{}')",
            t.replace('\'', "''")
        ))
        .load(from)
        .map_err(table_error(&t))?;
        let set = of
            .into_iter()
            .map(|p| p.table)
            .filter(|p| *p != t)
            .collect();
        parents.insert(t, set);
    }
    let mut order = Vec::new();
    let mut done = BTreeSet::new();
    while done.len() < parents.len() {
        let ready: Vec<String> = parents
            .iter()
            .filter(|(t, ps)| !done.contains(*t) && ps.iter().all(|p| done.contains(p)))
            .map(|(t, _)| t.clone())
            .collect();
        if ready.is_empty() {
            let left: Vec<&String> = parents.keys().filter(|t| !done.contains(*t)).collect();
            return Err(TransferError::Cycle(format!("{left:?}")));
        }
        for t in ready {
            done.insert(t.clone());
            order.push(t);
        }
    }
    Ok(order)
}

fn count_sql(table: &str) -> String {
    format!("SELECT COUNT(*) AS n FROM {}", ident(table))
}

fn target_count(to: &mut PgConnection, table: &str) -> Result<i64, TransferError> {
    let c: Count = diesel::sql_query(count_sql(table))
        .get_result(to)
        .map_err(table_error(table))?;
    Ok(c.n)
}

fn source_count(from: &mut SqliteConnection, table: &str) -> Result<i64, TransferError> {
    let c: Count = diesel::sql_query(count_sql(table))
        .get_result(from)
        .map_err(table_error(table))?;
    Ok(c.n)
}

fn copy_table(
    from: &mut SqliteConnection,
    to: &mut PgConnection,
    table: &str,
) -> Result<i64, TransferError> {
    let columns: Vec<Column> = diesel::sql_query(format!(
        "SELECT name, type AS ty FROM pragma_table_info('{}')",
        table.replace('\'', "''")
    ))
    .load(from)
    .map_err(table_error(table))?;
    // Blobs as PostgreSQL's bytea hex text, everything else as itself.
    let fields: Vec<String> = columns
        .iter()
        .map(|c| {
            let col = ident(&c.name);
            let value = if c.ty.eq_ignore_ascii_case("blob") || c.ty.eq_ignore_ascii_case("binary")
            {
                format!("CASE WHEN {col} IS NULL THEN NULL ELSE '\\x' || hex({col}) END")
            } else {
                col
            };
            format!("'{}', {value}", c.name.replace('\'', "''"))
        })
        .collect();
    let list = columns
        .iter()
        .map(|c| ident(&c.name))
        .collect::<Vec<_>>()
        .join(", ");
    let select = format!(
        "SELECT json_object({}) AS row FROM {} ORDER BY rowid LIMIT {BATCH} OFFSET ",
        fields.join(", "),
        ident(table)
    );
    to.batch_execute(&format!(
        "ALTER TABLE {} DISABLE TRIGGER USER",
        ident(table)
    ))
    .map_err(table_error(table))?;
    let mut copied = 0i64;
    loop {
        let rows: Vec<Json> = diesel::sql_query(format!("{select}{copied}"))
            .load(from)
            .map_err(table_error(table))?;
        if rows.is_empty() {
            break;
        }
        let batch = format!(
            "[{}]",
            rows.iter()
                .map(|r| r.row.as_str())
                .collect::<Vec<_>>()
                .join(",")
        );
        diesel::sql_query(format!(
            "INSERT INTO {t} ({list}) SELECT {list} FROM json_populate_recordset(NULL::{t}, $1::json)",
            t = ident(table)
        ))
        .bind::<Text, _>(batch)
        .execute(to)
        .map_err(table_error(table))?;
        copied += rows.len() as i64;
    }
    // The copy announces nothing: no replica has cached anything of an empty database.
    to.batch_execute(&format!("ALTER TABLE {} ENABLE TRIGGER USER", ident(table)))
        .map_err(table_error(table))?;
    Ok(copied)
}
