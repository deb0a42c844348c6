//! Images of articles written here, kept until the server has them. The
//! device picks each image's key (its address on the server), so the article
//! refers to it at once, offline too; the sync uploads it under that key
//! before it pushes the article.

use rusqlite::{params, OptionalExtension};
use warmlead_core::app::RejectedChange;
use warmlead_core::domain::MediaRef;
use warmlead_core::error::ApiError;
use warmlead_core::limits::{ARTICLE_IMAGE_TYPES, MAX_ARTICLE_IMAGE_BYTES};

use crate::{Store, StoreError};

/// How a refused image's id starts in the list of rejected changes.
pub(crate) const REJECTED_PREFIX: &str = "media:";

/// Name a rejected image has in the sync badge's list of rejected changes.
pub const UPLOAD_IMAGE: &str = "UploadImage";

/// One image waiting for the network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingMedia {
    pub key: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// 122 random bits in 32 lowercase hex digits: the server's key format, unguessable like its own.
fn new_key() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

fn check_image(content_type: &str, len: usize) -> Result<(), StoreError> {
    if !ARTICLE_IMAGE_TYPES.contains(&content_type) {
        return Err(StoreError::Invalid {
            field: "image",
            reason: format!("{content_type:?} is not a PNG, JPEG or WebP image"),
        });
    }
    if len == 0 {
        return Err(StoreError::Invalid {
            field: "image",
            reason: "the file is empty".into(),
        });
    }
    if len > MAX_ARTICLE_IMAGE_BYTES {
        return Err(StoreError::Invalid {
            field: "image",
            reason: format!(
                "the image is {} MB; an article's image may be at most {} MB",
                len.div_ceil(1_000_000),
                MAX_ARTICLE_IMAGE_BYTES / 1_000_000
            ),
        });
    }
    Ok(())
}

impl Store {
    /// Keeps an image for an article under a new key; the article can show
    /// `/media/{key}` at once and the next sync uploads it.
    pub fn add_article_image(
        &self,
        content_type: &str,
        bytes: &[u8],
    ) -> Result<MediaRef, StoreError> {
        check_image(content_type, bytes.len())?;
        let key = new_key();
        self.conn.execute(
            "INSERT INTO pending_media (media_key, content_type, bytes, created_at_ms)
             VALUES (?1, ?2, ?3, ?4)",
            params![key, content_type, bytes, crate::now_ms()],
        )?;
        Ok(MediaRef {
            // The server gives the id when the image arrives; articles refer
            // to images by key only.
            id: 0,
            content_type: content_type.to_string(),
            size: bytes.len() as i64,
            key,
        })
    }

    /// The images still to upload, oldest first.
    pub fn pending_media(&self, limit: usize) -> Result<Vec<PendingMedia>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT media_key, content_type, bytes FROM pending_media
             WHERE state = 'pending' ORDER BY created_at_ms, media_key LIMIT ?1",
        )?;
        let rows = stmt.query_map([limit as i64], |r| {
            Ok(PendingMedia {
                key: r.get(0)?,
                content_type: r.get(1)?,
                bytes: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// A kept image by key (the editor's preview, before the server has it).
    pub fn local_media(&self, key: &str) -> Result<Option<(String, Vec<u8>)>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT content_type, bytes FROM pending_media WHERE media_key = ?1",
                [key],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
    }

    /// The server has the image: nothing to keep.
    pub fn media_uploaded(&self, key: &str) -> Result<(), StoreError> {
        self.conn
            .execute("DELETE FROM pending_media WHERE media_key = ?1", [key])?;
        Ok(())
    }

    /// The server refused the image for good: kept with the reason, shown
    /// with the rejected changes, never tried again.
    pub fn media_rejected(&self, key: &str, error: &ApiError) -> Result<(), StoreError> {
        let code = serde_json::to_value(error.code)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string));
        self.conn.execute(
            "UPDATE pending_media SET state = 'rejected', error_code = ?2, error_message = ?3,
                    resolved_at_ms = ?4
             WHERE media_key = ?1",
            params![key, code, error.message, crate::now_ms()],
        )?;
        Ok(())
    }

    pub(crate) fn pending_media_count(&self) -> Result<i64, StoreError> {
        Ok(self.conn.query_row(
            "SELECT COUNT(*) FROM pending_media WHERE state = 'pending'",
            [],
            |r| r.get(0),
        )?)
    }

    /// Refused images, as the badge lists rejected changes.
    /// Forgets a refused image the user has seen.
    pub(crate) fn dismiss_rejected_media(&self, key: &str) -> Result<bool, StoreError> {
        let n = self.conn.execute(
            "DELETE FROM pending_media WHERE media_key = ?1 AND state = 'rejected'",
            [key],
        )?;
        Ok(n > 0)
    }

    pub(crate) fn rejected_media(&self) -> Result<Vec<RejectedChange>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT media_key, error_code, error_message, resolved_at_ms FROM pending_media
             WHERE state = 'rejected' ORDER BY resolved_at_ms, media_key",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, Option<i64>>(3)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (key, code, message, at) = row?;
            out.push(RejectedChange {
                mutation_id: format!("{REJECTED_PREFIX}{key}"),
                name: UPLOAD_IMAGE.into(),
                subject: None,
                code: crate::outbox::error_code(code),
                message: message.unwrap_or_default(),
                at_ms: at.unwrap_or(0),
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use warmlead_core::ErrorCode;

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("cache.db")).unwrap();
        (dir, store)
    }

    #[test]
    fn an_image_is_kept_under_a_fresh_key_until_uploaded() {
        let (_dir, s) = store();
        let a = s.add_article_image("image/png", PNG).unwrap();
        let b = s.add_article_image("image/png", PNG).unwrap();
        assert_eq!(a.key.len(), 32);
        assert!(a
            .key
            .bytes()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert_ne!(a.key, b.key);
        assert_eq!(a.size, PNG.len() as i64);
        assert_eq!(s.pending_media_count().unwrap(), 2);
        assert_eq!(s.pending_count().unwrap(), 2, "the badge counts them");
        assert_eq!(
            s.local_media(&a.key).unwrap(),
            Some(("image/png".into(), PNG.to_vec()))
        );
        s.media_uploaded(&a.key).unwrap();
        let left = s.pending_media(10).unwrap();
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].key, b.key);
        assert_eq!(s.local_media(&a.key).unwrap(), None);
    }

    #[test]
    fn a_refused_image_is_shown_and_not_tried_again() {
        let (_dir, s) = store();
        let a = s
            .add_article_image("image/jpeg", b"\xFF\xD8\xFF\xE0")
            .unwrap();
        s.media_rejected(
            &a.key,
            &ApiError::new(ErrorCode::InvalidInput, "not a JPEG"),
        )
        .unwrap();
        assert!(s.pending_media(10).unwrap().is_empty());
        let status = s.sync_status(true).unwrap();
        assert_eq!(status.pending, 0);
        assert_eq!(status.rejected.len(), 1);
        assert_eq!(status.rejected[0].name, UPLOAD_IMAGE);
        assert_eq!(status.rejected[0].code, ErrorCode::InvalidInput);
        assert_eq!(status.rejected[0].message, "not a JPEG");
    }

    #[test]
    fn what_is_not_an_article_image_is_refused_with_the_reason() {
        let (_dir, s) = store();
        let too_big = vec![0u8; MAX_ARTICLE_IMAGE_BYTES + 1];
        for (ty, bytes, says) in [
            ("video/mp4", PNG, "not a PNG"),
            ("image/svg+xml", PNG, "not a PNG"),
            ("image/png", &[][..], "empty"),
            ("image/png", &too_big[..], "at most"),
        ] {
            let err = s.add_article_image(ty, bytes).unwrap_err();
            assert!(err.to_string().contains(says), "{ty}: {err}");
            assert_eq!(err.code(), ErrorCode::InvalidInput);
        }
        assert_eq!(s.pending_media_count().unwrap(), 0);
    }
}
