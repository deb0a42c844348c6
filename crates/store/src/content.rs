//! The briefcase: content items as the partner sees them, and a manager's delete.

// The server's name limit, so a rename kept here is never refused there.
use rusqlite::OptionalExtension;
use warmlead_core::app::{BriefcaseItem, BriefcaseQuery};
use warmlead_core::domain::ContentItem;
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
             WHERE ci.deleted = 0 AND (?2 IS NULL OR ci.kind = ?2) \
               AND (?3 IS NULL OR ci.title LIKE ?3 ESCAPE '\\' OR ci.summary LIKE ?3 ESCAPE '\\') \
             ORDER BY ci.created_at_ms DESC, ci.id DESC",
            cols = rows::ITEM_COLUMNS
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let items = stmt
            .query_map(rusqlite::params![me, kind, pattern], |r| {
                Ok(BriefcaseItem {
                    item: rows::content_item(r)?,
                    my_shares: r.get(10)?,
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
        let changed = tx.execute(
            "UPDATE content_items SET deleted = 1 WHERE id = ?1 AND deleted = 0",
            [id],
        )?;
        if changed == 0 {
            return Err(StoreError::ItemNotFound(id));
        }
        outbox::enqueue(
            &tx,
            &MutationBody::DeleteContentItem { item_id: id },
            crate::now_ms(),
        )?;
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
        outbox::enqueue(
            &tx,
            &MutationBody::RenameSelf {
                name: name.to_string(),
            },
            crate::now_ms(),
        )?;
        tx.commit()?;
        Ok(())
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
