//! The 内容库 section: thin commands over the store's library (saved as the
//! author types, pushed by sync) and media uploads streamed from disk with
//! progress events and cancel (`warmlead_sync::Client::upload_file`).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use tauri::{AppHandle, State};
use warmlead_core::api::ContentDraft;
use warmlead_core::app::{LibraryItem, LibraryQuery};
use warmlead_core::domain::{ContentStatus, MediaRef, User};
use warmlead_core::error::ApiError;
use warmlead_core::ErrorCode;

use crate::bridge;
use crate::commands::{blocking, Res};
use crate::events::{self, UploadProgress};
use crate::invite::client;
use crate::state::AppState;

/// The cancel switches of the uploads running now, by the UI's upload id.
#[derive(Default)]
pub struct Uploads(Mutex<HashMap<String, Arc<AtomicBool>>>);

fn sync_soon(state: &AppState) {
    if let Some(engine) = state.engine() {
        engine.trigger();
    }
}

#[bridge::command]
pub async fn library(state: State<'_, AppState>, query: LibraryQuery) -> Res<Vec<LibraryItem>> {
    blocking(&state.db_path, move |s| s.library(&query)).await
}

/// The company's reps from the cache (offline too), for the audience picker.
#[bridge::command]
pub async fn library_reps(state: State<'_, AppState>) -> Res<Vec<User>> {
    blocking(&state.db_path, |s| s.reps()).await
}

/// Saves the author's whole draft here (nothing typed is lost, offline
/// too) and asks for a sync. The UI calls it as the author types, debounced.
#[bridge::command]
pub async fn save_content(
    state: State<'_, AppState>,
    key: String,
    draft: ContentDraft,
) -> Res<LibraryItem> {
    let item = blocking(&state.db_path, move |s| s.save_content(&key, &draft)).await?;
    sync_soon(&state);
    Ok(item)
}

/// Publishes (`live`) or archives an item, here at once and on the server
/// at the next sync.
#[bridge::command]
pub async fn set_content_status(
    state: State<'_, AppState>,
    key: String,
    status: ContentStatus,
) -> Res<LibraryItem> {
    let item = blocking(&state.db_path, move |s| s.set_content_status(&key, status)).await?;
    sync_soon(&state);
    Ok(item)
}

/// Deletes a draft here at once and on the server at the next sync; the
/// error says when it must sync first.
#[bridge::command]
pub async fn delete_draft(state: State<'_, AppState>, key: String) -> Res<()> {
    blocking(&state.db_path, move |s| s.delete_draft(&key)).await?;
    sync_soon(&state);
    Ok(())
}

/// Uploads a file chosen by the user, streamed from disk; progress goes out
/// as `upload-progress` events. Needs the network; a failure leaves nothing
/// on the server, so the UI simply offers to try again.
#[bridge::command]
pub async fn upload_media(
    app: AppHandle,
    state: State<'_, AppState>,
    uploads: State<'_, Uploads>,
    upload_id: String,
    path: PathBuf,
) -> Res<MediaRef> {
    let cancel = Arc::new(AtomicBool::new(false));
    if let Ok(mut running) = uploads.0.lock() {
        running.insert(upload_id.clone(), cancel.clone());
    }
    let id = upload_id.clone();
    let progress = move |sent, total| {
        let p = UploadProgress {
            upload_id: id.clone(),
            sent,
            total,
        };
        events::UPLOAD_PROGRESS.emit(&app, p);
    };
    let result = match client(&state).await {
        Ok(c) => c
            .upload_file(&path, progress, cancel)
            .await
            .map_err(Into::into),
        Err(e) => Err(e),
    };
    if let Ok(mut running) = uploads.0.lock() {
        running.remove(&upload_id);
    }
    result
}

/// Stops a running upload (its command then answers "cancelled").
#[bridge::command]
pub fn cancel_upload(uploads: State<'_, Uploads>, upload_id: String) {
    if let Some(flag) = uploads
        .0
        .lock()
        .ok()
        .and_then(|r| r.get(&upload_id).cloned())
    {
        flag.store(true, Ordering::SeqCst);
    }
}

/// Lets the user choose a poster image (`video` false) or a video file.
/// `None` when they close the dialog.
#[bridge::command]
pub async fn pick_media_file(app: AppHandle, video: bool) -> Option<PathBuf> {
    use tauri_plugin_dialog::DialogExt;
    let (name, extensions): (&str, &[&str]) = if video {
        ("Video", &["mp4", "m4v", "mov", "webm"])
    } else {
        ("Image", &["png", "jpg", "jpeg", "webp"])
    };
    let (tx, rx) = tokio::sync::oneshot::channel();
    app.dialog()
        .file()
        .add_filter(name, extensions)
        .pick_file(move |file| {
            let _ = tx.send(file);
        });
    rx.await.ok().flatten().and_then(|f| f.into_path().ok())
}

/// The safe form of an article body: what the server will store and the
/// public page show, so the phone preview is exact even offline.
#[bridge::command]
pub fn sanitize_article(html: String) -> String {
    warmlead_core::article::sanitize(&html)
}

/// Keeps an image the author placed in an article (pasted, dropped or
/// chosen) in the cache under a new key, offline too; the next sync uploads
/// it before the article. Answers its media for the `<img>`.
#[bridge::command]
pub async fn add_article_image(
    state: State<'_, AppState>,
    content_type: String,
    bytes_base64: String,
) -> Res<MediaRef> {
    let bytes = STANDARD.decode(bytes_base64.as_bytes()).map_err(|e| {
        ApiError::new(
            ErrorCode::InvalidInput,
            format!("the image is not base64: {e}"),
        )
    })?;
    let media = blocking(&state.db_path, move |s| {
        s.add_article_image(&content_type, &bytes)
    })
    .await?;
    sync_soon(&state);
    Ok(media)
}

/// An image of the company as a `data:` URL, for the editor and the phone
/// preview (a draft's images are not public, so the webview cannot load
/// them by address). An image still waiting for the network comes from the
/// cache.
#[bridge::command]
pub async fn media_data_url(state: State<'_, AppState>, key: String) -> Res<String> {
    let local = {
        let key = key.clone();
        blocking(&state.db_path, move |s| s.local_media(&key)).await?
    };
    let (content_type, bytes) = match local {
        Some(found) => found,
        None => {
            let media = MediaRef {
                id: 0,
                content_type: String::new(),
                size: 0,
                key,
            };
            // The webview reads the image's own bytes, whatever the type says.
            let bytes = client(&state).await?.fetch_media(&media).await?;
            ("image/png".to_string(), bytes)
        }
    };
    Ok(format!(
        "data:{content_type};base64,{}",
        STANDARD.encode(bytes)
    ))
}
