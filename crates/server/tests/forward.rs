//! Step 3: "pass it on" makes a child share that credits the original
//! partner; the radar stream carries the chain.
mod common;

use common::{activate, world};
use reqwest::StatusCode;
use serde_json::json;
use warmlead_core::api::{ForwardResponse, PATH_FORWARD, PATH_RADAR_PULL};
use warmlead_core::domain::Channel;
use warmlead_core::lead::{RadarBody, RadarPullResponse, SignalKind};

async fn forward(base: &str, token: &str, visitor: &str) -> ForwardResponse {
    let res = reqwest::Client::new()
        .post(format!("{base}{PATH_FORWARD}"))
        .header("cookie", format!("wl_v={visitor}"))
        .json(&json!({"t": token}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

async fn view(base: &str, token: &str, visitor: &str, pv: &str) {
    let res = reqwest::Client::new()
        .post(format!("{base}/t/beacon"))
        .header("cookie", format!("wl_v={visitor}"))
        .body(json!({"t": token, "pv": pv, "dwell_ms": 4000}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn a_forward_chain_credits_the_partner_and_shows_in_the_radar() {
    let w = world().await;
    let d = activate(&w.ts, w.partner_a1.id).await;
    let root = d.sign(1, w.item.id, Channel::Moments);
    let base = w.ts.url();
    view(&base, &root, "friend-one-0001", "pv-friend-one").await;
    let child = forward(&base, &root, "friend-one-0001").await;
    assert!(child.url.ends_with(&format!("/s/{}", child.token)));
    assert!(child.url.len() <= 60, "{}", child.url);

    // The friend of a friend opens the child link: same item, credited to 张三.
    let page = reqwest::get(&child.url).await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("由 张三 推荐"), "{html}");
    assert!(html.contains("装修避坑指南"));
    view(&base, &child.token, "friend-two-0002", "pv-friend-two").await;
    let grandchild = forward(&base, &child.token, "friend-two-0002").await;
    view(
        &base,
        &grandchild.token,
        "friend-three-03",
        "pv-friend-three",
    )
    .await;

    let stats = w.ts.admin().visit_stats(&root).await.unwrap();
    assert_eq!(stats.len(), 3, "the root's own visit and both descendants'");
    assert!(stats
        .iter()
        .all(|v| v.partner_id == w.partner_a1.id && v.root_token == root));
    assert!(stats.iter().all(|v| v.rep_id == Some(w.rep_a.id)));
    let forwards = w.ts.admin().signals_for_share(&root).await.unwrap();
    assert!(forwards
        .iter()
        .any(|s| s.kind == SignalKind::Forward && s.visitor_id == "friend-one-0001"));

    // The rep and the partner see the chain; the other rep does not.
    let rep = activate(&w.ts, w.rep_a.id).await;
    let radar: RadarPullResponse = rep
        .get(&format!("{PATH_RADAR_PULL}?after=0"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let chain: Vec<_> = radar
        .changes
        .iter()
        .filter_map(|c| match &c.body {
            RadarBody::ChildShare(s) => Some(s.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(chain.len(), 2);
    assert_eq!(
        (chain[0].parent_token.as_str(), chain[0].depth),
        (root.as_str(), 1)
    );
    assert_eq!(
        (chain[1].parent_token.as_str(), chain[1].depth),
        (child.token.as_str(), 2)
    );
    assert!(chain
        .iter()
        .all(|c| c.root_token == root && c.partner_id == w.partner_a1.id));
    let partner_view: RadarPullResponse = d
        .get(&format!("{PATH_RADAR_PULL}?after=0"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(partner_view
        .changes
        .iter()
        .any(|c| matches!(c.body, RadarBody::ChildShare(_))));
    let other = activate(&w.ts, w.rep_b.id).await;
    let none: RadarPullResponse = other
        .get(&format!("{PATH_RADAR_PULL}?after=0"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(none.changes.is_empty(), "{:?}", none.changes);

    // Unknown parents are a 404, not a child.
    let res = reqwest::Client::new()
        .post(format!("{base}{PATH_FORWARD}"))
        .json(&json!({"t": "fAAAAAAAAAAAA"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}
