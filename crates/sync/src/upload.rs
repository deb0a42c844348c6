//! Media uploads of the library: a file streamed from disk (a 300 MB video
//! is never held in memory), with progress and cancel. A failed or
//! cancelled upload leaves nothing on the server (it keeps a file only once
//! all of it arrived), so trying again starts cleanly from the beginning.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncReadExt;
use warmlead_core::api::{MAX_MEDIA_BYTES, PATH_MEDIA};
use warmlead_core::domain::MediaRef;
use warmlead_core::error::ApiError;
use warmlead_core::ErrorCode;

use crate::client::{read, transport};
use crate::{Client, SyncError};

const CHUNK: usize = 256 * 1024;

/// The content type of a media file, from its extension.
pub fn media_type_of(path: &Path) -> Option<&'static str> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    Some(match ext.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "webp" => "image/webp",
        "mp4" | "m4v" | "mov" => "video/mp4",
        "webm" => "video/webm",
        _ => return None,
    })
}

fn refused(message: String) -> SyncError {
    SyncError::Api(ApiError::new(ErrorCode::InvalidInput, message))
}

impl Client {
    /// Uploads `path`, calling `progress(sent, total)` as bytes leave; set
    /// `cancel` to stop (the answer is then an error saying so).
    pub async fn upload_file(
        &self,
        path: &Path,
        progress: impl Fn(u64, u64) + Send + Sync + 'static,
        cancel: Arc<AtomicBool>,
    ) -> Result<MediaRef, SyncError> {
        let content_type = media_type_of(path).ok_or_else(|| {
            refused(format!(
                "{}: choose a PNG, JPEG or WebP image, or an MP4 or WebM video",
                path.display()
            ))
        })?;
        let file = tokio::fs::File::open(path)
            .await
            .map_err(|e| refused(format!("cannot read {}: {e}", path.display())))?;
        let total = file.metadata().await.map(|m| m.len()).unwrap_or(0);
        if total > MAX_MEDIA_BYTES as u64 {
            return Err(SyncError::Api(ApiError::new(
                ErrorCode::PayloadTooLarge,
                format!(
                    "the file is {} MB; the largest upload is {} MB",
                    total / 1_000_000,
                    MAX_MEDIA_BYTES / 1_000_000
                ),
            )));
        }
        progress(0, total);
        let stream = chunks(file, total, progress, cancel.clone());
        // No overall timeout: a big video on a slow line takes what it takes.
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| SyncError::Protocol(format!("cannot build the HTTP client: {e}")))?;
        let sent = http
            .post(self.url(PATH_MEDIA))
            .bearer_auth(&self.token)
            .header("content-type", content_type)
            .header("content-length", total)
            .body(reqwest::Body::wrap_stream(stream))
            .send()
            .await;
        if cancel.load(Ordering::SeqCst) {
            return Err(SyncError::Api(ApiError::new(
                ErrorCode::InvalidInput,
                "the upload was cancelled",
            )));
        }
        read(sent.map_err(transport)?).await
    }
}

/// The file in chunks, reporting progress and stopping when cancelled.
fn chunks(
    file: tokio::fs::File,
    total: u64,
    progress: impl Fn(u64, u64) + Send + Sync + 'static,
    cancel: Arc<AtomicBool>,
) -> impl futures_util::Stream<Item = std::io::Result<Vec<u8>>> + Send + 'static {
    futures_util::stream::unfold(
        (file, 0u64, progress, cancel),
        move |(mut file, sent, progress, cancel)| async move {
            if cancel.load(Ordering::SeqCst) {
                let e = std::io::Error::new(std::io::ErrorKind::Interrupted, "cancelled");
                return Some((Err(e), (file, sent, progress, cancel)));
            }
            let mut buf = vec![0u8; CHUNK];
            match file.read(&mut buf).await {
                Ok(0) => None,
                Ok(n) => {
                    buf.truncate(n);
                    let sent = sent + n as u64;
                    progress(sent, total);
                    Some((Ok(buf), (file, sent, progress, cancel)))
                }
                Err(e) => Some((Err(e), (file, sent, progress, cancel))),
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use warmlead_core::domain::Role;
    use warmlead_server::testing::TestServer;

    async fn rep_client(ts: &TestServer) -> Client {
        let a = ts.admin();
        let c = a.create_company("暖居装修").await.unwrap();
        let rep = a
            .create_user(c.id, Role::Rep, "李明", None, None)
            .await
            .unwrap();
        let code = a.create_activation_code(rep.id).await.unwrap();
        let act = crate::activate(&ts.url(), &code, "t").await.unwrap();
        Client::new(&ts.url(), &act.device_token).unwrap()
    }

    /// A video streams with progress up to its size; a cancelled upload
    /// stores nothing, and trying again uploads the whole file.
    #[tokio::test]
    async fn uploads_stream_with_progress_cancel_and_retry() {
        let ts = TestServer::start().await;
        let client = rep_client(&ts).await;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("walk.mp4");
        let mut bytes = b"\0\0\0\x20ftypisom".to_vec();
        bytes.resize(3 * CHUNK + 17, 7);
        std::fs::write(&path, &bytes).unwrap();

        let cancel = Arc::new(AtomicBool::new(false));
        let stop = cancel.clone();
        let err = client
            .upload_file(
                &path,
                move |sent, _| {
                    if sent >= CHUNK as u64 {
                        stop.store(true, Ordering::SeqCst);
                    }
                },
                cancel,
            )
            .await
            .unwrap_err();
        assert!(err.to_string().contains("cancelled"), "{err}");
        assert_eq!(ts.admin().count_media().await.unwrap(), 0);

        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let media = client
            .upload_file(
                &path,
                move |sent, total| log.lock().unwrap().push((sent, total)),
                Arc::new(AtomicBool::new(false)),
            )
            .await
            .unwrap();
        assert_eq!(media.size, bytes.len() as i64);
        assert_eq!(media.content_type, "video/mp4");
        let seen = seen.lock().unwrap().clone();
        let total = bytes.len() as u64;
        assert_eq!(seen.first(), Some(&(0, total)));
        assert_eq!(seen.last(), Some(&(total, total)));
        assert!(seen.windows(2).all(|w| w[0].0 < w[1].0), "{seen:?}");
        assert_eq!(client.fetch_media(&media).await.unwrap(), bytes);
        // A file of no known kind is refused before anything is sent.
        let txt = dir.path().join("notes.txt");
        std::fs::write(&txt, "x").unwrap();
        let err = client
            .upload_file(&txt, |_, _| {}, Arc::new(AtomicBool::new(false)))
            .await
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidInput);
    }
}
