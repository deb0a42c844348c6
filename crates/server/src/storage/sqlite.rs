//! Opening the SQLite file (and what only SQLite backups need).

use std::path::Path;
use std::time::Duration;

use rusqlite::{params, Connection};

use crate::error::ServerError;

/// Prepared statements kept per connection. rusqlite's default (16) is fewer
/// than a tracking batch uses, so each batch prepared most of them again.
const STATEMENT_CACHE: usize = 256;

/// The writer's page cache, in KiB (a negative `cache_size` is KiB).
const WRITER_CACHE_KIB: i64 = -65_536;

pub(crate) fn open(path: &Path) -> Result<Connection, ServerError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let conn = Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(5))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // FULL: a change a client has been told about is never lost on power failure.
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // The writer inserts into indexes on random keys (page-view ids, share
    // tokens) of tables of millions of rows: with SQLite's 2 MB default it
    // read most of those pages back from the OS on every batch.
    conn.pragma_update(None, "cache_size", WRITER_CACHE_KIB)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(conn)
}

/// A read-only connection to the same file (the writer created and migrated it).
pub(crate) fn open_reader(path: &Path) -> Result<Connection, ServerError> {
    use rusqlite::OpenFlags;
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(Duration::from_secs(5))?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(conn)
}

/// Gives the database a fresh epoch (a restored copy), keeping its other
/// secrets; returns it. Devices that see it re-download everything.
pub(crate) fn new_epoch(conn: &Connection) -> Result<String, ServerError> {
    let e = uuid::Uuid::new_v4().to_string();
    set_meta(conn, "epoch", e.as_bytes())?;
    Ok(e)
}

fn set_meta(conn: &Connection, key: &str, value: &[u8]) -> Result<(), ServerError> {
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}
