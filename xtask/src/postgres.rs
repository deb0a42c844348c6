//! A throwaway PostgreSQL cluster for the tests: Debian's server binaries,
//! `initdb` in a temporary folder, started on a free loopback port as an
//! ordinary process and stopped (folder removed) when dropped.
//!
//! PostgreSQL refuses to run as root, and CI runs as root: then every server
//! command runs as the `postgres` user that Debian's package creates, and the
//! folder is handed to that user.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Debian's package: server binaries under /usr/lib/postgresql/<major>/bin.
pub const APT_PACKAGE: &str = "postgresql";
const SUPERUSER: &str = "warmlead";
const OS_USER: &str = "postgres";

pub struct TestPostgres {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
}

impl TestPostgres {
    /// `initdb` and start a cluster; fails saying what is missing.
    pub fn start() -> Result<TestPostgres, String> {
        let bin = server_bin_dir().ok_or_else(|| {
            format!("no PostgreSQL server binaries under /usr/lib/postgresql: install Debian's `{APT_PACKAGE}` (cargo xtask setup does)")
        })?;
        let dir = std::env::temp_dir().join(format!("warmlead-pg-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {dir:?}: {e}"))?;
        hand_to_os_user(&dir)?;
        let port = free_port()?;
        let pg = TestPostgres { bin, dir, port };
        pg.pg(
            "initdb",
            &[
                "-D",
                &pg.data().display().to_string(),
                "-U",
                SUPERUSER,
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
        )?;
        let opts = format!(
            "-p {port} -c listen_addresses=127.0.0.1 -k {} -c fsync=off",
            pg.dir.display()
        );
        pg.pg(
            "pg_ctl",
            &[
                "-D",
                &pg.data().display().to_string(),
                "-l",
                &pg.dir.join("server.log").display().to_string(),
                "-o",
                &opts,
                "-w",
                "start",
            ],
        )?;
        Ok(pg)
    }

    /// The superuser's URL of the `postgres` database; tests make their own databases.
    pub fn url(&self) -> String {
        format!("postgres://{SUPERUSER}@127.0.0.1:{}/postgres", self.port)
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// Runs one of the server's programs, as the `postgres` user when we are root.
    fn pg(&self, program: &str, args: &[&str]) -> Result<(), String> {
        let exe = self.bin.join(program);
        let mut cmd = if crate::setup::is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", OS_USER, "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        let out = cmd
            .args(args)
            .current_dir(&self.dir)
            .output()
            .map_err(|e| format!("cannot start {}: {e}", exe.display()))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "`{program} {}` failed ({}): {}{}",
                args.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }
}

impl Drop for TestPostgres {
    fn drop(&mut self) {
        let data = self.data().display().to_string();
        let _ = self.pg("pg_ctl", &["-D", &data, "-m", "immediate", "-w", "stop"]);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The newest installed major version's bin folder.
fn server_bin_dir() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let major = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((major, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

fn hand_to_os_user(dir: &Path) -> Result<(), String> {
    if !crate::setup::is_root() {
        return Ok(());
    }
    crate::proc::output(
        Path::new("/"),
        "chown",
        &[&format!("{OS_USER}:{OS_USER}"), &dir.display().to_string()],
    )
    .map(|_| ())
    .map_err(|e| format!("{e}: the `{OS_USER}` user comes with Debian's `{APT_PACKAGE}`"))
}

/// A port nobody listens on right now (the kernel picks it).
fn free_port() -> Result<u16, String> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free port: {e}"))?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))
}

/// `cargo xtask postgres`: a throwaway cluster for trying the server by hand;
/// stops when Enter is pressed.
pub fn run() -> Result<(), String> {
    let pg = TestPostgres::start()?;
    println!("PostgreSQL is up: {}", pg.url());
    println!("press Enter to stop it and remove its data");
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
    drop(pg);
    Ok(())
}
