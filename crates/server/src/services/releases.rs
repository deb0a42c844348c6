//! Shipping desktop app updates: `release add` checks a package against the
//! updater key and publishes it; the update endpoint offers it to the apps.
//! The rules (targets, versions, signatures) are `warmlead_core::release`.

use std::path::Path;

use sha2::{Digest, Sha256};
use warmlead_core::release::{self, Target};

use crate::admin::Admin;
use crate::error::ServerError;
pub use crate::storage::release_store::Release;
use crate::storage::Database;

/// What an operator publishes with `release add`.
#[derive(Debug, Clone)]
pub struct NewRelease<'a> {
    pub version: &'a str,
    /// `linux-x86_64`.
    pub target: &'a str,
    /// The package (the bundler's `.deb`, `.AppImage`, `-setup.exe`, `.app.tar.gz`...).
    pub file: &'a Path,
    /// Its `.sig` file, as the bundler or `tauri signer sign` wrote it.
    pub signature: &'a Path,
    /// What is new, shown to the user as it is.
    pub notes: &'a str,
    /// The updater key's public half: the `.pub` file's text, or its path.
    pub public_key: &'a str,
}

fn bad(msg: impl std::fmt::Display) -> ServerError {
    ServerError::InvalidInput(msg.to_string())
}

/// The public key's text, read from the file when given a path.
fn public_key_text(value: &str) -> Result<String, ServerError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(bad(
            "no updater public key: pass --updater-pubkey (or set WARMLEAD_UPDATER_PUBKEY) to the .pub file `tauri signer generate` wrote, or its text",
        ));
    }
    let path = Path::new(value);
    if path.is_file() {
        return Ok(std::fs::read_to_string(path)
            .map_err(|e| bad(format!("cannot read {}: {e}", path.display())))?
            .trim()
            .to_string());
    }
    Ok(value.to_string())
}

impl Admin {
    /// Publishes a package once it verifies with the updater key as signed
    /// for `version`; refused (nothing stored) otherwise, or when that
    /// version was already published for the target.
    pub async fn add_release(&self, new: NewRelease<'_>) -> Result<Release, ServerError> {
        let target = Target::parse(new.target).map_err(bad)?;
        let version = release::parse_version(new.version)
            .map_err(bad)?
            .to_string();
        let file = new
            .file
            .file_name()
            .and_then(|n| n.to_str())
            .filter(|n| release::is_safe_file_name(n))
            .ok_or_else(|| {
                bad(format!(
                    "{}: name the package with letters, digits, '.', '_', '-' or '+' only (as the bundler does)",
                    new.file.display()
                ))
            })?
            .to_string();
        let public_key = public_key_text(new.public_key)?;
        let signature = std::fs::read_to_string(new.signature)
            .map_err(|e| {
                bad(format!(
                    "cannot read the signature {}: {e}",
                    new.signature.display()
                ))
            })?
            .trim()
            .to_string();
        let bytes = tokio::fs::read(new.file).await.map_err(|e| {
            bad(format!(
                "cannot read the package {}: {e}",
                new.file.display()
            ))
        })?;
        release::verify_package(&public_key, &signature, &bytes, &version)
            .map_err(|e| bad(format!("{} was refused: {e}", new.file.display())))?;
        let stored_as = format!("release-{:x}", Sha256::digest(&bytes));
        let media = self.db.media_dir().to_path_buf();
        let size = bytes.len() as i64;
        let written = {
            let (media, stored_as) = (media.clone(), stored_as.clone());
            tokio::task::spawn_blocking(move || store_file(&media, &stored_as, &bytes)).await??
        };
        let row = Release {
            version: version.clone(),
            target: target.key(),
            file,
            stored_as,
            size,
            signature,
            notes: new.notes.trim().to_string(),
            published_at_ms: crate::storage::now_ms(),
        };
        let stored = row.clone();
        if !self
            .db
            .transaction(move |s| s.releases().insert(&stored))
            .await?
        {
            // Refused: the file written for it is nobody's.
            if written {
                let _ = tokio::fs::remove_file(media.join(&row.stored_as)).await;
            }
            return Err(ServerError::Conflict(format!(
                "version {version} is already published for {}: a published release is never changed (apps may have installed it); publish a newer version",
                target.key()
            )));
        }
        Ok(row)
    }

    /// Every published package, oldest first.
    pub async fn releases(&self) -> Result<Vec<Release>, ServerError> {
        self.db.snapshot(|s| s.releases().all()).await
    }
}

/// The newest release for `target` when it is newer than the app's
/// `current` version (which the caller has checked is a version).
pub(crate) async fn update_for(
    db: &Database,
    target: &Target,
    current: &str,
) -> Result<Option<Release>, ServerError> {
    let (key, current) = (target.key(), current.to_string());
    db.snapshot(move |s| {
        let store = s.releases();
        let versions = store.versions(&key)?;
        let newest = release::newest_update(&current, versions.iter().map(String::as_str))
            .map_err(|e| bad(e.0))?;
        match newest {
            Some(version) => store.get(version, &key),
            None => Ok(None),
        }
    })
    .await
}

/// A published package by the names in its URL.
pub(crate) async fn published(
    db: &Database,
    version: String,
    target: String,
    file: String,
) -> Result<Option<Release>, ServerError> {
    let found = db
        .snapshot(move |s| s.releases().get(&version, &target))
        .await?;
    Ok(found.filter(|r| r.file == file))
}

/// Writes the package into the media folder under its content's name (a
/// file already there is the same bytes), through a temp file so a reader
/// never sees half a package.
/// `false` when it was there already.
fn store_file(media: &Path, name: &str, bytes: &[u8]) -> Result<bool, ServerError> {
    let dest = media.join(name);
    if dest.is_file() {
        return Ok(false);
    }
    std::fs::create_dir_all(media)?;
    let tmp = media.join(format!(".release-{}", uuid::Uuid::new_v4()));
    std::fs::write(&tmp, bytes)?;
    std::fs::File::open(&tmp)?.sync_all()?;
    std::fs::rename(&tmp, &dest).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })?;
    Ok(true)
}
