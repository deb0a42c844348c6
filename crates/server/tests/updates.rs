//! Desktop app updates: `release add` publishes only a package that
//! verifies with the updater key, and the update endpoint offers the newest
//! release to older apps in tauri-plugin-updater's format. Keys are made at
//! test time, as `tauri signer generate` makes them.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use reqwest::StatusCode;
use warmlead_core::release::{verify_package, UpdateManifest};
use warmlead_server::testing::TestServer;

struct Key {
    /// The `.pub` file's text (what the app is built with).
    public: String,
    secret: minisign::SecretKey,
}

fn key() -> Key {
    let kp = minisign::KeyPair::generate_unencrypted_keypair().unwrap();
    Key {
        public: STANDARD.encode(kp.pk.to_box().unwrap().to_string()),
        secret: kp.sk,
    }
}

/// A `.sig` file's text as `tauri signer sign` writes it; `version: None`
/// as older CLIs wrote it.
fn sign(key: &Key, data: &[u8], file: &str, version: Option<&str>) -> String {
    let mut trusted = format!("timestamp:1765000000\tfile:{file}");
    if let Some(v) = version {
        trusted.push_str(&format!("\tversion:{v}"));
    }
    let sig = minisign::sign(
        None,
        &key.secret,
        std::io::Cursor::new(data),
        Some(&trusted),
        Some("signature from tauri secret key"),
    )
    .unwrap();
    STANDARD.encode(sig.to_string())
}

/// A package and its `.sig` in a folder of the test's, as the bundler leaves them.
struct Package {
    file: PathBuf,
    sig: PathBuf,
}

fn package(dir: &Path, name: &str, bytes: &[u8], signature: &str) -> Package {
    let dir = dir.join(uuid_like(bytes, name));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(name);
    std::fs::write(&file, bytes).unwrap();
    let sig = dir.join(format!("{name}.sig"));
    std::fs::write(&sig, signature).unwrap();
    Package { file, sig }
}

fn uuid_like(bytes: &[u8], name: &str) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (bytes, name, std::time::Instant::now()).hash(&mut h);
    format!("{:x}", h.finish())
}

/// `warmlead-server release ...` on the test server's database and media.
fn cli(ts: &TestServer, args: &[&str], pubkey: Option<&str>) -> Output {
    let media = ts.dir().join("media");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_warmlead-server"));
    cmd.args(args)
        .arg("--media-dir")
        .arg(&media)
        .env("WARMLEAD_DATABASE_URL", ts.database_url())
        .env_remove("WARMLEAD_UPDATER_PUBKEY")
        .env("RUST_LOG", "warn");
    if let Some(k) = pubkey {
        cmd.env("WARMLEAD_UPDATER_PUBKEY", k);
    }
    cmd.output().unwrap()
}

fn add(
    ts: &TestServer,
    version: &str,
    target: &str,
    p: &Package,
    notes: &str,
    pubkey: &str,
) -> Output {
    cli(
        ts,
        &[
            "release",
            "add",
            "--version",
            version,
            "--target",
            target,
            "--file",
            p.file.to_str().unwrap(),
            "--signature",
            p.sig.to_str().unwrap(),
            "--notes",
            notes,
        ],
        Some(pubkey),
    )
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn refused(out: &Output) -> String {
    assert!(
        !out.status.success(),
        "expected a refusal, got: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The update check as the app makes it: (status, manifest if 200).
async fn check(
    ts: &TestServer,
    os: &str,
    arch: &str,
    current: &str,
) -> (StatusCode, Option<UpdateManifest>) {
    let res = reqwest::get(format!("{}/updates/{os}/{arch}/{current}", ts.url()))
        .await
        .unwrap();
    let status = res.status();
    if status == StatusCode::OK {
        assert_eq!(res.headers()["cache-control"], "no-store");
        (status, Some(res.json().await.unwrap()))
    } else {
        (status, None)
    }
}

async fn download(url: &str) -> (StatusCode, Vec<u8>) {
    let res = reqwest::get(url).await.unwrap();
    (res.status(), res.bytes().await.unwrap().to_vec())
}

/// Files `release add` left in the media folder.
fn stored_packages(ts: &TestServer) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(ts.dir().join("media"))
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with("release-") || n.starts_with(".release-"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[tokio::test]
async fn a_published_release_is_offered_to_older_apps_in_the_updaters_format() {
    let ts = TestServer::start().await;
    let tmp = tempfile::tempdir().unwrap();
    let k = key();
    // Nothing published: nothing to install.
    assert_eq!(
        check(&ts, "linux", "x86_64", "0.1.0").await.0,
        StatusCode::NO_CONTENT
    );

    let bytes = b"!<arch>\nthe 0.2.0 package".to_vec();
    let name = "Warmlead_0.2.0_amd64.deb";
    let sig = sign(&k, &bytes, name, Some("0.2.0"));
    let p = package(tmp.path(), name, &bytes, &sig);
    // The key as a file path, as an operator passes the .pub file.
    let pub_file = tmp.path().join("updater.key.pub");
    std::fs::write(&pub_file, &k.public).unwrap();
    let out = ok(&add(
        &ts,
        "0.2.0",
        "linux-x86_64",
        &p,
        "更快的同步\nFaster sync",
        pub_file.to_str().unwrap(),
    ));
    assert!(
        out.contains("published Warmlead_0.2.0_amd64.deb 0.2.0 for linux-x86_64"),
        "{out}"
    );

    let (status, m) = check(&ts, "linux", "x86_64", "0.1.0").await;
    assert_eq!(status, StatusCode::OK);
    let m = m.unwrap();
    assert_eq!(m.version, "0.2.0");
    assert_eq!(m.notes, "更快的同步\nFaster sync");
    assert_eq!(m.signature, sig);
    assert_eq!(
        m.url,
        format!("{}/releases/0.2.0/linux-x86_64/{name}", ts.url())
    );
    assert!(
        m.pub_date.len() == 20 && m.pub_date.ends_with('Z') && m.pub_date.contains('T'),
        "RFC 3339: {}",
        m.pub_date
    );
    // What the app downloads verifies as the app checks it.
    let (status, got) = download(&m.url).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got, bytes);
    verify_package(&k.public, &m.signature, &got, &m.version).unwrap();
    // The raw JSON has exactly the plugin's dynamic fields.
    let raw: serde_json::Value = reqwest::get(format!("{}/updates/linux/x86_64/0.1.0", ts.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut keys: Vec<&String> = raw.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, ["notes", "pub_date", "signature", "url", "version"]);

    // The same version, a newer one, another target: no update.
    for (os, arch, current) in [
        ("linux", "x86_64", "0.2.0"),
        ("linux", "x86_64", "0.3.0"),
        ("linux", "aarch64", "0.1.0"),
        ("darwin", "aarch64", "0.1.0"),
        ("windows", "x86_64", "0.1.0"),
    ] {
        assert_eq!(
            check(&ts, os, arch, current).await.0,
            StatusCode::NO_CONTENT,
            "{os} {arch} {current}"
        );
    }

    // Newest by semver, not by text: 0.10.0 comes after 0.9.0.
    for v in ["0.10.0", "0.9.0"] {
        let name = format!("Warmlead_{v}_amd64.deb");
        let bytes = format!("the {v} package").into_bytes();
        let p = package(tmp.path(), &name, &bytes, &sign(&k, &bytes, &name, Some(v)));
        ok(&add(&ts, v, "linux-x86_64", &p, "", &k.public));
    }
    for (current, want) in [
        ("0.1.0", "0.10.0"),
        ("0.2.0", "0.10.0"),
        ("0.9.0", "0.10.0"),
    ] {
        let m = check(&ts, "linux", "x86_64", current).await.1.unwrap();
        assert_eq!(m.version, want, "{current}");
        let (_, got) = download(&m.url).await;
        verify_package(&k.public, &m.signature, &got, &m.version).unwrap();
    }
    assert_eq!(
        check(&ts, "linux", "x86_64", "0.10.0").await.0,
        StatusCode::NO_CONTENT
    );

    let list = ok(&cli(&ts, &["release", "list"], None));
    for v in ["0.2.0", "0.9.0", "0.10.0"] {
        assert!(list.contains(v), "{list}");
    }
}

#[tokio::test]
async fn what_no_app_asks_is_an_error_and_only_published_files_are_served() {
    let ts = TestServer::start().await;
    let tmp = tempfile::tempdir().unwrap();
    let k = key();
    let name = "Warmlead_0.2.0_amd64.AppImage";
    let bytes = b"\x7fELF the 0.2.0 AppImage".to_vec();
    let p = package(
        tmp.path(),
        name,
        &bytes,
        &sign(&k, &bytes, name, Some("0.2.0")),
    );
    ok(&add(&ts, "0.2.0", "linux-x86_64", &p, "", &k.public));

    for (os, arch, current, says) in [
        ("plan9", "x86_64", "0.1.0", "system"),
        ("linux", "sparc", "0.1.0", "architecture"),
        ("linux", "x86_64", "latest", "not a version"),
    ] {
        let res = reqwest::get(format!("{}/updates/{os}/{arch}/{current}", ts.url()))
            .await
            .unwrap();
        assert_eq!(
            res.status(),
            StatusCode::BAD_REQUEST,
            "{os} {arch} {current}"
        );
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["code"], "invalid_input", "{body}");
        assert!(body["message"].as_str().unwrap().contains(says), "{body}");
    }

    let good = format!("{}/releases/0.2.0/linux-x86_64/{name}", ts.url());
    assert_eq!(download(&good).await, (StatusCode::OK, bytes));
    for path in [
        "/releases/0.2.0/linux-x86_64/other.AppImage".to_string(),
        format!("/releases/0.3.0/linux-x86_64/{name}"),
        format!("/releases/0.2.0/linux-aarch64/{name}"),
        "/releases/0.2.0/linux-x86_64/..%2F..%2Fserver.db".to_string(),
        "/releases/0.2.0/linux-x86_64/..%2Fmedia".to_string(),
    ] {
        let (status, _) = download(&format!("{}{path}", ts.url())).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
}

#[tokio::test]
async fn release_add_refuses_a_package_whose_signature_does_not_verify() {
    let ts = TestServer::start().await;
    let tmp = tempfile::tempdir().unwrap();
    let k = key();
    let other = key();
    let name = "Warmlead_0.2.0_amd64.deb";
    let bytes = b"!<arch>\nthe 0.2.0 package".to_vec();
    let good_sig = sign(&k, &bytes, name, Some("0.2.0"));
    let tampered = {
        let mut b = bytes.clone();
        b.extend_from_slice(b" and a little extra");
        b
    };
    let cases: Vec<(&str, Package, &str, &str)> = vec![
        (
            "a package changed after signing",
            package(tmp.path(), name, &tampered, &good_sig),
            "0.2.0",
            "does not verify",
        ),
        (
            "signed with another key",
            package(
                tmp.path(),
                name,
                &bytes,
                &sign(&other, &bytes, name, Some("0.2.0")),
            ),
            "0.2.0",
            "another key",
        ),
        (
            "signed for another version",
            package(
                tmp.path(),
                name,
                &bytes,
                &sign(&k, &bytes, name, Some("0.1.5")),
            ),
            "0.2.0",
            "signed as version 0.1.5, not 0.2.0",
        ),
        (
            "a signature that names no version",
            package(tmp.path(), name, &bytes, &sign(&k, &bytes, name, None)),
            "0.2.0",
            "which version",
        ),
        (
            "not a signature",
            package(tmp.path(), name, &bytes, "hello"),
            "0.2.0",
            "not base64",
        ),
    ];
    for (case, p, version, says) in &cases {
        let err = refused(&add(&ts, version, "linux-x86_64", p, "", &k.public));
        assert!(err.contains(says), "{case}: {err}");
        assert!(err.contains("was refused"), "{case}: {err}");
    }
    // Bad input other than the signature, each with what to fix.
    let p = package(tmp.path(), name, &bytes, &good_sig);
    for (target, version, says) in [
        ("linux", "0.2.0", "expected os-arch"),
        ("linux-x86_64", "two", "not a version"),
    ] {
        let err = refused(&add(&ts, version, target, &p, "", &k.public));
        assert!(err.contains(says), "{target} {version}: {err}");
    }
    let err = refused(&cli(
        &ts,
        &[
            "release",
            "add",
            "--version",
            "0.2.0",
            "--target",
            "linux-x86_64",
            "--file",
            p.file.to_str().unwrap(),
            "--signature",
            p.sig.to_str().unwrap(),
        ],
        None,
    ));
    assert!(err.contains("--updater-pubkey"), "{err}");
    let bad_name = package(tmp.path(), "Warmlead 0.2.0.deb", &bytes, &good_sig);
    let err = refused(&add(&ts, "0.2.0", "linux-x86_64", &bad_name, "", &k.public));
    assert!(err.contains("name the package"), "{err}");

    // Nothing was published or left behind.
    assert_eq!(
        check(&ts, "linux", "x86_64", "0.1.0").await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        ok(&cli(&ts, &["release", "list"], None)).trim(),
        "no releases published"
    );
    assert_eq!(stored_packages(&ts), Vec::<String>::new());

    // The good one goes through.
    ok(&add(&ts, "0.2.0", "linux-x86_64", &p, "", &k.public));
    assert_eq!(
        check(&ts, "linux", "x86_64", "0.1.0").await.0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_published_release_is_never_replaced() {
    let ts = TestServer::start().await;
    let tmp = tempfile::tempdir().unwrap();
    let k = key();
    let name = "Warmlead_0.2.0_amd64.deb";
    let first = b"the first 0.2.0".to_vec();
    let p = package(
        tmp.path(),
        name,
        &first,
        &sign(&k, &first, name, Some("0.2.0")),
    );
    ok(&add(&ts, "0.2.0", "linux-x86_64", &p, "first", &k.public));
    let stored = stored_packages(&ts);
    assert_eq!(stored.len(), 1, "{stored:?}");

    let second = b"another 0.2.0".to_vec();
    let p2 = package(
        tmp.path(),
        name,
        &second,
        &sign(&k, &second, name, Some("0.2.0")),
    );
    let err = refused(&add(&ts, "0.2.0", "linux-x86_64", &p2, "second", &k.public));
    assert!(err.contains("already published for linux-x86_64"), "{err}");
    // The same version for another target is another package.
    ok(&add(
        &ts,
        "0.2.0",
        "linux-aarch64",
        &p2,
        "second",
        &k.public,
    ));

    let m = check(&ts, "linux", "x86_64", "0.1.0").await.1.unwrap();
    assert_eq!(m.notes, "first");
    assert_eq!(download(&m.url).await.1, first);
    // The refused upload's file was not kept; the aarch64 one is stored.
    assert_eq!(stored_packages(&ts).len(), 2);
}
