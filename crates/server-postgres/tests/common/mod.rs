//! A fresh database of its own for each test, on the shared real cluster;
//! a populated SQLite server database ([`sqlite`]).

#[allow(dead_code)] // each test binary compiles this module; copy.rs and pg_dump.rs use it
pub mod sqlite;

use warmlead_server_postgres::{connect, Client};
use warmlead_testpg::{database_url, unique_database_name, TestPostgres};

/// `CREATE DATABASE t_<random>` on the shared cluster; its URL.
pub async fn fresh_database() -> String {
    let server = TestPostgres::shared();
    let admin = connect(&server)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to the test cluster {server}: {e}"));
    let name = unique_database_name();
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    database_url(&server, &name)
}

/// A client on a fresh, empty database.
#[allow(dead_code)] // each test binary compiles this module; tests/copy.rs needs the URL
pub async fn fresh_client() -> Client {
    connect(&fresh_database().await).await.unwrap()
}

/// The seq the next change gets (inserts one): after a copy or a restore
/// the sequence must continue past every number SQLite handed out.
#[allow(dead_code)] // each test binary compiles this module
pub async fn next_change_seq(client: &Client) -> i64 {
    client
        .query_one(
            "INSERT INTO changes (company_id, audience, body, created_at)
             VALUES (1, 'company', '{}', 2000) RETURNING seq",
            &[],
        )
        .await
        .unwrap()
        .get(0)
}
