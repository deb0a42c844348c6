//! `warmlead-server migrate --from sqlite://... --to postgres://...`, the
//! real binary: the demo company's database (seeded by a real server, then
//! stopped) is copied into a new PostgreSQL database on the test cluster;
//! a second run refuses the non-empty target and leaves it as it was.

mod common;

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

/// After the move, nothing is redone: a device signed in on SQLite keeps
/// its token, epoch, cursor and outbox numbering against the server now on
/// PostgreSQL, and a share link made before the move still opens.
#[tokio::test]
async fn after_the_move_devices_keep_syncing_and_old_links_resolve() {
    let w = common::world_on(Backend::Sqlite).await;
    let d = common::activate(&w.ts, w.partner_a1.id).await;
    let res = d.push(vec![d.create_share(1, 1, w.item.id)]).await;
    assert_eq!(res.last_seq, 1);
    let token = d.sign(1, w.item.id, warmlead_core::domain::Channel::Moments);
    let before = d.pull(0, None).await;
    let from = w.ts.database_url().to_string();
    let dir = w.ts.stop().await;

    let to = fresh_database().await;
    let out = migrate(&from, &to);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let options = warmlead_server::Options {
        storage: warmlead_server::StorageOptions {
            media_dir: Some(dir.path().join("media")),
            ..Default::default()
        },
        ..Default::default()
    };
    let server = warmlead_server::start_with(
        warmlead_server::Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            database_url: to,
            public_url: None,
            demo: false,
        },
        options,
    )
    .await
    .unwrap();
    let d = common::Device {
        base: server.base_url(),
        ..d
    };
    let after = d.pull(before.cursor, None).await;
    assert_eq!(after.epoch, before.epoch, "same epoch: no re-download");
    assert!(after.changes.is_empty(), "{:?}", after.changes);
    let res = d
        .push(vec![common::mutation(
            2,
            warmlead_core::sync::MutationBody::RenameSelf {
                name: "张三丰".into(),
            },
        )])
        .await;
    assert_eq!(res.last_seq, 2, "the outbox numbering carries on");
    let page = reqwest::get(format!("{}/s/{token}", server.base_url()))
        .await
        .unwrap();
    assert_eq!(page.status(), reqwest::StatusCode::OK);
    let renamed = d.pull(before.cursor, None).await;
    assert!(
        !renamed.changes.is_empty(),
        "the rename is in the log after the copy's changes"
    );
    assert!(renamed.changes.iter().all(|c| c.seq > before.cursor));
    server.shutdown().await;
}
