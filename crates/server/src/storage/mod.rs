//! The storage boundary. Handlers call domain-level methods on [`Database`];
//! nothing outside this module sees SQL.
//!
//! Two backends, chosen by the database URL: SQLite (the embedded default:
//! one writer connection behind a mutex, WAL, reader connections beside it)
//! and PostgreSQL (a pool; several server processes may share one
//! database). The aggregate modules (accounts, content, changes = the sync
//! log, track, invitations, leads, sms, ...) are written once against
//! [`sql::Connection`]; only their SQL may differ between the backends.
//!
//! The functions in the submodules take a `&Connection` and are only ever
//! called inside [`Database::tx`] (a transaction, or a savepoint in it) or
//! [`Database::read`], so each state change and the change-log row it
//! appends commit together.

pub(crate) mod account_store;
pub(crate) mod accounts;
pub(crate) mod backup;
#[cfg(feature = "testing")]
pub(crate) mod bulk;
mod cache;
pub(crate) mod change_store;
pub(crate) mod changes;
#[cfg(test)]
mod conformance;
mod content;
pub(crate) mod content_store;
mod forward;
pub(crate) mod invitation_store;
pub(crate) mod invitations;
pub(crate) mod lead_store;
mod leads;
mod limits;
mod media;
pub(crate) mod media_store;
mod meta;
pub(crate) mod migrations;
mod pg;
mod push;
pub(crate) mod push_store;
#[cfg(test)]
mod races;
pub(crate) mod release_store;
mod releases;
pub(crate) mod retention;
mod shares;
mod signals;
pub(crate) mod sms;
pub(crate) mod sms_store;
pub(crate) mod sql;
mod sqlite;
mod stores;
#[cfg(test)]
mod testdb;
mod track;
mod track_pg;
pub(crate) mod track_sqlite;
pub(crate) mod track_store;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, oneshot, watch};

use crate::error::ServerError;
pub(crate) use leads::record_contact;
pub(crate) use sql::Connection;
pub(crate) use stores::Stores;

pub(crate) use account_store::Caller;
pub(crate) use content_store::{is_media_key, media_extension, MediaOwner, Placed, MEDIA_TYPES};
pub(crate) use shares::{verified, BeaconInput, Credit, ResolvedShare, CHILD_PREFIX};
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
    /// The URL as given (`postgres://user:pass@host:port/db?...`).
    Postgres(String),
}

impl DatabaseUrl {
    /// `sqlite:///abs/path.db`, `sqlite://relative/path.db`, `postgres://...`.
    pub fn parse(url: &str) -> Result<DatabaseUrl, ServerError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            url.parse::<postgres::Config>().map_err(|e| {
                ServerError::Config(format!("the PostgreSQL URL is not valid: {e}"))
            })?;
            return Ok(DatabaseUrl::Postgres(url.to_string()));
        }
        let path = url.strip_prefix("sqlite://").ok_or_else(|| {
            ServerError::Config(format!(
                "unsupported database URL {url:?}: expected sqlite:///absolute/path.db, sqlite://relative/path.db or postgres://user:password@host/database"
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
        format!("sqlite://{}", data_dir().join("server.db").display())
    }
}

/// Where uploaded media live: the configured folder, else `media/` beside
/// the SQLite file, else (PostgreSQL) `<data dir>/warmlead/media`.
pub(crate) fn media_dir_for(url: &DatabaseUrl, configured: Option<PathBuf>) -> PathBuf {
    configured.unwrap_or_else(|| match url {
        DatabaseUrl::Sqlite(path) => path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default()
            .join("media"),
        DatabaseUrl::Postgres(_) => data_dir().join("media"),
    })
}

/// `<data dir>/warmlead`.
fn data_dir() -> PathBuf {
    dirs::data_dir()
        .unwrap_or_else(|| PathBuf::from("."))
        .join("warmlead")
}

/// How the storage is run (pool size and timeouts for PostgreSQL, where media live).
#[derive(Debug, Clone)]
pub struct StorageOptions {
    /// PostgreSQL connections per server process.
    pub pool_size: usize,
    /// PostgreSQL `statement_timeout`: a runaway query is cancelled after this.
    pub statement_timeout_ms: u64,
    /// Uploaded media. Default: `media/` next to the SQLite file, or
    /// `<data dir>/warmlead/media` with PostgreSQL. Several processes on
    /// one PostgreSQL must share it.
    pub media_dir: Option<PathBuf>,
}

impl Default for StorageOptions {
    fn default() -> Self {
        StorageOptions {
            pool_size: 16,
            statement_timeout_ms: 30_000,
            media_dir: None,
        }
    }
}

/// Read-only connections for the public read path, so a page render never
/// waits for the writer (WAL lets readers run beside it).
const READERS: usize = 4;

enum Backend {
    Sqlite {
        writer: Mutex<Connection>,
        readers: Vec<Mutex<Connection>>,
        next_reader: AtomicUsize,
        /// Dropped with the database (its last checkpoint, then its thread ends).
        checkpointer: sqlite::Checkpointer,
        wal: sqlite::WalSync,
        /// The burst filter's window: this writer sees every new visit.
        opens: signals::BurstWindow,
    },
    Postgres(pg::Pool),
}

struct Inner {
    backend: Backend,
    secrets: Secrets,
    media_dir: PathBuf,
    shares: cache::ShareCache,
    /// Tokens known to be in `shares`, so serving a page need not queue
    /// "record this share" again (bounded: cleared when large).
    recorded: Mutex<std::collections::HashSet<String>>,
    queue: track::Queue,
    /// Per company, bumped after a commit that appended to its change log
    /// (here, or in another process: PostgreSQL NOTIFY); its live event
    /// streams wake on it (and no other company's).
    company_commits: Mutex<std::collections::HashMap<i64, watch::Sender<u64>>>,
    /// The public base URL of links (set by the HTTP state): invitations
    /// made offline and recorded at sync get their URL from it.
    public_url: Mutex<String>,
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
    pub async fn open_with(url: &str, options: &StorageOptions) -> Result<Database, ServerError> {
        let (tx, rx) = mpsc::channel(track::QUEUE_CAPACITY);
        let db = match DatabaseUrl::parse(url)? {
            DatabaseUrl::Sqlite(path) => {
                let media = options.media_dir.clone();
                tokio::task::spawn_blocking(move || Self::open_sqlite(&path, media, tx)).await??
            }
            DatabaseUrl::Postgres(url) => Self::open_postgres(&url, options, tx).await?,
        };
        let stats = db.inner.queue.stats.clone();
        let task = track::Queue::start(db.clone(), rx, stats);
        *db.inner
            .queue
            .task
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(task);
        if let Backend::Postgres(_) = db.inner.backend {
            pg::listen(url, db.clone()).await?;
        }
        Ok(db)
    }

    fn open_sqlite(
        path: &Path,
        media_dir: Option<PathBuf>,
        queue: mpsc::Sender<track::Queued>,
    ) -> Result<Database, ServerError> {
        let mut conn = sqlite::open(path)?;
        migrations::migrate(&mut conn, None)?;
        let opens = sqlite::recent_opens(&conn, now_ms())?;
        tracing::debug!(
            opens = opens.len(),
            "burst window filled from the newest visits"
        );
        let writer = Connection::sqlite(conn);
        let secrets = run_tx(&writer, "BEGIN IMMEDIATE", |c| {
            meta::load_or_create_secrets(c)
        })?;
        let newest = newest_seq(&writer)?;
        let readers = (0..READERS)
            .map(|_| sqlite::open_reader(path).map(|c| Mutex::new(Connection::sqlite(c))))
            .collect::<Result<Vec<_>, _>>()?;
        let backend = Backend::Sqlite {
            writer: Mutex::new(writer),
            readers,
            next_reader: AtomicUsize::new(0),
            checkpointer: sqlite::Checkpointer::start(path)?,
            wal: sqlite::WalSync::start(path, newest)?,
            opens: Arc::new(Mutex::new(opens)),
        };
        Self::assemble(
            backend,
            secrets,
            // Media live next to the database unless configured otherwise.
            media_dir_for(&DatabaseUrl::Sqlite(path.to_path_buf()), media_dir),
            queue,
        )
    }

    async fn open_postgres(
        url: &str,
        options: &StorageOptions,
        queue: mpsc::Sender<track::Queued>,
    ) -> Result<Database, ServerError> {
        let mut client = warmlead_server_postgres::connect(url).await?;
        warmlead_server_postgres::migrate(&mut client).await?;
        drop(client);
        let pool = pg::Pool::new(url, options.pool_size, options.statement_timeout_ms)?;
        let media_dir = media_dir_for(
            &DatabaseUrl::Postgres(url.to_string()),
            options.media_dir.clone(),
        );
        tokio::task::spawn_blocking(move || {
            let secrets = {
                let conn = pool.get()?;
                run_tx(&conn, "BEGIN", meta::load_or_create_secrets)?
            };
            Self::assemble(Backend::Postgres(pool), secrets, media_dir, queue)
        })
        .await?
    }

    fn assemble(
        backend: Backend,
        secrets: Secrets,
        media_dir: PathBuf,
        queue: mpsc::Sender<track::Queued>,
    ) -> Result<Database, ServerError> {
        std::fs::create_dir_all(&media_dir)?;
        Ok(Database {
            inner: Arc::new(Inner {
                backend,
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
                public_url: Mutex::new(String::new()),
            }),
        })
    }

    /// The public base URL of links, without a trailing slash.
    pub(crate) fn set_public_url(&self, url: &str) {
        *self
            .inner
            .public_url
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = url.trim_end_matches('/').to_string();
    }

    pub(crate) fn public_url(&self) -> String {
        self.inner
            .public_url
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Runs `f` on a read-only connection on the blocking pool (SQLite: a
    /// reader beside the writer; PostgreSQL: a read-only snapshot).
    pub(crate) async fn read<T, F>(&self, f: F) -> Result<T, ServerError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection, &Secrets) -> Result<T, ServerError> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || match &inner.backend {
            Backend::Sqlite {
                readers,
                next_reader,
                ..
            } => {
                let i = next_reader.fetch_add(1, Ordering::Relaxed) % readers.len();
                let conn = readers[i].lock().unwrap_or_else(|p| p.into_inner());
                f(&conn, &inner.secrets)
            }
            Backend::Postgres(pool) => {
                let conn = pool.get()?;
                run_tx(
                    &conn,
                    "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
                    |c| f(c, &inner.secrets),
                )
            }
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

    /// Runs `f` in one transaction on the blocking pool; commits if it
    /// returns Ok. SQLite: IMMEDIATE on the one writer, so transactions (and
    /// change seqs) commit strictly in order. PostgreSQL: READ COMMITTED on
    /// a pooled connection; the change log orders itself (`change_store::AppendOrder`).
    pub(crate) async fn tx<T, F>(&self, f: F) -> Result<T, ServerError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection, &Secrets) -> Result<T, ServerError> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            changes::take_appended();
            let out = match &inner.backend {
                Backend::Sqlite {
                    writer,
                    wal,
                    checkpointer,
                    ..
                } => {
                    let conn = lock_writer(writer, checkpointer);
                    run_tx(&conn, "BEGIN IMMEDIATE", |c| f(c, &inner.secrets)).and_then(|v| {
                        // It appended, so its commit (`synchronous=FULL`)
                        // synced the WAL: on disk, with every batch
                        // committed before it. (A commit that wrote nothing
                        // syncs nothing.)
                        if changes::has_appended() {
                            wal.synced(newest_seq(&conn)?);
                        }
                        Ok(v)
                    })
                }
                Backend::Postgres(pool) => pool
                    .get()
                    .and_then(|conn| run_tx(&conn, "BEGIN", |c| f(c, &inner.secrets))),
            };
            let appended = changes::take_appended();
            if out.is_ok() {
                inner.wake(&appended);
            }
            out
        })
        .await?
    }

    /// Like [`Database::tx`], for the tracking batches: on SQLite the commit
    /// does not wait for the disk (`synchronous=NORMAL`); the returned
    /// [`Durable`] resolves once the WAL holding it is synced (see
    /// `sqlite::WalSync`), so the writer can start the next batch meanwhile.
    /// Its changes reach pulls and live streams only then. PostgreSQL
    /// commits durably: resolved at once.
    pub(crate) async fn tx_then_sync<T, F>(&self, f: F) -> Result<(T, Durable), ServerError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection, &Secrets) -> Result<T, ServerError> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            changes::take_appended();
            let (out, synced) = match &inner.backend {
                Backend::Sqlite {
                    writer,
                    wal,
                    checkpointer,
                    ..
                } => {
                    let conn = lock_writer(writer, checkpointer);
                    conn.execute_batch("PRAGMA synchronous = NORMAL")?;
                    let out = run_tx(&conn, "BEGIN IMMEDIATE", |c| f(c, &inner.secrets));
                    conn.execute_batch("PRAGMA synchronous = FULL")?;
                    let out = out?;
                    (out, Some(wal.after(newest_seq(&conn)?)))
                }
                Backend::Postgres(pool) => {
                    let conn = pool.get()?;
                    (run_tx(&conn, "BEGIN", |c| f(c, &inner.secrets))?, None)
                }
            };
            let appended = changes::take_appended();
            Ok((
                out,
                Durable {
                    synced,
                    appended,
                    inner: inner.clone(),
                },
            ))
        })
        .await?
    }

    /// Resolves once every tracking batch committed so far is on disk
    /// (`None`: nothing to wait for).
    pub(crate) fn sync_barrier(&self) -> Option<Durable> {
        match &self.inner.backend {
            Backend::Sqlite { wal, .. } => Some(Durable {
                synced: Some(wal.after(0)),
                appended: Default::default(),
                inner: self.inner.clone(),
            }),
            Backend::Postgres(_) => None,
        }
    }

    /// The newest change-log seq on disk: pulls and live streams stop there
    /// (SQLite; PostgreSQL commits durably, so no bound).
    pub(crate) fn durable_seq(&self) -> i64 {
        match &self.inner.backend {
            Backend::Sqlite { wal, .. } => wal.durable_seq(),
            Backend::Postgres(_) => i64::MAX,
        }
    }

    /// A tracking batch's transaction ([`Database::tx_then_sync`]) through
    /// the tracking aggregate's store of this backend.
    pub(crate) async fn track_tx_then_sync<T, F>(&self, f: F) -> Result<(T, Durable), ServerError>
    where
        T: Send + 'static,
        F: FnOnce(&mut dyn track_store::TrackStore) -> Result<T, ServerError> + Send + 'static,
    {
        let window = self.burst_window();
        self.tx_then_sync(move |conn, _| f(&mut *tracking_store(conn, window)))
            .await
    }

    /// A tracking transaction ([`Database::tx`]: on disk when it returns)
    /// through the tracking aggregate's store of this backend.
    pub(crate) async fn track_tx<T, F>(&self, f: F) -> Result<T, ServerError>
    where
        T: Send + 'static,
        F: FnOnce(&mut dyn track_store::TrackStore) -> Result<T, ServerError> + Send + 'static,
    {
        let window = self.burst_window();
        self.tx(move |conn, _| f(&mut *tracking_store(conn, window)))
            .await
    }

    /// How many tracking batches the writer may have in flight: one on
    /// SQLite (one writer; it overlaps the next batch with the last one's
    /// sync instead), `TRACK_BATCHES_IN_FLIGHT_PG` on PostgreSQL (each on
    /// its own connection).
    pub(crate) fn track_batches_in_flight(&self) -> usize {
        match &self.inner.backend {
            Backend::Sqlite { .. } => 1,
            Backend::Postgres(_) => TRACK_BATCHES_IN_FLIGHT_PG,
        }
    }

    /// SQLite: the writer's window of the last minutes' new visits, for a
    /// tracking batch to count bursts with (`signals::Batch::new`).
    /// PostgreSQL: `None` (its processes share the `recent_opens` table).
    pub(crate) fn burst_window(&self) -> Option<signals::BurstWindow> {
        match &self.inner.backend {
            Backend::Sqlite { opens, .. } => Some(opens.clone()),
            Backend::Postgres(_) => None,
        }
    }

    /// Adds a committed batch's new visits to the SQLite writer's window.
    pub(crate) fn remember_opens(&self, new: Vec<(i64, i64)>) {
        if let (Backend::Sqlite { opens, .. }, false) = (&self.inner.backend, new.is_empty()) {
            opens.lock().unwrap_or_else(|p| p.into_inner()).add(new);
        }
    }

    /// Wakes the live streams of `company` (a commit in another process).
    pub(crate) fn wake_company(&self, company: i64) {
        self.inner.wake(&std::iter::once(company).collect());
    }
}

/// Tracking batches written at once on PostgreSQL. One: every batch's
/// change-log rows wait for the company's order lock until the batch
/// before commits, so batches in flight mostly wait for each other, and
/// they split the queue into smaller batches, each paying the same round
/// trips and commit. Measured with `benches/views.sh` (docs/benchmarks.md):
/// one batch at a time 6,195-6,810 durable views/s, two 5,368, four 4,722.
const TRACK_BATCHES_IN_FLIGHT_PG: usize = 1;

/// The tracking aggregate's store of the connection's backend (SQLite's
/// with the writer's burst window).
fn tracking_store(
    conn: &Connection,
    window: Option<signals::BurstWindow>,
) -> Box<dyn track_store::TrackStore + '_> {
    match conn.dialect() {
        sql::Dialect::Sqlite => Box::new(track_sqlite::SqliteTrackStore::new(
            conn,
            window.unwrap_or_default(),
        )),
        sql::Dialect::Postgres => Box::new(track_pg::PgTrackStore::new(conn)),
    }
}

/// The SQLite writer, for a transaction: a panic in another request must
/// not wedge the database forever, and a WAL restart the checkpointer asked
/// for happens first (between two transactions).
fn lock_writer<'a>(
    writer: &'a Mutex<Connection>,
    checkpointer: &sqlite::Checkpointer,
) -> std::sync::MutexGuard<'a, Connection> {
    let conn = writer.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(c) = conn.as_sqlite() {
        checkpointer.restart_if_due(c);
    }
    conn
}

/// A committed transaction of [`Database::tx_then_sync`], until it is on disk.
pub(crate) struct Durable {
    synced: Option<oneshot::Receiver<bool>>,
    appended: std::collections::BTreeSet<i64>,
    inner: Arc<Inner>,
}

impl Durable {
    /// Waits until the transaction is on disk (false: it may not be, and
    /// must not be acknowledged), then wakes the live streams of the
    /// companies it appended to.
    pub(crate) async fn wait(self) -> bool {
        let ok = match self.synced {
            Some(rx) => rx.await.unwrap_or(false),
            None => true,
        };
        if ok {
            self.inner.wake(&self.appended);
        }
        ok
    }
}

/// The newest seq of the change log (0 when empty).
fn newest_seq(conn: &Connection) -> Result<i64, ServerError> {
    Ok(
        conn.query_row("SELECT COALESCE(MAX(seq), 0) FROM changes", (), |r| {
            r.get(0)
        })?,
    )
}

/// `f` between `begin` and COMMIT; ROLLBACK when it fails.
fn run_tx<T>(
    conn: &Connection,
    begin: &str,
    f: impl FnOnce(&Connection) -> Result<T, ServerError>,
) -> Result<T, ServerError> {
    conn.execute_batch(begin)?;
    match f(conn) {
        Ok(v) => {
            conn.execute_batch("COMMIT")?;
            Ok(v)
        }
        Err(e) => {
            // The connection may be broken; the pool then drops it.
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
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
        assert_eq!(
            DatabaseUrl::parse("postgres://u@h/db").unwrap(),
            DatabaseUrl::Postgres("postgres://u@h/db".into())
        );
        let bad = DatabaseUrl::parse("postgres://u@h:notaport/db").unwrap_err();
        assert!(
            bad.to_string().contains("PostgreSQL URL is not valid"),
            "{bad}"
        );
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

    /// A tracking batch is answered, and its changes pulled, only once the
    /// WAL holding it is synced; a `synchronous=FULL` commit after it syncs
    /// it too.
    #[tokio::test]
    // The lock stops the syncer's OS thread, not a task of this runtime.
    #[allow(clippy::await_holding_lock)]
    async fn a_batch_is_durable_only_once_its_wal_is_synced() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("s.db").display());
        let db = Database::open_with(&url, &StorageOptions::default())
            .await
            .unwrap();
        let Backend::Sqlite { wal, .. } = &db.inner.backend else {
            unreachable!()
        };
        let mut live = db.subscribe_company(1);
        let before = db.durable_seq();
        let held = wal.hold.lock().unwrap();
        let body = warmlead_core::sync::ChangeBody::Tombstone {
            kind: warmlead_core::sync::EntityKind::Share,
            id: "test".into(),
        };
        let b = body.clone();
        let (seq, durable) = db
            .tx_then_sync(move |tx, _| {
                changes::append(tx, 1, changes::Scope::Company, &b, now_ms())?;
                newest_seq(tx)
            })
            .await
            .unwrap();
        assert!(seq > before);
        let mut waiting = tokio::spawn(durable.wait());
        // Not answered while its WAL waits for the sync (given a moment to
        // go wrong: an answer that did not wait comes at once).
        let early = tokio::time::timeout(std::time::Duration::from_millis(300), &mut waiting).await;
        assert!(early.is_err(), "answered before its WAL was synced");
        assert_eq!(db.durable_seq(), before, "pulls would see it");
        assert!(!live.has_changed().unwrap(), "live streams woke too early");
        drop(held);
        assert!(waiting.await.unwrap());
        assert_eq!(db.durable_seq(), seq);
        assert!(live.has_changed().unwrap());
        live.mark_unchanged();

        // The syncer held again: a plain transaction's own commit syncs the
        // WAL, so the batch before it is on disk with it.
        let held = wal.hold.lock().unwrap();
        let (first, durable) = db
            .tx_then_sync(move |tx, _| {
                changes::append(tx, 1, changes::Scope::Company, &body, now_ms())?;
                newest_seq(tx)
            })
            .await
            .unwrap();
        append_to(&db, 1).await;
        assert!(db.durable_seq() > first);
        drop(held);
        assert!(durable.wait().await);
        db.close().await;
    }

    /// Live streams of company A must not wake (and query) on company B's commits.
    #[tokio::test]
    async fn commits_wake_only_their_company() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("s.db").display());
        let db = Database::open_with(&url, &StorageOptions::default())
            .await
            .unwrap();
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
