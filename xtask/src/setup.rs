//! Installs what a fresh Debian machine lacks: system libraries for the Tauri
//! app, a CJK font, clippy and the UI's npm packages for the demo; browsers,
//! drivers, ffmpeg, PostgreSQL, tauri-driver and the end-to-end tests' npm
//! packages on top for the tests.

use std::path::Path;

use crate::{build, proc};

/// What a command needs installed: the demo only builds and opens the app;
/// the tests also drive browsers, record video and start PostgreSQL. The
/// demo is a newcomer's first minute, so it waits for nothing it does not use.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Demo,
    Test,
}

/// Debian packages the demo needs: building and showing the app.
const DEMO_APT: &[&str] = &[
    // Tauri 2 on Linux.
    "libwebkit2gtk-4.1-dev",
    "libsoup-3.0-dev",
    "libgtk-3-dev",
    "librsvg2-dev",
    "libayatana-appindicator3-dev",
    "pkg-config",
    "build-essential",
    // The keychain crate talks to the Secret Service through libdbus.
    "libdbus-1-dev",
    // The app in a virtual display when there is no screen.
    "xvfb",
    // Chinese text must render, in the app and in Chromium.
    "fonts-noto-cjk",
];

/// Debian packages only the tests need, on top of the demo's.
const TEST_APT: &[&str] = &[
    // End-to-end: the app under WebDriver, pages in Chromium.
    "webkit2gtk-driver",
    "chromium",
    // Screenshots of the virtual display.
    "imagemagick",
    // The video e2e suite makes its 300 MB phone video (H.264/AAC MP4) at test time.
    "ffmpeg",
    // The device token's keychain: a Secret Service on a test's own bus.
    "dbus",
    "gnome-keyring",
    "libsecret-tools",
    // The update e2e suite alters a published release in the server's SQLite file.
    "sqlite3",
    // The PostgreSQL backend's tests start a throwaway cluster (xtask::postgres).
    crate::postgres::APT_PACKAGE,
    // cargo xtask package --test: xdg-open, the desktop entry, reading the .rpm.
    "xdg-utils",
    "desktop-file-utils",
    "rpm",
    // The updater installs a .deb with `sudo dpkg -i` where no pkexec asks for a password.
    "sudo",
    // systemd-analyze checks the server's systemd units (crates/server/tests/deploy_units.rs).
    "systemd",
];

fn apt_packages(scope: Scope) -> Vec<&'static str> {
    let mut all = DEMO_APT.to_vec();
    if scope == Scope::Test {
        all.extend(TEST_APT);
    }
    all
}

pub fn run(root: &Path, scope: Scope) -> Result<(), String> {
    apt(root, &apt_packages(scope))?;
    node(root)?;
    clippy(root)?;
    npm_ci(&root.join("ui"))?;
    if scope == Scope::Test {
        tauri_driver(root)?;
        npm_ci(&root.join("tests/e2e"))?;
        npm_ci(&root.join("packaging"))?;
    }
    Ok(())
}

/// Every build lints as it compiles (xtask::build), so clippy must be there.
fn clippy(root: &Path) -> Result<(), String> {
    if build::cargo_env(root).is_ok() || !proc::on_path("rustup") {
        return Ok(());
    }
    proc::run(root, "rustup", &["component", "add", "clippy"])
}

fn installed(pkg: &str) -> bool {
    proc::output(
        Path::new("/"),
        "dpkg-query",
        &["-W", "-f=${db:Status-Abbrev}", pkg],
    )
    .map(|s| s.starts_with("ii"))
    .unwrap_or(false)
}

fn apt(root: &Path, packages: &[&str]) -> Result<(), String> {
    if !proc::on_path("dpkg-query") {
        println!(
            "setup: not a Debian-like system; install the equivalents of {packages:?} yourself"
        );
        return Ok(());
    }
    let missing: Vec<&str> = packages.iter().copied().filter(|p| !installed(p)).collect();
    if missing.is_empty() {
        return Ok(());
    }
    println!("setup: installing {}", missing.join(" "));
    let mut args = vec!["install", "-y", "--no-install-recommends"];
    args.extend(&missing);
    apt_get(root, &["update", "-q"])?;
    apt_get(root, &args)
}

/// apt-get as root, through sudo when we are not root.
fn apt_get(root: &Path, args: &[&str]) -> Result<(), String> {
    let env = [("DEBIAN_FRONTEND", "noninteractive".to_string())];
    if is_root() {
        proc::run_env(root, "apt-get", args, &env)
    } else {
        let mut sudo_args = vec!["env", "DEBIAN_FRONTEND=noninteractive", "apt-get"];
        sudo_args.extend(args);
        proc::run(root, "sudo", &sudo_args)
    }
}

pub fn is_root() -> bool {
    proc::output(Path::new("/"), "id", &["-u"])
        .map(|s| s == "0")
        .unwrap_or(false)
}

fn node(root: &Path) -> Result<(), String> {
    if proc::on_path("npm") {
        return Ok(());
    }
    apt_get(root, &["install", "-y", "nodejs", "npm"])
}

fn tauri_driver(root: &Path) -> Result<(), String> {
    if proc::on_path("tauri-driver") || cargo_bin("tauri-driver").exists() {
        return Ok(());
    }
    proc::run(root, "cargo", &["install", "tauri-driver", "--locked"])
}

/// Where `cargo install` puts binaries.
pub fn cargo_bin(name: &str) -> std::path::PathBuf {
    let home = std::env::var("CARGO_HOME")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| {
            std::path::PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cargo")
        });
    home.join("bin").join(name)
}

/// Installs the locked npm packages when node_modules is missing or older
/// than the lock file. `npm install` rather than `npm ci`: the lock written
/// here holds only this platform's optional packages (rollup's and esbuild's
/// native builds), which `npm ci` refuses as out of sync; `npm install`
/// keeps the locked versions and leaves the lock as it is.
fn npm_ci(dir: &Path) -> Result<(), String> {
    let lock = dir.join("package-lock.json");
    if !lock.exists() {
        return Err(format!("{} is missing", lock.display()));
    }
    let stamp = dir.join("node_modules/.package-lock.json");
    let fresh = match (stamp.metadata(), lock.metadata()) {
        (Ok(s), Ok(l)) => s.modified().ok() >= l.modified().ok(),
        _ => false,
    };
    if fresh {
        return Ok(());
    }
    proc::run(dir, "npm", &["install", "--no-audit", "--no-fund"])
}
