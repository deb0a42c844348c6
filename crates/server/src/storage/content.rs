//! The content library ([`ContentStore`], `content_store.rs`) in the SQL
//! both databases share; `B` is the backend's own part ([`ItemLock`]).

use std::marker::PhantomData;

use crate::storage::sql::{params, params_from_iter, Connection, OptionalExtension, Row, Value};
use warmlead_core::article;
use warmlead_core::domain::{ContentItem, ContentKind, ContentStatus, MediaRef, Role};
use warmlead_core::sync::{ChangeBody, EntityKind};
use warmlead_core::visibility::{content_reach, Author};

use super::account_store::SharesNotice;
use super::changes::{self, Scope};
use super::content_store::{
    content_store, ContentStore, ItemFields, ItemLock, ItemRef, MediaOwner, MediaShownBy,
    StoredMedia,
};
use super::now_ms;
use crate::error::ServerError;

pub(crate) struct ContentSql<'c, B> {
    conn: &'c Connection,
    backend: PhantomData<B>,
}

impl<'c, B> ContentSql<'c, B> {
    pub(crate) fn new(conn: &'c Connection) -> Self {
        ContentSql {
            conn,
            backend: PhantomData,
        }
    }

    fn select_items(
        &self,
        condition: &str,
        params: Vec<Value>,
    ) -> Result<Vec<(ContentItem, Author)>, ServerError> {
        let rows = self
            .conn
            .prepare_cached(&format!(
                "SELECT {ITEM_COLS} FROM content_items WHERE {condition} ORDER BY id"
            ))?
            .query_map(params_from_iter(params), item_row)?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter().map(|r| to_item(self.conn, r)).collect()
    }
}

/// The column and value that pick an item.
pub(crate) fn item_filter(which: ItemRef<'_>) -> (&'static str, Value) {
    match which {
        ItemRef::Id(id) => ("id", id.into()),
        ItemRef::Key(key) => ("item_key", key.into()),
    }
}

struct ItemRow {
    id: i64,
    company_id: i64,
    key: String,
    kind: String,
    status: String,
    owner_id: Option<i64>,
    owner_role: Option<String>,
    audience: String,
    title: String,
    summary: String,
    body: String,
    case_study: Option<String>,
    cover: Option<i64>,
    video: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

const ITEM_COLS: &str = "id, company_id, item_key, kind, status, owner_id,
    (SELECT u.role FROM users u WHERE u.id = content_items.owner_id),
    audience, title, summary, body, case_study, cover_media_id, video_media_id, created_at, updated_at";

fn item_row(r: &Row) -> crate::storage::sql::Result<ItemRow> {
    Ok(ItemRow {
        id: r.get(0)?,
        company_id: r.get(1)?,
        key: r.get(2)?,
        kind: r.get(3)?,
        status: r.get(4)?,
        owner_id: r.get(5)?,
        owner_role: r.get(6)?,
        audience: r.get(7)?,
        title: r.get(8)?,
        summary: r.get(9)?,
        body: r.get(10)?,
        case_study: r.get(11)?,
        cover: r.get(12)?,
        video: r.get(13)?,
        created_at: r.get(14)?,
        updated_at: r.get(15)?,
    })
}

fn to_item(conn: &Connection, row: ItemRow) -> Result<(ContentItem, Author), ServerError> {
    let owner = row
        .owner_id
        .zip(row.owner_role.as_deref().and_then(Role::parse));
    let item = ContentItem {
        id: row.id,
        company_id: row.company_id,
        key: row.key,
        kind: ContentKind::parse(&row.kind).unwrap_or(ContentKind::Article),
        status: ContentStatus::parse(&row.status).unwrap_or_default(),
        owner_id: row.owner_id,
        audience: serde_json::from_str(&row.audience).unwrap_or_default(),
        title: row.title,
        summary: row.summary,
        body: row.body,
        case_study: row
            .case_study
            .map(|j| serde_json::from_str(&j))
            .transpose()?,
        cover: media_ref(conn, row.cover)?,
        video: media_ref(conn, row.video)?,
        created_at_ms: row.created_at,
        updated_at_ms: row.updated_at,
    };
    Ok((item, Author::of(owner)))
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

fn company_and_media(r: &Row) -> crate::storage::sql::Result<(i64, MediaRef)> {
    Ok((
        r.get(0)?,
        MediaRef {
            id: r.get(1)?,
            content_type: r.get(2)?,
            size: r.get(3)?,
            key: r.get(4)?,
        },
    ))
}

impl<B: ItemLock + SharesNotice> ContentStore for ContentSql<'_, B> {
    fn insert_media(
        &self,
        owner: MediaOwner,
        content_type: &str,
        size: i64,
        path: &str,
        key: &str,
        now_ms: i64,
    ) -> Result<Option<i64>, ServerError> {
        Ok(self
            .conn
            .query_row(
                "INSERT INTO media (company_id, uploaded_by, content_type, size, path, created_at, public_key)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (public_key) DO NOTHING RETURNING id",
                params![owner.company_id, owner.uploaded_by, content_type, size, path, now_ms, key],
                |r| r.get::<_, i64>(0),
            )
            .optional()?)
    }

    fn media_with_key(&self, key: &str) -> Result<Option<(i64, MediaRef)>, ServerError> {
        Ok(self
            .conn
            .query_row(
                "SELECT company_id, id, content_type, size, public_key FROM media WHERE public_key = ?1",
                [key],
                company_and_media,
            )
            .optional()?)
    }

    fn media_by_key(&self, key: &str) -> Result<Option<StoredMedia>, ServerError> {
        Ok(self
            .conn
            .query_row(
                "SELECT m.company_id, m.content_type, m.path,
                        EXISTS (SELECT 1 FROM content_item_media cim
                                JOIN content_items ci ON ci.id = cim.item_id
                                WHERE cim.media_id = m.id AND ci.company_id = m.company_id
                                  AND ci.deleted_at IS NULL AND ci.status = 'live')
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

    fn media(&self, id: i64) -> Result<Option<(i64, MediaRef)>, ServerError> {
        Ok(self
            .conn
            .query_row(
                "SELECT company_id, id, content_type, size, public_key FROM media WHERE id = ?1",
                [id],
                company_and_media,
            )
            .optional()?)
    }

    fn uploaded_by(&self, company_id: i64, id: i64) -> Result<Option<i64>, ServerError> {
        Ok(self.conn.query_row(
            "SELECT uploaded_by FROM media WHERE id = ?1 AND company_id = ?2",
            params![id, company_id],
            |r| r.get(0),
        )?)
    }

    fn item_shows(&self, item_id: i64, media_id: i64) -> Result<bool, ServerError> {
        Ok(self.conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM content_item_media WHERE item_id = ?1 AND media_id = ?2)",
            params![item_id, media_id],
            |r| r.get(0),
        )?)
    }

    fn live_items_showing(
        &self,
        company_id: i64,
        media_id: i64,
    ) -> Result<Vec<MediaShownBy>, ServerError> {
        let rows: Vec<(String, Option<i64>, Option<String>, String)> = self
            .conn
            .prepare_cached(
                "SELECT ci.status, ci.owner_id,
                        (SELECT u.role FROM users u WHERE u.id = ci.owner_id), ci.audience
                 FROM content_item_media cim JOIN content_items ci ON ci.id = cim.item_id
                 WHERE cim.media_id = ?1 AND ci.company_id = ?2
                   AND ci.deleted_at IS NULL AND ci.status = 'live'",
            )?
            .query_map(params![media_id, company_id], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })?
            .collect::<Result<_, _>>()?;
        Ok(rows
            .into_iter()
            .map(|(status, owner, role, audience)| MediaShownBy {
                status: ContentStatus::parse(&status).unwrap_or_default(),
                author: Author::of(owner.zip(role.as_deref().and_then(Role::parse))),
                audience: serde_json::from_str(&audience).unwrap_or_default(),
            })
            .collect())
    }

    fn image_with_key(&self, company_id: i64, key: &str) -> Result<Option<i64>, ServerError> {
        Ok(self
            .conn
            .query_row(
                "SELECT id FROM media WHERE company_id = ?1 AND public_key = ?2 AND content_type LIKE 'image/%'",
                params![company_id, key],
                |r| r.get(0),
            )
            .optional()?)
    }

    fn count_media(&self) -> Result<i64, ServerError> {
        Ok(self
            .conn
            .query_row("SELECT COUNT(*) FROM media", (), |r| r.get(0))?)
    }

    fn item(
        &self,
        company_id: i64,
        which: ItemRef<'_>,
    ) -> Result<Option<(ContentItem, Author)>, ServerError> {
        let (filter, value) = item_filter(which);
        let row = self
            .conn
            .query_row(
                &format!(
                    "SELECT {ITEM_COLS} FROM content_items
                     WHERE {filter} = ?1 AND company_id = ?2 AND deleted_at IS NULL"
                ),
                params![value, company_id],
                item_row,
            )
            .optional()?;
        row.map(|r| to_item(self.conn, r)).transpose()
    }

    fn item_for_write(
        &self,
        company_id: i64,
        which: ItemRef<'_>,
    ) -> Result<Option<(ContentItem, Author)>, ServerError> {
        B::lock_item(self.conn, company_id, which)?;
        self.item(company_id, which)
    }

    fn items(&self, company_id: i64) -> Result<Vec<(ContentItem, Author)>, ServerError> {
        self.select_items(
            "company_id = ?1 AND deleted_at IS NULL",
            vec![company_id.into()],
        )
    }

    fn items_with_media(&self) -> Result<Vec<(ContentItem, Author)>, ServerError> {
        self.select_items(
            "deleted_at IS NULL AND (cover_media_id IS NOT NULL OR video_media_id IS NOT NULL)",
            Vec::new(),
        )
    }

    fn companies_with_artwork(&self) -> Result<Vec<i64>, ServerError> {
        Ok(self
            .conn
            .prepare("SELECT id FROM companies WHERE poster_media_id IS NOT NULL ORDER BY id")?
            .query_map((), |r| r.get(0))?
            .collect::<Result<_, _>>()?)
    }

    fn article_bodies(&self) -> Result<Vec<(i64, i64, String)>, ServerError> {
        Ok(self
            .conn
            .prepare(
                "SELECT id, company_id, body FROM content_items
                 WHERE kind = 'article' AND deleted_at IS NULL ORDER BY id",
            )?
            .query_map((), |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<Result<_, _>>()?)
    }

    fn set_body(&self, id: i64, body: &str) -> Result<(), ServerError> {
        self.conn.execute(
            "UPDATE content_items SET body = ?1 WHERE id = ?2",
            params![body, id],
        )?;
        Ok(())
    }

    fn insert_draft(
        &self,
        company_id: i64,
        key: &str,
        kind: ContentKind,
        owner_id: i64,
        f: ItemFields<'_>,
        now_ms: i64,
    ) -> Result<Option<i64>, ServerError> {
        let case_json = f.case_study.map(serde_json::to_string).transpose()?;
        Ok(self
            .conn
            .query_row(
                "INSERT INTO content_items
                   (company_id, item_key, kind, status, owner_id, audience, title, summary,
                    body, case_study, cover_media_id, video_media_id, created_at, updated_at)
                 VALUES (?1, ?2, ?3, 'draft', ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12)
                 ON CONFLICT (company_id, item_key) DO NOTHING
                 RETURNING id",
                params![
                    company_id,
                    key,
                    kind.as_str(),
                    owner_id,
                    serde_json::to_string(f.audience)?,
                    f.title,
                    f.summary,
                    f.body,
                    case_json,
                    f.cover,
                    f.video,
                    now_ms
                ],
                |r| r.get(0),
            )
            .optional()?)
    }

    fn insert_company_item(
        &self,
        company_id: i64,
        kind: ContentKind,
        f: ItemFields<'_>,
        now_ms: i64,
    ) -> Result<i64, ServerError> {
        Ok(self.conn.query_row(
            "INSERT INTO content_items
               (company_id, item_key, kind, title, summary, body, cover_media_id, video_media_id, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9) RETURNING id",
            params![
                company_id,
                uuid::Uuid::new_v4().to_string(),
                kind.as_str(),
                f.title,
                f.summary,
                f.body,
                f.cover,
                f.video,
                now_ms
            ],
            |r| r.get::<_, i64>(0),
        )?)
    }

    fn update_item(
        &self,
        company_id: i64,
        id: i64,
        f: ItemFields<'_>,
        now_ms: i64,
    ) -> Result<(), ServerError> {
        let case_json = f.case_study.map(serde_json::to_string).transpose()?;
        self.conn.execute(
            "UPDATE content_items SET title = ?1, summary = ?2, body = ?3, case_study = ?4,
                    cover_media_id = ?5, video_media_id = ?6, audience = ?7, updated_at = ?8
             WHERE id = ?9 AND company_id = ?10",
            params![
                f.title,
                f.summary,
                f.body,
                case_json,
                f.cover,
                f.video,
                serde_json::to_string(f.audience)?,
                now_ms,
                id,
                company_id
            ],
        )?;
        Ok(())
    }

    fn set_status(
        &self,
        company_id: i64,
        id: i64,
        status: ContentStatus,
        now_ms: i64,
    ) -> Result<(), ServerError> {
        self.conn.execute(
            "UPDATE content_items SET status = ?1, updated_at = ?2 WHERE id = ?3 AND company_id = ?4",
            params![status.as_str(), now_ms, id, company_id],
        )?;
        Ok(())
    }

    fn mark_deleted(&self, company_id: i64, id: i64, now_ms: i64) -> Result<bool, ServerError> {
        let n = self.conn.execute(
            "UPDATE content_items SET deleted_at = ?1, updated_at = ?1
             WHERE id = ?2 AND company_id = ?3 AND deleted_at IS NULL",
            params![now_ms, id, company_id],
        )?;
        if n == 0 {
            return Ok(false);
        }
        self.conn
            .execute("DELETE FROM content_item_media WHERE item_id = ?1", [id])?;
        self.conn.execute(
            "UPDATE content_items SET cover_media_id = NULL, video_media_id = NULL WHERE id = ?1",
            [id],
        )?;
        Ok(true)
    }

    fn link_media(&self, item_id: i64, media_ids: &[i64]) -> Result<(), ServerError> {
        self.conn.execute(
            "DELETE FROM content_item_media WHERE item_id = ?1",
            [item_id],
        )?;
        for id in media_ids {
            self.conn.execute(
                "INSERT INTO content_item_media (item_id, media_id) VALUES (?1, ?2)",
                params![item_id, id],
            )?;
        }
        Ok(())
    }

    fn announce(
        &self,
        before: Option<&(ContentItem, Author)>,
        item: &ContentItem,
        author: Author,
        now_ms: i64,
    ) -> Result<(), ServerError> {
        let after = content_reach(item.status, author, &item.audience);
        if let Some((old, old_author)) = before {
            let tombstone = ChangeBody::Tombstone {
                kind: EntityKind::ContentItem,
                id: item.id.to_string(),
            };
            for gone in content_reach(old.status, *old_author, &old.audience) {
                if !after.contains(&gone) {
                    changes::append(self.conn, item.company_id, gone, &tombstone, now_ms)?;
                }
            }
        }
        let body = ChangeBody::ContentItem(item.clone());
        for scope in after {
            changes::append(self.conn, item.company_id, scope, &body, now_ms)?;
        }
        Ok(())
    }

    fn announce_deleted(&self, company_id: i64, id: i64, now_ms: i64) -> Result<(), ServerError> {
        changes::append(
            self.conn,
            company_id,
            Scope::Company,
            &ChangeBody::Tombstone {
                kind: EntityKind::ContentItem,
                id: id.to_string(),
            },
            now_ms,
        )?;
        Ok(())
    }

    fn items_changed(&self, company_id: i64) -> Result<(), ServerError> {
        B::shares_changed(self.conn, company_id)
    }
}

/// After migration 8: every device cached media references without keys, so
/// each live item with media and each company with poster artwork is
/// announced again (same data, now with keys) through the change log.
pub(crate) fn announce_media_keys(tx: &Connection) -> Result<(), ServerError> {
    let now = now_ms();
    let store = content_store(tx);
    for (item, author) in store.items_with_media()? {
        store.announce(None, &item, author, now)?;
    }
    for id in store.companies_with_artwork()? {
        if let Some(company) = super::account_store::account_store(tx).company(id)? {
            let body = ChangeBody::Company(company);
            changes::append(tx, id, Scope::Company, &body, now)?;
        }
    }
    Ok(())
}

/// After migration 16: article bodies, plain text until then, become
/// escaped HTML paragraphs, and every device is told.
pub(crate) fn convert_plain_articles(tx: &Connection) -> Result<(), ServerError> {
    let now = now_ms();
    let store = content_store(tx);
    for (id, company_id, body) in store.article_bodies()? {
        store.set_body(id, &article::from_plain_text(&body))?;
        if let Some((item, author)) = store.item(company_id, ItemRef::Id(id))? {
            store.announce(None, &item, author, now)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::accounts::{create_company, create_user};
    use crate::storage::content_store::is_media_key;
    use crate::storage::content_store::{ItemFields, ItemRef, MediaOwner};
    use crate::storage::{migrations, sqlite};
    use warmlead_core::domain::ContentAudience;

    fn fields<'a>(title: &'a str, cover: Option<i64>) -> ItemFields<'a> {
        ItemFields {
            title,
            summary: "s",
            body: "<p>正文</p>",
            case_study: None,
            cover,
            video: None,
            audience: &ContentAudience::Company,
        }
    }

    /// The store's one-statement rules, on the backend the suite runs on:
    /// a media key and an item key are taken once (the second insert
    /// answers None, never a second row); an item is deleted once, and
    /// deleting it lets go of its media.
    #[test]
    fn keys_are_taken_once_and_an_item_is_deleted_once() {
        let conn = crate::storage::testdb::connection();
        crate::storage::testdb::begin(&conn);
        let company = create_company(&conn, "暖居装修").unwrap();
        let rep = create_user(&conn, company.id, Role::Rep, "李明", None, None).unwrap();
        let store = content_store(&conn);
        let owner = MediaOwner {
            company_id: company.id,
            uploaded_by: Some(rep.id),
        };
        let key = "0123456789abcdef0123456789abcdef";
        let media = store
            .insert_media(owner, "image/png", 3, "a.png", key, 1)
            .unwrap()
            .expect("a new key makes a row");
        assert_eq!(
            store
                .insert_media(owner, "image/png", 3, "b.png", key, 2)
                .unwrap(),
            None
        );
        assert_eq!(
            store.media_with_key(key).unwrap().map(|(c, m)| (c, m.id)),
            Some((company.id, media))
        );

        let kind = ContentKind::Article;
        let id = store
            .insert_draft(
                company.id,
                "k-1",
                kind,
                rep.id,
                fields("初稿", Some(media)),
                10,
            )
            .unwrap()
            .expect("a new key makes an item");
        assert_eq!(
            store
                .insert_draft(company.id, "k-1", kind, rep.id, fields("又一稿", None), 11)
                .unwrap(),
            None
        );
        store.link_media(id, &[media]).unwrap();
        assert!(store.item_shows(id, media).unwrap());
        let (item, author) = store
            .item(company.id, ItemRef::Key("k-1"))
            .unwrap()
            .unwrap();
        assert_eq!(
            (item.id, item.title.as_str(), item.status),
            (id, "初稿", ContentStatus::Draft)
        );
        assert_eq!(author, Author::Rep(rep.id));
        assert_eq!(item.cover.map(|c| c.key), Some(key.to_string()));

        assert!(store.mark_deleted(company.id, id, 20).unwrap());
        assert!(!store.mark_deleted(company.id, id, 21).unwrap());
        assert!(!store.item_shows(id, media).unwrap());
        assert!(store.item(company.id, ItemRef::Id(id)).unwrap().is_none());
        // Another company's id reaches nothing.
        let other = create_company(&conn, "别家").unwrap();
        assert!(store.item(other.id, ItemRef::Key("k-1")).unwrap().is_none());
    }

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
        let store = content_store(&conn);
        let public = |k: &str| store.media_by_key(k).unwrap().unwrap().public;
        assert!(public(&keys[0]) && public(&keys[1]));
        assert!(!public(&keys[2]));
        assert!(store.media_by_key(&"0".repeat(32)).unwrap().is_none());
    }
}
