//! Reading domain types out of rows, and small helpers shared by the modules.

use rusqlite::{Connection, OptionalExtension, Row};
use warmlead_core::domain::{
    Channel, ContentItem, ContentKind, ContentStatus, MediaRef, Role, Share, User,
};
use warmlead_core::invite::PartnerSource;

use crate::StoreError;

/// Columns of `content_items` in the order [`content_item`] reads them.
pub(crate) const ITEM_COLUMNS: &str =
    "ci.id, ci.company_id, ci.kind, ci.title, ci.summary, ci.body, \
     ci.cover_json, ci.video_json, ci.created_at_ms, ci.updated_at_ms, \
     ci.item_key, ci.status, ci.owner_id, ci.audience_json, ci.case_study_json";

/// How many columns [`ITEM_COLUMNS`] has (a query's next column is this index).
pub(crate) const ITEM_COLUMN_COUNT: usize = 15;

pub(crate) fn content_item(row: &Row<'_>) -> rusqlite::Result<ContentItem> {
    let kind: String = row.get(2)?;
    Ok(ContentItem {
        id: row.get(0)?,
        company_id: row.get(1)?,
        kind: parse_col(2, &kind, ContentKind::parse)?,
        title: row.get(3)?,
        summary: row.get(4)?,
        body: row.get(5)?,
        cover: media(row, 6)?,
        video: media(row, 7)?,
        created_at_ms: row.get(8)?,
        updated_at_ms: row.get(9)?,
        key: row.get(10)?,
        status: parse_col(11, &row.get::<_, String>(11)?, ContentStatus::parse)?,
        owner_id: row.get(12)?,
        audience: json_col(row, 13)?.unwrap_or_default(),
        case_study: json_col(row, 14)?,
    })
}

/// A column of JSON text, `None` when NULL; unreadable JSON fails the row.
pub(crate) fn json_col<T: serde::de::DeserializeOwned>(
    row: &Row<'_>,
    idx: usize,
) -> rusqlite::Result<Option<T>> {
    let json: Option<String> = row.get(idx)?;
    json.map(|j| {
        serde_json::from_str(&j).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Text, e.into())
        })
    })
    .transpose()
}

fn media(row: &Row<'_>, idx: usize) -> rusqlite::Result<Option<MediaRef>> {
    let json: Option<String> = row.get(idx)?;
    json.map(|j| {
        serde_json::from_str(&j).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Text, e.into())
        })
    })
    .transpose()
}

/// Columns of `users` in the order [`user`] reads them.
pub(crate) const USER_COLUMNS: &str =
    "id, company_id, role, name, phone, rep_id, joined_at_ms, source, invited_by, invitation_id";

pub(crate) fn user(row: &Row<'_>) -> rusqlite::Result<User> {
    let role: String = row.get(2)?;
    Ok(User {
        id: row.get(0)?,
        company_id: row.get(1)?,
        role: parse_col(2, &role, Role::parse)?,
        name: row.get(3)?,
        phone: row.get(4)?,
        rep_id: row.get(5)?,
        joined_at_ms: row.get(6)?,
        source: opt_col(row, 7, PartnerSource::parse)?,
        invited_by: row.get(8)?,
        invitation_id: row.get(9)?,
    })
}

/// Columns of `shares` in the order [`share`] reads them.
pub(crate) const SHARE_COLUMNS: &str =
    "token, device_id, share_no, item_id, partner_id, channel, created_at_ms";

pub(crate) fn share(row: &Row<'_>) -> rusqlite::Result<Share> {
    let channel: String = row.get(5)?;
    Ok(Share {
        token: row.get(0)?,
        device_id: row.get(1)?,
        share_no: row.get(2)?,
        item_id: row.get(3)?,
        partner_id: row.get(4)?,
        channel: parse_col(5, &channel, Channel::parse)?,
        created_at_ms: row.get(6)?,
    })
}

/// Parses an enum stored as text, failing the row (not panicking) if unknown.
pub(crate) fn parse_col<T>(
    idx: usize,
    s: &str,
    parse: fn(&str) -> Option<T>,
) -> rusqlite::Result<T> {
    parse(s).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            idx,
            rusqlite::types::Type::Text,
            format!("unknown value {s:?}").into(),
        )
    })
}

/// An optional enum stored as text (NULL is `None`).
pub(crate) fn opt_col<T>(
    row: &Row<'_>,
    idx: usize,
    parse: fn(&str) -> Option<T>,
) -> rusqlite::Result<Option<T>> {
    let s: Option<String> = row.get(idx)?;
    s.map(|s| parse_col(idx, &s, parse)).transpose()
}

/// Takes the next value of a local counter (1, 2, 3, ...).
pub(crate) fn next_counter(conn: &Connection, name: &str) -> Result<i64, StoreError> {
    let v = conn
        .query_row(
            "UPDATE counters SET value = value + 1 WHERE name = ?1 RETURNING value",
            [name],
            |r| r.get(0),
        )
        .optional()?;
    v.ok_or_else(|| StoreError::Corrupt(format!("counter {name} is missing")))
}

/// Moves a local counter up to at least `seen` (a number the server already
/// has from this device). A cache restored from a backup, or copied to a
/// second computer, would otherwise hand out those numbers again.
pub(crate) fn raise_counter(conn: &Connection, name: &str, seen: i64) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE counters SET value = MAX(value, ?2) WHERE name = ?1",
        rusqlite::params![name, seen],
    )?;
    Ok(())
}
