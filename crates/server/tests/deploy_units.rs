//! The systemd units in docs/deploy: `systemd-analyze verify` accepts them
//! (with ExecStart pointing at the binary just built), and `systemd-analyze
//! security` rates their confinement at most [`MAX_EXPOSURE`].

use std::path::{Path, PathBuf};
use std::process::Command;

/// `systemd-analyze security`'s exposure, in tenths (11 = "1.1"): the
/// units rate 1.1 today; a hardening option dropped raises it past this.
const MAX_EXPOSURE: u32 = 15;

fn deploy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/deploy")
}

fn systemd_analyze(args: &[&str], unit: &Path) -> std::process::Output {
    Command::new("systemd-analyze")
        .args(args)
        .arg(unit)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "systemd-analyze: {e}; install Debian's `systemd` package (cargo xtask setup does)"
            )
        })
}

/// The unit as installed, but starting the binary of this build; a
/// template is checked as one instance.
fn installed(name: &str, dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(deploy_dir().join(name)).unwrap();
    assert!(
        text.contains("ExecStart=/opt/warmlead/warmlead-server serve"),
        "{name}: ExecStart moved; update this test"
    );
    let text = text.replace(
        "/opt/warmlead/warmlead-server",
        env!("CARGO_BIN_EXE_warmlead-server"),
    );
    let path = dir.join(name.replace("@.", "@8787."));
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn the_systemd_units_verify_and_are_confined() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["warmlead-server.service", "warmlead-server@.service"] {
        let unit = installed(name, dir.path());
        let out = systemd_analyze(&["verify"], &unit);
        assert!(
            out.status.success() && out.stderr.is_empty(),
            "{name}: systemd-analyze verify:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let out = systemd_analyze(
            &[
                "security",
                "--offline=yes",
                &format!("--threshold={MAX_EXPOSURE}"),
                "--no-pager",
            ],
            &unit,
        );
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{name}: exposure above {MAX_EXPOSURE} tenths:\n{text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(text.contains("Overall exposure level"), "{name}: {text}");
    }
}
