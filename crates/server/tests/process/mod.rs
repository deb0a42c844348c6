//! The real `warmlead-server` process on a free loopback port and a temp
//! SQLite file, and a partner device to sign share tokens offline with, for
//! the tests that kill or overload the server.
#![allow(dead_code)]

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use warmlead_core::api::{ActivateRequest, ActivateResponse, PATH_ACTIVATE};
use warmlead_core::domain::{Channel, Role};
use warmlead_core::token::ShareClaim;
use warmlead_server::{start, Config};

/// What the clients need: a partner's device identity (to sign share
/// tokens offline, as the desktop app does) and the item.
pub struct Setup {
    pub device_id: u64,
    pub share_key: Vec<u8>,
    pub item_id: u64,
}

impl Setup {
    pub fn token(&self, share_no: u64) -> String {
        ShareClaim {
            device_id: self.device_id,
            share_no,
            item_id: self.item_id,
            channel: Channel::Group,
        }
        .sign(&self.share_key)
    }
}

/// Company, partner, item and an activated device, made in-process on the
/// database file the server process will then use.
pub async fn prepare(db_url: &str) -> Setup {
    let server = start(Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        database_url: db_url.to_string(),
        public_url: None,
        demo: false,
    })
    .await
    .unwrap();
    let a = server.admin();
    let company = a.create_company("暖居装修").await.unwrap();
    let rep = a
        .create_user(company.id, Role::Rep, "李明", None, None)
        .await
        .unwrap();
    let partner = a
        .create_user(company.id, Role::Partner, "张三", None, Some(rep.id))
        .await
        .unwrap();
    let item = a
        .create_content_item(company.id, super::common::article("装修避坑指南"))
        .await
        .unwrap();
    let code = a.create_activation_code(partner.id).await.unwrap();
    let act: ActivateResponse = reqwest::Client::new()
        .post(format!("{}{PATH_ACTIVATE}", server.base_url()))
        .json(&ActivateRequest {
            code,
            device_name: "kill -9 test".into(),
        })
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    server.shutdown().await;
    Setup {
        device_id: act.device_id as u64,
        share_key: URL_SAFE_NO_PAD.decode(&act.share_key).unwrap(),
        item_id: item.id as u64,
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The server process; killed (SIGKILL) when dropped, also when a test fails.
pub struct Server(Child);

impl Server {
    pub fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

pub async fn spawn_server(db_url: &str) -> (Server, String) {
    spawn_server_with(db_url, &[]).await
}

/// Where the server's log goes: the file named by `WARMLEAD_BENCH_SERVER_LOG`
/// (a measurement reading the writer's batch sizes and times), else nowhere.
fn server_log() -> Stdio {
    match std::env::var("WARMLEAD_BENCH_SERVER_LOG") {
        Ok(path) => std::fs::File::create(path).unwrap().into(),
        Err(_) => Stdio::null(),
    }
}

fn server_log_filter() -> &'static str {
    match std::env::var("WARMLEAD_BENCH_SERVER_LOG") {
        Ok(_) => "error,warmlead_server::storage::track=debug",
        Err(_) => "error",
    }
}

/// `spawn_server` with more `serve` arguments (e.g. `--media-dir`).
pub async fn spawn_server_with(db_url: &str, args: &[&str]) -> (Server, String) {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_warmlead-server"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .args(["--database-url", db_url])
        .args(args)
        .env("RUST_LOG", server_log_filter())
        .stdout(Stdio::null())
        .stderr(server_log())
        .spawn()
        .unwrap();
    let child = Server(child);
    let base = format!("http://127.0.0.1:{port}");
    wait_healthy(&base, Duration::from_secs(20)).await;
    (child, base)
}

/// Polls `/healthz` until the server at `base` answers, for at most `within`.
pub async fn wait_healthy(base: &str, within: Duration) {
    let http = reqwest::Client::new();
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Ok(r) = http.get(format!("{base}/healthz")).send().await {
            if r.status().is_success() {
                return;
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "server did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// What the writer logged: batches, events in them, and the milliseconds
/// its transactions took (from statement to commit, fsync included).
#[derive(Debug, Default, Clone, Copy)]
pub struct WriterLog {
    pub batches: u64,
    pub events: u64,
    pub ms: u64,
}

impl WriterLog {
    pub fn read(path: &std::path::Path) -> WriterLog {
        let text = strip_ansi(&std::fs::read_to_string(path).unwrap_or_default());
        let field = |line: &str, name: &str| -> Option<u64> {
            let at = line.find(name)? + name.len();
            let digits: String = line[at..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            digits.parse().ok()
        };
        let mut log = WriterLog::default();
        for line in text
            .lines()
            .filter(|l| l.contains("tracking batch written"))
        {
            if let (Some(events), Some(ms)) = (field(line, "events="), field(line, "ms=")) {
                log.batches += 1;
                log.events += events;
                log.ms += ms;
            }
        }
        log
    }

    /// The writer's milliseconds per event and the views/s that would make
    /// if it were busy all the time.
    pub fn describe(&self) -> String {
        if self.events == 0 {
            return "no writer log".into();
        }
        let us = 1000.0 * self.ms as f64 / self.events as f64;
        format!(
            "writer: {} batches of {:.0} events on average, {us:.0} us per event \
             (its ceiling alone: {:.0} views/s)",
            self.batches,
            self.events as f64 / self.batches as f64,
            1e6 / us.max(1e-9)
        )
    }
}

/// The log without its colour codes (`ESC [ ... m`), which sit between a
/// field's name and its `=`.
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}
