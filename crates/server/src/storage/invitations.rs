//! Invitations in the SQL both databases share ([`InvitationStore`]; the
//! interface and its types are `invitation_store.rs`). `B` is the backend's
//! own part, the accept's row lock ([`AcceptLock`]).
//!
//! The URL token is random (128 bits, base64url) and only its SHA-256 is a
//! column. The full URL goes out once, in the `ChangeBody::Invitation` the
//! rep's devices pull (they must show the QR again); `url_seq` points at
//! that change-log row so later answers and changes can repeat the URL.
//! That row is the one place the token rests in clear.
//!
//! Face-to-face and poster invitations are made on the rep's device with no
//! network (`warmlead_core::invite::offline`); the server records one the
//! first time it sees the token, one row either way (the unique
//! `token_hash`). Such a row remembers its device: once that device is
//! revoked or its user switched off, it reads as revoked.

use std::collections::HashSet;
use std::marker::PhantomData;

use crate::storage::sql::{self, params, Connection, OptionalExtension, Row};
use rand::Rng;
use warmlead_core::invite::{Invitation, InvitationStatus, InviteChannel};
use warmlead_core::phone::Phone;
use warmlead_core::sync::ChangeBody;

use super::accounts::sha256;
use super::changes::{self, Scope};
use super::invitation_store::{
    AcceptLock, InvitationStore, NewRow, OfflineRow, OtpCheck, OTP_MAX_ATTEMPTS, OTP_TTL_MS,
    SHORT_CODE_ALPHABET, SHORT_CODE_LEN,
};
use crate::error::ServerError;

pub(crate) struct InvitationSql<'c, B> {
    conn: &'c Connection,
    backend: PhantomData<B>,
}

impl<'c, B> InvitationSql<'c, B> {
    pub(crate) fn new(conn: &'c Connection) -> Self {
        InvitationSql {
            conn,
            backend: PhantomData,
        }
    }
}

/// The last column says whether the device that made it offline is gone,
/// revoked, or its user switched off.
const COLS: &str = "id, company_id, rep_id, channel, status, max_uses, uses, created_at,
                    expires_at, short_code, recipient_name, recipient_phone, url_seq,
                    (device_id IS NOT NULL AND NOT EXISTS (
                        SELECT 1 FROM devices d JOIN users u ON u.id = d.user_id
                        WHERE d.id = invitations.device_id
                          AND d.revoked_at IS NULL AND u.deactivated_at IS NULL))";

/// An invitation row and where its URL lives.
struct Stored {
    inv: Invitation,
    url_seq: i64,
    /// Made offline by a device that is revoked or switched off since.
    device_off: bool,
}

fn from_row(r: &Row) -> crate::storage::sql::Result<Stored> {
    let channel: String = r.get(3)?;
    let status: String = r.get(4)?;
    Ok(Stored {
        inv: Invitation {
            id: r.get(0)?,
            company_id: r.get(1)?,
            rep_id: r.get(2)?,
            channel: InviteChannel::parse(&channel).unwrap_or(InviteChannel::Qr),
            status: InvitationStatus::parse(&status).unwrap_or(InvitationStatus::Revoked),
            max_uses: r.get(5)?,
            uses: r.get(6)?,
            created_at_ms: r.get(7)?,
            expires_at_ms: r.get(8)?,
            url: String::new(),
            short_code: r.get(9)?,
            recipient_name: r.get(10)?,
            recipient_phone: r.get(11)?,
        },
        url_seq: r.get(12)?,
        device_off: r.get(13)?,
    })
}

/// The URL, read back from the change that first carried it.
fn url_of(conn: &Connection, url_seq: i64) -> Result<String, ServerError> {
    let body: Option<String> = conn
        .query_row("SELECT body FROM changes WHERE seq = ?1", [url_seq], |r| {
            r.get(0)
        })
        .optional()?;
    match body
        .map(|b| serde_json::from_str::<ChangeBody>(&b))
        .transpose()?
    {
        Some(ChangeBody::Invitation(i)) => Ok(i.url),
        _ => Ok(String::new()),
    }
}

fn query_one(
    conn: &Connection,
    condition: &str,
    args: impl crate::storage::sql::Params,
) -> Result<Option<Invitation>, ServerError> {
    let row = conn
        .query_row(
            &format!("SELECT {COLS} FROM invitations WHERE {condition}"),
            args,
            from_row,
        )
        .optional()?;
    match row {
        Some(Stored {
            mut inv,
            url_seq,
            device_off,
        }) => {
            inv.url = url_of(conn, url_seq)?;
            if device_off {
                // Its device was revoked (or its user switched off): the
                // invitation stops working, as if revoked.
                inv.status = InvitationStatus::Revoked;
            }
            Ok(Some(inv))
        }
        None => Ok(None),
    }
}

fn random_short_code() -> String {
    let mut rng = rand::thread_rng();
    (0..SHORT_CODE_LEN)
        .map(|_| SHORT_CODE_ALPHABET[rng.gen_range(0..SHORT_CODE_ALPHABET.len())] as char)
        .collect()
}

/// Upper-case, without spaces and dashes, so `k7q 4m2` finds `K7Q4M2`.
pub(crate) fn normalize_short_code(code: &str) -> String {
    super::accounts::normalize_code(code)
}

/// A short code no other invitation has, for an offline invitation whose
/// derived code is taken: one nobody can type.
fn fallback_short_code(token: &str) -> String {
    let hash = sha256(token.as_bytes());
    let hex: String = hash[..6].iter().map(|b| format!("{b:02x}")).collect();
    format!("~{hex}")
}

/// Appends the invitation's current state for the rep's devices (and
/// managers) and returns the change's seq.
fn emit(tx: &Connection, inv: &Invitation, now: i64) -> Result<i64, ServerError> {
    changes::append(
        tx,
        inv.company_id,
        Scope::Scoped {
            rep_id: Some(inv.rep_id),
            partner_id: None,
        },
        &ChangeBody::Invitation(inv.clone()),
        now,
    )
}

fn emit_each(tx: &Connection, ids: &[i64], now: i64) -> Result<(), ServerError> {
    for id in ids {
        if let Some(inv) = query_one(tx, "id = ?1", [*id])? {
            emit(tx, &inv, now)?;
        }
    }
    Ok(())
}

/// Keyed with the server secret and bound to the invitation and phone, so a
/// leaked table does not give six-digit codes away by brute force alone.
fn otp_hash(master: &[u8], invitation_id: i64, phone: &str, code: &str) -> Vec<u8> {
    let mut data = Vec::with_capacity(master.len() + 64);
    data.extend_from_slice(b"warmlead-invite-otp-v1\0");
    data.extend_from_slice(master);
    data.extend_from_slice(format!("\0{invitation_id}\0{phone}\0{code}").as_bytes());
    sha256(&data)
}

/// The company's phones among `phones` (also the reps' import's check).
pub(crate) fn taken_phones(
    conn: &Connection,
    company_id: i64,
    phones: &[String],
) -> Result<HashSet<String>, ServerError> {
    let mut taken = HashSet::new();
    let mut exists = conn.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM users WHERE company_id = ?1 AND phone = ?2)",
    )?;
    for phone in phones {
        if exists.query_row(params![company_id, phone], |row| row.get(0))? {
            taken.insert(phone.clone());
        }
    }
    Ok(taken)
}

impl<B: AcceptLock> InvitationStore for InvitationSql<'_, B> {
    fn insert(&self, row: &NewRow<'_>) -> Result<(i64, String), ServerError> {
        let token_hash = sha256(row.token.as_bytes());
        for _ in 0..20 {
            let code = random_short_code();
            let inserted = self.conn.savepoint(|sp| {
                sp.query_row(
                    "INSERT INTO invitations (company_id, rep_id, channel, status, max_uses, uses,
                                              token_hash, short_code, created_at, expires_at,
                                              updated_at, recipient_name, recipient_phone)
                     VALUES (?1, ?2, ?3, 'pending', ?4, 0, ?5, ?6, ?7, ?8, ?7, ?9, ?10) RETURNING id",
                    params![
                        row.company_id,
                        row.rep_id,
                        row.channel.as_str(),
                        row.max_uses,
                        token_hash.clone(),
                        code.clone(),
                        row.created_at_ms,
                        row.expires_at_ms,
                        row.recipient_name,
                        row.recipient_phone
                    ],
                    |r| r.get::<_, i64>(0),
                )
            });
            match inserted {
                Ok(id) => return Ok((id, code)),
                // A taken code is drawn again; the savepoint keeps the
                // transaction going.
                Err(sql::Error::Unique(m)) if m.contains("short_code") => {}
                Err(e) => return Err(e.into()),
            }
        }
        // 31^6 ≈ 887 million codes: twenty collisions in a row means something is wrong.
        Err(ServerError::Conflict(
            "could not draw a free short code; try again".into(),
        ))
    }

    fn insert_offline(&self, row: &OfflineRow<'_>) -> Result<Option<(i64, String)>, ServerError> {
        let token_hash = sha256(row.token.as_bytes());
        let insert = |c: &Connection, code: &str| -> Result<Option<i64>, sql::Error> {
            c.query_row(
                "INSERT INTO invitations (company_id, rep_id, channel, status, max_uses, uses,
                                          token_hash, short_code, created_at, expires_at,
                                          updated_at, device_id, invite_no)
                 VALUES (?1, ?2, ?3, 'pending', ?4, 0, ?5, ?6, ?7, ?8, ?7, ?9, ?10)
                 ON CONFLICT (token_hash) DO NOTHING RETURNING id",
                params![
                    row.company_id,
                    row.rep_id,
                    row.channel.as_str(),
                    row.max_uses,
                    token_hash.clone(),
                    code,
                    row.created_at_ms,
                    row.expires_at_ms,
                    row.device_id,
                    row.invite_no
                ],
                |r| r.get::<_, i64>(0),
            )
            .optional()
        };
        match self.conn.savepoint(|sp| insert(sp, row.short_code)) {
            Err(sql::Error::Unique(m)) if m.contains("short_code") => {
                let fallback = fallback_short_code(row.token);
                Ok(insert(self.conn, &fallback)?.map(|id| (id, fallback)))
            }
            other => Ok(other?.map(|id| (id, row.short_code.to_string()))),
        }
    }

    fn record_url(&self, inv: &Invitation, now: i64) -> Result<(), ServerError> {
        let seq = emit(self.conn, inv, now)?;
        self.conn.execute(
            "UPDATE invitations SET url_seq = ?1 WHERE id = ?2",
            params![seq, inv.id],
        )?;
        Ok(())
    }

    fn changed(&self, inv: &Invitation, now: i64) -> Result<(), ServerError> {
        emit(self.conn, inv, now).map(|_| ())
    }

    fn set_created_at(
        &self,
        company_id: i64,
        id: i64,
        created_at_ms: i64,
    ) -> Result<(), ServerError> {
        self.conn.execute(
            "UPDATE invitations SET created_at = ?1 WHERE id = ?2 AND company_id = ?3",
            params![created_at_ms, id, company_id],
        )?;
        Ok(())
    }

    fn get(&self, id: i64) -> Result<Option<Invitation>, ServerError> {
        query_one(self.conn, "id = ?1", [id])
    }

    fn find_by_token(&self, token: &str) -> Result<Option<Invitation>, ServerError> {
        query_one(self.conn, "token_hash = ?1", [sha256(token.as_bytes())])
    }

    fn find_by_short_code(&self, code: &str, now: i64) -> Result<Option<Invitation>, ServerError> {
        let code = normalize_short_code(code);
        if code.len() != SHORT_CODE_LEN {
            return Ok(None);
        }
        // One its rep's switch-off closed is found too, so the page can say it
        // is closed rather than that the code is wrong.
        query_one(
            self.conn,
            "short_code = ?1 AND (status = 'pending' OR closed_by_switch_off IS NOT NULL)
               AND expires_at > ?2
             ORDER BY id DESC LIMIT 1",
            params![code, now],
        )
    }

    fn lock_for_accept(&self, id: i64) -> Result<(), ServerError> {
        B::lock_for_accept(self.conn, id)
    }

    fn count_use(
        &self,
        id: i64,
        from_uses: i64,
        to_uses: i64,
        status: InvitationStatus,
        now: i64,
    ) -> Result<bool, ServerError> {
        let counted = self.conn.execute(
            "UPDATE invitations SET uses = ?1, status = ?2, updated_at = ?3
             WHERE id = ?4 AND uses = ?5 AND status = 'pending'
               AND (max_uses IS NULL OR uses < max_uses)",
            params![to_uses, status.as_str(), now, id, from_uses],
        )?;
        Ok(counted == 1)
    }

    fn revoke(&self, id: i64, now: i64) -> Result<bool, ServerError> {
        let revoked = self
            .conn
            .query_row(
                "UPDATE invitations SET status = 'revoked', updated_at = ?1
                 WHERE id = ?2 AND status = 'pending' RETURNING id",
                params![now, id],
                |r| r.get::<_, i64>(0),
            )
            .optional()?;
        Ok(revoked.is_some())
    }

    fn close_for_switch_off(
        &self,
        company_id: i64,
        rep_id: i64,
        now: i64,
    ) -> Result<usize, ServerError> {
        let ids: Vec<i64> = self
            .conn
            .prepare(
                "UPDATE invitations SET status = 'revoked', closed_by_switch_off = ?3, updated_at = ?3
                 WHERE company_id = ?1 AND rep_id = ?2 AND status = 'pending'
                 RETURNING id",
            )?
            .query_map(params![company_id, rep_id, now], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        emit_each(self.conn, &ids, now)?;
        Ok(ids.len())
    }

    fn reopen_after_switch_on(
        &self,
        company_id: i64,
        rep_id: i64,
        now: i64,
    ) -> Result<usize, ServerError> {
        let ids: Vec<i64> = self
            .conn
            .prepare(
                "UPDATE invitations SET status = 'pending', closed_by_switch_off = NULL, updated_at = ?3
                 WHERE company_id = ?1 AND rep_id = ?2 AND status = 'revoked'
                   AND closed_by_switch_off IS NOT NULL
                 RETURNING id",
            )?
            .query_map(params![company_id, rep_id, now], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        emit_each(self.conn, &ids, now)?;
        Ok(ids.len())
    }

    fn keep_closed_after_switch_on(&self, company_id: i64, rep_id: i64) -> Result<(), ServerError> {
        self.conn.execute(
            "UPDATE invitations SET closed_by_switch_off = NULL
             WHERE company_id = ?1 AND rep_id = ?2 AND closed_by_switch_off IS NOT NULL",
            params![company_id, rep_id],
        )?;
        Ok(())
    }

    fn new_otp(
        &self,
        master: &[u8],
        invitation_id: i64,
        phone: &Phone,
        now: i64,
    ) -> Result<String, ServerError> {
        let code = format!("{:06}", rand::thread_rng().gen_range(0..1_000_000));
        let hash = otp_hash(master, invitation_id, phone.as_e164(), &code);
        let mut tries = 0;
        loop {
            let stored = self.conn.savepoint(|sp| {
                sp.execute(
                    "UPDATE invitation_otps SET used_at = ?1
                     WHERE invitation_id = ?2 AND phone = ?3 AND used_at IS NULL",
                    params![now, invitation_id, phone.as_e164()],
                )?;
                sp.execute(
                    "INSERT INTO invitation_otps (invitation_id, phone, code_hash, created_at, expires_at)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![
                        invitation_id,
                        phone.as_e164(),
                        hash.clone(),
                        now,
                        now + OTP_TTL_MS
                    ],
                )
            });
            match stored {
                Ok(_) => return Ok(code),
                // Another code for this phone committed while this one waited
                // on the index: retiring again sees it.
                Err(sql::Error::Unique(_)) if tries < 3 => tries += 1,
                Err(e) => return Err(e.into()),
            }
        }
    }

    fn check_otp(
        &self,
        master: &[u8],
        invitation_id: i64,
        phone: &Phone,
        code: &str,
        now: i64,
    ) -> Result<OtpCheck, ServerError> {
        let code: String = code.chars().filter(char::is_ascii_digit).collect();
        let hash = otp_hash(master, invitation_id, phone.as_e164(), &code);
        let counted: Option<(Option<i64>, i64)> = self
            .conn
            .query_row(
                "UPDATE invitation_otps
                 SET attempts = attempts + 1,
                     used_at = CASE WHEN code_hash = ?4 THEN ?3 ELSE NULL END
                 WHERE id = (SELECT id FROM invitation_otps
                             WHERE invitation_id = ?1 AND phone = ?2 AND used_at IS NULL
                               AND expires_at > ?3
                             ORDER BY id DESC LIMIT 1)
                   AND used_at IS NULL AND expires_at > ?3 AND attempts < ?5
                 RETURNING used_at, attempts",
                params![invitation_id, phone.as_e164(), now, hash, OTP_MAX_ATTEMPTS],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        Ok(match counted {
            Some((Some(_), _)) => OtpCheck::Ok,
            Some((None, attempts)) if attempts >= OTP_MAX_ATTEMPTS => OtpCheck::Locked,
            Some((None, _)) => OtpCheck::Wrong,
            // Nothing counted: no open code, or its tries are used up.
            None => {
                let open: Option<i64> = self
                    .conn
                    .query_row(
                        "SELECT attempts FROM invitation_otps
                         WHERE invitation_id = ?1 AND phone = ?2 AND used_at IS NULL
                           AND expires_at > ?3
                         ORDER BY id DESC LIMIT 1",
                        params![invitation_id, phone.as_e164(), now],
                        |r| r.get(0),
                    )
                    .optional()?;
                match open {
                    Some(_) => OtpCheck::Locked,
                    None => OtpCheck::Missing,
                }
            }
        })
    }

    fn accepted_since(
        &self,
        company_id: i64,
        rep_id: Option<i64>,
        after: i64,
        upto: i64,
    ) -> Result<Option<i64>, ServerError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT body FROM changes
             WHERE company_id = ?1 AND seq > ?2 AND seq <= ?3 AND stream = 'sync'
               AND body LIKE '{\"entity\":\"invitation\"%'
               AND (?4 = 0 OR rep_id = ?5)
             ORDER BY seq DESC",
        )?;
        let (only_rep, rep_id) = (i64::from(rep_id.is_some()), rep_id.unwrap_or(0));
        let rows = stmt.query_map(params![company_id, after, upto, only_rep, rep_id], |r| {
            r.get::<_, String>(0)
        })?;
        for body in rows {
            if let Ok(ChangeBody::Invitation(inv)) = serde_json::from_str(&body?) {
                // Creation has no uses and a revoke says revoked: only accepts remain.
                if inv.uses > 0 && inv.status != InvitationStatus::Revoked {
                    return Ok(Some(inv.id));
                }
            }
        }
        Ok(None)
    }

    fn taken_phones(
        &self,
        company_id: i64,
        phones: &[String],
    ) -> Result<HashSet<String>, ServerError> {
        taken_phones(self.conn, company_id, phones)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::invitation_store::invitation_store;

    const NOW: i64 = 1_800_000_000_000;

    fn db() -> Connection {
        let conn = crate::storage::testdb::connection();
        conn.execute_batch(
            "INSERT INTO companies (id, name, created_at) VALUES (1, '暖居装修', 0);
             INSERT INTO users (id, company_id, role, name, phone, created_at)
             VALUES (2, 1, 'rep', '李明', '+8613900139000', 0);
             INSERT INTO users (id, company_id, role, name, phone, created_at)
             VALUES (3, 1, 'rep', '赵强', '+8613800138000', 0);",
        )
        .unwrap();
        // As in the server, each test runs in a transaction (the short
        // code's retry is a savepoint).
        crate::storage::testdb::begin(&conn);
        conn
    }

    fn made(conn: &Connection, rep_id: i64, token: &str, max_uses: Option<i64>) -> Invitation {
        let store = invitation_store(conn);
        let (id, short_code) = store
            .insert(&NewRow {
                company_id: 1,
                rep_id,
                channel: InviteChannel::Poster,
                max_uses,
                expires_at_ms: NOW + 3_600_000,
                token,
                created_at_ms: NOW,
                recipient_name: None,
                recipient_phone: None,
            })
            .unwrap();
        let inv = Invitation {
            id,
            company_id: 1,
            rep_id,
            channel: InviteChannel::Poster,
            status: InvitationStatus::Pending,
            max_uses,
            uses: 0,
            created_at_ms: NOW,
            expires_at_ms: NOW + 3_600_000,
            url: format!("https://x.test/i/{token}"),
            short_code,
            recipient_name: None,
            recipient_phone: None,
        };
        store.record_url(&inv, NOW).unwrap();
        inv
    }

    #[test]
    fn short_codes_normalize() {
        assert_eq!(normalize_short_code(" k7q-4m2 "), "K7Q4M2");
    }

    #[test]
    fn a_stored_invitation_reads_back_with_its_url_by_id_token_and_code() {
        let conn = db();
        let inv = made(&conn, 2, "tok-a", Some(2));
        let store = invitation_store(&conn);
        let got = store.get(inv.id).unwrap().unwrap();
        assert_eq!(got.url, inv.url);
        assert_eq!(got.short_code, inv.short_code);
        assert_eq!(store.find_by_token("tok-a").unwrap().unwrap().id, inv.id);
        assert!(store.find_by_token("tok-b").unwrap().is_none());
        let typed = format!(" {}-", inv.short_code.to_lowercase());
        assert_eq!(
            store.find_by_short_code(&typed, NOW).unwrap().unwrap().id,
            inv.id
        );
        // Expired: the code no longer finds it.
        assert!(store
            .find_by_short_code(&inv.short_code, NOW + 3_600_000)
            .unwrap()
            .is_none());
    }

    #[test]
    fn uses_are_counted_only_from_the_uses_read_and_under_the_limit() {
        let conn = db();
        let inv = made(&conn, 2, "tok-a", Some(1));
        let store = invitation_store(&conn);
        store.lock_for_accept(inv.id).unwrap();
        assert!(store
            .count_use(inv.id, 0, 1, InvitationStatus::Accepted, NOW)
            .unwrap());
        // The same count again (a second accept that read 0 uses) misses.
        assert!(!store
            .count_use(inv.id, 0, 1, InvitationStatus::Accepted, NOW)
            .unwrap());
        // Accepted: a revoke leaves it so.
        assert!(!store.revoke(inv.id, NOW).unwrap());
        let got = store.get(inv.id).unwrap().unwrap();
        assert_eq!((got.status, got.uses), (InvitationStatus::Accepted, 1));
    }

    #[test]
    fn a_switch_off_closes_and_reopens_only_the_reps_pending_invitations() {
        let conn = db();
        let open = made(&conn, 2, "tok-a", None);
        let by_hand = made(&conn, 2, "tok-b", None);
        let others = made(&conn, 3, "tok-c", None);
        let store = invitation_store(&conn);
        assert!(store.revoke(by_hand.id, NOW).unwrap());
        assert_eq!(store.close_for_switch_off(1, 2, NOW).unwrap(), 1);
        let status = |id| store.get(id).unwrap().unwrap().status;
        assert_eq!(status(open.id), InvitationStatus::Revoked);
        assert_eq!(status(others.id), InvitationStatus::Pending);
        assert_eq!(store.reopen_after_switch_on(1, 2, NOW).unwrap(), 1);
        assert_eq!(status(open.id), InvitationStatus::Pending);
        assert_eq!(status(by_hand.id), InvitationStatus::Revoked);
    }

    #[test]
    fn accepts_are_found_for_their_rep_or_any_for_a_manager() {
        let conn = db();
        let inv = made(&conn, 3, "tok-a", None);
        let store = invitation_store(&conn);
        let before: i64 = conn
            .query_row("SELECT COALESCE(MAX(seq), 0) FROM changes", (), |r| {
                r.get(0)
            })
            .unwrap();
        assert!(store
            .count_use(inv.id, 0, 1, InvitationStatus::Pending, NOW)
            .unwrap());
        let accepted = Invitation {
            uses: 1,
            ..inv.clone()
        };
        store.changed(&accepted, NOW).unwrap();
        let upto = before + 10;
        assert_eq!(
            store.accepted_since(1, Some(3), before, upto).unwrap(),
            Some(inv.id)
        );
        assert_eq!(
            store.accepted_since(1, None, before, upto).unwrap(),
            Some(inv.id)
        );
        assert_eq!(
            store.accepted_since(1, Some(2), before, upto).unwrap(),
            None
        );
        assert_eq!(store.accepted_since(2, None, before, upto).unwrap(), None);
    }

    #[test]
    fn taken_phones_are_the_companys_own() {
        let conn = db();
        let phones = ["+8613900139000".to_string(), "+8613700137000".to_string()];
        let taken = invitation_store(&conn).taken_phones(1, &phones).unwrap();
        assert_eq!(taken, HashSet::from(["+8613900139000".to_string()]));
        assert!(invitation_store(&conn)
            .taken_phones(2, &phones)
            .unwrap()
            .is_empty());
    }
}
