//! What the accounts aggregate (`companies`, `users`, `devices`,
//! `activation_codes`, and the activation attempts' windows in
//! `rate_limits`) can store and query: the one interface
//! `crate::services::accounts` works through. Who may add, switch off or
//! revoke whom, what a name or a code must be, and whether a token or a
//! code lets a device in are decided there (with `warmlead_core::team`,
//! `domain` and `activation`), not here.
//!
//! One implementation of the SQL both databases share (`accounts.rs`); what
//! must differ is the backend's own [`SharesNotice`]. Tokens and codes are
//! only stored as their SHA-256. Each rule with a race is one statement or a
//! constraint: a code is spent by `UPDATE ... WHERE used_at IS NULL
//! RETURNING`, one number per company and one open code per person are
//! unique indexes, an attempt is counted by one upsert.

use std::collections::HashMap;

use warmlead_core::activation::Window;
use warmlead_core::api::{DeviceInfo, OpenCode};
use warmlead_core::company::CleanProfile;
use warmlead_core::domain::{Company, User};

use super::sql::Connection;
use crate::error::ServerError;

/// The authenticated device behind a request.
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    pub device_id: i64,
    pub user: User,
    pub company: Company,
    /// When the device last reached the server, as stored before this request.
    pub last_seen_ms: Option<i64>,
}

/// What activation hands back (the token in clear, once).
pub(crate) struct Activation {
    pub device_id: i64,
    pub token: String,
    pub user: User,
    pub company: Company,
}

/// A device found by its token's hash, with its user's switch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TokenDevice {
    pub device_id: i64,
    pub user_id: i64,
    pub revoked_at_ms: Option<i64>,
    /// When the device's user was switched off, if they are.
    pub off_since_ms: Option<i64>,
    pub last_seen_ms: Option<i64>,
}

/// A device's user, with when the device was revoked and when the user was
/// switched off (for verifying share tokens: `team::share_standing`).
pub(crate) struct DeviceOwner {
    pub user: User,
    pub revoked_at_ms: Option<i64>,
    pub off_since_ms: Option<i64>,
}

/// An activation code as stored, found by its hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CodeState {
    pub expires_at_ms: i64,
    pub used_at_ms: Option<i64>,
    pub revoked_at_ms: Option<i64>,
}

/// A company with how many users of each role (managers, reps, partners)
/// and when it was made.
pub(crate) struct CompanyCounts {
    pub company: Company,
    pub per_role: [i64; 3],
    pub created_at_ms: i64,
}

/// What the team screen is made of, per user id of one company.
#[derive(Default)]
pub(crate) struct TeamRows {
    /// The company's people, by id.
    pub users: Vec<User>,
    /// Since when each switched-off person is off.
    pub off_since: HashMap<i64, i64>,
    /// Every device of the company's people (with its user's id), by id.
    pub devices: Vec<(i64, DeviceInfo)>,
    /// Every open, unexpired activation code (with its user's id), by id.
    pub open_codes: Vec<(i64, OpenCode)>,
    /// Partners bound to each rep.
    pub partners: HashMap<i64, i64>,
    /// Leads of each rep and of each partner.
    pub leads: HashMap<i64, i64>,
    /// Shares since the window's start, of each sharer (a partner's, and
    /// a rep's own).
    pub shares: HashMap<i64, i64>,
}

/// The accounts' storage (see the module comment).
pub(crate) trait AccountStore {
    /// A new company named `name` (already checked), and its first change.
    fn insert_company(&self, name: &str, now: i64) -> Result<Company, ServerError>;

    fn company(&self, id: i64) -> Result<Option<Company>, ServerError>;

    /// The oldest company of this exact name.
    fn company_named(&self, name: &str) -> Result<Option<Company>, ServerError>;

    /// The ids of the first `limit` companies, oldest first.
    fn company_ids(&self, limit: i64) -> Result<Vec<i64>, ServerError>;

    /// Every company with its users per role, oldest first.
    fn company_counts(&self) -> Result<Vec<CompanyCounts>, ServerError>;

    /// The content type and size of media `id` when it is the company's
    /// (another company's media is not found).
    fn company_media(&self, company_id: i64, id: i64)
        -> Result<Option<(String, i64)>, ServerError>;

    fn set_poster_media(&self, company_id: i64, media_id: Option<i64>) -> Result<(), ServerError>;

    fn set_poster_slogan(&self, company_id: i64, slogan: Option<&str>) -> Result<(), ServerError>;

    /// Stores a cleaned profile (name, logo, slogan, commission promise).
    fn set_profile(&self, company_id: i64, profile: &CleanProfile) -> Result<(), ServerError>;

    /// Appends the company as it is now to its change log (every device
    /// learns it); the company.
    fn announce_company(&self, company_id: i64, now: i64) -> Result<Company, ServerError>;

    /// Tells every process that the company's share links may resolve or
    /// credit differently (their cached shares are dropped at commit).
    fn shares_changed(&self, company_id: i64) -> Result<(), ServerError>;

    fn user(&self, id: i64) -> Result<Option<User>, ServerError>;

    /// User `id` when they belong to the company.
    fn user_in(&self, company_id: i64, id: i64) -> Result<Option<User>, ServerError>;

    /// The company's user with this E.164 phone.
    fn user_by_phone(&self, company_id: i64, phone: &str) -> Result<Option<User>, ServerError>;

    /// The company's users, by id.
    fn users_of(&self, company_id: i64) -> Result<Vec<User>, ServerError>;

    /// Users of any company with this E.164 phone, by id (the operator's
    /// command line finds people across companies).
    fn users_with_phone(&self, phone: &str) -> Result<Vec<User>, ServerError>;

    /// Users of any company with exactly this name, by id.
    fn users_named(&self, name: &str) -> Result<Vec<User>, ServerError>;

    /// Inserts a checked user (`id` ignored) and answers it with its id;
    /// `None` when the company already has the number (its unique index
    /// refused the insert, which is undone; the transaction goes on).
    fn insert_user(&self, user: &User) -> Result<Option<User>, ServerError>;

    /// Renames the company's user (the name already checked).
    fn rename_user(&self, company_id: i64, id: i64, name: &str) -> Result<(), ServerError>;

    /// Appends the user's change for whoever sees them.
    fn announce_user(&self, user: &User, now: i64) -> Result<(), ServerError>;

    /// Since when the user is switched off (`None`: on, or no such user).
    fn off_since(&self, id: i64) -> Result<Option<i64>, ServerError>;

    /// Switches the company's user off; switching off again keeps the first time.
    fn switch_off(&self, company_id: i64, id: i64, now: i64) -> Result<(), ServerError>;

    fn switch_on(&self, company_id: i64, id: i64) -> Result<(), ServerError>;

    /// A new device of the user, with its token's hash; its id.
    fn insert_device(
        &self,
        user_id: i64,
        name: &str,
        token_hash: &[u8],
        now: i64,
    ) -> Result<i64, ServerError>;

    fn device_by_token(&self, token_hash: &[u8]) -> Result<Option<TokenDevice>, ServerError>;

    fn device_owner(&self, device_id: i64) -> Result<Option<DeviceOwner>, ServerError>;

    /// Whether the device may still act: not revoked, its user switched on.
    fn device_is_live(&self, device_id: i64) -> Result<bool, ServerError>;

    /// The owner's id of device `id` when it belongs to the company.
    fn device_user_in(&self, company_id: i64, id: i64) -> Result<Option<i64>, ServerError>;

    /// Revokes the device; revoking again keeps the first time.
    fn revoke_device(&self, id: i64, now: i64) -> Result<(), ServerError>;

    /// Stores when the device last reached the server.
    fn touch_device(&self, id: i64, now: i64) -> Result<(), ServerError>;

    /// Retires the user's open codes and stores a new one (its hash), in one
    /// step that is undone whole when it fails; its id. `None` when a unique
    /// index refused the insert: another code was issued for the person at
    /// the same moment (PostgreSQL waited for it), or the same hash twice.
    /// Drawing again then retires that one too.
    fn insert_code(
        &self,
        user_id: i64,
        code_hash: &[u8],
        now: i64,
        expires_at_ms: i64,
    ) -> Result<Option<i64>, ServerError>;

    fn code_state(&self, code_hash: &[u8]) -> Result<Option<CodeState>, ServerError>;

    /// Spends the code if it is open and unexpired at `now`, in one
    /// statement: of two spending it at once exactly one gets its user's id.
    fn spend_code(&self, code_hash: &[u8], now: i64) -> Result<Option<i64>, ServerError>;

    /// Whether code `id` (open or not) is the user's.
    fn has_code(&self, user_id: i64, id: i64) -> Result<bool, ServerError>;

    /// Revokes the user's code `id` if it is still open.
    fn revoke_code(&self, user_id: i64, id: i64, now: i64) -> Result<(), ServerError>;

    /// Whether this is an open, unexpired code of the user.
    fn is_open_code_of(
        &self,
        user_id: i64,
        code_hash: &[u8],
        now: i64,
    ) -> Result<bool, ServerError>;

    /// The attempt window under `key`, as stored.
    fn attempt_window(&self, key: &str) -> Result<Option<Window>, ServerError>;

    /// Counts one attempt under `key` in a fixed window of `window_ms` (one
    /// upsert): the window with it.
    fn count_attempt(&self, key: &str, now: i64, window_ms: i64) -> Result<Window, ServerError>;

    /// Takes back one attempt counted in the window that began at `start_ms`
    /// (nothing if that window has ended since).
    fn uncount_attempt(&self, key: &str, start_ms: i64) -> Result<(), ServerError>;

    /// The rows of the company's team screen; shares counted from `since`,
    /// codes open at `now`.
    fn team_rows(&self, company_id: i64, since: i64, now: i64) -> Result<TeamRows, ServerError>;
}

/// What the backends do differently for accounts (and content): telling
/// other processes that cached shares are stale (PostgreSQL's NOTIFY,
/// delivered at commit; SQLite's server is one process, which drops its own
/// cache).
pub(crate) trait SharesNotice {
    fn shares_changed(conn: &Connection, company_id: i64) -> Result<(), ServerError>;
}

/// The accounts of the transaction (or read) on `conn`.
pub(crate) fn account_store(conn: &Connection) -> Box<dyn AccountStore + '_> {
    use super::sql::Dialect;
    match conn.dialect() {
        Dialect::Sqlite => Box::new(super::accounts::AccountSql::<super::sqlite::Sqlite>::new(
            conn,
        )),
        Dialect::Postgres => Box::new(super::accounts::AccountSql::<super::pg::Postgres>::new(
            conn,
        )),
    }
}
