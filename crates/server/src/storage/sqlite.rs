//! Opening the SQLite file and reading the server's secrets.

use std::path::Path;
use std::time::Duration;

use rand::RngCore;
use rusqlite::{params, Connection, OptionalExtension};

use super::Secrets;
use crate::error::ServerError;

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
    Ok(conn)
}

pub(crate) fn load_or_create_secrets(conn: &mut Connection) -> Result<Secrets, ServerError> {
    let tx = conn.transaction()?;
    let master = match get_meta(&tx, "master_secret")? {
        Some(v) => v,
        None => {
            let mut bytes = vec![0u8; 32];
            rand::thread_rng().fill_bytes(&mut bytes);
            set_meta(&tx, "master_secret", &bytes)?;
            bytes
        }
    };
    let epoch = match get_meta(&tx, "epoch")? {
        Some(v) => String::from_utf8_lossy(&v).into_owned(),
        None => {
            let e = uuid::Uuid::new_v4().to_string();
            set_meta(&tx, "epoch", e.as_bytes())?;
            e
        }
    };
    tx.commit()?;
    Ok(Secrets { master, epoch })
}

/// Gives the database a fresh epoch (a restored copy), keeping its other
/// secrets; returns it. Devices that see it re-download everything.
pub(crate) fn new_epoch(conn: &Connection) -> Result<String, ServerError> {
    let e = uuid::Uuid::new_v4().to_string();
    set_meta(conn, "epoch", e.as_bytes())?;
    Ok(e)
}

fn get_meta(conn: &Connection, key: &str) -> Result<Option<Vec<u8>>, ServerError> {
    Ok(conn
        .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .optional()?)
}

fn set_meta(conn: &Connection, key: &str, value: &[u8]) -> Result<(), ServerError> {
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}
