//! `warmlead-server doctor` run as an operator would: the real binary
//! against a real deployment: a server on loopback with its database (SQLite
//! file, or PostgreSQL with `WARMLEAD_TEST_BACKEND=postgres`), a reverse
//! proxy in front of it that forwards the client's address as nginx does, a
//! local fake of Alibaba Cloud's SMS API that checks the request's
//! signature, a media folder and a backup folder. Healthy, every line is OK;
//! broken, each broken part gets its FAIL line saying what to fix.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::post;
use axum::{Form, Json, Router};
use serde_json::{json, Value};
use warmlead_server::testing::{Backend, TestServer};
use warmlead_server::{Options, TrustedProxies};

const CHECKS: [&str; 6] = [
    "database",
    "public URL",
    "proxies",
    "SMS",
    "media disk",
    "backup",
];

async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap()
    });
    format!("http://{addr}")
}

// ------------------------------------------------------------ the SMS fake

/// Fake Dysmsapi read calls (`QuerySmsSign`, `QuerySmsTemplate`): the form
/// must carry the access key `testid` and a signature made with the secret
/// `testsecret`; the sign name 暖线 and template SMS_1 are approved.
async fn aliyun_fake(Form(params): Form<Vec<(String, String)>>) -> (StatusCode, Json<Value>) {
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let fail = |status, code: &str| (status, Json(json!({"Code": code, "Message": code})));
    for (k, want) in [
        ("Version", "2017-05-25"),
        ("SignatureMethod", "HMAC-SHA1"),
        ("SignatureVersion", "1.0"),
        ("Format", "JSON"),
    ] {
        if get(k).as_deref() != Some(want) {
            return fail(StatusCode::BAD_REQUEST, "MissingParameter");
        }
    }
    if get("AccessKeyId").as_deref() != Some("testid") {
        return fail(StatusCode::NOT_FOUND, "InvalidAccessKeyId.NotFound");
    }
    if get("Signature") != Some(warmlead_sms::aliyun::sign("POST", &params, "testsecret")) {
        return fail(StatusCode::BAD_REQUEST, "SignatureDoesNotMatch");
    }
    let ok = |field: &str| {
        (
            StatusCode::OK,
            Json(json!({"Code": "OK", "Message": "OK", field: 1, "Reason": ""})),
        )
    };
    match (
        get("Action").as_deref(),
        get("SignName"),
        get("TemplateCode"),
    ) {
        (Some("QuerySmsSign"), Some(s), _) if s == "暖线" => ok("SignStatus"),
        (Some("QuerySmsTemplate"), _, Some(t)) if t == "SMS_1" => ok("TemplateStatus"),
        (Some("QuerySmsSign" | "QuerySmsTemplate"), _, _) => {
            fail(StatusCode::OK, "isv.SMS_TEMPLATE_ILLEGAL")
        }
        // A send (or anything else) is not what a check may do.
        _ => fail(StatusCode::BAD_REQUEST, "InvalidAction"),
    }
}

// ------------------------------------------------------------ the proxy

/// A reverse proxy as nginx runs one in front of the server: it passes
/// every request on to the upstream and adds the client's address in
/// `X-Forwarded-For`.
async fn proxy(
    State(upstream): State<Arc<OnceLock<String>>>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    req: Request,
) -> Response {
    let upstream = upstream.get().expect("the proxy's upstream is set");
    let path = req
        .uri()
        .path_and_query()
        .map_or("/".to_string(), |p| p.to_string());
    let mut forward =
        reqwest::Client::new().request(req.method().clone(), format!("{upstream}{path}"));
    for (name, value) in req.headers() {
        if name != "host" {
            forward = forward.header(name, value);
        }
    }
    forward = forward.header("x-forwarded-for", client.ip().to_string());
    let body = axum::body::to_bytes(req.into_body(), usize::MAX)
        .await
        .unwrap();
    // Nothing behind it: nginx's answer.
    let Ok(answer) = forward.body(body).send().await else {
        return Response::builder()
            .status(StatusCode::BAD_GATEWAY)
            .body(Body::from("502 Bad Gateway"))
            .unwrap();
    };
    let mut res = Response::builder().status(answer.status().as_u16());
    for (name, value) in answer.headers() {
        res = res.header(name, value);
    }
    res.body(Body::from(answer.bytes().await.unwrap())).unwrap()
}

// ------------------------------------------------------------ the deployment

struct Deployment {
    /// The server (None once stopped).
    ts: Option<TestServer>,
    database_url: String,
    /// Its folder: the SQLite file, media/.
    dir: PathBuf,
    /// The folder, kept once the server is stopped.
    kept: Option<tempfile::TempDir>,
    /// The proxy's address: the public URL the server hands out.
    public_url: String,
    sms_base: String,
    backups: tempfile::TempDir,
    backup_file: PathBuf,
}

/// A server behind the proxy, trusting `trusted_proxies`, with a fresh
/// backup of its database.
async fn deployment(trusted_proxies: &str) -> Deployment {
    let upstream = Arc::new(OnceLock::new());
    let public_url = serve(Router::new().fallback(proxy).with_state(upstream.clone())).await;
    let sms_base = serve(Router::new().route("/", post(aliyun_fake))).await;
    let options = Options {
        trusted_proxies: trusted_proxies.parse::<TrustedProxies>().unwrap(),
        ..Options::default()
    };
    let ts = TestServer::start_configured(false, Some(public_url.clone()), options).await;
    upstream.set(ts.url()).unwrap();
    let backups = tempfile::tempdir().unwrap();
    let backup_file = back_up(&ts, backups.path()).await;
    Deployment {
        database_url: ts.database_url().to_string(),
        dir: ts.dir().to_path_buf(),
        ts: Some(ts),
        kept: None,
        public_url,
        sms_base,
        backups,
        backup_file,
    }
}

impl Deployment {
    fn ts(&self) -> &TestServer {
        self.ts.as_ref().expect("the server runs")
    }

    async fn stop_server(&mut self) {
        let ts = self.ts.take().expect("the server runs");
        self.kept = Some(ts.stop().await);
    }
}

/// A backup as the operator's nightly job makes it: `warmlead-server
/// backup` for SQLite, `pg_dump` for PostgreSQL.
async fn back_up(ts: &TestServer, dir: &Path) -> PathBuf {
    let url = ts.database_url().to_string();
    let postgres = url.starts_with("postgres");
    let file = dir.join(if postgres {
        "warmlead-nightly.dump"
    } else {
        "server-nightly.db"
    });
    let mut cmd = if postgres {
        let mut c = Command::new(warmlead_testpg::program("pg_dump").unwrap());
        c.arg("--format=custom")
            .arg(format!("--file={}", file.display()))
            .arg(&url);
        c
    } else {
        let mut c = Command::new(env!("CARGO_BIN_EXE_warmlead-server"));
        c.args(["backup", "--database-url", &url, "--to"])
            .arg(&file);
        c
    };
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "backup: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    file
}

/// What one doctor run printed, line by line.
struct Report {
    success: bool,
    /// check → (status, message)
    lines: HashMap<String, (String, String)>,
    text: String,
}

impl Report {
    fn line(&self, check: &str) -> (&str, &str) {
        let (s, m) = self
            .lines
            .get(check)
            .unwrap_or_else(|| panic!("no {check} line in:\n{}", self.text));
        (s.as_str(), m.as_str())
    }

    /// Asserts the check's status and that its message says `says`.
    fn expect(&self, check: &str, status: &str, says: &str) {
        let (s, m) = self.line(check);
        assert_eq!(s, status, "{check}:\n{}", self.text);
        assert!(
            m.contains(says),
            "{check} should say {says:?}:\n{}",
            self.text
        );
    }
}

/// Runs `warmlead-server doctor` with the deployment's settings, each
/// `--flag value` of `overrides` replacing the deployment's, and the
/// SMS variables with `sms_secret`.
async fn doctor(d: &Deployment, overrides: &[(&str, &str)], sms_secret: &str) -> Report {
    let media = d.dir.join("media");
    let mut flags: Vec<(String, String)> = vec![
        ("--database-url".into(), d.database_url.clone()),
        ("--public-url".into(), d.public_url.clone()),
        ("--media-dir".into(), media.display().to_string()),
        (
            "--backup-dir".into(),
            d.backups.path().display().to_string(),
        ),
    ];
    for (flag, value) in overrides {
        match flags.iter_mut().find(|(f, _)| f == flag) {
            Some(slot) => slot.1 = value.to_string(),
            None => flags.push((flag.to_string(), value.to_string())),
        }
    }
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_warmlead-server"));
    cmd.arg("doctor");
    for (flag, value) in flags {
        cmd.arg(flag).arg(value);
    }
    for var in [
        "WARMLEAD_TRUSTED_PROXIES",
        "WARMLEAD_PUBLIC_URL",
        "WARMLEAD_DATABASE_URL",
        "WARMLEAD_MEDIA_DIR",
        "WARMLEAD_BACKUP_DIR",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("WARMLEAD_SMS_PROVIDER", "aliyun")
        .env("WARMLEAD_ALIYUN_ACCESS_KEY_ID", "testid")
        .env("WARMLEAD_ALIYUN_ACCESS_KEY_SECRET", sms_secret)
        .env("WARMLEAD_ALIYUN_SIGN_NAME", "暖线")
        .env("WARMLEAD_ALIYUN_TEMPLATE_CODE", "SMS_1")
        .env("WARMLEAD_ALIYUN_BASE_URL", &d.sms_base)
        .env("RUST_LOG", "warn");
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut lines = HashMap::new();
    for l in text.lines() {
        let (status, rest) = l.split_at(5.min(l.len()));
        let (check, message) = rest.split_at(12.min(rest.len()));
        let previous = lines.insert(
            check.trim().to_string(),
            (status.trim().to_string(), message.to_string()),
        );
        assert!(previous.is_none(), "{} twice in:\n{text}", check.trim());
    }
    let text = format!("{text}{}", String::from_utf8_lossy(&out.stderr));
    // Shown with --nocapture, and with a failure.
    eprintln!("doctor {overrides:?}:\n{text}");
    Report {
        success: out.status.success(),
        lines,
        text,
    }
}

/// A port nothing listens on.
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn a_healthy_deployment_passes_every_check() {
    let d = deployment("127.0.0.1").await;
    let r = doctor(&d, &[], "testsecret").await;
    let mut checks: Vec<&str> = r.lines.keys().map(String::as_str).collect();
    checks.sort();
    let mut want = CHECKS.to_vec();
    want.sort();
    assert_eq!(checks, want, "{}", r.text);
    for check in CHECKS {
        assert_eq!(r.line(check).0, "OK", "{check}:\n{}", r.text);
    }
    assert!(r.success, "{}", r.text);
    r.expect("database", "OK", "(current)");
    r.expect("public URL", "OK", &d.public_url);
    // The probe went through the proxy, whose forwarding the server believes.
    r.expect("proxies", "OK", "trusted proxy 127.0.0.1");
    r.expect("SMS", "OK", "aliyun: credentials accepted");
    r.expect("media disk", "OK", "GiB free for media");
    let name = d.backup_file.file_name().unwrap().to_string_lossy();
    r.expect("backup", "OK", &format!("{name}, is "));
}

#[tokio::test]
async fn a_broken_deployment_fails_each_check_with_what_to_fix() {
    // The proxy forwards addresses, but the server trusts no proxy.
    let d = deployment("").await;
    // The database misses the newest migration (a server upgraded on disk
    // but not restarted would leave it so).
    d.ts()
        .sql()
        .execute(
            "DELETE FROM schema_migrations WHERE version = (SELECT MAX(version) FROM schema_migrations)",
        )
        .await;
    // The last backup is eight days old.
    std::fs::File::options()
        .write(true)
        .open(&d.backup_file)
        .unwrap()
        .set_modified(SystemTime::now() - Duration::from_secs(8 * 86_400))
        .unwrap();
    // The media folder is a file.
    let not_a_folder = d.dir.join("media-is-a-file.txt");
    std::fs::write(&not_a_folder, "x").unwrap();
    let r = doctor(
        &d,
        &[("--media-dir", &not_a_folder.display().to_string())],
        // The provider refuses the secret.
        "not-the-secret",
    )
    .await;
    assert!(!r.success, "{}", r.text);
    r.expect("database", "FAIL", "restart the server");
    r.expect("public URL", "OK", "answers");
    r.expect("proxies", "FAIL", "set WARMLEAD_TRUSTED_PROXIES=127.0.0.1");
    r.expect("SMS", "FAIL", "SignatureDoesNotMatch");
    r.expect(
        "SMS",
        "FAIL",
        "check WARMLEAD_ALIYUN_ACCESS_KEY_ID and WARMLEAD_ALIYUN_ACCESS_KEY_SECRET",
    );
    r.expect("media disk", "FAIL", "is not a folder");
    r.expect("backup", "FAIL", "is 8 days old");
    assert!(r.text.contains("check(s) failed"), "{}", r.text);
}

#[tokio::test]
async fn a_public_url_that_reaches_another_server_or_nothing_fails() {
    let d = deployment("127.0.0.1").await;

    // The address leads to another Warmlead server, on its own database.
    let other = TestServer::start_on(Backend::selected(), false, None, Options::default()).await;
    let r = doctor(&d, &[("--public-url", &other.url())], "testsecret").await;
    assert!(!r.success, "{}", r.text);
    r.expect(
        "public URL",
        "FAIL",
        "answered by a warmlead-server on another database",
    );
    r.expect("proxies", "WARN", "not checked");

    // This server, but reached around the proxy: its links carry the
    // proxy's address, not the one the doctor was given.
    let r = doctor(&d, &[("--public-url", &d.ts().url())], "testsecret").await;
    assert!(!r.success, "{}", r.text);
    r.expect(
        "public URL",
        "FAIL",
        &format!("puts {} in its links", d.public_url),
    );

    // Nothing answers there.
    let nowhere = format!("http://127.0.0.1:{}", closed_port());
    let r = doctor(&d, &[("--public-url", &nowhere)], "testsecret").await;
    r.expect("public URL", "FAIL", "does not answer");

    // And no backup at all in the backup folder.
    let empty = tempfile::tempdir().unwrap();
    let r = doctor(
        &d,
        &[("--backup-dir", &empty.path().display().to_string())],
        "testsecret",
    )
    .await;
    assert!(!r.success, "{}", r.text);
    r.expect("backup", "FAIL", "no backup in");
    r.expect("public URL", "OK", "answers");
}

#[tokio::test]
async fn a_stopped_server_is_named_and_its_database_still_checked() {
    let mut d = deployment("127.0.0.1").await;
    d.stop_server().await;
    let r = doctor(&d, &[], "testsecret").await;
    assert!(!r.success, "{}", r.text);
    // Read as it lies on disk (SQLite: without the stopped server's -shm).
    r.expect("database", "OK", "(current)");
    // The proxy still answers, but nothing behind it.
    r.expect("public URL", "FAIL", "the server behind it does not");
    r.expect("proxies", "WARN", "not checked");
    r.expect("SMS", "OK", "credentials accepted");
}

#[tokio::test]
async fn an_unreachable_database_fails_and_the_probe_that_needs_it_waits() {
    let d = deployment("127.0.0.1").await;
    let port = closed_port();
    for url in [
        format!("postgres://warmlead:s3cret@127.0.0.1:{port}/warmlead"),
        format!("sqlite://{}", d.dir.join("no-such.db").display()),
    ] {
        let r = doctor(&d, &[("--database-url", &url)], "testsecret").await;
        assert!(!r.success, "{}", r.text);
        r.expect("database", "FAIL", "cannot read it");
        r.expect("public URL", "WARN", "not checked");
        // The password is never printed.
        assert!(!r.text.contains("s3cret"), "{}", r.text);
    }
}
