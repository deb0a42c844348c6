//! Moving up (issue 9): copies a SQLite server database into an empty
//! PostgreSQL database, row for row, so that every device keeps syncing
//! (same ids, change sequence numbers, device token hashes, secrets and
//! epoch) and every share link still resolves (same tokens, same keys).
//!
//! The tables are discovered from the PostgreSQL schema (the parity test
//! keeps it equal to SQLite's), never listed by hand, so a new table is
//! copied without anyone remembering to add it. Everything happens in ONE
//! PostgreSQL transaction, verified (per table: row count and a sha256 over
//! the rows in primary-key order, read back from PostgreSQL) before COMMIT:
//! a failure or a mismatch leaves the target empty, and the command can
//! simply be run again.

use std::collections::BTreeMap;
use std::path::Path;

use futures_util::TryStreamExt;
use rusqlite::types::Value;
use rusqlite::{Connection, OpenFlags};
use sha2::{Digest, Sha256};
use tokio_postgres::types::ToSql;
use tokio_postgres::{GenericClient, Row, Transaction};

use crate::{connect, latest, migrate, Error};

/// Rows per multi-row INSERT, at most (fewer for wide tables, so one
/// statement stays far below PostgreSQL's 65535 parameters).
pub const BATCH_ROWS: usize = 1000;
/// Parameters per INSERT statement, at most.
const BATCH_PARAMS: usize = 30_000;

/// What was copied: each table's row count and checksum, equal on both sides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyReport {
    pub schema_version: i64,
    pub tables: Vec<TableCopy>,
}

/// One table of a [`CopyReport`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableCopy {
    pub table: String,
    pub rows: u64,
    /// sha256 (hex) over the rows in primary-key order, see [`Checksum`].
    pub checksum: String,
}

/// A PostgreSQL column type the copy converts SQLite values into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    BigInt,
    Int,
    Bool,
    Text,
    Bytes,
    Float,
}

impl Kind {
    fn from_pg(data_type: &str) -> Option<Kind> {
        Some(match data_type {
            "bigint" => Kind::BigInt,
            "integer" | "smallint" => Kind::Int,
            "boolean" => Kind::Bool,
            "text" | "character varying" => Kind::Text,
            "bytea" => Kind::Bytes,
            "double precision" | "real" => Kind::Float,
            _ => return None,
        })
    }
}

/// One value, as both sides render it for the checksum.
#[derive(Debug, Clone, PartialEq)]
enum Cell {
    Null,
    Int(i64),
    Bool(bool),
    Text(String),
    Bytes(Vec<u8>),
    Float(f64),
}

#[derive(Debug, Clone)]
struct Table {
    name: String,
    /// (column, kind), in the PostgreSQL column order.
    columns: Vec<(String, Kind)>,
    /// Primary-key columns (all columns for a table without one).
    key: Vec<String>,
}

impl Table {
    fn kind(&self, column: &str) -> Option<Kind> {
        self.columns.iter().find(|c| c.0 == column).map(|c| c.1)
    }

    fn column_list(&self) -> String {
        let names: Vec<String> = self.columns.iter().map(|c| quote(&c.0)).collect();
        names.join(", ")
    }

    /// ORDER BY the key, comparing like SQLite does (bytes, NULLs first),
    /// so both sides hash the rows in the same order.
    fn pg_order(&self) -> String {
        let keys: Vec<String> = self
            .key
            .iter()
            .map(|k| match self.kind(k) {
                Some(Kind::Text) => format!("{} COLLATE \"C\" NULLS FIRST", quote(k)),
                _ => format!("{} NULLS FIRST", quote(k)),
            })
            .collect();
        keys.join(", ")
    }

    fn sqlite_order(&self) -> String {
        let keys: Vec<String> = self
            .key
            .iter()
            .map(|k| format!("{} COLLATE BINARY", quote(k)))
            .collect();
        keys.join(", ")
    }
}

/// sha256 over rows rendered the same way whichever side they come from:
/// a tag byte per value, then its bytes (lengths prefixed), so no two
/// different rows render alike.
struct Checksum {
    hash: Sha256,
    rows: u64,
}

impl Checksum {
    fn new() -> Self {
        Checksum {
            hash: Sha256::new(),
            rows: 0,
        }
    }

    fn add(&mut self, row: &[Cell]) {
        for cell in row {
            match cell {
                Cell::Null => self.hash.update(b"n"),
                Cell::Int(i) => {
                    self.hash.update(b"i");
                    self.hash.update(i.to_le_bytes());
                }
                Cell::Bool(b) => self.hash.update(if *b { b"T" } else { b"F" }),
                Cell::Text(s) => self.bytes(b"t", s.as_bytes()),
                Cell::Bytes(b) => self.bytes(b"x", b),
                Cell::Float(f) => {
                    self.hash.update(b"f");
                    self.hash.update(f.to_bits().to_le_bytes());
                }
            }
        }
        self.hash.update(b"\n");
        self.rows += 1;
    }

    fn bytes(&mut self, tag: &[u8], bytes: &[u8]) {
        self.hash.update(tag);
        self.hash.update((bytes.len() as u64).to_le_bytes());
        self.hash.update(bytes);
    }

    fn finish(self) -> (u64, String) {
        let digest = self.hash.finalize();
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        (self.rows, hex)
    }
}

/// Copies the SQLite server database at `sqlite_path` into the PostgreSQL
/// database at `pg_url` (migrated to the latest schema first), which must
/// hold no row. See the module documentation.
///
/// The SQLite file is only read (one read transaction, so a server still
/// running on it cannot make the copy inconsistent; stop it anyway, or its
/// later writes are not copied). Media files are not touched: the rows keep
/// their paths, the files stay where they are.
pub async fn copy_from_sqlite(sqlite_path: &Path, pg_url: &str) -> Result<CopyReport, Error> {
    let source = open_source(sqlite_path)?;
    let mut client = connect(pg_url).await?;
    // The runner's "already exists, skipping" notices would read like news.
    client
        .batch_execute("SET client_min_messages TO warning")
        .await?;
    migrate(&mut client).await?;
    let tables = target_tables(&client).await?;
    check_source_tables(&source, &tables)?;
    let tx = client.transaction().await?;
    refuse_non_empty(&tx, &tables).await?;
    let deferred = defer_foreign_keys(&tx).await?;
    let mut expected = Vec::new();
    for table in &tables {
        expected.push(copy_table(&source, &tx, table).await?);
    }
    restore_foreign_keys(&tx, &deferred).await?;
    let report = verify(&tx, &tables, expected).await?;
    reset_sequences(&source, &tx).await?;
    tx.commit().await?;
    Ok(report)
}

/// Opens the SQLite file read-only, in one read transaction, and checks it
/// is at the schema version this binary's PostgreSQL schema has.
fn open_source(path: &Path) -> Result<Connection, Error> {
    if !path.is_file() {
        return Err(Error::Copy(format!(
            "no SQLite database at {}",
            path.display()
        )));
    }
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.execute_batch("BEGIN")?;
    let version: i64 = conn
        .query_row(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            [],
            |r| r.get(0),
        )
        .map_err(|e| {
            Error::Copy(format!(
                "{} is not a Warmlead server database ({e})",
                path.display()
            ))
        })?;
    let want = latest();
    if version < want {
        return Err(Error::Copy(format!(
            "the SQLite database is at schema version {version}, this release's PostgreSQL schema at {want}: \
             upgrade the SQLite database first (start this release's `warmlead-server serve` on it once, stop it, copy again)"
        )));
    }
    if version > want {
        return Err(Error::Copy(format!(
            "the SQLite database is at schema version {version}, newer than this release ({want}): \
             copy with the warmlead-server release that wrote it (or a newer one)"
        )));
    }
    Ok(conn)
}

/// The target's data tables (all but schema_migrations and the UNLOGGED ones) with their
/// columns and primary keys, from PostgreSQL's catalog.
async fn target_tables(client: &impl GenericClient) -> Result<Vec<Table>, Error> {
    let columns = client
        .query(
            "SELECT c.table_name::text, c.column_name::text, c.data_type::text
             FROM information_schema.columns c
             JOIN information_schema.tables t
               ON t.table_schema = c.table_schema AND t.table_name = c.table_name
             WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'
               AND c.table_name <> 'schema_migrations'
               -- UNLOGGED tables hold nothing to move (the burst filter's
               -- last minutes, which SQLite keeps in the writer's memory).
               AND NOT EXISTS (SELECT 1 FROM pg_class r
                               WHERE r.relname = c.table_name AND r.relpersistence = 'u'
                                 AND r.relnamespace = current_schema()::regnamespace)
             ORDER BY c.table_name, c.ordinal_position",
            &[],
        )
        .await?;
    let mut tables: BTreeMap<String, Table> = BTreeMap::new();
    for r in &columns {
        let (name, column, data_type): (String, String, String) = (r.get(0), r.get(1), r.get(2));
        let kind = Kind::from_pg(&data_type).ok_or_else(|| {
            Error::Copy(format!(
                "{name}.{column} is {data_type}, a type the copy does not convert yet"
            ))
        })?;
        let table = tables.entry(name.clone()).or_insert_with(|| Table {
            name,
            columns: Vec::new(),
            key: Vec::new(),
        });
        table.columns.push((column, kind));
    }
    let keys = client
        .query(
            "SELECT tc.table_name::text, k.column_name::text
             FROM information_schema.table_constraints tc
             JOIN information_schema.key_column_usage k
               ON k.constraint_schema = tc.constraint_schema AND k.constraint_name = tc.constraint_name
              AND k.table_name = tc.table_name
             WHERE tc.constraint_type = 'PRIMARY KEY' AND tc.table_schema = current_schema()
             ORDER BY tc.table_name, k.ordinal_position",
            &[],
        )
        .await?;
    for r in &keys {
        if let Some(table) = tables.get_mut(&r.get::<_, String>(0)) {
            table.key.push(r.get(1));
        }
    }
    for table in tables.values_mut() {
        if table.key.is_empty() {
            table.key = table.columns.iter().map(|c| c.0.clone()).collect();
        }
    }
    Ok(tables.into_values().collect())
}

/// Refuses a SQLite table that PostgreSQL does not have: its rows would be
/// lost without a word.
fn check_source_tables(source: &Connection, tables: &[Table]) -> Result<(), Error> {
    let mut stmt = source.prepare(
        "SELECT name FROM sqlite_master WHERE type = 'table'
         AND name NOT LIKE 'sqlite_%' AND name <> 'schema_migrations' ORDER BY name",
    )?;
    let names = stmt.query_map([], |r| r.get::<_, String>(0))?;
    for name in names {
        let name = name?;
        if !tables.iter().any(|t| t.name == name) {
            return Err(Error::Copy(format!(
                "the SQLite table {name} has no PostgreSQL counterpart: nothing copied"
            )));
        }
    }
    Ok(())
}

async fn refuse_non_empty(tx: &Transaction<'_>, tables: &[Table]) -> Result<(), Error> {
    let mut full = Vec::new();
    for table in tables {
        let sql = format!("SELECT EXISTS (SELECT 1 FROM {})", quote(&table.name));
        if tx.query_one(&sql, &[]).await?.get::<_, bool>(0) {
            full.push(table.name.clone());
        }
    }
    if full.is_empty() {
        return Ok(());
    }
    Err(Error::Copy(format!(
        "the target database is not empty: {} already hold rows; copy into a new, empty database",
        full.join(", ")
    )))
}

/// The schema has foreign-key cycles (users <-> invitations, companies <->
/// media), so no table order works: within this transaction every foreign
/// key is checked at the end instead of per row. Returns `(table, constraint)`
/// of those switched, to switch back.
async fn defer_foreign_keys(tx: &Transaction<'_>) -> Result<Vec<(String, String)>, Error> {
    let rows = tx
        .query(
            "SELECT conrelid::regclass::text, conname::text FROM pg_constraint
             WHERE contype = 'f' AND NOT condeferrable
               AND connamespace = current_schema()::regnamespace
             ORDER BY 1, 2",
            &[],
        )
        .await?;
    let keys: Vec<(String, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    for (table, name) in &keys {
        tx.batch_execute(&format!(
            "ALTER TABLE {table} ALTER CONSTRAINT {} DEFERRABLE INITIALLY DEFERRED",
            quote(name)
        ))
        .await?;
    }
    Ok(keys)
}

/// Checks every deferred foreign key now, then makes them as they were.
async fn restore_foreign_keys(
    tx: &Transaction<'_>,
    keys: &[(String, String)],
) -> Result<(), Error> {
    tx.batch_execute("SET CONSTRAINTS ALL IMMEDIATE")
        .await
        .map_err(|e| Error::Copy(format!("{}; nothing copied", pg_message(&e))))?;
    for (table, name) in keys {
        tx.batch_execute(&format!(
            "ALTER TABLE {table} ALTER CONSTRAINT {} NOT DEFERRABLE",
            quote(name)
        ))
        .await?;
    }
    Ok(())
}

/// Streams one table from SQLite in key order into batched INSERTs; the
/// checksum of what was read.
async fn copy_table(
    source: &Connection,
    tx: &Transaction<'_>,
    table: &Table,
) -> Result<TableCopy, Error> {
    let select = format!(
        "SELECT {} FROM {} ORDER BY {}",
        table.column_list(),
        quote(&table.name),
        table.sqlite_order()
    );
    let mut stmt = source
        .prepare(&select)
        .map_err(|e| Error::Copy(format!("reading SQLite table {}: {e}", table.name)))?;
    let mut rows = stmt.query([])?;
    let per_batch = (BATCH_PARAMS / table.columns.len().max(1)).clamp(1, BATCH_ROWS);
    let mut batch: Vec<Vec<Cell>> = Vec::with_capacity(per_batch);
    let mut sum = Checksum::new();
    while let Some(row) = rows.next()? {
        let cells = source_row(table, row)?;
        sum.add(&cells);
        batch.push(cells);
        if batch.len() == per_batch {
            insert(tx, table, &batch).await?;
            batch.clear();
        }
    }
    if !batch.is_empty() {
        insert(tx, table, &batch).await?;
    }
    let (rows, checksum) = sum.finish();
    Ok(TableCopy {
        table: table.name.clone(),
        rows,
        checksum,
    })
}

fn source_row(table: &Table, row: &rusqlite::Row<'_>) -> Result<Vec<Cell>, Error> {
    let mut cells = Vec::with_capacity(table.columns.len());
    for (i, (column, kind)) in table.columns.iter().enumerate() {
        let value: Value = row.get(i)?;
        let cell = convert(value, *kind).map_err(|found| {
            Error::Copy(format!(
                "{}.{column}: a SQLite {found} cannot go into a {kind:?} column; nothing copied",
                table.name
            ))
        })?;
        cells.push(cell);
    }
    Ok(cells)
}

/// A SQLite value as the PostgreSQL column's type wants it; on a mismatch,
/// what was found.
fn convert(value: Value, kind: Kind) -> Result<Cell, String> {
    Ok(match (value, kind) {
        (Value::Null, _) => Cell::Null,
        (Value::Integer(i), Kind::BigInt) => Cell::Int(i),
        (Value::Integer(i), Kind::Int) if i32::try_from(i).is_ok() => Cell::Int(i),
        (Value::Integer(0), Kind::Bool) => Cell::Bool(false),
        (Value::Integer(1), Kind::Bool) => Cell::Bool(true),
        (Value::Integer(i), Kind::Float) => Cell::Float(i as f64),
        (Value::Real(f), Kind::Float) => Cell::Float(f),
        (Value::Text(s), Kind::Text) => Cell::Text(s),
        (Value::Blob(b), Kind::Bytes) => Cell::Bytes(b),
        (Value::Integer(i), _) => return Err(format!("integer {i}")),
        (Value::Real(f), _) => return Err(format!("real {f}")),
        (Value::Text(s), _) => return Err(format!("text {s:?}")),
        (Value::Blob(b), _) => return Err(format!("blob of {} bytes", b.len())),
    })
}

/// A parameter typed like its column (a NULL too: tokio-postgres checks
/// the Rust type of every parameter against the column's).
fn param(cell: &Cell, kind: Kind) -> Box<dyn ToSql + Sync + Send> {
    match (cell, kind) {
        (Cell::Int(i), Kind::Int) => Box::new(*i as i32),
        (Cell::Int(i), _) => Box::new(*i),
        (Cell::Bool(b), _) => Box::new(*b),
        (Cell::Text(s), _) => Box::new(s.clone()),
        (Cell::Bytes(b), _) => Box::new(b.clone()),
        (Cell::Float(f), _) => Box::new(*f),
        (Cell::Null, Kind::BigInt) => Box::new(None::<i64>),
        (Cell::Null, Kind::Int) => Box::new(None::<i32>),
        (Cell::Null, Kind::Bool) => Box::new(None::<bool>),
        (Cell::Null, Kind::Text) => Box::new(None::<String>),
        (Cell::Null, Kind::Bytes) => Box::new(None::<Vec<u8>>),
        (Cell::Null, Kind::Float) => Box::new(None::<f64>),
    }
}

async fn insert(tx: &Transaction<'_>, table: &Table, rows: &[Vec<Cell>]) -> Result<(), Error> {
    let width = table.columns.len();
    let mut values = Vec::with_capacity(rows.len());
    let mut params: Vec<Box<dyn ToSql + Sync + Send>> = Vec::with_capacity(rows.len() * width);
    for (r, row) in rows.iter().enumerate() {
        let slots: Vec<String> = (1..=width).map(|c| format!("${}", r * width + c)).collect();
        values.push(format!("({})", slots.join(", ")));
        for (cell, (_, kind)) in row.iter().zip(&table.columns) {
            params.push(param(cell, *kind));
        }
    }
    let sql = format!(
        "INSERT INTO {} ({}) VALUES {}",
        quote(&table.name),
        table.column_list(),
        values.join(", ")
    );
    let refs: Vec<&(dyn ToSql + Sync)> = params
        .iter()
        .map(|p| p.as_ref() as &(dyn ToSql + Sync))
        .collect();
    tx.execute(&sql, &refs).await.map_err(|e| {
        Error::Copy(format!(
            "writing {}: {}; nothing copied",
            table.name,
            pg_message(&e)
        ))
    })?;
    Ok(())
}

/// The server's own words for a failed statement (tokio-postgres' Display
/// says only "db error").
fn pg_message(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => match db.detail() {
            Some(detail) => format!("{} ({detail})", db.message()),
            None => db.message().to_string(),
        },
        None => e.to_string(),
    }
}

/// Reads every table back from PostgreSQL and compares its count and
/// checksum with what SQLite gave; any difference fails the copy (and so
/// rolls it back).
async fn verify(
    tx: &Transaction<'_>,
    tables: &[Table],
    expected: Vec<TableCopy>,
) -> Result<CopyReport, Error> {
    for (table, want) in tables.iter().zip(&expected) {
        let got = target_checksum(tx, table).await?;
        if got != *want {
            return Err(Error::Copy(format!(
                "verification failed for {}: SQLite {} rows (sha256 {}), PostgreSQL {} rows (sha256 {}); nothing copied",
                table.name, want.rows, want.checksum, got.rows, got.checksum
            )));
        }
    }
    Ok(CopyReport {
        schema_version: latest(),
        tables: expected,
    })
}

/// Every data table of a PostgreSQL database at the latest schema, with
/// its row count and checksum computed exactly as the copy's verification
/// does: a backup restored elsewhere (tests/pg_dump.rs) must give the
/// [`CopyReport`] of the copy it was taken from. Reads in one REPEATABLE
/// READ transaction, so the tables are summed at one point in time.
pub async fn checksums(client: &mut tokio_postgres::Client) -> Result<Vec<TableCopy>, Error> {
    let tx = client
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await?;
    let mut sums = Vec::new();
    for table in target_tables(&tx).await? {
        sums.push(target_checksum(&tx, &table).await?);
    }
    tx.commit().await?;
    Ok(sums)
}

async fn target_checksum(db: &impl GenericClient, table: &Table) -> Result<TableCopy, Error> {
    let sql = format!(
        "SELECT {} FROM {} ORDER BY {}",
        table.column_list(),
        quote(&table.name),
        table.pg_order()
    );
    let mut sum = Checksum::new();
    // Streamed, not collected: a table of millions of signals would not fit.
    let none: [&(dyn ToSql + Sync); 0] = [];
    let rows = db.query_raw(&sql, none).await?;
    let mut rows = std::pin::pin!(rows);
    while let Some(row) = rows.try_next().await? {
        sum.add(&target_row(table, &row)?);
    }
    let (rows, checksum) = sum.finish();
    Ok(TableCopy {
        table: table.name.clone(),
        rows,
        checksum,
    })
}

fn target_row(table: &Table, row: &Row) -> Result<Vec<Cell>, Error> {
    let mut cells = Vec::with_capacity(table.columns.len());
    for (i, (_, kind)) in table.columns.iter().enumerate() {
        let cell = match kind {
            Kind::BigInt => row.try_get::<_, Option<i64>>(i)?.map(Cell::Int),
            Kind::Int => row
                .try_get::<_, Option<i32>>(i)?
                .map(|v| Cell::Int(v.into())),
            Kind::Bool => row.try_get::<_, Option<bool>>(i)?.map(Cell::Bool),
            Kind::Text => row.try_get::<_, Option<String>>(i)?.map(Cell::Text),
            Kind::Bytes => row.try_get::<_, Option<Vec<u8>>>(i)?.map(Cell::Bytes),
            Kind::Float => row.try_get::<_, Option<f64>>(i)?.map(Cell::Float),
        };
        cells.push(cell.unwrap_or(Cell::Null));
    }
    Ok(cells)
}

/// Sets every serial column's sequence past the highest number used: the
/// largest id copied, or SQLite's AUTOINCREMENT high mark when rows were
/// deleted above it (a change number is never handed out twice).
async fn reset_sequences(source: &Connection, tx: &Transaction<'_>) -> Result<(), Error> {
    let serials = tx
        .query(
            "SELECT table_name::text, column_name::text FROM information_schema.columns
             WHERE table_schema = current_schema() AND column_default LIKE 'nextval(%'
             ORDER BY 1, 2",
            &[],
        )
        .await?;
    let high_marks = sqlite_sequences(source)?;
    for r in &serials {
        let (table, column): (String, String) = (r.get(0), r.get(1));
        let max_sql = format!(
            "SELECT COALESCE(MAX({}), 0)::BIGINT FROM {}",
            quote(&column),
            quote(&table)
        );
        let max: i64 = tx.query_one(&max_sql, &[]).await?.get(0);
        let used = max.max(high_marks.get(&table).copied().unwrap_or(0));
        tx.query_one(
            "SELECT setval(pg_get_serial_sequence(quote_ident($1), $2), $3, false)",
            &[&table, &column, &(used + 1)],
        )
        .await?;
    }
    Ok(())
}

/// SQLite's AUTOINCREMENT high marks (`sqlite_sequence`), by table.
fn sqlite_sequences(source: &Connection) -> Result<BTreeMap<String, i64>, Error> {
    let exists: bool = source.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence')",
        [],
        |r| r.get(0),
    )?;
    if !exists {
        return Ok(BTreeMap::new());
    }
    let mut stmt = source.prepare("SELECT name, seq FROM sqlite_sequence")?;
    let marks = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?
        .collect::<Result<_, _>>()?;
    Ok(marks)
}

/// An identifier quoted for either SQL dialect.
fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_values_convert_by_the_postgres_column_type() {
        let cases: &[(Value, Kind, Result<Cell, &str>)] = &[
            (Value::Null, Kind::Bool, Ok(Cell::Null)),
            (Value::Integer(0), Kind::Bool, Ok(Cell::Bool(false))),
            (Value::Integer(1), Kind::Bool, Ok(Cell::Bool(true))),
            (Value::Integer(2), Kind::Bool, Err("integer 2")),
            (
                Value::Integer(i64::MAX),
                Kind::BigInt,
                Ok(Cell::Int(i64::MAX)),
            ),
            (
                Value::Integer(1 << 40),
                Kind::Int,
                Err("integer 1099511627776"),
            ),
            (Value::Integer(-5), Kind::Int, Ok(Cell::Int(-5))),
            (Value::Integer(3), Kind::Float, Ok(Cell::Float(3.0))),
            (
                Value::Text("é".into()),
                Kind::Text,
                Ok(Cell::Text("é".into())),
            ),
            (Value::Text("1".into()), Kind::BigInt, Err("text \"1\"")),
            (
                Value::Blob(vec![0, 255]),
                Kind::Bytes,
                Ok(Cell::Bytes(vec![0, 255])),
            ),
            (Value::Blob(vec![1]), Kind::Text, Err("blob of 1 bytes")),
            (Value::Real(0.5), Kind::BigInt, Err("real 0.5")),
        ];
        for (value, kind, want) in cases {
            let got = convert(value.clone(), *kind);
            assert_eq!(
                got,
                want.clone().map_err(str::to_string),
                "{value:?} -> {kind:?}"
            );
        }
    }

    /// Rows of cells, as a table test writes them.
    type Rows<'a> = &'a [&'a [Cell]];

    fn sum(rows: Rows<'_>) -> String {
        let mut c = Checksum::new();
        for row in rows {
            c.add(row);
        }
        c.finish().1
    }

    #[test]
    fn the_checksum_tells_apart_rows_that_would_render_alike_as_plain_text() {
        use Cell::*;
        let pairs: &[(Rows<'_>, Rows<'_>)] = &[
            (
                &[&[Text("a".into()), Text("bc".into())]],
                &[&[Text("ab".into()), Text("c".into())]],
            ),
            (&[&[Null]], &[&[Text(String::new())]]),
            (&[&[Int(1)]], &[&[Bool(true)]]),
            (&[&[Text("ab".into())]], &[&[Bytes(b"ab".to_vec())]]),
            (&[&[Int(1)], &[Int(2)]], &[&[Int(2)], &[Int(1)]]),
            (&[&[Int(1), Int(2)]], &[&[Int(1)], &[Int(2)]]),
        ];
        for (a, b) in pairs {
            assert_ne!(sum(a), sum(b), "{a:?} vs {b:?}");
            assert_eq!(sum(a), sum(a));
        }
    }
}
