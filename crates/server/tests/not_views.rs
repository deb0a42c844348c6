//! Step 2: previews, crawlers, prefetches and the sharer's own browser are
//! not views, and managers can see what was filtered and why.
mod common;

use common::{activate, world, World};
use reqwest::StatusCode;
use serde_json::json;
use warmlead_core::api::PATH_FILTERED_STATS;
use warmlead_core::botfilter::{own_link_proof, FilterReason};
use warmlead_core::domain::Channel;
use warmlead_core::lead::FilteredStats;

const WECHAT: &str = "Mozilla/5.0 (Linux; Android 13; V2227A Build/TP1A.220624.014; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/116.0.0.0 Mobile Safari/537.36 XWEB/1160065 MMWEBSDK/20231202 MMWEBID/2247 MicroMessenger/8.0.47.2560(0x28002F35) WeChat/arm64 Weixin NetType/4G Language/zh_CN ABI/arm64";
const IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1";

/// What a phone (or a fetcher) does: load the page, then the page's first beacon.
async fn open_and_beacon(
    base: &str,
    token: &str,
    method: reqwest::Method,
    headers: &[(&str, &str)],
    pv: &str,
) -> (StatusCode, String) {
    let http = reqwest::Client::new();
    let mut req = http.request(method.clone(), format!("{base}/s/{token}"));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    let html = res.text().await.unwrap();
    if method == reqwest::Method::HEAD {
        // A fetcher that sends HEAD never runs the page's script.
        return (status, html);
    }
    let mut b = http
        .post(format!("{base}/t/beacon"))
        .body(json!({"t": token, "pv": pv, "dwell_ms": 0}).to_string());
    for (k, v) in headers.iter().filter(|(k, _)| *k != "sec-purpose") {
        b = b.header(*k, *v);
    }
    assert_eq!(b.send().await.unwrap().status(), StatusCode::NO_CONTENT);
    (status, html)
}

#[tokio::test]
async fn bots_previews_and_prefetches_are_not_views_but_people_are() {
    let w = world().await;
    let d = activate(&w.ts, w.partner_a1.id).await;
    let token = d.sign(1, w.item.id, Channel::Group);
    let base = w.ts.url();
    let get = reqwest::Method::GET;
    // (name, method, headers, counts as a view)
    type Row<'a> = (&'a str, reqwest::Method, &'a [(&'a str, &'a str)], bool);
    let table: &[Row<'_>] = &[
        ("wechat", get.clone(), &[("user-agent", WECHAT)], true),
        ("iphone", get.clone(), &[("user-agent", IPHONE)], true),
        ("no ua", get.clone(), &[], true),
        // A header that is there but says nothing: scripts send that.
        ("empty ua", get.clone(), &[("user-agent", "")], false),
        ("blank ua", get.clone(), &[("user-agent", "   ")], false),
        (
            "facebook",
            get.clone(),
            &[("user-agent", "facebookexternalhit/1.1")],
            false,
        ),
        (
            "whatsapp",
            get.clone(),
            &[("user-agent", "WhatsApp/2.23.20.0 A")],
            false,
        ),
        (
            "baidu",
            get.clone(),
            &[("user-agent", "Mozilla/5.0 (compatible; Baiduspider/2.0)")],
            false,
        ),
        (
            "lark",
            get.clone(),
            &[("user-agent", "Mozilla/5.0 (compatible; LarkBot/1.0)")],
            false,
        ),
        (
            "head",
            reqwest::Method::HEAD,
            &[("user-agent", IPHONE)],
            false,
        ),
        (
            "prefetch",
            get.clone(),
            &[("user-agent", IPHONE), ("sec-purpose", "prefetch")],
            false,
        ),
    ];
    let mut expected = 0;
    for (i, (name, method, headers, counts)) in table.iter().enumerate() {
        let pv = format!("pv-table-{i:04}");
        let (status, html) = open_and_beacon(&base, &token, method.clone(), headers, &pv).await;
        assert_eq!(status, StatusCode::OK, "{name}");
        if *method != reqwest::Method::HEAD {
            assert_eq!(
                html.contains("track=true"),
                *counts,
                "{name}: page tracks only people"
            );
        }
        // A prefetched page reports only once the person opens it (its script
        // waits for activation), so that later beacon is a view.
        if *counts || *name == "prefetch" {
            expected += 1;
        }
        assert_eq!(
            w.ts.admin().count_visits().await.unwrap(),
            expected,
            "{name}"
        );
    }

    let stats = filtered_stats(&w).await;
    let n = |r: FilterReason| count(&stats, r);
    // Page + beacon for each of the four bots and the two blank agents.
    assert_eq!(n(FilterReason::BotUserAgent), 12, "{stats:?}");
    assert_eq!(n(FilterReason::Head), 1);
    assert_eq!(n(FilterReason::Prefetch), 1);
    let rep = activate(&w.ts, w.rep_a.id).await;
    let res = rep.get(PATH_FILTERED_STATS).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_sharer_opening_their_own_link_is_not_a_view() {
    let w = world().await;
    let d = activate(&w.ts, w.partner_a1.id).await;
    let token = d.sign(1, w.item.id, Channel::Direct);
    let other = d.sign(2, w.item.id, Channel::Moments);
    let base = w.ts.url();
    let http = reqwest::Client::new();

    // A wrong proof is just a visit by someone else.
    let res = http
        .get(format!(
            "{base}/s/{token}?from_app=00112233445566778899aabb"
        ))
        .send()
        .await
        .unwrap();
    assert!(res
        .headers()
        .get_all("set-cookie")
        .iter()
        .all(|c| !c.to_str().unwrap().starts_with("wl_d=")));

    let proof = own_link_proof(&d.share_key(), &token);
    let res = http
        .get(format!("{base}/s/{token}?from_app={proof}"))
        .header("user-agent", IPHONE)
        .send()
        .await
        .unwrap();
    let cookies: Vec<String> = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|c| c.to_str().unwrap().split(';').next().unwrap().to_string())
        .collect();
    let wl_d = cookies
        .iter()
        .find(|c| c.starts_with("wl_d="))
        .expect("sharer cookie");
    let wl_v = cookies
        .iter()
        .find(|c| c.starts_with("wl_v="))
        .expect("visitor cookie");
    assert!(res.text().await.unwrap().contains("track=false"));

    let beacon = |t: &str, pv: &str, cookie: String| {
        http.post(format!("{base}/t/beacon"))
            .header("cookie", cookie)
            .body(json!({"t": t, "pv": pv, "dwell_ms": 1000}).to_string())
            .send()
    };
    // The sharer's browser, on this share and on their other share.
    beacon(&token, "pv-own-00001", format!("{wl_d}; {wl_v}"))
        .await
        .unwrap();
    beacon(&other, "pv-own-00002", wl_d.clone()).await.unwrap();
    // Only the visitor cookie left (e.g. wl_d cleared): still known as theirs.
    beacon(&token, "pv-own-00003", wl_v.clone()).await.unwrap();
    assert_eq!(w.ts.admin().count_visits().await.unwrap(), 0);
    // A forged sharer cookie does not hide a friend's view.
    let forged = format!("wl_d={}.000000000000000000000000", w.partner_a1.id);
    beacon(&token, "pv-friend-0001", forged).await.unwrap();
    assert_eq!(w.ts.admin().count_visits().await.unwrap(), 1);

    let stats = filtered_stats(&w).await;
    assert_eq!(
        count(&stats, FilterReason::OwnLink),
        4,
        "page + three beacons"
    );
}

/// One client posting 300 beacons with fresh page-view ids in a few seconds
/// (no cookie: a new visitor each time) is a script, not 300 people: only
/// the first `BURST_MAX_PER_NETWORK` from that network become views, the
/// rest are counted as `burst`. Another share is not affected.
#[tokio::test]
async fn a_burst_of_fresh_page_views_from_one_network_is_not_views() {
    use warmlead_core::botfilter::BURST_MAX_PER_NETWORK;
    let w = world().await;
    let d = activate(&w.ts, w.partner_a1.id).await;
    let token = d.sign(1, w.item.id, Channel::Moments);
    let other = d.sign(2, w.item.id, Channel::Moments);
    let base = w.ts.url();
    fresh_views(&base, &token, 0..300).await;
    let http = reqwest::Client::new();
    let res = http
        .post(format!("{base}/t/beacon"))
        .header("user-agent", IPHONE)
        .body(json!({"t": other, "pv": "pv-other-share", "dwell_ms": 0}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);

    let admin = w.ts.admin();
    let views = admin.visits_for_share(&token).await.unwrap().len();
    assert_eq!(views, BURST_MAX_PER_NETWORK as usize);
    let others = admin.visits_for_share(&other).await.unwrap().len();
    assert_eq!(others, 1, "another share is counted as usual");
    let stats = filtered_stats(&w).await;
    let burst = count(&stats, FilterReason::Burst);
    assert_eq!(burst, 300 - i64::from(BURST_MAX_PER_NETWORK), "{stats:?}");
}

/// First beacons of new page views of `token` (no cookie: a new visitor
/// each), all from this test's network, one after the other.
async fn fresh_views(base: &str, token: &str, numbers: std::ops::Range<usize>) {
    let http = reqwest::Client::new();
    for i in numbers {
        let res = http
            .post(format!("{base}/t/beacon"))
            .header("user-agent", IPHONE)
            .body(json!({"t": token, "pv": format!("pv-burst-{i:05}"), "dwell_ms": 0}).to_string())
            .send()
            .await
            .unwrap();
        // Answered like any beacon: the script learns nothing.
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
    }
}

/// A burst under way when the server restarts is still a burst: the count
/// of the last minutes' new views per share and network (`recent_opens`,
/// which on SQLite lives in the writer's memory) is filled again from the
/// newest visits at start.
#[tokio::test]
async fn a_burst_is_still_counted_after_a_restart() {
    use warmlead_core::botfilter::BURST_MAX_PER_NETWORK;
    let w = world().await;
    let d = activate(&w.ts, w.partner_a1.id).await;
    let token = d.sign(1, w.item.id, Channel::Moments);
    let n = BURST_MAX_PER_NETWORK as usize;
    let database_url = w.ts.database_url().to_string();
    fresh_views(&w.ts.url(), &token, 0..n - 5).await;
    let dir = w.ts.stop().await;

    let mut options = warmlead_server::Options::default();
    options.storage.media_dir = Some(dir.path().join("media"));
    let config = warmlead_server::Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        database_url,
        public_url: None,
        demo: false,
    };
    let again = warmlead_server::start_with(config, options).await.unwrap();
    fresh_views(&again.base_url(), &token, n - 5..n + 5).await;
    let views = again.admin().visits_for_share(&token).await.unwrap().len();
    assert_eq!(views, n, "views before the restart count towards the burst");
    again.shutdown().await;
}

/// What the company's manager reads at `/api/v1/stats/filtered`.
async fn filtered_stats(w: &World) -> FilteredStats {
    let manager = activate(&w.ts, w.manager.id).await;
    manager
        .get(PATH_FILTERED_STATS)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Requests not counted as views for `reason` (0 when none).
fn count(stats: &FilteredStats, reason: FilterReason) -> i64 {
    stats
        .counts
        .iter()
        .find(|c| c.reason == reason)
        .map_or(0, |c| c.count)
}
