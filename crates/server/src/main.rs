//! `warmlead-server`: serve, or print one-time activation codes.

use std::net::SocketAddr;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use warmlead_core::domain::Role;
use warmlead_server::releases::NewRelease;
use warmlead_server::{
    default_database_url, demo, doctor, open_admin_with, setup, start_with, Admin, Config, Options,
    ServerError, Sms, SmsInviteArgs, SmsProviderConfig, StorageOptions, TrustedProxies,
};
use warmlead_sms::{AliyunConfig, TencentConfig, TwilioConfig};

#[derive(Parser)]
#[command(name = "warmlead-server", version, about = "Warmlead's server")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args)]
struct DbArg {
    /// `sqlite:///abs/path.db`, `sqlite://relative/path.db` or
    /// `postgres://user:password@host:5432/database`
    /// [default: sqlite://<data dir>/warmlead/server.db]
    #[arg(long, env = "WARMLEAD_DATABASE_URL")]
    database_url: Option<String>,
    /// PostgreSQL connections this process opens at most.
    #[arg(long, env = "WARMLEAD_DATABASE_POOL_SIZE", default_value_t = 16)]
    database_pool_size: usize,
    /// PostgreSQL statement_timeout: a query running longer is cancelled.
    #[arg(long, env = "WARMLEAD_STATEMENT_TIMEOUT_MS", default_value_t = 30_000)]
    statement_timeout_ms: u64,
    /// Uploaded media [default: media/ beside the SQLite file, or
    /// <data dir>/warmlead/media with PostgreSQL]. Processes sharing one
    /// PostgreSQL database must share this folder.
    #[arg(long, env = "WARMLEAD_MEDIA_DIR")]
    media_dir: Option<std::path::PathBuf>,
}

impl DbArg {
    fn url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(default_database_url)
    }

    fn storage(&self) -> StorageOptions {
        StorageOptions {
            pool_size: self.database_pool_size,
            statement_timeout_ms: self.statement_timeout_ms,
            media_dir: self.media_dir.clone(),
        }
    }

    async fn admin(&self) -> Result<Admin, ServerError> {
        open_admin_with(&self.url(), &self.storage()).await
    }
}

// The settings of `serve`, which `doctor` reads the same way.
#[derive(clap::Args)]
struct ServeArgs {
    #[arg(long, env = "WARMLEAD_LISTEN", default_value = "127.0.0.1:8787")]
    listen: SocketAddr,
    #[command(flatten)]
    db: DbArg,
    /// Base of share links [default: http://<listen address>]
    #[arg(long, env = "WARMLEAD_PUBLIC_URL")]
    public_url: Option<String>,
    /// Seed the demo company (once; skipped when it exists).
    #[arg(long)]
    demo: bool,
    /// Delete raw tracking signals older than this many days (hourly job).
    #[arg(long, env = "WARMLEAD_SIGNAL_RETENTION_DAYS", default_value_t = 180)]
    signal_retention_days: u32,
    /// Where SMS go. `console` (default) only logs them (and appends to
    /// WARMLEAD_SMS_OUTBOX_FILE if set); the others read their credentials
    /// from WARMLEAD_ALIYUN_* / WARMLEAD_TENCENT_* / WARMLEAD_TWILIO_* variables.
    #[arg(long, env = "WARMLEAD_SMS_PROVIDER", value_enum, default_value_t = SmsArg::Console)]
    sms_provider: SmsArg,
    /// Desktop app download link shown to new partners [default: "ask your rep"].
    #[arg(long, env = "WARMLEAD_DOWNLOAD_URL")]
    download_url: Option<String>,
    #[command(flatten)]
    sms_invites: SmsInviteArgs,
    /// Reverse proxies in front of the server, comma-separated addresses or
    /// CIDRs (e.g. `127.0.0.1,10.0.0.0/8`). Only from these peers is the
    /// visitor's address read from X-Forwarded-For / X-Real-IP [default: none].
    #[arg(long, env = "WARMLEAD_TRUSTED_PROXIES", default_value = "")]
    trusted_proxies: TrustedProxies,
    /// Each company's room for uploaded media, in MiB (5120 = 5 GiB). An
    /// upload that would pass it is refused; managers see used / total
    /// in Settings.
    #[arg(long, env = "WARMLEAD_MEDIA_QUOTA_MB", default_value_t = warmlead_core::limits::DEFAULT_MEDIA_QUOTA_MB)]
    media_quota_mb: u64,
}

#[derive(Subcommand)]
enum CompanyCommand {
    /// Make a company and its first manager; prints the manager's
    /// activation code, sign-in link and its QR code.
    Create {
        #[command(flatten)]
        db: DbArg,
        /// The company's name, as its people and their friends will see it.
        #[arg(long)]
        name: String,
        /// The first manager's name.
        #[arg(long)]
        manager_name: String,
        /// The first manager's mobile number (+86... or a Chinese mobile number).
        #[arg(long)]
        manager_phone: String,
        /// The server's address as the desktop app reaches it (the sign-in
        /// link carries it) [default: http://127.0.0.1:8787].
        #[arg(long, env = "WARMLEAD_PUBLIC_URL")]
        public_url: Option<String>,
    },
    /// List the companies on this server.
    List {
        #[command(flatten)]
        db: DbArg,
    },
}

#[derive(Subcommand)]
enum ReleaseCommand {
    /// Publish a desktop app update: the apps signed in to this server
    /// offer it to their users. The package must verify with the updater
    /// key as signed for --version, or it is refused.
    Add {
        #[command(flatten)]
        db: DbArg,
        /// The new version (as in the app's tauri.conf.json), e.g. 0.2.0.
        #[arg(long)]
        version: String,
        /// What it runs on: os-arch, e.g. linux-x86_64, windows-x86_64,
        /// darwin-aarch64. Publish once per target.
        #[arg(long)]
        target: String,
        /// The package the bundler made (.deb, .AppImage, -setup.exe, .app.tar.gz...).
        #[arg(long, value_name = "FILE")]
        file: std::path::PathBuf,
        /// Its signature, the .sig file beside it.
        #[arg(long, value_name = "FILE")]
        signature: std::path::PathBuf,
        /// What is new, shown to users as written.
        #[arg(long, default_value = "")]
        notes: String,
        /// The updater key's public half (the .pub file of `tauri signer
        /// generate`, or its text): the one the app is built with.
        #[arg(long, env = "WARMLEAD_UPDATER_PUBKEY")]
        updater_pubkey: String,
    },
    /// List the published releases.
    List {
        #[command(flatten)]
        db: DbArg,
    },
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve {
        #[command(flatten)]
        args: ServeArgs,
    },
    /// Check a deployment, with the same settings as `serve`: the database
    /// and its migrations, the public URL, trusted proxies, the SMS
    /// provider, free disk for media and the last backup. One line per
    /// check (OK, WARN or FAIL, with what to fix); exits non-zero when one fails.
    Doctor {
        #[command(flatten)]
        args: ServeArgs,
        /// Where backups are written (`backup --to` files, or pg_dump's):
        /// the newest file in it is the last backup [default: not checked].
        #[arg(long, env = "WARMLEAD_BACKUP_DIR", value_name = "DIR")]
        backup_dir: Option<std::path::PathBuf>,
    },
    /// Set up companies: `company create`, `company list`.
    Company {
        #[command(subcommand)]
        action: CompanyCommand,
    },
    /// Ship desktop app updates: `release add`, `release list`.
    Release {
        #[command(subcommand)]
        action: ReleaseCommand,
    },
    /// Print a fresh one-time activation code for a user (and, with
    /// --public-url, the sign-in link that carries it).
    ActivationCode {
        #[command(flatten)]
        db: DbArg,
        /// The user's id, E.164 phone or exact name.
        #[arg(long)]
        user: String,
        /// The server's address as the desktop app reaches it: adds a
        /// second line, the sign-in link [default: only the code]. Not read
        /// from WARMLEAD_PUBLIC_URL: scripts that read the one line keep working.
        #[arg(long)]
        public_url: Option<String>,
    },
    /// Print a fresh activation code for the demo's main user of a role.
    DemoCode {
        #[command(flatten)]
        db: DbArg,
        #[arg(long, value_enum)]
        role: RoleArg,
    },
    /// Copy the database (consistent while the server runs) to FILE, and
    /// the media folder into `media/` beside FILE.
    Backup {
        #[command(flatten)]
        db: DbArg,
        /// The backup file to write.
        #[arg(long, value_name = "FILE")]
        to: std::path::PathBuf,
        /// Replace FILE if it exists.
        #[arg(long)]
        force: bool,
    },
    /// Put a backup in place of the database (stop the server first). The
    /// replaced file is kept beside it; devices re-download on next sync.
    Restore {
        /// A file written by `backup` (its media are read from `media/` beside it).
        #[arg(long, value_name = "FILE")]
        from: std::path::PathBuf,
        #[command(flatten)]
        db: DbArg,
    },
    /// Copy everything from a SQLite server database into a new, empty
    /// PostgreSQL database (stop the server first), verified table by table.
    /// Devices keep syncing and share links keep resolving; media files stay
    /// where they are.
    Migrate {
        /// The SQLite database: `sqlite:///abs/path/server.db`.
        #[arg(long, value_name = "URL")]
        from: String,
        /// The empty target: `postgres://user:password@host/database`.
        #[arg(long, value_name = "URL")]
        to: String,
    },
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum SmsArg {
    Console,
    Aliyun,
    Tencent,
    Twilio,
}

/// A required environment variable, with a message naming it.
fn env(name: &str) -> Result<String, ServerError> {
    std::env::var(name)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| ServerError::Config(format!("{name} must be set for this SMS provider")))
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_string())
}

/// The provider's configuration from the environment (credentials never on the command line).
fn sms_config(kind: SmsArg) -> Result<SmsProviderConfig, ServerError> {
    Ok(match kind {
        SmsArg::Console => SmsProviderConfig::Console {
            outbox_file: std::env::var_os("WARMLEAD_SMS_OUTBOX_FILE").map(Into::into),
        },
        SmsArg::Aliyun => SmsProviderConfig::Aliyun(AliyunConfig {
            access_key_id: env("WARMLEAD_ALIYUN_ACCESS_KEY_ID")?,
            access_key_secret: env("WARMLEAD_ALIYUN_ACCESS_KEY_SECRET")?,
            sign_name: env("WARMLEAD_ALIYUN_SIGN_NAME")?,
            template_code: env("WARMLEAD_ALIYUN_TEMPLATE_CODE")?,
            base_url: env_or("WARMLEAD_ALIYUN_BASE_URL", "https://dysmsapi.aliyuncs.com"),
        }),
        SmsArg::Tencent => SmsProviderConfig::Tencent(TencentConfig {
            secret_id: env("WARMLEAD_TENCENT_SECRET_ID")?,
            secret_key: env("WARMLEAD_TENCENT_SECRET_KEY")?,
            sdk_app_id: env("WARMLEAD_TENCENT_SDK_APP_ID")?,
            sign_name: env("WARMLEAD_TENCENT_SIGN_NAME")?,
            template_id: env("WARMLEAD_TENCENT_TEMPLATE_ID")?,
            region: env_or("WARMLEAD_TENCENT_REGION", "ap-guangzhou"),
            base_url: env_or(
                "WARMLEAD_TENCENT_BASE_URL",
                "https://sms.tencentcloudapi.com",
            ),
        }),
        SmsArg::Twilio => SmsProviderConfig::Twilio(TwilioConfig {
            account_sid: env("WARMLEAD_TWILIO_ACCOUNT_SID")?,
            auth_token: env("WARMLEAD_TWILIO_AUTH_TOKEN")?,
            from: env("WARMLEAD_TWILIO_FROM")?,
            base_url: env_or("WARMLEAD_TWILIO_BASE_URL", "https://api.twilio.com"),
            status_callback_url: std::env::var("WARMLEAD_TWILIO_STATUS_CALLBACK_URL").ok(),
        }),
    })
}

#[derive(Clone, Copy, ValueEnum)]
enum RoleArg {
    Rep,
    Partner,
    Manager,
}

impl From<RoleArg> for Role {
    fn from(r: RoleArg) -> Role {
        match r {
            RoleArg::Rep => Role::Rep,
            RoleArg::Partner => Role::Partner,
            RoleArg::Manager => Role::Manager,
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("warmlead-server: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), ServerError> {
    match cli.command {
        Command::Serve { args } => {
            let ServeArgs {
                listen,
                db,
                public_url,
                demo,
                signal_retention_days,
                sms_provider,
                download_url,
                sms_invites,
                trusted_proxies,
                media_quota_mb,
            } = args;
            let options = Options {
                signal_retention_days,
                sms: Sms::from_config(sms_config(sms_provider)?),
                download_url,
                sms_invites: sms_invites.into_options(),
                trusted_proxies,
                storage: db.storage(),
                media_quota_mb,
                ..Options::default()
            };
            serve(listen, db.url(), public_url, demo, options).await
        }
        Command::Doctor { args, backup_dir } => {
            let settings = doctor::Settings {
                database_url: args.db.url(),
                public_url: args.public_url,
                listen: args.listen,
                media_dir: args.db.media_dir,
                backup_dir,
                sms: sms_config(args.sms_provider).map_err(|e| e.to_string()),
            };
            let lines = doctor::run(&settings).await;
            for line in &lines {
                println!("{line}");
            }
            if doctor::failed(&lines) {
                let n = lines
                    .iter()
                    .filter(|l| l.status == doctor::Status::Fail)
                    .count();
                return Err(ServerError::Config(format!(
                    "{n} check(s) failed; fix the FAIL lines above and run doctor again"
                )));
            }
            Ok(())
        }
        Command::Company { action } => company(action).await,
        Command::Release { action } => release(action).await,
        Command::ActivationCode {
            db,
            user,
            public_url,
        } => {
            let admin = db.admin().await?;
            let user = admin.find_user(&user).await?;
            let code = admin.create_activation_code(user.id).await?;
            println!("{code}");
            if let Some(server) = public_url {
                let link =
                    warmlead_core::invite::activation_link(server.trim_end_matches('/'), &code);
                println!("sign-in link: {link}");
            }
            Ok(())
        }
        Command::DemoCode { db, role } => {
            let admin = db.admin().await?;
            let user = demo::main_user(&admin, role.into()).await?;
            println!("{}", admin.create_activation_code(user.id).await?);
            Ok(())
        }
        Command::Backup { db, to, force } => {
            let r = Admin::backup(&db.url(), &to, force)?;
            println!(
                "backed up {} bytes to {}; {} new media files in {}",
                r.bytes,
                r.file.display(),
                r.media_copied,
                r.media_dir.display()
            );
            Ok(())
        }
        Command::Restore { from, db } => {
            let r = Admin::restore(&db.url(), &from)?;
            if let Some(previous) = &r.previous {
                println!("the replaced database is kept at {}", previous.display());
            }
            println!(
                "restored {} with new epoch {} ({} media files copied); devices re-download on their next sync",
                from.display(),
                r.epoch,
                r.media_copied
            );
            Ok(())
        }
        Command::Migrate { from, to } => migrate(&from, &to).await,
    }
}

/// `migrate`: the copy, then per-table counts and the verdict. The target
/// URL is never printed (it may hold a password).
async fn migrate(from: &str, to: &str) -> Result<(), ServerError> {
    let path = from
        .strip_prefix("sqlite://")
        .filter(|p| !p.is_empty())
        .ok_or_else(|| {
            ServerError::InvalidInput(format!(
                "--from {from:?}: expected sqlite:///path/to/server.db"
            ))
        })?;
    if !(to.starts_with("postgres://") || to.starts_with("postgresql://")) {
        return Err(ServerError::InvalidInput(
            "--to: expected postgres://user:password@host/database".into(),
        ));
    }
    let report = warmlead_server_postgres::copy::copy_from_sqlite(path.as_ref(), to).await?;
    for t in &report.tables {
        println!("{:<20} {:>10} rows  sha256 {}", t.table, t.rows, t.checksum);
    }
    println!(
        "verified: {} tables, every row count and checksum equal on both sides (schema version {})",
        report.tables.len(),
        report.schema_version
    );
    println!("media files were not copied: they stay in media/ beside {path}");
    Ok(())
}

async fn release(action: ReleaseCommand) -> Result<(), ServerError> {
    match action {
        ReleaseCommand::Add {
            db,
            version,
            target,
            file,
            signature,
            notes,
            updater_pubkey,
        } => {
            let admin = db.admin().await?;
            let r = admin
                .add_release(NewRelease {
                    version: &version,
                    target: &target,
                    file: &file,
                    signature: &signature,
                    notes: &notes,
                    public_key: &updater_pubkey,
                })
                .await?;
            println!(
                "published {} {} for {} ({} bytes, signature verified); apps on older versions offer it at their next check",
                r.file, r.version, r.target, r.size
            );
        }
        ReleaseCommand::List { db } => {
            let admin = db.admin().await?;
            let releases = admin.releases().await?;
            if releases.is_empty() {
                println!("no releases published");
            }
            for r in releases {
                println!(
                    "{:<12} {:<16} {} ({} bytes)",
                    r.version, r.target, r.file, r.size
                );
            }
        }
    }
    Ok(())
}

async fn company(action: CompanyCommand) -> Result<(), ServerError> {
    match action {
        CompanyCommand::Create {
            db,
            name,
            manager_name,
            manager_phone,
            public_url,
        } => {
            let admin = db.admin().await?;
            let made = admin
                .create_company_with_manager(&name, &manager_name, &manager_phone)
                .await?;
            let server = public_url.unwrap_or_else(|| "http://127.0.0.1:8787".into());
            print!(
                "{}",
                setup::new_company_text(&made, server.trim_end_matches('/'), &db.url())
            );
        }
        CompanyCommand::List { db } => {
            let admin = db.admin().await?;
            print!(
                "{}",
                setup::companies_table(&admin.list_companies().await?, &db.url())
            );
        }
    }
    Ok(())
}

async fn serve(
    listen: SocketAddr,
    database_url: String,
    public_url: Option<String>,
    demo: bool,
    options: Options,
) -> Result<(), ServerError> {
    let server = start_with(
        Config {
            listen,
            database_url,
            public_url,
            demo,
        },
        options,
    )
    .await?;
    tracing::info!("warmlead-server listening on {}", server.base_url());
    shutdown_signal().await;
    tracing::info!("shutting down");
    server.shutdown().await;
    Ok(())
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_sms_providers_need_their_credentials() {
        // None of these variables is set in the test environment.
        let err = sms_config(SmsArg::Aliyun).unwrap_err().to_string();
        assert!(err.contains("WARMLEAD_ALIYUN_ACCESS_KEY_ID"), "{err}");
        let err = sms_config(SmsArg::Twilio).unwrap_err().to_string();
        assert!(err.contains("WARMLEAD_TWILIO_ACCOUNT_SID"), "{err}");
        assert!(!sms_config(SmsArg::Console).unwrap().is_real());
    }

    fn trusted(args: &[&str]) -> Result<TrustedProxies, String> {
        let argv = [&["warmlead-server", "serve"], args].concat();
        match Cli::try_parse_from(argv)
            .map_err(|e| e.to_string())?
            .command
        {
            Command::Serve { args } => Ok(args.trusted_proxies),
            _ => unreachable!("serve parses as serve"),
        }
    }

    #[test]
    fn trusted_proxies_default_to_none_and_bad_entries_are_refused() {
        // (WARMLEAD_TRUSTED_PROXIES is not set in the test environment.)
        assert!(trusted(&[]).unwrap().is_empty());
        let t = trusted(&["--trusted-proxies", "127.0.0.1,10.0.0.0/8"]).unwrap();
        assert!(t.contains("10.1.2.3".parse().unwrap()));
        let err = trusted(&["--trusted-proxies", "10.0.0.0/8,proxy.local"]).unwrap_err();
        assert!(err.contains("proxy.local"), "{err}");
    }
}
