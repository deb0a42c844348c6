//! `cargo xtask test`: every suite, in the order a failure is cheapest to see.
//! Each suite runs even when an earlier one failed (except those that need a
//! build that failed), and the summary names what failed.

use std::path::Path;

use crate::{build, postgres, proc, runner, setup};

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
    ("build binaries (clippy lints as it compiles)", binaries),
    ("clippy", |_| build::lints(&WARNINGS.lock().unwrap())),
    (
        "rust tests: every binary on SQLite, the server's and the cross-program ones again on PostgreSQL",
        rust_tests,
    ),
    ("e2e: public pages in chromium, app under webdriver", e2e),
];

/// The warnings the build reported, for the clippy step's verdict.
static WARNINGS: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

fn binaries(root: &Path) -> Result<(), String> {
    crate::features::check_shared(root)?;
    *WARNINGS.lock().unwrap() = build::binaries(root)?;
    Ok(())
}

pub fn run(root: &Path, args: &[String]) -> Result<(), String> {
    // What each step cost, printed at the end (docs/benchmarks.md keeps a
    // run's figures).
    let mut took: Vec<(&str, u64)> = Vec::new();
    let started = std::time::Instant::now();
    if !args.iter().any(|a| a == "--skip-setup") {
        setup::run(root, setup::Scope::Test)?;
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
            .any(|f: &&str| *f == "ui build" || f.starts_with("build binaries"));
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

/// Both storage passes in one queue of test binaries, run several at a time
/// (`runner`): every binary against SQLite, then the server's and the
/// cross-program tests again with every test server on a fresh PostgreSQL
/// database of its own (`warmlead_server::testing::BACKEND_ENV`), so both
/// backends pass the same suite. One PostgreSQL cluster serves every test
/// process (each makes its own databases in it) and stops at the end.
fn rust_tests(root: &Path) -> Result<(), String> {
    no_doc_tests(root)?;
    let binaries = runner::list(root)?;
    let pg = postgres::TestPostgres::start()?;
    let mut jobs = Vec::new();
    for b in &binaries {
        jobs.push(runner::Job {
            pass: "sqlite",
            binary: b.clone(),
            env: vec![(postgres::URL_ENV, pg.url())],
        });
    }
    for b in binaries.iter().filter(|b| on_both_backends(&b.label)) {
        jobs.push(runner::Job {
            pass: "postgresql",
            binary: b.clone(),
            env: vec![
                (postgres::URL_ENV, pg.url()),
                ("WARMLEAD_TEST_BACKEND", "postgres".to_string()),
            ],
        });
    }
    let parallel = parallel_binaries();
    println!(
        "{} test binaries, {} runs, {parallel} at a time (WARMLEAD_TEST_JOBS)",
        binaries.len(),
        jobs.len()
    );
    let outcome = runner::run(root, jobs, parallel);
    let n = outcome.failed.len();
    FAILED_TESTS
        .lock()
        .unwrap()
        .extend(outcome.failed.into_iter().map(|t| format!("[rust] {t}")));
    if n == 0 {
        Ok(())
    } else {
        Err(format!("{n} failing test(s) or binaries"))
    }
}

/// The server's own tests and the cross-program ones run on both backends.
fn on_both_backends(label: &str) -> bool {
    label.starts_with("crates/server/") || label.starts_with("tests/")
}

/// Test binaries at once: the cores plus one, since most tests wait on a
/// server, a database or a child process.
fn parallel_binaries() -> usize {
    std::env::var("WARMLEAD_TEST_JOBS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get() + 1)
                .unwrap_or(3)
        })
}

/// The runner starts test executables itself, which leaves out doc tests
/// (rustdoc compiles those). The workspace has none; one added later fails
/// here instead of being skipped without a word.
fn no_doc_tests(root: &Path) -> Result<(), String> {
    let mut found = Vec::new();
    for dir in ["crates", "src-tauri", "tests", "xtask"] {
        find_doc_tests(&root.join(dir), &mut found);
    }
    if found.is_empty() {
        return Ok(());
    }
    Err(format!(
        "doc tests are not run by `cargo xtask test`: write these as unit tests, or mark the block `text`:\n  {}",
        found.join("\n  ")
    ))
}

fn find_doc_tests(dir: &Path, found: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let path = e.path();
        if path.is_dir() {
            if !path.ends_with("node_modules") && !path.ends_with("target") {
                find_doc_tests(&path, found);
            }
        } else if path.extension().is_some_and(|x| x == "rs") {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            for line in doc_test_lines(&text) {
                found.push(format!("{}:{line}", path.display()));
            }
        }
    }
}

/// The lines (1-based) where a doc comment opens a block rustdoc would
/// compile and run: ``` or ```rust (not ```text, ```sql, ```ignore ...).
/// Fences pair up, so the fence that closes a text block is not taken for
/// one that opens a test.
fn doc_test_lines(text: &str) -> Vec<usize> {
    let mut found = Vec::new();
    let mut open = false;
    for (i, line) in text.lines().enumerate() {
        let t = line.trim_start();
        let Some(rest) = t.strip_prefix("///").or_else(|| t.strip_prefix("//!")) else {
            continue;
        };
        let Some(lang) = rest.trim().strip_prefix("```") else {
            continue;
        };
        if !open
            && matches!(
                lang.trim(),
                "" | "rust" | "should_panic" | "no_run" | "compile_fail"
            )
        {
            found.push(i + 1);
        }
        open = !open;
    }
    found
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
        &[
            "--test",
            &format!("--test-concurrency={}", e2e_jobs()),
            "--test-reporter=spec",
        ],
        &env,
    )
}

/// End-to-end files at once. Each file has its own server, data
/// directories, free ports and Xvfb display (tests/e2e/lib), so they can
/// overlap; `WARMLEAD_E2E_JOBS=1` runs them one by one.
fn e2e_jobs() -> usize {
    std::env::var("WARMLEAD_E2E_JOBS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2)
}

pub fn tauri_driver() -> std::path::PathBuf {
    let installed = setup::cargo_bin("tauri-driver");
    if installed.exists() {
        installed
    } else {
        "tauri-driver".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doc_test_fences_are_told_from_text_blocks() {
        let cases: [(&str, &[usize]); 6] = [
            ("/// ```\n/// f();\n/// ```", &[1]),
            ("    /// ```rust\n    /// ```", &[1]),
            ("//! ```no_run\n//! ```", &[1]),
            ("/// ```text\n/// a\n/// ```\n/// ```sql\n/// ```", &[]),
            ("// ```\n// ```", &[]),
            ("let s = \"```\";", &[]),
        ];
        for (text, want) in cases {
            assert_eq!(doc_test_lines(text), want, "{text}");
        }
    }
}
