//! Media files and the content library.

use rusqlite::{params, Connection, OptionalExtension, Row};
use warmlead_core::api::NewContentItem;
use warmlead_core::domain::{ContentItem, ContentKind, MediaRef};
use warmlead_core::sync::{ChangeBody, EntityKind};

use super::changes::{self, Scope};
use super::now_ms;
use crate::error::ServerError;

/// Content types the server accepts for upload, with the file extension used
/// on disk (so `ServeFile` can also guess them).
pub(crate) const MEDIA_TYPES: &[(&str, &str)] = &[
    ("image/png", "png"),
    ("image/jpeg", "jpg"),
    ("image/webp", "webp"),
    ("video/mp4", "mp4"),
    ("video/webm", "webm"),
];

pub(crate) fn media_extension(content_type: &str) -> Option<&'static str> {
    MEDIA_TYPES
        .iter()
        .find(|(t, _)| *t == content_type)
        .map(|(_, ext)| *ext)
}

pub(crate) fn insert_media(
    tx: &Connection,
    company_id: i64,
    content_type: &str,
    size: i64,
    path: &str,
) -> Result<MediaRef, ServerError> {
    tx.execute(
        "INSERT INTO media (company_id, content_type, size, path, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![company_id, content_type, size, path, now_ms()],
    )?;
    Ok(MediaRef {
        id: tx.last_insert_rowid(),
        content_type: content_type.to_string(),
        size,
    })
}

/// `(content type, path relative to the media dir)` of a media file.
pub(crate) fn media_file(
    conn: &Connection,
    id: i64,
) -> Result<Option<(String, String)>, ServerError> {
    Ok(conn
        .query_row(
            "SELECT content_type, path FROM media WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?)
}

fn media_ref(conn: &Connection, id: Option<i64>) -> Result<Option<MediaRef>, ServerError> {
    let Some(id) = id else { return Ok(None) };
    Ok(conn
        .query_row(
            "SELECT id, content_type, size FROM media WHERE id = ?1",
            [id],
            |r| {
                Ok(MediaRef {
                    id: r.get(0)?,
                    content_type: r.get(1)?,
                    size: r.get(2)?,
                })
            },
        )
        .optional()?)
}

/// The media must belong to the company and be of the right family.
fn check_media(
    conn: &Connection,
    company_id: i64,
    id: Option<i64>,
    field: &str,
    family: &str,
) -> Result<(), ServerError> {
    let Some(id) = id else { return Ok(()) };
    let row: Option<(i64, String)> = conn
        .query_row(
            "SELECT company_id, content_type FROM media WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    match row {
        Some((c, t)) if c == company_id && t.starts_with(family) => Ok(()),
        Some((c, t)) if c == company_id => Err(ServerError::InvalidInput(format!(
            "{field}: media {id} is {t}, expected {family}*"
        ))),
        _ => Err(ServerError::InvalidInput(format!(
            "{field}: no media {id} in this company"
        ))),
    }
}

struct ItemRow {
    id: i64,
    company_id: i64,
    kind: String,
    title: String,
    summary: String,
    body: String,
    cover: Option<i64>,
    video: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

const ITEM_COLS: &str = "id, company_id, kind, title, summary, body, cover_media_id, video_media_id, created_at, updated_at";

fn item_row(r: &Row<'_>) -> rusqlite::Result<ItemRow> {
    Ok(ItemRow {
        id: r.get(0)?,
        company_id: r.get(1)?,
        kind: r.get(2)?,
        title: r.get(3)?,
        summary: r.get(4)?,
        body: r.get(5)?,
        cover: r.get(6)?,
        video: r.get(7)?,
        created_at: r.get(8)?,
        updated_at: r.get(9)?,
    })
}

fn to_item(conn: &Connection, row: ItemRow) -> Result<ContentItem, ServerError> {
    Ok(ContentItem {
        id: row.id,
        company_id: row.company_id,
        kind: ContentKind::parse(&row.kind).unwrap_or(ContentKind::Article),
        title: row.title,
        summary: row.summary,
        body: row.body,
        cover: media_ref(conn, row.cover)?,
        video: media_ref(conn, row.video)?,
        created_at_ms: row.created_at,
        updated_at_ms: row.updated_at,
    })
}

/// A live (not deleted) item of the company.
pub(crate) fn get_item(
    conn: &Connection,
    company_id: i64,
    id: i64,
) -> Result<Option<ContentItem>, ServerError> {
    let row = conn
        .query_row(
            &format!(
                "SELECT {ITEM_COLS} FROM content_items
                 WHERE id = ?1 AND company_id = ?2 AND deleted_at IS NULL"
            ),
            params![id, company_id],
            item_row,
        )
        .optional()?;
    row.map(|r| to_item(conn, r)).transpose()
}

pub(crate) fn list_items(
    conn: &Connection,
    company_id: i64,
) -> Result<Vec<ContentItem>, ServerError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {ITEM_COLS} FROM content_items
         WHERE company_id = ?1 AND deleted_at IS NULL ORDER BY id"
    ))?;
    let rows = stmt
        .query_map([company_id], item_row)?
        .collect::<Result<Vec<_>, _>>()?;
    rows.into_iter().map(|r| to_item(conn, r)).collect()
}

pub(crate) fn create_item(
    tx: &Connection,
    company_id: i64,
    item: &NewContentItem,
) -> Result<ContentItem, ServerError> {
    item.validate()?;
    check_media(
        tx,
        company_id,
        item.cover_media_id,
        "cover_media_id",
        "image/",
    )?;
    check_media(
        tx,
        company_id,
        item.video_media_id,
        "video_media_id",
        "video/",
    )?;
    let now = now_ms();
    tx.execute(
        "INSERT INTO content_items
           (company_id, kind, title, summary, body, cover_media_id, video_media_id, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
        params![
            company_id,
            item.kind.as_str(),
            item.title.trim(),
            item.summary,
            item.body,
            item.cover_media_id,
            item.video_media_id,
            now
        ],
    )?;
    let id = tx.last_insert_rowid();
    let created = get_item(tx, company_id, id)?
        .ok_or_else(|| ServerError::NotFound(format!("content item {id} vanished")))?;
    changes::append(
        tx,
        company_id,
        Scope::Company,
        &ChangeBody::ContentItem(created.clone()),
        now,
    )?;
    Ok(created)
}

/// Marks the item deleted and tells every client with a tombstone.
pub(crate) fn delete_item(tx: &Connection, company_id: i64, id: i64) -> Result<(), ServerError> {
    let now = now_ms();
    let n = tx.execute(
        "UPDATE content_items SET deleted_at = ?1, updated_at = ?1
         WHERE id = ?2 AND company_id = ?3 AND deleted_at IS NULL",
        params![now, id, company_id],
    )?;
    if n == 0 {
        return Err(ServerError::NotFound(format!("no content item {id}")));
    }
    changes::append(
        tx,
        company_id,
        Scope::Company,
        &ChangeBody::Tombstone {
            kind: EntityKind::ContentItem,
            id: id.to_string(),
        },
        now,
    )?;
    Ok(())
}

impl super::Database {
    pub(crate) async fn insert_media(
        &self,
        company_id: i64,
        content_type: String,
        size: i64,
        path: String,
    ) -> Result<MediaRef, ServerError> {
        self.tx(move |tx, _| insert_media(tx, company_id, &content_type, size, &path))
            .await
    }

    pub(crate) async fn media_file(
        &self,
        id: i64,
    ) -> Result<Option<(String, String)>, ServerError> {
        self.read(move |c, _| media_file(c, id)).await
    }

    pub(crate) async fn create_item(
        &self,
        company_id: i64,
        item: NewContentItem,
    ) -> Result<ContentItem, ServerError> {
        self.tx(move |tx, _| create_item(tx, company_id, &item))
            .await
    }

    pub(crate) async fn list_items(
        &self,
        company_id: i64,
    ) -> Result<Vec<ContentItem>, ServerError> {
        self.read(move |c, _| list_items(c, company_id)).await
    }

    pub(crate) async fn count_media(&self) -> Result<i64, ServerError> {
        self.read(|c, _| Ok(c.query_row("SELECT COUNT(*) FROM media", [], |r| r.get(0))?))
            .await
    }
}
