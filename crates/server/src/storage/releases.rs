//! The app-release aggregate ([`ReleaseStore`], `release_store.rs`) in the
//! SQL both databases share.

use super::release_store::{Release, ReleaseStore};
use super::sql::{params, Connection, OptionalExtension};
use crate::error::ServerError;

pub(crate) struct ReleaseSql<'c> {
    pub(crate) conn: &'c Connection,
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

impl ReleaseStore for ReleaseSql<'_> {
    fn insert(&self, r: &Release) -> Result<bool, ServerError> {
        let n = self.conn.execute(
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

    fn versions(&self, target: &str) -> Result<Vec<String>, ServerError> {
        let mut stmt = self
            .conn
            .prepare("SELECT version FROM app_releases WHERE target = ?1")?;
        let rows = stmt.query_map([target], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn get(&self, version: &str, target: &str) -> Result<Option<Release>, ServerError> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM app_releases WHERE version = ?1 AND target = ?2"),
                params![version, target],
                row,
            )
            .optional()?)
    }

    fn all(&self) -> Result<Vec<Release>, ServerError> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {COLUMNS} FROM app_releases ORDER BY published_at, target"
        ))?;
        let rows = stmt.query_map((), row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
