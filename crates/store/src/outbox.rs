//! The outbox: changes made on this device, pushed in seq order.

use rusqlite::Connection;
use warmlead_core::app::RejectedChange;
use warmlead_core::sync::{Mutation, MutationBody, Outcome, PushResponse, SCHEMA_VERSION};
use warmlead_core::ErrorCode;

use crate::{rows, Store, StoreError};

/// How many pushed outcomes changed a pending row (repeats count once).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecordedOutcomes {
    pub applied: usize,
    pub rejected: usize,
}

/// Adds a mutation to the outbox inside the caller's transaction; returns its seq.
pub(crate) fn enqueue(
    conn: &Connection,
    body: &MutationBody,
    now_ms: i64,
) -> Result<i64, StoreError> {
    let seq = rows::next_counter(conn, "outbox_seq")?;
    let tagged = serde_json::to_value(body)?;
    let args = tagged
        .get("args")
        .cloned()
        .unwrap_or(serde_json::Value::Null);
    conn.execute(
        "INSERT INTO outbox (seq, mutation_id, name, args, schema_version, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        rusqlite::params![
            seq,
            uuid::Uuid::now_v7().to_string(),
            body.name(),
            args.to_string(),
            SCHEMA_VERSION,
            now_ms,
        ],
    )?;
    Ok(seq)
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
    /// rejected local delete is undone so the item shows again.
    pub fn record_outcomes(&self, resp: &PushResponse) -> Result<RecordedOutcomes, StoreError> {
        let tx = crate::write_tx(&self.conn)?;
        let now = crate::now_ms();
        let mut counts = RecordedOutcomes::default();
        for o in &resp.outcomes {
            let (state, code, message) = match &o.outcome {
                Outcome::Applied => ("applied", None, None),
                Outcome::Rejected { code, message } => {
                    ("rejected", Some(code_str(*code)?), Some(message.as_str()))
                }
            };
            let changed = tx.execute(
                "UPDATE outbox SET state = ?1, error_code = ?2, error_message = ?3, resolved_at = ?4 \
                 WHERE mutation_id = ?5 AND state = 'pending'",
                rusqlite::params![state, code, message, now, o.mutation_id],
            )?;
            if changed == 0 {
                continue;
            }
            if state == "applied" {
                counts.applied += 1;
                // The share now lives on the server; an epoch reset may drop it locally.
                tx.execute(
                    "UPDATE shares SET outbox_seq = NULL WHERE outbox_seq = ?1",
                    [o.seq],
                )?;
            } else {
                counts.rejected += 1;
                undo_rejected(&tx, &o.mutation_id)?;
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

    /// The user has seen a rejected change: forget it (the badge clears when none
    /// are left). Returns whether there was such a rejected change.
    pub fn dismiss_rejected(&self, mutation_id: &str) -> Result<bool, StoreError> {
        let n = self.conn.execute(
            "DELETE FROM outbox WHERE mutation_id = ?1 AND state = 'rejected'",
            [mutation_id],
        )?;
        Ok(n > 0)
    }

    /// Changes the server refused for good, oldest first, for the user to see.
    pub fn rejected(&self) -> Result<Vec<RejectedChange>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT mutation_id, name, error_code, error_message, resolved_at FROM outbox \
             WHERE state = 'rejected' ORDER BY seq",
        )?;
        let raw = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, Option<i64>>(4)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let mut all: Vec<RejectedChange> = raw
            .into_iter()
            .map(|(mutation_id, name, code, message, at)| RejectedChange {
                mutation_id,
                name,
                code: error_code(code),
                message: message.unwrap_or_default(),
                at_ms: at.unwrap_or(0),
            })
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

/// Reverts the local effect of a mutation the server refused.
fn undo_rejected(conn: &Connection, mutation_id: &str) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE content_items SET deleted = 0 WHERE id IN ( \
           SELECT json_extract(args, '$.item_id') FROM outbox \
           WHERE mutation_id = ?1 AND name = 'delete_content_item')",
        [mutation_id],
    )?;
    // An invitation made here that the server refused will never be
    // recorded (nor open on a phone): it shows as revoked, not as waiting.
    conn.execute(
        "UPDATE invitations SET status = 'revoked' WHERE id < 0 AND invite_no IN ( \
           SELECT json_extract(args, '$.invite_no') FROM outbox \
           WHERE mutation_id = ?1 AND name = 'create_invitation')",
        [mutation_id],
    )?;
    Ok(())
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
