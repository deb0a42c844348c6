//! Invitations: made on this device with no network (QR, poster), or
//! pulled from the server; SMS records; and the rep's Invite dashboard
//! (conversion per channel), all read from the cache so the Invite screen
//! works offline.
//!
//! An invitation made here is signed with the device's key
//! (`warmlead_core::invite::offline`), kept under the negative id
//! `-invite_no` with its `CreateInvitation` in the outbox, and replaced by
//! the server's row when a pull brings it (same URL): negative id means "not
//! recorded by the server yet".

use rusqlite::{params, Connection, OptionalExtension, Row};
use warmlead_core::invite::offline::{self, InviteClaim, OfflineRefused};
use warmlead_core::invite::terms::Refused;
use warmlead_core::invite::{
    ChannelConversion, Invitation, InvitationStatus, InviteChannel, InviteDashboard, NewInvitation,
    SmsRecord, SmsStatus, MAX_INVITATION_HOURS,
};
use warmlead_core::sync::MutationBody;

use crate::rows::parse_col;
use crate::{outbox, partners, rows, session, Store, StoreError};

/// Most rows one list call returns.
pub const MAX_LIST: i64 = 1_000;

const INVITATION_COLUMNS: &str = "id, company_id, rep_id, channel, status, max_uses, uses, \
    created_at_ms, expires_at_ms, url, short_code, recipient_name, recipient_phone";

const SMS_COLUMNS: &str = "id, rep_id, invitation_id, name, phone, text, status, error, \
    created_at_ms, send_after_ms, updated_at_ms";

/// `https://r.example.com` + `/i/` + token.
pub fn invitation_url_for(public_base_url: &str, token: &str) -> String {
    format!(
        "{}{}{}",
        public_base_url.trim_end_matches('/'),
        warmlead_core::api::PATH_INVITE_PREFIX,
        token
    )
}

/// Why the device cannot make this invitation, in the UI's words.
fn refused(why: OfflineRefused) -> StoreError {
    let reason = match why {
        OfflineRefused::Terms(Refused::NotAnInviter) => {
            "only reps and managers can invite partners".to_string()
        }
        OfflineRefused::Terms(Refused::BadHours(h)) => format!(
            "expires_in_hours must be 1 to {MAX_INVITATION_HOURS} ({} days), got {h}",
            MAX_INVITATION_HOURS / 24
        ),
        OfflineRefused::NeedsServer => "SMS invitations are sent by the server".to_string(),
    };
    StoreError::Invalid {
        field: "invitation",
        reason,
    }
}

impl Store {
    /// Makes a QR or poster invitation on this device: takes the next
    /// invitation number, signs the token with the device's key, and stores
    /// the invitation with its outbox row in one transaction. Needs no
    /// network: the link works as soon as a phone opens it.
    pub fn create_offline_invitation(
        &self,
        new: &NewInvitation,
        now_ms: i64,
    ) -> Result<Invitation, StoreError> {
        let tx = crate::write_tx(&self.conn)?;
        let s = session::require(&tx)?;
        // The counter is made by the first invitation (a migration adding a
        // row would change what an upgrade keeps).
        tx.execute(
            "INSERT OR IGNORE INTO counters (name, value) VALUES ('invite_no', 0)",
            [],
        )?;
        let invite_no = rows::next_counter(&tx, "invite_no")?;
        let device_id = u64::try_from(s.device_id)
            .map_err(|_| StoreError::Corrupt(format!("device id {}", s.device_id)))?;
        let claim = InviteClaim::new(device_id, invite_no as u64, s.user.role, new, now_ms)
            .map_err(refused)?;
        let key = offline::derive_invite_key(&crate::shares::decode_key(&s.share_key)?);
        let token = claim.sign(&key);
        let owner = offline::Owner {
            id: -invite_no,
            company_id: s.company.id,
            rep_id: s.user.id,
            created_at_ms: now_ms,
        };
        let inv = claim.invitation(
            owner,
            invitation_url_for(&s.public_base_url, &token),
            offline::short_code(&key, &token),
        );
        outbox::enqueue(
            &tx,
            &MutationBody::CreateInvitation {
                invite_no,
                channel: inv.channel,
                max_uses: inv.max_uses,
                expires_at_ms: inv.expires_at_ms,
                token,
                created_at_ms: now_ms,
            },
            now_ms,
        )?;
        upsert_invitation(&tx, &inv)?;
        tx.execute(
            "UPDATE invitations SET invite_no = ?1 WHERE id = ?2",
            params![invite_no, inv.id],
        )?;
        tx.commit()?;
        Ok(inv)
    }

    /// The newest `limit` invitations in the cache (1..=1000).
    pub fn invitations(&self, limit: i64) -> Result<Vec<Invitation>, StoreError> {
        let sql = format!(
            "SELECT {INVITATION_COLUMNS} FROM invitations \
             ORDER BY created_at_ms DESC, id DESC LIMIT ?1"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map([limit.clamp(1, MAX_LIST)], invitation)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// One invitation from the cache, if it is here. A negative id (one
    /// made on this device) finds it also after the server's row replaced it.
    pub fn invitation(&self, id: i64) -> Result<Option<Invitation>, StoreError> {
        if id >= 0 {
            return invitation_by_id(&self.conn, id);
        }
        let sql = format!(
            "SELECT {INVITATION_COLUMNS} FROM invitations WHERE invite_no = ?1 \
             ORDER BY id DESC LIMIT 1"
        );
        Ok(self.conn.query_row(&sql, [-id], invitation).optional()?)
    }

    /// Stores an invitation the server just answered with (before the next
    /// pull brings it), so the UI sees it at once.
    pub fn save_invitation(&self, i: &Invitation) -> Result<(), StoreError> {
        upsert_invitation(&self.conn, i)
    }

    /// The newest `limit` SMS invitations sent (1..=1000).
    pub fn sms_records(&self, limit: i64) -> Result<Vec<SmsRecord>, StoreError> {
        let sql = format!(
            "SELECT {SMS_COLUMNS} FROM sms_records ORDER BY created_at_ms DESC, id DESC LIMIT ?1"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map([limit.clamp(1, MAX_LIST)], sms_record)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Per channel: invitations made, accepted at least once, partners who
    /// joined through it, and how many are pending, expired (pending past
    /// expiry at `now_ms`) or revoked. A rep sees their own; a manager all.
    pub fn invite_dashboard(&self, now_ms: i64) -> Result<InviteDashboard, StoreError> {
        let scope = partners::Scope::of(&self.conn)?;
        let mut channels = Vec::with_capacity(InviteChannel::ALL.len());
        for channel in InviteChannel::ALL {
            channels.push(channel_conversion(&self.conn, &scope, channel, now_ms)?);
        }
        Ok(InviteDashboard { channels })
    }
}

fn channel_conversion(
    conn: &Connection,
    scope: &partners::Scope,
    channel: InviteChannel,
    now_ms: i64,
) -> Result<ChannelConversion, StoreError> {
    let (invitations, accepted, pending, expired, revoked) = conn.query_row(
        "SELECT count(*), \
           COALESCE(SUM(uses > 0), 0), \
           COALESCE(SUM(status = 'pending' AND expires_at_ms > ?2), 0), \
           COALESCE(SUM(status = 'pending' AND expires_at_ms <= ?2), 0), \
           COALESCE(SUM(status = 'revoked'), 0) \
         FROM invitations WHERE channel = ?1 AND (?3 IS NULL OR rep_id = ?3)",
        params![channel.as_str(), now_ms, scope.rep_filter()],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
    )?;
    let partners: i64 = conn.query_row(
        &format!(
            "SELECT count(*) FROM users u WHERE u.role = 'partner' AND u.source = ?1 AND {}",
            scope.sql()
        ),
        [channel.as_str()],
        |r| r.get(0),
    )?;
    Ok(ChannelConversion {
        channel,
        invitations,
        accepted,
        partners,
        pending,
        expired,
        revoked,
    })
}

pub(crate) fn invitation_by_id(
    conn: &Connection,
    id: i64,
) -> Result<Option<Invitation>, StoreError> {
    let sql = format!("SELECT {INVITATION_COLUMNS} FROM invitations WHERE id = ?1");
    Ok(conn.query_row(&sql, [id], invitation).optional()?)
}

fn invitation(r: &Row<'_>) -> rusqlite::Result<Invitation> {
    let channel: String = r.get(3)?;
    let status: String = r.get(4)?;
    Ok(Invitation {
        id: r.get(0)?,
        company_id: r.get(1)?,
        rep_id: r.get(2)?,
        channel: parse_col(3, &channel, InviteChannel::parse)?,
        status: parse_col(4, &status, InvitationStatus::parse)?,
        max_uses: r.get(5)?,
        uses: r.get(6)?,
        created_at_ms: r.get(7)?,
        expires_at_ms: r.get(8)?,
        url: r.get(9)?,
        short_code: r.get(10)?,
        recipient_name: r.get(11)?,
        recipient_phone: r.get(12)?,
    })
}

fn sms_record(r: &Row<'_>) -> rusqlite::Result<SmsRecord> {
    let status: String = r.get(6)?;
    Ok(SmsRecord {
        id: r.get(0)?,
        rep_id: r.get(1)?,
        invitation_id: r.get(2)?,
        name: r.get(3)?,
        phone: r.get(4)?,
        text: r.get(5)?,
        status: parse_col(6, &status, SmsStatus::parse)?,
        error: r.get(7)?,
        created_at_ms: r.get(8)?,
        send_after_ms: r.get(9)?,
        updated_at_ms: r.get(10)?,
    })
}

/// Stores an invitation by id. The server's row of one made on this device
/// (same URL) replaces the local row (the URL's unique index makes `OR
/// REPLACE` remove it) and keeps its invitation number.
pub(crate) fn upsert_invitation(conn: &Connection, i: &Invitation) -> Result<(), StoreError> {
    let invite_no: Option<i64> = conn
        .query_row(
            "SELECT invite_no FROM invitations WHERE (url = ?1 AND url <> '') OR id = ?2 \
             ORDER BY invite_no IS NULL LIMIT 1",
            params![i.url, i.id],
            |r| r.get(0),
        )
        .optional()?
        .flatten();
    conn.execute(
        &format!(
            "INSERT OR REPLACE INTO invitations ({INVITATION_COLUMNS}, invite_no) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
        ),
        params![
            i.id,
            i.company_id,
            i.rep_id,
            i.channel.as_str(),
            // `Expired` is derived, never stored; a server saying so is kept as pending.
            match i.status {
                InvitationStatus::Expired => InvitationStatus::Pending.as_str(),
                s => s.as_str(),
            },
            i.max_uses,
            i.uses,
            i.created_at_ms,
            i.expires_at_ms,
            i.url,
            i.short_code,
            i.recipient_name,
            i.recipient_phone,
            invite_no,
        ],
    )?;
    Ok(())
}

pub(crate) fn upsert_sms_record(conn: &Connection, r: &SmsRecord) -> Result<(), StoreError> {
    conn.execute(
        &format!(
            "INSERT OR REPLACE INTO sms_records ({SMS_COLUMNS}) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
        ),
        params![
            r.id,
            r.rep_id,
            r.invitation_id,
            r.name,
            r.phone,
            r.text,
            r.status.as_str(),
            r.error,
            r.created_at_ms,
            r.send_after_ms,
            r.updated_at_ms,
        ],
    )?;
    Ok(())
}
