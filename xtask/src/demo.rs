//! `cargo xtask demo`: the first minute of a newcomer. Installs what is
//! missing, builds, starts the server on its embedded SQLite with the demo
//! company, and opens the desktop app signed in as the demo rep 李明
//! (`--partner` for a partner, `--manager` for the manager).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::proc::KillOnDrop;
use crate::{build, proc, setup};

const PREFERRED_PORT: u16 = 8787;
const HEADLESS_DISPLAY: &str = ":77";

pub fn run(root: &Path, args: &[String]) -> Result<(), String> {
    let role = role(args)?;
    if !args.iter().any(|a| a == "--skip-setup") {
        setup::run(root, setup::Scope::Demo)?;
    }
    build::ui(root)?;
    build::programs(root)?;

    let data = data_dir();
    std::fs::create_dir_all(&data).map_err(|e| format!("create {}: {e}", data.display()))?;
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let db = format!("sqlite://{}", data.join("server.db").display());
    let outbox = data.join("sms-outbox.jsonl");
    let _server = start_server(root, port, &db, &outbox)?;
    wait_healthy(port)?;
    println!("server: {url} (database {db})");
    println!(
        "SMS: nothing is really sent; each message the demo 'sends' is appended to {}",
        outbox.display()
    );

    let code = proc::output(
        root,
        &build::server_bin(root).display().to_string(),
        &["demo-code", "--database-url", &db, "--role", role],
    )?;
    let _xvfb = ensure_display()?;
    let app_data = data.join(format!("app-{role}-{port}"));
    println!(
        "app: signing in as the demo {role}; local cache in {}",
        app_data.display()
    );
    let status = Command::new(build::app_bin(root))
        .env("WARMLEAD_DATA_DIR", &app_data)
        .env("WARMLEAD_SERVER_URL", &url)
        .env("WARMLEAD_ACTIVATION_CODE", &code)
        .status()
        .map_err(|e| format!("cannot start the app: {e}"))?;
    println!("app exited ({status}); stopping the server");
    Ok(())
}

fn role(args: &[String]) -> Result<&'static str, String> {
    match args
        .iter()
        .find(|a| a.starts_with("--") && *a != "--skip-setup")
    {
        None => Ok("rep"),
        Some(a) if a == "--partner" => Ok("partner"),
        Some(a) if a == "--manager" => Ok("manager"),
        Some(a) => Err(format!("unknown flag {a}: use --partner or --manager")),
    }
}

fn data_dir() -> PathBuf {
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".local/share")
        });
    base.join("warmlead-demo")
}

/// 8787 when it is free, else any free port (the app's cache is kept per port).
fn free_port() -> u16 {
    if TcpListener::bind(("127.0.0.1", PREFERRED_PORT)).is_ok() {
        return PREFERRED_PORT;
    }
    TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(PREFERRED_PORT)
}

fn start_server(root: &Path, port: u16, db: &str, outbox: &Path) -> Result<KillOnDrop, String> {
    let child = Command::new(build::server_bin(root))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .args(["--database-url", db, "--demo"])
        // The console SMS provider (the default) appends what it "sends" here.
        .env("WARMLEAD_SMS_OUTBOX_FILE", outbox)
        .stdin(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start warmlead-server: {e}"))?;
    Ok(KillOnDrop(child))
}

/// Polls /healthz; seeding the demo company takes a few seconds the first time.
pub fn wait_healthy(port: u16) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if healthz(port) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    Err(format!(
        "the server on port {port} did not answer /healthz within 60 s"
    ))
}

fn healthz(port: u16) -> bool {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let req = "GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    if s.write_all(req.as_bytes()).is_err() {
        return false;
    }
    let mut buf = String::new();
    let _ = s.read_to_string(&mut buf);
    buf.starts_with("HTTP/1.1 200")
}

/// A machine without a display (a server, CI) gets a virtual one, so the app
/// still starts; say how to look at it.
fn ensure_display() -> Result<Option<KillOnDrop>, String> {
    if std::env::var_os("DISPLAY").is_some() || std::env::var_os("WAYLAND_DISPLAY").is_some() {
        return Ok(None);
    }
    let child = Command::new("Xvfb")
        .args([HEADLESS_DISPLAY, "-screen", "0", "1280x860x24"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("no display and cannot start Xvfb: {e}"))?;
    std::env::set_var("DISPLAY", HEADLESS_DISPLAY);
    println!(
        "no display: the app runs in Xvfb {HEADLESS_DISPLAY}; see it with `import -display {HEADLESS_DISPLAY} -window root shot.png`"
    );
    std::thread::sleep(Duration::from_millis(500));
    Ok(Some(KillOnDrop(child)))
}
