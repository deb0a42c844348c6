//! The change log clients pull, and who may see which row.
//!
//! Every state change clients should see appends one row here in the same
//! transaction as the change itself, with scope columns taken from the data
//! (never from what a client asked for).

use rusqlite::{params, Connection};
use serde::de::DeserializeOwned;
use warmlead_core::domain::{Role, User};
use warmlead_core::lead::{RadarBody, RadarChange};
use warmlead_core::sync::{Change, ChangeBody};

use super::Caller;
use crate::error::ServerError;

/// Who sees a change, besides the company's managers (who see everything).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    /// Everyone in the company (the company row, content items).
    Company,
    /// The rep in `rep_id` and the partner in `partner_id`.
    Scoped {
        rep_id: Option<i64>,
        partner_id: Option<i64>,
    },
    /// The rep and every partner bound to them (the rep's own user row).
    RepTeam { rep_id: i64 },
}

impl Scope {
    fn columns(self) -> (&'static str, Option<i64>, Option<i64>) {
        match self {
            Scope::Company => ("company", None, None),
            Scope::Scoped { rep_id, partner_id } => ("scoped", rep_id, partner_id),
            Scope::RepTeam { rep_id } => ("rep_team", Some(rep_id), None),
        }
    }
}

/// Partners see themselves and their rep; reps see themselves and their
/// partners; managers' rows reach only managers.
pub(crate) fn user_scope(user: &User) -> Scope {
    match user.role {
        Role::Partner => Scope::Scoped {
            rep_id: user.rep_id,
            partner_id: Some(user.id),
        },
        Role::Rep => Scope::RepTeam { rep_id: user.id },
        Role::Manager => Scope::Scoped {
            rep_id: None,
            partner_id: None,
        },
    }
}

/// The two streams of the log: `sync` (`ChangeBody`, every client) and
/// `radar` (`RadarBody`, pulled by radar-aware clients).
pub(crate) const SYNC: &str = "sync";
pub(crate) const RADAR: &str = "radar";

pub(crate) fn append(
    tx: &Connection,
    company_id: i64,
    scope: Scope,
    body: &ChangeBody,
    now: i64,
) -> Result<i64, ServerError> {
    insert(
        tx,
        company_id,
        scope,
        SYNC,
        &serde_json::to_string(body)?,
        now,
    )
}

pub(crate) fn append_radar(
    tx: &Connection,
    company_id: i64,
    scope: Scope,
    body: &RadarBody,
    now: i64,
) -> Result<i64, ServerError> {
    insert(
        tx,
        company_id,
        scope,
        RADAR,
        &serde_json::to_string(body)?,
        now,
    )
}

fn insert(
    tx: &Connection,
    company_id: i64,
    scope: Scope,
    stream: &str,
    body: &str,
    now: i64,
) -> Result<i64, ServerError> {
    APPENDED.with(|a| a.borrow_mut().insert(company_id));
    let (audience, rep_id, partner_id) = scope.columns();
    let mut stmt = tx.prepare_cached(
        "INSERT INTO changes (company_id, rep_id, partner_id, audience, body, created_at, stream)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    stmt.execute(params![
        company_id, rep_id, partner_id, audience, body, now, stream
    ])?;
    Ok(tx.last_insert_rowid())
}

thread_local! {
    /// Companies whose log the transaction on this thread appended to; the
    /// commit wakes their live streams (see `Database::tx`).
    static APPENDED: std::cell::RefCell<std::collections::BTreeSet<i64>> = Default::default();
}

/// The companies appended to since the last call, clearing the set.
pub(crate) fn take_appended() -> std::collections::BTreeSet<i64> {
    APPENDED.with(|a| std::mem::take(&mut *a.borrow_mut()))
}

/// One page of changes after `after` that `caller` may see, oldest first, and
/// whether more follow.
///
/// No watermark is needed: there is one SQLite writer connection, so
/// transactions commit one at a time in seq order, and a reader can never see
/// seq N+1 before seq N has committed. (PostgreSQL will need one; see DESIGN.md.)
pub(crate) fn pull(
    conn: &Connection,
    caller: &Caller,
    after: i64,
    limit: u32,
) -> Result<(Vec<Change>, bool), ServerError> {
    let (rows, has_more) = pull_stream::<ChangeBody>(conn, caller, SYNC, after, limit)?;
    let changes = rows.into_iter().map(|(seq, body)| Change { seq, body });
    Ok((changes.collect(), has_more))
}

/// The radar stream, with the same scope rules as the sync stream.
pub(crate) fn pull_radar(
    conn: &Connection,
    caller: &Caller,
    after: i64,
    limit: u32,
) -> Result<(Vec<RadarChange>, bool), ServerError> {
    let (rows, has_more) = pull_stream::<RadarBody>(conn, caller, RADAR, after, limit)?;
    let changes = rows
        .into_iter()
        .map(|(seq, body)| RadarChange { seq, body });
    Ok((changes.collect(), has_more))
}

/// The newest seq of a stream the caller may see (0 when none): what the
/// live event stream compares against.
pub(crate) fn newest_visible(
    conn: &Connection,
    caller: &Caller,
    stream: &str,
    after: i64,
) -> Result<i64, ServerError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT COALESCE(MAX(seq), ?2) FROM changes
         WHERE company_id = ?1 AND seq > ?2 AND stream = ?6 AND {VISIBLE}"
    ))?;
    Ok(stmt.query_row(
        params![
            caller.company.id,
            after,
            caller.user.role.as_str(),
            caller.user.id,
            caller.user.rep_id,
            stream
        ],
        |r| r.get(0),
    )?)
}

/// Who may see a row: ?3 role, ?4 the caller's id, ?5 the caller's rep.
const VISIBLE: &str = "(
               ?3 = 'manager'
            OR audience = 'company'
            OR (?3 = 'rep' AND rep_id = ?4)
            OR (?3 = 'partner' AND partner_id = ?4)
            OR (?3 = 'partner' AND audience = 'rep_team' AND rep_id = ?5)
         )";

fn pull_stream<B: DeserializeOwned>(
    conn: &Connection,
    caller: &Caller,
    stream: &str,
    after: i64,
    limit: u32,
) -> Result<(Vec<(i64, B)>, bool), ServerError> {
    let me = caller.user.id;
    let mut stmt = conn.prepare_cached(
        "SELECT seq, body FROM changes
         WHERE company_id = ?1 AND seq > ?2 AND stream = ?7 AND (
               ?3 = 'manager'
            OR audience = 'company'
            OR (?3 = 'rep' AND rep_id = ?4)
            OR (?3 = 'partner' AND partner_id = ?4)
            OR (?3 = 'partner' AND audience = 'rep_team' AND rep_id = ?5)
         )
         ORDER BY seq
         LIMIT ?6",
    )?;
    let rows = stmt.query_map(
        params![
            caller.company.id,
            after,
            caller.user.role.as_str(),
            me,
            caller.user.rep_id,
            i64::from(limit) + 1,
            stream
        ],
        |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)),
    )?;
    let mut changes = Vec::new();
    for row in rows {
        let (seq, body) = row?;
        changes.push((seq, serde_json::from_str(&body)?));
    }
    let has_more = changes.len() > limit as usize;
    changes.truncate(limit as usize);
    Ok((changes, has_more))
}

/// The newest lead at grade A or A+ appended in `(after, upto]` that the
/// caller may see: the desktop notifies about it.
pub(crate) fn hot_lead(
    conn: &Connection,
    caller: &Caller,
    after: i64,
    upto: i64,
) -> Result<Option<i64>, ServerError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT body FROM changes
         WHERE company_id = ?1 AND seq > ?2 AND seq <= ?6 AND stream = 'radar'
           AND body LIKE '{{\"entity\":\"lead\"%' AND {VISIBLE}
         ORDER BY seq DESC"
    ))?;
    let rows = stmt.query_map(
        params![
            caller.company.id,
            after,
            caller.user.role.as_str(),
            caller.user.id,
            caller.user.rep_id,
            upto
        ],
        |r| r.get::<_, String>(0),
    )?;
    for body in rows {
        if let Ok(RadarBody::Lead(lead)) = serde_json::from_str(&body?) {
            if lead.grade >= warmlead_core::lead::Grade::A {
                return Ok(Some(lead.id));
            }
        }
    }
    Ok(None)
}
