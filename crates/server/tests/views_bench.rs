//! A measurement, not a check run by default: durable views/s at saturation,
//! every beacon a NEW page view, before/after in one run.
//! `crates/server/benches/views.sh` runs it:
//!
//! ```text
//! BASELINE_BIN=/path/to/old/warmlead-server crates/server/benches/views.sh
//! ```
//!
//! Per binary (the baseline first, if `WARMLEAD_BENCH_BASELINE_BIN` names
//! one, then `WARMLEAD_BENCH_BIN`): the server on a fresh database with the
//! demo company (a fresh SQLite file, or the empty PostgreSQL databases
//! `WARMLEAD_BENCH_BASELINE_DATABASE_URL` / `WARMLEAD_BENCH_DATABASE_URL`),
//! and wrk (one thread, `WARMLEAD_BENCH_CONNECTIONS` closed-loop connections,
//! `WARMLEAD_BENCH_SECS` seconds). With `WARMLEAD_BENCH_SERVER_CPU` and
//! `WARMLEAD_BENCH_LOAD_CPU` each is pinned to its core (`taskset`).
//! Every beacon is a new page view (`benches/views.lua`) of one of `SHARES`
//! shares signed with the demo partner's device key: a new visit, its
//! `view` signal and change-log rows (and the share row on its first view).
//! A 204 is sent only once the view is durable, so after the load every 204
//! must be a stored view. The server's CPU time and bytes written during
//! the load (`/proc`) and the writer's own time (its log lines) say where
//! the time goes.
mod common;
mod process;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use process::{wait_healthy, Setup, WriterLog};
use warmlead_core::api::ActivateResponse;
use warmlead_core::token::UnverifiedToken;
use warmlead_server::testing::TestSql;

/// Shares the views are spread over: few enough views per share a minute
/// from one address for the burst filter (30), and all in the share cache.
const SHARES: u64 = 45_000;

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_string())
}

/// `program` pinned to the core named by `cpu_var`, when it names one.
fn pinned(cpu_var: &str, program: &str) -> Command {
    match std::env::var(cpu_var).ok().filter(|c| !c.is_empty()) {
        Some(cpu) => {
            let mut c = Command::new("taskset");
            c.args(["-c", &cpu, program]);
            c
        }
        None => Command::new(program),
    }
}

/// One run's figures.
#[derive(Debug, Default, Clone)]
struct Figures {
    label: String,
    acked: i64,
    refused: i64,
    secs: f64,
    p50: String,
    p99: String,
    stored_views: i64,
    server_cpu_secs: f64,
    server_write_bytes: u64,
    wal_bytes: u64,
    /// The server's peak resident memory (VmHWM), in KiB.
    peak_rss_kib: u64,
    log: WriterLog,
}

impl Figures {
    fn rate(&self) -> f64 {
        self.acked as f64 / self.secs
    }
}

/// Peak resident memory of a process (VmHWM), in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// utime + stime of a process, in seconds.
fn cpu_secs(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command's closing parenthesis; utime, stime are 14, 15.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

/// Bytes the process has written through `write` and friends (`wchar`).
fn written_bytes(pid: u32) -> u64 {
    let io = std::fs::read_to_string(format!("/proc/{pid}/io")).unwrap_or_default();
    io.lines()
        .find_map(|l| l.strip_prefix("wchar:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// The demo partner's device (its id and share key) and the item of one of
/// its shares, activated through `bin`'s own CLI (a baseline binary may
/// have an older schema than this build's in-process server).
async fn partner_device(bin: &str, db_url: &str, base: &str) -> Setup {
    let out = Command::new(bin)
        .args(["demo-code", "--database-url", db_url, "--role", "partner"])
        .output()
        .unwrap();
    assert!(out.status.success(), "demo-code: {out:?}");
    let code = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let http = reqwest::Client::new();
    let act: ActivateResponse = http
        .post(format!("{base}/api/v1/activate"))
        .json(&serde_json::json!({"code": code, "device_name": "bench"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let pull: serde_json::Value = http
        .get(format!("{base}/api/v1/sync/pull?after=0&limit=1000"))
        .bearer_auth(&act.device_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = pull["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["entity"] == "share")
        .and_then(|c| c["data"]["token"].as_str())
        .expect("a demo share")
        .to_string();
    Setup {
        device_id: act.device_id as u64,
        share_key: URL_SAFE_NO_PAD.decode(&act.share_key).unwrap(),
        item_id: UnverifiedToken::parse(&token).unwrap().claim.item_id,
    }
}

/// `SHARES` share tokens of the partner's device, one per line.
fn write_tokens(path: &std::path::Path, setup: &Setup) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    for n in 0..SHARES {
        writeln!(f, "{}", setup.token(1_000_000 + n)).unwrap();
    }
}

/// One whole run of `bin` on `db_url` (None: a fresh SQLite file).
async fn run(label: &str, bin: &str, db_url: Option<String>) -> Figures {
    let dir = tempfile::tempdir().unwrap();
    let db_url =
        db_url.unwrap_or_else(|| format!("sqlite://{}", dir.path().join("server.db").display()));
    let port = process::free_port();
    let base = format!("http://127.0.0.1:{port}");
    let log_path = dir.path().join("server.log");
    let mut server = pinned("WARMLEAD_BENCH_SERVER_CPU", bin)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .args(["--database-url", &db_url, "--demo"])
        .env("RUST_LOG", "warn,warmlead_server::storage::track=debug")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .unwrap();
    wait_healthy(&base, Duration::from_secs(60)).await;
    let setup = partner_device(bin, &db_url, &base).await;
    let tokens_path = dir.path().join("tokens.txt");
    write_tokens(&tokens_path, &setup);
    let sql = TestSql::new(&db_url);
    let views = "SELECT COUNT(*) FROM signals WHERE kind = 'view'";
    let views_before = sql.i64(views).await;
    let secs: u64 = env_or("WARMLEAD_BENCH_SECS", "30").parse().unwrap();
    let lua = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/views.lua");
    let (cpu_before, written_before) = (cpu_secs(server.id()), written_bytes(server.id()));
    let wrk = pinned("WARMLEAD_BENCH_LOAD_CPU", "wrk")
        .arg("-t1")
        .arg(format!("-c{}", env_or("WARMLEAD_BENCH_CONNECTIONS", "256")))
        .arg(format!("-d{secs}s"))
        .args(["--latency", "--timeout", "30s", "-s", lua])
        .arg(format!("{base}/t/beacon"))
        .env("WL_TOKENS", &tokens_path)
        .stdout(Stdio::piped())
        .spawn()
        .expect("wrk (apt-get install -y wrk)");
    let wrk_out = tokio::task::spawn_blocking(move || wrk.wait_with_output().unwrap())
        .await
        .unwrap();
    assert!(wrk_out.status.success(), "wrk: {wrk_out:?}");
    let server_cpu = cpu_secs(server.id()) - cpu_before;
    let server_written = written_bytes(server.id()) - written_before;
    let text = String::from_utf8_lossy(&wrk_out.stdout).to_string();
    eprintln!("{text}");
    let number = |name: &str| -> i64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    };
    let latency = |pct: &str| -> String {
        text.lines()
            .find_map(|l| {
                let mut w = l.split_whitespace();
                (w.next() == Some(pct)).then(|| w.next().unwrap_or("").to_string())
            })
            .unwrap_or_default()
    };
    let stored_views = sql.i64(views).await - views_before;
    // A WAL that never restarts grows with everything written.
    let wal_bytes = std::fs::metadata(dir.path().join("server.db-wal")).map_or(0, |m| m.len());
    let peak_rss_kib = peak_rss_kib(server.id());
    let _ = server.kill();
    let _ = server.wait();
    if let Ok(keep) = std::env::var("WARMLEAD_BENCH_KEEP") {
        let keep = std::path::Path::new(&keep).join(label);
        std::fs::create_dir_all(&keep).unwrap();
        for f in ["server.db", "server.db-wal", "server.log"] {
            let _ = std::fs::copy(dir.path().join(f), keep.join(f));
        }
    }
    let f = Figures {
        label: label.to_string(),
        acked: number("ACCEPTED"),
        refused: number("REFUSED"),
        secs: secs as f64,
        p50: latency("50%"),
        p99: latency("99%"),
        stored_views,
        server_cpu_secs: server_cpu,
        server_write_bytes: server_written,
        wal_bytes,
        peak_rss_kib,
        log: WriterLog::read(&log_path),
    };
    eprintln!(
        "{label}: {:.0} durable views/s (p50 {}, p99 {}), {} refused, {} stored; server CPU {:.0} us \
         and {:.1} KiB written per view; WAL file {} MiB at the end; peak memory {} MiB; {}",
        f.rate(),
        f.p50,
        f.p99,
        f.refused,
        f.stored_views,
        1e6 * f.server_cpu_secs / f.acked.max(1) as f64,
        f.server_write_bytes as f64 / 1024.0 / f.acked.max(1) as f64,
        f.wal_bytes / (1024 * 1024),
        f.peak_rss_kib / 1024,
        f.log.describe()
    );
    assert!(f.acked > 0, "{label}: no view was acknowledged");
    // Acknowledged means stored.
    assert!(
        f.stored_views >= f.acked,
        "{label}: {} acknowledged, {} stored",
        f.acked,
        f.stored_views
    );
    f
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "a measurement: run crates/server/benches/views.sh"]
async fn durable_views_per_second_before_and_after() {
    let mut all = Vec::new();
    if let Ok(old) = std::env::var("WARMLEAD_BENCH_BASELINE_BIN") {
        let url = std::env::var("WARMLEAD_BENCH_BASELINE_DATABASE_URL").ok();
        all.push(run("before", &old, url).await);
    }
    let url = std::env::var("WARMLEAD_BENCH_DATABASE_URL").ok();
    let bin = std::env::var("WARMLEAD_BENCH_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_warmlead-server").to_string());
    all.push(run("after", &bin, url).await);
    eprintln!("\n| binary | durable views/s | p50 | p99 | server CPU us per view | KiB written per view | WAL at the end | peak memory |");
    eprintln!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for f in &all {
        eprintln!(
            "| {} | {:.0} | {} | {} | {:.0} | {:.1} | {} MiB | {} MiB |",
            f.label,
            f.rate(),
            f.p50,
            f.p99,
            1e6 * f.server_cpu_secs / f.acked.max(1) as f64,
            f.server_write_bytes as f64 / 1024.0 / f.acked.max(1) as f64,
            f.wal_bytes / (1024 * 1024),
            f.peak_rss_kib / 1024
        );
    }
    if let [before, after] = &all[..] {
        eprintln!("ratio after/before: {:.2}", after.rate() / before.rate());
    }
    for f in &all {
        eprintln!("{}: {}", f.label, f.log.describe());
    }
}
