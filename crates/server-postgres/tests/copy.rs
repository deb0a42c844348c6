//! Moving up: a real SQLite server database (built with the server's own
//! migrations, a row in every table) copied into a real PostgreSQL
//! database, compared value by value; a second copy refused; a copy that
//! fails halfway or whose verification fails leaves the target empty, and
//! running it again succeeds.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use common::sqlite::{sqlite_database, FIXTURES};
use warmlead_server_postgres::copy::copy_from_sqlite;
use warmlead_server_postgres::{connect, latest, migrate, Client};

fn sqlite_tables(path: &Path) -> BTreeSet<String> {
    let conn = rusqlite::Connection::open(path).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table'
             AND name NOT LIKE 'sqlite_%' AND name <> 'schema_migrations'",
        )
        .unwrap();
    let names = stmt.query_map([], |r| r.get(0)).unwrap();
    names.map(Result::unwrap).collect()
}

/// Every row of every table as text, sorted: SQLite side. Blobs as lower
/// hex, NULL as ∅, so both sides render alike independently of the copy.
fn sqlite_rows(
    path: &Path,
    columns: &BTreeMap<String, Vec<(String, String)>>,
) -> BTreeMap<String, Vec<String>> {
    let conn = rusqlite::Connection::open(path).unwrap();
    let mut all = BTreeMap::new();
    for (table, cols) in columns {
        let exprs: Vec<String> = cols
            .iter()
            .map(|(c, ty)| match ty.as_str() {
                "bytea" => format!("COALESCE(lower(hex(\"{c}\")), '∅')"),
                _ => format!("COALESCE(CAST(\"{c}\" AS TEXT), '∅')"),
            })
            .collect();
        let sql = format!("SELECT {} FROM \"{table}\"", exprs.join(" || '|' || "));
        let mut stmt = conn.prepare(&sql).unwrap();
        let mut rows: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        rows.sort();
        all.insert(table.clone(), rows);
    }
    all
}

/// The same rendering, PostgreSQL side (booleans as 0/1, like SQLite stores them).
async fn pg_rows(
    client: &Client,
    columns: &BTreeMap<String, Vec<(String, String)>>,
) -> BTreeMap<String, Vec<String>> {
    let mut all = BTreeMap::new();
    for (table, cols) in columns {
        let exprs: Vec<String> = cols
            .iter()
            .map(|(c, ty)| match ty.as_str() {
                "bytea" => format!("COALESCE(encode(\"{c}\", 'hex'), '∅')"),
                "boolean" => format!("COALESCE(\"{c}\"::int::text, '∅')"),
                _ => format!("COALESCE(\"{c}\"::text, '∅')"),
            })
            .collect();
        let sql = format!("SELECT {} FROM \"{table}\"", exprs.join(" || '|' || "));
        let mut rows: Vec<String> = client
            .query(&sql, &[])
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        rows.sort();
        all.insert(table.clone(), rows);
    }
    all
}

/// The target's data tables: (column, PostgreSQL type) in column order.
/// Not the UNLOGGED ones (`burst_windows`, the burst filter's last minutes):
/// SQLite keeps them in the writer's memory, never in its file.
async fn pg_columns(client: &Client) -> BTreeMap<String, Vec<(String, String)>> {
    let mut tables: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for r in client
        .query(
            "SELECT table_name::text, column_name::text, data_type::text
             FROM information_schema.columns
             WHERE table_schema = 'public' AND table_name <> 'schema_migrations'
               AND table_name NOT IN (SELECT relname FROM pg_class WHERE relpersistence = 'u')
             ORDER BY table_name, ordinal_position",
            &[],
        )
        .await
        .unwrap()
    {
        tables
            .entry(r.get(0))
            .or_default()
            .push((r.get(1), r.get(2)));
    }
    tables
}

async fn row_counts(client: &Client) -> BTreeMap<String, i64> {
    let mut counts = BTreeMap::new();
    for table in pg_columns(client).await.keys() {
        let sql = format!("SELECT COUNT(*) FROM \"{table}\"");
        counts.insert(
            table.clone(),
            client.query_one(&sql, &[]).await.unwrap().get(0),
        );
    }
    counts
}

#[test]
fn every_table_has_a_fixture() {
    let dir = tempfile::tempdir().unwrap();
    let path = sqlite_database(dir.path(), latest());
    let fixtures: BTreeSet<String> = FIXTURES.iter().map(|f| f.0.to_string()).collect();
    assert_eq!(
        sqlite_tables(&path),
        fixtures,
        "add a row to FIXTURES for each new table"
    );
}

#[tokio::test]
async fn copies_every_row_of_every_table_and_refuses_a_second_copy() {
    let dir = tempfile::tempdir().unwrap();
    let source = sqlite_database(dir.path(), latest());
    let url = common::fresh_database().await;

    let report = copy_from_sqlite(&source, &url).await.unwrap();

    let client = connect(&url).await.unwrap();
    let columns = pg_columns(&client).await;
    let reported: BTreeSet<String> = report.tables.iter().map(|t| t.table.clone()).collect();
    assert_eq!(reported, sqlite_tables(&source), "every table is copied");
    let before = sqlite_rows(&source, &columns);
    let after = pg_rows(&client, &columns).await;
    for (table, rows) in &before {
        assert!(!rows.is_empty(), "{table} has no fixture row");
        assert_eq!(
            Some(rows),
            after.get(table),
            "{table}'s rows differ after the copy"
        );
        let counted = report.tables.iter().find(|t| &t.table == table).unwrap();
        assert_eq!(
            counted.rows as usize,
            rows.len(),
            "{table}'s reported count"
        );
    }
    assert_eq!(after["signals"].len(), 2500, "several batches of signals");

    // The secrets and the epoch, byte for byte: every device keeps syncing.
    let secret: Vec<u8> = client
        .query_one("SELECT value FROM meta WHERE key = 'master_secret'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        secret,
        [0x00, 0xff, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70]
    );
    let epoch: Vec<u8> = client
        .query_one("SELECT value FROM meta WHERE key = 'epoch'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(epoch, [0, 0, 0, 0, 0, 0, 0, 7]);
    let man: (bool, bool) = client
        .query_one("SELECT man_money, man_authority FROM leads", &[])
        .await
        .map(|r| (r.get(0), r.get(1)))
        .unwrap();
    assert_eq!(man, (true, false));

    // Serial numbers continue after the copied ones, and a change number
    // SQLite already handed out (9, deleted) is never handed out again.
    assert_eq!(common::next_change_seq(&client).await, 10);
    let signal: i64 = client
        .query_one(
            "INSERT INTO signals (share_token, visit_id, visitor_id, kind, value, at, company_id, partner_id, item_id)
             VALUES ('tok1', 1, 'v1', 'dwell', 1, 1, 1, 3, 1) RETURNING id",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(signal, 2501);

    // The foreign keys are as strict as before the copy.
    let deferrable: i64 = client
        .query_one(
            "SELECT COUNT(*) FROM pg_constraint WHERE contype = 'f' AND condeferrable",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(deferrable, 0);

    let again = copy_from_sqlite(&source, &url)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        again.starts_with("the target database is not empty: "),
        "{again}"
    );
    assert!(again.contains("companies"), "{again}");
}

/// A forced error on the alphabetically last table (visits), after every
/// other table was written in the transaction.
const FAIL_ON_VISITS: &str = "
    CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS
      $$ BEGIN RAISE EXCEPTION 'forced failure'; END $$;
    CREATE TRIGGER refuse BEFORE INSERT ON visits FOR EACH ROW EXECUTE FUNCTION refuse();";

/// Rewrites a company's name as it is written: the copy must notice.
const CORRUPT_COMPANIES: &str = "
    CREATE FUNCTION corrupt() RETURNS trigger LANGUAGE plpgsql AS
      $$ BEGIN NEW.name := NEW.name || '?'; RETURN NEW; END $$;
    CREATE TRIGGER corrupt BEFORE INSERT ON companies FOR EACH ROW EXECUTE FUNCTION corrupt();";

async fn assert_empty_then_copy_again(client: &Client, source: &Path, url: &str, drop_sql: &str) {
    let counts = row_counts(client).await;
    assert!(counts.len() >= FIXTURES.len(), "{counts:?}");
    assert!(
        counts.values().all(|n| *n == 0),
        "the failed copy left rows: {counts:?}"
    );
    client.batch_execute(drop_sql).await.unwrap();
    let report = copy_from_sqlite(source, url).await.unwrap();
    let counts = row_counts(client).await;
    for t in &report.tables {
        assert_eq!(counts[&t.table], t.rows as i64, "{}", t.table);
    }
    assert_eq!(counts["signals"], 2500);
}

#[tokio::test]
async fn a_copy_failing_halfway_leaves_the_target_empty_and_can_be_run_again() {
    let dir = tempfile::tempdir().unwrap();
    let source = sqlite_database(dir.path(), latest());
    let url = common::fresh_database().await;
    let mut client = connect(&url).await.unwrap();
    migrate(&mut client).await.unwrap();
    client.batch_execute(FAIL_ON_VISITS).await.unwrap();

    let failed = copy_from_sqlite(&source, &url)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        failed.contains("visits") && failed.contains("forced failure"),
        "{failed}"
    );

    assert_empty_then_copy_again(&client, &source, &url, "DROP TRIGGER refuse ON visits").await;
}

#[tokio::test]
async fn a_checksum_mismatch_rolls_the_copy_back() {
    let dir = tempfile::tempdir().unwrap();
    let source = sqlite_database(dir.path(), latest());
    let url = common::fresh_database().await;
    let mut client = connect(&url).await.unwrap();
    migrate(&mut client).await.unwrap();
    client.batch_execute(CORRUPT_COMPANIES).await.unwrap();

    let failed = copy_from_sqlite(&source, &url)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        failed.starts_with("verification failed for companies: "),
        "{failed}"
    );

    assert_empty_then_copy_again(&client, &source, &url, "DROP TRIGGER corrupt ON companies").await;
}

#[tokio::test]
async fn an_older_sqlite_schema_is_refused_with_what_to_upgrade() {
    let dir = tempfile::tempdir().unwrap();
    // The version before the latest (numbers may have gaps).
    let previous =
        warmlead_server_postgres::MIGRATIONS[warmlead_server_postgres::MIGRATIONS.len() - 2].0;
    let source = sqlite_database(dir.path(), previous);
    let url = common::fresh_database().await;
    let refused = copy_from_sqlite(&source, &url)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        refused.contains(&format!("schema version {previous}"))
            && refused.contains("upgrade the SQLite database first"),
        "{refused}"
    );
}

#[tokio::test]
async fn a_missing_sqlite_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let url = common::fresh_database().await;
    let refused = copy_from_sqlite(&dir.path().join("nope.db"), &url)
        .await
        .unwrap_err()
        .to_string();
    assert!(refused.starts_with("no SQLite database at "), "{refused}");
    assert!(!dir.path().join("nope.db").exists(), "nothing created");
}
