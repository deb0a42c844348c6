//! What the leads aggregate (`leads`, the visitors behind each,
//! `scoring_rules`) can store and query. The services are
//! `services::leads` (the contact form's capture, MAN flags, the hourly
//! cooling); who may do what and how a lead is scored, merged and graded
//! are `warmlead_core` (`lead::merge`, `scoring`, `visibility`).
//!
//! One person (E.164 phone) is one lead per company: a unique key, and a
//! second contact merges into the first (first referrer wins).
//!
//! A lead is read, judged and written back (score, grade, MAN, note): on
//! PostgreSQL two such transactions at once (a beacon batch, a rep setting
//! MAN, the hourly regrade, possibly in two processes) would each write
//! what it read before the other's commit, and one change would be lost.
//! So `locked` reads lock the lead's row, always in ascending id order when
//! there are several; SQLite's one writer already orders them. That lock,
//! and the per-company lock of the cooling job, are each backend's own part
//! ([`LeadLocks`]); the SQL is shared (`leads.rs`).

use std::collections::BTreeSet;

use warmlead_core::lead::{merge, Lead, ManFlags};
use warmlead_core::scoring::ScoringRules;

use super::shares::ResolvedShare;
use super::sql::Connection;
use crate::error::ServerError;

/// The leads aggregate's storage (see the module comment).
pub(crate) trait LeadStore {
    fn get(&self, id: i64) -> Result<Option<Lead>, ServerError>;

    /// The company's leads, by id.
    fn of_company(&self, company_id: i64) -> Result<Vec<Lead>, ServerError>;

    /// The company's scoring rules (the defaults when it set none).
    fn rules(&self, company_id: i64) -> Result<ScoringRules, ServerError>;

    /// Stores the company's rules and rescores its leads with them.
    fn set_rules(&self, company_id: i64, rules: &ScoringRules, now: i64)
        -> Result<(), ServerError>;

    /// The lead of this phone in the company, locked for the merge that
    /// follows (its note is appended to).
    fn by_phone_locked(
        &self,
        company_id: i64,
        phone: &str,
    ) -> Result<Option<merge::Existing>, ServerError>;

    /// A new lead from a contact on `share`; None when the number is
    /// already a lead of the company (the unique key refused it: another
    /// request captured it at the same moment).
    fn insert(
        &self,
        share: &ResolvedShare,
        name: &str,
        phone: &str,
        note: &str,
        now: i64,
    ) -> Result<Option<i64>, ServerError>;

    /// One more contact merged into the lead, with its new note.
    fn merge_contact(&self, id: i64, note: &str, now: i64) -> Result<(), ServerError>;

    /// The browser behind a contact counts toward the lead from now on.
    fn attach_visitor(&self, lead_id: i64, visitor_id: &str) -> Result<(), ServerError>;

    /// The lead, locked (see the module comment).
    fn locked(&self, id: i64) -> Result<Option<Lead>, ServerError>;

    /// Stores MAN flags (the caller has checked who may).
    fn set_man(&self, id: i64, man: ManFlags) -> Result<(), ServerError>;

    /// Recomputes the lead's score, grade and reasons from its signals
    /// (`scoring::evaluate`); writes and logs them when any changed (or
    /// when `force`). The lead and its grade before.
    fn rescore(
        &self,
        id: i64,
        now: i64,
        force: bool,
    ) -> Result<Option<(Lead, warmlead_core::lead::Grade)>, ServerError>;

    /// Rescores the leads of `(company, visitor)` whose signals changed.
    fn rescore_visitors(
        &self,
        visitors: &BTreeSet<(i64, String)>,
        now: i64,
    ) -> Result<(), ServerError>;

    /// Decay: regrades the company's leads whose stored grade is no longer
    /// true at `now` (`scoring::regrade`) and logs each. Only grade changes
    /// are written. How many changed. Every process runs the hourly job:
    /// one regrades a company at a time (its lock), the next finds nothing
    /// left to change.
    fn regrade_cooled(&self, company_id: i64, now: i64) -> Result<usize, ServerError>;
}

/// What the backends do differently for leads (see the module comment).
pub(crate) trait LeadLocks {
    /// Locks the lead's row until the transaction ends.
    fn lock_lead(conn: &Connection, id: i64) -> Result<(), ServerError>;
    /// Locks the company's cooling job until the transaction ends.
    fn lock_regrade(conn: &Connection, company_id: i64) -> Result<(), ServerError>;
}

/// The leads of the transaction (or read) on `conn`.
pub(crate) fn lead_store(conn: &Connection) -> Box<dyn LeadStore + '_> {
    use super::sql::Dialect;
    match conn.dialect() {
        Dialect::Sqlite => Box::new(super::leads::LeadSql::<super::sqlite::Sqlite>::new(conn)),
        Dialect::Postgres => Box::new(super::leads::LeadSql::<super::pg::Postgres>::new(conn)),
    }
}
