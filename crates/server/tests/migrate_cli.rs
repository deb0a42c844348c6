//! `warmlead-server migrate --from sqlite://... --to postgres://...`, the
//! real binary: the demo company's database (seeded by a real server, then
//! stopped) is copied into a new PostgreSQL database on the test cluster;
//! a second run refuses the non-empty target and leaves it as it was.

use std::process::{Command, Output};
use warmlead_server::testing::Backend;

use warmlead_server::testing::TestServer;
use warmlead_server_postgres::{connect, Client};
use warmlead_testpg::{database_url, unique_database_name, TestPostgres};

async fn fresh_database() -> String {
    let server = TestPostgres::shared();
    let admin = connect(&server).await.unwrap();
    let name = unique_database_name();
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    database_url(&server, &name)
}

fn migrate(from: &str, to: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_warmlead-server"))
        .args(["migrate", "--from", from, "--to", to])
        .output()
        .unwrap()
}

async fn count(client: &Client, table: &str) -> i64 {
    let sql = format!("SELECT COUNT(*) FROM {table}");
    client.query_one(&sql, &[]).await.unwrap().get(0)
}

#[tokio::test]
async fn migrate_copies_the_demo_company_and_refuses_to_run_over_it() {
    // The source is SQLite whichever backend the suite runs on.
    let dir = TestServer::start_on(Backend::Sqlite, true, None, Default::default())
        .await
        .stop()
        .await;
    let db = dir.path().join("server.db");
    let from = format!("sqlite://{}", db.display());
    let to = fresh_database().await;

    let out = migrate(&from, &to);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("verified: "), "{stdout}");
    assert!(stdout.contains("media files were not copied"), "{stdout}");
    assert!(!stdout.contains(&to), "the target URL is never printed");

    let source = rusqlite::Connection::open(&db).unwrap();
    let client = connect(&to).await.unwrap();
    for table in ["companies", "users", "content_items", "meta", "changes"] {
        let rows: i64 = source
            .query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
            .unwrap();
        assert!(rows > 0, "the demo has {table}");
        assert_eq!(count(&client, table).await, rows, "{table}");
        let line = stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(table))
            .unwrap_or_else(|| panic!("no line for {table}: {stdout}"));
        assert!(line.contains(&format!(" {rows} rows")), "{line}");
    }
    let epoch: Vec<u8> = source
        .query_row("SELECT value FROM meta WHERE key = 'epoch'", [], |r| {
            r.get(0)
        })
        .unwrap();
    let copied: Vec<u8> = client
        .query_one("SELECT value FROM meta WHERE key = 'epoch'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(copied, epoch);

    let users = count(&client, "users").await;
    let again = migrate(&from, &to);
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(!again.status.success());
    assert!(
        stderr.contains("the target database is not empty: "),
        "{stderr}"
    );
    assert_eq!(count(&client, "users").await, users);
}

#[test]
fn migrate_refuses_urls_it_does_not_know() {
    let out = migrate("/tmp/server.db", "postgres://localhost/x");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("expected sqlite:///path/to/server.db"),
        "{stderr}"
    );
}
