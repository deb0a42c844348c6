//! `cargo xtask bench`: the figures in docs/benchmarks.md that are not
//! criterion benches: the release server binary's size, and the built app's
//! launch-to-first-screen time and idle memory under Xvfb.

use std::path::Path;

use crate::{build, proc, setup};

pub fn run(root: &Path) -> Result<(), String> {
    setup::run(root, setup::Scope::Test)?;
    build::ui(root)?;
    build::programs(root)?;
    proc::run(
        root,
        "cargo",
        &["build", "--release", "-p", "warmlead-server"],
    )?;
    let bin = build::target_dir(root).join("release/warmlead-server");
    let size = std::fs::metadata(&bin)
        .map_err(|e| format!("{}: {e}", bin.display()))?
        .len();
    println!(
        "release warmlead-server: {:.1} MiB ({size} bytes)",
        size as f64 / 1024.0 / 1024.0
    );
    let env = [
        (
            "WARMLEAD_APP_BIN",
            build::app_bin(root).display().to_string(),
        ),
        (
            "TAURI_DRIVER_BIN",
            crate::test::tauri_driver().display().to_string(),
        ),
    ];
    proc::run_env(
        &root.join("tests/e2e"),
        "node",
        &["bench/startup.mjs"],
        &env,
    )
}
