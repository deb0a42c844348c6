//! Numbered SQL migrations embedded in the binary, recorded in
//! `schema_migrations`, each applied in its own transaction.

use rusqlite::Connection;

use crate::StoreError;

/// (version, SQL) in order. Append new files; never edit a shipped one.
pub const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../migrations/0001_init.sql")),
    (2, include_str!("../migrations/0002_leads.sql")),
    (3, include_str!("../migrations/0003_partners.sql")),
    (4, include_str!("../migrations/0004_poster_artwork.sql")),
    (6, include_str!("../migrations/0006_poster_slogan.sql")),
    (7, include_str!("../migrations/0007_content_library.sql")),
    (8, include_str!("../migrations/0008_company_profile.sql")),
    (
        9,
        include_str!("../migrations/0009_offline_invitations.sql"),
    ),
    (10, include_str!("../migrations/0010_pending_media.sql")),
    (11, include_str!("../migrations/0011_undo_rejected.sql")),
    (12, include_str!("../migrations/0012_known_codes.sql")),
    (13, include_str!("../migrations/0013_token_ref.sql")),
];

/// The version a fully migrated file is at.
pub const LATEST_VERSION: i64 = MIGRATIONS[MIGRATIONS.len() - 1].0;

/// Applies every migration above the file's version, up to `target`.
pub(crate) fn run(conn: &Connection, target: i64) -> Result<(), StoreError> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version    INTEGER PRIMARY KEY,
             applied_at INTEGER NOT NULL
         )",
    )?;
    let current = current_version(conn)?;
    if current > LATEST_VERSION {
        return Err(StoreError::TooNew {
            found: current,
            known: LATEST_VERSION,
        });
    }
    for (version, sql) in MIGRATIONS {
        if *version <= current || *version > target {
            continue;
        }
        let tx = crate::write_tx(conn)?;
        tx.execute_batch(sql)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)",
            (version, crate::now_ms()),
        )?;
        tx.commit()?;
    }
    Ok(())
}

pub(crate) fn current_version(conn: &Connection) -> Result<i64, StoreError> {
    let v: Option<i64> = conn.query_row("SELECT MAX(version) FROM schema_migrations", [], |r| {
        r.get(0)
    })?;
    Ok(v.unwrap_or(0))
}

#[cfg(test)]
pub(crate) fn open_at_version(
    path: &std::path::Path,
    target: i64,
) -> Result<crate::Store, StoreError> {
    let store = crate::Store::open_unmigrated(path)?;
    run(&store.conn, target)?;
    Ok(store)
}

#[cfg(test)]
mod tests {
    use super::{open_at_version, MIGRATIONS};

    /// Rows for every table of a schema, made from the schema itself.
    mod fixture {
        include!("../../../tests/migration_fixture.rs");

        /// Values for columns under a CHECK: a value the check accepts.
        pub const CHECKED: &[(&str, &str, &str)] = &[
            ("outbox", "state", "pending"),
            ("users", "role", "partner"),
            ("pending_media", "state", "pending"),
        ];
    }

    /// Every table of every earlier schema, filled, goes through each later
    /// migration: each row survives with every column it had.
    #[test]
    fn every_migration_keeps_the_rows_of_every_table() {
        for pair in MIGRATIONS.windows(2) {
            let (from, to) = (pair[0].0, pair[1].0);
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("old.sqlite");
            let store = open_at_version(&path, from).unwrap();
            fixture::fill(&store.conn);
            let before = fixture::snapshot(&store.conn);
            assert!(!before.is_empty());
            super::run(&store.conn, to).unwrap();
            let after = fixture::snapshot(&store.conn);
            fixture::assert_kept(&before, &after, &format!("migration {from} -> {to}"));
        }
    }
}
