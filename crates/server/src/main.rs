//! `warmlead-server`: serve, or print one-time activation codes.

use std::net::SocketAddr;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use warmlead_core::domain::Role;
use warmlead_server::{
    default_database_url, demo, open_admin, start_with, Config, Options, ServerError,
};

#[derive(Parser)]
#[command(name = "warmlead-server", version, about = "Warmlead's server")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args)]
struct DbArg {
    /// `sqlite:///abs/path.db` or `sqlite://relative/path.db`
    /// [default: sqlite://<data dir>/warmlead/server.db]
    #[arg(long, env = "WARMLEAD_DATABASE_URL")]
    database_url: Option<String>,
}

impl DbArg {
    fn url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(default_database_url)
    }
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve {
        #[arg(long, env = "WARMLEAD_LISTEN", default_value = "127.0.0.1:8787")]
        listen: SocketAddr,
        #[command(flatten)]
        db: DbArg,
        /// Base of share links [default: http://<listen address>]
        #[arg(long, env = "WARMLEAD_PUBLIC_URL")]
        public_url: Option<String>,
        /// Seed the demo company 暖居装修 (once; skipped when it exists).
        #[arg(long)]
        demo: bool,
        /// Delete raw tracking signals older than this many days (hourly job).
        #[arg(long, env = "WARMLEAD_SIGNAL_RETENTION_DAYS", default_value_t = 180)]
        signal_retention_days: u32,
    },
    /// Print a fresh one-time activation code for a user.
    ActivationCode {
        #[command(flatten)]
        db: DbArg,
        /// The user's id, E.164 phone or exact name.
        #[arg(long)]
        user: String,
    },
    /// Print a fresh activation code for the demo's main user of a role.
    DemoCode {
        #[command(flatten)]
        db: DbArg,
        #[arg(long, value_enum)]
        role: RoleArg,
    },
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
        Command::Serve {
            listen,
            db,
            public_url,
            demo,
            signal_retention_days,
        } => {
            let options = Options {
                signal_retention_days,
                ..Options::default()
            };
            serve(listen, db.url(), public_url, demo, options).await
        }
        Command::ActivationCode { db, user } => {
            let admin = open_admin(&db.url()).await?;
            let user = admin.find_user(&user).await?;
            println!("{}", admin.create_activation_code(user.id).await?);
            Ok(())
        }
        Command::DemoCode { db, role } => {
            let admin = open_admin(&db.url()).await?;
            let user = demo::main_user(&admin, role.into()).await?;
            println!("{}", admin.create_activation_code(user.id).await?);
            Ok(())
        }
    }
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
