//! `ProviderConfig::check_account`: a read-only call to each real provider that sends nothing and
//! says whether the credentials (and, where the provider reviews them, the sign name and the
//! template) are accepted. Against local fakes of the providers' read APIs that check what the real
//! gateways check: action, version, required parameters, and that the signature verifies with the
//! test secret (recomputed with this crate's signing functions, which the unit tests pin to the
//! providers' published examples).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use base64::Engine;
use serde_json::{json, Value};
use warmlead_sms::{
    aliyun, tencent, AliyunConfig, ProviderConfig, SmsError, TencentConfig, TwilioConfig,
};

/// What each fake saw, to show that nothing was sent.
type Seen = Arc<Mutex<Vec<String>>>;

async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{addr}")
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

// ---------------------------------------------------------------- Aliyun

/// Fake Dysmsapi `QuerySmsSign` / `QuerySmsTemplate`: POST / with a signed form body. The sign
/// name `暖线` and template `SMS_1` are approved, `SMS_2` is under review, anything else refused.
async fn aliyun_fake(
    State(seen): State<Seen>,
    Form(params): Form<Vec<(String, String)>>,
) -> (StatusCode, Json<Value>) {
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let action = get("Action").unwrap_or_default();
    seen.lock().unwrap().push(action.clone());
    let fail = |status, code: &str, msg: &str| {
        (
            status,
            Json(json!({"Code": code, "Message": msg, "RequestId": "fake-r"})),
        )
    };
    for (k, want) in [
        ("Version", "2017-05-25"),
        ("Format", "JSON"),
        ("SignatureMethod", "HMAC-SHA1"),
        ("SignatureVersion", "1.0"),
    ] {
        if get(k).as_deref() != Some(want) {
            return fail(StatusCode::BAD_REQUEST, "MissingParameter", k);
        }
    }
    for k in ["SignatureNonce", "Timestamp"] {
        if get(k).unwrap_or_default().is_empty() {
            return fail(StatusCode::BAD_REQUEST, "MissingParameter", k);
        }
    }
    if get("AccessKeyId").as_deref() != Some("testid") {
        return fail(
            StatusCode::NOT_FOUND,
            "InvalidAccessKeyId.NotFound",
            "Specified access key is not found.",
        );
    }
    if get("Signature") != Some(aliyun::sign("POST", &params, "testsecret")) {
        return fail(
            StatusCode::BAD_REQUEST,
            "SignatureDoesNotMatch",
            "Specified signature is not matched with our calculation.",
        );
    }
    let ok = |field: &str, status: i64, reason: &str| {
        (
            StatusCode::OK,
            Json(
                json!({"Code": "OK", "Message": "OK", field: status, "Reason": reason, "RequestId": "fake-r"}),
            ),
        )
    };
    match action.as_str() {
        "QuerySmsSign" => match get("SignName").as_deref() {
            Some("暖线") => ok("SignStatus", 1, ""),
            Some(_) => fail(StatusCode::OK, "isv.SMS_SIGN_ILLEGAL", "签名不存在"),
            None => fail(StatusCode::BAD_REQUEST, "MissingParameter", "SignName"),
        },
        "QuerySmsTemplate" => match get("TemplateCode").as_deref() {
            Some("SMS_1") => ok("TemplateStatus", 1, ""),
            Some("SMS_2") => ok("TemplateStatus", 0, ""),
            Some(_) => ok("TemplateStatus", 2, "变量不规范"),
            None => fail(StatusCode::BAD_REQUEST, "MissingParameter", "TemplateCode"),
        },
        _ => fail(StatusCode::BAD_REQUEST, "InvalidAction", "only reads here"),
    }
}

fn aliyun(base_url: &str, secret: &str, template: &str) -> ProviderConfig {
    ProviderConfig::Aliyun(AliyunConfig {
        access_key_id: "testid".into(),
        access_key_secret: secret.into(),
        sign_name: "暖线".into(),
        template_code: template.into(),
        base_url: base_url.into(),
    })
}

#[tokio::test]
async fn aliyun_check_accepts_good_credentials_and_names_what_is_not_approved() {
    let seen = Seen::default();
    let base = serve(
        Router::new()
            .route("/", post(aliyun_fake))
            .with_state(seen.clone()),
    )
    .await;

    let found = aliyun(&base, "testsecret", "SMS_1")
        .check_account()
        .await
        .unwrap();
    assert!(found.contains("credentials accepted"), "{found}");
    assert!(found.contains("SMS_1"), "{found}");
    // Two reads, and no SendSms among them.
    assert_eq!(
        *seen.lock().unwrap(),
        vec!["QuerySmsSign".to_string(), "QuerySmsTemplate".to_string()]
    );

    let err = aliyun(&base, "wrong", "SMS_1")
        .check_account()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, SmsError::Unauthorized { code, .. } if code == "SignatureDoesNotMatch"),
        "{err:?}"
    );

    let err = aliyun(&base, "testsecret", "SMS_2")
        .check_account()
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("SMS_2 is still under review"),
        "{err}"
    );

    let err = aliyun(&base, "testsecret", "SMS_9")
        .check_account()
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("SMS_9 is not approved: 变量不规范"),
        "{err}"
    );
}

// ---------------------------------------------------------------- Tencent

/// Fake `DescribeSmsTemplateList`: TC3-signed JSON. Template 1110 is approved, 1111 under review,
/// any other is not the account's.
async fn tencent_fake(State(seen): State<Seen>, headers: HeaderMap, body: String) -> Json<Value> {
    let h = |k: &str| {
        headers
            .get(k)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    seen.lock().unwrap().push(h("x-tc-action"));
    let error = |code: &str, msg: &str| {
        Json(json!({"Response": {"Error": {"Code": code, "Message": msg}, "RequestId": "fake-t"}}))
    };
    if h("x-tc-action") != "DescribeSmsTemplateList" || h("x-tc-version") != "2021-01-11" {
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
    if payload["International"] != json!(0) {
        return error("MissingParameter", "International");
    }
    let set: Vec<Value> = payload["TemplateIdSet"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|id| {
            let status = match id.as_u64()? {
                1110 => 0,
                1111 => 1,
                _ => return None,
            };
            Some(json!({"TemplateId": id, "StatusCode": status, "ReviewReply": "", "International": 0}))
        })
        .collect();
    Json(json!({"Response": {"DescribeTemplateStatusSet": set, "RequestId": "fake-t"}}))
}

fn tencent(base_url: &str, key: &str, template: &str) -> ProviderConfig {
    ProviderConfig::Tencent(TencentConfig {
        secret_id: "AKIDtest".into(),
        secret_key: key.into(),
        sdk_app_id: "1400006666".into(),
        sign_name: "暖线".into(),
        template_id: template.into(),
        region: "ap-guangzhou".into(),
        base_url: base_url.into(),
    })
}

#[tokio::test]
async fn tencent_check_accepts_good_credentials_and_names_what_is_not_approved() {
    let seen = Seen::default();
    let base = serve(
        Router::new()
            .route("/", post(tencent_fake))
            .with_state(seen.clone()),
    )
    .await;

    let found = tencent(&base, "testkey", "1110")
        .check_account()
        .await
        .unwrap();
    assert!(found.contains("credentials accepted"), "{found}");
    assert_eq!(
        *seen.lock().unwrap(),
        vec!["DescribeSmsTemplateList".to_string()]
    );

    let err = tencent(&base, "wrong", "1110")
        .check_account()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, SmsError::Unauthorized { code, .. } if code == "AuthFailure.SignatureFailure"),
        "{err:?}"
    );
    let err = tencent(&base, "testkey", "1111")
        .check_account()
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("1111 is still under review"),
        "{err}"
    );
    let err = tencent(&base, "testkey", "4242")
        .check_account()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no such template"), "{err}");
    // A template id that is not a number is refused before anything is sent.
    let before = seen.lock().unwrap().len();
    let err = tencent(&base, "testkey", "SMS_1")
        .check_account()
        .await
        .unwrap_err();
    assert!(matches!(err, SmsError::InvalidInput(_)), "{err:?}");
    assert_eq!(seen.lock().unwrap().len(), before);
}

// ---------------------------------------------------------------- Twilio

/// Fake `GET /2010-04-01/Accounts/{sid}.json` with basic auth. `ACtest` is active,
/// `ACsuspended` suspended (both with token `testtoken`).
async fn twilio_fake(
    State(seen): State<Seen>,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> (StatusCode, Json<Value>) {
    let sid = file.strip_suffix(".json").unwrap_or_default().to_string();
    seen.lock().unwrap().push(sid.clone());
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok());
    let status = match sid.as_str() {
        "ACtest" => "active",
        "ACsuspended" => "suspended",
        _ => "",
    };
    if status.is_empty() || auth.as_deref() != Some(format!("{sid}:testtoken").as_str()) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(
                json!({"code": 20003, "message": "Authenticate", "more_info": "https://www.twilio.com/docs/errors/20003", "status": 401}),
            ),
        );
    }
    (
        StatusCode::OK,
        Json(json!({"sid": sid, "friendly_name": "Warmlead", "status": status, "type": "Full"})),
    )
}

fn twilio(base_url: &str, sid: &str, token: &str) -> ProviderConfig {
    ProviderConfig::Twilio(TwilioConfig {
        account_sid: sid.into(),
        auth_token: token.into(),
        from: "+15005550006".into(),
        base_url: base_url.into(),
        status_callback_url: None,
    })
}

#[tokio::test]
async fn twilio_check_accepts_good_credentials_and_refuses_a_suspended_account() {
    let seen = Seen::default();
    let base = serve(
        Router::new()
            .route("/2010-04-01/Accounts/{file}", get(twilio_fake))
            .with_state(seen.clone()),
    )
    .await;

    let found = twilio(&base, "ACtest", "testtoken")
        .check_account()
        .await
        .unwrap();
    assert!(found.contains("account ACtest active"), "{found}");

    let err = twilio(&base, "ACtest", "wrong")
        .check_account()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, SmsError::Unauthorized { code, .. } if code == "20003"),
        "{err:?}"
    );
    let err = twilio(&base, "ACsuspended", "testtoken")
        .check_account()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("is suspended"), "{err}");
    let calls: HashMap<String, usize> =
        seen.lock()
            .unwrap()
            .iter()
            .fold(HashMap::new(), |mut m, sid| {
                *m.entry(sid.clone()).or_default() += 1;
                m
            });
    assert_eq!(calls.get("ACtest"), Some(&2));
}

#[tokio::test]
async fn an_unreachable_provider_is_reported_not_a_crash() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    for config in [
        aliyun(&base, "testsecret", "SMS_1"),
        tencent(&base, "testkey", "1110"),
        twilio(&base, "ACtest", "testtoken"),
    ] {
        let err = config.check_account().await.unwrap_err();
        assert!(matches!(err, SmsError::Unreachable { .. }), "{err:?}");
    }
    let console = ProviderConfig::default().check_account().await.unwrap();
    assert!(console.contains("console"), "{console}");
}
