//! A throwaway PostgreSQL cluster for the tests: Debian's server binaries,
//! `initdb` in a temporary folder, started on a free loopback port as an
//! ordinary process and stopped (folder removed) when dropped.
//!
//! Tests call [`TestPostgres::shared`]: `cargo xtask test` starts one cluster
//! and hands its URL to every test process in `WARMLEAD_TEST_POSTGRES_URL`;
//! a plain `cargo test` starts one cluster per test process instead. There
//! is no skip: without the binaries the test fails naming the package.
//! Each test then makes its own database ([`database_url`]) so tests run in
//! parallel on one cluster.
//!
//! PostgreSQL refuses to run as root, and CI runs as root: then every server
//! command runs as the `postgres` user that Debian's package creates, and the
//! folder is handed to that user.
//!
//! Std only, no async: xtask uses it too, and the tests' own client decides
//! how to talk to the server.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

/// Debian's package: server binaries under /usr/lib/postgresql/<major>/bin.
pub const APT_PACKAGE: &str = "postgresql";
/// Where `cargo xtask test` puts the URL of the cluster it started.
pub const URL_ENV: &str = "WARMLEAD_TEST_POSTGRES_URL";
/// Where Debian's package puts each major version (`<major>/bin`).
const DEBIAN_LIB: &str = "/usr/lib/postgresql";
const SUPERUSER: &str = "warmlead";
const OS_USER: &str = "postgres";

pub struct TestPostgres {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
}

impl TestPostgres {
    /// The superuser URL of a running cluster for this test process:
    /// `WARMLEAD_TEST_POSTGRES_URL` when set, else a cluster started on first
    /// use. Panics (the test fails) saying what is missing when it cannot start.
    pub fn shared() -> String {
        static URL: OnceLock<String> = OnceLock::new();
        URL.get_or_init(|| {
            if let Ok(url) = std::env::var(URL_ENV) {
                if !url.is_empty() {
                    return url;
                }
            }
            let pg = TestPostgres::start().unwrap_or_else(|e| panic!("{e}"));
            // A static is never dropped: a watcher stops the cluster and
            // removes its folder once this test process has exited.
            if let Err(e) = pg.stop_when_process_exits() {
                panic!("{e}");
            }
            let url = pg.url();
            std::mem::forget(pg);
            url
        })
        .clone()
    }

    /// `initdb` and start a cluster; fails saying what is missing.
    pub fn start() -> Result<TestPostgres, String> {
        TestPostgres::start_from(Path::new(DEBIAN_LIB))
    }

    /// `start` with the binaries looked for under `lib` (a test names a
    /// folder without them).
    fn start_from(lib: &Path) -> Result<TestPostgres, String> {
        let bin = server_bin_dir(lib).ok_or_else(|| {
            format!("no PostgreSQL server binaries under {}: install Debian's `{APT_PACKAGE}` (cargo xtask setup does)", lib.display())
        })?;
        static STARTED: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "warmlead-pg-{}-{}",
            std::process::id(),
            STARTED.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {dir:?}: {e}"))?;
        hand_to_os_user(&dir)?;
        let port = free_port()?;
        let pg = TestPostgres { bin, dir, port };
        pg.pg("initdb", &pg.initdb_args())?;
        let opts = format!(
            "-p {port} -c listen_addresses=127.0.0.1 -k {} -c fsync=off -c max_connections=200",
            pg.dir.display()
        );
        let data = pg.data().display().to_string();
        let log = pg.dir.join("server.log").display().to_string();
        pg.pg(
            "pg_ctl",
            &["-D", &data, "-l", &log, "-o", &opts, "-w", "start"],
        )?;
        Ok(pg)
    }

    /// The superuser's URL of the `postgres` database; tests make their own databases.
    pub fn url(&self) -> String {
        format!("postgres://{SUPERUSER}@127.0.0.1:{}/postgres", self.port)
    }

    fn initdb_args(&self) -> Vec<String> {
        let data = self.data().display().to_string();
        [
            "-D",
            &data,
            "-U",
            SUPERUSER,
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        ]
        .map(String::from)
        .to_vec()
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// A detached `sh` that waits for this process to end, then stops the
    /// cluster and removes its folder.
    fn stop_when_process_exits(&self) -> Result<(), String> {
        let stop = self.command("pg_ctl");
        let script = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 1; done; {stop} -D '{data}' -m immediate -w stop >/dev/null 2>&1; rm -rf '{dir}'",
            pid = std::process::id(),
            stop = shell_words(&stop),
            data = self.data().display(),
            dir = self.dir.display(),
        );
        Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map(|_| ())
            .map_err(|e| format!("cannot start the cluster's watcher (sh): {e}"))
    }

    /// The argv running one of the server's programs, as the `postgres`
    /// user when we are root.
    fn command(&self, program: &str) -> Vec<String> {
        let exe = self.bin.join(program).display().to_string();
        if is_root() {
            vec![
                "runuser".into(),
                "-u".into(),
                OS_USER.into(),
                "--".into(),
                exe,
            ]
        } else {
            vec![exe]
        }
    }

    fn pg<S: AsRef<str>>(&self, program: &str, args: &[S]) -> Result<(), String> {
        let argv = self.command(program);
        let out = Command::new(&argv[0])
            .args(&argv[1..])
            .args(args.iter().map(AsRef::as_ref))
            .current_dir(&self.dir)
            .output()
            .map_err(|e| format!("cannot start {}: {e}", argv.join(" ")))?;
        if out.status.success() {
            Ok(())
        } else {
            let args: Vec<&str> = args.iter().map(AsRef::as_ref).collect();
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

/// One of PostgreSQL's programs (`pg_dump`, `pg_restore`, `psql`) from the
/// newest installed version, the one [`TestPostgres`] runs, so a dump is
/// never taken by an older `pg_dump` than the server. Fails naming the
/// program and the package when it is missing.
pub fn program(name: &str) -> Result<PathBuf, String> {
    program_from(Path::new(DEBIAN_LIB), name)
}

fn program_from(lib: &Path, name: &str) -> Result<PathBuf, String> {
    let bin = server_bin_dir(lib).ok_or_else(|| {
        format!("no {name}: no PostgreSQL installed under {}: install Debian's `{APT_PACKAGE}` (cargo xtask setup does)", lib.display())
    })?;
    let exe = bin.join(name);
    if exe.is_file() {
        Ok(exe)
    } else {
        Err(format!(
            "no {name} in {}: it comes with Debian's `{APT_PACKAGE}` (through its client package); install it (cargo xtask setup does)",
            bin.display()
        ))
    }
}

/// The same server URL naming another database (`postgres://u@h:p/name`).
pub fn database_url(server_url: &str, database: &str) -> String {
    let (base, _) = server_url
        .rsplit_once('/')
        .filter(|(b, _)| b.contains("://") && !b.ends_with('/'))
        .unwrap_or((server_url, ""));
    format!("{base}/{database}")
}

/// A database name nobody used yet: `t_` and 16 hex digits (time, process
/// and a counter through std's randomly keyed hasher).
pub fn unique_database_name() -> String {
    use std::hash::{BuildHasher, Hasher};
    static N: AtomicU32 = AtomicU32::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    h.write_u32(N.fetch_add(1, Ordering::Relaxed));
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    h.write_u128(nanos);
    format!("t_{:016x}", h.finish())
}

fn shell_words(argv: &[String]) -> String {
    argv.iter()
        .map(|a| format!("'{a}'"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// The newest installed major version's bin folder.
fn server_bin_dir(lib: &Path) -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir(lib)
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
    if !is_root() {
        return Ok(());
    }
    let status = Command::new("chown")
        .arg(format!("{OS_USER}:{OS_USER}"))
        .arg(dir)
        .status()
        .map_err(|e| format!("cannot start chown: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "`chown {OS_USER}` of {dir:?} failed: the `{OS_USER}` user comes with Debian's `{APT_PACKAGE}`"
        ))
    }
}

/// A port nobody listens on right now (the kernel picks it).
fn free_port() -> Result<u16, String> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free port: {e}"))?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_url_replaces_the_database() {
        let cases = [
            (
                "postgres://warmlead@127.0.0.1:5432/postgres",
                "postgres://warmlead@127.0.0.1:5432/t_1",
            ),
            (
                "postgres://u:p@db.example:5432/app",
                "postgres://u:p@db.example:5432/t_1",
            ),
            ("postgres://u@host", "postgres://u@host/t_1"),
        ];
        for (server, want) in cases {
            assert_eq!(database_url(server, "t_1"), want, "{server}");
        }
    }

    #[test]
    fn database_names_differ() {
        let a = unique_database_name();
        let b = unique_database_name();
        assert_ne!(a, b);
        assert!(a.starts_with("t_") && a.len() == 18, "{a}");
    }

    #[test]
    fn missing_binaries_name_the_package() {
        let empty = std::env::temp_dir().join(unique_database_name());
        std::fs::create_dir_all(empty.join("15")).unwrap();
        let err = TestPostgres::start_from(&empty).err().unwrap();
        std::fs::remove_dir_all(&empty).unwrap();
        assert!(err.contains("`postgresql`"), "{err}");
    }

    #[test]
    fn a_missing_program_is_named_with_the_package() {
        let lib = std::env::temp_dir().join(unique_database_name());
        let err = program_from(&lib, "pg_dump").err().unwrap();
        assert!(
            err.starts_with("no pg_dump: ") && err.contains("`postgresql`"),
            "{err}"
        );
        std::fs::create_dir_all(lib.join("15/bin")).unwrap();
        std::fs::write(lib.join("15/bin/initdb"), "").unwrap();
        let err = program_from(&lib, "pg_dump").err().unwrap();
        std::fs::remove_dir_all(&lib).unwrap();
        assert!(
            err.starts_with("no pg_dump in ") && err.contains("`postgresql`"),
            "{err}"
        );
    }

    /// The programs a backup needs sit beside the server the tests run.
    #[test]
    fn the_dump_programs_of_the_installed_server_are_found() {
        for name in ["pg_dump", "pg_restore"] {
            let exe = program(name).unwrap_or_else(|e| panic!("{e}"));
            assert!(exe.ends_with(format!("bin/{name}")), "{exe:?}");
        }
    }

    /// The shared cluster answers on its port (a real server, not a stand-in).
    #[test]
    fn shared_cluster_accepts_connections() {
        let url = TestPostgres::shared();
        let host_port = url
            .split('@')
            .nth(1)
            .and_then(|r| r.split('/').next())
            .unwrap();
        std::net::TcpStream::connect(host_port)
            .unwrap_or_else(|e| panic!("no server at {host_port} ({url}): {e}"));
    }
}
