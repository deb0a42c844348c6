//! The briefcase: content items as the partner sees them, and a manager's
//! delete. The library: what a manager or rep writes, kept here as they
//! type (offline too) and pushed as outbox mutations.

// The server's name limit, so a rename kept here is never refused there.
use rusqlite::OptionalExtension;
use warmlead_core::api::{check_content_key, check_publishable, ContentDraft};
use warmlead_core::app::{BriefcaseItem, BriefcaseQuery, LibraryItem, LibraryQuery};
use warmlead_core::domain::{ContentItem, ContentStatus, User};
use warmlead_core::limits::MAX_NAME_CHARS;
use warmlead_core::sync::MutationBody;

use crate::{outbox, rows, session, Store, StoreError};

impl Store {
    /// Items not deleted, newest first, filtered by kind and a search of
    /// title and summary, each with how often the signed-in user shared it.
    pub fn briefcase(&self, q: &BriefcaseQuery) -> Result<Vec<BriefcaseItem>, StoreError> {
        let me = session::load(&self.conn)?.map(|s| s.user.id).unwrap_or(-1);
        let kind = q.kind.map(|k| k.as_str());
        let pattern = q
            .search
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| format!("%{}%", escape_like(s)));
        let sql = format!(
            "SELECT {cols}, (SELECT COUNT(*) FROM shares s WHERE s.item_id = ci.id AND s.partner_id = ?1) \
             FROM content_items ci \
             WHERE ci.deleted = 0 AND ci.status = 'live' AND (?2 IS NULL OR ci.kind = ?2) \
               AND (?3 IS NULL OR ci.title LIKE ?3 ESCAPE '\\' OR ci.summary LIKE ?3 ESCAPE '\\') \
             ORDER BY ci.created_at_ms DESC, ci.id DESC",
            cols = rows::ITEM_COLUMNS
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let items = stmt
            .query_map(rusqlite::params![me, kind, pattern], |r| {
                Ok(BriefcaseItem {
                    item: rows::content_item(r)?,
                    my_shares: r.get(rows::ITEM_COLUMN_COUNT)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(items)
    }

    /// One item, unless it is unknown or deleted here.
    pub fn content_item(&self, id: i64) -> Result<Option<ContentItem>, StoreError> {
        Ok(self
            .conn
            .query_row(
                &format!(
                    "SELECT {} FROM content_items ci WHERE ci.id = ?1 AND ci.deleted = 0",
                    rows::ITEM_COLUMNS
                ),
                [id],
                rows::content_item,
            )
            .optional()?)
    }

    /// Hides the item here and queues its deletion for the server, which
    /// decides whether this user may delete it.
    pub fn delete_content_item(&self, id: i64) -> Result<(), StoreError> {
        let tx = crate::write_tx(&self.conn)?;
        hide_and_queue_delete(&tx, id)?;
        tx.commit()?;
        Ok(())
    }

    /// Changes the name others see, here at once and on the server at the next sync.
    pub fn rename_self(&self, name: &str) -> Result<(), StoreError> {
        let name = name.trim();
        let chars = name.chars().count();
        if chars == 0 || chars > MAX_NAME_CHARS {
            return Err(StoreError::Invalid {
                field: "name",
                reason: format!("must be 1 to {MAX_NAME_CHARS} characters"),
            });
        }
        let tx = crate::write_tx(&self.conn)?;
        // First: the outbox row keeps the name it replaces, for its undo.
        outbox::enqueue(
            &tx,
            &MutationBody::RenameSelf {
                name: name.to_string(),
            },
            crate::now_ms(),
        )?;
        let mut s = session::require(&tx)?;
        s.user.name = name.to_string();
        tx.execute(
            "UPDATE users SET name = ?1 WHERE id = ?2",
            rusqlite::params![name, s.user.id],
        )?;
        tx.execute(
            "UPDATE session SET user_json = ?1 WHERE id = 1",
            [serde_json::to_string(&s.user)?],
        )?;
        tx.commit()?;
        Ok(())
    }
}

/// The library mutations, whose `args.key` names the item.
const LIBRARY_MUTATIONS: &str = "('save_content', 'publish_content', 'archive_content')";

/// An edit kept here: the whole draft, the status asked for.
struct Edit {
    key: String,
    draft: ContentDraft,
    status: Option<ContentStatus>,
    created_at_ms: i64,
    saved_at_ms: i64,
}

fn edits(conn: &rusqlite::Connection) -> Result<Vec<Edit>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT item_key, draft_json, status, created_at_ms, saved_at_ms FROM content_edits",
    )?;
    let raw = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, i64>(4)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    raw.into_iter()
        .map(|(key, json, status, created_at_ms, saved_at_ms)| {
            Ok(Edit {
                key,
                draft: serde_json::from_str(&json)?,
                status: status.as_deref().and_then(ContentStatus::parse),
                created_at_ms,
                saved_at_ms,
            })
        })
        .collect()
}

/// The server's items here (not deleted locally), by key.
fn held_items(
    conn: &rusqlite::Connection,
) -> Result<std::collections::BTreeMap<String, ContentItem>, StoreError> {
    let sql = format!(
        "SELECT {} FROM content_items ci WHERE ci.deleted = 0",
        rows::ITEM_COLUMNS
    );
    let mut stmt = conn.prepare(&sql)?;
    let items = stmt
        .query_map([], rows::content_item)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(items.into_iter().map(|i| (i.key.clone(), i)).collect())
}

/// `base` (the server's copy, or a new draft's defaults) with the edit on top.
fn with_edit(base: ContentItem, e: &Edit) -> ContentItem {
    let d = e.draft.clone();
    ContentItem {
        kind: d.kind,
        title: d.title,
        summary: d.summary,
        body: d.body,
        case_study: d.case_study.map(Box::new),
        cover: d.cover,
        video: d.video,
        audience: d.audience,
        status: e.status.unwrap_or(base.status),
        updated_at_ms: e.saved_at_ms,
        ..base
    }
}

/// The message of the last library mutation of `key`, if the server
/// refused it (a later one that went through clears it).
fn rejection(conn: &rusqlite::Connection, key: &str) -> Result<Option<String>, StoreError> {
    let last: Option<(String, Option<String>)> = conn
        .query_row(
            &format!(
                "SELECT state, error_message FROM outbox WHERE name IN {LIBRARY_MUTATIONS} \
                 AND json_extract(args, '$.key') = ?1 ORDER BY seq DESC LIMIT 1"
            ),
            [key],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    Ok(match last {
        Some((state, message)) if state == "rejected" => message.or(Some(String::new())),
        _ => None,
    })
}

fn pending_for(conn: &rusqlite::Connection, key: &str) -> Result<bool, StoreError> {
    Ok(conn.query_row(
        &format!(
            "SELECT EXISTS (SELECT 1 FROM outbox WHERE state = 'pending' AND name IN {LIBRARY_MUTATIONS} \
             AND json_extract(args, '$.key') = ?1)"
        ),
        [key],
        |r| r.get(0),
    )?)
}

/// Hides item `id` here and queues its deletion for the server.
fn hide_and_queue_delete(tx: &rusqlite::Connection, id: i64) -> Result<(), StoreError> {
    let changed = tx.execute(
        "UPDATE content_items SET deleted = 1 WHERE id = ?1 AND deleted = 0",
        [id],
    )?;
    if changed == 0 {
        return Err(StoreError::ItemNotFound(id));
    }
    outbox::enqueue(
        tx,
        &MutationBody::DeleteContentItem { item_id: id },
        crate::now_ms(),
    )?;
    Ok(())
}

/// After the server's copy of `key` arrived (or left): the local edit goes
/// once the server has all of it, i.e. nothing of it waits in the outbox
/// and its last change was not refused (then what was typed stays here).
pub(crate) fn settle_edit(conn: &rusqlite::Connection, key: &str) -> Result<(), StoreError> {
    if key.is_empty() || pending_for(conn, key)? || rejection(conn, key)?.is_some() {
        return Ok(());
    }
    conn.execute("DELETE FROM content_edits WHERE item_key = ?1", [key])?;
    Ok(())
}

impl Store {
    /// The company's reps as this device last synced them, by name: who a
    /// manager can address an item to, offline too.
    pub fn reps(&self) -> Result<Vec<User>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {} FROM users WHERE role = 'rep' ORDER BY name, id",
            crate::rows::USER_COLUMNS
        ))?;
        let rows = stmt.query_map([], crate::rows::user)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The library: every item held here (a manager's whole company, a
    /// rep's own and the company's), with local edits on top, including
    /// drafts the server has not seen; newest change first.
    pub fn library(&self, q: &LibraryQuery) -> Result<Vec<LibraryItem>, StoreError> {
        let me = session::require(&self.conn)?;
        let mut items = held_items(&self.conn)?;
        let mut unsynced = std::collections::BTreeSet::new();
        for e in edits(&self.conn)? {
            let base = items.remove(&e.key).unwrap_or_else(|| ContentItem {
                id: 0,
                company_id: me.company.id,
                key: e.key.clone(),
                kind: e.draft.kind,
                status: ContentStatus::Draft,
                owner_id: Some(me.user.id),
                audience: Default::default(),
                title: String::new(),
                summary: String::new(),
                body: String::new(),
                case_study: None,
                cover: None,
                video: None,
                created_at_ms: e.created_at_ms,
                updated_at_ms: e.saved_at_ms,
            });
            unsynced.insert(e.key.clone());
            items.insert(e.key.clone(), with_edit(base, &e));
        }
        let search = q.search.as_deref().map(str::trim).filter(|s| !s.is_empty());
        let mut out = Vec::new();
        for (key, item) in items {
            let mine = item.owner_id == Some(me.user.id);
            let wanted = q.status.is_none_or(|s| s == item.status)
                && (!q.mine_only || mine)
                && search.is_none_or(|s| item.title.contains(s) || item.summary.contains(s));
            if wanted {
                out.push(LibraryItem {
                    unsynced: unsynced.contains(&key) && pending_for(&self.conn, &key)?,
                    rejected: rejection(&self.conn, &key)?,
                    item,
                    mine,
                });
            }
        }
        out.sort_by(|a, b| {
            (b.item.updated_at_ms, b.item.id).cmp(&(a.item.updated_at_ms, a.item.id))
        });
        Ok(out)
    }

    /// Saves what the author typed: here at once (nothing typed is lost,
    /// offline too), on the server at the next sync. A new key is a new
    /// draft. The UI calls this as the author types (debounced).
    pub fn save_content(&self, key: &str, draft: &ContentDraft) -> Result<LibraryItem, StoreError> {
        check_content_key(key).map_err(invalid)?;
        draft.validate().map_err(invalid)?;
        let tx = crate::write_tx(&self.conn)?;
        let now = crate::now_ms();
        tx.execute(
            "INSERT INTO content_edits (item_key, draft_json, status, created_at_ms, saved_at_ms) \
             VALUES (?1, ?2, NULL, ?3, ?3) \
             ON CONFLICT (item_key) DO UPDATE SET draft_json = excluded.draft_json, saved_at_ms = excluded.saved_at_ms",
            rusqlite::params![key, serde_json::to_string(draft)?, now],
        )?;
        outbox::enqueue(
            &tx,
            &MutationBody::SaveContent {
                key: key.to_string(),
                draft: Box::new(draft.clone()),
            },
            now,
        )?;
        tx.commit()?;
        self.library_item(key)
    }

    /// Publishes (`Live`) or archives an item here at once and on the
    /// server at the next sync. Publishing first checks the item is
    /// complete (the message says what to add).
    pub fn set_content_status(
        &self,
        key: &str,
        status: ContentStatus,
    ) -> Result<LibraryItem, StoreError> {
        let current = self.library_item(key)?;
        if status == ContentStatus::Live {
            check_publishable(&current.item).map_err(invalid)?;
        }
        let body = match status {
            ContentStatus::Live => MutationBody::PublishContent { key: key.into() },
            ContentStatus::Archived => MutationBody::ArchiveContent { key: key.into() },
            ContentStatus::Draft => {
                return Err(StoreError::Invalid {
                    field: "status",
                    reason: "an item goes back to draft by editing it, not by a status".into(),
                })
            }
        };
        let tx = crate::write_tx(&self.conn)?;
        let now = crate::now_ms();
        let draft = draft_of(&current.item);
        tx.execute(
            "INSERT INTO content_edits (item_key, draft_json, status, created_at_ms, saved_at_ms) \
             VALUES (?1, ?2, ?3, ?4, ?4) \
             ON CONFLICT (item_key) DO UPDATE SET status = excluded.status, saved_at_ms = excluded.saved_at_ms",
            rusqlite::params![key, serde_json::to_string(&draft)?, status.as_str(), now],
        )?;
        outbox::enqueue(&tx, &body, now)?;
        tx.commit()?;
        self.library_item(key)
    }

    /// Deletes a draft: gone here at once, and from the server at the next
    /// sync (which checks this user may). Only a draft the server has
    /// recorded can go: one still waiting to sync would be created by its
    /// queued save after the delete, so the message says to wait for it.
    /// A published or archived item is archived instead, never deleted here.
    pub fn delete_draft(&self, key: &str) -> Result<(), StoreError> {
        let current = self.library_item(key)?;
        if current.item.status != ContentStatus::Draft {
            return Err(StoreError::Invalid {
                field: "status",
                reason: "only a draft can be deleted; archive a published item instead".into(),
            });
        }
        if current.item.id <= 0 || pending_for(&self.conn, key)? {
            return Err(StoreError::Invalid {
                field: "sync",
                reason: "this draft has not reached the server yet; delete it after the next sync"
                    .into(),
            });
        }
        let tx = crate::write_tx(&self.conn)?;
        hide_and_queue_delete(&tx, current.item.id)?;
        tx.execute("DELETE FROM content_edits WHERE item_key = ?1", [key])?;
        tx.commit()?;
        Ok(())
    }

    /// One item of the library by key.
    pub fn library_item(&self, key: &str) -> Result<LibraryItem, StoreError> {
        self.library(&LibraryQuery::default())?
            .into_iter()
            .find(|i| i.item.key == key)
            .ok_or_else(|| StoreError::Invalid {
                field: "key",
                reason: format!("no content item {key:?} here; save it first"),
            })
    }
}

/// The editable state of an item (what the editor opens with).
pub fn draft_of(item: &ContentItem) -> ContentDraft {
    ContentDraft {
        kind: item.kind,
        title: item.title.clone(),
        summary: item.summary.clone(),
        body: item.body.clone(),
        case_study: item.case_study.as_deref().cloned(),
        cover: item.cover.clone(),
        video: item.video.clone(),
        audience: item.audience.clone(),
    }
}

fn invalid(e: warmlead_core::CoreError) -> StoreError {
    match e {
        warmlead_core::CoreError::Invalid { field, reason } => {
            StoreError::Invalid { field, reason }
        }
        other => StoreError::Invalid {
            field: "item",
            reason: other.to_string(),
        },
    }
}

/// Makes `%`, `_` and `\` match themselves in a LIKE pattern.
fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
