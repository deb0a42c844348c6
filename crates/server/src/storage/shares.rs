//! Shares (made on devices, possibly offline) and the visits they bring.

use crate::storage::sql::{params, Connection, OptionalExtension, Row};
use warmlead_core::domain::{Channel, Company, ContentItem, Role, Share, User, Visit};
use warmlead_core::sync::ChangeBody;
use warmlead_core::team::{share_standing, ShareStanding};
use warmlead_core::token::{derive_share_key, ShareClaim, UnverifiedToken};
use warmlead_core::visibility::{meant_for, Viewer};

use super::account_store::account_store;
use super::changes::{self, Scope};
use super::content_store::{content_store, ItemRef};
use super::{Database, Secrets};
use crate::error::ServerError;

/// A share token that verified, with everything the page and the tracker need.
#[derive(Debug, Clone)]
pub(crate) struct ResolvedShare {
    pub token: String,
    pub claim: ShareClaim,
    pub sharer: User,
    pub company: Company,
    pub item: ContentItem,
    /// The partner's own share this one descends from (= `token` for it).
    pub root_token: String,
    /// For a child share ("pass it on"): the share it was made from.
    pub parent_token: Option<String>,
    /// 0 for the partner's share, 1 for its child, ...
    pub depth: i64,
    /// Whether the item is meant for the sharer (the briefcase's rule,
    /// `visibility::meant_for`). When not, the link opens the polite "no
    /// longer available" page and credits nobody: a device can sign a link
    /// to any item id of its company.
    pub meant_for_sharer: bool,
    /// Whom what the share brings is credited to.
    pub credit: Credit,
}

/// Whom a share's views, signals and leads go to
/// (`warmlead_core::team::share_standing`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Credit {
    /// The sharer, as always.
    Sharer,
    /// The share was recorded before its device was revoked or its partner
    /// switched off: it still shows its content, and `sharer` is the
    /// partner's rep, so a friend's details still reach the company while no
    /// partner is credited.
    RepInstead,
    /// As `RepInstead`, with no rep to go to (a rep's own share, a partner
    /// bound to nobody): the content shows, nothing is tracked.
    Nobody,
}

impl ResolvedShare {
    /// The rep credited: the sharer's rep, or the sharer when a rep shares.
    pub fn rep_id(&self) -> Option<i64> {
        match self.sharer.role {
            Role::Rep => Some(self.sharer.id),
            _ => self.sharer.rep_id,
        }
    }

    /// Whether views, signals and forwards from the page are recorded.
    pub fn tracks(&self) -> bool {
        self.credit != Credit::Nobody
    }

    pub fn is_child(&self) -> bool {
        self.parent_token.is_some()
    }

    pub(crate) fn scope(&self) -> Scope {
        Scope::Scoped {
            rep_id: self.rep_id(),
            partner_id: Some(self.sharer.id),
        }
    }
}

/// One beacon from the share page.
#[derive(Debug, Clone, Default)]
pub(crate) struct BeaconInput {
    pub page_view: String,
    pub visitor_id: String,
    pub ip_hash: Option<String>,
    pub dwell_ms: i64,
    pub scroll_pct: Option<i64>,
    pub video_s: Option<i64>,
    pub video_len_s: Option<i64>,
    pub now_ms: i64,
}

/// Child share tokens start with this; device tokens (version byte 1) never do.
pub(crate) const CHILD_PREFIX: char = 'f';

/// Verifies the token with the key derived for the device it names. Any
/// failure (malformed, forged, wrong role, deleted item, a device revoked or
/// a sharer switched off before the server recorded the share) is `None`:
/// to the outside, a share either resolves or does not exist. A share
/// recorded before resolves without crediting its sharer (`Credit`).
pub(crate) fn resolve(
    conn: &Connection,
    secrets: &Secrets,
    token: &str,
) -> Result<Option<ResolvedShare>, ServerError> {
    if token.starts_with(CHILD_PREFIX) {
        return resolve_child(conn, secrets, token);
    }
    let Some((claim, device_id, item_id)) = verified(secrets, token) else {
        return Ok(None);
    };
    let accounts = account_store(conn);
    let Some(owner) = accounts.device_owner(device_id)? else {
        return Ok(None);
    };
    let mut sharer = owner.user;
    if !warmlead_core::sync::push::shares(sharer.role) {
        return Ok(None);
    }
    let recorded_at = match (owner.off_since_ms, owner.revoked_at_ms) {
        (None, None) => None,
        _ => recorded_at(conn, token)?,
    };
    let credit = match share_standing(recorded_at, owner.off_since_ms, owner.revoked_at_ms) {
        ShareStanding::Credits => Credit::Sharer,
        ShareStanding::Refused => return Ok(None),
        ShareStanding::ServesUncredited => {
            let rep = match (sharer.role, sharer.rep_id) {
                (Role::Partner, Some(rep_id)) => accounts
                    .user(rep_id)?
                    .filter(|r| r.company_id == sharer.company_id && r.role != Role::Partner),
                _ => None,
            };
            match rep {
                Some(rep) => {
                    sharer = rep;
                    Credit::RepInstead
                }
                None => Credit::Nobody,
            }
        }
    };
    let Some(company) = accounts.company(sharer.company_id)? else {
        return Ok(None);
    };
    let Some((item, author)) = content_store(conn).item(company.id, ItemRef::Id(item_id))? else {
        return Ok(None);
    };
    let meant_for_sharer = meant_for(Viewer::from(&sharer), author, &item.audience);
    Ok(Some(ResolvedShare {
        token: token.to_string(),
        claim,
        sharer,
        company,
        item,
        root_token: token.to_string(),
        parent_token: None,
        depth: 0,
        meant_for_sharer,
        credit,
    }))
}

/// A device-signed token whose signature verifies with the key of the
/// device it names: its claim, device id and item id.
pub(crate) fn verified(secrets: &Secrets, token: &str) -> Option<(ShareClaim, i64, i64)> {
    let unverified = UnverifiedToken::parse(token).ok()?;
    let key = derive_share_key(&secrets.master, unverified.claim.device_id);
    let claim = unverified.verify(&key).ok()?;
    let device_id = i64::try_from(claim.device_id).ok()?;
    let item_id = i64::try_from(claim.item_id).ok()?;
    Some((claim, device_id, item_id))
}

/// When the server first recorded the share, if it has: by its own clock
/// (rows older than the column count from their creation).
fn recorded_at(conn: &Connection, token: &str) -> Result<Option<i64>, ServerError> {
    Ok(conn
        .query_row(
            "SELECT COALESCE(recorded_at, created_at) FROM shares WHERE token = ?1",
            [token],
            |r| r.get(0),
        )
        .optional()?)
}

/// A child share resolves to its root share's partner and item.
fn resolve_child(
    conn: &Connection,
    secrets: &Secrets,
    token: &str,
) -> Result<Option<ResolvedShare>, ServerError> {
    if token.len() > warmlead_core::token::MAX_TOKEN_LEN {
        return Ok(None);
    }
    let row: Option<(String, String, i64)> = conn
        .prepare_cached(
            "SELECT parent_token, root_token, depth FROM child_shares WHERE token = ?1",
        )?
        .query_row([token], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    let Some((parent, root, depth)) = row else {
        return Ok(None);
    };
    if root.starts_with(CHILD_PREFIX) {
        return Ok(None);
    }
    Ok(resolve(conn, secrets, &root)?.map(|r| ResolvedShare {
        token: token.to_string(),
        parent_token: Some(parent),
        depth,
        ..r
    }))
}

fn share_row(r: &Row) -> crate::storage::sql::Result<Share> {
    let channel: String = r.get(5)?;
    Ok(Share {
        token: r.get(0)?,
        device_id: r.get(1)?,
        share_no: r.get(2)?,
        item_id: r.get(3)?,
        partner_id: r.get(4)?,
        channel: Channel::parse(&channel).unwrap_or(Channel::Direct),
        created_at_ms: r.get(6)?,
    })
}

pub(crate) fn get_share(conn: &Connection, token: &str) -> Result<Option<Share>, ServerError> {
    Ok(conn
        .query_row(
            "SELECT token, device_id, share_no, item_id, partner_id, channel, created_at
             FROM shares WHERE token = ?1",
            [token],
            share_row,
        )
        .optional()?)
}

/// Records the share the app pushed (sync's `CreateShare`), with the
/// device's own creation time. A phone may have opened its link first: the
/// page's tracking batch records it too (`TrackStore::record_shares`), possibly at this
/// very moment in another transaction or process. So the insert is one
/// conditional statement, `ON CONFLICT (token) DO NOTHING`: on PostgreSQL
/// it waits for a racing insert to commit, and then the stored row is read
/// and compared. The same share (what its signed token says) is this one
/// and takes the device's time; another share under the token is a
/// conflict the app is told about, never applied over.
pub(crate) fn upsert_share(
    tx: &Connection,
    share: &ResolvedShare,
    created_at: i64,
) -> Result<Share, ServerError> {
    let inserted = tx
        .prepare_cached(
            "INSERT INTO shares (token, device_id, share_no, item_id, partner_id, rep_id, channel,
                                 created_at, recorded_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT (token) DO NOTHING
             RETURNING token, device_id, share_no, item_id, partner_id, channel, created_at",
        )?
        .query_row(
            params![
                share.token,
                share.claim.device_id as i64,
                share.claim.share_no as i64,
                share.item.id,
                share.sharer.id,
                share.rep_id(),
                share.claim.channel.as_str(),
                created_at,
                super::now_ms()
            ],
            share_row,
        )
        .optional()?;
    let row = match inserted {
        Some(row) => row,
        None => {
            // The conflicting row has committed (the insert waited for it),
            // so this statement sees it.
            let existing = get_share(tx, &share.token)?
                .ok_or_else(|| ServerError::Busy("the share is being recorded; retry".into()))?;
            if !is_same_share(&existing, &share.claim) {
                return Err(ServerError::Conflict(format!(
                    "this link is already recorded for another share (item {}, share {}); \
                     share the item again to make a new link",
                    existing.item_id, existing.share_no
                )));
            }
            if existing.created_at_ms == created_at {
                return Ok(existing);
            }
            tx.execute(
                "UPDATE shares SET created_at = ?1 WHERE token = ?2",
                params![created_at, share.token],
            )?;
            Share {
                created_at_ms: created_at,
                ..existing
            }
        }
    };
    changes::append(
        tx,
        share.company.id,
        share.scope(),
        &ChangeBody::Share(row.clone()),
        created_at,
    )?;
    Ok(row)
}

/// Whether the stored share is the one the token signs: its device, number,
/// item and channel (whom it credits may differ: see `Credit`).
fn is_same_share(stored: &Share, claim: &ShareClaim) -> bool {
    u64::try_from(stored.device_id) == Ok(claim.device_id)
        && u64::try_from(stored.share_no) == Ok(claim.share_no)
        && u64::try_from(stored.item_id) == Ok(claim.item_id)
        && stored.channel == claim.channel
}

/// Records a partner's share the first time the server sees it (child
/// shares are stored when they are made). Returns its change-log row when it
/// is new, for the caller to append with its batch's.
pub(crate) fn record_share(
    tx: &Connection,
    share: &ResolvedShare,
    at: i64,
) -> Result<Option<changes::NewChange>, ServerError> {
    if share.is_child() {
        return Ok(None);
    }
    // One statement whether or not the share is known: a row comes back
    // only when this inserted it, and only then is it logged.
    let inserted = tx
        .prepare_cached(
            "INSERT INTO shares (token, device_id, share_no, item_id, partner_id, rep_id, channel,
                                 created_at, recorded_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8) ON CONFLICT (token) DO NOTHING
             RETURNING token, device_id, share_no, item_id, partner_id, channel, created_at",
        )?
        .query_row(
            params![
                share.token,
                share.claim.device_id as i64,
                share.claim.share_no as i64,
                share.item.id,
                share.sharer.id,
                share.rep_id(),
                share.claim.channel.as_str(),
                at
            ],
            share_row,
        )
        .optional()?;
    inserted
        .map(|row| {
            let body = ChangeBody::Share(row);
            changes::NewChange::sync(share.company.id, share.scope(), &body)
        })
        .transpose()
}

pub(crate) fn visit_row(r: &Row) -> crate::storage::sql::Result<Visit> {
    Ok(Visit {
        id: r.get(0)?,
        share_token: r.get(1)?,
        item_id: r.get(2)?,
        partner_id: r.get(3)?,
        rep_id: r.get::<_, Option<i64>>(4)?.unwrap_or(0),
        visitor_id: r.get(5)?,
        opened_at_ms: r.get(6)?,
        dwell_ms: r.get(7)?,
    })
}

pub(crate) const VISIT_COLS: &str =
    "id, share_token, item_id, partner_id, rep_id, visitor_id, opened_at, dwell_ms";

pub(crate) fn visits_for_share(conn: &Connection, token: &str) -> Result<Vec<Visit>, ServerError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {VISIT_COLS} FROM visits WHERE share_token = ?1 ORDER BY id"
    ))?;
    let visits = stmt.query_map([token], visit_row)?;
    Ok(visits.collect::<Result<_, _>>()?)
}

impl Database {
    /// Applies one beacon of a share that tracks, in the tracking writer's
    /// batch. Whether a share tracks is `services::shares::beacon`'s call.
    pub(crate) async fn track_beacon(
        &self,
        share: ResolvedShare,
        input: BeaconInput,
    ) -> Result<(), ServerError> {
        let events = vec![super::track::Event::Beacon(
            std::sync::Arc::new(share),
            input,
        )];
        let opens = self
            .track_tx(move |store| super::track::apply_batch(store, &events))
            .await?
            .opens;
        self.remember_opens(opens);
        Ok(())
    }
}

impl Database {
    pub(crate) async fn count_visits(&self) -> Result<i64, ServerError> {
        self.flush().await;
        self.read(|c, _| Ok(c.query_row("SELECT COUNT(*) FROM visits", (), |r| r.get(0))?))
            .await
    }

    pub(crate) async fn count_signals(&self) -> Result<i64, ServerError> {
        self.flush().await;
        self.read(|c, _| super::signals::count_signals(c)).await
    }

    pub(crate) async fn visits_for_share(&self, token: String) -> Result<Vec<Visit>, ServerError> {
        self.flush().await;
        self.read(move |c, _| visits_for_share(c, &token)).await
    }

    pub(crate) async fn share(&self, token: String) -> Result<Option<Share>, ServerError> {
        self.flush().await;
        self.read(move |c, _| get_share(c, &token)).await
    }
}

impl Database {
    pub(crate) async fn signals_for_share(
        &self,
        token: String,
    ) -> Result<Vec<warmlead_core::lead::Signal>, ServerError> {
        self.flush().await;
        self.read(move |c, _| super::signals::signals_for_share(c, &token))
            .await
    }

    pub(crate) async fn visit_stats_for_share(
        &self,
        token: String,
    ) -> Result<Vec<warmlead_core::lead::VisitStats>, ServerError> {
        self.flush().await;
        self.read(move |c, _| super::signals::visit_stats_for_share(c, &token))
            .await
    }
}

impl Database {
    pub(crate) async fn filtered_stats(
        &self,
        company_id: i64,
    ) -> Result<warmlead_core::lead::FilteredStats, ServerError> {
        self.read(move |c, _| super::signals::filtered_stats(c, company_id))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::super::{migrations, sqlite};

    /// Migration 7 keeps every share and lets a device's share number come
    /// again on another item (a restored desktop cache): the token is the identity.
    #[test]
    fn shares_survive_migration_7_and_share_numbers_may_repeat() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = sqlite::open(&dir.path().join("s.db")).unwrap();
        migrations::migrate(&mut conn, Some(6)).unwrap();
        conn.execute_batch(
            "INSERT INTO companies (id, name, created_at) VALUES (1, 'c', 0);
             INSERT INTO users (id, company_id, role, name, created_at) VALUES (2, 1, 'partner', 'p', 0);
             INSERT INTO devices (id, user_id, name, token_hash, created_at) VALUES (3, 2, 'd', x'01', 0);
             INSERT INTO content_items (id, company_id, kind, title, summary, body, created_at, updated_at)
                VALUES (4, 1, 'article', 't', 's', 'b', 0, 0), (5, 1, 'article', 't2', 's', 'b', 0, 0);
             INSERT INTO shares (token, device_id, share_no, item_id, partner_id, channel, created_at)
                VALUES ('tok-a', 3, 1, 4, 2, 'moments', 10);",
        )
        .unwrap();
        let reused = "INSERT INTO shares (token, device_id, share_no, item_id, partner_id, channel, created_at)
                      VALUES ('tok-b', 3, 1, 5, 2, 'group', 11)";
        assert!(conn.execute(reused, []).is_err(), "refused before 7");
        migrations::migrate(&mut conn, None).unwrap();
        conn.execute(reused, []).unwrap();
        let rows: Vec<(String, i64)> = conn
            .prepare("SELECT token, created_at FROM shares ORDER BY token")
            .unwrap()
            .query_map((), |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(rows, vec![("tok-a".into(), 10), ("tok-b".into(), 11)]);
    }
}
