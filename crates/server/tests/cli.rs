//! The `warmlead-server` binary's commands, run as a user would.

mod common;

use std::process::Command;

use reqwest::StatusCode;
use warmlead_core::api::{ActivateRequest, ActivateResponse, PATH_ACTIVATE};
use warmlead_server::testing::TestServer;

fn run(args: &[&str], db_url: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_warmlead-server"))
        .args(args)
        .env("WARMLEAD_DATABASE_URL", db_url)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

async fn activate_with(ts: &TestServer, code: &str) -> ActivateResponse {
    let res = reqwest::Client::new()
        .post(format!("{}{PATH_ACTIVATE}", ts.url()))
        .json(&ActivateRequest {
            code: code.into(),
            device_name: "cli".into(),
        })
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

fn db_url(ts: &TestServer) -> String {
    ts.database_url().to_string()
}

#[tokio::test]
async fn activation_code_prints_only_a_code_that_works() {
    let w = common::world().await;
    let url = db_url(&w.ts);
    for spec in [
        w.rep_a.id.to_string(),
        "+8613900139000".to_string(),
        "李明".to_string(),
    ] {
        let out = run(&["activation-code", "--user", &spec], &url);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8(out.stdout).unwrap();
        let code = stdout.trim();
        assert_eq!(stdout.lines().count(), 1, "{stdout}");
        let act = activate_with(&w.ts, code).await;
        assert_eq!(act.user.id, w.rep_a.id);
    }
    let out = run(&["activation-code", "--user", "nobody"], &url);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no user"));

    // The flag wins over the environment.
    let out = Command::new(env!("CARGO_BIN_EXE_warmlead-server"))
        .args([
            "activation-code",
            "--database-url",
            "mysql://x/y",
            "--user",
            "1",
        ])
        .env("WARMLEAD_DATABASE_URL", &url)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("unsupported database URL \"mysql://x/y\""),
        "{stderr}"
    );
}

#[tokio::test]
async fn demo_code_signs_in_the_demo_users() {
    let ts = TestServer::start_demo().await;
    let url = db_url(&ts);
    for (role, name) in [
        ("rep", Some("李明")),
        ("manager", Some("陈静")),
        ("partner", None),
    ] {
        let out = run(&["demo-code", "--role", role], &url);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let act = activate_with(&ts, String::from_utf8(out.stdout).unwrap().trim()).await;
        assert_eq!(act.user.role.as_str(), role);
        if let Some(name) = name {
            assert_eq!(act.user.name, name);
        }
    }
}
