//! Running commands with the output visible and errors that say what failed.

use std::path::Path;
use std::process::{Child, Command, Stdio};

/// Runs a program to completion, inheriting stdio; fails with the command line.
pub fn run(dir: &Path, program: &str, args: &[&str]) -> Result<(), String> {
    run_env(dir, program, args, &[])
}

pub fn run_env(
    dir: &Path,
    program: &str,
    args: &[&str],
    env: &[(&str, String)],
) -> Result<(), String> {
    println!("$ {program} {}", args.join(" "));
    let status = Command::new(program)
        .args(args)
        .current_dir(dir)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .status()
        .map_err(|e| format!("cannot start {program}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{program} {}` failed ({status})", args.join(" ")))
    }
}

/// Starts a program, echoing its command line, with stderr piped to the
/// caller (and stdout as `stdout` says).
fn spawn_piped(
    dir: &Path,
    program: &str,
    args: &[&str],
    env: &[(&str, String)],
    stdout: Stdio,
) -> std::io::Result<std::process::Child> {
    println!("$ {program} {}", args.join(" "));
    Command::new(program)
        .args(args)
        .current_dir(dir)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(stdout)
        .stderr(Stdio::piped())
        .spawn()
}

/// Runs a program like [`run_env`], echoing its stderr as it comes and
/// keeping its lines (cargo's diagnostics) for the caller to read.
pub fn run_keeping_stderr(
    dir: &Path,
    program: &str,
    args: &[&str],
    env: &[(&str, String)],
) -> (Result<(), String>, Vec<String>) {
    use std::io::{BufRead, BufReader};
    let mut child = match spawn_piped(dir, program, args, env, Stdio::inherit()) {
        Ok(c) => c,
        Err(e) => return (Err(format!("cannot start {program}: {e}")), Vec::new()),
    };
    let stderr = child.stderr.take().expect("piped stderr");
    let mut lines = Vec::new();
    for line in BufReader::new(stderr).lines().map_while(Result::ok) {
        eprintln!("{line}");
        lines.push(line);
    }
    let result = match child.wait() {
        Ok(s) if s.success() => Ok(()),
        Ok(s) => Err(format!("`{program} {}` failed ({s})", args.join(" "))),
        Err(e) => Err(format!("`{program}`: {e}")),
    };
    (result, lines)
}

/// Runs a program and returns its trimmed stdout.
pub fn output(dir: &Path, program: &str, args: &[&str]) -> Result<String, String> {
    output_env(dir, program, args, &[])
}

/// [`output`] with extra environment variables.
pub fn output_env(
    dir: &Path,
    program: &str,
    args: &[&str],
    env: &[(&str, String)],
) -> Result<String, String> {
    let out = Command::new(program)
        .args(args)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .current_dir(dir)
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot start {program}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "`{program} {}` failed ({})",
            args.join(" "),
            out.status
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Whether a program can be found on PATH.
pub fn on_path(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Kills a child process when dropped, so a failing step leaves no server behind.
pub struct KillOnDrop(pub Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs a test runner like [`run_env`], echoing its output as it comes, and
/// returns the names of the tests it reported failing (as `failed_test`
/// reads them from a line), each once, in order. cargo names its test
/// binary on stderr (`Running tests/x.rs`) and its results on stdout; the
/// binary is read beside the result so a name says where it failed.
pub fn run_tests(
    dir: &Path,
    program: &str,
    args: &[&str],
    env: &[(&str, String)],
) -> (Result<(), String>, Vec<String>) {
    use std::io::{BufRead, BufReader, Write};
    use std::sync::{Arc, Mutex};
    let mut child = match spawn_piped(dir, program, args, env, Stdio::piped()) {
        Ok(c) => c,
        Err(e) => return (Err(format!("cannot start {program}: {e}")), Vec::new()),
    };
    let binary = Arc::new(Mutex::new(String::new()));
    let stderr = child.stderr.take().expect("piped stderr");
    let seen = binary.clone();
    let err_thread = std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(b) = running_binary(&line) {
                *seen.lock().unwrap() = b;
            }
            let _ = writeln!(std::io::stderr(), "{line}");
        }
    });
    let mut failed: Vec<String> = Vec::new();
    let stdout = child.stdout.take().expect("piped stdout");
    for line in BufReader::new(stdout).lines().map_while(Result::ok) {
        println!("{line}");
        if let Some(name) = failed_test(&line) {
            let at = binary.lock().unwrap().clone();
            let name = if at.is_empty() {
                name
            } else {
                format!("{at}: {name}")
            };
            if !failed.contains(&name) {
                failed.push(name);
            }
        }
    }
    let _ = err_thread.join();
    let status = child.wait();
    let result = match status {
        Ok(s) if s.success() => Ok(()),
        Ok(s) => Err(format!("`{program} {}` failed ({s})", args.join(" "))),
        Err(e) => Err(format!("`{program}`: {e}")),
    };
    (result, failed)
}

/// `Running tests/sync.rs (target/...)` → `tests/sync.rs`.
fn running_binary(line: &str) -> Option<String> {
    let rest = line.trim_start().strip_prefix("Running ")?;
    Some(rest.split(" (").next().unwrap_or(rest).trim().to_string())
}

/// A failing test's name from a line of cargo's (`test a::b ... FAILED`) or
/// node's spec reporter (`✖ name (12.3ms)`, not its `✖ failing tests:`
/// heading).
pub fn failed_test(line: &str) -> Option<String> {
    let line = line.trim();
    if let Some(rest) = line.strip_prefix("test ") {
        return rest.strip_suffix(" ... FAILED").map(str::to_string);
    }
    let rest = line.strip_prefix("✖ ")?;
    if rest.starts_with("failing tests") {
        return None;
    }
    // The duration node appends, e.g. "(35065.48ms)".
    let name = match rest.rfind(" (") {
        Some(i) if rest.ends_with("ms)") => &rest[..i],
        _ => rest,
    };
    Some(name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failing_tests_are_read_from_cargo_and_node_lines() {
        let cases = [
            ("test demo::seeds ... FAILED", Some("demo::seeds")),
            ("test demo::seeds ... ok", None),
            ("test result: FAILED. 3 passed; 1 failed", None),
            (
                "✖ a share is undone (35065.483203ms)",
                Some("a share is undone"),
            ),
            ("✖ failing tests:", None),
            ("  ✖ nested (2.1ms)", Some("nested")),
            ("ℹ fail 1", None),
        ];
        for (line, want) in cases {
            assert_eq!(failed_test(line).as_deref(), want, "{line}");
        }
        assert_eq!(
            running_binary("     Running tests/demo.rs (target/debug/deps/demo-1)").as_deref(),
            Some("tests/demo.rs")
        );
        assert_eq!(running_binary("test x ... ok"), None);
    }
}
