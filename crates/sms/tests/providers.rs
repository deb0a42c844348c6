//! Each real provider against a local fake of its HTTP API (axum on 127.0.0.1:0). The fakes check
//! what the real gateways check: path, method, required parameters and headers, and that the
//! signature verifies with the test secret; then they answer in the provider's format.
//!
//! The fakes recompute signatures with this crate's signing functions; those functions are pinned
//! to the providers' published examples by the unit tests in `aliyun.rs` and `tencent.rs`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Form, Json, Router};
use base64::Engine;
use serde_json::{json, Value};
use warmlead_core::{phone::Phone, ErrorCode};
use warmlead_sms::console::read_outbox_file;
use warmlead_sms::{
    aliyun, tencent, AliyunConfig, AliyunSms, ConsoleProvider, DeliveryStatus, MessageKind,
    SmsError, SmsMessage, SmsProvider, TencentConfig, TencentSms, TwilioConfig, TwilioSms,
};

/// A number each fake treats as one the provider refuses.
const REFUSED: &str = "+8613900000000";

type Seen = Arc<Mutex<Vec<Value>>>;

async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{addr}")
}

fn message(to: &str) -> SmsMessage {
    SmsMessage {
        to: Phone::parse(to).unwrap(),
        kind: MessageKind::Invitation,
        text: "王芳您好，李娜邀请您成为合作伙伴 https://w.example/i/abc 拒收请回复R".into(),
        template_params: vec![
            ("name".into(), "王芳".into()),
            ("rep".into(), "李娜".into()),
        ],
    }
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

// ---------------------------------------------------------------- Aliyun

/// Fake Dysmsapi: POST / with a signed form body.
async fn aliyun_fake(
    State(seen): State<Seen>,
    headers: HeaderMap,
    Form(params): Form<Vec<(String, String)>>,
) -> (StatusCode, Json<Value>) {
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    seen.lock().unwrap().push(json!(params));
    let fail = |status, code: &str, msg: &str| {
        (
            status,
            Json(json!({"Code": code, "Message": msg, "RequestId": "fake-r"})),
        )
    };
    assert_eq!(
        headers.get("content-type").unwrap(),
        "application/x-www-form-urlencoded"
    );
    for (k, want) in [
        ("Action", "SendSms"),
        ("Version", "2017-05-25"),
        ("Format", "JSON"),
        ("SignatureMethod", "HMAC-SHA1"),
        ("SignatureVersion", "1.0"),
    ] {
        if get(k).as_deref() != Some(want) {
            return fail(StatusCode::BAD_REQUEST, "MissingParameter", k);
        }
    }
    for k in [
        "PhoneNumbers",
        "SignName",
        "TemplateCode",
        "SignatureNonce",
        "Timestamp",
    ] {
        if get(k).unwrap_or_default().is_empty() {
            return fail(StatusCode::BAD_REQUEST, "MissingParameter", k);
        }
    }
    if serde_json::from_str::<serde_json::Map<String, Value>>(
        &get("TemplateParam").unwrap_or_default(),
    )
    .is_err()
    {
        return fail(
            StatusCode::BAD_REQUEST,
            "isv.INVALID_JSON_PARAM",
            "TemplateParam",
        );
    }
    if get("AccessKeyId").as_deref() != Some("testid") {
        return fail(
            StatusCode::NOT_FOUND,
            "InvalidAccessKeyId.NotFound",
            "Specified access key is not found.",
        );
    }
    let expected = aliyun::sign("POST", &params, "testsecret");
    if get("Signature").as_deref() != Some(expected.as_str()) {
        return fail(
            StatusCode::BAD_REQUEST,
            "SignatureDoesNotMatch",
            "Specified signature is not matched with our calculation.",
        );
    }
    if get("PhoneNumbers").as_deref() == Some(REFUSED.trim_start_matches('+')) {
        return fail(StatusCode::OK, "isv.MOBILE_NUMBER_ILLEGAL", "非法手机号");
    }
    (
        StatusCode::OK,
        Json(
            json!({"Code": "OK", "Message": "OK", "BizId": "900619746936498440^0", "RequestId": "fake-r"}),
        ),
    )
}

async fn aliyun_server() -> (String, Seen) {
    let seen = Seen::default();
    let router = Router::new()
        .route("/", post(aliyun_fake))
        .with_state(seen.clone());
    (serve(router).await, seen)
}

fn aliyun_config(base_url: &str, secret: &str) -> AliyunConfig {
    AliyunConfig {
        access_key_id: "testid".into(),
        access_key_secret: secret.into(),
        sign_name: "暖线".into(),
        template_code: "SMS_123456789".into(),
        base_url: base_url.into(),
    }
}

#[tokio::test]
async fn aliyun_sends_a_signed_request_and_reads_the_receipt() {
    let (base, seen) = aliyun_server().await;
    let provider = AliyunSms::new(aliyun_config(&base, "testsecret"));
    let receipt = provider.send(&message("13800138000")).await.unwrap();
    assert_eq!(receipt.provider, "aliyun");
    assert_eq!(receipt.provider_message_id, "900619746936498440^0");
    assert_eq!(receipt.status, DeliveryStatus::Sent);
    let seen = seen.lock().unwrap();
    let params: HashMap<String, String> =
        serde_json::from_value::<Vec<(String, String)>>(seen[0].clone())
            .unwrap()
            .into_iter()
            .collect();
    assert_eq!(params["PhoneNumbers"], "8613800138000");
    assert_eq!(params["SignName"], "暖线");
    let tp: Value = serde_json::from_str(&params["TemplateParam"]).unwrap();
    assert_eq!(tp, json!({"name": "王芳", "rep": "李娜"}));
}

#[tokio::test]
async fn aliyun_errors_are_clear() {
    let (base, _) = aliyun_server().await;
    let wrong_secret = AliyunSms::new(aliyun_config(&base, "not-the-secret"));
    let err = wrong_secret
        .send(&message("13800138000"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, SmsError::Unauthorized { code, .. } if code == "SignatureDoesNotMatch"),
        "{err:?}"
    );
    assert_eq!(err.code(), ErrorCode::Internal);

    let good = AliyunSms::new(aliyun_config(&base, "testsecret"));
    let err = good.send(&message(REFUSED)).await.unwrap_err();
    assert!(
        matches!(&err, SmsError::Rejected { code, message, .. } if code == "isv.MOBILE_NUMBER_ILLEGAL" && message == "非法手机号"),
        "{err:?}"
    );
    assert_eq!(err.code(), ErrorCode::InvalidInput);
}

// ---------------------------------------------------------------- Tencent

/// Fake sms.tencentcloudapi.com: POST / with TC3 headers and a JSON body.
async fn tencent_fake(State(seen): State<Seen>, headers: HeaderMap, body: String) -> Json<Value> {
    let h = |k: &str| {
        headers
            .get(k)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let error = |code: &str, msg: &str| {
        Json(json!({"Response": {"Error": {"Code": code, "Message": msg}, "RequestId": "fake-t"}}))
    };
    if h("x-tc-action") != "SendSms" || h("x-tc-version") != "2021-01-11" {
        return error("InvalidAction", "action or version");
    }
    if h("x-tc-region").is_empty() || h("content-type") != tencent::CONTENT_TYPE {
        return error("MissingParameter", "region or content type");
    }
    let Ok(ts) = h("x-tc-timestamp").parse::<i64>() else {
        return error("MissingParameter", "X-TC-Timestamp");
    };
    if (now_secs() - ts).abs() > 300 {
        return error("AuthFailure.SignatureExpire", "signature expired");
    }
    // The gateway recomputes the signature over the Host it received and the exact body.
    let expected = tencent::authorization("AKIDtest", "testkey", "sms", &h("host"), &body, ts);
    if h("authorization") != expected {
        return error(
            "AuthFailure.SignatureFailure",
            "The provided credentials could not be validated.",
        );
    }
    let Ok(payload) = serde_json::from_str::<Value>(&body) else {
        return error("InvalidParameter", "body");
    };
    seen.lock().unwrap().push(payload.clone());
    for k in ["SmsSdkAppId", "SignName", "TemplateId"] {
        if payload[k].as_str().unwrap_or_default().is_empty() {
            return error("MissingParameter", k);
        }
    }
    let phone = payload["PhoneNumberSet"][0]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let (code, msg, serial) = if phone == REFUSED {
        (
            "LimitExceeded.PhoneNumberDailyLimit",
            "daily limit for this number",
            "",
        )
    } else {
        ("Ok", "send success", "5000:1045710669157053657849499619")
    };
    Json(json!({"Response": {"SendStatusSet": [{
        "SerialNo": serial, "PhoneNumber": phone, "Fee": 1, "SessionContext": "",
        "Code": code, "Message": msg, "IsoCode": "CN"
    }], "RequestId": "fake-t"}}))
}

async fn tencent_server() -> (String, Seen) {
    let seen = Seen::default();
    let router = Router::new()
        .route("/", post(tencent_fake))
        .with_state(seen.clone());
    (serve(router).await, seen)
}

fn tencent_config(base_url: &str, key: &str) -> TencentConfig {
    TencentConfig {
        secret_id: "AKIDtest".into(),
        secret_key: key.into(),
        sdk_app_id: "1400006666".into(),
        sign_name: "暖线".into(),
        template_id: "1110".into(),
        region: "ap-guangzhou".into(),
        base_url: base_url.into(),
    }
}

#[tokio::test]
async fn tencent_sends_a_signed_request_and_reads_the_receipt() {
    let (base, seen) = tencent_server().await;
    let provider = TencentSms::new(tencent_config(&base, "testkey"));
    let receipt = provider.send(&message("13800138000")).await.unwrap();
    assert_eq!(
        receipt.provider_message_id,
        "5000:1045710669157053657849499619"
    );
    assert_eq!(receipt.status, DeliveryStatus::Sent);
    let payload = seen.lock().unwrap()[0].clone();
    assert_eq!(payload["PhoneNumberSet"], json!(["+8613800138000"]));
    assert_eq!(payload["TemplateParamSet"], json!(["王芳", "李娜"]));
    assert_eq!(payload["SmsSdkAppId"], "1400006666");
}

#[tokio::test]
async fn tencent_errors_are_clear() {
    let (base, _) = tencent_server().await;
    let wrong_key = TencentSms::new(tencent_config(&base, "not-the-key"));
    let err = wrong_key.send(&message("13800138000")).await.unwrap_err();
    assert!(
        matches!(&err, SmsError::Unauthorized { code, .. } if code == "AuthFailure.SignatureFailure"),
        "{err:?}"
    );
    let good = TencentSms::new(tencent_config(&base, "testkey"));
    let err = good.send(&message(REFUSED)).await.unwrap_err();
    assert!(
        matches!(&err, SmsError::RateLimited { code, .. } if code == "LimitExceeded.PhoneNumberDailyLimit"),
        "{err:?}"
    );
    assert_eq!(err.code(), ErrorCode::RateLimited);
}

// ---------------------------------------------------------------- Twilio

/// Fake api.twilio.com: POST /2010-04-01/Accounts/{sid}/Messages.json, basic auth, form body.
async fn twilio_fake(
    State(seen): State<Seen>,
    Path(sid): Path<String>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> (StatusCode, Json<Value>) {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok());
    let err = |status: StatusCode, code: i64, msg: &str| {
        (
            status,
            Json(
                json!({"code": code, "message": msg, "more_info": format!("https://www.twilio.com/docs/errors/{code}"), "status": status.as_u16()}),
            ),
        )
    };
    if auth.as_deref() != Some(format!("{sid}:testtoken").as_str()) || sid != "ACtest" {
        return err(StatusCode::UNAUTHORIZED, 20003, "Authenticate");
    }
    seen.lock().unwrap().push(json!(form));
    for k in ["To", "From", "Body"] {
        if form.get(k).is_none_or(|v| v.is_empty()) {
            return err(
                StatusCode::BAD_REQUEST,
                21604,
                "A required parameter is missing.",
            );
        }
    }
    if form["To"] == REFUSED {
        return err(
            StatusCode::BAD_REQUEST,
            21211,
            "The 'To' number is not a valid phone number.",
        );
    }
    (
        StatusCode::CREATED,
        Json(
            json!({"sid": "SM1234567890abcdef1234567890abcdef", "status": "queued", "to": form["To"], "body": form["Body"]}),
        ),
    )
}

async fn twilio_server() -> (String, Seen) {
    let seen = Seen::default();
    let router = Router::new()
        .route(
            "/2010-04-01/Accounts/{sid}/Messages.json",
            post(twilio_fake),
        )
        .with_state(seen.clone());
    (serve(router).await, seen)
}

fn twilio_config(base_url: &str, token: &str) -> TwilioConfig {
    TwilioConfig {
        account_sid: "ACtest".into(),
        auth_token: token.into(),
        from: "+15005550006".into(),
        base_url: base_url.into(),
        status_callback_url: Some("https://warmlead.example/api/v1/sms/status/twilio".into()),
    }
}

#[tokio::test]
async fn twilio_sends_the_text_and_reads_the_receipt() {
    let (base, seen) = twilio_server().await;
    let provider = TwilioSms::new(twilio_config(&base, "testtoken"));
    let msg = message("+1 415 555 2671");
    let receipt = provider.send(&msg).await.unwrap();
    assert_eq!(
        receipt.provider_message_id,
        "SM1234567890abcdef1234567890abcdef"
    );
    assert_eq!(receipt.status, DeliveryStatus::Queued);
    let form = seen.lock().unwrap()[0].clone();
    assert_eq!(form["To"], "+14155552671");
    assert_eq!(form["From"], "+15005550006");
    // The body arrives intact, Chinese text and opt-out line included.
    assert_eq!(form["Body"], msg.text.as_str());
    assert_eq!(
        form["StatusCallback"],
        "https://warmlead.example/api/v1/sms/status/twilio"
    );
}

#[tokio::test]
async fn twilio_errors_are_clear() {
    let (base, _) = twilio_server().await;
    let wrong = TwilioSms::new(twilio_config(&base, "wrong"));
    let err = wrong.send(&message("+14155552671")).await.unwrap_err();
    assert!(
        matches!(&err, SmsError::Unauthorized { code, .. } if code == "20003"),
        "{err:?}"
    );
    let good = TwilioSms::new(twilio_config(&base, "testtoken"));
    let err = good.send(&message(REFUSED)).await.unwrap_err();
    assert!(
        matches!(&err, SmsError::Rejected { code, .. } if code == "21211"),
        "{err:?}"
    );
    assert!(err.to_string().contains("not a valid phone number"));
}

// ---------------------------------------------------------------- any provider

#[tokio::test]
async fn an_unreachable_gateway_is_offline_not_a_crash() {
    // Bind and drop a listener to get a port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let providers: Vec<Box<dyn SmsProvider>> = vec![
        Box::new(AliyunSms::new(aliyun_config(&base, "testsecret"))),
        Box::new(TencentSms::new(tencent_config(&base, "testkey"))),
        Box::new(TwilioSms::new(twilio_config(&base, "testtoken"))),
    ];
    for p in providers {
        let err = p.send(&message("13800138000")).await.unwrap_err();
        assert!(
            matches!(err, SmsError::Unreachable { .. }),
            "{}: {err:?}",
            p.name()
        );
        assert_eq!(err.code(), ErrorCode::Offline);
        assert!(err.code().is_temporary());
    }
}

#[tokio::test]
async fn console_provider_keeps_an_outbox_in_memory_and_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outbox.jsonl");
    let provider = ConsoleProvider::with_file(&path);
    let shared = provider.clone();
    let a = provider.send(&message("13800138000")).await.unwrap();
    let b = provider.send(&message("+14155552671")).await.unwrap();
    assert_eq!(a.provider, "console");
    assert_ne!(a.provider_message_id, b.provider_message_id);
    let outbox = shared.outbox();
    assert_eq!(outbox.len(), 2);
    assert_eq!(outbox[0].to, "+8613800138000");
    assert!(outbox[0].text.ends_with("拒收请回复R"));
    let on_disk = read_outbox_file(&path).unwrap();
    assert_eq!(on_disk, outbox);
    assert!(read_outbox_file(&dir.path().join("none.jsonl"))
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn provider_config_builds_the_named_provider() {
    use warmlead_sms::ProviderConfig;
    let console = ProviderConfig::default();
    assert!(!console.is_real());
    assert_eq!(console.build().name(), "console");
    let (base, _) = twilio_server().await;
    let twilio = ProviderConfig::Twilio(twilio_config(&base, "testtoken"));
    assert!(twilio.is_real());
    let provider = twilio.build();
    assert_eq!(provider.name(), "twilio");
    assert!(provider.send(&message("+14155552671")).await.is_ok());
}
