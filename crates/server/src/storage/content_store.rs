//! What the content library can store and query: content items (drafts,
//! live, archived, deleted), the media rows they and the company show, and
//! which media each item shows (`content_item_media`, what makes a media
//! public while its item is live). The media room (quota, reservations,
//! sweep) is `media_store.rs`; who may write what, validation and
//! announcing go through `services::content`, calling the rules in
//! `warmlead_core::visibility`.
//!
//! One implementation of the SQL both databases share (`content.rs`); the
//! backend's own part is how a write holds the item it decides from
//! ([`ItemLock`]).

use warmlead_core::domain::{
    CaseStudy, ContentAudience, ContentItem, ContentKind, ContentStatus, MediaRef,
};
use warmlead_core::visibility::Author;

use super::sql::Connection;
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

/// Where an upload under a chosen key landed.
#[derive(Debug)]
pub(crate) enum Placed {
    /// A new row: the file at `path` is now this media.
    New(MediaRef),
    /// The company already has this key (the same upload sent again after
    /// its answer was lost): the file at `path` is not needed.
    Existing(MediaRef),
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

/// Which item: by its id, or by the key its author's device chose.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ItemRef<'a> {
    Id(i64),
    Key(&'a str),
}

/// An item's editable fields, as stored (the body already in its stored
/// form, the media already checked).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ItemFields<'a> {
    pub title: &'a str,
    pub summary: &'a str,
    pub body: &'a str,
    pub case_study: Option<&'a CaseStudy>,
    pub cover: Option<i64>,
    pub video: Option<i64>,
    pub audience: &'a ContentAudience,
}

/// A live item that shows a media: what decides who else may attach it.
#[derive(Debug, Clone)]
pub(crate) struct MediaShownBy {
    pub status: ContentStatus,
    pub author: Author,
    pub audience: ContentAudience,
}

/// The content library's storage (see the module comment).
pub(crate) trait ContentStore {
    /// Stores a media row under `key`, unless the key is taken (by any
    /// company): the key's uniqueness is the index's, one conditional
    /// insert. Answers the new row's id, or None when the key was taken.
    fn insert_media(
        &self,
        owner: MediaOwner,
        content_type: &str,
        size: i64,
        path: &str,
        key: &str,
        now_ms: i64,
    ) -> Result<Option<i64>, ServerError>;

    /// The media under `key` (any company's) and its company.
    fn media_with_key(&self, key: &str) -> Result<Option<(i64, MediaRef)>, ServerError>;

    /// The media under `key` for serving it: its file and whether anyone
    /// may fetch it (see [`StoredMedia::public`]).
    fn media_by_key(&self, key: &str) -> Result<Option<StoredMedia>, ServerError>;

    /// Media `id` (any company's) and its company.
    fn media(&self, id: i64) -> Result<Option<(i64, MediaRef)>, ServerError>;

    /// Who uploaded media `id` of the company (None: the operator), or an
    /// error when it is not the company's.
    fn uploaded_by(&self, company_id: i64, id: i64) -> Result<Option<i64>, ServerError>;

    /// Whether item `item_id` shows media `media_id` now.
    fn item_shows(&self, item_id: i64, media_id: i64) -> Result<bool, ServerError>;

    /// The company's live items that show media `media_id`.
    fn live_items_showing(
        &self,
        company_id: i64,
        media_id: i64,
    ) -> Result<Vec<MediaShownBy>, ServerError>;

    /// The id of the company's image under `key` (an article's `<img>`).
    fn image_with_key(&self, company_id: i64, key: &str) -> Result<Option<i64>, ServerError>;

    /// Every media row of every company.
    fn count_media(&self) -> Result<i64, ServerError>;

    /// The company's item (not deleted, whatever its status) and its author.
    fn item(
        &self,
        company_id: i64,
        which: ItemRef<'_>,
    ) -> Result<Option<(ContentItem, Author)>, ServerError>;

    /// [`ContentStore::item`] for a write that decides from what it reads
    /// (who may write, which audiences lose the item): the row is held
    /// until the transaction ends ([`ItemLock`]), so a publish and an
    /// archive of one item at once run one after the other, the second
    /// reading what the first committed.
    fn item_for_write(
        &self,
        company_id: i64,
        which: ItemRef<'_>,
    ) -> Result<Option<(ContentItem, Author)>, ServerError>;

    /// The company's items that are not deleted, with their authors, by id.
    fn items(&self, company_id: i64) -> Result<Vec<(ContentItem, Author)>, ServerError>;

    /// Every company's items (not deleted) with a cover or a video.
    fn items_with_media(&self) -> Result<Vec<(ContentItem, Author)>, ServerError>;

    /// The companies whose poster shows artwork.
    fn companies_with_artwork(&self) -> Result<Vec<i64>, ServerError>;

    /// (id, company, body) of every article not deleted.
    fn article_bodies(&self) -> Result<Vec<(i64, i64, String)>, ServerError>;

    /// Replaces an item's body as it is (no new `updated_at`).
    fn set_body(&self, id: i64, body: &str) -> Result<(), ServerError>;

    /// A new draft under `key` by `owner_id`, unless the key is taken
    /// (`ON CONFLICT DO NOTHING`: two saves of a new key make one item; on
    /// PostgreSQL the second waits for the first to commit). Answers its
    /// id, or None when the key was taken.
    fn insert_draft(
        &self,
        company_id: i64,
        key: &str,
        kind: ContentKind,
        owner_id: i64,
        fields: ItemFields<'_>,
        now_ms: i64,
    ) -> Result<Option<i64>, ServerError>;

    /// A new live company item under a fresh random key; its id.
    fn insert_company_item(
        &self,
        company_id: i64,
        kind: ContentKind,
        fields: ItemFields<'_>,
        now_ms: i64,
    ) -> Result<i64, ServerError>;

    /// Writes an item's editable fields (its kind, key, author and status
    /// stay).
    fn update_item(
        &self,
        company_id: i64,
        id: i64,
        fields: ItemFields<'_>,
        now_ms: i64,
    ) -> Result<(), ServerError>;

    /// Sets an item's status.
    fn set_status(
        &self,
        company_id: i64,
        id: i64,
        status: ContentStatus,
        now_ms: i64,
    ) -> Result<(), ServerError>;

    /// Marks an item deleted if it is not already (one conditional update)
    /// and lets go of its media, which then count against the quota no
    /// longer and the sweep removes when nothing else uses them. False:
    /// there was no such item.
    fn mark_deleted(&self, company_id: i64, id: i64, now_ms: i64) -> Result<bool, ServerError>;

    /// Makes `media_ids` the media item `item_id` shows.
    fn link_media(&self, item_id: i64, media_ids: &[i64]) -> Result<(), ServerError>;

    /// Tells the devices an item's new state in the change log: first a
    /// tombstone to each audience that saw it `before` and no longer does,
    /// then the item to each that sees it now (so a manager, who gets
    /// both, keeps the item). Who sees it is `visibility::content_reach`.
    fn announce(
        &self,
        before: Option<&(ContentItem, Author)>,
        item: &ContentItem,
        author: Author,
        now_ms: i64,
    ) -> Result<(), ServerError>;

    /// Tells every device of the company the item is gone (a tombstone).
    fn announce_deleted(&self, company_id: i64, id: i64, now_ms: i64) -> Result<(), ServerError>;

    /// Tells every process that the company's shown items changed, at
    /// commit (their open-link caches drop what they hold).
    fn items_changed(&self, company_id: i64) -> Result<(), ServerError>;
}

/// How a write holds the item it decides from until it commits. On
/// PostgreSQL a row lock (`FOR UPDATE`) taken as it is read, so two writes
/// of one item in two processes run one after the other; SQLite's one
/// writer already runs them so.
pub(crate) trait ItemLock {
    /// Locks the company's item `which` (nothing when there is none).
    fn lock_item(conn: &Connection, company_id: i64, which: ItemRef<'_>)
        -> Result<(), ServerError>;
}

/// The content library of the transaction (or read) on `conn`.
pub(crate) fn content_store(conn: &Connection) -> Box<dyn ContentStore + '_> {
    use super::sql::Dialect;
    match conn.dialect() {
        Dialect::Sqlite => Box::new(super::content::ContentSql::<super::sqlite::Sqlite>::new(
            conn,
        )),
        Dialect::Postgres => Box::new(super::content::ContentSql::<super::pg::Postgres>::new(conn)),
    }
}
