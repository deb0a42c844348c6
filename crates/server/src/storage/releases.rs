//! Desktop app releases (table `app_releases`): what `release add` published
//! and the update endpoint offers. Kept per server, not per company: every
//! company on a server runs the same program, and the operator ships it.
//! Which release an app gets is decided in `warmlead_core::release`; this
//! only stores and reads.

use super::sql::{params, Connection, OptionalExtension};
use super::Database;
use crate::error::ServerError;

/// One published package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    pub version: String,
    /// `linux-x86_64`.
    pub target: String,
    /// The name it is published under (the operator's file's name).
    pub file: String,
    /// Its name in the media folder.
    pub stored_as: String,
    pub size: i64,
    /// The `.sig` file's text.
    pub signature: String,
    pub notes: String,
    pub published_at_ms: i64,
}

const COLUMNS: &str = "version, target, file, stored_as, size, signature, notes, published_at";

fn row(r: &super::sql::Row) -> super::sql::Result<Release> {
    Ok(Release {
        version: r.get(0)?,
        target: r.get(1)?,
        file: r.get(2)?,
        stored_as: r.get(3)?,
        size: r.get(4)?,
        signature: r.get(5)?,
        notes: r.get(6)?,
        published_at_ms: r.get(7)?,
    })
}

/// Records a release; `false` when that version was already published for
/// that target (published releases are never changed: apps may have
/// installed them).
fn insert(conn: &Connection, r: &Release) -> Result<bool, ServerError> {
    let n = conn.execute(
        &format!(
            "INSERT INTO app_releases ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT (version, target) DO NOTHING"
        ),
        params![
            r.version,
            r.target,
            r.file,
            r.stored_as,
            r.size,
            r.signature,
            r.notes,
            r.published_at_ms
        ],
    )?;
    Ok(n == 1)
}

/// The versions published for `target`.
fn versions(conn: &Connection, target: &str) -> Result<Vec<String>, ServerError> {
    let mut stmt = conn.prepare("SELECT version FROM app_releases WHERE target = ?1")?;
    let rows = stmt.query_map([target], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn get(conn: &Connection, version: &str, target: &str) -> Result<Option<Release>, ServerError> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM app_releases WHERE version = ?1 AND target = ?2"),
            params![version, target],
            row,
        )
        .optional()?)
}

fn all(conn: &Connection) -> Result<Vec<Release>, ServerError> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM app_releases ORDER BY published_at, target"
    ))?;
    let rows = stmt.query_map((), row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

impl Database {
    pub(crate) async fn insert_release(&self, r: Release) -> Result<bool, ServerError> {
        self.tx(move |c, _| insert(c, &r)).await
    }

    /// Every version published for `target` (in no order: versions are
    /// compared by semver, which SQL does not know).
    pub(crate) async fn release_versions(
        &self,
        target: String,
    ) -> Result<Vec<String>, ServerError> {
        self.read(move |c, _| versions(c, &target)).await
    }

    pub(crate) async fn release(
        &self,
        version: String,
        target: String,
    ) -> Result<Option<Release>, ServerError> {
        self.read(move |c, _| get(c, &version, &target)).await
    }

    pub(crate) async fn releases(&self) -> Result<Vec<Release>, ServerError> {
        self.read(|c, _| all(c)).await
    }
}
