//! Applying pulled pages: each page and its cursor in one transaction.

use rusqlite::{Connection, OptionalExtension};
use warmlead_core::domain::{Company, ContentItem, Share, User, Visit};
use warmlead_core::sync::{ChangeBody, EntityKind, PullResponse};

use crate::{outbox, session, Store, StoreError};

/// What applying one page did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PullApplied {
    /// Changes applied from the page.
    pub changes: usize,
    /// The server has a new epoch: local server data was cleared, the cursor
    /// is back at 0 and the page was NOT applied. Pull again from 0.
    pub epoch_reset: bool,
}

impl Store {
    /// The server epoch the local data came from, and the pull cursor.
    pub fn cursor(&self) -> Result<(Option<String>, i64), StoreError> {
        Ok(self.conn.query_row(
            "SELECT epoch, cursor FROM sync_state WHERE id = 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?)
    }

    /// Applies a page and stores its cursor atomically. On a new epoch, clears
    /// what came from the server (keeping the outbox and unsynced shares).
    pub fn apply_pull(&self, page: &PullResponse) -> Result<PullApplied, StoreError> {
        crate::relaxed_sync(&self.conn, || self.apply_pull_page(page))
    }

    fn apply_pull_page(&self, page: &PullResponse) -> Result<PullApplied, StoreError> {
        let tx = crate::write_tx(&self.conn)?;
        let stored: Option<String> = tx
            .query_row("SELECT epoch FROM sync_state WHERE id = 1", [], |r| {
                r.get(0)
            })
            .optional()?
            .flatten();
        if stored.as_deref().is_some_and(|e| e != page.epoch) {
            reset_for_epoch(&tx, &page.epoch)?;
            tx.commit()?;
            return Ok(PullApplied {
                changes: 0,
                epoch_reset: true,
            });
        }
        let session = session::load(&tx)?;
        let me = Me {
            user: session.as_ref().map(|s| &s.user),
            device_id: session.as_ref().map(|s| s.device_id),
        };
        for change in &page.changes {
            apply_change(&tx, &change.body, &me)?;
        }
        tx.execute(
            "UPDATE sync_state SET epoch = ?1, cursor = ?2 WHERE id = 1",
            rusqlite::params![page.epoch, page.cursor],
        )?;
        tx.commit()?;
        Ok(PullApplied {
            changes: page.changes.len(),
            epoch_reset: false,
        })
    }
}

/// Drops server-derived rows; local unsynced shares and invitations (made
/// here, negative ids) and the outbox stay.
fn reset_for_epoch(conn: &Connection, epoch: &str) -> Result<(), StoreError> {
    conn.execute_batch(
        "DELETE FROM company; DELETE FROM users; DELETE FROM visits;
         DELETE FROM content_items; DELETE FROM invitations WHERE id >= 0;
         DELETE FROM sms_records;
         DELETE FROM shares WHERE outbox_seq IS NULL
            OR outbox_seq NOT IN (SELECT seq FROM outbox WHERE state = 'pending');",
    )?;
    conn.execute(
        "UPDATE sync_state SET epoch = ?1, cursor = 0 WHERE id = 1",
        [epoch],
    )?;
    conn.execute("UPDATE session SET epoch = ?1 WHERE id = 1", [epoch])?;
    Ok(())
}

/// The signed-in user and device, read once per page.
struct Me<'a> {
    user: Option<&'a User>,
    device_id: Option<i64>,
}

fn apply_change(conn: &Connection, body: &ChangeBody, me: &Me) -> Result<(), StoreError> {
    match body {
        ChangeBody::Company(c) => upsert_company(conn, c),
        ChangeBody::User(u) => upsert_user(conn, u, me.user),
        ChangeBody::ContentItem(i) => upsert_item(conn, i),
        ChangeBody::Share(s) => upsert_share(conn, s, me.device_id == Some(s.device_id)),
        ChangeBody::Visit(v) => upsert_visit(conn, v),
        ChangeBody::Tombstone { kind, id } => tombstone(conn, *kind, id),
        ChangeBody::Invitation(i) => crate::invites::upsert_invitation(conn, i),
        ChangeBody::SmsRecord(r) => crate::invites::upsert_sms_record(conn, r),
    }
}

fn upsert_company(conn: &Connection, c: &Company) -> Result<(), StoreError> {
    let json = |m: &Option<warmlead_core::domain::MediaRef>| {
        m.as_ref().map(serde_json::to_string).transpose()
    };
    let (artwork, logo) = (json(&c.poster_artwork)?, json(&c.logo)?);
    conn.execute(
        "INSERT INTO company (id, name, poster_artwork_json, poster_slogan, logo_json, \
           commission_promise) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, \
           poster_artwork_json = excluded.poster_artwork_json, \
           poster_slogan = excluded.poster_slogan, logo_json = excluded.logo_json, \
           commission_promise = excluded.commission_promise",
        rusqlite::params![
            c.id,
            c.name,
            artwork,
            c.poster_slogan,
            logo,
            c.commission_promise
        ],
    )?;
    conn.execute(
        "UPDATE session SET company_json = ?1 WHERE id = 1 AND json_extract(company_json, '$.id') = ?2",
        rusqlite::params![serde_json::to_string(c)?, c.id],
    )?;
    Ok(())
}

fn upsert_user(conn: &Connection, u: &User, me: Option<&User>) -> Result<(), StoreError> {
    // An unpushed rename of myself is newer than what the server sent,
    // which is what a refused rename puts back.
    let name = match me {
        Some(me) if me.id == u.id && outbox::has_pending_name(conn, "rename_self")? => {
            let copy = serde_json::json!({ "name": u.name });
            outbox::refresh_server_copy(conn, "rename_self", None, &copy)?;
            &me.name
        }
        _ => &u.name,
    };
    conn.prepare_cached(
        "INSERT INTO users (id, company_id, role, name, phone, rep_id, joined_at_ms, source, \
           invited_by, invitation_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) \
         ON CONFLICT (id) DO UPDATE SET company_id = excluded.company_id, role = excluded.role, \
           name = excluded.name, phone = excluded.phone, rep_id = excluded.rep_id, \
           joined_at_ms = excluded.joined_at_ms, source = excluded.source, \
           invited_by = excluded.invited_by, invitation_id = excluded.invitation_id",
    )?
    .execute(rusqlite::params![
        u.id,
        u.company_id,
        u.role.as_str(),
        name,
        u.phone,
        u.rep_id,
        u.joined_at_ms,
        u.source.map(|s| s.as_str()),
        u.invited_by,
        u.invitation_id,
    ])?;
    Ok(())
}

fn upsert_item(conn: &Connection, i: &ContentItem) -> Result<(), StoreError> {
    // An unpushed local delete stays deleted until the server answers it.
    let deleted = outbox::has_pending(conn, "delete_content_item", "item_id", i.id)?;
    let cover = i.cover.as_ref().map(serde_json::to_string).transpose()?;
    let video = i.video.as_ref().map(serde_json::to_string).transpose()?;
    let audience = serde_json::to_string(&i.audience)?;
    let case_study = i
        .case_study
        .as_ref()
        .map(serde_json::to_string)
        .transpose()?;
    conn.execute(
        "INSERT INTO content_items (id, company_id, kind, title, summary, body, cover_json, video_json, \
           created_at_ms, updated_at_ms, deleted, item_key, status, owner_id, audience_json, case_study_json) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16) \
         ON CONFLICT (id) DO UPDATE SET company_id = excluded.company_id, kind = excluded.kind, \
           title = excluded.title, summary = excluded.summary, body = excluded.body, \
           cover_json = excluded.cover_json, video_json = excluded.video_json, \
           created_at_ms = excluded.created_at_ms, updated_at_ms = excluded.updated_at_ms, \
           deleted = excluded.deleted, item_key = excluded.item_key, status = excluded.status, \
           owner_id = excluded.owner_id, audience_json = excluded.audience_json, \
           case_study_json = excluded.case_study_json",
        rusqlite::params![
            i.id, i.company_id, i.kind.as_str(), i.title, i.summary, i.body, cover, video,
            i.created_at_ms, i.updated_at_ms, deleted, i.key, i.status.as_str(), i.owner_id,
            audience, case_study,
        ],
    )?;
    crate::content::settle_edit(conn, &i.key)
}

/// `mine`: the share was made on this device.
fn upsert_share(conn: &Connection, s: &Share, mine: bool) -> Result<(), StoreError> {
    // outbox_seq is local bookkeeping; the server's copy never clears it.
    conn.prepare_cached(
        "INSERT INTO shares (token, device_id, share_no, item_id, partner_id, channel, created_at_ms) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
         ON CONFLICT (token) DO UPDATE SET device_id = excluded.device_id, share_no = excluded.share_no, \
           item_id = excluded.item_id, partner_id = excluded.partner_id, channel = excluded.channel, \
           created_at_ms = excluded.created_at_ms",
    )?
    .execute(rusqlite::params![s.token, s.device_id, s.share_no, s.item_id, s.partner_id, s.channel.as_str(), s.created_at_ms])?;
    if mine {
        // New shares of this device take numbers after the ones the server has.
        crate::rows::raise_counter(conn, "share_no", s.share_no)?;
    }
    Ok(())
}

fn upsert_visit(conn: &Connection, v: &Visit) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO visits (id, share_token, item_id, partner_id, rep_id, visitor_id, opened_at_ms, dwell_ms) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) \
         ON CONFLICT (id) DO UPDATE SET share_token = excluded.share_token, item_id = excluded.item_id, \
           partner_id = excluded.partner_id, rep_id = excluded.rep_id, visitor_id = excluded.visitor_id, \
           opened_at_ms = excluded.opened_at_ms, dwell_ms = excluded.dwell_ms",
    )?
    .execute(rusqlite::params![v.id, v.share_token, v.item_id, v.partner_id, v.rep_id, v.visitor_id, v.opened_at_ms, v.dwell_ms])?;
    Ok(())
}

fn tombstone(conn: &Connection, kind: EntityKind, id: &str) -> Result<(), StoreError> {
    let sql = match kind {
        EntityKind::Share => return tombstone_share(conn, id),
        EntityKind::ContentItem => return tombstone_item(conn, id),
        EntityKind::Visit => "DELETE FROM visits WHERE id = ?1",
        EntityKind::User => "DELETE FROM users WHERE id = ?1",
    };
    let num: i64 = id
        .parse()
        .map_err(|_| StoreError::Corrupt(format!("tombstone of {kind:?} with id {id:?}")))?;
    conn.execute(sql, [num])?;
    Ok(())
}

/// An item leaves this device (deleted, archived out of a briefcase, out of
/// the audience); what its author typed here and did not push stays.
fn tombstone_item(conn: &Connection, id: &str) -> Result<(), StoreError> {
    let num: i64 = id
        .parse()
        .map_err(|_| StoreError::Corrupt(format!("tombstone of an item with id {id:?}")))?;
    let key: Option<String> = conn
        .query_row(
            "SELECT item_key FROM content_items WHERE id = ?1",
            [num],
            |r| r.get(0),
        )
        .optional()?;
    conn.execute("DELETE FROM content_items WHERE id = ?1", [num])?;
    match key {
        Some(key) => crate::content::settle_edit(conn, &key),
        None => Ok(()),
    }
}

fn tombstone_share(conn: &Connection, token: &str) -> Result<(), StoreError> {
    // A share still waiting in the outbox is mine and newer than the server's view.
    conn.execute(
        "DELETE FROM shares WHERE token = ?1 AND (outbox_seq IS NULL \
           OR outbox_seq NOT IN (SELECT seq FROM outbox WHERE state = 'pending'))",
        [token],
    )?;
    Ok(())
}
