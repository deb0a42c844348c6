//! Backups on PostgreSQL (issue 9): the README's commands, run for real.
//! A populated SQLite server database is copied into PostgreSQL the way
//! `warmlead-server migrate` does, dumped with the real `pg_dump
//! --format=custom`, restored with the real `pg_restore --no-owner` into
//! another empty database, then every table is compared (row count and the
//! copy's own checksum) with the database the dump was taken from; then the
//! README's new-epoch statement is run with the real `psql`.
//!
//! The programs are those of the installed PostgreSQL that the test cluster
//! runs ([`warmlead_testpg::program`]): without them the test fails naming
//! the package, it never skips.

mod common;

use std::path::Path;
use std::process::Command;

use common::sqlite::{sqlite_database, FIXTURES};
use warmlead_server_postgres::copy::{checksums, copy_from_sqlite, TableCopy};
use warmlead_server_postgres::{connect, current_version, latest, Client};

/// `pg_dump`'s flags in the README (plus `--file` and `--dbname`).
const PG_DUMP_FLAGS: &[&str] = &["--format=custom"];
/// `pg_restore`'s flags in the README (plus `--dbname` and the file): all
/// or nothing, and tables owned by whoever restores them.
const PG_RESTORE_FLAGS: &[&str] = &["--no-owner", "--exit-on-error", "--single-transaction"];
/// The README's statement giving a restored database a new epoch, as
/// `warmlead-server restore` does for SQLite (a fresh UUID v4, as text).
const NEW_EPOCH_SQL: &str =
    "UPDATE meta SET value = convert_to(gen_random_uuid()::text, 'UTF8') WHERE key = 'epoch'";

/// Runs one of PostgreSQL's programs; its stdout, or the test fails with
/// the command and what it said.
fn run(program: &str, args: &[&str]) -> String {
    let exe = warmlead_testpg::program(program).unwrap_or_else(|e| panic!("{e}"));
    let out = Command::new(&exe)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", exe.display()));
    assert!(
        out.status.success(),
        "`{program} {}` failed ({}): {}{}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn pg_dump(url: &str, file: &Path) {
    let file = format!("--file={}", file.display());
    let dbname = format!("--dbname={url}");
    let mut args = PG_DUMP_FLAGS.to_vec();
    args.extend([file.as_str(), dbname.as_str()]);
    run("pg_dump", &args);
}

fn pg_restore(file: &Path, url: &str) {
    let dbname = format!("--dbname={url}");
    let file = file.display().to_string();
    let mut args = PG_RESTORE_FLAGS.to_vec();
    args.extend([dbname.as_str(), file.as_str()]);
    run("pg_restore", &args);
}

async fn meta(client: &Client, key: &str) -> Vec<u8> {
    client
        .query_one("SELECT value FROM meta WHERE key = $1", &[&key])
        .await
        .unwrap()
        .get(0)
}

fn names(tables: &[TableCopy]) -> Vec<&str> {
    tables.iter().map(|t| t.table.as_str()).collect()
}

#[tokio::test]
async fn a_pg_dump_restored_with_pg_restore_has_every_row_of_every_table() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = sqlite_database(dir.path(), latest());
    let source_url = common::fresh_database().await;
    let copied = copy_from_sqlite(&sqlite, &source_url).await.unwrap();
    let mut source = connect(&source_url).await.unwrap();
    let dumped = checksums(&mut source).await.unwrap();
    assert_eq!(dumped, copied.tables, "the source reads back as copied");
    let mut fixture_tables: Vec<&str> = FIXTURES.iter().map(|f| f.0).collect();
    fixture_tables.sort();
    assert_eq!(names(&dumped), fixture_tables, "every table is compared");

    let file = dir.path().join("warmlead.dump");
    pg_dump(&source_url, &file);
    let restored_url = common::fresh_database().await;
    pg_restore(&file, &restored_url);

    let mut restored = connect(&restored_url).await.unwrap();
    let got = checksums(&mut restored).await.unwrap();
    assert_eq!(names(&got), names(&dumped), "the restored tables");
    for (want, got) in dumped.iter().zip(&got) {
        assert!(want.rows > 0, "{} has no fixture row", want.table);
        assert_eq!(got, want, "{} differs after the restore", want.table);
    }
    assert_eq!(current_version(&restored).await.unwrap(), latest());

    // The sequences come back where the dump had them: the change number 9,
    // deleted before the copy, is never handed out again.
    assert_eq!(common::next_change_seq(&restored).await, 10);
}

#[tokio::test]
async fn the_new_epoch_statement_changes_only_the_epoch() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = sqlite_database(dir.path(), latest());
    let url = common::fresh_database().await;
    copy_from_sqlite(&sqlite, &url).await.unwrap();
    let client = connect(&url).await.unwrap();
    let (secret, epoch) = (
        meta(&client, "master_secret").await,
        meta(&client, "epoch").await,
    );

    let dbname = format!("--dbname={url}");
    let said = run("psql", &[&dbname, &format!("--command={NEW_EPOCH_SQL}")]);

    assert_eq!(said.trim(), "UPDATE 1");
    let new = String::from_utf8(meta(&client, "epoch").await).unwrap();
    assert_ne!(new.as_bytes(), epoch.as_slice());
    let groups: Vec<usize> = new.split('-').map(str::len).collect();
    assert_eq!(
        groups,
        [8, 4, 4, 4, 12],
        "a UUID as the server writes it: {new}"
    );
    assert_eq!(meta(&client, "master_secret").await, secret);
}

/// The commands above are the README's, word for word.
#[test]
fn the_readme_shows_the_commands_this_test_runs() {
    let readme = include_str!("../../../README.md");
    let wanted = [
        format!("pg_dump {}", PG_DUMP_FLAGS.join(" ")),
        format!("pg_restore {}", PG_RESTORE_FLAGS.join(" ")),
        NEW_EPOCH_SQL.to_string(),
    ];
    for command in wanted {
        assert!(readme.contains(&command), "README lacks `{command}`");
    }
}
