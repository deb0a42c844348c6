//! Step 6: raw signals are purged after the retention period; what is left
//! of a visit keeps no address and its aggregates.
mod common;

use common::{activate, world};
use warmlead_core::domain::Channel;

const DAY: i64 = 24 * 3600 * 1000;

#[tokio::test]
async fn old_raw_signals_are_purged_and_recent_ones_kept() {
    let w = world().await;
    let d = activate(&w.ts, w.partner_a1.id).await;
    let token = d.sign(1, w.item.id, Channel::Moments);
    let a = w.ts.admin();
    let now = 1_800_000_000_000;
    a.beacon_at(
        &token,
        "pv-old-visit-1",
        "visitor-old-01",
        30_000,
        now - 200 * DAY,
    )
    .await
    .unwrap();
    // A second page load of the old visit (a reload): a `page_views` row.
    a.beacon_at(
        &token,
        "pv-old-visit-2",
        "visitor-old-01",
        10_000,
        now - 200 * DAY + 1_000,
    )
    .await
    .unwrap();
    a.beacon_at(
        &token,
        "pv-new-visit-1",
        "visitor-new-01",
        20_000,
        now - DAY,
    )
    .await
    .unwrap();
    assert_eq!(
        a.count_signals().await.unwrap(),
        5,
        "view + dwell twice (old visit), view + dwell"
    );

    let purged = a.purge_signals(now, 180).await.unwrap();
    assert_eq!(purged.signals, 3);
    assert_eq!(purged.page_views, 1);
    let left = a.signals_for_share(&token).await.unwrap();
    assert!(
        left.iter().all(|s| s.visitor_id == "visitor-new-01"),
        "{left:?}"
    );
    // The old visit keeps its aggregates for the radar.
    let stats = a.visit_stats(&token).await.unwrap();
    assert_eq!(stats.len(), 2);
    assert_eq!(stats[0].dwell_ms, 40_000);

    // Running again removes nothing more; a shorter retention removes the rest.
    assert_eq!(a.purge_signals(now, 180).await.unwrap().signals, 0);
    assert_eq!(a.purge_signals(now, 0).await.unwrap().signals, 2);
    assert_eq!(a.count_signals().await.unwrap(), 0);
}

#[tokio::test]
async fn addresses_are_stored_only_as_hashes() {
    let w = world().await;
    let d = activate(&w.ts, w.partner_a1.id).await;
    let token = d.sign(2, w.item.id, Channel::Moments);
    let res = reqwest::Client::new()
        .post(format!("{}/t/beacon", w.ts.url()))
        .body(serde_json::json!({"t": token, "pv": "pv-address-01", "dwell_ms": 0}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    w.ts.admin().flush().await;
    let sql = w.ts.sql();
    let hash = sql.text("SELECT ip_hash FROM visits").await;
    assert_eq!(hash.len(), 16);
    assert!(!hash.contains("127"), "{hash}");
    // No column anywhere holds the address in clear.
    let dump = sql
        .texts("SELECT COALESCE(ip_hash, '') || visitor_id FROM visits")
        .await;
    assert!(dump.iter().all(|s| !s.contains("127.0.0.1")));
}

/// Decay: a grade otherwise changes only when an event arrives. The server
/// regrades cooled leads once at start (then hourly): a lead whose only
/// signal is now a month old falls from B to C when the server starts, and
/// the change reaches the rep's radar stream.
#[tokio::test]
async fn the_server_regrades_cooled_leads_when_it_starts() {
    let w = world().await;
    let d = activate(&w.ts, w.partner_a1.id).await;
    let token = d.sign(3, w.item.id, Channel::Moments);
    let res = common::leave_phone(&w.ts.url(), &token, "王小姐", "13812345678").await;
    assert_eq!(res.status(), 200);
    let url = w.ts.database_url().to_string();
    let _dir = w.ts.stop().await;
    let sql = warmlead_server::testing::TestSql::new(&url);
    let grade = || sql.text("SELECT grade FROM leads");
    assert_eq!(grade().await, "B", "a fresh contact");
    // A month passes with the server down: its signal is now that old.
    sql.execute(&format!("UPDATE signals SET at = at - {}", 30 * DAY))
        .await;
    let changes_before = sql.i64("SELECT COUNT(*) FROM changes").await;

    let config = warmlead_server::Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        database_url: url.clone(),
        public_url: None,
        demo: false,
    };
    let server = warmlead_server::start(config).await.unwrap();
    common::eventually("the start-up regrade cools the lead", 10, || async {
        grade().await == "C"
    })
    .await;
    let changes_after = sql.i64("SELECT COUNT(*) FROM changes").await;
    assert_eq!(
        changes_after - changes_before,
        2,
        "the cooled lead is logged for its partner (masked) and its rep"
    );
    server.shutdown().await;
}
