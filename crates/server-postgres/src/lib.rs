//! The server's PostgreSQL schema (issue 9, first brick): numbered
//! migrations embedded in the binary, mirroring the SQLite ones in
//! `crates/server-sqlite/migrations` table for table and column for column, and
//! the runner that applies them at start.
//!
//! Only the SQL differs between the backends: the same numbers, the same
//! names, integer ms UTC times, BIGINT ids, BYTEA for blobs. The test
//! `tests/parity.rs` compares the final schemas of both migration sets, so
//! the dialect drift atuin's maintainers found painful (two migration sets
//! that slowly stopped agreeing) fails a test instead of a deployment.
//!
//! Client: `tokio-postgres` with `deadpool-postgres` for the pool, rather
//! than sqlx: the server's SQLite side is plain rusqlite with hand-written
//! SQL, and tokio-postgres is its PostgreSQL counterpart (SQL strings,
//! typed parameters, no compile-time database, no macros), while sqlx would
//! bring its own migrator, query macros and a second way of doing what
//! rusqlite already does. sqlx's `Any` driver, which hides the dialect, is
//! exactly what issue 9 rules out. tokio-postgres is maintained with
//! rust-postgres (sfackler), deadpool by the deadpool project; both are
//! widely used and small.

pub mod copy;

use std::time::{SystemTime, UNIX_EPOCH};

pub use deadpool_postgres::Pool;
pub use tokio_postgres::{Client, NoTls};

/// The crate's one error type.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("postgres: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    #[error("postgres pool: {0}")]
    Pool(String),
    #[error("migration {version} failed: {source}")]
    Migration {
        version: i64,
        source: tokio_postgres::Error,
    },
    #[error("the database is at schema version {database}, newer than this server ({binary}); upgrade the server")]
    TooNew { database: i64, binary: i64 },
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The copy from SQLite refused to start or its verification failed
    /// (nothing was written to the target).
    #[error("{0}")]
    Copy(String),
}

/// `(version, sql)`, in order, numbered like the SQLite set (same number,
/// same change). Append only; never edit a released migration.
pub const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../migrations/0001_init.sql")),
    (2, include_str!("../migrations/0002_radar.sql")),
    (3, include_str!("../migrations/0003_visit_indexes.sql")),
    (4, include_str!("../migrations/0004_invitations.sql")),
    (5, include_str!("../migrations/0005_sms.sql")),
    (6, include_str!("../migrations/0006_poster_artwork.sql")),
    (
        7,
        include_str!("../migrations/0007_share_token_identity.sql"),
    ),
    (8, include_str!("../migrations/0008_media_keys.sql")),
    (9, include_str!("../migrations/0009_poster_slogan.sql")),
    (10, include_str!("../migrations/0010_visits_network.sql")),
    (11, include_str!("../migrations/0011_rate_limits.sql")),
    (
        12,
        include_str!("../migrations/0012_unique_phone_and_short_code.sql"),
    ),
    (13, include_str!("../migrations/0013_page_views_visit.sql")),
    (14, include_str!("../migrations/0014_deactivation.sql")),
    (15, include_str!("../migrations/0015_visit_index_trim.sql")),
    (16, include_str!("../migrations/0016_content_library.sql")),
    (17, include_str!("../migrations/0017_company_profile.sql")),
    (
        18,
        include_str!("../migrations/0018_offline_invitations.sql"),
    ),
    (
        19,
        include_str!("../migrations/0019_visits_visitor_first.sql"),
    ),
    (20, include_str!("../migrations/0020_burst_window.sql")),
    (21, include_str!("../migrations/0021_switch_off.sql")),
    (
        22,
        include_str!("../migrations/0022_activation_code_ids.sql"),
    ),
    (
        23,
        include_str!("../migrations/0023_device_mutations_media_uploader.sql"),
    ),
    (24, include_str!("../migrations/0024_media_quota.sql")),
    (26, include_str!("../migrations/0026_app_releases.sql")),
    (27, include_str!("../migrations/0027_one_open_otp.sql")),
    (28, include_str!("../migrations/0028_tracking_keys.sql")),
];

/// Key of the session advisory lock held while migrating, so two servers
/// starting together on one database apply each migration once.
pub const MIGRATION_LOCK: i64 = 0x5741_524d_4c45_4144; // "WARMLEAD"

/// The newest schema version this binary knows.
pub fn latest() -> i64 {
    MIGRATIONS.last().map(|m| m.0).unwrap_or(0)
}

/// Applies every migration not yet recorded in `schema_migrations`.
pub async fn migrate(client: &mut Client) -> Result<(), Error> {
    migrate_to(client, None).await
}

/// Applies the migrations not yet recorded, up to `up_to` (all when None),
/// each in its own transaction with its record. Refuses a database newer
/// than this binary.
pub async fn migrate_to(client: &mut Client, up_to: Option<i64>) -> Result<(), Error> {
    client
        .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    let result = apply_pending(client, up_to).await;
    // Released even on failure: a pooled connection outlives this call.
    let unlocked = client
        .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
        .await;
    result?;
    unlocked?;
    Ok(())
}

async fn apply_pending(client: &mut Client, up_to: Option<i64>) -> Result<(), Error> {
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                 version    BIGINT PRIMARY KEY,
                 applied_at BIGINT NOT NULL
             )",
        )
        .await?;
    let current = current_version(client).await?;
    if current > latest() {
        return Err(Error::TooNew {
            database: current,
            binary: latest(),
        });
    }
    for (version, sql) in MIGRATIONS {
        if *version <= current || up_to.is_some_and(|u| *version > u) {
            continue;
        }
        let failed = |source| Error::Migration {
            version: *version,
            source,
        };
        let tx = client.transaction().await?;
        tx.batch_execute(sql).await.map_err(failed)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)",
            &[version, &now_ms()],
        )
        .await?;
        tx.commit().await?;
    }
    Ok(())
}

/// The highest applied migration (0 for an empty database).
pub async fn current_version(client: &Client) -> Result<i64, Error> {
    let row = client
        .query_one(
            "SELECT COALESCE(MAX(version), 0)::BIGINT FROM schema_migrations",
            &[],
        )
        .await?;
    Ok(row.get(0))
}

/// Connects one client and drives its connection on the tokio runtime.
pub async fn connect(url: &str) -> Result<Client, Error> {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await?;
    tokio::spawn(async move {
        // The client's next call reports the broken connection; nothing to add here.
        let _ = connection.await;
    });
    Ok(client)
}

/// A pool on `url` whose database has been migrated to [`latest`].
pub async fn open(url: &str, max_size: usize) -> Result<Pool, Error> {
    let config: tokio_postgres::Config = url.parse()?;
    let manager = deadpool_postgres::Manager::new(config, NoTls);
    let pool = Pool::builder(manager)
        .max_size(max_size)
        .build()
        .map_err(|e| Error::Pool(e.to_string()))?;
    let mut client = pool.get().await.map_err(|e| Error::Pool(e.to_string()))?;
    migrate(&mut client).await?;
    Ok(pool)
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
