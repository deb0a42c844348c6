//! Invitations: a rep's link (QR, SMS, poster) that makes whoever opens it
//! and fills the form a partner bound to that rep.
//!
//! The URL token is random (128 bits, base64url) and only its SHA-256 is a
//! column. The full URL goes out once, in the `ChangeBody::Invitation` the
//! rep's devices pull (they must show the QR again); `url_seq` points at
//! that change-log row so later answers and changes can repeat the URL.
//! That row is the one place the token rests in clear.

use crate::storage::sql::{self, params, Connection, OptionalExtension, Row};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::{Rng, RngCore};
use warmlead_core::domain::{Company, Role, User};
use warmlead_core::invite::{
    Invitation, InvitationStatus, InviteChannel, NewInvitation, MAX_INVITATION_HOURS,
};
use warmlead_core::phone::Phone;
use warmlead_core::sync::ChangeBody;

use super::accounts::{self, sha256};
use super::changes::{self, Scope};
use super::{Caller, Database, Secrets};
use crate::error::ServerError;
use warmlead_core::invite::{accept, terms};
use warmlead_core::visibility::Managed;

/// No 0/O, 1/I/L: short codes are read off a screen and typed by hand.
pub(crate) const SHORT_CODE_ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
pub(crate) const SHORT_CODE_LEN: usize = 6;

const COLS: &str = "id, company_id, rep_id, channel, status, max_uses, uses, created_at,
                    expires_at, short_code, recipient_name, recipient_phone, url_seq";

/// An invitation row and where its URL lives.
struct Stored {
    inv: Invitation,
    url_seq: i64,
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
        Some(Stored { mut inv, url_seq }) => {
            inv.url = url_of(conn, url_seq)?;
            Ok(Some(inv))
        }
        None => Ok(None),
    }
}

/// Why an invitation cannot be made, in the API's words.
fn refused(why: terms::Refused) -> ServerError {
    match why {
        terms::Refused::NotAnInviter => {
            ServerError::Forbidden("only reps and managers can invite partners".into())
        }
        terms::Refused::BadHours(h) => ServerError::InvalidInput(format!(
            "expires_in_hours must be 1 to {MAX_INVITATION_HOURS} ({} days), got {h}",
            MAX_INVITATION_HOURS / 24
        )),
    }
}

fn random_token() -> String {
    let mut bytes = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A short code not used by another pending, unexpired invitation.
fn random_short_code() -> String {
    let mut rng = rand::thread_rng();
    (0..SHORT_CODE_LEN)
        .map(|_| SHORT_CODE_ALPHABET[rng.gen_range(0..SHORT_CODE_ALPHABET.len())] as char)
        .collect()
}

/// Inserts the invitation under a fresh short code: the database's unique
/// index on `short_code` decides (two writers drawing the same code at
/// once cannot both win); a taken code is drawn again, in a savepoint so
/// the transaction goes on.
fn insert_with_short_code(
    tx: &Connection,
    insert: impl Fn(&Connection, &str) -> Result<i64, ServerError>,
) -> Result<(i64, String), ServerError> {
    for _ in 0..20 {
        let code = random_short_code();
        match tx.savepoint(|sp| insert(sp, &code)) {
            Ok(id) => return Ok((id, code)),
            Err(ServerError::Database(sql::Error::Unique(m))) if m.contains("short_code") => {}
            Err(e) => return Err(e),
        }
    }
    // 31^6 ≈ 887 million codes: twenty collisions in a row means something is wrong.
    Err(ServerError::Conflict(
        "could not draw a free short code; try again".into(),
    ))
}

/// Upper-case, without spaces and dashes, so `k7q 4m2` finds `K7Q4M2`.
pub(crate) fn normalize_short_code(code: &str) -> String {
    accounts::normalize_code(code)
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

/// Creates an invitation by `rep` (a rep or a manager) and appends it to the
/// change log, in the caller's transaction. `public_url` has no trailing slash.
pub(crate) fn create(
    tx: &Connection,
    rep: &User,
    new: &NewInvitation,
    recipient: Option<(&str, &Phone)>,
    public_url: &str,
    now: i64,
) -> Result<Invitation, ServerError> {
    let terms = terms::terms(rep.role, new, now).map_err(refused)?;
    let recipient_name = recipient
        .map(|(name, _)| accounts::checked_name(name))
        .transpose()?;
    let recipient_phone = recipient.map(|(_, p)| p.as_e164().to_string());
    let token = random_token();
    let (max_uses, expires_at) = (terms.max_uses, terms.expires_at_ms);
    let token_hash = sha256(token.as_bytes());
    let (new_id, short_code) = insert_with_short_code(tx, |c, short_code| {
        Ok(c.query_row(
            "INSERT INTO invitations (company_id, rep_id, channel, status, max_uses, uses, token_hash,
                                      short_code, created_at, expires_at, updated_at,
                                      recipient_name, recipient_phone)
             VALUES (?1, ?2, ?3, 'pending', ?4, 0, ?5, ?6, ?7, ?8, ?7, ?9, ?10) RETURNING id",
            params![
                rep.company_id,
                rep.id,
                new.channel.as_str(),
                max_uses,
                token_hash,
                short_code,
                now,
                expires_at,
                recipient_name,
                recipient_phone
            ],
            |r| r.get::<_, i64>(0),
        )?)
    })?;
    let inv = Invitation {
        id: new_id,
        company_id: rep.company_id,
        rep_id: rep.id,
        channel: new.channel,
        status: InvitationStatus::Pending,
        max_uses,
        uses: 0,
        created_at_ms: now,
        expires_at_ms: expires_at,
        url: format!("{public_url}/i/{token}"),
        short_code,
        recipient_name,
        recipient_phone,
    };
    let seq = emit(tx, &inv, now)?;
    tx.execute(
        "UPDATE invitations SET url_seq = ?1 WHERE id = ?2",
        params![seq, inv.id],
    )?;
    Ok(inv)
}

/// An invitation by id, as stored (use `status_at` for expiry).
pub(crate) fn get(conn: &Connection, id: i64) -> Result<Option<Invitation>, ServerError> {
    query_one(conn, "id = ?1", [id])
}

/// The invitation whose URL token this is.
pub(crate) fn find_by_token(
    conn: &Connection,
    token: &str,
) -> Result<Option<Invitation>, ServerError> {
    query_one(conn, "token_hash = ?1", [sha256(token.as_bytes())])
}

/// The pending, unexpired invitation with this short code (any case, spaces
/// and dashes ignored).
pub(crate) fn find_by_short_code(
    conn: &Connection,
    code: &str,
    now: i64,
) -> Result<Option<Invitation>, ServerError> {
    let code = normalize_short_code(code);
    if code.len() != SHORT_CODE_LEN {
        return Ok(None);
    }
    query_one(
        conn,
        "short_code = ?1 AND status = 'pending' AND expires_at > ?2
         ORDER BY id DESC LIMIT 1",
        params![code, now],
    )
}

/// The invitation `caller` may manage: their own, or any of the company's
/// for a manager. Others' (and other companies') are "not found".
pub(crate) fn get_for(
    conn: &Connection,
    caller: &User,
    id: i64,
) -> Result<Invitation, ServerError> {
    let not_found = || ServerError::NotFound(format!("no invitation {id}"));
    let inv = get(conn, id)?.ok_or_else(not_found)?;
    let visible = inv.company_id == caller.company_id
        && Managed::of(caller.role, caller.id).covers(Some(inv.rep_id));
    if visible {
        Ok(inv)
    } else {
        Err(not_found())
    }
}

/// Revokes an invitation (idempotent; an accepted one stays accepted).
pub(crate) fn revoke(
    tx: &Connection,
    caller: &User,
    id: i64,
    now: i64,
) -> Result<Invitation, ServerError> {
    let mut inv = get_for(tx, caller, id)?;
    if inv.status == InvitationStatus::Pending {
        tx.execute(
            "UPDATE invitations SET status = 'revoked', updated_at = ?1 WHERE id = ?2",
            params![now, id],
        )?;
        inv.status = InvitationStatus::Revoked;
        emit(tx, &inv, now)?;
    }
    Ok(inv)
}

pub(crate) use warmlead_core::invite::accept::{closed_reason, Closed};

/// What accepting did.
#[derive(Debug)]
pub(crate) enum Accepted {
    /// A new partner, with a one-time activation code (plaintext, shown once).
    Joined {
        partner: User,
        activation_code: String,
    },
    /// The phone already belongs to someone in the company: nothing written.
    AlreadyMember,
    /// An SMS invitation accepted with another number than it was sent to.
    NotTheRecipient,
    Closed(Closed),
}

/// Whether `phone` may accept `inv` (`invite::accept::is_for_phone`).
pub(crate) fn is_for_phone(inv: &Invitation, phone: &Phone) -> bool {
    accept::is_for_phone(inv, phone.as_e164())
}

/// Accepts invitation `id` for a person: creates the partner bound to the
/// inviting rep, counts the use, emits both changes and makes an activation
/// code, all in the caller's transaction. `name` and `phone` are checked here.
pub(crate) fn accept(
    tx: &Connection,
    id: i64,
    name: &str,
    phone: &Phone,
    now: i64,
) -> Result<Accepted, ServerError> {
    lock_for_accept(tx, id)?;
    let mut inv =
        get(tx, id)?.ok_or_else(|| ServerError::NotFound(format!("no invitation {id}")))?;
    if let Some(why) = closed_reason(&inv, now) {
        return Ok(Accepted::Closed(why));
    }
    let name = accounts::checked_name(name)?;
    let already_member = accounts::user_by_phone(tx, inv.company_id, phone.as_e164())?.is_some();
    let inviter = accounts::get_user(tx, inv.rep_id)?
        .ok_or_else(|| ServerError::NotFound(format!("no user {}", inv.rep_id)))?;
    let facts = accept::Facts {
        already_member,
        inviter_id: inviter.id,
        inviter_role: inviter.role,
    };
    let join = match accept::decide(&inv, phone.as_e164(), facts) {
        accept::Decision::NotTheRecipient => return Ok(Accepted::NotTheRecipient),
        accept::Decision::AlreadyMember => return Ok(Accepted::AlreadyMember),
        accept::Decision::Join(join) => join,
    };
    // The number's unique index decides between two invitations accepted
    // by one number at the same moment (another invitation's row lock does
    // not order them).
    let partner = tx.savepoint(|sp| {
        accounts::insert_user(
            sp,
            User {
                id: 0,
                company_id: inv.company_id,
                role: Role::Partner,
                name,
                phone: Some(phone.as_e164().to_string()),
                rep_id: join.rep_id,
                joined_at_ms: now,
                source: Some(join.source),
                invited_by: Some(join.invited_by),
                invitation_id: Some(inv.id),
            },
        )
    });
    let partner = match partner {
        Err(ServerError::Database(sql::Error::Unique(_))) => return Ok(Accepted::AlreadyMember),
        other => other?,
    };
    accounts::emit_user(tx, &partner, now)?;
    inv.uses = join.uses;
    inv.status = join.status;
    tx.execute(
        "UPDATE invitations SET uses = ?1, status = ?2, updated_at = ?3 WHERE id = ?4",
        params![inv.uses, inv.status.as_str(), now, inv.id],
    )?;
    emit(tx, &inv, now)?;
    let activation_code = accounts::create_activation_code(tx, partner.id)?;
    Ok(Accepted::Joined {
        partner,
        activation_code,
    })
}

/// Two people accepting one multi-use invitation at the same moment (two
/// processes on PostgreSQL) must not both count its uses from the same
/// number: the second waits for the first's commit. SQLite's single
/// writer already runs them one after the other.
fn lock_for_accept(tx: &Connection, id: i64) -> Result<(), ServerError> {
    if tx.dialect() == sql::Dialect::Postgres {
        tx.execute("SELECT id FROM invitations WHERE id = ?1 FOR UPDATE", [id])?;
    }
    Ok(())
}

/// One-time codes (SMS) before accepting, when a real provider is configured.
pub(crate) const OTP_TTL_MS: i64 = 10 * 60 * 1000;
pub(crate) const OTP_MAX_ATTEMPTS: i64 = 5;

/// Keyed with the server secret and bound to the invitation and phone, so a
/// leaked table does not give six-digit codes away by brute force alone.
fn otp_hash(master: &[u8], invitation_id: i64, phone: &str, code: &str) -> Vec<u8> {
    let mut data = Vec::with_capacity(master.len() + 64);
    data.extend_from_slice(b"warmlead-invite-otp-v1\0");
    data.extend_from_slice(master);
    data.extend_from_slice(format!("\0{invitation_id}\0{phone}\0{code}").as_bytes());
    sha256(&data)
}

/// Stores a fresh code for (invitation, phone), replacing earlier ones, and
/// returns it in clear to be sent.
pub(crate) fn new_otp(
    tx: &Connection,
    master: &[u8],
    invitation_id: i64,
    phone: &Phone,
    now: i64,
) -> Result<String, ServerError> {
    let code = format!("{:06}", rand::thread_rng().gen_range(0..1_000_000));
    tx.execute(
        "UPDATE invitation_otps SET used_at = ?1
         WHERE invitation_id = ?2 AND phone = ?3 AND used_at IS NULL",
        params![now, invitation_id, phone.as_e164()],
    )?;
    tx.execute(
        "INSERT INTO invitation_otps (invitation_id, phone, code_hash, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            invitation_id,
            phone.as_e164(),
            otp_hash(master, invitation_id, phone.as_e164(), &code),
            now,
            now + OTP_TTL_MS
        ],
    )?;
    Ok(code)
}

/// What checking a one-time code found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OtpCheck {
    Ok,
    /// None sent to this phone, or it expired or was used.
    Missing,
    Wrong,
    /// Too many wrong tries: a new code must be asked for.
    Locked,
}

/// Checks (and on success spends) the code; a wrong try counts, and must be
/// committed even though nothing else is written.
pub(crate) fn check_otp(
    tx: &Connection,
    master: &[u8],
    invitation_id: i64,
    phone: &Phone,
    code: &str,
    now: i64,
) -> Result<OtpCheck, ServerError> {
    let row: Option<(i64, Vec<u8>, i64)> = tx
        .query_row(
            "SELECT id, code_hash, attempts FROM invitation_otps
             WHERE invitation_id = ?1 AND phone = ?2 AND used_at IS NULL AND expires_at > ?3
             ORDER BY id DESC LIMIT 1",
            params![invitation_id, phone.as_e164(), now],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let Some((id, hash, attempts)) = row else {
        return Ok(OtpCheck::Missing);
    };
    if attempts >= OTP_MAX_ATTEMPTS {
        return Ok(OtpCheck::Locked);
    }
    let code: String = code.chars().filter(char::is_ascii_digit).collect();
    if otp_hash(master, invitation_id, phone.as_e164(), &code) == hash {
        tx.execute(
            "UPDATE invitation_otps SET used_at = ?1 WHERE id = ?2",
            params![now, id],
        )?;
        return Ok(OtpCheck::Ok);
    }
    tx.execute(
        "UPDATE invitation_otps SET attempts = attempts + 1 WHERE id = ?1",
        [id],
    )?;
    Ok(if attempts + 1 >= OTP_MAX_ATTEMPTS {
        OtpCheck::Locked
    } else {
        OtpCheck::Wrong
    })
}

/// An invitation with what its page shows: who invites, for which company.
#[derive(Debug, Clone)]
pub(crate) struct InviteView {
    pub invitation: Invitation,
    pub inviter: User,
    pub company: Company,
}

/// How the public page found the invitation.
#[derive(Debug, Clone)]
pub(crate) enum InviteKey {
    /// From the URL (`/i/{token}`): any state, so a closed one can say why.
    Token(String),
    /// Typed at `/j`: only pending, unexpired invitations match.
    ShortCode(String),
}

fn find(conn: &Connection, key: &InviteKey, now: i64) -> Result<Option<Invitation>, ServerError> {
    match key {
        InviteKey::Token(t) => find_by_token(conn, t),
        InviteKey::ShortCode(c) => find_by_short_code(conn, c, now),
    }
}

fn view(conn: &Connection, inv: Invitation) -> Result<Option<InviteView>, ServerError> {
    let Some(inviter) = accounts::get_user(conn, inv.rep_id)? else {
        return Ok(None);
    };
    let Some(company) = accounts::get_company(conn, inv.company_id)? else {
        return Ok(None);
    };
    Ok(Some(InviteView {
        invitation: inv,
        inviter,
        company,
    }))
}

/// What the accept form led to, for the public page.
#[derive(Debug)]
pub(crate) enum AcceptOutcome {
    Done(Accepted),
    Otp(OtpCheck),
}

/// The newest invitation of the caller's (managers: any) that someone
/// accepted in `(after, upto]` of the sync stream: the live event names it.
pub(crate) fn accepted_since(
    conn: &Connection,
    caller: &Caller,
    after: i64,
    upto: i64,
) -> Result<Option<i64>, ServerError> {
    let mut stmt = conn.prepare_cached(
        "SELECT body FROM changes
         WHERE company_id = ?1 AND seq > ?2 AND seq <= ?3 AND stream = 'sync'
           AND body LIKE '{\"entity\":\"invitation\"%'
           AND (?4 = 'manager' OR rep_id = ?5)
         ORDER BY seq DESC",
    )?;
    let rows = stmt.query_map(
        params![
            caller.company.id,
            after,
            upto,
            caller.user.role.as_str(),
            caller.user.id
        ],
        |r| r.get::<_, String>(0),
    )?;
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

impl Database {
    pub(crate) async fn create_invitation(
        &self,
        rep: User,
        new: NewInvitation,
        public_url: String,
    ) -> Result<Invitation, ServerError> {
        self.tx(move |tx, _| create(tx, &rep, &new, None, &public_url, super::now_ms()))
            .await
    }

    pub(crate) async fn invitation_for(
        &self,
        caller: User,
        id: i64,
    ) -> Result<Invitation, ServerError> {
        self.read(move |c, _| get_for(c, &caller, id)).await
    }

    /// The invitation behind a public page, with its inviter and company.
    pub(crate) async fn invite_view(
        &self,
        key: InviteKey,
    ) -> Result<Option<InviteView>, ServerError> {
        self.read(move |c, _| match find(c, &key, super::now_ms())? {
            Some(inv) => view(c, inv),
            None => Ok(None),
        })
        .await
    }

    /// Accepts (after checking the one-time code when `code` is Some).
    pub(crate) async fn accept_invitation(
        &self,
        invitation_id: i64,
        name: String,
        phone: Phone,
        code: Option<String>,
    ) -> Result<AcceptOutcome, ServerError> {
        self.tx(move |tx, s: &Secrets| {
            let now = super::now_ms();
            if let Some(code) = code {
                let check = check_otp(tx, &s.master, invitation_id, &phone, &code, now)?;
                if check != OtpCheck::Ok {
                    return Ok(AcceptOutcome::Otp(check));
                }
            }
            accept(tx, invitation_id, &name, &phone, now).map(AcceptOutcome::Done)
        })
        .await
    }

    pub(crate) async fn accepted_invitation_since(
        &self,
        caller: Caller,
        after: i64,
        upto: i64,
    ) -> Result<Option<i64>, ServerError> {
        self.read(move |c, _| accepted_since(c, &caller, after, upto))
            .await
    }

    pub(crate) async fn revoke_invitation(
        &self,
        caller: User,
        id: i64,
    ) -> Result<Invitation, ServerError> {
        self.tx(move |tx, _| revoke(tx, &caller, id, super::now_ms()))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_invitation() -> Invitation {
        Invitation {
            id: 1,
            company_id: 1,
            rep_id: 2,
            channel: InviteChannel::Qr,
            status: InvitationStatus::Pending,
            max_uses: Some(1),
            uses: 0,
            created_at_ms: 0,
            expires_at_ms: 1,
            url: String::new(),
            short_code: String::new(),
            recipient_name: None,
            recipient_phone: None,
        }
    }

    #[test]
    fn sms_invitations_are_bound_to_their_recipient() {
        let phone = |s: &str| Phone::parse(s).unwrap();
        let inv = |channel, to: Option<&str>| Invitation {
            channel,
            recipient_phone: to.map(|p| phone(p).as_e164().to_string()),
            ..sample_invitation()
        };
        let cases = [
            (
                InviteChannel::Sms,
                Some("13600136000"),
                "+86 136 0013 6000",
                true,
            ),
            (
                InviteChannel::Sms,
                Some("13600136000"),
                "13500135000",
                false,
            ),
            (InviteChannel::Sms, None, "13500135000", true),
            (InviteChannel::Qr, Some("13600136000"), "13500135000", true),
            (InviteChannel::Poster, None, "13500135000", true),
        ];
        for (channel, to, typed, want) in cases {
            assert_eq!(
                is_for_phone(&inv(channel, to), &phone(typed)),
                want,
                "{channel:?} {to:?} {typed}"
            );
        }
    }

    #[test]
    fn short_codes_normalize() {
        assert_eq!(normalize_short_code(" k7q-4m2 "), "K7Q4M2");
    }

    #[test]
    fn refusals_say_what_to_fix() {
        let e = refused(terms::Refused::BadHours(0));
        assert!(matches!(e, ServerError::InvalidInput(_)), "{e:?}");
        assert!(
            e.to_string()
                .contains("expires_in_hours must be 1 to 2160 (90 days), got 0"),
            "{e}"
        );
        let e = refused(terms::Refused::NotAnInviter);
        assert!(matches!(e, ServerError::Forbidden(_)), "{e:?}");
    }
}
