//! The content library: who may write, publish, archive and delete which
//! item (the rules are `warmlead_core::visibility`), what a draft must be,
//! which media an author may attach, and telling the devices and the other
//! processes what changed. Storage: `ContentStore` (`storage/content_store.rs`).
//!
//! The `&Stores` functions run inside a caller's transaction (the HTTP
//! handlers through the async ones here, a device's push in `services::push`);
//! the async ones open their own.

use rand::RngCore;
use warmlead_core::api::{check_content_key, check_publishable, ContentDraft, NewContentItem};
use warmlead_core::article;
use warmlead_core::domain::{
    CaseStudy, ContentAudience, ContentItem, ContentKind, ContentStatus, MediaRef, Role,
};
use warmlead_core::visibility::{
    content_deletable, content_sees, content_writable, media_usable, Author, MediaUse, Viewer,
};

use crate::error::ServerError;
use crate::storage::content_store::{ItemFields, ItemRef, MediaOwner, Placed, StoredMedia};
use crate::storage::{now_ms, Caller, Database, Stores};

/// 128 random bits in hex: the media's address (`/media/{key}`).
fn media_key() -> String {
    let mut bytes = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Stores an upload under a fresh random key.
pub(crate) fn insert_media(
    s: &Stores<'_>,
    owner: MediaOwner,
    content_type: &str,
    size: i64,
    path: &str,
    reservation: Option<i64>,
) -> Result<MediaRef, ServerError> {
    let key = media_key();
    match insert_media_at(s, owner, content_type, size, path, &key, reservation)? {
        Placed::New(media) => Ok(media),
        // 128 random bits: a clash means the generator is broken.
        Placed::Existing(_) => Err(ServerError::Conflict(
            "a fresh media key clashed with another; upload again".into(),
        )),
    }
}

/// Stores an upload under `key` (a device picks it so it can write an
/// article's `<img>` before it has the network). The key's uniqueness is the
/// index's; another company's key is a conflict, never a way in. The
/// upload's `reservation` (its room in the quota) becomes the new media's
/// usage, or is given back when the media was there already.
pub(crate) fn insert_media_at(
    s: &Stores<'_>,
    owner: MediaOwner,
    content_type: &str,
    size: i64,
    path: &str,
    key: &str,
    reservation: Option<i64>,
) -> Result<Placed, ServerError> {
    let company_id = owner.company_id;
    let content = s.content();
    if let Some(id) = content.insert_media(owner, content_type, size, path, key, now_ms())? {
        s.media().settle(company_id, reservation, size)?;
        return Ok(Placed::New(MediaRef {
            id,
            content_type: content_type.to_string(),
            size,
            key: key.to_string(),
        }));
    }
    let (holder, media) = content
        .media_with_key(key)?
        .ok_or_else(|| ServerError::Conflict(format!("media key {key} vanished; upload again")))?;
    if holder != company_id {
        return Err(ServerError::Conflict(
            "this media key is taken; upload under a new random key".into(),
        ));
    }
    s.media().settle(company_id, reservation, 0)?;
    Ok(Placed::Existing(media))
}

/// Who attaches media, to which item ([`media_usable`] decides).
#[derive(Debug, Clone, Copy)]
struct Attacher {
    /// None: the operator's command line, which may use any of the
    /// company's files.
    viewer: Option<Viewer>,
    /// The item being edited (None: a new one).
    item_id: Option<i64>,
}

/// Refuses media `id` (of the company) unless the attacher may use it: its
/// uploader, the item that already shows it, or anyone a live item they
/// see shows it to. The refusal names the field and the id, never the key.
fn check_usable(
    s: &Stores<'_>,
    company_id: i64,
    by: Attacher,
    id: i64,
    field: &str,
) -> Result<(), ServerError> {
    let Some(viewer) = by.viewer else {
        return Ok(());
    };
    let content = s.content();
    let uploaded_by = content.uploaded_by(company_id, id)?;
    let on_this_item = match by.item_id {
        Some(item) => content.item_shows(item, id)?,
        None => false,
    };
    let shown_by = content.live_items_showing(company_id, id)?;
    let uses: Vec<MediaUse<'_>> = shown_by
        .iter()
        .map(|u| MediaUse {
            status: u.status,
            author: u.author,
            audience: &u.audience,
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
    s: &Stores<'_>,
    company_id: i64,
    by: Attacher,
    id: Option<i64>,
    field: &str,
    family: &str,
) -> Result<Option<MediaRef>, ServerError> {
    let Some(id) = id else { return Ok(None) };
    match s.content().media(id)? {
        Some((c, m)) if c == company_id && m.content_type.starts_with(family) => {
            check_usable(s, company_id, by, id, field)?;
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
fn image_id(s: &Stores<'_>, company_id: i64, key: &str) -> Result<i64, ServerError> {
    s.content().image_with_key(company_id, key)?.ok_or_else(|| {
        ServerError::InvalidInput(format!(
            "body: the image /media/{key} is not an uploaded image of this company; insert it again"
        ))
    })
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
    s: &Stores<'_>,
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
        let is_rep = matches!(
            s.accounts().user(*id)?,
            Some(u) if u.company_id == company_id && u.role == Role::Rep
        );
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
    s: &Stores<'_>,
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
            s,
            company_id,
            by,
            Some(m.id),
            "case_study.images",
            "image/",
        )?);
    }
    Ok(Some(CaseStudy { images, ..cs }))
}

/// Whether `caller` may see item `id` now (a share is made only of those).
pub(crate) fn visible_item(
    s: &Stores<'_>,
    caller: &Caller,
    id: i64,
) -> Result<Option<ContentItem>, ServerError> {
    let found = s.content().item(caller.company.id, ItemRef::Id(id))?;
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
fn visible_items(
    s: &Stores<'_>,
    company_id: i64,
    viewer: Viewer,
) -> Result<Vec<ContentItem>, ServerError> {
    Ok(s.content()
        .items(company_id)?
        .into_iter()
        .filter(|(item, author)| content_sees(viewer, item.status, *author, &item.audience))
        .map(|(item, _)| item)
        .collect())
}

/// Creates or edits the item `key` with the author's whole draft. A new key
/// is a new draft of the caller; an existing item keeps its status (a live
/// item's edit goes live at once: open share links show the new version).
pub(crate) fn save_item(
    s: &Stores<'_>,
    caller: &Caller,
    key: &str,
    draft: &ContentDraft,
) -> Result<ContentItem, ServerError> {
    check_content_key(key)?;
    draft.validate()?;
    let company_id = caller.company.id;
    let viewer = Viewer::from(&caller.user);
    let content = s.content();
    let before = content.item_for_write(company_id, ItemRef::Key(key))?;
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
        // A new item is the caller's own: writable as such or not at all.
        None => {
            let own = Author::of(Some((caller.user.id, caller.user.role)));
            if !content_writable(viewer, own) {
                return Err(ServerError::Forbidden(
                    "only managers and reps write content items".into(),
                ));
            }
            own
        }
    };
    let audience = match author {
        // A rep's own items reach only their partners: nothing to choose,
        // and the stored audience says so.
        Author::Rep(rep) => ContentAudience::Reps { rep_ids: vec![rep] },
        Author::Company => checked_audience(s, company_id, &draft.audience)?,
    };
    let by = Attacher {
        viewer: Some(viewer),
        item_id: before.as_ref().map(|(old, _)| old.id),
    };
    let cover = checked_media(
        s,
        company_id,
        by,
        draft.cover.as_ref().map(|m| m.id),
        "cover",
        "image/",
    )?;
    let video = checked_media(
        s,
        company_id,
        by,
        draft.video.as_ref().map(|m| m.id),
        "video",
        "video/",
    )?;
    let case_study = checked_case_study(s, company_id, by, draft.kind, draft.case_study.as_ref())?;
    let body = stored_body(draft.kind, &draft.body);
    for key in article::media_keys(&body) {
        let id = image_id(s, company_id, &key)?;
        check_usable(s, company_id, by, id, "body")?;
    }
    let fields = ItemFields {
        title: draft.title.trim(),
        summary: &draft.summary,
        body: &body,
        case_study: case_study.as_ref(),
        cover: cover.as_ref().map(|m| m.id),
        video: video.as_ref().map(|m| m.id),
        audience: &audience,
    };
    let now = now_ms();
    let id: i64 = match &before {
        Some((old, _)) => {
            content.update_item(company_id, old.id, fields, now)?;
            old.id
        }
        None => {
            match content.insert_draft(company_id, key, draft.kind, caller.user.id, fields, now)? {
                Some(id) => id,
                // The key was saved at this moment by another request (the
                // editor and a device's sync; on PostgreSQL the insert
                // waited for it to commit): this save is an edit of it.
                None if content
                    .item_for_write(company_id, ItemRef::Key(key))?
                    .is_some() =>
                {
                    return save_item(s, caller, key, draft);
                }
                None => {
                    return Err(ServerError::Conflict(format!(
                        "content item {key:?} was deleted; save it under a new key"
                    )))
                }
            }
        }
    };
    finish_write(s, company_id, id, before.as_ref(), now)
}

/// Re-reads the written item, links its media and announces it.
fn finish_write(
    s: &Stores<'_>,
    company_id: i64,
    id: i64,
    before: Option<&(ContentItem, Author)>,
    now: i64,
) -> Result<ContentItem, ServerError> {
    let content = s.content();
    let (item, author) = content
        .item(company_id, ItemRef::Id(id))?
        .ok_or_else(|| ServerError::NotFound(format!("content item {id} vanished")))?;
    let mut media: Vec<i64> = item.cover.iter().chain(&item.video).map(|m| m.id).collect();
    if let Some(cs) = &item.case_study {
        media.extend(cs.images.iter().map(|m| m.id));
    }
    for key in article::media_keys(&item.body) {
        media.push(image_id(s, item.company_id, &key)?);
    }
    media.sort_unstable();
    media.dedup();
    content.link_media(item.id, &media)?;
    if item.status == ContentStatus::Live
        || before.is_some_and(|(b, _)| b.status == ContentStatus::Live)
    {
        content.items_changed(company_id)?;
    }
    content.announce(before, &item, author, now)?;
    Ok(item)
}

/// Puts item `key` live (publish) or takes it out of every briefcase
/// (archive). Publishing checks the item is complete; the message says
/// what is missing.
pub(crate) fn set_item_status(
    s: &Stores<'_>,
    caller: &Caller,
    key: &str,
    status: ContentStatus,
) -> Result<ContentItem, ServerError> {
    let company_id = caller.company.id;
    let content = s.content();
    let before = content
        .item_for_write(company_id, ItemRef::Key(key))?
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
    content.set_status(company_id, before.0.id, status, now)?;
    finish_write(s, company_id, before.0.id, Some(&before), now)
}

/// `POST /api/v1/content` (managers) and the operator's command line
/// (`viewer` None): a live company item at once, its body plain text (an
/// article's becomes escaped HTML paragraphs).
pub(crate) fn create_item(
    s: &Stores<'_>,
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
        s,
        company_id,
        by,
        item.cover_media_id,
        "cover_media_id",
        "image/",
    )?;
    let video = checked_media(
        s,
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
    let id = s.content().insert_company_item(
        company_id,
        item.kind,
        ItemFields {
            title: item.title.trim(),
            summary: &item.summary,
            body: &body,
            case_study: None,
            cover: cover.map(|m| m.id),
            video: video.map(|m| m.id),
            audience: &ContentAudience::Company,
        },
        now,
    )?;
    finish_write(s, company_id, id, None, now)
}

/// Deletes item `id` for `caller`, as `visibility::content_deletable`
/// allows (managers any item, reps their own drafts), and tells every
/// client with a tombstone.
pub(crate) fn delete_item_as(s: &Stores<'_>, caller: &Caller, id: i64) -> Result<(), ServerError> {
    let company_id = caller.company.id;
    let content = s.content();
    let Some((item, author)) = content.item_for_write(company_id, ItemRef::Id(id))? else {
        return Err(ServerError::NotFound(format!("no content item {id}")));
    };
    if !content_deletable(Viewer::from(&caller.user), author, item.status) {
        return Err(ServerError::Forbidden(
            "only a manager, or the rep who wrote it while it is a draft, may delete an item"
                .into(),
        ));
    }
    let now = now_ms();
    if !content.mark_deleted(company_id, id, now)? {
        return Err(ServerError::NotFound(format!("no content item {id}")));
    }
    content.items_changed(company_id)?;
    content.announce_deleted(company_id, id, now)
}

/// [`insert_media`] in its own transaction.
pub(crate) async fn store_media(
    db: &Database,
    owner: MediaOwner,
    content_type: String,
    size: i64,
    path: String,
    reservation: Option<i64>,
) -> Result<MediaRef, ServerError> {
    db.transaction(move |s| insert_media(s, owner, &content_type, size, &path, reservation))
        .await
}

/// [`insert_media_at`] in its own transaction: an upload under the
/// device's own key.
pub(crate) async fn store_media_at(
    db: &Database,
    owner: MediaOwner,
    content_type: String,
    size: i64,
    path: String,
    key: String,
    reservation: Option<i64>,
) -> Result<Placed, ServerError> {
    db.transaction(move |s| {
        insert_media_at(s, owner, &content_type, size, &path, &key, reservation)
    })
    .await
}

/// The media under `key`, for serving it.
pub(crate) async fn media_by_key(
    db: &Database,
    key: String,
) -> Result<Option<StoredMedia>, ServerError> {
    db.snapshot(move |s| s.content().media_by_key(&key)).await
}

/// Every media row (the operator's check).
pub(crate) async fn count_media(db: &Database) -> Result<i64, ServerError> {
    db.snapshot(|s| s.content().count_media()).await
}

/// [`create_item`] in its own transaction. `viewer`: the manager writing
/// it (None: the operator's command line).
pub(crate) async fn create(
    db: &Database,
    company_id: i64,
    viewer: Option<Viewer>,
    item: NewContentItem,
) -> Result<ContentItem, ServerError> {
    db.transaction(move |s| create_item(s, company_id, viewer, &item))
        .await
}

/// The items `viewer` may see.
pub(crate) async fn list(
    db: &Database,
    company_id: i64,
    viewer: Viewer,
) -> Result<Vec<ContentItem>, ServerError> {
    db.snapshot(move |s| visible_items(s, company_id, viewer))
        .await
}

/// [`save_item`] in its own transaction.
pub(crate) async fn save(
    db: &Database,
    caller: Caller,
    key: String,
    draft: ContentDraft,
) -> Result<ContentItem, ServerError> {
    let item = db
        .transaction(move |s| save_item(s, &caller, &key, &draft))
        .await?;
    // A live item's edit shows on open links at once.
    db.share_cache().clear();
    Ok(item)
}

/// [`set_item_status`] in its own transaction.
pub(crate) async fn set_status(
    db: &Database,
    caller: Caller,
    key: String,
    status: ContentStatus,
) -> Result<ContentItem, ServerError> {
    let item = db
        .transaction(move |s| set_item_status(s, &caller, &key, status))
        .await?;
    db.share_cache().clear();
    Ok(item)
}
