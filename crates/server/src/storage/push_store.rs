//! What a device's push keeps of its own (tables `client_state` and
//! `mutation_results`): the last seq applied per device and each pushed
//! mutation's outcome, so a retried push replays instead of applying again;
//! and the shares a push records (`shares`). The order, the replays and the
//! permission checks are `services::push`'s; this only stores and queries.
//! One implementation for both databases (`push.rs`; the shares' SQL is in
//! `shares.rs`): nothing here differs between them.

use warmlead_core::sync::Outcome;

use warmlead_core::domain::Share;

use super::shares::ResolvedShare;
use crate::error::ServerError;

/// A device's push log. Client ids are device ids, which no two companies share.
pub(crate) trait PushLog {
    /// The device's last applied seq, read under a lock on its row (made at
    /// 0 if new), in one statement: one device's mutations apply one at a
    /// time, in any process, and a second push of the same mutation waits
    /// here until the first commits.
    fn lock_client(&self, client_id: &str) -> Result<i64, ServerError>;

    /// The device's last applied seq (0 for a device that never pushed).
    fn last_seq(&self, client_id: &str) -> Result<i64, ServerError>;

    /// The outcome stored for this device's mutation. Mutation ids are the
    /// devices' own: another device's outcome under the same id is not this one's.
    fn stored_outcome(
        &self,
        client_id: &str,
        mutation_id: &str,
    ) -> Result<Option<Outcome>, ServerError>;

    /// Sets the device's last applied seq to `last_seq`.
    fn set_last_seq(&self, client_id: &str, last_seq: i64) -> Result<(), ServerError>;

    /// Stores a mutation's outcome. The (device, mutation id) key is the
    /// table's: storing one twice fails rather than replacing it.
    fn store_outcome(
        &self,
        client_id: &str,
        mutation_id: &str,
        seq: i64,
        outcome: &Outcome,
    ) -> Result<(), ServerError>;
}

/// The shares devices push (`CreateShare`), and what a token resolves to.
pub(crate) trait ShareStore {
    /// What a share token resolves to, read from the database (no cache):
    /// its signature checked with the key of the device it names, its
    /// sharer, company and item; `None` for what must look like no share
    /// at all (see `shares::resolve`).
    fn resolve(&self, token: &str) -> Result<Option<ResolvedShare>, ServerError>;

    /// The share recorded under `token`, if any (tokens are signed per
    /// device, so a token names one company's share).
    fn share(&self, token: &str) -> Result<Option<Share>, ServerError>;

    /// Records the pushed share with the device's own creation time, and
    /// its change-log row. One conditional insert (a phone's page view may
    /// record it at the same moment): the same share already recorded
    /// takes the device's time; another share under the token is a
    /// conflict, never written over.
    fn record_pushed(&self, share: &ResolvedShare, created_at: i64) -> Result<Share, ServerError>;
}
