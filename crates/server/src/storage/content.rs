//! Media files and the content library.

use crate::storage::sql::{params, Connection, OptionalExtension, Row};
use rand::RngCore;
use warmlead_core::api::{check_content_key, check_publishable, ContentDraft, NewContentItem};
use warmlead_core::article;
use warmlead_core::domain::{
    CaseStudy, ContentAudience, ContentItem, ContentKind, ContentStatus, MediaRef, Role,
};
use warmlead_core::sync::{ChangeBody, EntityKind};
use warmlead_core::visibility::{
    content_deletable, content_reach, content_sees, content_writable, media_usable, Author,
    MediaUse, Viewer,
};

use super::changes::{self, Scope};
use super::{now_ms, Caller};
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

/// Whose an upload is: its company's, sent by `uploaded_by` (None: the
/// operator's, which only managers may attach to an item).
#[derive(Debug, Clone, Copy)]
pub(crate) struct MediaOwner {
    pub company_id: i64,
    pub uploaded_by: Option<i64>,
}

pub(crate) fn insert_media(
    tx: &Connection,
    owner: MediaOwner,
    content_type: &str,
    size: i64,
    path: &str,
    reservation: Option<i64>,
) -> Result<MediaRef, ServerError> {
    let key = media_key();
    match insert_media_at(tx, owner, content_type, size, path, &key, reservation)? {
        Placed::New(media) => Ok(media),
        // 128 random bits: a clash means the generator is broken.
        Placed::Existing(_) => Err(ServerError::Conflict(
            "a fresh media key clashed with another; upload again".into(),
        )),
    }
}

/// Where an upload under a chosen key landed.
#[derive(Debug)]
pub(crate) enum Placed {
    /// A new row: the file at `path` is now this media.
    New(MediaRef),
    /// The company already has this key (the same upload sent again after
    /// its answer was lost): the file at `path` is not needed.
    Existing(MediaRef),
}

/// Inserts a media under `key` (a device picks it so it can write an
/// article's `<img>` before it has the network). The key's uniqueness is the
/// index's; another company's key is a conflict, never a way in. The
/// upload's `reservation` (its room in the quota) becomes the new media's
/// usage, or is given back when the media was there already.
pub(crate) fn insert_media_at(
    tx: &Connection,
    owner: MediaOwner,
    content_type: &str,
    size: i64,
    path: &str,
    key: &str,
    reservation: Option<i64>,
) -> Result<Placed, ServerError> {
    let MediaOwner {
        company_id,
        uploaded_by,
    } = owner;
    let new_id = tx
        .query_row(
            "INSERT INTO media (company_id, uploaded_by, content_type, size, path, created_at, public_key)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (public_key) DO NOTHING RETURNING id",
            params![company_id, uploaded_by, content_type, size, path, now_ms(), key],
            |r| r.get::<_, i64>(0),
        )
        .optional()?;
    if let Some(id) = new_id {
        super::media_store::media_store(tx).settle(company_id, reservation, size)?;
        return Ok(Placed::New(MediaRef {
            id,
            content_type: content_type.to_string(),
            size,
            key: key.to_string(),
        }));
    }
    let (owner, media) = tx.query_row(
        "SELECT company_id, id, content_type, size FROM media WHERE public_key = ?1",
        [key],
        |r| {
            Ok((
                r.get::<_, i64>(0)?,
                MediaRef {
                    id: r.get(1)?,
                    content_type: r.get(2)?,
                    size: r.get(3)?,
                    key: key.to_string(),
                },
            ))
        },
    )?;
    if owner != company_id {
        return Err(ServerError::Conflict(
            "this media key is taken; upload under a new random key".into(),
        ));
    }
    super::media_store::media_store(tx).settle(company_id, reservation, 0)?;
    Ok(Placed::Existing(media))
}

/// A media file found by its key.
#[derive(Debug)]
pub(crate) struct StoredMedia {
    pub company_id: i64,
    pub content_type: String,
    /// Relative to the media directory.
    pub path: String,
    /// Public content's media: what a live content item shows (cover,
    /// video, case-study photos, an article's images), or the company's
    /// poster artwork. Anything else is for the company's devices.
    pub public: bool,
}

pub(crate) fn media_by_key(
    conn: &Connection,
    key: &str,
) -> Result<Option<StoredMedia>, ServerError> {
    Ok(conn
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
        let (item, author) = to_item(tx, row)?;
        announce(tx, None, &item, author, now)?;
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

/// Who attaches media, to which item ([`media_usable`] decides).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Attacher {
    /// None: the operator's command line, which may use any of the
    /// company's files.
    pub viewer: Option<Viewer>,
    /// The item being edited (None: a new one).
    pub item_id: Option<i64>,
}

/// Refuses media `id` (of the company) unless the attacher may use it: its
/// uploader, the item that already shows it, or anyone a live item they
/// see shows it to. The refusal names the field and the id, never the key.
fn check_usable(
    conn: &Connection,
    company_id: i64,
    by: Attacher,
    id: i64,
    field: &str,
) -> Result<(), ServerError> {
    let Some(viewer) = by.viewer else {
        return Ok(());
    };
    let uploaded_by: Option<i64> = conn.query_row(
        "SELECT uploaded_by FROM media WHERE id = ?1 AND company_id = ?2",
        params![id, company_id],
        |r| r.get(0),
    )?;
    let on_this_item = match by.item_id {
        Some(item) => conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM content_item_media WHERE item_id = ?1 AND media_id = ?2)",
            params![item, id],
            |r| r.get(0),
        )?,
        None => false,
    };
    let shown_by: Vec<(String, Option<i64>, Option<String>, String)> = conn
        .prepare_cached(
            "SELECT ci.status, ci.owner_id,
                    (SELECT u.role FROM users u WHERE u.id = ci.owner_id), ci.audience
             FROM content_item_media cim JOIN content_items ci ON ci.id = cim.item_id
             WHERE cim.media_id = ?1 AND ci.company_id = ?2
               AND ci.deleted_at IS NULL AND ci.status = 'live'",
        )?
        .query_map(params![id, company_id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?
        .collect::<Result<_, _>>()?;
    let shown_by: Vec<(ContentStatus, Author, ContentAudience)> = shown_by
        .into_iter()
        .map(|(status, owner, role, audience)| {
            (
                ContentStatus::parse(&status).unwrap_or_default(),
                Author::of(owner.zip(role.as_deref().and_then(Role::parse))),
                serde_json::from_str(&audience).unwrap_or_default(),
            )
        })
        .collect();
    let uses: Vec<MediaUse<'_>> = shown_by
        .iter()
        .map(|(status, author, audience)| MediaUse {
            status: *status,
            author: *author,
            audience,
        })
        .collect();
    if media_usable(viewer, uploaded_by, on_this_item, &uses) {
        Ok(())
    } else {
        Err(ServerError::Forbidden(format!(
            "{field}: media {id} is someone else's upload that no live item you can see shows; upload the file yourself"
        )))
    }
}

/// The media must belong to the company, be of the right family and be
/// the attacher's to use ([`check_usable`]); the stored reference (the
/// client's copy is not trusted beyond its id).
fn checked_media(
    conn: &Connection,
    company_id: i64,
    by: Attacher,
    id: Option<i64>,
    field: &str,
    family: &str,
) -> Result<Option<MediaRef>, ServerError> {
    let Some(id) = id else { return Ok(None) };
    let row: Option<(i64, MediaRef)> = conn
        .query_row(
            "SELECT company_id, id, content_type, size, public_key FROM media WHERE id = ?1",
            [id],
            |r| {
                Ok((
                    r.get(0)?,
                    MediaRef {
                        id: r.get(1)?,
                        content_type: r.get(2)?,
                        size: r.get(3)?,
                        key: r.get(4)?,
                    },
                ))
            },
        )
        .optional()?;
    match row {
        Some((c, m)) if c == company_id && m.content_type.starts_with(family) => {
            check_usable(conn, company_id, by, id, field)?;
            Ok(Some(m))
        }
        Some((c, m)) if c == company_id => Err(ServerError::InvalidInput(format!(
            "{field}: media {id} is {}, expected {family}*; upload a file of that kind",
            m.content_type
        ))),
        _ => Err(ServerError::InvalidInput(format!(
            "{field}: no media {id} in this company; upload the file again"
        ))),
    }
}

/// An image placed in an article, by its key.
fn media_id_by_key(conn: &Connection, company_id: i64, key: &str) -> Result<i64, ServerError> {
    conn.query_row(
        "SELECT id FROM media WHERE company_id = ?1 AND public_key = ?2 AND content_type LIKE 'image/%'",
        params![company_id, key],
        |r| r.get(0),
    )
    .optional()?
    .ok_or_else(|| {
        ServerError::InvalidInput(format!(
            "body: the image /media/{key} is not an uploaded image of this company; insert it again"
        ))
    })
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

fn find_item(
    conn: &Connection,
    company_id: i64,
    filter: &str,
    value: crate::storage::sql::Value,
) -> Result<Option<(ContentItem, Author)>, ServerError> {
    let row = conn
        .query_row(
            &format!(
                "SELECT {ITEM_COLS} FROM content_items
                 WHERE {filter} = ?1 AND company_id = ?2 AND deleted_at IS NULL"
            ),
            params![value, company_id],
            item_row,
        )
        .optional()?;
    row.map(|r| to_item(conn, r)).transpose()
}

/// An item of the company that is not deleted, whatever its status (share
/// links of an archived item show the polite page), with its author (who
/// the item is meant for depends on it).
pub(crate) fn get_item_and_author(
    conn: &Connection,
    company_id: i64,
    id: i64,
) -> Result<Option<(ContentItem, Author)>, ServerError> {
    find_item(conn, company_id, "id", id.into())
}

/// [`find_item`] (an item and its author) for a write that decides from what it reads: who may
/// write, and which audiences lose the item (tombstones). On PostgreSQL the
/// row stays locked until the transaction ends, so a publish and an archive
/// of one item at once (in two processes) run one after the other, the
/// second reading what the first committed; else the archive, having read
/// a draft, would tell no partner the published item is gone. SQLite's one
/// writer already runs them one after the other.
fn item_for_write(
    tx: &Connection,
    company_id: i64,
    filter: &str,
    value: crate::storage::sql::Value,
) -> Result<Option<(ContentItem, Author)>, ServerError> {
    if tx.dialect() == crate::storage::sql::Dialect::Postgres {
        tx.execute(
            &format!(
                "SELECT id FROM content_items
                 WHERE {filter} = ?1 AND company_id = ?2 AND deleted_at IS NULL FOR UPDATE"
            ),
            params![value.clone(), company_id],
        )?;
    }
    find_item(tx, company_id, filter, value)
}

/// Whether `caller` may see item `id` now (a share is made only of those).
pub(crate) fn visible_item(
    conn: &Connection,
    caller: &Caller,
    id: i64,
) -> Result<Option<ContentItem>, ServerError> {
    let found = find_item(conn, caller.company.id, "id", id.into())?;
    Ok(found
        .filter(|(item, author)| {
            content_sees(
                Viewer::from(&caller.user),
                item.status,
                *author,
                &item.audience,
            )
        })
        .map(|(item, _)| item))
}

/// Every item `viewer` may see (their library; a partner's briefcase).
pub(crate) fn list_items(
    conn: &Connection,
    company_id: i64,
    viewer: Viewer,
) -> Result<Vec<ContentItem>, ServerError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {ITEM_COLS} FROM content_items
         WHERE company_id = ?1 AND deleted_at IS NULL ORDER BY id"
    ))?;
    let rows = stmt
        .query_map([company_id], item_row)?
        .collect::<Result<Vec<_>, _>>()?;
    let mut items = Vec::new();
    for row in rows {
        let (item, author) = to_item(conn, row)?;
        if content_sees(viewer, item.status, author, &item.audience) {
            items.push(item);
        }
    }
    Ok(items)
}

/// Tells the devices an item's new state: first a tombstone to each
/// audience that saw it before and no longer does, then the item to each
/// that sees it now (so a manager, who gets both, keeps the item).
fn announce(
    tx: &Connection,
    before: Option<&(ContentItem, Author)>,
    item: &ContentItem,
    author: Author,
    now: i64,
) -> Result<(), ServerError> {
    let after = content_reach(item.status, author, &item.audience);
    if let Some((old, old_author)) = before {
        let tombstone = ChangeBody::Tombstone {
            kind: EntityKind::ContentItem,
            id: item.id.to_string(),
        };
        for gone in content_reach(old.status, *old_author, &old.audience) {
            if !after.contains(&gone) {
                changes::append(tx, item.company_id, gone, &tombstone, now)?;
            }
        }
    }
    let body = ChangeBody::ContentItem(item.clone());
    for scope in after {
        changes::append(tx, item.company_id, scope, &body, now)?;
    }
    Ok(())
}

/// The media an item shows, which are public while it is live.
fn link_media(tx: &Connection, item: &ContentItem) -> Result<(), ServerError> {
    tx.execute(
        "DELETE FROM content_item_media WHERE item_id = ?1",
        [item.id],
    )?;
    let mut ids: Vec<i64> = item.cover.iter().chain(&item.video).map(|m| m.id).collect();
    if let Some(cs) = &item.case_study {
        ids.extend(cs.images.iter().map(|m| m.id));
    }
    for key in article::media_keys(&item.body) {
        ids.push(media_id_by_key(tx, item.company_id, &key)?);
    }
    ids.sort_unstable();
    ids.dedup();
    for id in ids {
        tx.execute(
            "INSERT INTO content_item_media (item_id, media_id) VALUES (?1, ?2)",
            params![item.id, id],
        )?;
    }
    Ok(())
}

/// The body as stored: articles in the one safe HTML form.
fn stored_body(kind: ContentKind, body: &str) -> String {
    match kind {
        ContentKind::Article => article::sanitize(body),
        _ => body.to_string(),
    }
}

/// Reps named in an audience must be reps of the company; stored sorted,
/// each once.
fn checked_audience(
    tx: &Connection,
    company_id: i64,
    audience: &ContentAudience,
) -> Result<ContentAudience, ServerError> {
    let ContentAudience::Reps { rep_ids } = audience else {
        return Ok(ContentAudience::Company);
    };
    let mut ids = rep_ids.clone();
    ids.sort_unstable();
    ids.dedup();
    for id in &ids {
        let is_rep: bool = tx
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM users WHERE id = ?1 AND company_id = ?2 AND role = 'rep')",
                params![id, company_id],
                |r| r.get(0),
            )?;
        if !is_rep {
            return Err(ServerError::InvalidInput(format!(
                "audience: user {id} is not a rep of this company; choose among the company's reps"
            )));
        }
    }
    Ok(ContentAudience::Reps { rep_ids: ids })
}

/// The case study's photos as stored (each an image of the company).
fn checked_case_study(
    tx: &Connection,
    company_id: i64,
    by: Attacher,
    kind: ContentKind,
    cs: Option<&CaseStudy>,
) -> Result<Option<CaseStudy>, ServerError> {
    if kind != ContentKind::CaseStudy {
        return Ok(None);
    }
    let cs = cs.cloned().unwrap_or_default();
    let mut images = Vec::with_capacity(cs.images.len());
    for m in &cs.images {
        images.extend(checked_media(
            tx,
            company_id,
            by,
            Some(m.id),
            "case_study.images",
            "image/",
        )?);
    }
    Ok(Some(CaseStudy { images, ..cs }))
}

/// Creates or edits the item `key` with the author's whole draft. A new key
/// is a new draft of the caller; an existing item keeps its status (a live
/// item's edit goes live at once: open share links show the new version).
pub(crate) fn save_item(
    tx: &Connection,
    caller: &Caller,
    key: &str,
    draft: &ContentDraft,
) -> Result<ContentItem, ServerError> {
    check_content_key(key)?;
    draft.validate()?;
    let company_id = caller.company.id;
    let viewer = Viewer::from(&caller.user);
    let before = item_for_write(tx, company_id, "item_key", key.into())?;
    let author = match &before {
        Some((old, author)) => {
            if !content_writable(viewer, *author) {
                return Err(ServerError::Forbidden(
                    "only the item's author or a manager may edit it".into(),
                ));
            }
            if old.kind != draft.kind {
                return Err(ServerError::InvalidInput(format!(
                    "kind: this item is a {}; make a new item for a {}",
                    old.kind.as_str(),
                    draft.kind.as_str()
                )));
            }
            *author
        }
        None => match caller.user.role {
            Role::Partner => {
                return Err(ServerError::Forbidden(
                    "only managers and reps write content items".into(),
                ))
            }
            role => Author::of(Some((caller.user.id, role))),
        },
    };
    let audience = match author {
        // A rep's own items reach only their partners: nothing to choose,
        // and the stored audience says so.
        Author::Rep(rep) => ContentAudience::Reps { rep_ids: vec![rep] },
        Author::Company => checked_audience(tx, company_id, &draft.audience)?,
    };
    let by = Attacher {
        viewer: Some(viewer),
        item_id: before.as_ref().map(|(old, _)| old.id),
    };
    let cover = checked_media(
        tx,
        company_id,
        by,
        draft.cover.as_ref().map(|m| m.id),
        "cover",
        "image/",
    )?;
    let video = checked_media(
        tx,
        company_id,
        by,
        draft.video.as_ref().map(|m| m.id),
        "video",
        "video/",
    )?;
    let case_study = checked_case_study(tx, company_id, by, draft.kind, draft.case_study.as_ref())?;
    for key in article::media_keys(&stored_body(draft.kind, &draft.body)) {
        let id = media_id_by_key(tx, company_id, &key)?;
        check_usable(tx, company_id, by, id, "body")?;
    }
    let case_json = case_study.as_ref().map(serde_json::to_string).transpose()?;
    let now = now_ms();
    let id: i64 = match &before {
        Some((old, _)) => {
            tx.execute(
                "UPDATE content_items SET title = ?1, summary = ?2, body = ?3, case_study = ?4,
                        cover_media_id = ?5, video_media_id = ?6, audience = ?7, updated_at = ?8
                 WHERE id = ?9 AND company_id = ?10",
                params![
                    draft.title.trim(),
                    draft.summary,
                    stored_body(draft.kind, &draft.body),
                    case_json,
                    cover.as_ref().map(|m| m.id),
                    video.as_ref().map(|m| m.id),
                    serde_json::to_string(&audience)?,
                    now,
                    old.id,
                    company_id
                ],
            )?;
            old.id
        }
        None => {
            let inserted = tx
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
                        draft.kind.as_str(),
                        caller.user.id,
                        serde_json::to_string(&audience)?,
                        draft.title.trim(),
                        draft.summary,
                        stored_body(draft.kind, &draft.body),
                        case_json,
                        cover.as_ref().map(|m| m.id),
                        video.as_ref().map(|m| m.id),
                        now
                    ],
                    |r| r.get(0),
                )
                .optional()?;
            match inserted {
                Some(id) => id,
                // The key was saved at this moment by another request (the
                // editor and a device's sync; on PostgreSQL the insert
                // waited for it to commit): this save is an edit of it.
                None if item_for_write(tx, company_id, "item_key", key.into())?.is_some() => {
                    return save_item(tx, caller, key, draft);
                }
                None => {
                    return Err(ServerError::Conflict(format!(
                        "content item {key:?} was deleted; save it under a new key"
                    )))
                }
            }
        }
    };
    finish_write(tx, company_id, id, before.as_ref(), now)
}

/// Re-reads the written item, links its media and announces it.
fn finish_write(
    tx: &Connection,
    company_id: i64,
    id: i64,
    before: Option<&(ContentItem, Author)>,
    now: i64,
) -> Result<ContentItem, ServerError> {
    let (item, author) = find_item(tx, company_id, "id", id.into())?
        .ok_or_else(|| ServerError::NotFound(format!("content item {id} vanished")))?;
    link_media(tx, &item)?;
    if item.status == ContentStatus::Live
        || before.is_some_and(|(b, _)| b.status == ContentStatus::Live)
    {
        super::pg::notify(tx, super::pg::ITEMS_CHANNEL, company_id)?;
    }
    announce(tx, before, &item, author, now)?;
    Ok(item)
}

/// Puts item `key` live (publish) or takes it out of every briefcase
/// (archive). Publishing checks the item is complete; the message says
/// what is missing.
pub(crate) fn set_item_status(
    tx: &Connection,
    caller: &Caller,
    key: &str,
    status: ContentStatus,
) -> Result<ContentItem, ServerError> {
    let company_id = caller.company.id;
    let before = item_for_write(tx, company_id, "item_key", key.into())?
        .ok_or_else(|| ServerError::NotFound(format!("no content item {key:?}; save it first")))?;
    if !content_writable(Viewer::from(&caller.user), before.1) {
        return Err(ServerError::Forbidden(
            "only the item's author or a manager may publish or archive it".into(),
        ));
    }
    if status == ContentStatus::Live {
        check_publishable(&before.0)?;
    }
    let now = now_ms();
    tx.execute(
        "UPDATE content_items SET status = ?1, updated_at = ?2 WHERE id = ?3 AND company_id = ?4",
        params![status.as_str(), now, before.0.id, company_id],
    )?;
    finish_write(tx, company_id, before.0.id, Some(&before), now)
}

/// `POST /api/v1/content` (managers): a live company item at once, its
/// body plain text (an article's becomes escaped HTML paragraphs).
pub(crate) fn create_item(
    tx: &Connection,
    company_id: i64,
    viewer: Option<Viewer>,
    item: &NewContentItem,
) -> Result<ContentItem, ServerError> {
    item.validate()?;
    let by = Attacher {
        viewer,
        item_id: None,
    };
    let cover = checked_media(
        tx,
        company_id,
        by,
        item.cover_media_id,
        "cover_media_id",
        "image/",
    )?;
    let video = checked_media(
        tx,
        company_id,
        by,
        item.video_media_id,
        "video_media_id",
        "video/",
    )?;
    // This endpoint's bodies are plain text (the library's editor sends HTML
    // through `save_item`).
    let body = match item.kind {
        ContentKind::Article => article::from_plain_text(&item.body),
        _ => item.body.clone(),
    };
    let now = now_ms();
    let id = tx.query_row(
        "INSERT INTO content_items
           (company_id, item_key, kind, title, summary, body, cover_media_id, video_media_id, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9) RETURNING id",
        params![
            company_id,
            uuid::Uuid::new_v4().to_string(),
            item.kind.as_str(),
            item.title.trim(),
            item.summary,
            body,
            cover.map(|m| m.id),
            video.map(|m| m.id),
            now
        ], |r| r.get::<_, i64>(0))?;
    finish_write(tx, company_id, id, None, now)
}

/// After migration 16: article bodies, plain text until then, become
/// escaped HTML paragraphs, and every device is told.
pub(crate) fn convert_plain_articles(tx: &Connection) -> Result<(), ServerError> {
    let now = now_ms();
    let rows: Vec<(i64, i64, String)> = tx
        .prepare("SELECT id, company_id, body FROM content_items WHERE kind = 'article' AND deleted_at IS NULL ORDER BY id")?
        .query_map((), |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<_, _>>()?;
    for (id, company_id, body) in rows {
        tx.execute(
            "UPDATE content_items SET body = ?1 WHERE id = ?2",
            params![article::from_plain_text(&body), id],
        )?;
        if let Some((item, author)) = find_item(tx, company_id, "id", id.into())? {
            announce(tx, None, &item, author, now)?;
        }
    }
    Ok(())
}

/// Marks the item deleted and tells every client with a tombstone.
/// Deletes item `id` for `caller`, as `visibility::content_deletable`
/// allows: managers any item, reps their own drafts.
pub(crate) fn delete_item_as(tx: &Connection, caller: &Caller, id: i64) -> Result<(), ServerError> {
    let company_id = caller.company.id;
    let Some((item, author)) = item_for_write(tx, company_id, "id", id.into())? else {
        return Err(ServerError::NotFound(format!("no content item {id}")));
    };
    if !content_deletable(Viewer::from(&caller.user), author, item.status) {
        return Err(ServerError::Forbidden(
            "only a manager, or the rep who wrote it while it is a draft, may delete an item"
                .into(),
        ));
    }
    delete_item(tx, company_id, id)
}

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
    // A deleted item shows nothing: its media count against the quota no
    // longer, and the sweep removes those no other item uses.
    tx.execute("DELETE FROM content_item_media WHERE item_id = ?1", [id])?;
    tx.execute(
        "UPDATE content_items SET cover_media_id = NULL, video_media_id = NULL WHERE id = ?1",
        [id],
    )?;
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
        owner: MediaOwner,
        content_type: String,
        size: i64,
        path: String,
        reservation: Option<i64>,
    ) -> Result<MediaRef, ServerError> {
        self.tx(move |tx, _| insert_media(tx, owner, &content_type, size, &path, reservation))
            .await
    }

    /// [`insert_media_at`]: an upload under the device's own key.
    pub(crate) async fn insert_media_at(
        &self,
        owner: MediaOwner,
        content_type: String,
        size: i64,
        path: String,
        key: String,
        reservation: Option<i64>,
    ) -> Result<Placed, ServerError> {
        self.tx(move |tx, _| {
            insert_media_at(tx, owner, &content_type, size, &path, &key, reservation)
        })
        .await
    }

    pub(crate) async fn media_by_key(
        &self,
        key: String,
    ) -> Result<Option<StoredMedia>, ServerError> {
        self.read(move |conn, _| media_by_key(conn, &key)).await
    }

    /// `viewer`: the manager writing it (None: the operator's command line).
    pub(crate) async fn create_item(
        &self,
        company_id: i64,
        viewer: Option<Viewer>,
        item: NewContentItem,
    ) -> Result<ContentItem, ServerError> {
        self.tx(move |tx, _| create_item(tx, company_id, viewer, &item))
            .await
    }

    pub(crate) async fn list_items(
        &self,
        company_id: i64,
        viewer: Viewer,
    ) -> Result<Vec<ContentItem>, ServerError> {
        self.read(move |c, _| list_items(c, company_id, viewer))
            .await
    }

    pub(crate) async fn save_item(
        &self,
        caller: Caller,
        key: String,
        draft: ContentDraft,
    ) -> Result<ContentItem, ServerError> {
        let item = self
            .tx(move |tx, _| save_item(tx, &caller, &key, &draft))
            .await?;
        // A live item's edit shows on open links at once.
        self.share_cache().clear();
        Ok(item)
    }

    pub(crate) async fn set_item_status(
        &self,
        caller: Caller,
        key: String,
        status: ContentStatus,
    ) -> Result<ContentItem, ServerError> {
        let item = self
            .tx(move |tx, _| set_item_status(tx, &caller, &key, status))
            .await?;
        self.share_cache().clear();
        Ok(item)
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
