//! Opening the SQLite file (and what only SQLite backups need).

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
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

/// The burst filter's window of new visits (`signals::RecentOpens`), filled
/// from the newest visits at start, so a burst under way when the server
/// restarted is still counted. Visits are read newest first and the read
/// stops at the first one opened before the window: the tracking writer
/// inserts them in time order.
pub(crate) fn recent_opens(
    conn: &Connection,
    now: i64,
) -> Result<super::signals::RecentOpens, ServerError> {
    use super::signals::{network_key, RecentOpens, RECENT_OPENS_KEPT_MS};
    let since = now - RECENT_OPENS_KEPT_MS;
    let mut opens = Vec::new();
    let mut read =
        conn.prepare("SELECT share_token, ip_hash, opened_at FROM visits ORDER BY id DESC")?;
    let mut rows = read.query([])?;
    while let Some(r) = rows.next()? {
        let opened_at: i64 = r.get(2)?;
        if opened_at <= since {
            break;
        }
        if let Some(ip) = r.get::<_, Option<String>>(1)? {
            opens.push((network_key(&r.get::<_, String>(0)?, &ip), opened_at));
        }
    }
    let mut window = RecentOpens::default();
    window.add(opens);
    Ok(window)
}

/// Bytes the WAL file is truncated to once checkpointed.
const WAL_SIZE_LIMIT: i64 = 64 * 1024 * 1024;

/// How often the checkpointer copies the WAL into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);

/// Copies committed WAL pages into the database file on a thread of its
/// own, with its own connection (`PRAGMA wal_checkpoint(PASSIVE)`: it never
/// blocks the writer or readers, and copies what no reader still needs).
/// The WAL restarts from its beginning at the writer's next transaction
/// once all of it was copied. Under writes that never stop, passive
/// checkpoints never find it wholly copied at that moment, and the WAL
/// would grow without bound (1.6 GB in 10 s of the views benchmark): past
/// `restart_frames` this thread asks the writer to finish the job between
/// two transactions ([`Checkpointer::restart_if_due`]), which then copies
/// only what the last passive checkpoint left. Stops when dropped.
pub(crate) struct Checkpointer {
    stop: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    restart_due: Arc<AtomicBool>,
}

impl Checkpointer {
    pub fn start(path: &Path) -> Result<Checkpointer, ServerError> {
        Self::start_with(path, CHECKPOINT_EVERY, WAL_RESTART_FRAMES)
    }

    fn start_with(
        path: &Path,
        every: Duration,
        restart_frames: i64,
    ) -> Result<Checkpointer, ServerError> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(5))?;
        // Syncs the WAL before copying and the database file after.
        conn.pragma_update(None, "synchronous", "FULL")?;
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let restart_due = Arc::new(AtomicBool::new(false));
        let due = restart_due.clone();
        let thread = std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || loop {
                let done = !matches!(
                    stopped.recv_timeout(every),
                    Err(std::sync::mpsc::RecvTimeoutError::Timeout)
                );
                match checkpoint(&conn, "PASSIVE") {
                    Ok((log, _)) if log > restart_frames => due.store(true, Ordering::Release),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "WAL checkpoint failed; retrying"),
                }
                if done {
                    return;
                }
            })?;
        Ok(Checkpointer {
            stop: Some(stop),
            thread: Some(thread),
            restart_due,
        })
    }

    /// Called by the writer, outside a transaction: when the WAL has grown
    /// past its threshold, copies the rest of it, so that the next
    /// transaction starts the WAL from its beginning. Passive: nothing is
    /// written meanwhile (this is the writer), and it never waits for a
    /// reader (a long pull); if one still reads old frames, the restart
    /// waits for the next time. A failure is logged, never the caller's.
    pub fn restart_if_due(&self, writer: &Connection) {
        if self.restart_due.swap(false, Ordering::AcqRel) {
            match checkpoint(writer, "PASSIVE") {
                Ok((log, copied)) => tracing::debug!(log, copied, "WAL copied for its restart"),
                Err(e) => tracing::warn!(error = %e, "WAL checkpoint before its restart failed"),
            }
        }
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

/// Makes committed tracking batches durable off the writer's path. A
/// batch commits with `synchronous=NORMAL` (its WAL frames written, not
/// synced), the writer goes on with the next batch, and this thread syncs
/// the WAL file (one `fdatasync` for every batch committed meanwhile) and
/// only then lets the batch's beacons be answered: the same promise as
/// `synchronous=FULL` (an acknowledged view survives a power cut), but the
/// writer no longer waits for the disk between batches. It also keeps
/// [`WalSync::durable_seq`], the newest change-log seq on disk, which pulls
/// never pass. Stops when dropped.
pub(crate) struct WalSync {
    queue: Option<std::sync::mpsc::Sender<Pending>>,
    durable: Arc<AtomicI64>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// Held by a test to stop the thread before its next sync.
    #[cfg(test)]
    pub hold: Arc<std::sync::Mutex<()>>,
}

/// A committed batch waiting for its WAL sync: the newest seq it may have
/// appended, and who to tell whether it is durable.
struct Pending {
    seq: i64,
    done: tokio::sync::oneshot::Sender<bool>,
}

impl WalSync {
    /// Syncs what is already in the WAL (a crashed process may have left
    /// committed, unsynced batches), so everything now in the database is
    /// durable: `newest_seq`.
    pub fn start(db_path: &Path, newest_seq: i64) -> Result<WalSync, ServerError> {
        let wal = wal_path(db_path);
        sync_file(&wal)?;
        let durable = Arc::new(AtomicI64::new(newest_seq));
        let (queue, pending) = std::sync::mpsc::channel::<Pending>();
        let on_disk = durable.clone();
        #[cfg(test)]
        let hold = Arc::new(std::sync::Mutex::new(()));
        #[cfg(test)]
        let held = hold.clone();
        let thread = std::thread::Builder::new()
            .name("sqlite-wal-sync".into())
            .spawn(move || {
                while let Ok(first) = pending.recv() {
                    #[cfg(test)]
                    drop(held.lock());
                    let mut batch = vec![first];
                    batch.extend(pending.try_iter());
                    let ok = match sync_file(&wal) {
                        Ok(()) => true,
                        Err(e) => {
                            tracing::error!(error = %e, "syncing the WAL failed: batches not acknowledged");
                            false
                        }
                    };
                    if ok {
                        let newest = batch.iter().map(|p| p.seq).max().unwrap_or(0);
                        on_disk.fetch_max(newest, Ordering::AcqRel);
                    }
                    for p in batch {
                        let _ = p.done.send(ok);
                    }
                }
            })?;
        Ok(WalSync {
            queue: Some(queue),
            durable,
            thread: Some(thread),
            #[cfg(test)]
            hold,
        })
    }

    /// After a commit of `seq` that was not synced: resolves once it is.
    pub fn after(&self, seq: i64) -> tokio::sync::oneshot::Receiver<bool> {
        let (done, rx) = tokio::sync::oneshot::channel();
        if let Some(q) = &self.queue {
            let _ = q.send(Pending { seq, done });
        }
        rx
    }

    /// After a commit that synced the WAL itself (`synchronous=FULL`):
    /// everything up to `seq` is on disk.
    pub fn synced(&self, seq: i64) {
        self.durable.fetch_max(seq, Ordering::AcqRel);
    }

    /// The newest change-log seq known to be on disk.
    pub fn durable_seq(&self) -> i64 {
        self.durable.load(Ordering::Acquire)
    }
}

impl Drop for WalSync {
    fn drop(&mut self) {
        drop(self.queue.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn wal_path(db_path: &Path) -> std::path::PathBuf {
    let mut name = db_path.as_os_str().to_owned();
    name.push("-wal");
    name.into()
}

/// `fdatasync` of the file (any descriptor of it flushes all its pages);
/// nothing to do when it does not exist.
fn sync_file(path: &Path) -> Result<(), ServerError> {
    match std::fs::File::open(path) {
        Ok(f) => Ok(f.sync_data()?),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// WAL frames (4 KiB pages, 128 MiB) past which the writer restarts the
/// WAL.
const WAL_RESTART_FRAMES: i64 = 32_768;

/// One checkpoint in `mode`: `(WAL frames, frames copied)`.
fn checkpoint(conn: &Connection, mode: &str) -> Result<(i64, i64), ServerError> {
    let (busy, log, copied): (i64, i64, i64) =
        conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?;
    if busy != 0 {
        tracing::debug!(mode, log, copied, "WAL checkpoint busy");
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

/// The SQLite backend, where an aggregate's implementation has a part of
/// its own (`sms_store::RecipientLock`, ...).
pub(crate) struct Sqlite;

impl super::lead_store::LeadLocks for Sqlite {
    /// The one writer orders the read-judge-writes already.
    fn lock_lead(_: &super::sql::Connection, _: i64) -> Result<(), ServerError> {
        Ok(())
    }
    fn lock_regrade(_: &super::sql::Connection, _: i64) -> Result<(), ServerError> {
        Ok(())
    }
}

impl super::media_store::SweepClaim for Sqlite {
    /// One writer: no other sweep runs meanwhile.
    const CLAIM: &'static str = "";
}

impl super::invitation_store::AcceptLock for Sqlite {
    /// The one writer runs accepts one at a time.
    fn lock_for_accept(_: &super::sql::Connection, _: i64) -> Result<(), ServerError> {
        Ok(())
    }
}

impl super::content_store::ItemLock for Sqlite {
    /// The one writer runs the writes of an item one at a time.
    fn lock_item(
        _: &super::sql::Connection,
        _: i64,
        _: super::content_store::ItemRef<'_>,
    ) -> Result<(), ServerError> {
        Ok(())
    }
}

impl super::account_store::SharesNotice for Sqlite {
    /// One process: the service drops its own cache after the commit.
    fn shares_changed(_: &super::sql::Connection, _: i64) -> Result<(), ServerError> {
        Ok(())
    }
}

impl super::change_store::AppendOrder for Sqlite {
    /// One writer: transactions commit one at a time, in seq order.
    fn before_append(_: &super::sql::Connection, _: i64) -> Result<(), ServerError> {
        Ok(())
    }
}

impl super::sms_store::RecipientLock for Sqlite {
    /// The one writer runs the deciding transactions one at a time.
    fn lock_recipient(_: &super::sql::Connection, _: &str) -> Result<(), ServerError> {
        Ok(())
    }
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

    /// The checkpointer asks for a restart once it sees the WAL past its
    /// threshold (it cannot restart the WAL itself: the writer keeps
    /// adding to it while a passive checkpoint copies).
    #[test]
    fn the_checkpointer_asks_for_a_restart_past_its_threshold() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let writer = open(&path).unwrap();
        let checkpointer = Checkpointer::start_with(&path, Duration::from_millis(5), 256).unwrap();
        // About 1,000 frames: past the threshold.
        write_pages(&writer);
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while !checkpointer.restart_due.load(Ordering::Acquire) {
            assert!(std::time::Instant::now() < deadline, "no restart asked for");
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Asked for a restart, the writer copies what is left of the WAL
    /// before its next transaction, which then writes the WAL over from its
    /// beginning instead of growing it: under writes that never stop,
    /// passive checkpoints alone never find the WAL wholly copied (1.6 GB
    /// of WAL in 10 s of the views benchmark). Not asked, it does nothing.
    #[test]
    fn a_restart_asked_for_starts_the_wal_over() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let writer = open(&path).unwrap();
        // Its thread never runs here (an hour apart): the writer alone.
        let checkpointer = Checkpointer::start_with(&path, Duration::from_secs(3600), 256).unwrap();
        write_pages(&writer);
        let wal = dir.path().join("s.db-wal");
        let insert = "INSERT INTO t (b) VALUES (zeroblob(4000))";
        let before = file_len(&wal);
        checkpointer.restart_if_due(&writer);
        writer.execute(insert, []).unwrap();
        assert!(file_len(&wal) > before, "not asked, the WAL grows");

        checkpointer.restart_due.store(true, Ordering::Release);
        let before = file_len(&wal);
        checkpointer.restart_if_due(&writer);
        assert!(!checkpointer.restart_due.load(Ordering::Acquire));
        // Written over from its beginning, the file does not grow.
        for _ in 0..100 {
            writer.execute(insert, []).unwrap();
        }
        assert_eq!(file_len(&wal), before, "the WAL did not start over");
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
        // That the WAL then restarts is `a_restart_asked_for_starts_the_wal_over`.
    }
}
