//! `cargo xtask <command>`: the project's own commands.
//!
//! - `demo [--partner|--manager]`: install what is missing, build, start the server with demo
//!   data and open the desktop app signed in.
//! - `test`: install what is missing, then run every suite (Rust, UI, end-to-end).
//! - `bindings`: regenerate the TypeScript the UI imports: the types of `warmlead-core` and
//!   the app's command and event bridge (`ui/src/bindings/bridge.ts`).
//! - `package [--test]`: the desktop app's .deb and .rpm (release); `--test` installs
//!   the .deb here, drives the installed app, updates it to a next version from a
//!   real server and removes it (see docs/packaging.md).
//! - `bench`: binary size, app launch time and idle memory (see docs/benchmarks.md).
//! - `setup`: only install what is missing.
//! - `postgres`: a throwaway PostgreSQL cluster on a free loopback port, until Enter.

use std::path::PathBuf;
use std::process::ExitCode;

mod bench;
mod bindings;
mod build;
mod demo;
mod features;
mod package;
mod postgres;
mod proc;
mod runner;
mod setup;
mod test;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = root();
    forget_cargo_run_env();
    let rest = &args.get(1..).unwrap_or_default().to_vec();
    let result = match args.first().map(String::as_str) {
        Some("bindings") => bindings::write(&root),
        Some("setup") => setup::run(&root, setup::Scope::Test),
        Some("demo") => demo::run(&root, rest),
        Some("test") => test::run(&root, rest),
        Some("bench") => bench::run(&root),
        Some("package") => package::run(&root, rest),
        Some("postgres") => postgres::run(),
        _ => {
            eprintln!("usage: cargo xtask <demo [--partner|--manager] | test [--skip-setup] | package [--test] | bench | bindings | setup | postgres>");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root (xtask lives one level below it). `cargo run` names
/// the manifest folder at run time; the compiled-in path is only the
/// fallback, because a target dir shared between clones can hold an xtask
/// built in another clone.
fn root() -> PathBuf {
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    manifest.parent().expect("xtask has a parent").to_path_buf()
}

/// `cargo xtask` is `cargo run`, which sets CARGO_MANIFEST_DIR and the
/// CARGO_PKG_* variables for xtask. The cargo commands xtask starts would
/// pass them on to build scripts, and ring's build script runs again when
/// CARGO_MANIFEST_DIR changes: a `cargo build` typed by hand and one from
/// `cargo xtask` would each rebuild ring and the TLS stack above it.
fn forget_cargo_run_env() {
    let set_by_cargo_run: Vec<String> = std::env::vars_os()
        .filter_map(|(k, _)| k.into_string().ok())
        .filter(|k| {
            k.starts_with("CARGO_PKG_")
                || k.starts_with("CARGO_MANIFEST_")
                || matches!(
                    k.as_str(),
                    "CARGO_CRATE_NAME" | "CARGO_BIN_NAME" | "CARGO_PRIMARY_PACKAGE"
                )
        })
        .collect();
    for k in set_by_cargo_run {
        std::env::remove_var(k);
    }
}
