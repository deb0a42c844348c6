// Shared by the server's and the desktop store's migration tests (each
// `include!`s it into a `fixture` module that also defines `CHECKED`): fills
// every table of a SQLite schema with `ROWS` rows made from the schema
// itself, snapshots every table, and checks a migration kept every row with
// every column it had. Foreign keys point at the referenced table's rows.

use std::collections::BTreeMap;

use rusqlite::types::Value;
use rusqlite::Connection;

/// Rows put in each table (one in a single-row table, `CHECK (id = 1)`;
/// a row a migration seeded is replaced by the fixture's).
pub const ROWS: i64 = 2;

/// Table name -> column name -> its values (as text, sorted).
pub type Snapshot = BTreeMap<String, BTreeMap<String, Vec<String>>>;

fn tables(conn: &Connection) -> Vec<String> {
    // Plain tables only: a full-text index and its shadow tables follow theirs.
    conn.prepare(
        "SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'table'
         AND name NOT LIKE 'sqlite_%' AND name <> 'schema_migrations' ORDER BY name",
    )
    .unwrap()
    .query_map([], |r| r.get(0))
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

/// (name, declared type) of each column.
fn columns(conn: &Connection, table: &str) -> Vec<(String, String)> {
    conn.prepare(&format!("PRAGMA table_info(\"{table}\")"))
        .unwrap()
        .query_map([], |r| Ok((r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// column -> (referenced table, referenced column).
fn foreign_keys(conn: &Connection, table: &str) -> BTreeMap<String, (String, String)> {
    conn.prepare(&format!("PRAGMA foreign_key_list(\"{table}\")"))
        .unwrap()
        .query_map([], |r| {
            let to: Option<String> = r.get(4)?;
            Ok((r.get::<_, String>(3)?, (r.get::<_, String>(2)?, to.unwrap_or_else(|| "id".into()))))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// The value of `table.column` in row `n`: the same wherever it is asked,
/// so a foreign key gets the value of the row it points at.
fn value(conn: &Connection, table: &str, column: &str, n: i64) -> Value {
    if let Some((_, _, v)) = CHECKED.iter().find(|(t, c, _)| *t == table && *c == column) {
        return Value::Text((*v).into());
    }
    let declared = columns(conn, table)
        .into_iter()
        .find(|(c, _)| c == column)
        .map(|(_, t)| t.to_uppercase())
        .unwrap_or_default();
    if declared.contains("INT") {
        Value::Integer(n)
    } else if declared.contains("BLOB") {
        Value::Blob(format!("{table}.{column}.{n}").into_bytes())
    } else {
        Value::Text(format!("{table}.{column}.{n}"))
    }
}

/// `ROWS` rows in every table (foreign keys checked once all are in).
pub fn fill(conn: &Connection) {
    conn.pragma_update(None, "foreign_keys", "OFF").unwrap();
    for table in tables(conn) {
        let cols = columns(conn, &table);
        let fks = foreign_keys(conn, &table);
        let names: Vec<String> = cols.iter().map(|(c, _)| format!("\"{c}\"")).collect();
        let marks: Vec<String> = (1..=cols.len()).map(|i| format!("?{i}")).collect();
        let sql = format!(
            "INSERT OR REPLACE INTO \"{table}\" ({}) VALUES ({})",
            names.join(", "),
            marks.join(", ")
        );
        for n in 1..=ROWS {
            let values: Vec<Value> = cols
                .iter()
                .map(|(c, _)| match fks.get(c) {
                    Some((t, tc)) => value(conn, t, tc, n),
                    None => value(conn, &table, c, n),
                })
                .collect();
            match conn.execute(&sql, rusqlite::params_from_iter(values)) {
                Ok(_) => {}
                // A single-row table takes one.
                Err(e) if n > 1 && e.to_string().contains("CHECK constraint failed") => break,
                Err(e) => panic!("filling {table}: {e} (add its CHECK value to CHECKED)"),
            }
        }
    }
    let broken: i64 = conn
        .query_row("SELECT COUNT(*) FROM pragma_foreign_key_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(broken, 0, "the fixture's foreign keys point at its rows");
    conn.pragma_update(None, "foreign_keys", "ON").unwrap();
}

fn text(v: Value) -> String {
    match v {
        Value::Null => "NULL".into(),
        Value::Integer(i) => i.to_string(),
        Value::Real(f) => f.to_string(),
        Value::Text(s) => s,
        Value::Blob(b) => String::from_utf8_lossy(&b).into_owned(),
    }
}

/// Every table's columns with their values.
pub fn snapshot(conn: &Connection) -> Snapshot {
    let mut out = Snapshot::new();
    for table in tables(conn) {
        let mut cols = BTreeMap::new();
        for (c, _) in columns(conn, &table) {
            let mut values: Vec<String> = conn
                .prepare(&format!("SELECT \"{c}\" FROM \"{table}\""))
                .unwrap()
                .query_map([], |r| r.get::<_, Value>(0))
                .unwrap()
                .map(|v| text(v.unwrap()))
                .collect();
            values.sort();
            cols.insert(c, values);
        }
        out.insert(table, cols);
    }
    out
}

/// Every table of `before` is still there with its rows and, for each of its
/// columns still there, the same values. New tables and columns are free.
pub fn assert_kept(before: &Snapshot, after: &Snapshot, what: &str) {
    for (table, cols) in before {
        let rows = cols.values().next().map_or(0, Vec::len);
        assert!(rows > 0, "{what}: {table} was filled");
        let kept = after
            .get(table)
            .unwrap_or_else(|| panic!("{what}: table {table} is gone"));
        for (c, values) in cols {
            let Some(now) = kept.get(c) else { continue };
            assert_eq!(now, values, "{what}: {table}.{c} changed");
        }
        let now_rows = kept.values().next().map_or(0, Vec::len);
        assert_eq!(now_rows, rows, "{what}: rows of {table}");
    }
}
