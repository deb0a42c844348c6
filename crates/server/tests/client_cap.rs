//! The tracking queue's per-address cap over HTTP: while the writer is held
//! busy, one address flooding `/t/beacon` is answered 429 once it has its
//! share of beacons waiting, and another address's beacon is still taken,
//! answered 204 once written, and stored.
mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use common::{activate, world};
use serde_json::json;
use tokio::sync::mpsc;
use tokio::time::{timeout, Instant};
use warmlead_core::domain::Channel;
use warmlead_core::lead::SignalKind;

/// Beacons sent before each look for a 429.
const WAVE: usize = 50;
/// Five times the cap (1000 today, a twentieth of the queue): reaching it
/// without a 429 means there is no per-address cap.
const MAX_FLOOD: usize = 5_000;

/// A client whose requests come from 127.0.`n`.1: its own /24, so its own
/// client key (the server hashes the network, not the machine).
fn client_from(n: u8) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, n, 1)))
        .build()
        .unwrap()
}

async fn beacon(http: &reqwest::Client, base: &str, token: &str, pv: &str, visitor: &str) -> u16 {
    let body = json!({"t": token, "pv": pv, "dwell_ms": 3_000});
    http.post(format!("{base}/t/beacon"))
        .header("content-type", "text/plain;charset=UTF-8")
        .header(
            "user-agent",
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)",
        )
        .header("cookie", format!("wl_v={visitor}"))
        .body(body.to_string())
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooding_address_gets_429_while_another_is_stored() {
    let w = world().await;
    let d = activate(&w.ts, w.partner_a1.id).await;
    let base = w.ts.url();
    let flood_token = d.sign(1, w.item.id, Channel::Moments);
    let other_token = d.sign(2, w.item.id, Channel::Moments);
    let (flooder, other) = (client_from(1), client_from(2));
    // Both shares known (and written) before the writer is held.
    assert_eq!(
        beacon(
            &flooder,
            &base,
            &flood_token,
            "pv-warm-a",
            "visitor-aaaaaaaa"
        )
        .await,
        204
    );
    assert_eq!(
        beacon(&other, &base, &other_token, "pv-warm-b", "visitor-bbbbbbbb").await,
        204
    );

    // The writer is held from another connection (as a backup or a
    // second process would), so beacons stay queued until released.
    let lock = w.ts.sql().hold_writes().await;
    // A third network's beacon goes first and keeps the writer waiting on
    // the lock; should SQLite's busy timeout (5 s) end that wait, this one
    // is refused, not the flooder's, whose slots stay taken.
    let (plug, b, t) = (client_from(3), base.clone(), other_token.clone());
    tokio::spawn(async move { beacon(&plug, &b, &t, "pv-plug", "visitor-dddddddd").await });
    let (tx, mut answers) = mpsc::unbounded_channel();
    let mut sent = 0;
    let mut statuses = Vec::new();
    // Flood in waves until the address is refused (its beacons all wait).
    while !statuses.contains(&429) {
        assert!(sent < MAX_FLOOD, "{sent} beacons from one address, no 429");
        for _ in 0..WAVE {
            let (http, base, token, tx) = (
                flooder.clone(),
                base.clone(),
                flood_token.clone(),
                tx.clone(),
            );
            let pv = format!("pv-flood-{sent:06}");
            tokio::spawn(async move {
                let _ = tx.send(beacon(&http, &base, &token, &pv, "visitor-aaaaaaaa").await);
            });
            sent += 1;
        }
        if let Ok(Some(s)) = timeout(Duration::from_millis(100), answers.recv()).await {
            statuses.push(s);
        }
    }

    // The other address is taken while the flooder is still at its cap.
    let (b, t) = (base.clone(), other_token.clone());
    let other_answer =
        tokio::spawn(
            async move { beacon(&other, &b, &t, "pv-other-view", "visitor-cccccccc").await },
        );
    assert_eq!(
        beacon(
            &flooder,
            &base,
            &flood_token,
            "pv-flood-last",
            "visitor-aaaaaaaa"
        )
        .await,
        429,
        "the flooder is still refused"
    );
    lock.release().await;

    assert_eq!(
        other_answer.await.unwrap(),
        204,
        "the other address is answered"
    );
    let deadline = Instant::now() + Duration::from_secs(120);
    while statuses.len() < sent {
        let left = deadline.saturating_duration_since(Instant::now());
        let s = timeout(left, answers.recv())
            .await
            .expect("every flood beacon answered");
        statuses.push(s.unwrap());
    }
    let count = |code| statuses.iter().filter(|s| **s == code).count();
    assert!(count(204) > 0, "the flooder's queued beacons are written");
    assert!(count(429) > 0);
    // 503 only if the held writer gave up on a batch (SQLite busy timeout).
    assert_eq!(count(204) + count(429) + count(503), sent, "{statuses:?}");

    let signals = w.ts.admin().signals_for_share(&other_token).await.unwrap();
    assert!(
        signals
            .iter()
            .any(|s| s.kind == SignalKind::Dwell && s.visitor_id == "visitor-cccccccc"),
        "the other address's beacon is stored: {signals:?}"
    );
}
