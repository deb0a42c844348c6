//! `cargo xtask test`: every suite, in the order a failure is cheapest to see.
//! Each suite runs even when an earlier one failed (except those that need a
//! build that failed), and the summary names what failed.

use std::path::Path;

use crate::{build, postgres, proc, setup};

type Suite = (&'static str, fn(&Path) -> Result<(), String>);

/// Every failing test the suites reported, with its suite, for the summary.
static FAILED_TESTS: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

/// Runs a test runner, keeping the names of its failing tests for the end.
fn tests(
    suite: &str,
    dir: &Path,
    program: &str,
    args: &[&str],
    env: &[(&str, String)],
) -> Result<(), String> {
    let (result, failed) = proc::run_tests(dir, program, args, env);
    let mut all = FAILED_TESTS.lock().unwrap();
    all.extend(failed.into_iter().map(|t| format!("[{suite}] {t}")));
    result
}

const SUITES: &[Suite] = &[
    ("rustfmt", fmt),
    ("ui typecheck", |r| npm(r, "typecheck")),
    ("ui lint", |r| npm(r, "lint")),
    ("ui unit tests", |r| npm(r, "test")),
    ("ui build", build::ui),
    ("build binaries", build::binaries),
    ("clippy", clippy),
    ("rust tests", rust_tests),
    (
        "rust tests on postgresql (server + sync conformance)",
        rust_tests_postgres,
    ),
    ("e2e: public pages in chromium, app under webdriver", e2e),
];

pub fn run(root: &Path, args: &[String]) -> Result<(), String> {
    // What each step cost, printed at the end (docs/benchmarks.md keeps a
    // run's figures).
    let mut took: Vec<(&str, u64)> = Vec::new();
    let started = std::time::Instant::now();
    if !args.iter().any(|a| a == "--skip-setup") {
        setup::run(root)?;
        took.push((
            "setup (apt, npm, tauri-driver)",
            started.elapsed().as_secs(),
        ));
    }
    let mut failed = Vec::new();
    for (name, suite) in SUITES {
        println!("\n==> {name}");
        let t0 = std::time::Instant::now();
        let needs_build =
            name.starts_with("e2e") || *name == "clippy" || name.starts_with("rust tests");
        let build_failed = failed
            .iter()
            .any(|f: &&str| *f == "ui build" || *f == "build binaries");
        if needs_build && build_failed {
            println!("skipped: a build it needs failed");
            failed.push(*name);
            continue;
        }
        if let Err(e) = suite(root) {
            eprintln!("FAILED {name}: {e}");
            failed.push(*name);
        }
        took.push((name, t0.elapsed().as_secs()));
    }
    println!("\ntime per suite:");
    for (name, secs) in &took {
        println!("  {secs:>5} s  {name}");
    }
    println!("  {:>5} s  in all", started.elapsed().as_secs());
    let failed_tests = FAILED_TESTS.lock().unwrap();
    if !failed_tests.is_empty() {
        println!("\nfailing tests:");
        for t in failed_tests.iter() {
            println!("  {t}");
        }
    }
    let passed = SUITES.len() - failed.len();
    println!(
        "\nxtask test suites: {passed} passed, {} failed",
        failed.len()
    );
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!("failed suites: {}", failed.join(", ")))
    }
}

fn fmt(root: &Path) -> Result<(), String> {
    proc::run(root, "cargo", &["fmt", "--all", "--check"])
}

fn npm(root: &Path, script: &str) -> Result<(), String> {
    proc::run(&root.join("ui"), "npm", &["run", script])
}

fn clippy(root: &Path) -> Result<(), String> {
    proc::run(
        root,
        "cargo",
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--features",
            build::APP_FEATURES,
            "--",
            "-D",
            "warnings",
        ],
    )
}

/// One PostgreSQL cluster for every test process (they each make their own
/// databases in it), stopped when the suite ends.
fn rust_tests(root: &Path) -> Result<(), String> {
    let pg = postgres::TestPostgres::start()?;
    let env = [(postgres::URL_ENV, pg.url())];
    // Every test binary runs even when one fails; the names come at the end.
    tests(
        "rust",
        root,
        "cargo",
        &[
            "test",
            "--workspace",
            "--no-fail-fast",
            "--features",
            build::APP_FEATURES,
        ],
        &env,
    )
}

/// The storage conformance run: the server's and the cross-program tests
/// again, every test server on a fresh PostgreSQL database of its own
/// (`warmlead_server::testing::BACKEND_ENV`), so both backends pass the
/// same suite.
fn rust_tests_postgres(root: &Path) -> Result<(), String> {
    let pg = postgres::TestPostgres::start()?;
    let env = [
        (postgres::URL_ENV, pg.url()),
        ("WARMLEAD_TEST_BACKEND", "postgres".to_string()),
    ];
    tests(
        "postgresql",
        root,
        "cargo",
        &[
            "test",
            "--no-fail-fast",
            "-p",
            "warmlead-server",
            "-p",
            "warmlead-tests",
        ],
        &env,
    )
}

/// Node's test runner drives the real server binary, Debian's Chromium and
/// the built app under tauri-driver + WebKitWebDriver in Xvfb.
fn e2e(root: &Path) -> Result<(), String> {
    let env = [
        (
            "WARMLEAD_SERVER_BIN",
            build::server_bin(root).display().to_string(),
        ),
        (
            "WARMLEAD_APP_BIN",
            build::app_bin(root).display().to_string(),
        ),
        ("TAURI_DRIVER_BIN", tauri_driver().display().to_string()),
    ];
    tests(
        "e2e",
        &root.join("tests/e2e"),
        "node",
        &["--test", "--test-concurrency=1", "--test-reporter=spec"],
        &env,
    )
}

pub fn tauri_driver() -> std::path::PathBuf {
    let installed = setup::cargo_bin("tauri-driver");
    if installed.exists() {
        installed
    } else {
        "tauri-driver".into()
    }
}
