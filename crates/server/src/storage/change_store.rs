//! What the change log (table `changes`: every state change clients should
//! see, in the order they pull it) can store and query. Every write of
//! another aggregate that clients should see appends its row here in the
//! same transaction; who may see a row is decided from its scope columns by
//! `warmlead_core::visibility` (`changes::visible_sql` is that rule in SQL).
//!
//! One SQL implementation (`changes.rs`, `ChangeSql`) for both databases;
//! what differs is [`AppendOrder`]: PostgreSQL's transactions may commit
//! out of the order they took their seqs, so each company's appends are
//! ordered by a lock held until commit, and the commit notifies every
//! process's live streams; SQLite has one writer and needs neither. The
//! PostgreSQL tracking batch appends its rows through its own statement
//! (`track_pg.rs`), taking the same lock.

use warmlead_core::lead::RadarBody;
use warmlead_core::sync::ChangeBody;

use super::changes::{NewChange, RawPage, Scope};
use super::sql::Connection;
use super::Caller;
use crate::error::ServerError;

/// The change log's storage (see the module comment).
pub(crate) trait ChangeLog {
    /// Appends one row of the sync stream; its seq.
    fn append(
        &self,
        company_id: i64,
        scope: Scope,
        body: &ChangeBody,
        now: i64,
    ) -> Result<i64, ServerError>;

    /// Appends one row of the radar stream; its seq.
    fn append_radar(
        &self,
        company_id: i64,
        scope: Scope,
        body: &RadarBody,
        now: i64,
    ) -> Result<i64, ServerError>;

    /// Appends rows in their order, several per statement.
    fn append_many(&self, rows: &[NewChange], now: i64) -> Result<(), ServerError>;

    /// One page of `stream` after `after` that `caller` may see, oldest
    /// first (the wire form of `Vec<Change>` or `Vec<RadarChange>`, see
    /// `RawPage`).
    ///
    /// A reader can never see seq N+1 of a company before seq N has
    /// committed: on SQLite there is one writer connection, so transactions
    /// commit one at a time in seq order; on PostgreSQL appends to one
    /// company's log are ordered by a lock ([`AppendOrder`]). `upto` is the
    /// newest seq known to be on disk (`Database::durable_seq`): a SQLite
    /// tracking batch is visible once committed but durable only once its
    /// WAL is synced, and a device must never hold a cursor past a change a
    /// power cut could undo (the server would then give that seq to another
    /// change).
    fn page(
        &self,
        caller: &Caller,
        stream: &str,
        after: i64,
        upto: i64,
        limit: u32,
    ) -> Result<RawPage, ServerError>;

    /// The newest seq of `stream` in `(after, upto]` the caller may see
    /// (`after` when none).
    fn newest_visible(
        &self,
        caller: &Caller,
        stream: &str,
        after: i64,
        upto: i64,
    ) -> Result<i64, ServerError>;

    /// The newest lead at grade A or A+ in `(after, upto]` the caller may see.
    fn hot_lead(&self, caller: &Caller, after: i64, upto: i64) -> Result<Option<i64>, ServerError>;
}

/// What the backends do differently for the change log (see the module
/// comment).
pub(crate) trait AppendOrder {
    /// Before the transaction takes seqs for `company_id`: its appends
    /// commit in seq order, and its commit wakes every process's streams.
    fn before_append(conn: &Connection, company_id: i64) -> Result<(), ServerError>;
}

/// The change log of the transaction (or read) on `conn`.
pub(crate) fn change_log(conn: &Connection) -> Box<dyn ChangeLog + '_> {
    use super::sql::Dialect;
    match conn.dialect() {
        Dialect::Sqlite => Box::new(super::changes::ChangeSql::<super::sqlite::Sqlite>::new(
            conn,
        )),
        Dialect::Postgres => Box::new(super::changes::ChangeSql::<super::pg::Postgres>::new(conn)),
    }
}
