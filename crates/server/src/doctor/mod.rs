//! `warmlead-server doctor`: checks a deployment and says what to fix, one
//! line per check. It only reads: the database (never migrated here), the
//! public URL (one probe), the SMS provider (a read-only call that sends
//! nothing), the media folder's disk and the backup folder.

pub mod probe;
pub mod verdict;

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::storage::{media_dir_for, migrations, DatabaseUrl};
use crate::SmsProviderConfig;
pub use verdict::Status;
use verdict::{Probe, Seen, Verdict};

/// How long one network step of a check may take.
const CHECK_TIMEOUT: Duration = Duration::from_secs(15);

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub status: Status,
    /// Which check: `database`, `public URL`, `proxies`, `SMS`, `media disk`, `backup`.
    pub check: &'static str,
    pub message: String,
}

impl std::fmt::Display for Line {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:<5}{:<12}{}",
            self.status.to_string(),
            self.check,
            self.message
        )
    }
}

/// The deployment's settings, as `serve` reads them.
#[derive(Debug, Clone)]
pub struct Settings {
    pub database_url: String,
    /// The configured public URL (None: `serve` would use `http://<listen>`).
    pub public_url: Option<String>,
    pub listen: SocketAddr,
    pub media_dir: Option<PathBuf>,
    /// Where backups are written (None: their age is not checked).
    pub backup_dir: Option<PathBuf>,
    /// The SMS provider's settings, or why they could not be read.
    pub sms: Result<SmsProviderConfig, String>,
}

/// Runs every check, in order.
pub async fn run(settings: &Settings) -> Vec<Line> {
    let mut lines = Vec::new();
    let mut add = |check, (status, message): Verdict| {
        lines.push(Line {
            status,
            check,
            message,
        })
    };
    let parsed = DatabaseUrl::parse(&settings.database_url);
    let shown = crate::setup::without_password(&settings.database_url);
    let master = match &parsed {
        Err(e) => {
            add(
                "database",
                (
                    Status::Fail,
                    format!("{e}: fix --database-url (WARMLEAD_DATABASE_URL)"),
                ),
            );
            None
        }
        Ok(url) => match read_database(url).await {
            Ok(found) => {
                let (status, message) = verdict::schema(found.version, migrations::latest());
                add("database", (status, format!("{shown}: {message}")));
                found.master
            }
            Err(e) => {
                add(
                    "database",
                    (
                        Status::Fail,
                        format!(
                            "{shown}: cannot read it ({e}): check --database-url (WARMLEAD_DATABASE_URL) and that the database is up"
                        ),
                    ),
                );
                None
            }
        },
    };

    let configured = settings.public_url.is_some();
    let url = settings
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", settings.listen))
        .trim_end_matches('/')
        .to_string();
    let answer = match &master {
        None => {
            add(
                "public URL",
                (
                    Status::Warn,
                    format!(
                        "{url} not checked: the probe needs this server's database (see above)"
                    ),
                ),
            );
            None
        }
        Some(master) => {
            let (probe, answer) = probe_public_url(&url, master).await;
            add("public URL", verdict::public_url(&url, configured, &probe));
            answer
        }
    };
    match answer {
        Some(answer) => match answer.peer.parse::<IpAddr>() {
            Ok(peer) => add(
                "proxies",
                verdict::proxies(Seen {
                    peer,
                    peer_trusted: answer.peer_trusted,
                    forwarded: answer.forwarded,
                    public_host_is_local: host_is_local(&url).await,
                }),
            ),
            Err(_) => add(
                "proxies",
                (Status::Fail, format!("the server reported an unreadable peer address {:?}", answer.peer)),
            ),
        },
        None => add(
            "proxies",
            (
                Status::Warn,
                "not checked: the server did not answer the probe through the public URL (see above)".into(),
            ),
        ),
    }

    add("SMS", check_sms(&settings.sms).await);

    let media = match &parsed {
        Ok(url) => media_dir_for(url, settings.media_dir.clone()),
        Err(_) => settings.media_dir.clone().unwrap_or_default(),
    };
    add("media disk", check_disk(&media));

    let postgres = matches!(parsed, Ok(DatabaseUrl::Postgres(_)));
    add(
        "backup",
        match &settings.backup_dir {
            None => verdict::backup_unknown(),
            Some(dir) => check_backup(dir, postgres),
        },
    );
    lines
}

/// What the doctor reads from the database.
struct Found {
    version: i64,
    /// The master secret, once a server has started on it.
    master: Option<Vec<u8>>,
}

async fn read_database(url: &DatabaseUrl) -> Result<Found, String> {
    match url {
        DatabaseUrl::Sqlite(path) => {
            let path = path.clone();
            tokio::task::spawn_blocking(move || read_sqlite(&path))
                .await
                .map_err(|e| e.to_string())?
        }
        DatabaseUrl::Postgres(url) => tokio::time::timeout(CHECK_TIMEOUT, read_postgres(url))
            .await
            .map_err(|_| format!("no answer within {} s", CHECK_TIMEOUT.as_secs()))?,
    }
}

fn read_sqlite(path: &Path) -> Result<Found, String> {
    use rusqlite::{OpenFlags, OptionalExtension};
    if !path.is_file() {
        return Err(format!("there is no database file at {}", path.display()));
    }
    // Read-only while the server runs. A read-only connection cannot open a
    // WAL database whose server is stopped (no -shm file to map): then
    // read-write without create, though it only reads (its -wal and -shm go
    // again when it closes).
    let conn = rusqlite::Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .and_then(|c| {
            c.query_row("SELECT COUNT(*) FROM sqlite_master", [], |r| {
                r.get::<_, i64>(0)
            })?;
            Ok(c)
        })
        .or_else(|_| rusqlite::Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE))
        .map_err(|e| e.to_string())?;
    conn.busy_timeout(Duration::from_secs(5))
        .map_err(|e| e.to_string())?;
    let has = |table: &str| -> Result<bool, String> {
        conn.query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
            [table],
            |r| r.get::<_, i64>(0),
        )
        .map(|n| n > 0)
        .map_err(|e| e.to_string())
    };
    let version = if has("schema_migrations")? {
        migrations::current_version(&conn).map_err(|e| e.to_string())?
    } else {
        0
    };
    let master = if has("meta")? {
        conn.query_row(
            "SELECT value FROM meta WHERE key = 'master_secret'",
            [],
            |r| r.get::<_, Vec<u8>>(0),
        )
        .optional()
        .map_err(|e| e.to_string())?
    } else {
        None
    };
    Ok(Found { version, master })
}

async fn read_postgres(url: &str) -> Result<Found, String> {
    let client = warmlead_server_postgres::connect(url)
        .await
        .map_err(|e| error_chain(&e))?;
    let has = |table: &'static str| {
        let client = &client;
        async move {
            client
                .query_one("SELECT to_regclass($1) IS NOT NULL", &[&table])
                .await
                .map(|r| r.get::<_, bool>(0))
                .map_err(|e| error_chain(&e))
        }
    };
    let version = if has("schema_migrations").await? {
        warmlead_server_postgres::current_version(&client)
            .await
            .map_err(|e| error_chain(&e))?
    } else {
        0
    };
    let master = if has("meta").await? {
        client
            .query_opt("SELECT value FROM meta WHERE key = 'master_secret'", &[])
            .await
            .map_err(|e| error_chain(&e))?
            .map(|r| r.get::<_, Vec<u8>>(0))
    } else {
        None
    };
    Ok(Found { version, master })
}

/// Asks the server behind `url` to prove it runs on this database and to
/// say what it saw of the request.
async fn probe_public_url(url: &str, master: &[u8]) -> (Probe, Option<probe::ProbeAnswer>) {
    let nonce = uuid::Uuid::new_v4().simple().to_string();
    let client = match reqwest::Client::builder().timeout(CHECK_TIMEOUT).build() {
        Ok(c) => c,
        Err(e) => return (Probe::Unreachable(e.to_string()), None),
    };
    let sent = client
        .get(format!("{url}{}", probe::PATH))
        .query(&[
            ("nonce", nonce.as_str()),
            ("mac", probe::request_mac(master, &nonce).as_str()),
        ])
        .send()
        .await;
    let res = match sent {
        Ok(res) => res,
        Err(e) => return (Probe::Unreachable(error_chain(&e)), None),
    };
    let status = res.status().as_u16();
    if status == 403 {
        return (Probe::OtherDatabase, None);
    }
    if status != 200 {
        return (Probe::Status(status), None);
    }
    let Ok(answer) = res.json::<probe::ProbeAnswer>().await else {
        return (Probe::Status(status), None);
    };
    if !probe::verify_answer(master, &nonce, &answer.proof) {
        return (Probe::BadProof, None);
    }
    (
        Probe::Answered {
            public_url: answer.public_url.clone(),
        },
        Some(answer),
    )
}

/// An error with its causes ("error sending request: ... Connection refused").
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let more = s.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = s.source();
    }
    text
}

/// Whether the public URL's host is this machine or its own network (a
/// name is resolved; one that does not resolve counts as not local).
async fn host_is_local(url: &str) -> bool {
    let Some(origin) = crate::http::security::origin_of(url) else {
        return false;
    };
    let (scheme, authority) = origin.split_once("://").unwrap_or(("http", ""));
    let default_port = if scheme == "https" { 443 } else { 80 };
    let (host, port) = match authority.strip_prefix('[') {
        // [v6]:port
        Some(rest) => {
            let (h, after) = rest.split_once(']').unwrap_or((rest, ""));
            (h, after.strip_prefix(':').and_then(|p| p.parse().ok()))
        }
        None => match authority.rsplit_once(':') {
            Some((h, p)) => (h, p.parse().ok()),
            None => (authority, None),
        },
    };
    let port: u16 = port.unwrap_or(default_port);
    if let Ok(ip) = host.parse::<IpAddr>() {
        return verdict::is_local(ip);
    }
    let found: Vec<SocketAddr> = match tokio::net::lookup_host((host.to_string(), port)).await {
        Ok(addrs) => addrs.collect(),
        Err(_) => Vec::new(),
    };
    !found.is_empty() && found.iter().all(|a| verdict::is_local(a.ip()))
}

async fn check_sms(sms: &Result<SmsProviderConfig, String>) -> Verdict {
    let config = match sms {
        Err(e) => return (Status::Fail, e.clone()),
        Ok(c) => c,
    };
    let provider = match config {
        SmsProviderConfig::Console { .. } => return verdict::sms_console(),
        SmsProviderConfig::Aliyun(_) => "aliyun",
        SmsProviderConfig::Tencent(_) => "tencent",
        SmsProviderConfig::Twilio(_) => "twilio",
    };
    verdict::sms(provider, &config.check_account().await)
}

fn check_disk(dir: &Path) -> Verdict {
    match std::fs::metadata(dir) {
        Err(e) => (
            Status::Fail,
            format!(
                "the media folder {} cannot be read ({e}): create it, writable by the server's user, or fix --media-dir (WARMLEAD_MEDIA_DIR)",
                dir.display()
            ),
        ),
        Ok(m) if !m.is_dir() => (
            Status::Fail,
            format!(
                "the media folder {} is not a folder: fix --media-dir (WARMLEAD_MEDIA_DIR)",
                dir.display()
            ),
        ),
        Ok(_) => match free_bytes(dir) {
            Ok(free) => verdict::free_disk(dir, free),
            Err(e) => (
                Status::Warn,
                format!("cannot measure the free disk at {}: {e}", dir.display()),
            ),
        },
    }
}

#[cfg(unix)]
fn free_bytes(dir: &Path) -> Result<u64, String> {
    let s = rustix::fs::statvfs(dir).map_err(|e| e.to_string())?;
    Ok(s.f_bavail.saturating_mul(s.f_frsize))
}

#[cfg(not(unix))]
fn free_bytes(_: &Path) -> Result<u64, String> {
    Err("not measured on this system".into())
}

/// The newest backup in `dir`: the newest file directly in it (not the
/// `media/` folder a SQLite backup writes beside its file, nor a half-written
/// `.partial`, nor hidden files).
fn check_backup(dir: &Path, postgres: bool) -> Verdict {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            return (
                Status::Fail,
                format!(
                    "the backup folder {} cannot be read ({e}): {}",
                    dir.display(),
                    verdict::backup_hint(postgres, dir)
                ),
            )
        }
    };
    let now = SystemTime::now();
    let newest = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || name.ends_with(".partial") {
                return None;
            }
            let meta = std::fs::metadata(e.path()).ok()?;
            if !meta.is_file() {
                return None;
            }
            let age = now
                .duration_since(meta.modified().ok()?)
                .map_or(0, |d| d.as_secs());
            Some((name, age))
        })
        .min_by_key(|(_, age)| *age);
    verdict::backup(
        dir,
        postgres,
        newest.as_ref().map(|(n, a)| (n.as_str(), *a)),
    )
}

/// Whether any line failed.
pub fn failed(lines: &[Line]) -> bool {
    lines.iter().any(|l| l.status == Status::Fail)
}
