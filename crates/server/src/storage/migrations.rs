//! Numbered SQL migrations embedded in the binary, applied in order at start
//! and recorded in `schema_migrations`.

use rusqlite::{params, Connection};

use crate::error::ServerError;

/// `(version, sql)`, in order. Append only; never edit a released migration.
pub(crate) const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../../migrations/0001_init.sql")),
    (2, include_str!("../../migrations/0002_radar.sql")),
    (3, include_str!("../../migrations/0003_visit_indexes.sql")),
    (4, include_str!("../../migrations/0004_invitations.sql")),
    (5, include_str!("../../migrations/0005_sms.sql")),
    (6, include_str!("../../migrations/0006_poster_artwork.sql")),
    (10, include_str!("../../migrations/0010_visits_network.sql")),
];

/// The newest schema version this binary knows.
pub(crate) fn latest() -> i64 {
    MIGRATIONS.last().map(|m| m.0).unwrap_or(0)
}

/// Applies every migration not yet recorded, up to `up_to` (all when None).
/// Each migration runs in its own transaction with its record.
pub(crate) fn migrate(conn: &mut Connection, up_to: Option<i64>) -> Result<(), ServerError> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version    INTEGER PRIMARY KEY,
             applied_at INTEGER NOT NULL
         )",
    )?;
    let current = current_version(conn)?;
    if current > latest() {
        return Err(ServerError::Config(format!(
            "the database is at schema version {current}, newer than this server ({}); upgrade the server",
            latest()
        )));
    }
    for (version, sql) in MIGRATIONS {
        if *version <= current || up_to.is_some_and(|u| *version > u) {
            continue;
        }
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)",
            params![version, super::now_ms()],
        )?;
        tx.commit()?;
        tracing::info!(version, "applied migration");
    }
    Ok(())
}

pub(crate) fn current_version(conn: &Connection) -> Result<i64, ServerError> {
    Ok(conn.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
        [],
        |r| r.get(0),
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::sqlite;

    /// Rows that any schema from version 1 on can hold; later migrations must keep them.
    fn insert_sample(conn: &Connection) {
        conn.execute(
            "INSERT INTO companies (id, name, created_at) VALUES (7, '暖居装修', 1)",
            [],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO users (id, company_id, role, name, phone, rep_id, created_at)
             VALUES (8, 7, 'rep', '李明', '+8613800138000', NULL, 2)",
            [],
        )
        .unwrap();
    }

    fn sample_survived(conn: &Connection) -> bool {
        let name: String = conn
            .query_row(
                "SELECT c.name || '/' || u.name FROM users u JOIN companies c ON c.id = u.company_id WHERE u.id = 8",
                [],
                |r| r.get(0),
            )
            .unwrap();
        name == "暖居装修/李明"
    }

    #[test]
    fn migrates_from_empty() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = sqlite::open(&dir.path().join("s.db")).unwrap();
        migrate(&mut conn, None).unwrap();
        assert_eq!(current_version(&conn).unwrap(), latest());
        insert_sample(&conn);
        assert!(sample_survived(&conn));
        // Running again at start is a no-op.
        migrate(&mut conn, None).unwrap();
        assert_eq!(current_version(&conn).unwrap(), latest());
    }

    /// For every earlier version (including the one just before the latest),
    /// build a database at that version, put data in it, migrate to the
    /// latest and check the data is still there.
    #[test]
    fn migrates_from_every_previous_version_keeping_data() {
        // Every version a database can be at (numbers may have gaps while
        // branches are merged).
        for from in std::iter::once(0).chain(MIGRATIONS.iter().map(|m| m.0)) {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("s.db");
            let mut conn = sqlite::open(&path).unwrap();
            migrate(&mut conn, Some(from)).unwrap();
            assert_eq!(current_version(&conn).unwrap(), from);
            if from >= 1 {
                insert_sample(&conn);
            }
            drop(conn);
            let mut conn = sqlite::open(&path).unwrap();
            migrate(&mut conn, None).unwrap();
            assert_eq!(current_version(&conn).unwrap(), latest(), "from {from}");
            if from >= 1 {
                assert!(sample_survived(&conn), "data lost migrating from {from}");
            }
            let versions: Vec<i64> = conn
                .prepare("SELECT version FROM schema_migrations ORDER BY version")
                .unwrap()
                .query_map([], |r| r.get(0))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            let expected: Vec<i64> = MIGRATIONS.iter().map(|m| m.0).collect();
            assert_eq!(versions, expected);
        }
    }

    #[test]
    fn refuses_a_newer_database() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = sqlite::open(&dir.path().join("s.db")).unwrap();
        migrate(&mut conn, None).unwrap();
        conn.execute(
            "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, 0)",
            [latest() + 1],
        )
        .unwrap();
        assert!(migrate(&mut conn, None).is_err());
    }
}
