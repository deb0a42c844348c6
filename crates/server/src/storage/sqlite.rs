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
    // The writer never checkpoints (by default it did, inside the commit
    // that crossed 1,000 WAL pages, with an fsync of the database file,
    // while every beacon of the next batch waited): the [`Checkpointer`]
    // does it beside the writer.
    conn.pragma_update(None, "wal_autocheckpoint", 0)?;
    // After a checkpoint the WAL restarts from its beginning; this keeps a
    // burst's WAL from staying that big on disk.
    conn.pragma_update(None, "journal_size_limit", WAL_SIZE_LIMIT)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(conn)
}

/// Bytes the WAL file is truncated to once checkpointed.
const WAL_SIZE_LIMIT: i64 = 64 * 1024 * 1024;

/// How often the checkpointer copies the WAL into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);

/// Copies committed WAL pages into the database file on a thread of its
/// own, with its own connection (`PRAGMA wal_checkpoint(PASSIVE)`: it never
/// blocks the writer or readers, and copies what no reader still needs).
/// The WAL restarts from its beginning at the writer's next transaction
/// once all of it was copied. Stops when dropped.
pub(crate) struct Checkpointer {
    stop: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Checkpointer {
    pub fn start(path: &Path) -> Result<Checkpointer, ServerError> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(5))?;
        // Syncs the WAL before copying and the database file after.
        conn.pragma_update(None, "synchronous", "FULL")?;
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || loop {
                let done = !matches!(
                    stopped.recv_timeout(CHECKPOINT_EVERY),
                    Err(std::sync::mpsc::RecvTimeoutError::Timeout)
                );
                if let Err(e) = checkpoint(&conn) {
                    tracing::warn!(error = %e, "WAL checkpoint failed; retrying");
                }
                if done {
                    return;
                }
            })?;
        Ok(Checkpointer {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        // Closing the channel ends the loop after one last checkpoint.
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// One passive checkpoint: `(WAL frames, frames copied)`.
fn checkpoint(conn: &Connection) -> Result<(i64, i64), ServerError> {
    let (busy, log, copied): (i64, i64, i64) =
        conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?;
    if busy != 0 {
        tracing::debug!("WAL checkpoint busy");
    }
    Ok((log, copied))
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes about 4 MB (more than 1,000 WAL pages, where SQLite's own
    /// auto-checkpoint would copy them) through the writer connection.
    fn write_pages(conn: &Connection) {
        conn.execute_batch("CREATE TABLE IF NOT EXISTS t (b BLOB)")
            .unwrap();
        for _ in 0..1_000 {
            conn.execute("INSERT INTO t (b) VALUES (zeroblob(4000))", [])
                .unwrap();
        }
    }

    fn file_len(path: &Path) -> u64 {
        std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
    }

    #[test]
    fn the_writer_leaves_checkpoints_to_the_checkpointer() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let writer = open(&path).unwrap();
        write_pages(&writer);
        // Held open so closing the writer does not checkpoint either.
        let _reader = open_reader(&path).unwrap();
        assert!(
            file_len(&path) < 1_000_000,
            "the writer checkpointed itself: {} bytes",
            file_len(&path)
        );
        let _checkpointer = Checkpointer::start(&path).unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while file_len(&path) < 4_000_000 {
            assert!(
                std::time::Instant::now() < deadline,
                "the checkpointer copied nothing: {} bytes",
                file_len(&path)
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        // Once all of it was copied, the writer's next transaction restarts
        // the WAL from its beginning instead of growing it.
        let wal = dir.path().join("s.db-wal");
        let first = file_len(&wal);
        write_pages(&writer);
        assert!(
            file_len(&wal) < first + first / 4,
            "the WAL grew from {first} to {} bytes",
            file_len(&wal)
        );
    }
}
