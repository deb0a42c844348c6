//! SMS invitations end to end: a real server on port 0 (real SQLite file)
//! sending through the real Twilio provider code to a fake Twilio on port 0
//! that checks the request format (path, Basic auth, form fields) and
//! answers like Twilio; hooks driven over HTTP like a provider would.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::post;
use axum::{Form, Json, Router};
use base64::Engine;
use warmlead_core::api::{
    ActivateRequest, ActivateResponse, PATH_ACTIVATE, PATH_PULL, PATH_SMS_INVITATIONS,
};
use warmlead_core::domain::{Role, User};
use warmlead_core::invite::{
    Invitation, InviteChannel, PartnerSource, SmsInviteRequest, SmsInviteResult, SmsPlan,
    SmsRecipient, SmsRecord, SmsRefusal, SmsStatus,
};
use warmlead_core::sync::{ChangeBody, PullResponse};
use warmlead_server::{
    start_with, Clock, Config, Options, RunningServer, Sms, SmsInviteOptions, SmsProviderConfig,
};
use warmlead_sms::{ConsoleProvider, TwilioConfig};

const SID: &str = "AC0123456789abcdef0123456789abcdef";
const TOKEN: &str = "twilio-auth-token";
const FROM: &str = "+15005550006";
const SECRET: &str = "hook-secret-for-tests";
const HOUR: i64 = 3600 * 1000;
const DAY: i64 = 24 * HOUR;

/// What the fake Twilio saw and how it answers.
#[derive(Clone, Default)]
struct FakeTwilio {
    sent: Arc<Mutex<Vec<HashMap<String, String>>>>,
    /// Requests that were not what Twilio expects (path, auth, fields).
    malformed: Arc<Mutex<Vec<String>>>,
    /// 0: answer 201; otherwise answer this status with a Twilio error body.
    fail_with: Arc<AtomicU16>,
}

impl FakeTwilio {
    fn sent(&self) -> Vec<HashMap<String, String>> {
        self.sent.lock().unwrap().clone()
    }
}

async fn fake_messages(
    State(fake): State<FakeTwilio>,
    Path(sid): Path<String>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> axum::response::Response {
    let expected_auth = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{SID}:{TOKEN}"))
    );
    let mut problems = Vec::new();
    if sid != SID {
        problems.push(format!("account sid {sid}"));
    }
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(&expected_auth) {
        problems.push("basic auth".to_string());
    }
    let ct = headers.get("content-type").and_then(|v| v.to_str().ok());
    if ct != Some("application/x-www-form-urlencoded") {
        problems.push(format!("content type {ct:?}"));
    }
    for field in ["To", "From", "Body"] {
        if form.get(field).is_none_or(|v| v.is_empty()) {
            problems.push(format!("missing {field}"));
        }
    }
    if form.get("From").map(String::as_str) != Some(FROM) {
        problems.push("From".into());
    }
    if !problems.is_empty() {
        fake.malformed.lock().unwrap().push(problems.join(", "));
        let body = serde_json::json!({"code": 20003, "message": "Authenticate", "status": 401});
        return (StatusCode::UNAUTHORIZED, Json(body)).into_response();
    }
    let fail = fake.fail_with.load(Ordering::SeqCst);
    if fail != 0 {
        let body = serde_json::json!({
            "code": 20500, "message": "Internal Server Error",
            "more_info": "https://www.twilio.com/docs/errors/20500", "status": fail
        });
        return (StatusCode::from_u16(fail).unwrap(), Json(body)).into_response();
    }
    let mut sent = fake.sent.lock().unwrap();
    sent.push(form.clone());
    let body = serde_json::json!({
        "sid": format!("SM{:032x}", sent.len()),
        "status": "queued",
        "to": form["To"],
        "from": FROM,
        "body": form["Body"],
        "account_sid": SID,
    });
    (StatusCode::CREATED, Json(body)).into_response()
}

async fn start_fake() -> (FakeTwilio, String) {
    let fake = FakeTwilio::default();
    let app = Router::new()
        .route(
            "/2010-04-01/Accounts/{sid}/Messages.json",
            post(fake_messages),
        )
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (fake, url)
}

/// The next instant at or after `from_ms` whose UTC time of day is `hour`:00.
fn next_utc_hour(from_ms: i64, hour: i64) -> i64 {
    let midnight = from_ms - from_ms.rem_euclid(DAY);
    let at = midnight + hour * HOUR;
    if at >= from_ms {
        at
    } else {
        at + DAY
    }
}

fn wall_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

struct Device {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Device {
    async fn invite(&self, recipients: &[(&str, &str)], dry_run: bool) -> reqwest::Response {
        let req = SmsInviteRequest {
            recipients: recipients
                .iter()
                .map(|(name, phone)| SmsRecipient {
                    name: name.to_string(),
                    phone: phone.to_string(),
                })
                .collect(),
            dry_run,
        };
        self.http
            .post(format!("{}{PATH_SMS_INVITATIONS}", self.base))
            .bearer_auth(&self.token)
            .json(&req)
            .send()
            .await
            .unwrap()
    }

    async fn invite_ok(&self, recipients: &[(&str, &str)], dry_run: bool) -> SmsInviteResult {
        let res = self.invite(recipients, dry_run).await;
        assert_eq!(res.status(), StatusCode::OK);
        res.json().await.unwrap()
    }

    async fn pull(&self) -> Vec<ChangeBody> {
        let (mut all, mut after) = (Vec::new(), 0);
        loop {
            let res = self
                .http
                .get(format!("{}{PATH_PULL}?after={after}", self.base))
                .bearer_auth(&self.token)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), StatusCode::OK);
            let page: PullResponse = res.json().await.unwrap();
            all.extend(page.changes.into_iter().map(|c| c.body));
            after = page.cursor;
            if !page.has_more {
                return all;
            }
        }
    }

    /// The newest state of every SMS record this device may see.
    async fn sms_records(&self) -> HashMap<i64, SmsRecord> {
        let mut out = HashMap::new();
        for body in self.pull().await {
            if let ChangeBody::SmsRecord(r) = body {
                out.insert(r.id, r);
            }
        }
        out
    }

    async fn invitations(&self) -> HashMap<i64, Invitation> {
        let mut out = HashMap::new();
        for body in self.pull().await {
            if let ChangeBody::Invitation(i) = body {
                out.insert(i.id, i);
            }
        }
        out
    }
}

struct Env {
    server: RunningServer,
    _dir: tempfile::TempDir,
    db_url: String,
    clock: Arc<AtomicI64>,
    /// How many times the server read the clock (the runner reads it once a pass).
    clock_reads: Arc<AtomicU64>,
    rep: Device,
    partner: Device,
    partner_user: User,
    http: reqwest::Client,
}

impl Env {
    fn url(&self) -> String {
        self.server.base_url()
    }

    fn set_clock(&self, ms: i64) {
        self.clock.store(ms, Ordering::SeqCst);
    }

    /// Waits (no sleep-then-assert) until the SMS runner has looked at the
    /// queue since this call: three more clock reads. A pass with nothing
    /// due reads the clock once; a message it would send reads it again
    /// before the send, whose result is recorded before the next read, so
    /// whatever a pass would send is sent by then.
    async fn runner_passed(&self) {
        let from = self.clock_reads.load(Ordering::SeqCst);
        eventually("a pass of the SMS runner", || async {
            self.clock_reads.load(Ordering::SeqCst) >= from + 3
        })
        .await;
    }

    async fn hook(&self, kind: &str, query: &str, form: &[(&str, &str)]) -> reqwest::Response {
        let body = form
            .iter()
            .map(|(k, v)| format!("{k}={}", urlencode(v)))
            .collect::<Vec<_>>()
            .join("&");
        self.http
            .post(format!("{}/hooks/sms/twilio/{kind}{query}", self.url()))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap()
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

async fn activate(server: &RunningServer, user_id: i64) -> Device {
    let code = server
        .admin()
        .create_activation_code(user_id)
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let res = http
        .post(format!("{}{PATH_ACTIVATE}", server.base_url()))
        .json(&ActivateRequest {
            code,
            device_name: "test laptop".into(),
        })
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let act: ActivateResponse = res.json().await.unwrap();
    Device {
        http,
        base: server.base_url(),
        token: act.device_token,
    }
}

/// A server sending through `sms`, with a settable clock that starts at
/// 10:00 in Beijing (02:00 UTC, not quiet) on or after the wall clock, so
/// invitations made by it are still valid for the real clock of the
/// invitation page.
fn options(sms: Sms, hook_secret: Option<&str>, clock: &Arc<AtomicI64>) -> Options {
    counted_options(sms, hook_secret, clock, &Arc::default())
}

/// [`options`] whose clock counts its reads in `reads`.
fn counted_options(
    sms: Sms,
    hook_secret: Option<&str>,
    clock: &Arc<AtomicI64>,
    reads: &Arc<AtomicU64>,
) -> Options {
    let (c, reads) = (clock.clone(), reads.clone());
    Options {
        sms,
        sms_invites: SmsInviteOptions {
            hook_secret: hook_secret.map(str::to_string),
            clock: Clock::from_fn(move || {
                reads.fetch_add(1, Ordering::SeqCst);
                c.load(Ordering::SeqCst)
            }),
            runner_every: Duration::from_millis(50),
            ..SmsInviteOptions::default()
        },
        ..Options::default()
    }
}

async fn config(dir: &std::path::Path) -> Config {
    Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        database_url: warmlead_server::testing::Backend::selected()
            .database_url(dir)
            .await,
        public_url: None,
        demo: false,
    }
}

fn console() -> (ConsoleProvider, Sms) {
    let console = ConsoleProvider::new();
    let sms = Sms {
        provider: Arc::new(console.clone()),
        is_real: false,
    };
    (console, sms)
}

async fn env_with(sms: Sms, hook_secret: Option<&str>) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(AtomicI64::new(next_utc_hour(wall_now(), 2)));
    let clock_reads = Arc::new(AtomicU64::new(0));
    let options = counted_options(sms, hook_secret, &clock, &clock_reads);
    let config = config(dir.path()).await;
    let db_url = config.database_url.clone();
    let server = start_with(config, options).await.unwrap();
    let a = server.admin();
    let company = a.create_company("暖居装修").await.unwrap();
    let rep = a
        .create_user(company.id, Role::Rep, "李明", Some("13900139000"), None)
        .await
        .unwrap();
    let partner_user = a
        .create_user(
            company.id,
            Role::Partner,
            "张三",
            Some("13700137000"),
            Some(rep.id),
        )
        .await
        .unwrap();
    let rep = activate(&server, rep.id).await;
    let partner = activate(&server, partner_user.id).await;
    Env {
        server,
        _dir: dir,
        db_url,
        clock,
        clock_reads,
        rep,
        partner,
        partner_user,
        http: reqwest::Client::new(),
    }
}

async fn twilio_env() -> (Env, FakeTwilio) {
    let (fake, url) = start_fake().await;
    let config = SmsProviderConfig::Twilio(TwilioConfig {
        account_sid: SID.into(),
        auth_token: TOKEN.into(),
        from: FROM.into(),
        base_url: url,
        status_callback_url: None,
    });
    (env_with(Sms::from_config(config), Some(SECRET)).await, fake)
}

/// Polls `check` for up to 10 s.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(10) {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("timed out waiting for: {what}");
}

fn refusal(plan: SmsPlan) -> Option<SmsRefusal> {
    match plan {
        SmsPlan::Refuse { reason } => Some(reason),
        _ => None,
    }
}

#[tokio::test]
async fn two_recipients_get_the_link_and_the_opt_out_line_then_delivery_shows() {
    let (env, fake) = twilio_env().await;
    let started = Instant::now();
    let result = env
        .rep
        .invite_ok(
            &[("王五", "138 0013 8000"), ("赵六", "+86 136-0013-6000")],
            false,
        )
        .await;
    assert_eq!(result.items.len(), 2);
    for item in &result.items {
        assert_eq!(item.plan, SmsPlan::Send, "{item:?}");
        assert!(item.sms_id.is_some());
    }
    eventually("both messages at the fake Twilio", || async {
        fake.sent().len() == 2
    })
    .await;
    println!(
        "two SMS invitations: request to both at the provider in {:?}",
        started.elapsed()
    );
    assert!(fake.malformed.lock().unwrap().is_empty());
    let sent = fake.sent();
    let invitations = env.rep.invitations().await;
    assert_eq!(invitations.len(), 2);
    for (item, form) in result.items.iter().zip(&sent) {
        let text = item.text.as_deref().unwrap();
        assert_eq!(form["Body"], text);
        assert_eq!(Some(form["To"].as_str()), item.phone_e164.as_deref());
        assert!(text.starts_with("李明邀请您成为暖居装修的推荐合伙人，点击加入："));
        assert!(text.ends_with(" 拒收请回复R"), "{text}");
        let inv = invitations
            .values()
            .find(|i| text.contains(&i.url))
            .expect("the text carries an invitation's link");
        assert_eq!(inv.channel, InviteChannel::Sms);
        assert_eq!(inv.max_uses, Some(1));
        assert_eq!(inv.recipient_name.as_deref(), Some(item.name.as_str()));
        assert_eq!(inv.recipient_phone, item.phone_e164);
        // The link the person taps opens the invitation page.
        let page = env.http.get(&inv.url).send().await.unwrap();
        assert_eq!(page.status(), StatusCode::OK, "{}", inv.url);
    }
    // The rep's devices see both records sent, each tied to its invitation.
    let ids: Vec<i64> = result.items.iter().map(|i| i.sms_id.unwrap()).collect();
    eventually("both records sent in the rep's pull", || async {
        let recs = env.rep.sms_records().await;
        ids.iter()
            .all(|id| recs.get(id).is_some_and(|r| r.status == SmsStatus::Sent))
    })
    .await;
    let recs = env.rep.sms_records().await;
    assert!(recs.values().all(|r| r.invitation_id.is_some()));
    assert!(
        env.partner.sms_records().await.is_empty(),
        "partners see none"
    );

    // Twilio reports delivery of the first one.
    let sid = format!("SM{:032x}", 1);
    let form = [("MessageSid", sid.as_str()), ("MessageStatus", "delivered")];
    let q = format!("?secret={SECRET}");
    assert_eq!(env.hook("status", &q, &form).await.status(), StatusCode::OK);
    let first = sent[0]["To"].clone();
    let recs = env.rep.sms_records().await;
    let delivered: Vec<&SmsRecord> = recs
        .values()
        .filter(|r| r.status == SmsStatus::Delivered)
        .collect();
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].phone, first);
    // A late "sent" report does not move it back; an unknown id is acknowledged.
    let late = [("MessageSid", sid.as_str()), ("MessageStatus", "sent")];
    assert_eq!(env.hook("status", &q, &late).await.status(), StatusCode::OK);
    let unknown = [("MessageSid", "SMunknown"), ("MessageStatus", "delivered")];
    assert_eq!(
        env.hook("status", &q, &unknown).await.status(),
        StatusCode::OK
    );
    let recs = env.rep.sms_records().await;
    assert_eq!(
        recs.values()
            .filter(|r| r.status == SmsStatus::Delivered)
            .count(),
        1
    );
    let t = Instant::now();
    env.server.shutdown().await;
    println!("shutdown with the SMS runner: {:?}", t.elapsed());
}

#[tokio::test]
async fn dry_run_previews_the_real_text_and_sends_nothing() {
    let (env, fake) = twilio_env().await;
    let result = env.rep.invite_ok(&[("王五", "13800138000")], true).await;
    let item = &result.items[0];
    assert_eq!(item.plan, SmsPlan::Send);
    assert_eq!(item.sms_id, None);
    let text = item.text.clone().unwrap();
    assert!(text.ends_with(" 拒收请回复R"));
    env.runner_passed().await;
    assert!(fake.sent().is_empty());
    assert!(env.rep.invitations().await.is_empty());
    assert!(env.rep.sms_records().await.is_empty());
    // The preview has the length of the real message.
    let real = env.rep.invite_ok(&[("王五", "13800138000")], false).await;
    let real_text = real.items[0].text.clone().unwrap();
    assert_eq!(text.chars().count(), real_text.chars().count());
    assert_eq!(
        text.split("/i/").next(),
        real_text.split("/i/").next(),
        "same text up to the token"
    );
}

#[tokio::test]
async fn refusals_say_why_and_only_reps_send() {
    let (env, fake) = twilio_env().await;
    let long_name = "名".repeat(41);
    let result = env
        .rep
        .invite_ok(
            &[
                ("王五", "12345"),
                ("", "13800138000"),
                (&long_name, "13800138001"),
                ("赵六", "13800138002"),
                ("赵六", "+8613800138002"),
                ("张三", "13700137000"),
            ],
            false,
        )
        .await;
    let reasons: Vec<Option<SmsRefusal>> = result.items.iter().map(|i| refusal(i.plan)).collect();
    assert_eq!(
        reasons,
        vec![
            Some(SmsRefusal::BadPhone),
            Some(SmsRefusal::MissingName),
            Some(SmsRefusal::NameTooLong),
            None,
            Some(SmsRefusal::RepeatedInRequest),
            Some(SmsRefusal::AlreadyPartner),
        ]
    );
    assert_eq!(result.items[0].phone_e164, None);
    assert_eq!(
        result.items[5].phone_e164.as_deref(),
        Some("+8613700137000")
    );
    eventually("the one valid message sent", || async {
        fake.sent().len() == 1
    })
    .await;
    assert_eq!(env.partner_user.phone.as_deref(), Some("+8613700137000"));

    let res = env.partner.invite(&[("王五", "13800138009")], false).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let too_many: Vec<(&str, &str)> = vec![("王五", "13800138000"); 201];
    let res = env.rep.invite(&too_many, false).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let err: serde_json::Value = res.json().await.unwrap();
    assert_eq!(err["code"], "invalid_input");
    assert!(
        err["message"].as_str().unwrap().contains("at most 200"),
        "{err}"
    );
    let res = env.rep.invite(&[], false).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let res = env
        .rep
        .http
        .post(format!("{}{PATH_SMS_INVITATIONS}", env.url()))
        .bearer_auth(&env.rep.token)
        .header("content-type", "application/json")
        .body("{\"recipients\": 3}")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let res = env
        .http
        .post(format!("{}{PATH_SMS_INVITATIONS}", env.url()))
        .json(&serde_json::json!({"recipients": [], "dry_run": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    env.runner_passed().await;
    assert_eq!(fake.sent().len(), 1, "refused ones were never sent");
}

#[tokio::test]
async fn an_opt_out_reply_refuses_that_number_forever() {
    let (env, fake) = twilio_env().await;
    let q = format!("?secret={SECRET}");
    // A reply that is not an opt-out changes nothing.
    let chat = [("From", "+8613800138000"), ("Body", "你好，请问是哪位？")];
    assert_eq!(env.hook("reply", &q, &chat).await.status(), StatusCode::OK);
    let stop = [("From", "+8613800138001"), ("Body", " r ")];
    let res = env.hook("reply", &q, &stop).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().contains("<Response>"));
    let result = env
        .rep
        .invite_ok(&[("王五", "13800138000"), ("赵六", "13800138001")], false)
        .await;
    assert_eq!(result.items[0].plan, SmsPlan::Send);
    assert_eq!(refusal(result.items[1].plan), Some(SmsRefusal::OptedOut));
    // Years later, still no.
    env.set_clock(env.clock.load(Ordering::SeqCst) + 800 * DAY);
    let later = env.rep.invite_ok(&[("赵六", "13800138001")], true).await;
    assert_eq!(refusal(later.items[0].plan), Some(SmsRefusal::OptedOut));
    eventually("only the other number got one", || async {
        fake.sent().len() == 1
    })
    .await;
    assert_eq!(fake.sent()[0]["To"], "+8613800138000");
}

#[tokio::test]
async fn the_same_request_twice_sends_once() {
    let (env, fake) = twilio_env().await;
    let who = [("王五", "13800138000")];
    let first = env.rep.invite_ok(&who, false).await;
    let second = env.rep.invite_ok(&who, false).await;
    assert_eq!(first.items[0].plan, SmsPlan::Send);
    assert_eq!(refusal(second.items[0].plan), Some(SmsRefusal::Duplicate));
    assert_eq!(second.items[0].sms_id, None);
    eventually("the first one sent", || async { fake.sent().len() == 1 }).await;
    // Two at once (a double click) still send once.
    let (a, b) = tokio::join!(
        env.rep.invite_ok(&[("赵六", "13600136000")], false),
        async { env.rep.invite_ok(&[("赵六", "13600136000")], false).await }
    );
    let sends = [a, b]
        .iter()
        .filter(|r| r.items[0].plan == SmsPlan::Send)
        .count();
    assert_eq!(sends, 1);
    eventually("the second number sent", || async {
        fake.sent().len() == 2
    })
    .await;
    env.runner_passed().await;
    assert_eq!(fake.sent().len(), 2);
    // After the 24 h window the number may be invited again.
    env.set_clock(env.clock.load(Ordering::SeqCst) + DAY + 1);
    let again = env.rep.invite_ok(&who, false).await;
    assert_eq!(again.items[0].plan, SmsPlan::Send);
    eventually("the repeat after a day", || async {
        fake.sent().len() == 3
    })
    .await;
}

#[tokio::test]
async fn quiet_hours_queue_until_morning_and_recheck_then() {
    let (env, fake) = twilio_env().await;
    // 22:00 in Beijing (14:00 UTC): quiet until 08:00 there (00:00 UTC).
    let evening = next_utc_hour(env.clock.load(Ordering::SeqCst), 14);
    env.set_clock(evening);
    let result = env
        .rep
        .invite_ok(&[("王五", "13800138000"), ("赵六", "13800138001")], false)
        .await;
    let morning = evening + 10 * HOUR;
    for item in &result.items {
        assert_eq!(item.plan, SmsPlan::Queue { until_ms: morning });
        assert!(item.sms_id.is_some());
    }
    let recs = env.rep.sms_records().await;
    assert!(recs
        .values()
        .all(|r| r.status == SmsStatus::Queued && r.send_after_ms == Some(morning)));
    // The runner passes many times during the night and sends nothing.
    env.set_clock(morning - 60_000);
    env.runner_passed().await;
    assert!(fake.sent().is_empty());
    // 赵六 replies STOP overnight (to an earlier message): the re-check refuses.
    let q = format!("?secret={SECRET}");
    let stop = [("From", "+8613800138001"), ("Body", "STOP")];
    assert_eq!(env.hook("reply", &q, &stop).await.status(), StatusCode::OK);
    env.set_clock(morning);
    eventually("王五's message at 08:00", || async {
        fake.sent().len() == 1
    })
    .await;
    assert_eq!(fake.sent()[0]["To"], "+8613800138000");
    let (wang, zhao) = (
        result.items[0].sms_id.unwrap(),
        result.items[1].sms_id.unwrap(),
    );
    eventually("records updated", || async {
        let recs = env.rep.sms_records().await;
        recs[&wang].status == SmsStatus::Sent && recs[&zhao].status == SmsStatus::Failed
    })
    .await;
    let recs = env.rep.sms_records().await;
    assert!(recs[&zhao].error.as_deref().unwrap().contains("opted out"));
    assert_eq!(recs[&wang].send_after_ms, None);
}

#[tokio::test]
async fn a_provider_failure_is_recorded_with_its_message() {
    let (env, fake) = twilio_env().await;
    fake.fail_with.store(500, Ordering::SeqCst);
    let result = env.rep.invite_ok(&[("王五", "13800138000")], false).await;
    let id = result.items[0].sms_id.unwrap();
    eventually("failed in the rep's pull", || async {
        env.rep
            .sms_records()
            .await
            .get(&id)
            .is_some_and(|r| r.status == SmsStatus::Failed)
    })
    .await;
    let rec = &env.rep.sms_records().await[&id];
    let error = rec.error.as_deref().unwrap();
    assert!(
        error.contains("Internal Server Error") && error.contains("20500"),
        "{error}"
    );
    assert!(rec.text.contains("/i/"), "nothing lost: the text is kept");
    assert_eq!(env.rep.invitations().await.len(), 1);
    assert!(fake.sent().is_empty());
    assert!(fake.malformed.lock().unwrap().is_empty());
}

#[tokio::test]
async fn hooks_need_the_configured_secret() {
    let (env, _fake) = twilio_env().await;
    let stop = [("From", "+8613800138001"), ("Body", "R")];
    for query in ["", "?secret=wrong", "?secret="] {
        let res = env.hook("reply", query, &stop).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{query}");
        let err: serde_json::Value = res.json().await.unwrap();
        assert_eq!(err["code"], "unauthorized");
    }
    // Nothing was recorded: the number may still be invited.
    let r = env.rep.invite_ok(&[("赵六", "13800138001")], true).await;
    assert_eq!(r.items[0].plan, SmsPlan::Send);
    // The header works as well as the query.
    let res = env
        .http
        .post(format!("{}/hooks/sms/twilio/reply", env.url()))
        .header("x-warmlead-hook-secret", SECRET)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("From=%2B8613800138001&Body=R")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let r = env.rep.invite_ok(&[("赵六", "13800138001")], true).await;
    assert_eq!(refusal(r.items[0].plan), Some(SmsRefusal::OptedOut));
    let q = format!("?secret={SECRET}");
    let res = env
        .http
        .post(format!("{}/hooks/sms/nokia/status{q}", env.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = env.hook("status", &q, &[("MessageStatus", "sent")]).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);

    // A server without a secret has no hooks at all.
    let console = env_with(Sms::default(), None).await;
    let res = console.hook("reply", "?secret=anything", &stop).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = console.hook("status", "", &stop).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_default_console_outbox_shows_what_was_sent() {
    let (console, sms) = console();
    let env = env_with(sms, None).await;
    let result = env.rep.invite_ok(&[("王五", "13800138000")], false).await;
    let id = result.items[0].sms_id.unwrap();
    eventually("the outbox has it", || async {
        console.outbox().len() == 1
    })
    .await;
    let entry = &console.outbox()[0];
    assert_eq!(entry.to, "+8613800138000");
    assert_eq!(Some(entry.text.as_str()), result.items[0].text.as_deref());
    eventually("delivered (the outbox is the destination)", || async {
        env.rep
            .sms_records()
            .await
            .get(&id)
            .is_some_and(|r| r.status == SmsStatus::Delivered)
    })
    .await;

    // 王五 taps the link and joins: a partner bound to the rep, from SMS.
    let inv = env.rep.invitations().await.into_values().next().unwrap();
    assert!(entry.text.contains(&inv.url));
    let res = env
        .http
        .post(&inv.url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "name={}&phone=13800138000&consent=on",
            urlencode("王五")
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let joined = env
        .rep
        .pull()
        .await
        .into_iter()
        .find_map(|b| match b {
            ChangeBody::User(u) if u.phone.as_deref() == Some("+8613800138000") => Some(u),
            _ => None,
        })
        .expect("the new partner reaches the rep");
    assert_eq!(joined.role, Role::Partner);
    assert_eq!(joined.source, Some(PartnerSource::Sms));
    assert_eq!(joined.invitation_id, Some(inv.id));
    // Now a member: never invited again, whatever the window says.
    env.set_clock(env.clock.load(Ordering::SeqCst) + 30 * DAY);
    let again = env.rep.invite_ok(&[("王五", "13800138000")], true).await;
    assert_eq!(
        refusal(again.items[0].plan),
        Some(SmsRefusal::AlreadyPartner)
    );
}

#[tokio::test]
async fn queued_messages_survive_a_restart() {
    let (_, sms) = console();
    let env = env_with(sms, None).await;
    let evening = next_utc_hour(env.clock.load(Ordering::SeqCst), 14);
    env.set_clock(evening);
    let result = env
        .rep
        .invite_ok(&[("王五", "13800138000"), ("赵六", "13800138001")], false)
        .await;
    assert!(result
        .items
        .iter()
        .all(|i| matches!(i.plan, SmsPlan::Queue { .. })));
    let Env {
        server,
        _dir: dir,
        db_url,
        clock,
        rep,
        ..
    } = env;
    let t = Instant::now();
    server.shutdown().await;
    let stopped_in = t.elapsed();
    assert!(stopped_in < Duration::from_secs(2), "{stopped_in:?}");
    // The next morning another process starts on the same database.
    clock.store(evening + 10 * HOUR, Ordering::SeqCst);
    let (outbox, sms) = console();
    let config = Config {
        database_url: db_url,
        ..config(dir.path()).await
    };
    let server = start_with(config, options(sms, None, &clock))
        .await
        .unwrap();
    eventually("both sent by the new process", || async {
        outbox.outbox().len() == 2
    })
    .await;
    let rep = Device {
        base: server.base_url(),
        ..rep
    };
    eventually("delivered in the rep's pull", || async {
        let recs = rep.sms_records().await;
        recs.len() == 2 && recs.values().all(|r| r.status == SmsStatus::Delivered)
    })
    .await;
    server.shutdown().await;
}

#[tokio::test]
async fn two_hundred_recipients_in_one_request() {
    let (outbox, sms) = console();
    let env = env_with(sms, None).await;
    let phones: Vec<String> = (0..200).map(|i| format!("1380000{i:04}")).collect();
    let names: Vec<String> = (0..200).map(|i| format!("客户{i}")).collect();
    let recipients: Vec<(&str, &str)> = names
        .iter()
        .zip(&phones)
        .map(|(n, p)| (n.as_str(), p.as_str()))
        .collect();
    let t = Instant::now();
    let preview = env.rep.invite_ok(&recipients, true).await;
    let dry = t.elapsed();
    assert!(preview.items.iter().all(|i| i.plan == SmsPlan::Send));
    let t = Instant::now();
    let result = env.rep.invite_ok(&recipients, false).await;
    let real = t.elapsed();
    assert!(result.items.iter().all(|i| i.sms_id.is_some()));
    eventually("all 200 in the outbox", || async {
        outbox.outbox().len() == 200
    })
    .await;
    let all = t.elapsed();
    println!(
        "200 SMS recipients: dry run {dry:?}; request (200 invitations + messages + changes, one transaction) {real:?}; all handed to the console provider {all:?}"
    );
    let to: Vec<_> = outbox.outbox().iter().map(|e| e.to.clone()).collect();
    let unique: std::collections::HashSet<_> = to.iter().collect();
    assert_eq!(unique.len(), 200, "each number once");
}

#[tokio::test]
async fn a_weak_hook_secret_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(AtomicI64::new(wall_now()));
    for weak in ["", "   ", "short"] {
        let err = start_with(
            config(dir.path()).await,
            options(Sms::default(), Some(weak), &clock),
        )
        .await
        .err()
        .expect("refused");
        assert!(err.to_string().contains("hook secret"), "{err}");
    }
}

/// Posts the invitation form (name, phone, consent) to `url`.
async fn accept_form(url: &str, name: &str, phone: &str) -> (StatusCode, String) {
    let res = reqwest::Client::new()
        .post(url)
        .form(&[("name", name), ("phone", phone), ("consent", "yes")])
        .send()
        .await
        .unwrap();
    (res.status(), res.text().await.unwrap())
}

#[tokio::test]
async fn an_sms_invitation_is_accepted_only_with_the_number_it_was_sent_to() {
    let (_console, sms) = console();
    let env = env_with(sms, None).await;
    let result = env.rep.invite_ok(&[("王五", "13600136000")], false).await;
    assert!(matches!(result.items[0].plan, SmsPlan::Send), "{result:?}");
    let inv = env
        .rep
        .invitations()
        .await
        .into_values()
        .find(|i| i.recipient_phone.as_deref() == Some("+8613600136000"))
        .expect("the SMS invitation");
    let partners = || async {
        env.server
            .admin()
            .company_users(inv.company_id)
            .await
            .unwrap()
            .into_iter()
            .filter(|u| u.role == Role::Partner)
            .count()
    };
    let before = partners().await;

    // Someone else holding the link (forwarded, or seen on the phone).
    let (status, html) = accept_form(&inv.url, "冒名", "13500135000").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{html}");
    assert!(html.contains("只能用收到短信的那个手机号加入"), "{html}");
    assert!(
        html.contains("value=\"13500135000\""),
        "what was typed is kept"
    );
    assert_eq!(partners().await, before, "nothing created");

    // The recipient, however they write their number.
    let (status, html) = accept_form(&inv.url, "王五", "+86 136 0013 6000").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("wl-activation-code"), "{html}");
    assert_eq!(partners().await, before + 1);
    env.server.shutdown().await;
}

/// Asks the invitation page at `url` for a one-time code to `phone`.
async fn ask_code(url: &str, phone: &str) -> (StatusCode, String) {
    let res = reqwest::Client::new()
        .post(format!("{url}/code"))
        .form(&[("name", "王五"), ("phone", phone)])
        .send()
        .await
        .unwrap();
    (res.status(), res.text().await.unwrap())
}

#[tokio::test]
async fn one_time_codes_follow_the_sms_rules() {
    let (env, fake) = twilio_env().await;
    let q = format!("?secret={SECRET}");
    let stop = [("From", "+8613800138001"), ("Body", "R")];
    assert_eq!(env.hook("reply", &q, &stop).await.status(), StatusCode::OK);
    let res = env
        .rep
        .http
        .post(format!("{}/api/v1/invitations", env.url()))
        .bearer_auth(&env.rep.token)
        .json(&warmlead_core::invite::NewInvitation {
            channel: InviteChannel::Poster,
            multi_use: true,
            expires_in_hours: None,
        })
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let poster: Invitation = res.json().await.unwrap();

    // An opted-out number gets no code, and is told whom to ask.
    let (status, html) = ask_code(&poster.url, "13800138001").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{html}");
    assert!(
        html.contains("已退订") && html.contains("请联系 李明"),
        "{html}"
    );

    // One code, then none within the minute, then one again.
    let (status, html) = ask_code(&poster.url, "13800138002").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    let (status, html) = ask_code(&poster.url, "13800138002").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{html}");
    assert!(html.contains("1 分钟后才能重新获取"), "{html}");
    env.set_clock(env.clock.load(Ordering::SeqCst) + 61_000);
    let (status, _) = ask_code(&poster.url, "13800138002").await;
    assert_eq!(status, StatusCode::OK);

    // The daily cap (3) counts the invitation and the codes together.
    env.rep.invite_ok(&[("赵六", "13800138003")], false).await;
    for _ in 0..2 {
        env.set_clock(env.clock.load(Ordering::SeqCst) + 61_000);
        let (status, html) = ask_code(&poster.url, "13800138003").await;
        assert_eq!(status, StatusCode::OK, "{html}");
    }
    env.set_clock(env.clock.load(Ordering::SeqCst) + 61_000);
    let (status, html) = ask_code(&poster.url, "13800138003").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{html}");
    assert!(html.contains("已达上限"), "{html}");

    eventually("the invitation and four codes went out", || async {
        fake.sent().len() == 5
    })
    .await;
    let to: Vec<String> = fake.sent().iter().map(|m| m["To"].clone()).collect();
    assert!(!to.contains(&"+8613800138001".to_string()), "{to:?}");

    // What we keep of a code is its masked text, never the code.
    let texts = warmlead_server::testing::TestSql::new(&env.db_url)
        .texts("SELECT text FROM sms_messages WHERE kind = 'one_time_code'")
        .await;
    assert_eq!(texts.len(), 4);
    assert!(texts.iter().all(|t| t.contains("******")), "{texts:?}");
    let bodies: Vec<String> = fake.sent().iter().map(|m| m["Body"].clone()).collect();
    assert!(bodies
        .iter()
        .any(|b| b.contains("验证码是") && !b.contains("******")));
    env.server.shutdown().await;
}

/// Two server processes on one database both run the SMS runner: when a
/// batch queued overnight falls due for both at once, each message goes out
/// exactly once (the claim is a conditional update: the second runner
/// finds the row taken and skips it).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_processes_send_each_queued_sms_once() {
    let (outbox, sms) = console();
    let env = env_with(sms.clone(), None).await;
    let evening = next_utc_hour(env.clock.load(Ordering::SeqCst), 14);
    env.set_clock(evening);
    let phones: Vec<String> = (0..40).map(|i| format!("1380000{i:04}")).collect();
    let who: Vec<(&str, &str)> = phones.iter().map(|p| ("王五", p.as_str())).collect();
    let result = env.rep.invite_ok(&who, false).await;
    assert!(result
        .items
        .iter()
        .all(|i| matches!(i.plan, SmsPlan::Queue { .. })));
    let dir = tempfile::tempdir().unwrap();
    let second = start_with(
        Config {
            database_url: env.db_url.clone(),
            ..config(dir.path()).await
        },
        options(sms, None, &env.clock),
    )
    .await
    .unwrap();
    // Morning, for both runners at once.
    env.set_clock(evening + 10 * HOUR);
    let sql = warmlead_server::testing::TestSql::new(&env.db_url);
    eventually("every queued message handled", || async {
        sql.i64("SELECT COUNT(*) FROM sms_messages WHERE status = 'queued'")
            .await
            == 0
    })
    .await;
    let sent: Vec<String> = outbox.outbox().iter().map(|m| m.to.clone()).collect();
    let distinct: std::collections::BTreeSet<&String> = sent.iter().collect();
    assert_eq!(distinct.len(), 40, "{sent:?}");
    assert_eq!(sent.len(), 40, "a message went out twice: {sent:?}");
    second.shutdown().await;
    env.server.shutdown().await;
}

/// Switching a rep off cancels their SMS invitations still waiting for the
/// morning (never sent, recorded with the reason) and closes their links;
/// the runner passes the morning and sends nothing.
#[tokio::test]
async fn switching_a_rep_off_cancels_their_queued_sms() {
    let (env, fake) = twilio_env().await;
    let evening = next_utc_hour(env.clock.load(Ordering::SeqCst), 14);
    env.set_clock(evening);
    let result = env.rep.invite_ok(&[("王五", "13800138000")], false).await;
    let sms_id = result.items[0].sms_id.unwrap();
    let a = env.server.admin();
    let company_id = env.partner_user.company_id;
    let rep_id = env.partner_user.rep_id.unwrap();
    let manager = a
        .create_user(company_id, Role::Manager, "陈静", Some("13800138999"), None)
        .await
        .unwrap();
    let manager = activate(&env.server, manager.id).await;
    let res = manager
        .http
        .post(format!("{}/api/v1/team/{rep_id}/deactivate", env.url()))
        .bearer_auth(&manager.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let rec = manager.sms_records().await[&sms_id].clone();
    assert_eq!(rec.status, SmsStatus::Failed, "{rec:?}");
    assert!(
        rec.error.as_deref().unwrap().contains("switched off"),
        "{rec:?}"
    );
    assert_eq!(rec.send_after_ms, None);
    let inv = manager
        .invitations()
        .await
        .into_values()
        .find(|i| rec.invitation_id == Some(i.id))
        .expect("the SMS's invitation");
    assert_eq!(inv.status, warmlead_core::invite::InvitationStatus::Revoked);
    let res = reqwest::get(&inv.url).await.unwrap();
    assert_eq!(res.status(), StatusCode::GONE);
    assert!(res.text().await.unwrap().contains("邀请已关闭"));
    env.set_clock(evening + 11 * HOUR);
    env.runner_passed().await;
    env.runner_passed().await;
    assert!(fake.sent().is_empty(), "{:?}", fake.sent());
}
