mod common;

use common::{activate, api_error, world};
use reqwest::StatusCode;
use warmlead_core::api::{ActivateRequest, MeResponse, PATH_ACTIVATE, PATH_ME};
use warmlead_core::ErrorCode;

#[tokio::test]
async fn a_code_activates_one_device_once() {
    let w = world().await;
    let code =
        w.ts.admin()
            .create_activation_code(w.partner_a1.id)
            .await
            .unwrap();
    let http = reqwest::Client::new();
    let url = format!("{}{PATH_ACTIVATE}", w.ts.url());
    let send = |code: String| {
        http.post(&url)
            .json(&ActivateRequest {
                code,
                device_name: "张三的电脑".into(),
            })
            .send()
    };
    // Typed in lower case without dashes: still the same code.
    let first = send(code.replace('-', "").to_lowercase()).await.unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    let act: warmlead_core::api::ActivateResponse = first.json().await.unwrap();
    assert_eq!(act.user, w.partner_a1);
    assert_eq!(act.company, w.company);
    assert_eq!(act.public_base_url, w.ts.url());
    assert!(!act.epoch.is_empty());

    let me: MeResponse = http
        .get(format!("{}{PATH_ME}", w.ts.url()))
        .bearer_auth(&act.device_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me.user.name, "张三");

    let again = send(code.clone()).await.unwrap();
    assert_eq!(again.status(), StatusCode::UNAUTHORIZED);
    let err = api_error(again).await;
    assert_eq!(err.code, ErrorCode::Unauthorized);
    assert!(err.message.contains("already been used"), "{}", err.message);

    let unknown = send("AAA-BBB-CCC".into()).await.unwrap();
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
    assert!(api_error(unknown)
        .await
        .message
        .contains("unknown activation code"));
}

#[tokio::test]
async fn unknown_or_missing_bearer_token_is_401_json() {
    let w = world().await;
    let http = reqwest::Client::new();
    let url = format!("{}{PATH_ME}", w.ts.url());
    for req in [
        http.get(&url).bearer_auth("not-a-real-token"),
        http.get(&url),
        http.get(&url).header("Authorization", "Basic abc"),
    ] {
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(api_error(res).await.code, ErrorCode::Unauthorized);
    }
    // A real device still works next to them.
    let d = activate(&w.ts, w.rep_a.id).await;
    assert_eq!(
        d.get(PATH_ME).send().await.unwrap().status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn health_and_unknown_routes() {
    let w = world().await;
    let res = reqwest::get(format!("{}/healthz", w.ts.url()))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.text().await.unwrap(), "ok");
    let res = reqwest::get(format!("{}/api/v1/nope", w.ts.url()))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(api_error(res).await.code, ErrorCode::NotFound);
    let res = reqwest::Client::new()
        .delete(format!("{}{PATH_ME}", w.ts.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(api_error(res).await.code, ErrorCode::InvalidInput);
}

use warmlead_core::api::{IssuedCode, TeamMember, PATH_TEAM};
use warmlead_core::limits::{
    ACTIVATION_WINDOW_SECS, MAX_ACTIVATION_FAILURES_OVERALL, MAX_ACTIVATION_FAILURES_PER_ADDRESS,
};
use warmlead_server::testing::TestServer;

const PER_ADDRESS: usize = MAX_ACTIVATION_FAILURES_PER_ADDRESS;

/// A server behind a trusted proxy on 127.0.0.1 (so a test can speak from
/// many networks with `X-Forwarded-For`) with one rep; the rep's id.
async fn proxied_server() -> (TestServer, i64) {
    let options = warmlead_server::Options {
        trusted_proxies: "127.0.0.1".parse().unwrap(),
        ..Default::default()
    };
    let ts = TestServer::start_configured(false, None, options).await;
    let a = ts.admin();
    let company = a.create_company("暖居装修").await.unwrap();
    let rep = a
        .create_user(
            company.id,
            warmlead_core::domain::Role::Rep,
            "李明",
            None,
            None,
        )
        .await
        .unwrap();
    (ts, rep.id)
}

/// Activates with `code` from the network of `from` (an address the proxy
/// forwarded; `None`: the TCP peer itself).
async fn try_code(ts: &TestServer, from: Option<&str>, code: &str) -> reqwest::Response {
    let mut req = reqwest::Client::new()
        .post(format!("{}{PATH_ACTIVATE}", ts.url()))
        .json(&ActivateRequest {
            code: code.into(),
            device_name: "猜测".into(),
        });
    if let Some(ip) = from {
        req = req.header("x-forwarded-for", ip);
    }
    req.send().await.unwrap()
}

/// A wrong code, different each time.
fn wrong(i: usize) -> String {
    format!("ZZZ-ZZZ-{i:03}")
}

/// A 429 that says when to try again, in its header and its message, and
/// that a correct code waits too.
async fn assert_paused(res: reqwest::Response, who: &str) {
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let secs: u64 = res
        .headers()
        .get("retry-after")
        .expect("a Retry-After header")
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (1..=ACTIVATION_WINDOW_SECS as u64).contains(&secs),
        "{secs}"
    );
    let e = api_error(res).await;
    assert_eq!(e.code, ErrorCode::RateLimited);
    assert!(e.message.contains(who), "{}", e.message);
    assert!(
        e.message.contains("even with a correct code"),
        "{}",
        e.message
    );
    assert!(
        e.message.contains("try again in 15 minutes"),
        "{}",
        e.message
    );
}

/// Wrong codes from one network: the first ones are told the code is
/// unknown; then the network is paused (429, `Retry-After`), a correct code
/// included, and the flood no longer writes anything. Another network
/// signs in meanwhile.
#[tokio::test]
async fn wrong_codes_from_one_network_pause_it() {
    let (ts, rep) = proxied_server().await;
    let guesser = Some("198.51.100.7");
    for i in 0..PER_ADDRESS {
        let res = try_code(&ts, guesser, &wrong(i)).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "guess {i}");
    }
    for i in PER_ADDRESS..PER_ADDRESS + 30 {
        assert_paused(try_code(&ts, guesser, &wrong(i)).await, "your network").await;
    }
    let code = ts.admin().create_activation_code(rep).await.unwrap();
    assert_paused(try_code(&ts, guesser, &code).await, "your network").await;
    // The paused attempts were refused on a reader: the counts did not move.
    let hits = ts
        .sql()
        .i64("SELECT MAX(hits) FROM rate_limits WHERE key LIKE 'activation_ip:%'")
        .await;
    assert_eq!(hits, PER_ADDRESS as i64);
    let res = try_code(&ts, Some("203.0.113.9"), &code).await;
    assert_eq!(res.status(), StatusCode::OK);
    // Nobody spoofs their way out: without a trusted proxy, the header is
    // ignored and the peer is the network.
    let ts = TestServer::start().await;
    for i in 0..PER_ADDRESS {
        let from = format!("10.{i}.0.1");
        let res = try_code(&ts, Some(&from), &wrong(i)).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "guess {i}");
    }
    assert_paused(
        try_code(&ts, Some("10.99.0.1"), &wrong(99)).await,
        "your network",
    )
    .await;
}

/// Signing in does not fill the window: an office behind one address
/// activates more laptops than the limit; its typos still count.
#[tokio::test]
async fn correct_codes_do_not_count_against_a_network() {
    let (ts, rep) = proxied_server().await;
    let office = Some("198.51.100.7");
    for i in 0..PER_ADDRESS + 5 {
        let code = ts.admin().create_activation_code(rep).await.unwrap();
        let res = try_code(&ts, office, &code).await;
        assert_eq!(res.status(), StatusCode::OK, "laptop {i}");
    }
    for i in 0..PER_ADDRESS {
        let res = try_code(&ts, office, &wrong(i)).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "typo {i}");
    }
    assert_paused(try_code(&ts, office, &wrong(99)).await, "your network").await;
}

/// Guesses sent all at once cannot slip past the limit together: exactly
/// the limit's worth is looked at, the rest is paused.
#[tokio::test]
async fn a_burst_of_guesses_is_cut_at_the_limit() {
    let (ts, _) = proxied_server().await;
    let ts = std::sync::Arc::new(ts);
    let burst = 4 * PER_ADDRESS;
    let tasks: Vec<_> = (0..burst)
        .map(|i| {
            let ts = ts.clone();
            tokio::spawn(async move {
                try_code(&ts, Some("198.51.100.7"), &wrong(i))
                    .await
                    .status()
            })
        })
        .collect();
    let mut looked_at = 0;
    let mut paused = 0;
    for t in tasks {
        match t.await.unwrap() {
            StatusCode::UNAUTHORIZED => looked_at += 1,
            StatusCode::TOO_MANY_REQUESTS => paused += 1,
            other => panic!("{other}"),
        }
    }
    assert_eq!((looked_at, paused), (PER_ADDRESS, burst - PER_ADDRESS));
}

/// Guessing from many networks at once fills the server's own window:
/// then activation pauses for everyone, and the message says so.
#[tokio::test]
async fn guesses_from_many_networks_pause_the_server() {
    let (ts, rep) = proxied_server().await;
    let networks = MAX_ACTIVATION_FAILURES_OVERALL.div_ceil(PER_ADDRESS);
    let mut sent = 0;
    'guessing: for n in 0..networks {
        let from = format!("198.18.{n}.1");
        for _ in 0..PER_ADDRESS {
            if sent == MAX_ACTIVATION_FAILURES_OVERALL {
                break 'guessing;
            }
            let res = try_code(&ts, Some(&from), &wrong(sent)).await;
            assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "guess {sent}");
            sent += 1;
        }
    }
    let code = ts.admin().create_activation_code(rep).await.unwrap();
    assert_paused(
        try_code(&ts, Some("203.0.113.9"), &code).await,
        "for everyone",
    )
    .await;
}

async fn issue(manager: &common::Device, user_id: i64) -> IssuedCode {
    let res = manager
        .post(&format!("/api/v1/team/{user_id}/activation-code"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

async fn member(manager: &common::Device, user_id: i64) -> TeamMember {
    let team: Vec<TeamMember> = manager
        .get(PATH_TEAM)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    team.into_iter().find(|m| m.user.id == user_id).unwrap()
}

async fn revoke_code(d: &common::Device, user_id: i64, code_id: i64) -> reqwest::Response {
    d.post(&format!(
        "/api/v1/team/{user_id}/activation-codes/{code_id}/revoke"
    ))
    .send()
    .await
    .unwrap()
}

/// A lost code stops working once a new one is issued, whichever way
/// either was made (the operator's command line, the team screen).
#[tokio::test]
async fn a_new_code_retires_the_older_ones() {
    let w = world().await;
    let manager = activate(&w.ts, w.manager.id).await;
    let lost =
        w.ts.admin()
            .create_activation_code(w.rep_a.id)
            .await
            .unwrap();
    let second = issue(&manager, w.rep_a.id).await;
    let res = try_code(&w.ts, None, &lost).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let e = api_error(res).await;
    assert!(
        e.message.contains("replaced by a newer one"),
        "{}",
        e.message
    );
    let third =
        w.ts.admin()
            .create_activation_code(w.rep_a.id)
            .await
            .unwrap();
    let res = try_code(&w.ts, None, &second.activation_code).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    // Nor may the manager send a retired code by SMS.
    let res = manager
        .post(&format!("/api/v1/team/{}/activation-code/sms", w.rep_a.id))
        .json(&serde_json::json!({"activation_code": second.activation_code}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(try_code(&w.ts, None, &third).await.status(), StatusCode::OK);
}

/// The team screen lists a person's open code (never the code itself) and
/// the manager withdraws it; nobody else's code can be reached that way.
#[tokio::test]
async fn a_manager_revokes_an_open_code() {
    let w = world().await;
    let manager = activate(&w.ts, w.manager.id).await;
    let issued = issue(&manager, w.rep_a.id).await;
    let m = member(&manager, w.rep_a.id).await;
    assert_eq!(m.open_codes.len(), 1);
    let open = &m.open_codes[0];
    assert_eq!(open.id, issued.code_id);
    assert_eq!(
        open.expires_at_ms - open.created_at_ms,
        7 * 24 * 3600 * 1000
    );
    let listed = serde_json::to_string(&m).unwrap();
    assert!(!listed.contains(&issued.activation_code), "{listed}");

    // Someone else's code under this person, a rep, another company: not theirs to revoke.
    let other = issue(&manager, w.rep_b.id).await;
    let res = revoke_code(&manager, w.rep_a.id, other.code_id).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let rep = activate(&w.ts, w.rep_b.id).await;
    let res = revoke_code(&rep, w.rep_a.id, issued.code_id).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let a = w.ts.admin();
    let elsewhere = a.create_company("青松家政").await.unwrap();
    let boss = a
        .create_user(
            elsewhere.id,
            warmlead_core::domain::Role::Manager,
            "周经理",
            None,
            None,
        )
        .await
        .unwrap();
    let boss = activate(&w.ts, boss.id).await;
    let res = revoke_code(&boss, w.rep_a.id, issued.code_id).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(member(&manager, w.rep_a.id).await.open_codes.len(), 1);

    let res = revoke_code(&manager, w.rep_a.id, issued.code_id).await;
    assert_eq!(res.status(), StatusCode::OK);
    let m: TeamMember = res.json().await.unwrap();
    assert!(m.open_codes.is_empty());
    let res = try_code(&w.ts, None, &issued.activation_code).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(api_error(res).await.message.contains("withdrawn"));
    // Again: nothing left to do, and no error.
    let res = revoke_code(&manager, w.rep_a.id, issued.code_id).await;
    assert_eq!(res.status(), StatusCode::OK);
    // A rep takes back a code of their own partner.
    let rep_a = activate(&w.ts, w.rep_a.id).await;
    let partner_code = issue(&rep_a, w.partner_a1.id).await;
    let res = revoke_code(&rep_a, w.partner_a1.id, partner_code.code_id).await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = try_code(&w.ts, None, &partner_code.activation_code).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}
