//! Applying pushed mutations: once each, in seq order, per client.

use crate::storage::sql::{self, params, Connection, OptionalExtension};
use warmlead_core::sync::{push, Mutation, MutationBody, Outcome, SCHEMA_VERSION};
use warmlead_core::token::{derive_share_key, UnverifiedToken};
use warmlead_core::ErrorCode;

use super::shares::{get_share, upsert_share, ResolvedShare};
use super::{changes, now_ms, Caller, Database, Secrets, Stores};
use crate::error::ServerError;
use crate::services::accounts::rename_self;
use crate::services::content::{delete_item_as, save_item, set_item_status, visible_item};
use warmlead_core::domain::ContentStatus;

/// What happened to one pushed mutation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PushStep {
    /// Applied or rejected just now.
    Done(Outcome),
    /// Pushed before: the stored outcome, nothing applied again.
    Replayed(Outcome),
    /// A seq is missing before this one; nothing was applied.
    Gap { expected: i64 },
}

/// The device's last applied seq, read under a lock on its row (made if
/// new): one device's mutations apply one at a time, in any process. The
/// same push in flight twice (an app that retried while its first request
/// still ran) then finds the first's outcome stored once it commits,
/// instead of applying again and failing on the stored outcome's key.
fn lock_client(tx: &Connection, client_id: &str) -> Result<i64, ServerError> {
    Ok(tx.query_row(
        "INSERT INTO client_state (client_id, last_seq) VALUES (?1, 0)
         ON CONFLICT (client_id) DO UPDATE SET last_seq = client_state.last_seq
         RETURNING last_seq",
        [client_id],
        |r| r.get(0),
    )?)
}

fn last_seq(conn: &Connection, client_id: &str) -> Result<i64, ServerError> {
    Ok(conn
        .query_row(
            "SELECT last_seq FROM client_state WHERE client_id = ?1",
            [client_id],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or(0))
}

/// The outcome stored for this device's mutation. Mutation ids are the
/// devices' own: another device's outcome under the same id is not this one's.
fn stored_outcome(
    conn: &Connection,
    client_id: &str,
    mutation_id: &str,
) -> Result<Option<Outcome>, ServerError> {
    let json: Option<String> = conn
        .query_row(
            "SELECT outcome FROM mutation_results WHERE client_id = ?1 AND mutation_id = ?2",
            params![client_id, mutation_id],
            |r| r.get(0),
        )
        .optional()?;
    Ok(json.map(|j| serde_json::from_str(&j)).transpose()?)
}

/// One mutation in one transaction, together with `last_seq` and its outcome.
///
/// The mutation id, not the seq, says whether a mutation was seen before
/// (ids are scoped by device: another device's id is a new mutation here). A
/// new mutation whose seq the server already has comes from a desktop cache
/// restored from a backup or copied to another computer (it numbers its
/// outbox again from where the copy stood): it is applied like any other,
/// and `last_seq` stays where it is, so nothing that user did is dropped.
pub(super) fn apply_one(
    tx: &Connection,
    secrets: &Secrets,
    caller: &Caller,
    m: &Mutation,
    public_url: &str,
) -> Result<PushStep, ServerError> {
    let client_id = caller.device_id.to_string();
    let last_seq = lock_client(tx, &client_id)?;
    // Read after the lock: under READ COMMITTED this sees what a racing
    // push of this device committed while this one waited.
    let stored = stored_outcome(tx, &client_id, &m.mutation_id)?;
    let last_seq = match push::step(stored, last_seq, m.seq) {
        push::Step::Replay(outcome) => return Ok(PushStep::Replayed(outcome)),
        push::Step::Gap { expected } => return Ok(PushStep::Gap { expected }),
        push::Step::Apply { last_seq } => last_seq,
    };
    let outcome = apply_or_reject(tx, secrets, caller, m, public_url)?;
    tx.execute(
        "INSERT INTO client_state (client_id, last_seq) VALUES (?1, ?2)
         ON CONFLICT (client_id) DO UPDATE SET last_seq = excluded.last_seq",
        params![client_id, last_seq],
    )?;
    tx.execute(
        "INSERT INTO mutation_results (mutation_id, client_id, seq, outcome) VALUES (?1, ?2, ?3, ?4)",
        params![m.mutation_id, client_id, m.seq, serde_json::to_string(&outcome)?],
    )?;
    Ok(PushStep::Done(outcome))
}

/// Applies the body in a savepoint. Any failure that would fail again on a
/// retry (forbidden, invalid, a constraint, a bug) rolls the savepoint back
/// and becomes a stored rejection, so the queue moves on; only a transient
/// failure (busy, I/O) aborts the push for the client to retry later.
fn apply_or_reject(
    tx: &Connection,
    secrets: &Secrets,
    caller: &Caller,
    m: &Mutation,
    public_url: &str,
) -> Result<Outcome, ServerError> {
    match tx.savepoint(|sp| apply_body(sp, secrets, caller, m, public_url)) {
        Ok(()) => Ok(Outcome::Applied),
        Err(e) if is_transient(&e) => Err(e),
        Err(e) if e.is_client_error() => Ok(Outcome::Rejected {
            code: e.code(),
            message: e.to_string(),
        }),
        Err(e) => {
            // The details stay in the log; the device gets a plain reason.
            tracing::error!(error = %e, mutation = m.body.name(), "pushed mutation failed; rejected");
            Ok(Outcome::Rejected {
                code: ErrorCode::Internal,
                message: format!(
                    "the server could not apply this {} change; it was set aside",
                    m.body.name()
                ),
            })
        }
    }
}

/// Failures that may pass on a later try: the database busy or locked, out
/// of disk or I/O, an overloaded server, a crashed worker.
fn is_transient(e: &ServerError) -> bool {
    matches!(
        e,
        ServerError::Database(sql::Error::Transient(_))
            | ServerError::Io(_)
            | ServerError::Busy(_)
            | ServerError::Join(_)
    )
}

/// The mutation itself. Client errors here become a stored rejection.
fn apply_body(
    tx: &Connection,
    secrets: &Secrets,
    caller: &Caller,
    m: &Mutation,
    public_url: &str,
) -> Result<(), ServerError> {
    if m.schema_version > SCHEMA_VERSION {
        return Err(ServerError::InvalidInput(format!(
            "mutation schema version {} is newer than the server's {SCHEMA_VERSION}",
            m.schema_version
        )));
    }
    if let Some(why) = push::forbidden(caller.user.role, &m.body) {
        return Err(forbidden(why));
    }
    match &m.body {
        MutationBody::CreateShare {
            share_no,
            item_id,
            channel,
            token,
            created_at_ms,
        } => {
            let key = derive_share_key(&secrets.master, caller.device_id as u64);
            let claim = UnverifiedToken::parse(token)
                .and_then(|t| t.verify(&key))
                .map_err(|_| {
                    ServerError::InvalidInput("share token does not verify for this device".into())
                })?;
            let device = caller.device_id as u64;
            if !push::claim_matches(&claim, device, *share_no, *item_id, *channel) {
                return Err(ServerError::InvalidInput(
                    "share token does not match the share's fields".into(),
                ));
            }
            let item = visible_item(&Stores::new(tx, secrets), caller, *item_id)?
                .filter(|i| i.status == ContentStatus::Live);
            let Some(item) = item else {
                // Recorded already, when a phone opened it before the item
                // left the briefcase: the server has it, so it is applied
                // (the device undoes a refused share, and would drop it).
                if get_share(tx, token)?.is_some() {
                    return Ok(());
                }
                return Err(ServerError::NotFound(format!(
                    "content item {item_id} is not in your briefcase (archived or not for you)"
                )));
            };
            let share = ResolvedShare {
                token: token.clone(),
                claim,
                sharer: caller.user.clone(),
                company: caller.company.clone(),
                item,
                root_token: token.clone(),
                parent_token: None,
                depth: 0,
                // visible_item applied the briefcase's rule above.
                meant_for_sharer: true,
                credit: super::shares::Credit::Sharer,
            };
            upsert_share(tx, &share, *created_at_ms)?;
            Ok(())
        }
        MutationBody::DeleteContentItem { item_id } => {
            delete_item_as(&Stores::new(tx, secrets), caller, *item_id)
        }
        MutationBody::RenameSelf { name } => {
            rename_self(&Stores::new(tx, secrets), &caller.user, name, now_ms())
        }
        MutationBody::SaveContent { key, draft } => {
            save_item(&Stores::new(tx, secrets), caller, key, draft).map(|_| ())
        }
        MutationBody::PublishContent { key } => {
            set_item_status(&Stores::new(tx, secrets), caller, key, ContentStatus::Live).map(|_| ())
        }
        MutationBody::ArchiveContent { key } => set_item_status(
            &Stores::new(tx, secrets),
            caller,
            key,
            ContentStatus::Archived,
        )
        .map(|_| ()),
        MutationBody::SetManFlags { lead_id, man } => crate::services::leads::set_man_flags(
            &super::Stores::new(tx, secrets),
            caller,
            *lead_id,
            *man,
        ),
        MutationBody::CreateInvitation {
            invite_no,
            channel,
            max_uses,
            expires_at_ms,
            token,
            created_at_ms,
        } => {
            let pushed = crate::services::invitations::Pushed {
                invite_no: *invite_no,
                channel: *channel,
                max_uses: *max_uses,
                expires_at_ms: *expires_at_ms,
                token,
                created_at_ms: *created_at_ms,
            };
            let s = super::Stores::new(tx, secrets);
            crate::services::invitations::record_pushed(&s, caller, &pushed, public_url, now_ms())
                .map(|_| ())
        }
    }
}

fn forbidden(msg: &str) -> ServerError {
    ServerError::Forbidden(msg.into())
}

impl Database {
    /// Applies one mutation pushed by `caller` (client id = its device id).
    pub(crate) async fn push_one(
        &self,
        caller: Caller,
        m: Mutation,
    ) -> Result<PushStep, ServerError> {
        // Deletes, archives and edits change what an open share link shows.
        let deletes = matches!(
            m.body,
            MutationBody::DeleteContentItem { .. }
                | MutationBody::SaveContent { .. }
                | MutationBody::PublishContent { .. }
                | MutationBody::ArchiveContent { .. }
        );
        let public_url = self.public_url();
        let step = self
            .tx(move |tx, secrets| apply_one(tx, secrets, &caller, &m, &public_url))
            .await;
        if deletes {
            // A share of a deleted item must stop resolving at once.
            self.share_cache().clear();
        }
        step
    }

    pub(crate) async fn pull_radar(
        &self,
        caller: Caller,
        after: i64,
        limit: u32,
    ) -> Result<changes::RawPage, ServerError> {
        let upto = self.durable_seq();
        self.snapshot(move |s| {
            s.changes()
                .page(&caller, changes::RADAR, after, upto, limit)
        })
        .await
    }

    /// For the live stream: the newest (sync, radar) seqs the caller may see
    /// after `after`, and a hot lead among the new radar changes. `None`
    /// once the caller's device is revoked or its user switched off: the
    /// stream ends (it was authenticated when it opened, not since).
    pub(crate) async fn live_state(
        &self,
        caller: Caller,
        after: (i64, i64),
        want_hot: bool,
    ) -> Result<Option<(i64, i64, Option<i64>)>, ServerError> {
        let upto = self.durable_seq();
        self.snapshot(move |s| {
            if !s.accounts().device_is_live(caller.device_id)? {
                return Ok(None);
            }
            let log = s.changes();
            let sync = log.newest_visible(&caller, changes::SYNC, after.0, upto)?;
            let radar = log.newest_visible(&caller, changes::RADAR, after.1, upto)?;
            let hot = if radar > after.1 && want_hot {
                log.hot_lead(&caller, after.1, radar)?
            } else {
                None
            };
            Ok(Some((sync, radar, hot)))
        })
        .await
    }

    /// Whether the device may still act: not revoked, its user switched on.
    pub(crate) async fn device_is_live(&self, device_id: i64) -> Result<bool, ServerError> {
        self.snapshot(move |s| s.accounts().device_is_live(device_id))
            .await
    }

    pub(crate) async fn last_seq(&self, client_id: String) -> Result<i64, ServerError> {
        self.read(move |c, _| last_seq(c, &client_id)).await
    }

    pub(crate) async fn pull(
        &self,
        caller: Caller,
        after: i64,
        limit: u32,
    ) -> Result<changes::RawPage, ServerError> {
        let upto = self.durable_seq();
        self.snapshot(move |s| s.changes().page(&caller, changes::SYNC, after, upto, limit))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sqlite(code: std::ffi::c_int) -> ServerError {
        ServerError::Database(
            rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), None).into(),
        )
    }

    /// Only what may pass on a retry aborts a push; everything else is a
    /// stored rejection that lets the queue move on.
    #[test]
    fn only_busy_and_io_failures_are_retried() {
        use rusqlite::ffi;
        let cases = [
            (sqlite(ffi::SQLITE_BUSY), true),
            (sqlite(ffi::SQLITE_LOCKED), true),
            (sqlite(ffi::SQLITE_IOERR), true),
            (sqlite(ffi::SQLITE_FULL), true),
            (ServerError::Busy("queue full".into()), true),
            (ServerError::Io(std::io::Error::other("disk")), true),
            (sqlite(ffi::SQLITE_CONSTRAINT_UNIQUE), false),
            (sqlite(ffi::SQLITE_CONSTRAINT_TRIGGER), false),
            (sqlite(ffi::SQLITE_MISMATCH), false),
            (ServerError::InvalidInput("bad".into()), false),
            (ServerError::Forbidden("no".into()), false),
            (ServerError::Conflict("taken".into()), false),
        ];
        for (e, transient) in cases {
            assert_eq!(is_transient(&e), transient, "{e:?}");
        }
    }
}
