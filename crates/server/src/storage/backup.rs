//! Backing up a serving database, and putting a backup back in place.
//!
//! A backup is `VACUUM INTO` from a read-only connection: one read
//! transaction, so the copy is consistent while the server keeps writing
//! (WAL lets the writer go on beside it). Media files are immutable and
//! uuid-named, so they are copied after the snapshot into `media/` beside
//! the backup file: every media row in the copy then has its file, and a
//! backup file with its `media/` is itself a layout `serve` can run on.
//!
//! A backup holds the master secret that signs every token, so it is
//! private whatever the caller's umask: the file is created 0600 and its
//! `media/` 0700, and an existing `media/` is used only when it is a real
//! folder of ours that nobody else can write to (a backup folder in a
//! shared place such as /tmp could otherwise be made first by another user,
//! who would then read or swap every file copied into it).
//!
//! A restore needs the server stopped. It never deletes anything: the
//! database it replaces is kept beside it as `<name>.before-restore-<time>`.
//! The restored copy gets a new epoch (devices re-download and re-push what
//! the copy lost) and keeps its secrets, so old share links still resolve.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};

use super::sqlite;
use crate::error::ServerError;

/// What a backup wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupReport {
    pub file: PathBuf,
    pub bytes: u64,
    /// Where the media were copied, and how many files were new there.
    pub media_dir: PathBuf,
    pub media_copied: usize,
}

/// What a restore did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreReport {
    /// The restored database's new epoch.
    pub epoch: String,
    /// Where the database that was replaced now is (None: there was none).
    pub previous: Option<PathBuf>,
    pub media_copied: usize,
}

/// Copies the database at `db` to `to` (replacing it only when `force`),
/// then the media folder beside the database into `media/` beside `to`.
pub fn backup(db: &Path, to: &Path, force: bool) -> Result<BackupReport, ServerError> {
    if !db.is_file() {
        return Err(ServerError::Config(format!(
            "there is no database at {}",
            db.display()
        )));
    }
    if to.exists() && same_path(db, to) {
        return Err(ServerError::Conflict(format!(
            "{} is the database itself; back up to another file",
            to.display()
        )));
    }
    if to.exists() && !force {
        return Err(ServerError::Conflict(format!(
            "{} already exists; pass --force to replace it",
            to.display()
        )));
    }
    let dir = parent(to);
    std::fs::create_dir_all(&dir)?;
    // Written beside the target and renamed: a half-written backup never
    // carries the backup's name, and --force replaces the old one atomically.
    let tmp = sibling(to, "partial");
    let owner = match snapshot(db, &tmp) {
        Ok(owner) => owner,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
    };
    // Before the rename: a media folder we may not use fails the backup
    // before a file of that name appears.
    let media_dir = dir.join("media");
    if let Err(e) = private_dir(&media_dir, owner) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    std::fs::rename(&tmp, to)?;
    let bytes = std::fs::metadata(to)?.len();
    let media_copied = copy_media(&media_of(db), &media_dir)?;
    Ok(BackupReport {
        file: to.to_path_buf(),
        bytes,
        media_dir,
        media_copied,
    })
}

/// One consistent copy of `db` at `tmp`, synced to disk, readable by its
/// owner only; answers the owner (this process's user, as the file system
/// sees it).
fn snapshot(db: &Path, tmp: &Path) -> Result<Owner, ServerError> {
    // Made empty here with its mode (VACUUM INTO fills an empty file), so it
    // is never readable by others, not even between create and chmod.
    let file = create_private(tmp)?;
    let owner = owner_of(&file.metadata()?);
    drop(file);
    // Read-write open, though it only reads: a read-only connection cannot
    // open a WAL database whose server is stopped (no -shm file to map).
    let conn = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_WRITE)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    let target = tmp
        .to_str()
        .ok_or_else(|| ServerError::Config(format!("{} is not UTF-8", tmp.display())))?;
    conn.execute("VACUUM INTO ?1", [target])?;
    std::fs::File::open(tmp)?.sync_all()?;
    Ok(owner)
}

/// A new file (never an existing one, nor the target of a link), mode 0600.
fn create_private(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// Who owns a file (Unix: its uid; elsewhere nothing to compare).
#[cfg(unix)]
type Owner = u32;
#[cfg(not(unix))]
type Owner = ();

#[cfg(unix)]
fn owner_of(meta: &std::fs::Metadata) -> Owner {
    std::os::unix::fs::MetadataExt::uid(meta)
}

#[cfg(not(unix))]
fn owner_of(_: &std::fs::Metadata) -> Owner {}

/// Makes `dir` with mode 0700, or accepts it when it already is a folder
/// (not a link) of `owner` that no one else can write to, and then makes it
/// 0700 too. Anything else is refused: its maker could read or replace what
/// the backup copies into it.
fn private_dir(dir: &Path, owner: Owner) -> Result<(), ServerError> {
    let mut builder = std::fs::DirBuilder::new();
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    match builder.create(dir) {
        Ok(()) => return Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e.into()),
    }
    let refuse = |why: &str| {
        ServerError::Conflict(format!(
            "{} already exists and {why}; the backup's media would not be private there. \
             Back up into a folder of your own (e.g. /var/backups/warmlead/server.db), \
             or remove it",
            dir.display()
        ))
    };
    // Not followed: a link could point anywhere.
    let meta = std::fs::symlink_metadata(dir)?;
    if meta.file_type().is_symlink() {
        return Err(refuse("is a symbolic link"));
    }
    if !meta.is_dir() {
        return Err(refuse("is not a folder"));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if owner_of(&meta) != owner {
            return Err(refuse(&format!(
                "belongs to another user (uid {})",
                owner_of(&meta)
            )));
        }
        if meta.permissions().mode() & 0o022 != 0 {
            return Err(refuse("can be written by other users"));
        }
        if meta.permissions().mode() & 0o777 != 0o700 {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
        }
    }
    #[cfg(not(unix))]
    let _ = owner;
    Ok(())
}

/// Puts the backup `from` in place of the database at `db` (the server must
/// be stopped), with a new epoch, and copies the backup's media beside it.
pub fn restore(from: &Path, db: &Path) -> Result<RestoreReport, ServerError> {
    check_backup(from)?;
    let dir = parent(db);
    std::fs::create_dir_all(&dir)?;
    if db.exists() {
        ensure_not_in_use(db)?;
    }
    let tmp = sibling(db, "restoring");
    let epoch = match prepare_copy(from, &tmp) {
        Ok(epoch) => epoch,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
    };
    let previous = if db.exists() {
        let kept = sibling_named(db, &format!("before-restore-{}", super::now_ms()));
        std::fs::rename(db, &kept)?;
        Some(kept)
    } else {
        None
    };
    std::fs::rename(&tmp, db)?;
    let media_copied = copy_media(&parent(from).join("media"), &media_of(db))?;
    Ok(RestoreReport {
        epoch,
        previous,
        media_copied,
    })
}

/// The file must be a whole, readable Warmlead server database.
fn check_backup(from: &Path) -> Result<(), ServerError> {
    let not_backup = |why: String| {
        ServerError::InvalidInput(format!(
            "{} is not a Warmlead server backup: {why}",
            from.display()
        ))
    };
    if !from.is_file() {
        return Err(not_backup("no such file".into()));
    }
    let conn = Connection::open_with_flags(from, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .map_err(|e| not_backup(e.to_string()))?;
    if check != "ok" {
        return Err(not_backup(format!("integrity check: {check}")));
    }
    let keys: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM meta WHERE key IN ('master_secret', 'epoch')",
            [],
            |r| r.get(0),
        )
        .map_err(|e| not_backup(e.to_string()))?;
    if keys != 2 {
        return Err(not_backup("it has no server secrets".into()));
    }
    Ok(())
}

/// Refuses while any other connection has the database open. Leaving WAL
/// mode needs the only connection; a running server holds several.
fn ensure_not_in_use(db: &Path) -> Result<(), ServerError> {
    let in_use = || {
        ServerError::Conflict(format!(
            "the database {} is in use; stop the server before restoring",
            db.display()
        ))
    };
    let conn = Connection::open(db)?;
    conn.busy_timeout(std::time::Duration::ZERO)?;
    let mode: String = conn
        .query_row("PRAGMA journal_mode = DELETE", [], |r| r.get(0))
        .map_err(|e| match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
                in_use()
            }
            _ => e.into(),
        })?;
    if !mode.eq_ignore_ascii_case("delete") {
        return Err(in_use());
    }
    Ok(())
}

/// Copies the backup to `tmp` and gives the copy a new epoch.
fn prepare_copy(from: &Path, tmp: &Path) -> Result<String, ServerError> {
    std::fs::copy(from, tmp)?;
    let conn = Connection::open(tmp)?;
    let epoch = sqlite::new_epoch(&conn)?;
    drop(conn);
    std::fs::File::open(tmp)?.sync_all()?;
    Ok(epoch)
}

/// Copies the media files `to` lacks (skipping upload temp files); returns
/// how many. Media never change once written, so a present name is a copy.
fn copy_media(from: &Path, to: &Path) -> Result<usize, ServerError> {
    if !from.is_dir() || same_path(from, to) {
        return Ok(0);
    }
    std::fs::create_dir_all(to)?;
    let mut copied = 0;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let name = entry.file_name();
        let hidden = name.to_string_lossy().starts_with('.');
        if hidden || !entry.file_type()?.is_file() || to.join(&name).exists() {
            continue;
        }
        let tmp = to.join(format!(".copy-{}", uuid::Uuid::new_v4()));
        std::fs::copy(entry.path(), &tmp)?;
        std::fs::rename(&tmp, to.join(&name))?;
        copied += 1;
    }
    Ok(copied)
}

/// Whether two existing paths name the same file or folder.
fn same_path(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// The media folder of the database at `db` (as `Database::open` places it).
fn media_of(db: &Path) -> PathBuf {
    parent(db).join("media")
}

fn parent(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// A hidden temp name beside `path`, unique per call.
fn sibling(path: &Path, what: &str) -> PathBuf {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    parent(path).join(format!(".{name}.{what}-{}", uuid::Uuid::new_v4()))
}

/// `<path>.<suffix>` beside `path`.
fn sibling_named(path: &Path, suffix: &str) -> PathBuf {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    parent(path).join(format!("{name}.{suffix}"))
}
