//! What the SMS queue aggregate (`sms_messages`: the queue and the history
//! the rules read; `sms_optouts`) can store and query: the one interface
//! the SMS services (`crate::services::sms`: invitations, codes, the runner, the
//! provider hooks) work through. What may be sent is decided by
//! `warmlead_sms::decide`, not here.
//!
//! One implementation of the SQL both databases share (`sms.rs`); what must
//! differ is the backend's own [`RecipientLock`]. Every change of a message
//! a rep sees appends its `ChangeBody::SmsRecord` in the same transaction.
//! Each state change is one conditional statement, so two processes cannot
//! both claim a message, fail it twice, or move a report backwards.

use warmlead_core::invite::SmsRecord;
use warmlead_core::phone::Phone;
use warmlead_sms::{DeliveryStatus, History, MessageKind, ProviderReceipt};

use super::sql::Connection;
use crate::error::ServerError;

/// Longest error text kept from a provider.
pub(crate) const MAX_ERROR_CHARS: usize = 500;

/// Why a rep's queued invitations never went out.
pub(crate) const CANCELLED_SWITCHED_OFF: &str =
    "cancelled: the rep was switched off before it was sent";

/// A message about to be queued.
pub(crate) struct NewMessage<'a> {
    pub company_id: i64,
    pub rep_id: i64,
    pub invitation_id: Option<i64>,
    pub name: &'a str,
    pub phone: &'a Phone,
    pub text: &'a str,
    pub template_params: &'a [(String, String)],
    /// Now for a send, the end of quiet hours for a queued one.
    pub send_after: i64,
}

/// A one-time code's message as stored (its code masked).
pub(crate) struct NewCode<'a> {
    pub company_id: i64,
    /// The rep (or manager) the message is recorded under.
    pub rep_id: i64,
    /// None for an activation code a manager sends to a new rep.
    pub invitation_id: Option<i64>,
    pub name: &'a str,
    pub phone: &'a str,
    pub masked_text: &'a str,
}

/// A queued message the runner may hand to the provider.
#[derive(Debug, Clone)]
pub(crate) struct Due {
    pub id: i64,
    pub rep_id: i64,
    pub name: String,
    pub phone: String,
    pub text: String,
    pub template_params: Vec<(String, String)>,
    pub kind: MessageKind,
}

/// The SMS queue's storage (see the module comment).
pub(crate) trait SmsQueue {
    /// Queues one invitation SMS and tells the rep's devices.
    fn queue(&self, m: &NewMessage<'_>, now: i64) -> Result<SmsRecord, ServerError>;

    /// A code's message row, already "being sent": the runner never picks it
    /// up, and a crash mid-send leaves it failed, not resent. Codes do not go
    /// into the rep's change stream: they are the visitor's, not the rep's.
    fn insert_code(&self, req: NewCode<'_>, now: i64) -> Result<i64, ServerError>;

    /// What the provider answered for a code.
    fn code_sent(&self, id: i64, receipt: &ProviderReceipt, now: i64) -> Result<(), ServerError>;
    fn code_failed(
        &self,
        id: i64,
        provider: &str,
        error: &str,
        now: i64,
    ) -> Result<(), ServerError>;

    /// What the rules need to know about a number: its opt-out and the
    /// messages it got since `since` (queued ones count: a second request
    /// while the first waits for morning is a duplicate; failed ones never
    /// reached the phone and do not). `except` leaves out the message being
    /// re-checked. The number stays locked for the deciding transaction.
    fn history(&self, phone: &str, except: Option<i64>, since: i64)
        -> Result<History, ServerError>;

    /// Records an opt-out; it is never removed. True when it is new.
    fn opt_out(&self, phone: &str, source: &str, now: i64) -> Result<bool, ServerError>;

    /// Queued messages due at `now`, oldest first.
    fn due(&self, now: i64, limit: u32) -> Result<Vec<Due>, ServerError>;

    /// Marks the message as being handed to the provider. False when another
    /// pass (or process) got it first.
    fn claim(&self, id: i64, now: i64) -> Result<bool, ServerError>;

    /// Quiet hours again at the re-check: wait until `until`.
    fn requeue(&self, id: i64, until: i64, now: i64) -> Result<SmsRecord, ServerError>;

    /// The provider accepted it. Accepted counts as sent at least: it has left us.
    fn mark_sent(
        &self,
        id: i64,
        receipt: &ProviderReceipt,
        now: i64,
    ) -> Result<SmsRecord, ServerError>;

    /// It will not go out (provider error, or the rules refused it at the re-check).
    fn mark_failed(
        &self,
        id: i64,
        provider: Option<&str>,
        error: &str,
        now: i64,
    ) -> Result<SmsRecord, ServerError>;

    /// Cancels the rep's messages still waiting to go out (quiet hours): a
    /// message the runner already claimed goes on, one it has not can never
    /// be claimed. They end as failed ([`CANCELLED_SWITCHED_OFF`]).
    fn cancel_queued_of(
        &self,
        company_id: i64,
        rep_id: i64,
        now: i64,
    ) -> Result<usize, ServerError>;

    /// Messages whose send was interrupted (claimed before `claimed_before`
    /// and never recorded): we cannot know whether the provider took them,
    /// so they are failed rather than sent a second time.
    fn fail_interrupted(&self, claimed_before: i64, now: i64) -> Result<usize, ServerError>;

    /// Applies a delivery report: a report only moves a message forward, and
    /// never out of delivered or failed. `None` when no message has this
    /// provider id, or the report is stale.
    fn apply_status(
        &self,
        provider: &str,
        provider_message_id: &str,
        status: DeliveryStatus,
        error: Option<&str>,
        now: i64,
    ) -> Result<Option<SmsRecord>, ServerError>;

    /// A message as the rep sees it.
    #[cfg(test)]
    fn get(&self, id: i64) -> Result<Option<SmsRecord>, ServerError>;
}

/// What the backends do differently for the queue: two requests for one
/// number (a double click, two processes) must not both read an empty
/// history. SQLite's one writer runs those decisions one at a time already;
/// PostgreSQL takes the number's lock until the deciding transaction ends.
pub(crate) trait RecipientLock {
    fn lock_recipient(conn: &Connection, phone: &str) -> Result<(), ServerError>;
}

/// The SMS queue of the transaction (or read) on `conn`.
pub(crate) fn sms_queue(conn: &Connection) -> Box<dyn SmsQueue + '_> {
    match conn.dialect() {
        super::sql::Dialect::Sqlite => {
            Box::new(super::sms::SmsSql::<super::sqlite::Sqlite>::new(conn))
        }
        super::sql::Dialect::Postgres => {
            Box::new(super::sms::SmsSql::<super::pg::Postgres>::new(conn))
        }
    }
}
