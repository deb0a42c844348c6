//! Invitations: a rep's link (QR, SMS, poster) that makes whoever opens it
//! and fills the form a partner bound to that rep, and a rep's import of
//! partners from a file. Who may invite, revoke and import, the terms of an
//! invitation, whether an offline token verifies, and what an accept does
//! are decided here (with the rules of `warmlead_core::invite`); the
//! invitations are stored through `s.invitations()` (`InvitationStore`),
//! the people they make through the accounts' storage.
//!
//! Face-to-face and poster invitations are made on the rep's device with no
//! network (`warmlead_core::invite::offline`): the token is signed there, and
//! the server records the invitation the first time it sees the token, when
//! a phone opens the link or when the app pushes it.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use warmlead_core::csv_import::{recheck, ImportRow};
use warmlead_core::domain::{Company, Role, User};
use warmlead_core::invite::offline::{self, InviteClaim, UnverifiedInvite};
use warmlead_core::invite::{
    accept, terms, Invitation, InvitationStatus, InviteChannel, NewInvitation, PartnerImportResult,
    PartnerSource, MAX_INVITATION_HOURS,
};
use warmlead_core::phone::Phone;
use warmlead_core::token::derive_share_key;
use warmlead_core::visibility::Managed;

use crate::error::ServerError;
use crate::services::accounts;
use crate::storage::invitation_store::{NewRow, OfflineRow, OtpCheck};
use crate::storage::{now_ms, Caller, Database, Secrets, Stores};

pub(crate) use crate::storage::invitations::normalize_short_code;
pub(crate) use warmlead_core::invite::accept::{closed_reason, Closed};

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

/// Reps and managers invite, and see and revoke invitations; partners may
/// not (`invite::terms::may_invite`).
fn may_invite(user: &User) -> Result<(), ServerError> {
    if terms::may_invite(user.role) {
        Ok(())
    } else {
        Err(refused(terms::Refused::NotAnInviter))
    }
}

/// Only reps import partners: each is bound to the rep who imports them.
pub(crate) fn may_import(user: &User) -> Result<(), ServerError> {
    if user.role == Role::Rep {
        Ok(())
    } else {
        Err(ServerError::Forbidden(
            "only reps import partners (they are bound to the rep who imports them)".into(),
        ))
    }
}

fn random_token() -> String {
    let mut bytes = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Creates an invitation by `rep` (a rep or a manager, within the terms of
/// `invite::terms`) and appends it to the change log, in the caller's
/// transaction. `public_url` has no trailing slash.
pub(crate) fn create(
    s: &Stores<'_>,
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
    let store = s.invitations();
    let (id, short_code) = store.insert(&NewRow {
        company_id: rep.company_id,
        rep_id: rep.id,
        channel: new.channel,
        max_uses: terms.max_uses,
        expires_at_ms: terms.expires_at_ms,
        token: &token,
        created_at_ms: now,
        recipient_name: recipient_name.as_deref(),
        recipient_phone: recipient_phone.as_deref(),
    })?;
    let inv = Invitation {
        id,
        company_id: rep.company_id,
        rep_id: rep.id,
        channel: new.channel,
        status: InvitationStatus::Pending,
        max_uses: terms.max_uses,
        uses: 0,
        created_at_ms: now,
        expires_at_ms: terms.expires_at_ms,
        url: format!("{public_url}/i/{token}"),
        short_code,
        recipient_name,
        recipient_phone,
    };
    store.record_url(&inv, now)?;
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
    user: User,
    device_id: i64,
}

/// Verifies an offline token with the key of the device it names. `None`
/// for anything that is not a working invitation: malformed, forged,
/// altered, terms no device could sign, or a device that was revoked (or
/// whose user was switched off) before the server ever saw the token.
fn verify_offline(s: &Stores<'_>, token: &str, now: i64) -> Result<Option<Verified>, ServerError> {
    let Ok(unverified) = UnverifiedInvite::parse(token) else {
        return Ok(None);
    };
    let device = unverified.claim.device_id;
    let Ok(claim) = unverified.verify(&invite_key(s.secrets(), device)) else {
        return Ok(None);
    };
    let Ok(device_id) = i64::try_from(device) else {
        return Ok(None);
    };
    if offline::check(&claim, now).is_err() {
        return Ok(None);
    }
    let Some(owner) = s.accounts().device_owner(device_id)? else {
        return Ok(None);
    };
    let switched_off = owner.revoked_at_ms.is_some() || owner.off_since_ms.is_some();
    if switched_off || !terms::may_invite(owner.user.role) {
        return Ok(None);
    }
    Ok(Some(Verified {
        claim,
        user: owner.user,
        device_id,
    }))
}

/// Records a verified offline invitation unless the server has it already
/// (a phone's first open and the app's sync, in any order or at once, make
/// one row). `created_at` is the device's time when the app pushed it, else
/// the server's. Returns the row.
fn record_verified(
    s: &Stores<'_>,
    v: &Verified,
    token: &str,
    public_url: &str,
    created_at: i64,
) -> Result<Invitation, ServerError> {
    let derived = offline::short_code(&invite_key(s.secrets(), v.claim.device_id), token);
    let store = s.invitations();
    let inserted = store.insert_offline(&OfflineRow {
        company_id: v.user.company_id,
        rep_id: v.user.id,
        channel: v.claim.channel,
        max_uses: v.claim.max_uses_i64(),
        expires_at_ms: v.claim.expires_at_ms(),
        token,
        created_at_ms: created_at,
        device_id: v.device_id,
        invite_no: v.claim.invite_no as i64,
        short_code: &derived,
    })?;
    let Some((id, short_code)) = inserted else {
        return store
            .find_by_token(token)?
            .ok_or_else(|| ServerError::NotFound("invitation vanished".into()));
    };
    let owner = offline::Owner {
        id,
        company_id: v.user.company_id,
        rep_id: v.user.id,
        created_at_ms: created_at,
    };
    let inv = v
        .claim
        .invitation(owner, format!("{public_url}/i/{token}"), short_code);
    store.record_url(&inv, created_at)?;
    Ok(inv)
}

/// The invitation behind an offline token a phone opened: recorded now if
/// the server has not seen it. Nothing is written for a bad token.
fn open_offline(
    s: &Stores<'_>,
    token: &str,
    public_url: &str,
    now: i64,
) -> Result<Option<Invitation>, ServerError> {
    if let Some(known) = s.invitations().find_by_token(token)? {
        return Ok(Some(known));
    }
    match verify_offline(s, token, now)? {
        Some(v) => Ok(Some(record_verified(s, &v, token, public_url, now)?)),
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
    s: &Stores<'_>,
    caller: &Caller,
    p: &Pushed<'_>,
    public_url: &str,
    now: i64,
) -> Result<Invitation, ServerError> {
    let device = caller.device_id as u64;
    let claim = UnverifiedInvite::parse(p.token)
        .and_then(|t| t.verify(&invite_key(s.secrets(), device)))
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
        user: caller.user.clone(),
        device_id: caller.device_id,
    };
    let inv = record_verified(s, &v, p.token, public_url, p.created_at_ms)?;
    if inv.created_at_ms == p.created_at_ms || inv.company_id != caller.company.id {
        return Ok(inv);
    }
    let store = s.invitations();
    store.set_created_at(caller.company.id, inv.id, p.created_at_ms)?;
    let inv = Invitation {
        created_at_ms: p.created_at_ms,
        ..inv
    };
    store.changed(&inv, now)?;
    Ok(inv)
}

/// The invitation `caller` may manage: their own, or any of the company's
/// for a manager. Others' (and other companies') are "not found".
pub(crate) fn get_for(s: &Stores<'_>, caller: &User, id: i64) -> Result<Invitation, ServerError> {
    let not_found = || ServerError::NotFound(format!("no invitation {id}"));
    let inv = s.invitations().get(id)?.ok_or_else(not_found)?;
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
    s: &Stores<'_>,
    caller: &User,
    id: i64,
    now: i64,
) -> Result<Invitation, ServerError> {
    get_for(s, caller, id)?;
    // Only a pending invitation is revoked, decided in the update itself:
    // one accepted meanwhile (another process, its row locked until then)
    // stays as the accept left it, and its uses are read after the update.
    let revoked = s.invitations().revoke(id, now)?;
    let inv = get_for(s, caller, id)?;
    if revoked {
        s.invitations().changed(&inv, now)?;
    }
    Ok(inv)
}

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
    s: &Stores<'_>,
    id: i64,
    name: &str,
    phone: &Phone,
    now: i64,
) -> Result<Accepted, ServerError> {
    let store = s.invitations();
    store.lock_for_accept(id)?;
    let mut inv = store
        .get(id)?
        .ok_or_else(|| ServerError::NotFound(format!("no invitation {id}")))?;
    if let Some(why) = closed_reason(&inv, now) {
        return Ok(Accepted::Closed(why));
    }
    let name = accounts::checked_name(name)?;
    let people = s.accounts();
    let already_member = people
        .user_by_phone(inv.company_id, phone.as_e164())?
        .is_some();
    let inviter = people
        .user(inv.rep_id)?
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
    let partner = people.insert_user(&User {
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
    })?;
    let Some(partner) = partner else {
        return Ok(Accepted::AlreadyMember);
    };
    people.announce_user(&partner, now)?;
    // Guarded: only from the uses read above, while pending and under its
    // limit. The row lock (PostgreSQL) and the single writer (SQLite) make
    // a miss impossible; were it to happen, the whole accept rolls back.
    if !store.count_use(inv.id, inv.uses, join.uses, join.status, now)? {
        return Err(ServerError::Conflict(
            "the invitation changed while it was being accepted; try again".into(),
        ));
    }
    inv.uses = join.uses;
    inv.status = join.status;
    store.changed(&inv, now)?;
    let (_, activation_code) = accounts::new_code(s, partner.id, now)?;
    Ok(Accepted::Joined {
        partner,
        activation_code,
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

fn find(s: &Stores<'_>, key: &InviteKey, now: i64) -> Result<Option<Invitation>, ServerError> {
    match key {
        InviteKey::Token(t) => s.invitations().find_by_token(t),
        InviteKey::ShortCode(c) => s.invitations().find_by_short_code(c, now),
    }
}

fn view(s: &Stores<'_>, inv: Invitation) -> Result<Option<InviteView>, ServerError> {
    let people = s.accounts();
    let Some(inviter) = people.user(inv.rep_id)? else {
        return Ok(None);
    };
    let Some(company) = people.company(inv.company_id)? else {
        return Ok(None);
    };
    let inviter_off = people.off_since(inviter.id)?.is_some();
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

/// `POST /api/v1/invitations`: a rep's (or manager's) new invitation.
pub(crate) async fn create_invitation(
    db: &Database,
    rep: User,
    new: NewInvitation,
    public_url: String,
) -> Result<Invitation, ServerError> {
    may_invite(&rep)?;
    db.transaction(move |s| create(s, &rep, &new, None, &public_url, now_ms()))
        .await
}

/// An invitation its maker (or a manager) polls for uses and status.
pub(crate) async fn invitation_for(
    db: &Database,
    caller: User,
    id: i64,
) -> Result<Invitation, ServerError> {
    may_invite(&caller)?;
    db.snapshot(move |s| get_for(s, &caller, id)).await
}

/// The invitation behind a public page, with its inviter and company.
/// An offline token the server has not seen is verified and recorded
/// (its first open); `public_url` has no trailing slash.
pub(crate) async fn invite_view(
    db: &Database,
    key: InviteKey,
    public_url: String,
) -> Result<Option<InviteView>, ServerError> {
    let unseen_offline = match &key {
        InviteKey::Token(t) if offline::is_offline_token(t) => Some(t.clone()),
        _ => None,
    };
    let known = db
        .snapshot(move |s| match find(s, &key, now_ms())? {
            Some(inv) => view(s, inv),
            None => Ok(None),
        })
        .await?;
    let Some(token) = unseen_offline.filter(|_| known.is_none()) else {
        return Ok(known);
    };
    db.transaction(
        move |s| match open_offline(s, &token, &public_url, now_ms())? {
            Some(inv) => view(s, inv),
            None => Ok(None),
        },
    )
    .await
}

/// Accepts (after checking the one-time code when `code` is Some).
pub(crate) async fn accept_invitation(
    db: &Database,
    invitation_id: i64,
    name: String,
    phone: Phone,
    code: Option<String>,
) -> Result<AcceptOutcome, ServerError> {
    db.transaction(move |s| {
        let now = now_ms();
        if let Some(code) = code {
            let master = &s.secrets().master;
            let check = s
                .invitations()
                .check_otp(master, invitation_id, &phone, &code, now)?;
            if check != OtpCheck::Ok {
                return Ok(AcceptOutcome::Otp(check));
            }
        }
        accept(s, invitation_id, &name, &phone, now).map(AcceptOutcome::Done)
    })
    .await
}

/// The newest invitation of the caller's (managers: any) that someone
/// accepted in `(after, upto]` of the sync stream: the live event names it.
pub(crate) async fn accepted_since(
    db: &Database,
    caller: Caller,
    after: i64,
    upto: i64,
) -> Result<Option<i64>, ServerError> {
    db.snapshot(move |s| {
        let rep = (caller.user.role != Role::Manager).then_some(caller.user.id);
        s.invitations()
            .accepted_since(caller.company.id, rep, after, upto)
    })
    .await
}

/// Revokes the invitation for its maker (or a manager).
pub(crate) async fn revoke_invitation(
    db: &Database,
    caller: User,
    id: i64,
) -> Result<Invitation, ServerError> {
    may_invite(&caller)?;
    db.transaction(move |s| revoke(s, &caller, id, now_ms()))
        .await
}

/// Imports `rows` as partners bound to `rep` (source import, invited by the
/// rep), emitting each new user, or writes nothing and returns the errors.
/// The checked rows are checked again (`csv_import::recheck`, phones
/// already in the company included), so the app's preview (a `dry_run`,
/// which writes nothing either way) refuses by the same rule.
pub(crate) fn import(
    s: &Stores<'_>,
    rep: &User,
    rows: &[ImportRow],
    dry_run: bool,
    now: i64,
) -> Result<PartnerImportResult, ServerError> {
    may_import(rep)?;
    let phones: Vec<String> = rows
        .iter()
        .filter_map(|r| recheck::checked_phone(&r.phone).ok())
        .collect();
    let taken = s.invitations().taken_phones(rep.company_id, &phones)?;
    let checked = match recheck::recheck(rows, &taken) {
        Ok(c) => c,
        Err(errors) => {
            return Ok(PartnerImportResult {
                imported: 0,
                errors,
            })
        }
    };
    if dry_run {
        return Ok(PartnerImportResult {
            imported: 0,
            errors: Vec::new(),
        });
    }
    for (row, (name, phone)) in rows.iter().zip(&checked) {
        let user = s.accounts().insert_user(&User {
            id: 0,
            company_id: rep.company_id,
            role: Role::Partner,
            name: name.clone(),
            phone: Some(phone.clone()),
            rep_id: Some(rep.id),
            joined_at_ms: now,
            source: Some(PartnerSource::Import),
            invited_by: Some(rep.id),
            invitation_id: None,
        })?;
        // The check above read the company's phones; one may have joined
        // since (an invitation accepted, another import, in another
        // process). The unique phone index refuses it: the import writes
        // nothing and says which row.
        let Some(user) = user else {
            return Err(ServerError::Conflict(format!(
                "row {}: {phone} joined the company while the file was imported; \
                 nothing was imported, import the file again",
                row.row
            )));
        };
        s.accounts().announce_user(&user, now)?;
    }
    Ok(PartnerImportResult {
        imported: checked.len() as i64,
        errors: Vec::new(),
    })
}

/// The import in one transaction; with errors (or a dry run) nothing is
/// written.
pub(crate) async fn import_partners(
    db: &Database,
    rep: User,
    rows: Vec<ImportRow>,
    dry_run: bool,
) -> Result<PartnerImportResult, ServerError> {
    let now = now_ms();
    if dry_run {
        return db
            .snapshot(move |s| import(s, &rep, &rows, true, now))
            .await;
    }
    db.transaction(move |s| import(s, &rep, &rows, false, now))
        .await
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
