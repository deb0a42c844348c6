//! A real server on 127.0.0.1:0 with a real database, for this crate's and
//! other crates' tests (feature `testing`): a SQLite file in a temporary
//! directory, or, when `WARMLEAD_TEST_BACKEND=postgres`, a fresh database
//! of its own on the test PostgreSQL cluster (`warmlead_testpg`; `cargo
//! xtask test` runs every suite once per backend). Media live in the
//! temporary directory either way.

use warmlead_core::domain::{Role, User};

use crate::error::ServerError;
use crate::storage::bulk;
pub use crate::storage::bulk::{Seeded, WorldSize};
use crate::{start_with, Admin, Config, Options, RunningServer};

/// Names the backend the test servers use: `sqlite` (default) or `postgres`.
pub const BACKEND_ENV: &str = "WARMLEAD_TEST_BACKEND";

/// Which database a test server runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The backend chosen by [`BACKEND_ENV`]; an unknown name fails the test.
    pub fn selected() -> Backend {
        match std::env::var(BACKEND_ENV).as_deref() {
            Err(_) | Ok("") | Ok("sqlite") => Backend::Sqlite,
            Ok("postgres") => Backend::Postgres,
            Ok(other) => panic!("{BACKEND_ENV}={other:?}: expected sqlite or postgres"),
        }
    }

    /// A database URL for one test server: a file in `dir`, or a new
    /// empty PostgreSQL database.
    pub async fn database_url(self, dir: &std::path::Path) -> String {
        match self {
            Backend::Sqlite => format!("sqlite://{}", dir.join("server.db").display()),
            Backend::Postgres => fresh_postgres_database().await,
        }
    }
}

/// A new, empty database on the test cluster (made with CREATE DATABASE).
pub async fn fresh_postgres_database() -> String {
    let server = warmlead_testpg::TestPostgres::shared();
    let name = warmlead_testpg::unique_database_name();
    let client = warmlead_server_postgres::connect(&server)
        .await
        .unwrap_or_else(|e| panic!("the test PostgreSQL cluster at {server} refused: {e}"));
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .expect("CREATE DATABASE on the test cluster");
    warmlead_testpg::database_url(&server, &name)
}

/// Adds `size` partners, leads and signals under `rep` (on content item
/// `item_id`) in one transaction, with the rows and change-log entries the
/// server's own write paths make for them: how the sync benchmarks build a
/// rep's world of a million signals in seconds instead of through HTTP.
pub async fn seed_rep_world(
    admin: &Admin,
    rep: &User,
    item_id: i64,
    size: WorldSize,
) -> Result<Seeded, ServerError> {
    if rep.role != Role::Rep {
        return Err(ServerError::InvalidInput(format!(
            "user {} is not a rep: partners are bound to a rep",
            rep.id
        )));
    }
    let rep = rep.clone();
    let seeded = admin
        .db
        .tx(move |tx, secrets| {
            let now = crate::storage::now_ms();
            bulk::seed_rep_world(tx, secrets, &rep, item_id, size, now)
        })
        .await?;
    // PostgreSQL plans the pull from table statistics; autovacuum gathers
    // them within a minute of a large write, but a benchmark would otherwise
    // measure whichever plan the empty tables' statistics gave.
    admin.db.tx(bulk::analyze).await?;
    Ok(seeded)
}

pub struct TestServer {
    pub server: RunningServer,
    database_url: String,
    _dir: tempfile::TempDir,
}

impl TestServer {
    pub async fn start() -> TestServer {
        Self::start_with(false).await
    }

    /// With the demo company seeded.
    pub async fn start_demo() -> TestServer {
        Self::start_with(true).await
    }

    async fn start_with(demo: bool) -> TestServer {
        Self::start_configured(demo, None, Options::default()).await
    }

    /// With a public URL (e.g. `https://...`, as behind a TLS proxy) and options.
    pub async fn start_configured(
        demo: bool,
        public_url: Option<String>,
        options: Options,
    ) -> TestServer {
        Self::start_on(Backend::selected(), demo, public_url, options).await
    }

    /// On a given backend (tests of what only one backend has, e.g. the
    /// SQLite file backup).
    pub async fn start_on(
        backend: Backend,
        demo: bool,
        public_url: Option<String>,
        options: Options,
    ) -> TestServer {
        // Server errors in the test's output (RUST_LOG to see more).
        let _ = tracing_subscriber::fmt()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_default_env()
                    .unwrap_or_else(|_| "warn".into()),
            )
            .with_test_writer()
            .try_init();
        let dir = tempfile::tempdir().expect("temp dir");
        let mut options = options;
        options.storage.media_dir = Some(dir.path().join("media"));
        let config = Config {
            listen: "127.0.0.1:0".parse().expect("loopback address"),
            database_url: backend.database_url(dir.path()).await,
            public_url,
            demo,
        };
        let database_url = config.database_url.clone();
        let server = start_with(config, options)
            .await
            .expect("test server starts");
        TestServer {
            server,
            database_url,
            _dir: dir,
        }
    }

    /// The server's database URL (for the CLI, or [`TestSql`]).
    pub fn database_url(&self) -> &str {
        &self.database_url
    }

    /// Direct SQL on the server's database, for what a test must set up
    /// or look at below the API.
    pub fn sql(&self) -> TestSql {
        TestSql::new(&self.database_url)
    }

    /// Base URL of the API and the public pages, e.g. `http://127.0.0.1:41234`.
    pub fn url(&self) -> String {
        self.server.base_url()
    }

    pub fn admin(&self) -> Admin {
        self.server.admin()
    }

    /// Shuts the server down (writing what is queued) and hands back the
    /// directory, so a test can inspect the files it left.
    pub async fn stop(self) -> tempfile::TempDir {
        self.server.shutdown().await;
        self._dir
    }

    /// The temporary directory holding the database and media.
    pub fn dir(&self) -> &std::path::Path {
        self._dir.path()
    }
}

/// A second connection to a test server's database, whichever the backend:
/// only the SQL a test passes may differ between them.
pub struct TestSql {
    url: String,
}

/// An open transaction that holds the database's write lock (SQLite) or
/// exclusive locks on the tables the server writes (PostgreSQL), so a test
/// can watch the server wait on its writer.
pub enum WriteHold {
    Sqlite(rusqlite::Connection),
    Postgres(warmlead_server_postgres::Client),
}

/// Tables the server writes on every request path a test may want blocked.
const WRITTEN_TABLES: &str = "shares, visits, page_views, signals, changes, leads, filtered_hits";

impl TestSql {
    pub fn new(url: &str) -> TestSql {
        TestSql {
            url: url.to_string(),
        }
    }

    pub fn is_postgres(&self) -> bool {
        self.url.starts_with("postgres")
    }

    fn sqlite(&self) -> rusqlite::Connection {
        let path = self.url.trim_start_matches("sqlite://");
        let conn = rusqlite::Connection::open(path).expect("open the test SQLite file");
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .expect("busy timeout");
        conn
    }

    async fn postgres(&self) -> warmlead_server_postgres::Client {
        warmlead_server_postgres::connect(&self.url)
            .await
            .unwrap_or_else(|e| panic!("connect to the test database: {e}"))
    }

    /// Runs statements (no results).
    pub async fn execute(&self, sql: &str) {
        if self.is_postgres() {
            let c = self.postgres().await;
            c.batch_execute(sql)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
        } else {
            self.sqlite()
                .execute_batch(sql)
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
    }

    /// The first column of every row, as text (NULL as "").
    pub async fn texts(&self, sql: &str) -> Vec<String> {
        if self.is_postgres() {
            let c = self.postgres().await;
            let rows = c
                .simple_query(sql)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
            rows.iter()
                .filter_map(|m| match m {
                    tokio_postgres::SimpleQueryMessage::Row(r) => {
                        Some(r.get(0).unwrap_or_default().to_string())
                    }
                    _ => None,
                })
                .collect()
        } else {
            let conn = self.sqlite();
            let mut stmt = conn.prepare(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
            stmt.query_map([], |r| {
                Ok(match r.get::<_, rusqlite::types::Value>(0)? {
                    rusqlite::types::Value::Null => String::new(),
                    rusqlite::types::Value::Integer(i) => i.to_string(),
                    rusqlite::types::Value::Real(f) => f.to_string(),
                    rusqlite::types::Value::Text(t) => t,
                    rusqlite::types::Value::Blob(b) => String::from_utf8_lossy(&b).into_owned(),
                })
            })
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
        }
    }

    /// The one value of a one-row query, as text.
    pub async fn text(&self, sql: &str) -> String {
        let rows = self.texts(sql).await;
        assert_eq!(rows.len(), 1, "{sql} gave {rows:?}");
        rows.into_iter().next().unwrap_or_default()
    }

    /// The one integer of a one-row query (e.g. a COUNT).
    pub async fn i64(&self, sql: &str) -> i64 {
        let t = self.text(sql).await;
        t.parse().unwrap_or_else(|_| panic!("{sql} gave {t:?}"))
    }

    /// Holds the writer until [`WriteHold::release`].
    pub async fn hold_writes(&self) -> WriteHold {
        if self.is_postgres() {
            let c = self.postgres().await;
            c.batch_execute(&format!(
                "BEGIN; LOCK TABLE {WRITTEN_TABLES} IN EXCLUSIVE MODE"
            ))
            .await
            .expect("lock the written tables");
            WriteHold::Postgres(c)
        } else {
            let conn = self.sqlite();
            conn.execute_batch("BEGIN IMMEDIATE")
                .expect("take the SQLite write lock");
            WriteHold::Sqlite(conn)
        }
    }
}

impl WriteHold {
    pub async fn release(self) {
        match self {
            WriteHold::Sqlite(c) => c.execute_batch("ROLLBACK").expect("release"),
            WriteHold::Postgres(c) => c.batch_execute("ROLLBACK").await.expect("release"),
        }
    }
}

/// A transaction of the test server held open right after it appended one
/// change (the company's profile, as a profile edit does) to its company's
/// change log, through the server's own append path: how a test makes a
/// slow writer whose seq is taken but not yet committed.
pub struct HeldChange {
    /// The seq the held change took.
    pub seq: i64,
    release: std::sync::mpsc::Sender<()>,
    done: tokio::task::JoinHandle<Result<(), ServerError>>,
}

impl HeldChange {
    /// Commits the held transaction.
    pub async fn commit(self) {
        self.release.send(()).expect("the held transaction waits");
        self.done
            .await
            .expect("the held transaction's task")
            .expect("the held transaction commits");
    }
}

impl TestServer {
    /// Opens a transaction that appends a change to `company_id`'s log and
    /// holds it open until [`HeldChange::commit`].
    pub async fn hold_change(&self, company_id: i64) -> HeldChange {
        let db = self.admin().db.clone();
        let (appended_tx, appended) = tokio::sync::oneshot::channel();
        let (release, released) = std::sync::mpsc::channel::<()>();
        let done = tokio::spawn(async move {
            db.tx(move |tx, _| {
                crate::storage::account_store::account_store(tx)
                    .announce_company(company_id, crate::storage::now_ms())?;
                let seq: i64 = tx.query_row(
                    "SELECT MAX(seq) FROM changes WHERE company_id = ?1",
                    crate::storage::sql::params![company_id],
                    |r| r.get(0),
                )?;
                let _ = appended_tx.send(seq);
                // Blocking is fine: transactions run on the blocking pool.
                released
                    .recv()
                    .map_err(|_| ServerError::Stalled("the test let go of its hold".into()))
            })
            .await
        });
        let seq = appended.await.expect("the held transaction appended");
        HeldChange { seq, release, done }
    }
}
