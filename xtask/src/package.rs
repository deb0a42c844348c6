//! `cargo xtask package [--test]`: the desktop app as the installers people
//! use on Linux, a .deb and an .rpm, built in release mode by the Tauri
//! bundler (`packaging/`'s npm copy of its command line; the settings are
//! `bundle` in src-tauri/tauri.conf.json). Windows and macOS installers are
//! made on those systems by `.github/workflows/release.yml` (docs/packaging.md).
//!
//! `--test` then installs the .deb on this machine (root, or sudo without a
//! password), starts the installed app, signs it in through a warmlead://
//! link opened with xdg-open, and removes the package again
//! (tests/e2e/package-install.mjs). `cargo xtask test` runs the same as one of
//! its suites (`install_test`).

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
    proc::run(
        root,
        "cargo",
        &[
            "build",
            "--release",
            "-p",
            "warmlead-app",
            "--features",
            // The UI embedded, and nothing of the tests' (build::FEATURES).
            "custom-protocol",
        ],
    )?;
    let tauri = root.join("packaging/node_modules/.bin/tauri");
    if !tauri.exists() {
        return Err(format!(
            "{} is missing: `cargo xtask setup` installs it (npm install in packaging/)",
            tauri.display()
        ));
    }
    let mut args = vec![
        "bundle",
        "--bundles",
        BUNDLES,
        "--features",
        "custom-protocol",
        "--ci",
    ];
    // Update archives are signed with the updater key, which only the
    // release machine holds (docs/packaging.md); without it the packages are
    // still made, only not their update signatures.
    if std::env::var_os("TAURI_SIGNING_PRIVATE_KEY").is_none() {
        println!("package: TAURI_SIGNING_PRIVATE_KEY is not set: no update signatures");
        args.extend(["--config", NO_UPDATER_ARTIFACTS]);
    }
    proc::run(&root.join("src-tauri"), &tauri.display().to_string(), &args)?;
    let bundle = build::target_dir(root).join("release/bundle");
    let (deb_arch, rpm_arch) = arch()?;
    let packages = Packages {
        deb: bundle.join(format!("deb/Warmlead_{version}_{deb_arch}.deb")),
        rpm: bundle.join(format!("rpm/Warmlead-{version}-1.{rpm_arch}.rpm")),
    };
    for p in [&packages.deb, &packages.rpm] {
        let size = std::fs::metadata(p)
            .map_err(|e| format!("the bundler did not write {}: {e}", p.display()))?
            .len();
        println!(
            "package: {} ({:.1} MiB, {size} bytes)",
            p.display(),
            size as f64 / 1024.0 / 1024.0
        );
    }
    Ok(packages)
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

/// Builds the packages, installs the .deb, drives the installed app and
/// removes it: the node test does each step and checks it (it needs the
/// server, which makes the company and the sign-in link, and tauri-driver).
/// A suite of `cargo xtask test` as it is (setup already done).
pub fn install_test(root: &Path) -> Result<(), String> {
    if !setup::is_root() && !proc::on_path("sudo") {
        return Err("the install test installs a package: run it as root or with sudo".into());
    }
    let packages = make(root)?;
    // The same build of the server the end-to-end suites run.
    build::programs(root)?;
    let env = [
        ("WARMLEAD_DEB", packages.deb.display().to_string()),
        ("WARMLEAD_RPM", packages.rpm.display().to_string()),
        ("WARMLEAD_VERSION", version(root)?),
        (
            "WARMLEAD_SERVER_BIN",
            build::server_bin(root).display().to_string(),
        ),
        (
            "TAURI_DRIVER_BIN",
            crate::test::tauri_driver().display().to_string(),
        ),
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
