//! `wlmedia://localhost/{key}` (`http://wlmedia.localhost/{key}` on
//! Windows): the company's images (covers, images in articles) served to the
//! window by the app itself. The window's Content-Security-Policy allows
//! images only from the app (this scheme, `data:` and its own files), so no
//! page of the window ever loads anything from a server, whichever server
//! the app is signed in to. An image comes from the cache when it is there
//! (a draft's image waiting to upload, or one fetched before: offline too),
//! else from the signed-in server with this device's token (then cached).

use tauri::http::{header, Request, Response, StatusCode};
use tauri::{AppHandle, Manager, Runtime, UriSchemeContext, UriSchemeResponder};
use warmlead_core::article::{media_key_of, MEDIA_PATH_PREFIX};
use warmlead_core::domain::MediaRef;

use crate::commands::blocking;
use crate::state::AppState;

/// The scheme's name; the UI builds its addresses with `convertFileSrc`.
pub const SCHEME: &str = "wlmedia";

/// The handler given to `register_asynchronous_uri_scheme_protocol`.
pub fn handle<R: Runtime>(
    ctx: UriSchemeContext<'_, R>,
    request: Request<Vec<u8>>,
    responder: UriSchemeResponder,
) {
    let app = ctx.app_handle().clone();
    let key = request.uri().path().trim_start_matches('/').to_string();
    tauri::async_runtime::spawn(async move {
        responder.respond(respond(&app, &key).await);
    });
}

async fn respond<R: Runtime>(app: &AppHandle<R>, key: &str) -> Response<Vec<u8>> {
    // Only the address of a media of this server: never a path.
    let found = match media_key_of(&format!("{MEDIA_PATH_PREFIX}{key}")) {
        Some(key) => image(app, key).await,
        None => None,
    };
    let response = match found {
        Some((content_type, bytes)) => Response::builder()
            .header(header::CONTENT_TYPE, content_type)
            // The company's images stay out of the webview's own cache: a
            // sign-out wipes the app's cache, and that is the only copy.
            .header(header::CACHE_CONTROL, "no-store")
            .header("X-Content-Type-Options", "nosniff")
            .body(bytes),
        None => Response::builder()
            .status(StatusCode::NOT_FOUND)
            .body(Vec::new()),
    };
    response.unwrap_or_else(|_| Response::new(Vec::new()))
}

/// The image's type and bytes; `None` when it is not an image this app can
/// have (unknown, offline without a cached copy, not signed in).
async fn image<R: Runtime>(app: &AppHandle<R>, key: &str) -> Option<(String, Vec<u8>)> {
    let state = app.state::<AppState>();
    let wanted = key.to_string();
    if let Ok(Some((content_type, bytes))) =
        blocking(&state.db_path, move |s| s.local_media(&wanted)).await
    {
        return image_type(&bytes).map(|_| (content_type, bytes));
    }
    let media = MediaRef {
        id: 0,
        content_type: String::new(),
        size: 0,
        key: key.to_string(),
    };
    let server = crate::invite::client(&state).await.ok();
    let bytes =
        crate::share::poster_image(state.db_path.parent(), Some(&media), server.as_ref()).await?;
    let content_type = image_type(&bytes)?;
    Some((content_type.to_string(), bytes))
}

/// The type of an image by its first bytes (the formats a cover, a logo or
/// an article image may be); `None` for anything else, which is not served.
fn image_type(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(b"\xFF\xD8\xFF") {
        Some("image/jpeg")
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some("image/gif")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::{image_type, SCHEME};

    /// The scheme is named in three places that must agree: here, the
    /// window's CSP (images from it and no server) and the UI's addresses.
    #[test]
    fn the_csp_and_the_ui_name_this_scheme() {
        let conf: serde_json::Value =
            serde_json::from_str(include_str!("../tauri.conf.json")).unwrap();
        let csp = &conf["app"]["security"]["csp"];
        let img = csp["img-src"].as_str().unwrap();
        let mut sources: Vec<&str> = img.split_whitespace().collect();
        sources.sort_unstable();
        let windows = format!("http://{SCHEME}.localhost");
        let linux = format!("{SCHEME}:");
        let mut expected = vec!["'self'", "data:", linux.as_str(), windows.as_str()];
        expected.sort_unstable();
        assert_eq!(sources, expected, "images only from the app");
        assert_eq!(csp["default-src"], "'self'");
        assert_eq!(csp["script-src"], "'self'");
        assert_eq!(csp["connect-src"], "ipc: http://ipc.localhost");
        let ui = include_str!("../../ui/src/api.ts");
        assert!(ui.contains(&format!("const MEDIA_SCHEME = \"{SCHEME}\";")));
    }

    #[test]
    fn only_images_are_served() {
        assert_eq!(image_type(b"\x89PNG\r\n\x1a\n...."), Some("image/png"));
        assert_eq!(image_type(b"\xFF\xD8\xFF\xE0...."), Some("image/jpeg"));
        assert_eq!(image_type(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(image_type(b"GIF89a.."), Some("image/gif"));
        for not_an_image in [&b"<svg onload=alert(1)>"[..], b"<html>", b"", b"RIFF"] {
            assert_eq!(image_type(not_an_image), None);
        }
    }
}
