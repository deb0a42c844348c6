//! Storage unit tests run on the backend the suite runs on
//! (`WARMLEAD_TEST_BACKEND`): an in-memory SQLite database, or a fresh
//! database on the test PostgreSQL cluster, migrated to the latest schema.

use super::sql::{Connection, PgSession};
use crate::testing::Backend;

/// A migrated, empty database on the selected backend.
pub(crate) fn connection() -> Connection {
    match Backend::selected() {
        Backend::Sqlite => {
            let mut conn = rusqlite::Connection::open_in_memory().expect("in-memory SQLite");
            conn.pragma_update(None, "foreign_keys", "ON")
                .expect("foreign keys");
            super::migrations::migrate(&mut conn, None).expect("migrate");
            Connection::sqlite(conn)
        }
        Backend::Postgres => {
            // The async helpers need a runtime; a unit test has none.
            let url = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime")
                .block_on(async {
                    let url = crate::testing::fresh_postgres_database().await;
                    let mut client = warmlead_server_postgres::connect(&url)
                        .await
                        .expect("connect");
                    warmlead_server_postgres::migrate(&mut client)
                        .await
                        .expect("migrate");
                    url
                });
            let client = url
                .parse::<postgres::Config>()
                .expect("url")
                .connect(postgres::NoTls)
                .expect("connect");
            Connection::postgres(PgSession::new(client))
        }
    }
}
