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
