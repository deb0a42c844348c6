//! A manager sends the activation code shown on the team screen by SMS: a
//! real server on port 0 sending through the real Twilio provider code to a
//! fake Twilio on port 0 that checks the request format (path, Basic auth,
//! form fields). The text comes from the company's record (its name), in the
//! recipient's language; the SMS rules of codes hold (one a minute per
//! number, opt-outs); only an open code of that person goes out.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::post;
use axum::{Form, Json, Router};
use base64::Engine;
use warmlead_core::api::{
    ActivateRequest, ActivateResponse, CodeSmsRequest, CodeSmsSent, IssuedCode, NewTeamMember,
    PATH_ACTIVATE, PATH_TEAM,
};
use warmlead_core::domain::Role;
use warmlead_core::error::{ApiError, ErrorCode};
use warmlead_server::SmsProviderConfig;
use warmlead_server::{start_with, Config, Options, RunningServer, Sms, SmsInviteOptions};
use warmlead_sms::TwilioConfig;

const SID: &str = "AC0123456789abcdef0123456789abcdef";
const TOKEN: &str = "twilio-auth-token";
const FROM: &str = "+15005550006";
const SECRET: &str = "hook-secret-for-tests";
const PUBLIC_URL: &str = "https://r.qingsong.example";

/// The form of every well-made request the fake Twilio got; a malformed
/// one is answered 401 and noted.
#[derive(Clone, Default)]
struct FakeTwilio {
    sent: Arc<Mutex<Vec<HashMap<String, String>>>>,
    malformed: Arc<Mutex<Vec<String>>>,
}

async fn fake_messages(
    State(fake): State<FakeTwilio>,
    Path(sid): Path<String>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> axum::response::Response {
    let auth = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{SID}:{TOKEN}"))
    );
    let header = |name| headers.get(name).and_then(|v| v.to_str().ok());
    let mut problems = Vec::new();
    if sid != SID {
        problems.push("account sid".to_string());
    }
    if header("authorization") != Some(auth.as_str()) {
        problems.push("basic auth".into());
    }
    if header("content-type") != Some("application/x-www-form-urlencoded") {
        problems.push("content type".into());
    }
    if form.get("From").map(String::as_str) != Some(FROM) {
        problems.push("From".into());
    }
    for field in ["To", "Body"] {
        if form.get(field).is_none_or(|v| v.is_empty()) {
            problems.push(format!("missing {field}"));
        }
    }
    if !problems.is_empty() {
        fake.malformed.lock().unwrap().push(problems.join(", "));
        let body = serde_json::json!({"code": 20003, "message": "Authenticate", "status": 401});
        return (StatusCode::UNAUTHORIZED, Json(body)).into_response();
    }
    let mut sent = fake.sent.lock().unwrap();
    sent.push(form.clone());
    let body = serde_json::json!({
        "sid": format!("SM{:032x}", sent.len()), "status": "queued",
        "to": form["To"], "from": FROM, "body": form["Body"], "account_sid": SID,
    });
    (StatusCode::CREATED, Json(body)).into_response()
}

struct Env {
    server: RunningServer,
    fake: FakeTwilio,
    manager: Device,
    rep_device: Device,
    _dir: tempfile::TempDir,
}

struct Device {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Device {
    async fn post<T: serde::Serialize>(&self, path: &str, body: &T) -> reqwest::Response {
        self.http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    async fn add_rep(&self, name: &str, phone: &str) -> IssuedCode {
        let new = NewTeamMember {
            role: Role::Rep,
            name: name.into(),
            phone: phone.into(),
        };
        let res = self.post(PATH_TEAM, &new).await;
        assert_eq!(res.status(), StatusCode::OK);
        res.json().await.unwrap()
    }

    async fn sms(&self, user_id: i64, code: &str) -> reqwest::Response {
        let req = CodeSmsRequest {
            activation_code: code.into(),
        };
        self.post(&format!("{PATH_TEAM}/{user_id}/activation-code/sms"), &req)
            .await
    }
}

async fn activate(server: &RunningServer, code: String) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{}{PATH_ACTIVATE}", server.base_url()))
        .json(&ActivateRequest {
            code,
            device_name: "test laptop".into(),
        })
        .send()
        .await
        .unwrap()
}

async fn device(server: &RunningServer, user_id: i64) -> Device {
    let code = server
        .admin()
        .create_activation_code(user_id)
        .await
        .unwrap();
    let res = activate(server, code).await;
    assert_eq!(res.status(), StatusCode::OK);
    let act: ActivateResponse = res.json().await.unwrap();
    Device {
        http: reqwest::Client::new(),
        base: server.base_url(),
        token: act.device_token,
    }
}

async fn env() -> Env {
    let fake = FakeTwilio::default();
    let app = Router::new()
        .route(
            "/2010-04-01/Accounts/{sid}/Messages.json",
            post(fake_messages),
        )
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let fake_url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let sms = Sms::from_config(SmsProviderConfig::Twilio(TwilioConfig {
        account_sid: SID.into(),
        auth_token: TOKEN.into(),
        from: FROM.into(),
        base_url: fake_url,
        status_callback_url: None,
    }));
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        database_url: warmlead_server::testing::Backend::selected()
            .database_url(dir.path())
            .await,
        public_url: Some(PUBLIC_URL.into()),
        demo: false,
    };
    let options = Options {
        sms,
        sms_invites: SmsInviteOptions {
            hook_secret: Some(SECRET.into()),
            ..SmsInviteOptions::default()
        },
        ..Options::default()
    };
    let server = start_with(config, options).await.unwrap();
    let a = server.admin();
    let company = a.create_company("青松家政").await.unwrap();
    let boss = a
        .create_user(
            company.id,
            Role::Manager,
            "周经理",
            Some("+8613700137000"),
            None,
        )
        .await
        .unwrap();
    let other_rep = a
        .create_user(company.id, Role::Rep, "吴刚", Some("+8613600136000"), None)
        .await
        .unwrap();
    let manager = device(&server, boss.id).await;
    let rep_device = device(&server, other_rep.id).await;
    Env {
        server,
        fake,
        manager,
        rep_device,
        _dir: dir,
    }
}

async fn error_of(res: reqwest::Response, status: StatusCode) -> ApiError {
    assert_eq!(res.status(), status);
    res.json().await.unwrap()
}

#[tokio::test]
async fn the_shown_code_goes_out_in_the_companys_words_and_still_signs_in() {
    let env = env().await;
    let issued = env.manager.add_rep("王芳", "13900139000").await;
    let res = env
        .manager
        .sms(issued.user.id, &issued.activation_code)
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let sent: CodeSmsSent = res.json().await.unwrap();
    assert_eq!(sent.phone, "+8613900139000");
    let forms = env.fake.sent.lock().unwrap().clone();
    assert!(env.fake.malformed.lock().unwrap().is_empty());
    assert_eq!(forms.len(), 1);
    assert_eq!(forms[0]["To"], "+8613900139000");
    let body = &forms[0]["Body"];
    assert_eq!(body, &sent.text);
    assert!(body.starts_with("【青松家政】王芳，您好"), "{body}");
    assert!(body.contains(&issued.activation_code), "{body}");
    assert!(body.contains(PUBLIC_URL), "{body}");
    assert!(!body.contains("暖居"), "no demo wording: {body}");
    // Sending it did not spend it.
    assert_eq!(
        activate(&env.server, issued.activation_code).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_number_abroad_gets_english() {
    let env = env().await;
    let issued = env.manager.add_rep("Alice Wong", "+14155550100").await;
    let res = env
        .manager
        .sms(issued.user.id, &issued.activation_code)
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let body = env.fake.sent.lock().unwrap()[0]["Body"].clone();
    assert!(
        body.starts_with("青松家政: Hi Alice Wong, your Warmlead activation code is "),
        "{body}"
    );
}

#[tokio::test]
async fn one_a_minute_only_open_codes_and_only_who_may_give_codes() {
    let env = env().await;
    let issued = env.manager.add_rep("王芳", "13900139000").await;
    let id = issued.user.id;
    assert_eq!(
        env.manager.sms(id, &issued.activation_code).await.status(),
        StatusCode::OK
    );
    let e = error_of(
        env.manager.sms(id, &issued.activation_code).await,
        StatusCode::TOO_MANY_REQUESTS,
    )
    .await;
    assert_eq!(e.code, ErrorCode::RateLimited);
    // Not a code of this person, or not a code at all.
    let other = env.manager.add_rep("赵六", "13800138006").await;
    for code in [other.activation_code.as_str(), "AAA-BBB-CCC", ""] {
        let e = error_of(env.manager.sms(id, code).await, StatusCode::BAD_REQUEST).await;
        assert_eq!(e.code, ErrorCode::InvalidInput, "{code}");
    }
    // A used code is not open any more.
    assert_eq!(
        activate(&env.server, other.activation_code.clone())
            .await
            .status(),
        StatusCode::OK
    );
    let e = error_of(
        env.manager.sms(other.user.id, &other.activation_code).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(e.code, ErrorCode::InvalidInput);
    // A rep gives codes to their own partners only.
    let e = error_of(
        env.rep_device.sms(id, &issued.activation_code).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert_eq!(e.code, ErrorCode::Forbidden);
    assert_eq!(
        env.fake.sent.lock().unwrap().len(),
        1,
        "only the first went out"
    );
}

#[tokio::test]
async fn an_opted_out_number_gets_no_code() {
    let env = env().await;
    let issued = env.manager.add_rep("王芳", "13900139000").await;
    let hook = reqwest::Client::new()
        .post(format!(
            "{}/hooks/sms/twilio/reply?secret={SECRET}",
            env.server.base_url()
        ))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("From=%2B8613900139000&Body=TD")
        .send()
        .await
        .unwrap();
    assert_eq!(hook.status(), StatusCode::OK);
    let e = error_of(
        env.manager
            .sms(issued.user.id, &issued.activation_code)
            .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(e.code, ErrorCode::Conflict);
    assert!(e.message.contains("opted out"), "{e:?}");
    assert!(env.fake.sent.lock().unwrap().is_empty());
}
