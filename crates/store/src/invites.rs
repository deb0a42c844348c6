//! Invitations and SMS records pulled from the server, and the rep's Invite
//! dashboard (conversion per channel), all read from the cache so the Invite
//! screen works offline.

use rusqlite::{params, Connection, OptionalExtension, Row};
use warmlead_core::invite::{
    ChannelConversion, Invitation, InvitationStatus, InviteChannel, InviteDashboard, SmsRecord,
    SmsStatus,
};

use crate::rows::parse_col;
use crate::{partners, Store, StoreError};

/// Most rows one list call returns.
pub const MAX_LIST: i64 = 1_000;

const INVITATION_COLUMNS: &str = "id, company_id, rep_id, channel, status, max_uses, uses, \
    created_at_ms, expires_at_ms, url, short_code, recipient_name, recipient_phone";

const SMS_COLUMNS: &str = "id, rep_id, invitation_id, name, phone, text, status, error, \
    created_at_ms, send_after_ms, updated_at_ms";

impl Store {
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

    /// One invitation from the cache, if it is here.
    pub fn invitation(&self, id: i64) -> Result<Option<Invitation>, StoreError> {
        invitation_by_id(&self.conn, id)
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

pub(crate) fn upsert_invitation(conn: &Connection, i: &Invitation) -> Result<(), StoreError> {
    conn.execute(
        &format!(
            "INSERT OR REPLACE INTO invitations ({INVITATION_COLUMNS}) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
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
