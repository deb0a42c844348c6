//! What the media-room part of the content-and-media aggregate can store
//! and query: each company's room for media (its quota) and the sweep of
//! what nothing uses. The services are `services::media`.
//!
//! `media_usage` holds, per company, the bytes of its media plus the room
//! its uploads under way have reserved (`media_reservations`). An upload
//! takes room as its bytes arrive with one conditional upsert on that
//! counter, so two uploads at once (in one process or several on one
//! PostgreSQL) can never both pass the quota; storing the media row turns
//! its reservation into usage in the same transaction, and the sweep gives
//! back what it deletes in the transaction that deletes it.
//!
//! One implementation of the SQL both databases share (`media.rs`); the
//! backend's own part is how sweeps in several processes share the rows
//! ([`SweepClaim`]).

use super::sql::Connection;
use crate::error::ServerError;

/// Bytes in a MiB (the quota setting is in MiB).
pub(crate) const MIB: i64 = 1024 * 1024;

/// Media deleted per sweep transaction (each is looked up against every use).
pub(crate) const SWEEP_BATCH: i64 = 200;

/// What one sweep removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    /// Media rows (and their files) that nothing used.
    pub media: usize,
    /// Their bytes, given back to their companies.
    pub bytes: i64,
    /// Reservations of uploads that crashed.
    pub reservations: usize,
    /// Temporary files of uploads that crashed.
    pub temp_files: usize,
}

/// The media room's storage (see the module comment).
pub(crate) trait MediaStore {
    /// A company's usage (media plus reserved room), in bytes.
    fn usage(&self, company_id: i64) -> Result<i64, ServerError>;

    /// Takes `add` more bytes of room for the upload `reservation` (a new
    /// one when None), if the company's usage stays within `quota`: one
    /// conditional statement. Answers the reservation's id, or None when
    /// the room is not there.
    fn reserve(
        &self,
        company_id: i64,
        reservation: Option<i64>,
        add: i64,
        quota: i64,
        now_ms: i64,
    ) -> Result<Option<i64>, ServerError>;

    /// Renews an upload's reservation, so the sweep does not take it for a
    /// crashed upload's.
    fn touch(&self, company_id: i64, reservation: i64, now_ms: i64) -> Result<(), ServerError>;

    /// Ends a reservation: its room becomes `stored` bytes of media (0: the
    /// upload was not kept). One conditional delete, so the sweep and this
    /// never both give the same room back.
    fn settle(
        &self,
        company_id: i64,
        reservation: Option<i64>,
        stored: i64,
    ) -> Result<(), ServerError>;

    /// Deletes up to [`SWEEP_BATCH`] unused media created before
    /// `cutoff_ms` and gives their room back; answers (path, size) of each,
    /// whose files the caller then removes.
    fn claim_unused(&self, cutoff_ms: i64) -> Result<Vec<(String, i64)>, ServerError>;

    /// Deletes reservations not renewed since `cutoff_ms` (their upload
    /// crashed) and gives their room back.
    fn drop_stale_reservations(&self, cutoff_ms: i64) -> Result<usize, ServerError>;
}

/// How sweeps running at once share the unused rows: on PostgreSQL,
/// sweeps in several processes take disjoint rows instead of waiting on
/// (or deadlocking over) each other's; SQLite has one writer.
pub(crate) trait SweepClaim {
    /// Appended to the sweep's row selection.
    const CLAIM: &'static str;
}

/// The media room of the transaction (or read) on `conn`.
pub(crate) fn media_store(conn: &Connection) -> Box<dyn MediaStore + '_> {
    use super::sql::Dialect;
    match conn.dialect() {
        Dialect::Sqlite => Box::new(super::media::MediaSql::<super::sqlite::Sqlite>::new(conn)),
        Dialect::Postgres => Box::new(super::media::MediaSql::<super::pg::Postgres>::new(conn)),
    }
}
