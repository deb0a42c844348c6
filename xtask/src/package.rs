//! `cargo xtask package [--test]`: the desktop app as the installers people
//! use on Linux, a .deb and an .rpm, built in release mode by the Tauri
//! bundler (`packaging/`'s npm copy of its command line; the settings are
//! `bundle` in src-tauri/tauri.conf.json). Windows and macOS installers are
//! made on those systems by `.github/workflows/release.yml` (docs/packaging.md).
//!
//! `--test` builds the app twice with an updater key made for the test (its
//! public half merged into the build's Tauri configuration, the one thing
//! that differs from a shipped build): at the workspace's version, as .deb
//! and .rpm, and at the next minor version as a .deb the bundler signs. It
//! then installs the first .deb on this machine (root, or sudo without a
//! password), starts the installed app, signs it in through a warmlead://
//! link opened with xdg-open, publishes the second on a real server with
//! `warmlead-server release add`, lets the installed app install it, and
//! removes the package again (tests/e2e/package-install.mjs). Those
//! packages trust a key that is thrown away: they land in
//! `package-test/` of the target directory, never where shipped ones do.

use std::path::{Path, PathBuf};

use crate::{build, proc, setup};

/// The bundles this machine can make without a network (an AppImage
/// downloads its tools while it builds).
const BUNDLES: &str = "deb,rpm";

/// Merged over tauri.conf.json when no updater key is at hand.
const NO_UPDATER_ARTIFACTS: &str = r#"{"bundle":{"createUpdaterArtifacts":false}}"#;

pub struct Packages {
    pub deb: PathBuf,
    pub rpm: PathBuf,
}

pub fn run(root: &Path, args: &[String]) -> Result<(), String> {
    let test = args.iter().any(|a| a == "--test");
    if let Some(other) = args.iter().find(|a| *a != "--test") {
        return Err(format!(
            "unknown argument {other}: cargo xtask package [--test]"
        ));
    }
    setup::run(root, setup::Scope::Test)?;
    if test {
        install_test(root)
    } else {
        make(root).map(|_| ())
    }
}

/// Builds the UI and the release app, then bundles it.
pub fn make(root: &Path) -> Result<Packages, String> {
    let version = version(root)?;
    build::ui(root)?;
    compile(root, &[])?;
    let mut args = bundle_args(BUNDLES);
    // Update archives are signed with the updater key, which only the
    // release machine holds (docs/packaging.md); without it the packages are
    // still made, only not their update signatures.
    if std::env::var_os("TAURI_SIGNING_PRIVATE_KEY").is_none() {
        println!("package: TAURI_SIGNING_PRIVATE_KEY is not set: no update signatures");
        args.extend(["--config", NO_UPDATER_ARTIFACTS]);
    }
    bundle(root, &args, &[])?;
    let dir = build::target_dir(root).join("release/bundle");
    let packages = Packages {
        deb: dir.join("deb").join(deb_name(&version)?),
        rpm: dir.join("rpm").join(rpm_name(&version)?),
    };
    report(&[&packages.deb, &packages.rpm])?;
    Ok(packages)
}

/// The release build of the app with the UI embedded, and nothing of the
/// tests' (build::FEATURES); `env` reaches the compile.
fn compile(root: &Path, env: &[(&str, String)]) -> Result<(), String> {
    proc::run_env(
        root,
        "cargo",
        &[
            "build",
            "--release",
            "-p",
            "warmlead-app",
            "--features",
            "custom-protocol",
        ],
        env,
    )
}

fn tauri_cli(root: &Path) -> Result<String, String> {
    let tauri = root.join("packaging/node_modules/.bin/tauri");
    if !tauri.exists() {
        return Err(format!(
            "{} is missing: `cargo xtask setup` installs it (npm install in packaging/)",
            tauri.display()
        ));
    }
    Ok(tauri.display().to_string())
}

fn bundle_args(bundles: &str) -> Vec<&str> {
    vec![
        "bundle",
        "--bundles",
        bundles,
        "--features",
        "custom-protocol",
        "--ci",
    ]
}

/// Bundles the release build `compile` made.
fn bundle(root: &Path, args: &[&str], env: &[(&str, String)]) -> Result<(), String> {
    proc::run_env(&root.join("src-tauri"), &tauri_cli(root)?, args, env)
}

fn deb_name(version: &str) -> Result<String, String> {
    Ok(format!("Warmlead_{version}_{}.deb", arch()?.0))
}

fn rpm_name(version: &str) -> Result<String, String> {
    Ok(format!("Warmlead-{version}-1.{}.rpm", arch()?.1))
}

/// Prints each package's path and size; fails when one was not written.
fn report(packages: &[&Path]) -> Result<(), String> {
    for p in packages {
        let size = std::fs::metadata(p)
            .map_err(|e| format!("the bundler did not write {}: {e}", p.display()))?
            .len();
        println!(
            "package: {} ({:.1} MiB, {size} bytes)",
            p.display(),
            size as f64 / 1024.0 / 1024.0
        );
    }
    Ok(())
}

/// What the install test installs: the packages at the workspace's
/// version, and a .deb of the next version with its update signature, all
/// trusting the updater key whose public half is `public_key`.
struct TestPackages {
    installed: Packages,
    update: PathBuf,
    update_signature: PathBuf,
    update_version: String,
    public_key: PathBuf,
}

/// Makes an updater key in `dir` as an operator does (`tauri signer
/// generate`), builds and bundles the app at the workspace's version and at
/// the next one with its public half in the configuration, the second
/// signed by the bundler with its private half (as a release is, README's
/// "Shipping an app update"), and moves the packages into `dir`. The
/// private key is removed again: nothing signed with it is ever shipped.
fn make_for_test(root: &Path, dir: &Path) -> Result<TestPackages, String> {
    let version = version(root)?;
    let next = next_minor(&version)?;
    let tauri = tauri_cli(root)?;
    if dir.exists() {
        std::fs::remove_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let key = dir.join("updater.key");
    let key_arg = key.display().to_string();
    proc::run(
        dir,
        &tauri,
        &["signer", "generate", "--ci", "-p", "", "-w", &key_arg],
    )?;
    let read = |p: &Path| {
        std::fs::read_to_string(p).map_err(|e| format!("cannot read {}: {e}", p.display()))
    };
    let public_key = dir.join("updater.key.pub");
    let public = read(&public_key)?.trim().to_string();
    let signing = [
        ("TAURI_SIGNING_PRIVATE_KEY", read(&key)?),
        ("TAURI_SIGNING_PRIVATE_KEY_PASSWORD", String::new()),
    ];
    build::ui(root)?;
    let bundled = build::target_dir(root).join("release/bundle");
    let mut moved = Vec::new();
    for (v, bundles) in [(&version, BUNDLES), (&next, "deb")] {
        // tauri-build and the context macro embed the configuration at
        // compile time and read TAURI_CONFIG over tauri.conf.json; the
        // bundler takes the same as --config (the version names the packages).
        let config = serde_json::json!({
            "version": v,
            "plugins": { "updater": { "pubkey": public } },
        })
        .to_string();
        let started = std::time::Instant::now();
        compile(root, &[("TAURI_CONFIG", config.clone())])?;
        let compiled = started.elapsed().as_secs_f64();
        let mut args = bundle_args(bundles);
        args.extend(["--config", &config]);
        bundle(root, &args, &signing)?;
        println!(
            "package: version {v} for the install test: compiled in {compiled:.0} s, bundled in {:.0} s",
            started.elapsed().as_secs_f64() - compiled
        );
        let mut files = vec![bundled.join("deb").join(deb_name(v)?)];
        if bundles.contains("rpm") {
            files.push(bundled.join("rpm").join(rpm_name(v)?));
        }
        for file in files {
            let sig = PathBuf::from(format!("{}.sig", file.display()));
            for f in [&file, &sig] {
                let to = dir.join(f.file_name().unwrap_or_default());
                std::fs::rename(f, &to)
                    .map_err(|e| format!("cannot move {} to {}: {e}", f.display(), to.display()))?;
                moved.push(to);
            }
        }
        // The bundler's staging folder holds the same program.
        let _ = std::fs::remove_dir_all(
            bundled
                .join("deb")
                .join(deb_name(v)?.trim_end_matches(".deb")),
        );
    }
    std::fs::remove_file(&key).map_err(|e| format!("{}: {e}", key.display()))?;
    let packages = TestPackages {
        installed: Packages {
            deb: dir.join(deb_name(&version)?),
            rpm: dir.join(rpm_name(&version)?),
        },
        update: dir.join(deb_name(&next)?),
        update_signature: dir.join(format!("{}.sig", deb_name(&next)?)),
        update_version: next,
        public_key,
    };
    let moved: Vec<&Path> = moved.iter().map(PathBuf::as_path).collect();
    report(&moved)?;
    Ok(packages)
}

/// The next minor version: what the install test updates to.
fn next_minor(version: &str) -> Result<String, String> {
    let mut parts = version.split('.');
    let (Some(major), Some(minor)) = (parts.next(), parts.next()) else {
        return Err(format!("version {version:?} is not major.minor.patch"));
    };
    let minor: u64 = minor
        .parse()
        .map_err(|_| format!("version {version:?} is not major.minor.patch"))?;
    Ok(format!("{major}.{}.0", minor + 1))
}

/// The app's version, which the packages carry: the workspace's, and the
/// Tauri configuration must say the same (it names the bundles and is what
/// an installed app reports).
fn version(root: &Path) -> Result<String, String> {
    let read = |p: &str| {
        std::fs::read_to_string(root.join(p)).map_err(|e| format!("cannot read {p}: {e}"))
    };
    let workspace = workspace_version(&read("Cargo.toml")?)
        .ok_or("Cargo.toml has no [workspace.package] version")?;
    let conf: serde_json::Value = serde_json::from_str(&read("src-tauri/tauri.conf.json")?)
        .map_err(|e| format!("src-tauri/tauri.conf.json: {e}"))?;
    let tauri = conf["version"].as_str().unwrap_or_default();
    if tauri != workspace {
        return Err(format!(
            "src-tauri/tauri.conf.json says version {tauri:?} but Cargo.toml's workspace says {workspace:?}: make them the same"
        ));
    }
    Ok(workspace)
}

/// `version = "x"` of the `[workspace.package]` table.
fn workspace_version(cargo_toml: &str) -> Option<String> {
    let mut in_table = false;
    for line in cargo_toml.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_table = line == "[workspace.package]";
        } else if in_table {
            if let Some(v) = line.strip_prefix("version") {
                let v = v.trim_start().strip_prefix('=')?.trim();
                return Some(v.trim_matches('"').to_string());
            }
        }
    }
    None
}

/// The architecture as Debian and RPM name it.
fn arch() -> Result<(&'static str, &'static str), String> {
    match std::env::consts::ARCH {
        "x86_64" => Ok(("amd64", "x86_64")),
        "aarch64" => Ok(("arm64", "aarch64")),
        other => Err(format!("no package architecture known for {other}")),
    }
}

/// Builds the packages, installs the .deb, drives the installed app, updates
/// it and removes it: the node test does each step and checks it (it needs
/// the server, which makes the company and the sign-in link and serves the
/// update, and tauri-driver). A suite of `cargo xtask test` as it is (setup
/// already done).
pub fn install_test(root: &Path) -> Result<(), String> {
    if !setup::is_root() && !proc::on_path("sudo") {
        return Err("the install test installs a package: run it as root or with sudo".into());
    }
    let packages = make_for_test(root, &build::target_dir(root).join("package-test"))?;
    // The same build of the server the end-to-end suites run.
    build::programs(root)?;
    let path = |p: &Path| p.display().to_string();
    let env = [
        ("WARMLEAD_DEB", path(&packages.installed.deb)),
        ("WARMLEAD_RPM", path(&packages.installed.rpm)),
        ("WARMLEAD_VERSION", version(root)?),
        ("WARMLEAD_UPDATE_DEB", path(&packages.update)),
        ("WARMLEAD_UPDATE_SIG", path(&packages.update_signature)),
        ("WARMLEAD_UPDATE_VERSION", packages.update_version.clone()),
        ("WARMLEAD_UPDATE_KEY_PUB", path(&packages.public_key)),
        ("WARMLEAD_SERVER_BIN", path(&build::server_bin(root))),
        ("TAURI_DRIVER_BIN", path(&crate::test::tauri_driver())),
    ];
    let (result, failed) = proc::run_tests(
        &root.join("tests/e2e"),
        "node",
        &[
            "--test",
            "--test-concurrency=1",
            "--test-reporter=spec",
            "package-install.mjs",
        ],
        &env,
    );
    for t in failed {
        eprintln!("failed: {t}");
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_workspace_version_is_read_from_its_table_only() {
        let toml = "[package]\nversion = \"9.9.9\"\n\n[workspace.package]\nedition = \"2021\"\nversion = \"0.3.1\"\n\n[x]\nversion = \"1\"\n";
        assert_eq!(workspace_version(toml).as_deref(), Some("0.3.1"));
        assert_eq!(workspace_version("[package]\nversion = \"1\"\n"), None);
    }

    #[test]
    fn the_update_the_install_test_installs_is_the_next_minor_version() {
        assert_eq!(next_minor("0.1.0").unwrap(), "0.2.0");
        assert_eq!(next_minor("1.9.3").unwrap(), "1.10.0");
        assert!(next_minor("1").is_err());
        assert!(next_minor("1.x.0").is_err());
    }

    #[test]
    fn the_tauri_configuration_carries_the_workspace_version() {
        let root = crate::root();
        assert!(version(&root).is_ok(), "{:?}", version(&root));
    }

    /// The Windows and macOS installers are only built on those systems (the
    /// release workflow): what can be checked here is that their settings,
    /// icons and signing secrets are all there and agree.
    #[test]
    fn every_system_has_its_bundle_settings_icons_and_workflow_job() {
        let root = crate::root();
        let read = |p: &str| std::fs::read_to_string(root.join(p)).unwrap();
        let conf: serde_json::Value =
            serde_json::from_str(&read("src-tauri/tauri.conf.json")).unwrap();
        let bundle = &conf["bundle"];
        let targets: Vec<&str> = bundle["targets"]
            .as_array()
            .expect("bundle.targets is a list")
            .iter()
            .filter_map(|t| t.as_str())
            .collect();
        for t in ["deb", "rpm", "appimage", "nsis", "app", "dmg"] {
            assert!(
                targets.contains(&t),
                "bundle.targets lacks {t}: {targets:?}"
            );
        }
        let icons: Vec<&str> = bundle["icon"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|i| i.as_str())
            .collect();
        for ext in [".png", ".ico", ".icns"] {
            assert!(icons.iter().any(|i| i.ends_with(ext)), "no {ext} icon");
        }
        for icon in &icons {
            assert!(
                root.join("src-tauri").join(icon).is_file(),
                "{icon} missing"
            );
        }
        assert!(bundle["windows"]["nsis"].is_object());
        assert!(bundle["macOS"]["dmg"].is_object());
        let schemes = &conf["plugins"]["deep-link"]["desktop"]["schemes"];
        assert_eq!(schemes, &serde_json::json!(["warmlead"]));
        for format in ["deb", "rpm"] {
            let linux = &bundle["linux"][format];
            let template = linux["desktopTemplate"].as_str().unwrap();
            let entry = std::fs::read_to_string(root.join("src-tauri").join(template)).unwrap();
            assert!(
                entry.contains("Exec={{exec}} %u"),
                "{template}: the link reaches the app"
            );
            assert!(
                entry.contains("MimeType={{mime_type}}"),
                "{template}: the scheme"
            );
        }

        let workflow = read(".github/workflows/release.yml");
        for bundles in [
            "bundles: deb,rpm,appimage",
            "bundles: nsis",
            "bundles: app,dmg",
        ] {
            assert!(workflow.contains(bundles), "release.yml lacks {bundles}");
        }
        // Every secret the signing table names reaches the workflow.
        let docs = read("docs/packaging.md");
        let secrets: Vec<&str> = docs
            .split('`')
            .filter(|w| {
                w.len() > 3
                    && w.chars().all(|c| c.is_ascii_uppercase() || c == '_')
                    && ["APPLE_", "WINDOWS_", "TAURI_SIGNING_"]
                        .iter()
                        .any(|p| w.starts_with(p))
            })
            .collect();
        assert!(secrets.len() >= 10, "{secrets:?}");
        for secret in secrets {
            assert!(
                workflow.contains(&format!("secrets.{secret} ")),
                "docs/packaging.md names {secret}, release.yml does not pass it"
            );
        }
    }
}
