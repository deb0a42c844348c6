//! Builds the parts in the order they need each other: UI first (the app embeds
//! `ui/dist` at compile time), then the server and the app.

use std::path::{Path, PathBuf};

use crate::proc;

/// Cargo features every build of the workspace uses, so clippy, tests and the
/// app binary share one compilation of Tauri (the app embeds ui/dist with it).
pub const APP_FEATURES: &str = "warmlead-app/custom-protocol";

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

/// Builds every target of the workspace, tests included, with the same
/// features `cargo test` resolves, so the test run after it compiles nothing
/// again and the binaries the end-to-end suites start are the ones tested.
pub fn binaries(root: &Path) -> Result<(), String> {
    proc::run(
        root,
        "cargo",
        &[
            "build",
            "--workspace",
            "--all-targets",
            "--features",
            APP_FEATURES,
        ],
    )
}

/// Just the two programs the demo runs: the quickest build on a fresh machine.
pub fn programs(root: &Path) -> Result<(), String> {
    proc::run(
        root,
        "cargo",
        &[
            "build",
            "-p",
            "warmlead-server",
            "-p",
            "warmlead-app",
            "--features",
            APP_FEATURES,
        ],
    )
}
