//! Step 1 of the radar: dwell, scroll and video signals, reload merging,
//! repeat visits, and the tracking queue's durability.
mod common;

use common::{activate, world};
use reqwest::StatusCode;
use serde_json::json;
use warmlead_core::domain::Channel;
use warmlead_core::lead::SignalKind;

async fn post_beacon(base: &str, body: serde_json::Value, cookie: Option<&str>) -> StatusCode {
    let mut req = reqwest::Client::new()
        .post(format!("{base}/t/beacon"))
        .header("content-type", "text/plain;charset=UTF-8")
        .header(
            "user-agent",
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)",
        )
        .body(body.to_string());
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    req.send().await.unwrap().status()
}

fn kinds(signals: &[warmlead_core::lead::Signal]) -> Vec<(SignalKind, i64)> {
    signals.iter().map(|s| (s.kind, s.value)).collect()
}

#[tokio::test]
async fn dwell_scroll_and_video_become_signals_and_visit_aggregates() {
    let w = world().await;
    let d = activate(&w.ts, w.partner_a1.id).await;
    let token = d.sign(1, w.item.id, Channel::Moments);
    let base = w.ts.url();
    let me = Some("wl_v=visitor-aaaaaaaa");
    for (dwell, scroll, video) in [
        (0, 10, 0),
        (5_000, 60, 30),
        (4_000, 40, 20),
        (9_000, 60, 90),
    ] {
        let b = json!({"t": token, "pv": "pv-first-load", "dwell_ms": dwell,
                       "scroll_pct": scroll, "video_s": video, "video_len_s": 120});
        assert_eq!(post_beacon(&base, b, me).await, StatusCode::NO_CONTENT);
    }
    let signals = w.ts.admin().signals_for_share(&token).await.unwrap();
    assert_eq!(
        kinds(&signals),
        vec![
            (SignalKind::View, 0),
            (SignalKind::Scroll, 10),
            (SignalKind::Dwell, 5_000),
            (SignalKind::Scroll, 60),
            (SignalKind::Video, 25),
            (SignalKind::Dwell, 9_000),
            (SignalKind::Video, 75),
        ],
        "only rises are signals"
    );
    assert!(signals.iter().all(|s| s.visitor_id == "visitor-aaaaaaaa"
        && s.partner_id == w.partner_a1.id
        && s.item_id == w.item.id));

    // A reload by the same visitor is the same visit; its dwell adds up.
    let b = json!({"t": token, "pv": "pv-reload-1", "dwell_ms": 2_000, "scroll_pct": 100});
    post_beacon(&base, b, me).await;
    let stats = w.ts.admin().visit_stats(&token).await.unwrap();
    assert_eq!(stats.len(), 1, "{stats:?}");
    let v = &stats[0];
    assert_eq!((v.page_views, v.visit_no), (2, 1));
    assert_eq!(v.dwell_ms, 11_000);
    assert_eq!((v.scroll_pct, v.video_pct), (100, 75));
    assert_eq!(w.ts.admin().count_visits().await.unwrap(), 1);

    // Another visitor is another visit.
    let b = json!({"t": token, "pv": "pv-other-visitor", "dwell_ms": 0});
    post_beacon(&base, b, Some("wl_v=visitor-bbbbbbbb")).await;
    assert_eq!(w.ts.admin().count_visits().await.unwrap(), 2);

    // Nonsense values are clamped, not stored as is.
    let b = json!({"t": token, "pv": "pv-other-visitor", "dwell_ms": 1, "scroll_pct": 5000,
                   "video_s": 999, "video_len_s": -3});
    post_beacon(&base, b, Some("wl_v=visitor-bbbbbbbb")).await;
    let stats = w.ts.admin().visit_stats(&token).await.unwrap();
    assert_eq!((stats[1].scroll_pct, stats[1].video_pct), (100, 0));
}

#[tokio::test]
async fn the_same_visitor_after_the_window_is_a_repeat_visit() {
    let w = world().await;
    let d = activate(&w.ts, w.partner_a1.id).await;
    let token = d.sign(2, w.item.id, Channel::Direct);
    let a = w.ts.admin();
    let t0 = 1_800_000_000_000;
    assert!(a
        .beacon_at(&token, "pv-day-one-1", "visitor-cccccccc", 0, t0)
        .await
        .unwrap());
    // 29 minutes later: a reload, same visit.
    a.beacon_at(
        &token,
        "pv-day-one-2",
        "visitor-cccccccc",
        0,
        t0 + 29 * 60_000,
    )
    .await
    .unwrap();
    // 31 minutes after the last activity: a new visit, the second.
    a.beacon_at(
        &token,
        "pv-day-one-3",
        "visitor-cccccccc",
        0,
        t0 + 60 * 60_000,
    )
    .await
    .unwrap();
    let stats = a.visit_stats(&token).await.unwrap();
    assert_eq!(stats.len(), 2);
    assert_eq!((stats[0].visit_no, stats[0].page_views), (1, 2));
    assert_eq!((stats[1].visit_no, stats[1].page_views), (2, 1));
    let signals = a.signals_for_share(&token).await.unwrap();
    assert_eq!(
        kinds(&signals),
        vec![
            (SignalKind::View, 0),
            (SignalKind::View, 0),
            (SignalKind::RepeatVisit, 2)
        ]
    );
}

/// Group commit: the 204 comes after the beacon's batch committed, so the
/// row is on disk the moment the answer arrives, with no flush and no wait.
#[tokio::test]
async fn an_acknowledged_beacon_is_already_on_disk() {
    let w = world().await;
    let d = activate(&w.ts, w.partner_a1.id).await;
    let token = d.sign(3, w.item.id, Channel::Group);
    let sql = w.ts.sql();
    let base = w.ts.url();
    let n = i64::from(warmlead_core::botfilter::BURST_MAX_PER_NETWORK);
    for i in 0..n {
        let b = json!({"t": token, "pv": format!("pv-acked-{i:04}"), "dwell_ms": 0});
        assert_eq!(post_beacon(&base, b, None).await, StatusCode::NO_CONTENT);
        assert_eq!(
            sql.i64("SELECT COUNT(*) FROM visits").await,
            i + 1,
            "beacon {i} answered before stored"
        );
    }
    let b = json!({"t": token, "pv": "pv-at-shutdown", "dwell_ms": 0});
    let other = d.sign(4, w.item.id, Channel::Group);
    let b2 = json!({"t": other, "pv": "pv-at-shutdown-2", "dwell_ms": 0});
    assert_eq!(post_beacon(&base, b2, None).await, StatusCode::NO_CONTENT);
    let _ = post_beacon(&base, b, None).await;
    let _dir = w.ts.stop().await;
    let visits = sql.i64("SELECT COUNT(*) FROM visits").await;
    assert_eq!(
        visits,
        n + 1,
        "the burst beacon is not a visit; the others are"
    );
}

/// Issue 9: a visit's first page load is the visit row itself (no
/// `page_views` row: one row less per view); its dwell is still its own
/// (the visit's less the other page loads') when beacons of both pages keep
/// coming in separate batches.
#[tokio::test]
async fn a_first_page_load_is_its_visit_row_and_keeps_its_own_dwell() {
    let w = world().await;
    let d = activate(&w.ts, w.partner_a1.id).await;
    let token = d.sign(7, w.item.id, Channel::Moments);
    let base = w.ts.url();
    let me = Some("wl_v=visitor-bbbbbbbb");
    for (pv, dwell) in [
        ("pv-page-one", 0),
        ("pv-page-one", 5_000),
        ("pv-page-two", 3_000),
        ("pv-page-one", 8_000),
        ("pv-page-two", 2_000),
    ] {
        let b = json!({"t": token, "pv": pv, "dwell_ms": dwell});
        assert_eq!(post_beacon(&base, b, me).await, StatusCode::NO_CONTENT);
    }
    let stats = w.ts.admin().visit_stats(&token).await.unwrap();
    assert_eq!(stats.len(), 1, "{stats:?}");
    assert_eq!(stats[0].page_views, 2);
    assert_eq!(stats[0].dwell_ms, 11_000, "page one 8,000 + page two 3,000");
    let rows =
        w.ts.sql()
            .texts(&format!(
                "SELECT p.pv FROM page_views p JOIN visits v ON v.id = p.visit_id
             WHERE v.share_token = '{token}' ORDER BY p.pv"
            ))
            .await;
    assert_eq!(
        rows,
        vec!["pv-page-two".to_string()],
        "only the later page load has a row"
    );
}
