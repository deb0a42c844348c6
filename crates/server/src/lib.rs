//! Warmlead's server: the source of truth that desktop apps sync with, and
//! the public pages a partner's friends open on their phones.
//!
//! [`start`] runs a server in-process (tests, the demo); [`Admin`] gives
//! direct, storage-level operations to tests, the CLI and the demo seed.

mod admin;
pub mod demo;
pub mod doctor;
mod error;
mod http;
pub use services::releases;
mod services;
pub mod setup;
mod storage;
#[cfg(feature = "testing")]
pub mod testing;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use admin::{open_admin, open_admin_with, Admin, CompanySummary, NewCompany};
pub use error::ServerError;
pub use http::client_ip::TrustedProxies;
pub use services::sms::{parse_quiet_hours, Clock, SmsInviteArgs, SmsInviteOptions};
pub use storage::media_store::Swept;
pub use storage::retention::Purged;
pub use storage::StorageOptions;
pub use warmlead_sms::{ProviderConfig as SmsProviderConfig, SmsProvider};

/// Default database URL: `sqlite://<data dir>/warmlead/server.db`.
pub fn default_database_url() -> String {
    storage::DatabaseUrl::default_url()
}

#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub database_url: String,
    /// Base of share links; `http://<bound address>` when None.
    pub public_url: Option<String>,
    /// Seed the demo company (once; skipped when it exists).
    pub demo: bool,
}

/// Settings beyond [`Config`] (kept apart so `Config` literals elsewhere
/// keep compiling as settings are added).
#[derive(Debug, Clone)]
pub struct Options {
    /// Raw signals older than this are deleted by the purge job.
    pub signal_retention_days: u32,
    /// How often the purge job runs.
    pub purge_every: Duration,
    /// Where SMS go (invitations, one-time codes); the console outbox by default.
    pub sms: Sms,
    /// Where new partners download the desktop app (shown on the welcome
    /// page); without it the page says to ask the rep for the installer.
    pub download_url: Option<String>,
    /// SMS invitation rules, hook secret and the runner's clock.
    pub sms_invites: SmsInviteOptions,
    /// Reverse proxies in front of the server: only from these peers is
    /// `X-Forwarded-For` / `X-Real-IP` believed (none by default).
    pub trusted_proxies: TrustedProxies,
    /// PostgreSQL pool and timeouts, where media live.
    pub storage: StorageOptions,
    /// Each company's room for uploaded media, in MiB.
    pub media_quota_mb: u64,
    /// An upload that sends nothing for this long is stopped (408);
    /// `MEDIA_UPLOAD_STALL_SECS` unless a test needs it shorter.
    pub upload_stall: Duration,
}

impl Options {
    /// [`Options::media_quota_mb`] in bytes.
    pub(crate) fn media_quota_bytes(&self) -> i64 {
        i64::try_from(self.media_quota_mb)
            .unwrap_or(i64::MAX)
            .saturating_mul(storage::media_store::MIB)
    }
}

impl Default for Options {
    fn default() -> Self {
        Options {
            signal_retention_days: 180,
            purge_every: Duration::from_secs(3600),
            sms: Sms::default(),
            download_url: None,
            sms_invites: SmsInviteOptions::default(),
            trusted_proxies: TrustedProxies::none(),
            storage: StorageOptions::default(),
            media_quota_mb: warmlead_core::limits::DEFAULT_MEDIA_QUOTA_MB,
            upload_stall: Duration::from_secs(warmlead_core::limits::MEDIA_UPLOAD_STALL_SECS),
        }
    }
}

/// The SMS provider the server sends through.
#[derive(Clone)]
pub struct Sms {
    pub provider: Arc<dyn SmsProvider>,
    /// Whether messages reach real phones: only then does accepting an
    /// invitation ask for a one-time code sent by SMS.
    pub is_real: bool,
}

impl Sms {
    pub fn from_config(config: SmsProviderConfig) -> Sms {
        Sms {
            is_real: config.is_real(),
            provider: config.build(),
        }
    }
}

impl Default for Sms {
    fn default() -> Self {
        Sms::from_config(SmsProviderConfig::default())
    }
}

impl std::fmt::Debug for Sms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sms")
            .field("provider", &self.provider.name())
            .field("is_real", &self.is_real)
            .finish()
    }
}

/// A server serving on its own task until [`RunningServer::shutdown`].
pub struct RunningServer {
    addr: SocketAddr,
    admin: Admin,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl RunningServer {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The API address, e.g. `http://127.0.0.1:8787`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn admin(&self) -> Admin {
        self.admin.clone()
    }

    /// Stops accepting, lets requests in flight finish (up to 5 s), and returns.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if tokio::time::timeout(Duration::from_secs(5), &mut self.task)
            .await
            .is_err()
        {
            self.task.abort();
        }
        // Beacons still queued are written before we return.
        self.admin.db.close().await;
    }
}

/// Opens and migrates the database, seeds the demo if asked, binds (port 0
/// works) and serves on a spawned task.
pub async fn start(config: Config) -> Result<RunningServer, ServerError> {
    start_with(config, Options::default()).await
}

/// Connections the kernel holds for us while every worker is busy. Tokio's
/// default (1024) overflowed under a burst of page views at twice the write
/// capacity, and a phone that cannot connect loses its view; the kernel caps
/// this at `net.core.somaxconn` (4096 on current Linux).
const LISTEN_BACKLOG: u32 = 4096;

fn bind(addr: std::net::SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    // As `TcpListener::bind` does on Unix: a restart can take the port at once.
    #[cfg(unix)]
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

/// [`start`] with [`Options`].
pub async fn start_with(config: Config, options: Options) -> Result<RunningServer, ServerError> {
    let admin = admin::open_admin_with(&config.database_url, &options.storage).await?;
    let listener = bind(config.listen)?;
    let addr = listener.local_addr()?;
    let public_url = config
        .public_url
        .unwrap_or_else(|| format!("http://{addr}"))
        .trim_end_matches('/')
        .to_string();
    // After binding, so the demo's invitation links carry the real address.
    if config.demo {
        demo::seed_with_url(&admin, &public_url).await?;
    } else if admin.list_companies().await?.is_empty() {
        tracing::warn!(
            "this server has no company yet: nobody can sign in until one is made. \
             Create the first (it prints the manager's activation code and sign-in link) with: {}",
            setup::create_hint(&config.database_url, Some(&public_url))
        );
    }
    let sms = services::sms::SmsService::new(
        admin.db.clone(),
        options.sms.provider.clone(),
        public_url.clone(),
        options.sms_invites.clone(),
    )?;
    let mut state = http::AppState::new(admin.db.clone(), public_url, sms);
    state.sms_is_real = options.sms.is_real;
    state.download_url = options.download_url.clone();
    state.trusted_proxies = Arc::new(options.trusted_proxies.clone());
    state.media_quota_bytes = options.media_quota_bytes();
    state.upload_stall = options.upload_stall;
    let sms_runner = state.sms.spawn_runner();
    let app = http::router(state).layer(axum::middleware::from_fn(http::security::headers));
    let purge = tokio::spawn(purge_job(admin.clone(), options));
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let service = app.into_make_service_with_connect_info::<SocketAddr>();
        let result = axum::serve(listener, service)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await;
        if let Err(e) = result {
            tracing::error!(error = %e, "server stopped with an error");
        }
        purge.abort();
        sms_runner.stop().await;
    });
    Ok(RunningServer {
        addr,
        admin,
        stop: Some(stop),
        task,
    })
}

/// Deletes raw signals past the retention period, regrades the leads that
/// cooled (decay) and sweeps unused media and crashed uploads, now and
/// then periodically.
async fn purge_job(admin: Admin, options: Options) {
    let mut tick = tokio::time::interval(options.purge_every);
    loop {
        tick.tick().await;
        let now = storage::now_ms();
        match admin
            .purge_signals(now, options.signal_retention_days)
            .await
        {
            Ok(p) if p != Purged::default() => tracing::info!(?p, "purged old signals"),
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "signal purge failed"),
        }
        match admin.regrade_cooled_leads(now).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(leads = n, "regraded cooled leads"),
            Err(e) => tracing::error!(error = %e, "cooling regrade failed"),
        }
        match admin.sweep_media(now).await {
            Ok(s) if s != Swept::default() => tracing::info!(?s, "swept unused media"),
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "media sweep failed"),
        }
    }
}
