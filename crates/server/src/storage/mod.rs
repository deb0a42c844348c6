//! The storage boundary. Handlers call domain-level methods on [`Database`];
//! nothing outside this module sees SQL. Today the only backend is SQLite
//! (one connection behind a mutex, WAL); a PostgreSQL backend will slot in
//! behind the same methods.
//!
//! The functions in the submodules take a `&Connection` but are only ever
//! called inside [`Database::tx`] (a transaction or a savepoint in it), so
//! each state change and the change-log row it appends commit together.

pub(crate) mod accounts;
pub(crate) mod backup;
mod cache;
pub(crate) mod changes;
mod content;
mod forward;
pub(crate) mod invitations;
mod leads;
pub(crate) mod migrations;
pub(crate) mod partners;
pub(crate) mod retention;
mod shares;
mod signals;
mod sqlite;
mod sync;
mod track;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, Transaction, TransactionBehavior};
use tokio::sync::{mpsc, oneshot, watch};

use crate::error::ServerError;

pub(crate) use accounts::Caller;
pub(crate) use content::{is_media_key, media_extension, MEDIA_TYPES};
pub(crate) use leads::NewContact;
pub(crate) use shares::{BeaconInput, ResolvedShare};
pub(crate) use sync::PushStep;
pub(crate) use track::{Event as TrackEvent, TrackStats};

/// Server-wide secrets and identity, read once at start.
pub(crate) struct Secrets {
    /// 32 random bytes made at first start; derives every device's share key. Never logged.
    pub master: Vec<u8>,
    /// Changes when the database is restored or moved; clients re-download on change.
    pub epoch: String,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secrets")
            .field("epoch", &self.epoch)
            .finish_non_exhaustive()
    }
}

/// Where the data lives, parsed from a database URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DatabaseUrl {
    Sqlite(PathBuf),
}

impl DatabaseUrl {
    /// `sqlite:///abs/path.db`, `sqlite://relative/path.db`; `postgres://` is refused for now.
    pub fn parse(url: &str) -> Result<DatabaseUrl, ServerError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Err(ServerError::Config(
                "PostgreSQL support is not built yet; use a sqlite:// URL".into(),
            ));
        }
        let path = url.strip_prefix("sqlite://").ok_or_else(|| {
            ServerError::Config(format!(
                "unsupported database URL {url:?}: expected sqlite:///absolute/path.db or sqlite://relative/path.db"
            ))
        })?;
        if path.is_empty() {
            return Err(ServerError::Config(
                "the sqlite:// URL has no file path".into(),
            ));
        }
        Ok(DatabaseUrl::Sqlite(PathBuf::from(path)))
    }

    /// `sqlite://<data dir>/warmlead/server.db`.
    pub fn default_url() -> String {
        let base = dirs::data_dir().unwrap_or_else(|| PathBuf::from("."));
        format!(
            "sqlite://{}",
            base.join("warmlead").join("server.db").display()
        )
    }
}

/// Read-only connections for the public read path, so a page render never
/// waits for the writer (WAL lets readers run beside it).
const READERS: usize = 4;

struct Inner {
    conn: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
    secrets: Secrets,
    media_dir: PathBuf,
    shares: cache::ShareCache,
    /// Tokens known to be in `shares`, so serving a page need not queue
    /// "record this share" again (bounded: cleared when large).
    recorded: Mutex<std::collections::HashSet<String>>,
    queue: track::Queue,
    /// Per company, bumped after a commit that appended to its change log;
    /// its live event streams wake on it (and no other company's).
    company_commits: Mutex<std::collections::HashMap<i64, watch::Sender<u64>>>,
}

impl Inner {
    fn wake(&self, companies: &std::collections::BTreeSet<i64>) {
        let senders = self
            .company_commits
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        for c in companies {
            if let Some(s) = senders.get(c) {
                s.send_modify(|n| *n += 1);
            }
        }
    }
}

/// The server's database. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Database {
    inner: Arc<Inner>,
}

impl Database {
    /// Opens (creating if needed) and migrates the database, and loads its secrets.
    pub async fn open(url: &str) -> Result<Database, ServerError> {
        let DatabaseUrl::Sqlite(path) = DatabaseUrl::parse(url)?;
        let (tx, rx) = mpsc::channel(track::QUEUE_CAPACITY);
        let db = tokio::task::spawn_blocking(move || Self::open_sqlite(&path, tx)).await??;
        let stats = db.inner.queue.stats.clone();
        let task = track::Queue::start(db.clone(), rx, stats);
        *db.inner
            .queue
            .task
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(task);
        Ok(db)
    }

    fn open_sqlite(
        path: &Path,
        queue: mpsc::Sender<track::Queued>,
    ) -> Result<Database, ServerError> {
        let mut conn = sqlite::open(path)?;
        migrations::migrate(&mut conn, None)?;
        let secrets = sqlite::load_or_create_secrets(&mut conn)?;
        let readers = (0..READERS)
            .map(|_| sqlite::open_reader(path).map(Mutex::new))
            .collect::<Result<Vec<_>, _>>()?;
        // Media live next to the database unless configured otherwise.
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let media_dir = dir.join("media");
        std::fs::create_dir_all(&media_dir)?;
        Ok(Database {
            inner: Arc::new(Inner {
                conn: Mutex::new(conn),
                readers,
                next_reader: AtomicUsize::new(0),
                secrets,
                media_dir,
                shares: cache::ShareCache::default(),
                recorded: Mutex::new(Default::default()),
                queue: track::Queue {
                    tx: queue,
                    in_flight: Default::default(),
                    stats: Default::default(),
                    task: Mutex::new(None),
                },
                company_commits: Mutex::new(Default::default()),
            }),
        })
    }

    /// Runs `f` on a read-only connection on the blocking pool.
    pub(crate) async fn read<T, F>(&self, f: F) -> Result<T, ServerError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection, &Secrets) -> Result<T, ServerError> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let i = inner.next_reader.fetch_add(1, Ordering::Relaxed) % inner.readers.len();
            let conn = inner.readers[i].lock().unwrap_or_else(|p| p.into_inner());
            f(&conn, &inner.secrets)
        })
        .await?
    }

    /// Queues a tracking event nobody waits on (recording a share a page
    /// was served for, counting a filtered page request): lost if the queue
    /// is full or the process dies before the next batch, and nothing was
    /// acknowledged to anyone for it.
    pub(crate) fn enqueue(&self, event: track::Event) {
        let _ = self
            .inner
            .queue
            .tx
            .try_send(track::Queued { event, ack: None });
    }

    /// Queues a tracking event and returns once its batch committed (group
    /// commit), so a caller that answers afterwards acknowledges only what
    /// is stored. A full queue is waited on for up to
    /// [`track::ENQUEUE_WAIT`]; after that, `Busy` (503). A `client` (see
    /// `http::public::client_key`) with [`track::MAX_QUEUED_PER_CLIENT`]
    /// events already waiting is refused at once with `RateLimited` (429).
    pub(crate) async fn record(
        &self,
        event: track::Event,
        client: &str,
    ) -> Result<(), ServerError> {
        let queue = &self.inner.queue;
        let _slot = queue
            .in_flight
            .acquire(client, track::MAX_QUEUED_PER_CLIENT)
            .ok_or_else(|| {
                ServerError::RateLimited("too many beacons from this address; retry shortly".into())
            })?;
        let company = match &event {
            track::Event::Beacon(share, _) => Some(share.company.id),
            _ => None,
        };
        let (ack, stored) = oneshot::channel();
        let queued = track::Queued {
            event,
            ack: Some(ack),
        };
        let busy = || ServerError::Busy("the tracking queue is full; retry shortly".into());
        self.inner
            .queue
            .tx
            .send_timeout(queued, track::ENQUEUE_WAIT)
            .await
            .map_err(|_| busy())?;
        match stored.await {
            Ok(true) => {
                if let Some(company) = company {
                    self.inner.queue.stats.accepted(company);
                }
                Ok(())
            }
            Ok(false) => Err(ServerError::Busy("the event could not be stored".into())),
            Err(_) => Err(busy()),
        }
    }

    /// Waits until everything queued before this call is committed.
    pub(crate) async fn flush(&self) {
        let (tx, rx) = oneshot::channel();
        let flush = track::Queued {
            event: track::Event::Flush(tx),
            ack: None,
        };
        if self.inner.queue.tx.send(flush).await.is_ok() {
            let _ = rx.await;
        }
    }

    /// Writes what is queued and stops the queue's task (server shutdown).
    pub(crate) async fn close(&self) {
        let stop = track::Queued {
            event: track::Event::Stop,
            ack: None,
        };
        let _ = self.inner.queue.tx.send(stop).await;
        let task = self
            .inner
            .queue
            .task
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(task) = task {
            let _ = task.await;
        }
    }

    pub(crate) fn track_stats(&self) -> &TrackStats {
        &self.inner.queue.stats
    }

    pub(crate) fn is_recorded(&self, token: &str) -> bool {
        let set = self
            .inner
            .recorded
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        set.contains(token)
    }

    pub(crate) fn mark_recorded<'a>(&self, tokens: impl Iterator<Item = &'a str>) {
        let mut set = self
            .inner
            .recorded
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if set.len() > 100_000 {
            set.clear();
        }
        set.extend(tokens.map(str::to_string));
    }

    pub(crate) fn share_cache(&self) -> &cache::ShareCache {
        &self.inner.shares
    }

    /// A receiver that changes after every commit that appended a change of
    /// `company_id` (not on other companies' commits).
    pub(crate) fn subscribe_company(&self, company_id: i64) -> watch::Receiver<u64> {
        let mut senders = self
            .inner
            .company_commits
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        senders.retain(|_, s| s.receiver_count() > 0);
        senders
            .entry(company_id)
            .or_insert_with(|| watch::channel(0).0)
            .subscribe()
    }

    pub fn secrets(&self) -> &Secrets {
        &self.inner.secrets
    }

    pub fn media_dir(&self) -> &Path {
        &self.inner.media_dir
    }

    /// Runs `f` in one IMMEDIATE transaction on the blocking pool; commits if it
    /// returns Ok. With one writer connection, transactions (and so change
    /// seqs) commit strictly in order.
    pub(crate) async fn tx<T, F>(&self, f: F) -> Result<T, ServerError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Transaction<'_>, &Secrets) -> Result<T, ServerError> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            // A panic in another request must not wedge the database forever.
            let mut conn = inner.conn.lock().unwrap_or_else(|p| p.into_inner());
            changes::take_appended();
            let out = (|| {
                let mut tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let out = f(&mut tx, &inner.secrets)?;
                tx.commit()?;
                Ok(out)
            })();
            let appended = changes::take_appended();
            if out.is_ok() {
                inner.wake(&appended);
            }
            out
        })
        .await?
    }
}

/// Current UTC time in milliseconds.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_database_urls() {
        assert_eq!(
            DatabaseUrl::parse("sqlite:///var/lib/w.db").unwrap(),
            DatabaseUrl::Sqlite(PathBuf::from("/var/lib/w.db"))
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite://data/w.db").unwrap(),
            DatabaseUrl::Sqlite(PathBuf::from("data/w.db"))
        );
        let pg = DatabaseUrl::parse("postgres://u@h/db").unwrap_err();
        assert!(pg
            .to_string()
            .contains("PostgreSQL support is not built yet"));
        assert!(DatabaseUrl::parse("mysql://x").is_err());
        assert!(DatabaseUrl::parse("sqlite://").is_err());
    }

    async fn append_to(db: &Database, company: i64) {
        db.tx(move |tx, _| {
            let body = warmlead_core::sync::ChangeBody::Tombstone {
                kind: warmlead_core::sync::EntityKind::Share,
                id: "test".into(),
            };
            changes::append(tx, company, changes::Scope::Company, &body, now_ms())
        })
        .await
        .unwrap();
    }

    /// Live streams of company A must not wake (and query) on company B's commits.
    #[tokio::test]
    async fn commits_wake_only_their_company() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("s.db").display());
        let db = Database::open(&url).await.unwrap();
        let a = db.subscribe_company(1);
        let mut b = db.subscribe_company(2);
        append_to(&db, 2).await;
        assert!(!a.has_changed().unwrap(), "B's commit woke A");
        assert!(b.has_changed().unwrap());
        b.mark_unchanged();
        db.tx(|_, _| Ok(())).await.unwrap();
        assert!(
            !a.has_changed().unwrap() && !b.has_changed().unwrap(),
            "a commit without changes wakes nobody"
        );
        append_to(&db, 1).await;
        assert!(a.has_changed().unwrap());
        assert!(!b.has_changed().unwrap());
        db.close().await;
    }
}
