//! Installs what a fresh Debian machine lacks: system libraries for the Tauri
//! app, browsers and drivers for the end-to-end suites, a CJK font, tauri-driver,
//! and the npm packages of the UI and of the end-to-end tests.

use std::path::Path;

use crate::proc;

/// Debian packages the build and the tests need.
const APT_PACKAGES: &[&str] = &[
    // Tauri 2 on Linux.
    "libwebkit2gtk-4.1-dev",
    "libsoup-3.0-dev",
    "libgtk-3-dev",
    "librsvg2-dev",
    "libayatana-appindicator3-dev",
    "pkg-config",
    "build-essential",
    // End-to-end: the app under WebDriver in a virtual display, pages in Chromium.
    "webkit2gtk-driver",
    "xvfb",
    "chromium",
    // Chinese text must render, in the app and in Chromium.
    "fonts-noto-cjk",
    // Screenshots of the virtual display.
    "imagemagick",
    // The video e2e suite makes its 300 MB phone video (H.264/AAC MP4) at test time.
    "ffmpeg",
    // The device token's keychain: libdbus to build, a Secret Service on a test's own bus.
    "libdbus-1-dev",
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
    // systemd-analyze checks the server's systemd units (crates/server/tests/deploy_units.rs).
    "systemd",
];

pub fn run(root: &Path) -> Result<(), String> {
    apt(root)?;
    node(root)?;
    tauri_driver(root)?;
    npm_ci(&root.join("ui"))?;
    npm_ci(&root.join("tests/e2e"))?;
    npm_ci(&root.join("packaging"))?;
    Ok(())
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

fn apt(root: &Path) -> Result<(), String> {
    if !proc::on_path("dpkg-query") {
        println!(
            "setup: not a Debian-like system; install the equivalents of {APT_PACKAGES:?} yourself"
        );
        return Ok(());
    }
    let missing: Vec<&str> = APT_PACKAGES
        .iter()
        .copied()
        .filter(|p| !installed(p))
        .collect();
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
