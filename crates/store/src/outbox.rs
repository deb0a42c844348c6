//! The outbox: changes made on this device, pushed in seq order.

use rusqlite::{Connection, OptionalExtension};
use warmlead_core::app::RejectedChange;
use warmlead_core::sync::{Mutation, MutationBody, Outcome, PushResponse, SCHEMA_VERSION};
use warmlead_core::ErrorCode;

use crate::{rows, session, Store, StoreError};

/// How many pushed outcomes changed a pending row (repeats count once).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecordedOutcomes {
    pub applied: usize,
    pub rejected: usize,
}

/// Adds a mutation to the outbox inside the caller's transaction; returns its
/// seq. Call it before the optimistic local write: it keeps what the
/// mutation's undo needs ([`remember`]), read from the state before the write.
pub(crate) fn enqueue(
    conn: &Connection,
    body: &MutationBody,
    now_ms: i64,
) -> Result<i64, StoreError> {
    let (subject, server_copy) = remember(conn, body)?;
    let seq = rows::next_counter(conn, "outbox_seq")?;
    let tagged = serde_json::to_value(body)?;
    let args = tagged
        .get("args")
        .cloned()
        .unwrap_or(serde_json::Value::Null);
    conn.execute(
        "INSERT INTO outbox (seq, mutation_id, name, args, schema_version, created_at, \
           subject, server_copy) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        rusqlite::params![
            seq,
            uuid::Uuid::now_v7().to_string(),
            body.name(),
            args.to_string(),
            SCHEMA_VERSION,
            now_ms,
            subject,
            server_copy.map(|c| c.to_string()),
        ],
    )?;
    Ok(seq)
}

/// What a new mutation keeps for the day the server refuses it: the subject
/// the rejection list shows (the undo may remove the thing itself), and for
/// an edit the server's last known state of what it overwrites here. One
/// arm per kind and no catch-all, like [`undo`]: a new kind does not compile
/// until it says what it keeps.
fn remember(
    conn: &Connection,
    body: &MutationBody,
) -> Result<(Option<String>, Option<serde_json::Value>), StoreError> {
    Ok(match body {
        MutationBody::CreateShare { item_id, .. } | MutationBody::DeleteContentItem { item_id } => {
            (item_title(conn, *item_id)?, None)
        }
        MutationBody::RenameSelf { name } => {
            // The server has what the oldest waiting rename replaced.
            let copy = match pending_copy(conn, "rename_self", None)? {
                Some(copy) => Some(copy),
                None => session::load(conn)?.map(|s| serde_json::json!({ "name": s.user.name })),
            };
            (Some(name.clone()), copy)
        }
        MutationBody::SaveContent { draft, .. } => {
            (Some(draft.title.clone()).filter(|t| !t.is_empty()), None)
        }
        MutationBody::PublishContent { key } | MutationBody::ArchiveContent { key } => {
            (key_title(conn, key)?, None)
        }
        MutationBody::SetManFlags { lead_id, .. } => {
            let copy = match pending_copy(conn, "set_man_flags", Some(*lead_id))? {
                Some(copy) => Some(copy),
                None => crate::leads::stored_man(conn, *lead_id)?
                    .map(serde_json::to_value)
                    .transpose()?,
            };
            let name = conn
                .query_row("SELECT name FROM leads WHERE id = ?1", [lead_id], |r| {
                    r.get(0)
                })
                .optional()?;
            (name, copy)
        }
        MutationBody::CreateInvitation { .. } => (None, None),
    })
}

fn item_title(conn: &Connection, item_id: i64) -> Result<Option<String>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT title FROM content_items WHERE id = ?1",
            [item_id],
            |r| r.get(0),
        )
        .optional()?)
}

/// The title an author sees for `key`: their own copy's, else the server's.
fn key_title(conn: &Connection, key: &str) -> Result<Option<String>, StoreError> {
    let title: Option<String> = conn
        .query_row(
            "SELECT COALESCE( \
               (SELECT json_extract(draft_json, '$.title') FROM content_edits WHERE item_key = ?1), \
               (SELECT title FROM content_items WHERE item_key = ?1))",
            [key],
            |r| r.get(0),
        )
        .optional()?
        .flatten();
    Ok(title.filter(|t| !t.is_empty()))
}

/// The server copy kept by the newest waiting mutation `name` (of lead
/// `lead_id`, for MAN flags).
fn pending_copy(
    conn: &Connection,
    name: &str,
    lead_id: Option<i64>,
) -> Result<Option<serde_json::Value>, StoreError> {
    let copy: Option<String> = conn
        .query_row(
            "SELECT server_copy FROM outbox WHERE state = 'pending' AND name = ?1 \
               AND (?2 IS NULL OR json_extract(args, '$.lead_id') = ?2) \
             ORDER BY seq DESC LIMIT 1",
            rusqlite::params![name, lead_id],
            |r| r.get(0),
        )
        .optional()?
        .flatten();
    Ok(copy.map(|c| serde_json::from_str(&c)).transpose()?)
}

/// The server's state of something waiting edits overwrite here arrived by
/// pull (or with an applied edit): their undo puts this back.
pub(crate) fn refresh_server_copy(
    conn: &Connection,
    name: &str,
    lead_id: Option<i64>,
    copy: &serde_json::Value,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "UPDATE outbox SET server_copy = ?3 WHERE state = 'pending' AND name = ?1 \
           AND (?2 IS NULL OR json_extract(args, '$.lead_id') = ?2)",
    )?
    .execute(rusqlite::params![name, lead_id, copy.to_string()])?;
    Ok(())
}

pub(crate) fn pending_count(conn: &Connection) -> Result<i64, StoreError> {
    Ok(conn.query_row(
        "SELECT COUNT(*) FROM outbox WHERE state = 'pending'",
        [],
        |r| r.get(0),
    )?)
}

/// Whether a pending mutation `name` has `args[key] = value` (e.g. a delete of item 7).
pub(crate) fn has_pending(
    conn: &Connection,
    name: &str,
    key: &str,
    value: i64,
) -> Result<bool, StoreError> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM outbox WHERE state = 'pending' AND name = ?1 \
         AND json_extract(args, ?2) = ?3)",
        rusqlite::params![name, format!("$.{key}"), value],
        |r| r.get(0),
    )?)
}

/// The `key` values of every pending mutation `name`: what a pulled page
/// checks once instead of once per row (see [`has_pending`]).
pub(crate) fn pending_ids(
    conn: &Connection,
    name: &str,
    key: &str,
) -> Result<std::collections::HashSet<i64>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT json_extract(args, ?2) FROM outbox WHERE state = 'pending' AND name = ?1",
    )?;
    let ids = stmt.query_map(rusqlite::params![name, format!("$.{key}")], |r| {
        r.get::<_, rusqlite::types::Value>(0)
    })?;
    let mut out = std::collections::HashSet::new();
    for id in ids {
        // Only an integer equals an id in `has_pending`'s comparison.
        if let rusqlite::types::Value::Integer(id) = id? {
            out.insert(id);
        }
    }
    Ok(out)
}

/// Whether any mutation `name` is still pending.
pub(crate) fn has_pending_name(conn: &Connection, name: &str) -> Result<bool, StoreError> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM outbox WHERE state = 'pending' AND name = ?1)",
        [name],
        |r| r.get(0),
    )?)
}

impl Store {
    /// Up to `limit` pending mutations, in seq order, ready to push.
    pub fn pending_mutations(&self, limit: usize) -> Result<Vec<Mutation>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT seq, mutation_id, name, args, schema_version FROM outbox \
             WHERE state = 'pending' ORDER BY seq LIMIT ?1",
        )?;
        let raw = stmt
            .query_map([limit as i64], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, u32>(4)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        raw.into_iter()
            .map(|(seq, mutation_id, name, args, schema_version)| {
                let args: serde_json::Value = serde_json::from_str(&args)?;
                let body: MutationBody =
                    serde_json::from_value(serde_json::json!({ "name": name, "args": args }))?;
                Ok(Mutation {
                    mutation_id,
                    seq,
                    schema_version,
                    body,
                })
            })
            .collect()
    }

    /// Changes waiting for the server: mutations and images.
    pub fn pending_count(&self) -> Result<i64, StoreError> {
        Ok(pending_count(&self.conn)? + self.pending_media_count()?)
    }

    /// Marks pushed mutations applied or rejected, in one transaction. A
    /// rejected one's local change is undone in the same transaction
    /// ([`undo`]), so the cache never shows what the server refused.
    pub fn record_outcomes(&self, resp: &PushResponse) -> Result<RecordedOutcomes, StoreError> {
        let tx = crate::write_tx(&self.conn)?;
        let now = crate::now_ms();
        let mut counts = RecordedOutcomes::default();
        for o in &resp.outcomes {
            let row: Option<(i64, String, String, Option<String>)> = tx
                .query_row(
                    "SELECT seq, name, args, server_copy FROM outbox \
                     WHERE mutation_id = ?1 AND state = 'pending'",
                    [&o.mutation_id],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                )
                .optional()?;
            // Answered before (a repeated push): nothing changes again.
            let Some((seq, name, args, server_copy)) = row else {
                continue;
            };
            let body = parse_body(&name, &args)?;
            let (state, code, message) = match &o.outcome {
                Outcome::Applied => ("applied", None, None),
                Outcome::Rejected { code, message } => {
                    ("rejected", Some(code_str(*code)?), Some(message.as_str()))
                }
            };
            tx.execute(
                "UPDATE outbox SET state = ?1, error_code = ?2, error_message = ?3, resolved_at = ?4 \
                 WHERE seq = ?5",
                rusqlite::params![state, code, message, now, seq],
            )?;
            if state == "applied" {
                counts.applied += 1;
                settle_applied(&tx, seq, &body)?;
            } else {
                counts.rejected += 1;
                let copy = server_copy.map(|c| serde_json::from_str(&c)).transpose()?;
                undo(&tx, seq, &body, copy)?;
            }
        }
        // The next mutation takes a seq after every one the server has.
        rows::raise_counter(&tx, "outbox_seq", resp.last_seq)?;
        tx.commit()?;
        Ok(counts)
    }

    /// Makes the outbox push cleanly again after the server lost part of this
    /// device's history (a restored backup): `server_last_seq` is the highest
    /// seq the server now has from this device. Every mutation after it
    /// becomes pending again, applied or rejected, since the server lost those
    /// outcomes; one the server still has is answered from its stored outcome
    /// by mutation id, never applied twice. They are renumbered from
    /// `server_last_seq + 1` in their order, with no hole, so no push is
    /// refused as a gap. Returns how many were resolved and are pending again.
    pub fn rebase_outbox(&self, server_last_seq: i64) -> Result<usize, StoreError> {
        let tx = crate::write_tx(&self.conn)?;
        let revived = tx.execute(
            "UPDATE outbox SET state = 'pending', error_code = NULL, error_message = NULL, \
             resolved_at = NULL WHERE state <> 'pending' AND seq > ?1",
            [server_last_seq],
        )?;
        let next = renumber_after(&tx, server_last_seq)?;
        // The next mutation follows the renumbered ones (the counter may be
        // past numbers the restored server never saw).
        tx.execute(
            "UPDATE counters SET value = ?1 WHERE name = 'outbox_seq'",
            [next.max(server_last_seq)],
        )?;
        relink_pending_shares(&tx)?;
        tx.commit()?;
        Ok(revived)
    }

    /// The user has seen a rejected change: forget it (the badge clears when
    /// none are left). Only the record goes: its undo was done when it was
    /// rejected. Returns whether there was such a rejected change.
    pub fn dismiss_rejected(&self, mutation_id: &str) -> Result<bool, StoreError> {
        if let Some(key) = mutation_id.strip_prefix(crate::media::REJECTED_PREFIX) {
            return self.dismiss_rejected_media(key);
        }
        let n = self.conn.execute(
            "DELETE FROM outbox WHERE mutation_id = ?1 AND state = 'rejected'",
            [mutation_id],
        )?;
        Ok(n > 0)
    }

    /// Changes the server refused for good, oldest first, for the user to see.
    pub fn rejected(&self) -> Result<Vec<RejectedChange>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT mutation_id, name, subject, error_code, error_message, resolved_at \
             FROM outbox WHERE state = 'rejected' ORDER BY seq",
        )?;
        let raw = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, Option<i64>>(5)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let mut all: Vec<RejectedChange> = raw
            .into_iter()
            .map(
                |(mutation_id, name, subject, code, message, at)| RejectedChange {
                    mutation_id,
                    name,
                    subject,
                    code: error_code(code),
                    message: message.unwrap_or_default(),
                    at_ms: at.unwrap_or(0),
                },
            )
            .collect();
        all.extend(self.rejected_media()?);
        Ok(all)
    }
}

/// Gives the rows after `last` the seqs `last + 1, last + 2, ...` in their
/// order; returns the last seq given (or `last`).
fn renumber_after(conn: &Connection, last: i64) -> Result<i64, StoreError> {
    let old: Vec<i64> = conn
        .prepare("SELECT seq FROM outbox WHERE seq > ?1 ORDER BY seq")?
        .query_map([last], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    // Out of the way first: seq is the primary key.
    conn.execute("UPDATE outbox SET seq = -seq WHERE seq > ?1", [last])?;
    let mut seq = last;
    for o in old {
        seq += 1;
        conn.execute(
            "UPDATE outbox SET seq = ?1 WHERE seq = ?2",
            rusqlite::params![seq, -o],
        )?;
    }
    Ok(seq)
}

/// Points each local share at its pending create_share row again, so an
/// epoch reset keeps it until the server has it.
fn relink_pending_shares(conn: &Connection) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE shares SET outbox_seq = ( \
           SELECT o.seq FROM outbox o WHERE o.state = 'pending' AND o.name = 'create_share' \
           AND json_extract(o.args, '$.token') = shares.token) \
         WHERE token IN (SELECT json_extract(args, '$.token') FROM outbox \
           WHERE state = 'pending' AND name = 'create_share')",
        [],
    )?;
    Ok(())
}

fn code_str(code: ErrorCode) -> Result<String, StoreError> {
    match serde_json::to_value(code)? {
        serde_json::Value::String(s) => Ok(s),
        other => Err(StoreError::Corrupt(format!("error code {other}"))),
    }
}

/// An outbox row's mutation, as pushed.
fn parse_body(name: &str, args: &str) -> Result<MutationBody, StoreError> {
    let args: serde_json::Value = serde_json::from_str(args)?;
    Ok(serde_json::from_value(
        serde_json::json!({ "name": name, "args": args }),
    )?)
}

/// What an applied mutation settles here.
fn settle_applied(conn: &Connection, seq: i64, body: &MutationBody) -> Result<(), StoreError> {
    match body {
        // The share now lives on the server; an epoch reset may drop it locally.
        MutationBody::CreateShare { .. } => {
            conn.execute(
                "UPDATE shares SET outbox_seq = NULL WHERE outbox_seq = ?1",
                [seq],
            )?;
        }
        // The server has this name now: a later rename refused puts it back.
        MutationBody::RenameSelf { name } => {
            refresh_server_copy(
                conn,
                "rename_self",
                None,
                &serde_json::json!({ "name": name }),
            )?;
        }
        MutationBody::SetManFlags { lead_id, man } => {
            let copy = serde_json::to_value(man)?;
            refresh_server_copy(conn, "set_man_flags", Some(*lead_id), &copy)?;
        }
        MutationBody::DeleteContentItem { .. }
        | MutationBody::SaveContent { .. }
        | MutationBody::PublishContent { .. }
        | MutationBody::ArchiveContent { .. }
        | MutationBody::CreateInvitation { .. } => {}
    }
    Ok(())
}

/// Rolls back the local effect of mutation `seq`, which the server refused
/// for good, so the cache shows what a fresh device would pull; `copy` is
/// the server's state it kept ([`remember`]). Runs in the transaction that
/// records the rejection. One arm per kind and no catch-all: a new kind
/// does not compile without its undo.
fn undo(
    conn: &Connection,
    seq: i64,
    body: &MutationBody,
    copy: Option<serde_json::Value>,
) -> Result<(), StoreError> {
    match body {
        // The share never reached the server: it leaves the partner's shares
        // (the counts derived from them follow, by trigger).
        MutationBody::CreateShare { token, .. } => {
            conn.execute("DELETE FROM shares WHERE token = ?1", [token])?;
        }
        MutationBody::DeleteContentItem { item_id } => {
            conn.execute(
                "UPDATE content_items SET deleted = 0 WHERE id = ?1",
                [item_id],
            )?;
        }
        MutationBody::RenameSelf { .. } => {
            // A later rename still waiting is newer than both: it stays.
            if later_pending(conn, seq, &["rename_self"], None)? {
                return Ok(());
            }
            let name = copy
                .as_ref()
                .and_then(|c| c.get("name"))
                .and_then(|n| n.as_str());
            if let Some(name) = name {
                let mut s = session::require(conn)?;
                s.user.name = name.to_string();
                conn.execute(
                    "UPDATE users SET name = ?1 WHERE id = ?2",
                    rusqlite::params![name, s.user.id],
                )?;
                conn.execute(
                    "UPDATE session SET user_json = ?1 WHERE id = 1",
                    [serde_json::to_string(&s.user)?],
                )?;
            }
        }
        // What the author typed is theirs and stays, as their own copy
        // marked refused (the library and the editor show the reason; they
        // fix it and it is sent again). It never reaches a briefcase or a
        // share: those read the server's copy only.
        MutationBody::SaveContent { .. } => {}
        // The item keeps the server's status: the status asked for goes,
        // unless a later publish or archive waits.
        MutationBody::PublishContent { key } | MutationBody::ArchiveContent { key } => {
            let asked = &["publish_content", "archive_content"];
            if !later_pending(conn, seq, asked, Some(("$.key", key.clone().into())))? {
                conn.execute(
                    "UPDATE content_edits SET status = NULL WHERE item_key = ?1",
                    [key],
                )?;
            }
        }
        MutationBody::SetManFlags { lead_id, .. } => {
            let lead = Some(("$.lead_id", (*lead_id).into()));
            if later_pending(conn, seq, &["set_man_flags"], lead)? {
                return Ok(());
            }
            let man: Option<warmlead_core::lead::ManFlags> =
                copy.map(serde_json::from_value).transpose()?;
            if let Some(man) = man {
                conn.execute(
                    "UPDATE leads SET man_money = ?1, man_authority = ?2, man_need = ?3 \
                     WHERE id = ?4",
                    rusqlite::params![man.money, man.authority, man.need, lead_id],
                )?;
            }
        }
        // An invitation made here that the server refused will never be
        // recorded (nor open on a phone): it leaves the list.
        MutationBody::CreateInvitation { invite_no, .. } => {
            conn.execute(
                "DELETE FROM invitations WHERE id < 0 AND invite_no = ?1",
                [invite_no],
            )?;
        }
    }
    Ok(())
}

/// Whether a mutation named one of `names` after `seq` still waits (with
/// `args[path] = value`, if given).
fn later_pending(
    conn: &Connection,
    seq: i64,
    names: &[&str],
    arg: Option<(&str, rusqlite::types::Value)>,
) -> Result<bool, StoreError> {
    let (path, value) = match arg {
        Some((p, v)) => (Some(p), v),
        None => (None, rusqlite::types::Value::Null),
    };
    let mut stmt = conn.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM outbox WHERE state = 'pending' AND seq > ?1 \
           AND name IN (SELECT value FROM json_each(?2)) \
           AND (?3 IS NULL OR json_extract(args, ?3) = ?4))",
    )?;
    Ok(stmt.query_row(
        rusqlite::params![seq, serde_json::to_string(names)?, path, value],
        |r| r.get(0),
    )?)
}

/// A stored error code; unknown ones (from a newer server) show as internal.
pub(crate) fn error_code(code: Option<String>) -> ErrorCode {
    code.and_then(|c| serde_json::from_value(serde_json::Value::String(c)).ok())
        .unwrap_or(ErrorCode::Internal)
}

#[cfg(test)]
mod tests {
    use warmlead_core::sync::{MutationOutcome, Outcome, PushResponse};

    use super::*;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("s.sqlite")).unwrap();
        (dir, store)
    }

    fn rename(store: &Store, name: &str) -> String {
        let body = MutationBody::RenameSelf { name: name.into() };
        let seq = enqueue(&store.conn, &body, 0).unwrap();
        store
            .conn
            .query_row(
                "SELECT mutation_id FROM outbox WHERE seq = ?1",
                [seq],
                |r| r.get(0),
            )
            .unwrap()
    }

    fn answer(store: &Store, id: &str, seq: i64, outcome: Outcome, last_seq: i64) {
        let outcomes = vec![MutationOutcome {
            mutation_id: id.into(),
            seq,
            outcome,
        }];
        store
            .record_outcomes(&PushResponse { outcomes, last_seq })
            .unwrap();
    }

    /// (seq, mutation id) of the pending rows.
    fn pending(store: &Store) -> Vec<(i64, String)> {
        store
            .pending_mutations(100)
            .unwrap()
            .into_iter()
            .map(|m| (m.seq, m.mutation_id))
            .collect()
    }

    /// After a server restore at seq 1: what the server lost is pending again,
    /// in order, numbered 2, 3, ... with no hole; new changes follow.
    #[test]
    fn rebasing_revives_what_the_server_lost_and_numbers_it_without_a_hole() {
        let (_dir, store) = store();
        let ids: Vec<String> = (1..=6).map(|i| rename(&store, &format!("n{i}"))).collect();
        let rejected = Outcome::Rejected {
            code: ErrorCode::Forbidden,
            message: "no".into(),
        };
        answer(&store, &ids[0], 1, Outcome::Applied, 1);
        answer(&store, &ids[1], 2, rejected.clone(), 2);
        answer(&store, &ids[2], 3, rejected, 3);
        answer(&store, &ids[3], 4, Outcome::Applied, 4);
        // The user dismissed one rejection: seq 3 is a hole.
        assert!(store.dismiss_rejected(&ids[2]).unwrap());

        assert_eq!(store.rebase_outbox(1).unwrap(), 2);
        let expected: Vec<(i64, String)> = [1, 3, 4, 5]
            .iter()
            .enumerate()
            .map(|(i, &k)| (i as i64 + 2, ids[k].clone()))
            .collect();
        assert_eq!(pending(&store), expected);
        assert!(store.rejected().unwrap().is_empty());
        let next = rename(&store, "n7");
        assert_eq!(pending(&store).last(), Some(&(6, next)));

        // A server that has everything (or more): nothing changes.
        let before = pending(&store);
        assert_eq!(store.rebase_outbox(6).unwrap(), 0);
        assert_eq!(pending(&store), before);
        assert_eq!(store.rebase_outbox(40).unwrap(), 0);
        assert_eq!(pending(&store), before);
        rename(&store, "n8");
        assert_eq!(pending(&store).last().map(|p| p.0), Some(41));
    }
}
