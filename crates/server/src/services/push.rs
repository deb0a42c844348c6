//! A device's push: each mutation applied once, in seq order, per device,
//! with its outcome stored so a retried push replays it; the checks each
//! mutation kind needs (the role's, in `warmlead_core::sync::push`, then
//! the aggregate's own service's); and the shares a device pushes.
//! Storage: `PushLog` and `ShareStore` (`storage/push_store.rs`), and each
//! mutation's aggregate through its service.

use warmlead_core::domain::ContentStatus;
use warmlead_core::sync::{
    push, Mutation, MutationBody, MutationOutcome, Outcome, PushRequest, PushResponse,
    MAX_PUSH_BATCH, SCHEMA_VERSION,
};
use warmlead_core::token::{derive_share_key, UnverifiedToken};
use warmlead_core::ErrorCode;

use crate::error::ServerError;
use crate::services::accounts::rename_self;
use crate::services::content::{delete_item_as, save_item, set_item_status, visible_item};
use crate::services::{invitations, leads};
use crate::storage::sql;
use crate::storage::{now_ms, Caller, Credit, Database, ResolvedShare, Stores};

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

/// A device's push: the mutations in seq order, each in its own
/// transaction. Only the device's own client id is accepted. A gap before
/// anything new was applied refuses the whole request (409); a later gap
/// stops the batch and answers what was done.
pub(crate) async fn push(
    db: &Database,
    caller: Caller,
    req: PushRequest,
) -> Result<PushResponse, ServerError> {
    let client_id = caller.device_id.to_string();
    if req.client_id != client_id {
        return Err(ServerError::Forbidden(format!(
            "client_id {:?} is not this device's id ({client_id})",
            req.client_id
        )));
    }
    if req.mutations.len() > MAX_PUSH_BATCH {
        return Err(ServerError::InvalidInput(format!(
            "a push carries at most {MAX_PUSH_BATCH} mutations, got {}",
            req.mutations.len()
        )));
    }
    let mut mutations = req.mutations;
    mutations.sort_by_key(|m| m.seq);
    let mut outcomes = Vec::with_capacity(mutations.len());
    let mut applied_any = false;
    for m in mutations {
        let (mutation_id, seq) = (m.mutation_id.clone(), m.seq);
        let outcome = match push_one(db, caller.clone(), m).await? {
            PushStep::Done(o) => {
                applied_any = true;
                o
            }
            PushStep::Replayed(o) => o,
            PushStep::Gap { expected } if !applied_any => {
                return Err(ServerError::Conflict(format!(
                    "sync gap: expected seq {expected}, got {seq}"
                )))
            }
            PushStep::Gap { .. } => break,
        };
        outcomes.push(MutationOutcome {
            mutation_id,
            seq,
            outcome,
        });
    }
    let last_seq = last_seq(db, client_id).await?;
    Ok(PushResponse { outcomes, last_seq })
}

/// Applies one mutation pushed by `caller` (client id = its device id), in
/// its own transaction.
pub(crate) async fn push_one(
    db: &Database,
    caller: Caller,
    m: Mutation,
) -> Result<PushStep, ServerError> {
    // Deletes, archives and edits change what an open share link shows.
    let changes_shown = matches!(
        m.body,
        MutationBody::DeleteContentItem { .. }
            | MutationBody::SaveContent { .. }
            | MutationBody::PublishContent { .. }
            | MutationBody::ArchiveContent { .. }
    );
    let public_url = db.public_url();
    let step = db
        .transaction(move |s| apply_one(s, &caller, &m, &public_url))
        .await;
    if changes_shown {
        // A share of a deleted item must stop resolving at once.
        db.share_cache().clear();
    }
    step
}

/// The key `device_id` signs its shares with, as activation hands it out.
pub(crate) fn share_key(db: &Database, device_id: i64) -> [u8; 32] {
    derive_share_key(&db.secrets().master, device_id as u64)
}

/// The device's last applied seq (0 before its first push).
pub(crate) async fn last_seq(db: &Database, client_id: String) -> Result<i64, ServerError> {
    db.snapshot(move |s| s.push_log().last_seq(&client_id))
        .await
}

/// One mutation in `s`'s transaction, together with `last_seq` and its outcome.
///
/// The mutation id, not the seq, says whether a mutation was seen before
/// (ids are scoped by device: another device's id is a new mutation here). A
/// new mutation whose seq the server already has comes from a desktop cache
/// restored from a backup or copied to another computer (it numbers its
/// outbox again from where the copy stood): it is applied like any other,
/// and `last_seq` stays where it is, so nothing that user did is dropped.
pub(crate) fn apply_one(
    s: &Stores<'_>,
    caller: &Caller,
    m: &Mutation,
    public_url: &str,
) -> Result<PushStep, ServerError> {
    let client_id = caller.device_id.to_string();
    let log = s.push_log();
    // One device's mutations apply one at a time: a second push of this
    // one waits here until the first commits.
    let last_seq = log.lock_client(&client_id)?;
    // Read after the lock: under READ COMMITTED this sees what a racing
    // push of this device committed while this one waited.
    let stored = log.stored_outcome(&client_id, &m.mutation_id)?;
    let last_seq = match push::step(stored, last_seq, m.seq) {
        push::Step::Replay(outcome) => return Ok(PushStep::Replayed(outcome)),
        push::Step::Gap { expected } => return Ok(PushStep::Gap { expected }),
        push::Step::Apply { last_seq } => last_seq,
    };
    let outcome = apply_or_reject(s, caller, m, public_url)?;
    log.set_last_seq(&client_id, last_seq)?;
    log.store_outcome(&client_id, &m.mutation_id, m.seq, &outcome)?;
    Ok(PushStep::Done(outcome))
}

/// Applies the body in a savepoint. Any failure that would fail again on a
/// retry (forbidden, invalid, a constraint, a bug) rolls the savepoint back
/// and becomes a stored rejection, so the queue moves on; only a transient
/// failure (busy, I/O) aborts the push for the client to retry later.
fn apply_or_reject(
    s: &Stores<'_>,
    caller: &Caller,
    m: &Mutation,
    public_url: &str,
) -> Result<Outcome, ServerError> {
    match s.savepoint(|sp| apply_body(sp, caller, m, public_url)) {
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
    s: &Stores<'_>,
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
        return Err(ServerError::Forbidden(why.into()));
    }
    match &m.body {
        MutationBody::CreateShare {
            share_no,
            item_id,
            channel,
            token,
            created_at_ms,
        } => {
            let pushed = PushedShare {
                share_no: *share_no,
                item_id: *item_id,
                channel: *channel,
                token,
                created_at_ms: *created_at_ms,
            };
            create_share(s, caller, &pushed)
        }
        MutationBody::DeleteContentItem { item_id } => delete_item_as(s, caller, *item_id),
        MutationBody::RenameSelf { name } => rename_self(s, &caller.user, name, now_ms()),
        MutationBody::SaveContent { key, draft } => save_item(s, caller, key, draft).map(|_| ()),
        MutationBody::PublishContent { key } => {
            set_item_status(s, caller, key, ContentStatus::Live).map(|_| ())
        }
        MutationBody::ArchiveContent { key } => {
            set_item_status(s, caller, key, ContentStatus::Archived).map(|_| ())
        }
        MutationBody::SetManFlags { lead_id, man } => {
            leads::set_man_flags(s, caller, *lead_id, *man)
        }
        MutationBody::CreateInvitation {
            invite_no,
            channel,
            max_uses,
            expires_at_ms,
            token,
            created_at_ms,
        } => {
            let pushed = invitations::Pushed {
                invite_no: *invite_no,
                channel: *channel,
                max_uses: *max_uses,
                expires_at_ms: *expires_at_ms,
                token,
                created_at_ms: *created_at_ms,
            };
            invitations::record_pushed(s, caller, &pushed, public_url, now_ms()).map(|_| ())
        }
    }
}

/// A `CreateShare` mutation's fields.
struct PushedShare<'a> {
    share_no: i64,
    item_id: i64,
    channel: warmlead_core::domain::Channel,
    token: &'a str,
    created_at_ms: i64,
}

/// Records a share the device made: its token must be signed with this
/// device's key and say what the mutation says, and its item be in the
/// sharer's briefcase.
fn create_share(s: &Stores<'_>, caller: &Caller, p: &PushedShare<'_>) -> Result<(), ServerError> {
    let device = caller.device_id as u64;
    let key = derive_share_key(&s.secrets().master, device);
    let claim = UnverifiedToken::parse(p.token)
        .and_then(|t| t.verify(&key))
        .map_err(|_| {
            ServerError::InvalidInput("share token does not verify for this device".into())
        })?;
    if !push::claim_matches(&claim, device, p.share_no, p.item_id, p.channel) {
        return Err(ServerError::InvalidInput(
            "share token does not match the share's fields".into(),
        ));
    }
    let item = visible_item(s, caller, p.item_id)?.filter(|i| i.status == ContentStatus::Live);
    let Some(item) = item else {
        // Recorded already, when a phone opened it before the item left
        // the briefcase: the server has it, so it is applied (the device
        // undoes a refused share, and would drop it).
        if s.shares().share(p.token)?.is_some() {
            return Ok(());
        }
        return Err(ServerError::NotFound(format!(
            "content item {} is not in your briefcase (archived or not for you)",
            p.item_id
        )));
    };
    let share = ResolvedShare {
        token: p.token.to_string(),
        claim,
        sharer: caller.user.clone(),
        company: caller.company.clone(),
        item,
        root_token: p.token.to_string(),
        parent_token: None,
        depth: 0,
        // visible_item applied the briefcase's rule above.
        meant_for_sharer: true,
        credit: Credit::Sharer,
    };
    s.shares().record_pushed(&share, p.created_at_ms)?;
    Ok(())
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
