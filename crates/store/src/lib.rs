//! The desktop's local SQLite cache: the signed-in session, what sync pulled
//! from the server, and the outbox of changes made on this device.
//!
//! Every local write is one transaction: the domain change plus its outbox
//! row, so a crash can never keep one without the other. Blocking by design
//! (rusqlite); async callers run it in short sections or `spawn_blocking`.

mod content;
mod error;
mod export;
mod invites;
mod known_codes;
mod leads;
mod media;
mod migrate;
mod outbox;
mod partners;
mod pull;
mod radar;
mod radar_pull;
mod rows;
mod session;
mod shares;
mod status;
mod token;

use std::path::Path;
use std::time::Duration;

use rusqlite::Connection;

pub use content::draft_of;
pub use error::StoreError;
pub use export::codes_csv;
pub use invites::MAX_LIST;
pub use leads::{DEFAULT_LEAD_PAGE, MAX_LEAD_PAGE};
pub use migrate::{LATEST_VERSION, MIGRATIONS};
pub use outbox::RecordedOutcomes;
pub use partners::{DEFAULT_PARTNER_PAGE, MAX_PARTNER_PAGE};
pub use pull::PullApplied;
pub use session::{Credentials, TokenRef};
pub use shares::share_url_for;
pub use warmlead_secrets::{Place, Secret, Vault, VaultError};

/// How long a write waits for another connection (the sync engine has its own).
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// One connection to the cache file. Not `Sync`: open one per thread or task.
pub struct Store {
    conn: Connection,
}

impl Store {
    /// Opens (or creates) the cache at `path` and runs pending migrations.
    pub fn open(path: impl AsRef<Path>) -> Result<Store, StoreError> {
        let store = Store::open_unmigrated(path.as_ref())?;
        migrate::run(&store.conn, LATEST_VERSION)?;
        Ok(store)
    }

    fn open_unmigrated(path: &Path) -> Result<Store, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::Io {
                path: dir.display().to_string(),
                source,
            })?;
        }
        let conn = Connection::open(path)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        // WAL lets the UI read while sync writes; FULL makes a committed outbox
        // row survive a power cut, which is the whole point of the outbox.
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Corrupt(format!("journal mode stays {mode}")));
        }
        conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")?;
        Ok(Store { conn })
    }

    /// The schema version this file is at.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        migrate::current_version(&self.conn)
    }
}

/// A transaction that takes the write lock up front. A deferred one that
/// reads first fails at once with SQLITE_BUSY when it tries to write after
/// another connection (the sync engine, a UI command) committed in between;
/// the busy timeout cannot help there, an immediate one waits for it instead.
pub(crate) fn write_tx(conn: &Connection) -> rusqlite::Result<rusqlite::Transaction<'_>> {
    rusqlite::Transaction::new_unchecked(conn, rusqlite::TransactionBehavior::Immediate)
}

/// Runs `apply` (which opens and commits its own transaction) with
/// `synchronous = NORMAL`, then puts FULL back, error or not. For pulled
/// pages only: in WAL mode a NORMAL commit skips the fsync but the database
/// stays consistent; a power cut can only lose the newest pages, each with
/// its cursor, so they are pulled again. The outbox keeps FULL, and its next
/// commit syncs the WAL up to and including every page before it. Saves one
/// fsync per page (~3.5 ms here; 1,100 pages in a large first download).
pub(crate) fn relaxed_sync<T>(
    conn: &Connection,
    apply: impl FnOnce() -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    conn.execute_batch("PRAGMA synchronous = NORMAL")?;
    let out = apply();
    let restored = conn.execute_batch("PRAGMA synchronous = FULL");
    let out = out?;
    restored?;
    Ok(out)
}

/// Now, as UTC milliseconds.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod invite_tests;
#[cfg(test)]
mod keychain_tests;
#[cfg(test)]
mod lead_tests;
#[cfg(test)]
mod partner_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod token_tests;
#[cfg(test)]
mod undo_tests;
