//! Builds the parts in the order they need each other: UI first (the app embeds
//! `ui/dist` at compile time), then the server and the app.
//!
//! Every cargo build here runs the workspace's own crates through
//! `clippy-driver` (cargo's `RUSTC_WORKSPACE_WRAPPER`, what `cargo clippy`
//! does): it lints and compiles in the same pass, so `cargo xtask test` gets
//! its lint verdict from the build instead of a second, check-only
//! compilation of all ~700 dependencies, and the demo's build is the one the
//! tests reuse (the wrapper is part of the workspace crates' fingerprint).

use std::path::{Path, PathBuf};

use crate::proc;

/// Cargo features every build of the workspace uses, so the demo, clippy,
/// tests and the app binary share one compilation of Tauri (the app embeds
/// ui/dist with it). The tests' dev-dependencies turn on the server's
/// `testing` module; the demo asks for it too, so its server is the one the
/// tests build (the module adds test helpers to the library, no route).
/// Unqualified, so each selected package takes the ones it has: cargo
/// does not apply `warmlead-server/testing` to the server when the app,
/// built in the same command, depends on it.
pub const FEATURES: &str = "custom-protocol,testing";

/// The packages the demo builds: its two programs.
pub fn demo_packages_args() -> [&'static str; 4] {
    ["-p", "warmlead-server", "-p", "warmlead-app"]
}

pub fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
}

pub fn server_bin(root: &Path) -> PathBuf {
    target_dir(root).join("debug/warmlead-server")
}

pub fn app_bin(root: &Path) -> PathBuf {
    target_dir(root).join("debug/warmlead-app")
}

pub fn ui(root: &Path) -> Result<(), String> {
    proc::run(&root.join("ui"), "npm", &["run", "build"])
}

/// The environment of every cargo command that builds or runs the
/// workspace: clippy as the workspace crates' compiler (see the module's
/// comment). Fails saying how to install clippy when it is missing.
pub fn cargo_env(root: &Path) -> Result<Vec<(&'static str, String)>, String> {
    let sysroot = proc::output(root, "rustc", &["--print", "sysroot"])?;
    let driver = Path::new(&sysroot).join("bin/clippy-driver");
    if !driver.exists() {
        return Err(format!(
            "{} is missing: install clippy (`rustup component add clippy`; cargo xtask setup does)",
            driver.display()
        ));
    }
    Ok(vec![(
        "RUSTC_WORKSPACE_WRAPPER",
        driver.display().to_string(),
    )])
}

/// Builds every target of the workspace, tests included, with the same
/// features `cargo test` resolves, so the test run after it compiles nothing
/// again and the binaries the end-to-end suites start are the ones tested.
/// Returns the lint warnings the build reported (clippy's and rustc's), one
/// summary line per crate, for [`lints`].
pub fn binaries(root: &Path) -> Result<Vec<String>, String> {
    let env = cargo_env(root)?;
    let (result, stderr) = proc::run_keeping_stderr(
        root,
        "cargo",
        &[
            "build",
            "--workspace",
            "--all-targets",
            "--features",
            FEATURES,
        ],
        &env,
    );
    result?;
    Ok(stderr
        .into_iter()
        .filter(|l| is_warning_summary(l))
        .collect())
}

/// cargo's line after a crate's warnings (replayed from its cache when the
/// crate is not compiled again): "warning: `x` (lib test) generated 2 warnings".
fn is_warning_summary(line: &str) -> bool {
    line.starts_with("warning: `") && line.contains(" generated ") && line.contains(" warning")
}

/// The lint verdict: the workspace builds without a single warning (what
/// `cargo clippy --all-targets -- -D warnings` asks).
pub fn lints(warnings: &[String]) -> Result<(), String> {
    if warnings.is_empty() {
        return Ok(());
    }
    Err(format!(
        "clippy or rustc warned (the build's output above shows where):\n  {}",
        warnings.join("\n  ")
    ))
}

/// Just the two programs the demo runs: the quickest build on a fresh machine.
pub fn programs(root: &Path) -> Result<(), String> {
    proc::run_env(
        root,
        "cargo",
        &[
            &["build"][..],
            &demo_packages_args(),
            &["--features", FEATURES],
        ]
        .concat(),
        &cargo_env(root)?,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warning_summaries_are_told_from_other_lines() {
        let cases = [
            ("warning: `warmlead-server` (lib) generated 2 warnings", true),
            (
                "warning: `xtask` (bin \"xtask\" test) generated 1 warning (run `cargo clippy --fix`)",
                true,
            ),
            ("warning: unused variable: `x`", false),
            ("   Compiling warmlead-core v0.1.0", false),
            ("error: could not compile `x`", false),
        ];
        for (line, want) in cases {
            assert_eq!(is_warning_summary(line), want, "{line}");
        }
        assert!(lints(&[]).is_ok());
        assert!(lints(&["warning: `a` (lib) generated 1 warning".into()]).is_err());
    }
}
