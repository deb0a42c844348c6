//! Shares made on this device: signed locally so they work offline.

use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use warmlead_core::domain::{Channel, Share};
use warmlead_core::sync::MutationBody;
use warmlead_core::token::ShareClaim;

use crate::{outbox, rows, session, Store, StoreError};

/// `https://r.example.com` + `/s/` + token.
pub fn share_url_for(public_base_url: &str, token: &str) -> String {
    format!(
        "{}{}{}",
        public_base_url.trim_end_matches('/'),
        warmlead_core::api::PATH_SHARE_PREFIX,
        token
    )
}

impl Store {
    /// Shares item `item_id` on `channel`: takes the next share number and
    /// random bits, signs the token with the device's share key, and stores the share with its
    /// outbox row in one transaction. Needs no network.
    pub fn create_share(
        &self,
        item_id: i64,
        channel: Channel,
        now_ms: i64,
    ) -> Result<Share, StoreError> {
        let tx = crate::write_tx(&self.conn)?;
        let s = session::require(&tx)?;
        let known: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM content_items WHERE id = ?1 AND deleted = 0)",
            [item_id],
            |r| r.get(0),
        )?;
        if !known {
            return Err(StoreError::ItemNotFound(item_id));
        }
        let share_no = rows::next_counter(&tx, "share_no")?;
        let claim = ShareClaim {
            device_id: to_u64("device_id", s.device_id)?,
            share_no: to_u64("share_no", share_no)?,
            item_id: to_u64("item_id", item_id)?,
            channel,
        };
        // The nonce, not the number, makes the token unique: a cache
        // restored from an older copy hands out numbers again, offline too.
        const N: usize = warmlead_core::token::NONCE_LEN;
        let mut nonce = [0u8; N];
        nonce.copy_from_slice(&uuid::Uuid::new_v4().as_bytes()[..N]);
        let token = claim.sign_unique(&decode_key(&s.share_key)?, nonce);
        let body = MutationBody::CreateShare {
            share_no,
            item_id,
            channel,
            token: token.clone(),
            created_at_ms: now_ms,
        };
        let seq = outbox::enqueue(&tx, &body, now_ms)?;
        let share = Share {
            token,
            device_id: s.device_id,
            share_no,
            item_id,
            partner_id: s.user.id,
            channel,
            created_at_ms: now_ms,
        };
        tx.execute(
            &format!(
                "INSERT INTO shares ({}, outbox_seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                rows::SHARE_COLUMNS
            ),
            rusqlite::params![
                share.token,
                share.device_id,
                share.share_no,
                share.item_id,
                share.partner_id,
                channel.as_str(),
                share.created_at_ms,
                seq,
            ],
        )?;
        tx.commit()?;
        Ok(share)
    }

    /// The public link of a share, built from the base URL the server gave at activation.
    pub fn share_url(&self, share: &Share) -> Result<String, StoreError> {
        let s = session::require(&self.conn)?;
        Ok(share_url_for(&s.public_base_url, &share.token))
    }

    /// Whether a share has not reached the server yet.
    pub fn share_pending(&self, token: &str) -> Result<bool, StoreError> {
        Ok(self.conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM shares s JOIN outbox o ON o.seq = s.outbox_seq \
             WHERE s.token = ?1 AND o.state = 'pending')",
            [token],
            |r| r.get(0),
        )?)
    }

    /// Shares of the signed-in user, newest first.
    pub fn my_shares(&self) -> Result<Vec<Share>, StoreError> {
        let me = session::require(&self.conn)?.user.id;
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {} FROM shares WHERE partner_id = ?1 ORDER BY created_at_ms DESC, share_no DESC",
            rows::SHARE_COLUMNS
        ))?;
        let shares = stmt
            .query_map([me], rows::share)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(shares)
    }
}

/// The share key arrives as base64url; accept it with or without padding.
pub(crate) fn decode_key(key: &str) -> Result<Vec<u8>, StoreError> {
    URL_SAFE_NO_PAD
        .decode(key.trim_end_matches('='))
        .or_else(|_| URL_SAFE.decode(key))
        .map_err(|_| StoreError::Corrupt("the device's share key is not base64url".into()))
}

fn to_u64(field: &'static str, v: i64) -> Result<u64, StoreError> {
    u64::try_from(v).map_err(|_| StoreError::Invalid {
        field,
        reason: format!("{v} is negative"),
    })
}
