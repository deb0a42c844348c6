//! The migration runner against a real PostgreSQL: records what it applied,
//! applies nothing twice (even when two servers start together), refuses a
//! database newer than the binary, and the pool opens migrated.

mod common;

use warmlead_server_postgres::{
    connect, current_version, latest, migrate, migrate_to, open, Client, Error, MIGRATION_LOCK,
};

async fn recorded(client: &Client) -> Vec<i64> {
    client
        .query(
            "SELECT version FROM schema_migrations ORDER BY version",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

#[tokio::test]
async fn applies_each_migration_once_in_order() {
    let mut client = common::fresh_client().await;
    migrate_to(&mut client, Some(3)).await.unwrap();
    assert_eq!(recorded(&client).await, vec![1, 2, 3]);
    migrate(&mut client).await.unwrap();
    migrate(&mut client).await.unwrap();
    let all: Vec<i64> = warmlead_server_postgres::MIGRATIONS
        .iter()
        .map(|m| m.0)
        .collect();
    assert_eq!(recorded(&client).await, all);
    assert_eq!(current_version(&client).await.unwrap(), latest());
}

#[tokio::test]
async fn two_servers_starting_together_migrate_once() {
    let url = common::fresh_database().await;
    let (mut a, mut b) = (connect(&url).await.unwrap(), connect(&url).await.unwrap());
    let (ra, rb) = tokio::join!(migrate(&mut a), migrate(&mut b));
    ra.unwrap();
    rb.unwrap();
    let all: Vec<i64> = warmlead_server_postgres::MIGRATIONS
        .iter()
        .map(|m| m.0)
        .collect();
    assert_eq!(recorded(&a).await, all);
}

#[tokio::test]
async fn refuses_a_database_newer_than_the_binary() {
    let mut client = common::fresh_client().await;
    migrate(&mut client).await.unwrap();
    let newer = latest() + 1;
    client
        .execute(
            "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, 0)",
            &[&newer],
        )
        .await
        .unwrap();
    match migrate(&mut client).await {
        Err(Error::TooNew { database, binary }) => {
            assert_eq!((database, binary), (newer, latest()));
        }
        other => panic!("expected TooNew, got {other:?}"),
    }
    // The advisory lock was released: another session can still take it.
    let other = connect(&common_url(&client).await).await.unwrap();
    let free: bool = other
        .query_one("SELECT pg_try_advisory_lock($1)", &[&MIGRATION_LOCK])
        .await
        .unwrap()
        .get(0);
    assert!(free, "the migration lock is still held after a refusal");
}

/// The URL of the database `client` is connected to, on the shared cluster.
async fn common_url(client: &Client) -> String {
    let name: String = client
        .query_one("SELECT current_database()::text", &[])
        .await
        .unwrap()
        .get(0);
    warmlead_testpg::database_url(&warmlead_testpg::TestPostgres::shared(), &name)
}

#[tokio::test]
async fn the_pool_opens_a_migrated_database() {
    let url = common::fresh_database().await;
    let pool = open(&url, 4).await.unwrap();
    let client = pool.get().await.unwrap();
    assert_eq!(current_version(&client).await.unwrap(), latest());
}

#[tokio::test]
async fn a_bad_url_is_a_clear_error() {
    let err = open("postgres://nobody@127.0.0.1:1/none", 1)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Pool(_)), "{err:?}");
}
