//! Tracking never crosses companies: one browser (one visitor cookie) that
//! left its contact with company B and then reads company A's shares does
//! not rescore B's lead; the tracking counters and the scoring rules are
//! each company's own business.
mod common;

use common::{activate, article, world};
use reqwest::StatusCode;
use serde_json::json;
use warmlead_core::api::{PATH_LEAD_FORM, PATH_SCORING_RULES, PATH_TRACKING_STATS};
use warmlead_core::domain::{Channel, Role};
use warmlead_core::lead::TrackingStats;

const BROWSER: &str = "one-browser-0001";

async fn beacon(base: &str, token: &str, body: serde_json::Value) {
    let mut b = body;
    b["t"] = json!(token);
    let res = reqwest::Client::new()
        .post(format!("{base}/t/beacon"))
        .header("cookie", format!("wl_v={BROWSER}"))
        .body(b.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
}

async fn leave_contact(base: &str, token: &str) {
    let res = reqwest::Client::new()
        .post(format!("{base}{PATH_LEAD_FORM}"))
        .header("cookie", format!("wl_v={BROWSER}"))
        .header("accept", "application/json")
        .form(&[
            ("t", token),
            ("name", "赵女士"),
            ("phone", "13800138000"),
            ("consent", "yes"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}

async fn tracking(d: &common::Device) -> TrackingStats {
    let res = d.get(PATH_TRACKING_STATS).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

#[tokio::test]
async fn a_browser_shared_by_two_companies_scores_only_where_it_read() {
    let w = world().await;
    let base = w.ts.url();
    let admin = w.ts.admin();
    // Company B: a manager, a partner, an item, a share.
    let b = admin.create_company("别家装修").await.unwrap();
    let b_manager = admin
        .create_user(b.id, Role::Manager, "周总", None, None)
        .await
        .unwrap();
    let b_partner = admin
        .create_user(b.id, Role::Partner, "钱七", None, None)
        .await
        .unwrap();
    let b_item = admin
        .create_content_item(b.id, article("别家的文章"))
        .await
        .unwrap();
    let b_device = activate(&w.ts, b_partner.id).await;
    let b_token = b_device.sign(1, b_item.id, Channel::Moments);
    let a_device = activate(&w.ts, w.partner_a1.id).await;
    let a_token = a_device.sign(1, w.item.id, Channel::Moments);

    // The browser reads B's share briefly and leaves its contact there.
    beacon(
        &base,
        &b_token,
        json!({"pv": "pv-in-b-0001", "dwell_ms": 1_000}),
    )
    .await;
    leave_contact(&base, &b_token).await;
    let before = admin.leads(b.id).await.unwrap();
    assert_eq!(before.len(), 1);
    let before = before[0].clone();

    // Then it reads A's share deeply: long dwell, all the way down, the whole video.
    let deep = json!({"pv": "pv-in-a-0001", "dwell_ms": 600_000, "scroll_pct": 100,
                      "video_s": 100, "video_len_s": 100});
    beacon(&base, &a_token, deep).await;
    let after = admin.lead(before.id).await.unwrap().unwrap();
    assert_eq!(
        (after.score, after.grade, &after.reasons),
        (before.score, before.grade, &before.reasons),
        "company A's signals rescored company B's lead"
    );
    assert!(admin.leads(w.company.id).await.unwrap().is_empty());
    let a_signals = admin.signals_for_share(&a_token).await.unwrap();
    assert!(!a_signals.is_empty());
    assert!(
        a_signals.iter().all(|s| s.lead_id.is_none()),
        "A's signals are attributed to B's lead: {a_signals:?}"
    );

    // Each manager's counters cover their own company only.
    let b_signals = admin.signals_for_share(&b_token).await.unwrap();
    let a_mgr = activate(&w.ts, w.manager.id).await;
    let b_mgr = activate(&w.ts, b_manager.id).await;
    let (sa, sb) = (tracking(&a_mgr).await, tracking(&b_mgr).await);
    assert_eq!(sa.signals, a_signals.len() as i64, "{sa:?}");
    assert_eq!(sb.signals, b_signals.len() as i64, "{sb:?}");
    assert_eq!((sa.accepted_beacons, sb.accepted_beacons), (1, 1));
}

#[tokio::test]
async fn scoring_rules_are_for_reps_and_managers() {
    let w = world().await;
    let partner = activate(&w.ts, w.partner_a1.id).await;
    let res = partner.get(PATH_SCORING_RULES).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let body = common::api_error(res).await;
    assert!(body.message.contains("reps and managers"), "{body:?}");
    for user in [w.rep_a.id, w.manager.id] {
        let d = activate(&w.ts, user).await;
        let res = d.get(PATH_SCORING_RULES).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
    }
}
