//! Acknowledged means stored: the real `warmlead-server` process is killed
//! with SIGKILL while clients post beacons; after a restart, every beacon it
//! answered 204 is in the database (as a view, or counted as filtered), and
//! every sharer's own visit it answered is remembered.
#![cfg(unix)]
mod common;
mod process;

use warmlead_server::testing::{Backend, TestSql};

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use process::{prepare, spawn_server, Setup};
use warmlead_core::botfilter::own_link_proof;

const VIEW_CLIENTS: usize = 6;
/// Stop after this many acknowledged writes at the latest (bounded loop).
const KILL_AFTER: i64 = 400;

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

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_acknowledged_beacon_survives_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let db_url = Backend::selected().database_url(dir.path()).await;
    let sql = TestSql::new(&db_url);
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

    // Restart on the same database (SQLite recovers the WAL), then count
    // what is stored.
    let (mut child, _) = spawn_server(&db_url).await;
    let views = sql
        .i64("SELECT COUNT(*) FROM signals WHERE kind = 'view'")
        .await;
    let bots = sql
        .i64("SELECT COALESCE(SUM(count), 0) FROM filtered_hits WHERE reason = 'bot_user_agent'")
        .await;
    let own = sql.i64("SELECT COUNT(*) FROM own_visitors").await;
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
