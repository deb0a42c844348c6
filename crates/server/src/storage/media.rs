//! The media room ([`MediaStore`], `media_store.rs`) in the SQL both
//! databases share; `B` is the backend's own part ([`SweepClaim`]).

use std::collections::BTreeMap;
use std::marker::PhantomData;

use crate::storage::sql::{params, Connection, OptionalExtension};

use super::media_store::{MediaStore, SweepClaim, SWEEP_BATCH};
use crate::error::ServerError;

pub(crate) struct MediaSql<'c, B> {
    conn: &'c Connection,
    backend: PhantomData<B>,
}

impl<'c, B> MediaSql<'c, B> {
    pub(crate) fn new(conn: &'c Connection) -> Self {
        MediaSql {
            conn,
            backend: PhantomData,
        }
    }

    /// Adds `delta` (negative: gives back) to a company's usage, never below 0.
    fn add_usage(&self, company_id: i64, delta: i64) -> Result<(), ServerError> {
        if delta == 0 {
            return Ok(());
        }
        self.conn.execute(
            "INSERT INTO media_usage (company_id, bytes) VALUES (?1, ?3)
             ON CONFLICT (company_id) DO UPDATE SET bytes =
                 CASE WHEN media_usage.bytes + ?2 < 0 THEN 0 ELSE media_usage.bytes + ?2 END",
            params![company_id, delta, delta.max(0)],
        )?;
        Ok(())
    }
}

fn stale() -> ServerError {
    ServerError::Busy("the upload paused too long and lost its room; upload it again".into())
}

/// A media row is in use while any item (any state, deleted ones too: the
/// row still points at it) or any company (logo, poster artwork) points at
/// it. The same test guards the DELETE itself, so a use added between
/// finding and deleting keeps the row (and on PostgreSQL, a use committed
/// meanwhile makes the foreign key refuse the delete: the sweep retries).
const UNUSED: &str = "NOT EXISTS (SELECT 1 FROM content_item_media u WHERE u.media_id = media.id)
     AND NOT EXISTS (SELECT 1 FROM content_items i
                     WHERE i.cover_media_id = media.id OR i.video_media_id = media.id)
     AND NOT EXISTS (SELECT 1 FROM companies c
                     WHERE c.poster_media_id = media.id OR c.logo_media_id = media.id)";

impl<B: SweepClaim> MediaStore for MediaSql<'_, B> {
    fn usage(&self, company_id: i64) -> Result<i64, ServerError> {
        Ok(self
            .conn
            .query_row(
                "SELECT bytes FROM media_usage WHERE company_id = ?1",
                [company_id],
                |r| r.get::<_, i64>(0),
            )
            .optional()?
            .unwrap_or(0))
    }

    fn reserve(
        &self,
        company_id: i64,
        reservation: Option<i64>,
        add: i64,
        quota: i64,
        now_ms: i64,
    ) -> Result<Option<i64>, ServerError> {
        if add > quota {
            return Ok(None);
        }
        let taken = self
            .conn
            .query_row(
                "INSERT INTO media_usage (company_id, bytes) VALUES (?1, ?2)
                 ON CONFLICT (company_id) DO UPDATE SET bytes = media_usage.bytes + excluded.bytes
                 WHERE media_usage.bytes + excluded.bytes <= ?3
                 RETURNING bytes",
                params![company_id, add, quota],
                |r| r.get::<_, i64>(0),
            )
            .optional()?;
        if taken.is_none() {
            return Ok(None);
        }
        match reservation {
            None => Ok(Some(self.conn.query_row(
                "INSERT INTO media_reservations (company_id, bytes, touched_at)
                 VALUES (?1, ?2, ?3) RETURNING id",
                params![company_id, add, now_ms],
                |r| r.get::<_, i64>(0),
            )?)),
            Some(id) => {
                let n = self.conn.execute(
                    "UPDATE media_reservations SET bytes = bytes + ?1, touched_at = ?2
                     WHERE id = ?3 AND company_id = ?4",
                    params![add, now_ms, id, company_id],
                )?;
                if n == 0 {
                    // The sweep took it as a crashed upload's and gave its room
                    // back: this upload has no room left to count on.
                    return Err(stale());
                }
                Ok(Some(id))
            }
        }
    }

    fn touch(&self, company_id: i64, reservation: i64, now_ms: i64) -> Result<(), ServerError> {
        let n = self.conn.execute(
            "UPDATE media_reservations SET touched_at = ?1 WHERE id = ?2 AND company_id = ?3",
            params![now_ms, reservation, company_id],
        )?;
        if n == 0 {
            return Err(stale());
        }
        Ok(())
    }

    fn settle(
        &self,
        company_id: i64,
        reservation: Option<i64>,
        stored: i64,
    ) -> Result<(), ServerError> {
        let reserved = match reservation {
            Some(id) => self.conn
                .query_row(
                    "DELETE FROM media_reservations WHERE id = ?1 AND company_id = ?2 RETURNING bytes",
                    params![id, company_id],
                    |r| r.get::<_, i64>(0),
                )
                .optional()?
                .unwrap_or(0),
            None => 0,
        };
        self.add_usage(company_id, stored - reserved)
    }

    fn claim_unused(&self, cutoff_ms: i64) -> Result<Vec<(String, i64)>, ServerError> {
        let sql = format!(
            "DELETE FROM media WHERE id IN (SELECT id FROM media WHERE created_at < ?1 AND {UNUSED}
                                            ORDER BY id LIMIT ?2 {})
             AND {UNUSED}
             RETURNING company_id, path, size",
            B::CLAIM
        );
        let rows: Vec<(i64, String, i64)> = self
            .conn
            .prepare(&sql)?
            .query_map(params![cutoff_ms, SWEEP_BATCH], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?
            .collect::<Result<_, _>>()?;
        let mut freed: BTreeMap<i64, i64> = BTreeMap::new();
        for (company, _, size) in &rows {
            *freed.entry(*company).or_default() += size;
        }
        for (company, bytes) in freed {
            self.add_usage(company, -bytes)?;
        }
        Ok(rows
            .into_iter()
            .map(|(_, path, size)| (path, size))
            .collect())
    }

    fn drop_stale_reservations(&self, cutoff_ms: i64) -> Result<usize, ServerError> {
        let rows: Vec<(i64, i64)> = self
            .conn
            .prepare(
                "DELETE FROM media_reservations WHERE touched_at < ?1 RETURNING company_id, bytes",
            )?
            .query_map([cutoff_ms], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        for (company, bytes) in &rows {
            self.add_usage(*company, -bytes)?;
        }
        Ok(rows.len())
    }
}
