//! `warmlead-server backup` and `restore`, run as an operator would: the
//! real binary against the real files of a real server.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use warmlead_server::testing::Backend;

use common::{activate, world_on, Device};
use reqwest::StatusCode;
use warmlead_core::api::Beacon;
use warmlead_server::{start, Config};

fn cli(args: &[&str], db: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_warmlead-server"))
        .args(args)
        .env(
            "WARMLEAD_DATABASE_URL",
            format!("sqlite://{}", db.display()),
        )
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

/// `cli` under `umask 022`, as root's cron runs it.
fn cli_with_umask(args: &[&str], db: &Path) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg("umask 022; exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_warmlead-server"))
        .args(args)
        .env(
            "WARMLEAD_DATABASE_URL",
            format!("sqlite://{}", db.display()),
        )
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

/// A file's permission bits.
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::symlink_metadata(path)
        .unwrap()
        .permissions()
        .mode()
        & 0o7777
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn failed(out: &Output) -> String {
    assert!(
        !out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn count(db: &Path, sql: &str) -> i64 {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

fn integrity(db: &Path) -> String {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap()
}

/// Pushes share `n` and sends a beacon on it; returns its token.
async fn share_and_visit(d: &Device, item_id: i64, n: i64) -> String {
    let m = d.create_share(n, n, item_id);
    let token = match &m.body {
        warmlead_core::sync::MutationBody::CreateShare { token, .. } => token.clone(),
        _ => unreachable!(),
    };
    let resp = d.push(vec![m]).await;
    assert_eq!(resp.last_seq, n);
    let beacon = Beacon {
        t: token.clone(),
        pv: format!("pv-backup-{n:06}"),
        dwell_ms: 1_500,
    };
    let status = reqwest::Client::new()
        .post(format!("{}/t/beacon", d.base))
        .header("content-type", "text/plain;charset=UTF-8")
        .body(serde_json::to_string(&beacon).unwrap())
        .send()
        .await
        .unwrap()
        .status();
    assert!(status.is_success(), "{status}");
    token
}

/// Waits until `cond` holds, failing after 20 s.
async fn until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The media file names in a folder, sorted.
fn media_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| !n.starts_with('.'))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

async fn page_status(base: &str, token: &str) -> StatusCode {
    reqwest::get(format!("{base}/s/{token}"))
        .await
        .unwrap()
        .status()
}

/// Backups taken while a device pushes and phones send beacons in a loop
/// are whole: integrity ok, every share committed with its mutation
/// outcome, the media beside it, and a server runs on the copy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_while_serving_is_consistent_and_serves() {
    let w = world_on(Backend::Sqlite).await;
    let d = Arc::new(activate(&w.ts, w.partner_a1.id).await);
    w.ts.admin()
        .store_media(w.company.id, "image/png", b"not really a png".to_vec())
        .await
        .unwrap();
    let live = w.ts.dir().join("server.db");
    let pushed = Arc::new(AtomicI64::new(0));
    let writer = {
        let (d, pushed, item) = (d.clone(), pushed.clone(), w.item.id);
        tokio::spawn(async move {
            for n in 1..=100_000 {
                share_and_visit(&d, item, n).await;
                pushed.store(n, Ordering::SeqCst);
            }
        })
    };
    until("the first pushes", || pushed.load(Ordering::SeqCst) >= 5).await;

    let backups = tempfile::tempdir().unwrap();
    let mut copies: Vec<PathBuf> = Vec::new();
    for i in 0..3 {
        let to = backups.path().join(format!("warmlead-{i}.db"));
        let (to_s, live2) = (to.to_str().unwrap().to_string(), live.clone());
        // The binary runs while the writer task keeps pushing.
        let out = tokio::task::spawn_blocking(move || cli(&["backup", "--to", &to_s], &live2))
            .await
            .unwrap();
        let stdout = ok(&out);
        assert!(stdout.contains("backed up"), "{stdout}");
        copies.push(to);
    }
    let last = count(copies.last().unwrap(), "SELECT COUNT(*) FROM shares");
    // The server kept writing past the last snapshot.
    until("writes after the backups", || {
        pushed.load(Ordering::SeqCst) > last + 3
    })
    .await;
    writer.abort();

    let mut previous = 0;
    for copy in &copies {
        assert_eq!(integrity(copy), "ok", "{}", copy.display());
        let shares = count(copy, "SELECT COUNT(*) FROM shares");
        let results = count(copy, "SELECT COUNT(*) FROM mutation_results");
        let last_seq = count(copy, "SELECT MAX(last_seq) FROM client_state");
        assert!(
            shares >= 5 && shares >= previous,
            "{shares} after {previous}"
        );
        assert_eq!((results, last_seq), (shares, shares), "committed together");
        previous = shares;
    }
    let stored = media_files(&w.ts.dir().join("media"));
    assert_eq!(stored.len(), 1);
    assert_eq!(media_files(&backups.path().join("media")), stored);

    // A server runs on the copy and serves its shares.
    let server = start(Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        database_url: format!("sqlite://{}", copies[0].display()),
        public_url: None,
        demo: false,
    })
    .await
    .unwrap();
    let token = d.sign(1, w.item.id, warmlead_core::domain::Channel::Moments);
    assert_eq!(
        page_status(&server.base_url(), &token).await,
        StatusCode::OK
    );
    assert!(server.admin().share_exists(&token).await.unwrap());
    server.shutdown().await;
}

#[tokio::test]
async fn a_backup_never_overwrites_a_file_unless_forced() {
    let w = world_on(Backend::Sqlite).await;
    let live = w.ts.dir().join("server.db");
    let dir = tempfile::tempdir().unwrap();
    let to = dir.path().join("nightly.db");
    std::fs::write(&to, b"last night's backup").unwrap();
    let err = failed(&cli(&["backup", "--to", to.to_str().unwrap()], &live));
    assert!(
        err.contains("already exists") && err.contains("--force"),
        "{err}"
    );
    assert_eq!(std::fs::read(&to).unwrap(), b"last night's backup");

    let err = failed(&cli(
        &["backup", "--to", live.to_str().unwrap(), "--force"],
        &live,
    ));
    assert!(err.contains("the database itself"), "{err}");
    assert_eq!(integrity(&live), "ok");
    assert_eq!(count(&live, "SELECT COUNT(*) FROM users"), 6);

    ok(&cli(
        &["backup", "--to", to.to_str().unwrap(), "--force"],
        &live,
    ));
    assert_eq!(integrity(&to), "ok");
    assert_eq!(count(&to, "SELECT COUNT(*) FROM users"), 6);
    let leftovers = std::fs::read_dir(dir.path()).unwrap().count();
    assert_eq!(leftovers, 2, "the backup and media/, no temp file");
}

/// A restore over a serving database, or from a file that is not a
/// backup, is refused with a clear message and changes nothing.
#[tokio::test]
async fn restore_refuses_a_running_server_and_a_file_that_is_not_a_backup() {
    let w = world_on(Backend::Sqlite).await;
    let d = activate(&w.ts, w.partner_a1.id).await;
    let token = share_and_visit(&d, w.item.id, 1).await;
    let live = w.ts.dir().join("server.db");
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("saved.db");
    ok(&cli(&["backup", "--to", saved.to_str().unwrap()], &live));

    let err = failed(&cli(&["restore", "--from", saved.to_str().unwrap()], &live));
    assert!(
        err.contains("in use") && err.contains("stop the server"),
        "{err}"
    );
    assert!(w.ts.admin().share_exists(&token).await.unwrap());
    assert_eq!(page_status(&w.ts.url(), &token).await, StatusCode::OK);

    let stopped = w.ts.stop().await;
    let live = stopped.path().join("server.db");
    let before = std::fs::read(&live).unwrap();
    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, b"this is not a database at all").unwrap();
    for from in [junk, dir.path().join("missing.db")] {
        let err = failed(&cli(&["restore", "--from", from.to_str().unwrap()], &live));
        assert!(err.contains("is not a Warmlead server backup"), "{err}");
        assert_eq!(std::fs::read(&live).unwrap(), before, "target untouched");
    }
}

/// A restore puts the copy in place with a new epoch and the same secrets
/// (old share links resolve), keeps the replaced file, and brings the media.
#[tokio::test]
async fn restore_gives_the_copy_a_new_epoch_and_keeps_what_it_replaced() {
    let w = world_on(Backend::Sqlite).await;
    let d = activate(&w.ts, w.partner_a1.id).await;
    let old_epoch = d.pull(0, Some(1)).await.epoch;
    let kept = share_and_visit(&d, w.item.id, 1).await;
    w.ts.admin()
        .store_media(w.company.id, "image/png", b"poster".to_vec())
        .await
        .unwrap();
    let stored = media_files(&w.ts.dir().join("media"));
    let live = w.ts.dir().join("server.db");
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("saved.db");
    ok(&cli(&["backup", "--to", saved.to_str().unwrap()], &live));
    let lost = share_and_visit(&d, w.item.id, 2).await;

    let stopped = w.ts.stop().await;
    let live = stopped.path().join("server.db");
    std::fs::remove_dir_all(stopped.path().join("media")).unwrap();
    let stdout = ok(&cli(&["restore", "--from", saved.to_str().unwrap()], &live));
    assert!(stdout.contains("new epoch"), "{stdout}");
    let replaced: Vec<PathBuf> = std::fs::read_dir(stopped.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains("server.db.before-restore-"))
        .collect();
    assert_eq!(replaced.len(), 1, "{replaced:?}");
    assert_eq!(count(&replaced[0], "SELECT COUNT(*) FROM shares"), 2);
    assert_eq!(media_files(&stopped.path().join("media")), stored);

    let server = start(Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        database_url: format!("sqlite://{}", live.display()),
        public_url: None,
        demo: false,
    })
    .await
    .unwrap();
    let d = Device {
        base: server.base_url(),
        ..d
    };
    let page = d.pull(0, None).await;
    assert_ne!(page.epoch, old_epoch);
    assert!(server.admin().share_exists(&kept).await.unwrap());
    assert!(!server.admin().share_exists(&lost).await.unwrap());
    assert_eq!(page_status(&server.base_url(), &kept).await, StatusCode::OK);
    server.shutdown().await;
}

/// Moving to a new machine: a restore where no database exists yet.
#[tokio::test]
async fn restore_onto_a_new_machine_serves_the_old_links() {
    let w = world_on(Backend::Sqlite).await;
    let d = activate(&w.ts, w.partner_a1.id).await;
    let token = share_and_visit(&d, w.item.id, 1).await;
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("saved.db");
    ok(&cli(
        &["backup", "--to", saved.to_str().unwrap()],
        &w.ts.dir().join("server.db"),
    ));
    w.ts.stop().await;

    let new_machine = tempfile::tempdir().unwrap();
    let db = new_machine.path().join("data").join("server.db");
    let stdout = ok(&cli(&["restore", "--from", saved.to_str().unwrap()], &db));
    assert!(!stdout.contains("replaced"), "{stdout}");
    let server = start(Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        database_url: format!("sqlite://{}", db.display()),
        public_url: None,
        demo: false,
    })
    .await
    .unwrap();
    assert!(server.admin().share_exists(&token).await.unwrap());
    assert_eq!(
        page_status(&server.base_url(), &token).await,
        StatusCode::OK
    );
    server.shutdown().await;
}

/// A backup holds the master secret that signs every token: under root's
/// cron umask (022) the file is still 0600 and its media folder 0700, on a
/// first backup and on one that replaces the last.
#[tokio::test]
async fn a_backup_is_private_whatever_the_umask() {
    let w = world_on(Backend::Sqlite).await;
    w.ts.admin()
        .store_media(w.company.id, "image/png", b"poster".to_vec())
        .await
        .unwrap();
    let live = w.ts.dir().join("server.db");
    let dir = tempfile::tempdir().unwrap();
    let to = dir.path().join("server-Mon.db");
    for args in [vec!["backup", "--to"], vec!["backup", "--force", "--to"]] {
        let args = [args.as_slice(), &[to.to_str().unwrap()]].concat();
        ok(&cli_with_umask(&args, &live));
        assert_eq!(mode(&to), 0o600, "the backup file");
        assert_eq!(mode(&dir.path().join("media")), 0o700, "its media folder");
        assert_eq!(media_files(&dir.path().join("media")).len(), 1);
        assert_eq!(integrity(&to), "ok");
    }
    // A media folder of ours from an older backup, readable by others, is
    // made private again.
    let older = tempfile::tempdir().unwrap();
    std::fs::create_dir(older.path().join("media")).unwrap();
    set_mode(&older.path().join("media"), 0o755);
    let to = older.path().join("server.db");
    ok(&cli_with_umask(
        &["backup", "--to", to.to_str().unwrap()],
        &live,
    ));
    assert_eq!(mode(&older.path().join("media")), 0o700);
    assert_eq!(mode(&to), 0o600);
}

/// Backing up into a shared folder (like /tmp: anyone may create in it)
/// where someone else made `media/` first, or left a link there, or a
/// folder anyone can write to: refused with a clear message, and nothing
/// is written into it (nor where the link points), and no backup file is
/// left under the name.
#[tokio::test]
async fn a_backup_refuses_a_media_folder_it_does_not_own() {
    let w = world_on(Backend::Sqlite).await;
    w.ts.admin()
        .store_media(w.company.id, "image/png", b"poster".to_vec())
        .await
        .unwrap();
    let live = w.ts.dir().join("server.db");
    let elsewhere = tempfile::tempdir().unwrap();
    type Make<'a> = &'a dyn Fn(&Path);
    let cases: [(&str, Make); 3] = [
        ("belongs to another user", &|media| {
            std::fs::create_dir(media).unwrap();
            set_mode(media, 0o755);
            // uid 65534: nobody (the tests run as root, which may give it away).
            std::os::unix::fs::chown(media, Some(65534), Some(65534))
                .expect("making a folder of another user (the tests run as root)");
        }),
        ("is a symbolic link", &|media| {
            std::os::unix::fs::symlink(elsewhere.path(), media).unwrap();
        }),
        ("can be written by other users", &|media| {
            std::fs::create_dir(media).unwrap();
            set_mode(media, 0o777);
        }),
    ];
    for (why, make) in cases {
        let shared = tempfile::tempdir().unwrap();
        set_mode(shared.path(), 0o1777);
        let media = shared.path().join("media");
        make(&media);
        let to = shared.path().join("server.db");
        let err = failed(&cli_with_umask(
            &["backup", "--to", to.to_str().unwrap()],
            &live,
        ));
        assert!(
            err.contains(why) && err.contains(&media.display().to_string()),
            "{why}: {err}"
        );
        assert!(!to.exists(), "{why}: a backup file was left");
        let leftovers = std::fs::read_dir(shared.path()).unwrap().count();
        assert_eq!(leftovers, 1, "{why}: only the pre-made media/ stays");
        assert!(
            media_files(&media).is_empty(),
            "{why}: media copied into it"
        );
        assert!(
            media_files(elsewhere.path()).is_empty(),
            "{why}: through the link"
        );
    }
}
