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
        hint.contains("no company yet")
            && hint.contains(&format!(
                "warmlead-server company create --database-url {empty} "
            )),
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

/// The first stderr line of `serve` on an empty database: how to begin.
fn empty_server_hint(args: &[&str]) -> String {
    let mut serve = Command::new(env!("CARGO_BIN_EXE_warmlead-server"))
        .arg("serve")
        .args(args)
        .env_remove("WARMLEAD_DATABASE_URL")
        .env_remove("WARMLEAD_PUBLIC_URL")
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
    hint
}

/// Runs a command line as printed (no quoting in these: the paths and
/// names are plain), with neither address in the environment.
fn run_as_printed(line: &str) -> String {
    let words: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(words[0], "warmlead-server", "{line}");
    let out = Command::new(env!("CARGO_BIN_EXE_warmlead-server"))
        .args(&words[1..])
        .env_remove("WARMLEAD_DATABASE_URL")
        .env_remove("WARMLEAD_PUBLIC_URL")
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{line}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test]
async fn the_cli_hints_run_as_printed_against_the_database_and_address_in_use() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("qingsong.db").display());
    // Devices reach the server at an address other than the one it listens on.
    let public = "http://192.0.2.7:8796";
    let hint = empty_server_hint(&[
        "--listen",
        "127.0.0.1:0",
        "--database-url",
        &db,
        "--public-url",
        public,
    ]);
    let (_, command) = hint.split_once("with: ").expect("the hint names a command");
    assert!(
        command.contains(&format!("--database-url {db} --public-url {public} ")),
        "{command}"
    );
    // The operator fills in the three names, and nothing else.
    let filled = command
        .replace("'<company name>'", "青松家政")
        .replace("'<manager name>'", "周青")
        .replace("'<manager phone, e.g. +8613800000000>'", "+8613900000001");
    assert!(
        !filled.contains('<'),
        "only the names were left to fill: {filled}"
    );
    let made = run_as_printed(&filled);
    let link = made
        .lines()
        .find_map(|l| l.strip_prefix("sign-in link: "))
        .unwrap_or_else(|| panic!("{made}"));
    let (server, _) = warmlead_core::invite::parse_activation_link(link).unwrap();
    assert_eq!(
        server, public,
        "the link reaches the server the devices reach"
    );

    // "More codes later": the next line, run as printed.
    let more = made
        .lines()
        .skip_while(|l| !l.ends_with("More codes later:"))
        .nth(1)
        .unwrap_or_else(|| panic!("{made}"));
    assert!(
        more.contains(&format!("--database-url {db} --public-url {public} ")),
        "{more}"
    );
    let printed = run_as_printed(more);
    let mut lines = printed.lines();
    let code = lines.next().unwrap().trim().to_string();
    let link = lines
        .next()
        .and_then(|l| l.strip_prefix("sign-in link: "))
        .unwrap_or_else(|| panic!("{printed}"));
    assert_eq!(
        warmlead_core::invite::parse_activation_link(link),
        Some((public.to_string(), code.clone()))
    );

    // Both landed in the database the server uses: its manager signs in.
    let server = warmlead_server::start(warmlead_server::Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        database_url: db.clone(),
        public_url: Some(public.into()),
        demo: false,
    })
    .await
    .unwrap();
    let res = reqwest::Client::new()
        .post(format!("{}{PATH_ACTIVATE}", server.base_url()))
        .json(&ActivateRequest {
            code,
            device_name: "cli".into(),
        })
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let act: ActivateResponse = res.json().await.unwrap();
    assert_eq!(
        (act.user.name.as_str(), act.company.name.as_str()),
        ("周青", "青松家政")
    );
    server.shutdown().await;

    // `company list` on an empty database says the same, with that database.
    let other = format!("sqlite://{}", dir.path().join("other.db").display());
    let list = run_as_printed(&format!(
        "warmlead-server company list --database-url {other}"
    ));
    assert!(
        list.contains(&format!("company create --database-url {other} ")),
        "{list}"
    );
}
