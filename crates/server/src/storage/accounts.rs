//! Companies, users, activation codes and devices.

use crate::storage::sql::{self, params, Connection, OptionalExtension, Row};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::{Rng, RngCore};
use sha2::{Digest, Sha256};
use warmlead_core::activation;
use warmlead_core::api::{DeviceInfo, NewTeamMember, OpenCode, TeamMember};
use warmlead_core::company::CompanyProfile;
use warmlead_core::domain::{self, BindingRefused, Company, MediaRef, Role, User};
use warmlead_core::invite::PartnerSource;
use warmlead_core::phone::Phone;
use warmlead_core::sync::ChangeBody;
use warmlead_core::team;

use super::changes::{self, Scope};
use super::{now_ms, Database};
use crate::error::ServerError;

/// Activation codes last a week.
const CODE_TTL_MS: i64 = 7 * 24 * 3600 * 1000;
/// No 0/O, 1/I/L: codes are read aloud and typed by hand.
const CODE_ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
pub(crate) use warmlead_core::limits::MAX_NAME_CHARS;

/// The authenticated device behind a request.
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    pub device_id: i64,
    pub user: User,
    pub company: Company,
    /// When the device last reached the server, as stored before this request.
    pub last_seen_ms: Option<i64>,
}

/// "Last seen" is stored to this precision, so a busy device writes it at
/// most once a minute.
const LAST_SEEN_EVERY_MS: i64 = 60_000;

/// Whether a request at `now` should store the device's last-seen time.
pub(crate) fn last_seen_is_stale(stored: Option<i64>, now: i64) -> bool {
    stored.is_none_or(|at| now - at >= LAST_SEEN_EVERY_MS)
}

pub(crate) fn touch_device(tx: &Connection, device_id: i64, now: i64) -> Result<(), ServerError> {
    tx.execute(
        "UPDATE devices SET last_seen_at = ?1 WHERE id = ?2",
        params![now, device_id],
    )?;
    Ok(())
}

/// What activation hands back (the token in clear, once).
pub(crate) struct Activation {
    pub device_id: i64,
    pub token: String,
    pub user: User,
    pub company: Company,
}

pub(crate) fn sha256(data: &[u8]) -> Vec<u8> {
    Sha256::digest(data).to_vec()
}

pub(crate) use warmlead_core::domain::normalize_code;

/// `domain::checked_name`, refused in the API's words.
pub(crate) fn checked_name(name: &str) -> Result<String, ServerError> {
    domain::checked_name(name).map_err(|n| {
        ServerError::InvalidInput(format!(
            "name must be 1 to {MAX_NAME_CHARS} characters, got {n}"
        ))
    })
}

fn user_from_row(r: &Row) -> crate::storage::sql::Result<User> {
    let role: String = r.get(2)?;
    Ok(User {
        id: r.get(0)?,
        company_id: r.get(1)?,
        role: Role::parse(&role).unwrap_or(Role::Partner),
        name: r.get(3)?,
        phone: r.get(4)?,
        rep_id: r.get(5)?,
        joined_at_ms: r.get(6)?,
        source: r
            .get::<_, Option<String>>(7)?
            .as_deref()
            .and_then(PartnerSource::parse),
        invited_by: r.get(8)?,
        invitation_id: r.get(9)?,
    })
}

const USER_COLS: &str =
    "id, company_id, role, name, phone, rep_id, created_at, source, invited_by, invitation_id";

pub(crate) fn get_user(conn: &Connection, id: i64) -> Result<Option<User>, ServerError> {
    Ok(conn
        .query_row(
            &format!("SELECT {USER_COLS} FROM users WHERE id = ?1"),
            [id],
            user_from_row,
        )
        .optional()?)
}

/// Companies with their poster artwork's and logo's media, if any.
const COMPANY_SELECT: &str =
    "SELECT c.id, c.name, m.id, m.content_type, m.size, m.public_key, c.poster_slogan,
            l.id, l.content_type, l.size, l.public_key, c.commission_promise
     FROM companies c LEFT JOIN media m ON m.id = c.poster_media_id
     LEFT JOIN media l ON l.id = c.logo_media_id";

/// The media reference in columns `at..at + 4` (id, type, size, key), if any.
fn media_at(r: &Row, at: usize) -> crate::storage::sql::Result<Option<MediaRef>> {
    let id: Option<i64> = r.get(at)?;
    Ok(match id {
        Some(id) => Some(MediaRef {
            id,
            content_type: r.get(at + 1)?,
            size: r.get(at + 2)?,
            key: r.get(at + 3)?,
        }),
        None => None,
    })
}

fn company_from_row(r: &Row) -> crate::storage::sql::Result<Company> {
    Ok(Company {
        id: r.get(0)?,
        name: r.get(1)?,
        poster_artwork: media_at(r, 2)?,
        poster_slogan: r.get(6)?,
        logo: media_at(r, 7)?,
        commission_promise: r.get(11)?,
    })
}

pub(crate) fn get_company(conn: &Connection, id: i64) -> Result<Option<Company>, ServerError> {
    Ok(conn
        .query_row(
            &format!("{COMPANY_SELECT} WHERE c.id = ?1"),
            [id],
            company_from_row,
        )
        .optional()?)
}

pub(crate) fn find_company_by_name(
    conn: &Connection,
    name: &str,
) -> Result<Option<Company>, ServerError> {
    Ok(conn
        .query_row(
            &format!("{COMPANY_SELECT} WHERE c.name = ?1 ORDER BY c.id LIMIT 1"),
            [name],
            company_from_row,
        )
        .optional()?)
}

/// Content types a poster can be drawn on (what the app decodes).
const POSTER_TYPES: [&str; 2] = ["image/jpeg", "image/png"];

/// Sets (or clears) the company's poster artwork and tells every device.
/// Another company's media is "not found", as if it did not exist.
pub(crate) fn set_poster_artwork(
    tx: &Connection,
    company_id: i64,
    media_id: Option<i64>,
) -> Result<Company, ServerError> {
    if let Some(id) = media_id {
        let row: Option<(i64, String)> = tx
            .query_row(
                "SELECT company_id, content_type FROM media WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        match row {
            Some((c, t)) if c == company_id => {
                if !POSTER_TYPES.contains(&t.as_str()) {
                    return Err(ServerError::InvalidInput(format!(
                        "media {id} is {t}; the poster artwork must be image/jpeg or image/png"
                    )));
                }
            }
            _ => {
                return Err(ServerError::NotFound(format!(
                    "no media {id} in this company"
                )))
            }
        }
    }
    tx.execute(
        "UPDATE companies SET poster_media_id = ?1 WHERE id = ?2",
        params![media_id, company_id],
    )?;
    announce_company(tx, company_id)
}

/// The company as it is now, appended to the change log so every device
/// of the company learns it; returned for the caller's answer.
pub(crate) fn announce_company(tx: &Connection, company_id: i64) -> Result<Company, ServerError> {
    let company = get_company(tx, company_id)?
        .ok_or_else(|| ServerError::NotFound(format!("no company {company_id}")))?;
    changes::append(
        tx,
        company.id,
        Scope::Company,
        &ChangeBody::Company(company.clone()),
        now_ms(),
    )?;
    Ok(company)
}

/// Sets (or clears, back to the neutral default) the company's poster
/// slogan and tells every device.
pub(crate) fn set_poster_slogan(
    tx: &Connection,
    company_id: i64,
    slogan: Option<&str>,
) -> Result<Company, ServerError> {
    let slogan = warmlead_core::invite::poster_slogan(slogan)?;
    tx.execute(
        "UPDATE companies SET poster_slogan = ?1 WHERE id = ?2",
        params![slogan, company_id],
    )?;
    announce_company(tx, company_id)
}

/// A manager's whole company profile: cleaned by the core's rules, the
/// logo checked to be a small image of this company; every device learns
/// the result through the Company change.
pub(crate) fn set_company_profile(
    tx: &Connection,
    company_id: i64,
    profile: &CompanyProfile,
) -> Result<Company, ServerError> {
    let p = warmlead_core::company::clean_profile(profile)?;
    if let Some(id) = p.logo_media_id {
        let row: Option<(i64, String, i64)> = tx
            .query_row(
                "SELECT company_id, content_type, size FROM media WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        match row {
            Some((c, t, size)) if c == company_id => {
                warmlead_core::company::check_logo(&t, size)?;
            }
            _ => {
                return Err(ServerError::NotFound(format!(
                    "no media {id} in this company"
                )))
            }
        }
    }
    tx.execute(
        "UPDATE companies SET name = ?1, logo_media_id = ?2, poster_slogan = ?3,
                commission_promise = ?4
         WHERE id = ?5",
        params![
            p.name,
            p.logo_media_id,
            p.poster_slogan,
            p.commission_promise,
            company_id
        ],
    )?;
    // Share pages show the name and logo: other processes drop their
    // cached shares too.
    super::pg::notify(tx, super::pg::ITEMS_CHANNEL, company_id)?;
    announce_company(tx, company_id)
}

pub(crate) fn users_where(
    conn: &Connection,
    condition: &str,
    args: impl crate::storage::sql::Params,
) -> Result<Vec<User>, ServerError> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {USER_COLS} FROM users WHERE {condition} ORDER BY id"
    ))?;
    let users = stmt.query_map(args, user_from_row)?;
    Ok(users.collect::<Result<_, _>>()?)
}

pub(crate) fn create_company(tx: &Connection, name: &str) -> Result<Company, ServerError> {
    use warmlead_core::limits::MAX_COMPANY_NAME_CHARS;
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_COMPANY_NAME_CHARS {
        return Err(ServerError::InvalidInput(format!(
            "company name must be 1 to {MAX_COMPANY_NAME_CHARS} characters"
        )));
    }
    let now = now_ms();
    let new_id = tx.query_row(
        "INSERT INTO companies (name, created_at) VALUES (?1, ?2) RETURNING id",
        params![name, now],
        |r| r.get::<_, i64>(0),
    )?;
    let company = Company {
        id: new_id,
        name: name.to_string(),
        poster_artwork: None,
        poster_slogan: None,
        logo: None,
        commission_promise: None,
    };
    changes::append(
        tx,
        company.id,
        Scope::Company,
        &ChangeBody::Company(company.clone()),
        now,
    )?;
    Ok(company)
}

pub(crate) fn create_user(
    tx: &Connection,
    company_id: i64,
    role: Role,
    name: &str,
    phone: Option<&str>,
    rep_id: Option<i64>,
) -> Result<User, ServerError> {
    get_company(tx, company_id)?
        .ok_or_else(|| ServerError::NotFound(format!("no company {company_id}")))?;
    let name = checked_name(name)?;
    let phone = phone.map(Phone::parse).transpose()?.map(Phone::into_string);
    check_binding(tx, company_id, role, rep_id)?;
    // Partners made here come from an administrator (CLI, demo seed).
    let source = (role == Role::Partner).then_some(PartnerSource::Admin);
    let shown_phone = phone.clone();
    let user = tx.savepoint(|sp| {
        insert_user(
            sp,
            User {
                id: 0,
                company_id,
                role,
                name,
                phone,
                rep_id,
                joined_at_ms: now_ms(),
                source,
                invited_by: None,
                invitation_id: None,
            },
        )
    });
    let user = match user {
        Err(ServerError::Database(sql::Error::Unique(_))) => {
            return Err(ServerError::Conflict(format!(
                "a user of company {company_id} already has the number {}",
                shown_phone.unwrap_or_default()
            )))
        }
        other => other?,
    };
    emit_user(tx, &user, user.joined_at_ms)?;
    Ok(user)
}

/// A new company, its first manager and the manager's activation code,
/// all or nothing (what `warmlead-server company create` makes).
pub(crate) fn create_company_with_manager(
    tx: &Connection,
    name: &str,
    manager_name: &str,
    manager_phone: &str,
) -> Result<(Company, User, String), ServerError> {
    let company = create_company(tx, name)?;
    let manager = create_user(
        tx,
        company.id,
        Role::Manager,
        manager_name,
        Some(manager_phone),
        None,
    )?;
    let code = create_activation_code(tx, manager.id)?;
    Ok((company, manager, code))
}

/// Every company with its users per role (managers, reps, partners) and
/// when it was made, oldest first.
pub(crate) fn list_companies(
    conn: &Connection,
) -> Result<Vec<(Company, [i64; 3], i64)>, ServerError> {
    let rows: Vec<(i64, [i64; 3], i64)> = conn
        .prepare(
            "SELECT c.id, c.created_at,
                    CAST(COUNT(CASE WHEN u.role = 'manager' THEN 1 END) AS BIGINT),
                    CAST(COUNT(CASE WHEN u.role = 'rep' THEN 1 END) AS BIGINT),
                    CAST(COUNT(CASE WHEN u.role = 'partner' THEN 1 END) AS BIGINT)
             FROM companies c LEFT JOIN users u ON u.company_id = c.id
             GROUP BY c.id, c.created_at ORDER BY c.id",
        )?
        .query_map((), |r| {
            Ok((r.get(0)?, [r.get(2)?, r.get(3)?, r.get(4)?], r.get(1)?))
        })?
        .collect::<Result<_, _>>()?;
    let mut out = Vec::with_capacity(rows.len());
    for (id, counts, created) in rows {
        if let Some(company) = get_company(conn, id)? {
            out.push((company, counts, created));
        }
    }
    Ok(out)
}

/// Inserts an already checked user (name trimmed, phone E.164, binding
/// valid) and returns it with its id. Emitting the change is the caller's.
pub(crate) fn insert_user(tx: &Connection, mut user: User) -> Result<User, ServerError> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO users (company_id, role, name, phone, rep_id, created_at,
                            source, invited_by, invitation_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) RETURNING id",
    )?;
    let new_id = stmt.query_row(
        params![
            user.company_id,
            user.role.as_str(),
            user.name,
            user.phone,
            user.rep_id,
            user.joined_at_ms,
            user.source.map(PartnerSource::as_str),
            user.invited_by,
            user.invitation_id
        ],
        |r| r.get::<_, i64>(0),
    )?;
    user.id = new_id;
    Ok(user)
}

/// The user of a company with this E.164 phone, if any.
pub(crate) fn user_by_phone(
    conn: &Connection,
    company_id: i64,
    phone: &str,
) -> Result<Option<User>, ServerError> {
    Ok(users_where(
        conn,
        "company_id = ?1 AND phone = ?2",
        params![company_id, phone],
    )?
    .into_iter()
    .next())
}

/// Only partners are bound, to a rep of their company (`domain::check_binding`).
fn check_binding(
    conn: &Connection,
    company_id: i64,
    role: Role,
    rep_id: Option<i64>,
) -> Result<(), ServerError> {
    let Some(rep_id) = rep_id else { return Ok(()) };
    let rep = get_user(conn, rep_id)?;
    domain::check_binding(role, company_id, rep.as_ref()).map_err(|why| {
        ServerError::InvalidInput(match why {
            BindingRefused::NotAPartner => "only partners are bound to a rep".into(),
            BindingRefused::NotARepOfCompany => {
                format!("user {rep_id} is not a rep of company {company_id}")
            }
        })
    })
}

pub(crate) fn emit_user(tx: &Connection, user: &User, now: i64) -> Result<(), ServerError> {
    changes::append(
        tx,
        user.company_id,
        changes::user_scope(user),
        &ChangeBody::User(user.clone()),
        now,
    )?;
    Ok(())
}

pub(crate) fn rename_user(tx: &Connection, user_id: i64, name: &str) -> Result<User, ServerError> {
    let name = checked_name(name)?;
    tx.execute(
        "UPDATE users SET name = ?1 WHERE id = ?2",
        params![name, user_id],
    )?;
    let user = get_user(tx, user_id)?
        .ok_or_else(|| ServerError::NotFound(format!("no user {user_id}")))?;
    emit_user(tx, &user, now_ms())?;
    Ok(user)
}

/// A fresh one-time code like `K7Q-4M2-XP9`; only its hash is stored.
pub(crate) fn create_activation_code(tx: &Connection, user_id: i64) -> Result<String, ServerError> {
    Ok(new_activation_code(tx, user_id)?.1)
}

/// [`create_activation_code`], with the new code's id. Every older open
/// code of the person is retired in the same transaction, so a code that
/// was lost, or handed to the wrong person, stops working once a new one
/// is issued.
pub(crate) fn new_activation_code(
    tx: &Connection,
    user_id: i64,
) -> Result<(i64, String), ServerError> {
    get_user(tx, user_id)?.ok_or_else(|| ServerError::NotFound(format!("no user {user_id}")))?;
    let now = now_ms();
    let mut tries = 0;
    loop {
        let raw: String = {
            let mut rng = rand::thread_rng();
            (0..9)
                .map(|_| CODE_ALPHABET[rng.gen_range(0..CODE_ALPHABET.len())] as char)
                .collect()
        };
        let made = tx.savepoint(|sp| {
            sp.execute(
                "UPDATE activation_codes SET revoked_at = ?1
                 WHERE user_id = ?2 AND used_at IS NULL AND revoked_at IS NULL",
                params![now, user_id],
            )?;
            sp.query_row(
                "INSERT INTO activation_codes (code_hash, user_id, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4) RETURNING id",
                params![sha256(raw.as_bytes()), user_id, now, now + CODE_TTL_MS],
                |r| r.get::<_, i64>(0),
            )
        });
        match made {
            Ok(id) => return Ok((id, format!("{}-{}-{}", &raw[0..3], &raw[3..6], &raw[6..9]))),
            // PostgreSQL: another transaction issued a code for the same
            // person at the same moment, and the one-open-code index made
            // this insert wait for it; it has committed now, so retiring
            // again sees it. (Or, once in ages, the same code twice.)
            Err(sql::Error::Unique(_)) if tries < 3 => tries += 1,
            Err(e) => return Err(e.into()),
        }
    }
}

/// Whether `code` may be spent now, read without writing: the reason it
/// may not, in the words the person reads.
pub(crate) fn check_code(conn: &Connection, code: &str, now: i64) -> Result<(), ServerError> {
    let hash = sha256(normalize_code(code).as_bytes());
    let row: Option<(i64, Option<i64>, Option<i64>)> = conn
        .query_row(
            "SELECT expires_at, used_at, revoked_at FROM activation_codes WHERE code_hash = ?1",
            [&hash],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    match row {
        None => Err(ServerError::Unauthorized("unknown activation code".into())),
        Some((_, Some(_), _)) => Err(ServerError::Unauthorized(
            "this activation code has already been used; ask for a new one".into(),
        )),
        Some((_, None, Some(_))) => Err(ServerError::Unauthorized(
            "this activation code was withdrawn or replaced by a newer one; ask for a new one"
                .into(),
        )),
        Some((expires, None, None)) if expires <= now => Err(ServerError::Unauthorized(
            "this activation code has expired; ask for a new one".into(),
        )),
        Some(_) => Ok(()),
    }
}

/// Spends a one-time code and registers a device with a fresh bearer token.
/// Spending is one conditional statement: of two devices spending one code
/// at once, on either database, exactly one gets a row back; the other is
/// told why from what the first committed.
pub(crate) fn activate(
    tx: &Connection,
    code: &str,
    device_name: &str,
) -> Result<Activation, ServerError> {
    let device_name = checked_device_name(device_name)?;
    let hash = sha256(normalize_code(code).as_bytes());
    let now = now_ms();
    let spent: Option<i64> = tx
        .query_row(
            "UPDATE activation_codes SET used_at = ?1
             WHERE code_hash = ?2 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > ?1
             RETURNING user_id",
            params![now, hash],
            |r| r.get(0),
        )
        .optional()?;
    let Some(user_id) = spent else {
        check_code(tx, code, now)?;
        return Err(ServerError::Unauthorized(
            "this activation code cannot be used; ask for a new one".into(),
        ));
    };
    if is_deactivated(tx, user_id)? {
        return Err(switched_off("this account"));
    }
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let new_id = tx.query_row(
        "INSERT INTO devices (user_id, name, token_hash, created_at) VALUES (?1, ?2, ?3, ?4) RETURNING id",
        params![user_id, device_name, sha256(token.as_bytes()), now], |r| r.get::<_, i64>(0))?;
    let device_id = new_id;
    let (user, company) = user_and_company(tx, user_id)?;
    Ok(Activation {
        device_id,
        token,
        user,
        company,
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

/// Where activation attempts are counted (`rate_limits`): per network
/// (`subject`, the client's hashed address) and for the whole server.
fn attempt_keys(subject: &str) -> (String, &'static str) {
    (format!("activation_ip:{subject}"), "activation_all")
}

fn window_of(row: Option<(i64, i64)>) -> Option<activation::Window> {
    row.map(|(start_ms, hits)| activation::Window { start_ms, hits })
}

/// The stored attempt windows of `subject` and of the server.
pub(crate) fn attempt_windows(
    conn: &Connection,
    subject: &str,
) -> Result<(Option<activation::Window>, Option<activation::Window>), ServerError> {
    let (address, overall) = attempt_keys(subject);
    Ok((
        window_of(super::limits::window(conn, &address)?),
        window_of(super::limits::window(conn, overall)?),
    ))
}

/// Counts one attempt of `subject` (and of the server): the windows with it.
pub(crate) fn count_attempt(
    tx: &Connection,
    subject: &str,
    now: i64,
) -> Result<(activation::Window, activation::Window), ServerError> {
    let (address, overall) = attempt_keys(subject);
    let w = |(start_ms, hits)| activation::Window { start_ms, hits };
    Ok((
        w(super::limits::hit_window(
            tx,
            &address,
            now,
            activation::WINDOW_MS,
        )?),
        w(super::limits::hit_window(
            tx,
            overall,
            now,
            activation::WINDOW_MS,
        )?),
    ))
}

/// Takes back an attempt that signed a device in: only wrong codes fill a
/// window, so an office behind one address can activate all its laptops.
fn uncount_attempt(
    tx: &Connection,
    subject: &str,
    counted: (activation::Window, activation::Window),
) -> Result<(), ServerError> {
    let (address, overall) = attempt_keys(subject);
    super::limits::unhit(tx, &address, counted.0.start_ms)?;
    super::limits::unhit(tx, overall, counted.1.start_ms)
}

fn locked_out(l: activation::Lockout) -> ServerError {
    ServerError::TryLater {
        message: l.message(),
        retry_after_secs: l.retry_after_secs,
    }
}

fn user_and_company(conn: &Connection, user_id: i64) -> Result<(User, Company), ServerError> {
    let user = get_user(conn, user_id)?
        .ok_or_else(|| ServerError::NotFound(format!("no user {user_id}")))?;
    let company = get_company(conn, user.company_id)?
        .ok_or_else(|| ServerError::NotFound(format!("no company {}", user.company_id)))?;
    Ok((user, company))
}

/// The device (not revoked) whose token this is.
pub(crate) fn authenticate(conn: &Connection, token: &str) -> Result<Caller, ServerError> {
    // (device, user, revoked at, user deactivated at, last seen at)
    type DeviceRow = (i64, i64, Option<i64>, Option<i64>, Option<i64>);
    let row: Option<DeviceRow> = conn
        .query_row(
            "SELECT d.id, d.user_id, d.revoked_at, u.deactivated_at, d.last_seen_at
             FROM devices d JOIN users u ON u.id = d.user_id WHERE d.token_hash = ?1",
            [sha256(token.as_bytes())],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .optional()?;
    let (device_id, user_id, last_seen) = match row {
        None => return Err(ServerError::Unauthorized("unknown device token".into())),
        Some((_, _, Some(_), _, _)) => {
            return Err(ServerError::DeviceRevoked(
                "your company revoked this device; ask your manager if this is a mistake".into(),
            ))
        }
        Some((_, _, None, Some(_), _)) => return Err(switched_off("this account")),
        Some((device_id, user_id, None, None, last_seen)) => (device_id, user_id, last_seen),
    };
    let (user, company) = user_and_company(conn, user_id)?;
    Ok(Caller {
        device_id,
        user,
        company,
        last_seen_ms: last_seen,
    })
}

fn switched_off(what: &str) -> ServerError {
    ServerError::AccountDisabled(format!(
        "your company switched {what} off; ask your manager if this is a mistake"
    ))
}

pub(crate) fn is_deactivated(conn: &Connection, user_id: i64) -> Result<bool, ServerError> {
    let at: Option<Option<i64>> = conn
        .query_row(
            "SELECT deactivated_at FROM users WHERE id = ?1",
            [user_id],
            |r| r.get(0),
        )
        .optional()?;
    Ok(matches!(at, Some(Some(_))))
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
/// Share links of theirs stop crediting them (`team::share_standing`); the
/// caller drops cached shares on every process.
pub(crate) fn set_active(
    tx: &Connection,
    actor: &User,
    target_id: i64,
    switch: Switch,
    now: i64,
) -> Result<(), ServerError> {
    let target = get_user(tx, target_id)?
        .filter(|u| u.company_id == actor.company_id)
        .ok_or_else(|| ServerError::NotFound(format!("no user {target_id} in your company")))?;
    team::may_switch(actor, &target).map_err(team_refused)?;
    let company_id = target.company_id;
    match switch {
        Switch::Off => {
            // Switching off again keeps the first time: what was recorded
            // before it stays before it.
            tx.execute(
                "UPDATE users SET deactivated_at = COALESCE(deactivated_at, ?1) WHERE id = ?2",
                params![now, target_id],
            )?;
            super::invitation_store::invitation_store(tx)
                .close_for_switch_off(company_id, target_id, now)?;
            super::sms_store::sms_queue(tx).cancel_queued_of(company_id, target_id, now)?;
        }
        Switch::On { reopen_invitations } => {
            tx.execute(
                "UPDATE users SET deactivated_at = NULL WHERE id = ?1",
                [target_id],
            )?;
            if reopen_invitations {
                super::invitation_store::invitation_store(tx)
                    .reopen_after_switch_on(company_id, target_id, now)?;
            } else {
                super::invitation_store::invitation_store(tx)
                    .keep_closed_after_switch_on(company_id, target_id)?;
            }
        }
    }
    super::pg::notify(tx, super::pg::ITEMS_CHANNEL, company_id)?;
    emit_user(tx, &target, now)
}

/// Revokes one device (`warmlead_core::team::may_revoke_device`): its token
/// is refused from now on; the owner's other devices go on.
pub(crate) fn revoke_device(
    tx: &Connection,
    actor: &User,
    device_id: i64,
    now: i64,
) -> Result<i64, ServerError> {
    let not_found = || ServerError::NotFound(format!("no device {device_id} in your company"));
    let owner_id: i64 = tx
        .query_row(
            "SELECT user_id FROM devices WHERE id = ?1",
            [device_id],
            |r| r.get(0),
        )
        .optional()?
        .ok_or_else(not_found)?;
    let owner = get_user(tx, owner_id)?
        .filter(|u| u.company_id == actor.company_id)
        .ok_or_else(not_found)?;
    team::may_revoke_device(actor, &owner).map_err(team_refused)?;
    tx.execute(
        "UPDATE devices SET revoked_at = COALESCE(revoked_at, ?1) WHERE id = ?2",
        params![now, device_id],
    )?;
    // Other processes drop their cached shares too: the device's links
    // stop crediting it (or resolving, if recorded after now).
    super::pg::notify(tx, super::pg::ITEMS_CHANNEL, owner.company_id)?;
    emit_user(tx, &owner, now)?;
    Ok(owner.id)
}

/// The manager `actor` adds a rep or a manager (`team::may_add`); the new
/// person and their first activation code.
pub(crate) fn add_member(
    tx: &Connection,
    actor: &User,
    new: &NewTeamMember,
) -> Result<(User, (i64, String)), ServerError> {
    team::may_add(actor, new.role).map_err(team_refused)?;
    let user = create_user(
        tx,
        actor.company_id,
        new.role,
        &new.name,
        Some(&new.phone),
        None,
    )?;
    let code = new_activation_code(tx, user.id)?;
    Ok((user, code))
}

/// A fresh activation code for `target_id` (`team::may_issue_code`), with
/// its id; their older open codes stop working.
pub(crate) fn issue_code(
    tx: &Connection,
    actor: &User,
    target_id: i64,
) -> Result<(User, (i64, String)), ServerError> {
    let target = get_user(tx, target_id)?
        .filter(|u| u.company_id == actor.company_id)
        .ok_or_else(|| ServerError::NotFound(format!("no user {target_id} in your company")))?;
    team::may_issue_code(actor, &target).map_err(team_refused)?;
    if is_deactivated(tx, target.id)? {
        return Err(ServerError::Conflict(
            "this account is switched off; switch it on before giving it a code".into(),
        ));
    }
    let code = new_activation_code(tx, target.id)?;
    Ok((target, code))
}

/// Revokes the open activation code `code_id` of `target_id`
/// (`team::may_revoke_code`); another company's code, or one of another
/// person, is "not found". Revoking an already closed code changes nothing.
pub(crate) fn revoke_code(
    tx: &Connection,
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
    let target = get_user(tx, target_id)?
        .filter(|u| u.company_id == actor.company_id)
        .ok_or_else(not_found)?;
    team::may_revoke_code(actor, &target).map_err(team_refused)?;
    let owner: Option<i64> = tx
        .query_row(
            "SELECT user_id FROM activation_codes WHERE id = ?1 AND user_id = ?2",
            params![code_id, target.id],
            |r| r.get(0),
        )
        .optional()?;
    owner.ok_or_else(not_found)?;
    tx.execute(
        "UPDATE activation_codes SET revoked_at = ?1
         WHERE id = ?2 AND user_id = ?3 AND used_at IS NULL AND revoked_at IS NULL",
        params![now, code_id, target.id],
    )?;
    Ok(())
}

/// Who gets `code` by SMS, and their company's name: the code must be an
/// unused, unexpired code of `target_id`, someone the caller may give codes
/// to (`team::may_issue_code`), switched on and with a phone.
pub(crate) fn code_for_sms(
    tx: &Connection,
    actor: &User,
    target_id: i64,
    code: &str,
) -> Result<(User, String), ServerError> {
    let target = get_user(tx, target_id)?
        .filter(|u| u.company_id == actor.company_id)
        .ok_or_else(|| ServerError::NotFound(format!("no user {target_id} in your company")))?;
    team::may_issue_code(actor, &target).map_err(team_refused)?;
    if is_deactivated(tx, target.id)? {
        return Err(ServerError::Conflict(
            "this account is switched off; switch it on before sending it a code".into(),
        ));
    }
    let open: Option<i64> = tx
        .query_row(
            "SELECT user_id FROM activation_codes
             WHERE code_hash = ?1 AND user_id = ?2 AND used_at IS NULL AND revoked_at IS NULL
                   AND expires_at > ?3",
            params![sha256(normalize_code(code).as_bytes()), target.id, now_ms()],
            |r| r.get(0),
        )
        .optional()?;
    if open.is_none() {
        return Err(ServerError::InvalidInput(
            "this is not an open activation code of this person; issue a new one".into(),
        ));
    }
    if target.phone.is_none() {
        return Err(ServerError::InvalidInput(
            "this person has no phone number to send the code to".into(),
        ));
    }
    let company = get_company(tx, target.company_id)?
        .ok_or_else(|| ServerError::NotFound(format!("no company {}", target.company_id)))?;
    Ok((target, company.name))
}

/// How many days an activation code lasts, as the SMS says it.
pub(crate) const CODE_TTL_DAYS: i64 = CODE_TTL_MS / (24 * 3600 * 1000);

pub(crate) fn team_refused(why: team::TeamRefused) -> ServerError {
    match why {
        team::TeamRefused::OtherCompany => ServerError::NotFound(why.message().into()),
        _ => ServerError::Forbidden(why.message().into()),
    }
}

/// Per user id of a company: one count from `sql` (`?1` the company, `?2`
/// `since`), whose rows are (user id, count).
fn counts(
    conn: &Connection,
    sql: &str,
    company_id: i64,
    since: i64,
) -> Result<std::collections::HashMap<i64, i64>, ServerError> {
    Ok(conn
        .prepare_cached(sql)?
        .query_map(params![company_id, since], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?)
}

/// The company's people, each with their devices and counts, in id order.
pub(crate) fn team(
    conn: &Connection,
    company_id: i64,
    shares_since: i64,
) -> Result<Vec<TeamMember>, ServerError> {
    let partners = counts(
        conn,
        "SELECT rep_id, CAST(COUNT(*) AS BIGINT) FROM users
         WHERE company_id = ?1 AND role = 'partner' AND rep_id IS NOT NULL AND ?2 = ?2
         GROUP BY rep_id",
        company_id,
        shares_since,
    )?;
    let mut leads = counts(
        conn,
        "SELECT rep_id, CAST(COUNT(*) AS BIGINT) FROM leads
         WHERE company_id = ?1 AND rep_id IS NOT NULL AND ?2 = ?2 GROUP BY rep_id",
        company_id,
        shares_since,
    )?;
    leads.extend(counts(
        conn,
        "SELECT partner_id, CAST(COUNT(*) AS BIGINT) FROM leads
         WHERE company_id = ?1 AND ?2 = ?2 GROUP BY partner_id",
        company_id,
        shares_since,
    )?);
    let mut shares = counts(
        conn,
        "SELECT s.partner_id, CAST(COUNT(*) AS BIGINT) FROM shares s
         JOIN users u ON u.id = s.partner_id
         WHERE u.company_id = ?1 AND s.created_at >= ?2 GROUP BY s.partner_id",
        company_id,
        shares_since,
    )?;
    shares.extend(counts(
        conn,
        "SELECT s.rep_id, CAST(COUNT(*) AS BIGINT) FROM shares s
         JOIN users u ON u.id = s.rep_id
         WHERE u.company_id = ?1 AND s.created_at >= ?2 AND s.rep_id <> s.partner_id
         GROUP BY s.rep_id",
        company_id,
        shares_since,
    )?);
    let users = users_where(conn, "company_id = ?1", [company_id])?;
    let mut off: std::collections::HashMap<i64, i64> = conn
        .prepare("SELECT id, deactivated_at FROM users WHERE company_id = ?1 AND deactivated_at IS NOT NULL")?
        .query_map([company_id], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let mut devices: std::collections::HashMap<i64, Vec<DeviceInfo>> = Default::default();
    let rows = conn
        .prepare(
            "SELECT d.user_id, d.id, d.name, d.created_at, d.revoked_at, d.last_seen_at
             FROM devices d JOIN users u ON u.id = d.user_id
             WHERE u.company_id = ?1 ORDER BY d.id",
        )?
        .query_map([company_id], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                DeviceInfo {
                    id: r.get(1)?,
                    name: r.get(2)?,
                    created_at_ms: r.get(3)?,
                    revoked_at_ms: r.get(4)?,
                    last_seen_at_ms: r.get(5)?,
                },
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    for (user_id, d) in rows {
        devices.entry(user_id).or_default().push(d);
    }
    let mut codes: std::collections::HashMap<i64, Vec<OpenCode>> = Default::default();
    let rows = conn
        .prepare(
            "SELECT a.user_id, a.id, a.created_at, a.expires_at
             FROM activation_codes a JOIN users u ON u.id = a.user_id
             WHERE u.company_id = ?1 AND a.used_at IS NULL AND a.revoked_at IS NULL
               AND a.expires_at > ?2
             ORDER BY a.id",
        )?
        .query_map(params![company_id, now_ms()], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                OpenCode {
                    id: r.get(1)?,
                    created_at_ms: r.get(2)?,
                    expires_at_ms: r.get(3)?,
                },
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    for (user_id, c) in rows {
        codes.entry(user_id).or_default().push(c);
    }
    Ok(users
        .into_iter()
        .map(|user| TeamMember {
            deactivated_at_ms: off.remove(&user.id),
            devices: devices.remove(&user.id).unwrap_or_default(),
            open_codes: codes.remove(&user.id).unwrap_or_default(),
            partners: partners.get(&user.id).copied().unwrap_or(0),
            leads: leads.get(&user.id).copied().unwrap_or(0),
            shares_since: shares.get(&user.id).copied().unwrap_or(0),
            user,
        })
        .collect())
}

/// Whether a device may still act: it exists, is not revoked, and its user
/// is switched on (what `authenticate` requires of a token).
pub(crate) fn device_is_live(conn: &Connection, device_id: i64) -> Result<bool, ServerError> {
    let live: Option<i64> = conn
        .query_row(
            "SELECT d.id FROM devices d JOIN users u ON u.id = d.user_id
             WHERE d.id = ?1 AND d.revoked_at IS NULL AND u.deactivated_at IS NULL",
            [device_id],
            |r| r.get(0),
        )
        .optional()?;
    Ok(live.is_some())
}

/// A device's user, with when the device was revoked and when the user was
/// switched off (for verifying share tokens: `team::share_standing`).
pub(crate) struct DeviceOwner {
    pub user: User,
    pub revoked_at_ms: Option<i64>,
    pub off_since_ms: Option<i64>,
}

pub(crate) fn device_owner(
    conn: &Connection,
    device_id: i64,
) -> Result<Option<DeviceOwner>, ServerError> {
    let row: Option<(i64, Option<i64>, Option<i64>)> = conn
        .query_row(
            "SELECT d.user_id, d.revoked_at, u.deactivated_at
             FROM devices d JOIN users u ON u.id = d.user_id WHERE d.id = ?1",
            [device_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let Some((user_id, revoked_at_ms, off_since_ms)) = row else {
        return Ok(None);
    };
    Ok(get_user(conn, user_id)?.map(|user| DeviceOwner {
        user,
        revoked_at_ms,
        off_since_ms,
    }))
}

/// Finds a user by id, E.164 phone or exact name (the CLI's `--user`).
pub(crate) fn find_user(conn: &Connection, spec: &str) -> Result<User, ServerError> {
    let spec = spec.trim();
    if let Ok(id) = spec.parse::<i64>() {
        if let Some(user) = get_user(conn, id)? {
            return Ok(user);
        }
    }
    if let Ok(phone) = Phone::parse(spec) {
        let found = users_where(conn, "phone = ?1", [phone.as_e164()])?;
        if let Some(user) = found.into_iter().next() {
            return Ok(user);
        }
    }
    let mut found = users_where(conn, "name = ?1", [spec])?;
    match found.len() {
        0 => Err(ServerError::NotFound(format!("no user matches {spec:?}"))),
        1 => Ok(found.remove(0)),
        n => Err(ServerError::InvalidInput(format!(
            "{n} users are named {spec:?}; use the id or phone instead"
        ))),
    }
}

impl Database {
    pub(crate) async fn set_active(
        &self,
        actor: User,
        target_id: i64,
        switch: Switch,
    ) -> Result<(), ServerError> {
        self.tx(move |tx, _| set_active(tx, &actor, target_id, switch, now_ms()))
            .await?;
        // Their share links credit (or resolve) differently from now on.
        self.share_cache().clear();
        Ok(())
    }

    /// Revokes the device; its owner's id.
    pub(crate) async fn revoke_device(
        &self,
        actor: User,
        device_id: i64,
    ) -> Result<i64, ServerError> {
        let owner = self
            .tx(move |tx, _| revoke_device(tx, &actor, device_id, now_ms()))
            .await?;
        // A revoked device's share links stop crediting it, or resolving
        // (`team::share_standing`).
        self.share_cache().clear();
        Ok(owner)
    }

    pub(crate) async fn add_member(
        &self,
        actor: User,
        new: NewTeamMember,
    ) -> Result<(User, (i64, String)), ServerError> {
        self.tx(move |tx, _| add_member(tx, &actor, &new)).await
    }

    pub(crate) async fn issue_code(
        &self,
        actor: User,
        target_id: i64,
    ) -> Result<(User, (i64, String)), ServerError> {
        self.tx(move |tx, _| issue_code(tx, &actor, target_id))
            .await
    }

    pub(crate) async fn revoke_code(
        &self,
        actor: User,
        target_id: i64,
        code_id: i64,
    ) -> Result<(), ServerError> {
        self.tx(move |tx, _| revoke_code(tx, &actor, target_id, code_id, now_ms()))
            .await
    }

    pub(crate) async fn code_for_sms(
        &self,
        actor: User,
        target_id: i64,
        code: String,
    ) -> Result<(User, String), ServerError> {
        self.read(move |c, _| code_for_sms(c, &actor, target_id, &code))
            .await
    }

    pub(crate) async fn team(
        &self,
        company_id: i64,
        shares_since: i64,
    ) -> Result<Vec<TeamMember>, ServerError> {
        self.read(move |c, _| team(c, company_id, shares_since))
            .await
    }

    pub(crate) async fn authenticate(&self, token: String) -> Result<Caller, ServerError> {
        let caller = self.read(move |c, _| authenticate(c, &token)).await?;
        let now = now_ms();
        if last_seen_is_stale(caller.last_seen_ms, now) {
            // Not on the request's path: a failed write only loses a "last seen".
            let (db, device_id) = (self.clone(), caller.device_id);
            tokio::spawn(async move {
                if let Err(e) = db.tx(move |tx, _| touch_device(tx, device_id, now)).await {
                    tracing::warn!(error = %e, "last seen not stored");
                }
            });
        }
        Ok(caller)
    }

    /// Spends `code` for a new device, from the network `subject` (the
    /// client's hashed address). Attempts are limited per network and for
    /// the server (`warmlead_core::activation`): a paused network or server
    /// is refused on a reader connection before anything is written; an
    /// attempt is counted (two small upserts) before its code is looked at
    /// on a reader, so a burst cannot slip more guesses past the limit; only
    /// a plausible code opens the transaction that spends it, which also
    /// takes its attempt back.
    pub(crate) async fn activate(
        &self,
        code: String,
        device_name: String,
        subject: String,
    ) -> Result<Activation, ServerError> {
        checked_device_name(&device_name)?;
        let now = now_ms();
        let key = subject.clone();
        let (address, overall) = self.read(move |c, _| attempt_windows(c, &key)).await?;
        if let Some(l) = activation::lockout(address, overall, now) {
            return Err(locked_out(l));
        }
        let key = subject.clone();
        let counted = self.tx(move |tx, _| count_attempt(tx, &key, now)).await?;
        if let Some(l) = activation::counted(counted.0, counted.1, now) {
            return Err(locked_out(l));
        }
        let looked = code.clone();
        self.read(move |c, _| check_code(c, &looked, now)).await?;
        self.tx(move |tx, _| {
            let a = activate(tx, &code, &device_name)?;
            uncount_attempt(tx, &subject, counted)?;
            Ok(a)
        })
        .await
    }

    pub(crate) async fn create_company(&self, name: String) -> Result<Company, ServerError> {
        self.tx(move |tx, _| create_company(tx, &name)).await
    }

    pub(crate) async fn create_company_with_manager(
        &self,
        name: String,
        manager_name: String,
        manager_phone: String,
    ) -> Result<(Company, User, String), ServerError> {
        self.tx(move |tx, _| create_company_with_manager(tx, &name, &manager_name, &manager_phone))
            .await
    }

    pub(crate) async fn list_companies(
        &self,
    ) -> Result<Vec<(Company, [i64; 3], i64)>, ServerError> {
        self.read(|c, _| list_companies(c)).await
    }

    pub(crate) async fn set_poster_artwork(
        &self,
        company_id: i64,
        media_id: Option<i64>,
    ) -> Result<Company, ServerError> {
        self.tx(move |tx, _| set_poster_artwork(tx, company_id, media_id))
            .await
    }

    pub(crate) async fn set_company_profile(
        &self,
        company_id: i64,
        profile: CompanyProfile,
    ) -> Result<Company, ServerError> {
        let company = self
            .tx(move |tx, _| set_company_profile(tx, company_id, &profile))
            .await?;
        // Cached share pages carry the company's old name and logo.
        self.share_cache().clear();
        Ok(company)
    }

    pub(crate) async fn set_poster_slogan(
        &self,
        company_id: i64,
        slogan: Option<String>,
    ) -> Result<Company, ServerError> {
        self.tx(move |tx, _| set_poster_slogan(tx, company_id, slogan.as_deref()))
            .await
    }

    pub(crate) async fn create_user(
        &self,
        company_id: i64,
        role: Role,
        name: String,
        phone: Option<String>,
        rep_id: Option<i64>,
    ) -> Result<User, ServerError> {
        self.tx(move |tx, _| create_user(tx, company_id, role, &name, phone.as_deref(), rep_id))
            .await
    }

    pub(crate) async fn create_activation_code(&self, user_id: i64) -> Result<String, ServerError> {
        self.tx(move |tx, _| create_activation_code(tx, user_id))
            .await
    }

    pub(crate) async fn find_user(&self, spec: String) -> Result<User, ServerError> {
        self.read(move |c, _| find_user(c, &spec)).await
    }

    pub(crate) async fn find_company(&self, name: String) -> Result<Option<Company>, ServerError> {
        self.read(move |c, _| find_company_by_name(c, &name)).await
    }

    /// The company when the server hosts exactly one: the header of public
    /// pages that belong to no link yet (`/j`, a link that is not there).
    /// A server of several companies names none of them there.
    pub(crate) async fn sole_company(&self) -> Result<Option<Company>, ServerError> {
        self.read(move |c, _| {
            let ids: Vec<i64> = c
                .prepare("SELECT id FROM companies ORDER BY id LIMIT 2")?
                .query_map((), |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            match ids[..] {
                [id] => get_company(c, id),
                _ => Ok(None),
            }
        })
        .await
    }

    /// Users of a company, in id order.
    pub(crate) async fn company_users(&self, company_id: i64) -> Result<Vec<User>, ServerError> {
        self.read(move |c, _| users_where(c, "company_id = ?1", [company_id]))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::testdb;

    /// A rep of a new company, made and committed on `conn`.
    fn rep(conn: &Connection) -> User {
        testdb::begin(conn);
        let company = create_company(conn, "暖居装修").unwrap();
        let rep = create_user(conn, company.id, Role::Rep, "李明", None, None).unwrap();
        conn.execute_batch("COMMIT").unwrap();
        rep
    }

    fn count(conn: &Connection, sql: &str, user_id: i64) -> i64 {
        conn.query_row(sql, [user_id], |r| r.get(0)).unwrap()
    }

    /// Two devices spend one code at once on PostgreSQL (READ COMMITTED):
    /// the first has spent it and made its device but not committed when
    /// the second starts, which then waits on the code's row. Once the
    /// first commits, the second must be told the code is used, not make a
    /// second device. (SQLite: the second waits to begin, with the same end.)
    #[test]
    fn two_devices_spending_one_code_at_once_get_one_device() {
        let (mut conns, _dir) = testdb::racing_connections(3);
        let (first, second, watcher) = (conns.remove(0), conns.remove(0), conns.remove(0));
        let rep = rep(&first);
        testdb::begin(&first);
        let code = create_activation_code(&first, rep.id).unwrap();
        first.execute_batch("COMMIT").unwrap();

        testdb::begin(&first);
        activate(&first, &code, "first laptop").unwrap();
        let racing = code.clone();
        let racer = std::thread::spawn(move || {
            testdb::begin(&second);
            let got = activate(&second, &racing, "second laptop").map(|a| a.device_id);
            let end = if got.is_ok() { "COMMIT" } else { "ROLLBACK" };
            second.execute_batch(end).unwrap();
            got
        });
        testdb::wait_for_lock_waiter(&watcher);
        first.execute_batch("COMMIT").unwrap();
        let second = racer.join().unwrap();

        let err = second.expect_err("the code was spent by the first device");
        assert!(
            matches!(&err, ServerError::Unauthorized(m) if m.contains("already been used")),
            "{err:?}"
        );
        assert_eq!(
            count(
                &watcher,
                "SELECT COUNT(*) FROM devices WHERE user_id = ?1",
                rep.id
            ),
            1
        );
    }

    /// Two codes for one person issued at once on PostgreSQL: the second
    /// waits for the first (the one-open-code index), then retires it; one
    /// code stays open, the newer.
    #[test]
    fn two_codes_issued_at_once_leave_one_open() {
        let (mut conns, _dir) = testdb::racing_connections(3);
        let (first, second, watcher) = (conns.remove(0), conns.remove(0), conns.remove(0));
        let rep = rep(&first);
        testdb::begin(&first);
        let (first_id, _) = new_activation_code(&first, rep.id).unwrap();
        let user_id = rep.id;
        let racer = std::thread::spawn(move || {
            testdb::begin(&second);
            let (id, _) = new_activation_code(&second, user_id).unwrap();
            second.execute_batch("COMMIT").unwrap();
            id
        });
        testdb::wait_for_lock_waiter(&watcher);
        first.execute_batch("COMMIT").unwrap();
        let second_id = racer.join().unwrap();
        assert!(second_id > first_id);
        let open: Vec<i64> = watcher
            .prepare(
                "SELECT id FROM activation_codes
                 WHERE user_id = ?1 AND used_at IS NULL AND revoked_at IS NULL",
            )
            .unwrap()
            .query_map([rep.id], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(open, [second_id]);
    }

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
}
