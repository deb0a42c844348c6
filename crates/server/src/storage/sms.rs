//! The SMS queue in the SQL both databases share ([`SmsQueue`]; the
//! interface and its types are `sms_store.rs`). `B` is the backend's own
//! part, the recipient lock.

use std::marker::PhantomData;

use crate::storage::sql::{params, Connection, OptionalExtension, Row};
use warmlead_core::invite::{SmsRecord, SmsStatus};
use warmlead_core::sync::ChangeBody;
use warmlead_sms::{DeliveryStatus, History, MessageKind, ProviderReceipt, SentRecord};

use super::sms_store::{
    Due, NewCode, NewMessage, RecipientLock, SmsQueue, CANCELLED_SWITCHED_OFF, MAX_ERROR_CHARS,
};
use crate::error::ServerError;
use crate::storage::changes::{self, Scope};

pub(crate) struct SmsSql<'c, B> {
    conn: &'c Connection,
    backend: PhantomData<B>,
}

impl<'c, B> SmsSql<'c, B> {
    pub(crate) fn new(conn: &'c Connection) -> Self {
        SmsSql {
            conn,
            backend: PhantomData,
        }
    }
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

fn truncated(error: &str) -> String {
    error.chars().take(MAX_ERROR_CHARS).collect()
}

/// Order of statuses: a report may only move a message forward, and never
/// out of delivered or failed.
fn rank(s: SmsStatus) -> i64 {
    match s {
        SmsStatus::Queued => 0,
        SmsStatus::Sent => 1,
        SmsStatus::Delivered | SmsStatus::Failed => 2,
    }
}

/// [`rank`] of the `status` column, in SQL.
fn rank_sql() -> String {
    let arms: String = SmsStatus::ALL
        .into_iter()
        .map(|s| format!(" WHEN '{}' THEN {}", s.as_str(), rank(s)))
        .collect();
    format!("CASE status{arms} ELSE 2 END")
}

impl<B> SmsSql<'_, B> {
    /// Appends the message's current state for its rep (and the managers).
    fn emit(&self, id: i64, now: i64) -> Result<SmsRecord, ServerError> {
        let (company_id, record) = self.conn.query_row(
            &format!("SELECT {RECORD_COLS} FROM sms_messages WHERE id = ?1"),
            [id],
            record_from_row,
        )?;
        let scope = Scope::Scoped {
            rep_id: Some(record.rep_id),
            partner_id: None,
        };
        changes::append(
            self.conn,
            company_id,
            scope,
            &ChangeBody::SmsRecord(record.clone()),
            now,
        )?;
        Ok(record)
    }

    /// Runs a `... RETURNING id` update; the ids it changed.
    fn ids(
        &self,
        sql: &str,
        args: impl crate::storage::sql::Params,
    ) -> Result<Vec<i64>, ServerError> {
        Ok(self
            .conn
            .prepare(sql)?
            .query_map(args, |r| r.get(0))?
            .collect::<Result<_, _>>()?)
    }
}

impl<B: RecipientLock> SmsQueue for SmsSql<'_, B> {
    fn queue(&self, m: &NewMessage<'_>, now: i64) -> Result<SmsRecord, ServerError> {
        let new_id = self.conn.query_row(
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
            ],
            |r| r.get::<_, i64>(0),
        )?;
        self.emit(new_id, now)
    }

    fn insert_code(&self, req: NewCode<'_>, now: i64) -> Result<i64, ServerError> {
        Ok(self.conn.query_row(
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
        )?)
    }

    fn code_sent(&self, id: i64, receipt: &ProviderReceipt, now: i64) -> Result<(), ServerError> {
        self.conn.execute(
            "UPDATE sms_messages SET status = 'sent', provider = ?2, provider_message_id = ?3,
                                     sent_at = ?4, updated_at = ?4
             WHERE id = ?1",
            params![id, receipt.provider, receipt.provider_message_id, now],
        )?;
        Ok(())
    }

    fn code_failed(
        &self,
        id: i64,
        provider: &str,
        error: &str,
        now: i64,
    ) -> Result<(), ServerError> {
        self.conn.execute(
            "UPDATE sms_messages SET status = 'failed', provider = ?2, error = ?3, updated_at = ?4
             WHERE id = ?1",
            params![id, provider, truncated(error), now],
        )?;
        Ok(())
    }

    fn history(
        &self,
        phone: &str,
        except: Option<i64>,
        since: i64,
    ) -> Result<History, ServerError> {
        B::lock_recipient(self.conn, phone)?;
        let opted_out: bool = self.conn.query_row(
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
        let mut stmt = self.conn.prepare_cached(&format!(
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

    fn opt_out(&self, phone: &str, source: &str, now: i64) -> Result<bool, ServerError> {
        let n = self.conn.execute(
            "INSERT INTO sms_optouts (phone, at, source) VALUES (?1, ?2, ?3)
             ON CONFLICT (phone) DO NOTHING",
            params![phone, now, source],
        )?;
        Ok(n == 1)
    }

    fn due(&self, now: i64, limit: u32) -> Result<Vec<Due>, ServerError> {
        let mut stmt = self.conn.prepare_cached(
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

    fn claim(&self, id: i64, now: i64) -> Result<bool, ServerError> {
        let n = self.conn.execute(
            "UPDATE sms_messages SET attempted_at = ?2
             WHERE id = ?1 AND status = 'queued' AND attempted_at IS NULL",
            params![id, now],
        )?;
        Ok(n == 1)
    }

    fn requeue(&self, id: i64, until: i64, now: i64) -> Result<SmsRecord, ServerError> {
        self.conn.execute(
            "UPDATE sms_messages SET send_after = ?2, updated_at = ?3 WHERE id = ?1",
            params![id, until, now],
        )?;
        self.emit(id, now)
    }

    fn mark_sent(
        &self,
        id: i64,
        receipt: &ProviderReceipt,
        now: i64,
    ) -> Result<SmsRecord, ServerError> {
        let status = match receipt.status {
            DeliveryStatus::Queued | DeliveryStatus::Sent => DeliveryStatus::Sent,
            s => s,
        };
        self.conn.execute(
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
        self.emit(id, now)
    }

    fn mark_failed(
        &self,
        id: i64,
        provider: Option<&str>,
        error: &str,
        now: i64,
    ) -> Result<SmsRecord, ServerError> {
        self.conn.execute(
            "UPDATE sms_messages SET status = 'failed', provider = COALESCE(?2, provider),
                                     error = ?3, updated_at = ?4
             WHERE id = ?1",
            params![id, provider, truncated(error), now],
        )?;
        self.emit(id, now)
    }

    fn cancel_queued_of(
        &self,
        company_id: i64,
        rep_id: i64,
        now: i64,
    ) -> Result<usize, ServerError> {
        let ids = self.ids(
            "UPDATE sms_messages SET status = 'failed', error = ?3, updated_at = ?4
             WHERE company_id = ?1 AND rep_id = ?2 AND status = 'queued' AND attempted_at IS NULL
             RETURNING id",
            params![company_id, rep_id, CANCELLED_SWITCHED_OFF, now],
        )?;
        for id in &ids {
            self.emit(*id, now)?;
        }
        Ok(ids.len())
    }

    fn fail_interrupted(&self, claimed_before: i64, now: i64) -> Result<usize, ServerError> {
        // One conditional update: two processes starting at once fail each
        // message once (the second finds it no longer queued).
        let ids = self.ids(
            "UPDATE sms_messages SET status = 'failed', error = ?2, updated_at = ?3
             WHERE status = 'queued' AND attempted_at IS NOT NULL AND attempted_at < ?1
             RETURNING id",
            params![
                claimed_before,
                "interrupted while sending; not resent to avoid a duplicate SMS",
                now
            ],
        )?;
        for id in &ids {
            self.emit(*id, now)?;
        }
        Ok(ids.len())
    }

    fn apply_status(
        &self,
        provider: &str,
        provider_message_id: &str,
        status: DeliveryStatus,
        error: Option<&str>,
        now: i64,
    ) -> Result<Option<SmsRecord>, ServerError> {
        let new = status_of(status.as_str());
        // The forward-only rule in the statement itself: two reports at
        // once (two processes) cannot move a message backwards, since the
        // second re-reads the row the first changed before it writes.
        let id: Option<i64> = self
            .conn
            .query_row(
                &format!(
                    "UPDATE sms_messages SET status = ?3, error = COALESCE(?4, error), updated_at = ?5
                     WHERE id = (SELECT id FROM sms_messages
                                 WHERE provider = ?1 AND provider_message_id = ?2
                                 ORDER BY id DESC LIMIT 1)
                       AND {} < ?6
                     RETURNING id",
                    rank_sql()
                ),
                params![
                    provider,
                    provider_message_id,
                    new.as_str(),
                    error.map(truncated),
                    now,
                    rank(new)
                ],
                |r| r.get(0),
            )
            .optional()?;
        id.map(|id| self.emit(id, now)).transpose()
    }

    #[cfg(test)]
    fn get(&self, id: i64) -> Result<Option<SmsRecord>, ServerError> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {RECORD_COLS} FROM sms_messages WHERE id = ?1"),
                [id],
                record_from_row,
            )
            .optional()?
            .map(|(_, r)| r))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::sms_store::sms_queue;
    use crate::storage::testdb;
    use warmlead_core::phone::Phone;
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
        sms_queue(conn)
            .queue(
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
        assert!(
            sms_queue(&conn).due(NOW, 10).unwrap().is_empty(),
            "not due yet"
        );
        let d = sms_queue(&conn).due(NOW + 1000, 10).unwrap();
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].template_params, vec![("rep".into(), "李明".into())]);
        assert!(sms_queue(&conn).claim(rec.id, NOW + 1000).unwrap());
        assert!(
            !sms_queue(&conn).claim(rec.id, NOW + 1000).unwrap(),
            "claimed once"
        );
        assert!(sms_queue(&conn).due(NOW + 2000, 10).unwrap().is_empty());
        let receipt = ProviderReceipt {
            provider: "twilio".into(),
            provider_message_id: "SM1".into(),
            status: DeliveryStatus::Queued,
        };
        let sent = sms_queue(&conn)
            .mark_sent(rec.id, &receipt, NOW + 1500)
            .unwrap();
        assert_eq!((sent.status, sent.send_after_ms), (SmsStatus::Sent, None));
        let up = |s, e| {
            sms_queue(&conn)
                .apply_status("twilio", "SM1", s, e, NOW + 2000)
                .unwrap()
        };
        assert!(up(DeliveryStatus::Queued, None).is_none(), "no going back");
        assert!(sms_queue(&conn)
            .apply_status("aliyun", "SM1", DeliveryStatus::Delivered, None, NOW)
            .unwrap()
            .is_none());
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
        sms_queue(&conn)
            .mark_failed(b.id, Some("twilio"), "boom", NOW)
            .unwrap();
        let h = sms_queue(&conn)
            .history(phone.as_e164(), None, Rules::default().history_since(NOW))
            .unwrap();
        assert_eq!(h.sent.len(), 1, "failed ones do not count");
        assert!(!h.opted_out);
        let h = sms_queue(&conn)
            .history(
                phone.as_e164(),
                Some(a.id),
                Rules::default().history_since(NOW),
            )
            .unwrap();
        assert!(
            h.sent.is_empty(),
            "the message being re-checked is left out"
        );
        assert!(sms_queue(&conn)
            .opt_out(phone.as_e164(), "twilio", NOW)
            .unwrap());
        assert!(!sms_queue(&conn)
            .opt_out(phone.as_e164(), "aliyun", NOW)
            .unwrap());
        assert!(
            sms_queue(&conn)
                .history(
                    phone.as_e164(),
                    None,
                    Rules::default().history_since(NOW + 400 * DAY_MS),
                )
                .unwrap()
                .opted_out
        );
    }

    #[test]
    fn interrupted_sends_fail_instead_of_repeating() {
        let conn = db();
        let phone = Phone::parse("13800138000").unwrap();
        let rec = queue(&conn, &phone, NOW, NOW);
        sms_queue(&conn).claim(rec.id, NOW).unwrap();
        // A claim younger than the cut-off may be another process's send.
        assert_eq!(sms_queue(&conn).fail_interrupted(NOW, NOW + 1).unwrap(), 0);
        assert_eq!(
            sms_queue(&conn).fail_interrupted(NOW + 1, NOW + 1).unwrap(),
            1
        );
        let r = sms_queue(&conn).get(rec.id).unwrap().unwrap();
        assert_eq!(r.status, SmsStatus::Failed);
        assert!(r.error.unwrap().contains("interrupted"));
        assert_eq!(
            sms_queue(&conn).fail_interrupted(NOW + 2, NOW + 2).unwrap(),
            0
        );
    }

    /// The company, rep and one message handed to the provider as `SM9`,
    /// committed, on `conn`.
    fn sent_message(conn: &Connection) -> i64 {
        conn.execute_batch(
            "INSERT INTO companies (id, name, created_at) VALUES (1, 'Firma', 0);
             INSERT INTO users (id, company_id, role, name, phone, created_at)
             VALUES (2, 1, 'rep', 'Rep', '+8613900139000', 0);",
        )
        .unwrap();
        let phone = Phone::parse("13800138000").unwrap();
        let rec = queue(conn, &phone, NOW, NOW);
        let receipt = ProviderReceipt {
            provider: "twilio".into(),
            provider_message_id: "SM9".into(),
            status: DeliveryStatus::Sent,
        };
        sms_queue(conn).claim(rec.id, NOW).unwrap();
        sms_queue(conn).mark_sent(rec.id, &receipt, NOW).unwrap();
        rec.id
    }

    /// Two delivery reports for one message at once on PostgreSQL (two
    /// processes): "failed" is applied and not committed when "delivered"
    /// arrives, which waits on the row. Once the first commits, the second
    /// must find the message final and change nothing (a read-then-write
    /// would have passed its check on the old "sent" and overwritten it).
    #[test]
    fn two_reports_at_once_never_move_a_message_out_of_a_final_state() {
        let mut conns = testdb::postgres_connections(3);
        let (first, second, watcher) = (conns.remove(0), conns.remove(0), conns.remove(0));
        let id = sent_message(&first);
        first.execute_batch("BEGIN").unwrap();
        let failed = sms_queue(&first)
            .apply_status(
                "twilio",
                "SM9",
                DeliveryStatus::Failed,
                Some("30003"),
                NOW + 1,
            )
            .unwrap();
        assert_eq!(failed.map(|r| r.status), Some(SmsStatus::Failed));
        let racer = std::thread::spawn(move || {
            second.execute_batch("BEGIN").unwrap();
            let got = sms_queue(&second)
                .apply_status("twilio", "SM9", DeliveryStatus::Delivered, None, NOW + 2)
                .unwrap()
                .map(|r| r.status);
            second.execute_batch("COMMIT").unwrap();
            got
        });
        testdb::wait_for_lock_waiter(&watcher);
        first.execute_batch("COMMIT").unwrap();
        assert_eq!(
            racer.join().unwrap(),
            None,
            "the later report changed nothing"
        );
        let stored = sms_queue(&watcher).get(id).unwrap().unwrap();
        assert_eq!(stored.status, SmsStatus::Failed);
        assert_eq!(stored.error.as_deref(), Some("30003"));
    }

    /// Two runners starting at once on PostgreSQL (two processes) each fail
    /// the sends a crash interrupted: the second waits on the first's rows
    /// and then finds them failed already, so each message fails once and
    /// its rep hears of it once.
    #[test]
    fn two_runners_fail_an_interrupted_send_once() {
        let mut conns = testdb::postgres_connections(3);
        let (first, second, watcher) = (conns.remove(0), conns.remove(0), conns.remove(0));
        let phone = Phone::parse("13800138000").unwrap();
        first
            .execute_batch(
                "INSERT INTO companies (id, name, created_at) VALUES (1, 'Firma', 0);
                 INSERT INTO users (id, company_id, role, name, phone, created_at)
                 VALUES (2, 1, 'rep', 'Rep', '+8613900139000', 0);",
            )
            .unwrap();
        let rec = queue(&first, &phone, NOW, NOW);
        sms_queue(&first).claim(rec.id, NOW).unwrap();
        first.execute_batch("BEGIN").unwrap();
        assert_eq!(
            sms_queue(&first)
                .fail_interrupted(NOW + 1, NOW + 1)
                .unwrap(),
            1
        );
        let racer = std::thread::spawn(move || {
            second.execute_batch("BEGIN").unwrap();
            let n = sms_queue(&second)
                .fail_interrupted(NOW + 2, NOW + 2)
                .unwrap();
            second.execute_batch("COMMIT").unwrap();
            n
        });
        testdb::wait_for_lock_waiter(&watcher);
        first.execute_batch("COMMIT").unwrap();
        assert_eq!(racer.join().unwrap(), 0, "failed once");
        let told: i64 = watcher
            .query_row(
                "SELECT COUNT(*) FROM changes WHERE body LIKE '%\"status\":\"failed\"%'",
                (),
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(told, 1, "the rep hears of the failure once");
    }
}
