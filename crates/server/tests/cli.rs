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

/// Reads a QR code drawn with half blocks by `company create` (light
/// modules drawn, dark ones blank) back into an image and decodes it.
fn decode_terminal_qr(text: &str) -> String {
    let rows: Vec<Vec<char>> = text
        .lines()
        .filter(|l| l.chars().any(|c| "█▀▄".contains(c)))
        .map(|l| l.chars().collect())
        .collect();
    let (w, h) = (rows[0].len() as u32, rows.len() as u32 * 2);
    const PX: u32 = 6;
    let img = image::GrayImage::from_fn(w * PX, h * PX, |x, y| {
        let c = rows[(y / PX / 2) as usize][(x / PX) as usize];
        let top = (y / PX).is_multiple_of(2);
        let light = match c {
            '█' => true,
            '▀' => top,
            '▄' => !top,
            _ => false,
        };
        image::Luma([if light { 255 } else { 0 }])
    });
    let mut prepared = rqrr::PreparedImage::prepare(img);
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code in:\n{text}");
    grids[0].decode().expect("the QR decodes").1
}

/// A new server's first hour: `serve` on an empty database says how to make
/// a company; `company create` makes it with its manager and prints a code,
/// a sign-in link and its QR that all sign the manager's app in; a bad
/// number makes nothing; `company list` shows what is there.
#[tokio::test]
async fn company_create_sets_up_a_company_its_manager_can_sign_in_to() {
    let dir = tempfile::tempdir().unwrap();
    let empty = format!("sqlite://{}", dir.path().join("empty.db").display());
    let mut serve = Command::new(env!("CARGO_BIN_EXE_warmlead-server"))
        .args(["serve", "--listen", "127.0.0.1:0", "--database-url", &empty])
        .env("RUST_LOG", "warn")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = serve.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let hint = rx
        .recv_timeout(std::time::Duration::from_secs(20))
        .expect("the empty server logs how to begin");
    let _ = serve.kill();
    let _ = serve.wait();
    assert!(
        hint.contains("no company yet") && hint.contains("warmlead-server company create --name"),
        "{hint}"
    );

    let ts = TestServer::start().await;
    let url = db_url(&ts);
    let create = |phone: &str| {
        run(
            &[
                "company",
                "create",
                "--name",
                "青松家政",
                "--manager-name",
                "周经理",
                "--manager-phone",
                phone,
                "--public-url",
                &ts.url(),
            ],
            &url,
        )
    };
    let bad = create("12345");
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not a phone number: 12345"));
    let list = run(&["company", "list"], &url);
    assert!(String::from_utf8_lossy(&list.stdout).contains("no company yet"));

    let out = create("13700137000");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let field = |prefix: &str| {
        stdout
            .lines()
            .find_map(|l| l.split_once(prefix).map(|(_, v)| v.trim().to_string()))
            .unwrap_or_else(|| panic!("no {prefix} in:\n{stdout}"))
    };
    let code = field("activation code (one device, valid 7 days):");
    let link = field("sign-in link:");
    assert_eq!(decode_terminal_qr(&stdout), link, "the QR is the link");
    let (server, linked_code) = warmlead_core::invite::parse_activation_link(&link).unwrap();
    assert_eq!(
        (server.as_str(), linked_code.as_str()),
        (ts.url().as_str(), code.as_str())
    );
    let act = activate_with(&ts, &code).await;
    assert_eq!(act.user.role, warmlead_core::domain::Role::Manager);
    assert_eq!(act.user.name, "周经理");
    assert_eq!(act.company.name, "青松家政");

    let list = String::from_utf8_lossy(&run(&["company", "list"], &url).stdout).into_owned();
    let rows: Vec<&str> = list.lines().skip(1).collect();
    assert_eq!(rows.len(), 1, "{list}");
    assert!(rows[0].contains("青松家政\t1\t0\t0"), "{list}");
}
