//! Numbered SQL migrations embedded in the binary, applied in order at start
//! and recorded in `schema_migrations`.

use rusqlite::{params, Connection};

use crate::error::ServerError;

pub(crate) use warmlead_server_sqlite::MIGRATIONS;

/// Work a migration needs beyond SQL, in its transaction (written against
/// the storage modules' backend-neutral connection).
fn after(version: i64, tx: &super::sql::Connection) -> Result<(), ServerError> {
    match version {
        8 => super::content::announce_media_keys(tx),
        16 => super::content::convert_plain_articles(tx),
        _ => Ok(()),
    }
}

/// The newest schema version this binary knows.
pub(crate) fn latest() -> i64 {
    MIGRATIONS.last().map(|m| m.0).unwrap_or(0)
}

/// Applies every migration not yet recorded, up to `up_to` (all when None),
/// in one transaction with their records: an upgrade lands whole or not at all.
///
/// Work beyond SQL ([`after`]) runs at the end, on the latest schema, because
/// it uses today's queries (a hook written for version 8 that reads companies
/// must see the columns later migrations add). A run that stops early (only
/// tests do) skips those hooks.
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
    conn.execute_batch("BEGIN IMMEDIATE")?;
    let applied = match apply(conn, current, up_to) {
        Ok(applied) => applied,
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            return Err(e);
        }
    };
    conn.execute_batch("COMMIT")?;
    for version in applied {
        tracing::info!(version, "applied migration");
    }
    Ok(())
}

/// The pending migrations and their hooks, inside the caller's transaction.
fn apply(conn: &mut Connection, current: i64, up_to: Option<i64>) -> Result<Vec<i64>, ServerError> {
    let mut applied = Vec::new();
    for (version, sql) in MIGRATIONS {
        if *version <= current || up_to.is_some_and(|u| *version > u) {
            continue;
        }
        conn.execute_batch(sql)?;
        conn.execute(
            "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)",
            params![version, super::now_ms()],
        )?;
        applied.push(*version);
    }
    if current_version(conn)? == latest() && !applied.is_empty() {
        // The hooks take the storage modules' connection type: lend it the
        // handle (still inside the transaction) and take it back.
        let handle = std::mem::replace(conn, Connection::open_in_memory()?);
        let wrapped = super::sql::Connection::sqlite(handle);
        let hooks = applied.iter().try_for_each(|v| after(*v, &wrapped));
        *conn = wrapped.into_sqlite();
        hooks?;
    }
    Ok(applied)
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
        // Numbers are reserved per feature, so the list may have gaps.
        let earlier = std::iter::once(0).chain(MIGRATIONS.iter().map(|m| m.0));
        for from in earlier.filter(|v| *v < latest()) {
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

    /// Every table of every earlier schema, filled (two rows each, see
    /// [`fixture`]), goes through each later migration: each row survives
    /// with every column it had, whatever the migration rebuilt.
    #[test]
    fn every_migration_keeps_the_rows_of_every_table() {
        for pair in MIGRATIONS.windows(2) {
            let (from, to) = (pair[0].0, pair[1].0);
            let dir = tempfile::tempdir().unwrap();
            let mut conn = sqlite::open(&dir.path().join("s.db")).unwrap();
            migrate(&mut conn, Some(from)).unwrap();
            fixture::fill(&conn);
            let before = fixture::snapshot(&conn);
            assert!(!before.is_empty());
            migrate(&mut conn, Some(to)).unwrap();
            let after = fixture::snapshot(&conn);
            fixture::assert_kept(&before, &after, &format!("migration {from} -> {to}"));
        }
    }

    /// The radar migration (2) rebuilt `visits`: the old visits keep their
    /// rows, are credited to their own share, and each gets its page view.
    #[test]
    fn the_radar_migration_transforms_old_visits() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = sqlite::open(&dir.path().join("s.db")).unwrap();
        migrate(&mut conn, Some(1)).unwrap();
        fixture::fill(&conn);
        migrate(&mut conn, Some(2)).unwrap();
        let rows: Vec<(String, String, i64, i64, String)> = conn
            .prepare(
                "SELECT v.share_token, v.root_token, v.opened_at, v.last_seen_at, p.pv
                 FROM visits v JOIN page_views p ON p.visit_id = v.id ORDER BY v.id",
            )
            .unwrap()
            .query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(rows.len(), fixture::ROWS as usize, "{rows:?}");
        for (share, root, opened, last_seen, _) in &rows {
            assert_eq!(root, share, "an old visit is credited to its own share");
            assert_eq!(last_seen, opened);
        }
    }

    /// Rows for every table of a schema, whatever the version: made from
    /// the schema itself, so a new table is filled without editing this.
    mod fixture {
        include!("../../../../tests/migration_fixture.rs");

        /// Values for columns under a CHECK: a value the check accepts.
        pub const CHECKED: &[(&str, &str, &str)] = &[
            ("users", "role", "rep"),
            ("content_items", "kind", "article"),
            ("content_items", "status", "live"),
            ("changes", "audience", "company"),
            ("invitations", "channel", "sms"),
            ("invitations", "status", "pending"),
            ("sms_messages", "kind", "invitation"),
            ("sms_messages", "status", "queued"),
        ];
    }

    /// Migration 12 makes phones and short codes unique: a number on two
    /// users stays on the first, a short code shared by two invitations
    /// stays with the newer, the older gets an untypeable '~<id>'.
    #[test]
    fn migration_12_keeps_the_first_holder_of_a_number_and_the_newest_code() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = sqlite::open(&dir.path().join("s.db")).unwrap();
        migrate(&mut conn, Some(11)).unwrap();
        conn.execute_batch(
            "INSERT INTO companies (id, name, created_at) VALUES (1, 'A', 0), (2, 'B', 0);
             INSERT INTO users (id, company_id, role, name, phone, created_at) VALUES
               (10, 1, 'rep', 'r', '+8613900000001', 0),
               (11, 1, 'partner', 'p', '+8613900000001', 0),
               (12, 2, 'partner', 'q', '+8613900000001', 0);
             INSERT INTO invitations (id, company_id, rep_id, channel, status, token_hash,
                                      short_code, created_at, expires_at, updated_at) VALUES
               (20, 1, 10, 'qr', 'pending', X'01', 'K7Q4M2', 0, 1, 0),
               (21, 1, 10, 'qr', 'pending', X'02', 'K7Q4M2', 5, 9, 5),
               (22, 1, 10, 'qr', 'pending', X'03', 'ABCDEF', 5, 9, 5);",
        )
        .unwrap();
        migrate(&mut conn, Some(12)).unwrap();
        let phones: Vec<(i64, Option<String>)> = conn
            .prepare("SELECT id, phone FROM users ORDER BY id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let number = Some("+8613900000001".to_string());
        assert_eq!(phones, [(10, number.clone()), (11, None), (12, number)]);
        let codes: Vec<String> = conn
            .prepare("SELECT short_code FROM invitations ORDER BY id")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(codes, ["~20", "K7Q4M2", "ABCDEF"]);
        let dup = conn.execute(
            "INSERT INTO users (company_id, role, name, phone, created_at)
             VALUES (1, 'partner', 'x', '+8613900000001', 0)",
            [],
        );
        assert!(dup.is_err(), "the number is unique in its company now");
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
