//! The token's move into a real system keychain: a Secret Service
//! (gnome-keyring) on a D-Bus session of the test's own. Each test runs its
//! body in a child process of this test binary, started under
//! `dbus-run-session` with its own keyring folder, so the machine's keyring
//! (if any) is never touched and the bus ends with the test.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::token_tests::{files_holding, old_cache, restart, TOKEN};
use crate::{Place, Secret, Store, Vault};

/// Set in the child: the test body runs there.
const CHILD: &str = "WARMLEAD_KEYCHAIN_TEST_CHILD";

/// Runs the test `name` again in a child process, on a fresh D-Bus session
/// bus when `bus` (else with no bus at all), and fails if it fails.
fn in_child(name: &str, bus: bool) {
    let home = tempfile::tempdir().unwrap();
    let run = home.path().join("run");
    std::fs::create_dir(&run).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&run, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    let exe = std::env::current_exe().unwrap();
    let mut cmd = if bus {
        let mut c = Command::new("dbus-run-session");
        c.arg("--").arg(&exe);
        c
    } else {
        let mut c = Command::new(&exe);
        // Nowhere: libdbus neither finds a bus nor starts one (X11 autolaunch).
        c.env(
            "DBUS_SESSION_BUS_ADDRESS",
            format!("unix:path={}/no-bus", run.display()),
        );
        c
    };
    cmd.args(["--exact", name, "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .env("HOME", home.path())
        .env("XDG_DATA_HOME", home.path().join("data"))
        .env("XDG_RUNTIME_DIR", &run)
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY");
    if bus {
        cmd.env_remove("DBUS_SESSION_BUS_ADDRESS");
    }
    let out = cmd.output().unwrap_or_else(|e| {
        panic!("cannot run dbus-run-session ({e}): install dbus, gnome-keyring and libsecret-tools (cargo xtask setup)")
    });
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "child test failed:\n{text}");
    // The child really ran the body (a filter matching nothing passes too).
    assert!(text.contains("1 passed"), "the child ran no test:\n{text}");
}

fn is_child() -> bool {
    std::env::var_os(CHILD).is_some()
}

/// Starts gnome-keyring's Secret Service on this process's session bus,
/// with a login keyring unlocked by a password given on its input (what a
/// desktop's login does), so no prompt is needed.
fn start_secret_service() {
    let mut unlock = Command::new("gnome-keyring-daemon")
        .args(["--unlock", "--components=secrets"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run gnome-keyring-daemon ({e}): install gnome-keyring (cargo xtask setup)"
            )
        });
    {
        use std::io::Write;
        let mut input = unlock.stdin.take().unwrap();
        input.write_all(b"test-login-password").unwrap();
    }
    assert!(
        unlock.wait().unwrap().success(),
        "gnome-keyring-daemon --unlock failed"
    );
    let start = Command::new("gnome-keyring-daemon")
        .args(["--start", "--components=secrets"])
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(start.success(), "gnome-keyring-daemon --start failed");
}

/// What `secret-tool` (libsecret, not this app's client) finds for `id`.
fn secret_tool_lookup(id: &str) -> Option<String> {
    let out = Command::new("secret-tool")
        .args([
            "lookup",
            "service",
            warmlead_secrets::SERVICE,
            "username",
            id,
        ])
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run secret-tool ({e}): install libsecret-tools (cargo xtask setup)")
        });
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn no_token_files(data_dir: &Path) {
    assert_eq!(
        files_holding(data_dir, TOKEN),
        Vec::<std::path::PathBuf>::new()
    );
}

#[test]
fn an_old_cache_moves_its_token_into_the_secret_service() {
    if !is_child() {
        return in_child(
            "keychain_tests::an_old_cache_moves_its_token_into_the_secret_service",
            true,
        );
    }
    start_secret_service();
    let (dir, path) = old_cache();
    let vault = Vault::open(dir.path());
    assert_eq!(vault.why_no_keychain(), None);
    assert_eq!(vault.preferred(), Place::Keychain);
    let store = Store::open(&path).unwrap();

    assert_eq!(store.unlock_token(&vault).unwrap(), Some(Place::Keychain));

    let kept = store.token_ref().unwrap().unwrap();
    assert_eq!(kept.place, Place::Keychain);
    assert_eq!(secret_tool_lookup(&kept.id).as_deref(), Some(TOKEN));
    assert_eq!(store.token_place().unwrap(), Some(Place::Keychain));
    drop(store);
    // Nothing in the data directory holds it: not the cache, nor a file.
    no_token_files(dir.path());
    assert!(!vault.file_dir().exists());

    // A later start reads it back from the keychain.
    let store = Store::open(&path).unwrap();
    restart(&store);
    assert_eq!(store.unlock_token(&vault).unwrap(), Some(Place::Keychain));
    assert_eq!(store.credentials().unwrap().unwrap().device_token, TOKEN);

    // Signing out empties the keychain entry too.
    store.sign_out_with(&vault, true).unwrap();
    assert_eq!(secret_tool_lookup(&kept.id), None);
    assert_eq!(vault.get(Place::Keychain, &kept.id).unwrap(), None);
}

#[test]
fn signing_in_with_a_secret_service_keeps_the_token_there() {
    if !is_child() {
        return in_child(
            "keychain_tests::signing_in_with_a_secret_service_keeps_the_token_there",
            true,
        );
    }
    start_secret_service();
    let dir = tempfile::tempdir().unwrap();
    let vault = Vault::open(dir.path());
    let store = Store::open(dir.path().join("warmlead.sqlite")).unwrap();
    let place = store
        .sign_in_with(&vault, "http://127.0.0.1:1", &crate::token_tests::act())
        .unwrap();
    assert_eq!(place, Place::Keychain);
    let kept = store.token_ref().unwrap().unwrap();
    assert_eq!(secret_tool_lookup(&kept.id).as_deref(), Some(TOKEN));
    assert_eq!(
        vault.get(Place::Keychain, &kept.id).unwrap(),
        Some(Secret::new(TOKEN))
    );
    drop(store);
    no_token_files(dir.path());
}

#[test]
fn without_a_secret_service_the_file_is_used_and_said() {
    if !is_child() {
        return in_child(
            "keychain_tests::without_a_secret_service_the_file_is_used_and_said",
            false,
        );
    }
    let (dir, path) = old_cache();
    let vault = Vault::open(dir.path());
    assert_eq!(vault.preferred(), Place::File);
    let why = vault.why_no_keychain().expect("a reason");
    assert!(!why.is_empty());
    let store = Store::open(&path).unwrap();

    assert_eq!(store.unlock_token(&vault).unwrap(), Some(Place::File));

    let kept = store.token_ref().unwrap().unwrap();
    assert_eq!(store.token_place().unwrap(), Some(Place::File));
    drop(store);
    assert_eq!(
        files_holding(dir.path(), TOKEN),
        vec![vault.file_dir().join(&kept.id)]
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(vault.file_dir().join(&kept.id))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
