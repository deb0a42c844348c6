//! Invitations: a rep's link (QR, SMS, poster) that makes whoever opens it
//! and fills the form a partner bound to that rep.
//!
//! The URL token is random (128 bits, base64url) and only its SHA-256 is a
//! column. The full URL goes out once, in the `ChangeBody::Invitation` the
//! rep's devices pull (they must show the QR again); `url_seq` points at
//! that change-log row so later answers and changes can repeat the URL.
//! That row is the one place the token rests in clear.
//!
//! Face-to-face and poster invitations are made on the rep's device with no
//! network (`warmlead_core::invite::offline`): the token is signed there, and
//! the server records the invitation the first time it sees the token, when
//! a phone opens the link or when the app pushes it, one row either way (the
//! unique `token_hash`). Such a row remembers its device: once that device is
//! revoked or its user switched off, its invitations stop working.

use crate::storage::sql::{self, params, Connection, OptionalExtension, Row};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::{Rng, RngCore};
use warmlead_core::domain::{Company, Role, User};
use warmlead_core::invite::offline::{self, InviteClaim, UnverifiedInvite};
use warmlead_core::invite::{
    Invitation, InvitationStatus, InviteChannel, NewInvitation, MAX_INVITATION_HOURS,
};
use warmlead_core::phone::Phone;
use warmlead_core::sync::ChangeBody;
use warmlead_core::token::derive_share_key;

use super::accounts::{self, sha256};
use super::changes::{self, Scope};
use super::{Caller, Database, Secrets};
use crate::error::ServerError;
use warmlead_core::invite::{accept, terms};
use warmlead_core::visibility::Managed;

pub(crate) use warmlead_core::invite::offline::{SHORT_CODE_ALPHABET, SHORT_CODE_LEN};

const COLS: &str = "id, company_id, rep_id, channel, status, max_uses, uses, created_at,
                    expires_at, short_code, recipient_name, recipient_phone, url_seq, device_id";

/// An invitation row and where its URL lives.
struct Stored {
    inv: Invitation,
    url_seq: i64,
    /// The device that made it offline; `None` for those the server made.
    device_id: Option<i64>,
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
        device_id: r.get(13)?,
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
            device_id,
        }) => {
            inv.url = url_of(conn, url_seq)?;
            if let Some(device_id) = device_id {
                if maker(conn, device_id)?.is_none_or(|m| m.switched_off) {
                    // Its device was revoked (or its user switched off): the
                    // invitation stops working, as if revoked.
                    inv.status = InvitationStatus::Revoked;
                }
            }
            Ok(Some(inv))
        }
        None => Ok(None),
    }
}

/// The user behind a device, and whether the device or the user is off.
struct Maker {
    user: User,
    switched_off: bool,
}

fn maker(conn: &Connection, device_id: i64) -> Result<Option<Maker>, ServerError> {
    let row: Option<(i64, bool)> = conn
        .query_row(
            "SELECT d.user_id, (d.revoked_at IS NOT NULL OR u.deactivated_at IS NOT NULL)
             FROM devices d JOIN users u ON u.id = d.user_id WHERE d.id = ?1",
            [device_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let Some((user_id, switched_off)) = row else {
        return Ok(None);
    };
    Ok(accounts::get_user(conn, user_id)?.map(|user| Maker { user, switched_off }))
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

/// The device's invitation key, derived like its share key from the master
/// secret: the server stores nothing per device to verify a token.
fn invite_key(secrets: &Secrets, device_id: u64) -> [u8; 32] {
    offline::derive_invite_key(&derive_share_key(&secrets.master, device_id))
}

/// An offline token whose signature verified, with the device's user.
struct Verified {
    claim: InviteClaim,
    maker: Maker,
    device_id: i64,
}

/// Verifies an offline token with the key of the device it names. `None`
/// for anything that is not a working invitation: malformed, forged,
/// altered, terms no device could sign, or a device that was revoked (or
/// whose user was switched off) before the server ever saw the token.
fn verify_offline(
    conn: &Connection,
    secrets: &Secrets,
    token: &str,
    now: i64,
) -> Result<Option<Verified>, ServerError> {
    let Ok(unverified) = UnverifiedInvite::parse(token) else {
        return Ok(None);
    };
    let device = unverified.claim.device_id;
    let Ok(claim) = unverified.verify(&invite_key(secrets, device)) else {
        return Ok(None);
    };
    let Ok(device_id) = i64::try_from(device) else {
        return Ok(None);
    };
    if offline::check(&claim, now).is_err() {
        return Ok(None);
    }
    let Some(maker) = maker(conn, device_id)? else {
        return Ok(None);
    };
    if maker.switched_off || !terms::may_invite(maker.user.role) {
        return Ok(None);
    }
    Ok(Some(Verified {
        claim,
        maker,
        device_id,
    }))
}

/// A short code no other invitation has: the derived one, or when taken
/// (one chance in hundreds of millions) one nobody can type, since the
/// invitation must be recorded anyway.
fn fallback_short_code(token: &str) -> String {
    let hash = sha256(token.as_bytes());
    let hex: String = hash[..6].iter().map(|b| format!("{b:02x}")).collect();
    format!("~{hex}")
}

/// Records a verified offline invitation unless the server has it already
/// (`ON CONFLICT (token_hash)`: a phone's first open and the app's sync, in
/// any order or at once, make one row). `created_at` is the device's time
/// when the app pushed it, else the server's. Returns the row.
fn record_verified(
    tx: &Connection,
    secrets: &Secrets,
    v: &Verified,
    token: &str,
    public_url: &str,
    created_at: i64,
) -> Result<Invitation, ServerError> {
    let token_hash = sha256(token.as_bytes());
    let derived = offline::short_code(&invite_key(secrets, v.claim.device_id), token);
    let user = &v.maker.user;
    let insert = |c: &Connection, code: &str| -> Result<Option<i64>, ServerError> {
        Ok(c.query_row(
            "INSERT INTO invitations (company_id, rep_id, channel, status, max_uses, uses, token_hash,
                                      short_code, created_at, expires_at, updated_at,
                                      device_id, invite_no)
             VALUES (?1, ?2, ?3, 'pending', ?4, 0, ?5, ?6, ?7, ?8, ?7, ?9, ?10)
             ON CONFLICT (token_hash) DO NOTHING RETURNING id",
            params![
                user.company_id,
                user.id,
                v.claim.channel.as_str(),
                v.claim.max_uses_i64(),
                token_hash.clone(),
                code,
                created_at,
                v.claim.expires_at_ms(),
                v.device_id,
                v.claim.invite_no as i64
            ],
            |r| r.get::<_, i64>(0),
        )
        .optional()?)
    };
    let inserted = match tx.savepoint(|sp| insert(sp, &derived)) {
        Err(ServerError::Database(sql::Error::Unique(m))) if m.contains("short_code") => {
            (insert(tx, &fallback_short_code(token))?).map(|id| (id, fallback_short_code(token)))
        }
        other => other?.map(|id| (id, derived)),
    };
    let Some((id, short_code)) = inserted else {
        return query_one(tx, "token_hash = ?1", [token_hash])?
            .ok_or_else(|| ServerError::NotFound("invitation vanished".into()));
    };
    let owner = offline::Owner {
        id,
        company_id: user.company_id,
        rep_id: user.id,
        created_at_ms: created_at,
    };
    let inv = v
        .claim
        .invitation(owner, format!("{public_url}/i/{token}"), short_code);
    let seq = emit(tx, &inv, created_at)?;
    tx.execute(
        "UPDATE invitations SET url_seq = ?1 WHERE id = ?2",
        params![seq, inv.id],
    )?;
    Ok(inv)
}

/// The invitation behind an offline token a phone opened: recorded now if
/// the server has not seen it. Nothing is written for a bad token.
pub(crate) fn open_offline(
    tx: &Connection,
    secrets: &Secrets,
    token: &str,
    public_url: &str,
    now: i64,
) -> Result<Option<Invitation>, ServerError> {
    if let Some(known) = find_by_token(tx, token)? {
        return Ok(Some(known));
    }
    match verify_offline(tx, secrets, token, now)? {
        Some(v) => Ok(Some(record_verified(
            tx, secrets, &v, token, public_url, now,
        )?)),
        None => Ok(None),
    }
}

/// What the app pushes for an invitation it made offline.
#[derive(Debug, Clone)]
pub(crate) struct Pushed<'a> {
    pub invite_no: i64,
    pub channel: InviteChannel,
    pub max_uses: Option<i64>,
    pub expires_at_ms: i64,
    pub token: &'a str,
    pub created_at_ms: i64,
}

/// Records an invitation the caller's device made offline (the sync's
/// `CreateInvitation`). Already recorded by a phone's open: the same row,
/// which takes the device's creation time; its uses stay as they are.
/// Anything that can never succeed is a client error (a stored rejection).
pub(crate) fn record_pushed(
    tx: &Connection,
    secrets: &Secrets,
    caller: &Caller,
    p: &Pushed<'_>,
    public_url: &str,
    now: i64,
) -> Result<Invitation, ServerError> {
    let device = caller.device_id as u64;
    let claim = UnverifiedInvite::parse(p.token)
        .and_then(|t| t.verify(&invite_key(secrets, device)))
        .map_err(|_| {
            ServerError::InvalidInput("invitation token does not verify for this device".into())
        })?;
    let same = offline::claim_matches(
        &claim,
        device,
        p.invite_no,
        p.channel,
        p.max_uses,
        p.expires_at_ms,
    );
    if !same {
        return Err(ServerError::InvalidInput(
            "invitation token does not match the invitation's fields".into(),
        ));
    }
    if let Err(why) = offline::check(&claim, now) {
        return Err(ServerError::InvalidInput(format!(
            "this invitation cannot be recorded: {why:?}"
        )));
    }
    let v = Verified {
        claim,
        maker: Maker {
            user: caller.user.clone(),
            switched_off: false,
        },
        device_id: caller.device_id,
    };
    let inv = record_verified(tx, secrets, &v, p.token, public_url, p.created_at_ms)?;
    if inv.created_at_ms == p.created_at_ms || inv.company_id != caller.company.id {
        return Ok(inv);
    }
    tx.execute(
        "UPDATE invitations SET created_at = ?1 WHERE id = ?2 AND company_id = ?3",
        params![p.created_at_ms, inv.id, caller.company.id],
    )?;
    let inv = Invitation {
        created_at_ms: p.created_at_ms,
        ..inv
    };
    emit(tx, &inv, now)?;
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

/// The pending (or closed by its rep's switch-off), unexpired invitation
/// with this short code (any case, spaces and dashes ignored).
pub(crate) fn find_by_short_code(
    conn: &Connection,
    code: &str,
    now: i64,
) -> Result<Option<Invitation>, ServerError> {
    let code = normalize_short_code(code);
    if code.len() != SHORT_CODE_LEN {
        return Ok(None);
    }
    // One its rep's switch-off closed is found too, so the page can say it
    // is closed rather than that the code is wrong.
    query_one(
        conn,
        "short_code = ?1 AND (status = 'pending' OR closed_by_switch_off IS NOT NULL)
           AND expires_at > ?2
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
    get_for(tx, caller, id)?;
    // Only a pending invitation is revoked, decided in the update itself:
    // one accepted meanwhile (another process, its row locked until then)
    // stays as the accept left it, and its uses are read after the update.
    let revoked = tx
        .query_row(
            "UPDATE invitations SET status = 'revoked', updated_at = ?1
             WHERE id = ?2 AND status = 'pending' RETURNING id",
            params![now, id],
            |r| r.get::<_, i64>(0),
        )
        .optional()?;
    let inv = get_for(tx, caller, id)?;
    if revoked.is_some() {
        emit(tx, &inv, now)?;
    }
    Ok(inv)
}

/// Closes every open invitation of `rep_id` (made by the server or recorded
/// from a device), in the switch-off's transaction: revoked, with the
/// switch-off's time kept so switching the rep on again may reopen exactly
/// these. Each one's new state goes to the rep's devices and the managers.
pub(crate) fn close_for_switch_off(
    tx: &Connection,
    company_id: i64,
    rep_id: i64,
    now: i64,
) -> Result<usize, ServerError> {
    let ids: Vec<i64> = tx
        .prepare(
            "UPDATE invitations SET status = 'revoked', closed_by_switch_off = ?3, updated_at = ?3
             WHERE company_id = ?1 AND rep_id = ?2 AND status = 'pending'
             RETURNING id",
        )?
        .query_map(params![company_id, rep_id, now], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    emit_each(tx, &ids, now)?;
    Ok(ids.len())
}

/// Reopens the invitations of `rep_id` that their switch-off closed (the
/// manager chose to, when switching the rep on); those the rep or a manager
/// revoked themselves stay revoked.
pub(crate) fn reopen_after_switch_on(
    tx: &Connection,
    company_id: i64,
    rep_id: i64,
    now: i64,
) -> Result<usize, ServerError> {
    let ids: Vec<i64> = tx
        .prepare(
            "UPDATE invitations SET status = 'pending', closed_by_switch_off = NULL, updated_at = ?3
             WHERE company_id = ?1 AND rep_id = ?2 AND status = 'revoked'
               AND closed_by_switch_off IS NOT NULL
             RETURNING id",
        )?
        .query_map(params![company_id, rep_id, now], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    emit_each(tx, &ids, now)?;
    Ok(ids.len())
}

/// Forgets which invitations a switch-off closed (switched on without
/// reopening them): they stay revoked like any other, for good.
pub(crate) fn keep_closed_after_switch_on(
    tx: &Connection,
    company_id: i64,
    rep_id: i64,
) -> Result<(), ServerError> {
    tx.execute(
        "UPDATE invitations SET closed_by_switch_off = NULL
         WHERE company_id = ?1 AND rep_id = ?2 AND closed_by_switch_off IS NOT NULL",
        params![company_id, rep_id],
    )?;
    Ok(())
}

fn emit_each(tx: &Connection, ids: &[i64], now: i64) -> Result<(), ServerError> {
    for id in ids {
        if let Some(inv) = get(tx, *id)? {
            emit(tx, &inv, now)?;
        }
    }
    Ok(())
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
    // Guarded: only from the uses read above, while pending and under its
    // limit. The row lock (PostgreSQL) and the single writer (SQLite) make
    // a miss impossible; were it to happen, the whole accept rolls back.
    let counted = tx.execute(
        "UPDATE invitations SET uses = ?1, status = ?2, updated_at = ?3
         WHERE id = ?4 AND uses = ?5 AND status = 'pending'
           AND (max_uses IS NULL OR uses < max_uses)",
        params![join.uses, join.status.as_str(), now, inv.id, inv.uses],
    )?;
    if counted != 1 {
        return Err(ServerError::Conflict(
            "the invitation changed while it was being accepted; try again".into(),
        ));
    }
    inv.uses = join.uses;
    inv.status = join.status;
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
/// returns it in clear to be sent. One code is open at a time (a unique
/// index): of two asked for at once on PostgreSQL, the later insert waits
/// for the earlier, then retires it and stores its own.
pub(crate) fn new_otp(
    tx: &Connection,
    master: &[u8],
    invitation_id: i64,
    phone: &Phone,
    now: i64,
) -> Result<String, ServerError> {
    let code = format!("{:06}", rand::thread_rng().gen_range(0..1_000_000));
    let hash = otp_hash(master, invitation_id, phone.as_e164(), &code);
    let mut tries = 0;
    loop {
        let stored = tx.savepoint(|sp| {
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

/// Checks (and on success spends) the code; every try counts, and must be
/// committed even though nothing else is written. Counting, the limit and
/// spending are one conditional statement on the newest open code: of
/// guesses at once (in several processes on PostgreSQL), each waits for the
/// row the one before it counted, and none passes once the limit is
/// reached, nor spends a code already spent.
pub(crate) fn check_otp(
    tx: &Connection,
    master: &[u8],
    invitation_id: i64,
    phone: &Phone,
    code: &str,
    now: i64,
) -> Result<OtpCheck, ServerError> {
    let code: String = code.chars().filter(char::is_ascii_digit).collect();
    let hash = otp_hash(master, invitation_id, phone.as_e164(), &code);
    let counted: Option<(Option<i64>, i64)> = tx
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
            let open: Option<i64> = tx
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

/// An invitation with what its page shows: who invites, for which company.
#[derive(Debug, Clone)]
pub(crate) struct InviteView {
    pub invitation: Invitation,
    pub inviter: User,
    pub company: Company,
    /// The inviter is switched off: the page says to ask the company.
    pub inviter_off: bool,
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
    let inviter_off = accounts::is_deactivated(conn, inviter.id)?;
    Ok(Some(InviteView {
        invitation: inv,
        inviter,
        company,
        inviter_off,
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
    /// An offline token the server has not seen is verified and recorded
    /// (its first open); `public_url` has no trailing slash.
    pub(crate) async fn invite_view(
        &self,
        key: InviteKey,
        public_url: String,
    ) -> Result<Option<InviteView>, ServerError> {
        let unseen_offline = match &key {
            InviteKey::Token(t) if offline::is_offline_token(t) => Some(t.clone()),
            _ => None,
        };
        let known = self
            .read(move |c, _| match find(c, &key, super::now_ms())? {
                Some(inv) => view(c, inv),
                None => Ok(None),
            })
            .await?;
        let Some(token) = unseen_offline.filter(|_| known.is_none()) else {
            return Ok(known);
        };
        self.tx(
            move |tx, s| match open_offline(tx, s, &token, &public_url, super::now_ms())? {
                Some(inv) => view(tx, inv),
                None => Ok(None),
            },
        )
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
