//! Step 7: a signed-in device's SSE stream says when its scope changed.
mod common;

use std::time::Duration;

use common::{activate, mutation, next_event, world};
use reqwest::StatusCode;
use serde_json::json;
use warmlead_core::api::{PATH_EVENTS, PATH_LEAD_FORM, PATH_RADAR_PULL};
use warmlead_core::domain::Channel;
use warmlead_core::lead::{ManFlags, RadarPullResponse};
use warmlead_core::sync::MutationBody;

#[tokio::test]
async fn the_rep_hears_about_views_and_hot_leads_at_once() {
    let w = world().await;
    let partner = activate(&w.ts, w.partner_a1.id).await;
    let rep = activate(&w.ts, w.rep_a.id).await;
    let other = activate(&w.ts, w.rep_b.id).await;
    let token = partner.sign(1, w.item.id, Channel::Moments);
    let base = w.ts.url();

    let res = reqwest::get(format!("{base}{PATH_EVENTS}")).await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    let mut es = rep.get(PATH_EVENTS).send().await.unwrap();
    assert_eq!(es.status(), StatusCode::OK);
    assert!(es.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    let mut buf = String::new();
    let head = next_event(&mut es, &mut buf, |e| e.stream == "radar").await;
    let mut other_es = other.get(PATH_EVENTS).send().await.unwrap();
    let mut other_buf = String::new();
    let other_head = next_event(&mut other_es, &mut other_buf, |e| e.stream == "radar").await;

    // A friend views the share: the rep's radar stream moves within moments.
    let started = tokio::time::Instant::now();
    let res = reqwest::Client::new()
        .post(format!("{base}/t/beacon"))
        .header("cookie", "wl_v=friend-000000001")
        .body(json!({"t": token, "pv": "pv-live-0001", "dwell_ms": 0}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let ev = next_event(&mut es, &mut buf, |e| {
        e.stream == "radar" && e.seq > head.seq
    })
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(ev.hot_lead_id, None);

    // The friend leaves their phone, the rep marks all of MAN: a hot lead.
    let res = reqwest::Client::new()
        .post(format!("{base}{PATH_LEAD_FORM}"))
        .header("cookie", "wl_v=friend-000000001")
        .header("accept", "application/json")
        .form(&[
            ("t", token.as_str()),
            ("name", "钱先生"),
            ("phone", "13700137000"),
            ("consent", "yes"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let lead = w.ts.admin().leads(w.company.id).await.unwrap().remove(0);
    let man = ManFlags {
        money: true,
        authority: true,
        need: true,
    };
    rep.push(vec![mutation(
        1,
        MutationBody::SetManFlags {
            lead_id: lead.id,
            man,
        },
    )])
    .await;
    let hot = next_event(&mut es, &mut buf, |e| e.hot_lead_id.is_some()).await;
    assert_eq!(hot.hot_lead_id, Some(lead.id));

    // The other rep's stream stays quiet about all of it. Rather than wait
    // and hope, a barrier: rep B's own partner is viewed now, after all of
    // rep A's activity. B's stream's first move must be that view (a seq
    // after A's hot lead); a leak of A's activity would come first, with a
    // lower seq. B's radar pull holds nothing of A's either.
    let partner_b = activate(&w.ts, w.partner_b1.id).await;
    let b_token = partner_b.sign(1, w.item.id, Channel::Moments);
    let res = reqwest::Client::new()
        .post(format!("{base}/t/beacon"))
        .header("cookie", "wl_v=friend-000000002")
        .body(json!({"t": b_token, "pv": "pv-live-0002", "dwell_ms": 0}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let first = next_event(&mut other_es, &mut other_buf, |e| {
        e.stream == "radar" && e.seq > other_head.seq
    })
    .await;
    assert!(
        first.seq > hot.seq,
        "another rep's radar moved for rep A's activity: {first:?} (A's hot lead at {})",
        hot.seq
    );
    let radar: RadarPullResponse = other
        .get(&format!("{PATH_RADAR_PULL}?after={}", other_head.seq))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(!radar.changes.is_empty(), "the barrier view reached rep B");
    assert!(
        radar.changes.iter().all(|c| c.seq > hot.seq),
        "rep B pulls rep A's activity: {:?}",
        radar.changes
    );
}

/// A stream is authenticated when it opens: it must not outlive its
/// device. Revoking one device ends that device's streams within seconds
/// (its owner's other device keeps listening and hearing); switching the
/// owner off ends the rest. A stream opened after either is refused.
#[tokio::test]
async fn streams_end_when_their_device_is_revoked_or_their_user_switched_off() {
    let w = world().await;
    let manager = activate(&w.ts, w.manager.id).await;
    let lost = activate(&w.ts, w.partner_a1.id).await;
    let kept = activate(&w.ts, w.partner_a1.id).await;
    let open = |d: &common::Device| d.get(PATH_EVENTS).send();
    let mut lost_es = open(&lost).await.unwrap();
    let mut lost_es2 = open(&lost).await.unwrap();
    let mut kept_es = open(&kept).await.unwrap();
    let mut buf = String::new();
    for es in [&mut lost_es, &mut lost_es2, &mut kept_es] {
        assert_eq!(es.status(), StatusCode::OK);
        buf.clear();
        next_event(es, &mut buf, |e| e.stream == "radar").await;
    }
    let mut kept_buf = String::new();
    let head = next_event(&mut kept_es, &mut kept_buf, |e| e.stream == "sync").await;

    let res = manager
        .post(&format!("/api/v1/devices/{}/revoke", lost.id()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    common::stream_ends(&mut lost_es, "the revoked device's stream", 6).await;
    common::stream_ends(&mut lost_es2, "the revoked device's second stream", 6).await;
    assert_eq!(
        open(&lost).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    // The owner's other device still hears its scope move (the revocation
    // itself is a change of its user).
    let ev = next_event(&mut kept_es, &mut kept_buf, |e| {
        e.stream == "sync" && e.seq > head.seq
    })
    .await;
    assert!(ev.seq > head.seq);

    let res = manager
        .post(&format!("/api/v1/team/{}/deactivate", w.partner_a1.id))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    common::stream_ends(&mut kept_es, "the switched-off partner's stream", 6).await;
    assert_eq!(
        open(&kept).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
}
