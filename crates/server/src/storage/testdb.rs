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
        Backend::Postgres => postgres_connections(1).pop().expect("one connection"),
    }
}

/// `n` connections to one fresh, migrated database on the test PostgreSQL
/// cluster (whichever backend the suite runs on): races between
/// transactions under READ COMMITTED, interleaved by a test.
pub(crate) fn postgres_connections(n: usize) -> Vec<Connection> {
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
    (0..n)
        .map(|_| {
            let client = url
                .parse::<postgres::Config>()
                .expect("url")
                .connect(postgres::NoTls)
                .expect("connect");
            Connection::postgres(PgSession::new(client))
        })
        .collect()
}

/// `n` connections to one fresh, migrated database on the backend the
/// suite runs on, for a test that races two transactions: on PostgreSQL as
/// [`postgres_connections`]; on SQLite, connections to one file (the
/// returned folder holds it), whose writers [`begin`] serialises.
pub(crate) fn racing_connections(n: usize) -> (Vec<Connection>, Option<tempfile::TempDir>) {
    match Backend::selected() {
        Backend::Postgres => (postgres_connections(n), None),
        Backend::Sqlite => {
            let dir = tempfile::tempdir().expect("a temporary folder");
            let path = dir.path().join("race.db");
            let mut first = super::sqlite::open(&path).expect("open");
            super::migrations::migrate(&mut first, None).expect("migrate");
            let mut conns = vec![Connection::sqlite(first)];
            for _ in 1..n {
                let c = super::sqlite::open(&path).expect("open");
                conns.push(Connection::sqlite(c));
            }
            (conns, Some(dir))
        }
    }
}

/// Opens a write transaction as the server does: PostgreSQL's READ
/// COMMITTED, SQLite's IMMEDIATE (a second writer waits for the first's
/// commit, as behind the server's one writer connection).
pub(crate) fn begin(conn: &Connection) {
    let sql = match conn.dialect() {
        super::sql::Dialect::Sqlite => "BEGIN IMMEDIATE",
        super::sql::Dialect::Postgres => "BEGIN",
    };
    conn.execute_batch(sql).expect("begin");
}

/// Waits (at most 10 s) until another session of `watcher`'s database is
/// waiting for a lock: the moment a racing transaction is parked behind
/// the one a test holds open. SQLite: at once (a second writer waits in
/// [`begin`] until the first commits, whenever it got there).
pub(crate) fn wait_for_lock_waiter(watcher: &Connection) {
    wait_for_lock_waiter_or(watcher, || false);
}

/// [`wait_for_lock_waiter`], or until `finished` (the racing thread ended
/// without meeting a lock: where nothing orders the two, which its test
/// then shows).
pub(crate) fn wait_for_lock_waiter_or(watcher: &Connection, finished: impl Fn() -> bool) {
    if watcher.dialect() == super::sql::Dialect::Sqlite {
        return;
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let waiting: i64 = watcher
            .query_row(
                "SELECT COUNT(*) FROM pg_stat_activity
                 WHERE datname = current_database() AND wait_event_type = 'Lock'",
                (),
                |r| r.get(0),
            )
            .expect("pg_stat_activity");
        if waiting > 0 || finished() {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no transaction came to wait on the held one"
        );
        // The poll interval of a wait on a condition (with the deadline
        // above), not a pause before an assertion.
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}
