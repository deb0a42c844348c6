//! The two migration sets describe one schema: a fresh SQLite server
//! database (every file in crates/server-sqlite/migrations, read at test time so a
//! new SQLite migration without its PostgreSQL twin fails here) and a fresh
//! PostgreSQL database migrated by this crate must have the same tables,
//! columns (type class, nullability, default), primary keys, named indexes,
//! unique constraints, foreign keys, and the values each CHECK allows.

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;

use warmlead_server_postgres::{migrate, Client, MIGRATIONS};

/// Columns the Rust side binds as `bool`: INTEGER 0/1 in SQLite, BOOLEAN here.
const BOOL_FLAGS: &[(&str, &str)] = &[
    ("leads", "man_money"),
    ("leads", "man_authority"),
    ("leads", "man_need"),
];

/// (table, column, type class, nullable)
type Column = (String, String, String, bool);
/// (index, table, unique, columns)
type Index = (String, String, bool, Vec<String>);
/// (table, column, referenced table, referenced column)
type ForeignKey = (String, String, String, String);
/// (table, columns)
type Unique = (String, Vec<String>);
/// (table, column, default as written, normalized)
type Default = (String, String, String);
/// (table, column, the values a CHECK (column IN (...)) allows)
type Check = (String, String, Vec<String>);

#[derive(Debug, std::default::Default)]
struct Schema {
    columns: BTreeSet<Column>,
    indexes: BTreeSet<Index>,
    foreign_keys: BTreeSet<ForeignKey>,
    uniques: BTreeSet<Unique>,
    primary_keys: BTreeSet<Unique>,
    defaults: BTreeSet<Default>,
    checks: BTreeSet<Check>,
}

impl Schema {
    /// The schema less one table (its columns, indexes and keys).
    fn without_table(mut self, table: &str) -> Schema {
        assert!(
            self.columns.iter().any(|c| c.0 == table),
            "{table} is not in the schema"
        );
        self.columns.retain(|c| c.0 != table);
        self.indexes.retain(|i| i.1 != table);
        self.uniques.retain(|u| u.0 != table);
        self.primary_keys.retain(|k| k.0 != table);
        self.defaults.retain(|d| d.0 != table);
        self.foreign_keys.retain(|f| f.0 != table);
        self.checks.retain(|c| c.0 != table);
        self
    }
}

fn sqlite_migration_files() -> Vec<(i64, PathBuf)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../server-sqlite/migrations");
    let mut files: Vec<(i64, PathBuf)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {dir:?}: {e}"))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "sql"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            let number = name[..4]
                .parse()
                .unwrap_or_else(|_| panic!("{name}: not numbered"));
            (number, p)
        })
        .collect();
    files.sort();
    files
}

fn sqlite_schema() -> Schema {
    let conn = rusqlite::Connection::open_in_memory().unwrap();
    for (_, path) in sqlite_migration_files() {
        let sql = std::fs::read_to_string(&path).unwrap();
        conn.execute_batch(&sql)
            .unwrap_or_else(|e| panic!("{path:?}: {e}"));
    }
    let strings = |sql: &str| -> Vec<Vec<String>> {
        let mut stmt = conn.prepare(sql).unwrap();
        let n = stmt.column_count();
        stmt.query_map([], |r| {
            (0..n)
                .map(|i| r.get::<_, rusqlite::types::Value>(i).map(text))
                .collect()
        })
        .unwrap()
        .map(Result::unwrap)
        .collect()
    };
    let mut schema = Schema::default();
    for r in strings(
        "SELECT m.name, p.name, upper(p.type), p.\"notnull\", p.pk, p.dflt_value
         FROM sqlite_master m JOIN pragma_table_info(m.name) p
         WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'
         ORDER BY m.name, p.pk",
    ) {
        if !r[5].is_empty() {
            schema
                .defaults
                .insert((r[0].clone(), r[1].clone(), r[5].clone()));
        }
        if r[4] != "0" {
            add_key_column(&mut schema.primary_keys, &r[0], &r[1]);
        }
        let class = if BOOL_FLAGS.contains(&(r[0].as_str(), r[1].as_str())) {
            "boolean".to_string()
        } else {
            r[2].to_lowercase()
        };
        // SQLite lets a PRIMARY KEY column hold NULL unless it says NOT
        // NULL; nothing here relies on that quirk.
        let nullable = r[3] == "0" && r[4] == "0";
        schema
            .columns
            .insert((r[0].clone(), r[1].clone(), class, nullable));
    }
    let index_columns = |name: &str| -> Vec<String> {
        strings(&format!(
            "SELECT name FROM pragma_index_info('{name}') ORDER BY seqno"
        ))
        .into_iter()
        .map(|r| r[0].clone())
        .collect()
    };
    for r in strings(
        "SELECT name, tbl_name, sql LIKE 'CREATE UNIQUE INDEX%' FROM sqlite_master
         WHERE type = 'index' AND sql IS NOT NULL",
    ) {
        let columns = index_columns(&r[0]);
        schema
            .indexes
            .insert((r[0].clone(), r[1].clone(), r[2] == "1", columns));
    }
    for r in strings(
        "SELECT m.name, l.name FROM sqlite_master m JOIN pragma_index_list(m.name) l
         WHERE m.type = 'table' AND l.origin = 'u'",
    ) {
        schema.uniques.insert((r[0].clone(), index_columns(&r[1])));
    }
    for r in strings(
        "SELECT m.name, f.\"from\", f.\"table\", f.\"to\"
         FROM sqlite_master m JOIN pragma_foreign_key_list(m.name) f
         WHERE m.type = 'table'",
    ) {
        schema
            .foreign_keys
            .insert((r[0].clone(), r[1].clone(), r[2].clone(), r[3].clone()));
    }
    for r in strings("SELECT name, sql FROM sqlite_master WHERE type = 'table'") {
        // Every CHECK in the SQLite set reads `CHECK (column IN ('a', 'b'))`.
        for clause in r[1].split("CHECK (").skip(1) {
            let clause = clause.split("))").next().unwrap_or_default();
            let column = clause.split_whitespace().next().unwrap_or_default();
            schema
                .checks
                .insert((r[0].clone(), column.to_string(), quoted(clause)));
        }
    }
    schema
}

/// The '...' literals of an SQL fragment, sorted.
fn quoted(sql: &str) -> Vec<String> {
    let mut values: Vec<String> = sql
        .split('\'')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect();
    values.sort();
    values
}

/// Appends `column` to `table`'s key (columns arrive in key order).
fn add_key_column(keys: &mut BTreeSet<Unique>, table: &str, column: &str) {
    let mut columns = keys
        .iter()
        .find(|k| k.0 == table)
        .map(|k| k.1.clone())
        .unwrap_or_default();
    keys.retain(|k| k.0 != table);
    columns.push(column.to_string());
    keys.insert((table.to_string(), columns));
}

/// A PostgreSQL column default as SQLite writes it: `'sync'::text` is
/// `'sync'`, `false` is `0`; sequences (SQLite's rowid) have none.
fn sqlite_style_default(pg: &str) -> Option<String> {
    if pg.starts_with("nextval(") {
        return None;
    }
    Some(match pg {
        "false" => "0".to_string(),
        "true" => "1".to_string(),
        other => other.trim_end_matches("::text").to_string(),
    })
}

fn text(v: rusqlite::types::Value) -> String {
    match v {
        rusqlite::types::Value::Null => String::new(),
        rusqlite::types::Value::Integer(i) => i.to_string(),
        rusqlite::types::Value::Text(s) => s,
        other => format!("{other:?}"),
    }
}

async fn postgres_schema(client: &Client) -> Schema {
    let mut schema = Schema::default();
    for r in client
        .query(
            "SELECT table_name::text, column_name::text, data_type::text, is_nullable = 'YES',
                    column_default::text
             FROM information_schema.columns
             WHERE table_schema = 'public' AND table_name <> 'schema_migrations'",
            &[],
        )
        .await
        .unwrap()
    {
        if let Some(default) = r
            .get::<_, Option<String>>(4)
            .as_deref()
            .and_then(sqlite_style_default)
        {
            schema.defaults.insert((r.get(0), r.get(1), default));
        }
        let class = match r.get::<_, String>(2).as_str() {
            "bigint" => "integer",
            "text" => "text",
            "bytea" => "blob",
            "boolean" => "boolean",
            // Only in `burst_windows`, PostgreSQL's own table (left out below).
            "ARRAY" => "array",
            other => panic!("unexpected column type {other}"),
        };
        schema
            .columns
            .insert((r.get(0), r.get(1), class.to_string(), r.get(3)));
    }
    for r in client
        .query(
            "SELECT ic.relname::text, t.relname::text, i.indisunique,
                    array_agg(a.attname::text ORDER BY k.n)
             FROM pg_index i
             JOIN pg_class ic ON ic.oid = i.indexrelid
             JOIN pg_class t ON t.oid = i.indrelid
             JOIN pg_namespace ns ON ns.oid = t.relnamespace
             CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, n)
             JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
             WHERE ns.nspname = 'public' AND t.relname <> 'schema_migrations'
               AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
             GROUP BY ic.relname, t.relname, i.indisunique",
            &[],
        )
        .await
        .unwrap()
    {
        schema
            .indexes
            .insert((r.get(0), r.get(1), r.get(2), r.get(3)));
    }
    for r in client
        .query(
            "SELECT t.relname::text,
                    array_agg(a.attname::text ORDER BY k.n), c.contype
             FROM pg_constraint c
             JOIN pg_class t ON t.oid = c.conrelid
             JOIN pg_namespace ns ON ns.oid = t.relnamespace
             CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k(attnum, n)
             JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
             WHERE ns.nspname = 'public' AND c.contype IN ('u', 'p')
               AND t.relname <> 'schema_migrations'
             GROUP BY c.oid, t.relname, c.contype",
            &[],
        )
        .await
        .unwrap()
    {
        let keys = if r.get::<_, i8>(2) == b'p' as i8 {
            &mut schema.primary_keys
        } else {
            &mut schema.uniques
        };
        keys.insert((r.get(0), r.get(1)));
    }
    for r in client
        .query(
            "SELECT t.relname::text, a.attname::text, rt.relname::text, ra.attname::text
             FROM pg_constraint c
             JOIN pg_class t ON t.oid = c.conrelid
             JOIN pg_class rt ON rt.oid = c.confrelid
             JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
             JOIN pg_attribute ra ON ra.attrelid = c.confrelid AND ra.attnum = c.confkey[1]
             WHERE c.contype = 'f'",
            &[],
        )
        .await
        .unwrap()
    {
        schema
            .foreign_keys
            .insert((r.get(0), r.get(1), r.get(2), r.get(3)));
    }
    for r in client
        .query(
            "SELECT t.relname::text, pg_get_constraintdef(c.oid)
             FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
             WHERE c.contype = 'c'",
            &[],
        )
        .await
        .unwrap()
    {
        // `CHECK ((role = ANY (ARRAY['manager'::text, ...])))`
        let def: String = r.get(1);
        let column = def
            .trim_start_matches("CHECK ")
            .trim_start_matches('(')
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_string();
        schema.checks.insert((r.get(0), column, quoted(&def)));
    }
    schema
}

/// Fails listing what only one side has.
fn assert_same<T: Ord + std::fmt::Debug>(what: &str, sqlite: &BTreeSet<T>, pg: &BTreeSet<T>) {
    let only_sqlite: Vec<_> = sqlite.difference(pg).collect();
    let only_pg: Vec<_> = pg.difference(sqlite).collect();
    assert!(
        only_sqlite.is_empty() && only_pg.is_empty(),
        "{what} differ between the SQLite and PostgreSQL migrations\n only in SQLite: {only_sqlite:#?}\n only in PostgreSQL: {only_pg:#?}"
    );
}

#[tokio::test]
async fn both_migration_sets_are_numbered_alike() {
    let sqlite: Vec<i64> = sqlite_migration_files().iter().map(|f| f.0).collect();
    let pg: Vec<i64> = MIGRATIONS.iter().map(|m| m.0).collect();
    assert_eq!(
        sqlite, pg,
        "every SQLite migration needs its PostgreSQL twin with the same number"
    );
}

#[tokio::test]
async fn both_migration_sets_give_the_same_schema() {
    let sqlite = sqlite_schema();
    let mut client = common::fresh_client().await;
    migrate(&mut client).await.unwrap();
    let pg = postgres_schema(&client).await;
    assert!(
        sqlite.columns.len() > 100,
        "{} columns",
        sqlite.columns.len()
    );
    // The burst filter's last minutes: an UNLOGGED table that processes
    // share on PostgreSQL, the one writer's memory on SQLite (migrations
    // 0020 and 0028).
    let pg = pg.without_table("burst_windows");
    assert_same("columns", &sqlite.columns, &pg.columns);
    assert_same("named indexes", &sqlite.indexes, &pg.indexes);
    assert_same("unique constraints", &sqlite.uniques, &pg.uniques);
    assert_same("foreign keys", &sqlite.foreign_keys, &pg.foreign_keys);
    assert_same("primary keys", &sqlite.primary_keys, &pg.primary_keys);
    assert_same("column defaults", &sqlite.defaults, &pg.defaults);
    assert_eq!(sqlite.checks.len(), 8, "{:#?}", sqlite.checks);
    assert_same("CHECK constraints", &sqlite.checks, &pg.checks);
}
