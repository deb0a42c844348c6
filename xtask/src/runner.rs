//! Runs the workspace's test binaries several at a time, instead of
//! `cargo test`'s one after the other: most integration tests wait on a real
//! server, a database or a child process, so two cores stay idle while one
//! binary runs. The SQLite and PostgreSQL passes share one queue. Each
//! binary's output is kept and shown in full when it fails; the names of
//! failing tests are collected for the summary.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::Instant;

use crate::{build, proc};

/// One test executable cargo built, and where cargo would run it from.
#[derive(Clone, Debug)]
pub struct TestBinary {
    /// Its source, relative to the workspace root (`crates/server/tests/push.rs`).
    pub label: String,
    pub path: PathBuf,
    /// The package's folder: cargo runs tests there.
    pub package_dir: PathBuf,
}

/// One binary to run in one pass (`sqlite`, `postgresql`) with its environment.
pub struct Job {
    pub pass: &'static str,
    pub binary: TestBinary,
    pub env: Vec<(&'static str, String)>,
}

/// The test binaries of the workspace, built if needed (nothing is, after
/// `build::binaries`), as cargo lists them.
pub fn list(root: &Path) -> Result<Vec<TestBinary>, String> {
    let out = Command::new("cargo")
        .args([
            "test",
            "--workspace",
            "--no-run",
            "--features",
            build::FEATURES,
            "--message-format=json-render-diagnostics",
        ])
        .current_dir(root)
        .envs(build::cargo_env(root)?)
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot start cargo: {e}"))?;
    if !out.status.success() {
        return Err(format!("`cargo test --no-run` failed ({})", out.status));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    Ok(stdout
        .lines()
        .filter_map(|l| test_binary(root, l))
        .collect())
}

/// A test executable from one line of cargo's JSON messages.
fn test_binary(root: &Path, line: &str) -> Option<TestBinary> {
    let msg: serde_json::Value = serde_json::from_str(line).ok()?;
    if msg["reason"] != "compiler-artifact" || msg["profile"]["test"] != true {
        return None;
    }
    let path = PathBuf::from(msg["executable"].as_str()?);
    let manifest = Path::new(msg["manifest_path"].as_str()?);
    let src = Path::new(msg["target"]["src_path"].as_str()?);
    let label = src.strip_prefix(root).unwrap_or(src).display().to_string();
    Some(TestBinary {
        label,
        path,
        package_dir: manifest.parent()?.to_path_buf(),
    })
}

/// What a run of every job found.
pub struct Outcome {
    /// `[pass] label: test` for each failing test (or the binary when it
    /// failed without naming a test: a crash, a panic outside a test).
    pub failed: Vec<String>,
}

/// Runs every job, `parallel` at a time, longest first by the times the
/// last run recorded (in the target dir; only the order depends on them).
pub fn run(root: &Path, jobs: Vec<Job>, parallel: usize) -> Outcome {
    let times_file = build::target_dir(root).join("xtask-test-times.tsv");
    let known = read_times(&times_file);
    let mut jobs = jobs;
    // Unknown binaries first: a new one may be the longest.
    jobs.sort_by(|a, b| {
        let ta = known_time(&known, a);
        let tb = known_time(&known, b);
        tb.partial_cmp(&ta).unwrap_or(std::cmp::Ordering::Equal)
    });
    let total = jobs.len();
    let queue = Mutex::new(jobs.into_iter().collect::<VecDeque<_>>());
    let failed = Mutex::new(Vec::new());
    let times = Mutex::new(Vec::new());
    let done = Mutex::new(0usize);
    std::thread::scope(|s| {
        for _ in 0..parallel.max(1) {
            s.spawn(|| loop {
                let Some(job) = queue.lock().unwrap().pop_front() else {
                    break;
                };
                let (secs, job_failed) = run_one(&job, &done, total);
                times
                    .lock()
                    .unwrap()
                    .push((key(job.pass, &job.binary.label), secs));
                failed.lock().unwrap().extend(job_failed);
            });
        }
    });
    write_times(&times_file, &times.into_inner().unwrap());
    Outcome {
        failed: failed.into_inner().unwrap(),
    }
}

fn key(pass: &str, label: &str) -> String {
    format!("{pass}\t{label}")
}

fn known_time(known: &[(String, f64)], job: &Job) -> f64 {
    let k = key(job.pass, &job.binary.label);
    known
        .iter()
        .find(|(l, _)| *l == k)
        .map(|(_, t)| *t)
        .unwrap_or(f64::MAX)
}

/// Runs one binary to the end; returns its wall time and its failures.
fn run_one(job: &Job, done: &Mutex<usize>, total: usize) -> (f64, Vec<String>) {
    let t0 = Instant::now();
    let out = Command::new(&job.binary.path)
        .current_dir(&job.binary.package_dir)
        .env("CARGO_MANIFEST_DIR", &job.binary.package_dir)
        .envs(job.env.iter().map(|(k, v)| (*k, v.as_str())))
        .output();
    let secs = t0.elapsed().as_secs_f64();
    let at = format!("[{}] {}", job.pass, job.binary.label);
    let mut failed = Vec::new();
    let (ok, stdout, stderr) = match out {
        Ok(o) => (
            o.status.success(),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&o.stderr),
                if o.status.success() {
                    String::new()
                } else {
                    format!("(exit: {})\n", o.status)
                }
            ),
        ),
        Err(e) => (false, String::new(), format!("cannot start it: {e}\n")),
    };
    for line in stdout.lines() {
        if let Some(name) = proc::failed_test(line) {
            let name = format!("{at}: {name}");
            if !failed.contains(&name) {
                failed.push(name);
            }
        }
    }
    if !ok && failed.is_empty() {
        failed.push(format!("{at}: the binary failed outside a test"));
    }
    let n = {
        let mut d = done.lock().unwrap();
        *d += 1;
        *d
    };
    let verdict = if ok { "ok" } else { "FAILED" };
    let summary = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with("test result:"))
        .unwrap_or("");
    // One lock for the whole report, so two binaries' output never mix.
    let _guard = REPORT.lock().unwrap();
    println!("[{n:>3}/{total}] {verdict:<6} {secs:>6.1} s  {at}  {summary}");
    if !ok {
        println!("{stdout}");
        eprintln!("{stderr}");
    }
    (secs, failed)
}

static REPORT: Mutex<()> = Mutex::new(());

fn read_times(path: &Path) -> Vec<(String, f64)> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let (k, t) = l.rsplit_once('\t')?;
            Some((k.to_string(), t.parse().ok()?))
        })
        .collect()
}

fn write_times(path: &Path, times: &[(String, f64)]) {
    let body: String = times
        .iter()
        .map(|(k, t)| format!("{k}\t{t:.2}\n"))
        .collect();
    // Only the order of the next run depends on it: a failed write costs nothing.
    let _ = std::fs::write(path, body);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_executables_are_read_from_cargo_messages() {
        let root = Path::new("/w");
        let line = r#"{"reason":"compiler-artifact","package_id":"path+file:///w/crates/server#warmlead-server@0.1.0","manifest_path":"/w/crates/server/Cargo.toml","target":{"kind":["test"],"name":"push","src_path":"/w/crates/server/tests/push.rs"},"profile":{"test":true},"executable":"/t/debug/deps/push-1"}"#;
        let b = test_binary(root, line).expect("a test binary");
        assert_eq!(b.label, "crates/server/tests/push.rs");
        assert_eq!(b.path, PathBuf::from("/t/debug/deps/push-1"));
        assert_eq!(b.package_dir, PathBuf::from("/w/crates/server"));
        // A library built for the tests, not a test: no executable.
        let lib = r#"{"reason":"compiler-artifact","manifest_path":"/w/crates/core/Cargo.toml","target":{"src_path":"/w/crates/core/src/lib.rs"},"profile":{"test":false},"executable":null}"#;
        assert!(test_binary(root, lib).is_none());
        assert!(test_binary(root, r#"{"reason":"build-finished","success":true}"#).is_none());
    }

    #[test]
    fn recorded_times_order_the_next_run_longest_first() {
        let dir = std::env::temp_dir().join(format!("xtask-times-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("t.tsv");
        write_times(
            &file,
            &[(key("sqlite", "a.rs"), 1.5), (key("sqlite", "b.rs"), 9.0)],
        );
        let known = read_times(&file);
        let job = |label: &str| Job {
            pass: "sqlite",
            binary: TestBinary {
                label: label.into(),
                path: "x".into(),
                package_dir: "/".into(),
            },
            env: Vec::new(),
        };
        assert_eq!(known_time(&known, &job("b.rs")), 9.0);
        assert_eq!(known_time(&known, &job("a.rs")), 1.5);
        assert_eq!(known_time(&known, &job("new.rs")), f64::MAX);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
