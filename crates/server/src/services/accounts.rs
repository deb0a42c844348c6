//! Accounts and devices: signing a device in with an activation code,
//! checking a device's token on every request, making companies and their
//! people, and the manager's team (adding people, their codes, switching
//! them off and on, revoking a device, importing reps). Who may do what is
//! `warmlead_core::team`, names and bindings `warmlead_core::domain`, the
//! attempt limits `warmlead_core::activation`; storage is
//! `AccountStore` (`storage/account_store.rs`), reached through `Stores`.
//!
//! The `&Stores` functions run inside a caller's transaction (the CLI's
//! and the tests' through the async ones here, an invitation's accept in
//! `services::invitations`); the async ones open their own.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::{Rng, RngCore};
use warmlead_core::activation;
use warmlead_core::api::{NewTeamMember, TeamMember};
use warmlead_core::company::CompanyProfile;
use warmlead_core::csv_import::{recheck, ImportRow, ImportRowError};
use warmlead_core::domain::{self, BindingRefused, Company, Role, User};
use warmlead_core::invite::PartnerSource;
use warmlead_core::phone::Phone;
use warmlead_core::team;

use crate::error::ServerError;
use crate::storage::account_store::{Activation, CodeState, CompanyCounts, TeamRows};
use crate::storage::accounts::{normalize_code, sha256};
use crate::storage::{now_ms, Caller, Database, Stores};

pub(crate) use warmlead_core::limits::MAX_NAME_CHARS;

/// Activation codes last a week.
const CODE_TTL_MS: i64 = 7 * 24 * 3600 * 1000;
/// How many days an activation code lasts, as the SMS says it.
pub(crate) const CODE_TTL_DAYS: i64 = CODE_TTL_MS / (24 * 3600 * 1000);
/// No 0/O, 1/I/L: codes are read aloud and typed by hand.
const CODE_ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";

/// "Last seen" is stored to this precision, so a busy device writes it at
/// most once a minute.
const LAST_SEEN_EVERY_MS: i64 = 60_000;

/// Whether a request at `now` should store the device's last-seen time.
pub(crate) fn last_seen_is_stale(stored: Option<i64>, now: i64) -> bool {
    stored.is_none_or(|at| now - at >= LAST_SEEN_EVERY_MS)
}

/// `domain::checked_name`, refused in the API's words.
pub(crate) fn checked_name(name: &str) -> Result<String, ServerError> {
    domain::checked_name(name).map_err(|n| {
        ServerError::InvalidInput(format!(
            "name must be 1 to {MAX_NAME_CHARS} characters, got {n}"
        ))
    })
}

/// The device's name as the team screen shows it: 1 to 100 characters.
pub(crate) fn checked_device_name(name: &str) -> Result<&str, ServerError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ServerError::InvalidInput(
            "device_name must be 1 to 100 characters".into(),
        ));
    }
    Ok(name)
}

pub(crate) fn team_refused(why: team::TeamRefused) -> ServerError {
    match why {
        team::TeamRefused::OtherCompany => ServerError::NotFound(why.message().into()),
        _ => ServerError::Forbidden(why.message().into()),
    }
}

fn switched_off(what: &str) -> ServerError {
    ServerError::AccountDisabled(format!(
        "your company switched {what} off; ask your manager if this is a mistake"
    ))
}

fn no_user_here(id: i64) -> ServerError {
    ServerError::NotFound(format!("no user {id} in your company"))
}

/// A company's name: 1 to `MAX_COMPANY_NAME_CHARS` characters, trimmed.
fn checked_company_name(name: &str) -> Result<&str, ServerError> {
    use warmlead_core::limits::MAX_COMPANY_NAME_CHARS;
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_COMPANY_NAME_CHARS {
        return Err(ServerError::InvalidInput(format!(
            "company name must be 1 to {MAX_COMPANY_NAME_CHARS} characters"
        )));
    }
    Ok(name)
}

/// A new company; every device of it will learn it from its first change.
pub(crate) fn create_company(s: &Stores<'_>, name: &str, now: i64) -> Result<Company, ServerError> {
    s.accounts()
        .insert_company(checked_company_name(name)?, now)
}

/// Someone an administrator (CLI, demo seed) or a manager adds.
pub(crate) struct NewUser<'a> {
    pub company_id: i64,
    pub role: Role,
    pub name: &'a str,
    pub phone: Option<&'a str>,
    pub rep_id: Option<i64>,
}

/// Only partners are bound, to a rep of their company (`domain::check_binding`).
fn check_binding(s: &Stores<'_>, new: &NewUser<'_>) -> Result<(), ServerError> {
    let Some(rep_id) = new.rep_id else {
        return Ok(());
    };
    let rep = s.accounts().user(rep_id)?;
    domain::check_binding(new.role, new.company_id, rep.as_ref()).map_err(|why| {
        ServerError::InvalidInput(match why {
            BindingRefused::NotAPartner => "only partners are bound to a rep".into(),
            BindingRefused::NotARepOfCompany => {
                format!("user {rep_id} is not a rep of company {}", new.company_id)
            }
        })
    })
}

/// Adds `new` to its company (name and phone checked, binding valid) and
/// tells whoever sees them; a number the company has already is a conflict.
pub(crate) fn create_user(
    s: &Stores<'_>,
    new: &NewUser<'_>,
    now: i64,
) -> Result<User, ServerError> {
    let accounts = s.accounts();
    let company_id = new.company_id;
    accounts
        .company(company_id)?
        .ok_or_else(|| ServerError::NotFound(format!("no company {company_id}")))?;
    let name = checked_name(new.name)?;
    let phone = new
        .phone
        .map(Phone::parse)
        .transpose()?
        .map(Phone::into_string);
    check_binding(s, new)?;
    let user = User {
        id: 0,
        company_id,
        role: new.role,
        name,
        phone,
        rep_id: new.rep_id,
        joined_at_ms: now,
        // Partners made here come from an administrator (CLI, demo seed).
        source: (new.role == Role::Partner).then_some(PartnerSource::Admin),
        invited_by: None,
        invitation_id: None,
    };
    let Some(user) = accounts.insert_user(&user)? else {
        return Err(ServerError::Conflict(format!(
            "a user of company {company_id} already has the number {}",
            user.phone.unwrap_or_default()
        )));
    };
    accounts.announce_user(&user, now)?;
    Ok(user)
}

/// A fresh one-time code like `K7Q-4M2-XP9` for the user's next device,
/// with its id; only its hash is stored. Every older open code of the
/// person is retired with it, so a code that was lost, or handed to the
/// wrong person, stops working once a new one is issued.
pub(crate) fn new_code(
    s: &Stores<'_>,
    user_id: i64,
    now: i64,
) -> Result<(i64, String), ServerError> {
    let accounts = s.accounts();
    accounts
        .user(user_id)?
        .ok_or_else(|| ServerError::NotFound(format!("no user {user_id}")))?;
    // PostgreSQL: a code issued for the same person at the same moment
    // made the insert wait and then refused it; drawing again retires that
    // one too. (Or, once in ages, the same code twice.)
    for _ in 0..4 {
        let raw: String = {
            let mut rng = rand::thread_rng();
            (0..9)
                .map(|_| CODE_ALPHABET[rng.gen_range(0..CODE_ALPHABET.len())] as char)
                .collect()
        };
        let hash = sha256(raw.as_bytes());
        if let Some(id) = accounts.insert_code(user_id, &hash, now, now + CODE_TTL_MS)? {
            return Ok((id, format!("{}-{}-{}", &raw[0..3], &raw[3..6], &raw[6..9])));
        }
    }
    Err(ServerError::Conflict(
        "another activation code was issued at the same moment; try again".into(),
    ))
}

/// A new company, its first manager and the manager's activation code,
/// all or nothing (what `warmlead-server company create` makes).
pub(crate) fn create_company_with_manager(
    s: &Stores<'_>,
    name: &str,
    manager_name: &str,
    manager_phone: &str,
    now: i64,
) -> Result<(Company, User, String), ServerError> {
    let company = create_company(s, name, now)?;
    let new = NewUser {
        company_id: company.id,
        role: Role::Manager,
        name: manager_name,
        phone: Some(manager_phone),
        rep_id: None,
    };
    let manager = create_user(s, &new, now)?;
    let (_, code) = new_code(s, manager.id, now)?;
    Ok((company, manager, code))
}

/// Why a stored code may not be spent at `now`, in the words the person reads.
fn code_refusal(state: Option<CodeState>, now: i64) -> Result<(), ServerError> {
    let refused = |m: &str| Err(ServerError::Unauthorized(m.into()));
    match state {
        None => refused("unknown activation code"),
        Some(c) if c.used_at_ms.is_some() => {
            refused("this activation code has already been used; ask for a new one")
        }
        Some(c) if c.revoked_at_ms.is_some() => refused(
            "this activation code was withdrawn or replaced by a newer one; ask for a new one",
        ),
        Some(c) if c.expires_at_ms <= now => {
            refused("this activation code has expired; ask for a new one")
        }
        Some(_) => Ok(()),
    }
}

/// Whether `code` may be spent now, read without writing.
fn check_code(s: &Stores<'_>, code: &str, now: i64) -> Result<(), ServerError> {
    let hash = sha256(normalize_code(code).as_bytes());
    code_refusal(s.accounts().code_state(&hash)?, now)
}

fn user_and_company(s: &Stores<'_>, user_id: i64) -> Result<(User, Company), ServerError> {
    let accounts = s.accounts();
    let user = accounts
        .user(user_id)?
        .ok_or_else(|| ServerError::NotFound(format!("no user {user_id}")))?;
    let company = accounts
        .company(user.company_id)?
        .ok_or_else(|| ServerError::NotFound(format!("no company {}", user.company_id)))?;
    Ok((user, company))
}

/// Spends a one-time code and registers a device with a fresh bearer token.
/// Spending is one conditional statement: of two devices spending one code
/// at once, on either database, exactly one gets a row back; the other is
/// told why from what the first committed. A switched-off person's code is
/// refused and stays unspent (the transaction rolls back).
pub(crate) fn spend_code(
    s: &Stores<'_>,
    code: &str,
    device_name: &str,
    now: i64,
) -> Result<Activation, ServerError> {
    let device_name = checked_device_name(device_name)?;
    let hash = sha256(normalize_code(code).as_bytes());
    let accounts = s.accounts();
    let Some(user_id) = accounts.spend_code(&hash, now)? else {
        check_code(s, code, now)?;
        return Err(ServerError::Unauthorized(
            "this activation code cannot be used; ask for a new one".into(),
        ));
    };
    if accounts.off_since(user_id)?.is_some() {
        return Err(switched_off("this account"));
    }
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let device_id = accounts.insert_device(user_id, device_name, &sha256(token.as_bytes()), now)?;
    let (user, company) = user_and_company(s, user_id)?;
    Ok(Activation {
        device_id,
        token,
        user,
        company,
    })
}

/// Where activation attempts are counted (`rate_limits`): per network
/// (`subject`, the client's hashed address) and for the whole server.
fn attempt_keys(subject: &str) -> (String, &'static str) {
    (format!("activation_ip:{subject}"), "activation_all")
}

fn locked_out(l: activation::Lockout) -> ServerError {
    ServerError::TryLater {
        message: l.message(),
        retry_after_secs: l.retry_after_secs,
    }
}

/// Counts one attempt of `subject` (and of the server): the windows with it.
fn count_attempt(
    s: &Stores<'_>,
    subject: &str,
    now: i64,
) -> Result<(activation::Window, activation::Window), ServerError> {
    let (address, overall) = attempt_keys(subject);
    let accounts = s.accounts();
    Ok((
        accounts.count_attempt(&address, now, activation::WINDOW_MS)?,
        accounts.count_attempt(overall, now, activation::WINDOW_MS)?,
    ))
}

/// Takes back an attempt that signed a device in: only wrong codes fill a
/// window, so an office behind one address can activate all its laptops.
fn uncount_attempt(
    s: &Stores<'_>,
    subject: &str,
    counted: (activation::Window, activation::Window),
) -> Result<(), ServerError> {
    let (address, overall) = attempt_keys(subject);
    let accounts = s.accounts();
    accounts.uncount_attempt(&address, counted.0.start_ms)?;
    accounts.uncount_attempt(overall, counted.1.start_ms)
}

/// Spends `code` for a new device, from the network `subject` (the
/// client's hashed address). Attempts are limited per network and for the
/// server (`warmlead_core::activation`): a paused network or server is
/// refused on a snapshot before anything is written; an attempt is counted
/// (two small upserts) before its code is looked at on a snapshot, so a
/// burst cannot slip more guesses past the limit; only a plausible code
/// opens the transaction that spends it, which also takes its attempt back.
pub(crate) async fn activate(
    db: &Database,
    code: String,
    device_name: String,
    subject: String,
) -> Result<Activation, ServerError> {
    checked_device_name(&device_name)?;
    let now = now_ms();
    let (address, overall) = attempt_keys(&subject);
    let windows = db
        .snapshot(move |s| {
            let accounts = s.accounts();
            Ok((
                accounts.attempt_window(&address)?,
                accounts.attempt_window(overall)?,
            ))
        })
        .await?;
    if let Some(l) = activation::lockout(windows.0, windows.1, now) {
        return Err(locked_out(l));
    }
    let key = subject.clone();
    let counted = db.transaction(move |s| count_attempt(s, &key, now)).await?;
    if let Some(l) = activation::counted(counted.0, counted.1, now) {
        return Err(locked_out(l));
    }
    let looked = code.clone();
    db.snapshot(move |s| check_code(s, &looked, now)).await?;
    db.transaction(move |s| {
        let a = spend_code(s, &code, &device_name, now)?;
        uncount_attempt(s, &subject, counted)?;
        Ok(a)
    })
    .await
}

/// The device (not revoked, its user switched on) whose token this is.
pub(crate) fn caller_of_token(s: &Stores<'_>, token: &str) -> Result<Caller, ServerError> {
    let device = s.accounts().device_by_token(&sha256(token.as_bytes()))?;
    let device = match device {
        None => return Err(ServerError::Unauthorized("unknown device token".into())),
        Some(d) if d.revoked_at_ms.is_some() => {
            return Err(ServerError::DeviceRevoked(
                "your company revoked this device; ask your manager if this is a mistake".into(),
            ))
        }
        Some(d) if d.off_since_ms.is_some() => return Err(switched_off("this account")),
        Some(d) => d,
    };
    let (user, company) = user_and_company(s, device.user_id)?;
    Ok(Caller {
        device_id: device.device_id,
        user,
        company,
        last_seen_ms: device.last_seen_ms,
    })
}

/// Checks a bearer token on a snapshot; stores the device's "last seen"
/// after answering, at most once a minute.
pub(crate) async fn authenticate(db: &Database, token: String) -> Result<Caller, ServerError> {
    let caller = db.snapshot(move |s| caller_of_token(s, &token)).await?;
    let now = now_ms();
    if last_seen_is_stale(caller.last_seen_ms, now) {
        // Not on the request's path: a failed write only loses a "last seen".
        let (db, device_id) = (db.clone(), caller.device_id);
        tokio::spawn(async move {
            let touched = db
                .transaction(move |s| s.accounts().touch_device(device_id, now))
                .await;
            if let Err(e) = touched {
                tracing::warn!(error = %e, "last seen not stored");
            }
        });
    }
    Ok(caller)
}

/// Switching someone on again: whether the invitations their switch-off
/// closed open again (the manager chooses; nothing reopens by itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Switch {
    Off,
    On { reopen_invitations: bool },
}

/// The manager `actor` switches `target_id` off or on again
/// (`warmlead_core::team::may_switch`). Off, in one transaction: their
/// devices' tokens are refused from now on (a change of the user wakes
/// their streams, which end), their open invitations are closed and their
/// queued SMS cancelled. On: those invitations reopen only if asked.
/// Share links of theirs stop crediting them (`team::share_standing`):
/// every process drops its cached shares.
pub(crate) fn switch(
    s: &Stores<'_>,
    actor: &User,
    target_id: i64,
    switch: Switch,
    now: i64,
) -> Result<(), ServerError> {
    let accounts = s.accounts();
    let target = accounts
        .user_in(actor.company_id, target_id)?
        .ok_or_else(|| no_user_here(target_id))?;
    team::may_switch(actor, &target).map_err(team_refused)?;
    let company_id = target.company_id;
    match switch {
        Switch::Off => {
            accounts.switch_off(company_id, target_id, now)?;
            s.invitations()
                .close_for_switch_off(company_id, target_id, now)?;
            s.sms().cancel_queued_of(company_id, target_id, now)?;
        }
        Switch::On { reopen_invitations } => {
            accounts.switch_on(company_id, target_id)?;
            if reopen_invitations {
                s.invitations()
                    .reopen_after_switch_on(company_id, target_id, now)?;
            } else {
                s.invitations()
                    .keep_closed_after_switch_on(company_id, target_id)?;
            }
        }
    }
    accounts.shares_changed(company_id)?;
    accounts.announce_user(&target, now)
}

pub(crate) async fn set_active(
    db: &Database,
    actor: User,
    target_id: i64,
    how: Switch,
) -> Result<(), ServerError> {
    db.transaction(move |s| switch(s, &actor, target_id, how, now_ms()))
        .await?;
    // Their share links credit (or resolve) differently from now on.
    db.share_cache().clear();
    Ok(())
}

/// Revokes one device (`warmlead_core::team::may_revoke_device`): its token
/// is refused from now on; the owner's other devices go on. The owner's id.
pub(crate) fn revoke(
    s: &Stores<'_>,
    actor: &User,
    device_id: i64,
    now: i64,
) -> Result<i64, ServerError> {
    let not_found = || ServerError::NotFound(format!("no device {device_id} in your company"));
    let accounts = s.accounts();
    let owner_id = accounts
        .device_user_in(actor.company_id, device_id)?
        .ok_or_else(not_found)?;
    let owner = accounts
        .user_in(actor.company_id, owner_id)?
        .ok_or_else(not_found)?;
    team::may_revoke_device(actor, &owner).map_err(team_refused)?;
    accounts.revoke_device(device_id, now)?;
    // Other processes drop their cached shares too: the device's links
    // stop crediting it (or resolving, if recorded after now).
    accounts.shares_changed(owner.company_id)?;
    accounts.announce_user(&owner, now)?;
    Ok(owner.id)
}

/// Revokes the device; its owner's id.
pub(crate) async fn revoke_device(
    db: &Database,
    actor: User,
    device_id: i64,
) -> Result<i64, ServerError> {
    let owner = db
        .transaction(move |s| revoke(s, &actor, device_id, now_ms()))
        .await?;
    // A revoked device's share links stop crediting it, or resolving
    // (`team::share_standing`).
    db.share_cache().clear();
    Ok(owner)
}

/// The manager `actor` adds a rep or a manager (`team::may_add`); the new
/// person and their first activation code.
pub(crate) async fn add_member(
    db: &Database,
    actor: User,
    new: NewTeamMember,
) -> Result<(User, (i64, String)), ServerError> {
    db.transaction(move |s| {
        team::may_add(&actor, new.role).map_err(team_refused)?;
        let now = now_ms();
        let user = create_user(
            s,
            &NewUser {
                company_id: actor.company_id,
                role: new.role,
                name: &new.name,
                phone: Some(&new.phone),
                rep_id: None,
            },
            now,
        )?;
        let code = new_code(s, user.id, now)?;
        Ok((user, code))
    })
    .await
}

/// The company's person `target_id` whom `actor` may give codes to
/// (`team::may_issue_code`), switched on; `doing` says what a switched-off
/// person's refusal says the manager was doing.
fn code_target(
    s: &Stores<'_>,
    actor: &User,
    target_id: i64,
    doing: &str,
) -> Result<User, ServerError> {
    let accounts = s.accounts();
    let target = accounts
        .user_in(actor.company_id, target_id)?
        .ok_or_else(|| no_user_here(target_id))?;
    team::may_issue_code(actor, &target).map_err(team_refused)?;
    if accounts.off_since(target.id)?.is_some() {
        return Err(ServerError::Conflict(format!(
            "this account is switched off; switch it on before {doing} it a code"
        )));
    }
    Ok(target)
}

/// A fresh activation code for `target_id` (`team::may_issue_code`), with
/// its id; their older open codes stop working.
pub(crate) async fn issue_code(
    db: &Database,
    actor: User,
    target_id: i64,
) -> Result<(User, (i64, String)), ServerError> {
    db.transaction(move |s| {
        let target = code_target(s, &actor, target_id, "giving")?;
        let code = new_code(s, target.id, now_ms())?;
        Ok((target, code))
    })
    .await
}

/// Revokes the open activation code `code_id` of `target_id`
/// (`team::may_revoke_code`); another company's code, or one of another
/// person, is "not found". Revoking an already closed code changes nothing.
pub(crate) fn withdraw_code(
    s: &Stores<'_>,
    actor: &User,
    target_id: i64,
    code_id: i64,
    now: i64,
) -> Result<(), ServerError> {
    let not_found = || {
        ServerError::NotFound(format!(
            "no activation code {code_id} of user {target_id} in your company"
        ))
    };
    let accounts = s.accounts();
    let target = accounts
        .user_in(actor.company_id, target_id)?
        .ok_or_else(not_found)?;
    team::may_revoke_code(actor, &target).map_err(team_refused)?;
    if !accounts.has_code(target.id, code_id)? {
        return Err(not_found());
    }
    accounts.revoke_code(target.id, code_id, now)
}

pub(crate) async fn revoke_code(
    db: &Database,
    actor: User,
    target_id: i64,
    code_id: i64,
) -> Result<(), ServerError> {
    db.transaction(move |s| withdraw_code(s, &actor, target_id, code_id, now_ms()))
        .await
}

/// Who gets `code` by SMS, and their company's name: the code must be an
/// unused, unexpired code of `target_id`, someone the caller may give codes
/// to (`team::may_issue_code`), switched on and with a phone.
pub(crate) async fn code_for_sms(
    db: &Database,
    actor: User,
    target_id: i64,
    code: String,
) -> Result<(User, String), ServerError> {
    db.snapshot(move |s| {
        let target = code_target(s, &actor, target_id, "sending")?;
        let accounts = s.accounts();
        let hash = sha256(normalize_code(&code).as_bytes());
        if !accounts.is_open_code_of(target.id, &hash, now_ms())? {
            return Err(ServerError::InvalidInput(
                "this is not an open activation code of this person; issue a new one".into(),
            ));
        }
        if target.phone.is_none() {
            return Err(ServerError::InvalidInput(
                "this person has no phone number to send the code to".into(),
            ));
        }
        let company = accounts
            .company(target.company_id)?
            .ok_or_else(|| ServerError::NotFound(format!("no company {}", target.company_id)))?;
        Ok((target, company.name))
    })
    .await
}

/// The team screen's people from its rows, in id order.
fn team_members(rows: TeamRows) -> Vec<TeamMember> {
    let TeamRows {
        users,
        mut off_since,
        devices,
        open_codes,
        partners,
        leads,
        shares,
    } = rows;
    let mut devices_of: std::collections::HashMap<i64, Vec<_>> = Default::default();
    for (user_id, d) in devices {
        devices_of.entry(user_id).or_default().push(d);
    }
    let mut codes_of: std::collections::HashMap<i64, Vec<_>> = Default::default();
    for (user_id, c) in open_codes {
        codes_of.entry(user_id).or_default().push(c);
    }
    users
        .into_iter()
        .map(|user| TeamMember {
            deactivated_at_ms: off_since.remove(&user.id),
            devices: devices_of.remove(&user.id).unwrap_or_default(),
            open_codes: codes_of.remove(&user.id).unwrap_or_default(),
            partners: partners.get(&user.id).copied().unwrap_or(0),
            leads: leads.get(&user.id).copied().unwrap_or(0),
            shares_since: shares.get(&user.id).copied().unwrap_or(0),
            user,
        })
        .collect()
}

/// Refuses anyone but a manager, saying what only a manager may do.
fn only_manager(actor: &User, what: &str) -> Result<(), ServerError> {
    if actor.role == Role::Manager {
        Ok(())
    } else {
        Err(ServerError::Forbidden(format!("only a manager {what}")))
    }
}

/// The team screen of `actor`'s company (managers only).
pub(crate) async fn team_as(
    db: &Database,
    actor: &User,
    shares_since: i64,
) -> Result<Vec<TeamMember>, ServerError> {
    only_manager(actor, "sees the team")?;
    team(db, actor.company_id, shares_since).await
}

/// The company's people, each with their devices and counts, in id order.
pub(crate) async fn team(
    db: &Database,
    company_id: i64,
    shares_since: i64,
) -> Result<Vec<TeamMember>, ServerError> {
    let rows = db
        .snapshot(move |s| s.accounts().team_rows(company_id, shares_since, now_ms()))
        .await?;
    Ok(team_members(rows))
}

/// Reps a team import added: the file's row, the rep, their first code (id, code).
pub(crate) type AddedReps = Vec<(u32, User, (i64, String))>;

/// The manager `actor` adds `rows` as reps (`team::may_add`), each with
/// their first activation code, in the rows' order; or writes nothing and
/// returns the errors (phones already in the company among them). A
/// `dry_run` writes nothing either way. Two imports racing for one phone:
/// the company's unique phone index refuses the later one whole.
fn import_reps_in(
    s: &Stores<'_>,
    actor: &User,
    rows: &[ImportRow],
    dry_run: bool,
) -> Result<(AddedReps, Vec<ImportRowError>), ServerError> {
    team::may_add(actor, Role::Rep).map_err(team_refused)?;
    let phones: Vec<String> = rows
        .iter()
        .filter_map(|r| recheck::checked_phone(&r.phone).ok())
        .collect();
    let taken = s.invitations().taken_phones(actor.company_id, &phones)?;
    let checked = match recheck::recheck(rows, &taken) {
        Ok(c) => c,
        Err(errors) => return Ok((Vec::new(), errors)),
    };
    if dry_run {
        return Ok((Vec::new(), Vec::new()));
    }
    let now = now_ms();
    let mut added = Vec::with_capacity(checked.len());
    for (row, (name, phone)) in rows.iter().zip(&checked) {
        let new = NewUser {
            company_id: actor.company_id,
            role: Role::Rep,
            name,
            phone: Some(phone),
            rep_id: None,
        };
        let user = create_user(s, &new, now)?;
        let code = new_code(s, user.id, now)?;
        added.push((row.row, user, code));
    }
    Ok((added, Vec::new()))
}

/// The reps' import in one transaction; with errors (or a dry run)
/// nothing is written.
pub(crate) async fn import_reps(
    db: &Database,
    actor: User,
    rows: Vec<ImportRow>,
    dry_run: bool,
) -> Result<(AddedReps, Vec<ImportRowError>), ServerError> {
    if dry_run {
        return db
            .snapshot(move |s| import_reps_in(s, &actor, &rows, true))
            .await;
    }
    db.transaction(move |s| import_reps_in(s, &actor, &rows, false))
        .await
}

/// The caller renames themself (a device's push); whoever sees them learns it.
pub(crate) fn rename_self(
    s: &Stores<'_>,
    user: &User,
    name: &str,
    now: i64,
) -> Result<(), ServerError> {
    let name = checked_name(name)?;
    let accounts = s.accounts();
    accounts.rename_user(user.company_id, user.id, &name)?;
    let user = accounts
        .user(user.id)?
        .ok_or_else(|| ServerError::NotFound(format!("no user {}", user.id)))?;
    accounts.announce_user(&user, now)
}

/// Content types a poster can be drawn on (what the app decodes).
const POSTER_TYPES: [&str; 2] = ["image/jpeg", "image/png"];

fn no_media_here(id: i64) -> ServerError {
    ServerError::NotFound(format!("no media {id} in this company"))
}

/// Sets (or clears) the company's poster artwork and tells every device.
/// Another company's media is "not found", as if it did not exist.
pub(crate) async fn set_poster_artwork(
    db: &Database,
    company_id: i64,
    media_id: Option<i64>,
) -> Result<Company, ServerError> {
    db.transaction(move |s| {
        let accounts = s.accounts();
        if let Some(id) = media_id {
            let (t, _) = accounts
                .company_media(company_id, id)?
                .ok_or_else(|| no_media_here(id))?;
            if !POSTER_TYPES.contains(&t.as_str()) {
                return Err(ServerError::InvalidInput(format!(
                    "media {id} is {t}; the poster artwork must be image/jpeg or image/png"
                )));
            }
        }
        accounts.set_poster_media(company_id, media_id)?;
        accounts.announce_company(company_id, now_ms())
    })
    .await
}

/// [`set_poster_artwork`] by a manager of the company.
pub(crate) async fn set_poster_artwork_as(
    db: &Database,
    actor: &User,
    media_id: Option<i64>,
) -> Result<Company, ServerError> {
    only_manager(actor, "may change the poster artwork")?;
    set_poster_artwork(db, actor.company_id, media_id).await
}

/// [`set_poster_slogan`] by a manager of the company.
pub(crate) async fn set_poster_slogan_as(
    db: &Database,
    actor: &User,
    slogan: Option<String>,
) -> Result<Company, ServerError> {
    only_manager(actor, "may change the poster slogan")?;
    set_poster_slogan(db, actor.company_id, slogan).await
}

/// [`set_company_profile`] by a manager of the company.
pub(crate) async fn set_company_profile_as(
    db: &Database,
    actor: &User,
    profile: CompanyProfile,
) -> Result<Company, ServerError> {
    only_manager(actor, "may change the company profile")?;
    set_company_profile(db, actor.company_id, profile).await
}

/// Sets (or clears, back to the neutral default) the company's poster
/// slogan and tells every device.
pub(crate) async fn set_poster_slogan(
    db: &Database,
    company_id: i64,
    slogan: Option<String>,
) -> Result<Company, ServerError> {
    db.transaction(move |s| {
        let slogan = warmlead_core::invite::poster_slogan(slogan.as_deref())?;
        let accounts = s.accounts();
        accounts.set_poster_slogan(company_id, slogan.as_deref())?;
        accounts.announce_company(company_id, now_ms())
    })
    .await
}

/// A manager's whole company profile: cleaned by the core's rules, the
/// logo checked to be a small image of this company; every device learns
/// the result through the Company change.
pub(crate) async fn set_company_profile(
    db: &Database,
    company_id: i64,
    profile: CompanyProfile,
) -> Result<Company, ServerError> {
    let company = db
        .transaction(move |s| {
            let p = warmlead_core::company::clean_profile(&profile)?;
            let accounts = s.accounts();
            if let Some(id) = p.logo_media_id {
                let (t, size) = accounts
                    .company_media(company_id, id)?
                    .ok_or_else(|| no_media_here(id))?;
                warmlead_core::company::check_logo(&t, size)?;
            }
            accounts.set_profile(company_id, &p)?;
            // Share pages show the name and logo: other processes drop
            // their cached shares too.
            accounts.shares_changed(company_id)?;
            accounts.announce_company(company_id, now_ms())
        })
        .await?;
    // Cached share pages carry the company's old name and logo.
    db.share_cache().clear();
    Ok(company)
}

/// Every company with its users per role, oldest first.
pub(crate) async fn list_companies(db: &Database) -> Result<Vec<CompanyCounts>, ServerError> {
    db.snapshot(|s| s.accounts().company_counts()).await
}

/// Finds a user by id, E.164 phone or exact name (the CLI's `--user`).
pub(crate) async fn find_user(db: &Database, spec: String) -> Result<User, ServerError> {
    db.snapshot(move |s| {
        let accounts = s.accounts();
        let spec = spec.trim();
        if let Ok(id) = spec.parse::<i64>() {
            if let Some(user) = accounts.user(id)? {
                return Ok(user);
            }
        }
        if let Ok(phone) = Phone::parse(spec) {
            if let Some(user) = accounts
                .users_with_phone(phone.as_e164())?
                .into_iter()
                .next()
            {
                return Ok(user);
            }
        }
        let mut found = accounts.users_named(spec)?;
        match found.len() {
            0 => Err(ServerError::NotFound(format!("no user matches {spec:?}"))),
            1 => Ok(found.remove(0)),
            n => Err(ServerError::InvalidInput(format!(
                "{n} users are named {spec:?}; use the id or phone instead"
            ))),
        }
    })
    .await
}

/// The company when the server hosts exactly one: the header of public
/// pages that belong to no link yet (`/j`, a link that is not there).
/// A server of several companies names none of them there.
pub(crate) async fn sole_company(db: &Database) -> Result<Option<Company>, ServerError> {
    db.snapshot(|s| {
        let accounts = s.accounts();
        match accounts.company_ids(2)?[..] {
            [id] => accounts.company(id),
            _ => Ok(None),
        }
    })
    .await
}

/// The oldest company of this exact name.
pub(crate) async fn find_company(
    db: &Database,
    name: String,
) -> Result<Option<Company>, ServerError> {
    db.snapshot(move |s| s.accounts().company_named(&name))
        .await
}

/// Users of a company, in id order.
pub(crate) async fn company_users(
    db: &Database,
    company_id: i64,
) -> Result<Vec<User>, ServerError> {
    db.snapshot(move |s| s.accounts().users_of(company_id))
        .await
}

/// A new company (the CLI's `company create` without a manager, the tests').
pub(crate) async fn new_company(db: &Database, name: String) -> Result<Company, ServerError> {
    db.transaction(move |s| create_company(s, &name, now_ms()))
        .await
}

/// A company, its first manager and the manager's code, in one transaction.
pub(crate) async fn new_company_with_manager(
    db: &Database,
    name: String,
    manager_name: String,
    manager_phone: String,
) -> Result<(Company, User, String), ServerError> {
    db.transaction(move |s| {
        create_company_with_manager(s, &name, &manager_name, &manager_phone, now_ms())
    })
    .await
}

/// Someone an administrator adds (the CLI, the demo seed, the tests).
pub(crate) async fn new_user(
    db: &Database,
    company_id: i64,
    role: Role,
    name: String,
    phone: Option<String>,
    rep_id: Option<i64>,
) -> Result<User, ServerError> {
    db.transaction(move |s| {
        let new = NewUser {
            company_id,
            role,
            name: &name,
            phone: phone.as_deref(),
            rep_id,
        };
        create_user(s, &new, now_ms())
    })
    .await
}

/// A fresh one-time code (valid 7 days) for the user's next device.
pub(crate) async fn activation_code(db: &Database, user_id: i64) -> Result<String, ServerError> {
    db.transaction(move |s| Ok(new_code(s, user_id, now_ms())?.1))
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_seen_is_written_at_most_once_a_minute() {
        let table = [
            (None, 1_000, true),
            (Some(1_000), 1_000, false),
            (Some(1_000), 60_999, false),
            (Some(1_000), 61_000, true),
        ];
        for (stored, now, stale) in table {
            assert_eq!(
                last_seen_is_stale(stored, now),
                stale,
                "{stored:?} at {now}"
            );
        }
    }

    #[test]
    fn a_code_is_refused_for_what_its_row_says() {
        let state = |used, revoked| {
            Some(CodeState {
                expires_at_ms: 100,
                used_at_ms: used,
                revoked_at_ms: revoked,
            })
        };
        let why = |s, now| match code_refusal(s, now) {
            Ok(()) => "ok".to_string(),
            Err(e) => e.to_string(),
        };
        assert!(why(None, 0).contains("unknown"));
        assert!(why(state(Some(1), Some(1)), 0).contains("already been used"));
        assert!(why(state(None, Some(1)), 0).contains("withdrawn"));
        assert!(why(state(None, None), 100).contains("expired"));
        assert_eq!(why(state(None, None), 99), "ok");
    }
}
