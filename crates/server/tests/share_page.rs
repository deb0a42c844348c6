mod common;

use common::{activate, mutation, world};
use reqwest::StatusCode;
use warmlead_core::api::{Beacon, ContentDraft, ForwardResponse, PATH_CONTENT, PATH_FORWARD};
use warmlead_core::domain::{Channel, ContentAudience, ContentItem, ContentKind};
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
    // No third-party requests: the only absolute URLs are the link
    // preview's, on this server's own public address.
    let own = w.ts.url();
    for (at, _) in html.match_indices("http") {
        let rest = &html[at..];
        if rest.starts_with("http://") || rest.starts_with("https://") {
            assert!(
                rest.starts_with(&own),
                "a URL elsewhere: {}",
                &rest[..rest.len().min(80)]
            );
        }
    }
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

/// A partner's many shares of one item resolve each to itself: the second
/// and later ones come from what the first resolved to (the share cache's
/// parts), with their own token, number and channel; a token of the same
/// device and item with a forged signature is still not served.
#[tokio::test]
async fn shares_of_one_device_and_item_each_resolve_to_themselves() {
    let w = world().await;
    let d = activate(&w.ts, w.partner_a1.id).await;
    let base = w.ts.url();
    let channels = [Channel::Moments, Channel::Group, Channel::Direct];
    let tokens: Vec<String> = (1..=3)
        .map(|n| d.sign(n, w.item.id, channels[n as usize - 1]))
        .collect();
    for (k, token) in tokens.iter().enumerate() {
        let page = reqwest::get(format!("{base}/s/{token}")).await.unwrap();
        assert_eq!(page.status(), StatusCode::OK, "share {k}");
        let pv = format!("pv-parts-000{k}");
        let cookie = format!("wl_v=friend-parts-000{k}");
        assert_eq!(
            beacon(&base, token, &pv, 1000, Some(&cookie)).await,
            StatusCode::NO_CONTENT
        );
    }
    w.ts.admin().flush().await;
    for (k, token) in tokens.iter().enumerate() {
        let share = w.ts.admin().share(token).await.unwrap().expect("recorded");
        assert_eq!(share.share_no, k as i64 + 1);
        assert_eq!(share.channel, channels[k]);
        let visits = w.ts.admin().visits_for_share(token).await.unwrap();
        assert_eq!(visits.len(), 1, "share {k}: {visits:?}");
        assert_eq!(visits[0].share_token, *token);
        assert_eq!(visits[0].partner_id, w.partner_a1.id);
    }
    // Same device, same item, signed with another key.
    let forged = warmlead_core::token::ShareClaim {
        device_id: d.id() as u64,
        share_no: 9,
        item_id: w.item.id as u64,
        channel: Channel::Moments,
    }
    .sign(&[7u8; 32]);
    let page = reqwest::get(format!("{base}/s/{forged}")).await.unwrap();
    assert_eq!(page.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        beacon(&base, &forged, "pv-parts-forged", 1000, None).await,
        StatusCode::NOT_FOUND
    );
    assert!(!w.ts.admin().share_exists(&forged).await.unwrap());
}

/// A server with `public_url` and `options`, a partner's device and a share
/// token it signed.
async fn signed_share(
    public_url: Option<String>,
    options: warmlead_server::Options,
) -> (warmlead_server::testing::TestServer, String, i64) {
    let ts =
        warmlead_server::testing::TestServer::start_configured(false, public_url, options).await;
    let a = ts.admin();
    let company = a.create_company("暖居装修").await.unwrap();
    let partner = a
        .create_user(
            company.id,
            warmlead_core::domain::Role::Partner,
            "张三",
            None,
            None,
        )
        .await
        .unwrap();
    let item = a
        .create_content_item(company.id, common::article("装修避坑指南"))
        .await
        .unwrap();
    let d = activate(&ts, partner.id).await;
    let token = d.sign(1, item.id, Channel::Direct);
    (ts, token, company.id)
}

fn header(res: &reqwest::Response, name: &str) -> String {
    res.headers()
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .unwrap()
        .to_string()
}

/// The nonce in `script-src 'nonce-...'`.
fn csp_nonce(csp: &str) -> String {
    let start = csp.find("'nonce-").expect("a script nonce") + "'nonce-".len();
    csp[start..].split('\'').next().unwrap().to_string()
}

#[tokio::test]
async fn pages_carry_a_strict_policy_with_a_fresh_nonce_for_their_script() {
    let (ts, token, _) = signed_share(None, Default::default()).await;
    let get = |path: String| reqwest::get(format!("{}{path}", ts.url()));
    let mut nonces = Vec::new();
    for _ in 0..2 {
        let res = get(format!("/s/{token}")).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let csp = header(&res, "content-security-policy");
        for part in [
            "default-src 'none'",
            "img-src 'self'",
            "media-src 'self'",
            "connect-src 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
        ] {
            assert!(csp.contains(part), "{part} missing in {csp}");
        }
        assert!(!csp.contains("unsafe-eval"), "{csp}");
        assert!(!csp.contains("script-src 'unsafe-inline'"), "{csp}");
        assert_eq!(header(&res, "x-content-type-options"), "nosniff");
        assert_eq!(header(&res, "referrer-policy"), "same-origin");
        let nonce = csp_nonce(&csp);
        assert!(nonce.len() >= 22, "{nonce}");
        let html = res.text().await.unwrap();
        assert!(
            html.contains(&format!("<script nonce=\"{nonce}\">")),
            "{html}"
        );
        assert_eq!(
            html.matches("<script").count(),
            1,
            "every script has the nonce"
        );
        assert!(html.contains("<meta name=\"referrer\" content=\"same-origin\">"));
        nonces.push(nonce);
    }
    assert_ne!(nonces[0], nonces[1], "a nonce per response");

    // Every HTML page, even a 404 or the join form; nosniff on everything.
    for path in [
        "/s/forged-token",
        "/j",
        "/privacy",
        "/i/AAAAAAAAAAAAAAAAAAAAAA",
    ] {
        let res = get(path.to_string()).await.unwrap();
        assert!(
            header(&res, "content-type").starts_with("text/html"),
            "{path}"
        );
        assert!(
            header(&res, "content-security-policy").contains("default-src 'none'"),
            "{path}"
        );
        assert_eq!(header(&res, "x-content-type-options"), "nosniff", "{path}");
    }
    let res = get("/healthz".to_string()).await.unwrap();
    assert_eq!(header(&res, "x-content-type-options"), "nosniff");
    let res = get("/api/v1/me".to_string()).await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(header(&res, "x-content-type-options"), "nosniff");
}

#[tokio::test]
async fn cookies_are_secure_when_the_public_url_is_https() {
    let (ts, token, _) =
        signed_share(Some("https://warm.example.com".into()), Default::default()).await;
    let res = reqwest::get(format!("{}/s/{token}", ts.url()))
        .await
        .unwrap();
    let cookie = header(&res, "set-cookie");
    assert!(
        cookie.starts_with("wl_v=") && cookie.contains("; Secure"),
        "{cookie}"
    );

    // Plain http (local use): no Secure, or the browser would drop the cookie.
    let (ts, token, _) = signed_share(None, Default::default()).await;
    let res = reqwest::get(format!("{}/s/{token}", ts.url()))
        .await
        .unwrap();
    assert!(!header(&res, "set-cookie").contains("Secure"));
}

fn lead_form(token: &str) -> Vec<(&'static str, String)> {
    vec![
        ("t", token.to_string()),
        ("name", "王女士".into()),
        ("phone", "13600136000".into()),
        ("consent", "yes".into()),
    ]
}

#[tokio::test]
async fn a_form_posted_from_another_site_is_refused_and_stores_nothing() {
    let (ts, token, company) =
        signed_share(Some("https://warm.example.com".into()), Default::default()).await;
    let http = reqwest::Client::new();
    let post = |headers: Vec<(&'static str, &'static str)>| {
        let mut req = http
            .post(format!("{}/t/lead", ts.url()))
            .form(&lead_form(&token));
        for (k, v) in headers {
            req = req.header(k, v);
        }
        req.send()
    };
    for cross in [
        vec![("origin", "https://evil.example")],
        vec![("origin", "null")],
        vec![("referer", "https://evil.example/page")],
        vec![
            ("sec-fetch-site", "cross-site"),
            ("origin", "https://warm.example.com"),
        ],
    ] {
        let res = post(cross.clone()).await.unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{cross:?}");
        // A browser without script gets a page, not JSON.
        assert!(res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        let body = res.text().await.unwrap();
        assert!(body.contains("本站的页面"), "{body}");
    }
    let leads = || async { ts.admin().leads(company).await.unwrap().len() };
    assert_eq!(leads().await, 0, "nothing stored");
    // Our own page (the browser says same-origin, or the Origin matches).
    let res = post(vec![("sec-fetch-site", "same-origin")]).await.unwrap();
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "{}",
        res.text().await.unwrap()
    );
    let res = post(vec![("origin", "https://warm.example.com")])
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(leads().await, 1, "the same person, one lead");
}

/// Posts leads from "visitor" addresses until the per-IP limit answers 429;
/// how many got through.
async fn leads_until_limited(
    ts: &warmlead_server::testing::TestServer,
    token: &str,
    xff: &[&str],
) -> Vec<StatusCode> {
    let http = reqwest::Client::new();
    let mut out = Vec::new();
    for ip in xff {
        let res = http
            .post(format!("{}/t/lead", ts.url()))
            .header("x-forwarded-for", *ip)
            .form(&lead_form(token))
            .send()
            .await
            .unwrap();
        out.push(res.status());
    }
    out
}

#[tokio::test]
async fn forwarded_addresses_count_only_from_a_trusted_proxy() {
    // Five leads per address and ten minutes; the sixth from one address is refused.
    let spoofed: Vec<String> = (1..=6).map(|i| format!("203.0.{i}.9")).collect();
    let spoofed: Vec<&str> = spoofed.iter().map(String::as_str).collect();

    // Nobody trusted: a visitor's own X-Forwarded-For is ignored; every
    // request is the TCP peer (127.0.0.1), one bucket.
    let (ts, token, _) = signed_share(None, Default::default()).await;
    let got = leads_until_limited(&ts, &token, &spoofed).await;
    assert_eq!(got[..5], [StatusCode::OK; 5]);
    assert_eq!(
        got[5],
        StatusCode::TOO_MANY_REQUESTS,
        "spoofing must not escape the limit"
    );

    // Behind a trusted proxy on 127.0.0.1: each visitor has their own bucket.
    let options = warmlead_server::Options {
        trusted_proxies: "127.0.0.1".parse().unwrap(),
        ..Default::default()
    };
    let (ts, token, _) = signed_share(None, options).await;
    let got = leads_until_limited(&ts, &token, &spoofed).await;
    assert_eq!(got, vec![StatusCode::OK; 6], "six visitors, six buckets");
    let one = vec!["198.51.100.7, 127.0.0.1"; 6];
    let got = leads_until_limited(&ts, &token, &one).await;
    assert_eq!(got[..5], [StatusCode::OK; 5]);
    assert_eq!(
        got[5],
        StatusCode::TOO_MANY_REQUESTS,
        "one visitor, one bucket"
    );
}

/// A draft for the content library's API (`PUT /api/v1/content/{key}`).
fn library_draft(title: &str, audience: ContentAudience) -> ContentDraft {
    ContentDraft {
        kind: ContentKind::Article,
        title: title.into(),
        summary: String::new(),
        body: format!("<p>{title}的正文</p>"),
        case_study: None,
        cover: None,
        video: None,
        audience,
    }
}

/// Saves and publishes `key`; the live item.
async fn publish(d: &common::Device, key: &str, draft: &ContentDraft) -> ContentItem {
    let res = d
        .put(&format!("{PATH_CONTENT}/{key}"))
        .json(draft)
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "{}",
        res.text().await.unwrap()
    );
    let res = d
        .post(&format!("{PATH_CONTENT}/{key}/publish"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "{}",
        res.text().await.unwrap()
    );
    res.json().await.unwrap()
}

/// What a friend's phone gets from each thing the page does with a token:
/// the page, a beacon, "pass it on", and "I'm interested".
struct Reach {
    page: StatusCode,
    html: String,
    beacon: StatusCode,
    forward: StatusCode,
    lead: StatusCode,
}

async fn reach(base: &str, token: &str, pv: &str) -> Reach {
    let http = reqwest::Client::new();
    let res = http.get(format!("{base}/s/{token}")).send().await.unwrap();
    let page = res.status();
    let html = res.text().await.unwrap();
    let beacon = beacon(base, token, pv, 3000, None).await;
    let forward = http
        .post(format!("{base}{PATH_FORWARD}"))
        .json(&serde_json::json!({ "t": token }))
        .send()
        .await
        .unwrap()
        .status();
    let lead = common::leave_phone(base, token, "赵六", "13600136000")
        .await
        .status();
    Reach {
        page,
        html,
        beacon,
        forward,
        lead,
    }
}

/// Every way a friend's phone reaches a share that is not for its sharer
/// gets the polite page or "unknown share", and credits nobody.
async fn assert_closed(base: &str, token: &str, pv: &str, title: &str, what: &str) {
    let r = reach(base, token, pv).await;
    assert_eq!(r.page, StatusCode::GONE, "{what}: {}", r.html);
    assert!(
        r.html.contains("不再提供") || r.html.contains("no longer available"),
        "{what}: the polite page: {}",
        r.html
    );
    assert!(
        !r.html.contains(title),
        "{what}: the item shows: {}",
        r.html
    );
    assert_eq!(r.beacon, StatusCode::NOT_FOUND, "{what}: beacon");
    assert_eq!(r.forward, StatusCode::NOT_FOUND, "{what}: forward");
    assert_eq!(r.lead, StatusCode::NOT_FOUND, "{what}: lead");
}

/// A share opens only an item meant for its sharer (the briefcase's rule):
/// a partner's device can sign a link to any item id of the company, and
/// such a link to another rep's items, or an item sent only to another
/// rep's partners, opens the polite page and credits no view, lead or
/// forward; the same once the item stops being meant for the sharer, for
/// the link and the child shares made from it.
#[tokio::test]
async fn a_share_opens_only_items_meant_for_its_sharer() {
    let w = world().await;
    let base = w.ts.url();
    let manager = activate(&w.ts, w.manager.id).await;
    let rep_a = activate(&w.ts, w.rep_a.id).await;
    let rep_b = activate(&w.ts, w.rep_b.id).await;
    let partner = activate(&w.ts, w.partner_a1.id).await;
    let only_b = ContentAudience::Reps {
        rep_ids: vec![w.rep_b.id],
    };
    let only_a = ContentAudience::Reps {
        rep_ids: vec![w.rep_a.id],
    };
    let for_b = publish(
        &manager,
        "for-b",
        &library_draft("只给王芳团队", only_b.clone()),
    )
    .await;
    let b_own = publish(
        &rep_b,
        "b-own",
        &library_draft("王芳自己的案例", ContentAudience::Company),
    )
    .await;
    let for_a = publish(&manager, "for-a", &library_draft("给李明团队", only_a)).await;

    // Signed on devices, offline: partner A1 and rep A, items of rep B's.
    let closed = [
        (&partner, &for_b, "partner, item for rep B's partners"),
        (&partner, &b_own, "partner, rep B's own item"),
        (&rep_a, &for_b, "rep A, item for rep B's partners"),
        (&rep_a, &b_own, "rep A, rep B's own item"),
    ];
    for (i, (device, item, what)) in closed.iter().enumerate() {
        let token = device.sign(10 + i as i64, item.id, Channel::Moments);
        assert_closed(
            &base,
            &token,
            &format!("pv-closed-{i:04}"),
            &item.title,
            what,
        )
        .await;
        assert!(!w.ts.admin().share_exists(&token).await.unwrap(), "{what}");
    }
    // Pushed by sync, the same share is refused (and the outbox moves on).
    let pushed = partner
        .push(vec![partner.create_share(1, 20, for_b.id)])
        .await;
    assert!(
        matches!(pushed.outcomes[0].outcome, Outcome::Rejected { .. }),
        "{:?}",
        pushed.outcomes
    );
    assert_eq!(w.ts.admin().count_visits().await.unwrap(), 0);
    assert!(w.ts.admin().leads(w.company.id).await.unwrap().is_empty());

    // A share that was for the partner, and a child share of it, close
    // once the manager sends the item to rep B's partners only.
    let token = partner.sign(30, for_a.id, Channel::Group);
    let open = reach(&base, &token, "pv-open-0001").await;
    assert_eq!(open.page, StatusCode::OK, "{}", open.html);
    assert!(open.html.contains("给李明团队"));
    assert_eq!(open.beacon, StatusCode::NO_CONTENT);
    assert_eq!(open.forward, StatusCode::OK);
    assert_eq!(open.lead, StatusCode::OK);
    let child = reqwest::Client::new()
        .post(format!("{base}{PATH_FORWARD}"))
        .json(&serde_json::json!({ "t": token }))
        .send()
        .await
        .unwrap()
        .json::<ForwardResponse>()
        .await
        .unwrap()
        .token;
    let visits = w.ts.admin().count_visits().await.unwrap();
    let leads = w.ts.admin().leads(w.company.id).await.unwrap().len();
    assert_eq!((visits, leads), (1, 1));

    let moved = library_draft("给李明团队", only_b);
    let res = manager
        .put(&format!("{PATH_CONTENT}/for-a"))
        .json(&moved)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_closed(
        &base,
        &token,
        "pv-moved-0001",
        "给李明团队",
        "after the move",
    )
    .await;
    assert_closed(&base, &child, "pv-moved-0002", "给李明团队", "child share").await;
    assert_eq!(w.ts.admin().count_visits().await.unwrap(), visits);
    assert_eq!(w.ts.admin().leads(w.company.id).await.unwrap().len(), leads);
}
