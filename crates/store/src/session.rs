//! The signed-in device: activation, credentials, sign-out.

use rusqlite::{Connection, OptionalExtension};
use warmlead_core::api::ActivateResponse;
use warmlead_core::app::Session;
use warmlead_core::domain::{Company, User};

use crate::{rows, Store, StoreError};

/// What the sync engine needs to talk to the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub server_url: String,
    pub device_id: i64,
    pub device_token: String,
    pub share_key: String,
}

/// The session columns most callers need, read in one go.
pub(crate) struct SessionRow {
    pub server_url: String,
    pub device_id: i64,
    pub device_token: String,
    pub share_key: String,
    pub public_base_url: String,
    pub user: User,
    pub company: Company,
}

pub(crate) fn load(conn: &Connection) -> Result<Option<SessionRow>, StoreError> {
    let raw = conn
        .query_row(
            "SELECT server_url, device_id, device_token, share_key, public_base_url, \
             user_json, company_json FROM session WHERE id = 1",
            [],
            |r| {
                Ok((
                    (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?),
                    (r.get::<_, String>(5)?, r.get::<_, String>(6)?),
                ))
            },
        )
        .optional()?;
    let Some(((server_url, device_id, device_token, share_key, public_base_url), (u, c))) = raw
    else {
        return Ok(None);
    };
    let mut user: User = serde_json::from_str(&u)?;
    // Pulled state is fresher than what activation said (e.g. a rename).
    if let Some(pulled) = conn
        .query_row(
            &format!("SELECT {} FROM users WHERE id = ?1", rows::USER_COLUMNS),
            [user.id],
            rows::user,
        )
        .optional()?
    {
        user = pulled;
    }
    let company: Company = serde_json::from_str(&c)?;
    Ok(Some(SessionRow {
        server_url,
        device_id,
        device_token,
        share_key,
        public_base_url,
        user,
        company,
    }))
}

pub(crate) fn require(conn: &Connection) -> Result<SessionRow, StoreError> {
    load(conn)?.ok_or(StoreError::NotActivated)
}

impl Store {
    /// Remembers a successful activation. Signing in as another device first
    /// clears the previous device's data, refusing if it has unsynced changes.
    pub fn save_activation(
        &self,
        server_url: &str,
        resp: &ActivateResponse,
    ) -> Result<(), StoreError> {
        let tx = crate::write_tx(&self.conn)?;
        let previous: Option<i64> = tx
            .query_row("SELECT device_id FROM session WHERE id = 1", [], |r| {
                r.get(0)
            })
            .optional()?;
        if previous != Some(resp.device_id) {
            let pending = crate::outbox::pending_count(&tx)? + pending_images(&tx)?;
            if pending > 0 {
                return Err(StoreError::PendingChanges(pending));
            }
            clear_all(&tx)?;
            tx.execute(
                "UPDATE sync_state SET epoch = ?1, cursor = 0 WHERE id = 1",
                [&resp.epoch],
            )?;
        }
        tx.execute(
            "INSERT OR REPLACE INTO session (id, server_url, device_id, device_token, share_key, \
             public_base_url, user_json, company_json, epoch) VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            rusqlite::params![
                server_url.trim_end_matches('/'),
                resp.device_id,
                resp.device_token,
                resp.share_key,
                resp.public_base_url.trim_end_matches('/'),
                serde_json::to_string(&resp.user)?,
                serde_json::to_string(&resp.company)?,
                resp.epoch,
            ],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// The signed-in user, or `None` before activation.
    pub fn session(&self) -> Result<Option<Session>, StoreError> {
        Ok(load(&self.conn)?.map(|s| Session {
            user: s.user,
            company: s.company,
            server_url: s.server_url,
            public_base_url: s.public_base_url,
            device_id: s.device_id,
        }))
    }

    pub fn credentials(&self) -> Result<Option<Credentials>, StoreError> {
        Ok(load(&self.conn)?.map(|s| Credentials {
            server_url: s.server_url,
            device_id: s.device_id,
            device_token: s.device_token,
            share_key: s.share_key,
        }))
    }

    /// Signs out, refusing while changes wait in the outbox
    /// ([`StoreError::PendingChanges`] carries how many).
    pub fn sign_out(&self) -> Result<(), StoreError> {
        let pending = self.pending_count()?;
        if pending > 0 {
            return Err(StoreError::PendingChanges(pending));
        }
        self.sign_out_force()
    }

    /// Signs out and drops everything, unsynced changes included.
    pub fn sign_out_force(&self) -> Result<(), StoreError> {
        let tx = crate::write_tx(&self.conn)?;
        clear_all(&tx)?;
        tx.commit()?;
        Ok(())
    }
}

/// Empties every table and resets the counters: the next device starts at seq 1.
fn clear_all(conn: &Connection) -> Result<(), StoreError> {
    conn.execute_batch(
        "DELETE FROM session;
         DELETE FROM shares; DELETE FROM visits; DELETE FROM content_items;
         DELETE FROM users; DELETE FROM company; DELETE FROM outbox;
         DELETE FROM lead_reasons; DELETE FROM leads; DELETE FROM signals;
         DELETE FROM visit_stats; DELETE FROM child_shares;
         DELETE FROM invitations; DELETE FROM sms_records; DELETE FROM partner_activity;
         UPDATE radar_state SET epoch = NULL, cursor = 0;
         UPDATE counters SET value = 0;
         UPDATE sync_state SET epoch = NULL, cursor = 0, last_synced_at = NULL, last_error = NULL;",
    )?;
    // Tables of later schemas (a file being activated may be older).
    for table in ["content_edits", "pending_media", "known_codes"] {
        if table_exists(conn, table)? {
            conn.execute(&format!("DELETE FROM {table}"), [])?;
        }
    }
    Ok(())
}

fn table_exists(conn: &Connection, table: &str) -> Result<bool, StoreError> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1)",
        [table],
        |r| r.get(0),
    )?)
}

/// Images of articles still to upload (none in files older than the table).
fn pending_images(conn: &Connection) -> Result<i64, StoreError> {
    if !table_exists(conn, "pending_media")? {
        return Ok(0);
    }
    Ok(conn.query_row(
        "SELECT COUNT(*) FROM pending_media WHERE state = 'pending'",
        [],
        |r| r.get(0),
    )?)
}
