mod common;

use common::{activate, mutation, world};
use reqwest::StatusCode;
use warmlead_core::api::Beacon;
use warmlead_core::domain::Channel;
use warmlead_core::sync::{ChangeBody, MutationBody, Outcome};

async fn beacon(
    base: &str,
    token: &str,
    pv: &str,
    dwell_ms: i64,
    cookie: Option<&str>,
) -> StatusCode {
    let mut req = reqwest::Client::new()
        .post(format!("{base}/t/beacon"))
        .header("content-type", "text/plain;charset=UTF-8")
        .body(
            serde_json::to_string(&Beacon {
                t: token.into(),
                pv: pv.into(),
                dwell_ms,
            })
            .unwrap(),
        );
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    req.send().await.unwrap().status()
}

#[tokio::test]
async fn an_offline_share_renders_records_itself_and_tracks_dwell() {
    let w = world().await;
    let d = activate(&w.ts, w.partner_a1.id).await;
    // Signed on the device, never pushed.
    let token = d.sign(7, w.item.id, Channel::Group);
    assert!(!w.ts.admin().share_exists(&token).await.unwrap());

    let res = reqwest::Client::new()
        .get(format!("{}/s/{token}", w.ts.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.starts_with("wl_v="), "{cookie}");
    for attr in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=31536000"] {
        assert!(cookie.contains(attr), "{cookie}");
    }
    let html = res.text().await.unwrap();
    assert!(
        html.contains(r#"<h1 id="wl-title">装修避坑指南</h1>"#),
        "{html}"
    );
    assert!(html.contains(r#"id="wl-sharer">由 张三 推荐<"#));
    assert!(html.contains(r#"id="wl-item""#));
    assert!(html.contains("暖居装修"));
    assert!(
        html.contains("&lt;b&gt;不是标签&lt;/b&gt;"),
        "body must be escaped"
    );
    assert!(html.contains("navigator.sendBeacon"));
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "no third-party requests"
    );
    assert!(w.ts.admin().share_exists(&token).await.unwrap());

    let en = reqwest::Client::new()
        .get(format!("{}/s/{token}", w.ts.url()))
        .header("accept-language", "en")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(en.contains("Shared by 张三"));

    let visitor = "wl_v=0123456789abcdef0123456789abcdef";
    let base = w.ts.url();
    assert_eq!(
        beacon(&base, &token, "pv-0000000001", 0, Some(visitor)).await,
        StatusCode::NO_CONTENT
    );
    let visits = w.ts.admin().visits_for_share(&token).await.unwrap();
    assert_eq!(visits.len(), 1);
    assert_eq!(visits[0].dwell_ms, 0);
    assert_eq!(visits[0].visitor_id, "0123456789abcdef0123456789abcdef");
    assert_eq!(visits[0].partner_id, w.partner_a1.id);
    assert_eq!(visits[0].rep_id, w.rep_a.id);

    beacon(&base, &token, "pv-0000000001", 5_000, Some(visitor)).await;
    beacon(&base, &token, "pv-0000000001", 3_000, Some(visitor)).await;
    let visits = w.ts.admin().visits_for_share(&token).await.unwrap();
    assert_eq!(visits.len(), 1);
    assert_eq!(visits[0].dwell_ms, 5_000, "dwell only rises");
    beacon(&base, &token, "pv-0000000001", 24 * 3600 * 1000, None).await;
    let visits = w.ts.admin().visits_for_share(&token).await.unwrap();
    assert_eq!(
        visits[0].dwell_ms,
        6 * 3600 * 1000,
        "dwell is capped at 6 h"
    );

    // A second page view is a second visit, with a fresh visitor id.
    beacon(&base, &token, "pv-0000000002", 0, None).await;
    let visits = w.ts.admin().visits_for_share(&token).await.unwrap();
    assert_eq!(visits.len(), 2);
    assert_ne!(visits[1].visitor_id, visits[0].visitor_id);
    assert_eq!(w.ts.admin().count_visits().await.unwrap(), 2);

    // The rep's app sees the share and the raised dwell after a pull.
    let rep = activate(&w.ts, w.rep_a.id).await;
    let changes = rep.pull_all().await;
    assert!(changes
        .iter()
        .any(|c| matches!(&c.body, ChangeBody::Share(s) if s.token == token)));
    let max_dwell = changes
        .iter()
        .filter_map(|c| match &c.body {
            ChangeBody::Visit(v) if v.share_token == token => Some(v.dwell_ms),
            _ => None,
        })
        .max();
    assert_eq!(max_dwell, Some(6 * 3600 * 1000));

    // When the app syncs the share later, it is the same share.
    let res = d
        .push(vec![mutation(
            1,
            MutationBody::CreateShare {
                share_no: 7,
                item_id: w.item.id,
                channel: Channel::Group,
                token: token.clone(),
                created_at_ms: 1_700_000_000_000,
            },
        )])
        .await;
    assert_eq!(res.outcomes[0].outcome, Outcome::Applied);
    assert!(w.ts.admin().share_exists(&token).await.unwrap());
    assert_eq!(
        w.ts.admin().visits_for_share(&token).await.unwrap().len(),
        2
    );
}

#[tokio::test]
async fn a_share_of_a_deleted_item_is_a_404_page() {
    let w = world().await;
    let d = activate(&w.ts, w.partner_a1.id).await;
    let token = d.sign(1, w.item.id, Channel::Direct);
    let manager = activate(&w.ts, w.manager.id).await;
    manager
        .push(vec![mutation(
            1,
            MutationBody::DeleteContentItem { item_id: w.item.id },
        )])
        .await;
    let res = reqwest::get(format!("{}/s/{token}", w.ts.url()))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        beacon(&w.ts.url(), &token, "pv-0000000001", 0, None).await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(w.ts.admin().count_visits().await.unwrap(), 0);
}
