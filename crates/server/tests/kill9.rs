//! Acknowledged means stored: the real `warmlead-server` process is killed
//! with SIGKILL while clients post beacons; after a restart, every beacon it
//! answered 204 is in the database (as a view, or counted as filtered), and
//! every sharer's own visit it answered is remembered.
#![cfg(unix)]
mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use warmlead_core::api::{ActivateRequest, ActivateResponse, PATH_ACTIVATE};
use warmlead_core::botfilter::own_link_proof;
use warmlead_core::domain::{Channel, Role};
use warmlead_core::token::ShareClaim;
use warmlead_server::{start, Config};

const VIEW_CLIENTS: usize = 6;
/// Stop after this many acknowledged writes at the latest (bounded loop).
const KILL_AFTER: i64 = 400;

/// What the clients need: a partner's device identity (to sign share
/// tokens offline, as the desktop app does) and the item.
struct Setup {
    device_id: u64,
    share_key: Vec<u8>,
    item_id: u64,
}

impl Setup {
    fn token(&self, share_no: u64) -> String {
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
async fn prepare(db_url: &str) -> Setup {
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
        .create_content_item(company.id, common::article("装修避坑指南"))
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

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The server process; killed (SIGKILL) when dropped, also when a test fails.
struct Server(Child);

impl Server {
    fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

async fn spawn_server(db_url: &str) -> (Server, String) {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_warmlead-server"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .args(["--database-url", db_url])
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let child = Server(child);
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(r) = http.get(format!("{base}/healthz")).send().await {
            if r.status().is_success() {
                return (child, base);
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "server did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[derive(Default)]
struct Acked {
    views: AtomicI64,
    bots: AtomicI64,
    own: AtomicI64,
}

impl Acked {
    fn total(&self) -> i64 {
        self.views.load(Ordering::SeqCst)
            + self.bots.load(Ordering::SeqCst)
            + self.own.load(Ordering::SeqCst)
    }
}

/// Posts until the server is gone (or the bounded loop ends), counting the
/// answers that acknowledged a write.
async fn client(
    kind: usize,
    base: String,
    setup: Arc<Setup>,
    acked: Arc<Acked>,
    gone: Arc<AtomicBool>,
) {
    let http = reqwest::Client::new();
    for i in 0..10_000u64 {
        if gone.load(Ordering::SeqCst) {
            return;
        }
        // Every view beacon is its own share, so none is a reload or a burst.
        let share_no = 1 + (kind as u64) * 100_000 + i;
        let token = setup.token(share_no);
        let ua = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) MicroMessenger/8.0";
        let res = match kind {
            k if k < VIEW_CLIENTS => {
                let pv = format!("pv-{k}-{i:08}");
                let body = serde_json::json!({"t": token, "pv": pv, "dwell_ms": 0});
                http.post(format!("{base}/t/beacon"))
                    .header("user-agent", ua)
                    .body(body.to_string())
                    .send()
                    .await
            }
            k if k == VIEW_CLIENTS => {
                let body =
                    serde_json::json!({"t": token, "pv": format!("pv-bot-{i:08}"), "dwell_ms": 0});
                http.post(format!("{base}/t/beacon"))
                    .header("user-agent", "facebookexternalhit/1.1")
                    .body(body.to_string())
                    .send()
                    .await
            }
            _ => {
                // The sharer opening their own link from the app, from a fresh browser.
                let proof = own_link_proof(&setup.share_key, &token);
                http.get(format!("{base}/s/{token}?from_app={proof}"))
                    .header("user-agent", ua)
                    .send()
                    .await
            }
        };
        let Ok(res) = res else { return };
        let counter = match kind {
            k if k < VIEW_CLIENTS => &acked.views,
            k if k == VIEW_CLIENTS => &acked.bots,
            _ => &acked.own,
        };
        let ok = match kind {
            k if k <= VIEW_CLIENTS => res.status() == reqwest::StatusCode::NO_CONTENT,
            _ => res.status() == reqwest::StatusCode::OK,
        };
        // Read the whole answer: only then was it really received.
        if res.bytes().await.is_ok() && ok {
            counter.fetch_add(1, Ordering::SeqCst);
        }
    }
}

fn count(db: &Path, sql: &str) -> i64 {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_acknowledged_beacon_survives_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.db");
    let db_url = format!("sqlite://{}", db.display());
    let setup = Arc::new(prepare(&db_url).await);
    let (mut child, base) = spawn_server(&db_url).await;

    let acked = Arc::new(Acked::default());
    let gone = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..VIEW_CLIENTS + 2)
        .map(|k| {
            tokio::spawn(client(
                k,
                base.clone(),
                setup.clone(),
                acked.clone(),
                gone.clone(),
            ))
        })
        .collect();
    // Kill mid-run: once every kind of write has been acknowledged a few times.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while acked.total() < KILL_AFTER
        || acked.bots.load(Ordering::SeqCst) < 5
        || acked.own.load(Ordering::SeqCst) < 5
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "too slow to reach the kill point: {} views, {} bots, {} own acknowledged",
            acked.views.load(Ordering::SeqCst),
            acked.bots.load(Ordering::SeqCst),
            acked.own.load(Ordering::SeqCst)
        );
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    child.kill(); // SIGKILL
    gone.store(true, Ordering::SeqCst);
    for c in clients {
        c.await.unwrap();
    }

    // Restart on the same file (recovers the WAL), then count what is stored.
    let (mut child, _) = spawn_server(&db_url).await;
    let views = count(&db, "SELECT COUNT(*) FROM signals WHERE kind = 'view'");
    let bots = count(
        &db,
        "SELECT COALESCE(SUM(count), 0) FROM filtered_hits WHERE reason = 'bot_user_agent'",
    );
    let own = count(&db, "SELECT COUNT(*) FROM own_visitors");
    child.kill();

    let (av, ab, ao) = (
        acked.views.load(Ordering::SeqCst),
        acked.bots.load(Ordering::SeqCst),
        acked.own.load(Ordering::SeqCst),
    );
    eprintln!("acknowledged: {av} views, {ab} bot beacons, {ao} own visits; stored: {views}, {bots}, {own}");
    assert!(views >= av, "{av} views acknowledged, only {views} stored");
    assert!(
        bots >= ab,
        "{ab} bot beacons acknowledged, only {bots} counted"
    );
    assert!(
        own >= ao,
        "{ao} own visits acknowledged, only {own} remembered"
    );
}
