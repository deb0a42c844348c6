//! What the invitations aggregate (`invitations`, the one-time codes of the
//! invitation pages in `invitation_otps`) can store and query: the one
//! interface `crate::services::invitations` (and the SMS invitations and
//! codes of `crate::services::sms`) work through. Who may invite, revoke or
//! import, and whether an offline token verifies, is decided there and in
//! `warmlead_core::invite`, not here.
//!
//! One implementation of the SQL both databases share (`invitations.rs`);
//! what must differ is the backend's own [`AcceptLock`]. The URL token is
//! only stored as its SHA-256; the URL itself rests in the change-log row
//! that first carried the invitation ([`InvitationStore::record_url`]).
//! Each state change with a rule (single use, the use limit, one open code
//! per phone, the code's attempt limit) is one conditional statement.

use std::collections::HashSet;

use warmlead_core::invite::{Invitation, InviteChannel};
use warmlead_core::phone::Phone;

use super::sql::Connection;
use crate::error::ServerError;

pub(crate) use warmlead_core::invite::offline::{SHORT_CODE_ALPHABET, SHORT_CODE_LEN};

/// How long a one-time code of the invitation pages is valid.
pub(crate) const OTP_TTL_MS: i64 = 10 * 60 * 1000;
/// Tries at one code; then a new code must be asked for.
pub(crate) const OTP_MAX_ATTEMPTS: i64 = 5;

/// An invitation the server makes (its terms already decided).
pub(crate) struct NewRow<'a> {
    pub company_id: i64,
    pub rep_id: i64,
    pub channel: InviteChannel,
    pub max_uses: Option<i64>,
    pub expires_at_ms: i64,
    /// The URL token, stored only as its hash.
    pub token: &'a str,
    pub created_at_ms: i64,
    /// SMS invitations: who it was sent to (the name already checked).
    pub recipient_name: Option<&'a str>,
    pub recipient_phone: Option<&'a str>,
}

/// An invitation a device made offline, its token verified.
pub(crate) struct OfflineRow<'a> {
    pub company_id: i64,
    pub rep_id: i64,
    pub channel: InviteChannel,
    pub max_uses: Option<i64>,
    pub expires_at_ms: i64,
    pub token: &'a str,
    pub created_at_ms: i64,
    pub device_id: i64,
    pub invite_no: i64,
    /// The short code derived from the token (what the device shows).
    pub short_code: &'a str,
}

/// What checking a one-time code found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OtpCheck {
    Ok,
    /// None sent to this phone, or it expired or was used.
    Missing,
    Wrong,
    /// Too many wrong tries: a new code must be asked for.
    Locked,
}

/// The invitations' storage (see the module comment).
pub(crate) trait InvitationStore {
    /// Inserts a server-made invitation, pending with no uses, under a
    /// fresh random short code; answers its id and code. The unique index
    /// on `short_code` decides between two writers drawing the same code at
    /// once; a taken code is drawn again.
    fn insert(&self, row: &NewRow<'_>) -> Result<(i64, String), ServerError>;

    /// Inserts an offline invitation unless its token is recorded already
    /// (`ON CONFLICT (token_hash) DO NOTHING`: a phone's first open and the
    /// app's push, in any order or at once, make one row). Answers its id
    /// and short code when this call recorded it, `None` when it was known.
    /// When the derived short code is taken (one chance in hundreds of
    /// millions) it gets one nobody can type, since it must be recorded.
    fn insert_offline(&self, row: &OfflineRow<'_>) -> Result<Option<(i64, String)>, ServerError>;

    /// Appends the invitation, URL included, for the rep's devices and
    /// managers, and remembers that change as where its URL rests.
    fn record_url(&self, inv: &Invitation, now: i64) -> Result<(), ServerError>;

    /// Appends the invitation's new state for the rep's devices and managers.
    fn changed(&self, inv: &Invitation, now: i64) -> Result<(), ServerError>;

    /// Sets when the invitation was made (the device's time, pushed after a
    /// phone's open recorded it first), within its company.
    fn set_created_at(
        &self,
        company_id: i64,
        id: i64,
        created_at_ms: i64,
    ) -> Result<(), ServerError>;

    /// An invitation by id with its URL, as stored (expiry is the caller's:
    /// `invite::accept::closed_reason`). One its device made offline reads
    /// as revoked once that device is revoked or its user switched off.
    fn get(&self, id: i64) -> Result<Option<Invitation>, ServerError>;

    /// The invitation whose URL token this is.
    fn find_by_token(&self, token: &str) -> Result<Option<Invitation>, ServerError>;

    /// The pending (or closed by its rep's switch-off), unexpired invitation
    /// with this short code (any case, spaces and dashes ignored).
    fn find_by_short_code(&self, code: &str, now: i64) -> Result<Option<Invitation>, ServerError>;

    /// Holds the invitation's row until the accepting transaction ends, so
    /// two accepts of one multi-use invitation count its uses one after the
    /// other (and a revoke waits for the accept).
    fn lock_for_accept(&self, id: i64) -> Result<(), ServerError>;

    /// Counts one use: `uses` from `from_uses` to `to_uses` and the status
    /// the accept decided, only while pending, under its limit and still at
    /// `from_uses`. False when the row changed meanwhile.
    fn count_use(
        &self,
        id: i64,
        from_uses: i64,
        to_uses: i64,
        status: warmlead_core::invite::InvitationStatus,
        now: i64,
    ) -> Result<bool, ServerError>;

    /// Revokes the invitation if it is pending, decided in the update
    /// itself: one accepted meanwhile stays accepted. True when revoked now.
    fn revoke(&self, id: i64, now: i64) -> Result<bool, ServerError>;

    /// Revokes every pending invitation of the rep, remembering the
    /// switch-off's time so switching the rep on may reopen exactly these;
    /// appends each one's new state. Answers how many.
    fn close_for_switch_off(
        &self,
        company_id: i64,
        rep_id: i64,
        now: i64,
    ) -> Result<usize, ServerError>;

    /// Reopens the rep's invitations a switch-off closed (those revoked by
    /// hand stay revoked); appends each one's new state.
    fn reopen_after_switch_on(
        &self,
        company_id: i64,
        rep_id: i64,
        now: i64,
    ) -> Result<usize, ServerError>;

    /// Forgets which invitations a switch-off closed: they stay revoked.
    fn keep_closed_after_switch_on(&self, company_id: i64, rep_id: i64) -> Result<(), ServerError>;

    /// Stores a fresh one-time code for (invitation, phone) and returns it
    /// in clear to be sent; earlier open codes are retired. One code is open
    /// at a time (a unique index): of two asked for at once, the later
    /// insert waits for the earlier, then retires it and stores its own.
    fn new_otp(
        &self,
        master: &[u8],
        invitation_id: i64,
        phone: &Phone,
        now: i64,
    ) -> Result<String, ServerError>;

    /// Checks (and on success spends) the newest open code. Counting the
    /// try, the [`OTP_MAX_ATTEMPTS`] limit and spending are one conditional
    /// statement: of guesses at once each waits for the one before, none
    /// passes once the limit is reached, nor spends a spent code. Every try
    /// counts: the caller commits even when nothing else is written.
    fn check_otp(
        &self,
        master: &[u8],
        invitation_id: i64,
        phone: &Phone,
        code: &str,
        now: i64,
    ) -> Result<OtpCheck, ServerError>;

    /// The newest invitation of the company (of `rep_id` only when given)
    /// someone accepted in `(after, upto]` of the sync stream.
    fn accepted_since(
        &self,
        company_id: i64,
        rep_id: Option<i64>,
        after: i64,
        upto: i64,
    ) -> Result<Option<i64>, ServerError>;

    /// The company's numbers among `phones` (E.164): a partner imported
    /// must bring a number the company does not have.
    fn taken_phones(
        &self,
        company_id: i64,
        phones: &[String],
    ) -> Result<HashSet<String>, ServerError>;
}

/// What the backends do differently for accepts: two accepts of one
/// multi-use invitation in two processes (PostgreSQL) must not both count
/// from the same uses, so the row is locked until the accept commits;
/// SQLite's single writer already runs them one after the other.
pub(crate) trait AcceptLock {
    fn lock_for_accept(conn: &Connection, id: i64) -> Result<(), ServerError>;
}

/// The invitations of the transaction (or read) on `conn`.
pub(crate) fn invitation_store(conn: &Connection) -> Box<dyn InvitationStore + '_> {
    use super::sql::Dialect;
    match conn.dialect() {
        Dialect::Sqlite => {
            Box::new(super::invitations::InvitationSql::<super::sqlite::Sqlite>::new(conn))
        }
        Dialect::Postgres => {
            Box::new(super::invitations::InvitationSql::<super::pg::Postgres>::new(conn))
        }
    }
}
