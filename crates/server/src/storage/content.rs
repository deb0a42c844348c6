//! Media files and the content library.

use crate::storage::sql::{params, Connection, OptionalExtension, Row};
use rand::RngCore;
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

/// 128 random bits in hex: the media's address (`/media/{key}`).
fn media_key() -> String {
    let mut bytes = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `s` has the shape of a media key (so anything else, such as an
/// old numeric id, is a 404 without a query).
pub(crate) fn is_media_key(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

pub(crate) fn insert_media(
    tx: &Connection,
    company_id: i64,
    content_type: &str,
    size: i64,
    path: &str,
) -> Result<MediaRef, ServerError> {
    let key = media_key();
    let new_id = tx.query_row(
        "INSERT INTO media (company_id, content_type, size, path, created_at, public_key)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id",
        params![company_id, content_type, size, path, now_ms(), key],
        |r| r.get::<_, i64>(0),
    )?;
    Ok(MediaRef {
        id: new_id,
        content_type: content_type.to_string(),
        size,
        key,
    })
}

/// A media file found by its key.
#[derive(Debug)]
pub(crate) struct StoredMedia {
    pub company_id: i64,
    pub content_type: String,
    /// Relative to the media directory.
    pub path: String,
    /// Public content's media: a live content item's cover or video, or the
    /// company's poster artwork. Anything else is for the company's devices.
    pub public: bool,
}

pub(crate) fn media_by_key(
    conn: &Connection,
    key: &str,
) -> Result<Option<StoredMedia>, ServerError> {
    Ok(conn
        .query_row(
            "SELECT m.company_id, m.content_type, m.path,
                    EXISTS (SELECT 1 FROM content_items ci
                            WHERE ci.company_id = m.company_id AND ci.deleted_at IS NULL
                              AND (ci.cover_media_id = m.id OR ci.video_media_id = m.id))
                 OR EXISTS (SELECT 1 FROM companies c
                            WHERE c.id = m.company_id
                              AND (c.poster_media_id = m.id OR c.logo_media_id = m.id))
             FROM media m WHERE m.public_key = ?1",
            [key],
            |r| {
                Ok(StoredMedia {
                    company_id: r.get(0)?,
                    content_type: r.get(1)?,
                    path: r.get(2)?,
                    public: r.get(3)?,
                })
            },
        )
        .optional()?)
}

fn media_ref(conn: &Connection, id: Option<i64>) -> Result<Option<MediaRef>, ServerError> {
    let Some(id) = id else { return Ok(None) };
    Ok(conn
        .query_row(
            "SELECT id, content_type, size, public_key FROM media WHERE id = ?1",
            [id],
            |r| {
                Ok(MediaRef {
                    id: r.get(0)?,
                    content_type: r.get(1)?,
                    size: r.get(2)?,
                    key: r.get(3)?,
                })
            },
        )
        .optional()?)
}

/// After migration 8: every device cached media references without keys, so
/// each live item with media and each company with poster artwork is
/// announced again (same data, now with keys) through the change log.
pub(crate) fn announce_media_keys(tx: &Connection) -> Result<(), ServerError> {
    let now = now_ms();
    let mut stmt = tx.prepare(&format!(
        "SELECT {ITEM_COLS} FROM content_items
         WHERE deleted_at IS NULL AND (cover_media_id IS NOT NULL OR video_media_id IS NOT NULL)
         ORDER BY id"
    ))?;
    let rows = stmt
        .query_map((), item_row)?
        .collect::<Result<Vec<_>, _>>()?;
    for row in rows {
        let item = to_item(tx, row)?;
        let body = ChangeBody::ContentItem(item.clone());
        changes::append(tx, item.company_id, Scope::Company, &body, now)?;
    }
    let ids: Vec<i64> = tx
        .prepare("SELECT id FROM companies WHERE poster_media_id IS NOT NULL ORDER BY id")?
        .query_map((), |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for id in ids {
        if let Some(company) = super::accounts::get_company(tx, id)? {
            let body = ChangeBody::Company(company);
            changes::append(tx, id, Scope::Company, &body, now)?;
        }
    }
    Ok(())
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

fn item_row(r: &Row) -> crate::storage::sql::Result<ItemRow> {
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
    let new_id = tx.query_row(
        "INSERT INTO content_items
           (company_id, kind, title, summary, body, cover_media_id, video_media_id, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8) RETURNING id",
        params![
            company_id,
            item.kind.as_str(),
            item.title.trim(),
            item.summary,
            item.body,
            item.cover_media_id,
            item.video_media_id,
            now
        ], |r| r.get::<_, i64>(0))?;
    let id = new_id;
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
    super::pg::notify(tx, super::pg::ITEMS_CHANNEL, company_id)?;
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

    pub(crate) async fn media_by_key(
        &self,
        key: String,
    ) -> Result<Option<StoredMedia>, ServerError> {
        self.read(move |conn, _| media_by_key(conn, &key)).await
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
        self.read(|c, _| Ok(c.query_row("SELECT COUNT(*) FROM media", (), |r| r.get(0))?))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{migrations, sqlite};

    /// A database from before media keys, with a cover, a poster artwork and
    /// a media nobody shows; migrated, every media has its own key and the
    /// devices are told the keys of what they cached.
    #[test]
    fn migration_8_gives_old_media_keys_and_announces_them() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = sqlite::open(&dir.path().join("s.db")).unwrap();
        migrations::migrate(&mut conn, Some(6)).unwrap();
        conn.execute_batch(
            "INSERT INTO companies (id, name, created_at) VALUES (1, '暖居装修', 0);
             INSERT INTO media (id, company_id, content_type, size, path, created_at) VALUES
               (1, 1, 'image/jpeg', 3, 'a.jpg', 0), (2, 1, 'image/png', 3, 'b.png', 0),
               (3, 1, 'image/png', 3, 'c.png', 0);
             INSERT INTO content_items (id, company_id, kind, title, summary, body,
                                        cover_media_id, created_at, updated_at)
               VALUES (5, 1, 'article', '指南', '', '', 1, 0, 0);
             UPDATE companies SET poster_media_id = 2 WHERE id = 1;",
        )
        .unwrap();
        let before: i64 = conn
            .query_row("SELECT COALESCE(MAX(seq), 0) FROM changes", (), |r| {
                r.get(0)
            })
            .unwrap();
        migrations::migrate(&mut conn, None).unwrap();
        let conn = super::super::sql::Connection::sqlite(conn);

        let keys: Vec<String> = conn
            .prepare("SELECT public_key FROM media ORDER BY id")
            .unwrap()
            .query_map((), |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(keys.len(), 3);
        assert!(keys.iter().all(|k| is_media_key(k)), "{keys:?}");
        assert!(keys[0] != keys[1] && keys[1] != keys[2] && keys[0] != keys[2]);

        let bodies: Vec<ChangeBody> = conn
            .prepare("SELECT body FROM changes WHERE seq > ?1 ORDER BY seq")
            .unwrap()
            .query_map([before], |r| r.get::<_, String>(0))
            .unwrap()
            .map(|b| serde_json::from_str(&b.unwrap()).unwrap())
            .collect();
        let item_cover = bodies.iter().find_map(|b| match b {
            ChangeBody::ContentItem(i) if i.id == 5 => i.cover.clone(),
            _ => None,
        });
        assert_eq!(item_cover.map(|c| c.key), Some(keys[0].clone()));
        let artwork = bodies.iter().find_map(|b| match b {
            ChangeBody::Company(c) => c.poster_artwork.clone(),
            _ => None,
        });
        assert_eq!(artwork.map(|a| a.key), Some(keys[1].clone()));

        // Which of them anyone may fetch.
        let public = |k: &str| media_by_key(&conn, k).unwrap().unwrap().public;
        assert!(public(&keys[0]) && public(&keys[1]));
        assert!(!public(&keys[2]));
        assert!(media_by_key(&conn, &"0".repeat(32)).unwrap().is_none());
    }
}
