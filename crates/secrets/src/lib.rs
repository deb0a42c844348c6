//! Where the desktop keeps its device token (issue 20): the system keychain
//! (Secret Service on Linux, Keychain on macOS, Credential Manager on
//! Windows), or, where none answers (a bare Linux session without a Secret
//! Service), a file of its own in the app's data directory that only this
//! user may read. The cache file never holds the token; it names it
//! (an id) and says where it is (`Place`).
//!
//! The token is never logged: it travels as a [`Secret`], whose `Debug`
//! prints nothing of it.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

/// The keychain entries' service name (`secret-tool lookup service Warmlead
/// username <id>` finds one on Linux).
pub const SERVICE: &str = "Warmlead";

/// The fallback's folder, inside the app's data directory.
pub const FILE_DIR: &str = "device-tokens";

/// How long the keychain may take to answer at start before the app uses
/// the file instead (a keychain that waits on a prompt nobody can see must
/// not keep the app from starting).
const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// Where a token is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Place {
    /// The system keychain.
    Keychain,
    /// A file of its own in the app's data directory, readable by this user only.
    File,
}

impl Place {
    pub fn as_str(self) -> &'static str {
        match self {
            Place::Keychain => "keychain",
            Place::File => "file",
        }
    }

    pub fn parse(s: &str) -> Option<Place> {
        match s {
            "keychain" => Some(Place::Keychain),
            "file" => Some(Place::File),
            _ => None,
        }
    }
}

/// A secret (the device token) that no `Debug` or log line shows.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }

    /// The secret itself, for the one place that needs it (a request header,
    /// the keychain).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(hidden)")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("the system keychain refused: {0}")]
    Keychain(String),
    #[error("cannot use the token file {path}: {source}")]
    File {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("a token's name must be letters, digits and '-', not {0:?}")]
    BadId(String),
    #[error("the token read back from the {} is not the one written", .0.as_str())]
    ReadBack(Place),
}

/// The token store of one data directory: the keychain when it answered at
/// start, the file otherwise. Tokens already kept in one place are read from
/// there whatever the preferred place is now.
#[derive(Debug)]
pub struct Vault {
    dir: PathBuf,
    /// Why the keychain is not used (None: it is).
    no_keychain: Option<String>,
}

impl Vault {
    /// Asks the system keychain once (a write, read and delete of a probe
    /// entry) and falls back to the file when it does not answer in time or
    /// refuses, logging why.
    pub fn open(data_dir: &Path) -> Vault {
        let no_keychain = match probe_keychain(PROBE_TIMEOUT) {
            Ok(()) => {
                tracing::info!("device token: kept in the system keychain");
                None
            }
            Err(why) => {
                tracing::warn!(
                    "device token: no system keychain ({why}); kept in a file readable only by \
                     this user, in {}",
                    data_dir.join(FILE_DIR).display()
                );
                Some(why)
            }
        };
        Vault {
            dir: data_dir.to_path_buf(),
            no_keychain,
        }
    }

    /// A vault that never asks the keychain (tests, and when the keychain
    /// is known not to run).
    pub fn file_only(data_dir: &Path, why: &str) -> Vault {
        Vault {
            dir: data_dir.to_path_buf(),
            no_keychain: Some(why.to_owned()),
        }
    }

    /// Where a new token goes.
    pub fn preferred(&self) -> Place {
        match self.no_keychain {
            None => Place::Keychain,
            Some(_) => Place::File,
        }
    }

    /// Why the keychain is not used, when it is not.
    pub fn why_no_keychain(&self) -> Option<&str> {
        self.no_keychain.as_deref()
    }

    /// The fallback's folder.
    pub fn file_dir(&self) -> PathBuf {
        self.dir.join(FILE_DIR)
    }

    /// Keeps `secret` under `id` in the preferred place and reads it back
    /// from there; when the keychain refuses, in the file instead. Answers
    /// where it is now kept.
    pub fn put(&self, id: &str, secret: &Secret) -> Result<Place, VaultError> {
        check_id(id)?;
        if self.preferred() == Place::Keychain {
            match self.put_in(Place::Keychain, id, secret) {
                Ok(()) => return Ok(Place::Keychain),
                Err(e) => tracing::warn!("device token: {e}; keeping it in the file instead"),
            }
        }
        self.put_in(Place::File, id, secret)?;
        Ok(Place::File)
    }

    /// Writes, then reads back (the caller may drop its only other copy).
    fn put_in(&self, place: Place, id: &str, secret: &Secret) -> Result<(), VaultError> {
        match place {
            Place::Keychain => entry(id)?
                .set_password(secret.expose())
                .map_err(|e| VaultError::Keychain(e.to_string()))?,
            Place::File => self.write_file(id, secret)?,
        }
        match self.get(place, id)? {
            Some(back) if back == *secret => Ok(()),
            _ => Err(VaultError::ReadBack(place)),
        }
    }

    /// The secret kept under `id` in `place`, None when there is none.
    pub fn get(&self, place: Place, id: &str) -> Result<Option<Secret>, VaultError> {
        check_id(id)?;
        match place {
            Place::Keychain => match entry(id)?.get_password() {
                Ok(s) => Ok(Some(Secret(s))),
                Err(keyring::Error::NoEntry) => Ok(None),
                Err(e) => Err(VaultError::Keychain(e.to_string())),
            },
            Place::File => {
                let path = self.file(id);
                match std::fs::read_to_string(&path) {
                    Ok(s) => Ok(Some(Secret(s))),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                    Err(source) => Err(VaultError::File { path, source }),
                }
            }
        }
    }

    /// Forgets the secret under `id` (signing out); nothing there is fine.
    pub fn remove(&self, place: Place, id: &str) -> Result<(), VaultError> {
        check_id(id)?;
        match place {
            Place::Keychain => match entry(id)?.delete_credential() {
                Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
                Err(e) => Err(VaultError::Keychain(e.to_string())),
            },
            Place::File => {
                let path = self.file(id);
                match std::fs::remove_file(&path) {
                    Ok(()) => Ok(()),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                    Err(source) => Err(VaultError::File { path, source }),
                }
            }
        }
    }

    fn file(&self, id: &str) -> PathBuf {
        self.file_dir().join(id)
    }

    /// A folder only this user may enter, and a file only this user may
    /// read, written whole under another name first and then renamed, so an
    /// interrupted write never leaves half a token.
    fn write_file(&self, id: &str, secret: &Secret) -> Result<(), VaultError> {
        let dir = self.file_dir();
        let err = |path: &Path| {
            let path = path.to_path_buf();
            move |source| VaultError::File { path, source }
        };
        private_dir(&dir).map_err(err(&dir))?;
        let tmp = dir.join(format!(".{id}.new"));
        let path = self.file(id);
        let mut f = private_file(&tmp).map_err(err(&tmp))?;
        f.write_all(secret.expose().as_bytes())
            .and_then(|()| f.sync_all())
            .map_err(err(&tmp))?;
        drop(f);
        std::fs::rename(&tmp, &path).map_err(err(&path))?;
        Ok(())
    }
}

/// Names are ours (`device-<uuid>`): anything else is refused before it
/// reaches a path or the keychain.
fn check_id(id: &str) -> Result<(), VaultError> {
    let ok = !id.is_empty()
        && id.len() <= 100
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(VaultError::BadId(id.to_owned()))
    }
}

fn entry(id: &str) -> Result<keyring::Entry, VaultError> {
    keyring::Entry::new(SERVICE, id).map_err(|e| VaultError::Keychain(e.to_string()))
}

/// Writes, reads and deletes a probe entry, on a thread of its own so a
/// keychain that never answers costs `timeout`, not the app's start.
fn probe_keychain(timeout: Duration) -> Result<(), String> {
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("keychain-probe".into())
        .spawn(move || {
            let probe = || -> Result<(), keyring::Error> {
                let e = keyring::Entry::new(SERVICE, "probe")?;
                e.set_password("probe")?;
                let back = e.get_password()?;
                e.delete_credential()?;
                if back == "probe" {
                    Ok(())
                } else {
                    Err(keyring::Error::NoEntry)
                }
            };
            let _ = tx.send(probe().map_err(|e| e.to_string()));
        })
        .map_err(|e| format!("cannot start the keychain probe: {e}"))?;
    rx.recv_timeout(timeout)
        .unwrap_or_else(|_| Err(format!("it did not answer within {} s", timeout.as_secs())))
}

#[cfg(unix)]
fn private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    // A folder made before (or by hand) gets the same rights.
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
}

#[cfg(not(unix))]
fn private_dir(dir: &Path) -> std::io::Result<()> {
    // Windows: the data directory is under the user's profile, which other
    // users cannot read; and Credential Manager is always there.
    std::fs::create_dir_all(dir)
}

#[cfg(unix)]
fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::File::create(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_fallback_keeps_the_token_private_and_forgets_it() {
        let dir = tempfile::tempdir().unwrap();
        let vault = Vault::file_only(dir.path(), "test");
        assert_eq!(vault.preferred(), Place::File);
        let token = Secret::new("tok-123");
        assert_eq!(vault.put("device-1", &token).unwrap(), Place::File);
        assert_eq!(vault.get(Place::File, "device-1").unwrap(), Some(token));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&vault.file_dir()), 0o700);
            assert_eq!(mode(&vault.file_dir().join("device-1")), 0o600);
        }
        vault.remove(Place::File, "device-1").unwrap();
        assert_eq!(vault.get(Place::File, "device-1").unwrap(), None);
        // Removing what is gone is fine (a sign-out after a wipe).
        vault.remove(Place::File, "device-1").unwrap();
    }

    #[test]
    fn names_that_could_leave_the_folder_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let vault = Vault::file_only(dir.path(), "test");
        for bad in ["../x", "", "a/b", "A", "x.y"] {
            assert!(
                matches!(vault.put(bad, &Secret::new("t")), Err(VaultError::BadId(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_secret_never_shows_in_debug() {
        let s = Secret::new("tok-very-secret");
        assert!(!format!("{s:?}").contains("tok-very-secret"));
        assert_eq!(
            Place::parse(Place::Keychain.as_str()),
            Some(Place::Keychain)
        );
        assert_eq!(Place::parse(Place::File.as_str()), Some(Place::File));
    }
}
