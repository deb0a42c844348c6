//! `warmlead://activate?server=...&code=...` links: at launch (the link is a
//! command-line argument on Linux and Windows) and while running (a second
//! launch forwards its arguments through the single-instance plugin to the
//! deep-link plugin's `on_open_url`).
//!
//! A link never signs in by itself: anyone can send one, and a link to a
//! hostile server would hand it this app. Not signed in: the link is kept
//! (`PendingLink`, memory only) and the sign-in screen asks, naming the host
//! the link really reaches (`pending_link`, and `deep-link-pending` for a
//! link that arrives while the window is open); only `confirm_link` uses it,
//! `cancel_link` forgets it. Signed in already: never sign out for a link;
//! emit `deep-link-refused` with a message instead.

use std::collections::HashSet;
use std::sync::Mutex;

use tauri::{AppHandle, Manager, State};
use warmlead_core::app::{LinkActivation, Session};
use warmlead_core::error::ApiError;
use warmlead_core::invite::{parse_activation_link, server_host, DEEP_LINK_SCHEME};
use warmlead_core::ErrorCode;

use crate::bridge;
use crate::commands::{activate_device, blocking, Res};
use crate::events;
use crate::state::{start_engine, AppState};

/// Links already handled, so one arriving by two paths is used once.
#[derive(Default)]
pub struct SeenLinks(Mutex<HashSet<String>>);

impl SeenLinks {
    fn first_time(&self, link: &str) -> bool {
        self.0
            .lock()
            .map(|mut s| s.insert(link.to_string()))
            .unwrap_or(false)
    }

    /// A link the person cancelled may be opened again and asked again.
    fn forget(&self, link: &str) {
        if let Ok(mut s) = self.0.lock() {
            s.remove(link);
        }
    }
}

/// The last activation link that arrived, until the person continues or
/// cancels (a newer link replaces it: the dialog then shows the newer one).
#[derive(Default)]
pub struct PendingLink(Mutex<Option<Pending>>);

struct Pending {
    shown: LinkActivation,
    code: String,
    /// The link as it arrived (`SeenLinks` forgets it when it is not used).
    link: String,
}

impl PendingLink {
    fn put(&self, pending: Pending) {
        if let Ok(mut p) = self.0.lock() {
            *p = Some(pending);
        }
    }

    fn shown(&self) -> Option<LinkActivation> {
        self.0.lock().ok()?.as_ref().map(|p| p.shown.clone())
    }

    /// The pending link, taken, if it is the one for `server_url`.
    fn take_for(&self, server_url: &str) -> Option<Pending> {
        let mut p = self.0.lock().ok()?;
        if p.as_ref()?.shown.server_url != server_url {
            return None;
        }
        p.take()
    }

    fn take(&self) -> Option<Pending> {
        self.0.lock().ok()?.take()
    }
}

/// The first `warmlead://` argument, wherever it is (WebDriver and desktop
/// launchers may add other arguments).
pub fn link_in_args(args: impl IntoIterator<Item = String>) -> Option<String> {
    let prefix = format!("{DEEP_LINK_SCHEME}://");
    args.into_iter().skip(1).find(|a| a.starts_with(&prefix))
}

/// What happened to a link, for the caller to report.
pub enum Outcome {
    /// Kept until the person continues or cancels.
    Pending(LinkActivation),
    Refused(String),
}

/// Reads an activation link and keeps it for the person to confirm. Called
/// at launch (before the UI's first `session()` returns) and for links that
/// arrive while running.
pub async fn use_link(app: &AppHandle, link: &str) -> Option<Outcome> {
    if !app.state::<SeenLinks>().first_time(link) {
        return None;
    }
    let parsed = parse_activation_link(link)
        .and_then(|(server, code)| Some((server_host(&server)?, server, code)));
    let Some((host, server_url, code)) = parsed else {
        return Some(Outcome::Refused(
            "这个链接不是有效的暖客激活链接。This is not a valid Warmlead activation link."
                .to_string(),
        ));
    };
    let state = app.state::<AppState>();
    match blocking(&state.db_path, |s| s.session()).await {
        Ok(Some(current)) => {
            return Some(Outcome::Refused(format!(
                "本机已以「{0}」登录。如需用激活链接登录其他账号，请先在设置中退出登录。\
                 This computer is signed in as {0}: sign out in Settings first to use an activation link.",
                current.user.name
            )))
        }
        Ok(None) => {}
        Err(e) => return Some(Outcome::Refused(e.message)),
    }
    let shown = LinkActivation { host, server_url };
    tracing::info!("activation link for {} waits for confirmation", shown.host);
    app.state::<PendingLink>().put(Pending {
        shown: shown.clone(),
        code,
        link: link.to_string(),
    });
    Some(Outcome::Pending(shown))
}

/// A link that arrived while the app runs: keep it and ask the window.
pub async fn handle_runtime_link(app: AppHandle, link: String) {
    let state = app.state::<AppState>();
    state.wait_launched().await;
    match use_link(&app, &link).await {
        Some(Outcome::Pending(shown)) => events::DEEP_LINK_PENDING.emit(&app, shown),
        Some(Outcome::Refused(msg)) => {
            tracing::warn!("deep link refused: {msg}");
            events::DEEP_LINK_REFUSED.emit(&app, msg);
        }
        None => {}
    }
    if let Some(window) = app.get_webview_window("main") {
        let _ = window.unminimize();
        let _ = window.set_focus();
    }
}

/// Refusals at launch are kept until the window is there to hear them.
pub fn emit_refused_later(app: AppHandle, msg: String) {
    tauri::async_runtime::spawn(async move {
        // The UI subscribes right after it first renders.
        tokio::time::sleep(std::time::Duration::from_secs(3)).await;
        events::DEEP_LINK_REFUSED.emit(&app, msg);
    });
}

/// The activation link waiting for the person's answer, if any.
#[bridge::command]
pub fn pending_link(pending: State<'_, PendingLink>) -> Option<LinkActivation> {
    pending.shown()
}

/// The person read the server's name and continued: sign in with the link
/// they saw. `server_url` is the address the dialog showed; a link that
/// replaced it meanwhile is not used under that name.
#[bridge::command]
pub async fn confirm_link(
    app: AppHandle,
    state: State<'_, AppState>,
    pending: State<'_, PendingLink>,
    seen: State<'_, SeenLinks>,
    server_url: String,
) -> Res<Session> {
    let link = pending.take_for(&server_url).ok_or_else(|| {
        ApiError::new(
            ErrorCode::NotFound,
            "this activation link is no longer waiting: open it again",
        )
    })?;
    match activate_device(&state, &server_url, &link.code).await {
        Ok(session) => {
            tracing::info!("activated from a link as {}", session.user.name);
            start_engine(&app);
            Ok(session)
        }
        Err(e) => {
            // Opening the link again asks again (the network may be back).
            seen.forget(&link.link);
            Err(e)
        }
    }
}

/// The person cancelled: the link is forgotten, nothing was sent anywhere;
/// opening it again asks again.
#[bridge::command]
pub fn cancel_link(pending: State<'_, PendingLink>, seen: State<'_, SeenLinks>) {
    if let Some(link) = pending.take() {
        seen.forget(&link.link);
    }
}

#[cfg(test)]
mod tests {
    use super::{link_in_args, LinkActivation, Pending, PendingLink};

    fn pending(server_url: &str, code: &str) -> Pending {
        Pending {
            shown: LinkActivation {
                host: "x".into(),
                server_url: server_url.into(),
            },
            code: code.into(),
            link: format!("warmlead://activate?code={code}"),
        }
    }

    #[test]
    fn only_the_link_the_dialog_showed_is_used() {
        let links = PendingLink::default();
        links.put(pending("https://ours.example", "A"));
        // A second link arrived while the dialog showed the first.
        links.put(pending("https://evil.example", "B"));
        assert!(links.take_for("https://ours.example").is_none());
        assert_eq!(links.shown().unwrap().server_url, "https://evil.example");
        assert_eq!(links.take_for("https://evil.example").unwrap().code, "B");
        // Used once.
        assert!(links.take_for("https://evil.example").is_none());
        assert!(links.shown().is_none());
    }

    #[test]
    fn finds_the_link_among_other_arguments() {
        let args = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let link = "warmlead://activate?server=http%3A%2F%2Fx&code=A";
        assert_eq!(link_in_args(args(&["app", link])).as_deref(), Some(link));
        assert_eq!(
            link_in_args(args(&["app", "--automation", link])).as_deref(),
            Some(link)
        );
        assert_eq!(
            link_in_args(args(&["warmlead://x"])),
            None,
            "argv[0] is the program"
        );
        assert_eq!(link_in_args(args(&["app", "https://x"])), None);
    }
}
