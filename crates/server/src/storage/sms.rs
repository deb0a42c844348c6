//! The SMS tables: `sms_messages` (the queue, and the history the rules read)
//! and `sms_optouts`. Functions take a `&Connection` and run inside
//! `Database::tx` (writes) or `Database::read`; every change of a message
//! appends its `ChangeBody::SmsRecord` for the rep in the same transaction.

use crate::storage::sql::{params, Connection, OptionalExtension, Row};
use warmlead_core::invite::{SmsRecord, SmsStatus};
use warmlead_core::phone::Phone;
use warmlead_core::sync::ChangeBody;
use warmlead_sms::{DeliveryStatus, History, MessageKind, ProviderReceipt, SentRecord};

use crate::error::ServerError;
use crate::storage::changes::{self, Scope};

/// Longest error text kept from a provider.
pub(crate) const MAX_ERROR_CHARS: usize = 500;

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

const RECORD_COLS: &str = "id, rep_id, invitation_id, name, phone, text, status, error,
                           created_at, send_after, updated_at, company_id";

fn status_of(s: &str) -> SmsStatus {
    SmsStatus::parse(s).unwrap_or(SmsStatus::Failed)
}

fn kind_str(kind: MessageKind) -> &'static str {
    match kind {
        MessageKind::Invitation => "invitation",
        MessageKind::OneTimeCode => "one_time_code",
    }
}

fn kind_of(s: &str) -> MessageKind {
    if s == "one_time_code" {
        MessageKind::OneTimeCode
    } else {
        MessageKind::Invitation
    }
}

/// (company id, the record as the rep sees it).
fn record_from_row(r: &Row) -> crate::storage::sql::Result<(i64, SmsRecord)> {
    let status = status_of(&r.get::<_, String>(6)?);
    let send_after: i64 = r.get(9)?;
    Ok((
        r.get(11)?,
        SmsRecord {
            id: r.get(0)?,
            rep_id: r.get(1)?,
            invitation_id: r.get(2)?,
            name: r.get(3)?,
            phone: r.get(4)?,
            text: r.get(5)?,
            status,
            error: r.get(7)?,
            created_at_ms: r.get(8)?,
            send_after_ms: (status == SmsStatus::Queued).then_some(send_after),
            updated_at_ms: r.get(10)?,
        },
    ))
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

/// The message row, already "being sent" (`attempted_at`): the runner never
/// picks it up, and a crash mid-send leaves it failed, not resent. Codes do
/// not go into the rep's change stream: they are the visitor's, not the rep's.
pub(crate) fn insert_code(tx: &Connection, req: NewCode<'_>, now: i64) -> Result<i64, ServerError> {
    let new_id = tx.query_row(
        "INSERT INTO sms_messages (company_id, rep_id, invitation_id, name, phone, text,
                                   kind, status, created_at, send_after, attempted_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'one_time_code', 'queued', ?7, ?7, ?7, ?7) RETURNING id",
        params![
            req.company_id,
            req.rep_id,
            req.invitation_id,
            req.name,
            req.phone,
            req.masked_text,
            now
        ],
        |r| r.get::<_, i64>(0),
    )?;
    Ok(new_id)
}

pub(crate) fn mark_code_sent(
    tx: &Connection,
    id: i64,
    provider: &str,
    provider_message_id: &str,
    now: i64,
) -> Result<(), ServerError> {
    tx.execute(
        "UPDATE sms_messages SET status = 'sent', provider = ?2, provider_message_id = ?3,
                                 sent_at = ?4, updated_at = ?4
         WHERE id = ?1",
        params![id, provider, provider_message_id, now],
    )?;
    Ok(())
}

pub(crate) fn mark_code_failed(
    tx: &Connection,
    id: i64,
    provider: &str,
    error: &str,
    now: i64,
) -> Result<(), ServerError> {
    let error: String = error.chars().take(MAX_ERROR_CHARS).collect();
    tx.execute(
        "UPDATE sms_messages SET status = 'failed', provider = ?2, error = ?3, updated_at = ?4
         WHERE id = ?1",
        params![id, provider, error, now],
    )?;
    Ok(())
}

#[cfg(test)]
pub(crate) fn get(conn: &Connection, id: i64) -> Result<Option<SmsRecord>, ServerError> {
    Ok(conn
        .query_row(
            &format!("SELECT {RECORD_COLS} FROM sms_messages WHERE id = ?1"),
            [id],
            record_from_row,
        )
        .optional()?
        .map(|(_, r)| r))
}

/// Appends the message's current state for its rep (and the managers).
fn emit(tx: &Connection, id: i64, now: i64) -> Result<SmsRecord, ServerError> {
    let (company_id, record) = tx.query_row(
        &format!("SELECT {RECORD_COLS} FROM sms_messages WHERE id = ?1"),
        [id],
        record_from_row,
    )?;
    let scope = Scope::Scoped {
        rep_id: Some(record.rep_id),
        partner_id: None,
    };
    changes::append(
        tx,
        company_id,
        scope,
        &ChangeBody::SmsRecord(record.clone()),
        now,
    )?;
    Ok(record)
}

/// Queues one invitation SMS and tells the rep's devices.
pub(crate) fn insert(
    tx: &Connection,
    m: &NewMessage<'_>,
    now: i64,
) -> Result<SmsRecord, ServerError> {
    let new_id = tx.query_row(
        "INSERT INTO sms_messages (company_id, rep_id, invitation_id, name, phone, text,
                                   template_params, kind, status, created_at, send_after, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'queued', ?9, ?10, ?9) RETURNING id",
        params![
            m.company_id,
            m.rep_id,
            m.invitation_id,
            m.name,
            m.phone.as_e164(),
            m.text,
            serde_json::to_string(m.template_params)?,
            kind_str(MessageKind::Invitation),
            now,
            m.send_after,
        ], |r| r.get::<_, i64>(0))?;
    emit(tx, new_id, now)
}

/// What the rules need to know about a number: its opt-out and the
/// messages it got since `since` (`Rules::history_since`; queued ones count:
/// a second request while the first waits for morning is a duplicate).
/// Advisory-lock key space of the per-recipient SMS decision lock.
const RECIPIENT_LOCK: i32 = 0x534d; // "SM"

/// The history decides whether a message may go (duplicates, caps). On
/// SQLite the one writer already runs those decisions one at a time; on
/// PostgreSQL two requests for one number (a double click, two processes)
/// would both read an empty history, so the read first takes the number's
/// lock, held until the deciding transaction ends.
fn lock_recipient(conn: &Connection, phone: &str) -> Result<(), ServerError> {
    if conn.dialect() == crate::storage::sql::Dialect::Postgres {
        conn.execute(
            "SELECT pg_advisory_xact_lock(?1, hashtext(?2))",
            params![RECIPIENT_LOCK, phone],
        )?;
    }
    Ok(())
}

/// Failed messages never reached the phone and do not count. `except` leaves
/// out the message being re-checked.
pub(crate) fn history(
    conn: &Connection,
    phone: &str,
    except: Option<i64>,
    since: i64,
) -> Result<History, ServerError> {
    lock_recipient(conn, phone)?;
    let opted_out: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sms_optouts WHERE phone = ?1)",
        [phone],
        |r| r.get(0),
    )?;
    // The statuses that count (`SmsStatus::counts_in_history`).
    let counted: Vec<String> = SmsStatus::ALL
        .into_iter()
        .filter(|s| s.counts_in_history())
        .map(|s| format!("'{}'", s.as_str()))
        .collect();
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT COALESCE(sent_at, created_at), kind FROM sms_messages
         WHERE phone = ?1 AND status IN ({}) AND id != ?2 AND created_at >= ?3",
        counted.join(", ")
    ))?;
    let sent = stmt
        .query_map(params![phone, except.unwrap_or(0), since], |r| {
            Ok(SentRecord {
                at_utc_ms: r.get(0)?,
                kind: kind_of(&r.get::<_, String>(1)?),
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(History { opted_out, sent })
}

/// Whether the number already belongs to someone in the company.
pub(crate) fn is_company_user(
    conn: &Connection,
    company_id: i64,
    phone: &str,
) -> Result<bool, ServerError> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM users WHERE company_id = ?1 AND phone = ?2)",
        params![company_id, phone],
        |r| r.get(0),
    )?)
}

/// Records an opt-out; it is never removed. True when it is new.
pub(crate) fn opt_out(
    tx: &Connection,
    phone: &str,
    source: &str,
    now: i64,
) -> Result<bool, ServerError> {
    let n = tx.execute(
        "INSERT INTO sms_optouts (phone, at, source) VALUES (?1, ?2, ?3)
         ON CONFLICT (phone) DO NOTHING",
        params![phone, now, source],
    )?;
    Ok(n == 1)
}

/// Queued messages due at `now`, oldest first.
pub(crate) fn due(conn: &Connection, now: i64, limit: u32) -> Result<Vec<Due>, ServerError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, rep_id, name, phone, text, template_params, kind FROM sms_messages
         WHERE status = 'queued' AND send_after <= ?1 AND attempted_at IS NULL
         ORDER BY send_after, id LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![now, limit], |r| {
        Ok((
            Due {
                id: r.get(0)?,
                rep_id: r.get(1)?,
                name: r.get(2)?,
                phone: r.get(3)?,
                text: r.get(4)?,
                template_params: Vec::new(),
                kind: kind_of(&r.get::<_, String>(6)?),
            },
            r.get::<_, String>(5)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (mut due, params) = row?;
        due.template_params = serde_json::from_str(&params)?;
        out.push(due);
    }
    Ok(out)
}

/// Marks the message as being handed to the provider. False when another
/// pass got it first.
pub(crate) fn claim(tx: &Connection, id: i64, now: i64) -> Result<bool, ServerError> {
    let n = tx.execute(
        "UPDATE sms_messages SET attempted_at = ?2
         WHERE id = ?1 AND status = 'queued' AND attempted_at IS NULL",
        params![id, now],
    )?;
    Ok(n == 1)
}

/// Quiet hours again at the re-check: wait until `until`.
pub(crate) fn requeue(
    tx: &Connection,
    id: i64,
    until: i64,
    now: i64,
) -> Result<SmsRecord, ServerError> {
    tx.execute(
        "UPDATE sms_messages SET send_after = ?2, updated_at = ?3 WHERE id = ?1",
        params![id, until, now],
    )?;
    emit(tx, id, now)
}

/// The provider accepted it. Accepted counts as sent at least: it has left us.
pub(crate) fn mark_sent(
    tx: &Connection,
    id: i64,
    receipt: &ProviderReceipt,
    now: i64,
) -> Result<SmsRecord, ServerError> {
    let status = match receipt.status {
        DeliveryStatus::Queued | DeliveryStatus::Sent => DeliveryStatus::Sent,
        s => s,
    };
    tx.execute(
        "UPDATE sms_messages SET status = ?2, provider = ?3, provider_message_id = ?4,
                                 sent_at = ?5, updated_at = ?5
         WHERE id = ?1",
        params![
            id,
            status.as_str(),
            receipt.provider,
            receipt.provider_message_id,
            now
        ],
    )?;
    emit(tx, id, now)
}

/// It will not go out (provider error, or the rules refused it at the re-check).
pub(crate) fn mark_failed(
    tx: &Connection,
    id: i64,
    provider: Option<&str>,
    error: &str,
    now: i64,
) -> Result<SmsRecord, ServerError> {
    let error: String = error.chars().take(MAX_ERROR_CHARS).collect();
    tx.execute(
        "UPDATE sms_messages SET status = 'failed', provider = COALESCE(?2, provider),
                                 error = ?3, updated_at = ?4
         WHERE id = ?1",
        params![id, provider, error, now],
    )?;
    emit(tx, id, now)
}

/// Why a rep's queued invitations never went out.
pub(crate) const CANCELLED_SWITCHED_OFF: &str =
    "cancelled: the rep was switched off before it was sent";

/// Cancels the rep's messages still waiting to go out (quiet hours), in the
/// caller's transaction: one conditional update, so a message the runner
/// already claimed goes on and one it has not can never be claimed. They end
/// as failed, which the rules do not count, with the reason.
pub(crate) fn cancel_queued_of(
    tx: &Connection,
    company_id: i64,
    rep_id: i64,
    now: i64,
) -> Result<usize, ServerError> {
    let ids: Vec<i64> = tx
        .prepare(
            "UPDATE sms_messages SET status = 'failed', error = ?3, updated_at = ?4
             WHERE company_id = ?1 AND rep_id = ?2 AND status = 'queued' AND attempted_at IS NULL
             RETURNING id",
        )?
        .query_map(
            params![company_id, rep_id, CANCELLED_SWITCHED_OFF, now],
            |r| r.get(0),
        )?
        .collect::<Result<_, _>>()?;
    for id in &ids {
        emit(tx, *id, now)?;
    }
    Ok(ids.len())
}

/// Messages whose send was interrupted (the process stopped between claiming
/// and recording): we cannot know whether the provider took them, so they are
/// failed rather than sent a second time.
pub(crate) fn fail_interrupted(
    tx: &Connection,
    claimed_before: i64,
    now: i64,
) -> Result<usize, ServerError> {
    let ids: Vec<i64> = tx
        .prepare(
            "SELECT id FROM sms_messages
             WHERE status = 'queued' AND attempted_at IS NOT NULL AND attempted_at < ?1",
        )?
        .query_map([claimed_before], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for id in &ids {
        mark_failed(
            tx,
            *id,
            None,
            "interrupted while sending; not resent to avoid a duplicate SMS",
            now,
        )?;
    }
    Ok(ids.len())
}

/// Order of statuses: a report may only move a message forward, and never
/// out of delivered or failed.
fn rank(s: SmsStatus) -> u8 {
    match s {
        SmsStatus::Queued => 0,
        SmsStatus::Sent => 1,
        SmsStatus::Delivered | SmsStatus::Failed => 2,
    }
}

/// Applies a delivery report. `None` when no message has this provider id
/// (or the report is stale).
pub(crate) fn apply_status(
    tx: &Connection,
    provider: &str,
    provider_message_id: &str,
    status: DeliveryStatus,
    error: Option<&str>,
    now: i64,
) -> Result<Option<SmsRecord>, ServerError> {
    let found: Option<(i64, String)> = tx
        .query_row(
            "SELECT id, status FROM sms_messages
             WHERE provider = ?1 AND provider_message_id = ?2 ORDER BY id DESC LIMIT 1",
            params![provider, provider_message_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let Some((id, current)) = found else {
        return Ok(None);
    };
    let new = status_of(status.as_str());
    if rank(new) <= rank(status_of(&current)) {
        return Ok(None);
    }
    let error: Option<String> = error.map(|e| e.chars().take(MAX_ERROR_CHARS).collect());
    tx.execute(
        "UPDATE sms_messages SET status = ?2, error = COALESCE(?3, error), updated_at = ?4
         WHERE id = ?1",
        params![id, new.as_str(), error, now],
    )?;
    emit(tx, id, now).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use warmlead_sms::Rules;

    const DAY_MS: i64 = 24 * 3600 * 1000;

    fn db() -> Connection {
        let conn = crate::storage::testdb::connection();
        conn.execute_batch(
            "INSERT INTO companies (id, name, created_at) VALUES (1, '暖居装修', 0);
             INSERT INTO users (id, company_id, role, name, phone, created_at)
             VALUES (2, 1, 'rep', '李明', '+8613900139000', 0);",
        )
        .unwrap();
        conn
    }

    fn queue(conn: &Connection, phone: &Phone, send_after: i64, now: i64) -> SmsRecord {
        insert(
            conn,
            &NewMessage {
                company_id: 1,
                rep_id: 2,
                invitation_id: None,
                name: "王五",
                phone,
                text: "李明邀请您 拒收请回复R",
                template_params: &[("rep".into(), "李明".into())],
                send_after,
            },
            now,
        )
        .unwrap()
    }

    const NOW: i64 = 1_800_000_000_000;

    #[test]
    fn queue_claim_send_and_reports_move_forward_only() {
        let conn = db();
        let phone = Phone::parse("13800138000").unwrap();
        let rec = queue(&conn, &phone, NOW + 1000, NOW);
        assert_eq!(rec.status, SmsStatus::Queued);
        assert_eq!(rec.send_after_ms, Some(NOW + 1000));
        assert!(due(&conn, NOW, 10).unwrap().is_empty(), "not due yet");
        let d = due(&conn, NOW + 1000, 10).unwrap();
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].template_params, vec![("rep".into(), "李明".into())]);
        assert!(claim(&conn, rec.id, NOW + 1000).unwrap());
        assert!(!claim(&conn, rec.id, NOW + 1000).unwrap(), "claimed once");
        assert!(due(&conn, NOW + 2000, 10).unwrap().is_empty());
        let receipt = ProviderReceipt {
            provider: "twilio".into(),
            provider_message_id: "SM1".into(),
            status: DeliveryStatus::Queued,
        };
        let sent = mark_sent(&conn, rec.id, &receipt, NOW + 1500).unwrap();
        assert_eq!((sent.status, sent.send_after_ms), (SmsStatus::Sent, None));
        let up = |s, e| apply_status(&conn, "twilio", "SM1", s, e, NOW + 2000).unwrap();
        assert!(up(DeliveryStatus::Queued, None).is_none(), "no going back");
        assert!(
            apply_status(&conn, "aliyun", "SM1", DeliveryStatus::Delivered, None, NOW)
                .unwrap()
                .is_none()
        );
        assert_eq!(
            up(DeliveryStatus::Delivered, None).unwrap().status,
            SmsStatus::Delivered
        );
        assert!(up(DeliveryStatus::Failed, Some("30003")).is_none(), "final");
        // Every state change reached the change log.
        let n: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM changes WHERE body LIKE '{\"entity\":\"sms_record\"%'",
                (),
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 3, "queued, sent, delivered");
    }

    #[test]
    fn history_counts_what_reached_or_waits_for_the_phone() {
        let conn = db();
        let phone = Phone::parse("13800138000").unwrap();
        let a = queue(&conn, &phone, NOW, NOW - 1000);
        let b = queue(&conn, &phone, NOW, NOW - 500);
        mark_failed(&conn, b.id, Some("twilio"), "boom", NOW).unwrap();
        let h = history(
            &conn,
            phone.as_e164(),
            None,
            Rules::default().history_since(NOW),
        )
        .unwrap();
        assert_eq!(h.sent.len(), 1, "failed ones do not count");
        assert!(!h.opted_out);
        let h = history(
            &conn,
            phone.as_e164(),
            Some(a.id),
            Rules::default().history_since(NOW),
        )
        .unwrap();
        assert!(
            h.sent.is_empty(),
            "the message being re-checked is left out"
        );
        assert!(opt_out(&conn, phone.as_e164(), "twilio", NOW).unwrap());
        assert!(!opt_out(&conn, phone.as_e164(), "aliyun", NOW).unwrap());
        assert!(
            history(
                &conn,
                phone.as_e164(),
                None,
                Rules::default().history_since(NOW + 400 * DAY_MS),
            )
            .unwrap()
            .opted_out
        );
        assert!(is_company_user(&conn, 1, "+8613900139000").unwrap());
        assert!(!is_company_user(&conn, 1, phone.as_e164()).unwrap());
    }

    #[test]
    fn interrupted_sends_fail_instead_of_repeating() {
        let conn = db();
        let phone = Phone::parse("13800138000").unwrap();
        let rec = queue(&conn, &phone, NOW, NOW);
        claim(&conn, rec.id, NOW).unwrap();
        // A claim younger than the cut-off may be another process's send.
        assert_eq!(fail_interrupted(&conn, NOW, NOW + 1).unwrap(), 0);
        assert_eq!(fail_interrupted(&conn, NOW + 1, NOW + 1).unwrap(), 1);
        let r = get(&conn, rec.id).unwrap().unwrap();
        assert_eq!(r.status, SmsStatus::Failed);
        assert!(r.error.unwrap().contains("interrupted"));
        assert_eq!(fail_interrupted(&conn, NOW + 2, NOW + 2).unwrap(), 0);
    }
}
