//! Desktop app releases that a server hands to the apps signed in to it:
//! which target a release is for, whether a version is newer than the one
//! running, what a published file may be called, and whether a package's
//! signature verifies against the updater key.
//!
//! What protects an update: every package is signed with the updater key
//! (minisign, made by the Tauri bundler or `tauri signer sign`), and the
//! signature's trusted comment (covered by the signature) names the version
//! it was signed for. The app checks both before installing anything (the
//! updater plugin with `requireSignedVersion`), so a manifest that names
//! another package, another signature or another version is refused. The
//! server never holds the private key; it checks what an operator publishes
//! ([`verify_package`]) so a bad package is refused at upload already.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::{Deserialize, Serialize};

/// Operating systems as the updater names them in its requests (`{{target}}`).
pub const OSES: &[&str] = &["linux", "windows", "darwin"];
/// Architectures as the updater names them (`{{arch}}`).
pub const ARCHES: &[&str] = &["x86_64", "aarch64", "i686", "armv7"];

/// The update check, as the server routes it: 204 when there is nothing
/// newer, else an [`UpdateManifest`].
pub const PATH_UPDATE_CHECK: &str = "/updates/{target}/{arch}/{current_version}";
/// A published package.
pub const PATH_RELEASE_FILE: &str = "/releases/{version}/{target}/{file}";

/// The update endpoint of the server at `server` as the updater plugin takes
/// it (it fills in `{{target}}`, `{{arch}}` and `{{current_version}}`).
pub fn update_endpoint(server: &str) -> String {
    format!(
        "{}/updates/{{{{target}}}}/{{{{arch}}}}/{{{{current_version}}}}",
        server.trim_end_matches('/')
    )
}

/// Where a published package is downloaded from.
pub fn release_file_url(server: &str, version: &str, target: &str, file: &str) -> String {
    format!(
        "{}/releases/{version}/{target}/{file}",
        server.trim_end_matches('/')
    )
}

/// What is wrong with a release or a request for one; the message says what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ReleaseError(pub String);

fn err<T>(msg: impl Into<String>) -> Result<T, ReleaseError> {
    Err(ReleaseError(msg.into()))
}

/// A version as releases are numbered (semver; a leading `v` is allowed,
/// as the updater allows it).
pub fn parse_version(s: &str) -> Result<semver::Version, ReleaseError> {
    let t = s.trim();
    semver::Version::parse(t.strip_prefix('v').unwrap_or(t)).or_else(|_| {
        err(format!(
            "{s:?} is not a version: expected three numbers like 0.2.0"
        ))
    })
}

/// Whether `latest` is an update for an app running `current`: strictly
/// newer by semver (0.10.0 after 0.9.0; 0.2.0-beta.1 before 0.2.0). Never a
/// downgrade, never the same version again.
pub fn is_newer(current: &str, latest: &str) -> Result<bool, ReleaseError> {
    Ok(parse_version(latest)? > parse_version(current)?)
}

/// The newest of `versions` that is an update for `current`, if any
/// (versions that do not parse are passed over: they were never accepted).
pub fn newest_update<'a>(
    current: &str,
    versions: impl IntoIterator<Item = &'a str>,
) -> Result<Option<&'a str>, ReleaseError> {
    let current = parse_version(current)?;
    Ok(versions
        .into_iter()
        .filter_map(|v| parse_version(v).ok().map(|p| (p, v)))
        .filter(|(p, _)| *p > current)
        .max_by(|a, b| a.0.cmp(&b.0))
        .map(|(_, v)| v))
}

/// What a release package is for: an operating system and an architecture
/// (`linux-x86_64`), as the updater asks (`/updates/{os}/{arch}/...`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    pub os: &'static str,
    pub arch: &'static str,
}

impl Target {
    /// `linux-x86_64`.
    pub fn key(&self) -> String {
        format!("{}-{}", self.os, self.arch)
    }

    /// From the two parts of an update request.
    pub fn new(os: &str, arch: &str) -> Result<Target, ReleaseError> {
        let os = OSES.iter().copied().find(|k| *k == os).ok_or_else(|| {
            ReleaseError(format!(
                "no updates for the system {os:?}: expected one of {}",
                OSES.join(", ")
            ))
        })?;
        let arch = ARCHES.iter().copied().find(|k| *k == arch).ok_or_else(|| {
            ReleaseError(format!(
                "no updates for the architecture {arch:?}: expected one of {}",
                ARCHES.join(", ")
            ))
        })?;
        Ok(Target { os, arch })
    }

    /// Reads a target as an operator types it (`linux-x86_64`).
    pub fn parse(key: &str) -> Result<Target, ReleaseError> {
        let bad = || {
            ReleaseError(format!(
                "{key:?} is not a target: expected os-arch like linux-x86_64, os one of {}, arch one of {}",
                OSES.join(", "),
                ARCHES.join(", ")
            ))
        };
        let (os, arch) = key.split_once('-').ok_or_else(bad)?;
        Target::new(os, arch).map_err(|_| bad())
    }
}

/// A published file's name: letters, digits, `.`, `_`, `-`, `+`; not
/// starting with a dot; at most 200 bytes. Nothing that could name another
/// folder (`..`, `/`, `\`) or a hidden file.
pub fn is_safe_file_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 200
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'+'))
}

fn decode_box(text: &str, what: &str) -> Result<String, ReleaseError> {
    let bytes = STANDARD.decode(text.trim()).map_err(|_| {
        ReleaseError(format!(
            "the {what} is not base64 text as `tauri signer` writes it"
        ))
    })?;
    String::from_utf8(bytes).map_err(|_| {
        ReleaseError(format!(
            "the {what} is not base64 text as `tauri signer` writes it"
        ))
    })
}

/// Checks a package as the app will before installing it: `signature` (the
/// `.sig` file's text) verifies `package` with `public_key` (the updater
/// key's `.pub` text, as in the app's configuration), and its trusted
/// comment says it was signed for `version`. Signatures without a version
/// are refused too: the app requires one.
pub fn verify_package(
    public_key: &str,
    signature: &str,
    package: &[u8],
    version: &str,
) -> Result<(), ReleaseError> {
    let key = minisign_verify::PublicKey::decode(&decode_box(public_key, "updater public key")?)
        .map_err(|_| {
            ReleaseError(
                "the updater public key is not a minisign public key: use the .pub file `tauri signer generate` wrote".into(),
            )
        })?;
    let sig = minisign_verify::Signature::decode(&decode_box(signature, "signature")?).map_err(
        |_| {
            ReleaseError(
                "the .sig file is not an updater signature: use the .sig file the Tauri bundler or `tauri signer sign` wrote".into(),
            )
        },
    )?;
    key.verify(package, &sig, true).map_err(|e| match e {
        minisign_verify::Error::UnexpectedKeyId => ReleaseError(
            "the package was signed with another key than the updater key: sign it with the updater key's private half".into(),
        ),
        _ => ReleaseError(
            "the signature does not verify: the package is not the file that was signed, or was signed with another key".into(),
        ),
    })?;
    // Read only now: the trusted comment is covered by the signature just checked.
    let signed = sig
        .trusted_comment()
        .split('\t')
        .find_map(|f| f.strip_prefix("version:"));
    match signed {
        None => err(format!(
            "the signature does not say which version it was signed for: sign the {version} package again with a current Tauri CLI (it records the version)"
        )),
        Some(signed) if parse_version(signed).ok() == parse_version(version).ok() => Ok(()),
        Some(signed) => err(format!(
            "the package was signed as version {signed}, not {version}: publish it as {signed} or sign the right package"
        )),
    }
}

/// What the updater reads when there is an update (its "dynamic" format):
/// one package, for the target that asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateManifest {
    pub version: String,
    pub notes: String,
    /// RFC 3339, UTC.
    pub pub_date: String,
    pub url: String,
    /// The `.sig` file's text (base64 of the minisign signature).
    pub signature: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newer_is_strictly_newer_by_semver() {
        for (current, latest, newer) in [
            ("0.1.0", "0.2.0", true),
            ("0.2.0", "0.2.0", false),
            ("0.3.0", "0.2.0", false),
            ("0.9.0", "0.10.0", true),
            ("0.10.0", "0.9.0", false),
            ("1.0.0", "v1.0.1", true),
            ("0.2.0-beta.1", "0.2.0", true),
            ("0.2.0", "0.2.0-beta.1", false),
            ("0.2.0+build.5", "0.2.0", false),
        ] {
            assert_eq!(
                is_newer(current, latest).unwrap(),
                newer,
                "{current} -> {latest}"
            );
        }
        for bad in ["", "1", "1.2", "latest", "1.2.3.4", "../1.0.0"] {
            let e = is_newer(bad, "1.0.0").unwrap_err();
            assert!(e.0.contains("not a version"), "{bad}: {e}");
        }
    }

    #[test]
    fn the_newest_update_is_chosen_by_semver_not_by_text() {
        let published = ["0.9.0", "0.10.0", "0.2.0", "0.10.0-rc.1"];
        for (current, want) in [
            ("0.1.0", Some("0.10.0")),
            ("0.9.0", Some("0.10.0")),
            ("0.10.0-rc.1", Some("0.10.0")),
            ("0.10.0", None),
            ("1.0.0", None),
        ] {
            assert_eq!(
                newest_update(current, published).unwrap(),
                want,
                "{current}"
            );
        }
        assert_eq!(newest_update("0.1.0", []).unwrap(), None);
        assert!(newest_update("one", published).is_err());
    }

    #[test]
    fn the_endpoint_is_the_updaters_template_on_the_signed_in_server() {
        assert_eq!(
            update_endpoint("https://r.example.com/"),
            "https://r.example.com/updates/{{target}}/{{arch}}/{{current_version}}"
        );
        assert_eq!(
            release_file_url("http://127.0.0.1:8787", "0.2.0", "linux-x86_64", "a.deb"),
            "http://127.0.0.1:8787/releases/0.2.0/linux-x86_64/a.deb"
        );
    }

    #[test]
    fn targets_are_read_strictly() {
        assert_eq!(
            Target::parse("linux-x86_64").unwrap(),
            Target {
                os: "linux",
                arch: "x86_64"
            }
        );
        assert_eq!(
            Target::parse("darwin-aarch64").unwrap().key(),
            "darwin-aarch64"
        );
        assert_eq!(
            Target::new("windows", "x86_64").unwrap().key(),
            "windows-x86_64"
        );
        for bad in [
            "linux",
            "plan9-x86_64",
            "linux-sparc",
            "linux-x86_64-deb",
            "Linux-x86_64",
            "",
        ] {
            let e = Target::parse(bad).unwrap_err();
            assert!(e.0.contains("expected os-arch"), "{bad}: {e}");
        }
        assert!(Target::new("linux", "../x").is_err());
    }

    #[test]
    fn file_names_cannot_leave_their_folder() {
        for ok in [
            "Warmlead_0.2.0_amd64.deb",
            "Warmlead-0.2.0-1.x86_64.rpm",
            "a+b.AppImage",
        ] {
            assert!(is_safe_file_name(ok), "{ok}");
        }
        for bad in [
            "",
            ".",
            "..",
            "../server.db",
            "a/b.deb",
            "a\\b.deb",
            ".hidden",
            "a b.deb",
            "%2e%2e",
            "名.deb",
            &"a".repeat(201),
        ] {
            assert!(!is_safe_file_name(bad), "{bad}");
        }
    }

    /// A fresh updater key, as `tauri signer generate` makes (never stored).
    fn keypair() -> (String, minisign::SecretKey) {
        let kp = minisign::KeyPair::generate_unencrypted_keypair().unwrap();
        let public = STANDARD.encode(kp.pk.to_box().unwrap().to_string());
        (public, kp.sk)
    }

    /// A `.sig` as `tauri signer sign` writes it, with `trusted` as its trusted comment.
    fn sign(sk: &minisign::SecretKey, data: &[u8], trusted: &str) -> String {
        let sig = minisign::sign(
            None,
            sk,
            std::io::Cursor::new(data),
            Some(trusted),
            Some("signature from tauri secret key"),
        )
        .unwrap();
        STANDARD.encode(sig.to_string())
    }

    #[test]
    fn a_package_verifies_only_as_signed_for_its_version_with_the_updater_key() {
        let (public, sk) = keypair();
        let (other_public, other_sk) = keypair();
        let pkg = b"the 0.2.0 package".as_slice();
        let tc = "timestamp:1700000000\tfile:Warmlead_0.2.0_amd64.deb\tversion:0.2.0";
        let good = sign(&sk, pkg, tc);
        assert_eq!(verify_package(&public, &good, pkg, "0.2.0"), Ok(()));
        assert_eq!(verify_package(&public, &good, pkg, "v0.2.0"), Ok(()));
        // The signature's trusted comment, altered after signing.
        let forged_comment = {
            let text = String::from_utf8(STANDARD.decode(&good).unwrap()).unwrap();
            STANDARD.encode(text.replace("version:0.2.0", "version:0.3.0"))
        };
        for (case, key, sig, data, version, says) in [
            (
                "another package",
                &public,
                good.clone(),
                b"the 0.1.0 package".as_slice(),
                "0.2.0",
                "does not verify",
            ),
            (
                "another key's signature",
                &public,
                sign(&other_sk, pkg, tc),
                pkg,
                "0.2.0",
                "another key",
            ),
            (
                "another public key",
                &other_public,
                good.clone(),
                pkg,
                "0.2.0",
                "another key",
            ),
            (
                "published as another version",
                &public,
                good.clone(),
                pkg,
                "0.3.0",
                "signed as version 0.2.0",
            ),
            (
                "comment altered",
                &public,
                forged_comment,
                pkg,
                "0.3.0",
                "does not verify",
            ),
            (
                "no version signed",
                &public,
                sign(&sk, pkg, "timestamp:1700000000\tfile:x.deb"),
                pkg,
                "0.2.0",
                "which version",
            ),
            (
                "not base64",
                &public,
                "not base64 !".to_string(),
                pkg,
                "0.2.0",
                "base64",
            ),
            (
                "not a signature",
                &public,
                STANDARD.encode("hello"),
                pkg,
                "0.2.0",
                "not an updater signature",
            ),
            (
                "not a key",
                &STANDARD.encode("hello"),
                good.clone(),
                pkg,
                "0.2.0",
                "not a minisign public key",
            ),
        ] {
            let e = verify_package(key, &sig, data, version).unwrap_err();
            assert!(e.0.contains(says), "{case}: {e}");
        }
    }
}
