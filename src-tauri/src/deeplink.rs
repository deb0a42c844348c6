//! `warmlead://activate?server=...&code=...` links: at launch (the link is a
//! command-line argument on Linux and Windows) and while running (a second
//! launch forwards its arguments through the single-instance plugin to the
//! deep-link plugin's `on_open_url`).
//!
//! Not signed in: activate with that server and code, start syncing, and
//! emit `session-changed` with the new `Session`. Signed in already: never
//! sign out silently; emit `deep-link-refused` with a message instead.

use std::collections::HashSet;
use std::sync::Mutex;

use tauri::{AppHandle, Manager};
use warmlead_core::invite::{parse_activation_link, DEEP_LINK_SCHEME};

use crate::commands::{activate_device, blocking};
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
}

/// The first `warmlead://` argument, wherever it is (WebDriver and desktop
/// launchers may add other arguments).
pub fn link_in_args(args: impl IntoIterator<Item = String>) -> Option<String> {
    let prefix = format!("{DEEP_LINK_SCHEME}://");
    args.into_iter().skip(1).find(|a| a.starts_with(&prefix))
}

/// What happened to a link, for the caller to report.
pub enum Outcome {
    /// Boxed: a session is far larger than a refusal.
    SignedIn(Box<warmlead_core::app::Session>),
    Refused(String),
}

/// Uses an activation link. Called at launch (before the UI's first
/// `session()` returns) and for links that arrive while running.
pub async fn use_link(app: &AppHandle, link: &str) -> Option<Outcome> {
    if !app.state::<SeenLinks>().first_time(link) {
        return None;
    }
    let Some((server, code)) = parse_activation_link(link) else {
        return Some(Outcome::Refused(
            "这个链接不是有效的暖客激活链接。".to_string(),
        ));
    };
    let state = app.state::<AppState>();
    match blocking(&state.db_path, |s| s.session()).await {
        Ok(Some(current)) => {
            return Some(Outcome::Refused(format!(
                "本机已以「{}」登录。如需用激活链接登录其他账号，请先在设置中退出登录。",
                current.user.name
            )))
        }
        Ok(None) => {}
        Err(e) => return Some(Outcome::Refused(e.message)),
    }
    match activate_device(&state.db_path, &server, &code).await {
        Ok(session) => {
            tracing::info!("activated from a link as {}", session.user.name);
            start_engine(app);
            Some(Outcome::SignedIn(Box::new(session)))
        }
        Err(e) => Some(Outcome::Refused(format!("激活失败：{}", e.message))),
    }
}

/// A link that arrived while the app runs: use it and tell the window.
pub async fn handle_runtime_link(app: AppHandle, link: String) {
    let state = app.state::<AppState>();
    state.wait_launched().await;
    match use_link(&app, &link).await {
        Some(Outcome::SignedIn(session)) => events::SESSION_CHANGED.emit(&app, *session),
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

#[cfg(test)]
mod tests {
    use super::link_in_args;

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
