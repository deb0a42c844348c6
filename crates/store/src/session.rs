//! The signed-in device: activation, credentials, sign-out.
//!
//! The device token is not kept in this file: the session row names where it
//! is (`TokenRef`: the system keychain, or a file of its own), and the token
//! itself is held in this process's memory once the app has read it from
//! there (`hold_token`). Files written before keep it in `device_token` until
//! the app moves it out (`Store::unlock_token`).

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use rusqlite::{Connection, OptionalExtension};
use warmlead_core::api::ActivateResponse;
use warmlead_core::app::Session;
use warmlead_core::domain::{Company, User};

use warmlead_secrets::Place;

use crate::{rows, Store, StoreError};

/// What the sync engine needs to talk to the server.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub server_url: String,
    pub device_id: i64,
    pub device_token: String,
    pub share_key: String,
}

// A derived Debug would print the token into whatever logs the value.
impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("server_url", &self.server_url)
            .field("device_id", &self.device_id)
            .field("device_token", &"(hidden)")
            .finish_non_exhaustive()
    }
}

/// Where the device token of the session is kept, outside this file: `id`
/// names the secret there (the keychain entry's user, or the file's name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRef {
    pub id: String,
    pub place: Place,
}

impl TokenRef {
    /// A new name for a token kept in `place`, unique to one activation (so
    /// two data directories, or a sign-in after a sign-out, never share one).
    pub fn fresh(place: Place) -> TokenRef {
        TokenRef {
            id: format!("device-{}", uuid::Uuid::new_v4().simple()),
            place,
        }
    }
}

/// Tokens read from where they are kept, by `TokenRef::id`: memory only.
fn held() -> std::sync::MutexGuard<'static, HashMap<String, String>> {
    static HELD: OnceLock<Mutex<HashMap<String, String>>> = OnceLock::new();
    HELD.get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Makes the token kept under `id` known to every `Store` of this process
/// (the app reads it from the keychain once, at start).
pub(crate) fn hold_token(id: &str, token: &str) {
    held().insert(id.to_owned(), token.to_owned());
}

/// Forgets a token held in memory (after signing out).
pub(crate) fn forget_token(id: &str) {
    held().remove(id);
}

/// The session columns most callers need, read in one go.
pub(crate) struct SessionRow {
    pub server_url: String,
    pub device_id: i64,
    /// None when the token is kept elsewhere and not (or no longer) held.
    pub device_token: Option<String>,
    pub share_key: String,
    pub public_base_url: String,
    pub user: User,
    pub company: Company,
}

pub(crate) fn load(conn: &Connection) -> Result<Option<SessionRow>, StoreError> {
    type Raw = (
        (String, i64, String, String, String),
        (String, String),
        Option<String>,
    );
    let raw: Option<Raw> = conn
        .query_row(
            "SELECT server_url, device_id, device_token, share_key, public_base_url, \
             user_json, company_json, token_ref FROM session WHERE id = 1",
            [],
            |r| {
                Ok((
                    (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?),
                    (r.get::<_, String>(5)?, r.get::<_, String>(6)?),
                    r.get(7)?,
                ))
            },
        )
        .optional()?;
    let Some(((server_url, device_id, in_clear, share_key, public_base_url), (u, c), token_ref)) =
        raw
    else {
        return Ok(None);
    };
    // A file written before the token moved out still has it here.
    let device_token = if in_clear.is_empty() {
        token_ref.and_then(|id| held().get(&id).cloned())
    } else {
        Some(in_clear)
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
    /// Remembers a successful activation whose token is already kept where
    /// `token` says (it is held in memory here, never written to this file).
    /// Signing in as another device first clears the previous device's data,
    /// refusing if it has unsynced changes.
    pub fn save_activation(
        &self,
        server_url: &str,
        resp: &ActivateResponse,
        token: &TokenRef,
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
             public_base_url, user_json, company_json, epoch, token_ref, token_place) \
             VALUES (1, ?1, ?2, '', ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            rusqlite::params![
                server_url.trim_end_matches('/'),
                resp.device_id,
                resp.share_key,
                resp.public_base_url.trim_end_matches('/'),
                serde_json::to_string(&resp.user)?,
                serde_json::to_string(&resp.company)?,
                resp.epoch,
                token.id,
                token.place.as_str(),
            ],
        )?;
        tx.commit()?;
        hold_token(&token.id, &resp.device_token);
        Ok(())
    }

    /// Where the session's token is kept, or None when signed out or when
    /// the file was written before tokens moved out and not moved yet.
    pub fn token_ref(&self) -> Result<Option<TokenRef>, StoreError> {
        self.conn
            .query_row(
                "SELECT token_ref, token_place FROM session WHERE id = 1",
                [],
                |r| {
                    Ok((
                        r.get::<_, Option<String>>(0)?,
                        r.get::<_, Option<String>>(1)?,
                    ))
                },
            )
            .optional()?
            .and_then(|(id, place)| Some((id?, place?)))
            .map(|(id, place)| match Place::parse(&place) {
                Some(place) => Ok(TokenRef { id, place }),
                None => Err(StoreError::Corrupt(format!(
                    "the token is kept in an unknown place {place:?}"
                ))),
            })
            .transpose()
    }

    /// The token a file written before tokens moved out still holds.
    pub(crate) fn token_in_clear(&self) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT device_token FROM session WHERE id = 1", [], |r| {
                r.get::<_, String>(0)
            })
            .optional()?
            .filter(|t| !t.is_empty()))
    }

    /// Names where the token is (about to be) kept, leaving anything the row
    /// still holds in clear as it is: the first step of moving it out, so a
    /// crash before the move ends finds the same name and writes there again.
    pub(crate) fn set_token_ref(&self, token: &TokenRef) -> Result<(), StoreError> {
        let n = self.conn.execute(
            "UPDATE session SET token_ref = ?1, token_place = ?2 WHERE id = 1",
            [token.id.as_str(), token.place.as_str()],
        )?;
        if n == 0 {
            return Err(StoreError::NotActivated);
        }
        Ok(())
    }

    /// The last step of moving the token out, once it is kept where the row
    /// says and was read back from there: blanks it in the row (only if it is
    /// still `token`), then rewrites the file so no free page or log frame
    /// keeps the old bytes. Returns whether the row held it.
    pub(crate) fn erase_token_in_clear(&self, token: &str) -> Result<bool, StoreError> {
        let Some(kept) = self.token_ref()? else {
            return Err(StoreError::Corrupt(
                "the token's new place must be named before it is erased here".into(),
            ));
        };
        // Zeroes what the update frees, in this page and in the log.
        self.conn.execute_batch("PRAGMA secure_delete = ON")?;
        let erased = self.conn.execute(
            "UPDATE session SET device_token = '' WHERE id = 1 AND device_token = ?1",
            [token],
        );
        let reset = self.conn.execute_batch("PRAGMA secure_delete = OFF");
        let erased = erased? == 1;
        reset?;
        if erased {
            hold_token(&kept.id, token);
        }
        // Copies of the row from before (an earlier activation's, replaced
        // rows' free space) may still sit in free pages: VACUUM rebuilds the
        // file without them, and truncating the log drops its old frames.
        // Once per cache, when the token moves out; seconds at most.
        self.conn.execute_batch("VACUUM")?;
        self.conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(erased)
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

    /// The session's credentials; [`StoreError::TokenUnavailable`] when its
    /// token is kept elsewhere and was not read into memory.
    pub fn credentials(&self) -> Result<Option<Credentials>, StoreError> {
        let Some(s) = load(&self.conn)? else {
            return Ok(None);
        };
        Ok(Some(Credentials {
            server_url: s.server_url,
            device_id: s.device_id,
            device_token: s.device_token.ok_or(StoreError::TokenUnavailable)?,
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
    /// The token's place is the caller's to empty (`TokenRef` before this).
    pub fn sign_out_force(&self) -> Result<(), StoreError> {
        let kept = self.token_ref()?;
        let tx = crate::write_tx(&self.conn)?;
        clear_all(&tx)?;
        tx.commit()?;
        if let Some(kept) = kept {
            forget_token(&kept.id);
        }
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
