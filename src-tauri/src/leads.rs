//! Leads: the list, the detail pane, MAN flags, and what the radar pushes to
//! the window (`radar-changed`) and the desktop (a notification per new A/A+ lead).

use std::sync::Mutex;

use tauri::{AppHandle, Manager, State};
use tauri_plugin_notification::NotificationExt;
use warmlead_core::app::{LeadDetail, LeadPage, LeadQuery, LeadSummary};
use warmlead_core::lead::ManFlags;
use warmlead_sync::SyncHandle;

use crate::commands::{blocking, now_ms, Res};
use crate::state::AppState;
use crate::{bridge, events};

/// The UI's language, so notifications speak it ("zh-CN" until told otherwise).
#[derive(Default)]
pub struct Locale(Mutex<Option<String>>);

impl Locale {
    fn is_english(&self) -> bool {
        self.0
            .lock()
            .ok()
            .and_then(|l| l.clone())
            .is_some_and(|l| l.starts_with("en"))
    }
}

#[bridge::command]
pub async fn leads(state: State<'_, AppState>, query: LeadQuery) -> Res<LeadPage> {
    blocking(&state.db_path, move |s| s.leads(&query)).await
}

#[bridge::command]
pub async fn lead_detail(state: State<'_, AppState>, id: i64) -> Res<LeadDetail> {
    blocking(&state.db_path, move |s| s.lead_detail(id)).await
}

/// Saves the flags with their outbox row and asks for a sync; the new grade
/// comes back from the server.
#[bridge::command]
pub async fn set_man_flags(
    state: State<'_, AppState>,
    id: i64,
    flags: ManFlags,
) -> Res<LeadSummary> {
    let summary = blocking(&state.db_path, move |s| {
        s.set_man_flags(id, flags, now_ms())
    })
    .await?;
    if let Some(engine) = state.engine() {
        engine.trigger();
    }
    Ok(summary)
}

#[bridge::command]
pub fn set_locale(locale: State<'_, Locale>, lang: String) {
    if let Ok(mut l) = locale.0.lock() {
        *l = Some(lang);
    }
}

/// Forwards radar news of a running engine: `radar-changed` to the window and
/// a desktop notification per hot lead. Both tasks end with the engine.
pub fn watch_radar(app: &AppHandle, handle: &SyncHandle) {
    let mut radar = handle.subscribe_radar();
    let to_window = app.clone();
    tauri::async_runtime::spawn(async move {
        while radar.changed().await.is_ok() {
            events::RADAR_CHANGED.emit(&to_window, ());
        }
    });
    let mut hot = handle.subscribe_hot_leads();
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        loop {
            match hot.recv().await {
                Ok(id) => notify_hot(&app, id).await,
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    tracing::info!("{n} hot lead notifications skipped");
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            }
        }
    });
}

async fn notify_hot(app: &AppHandle, id: i64) {
    let state = app.state::<AppState>();
    let Ok(detail) = blocking(&state.db_path, move |s| s.lead_detail(id)).await else {
        return; // Not in this device's scope (or gone): nothing to say.
    };
    let s = &detail.summary;
    let english = app.state::<Locale>().is_english();
    let grade = s.lead.grade.as_str();
    let (title, body) = if english {
        (
            format!("New {grade} lead: {}", s.lead.name),
            format!("Referred by {}", s.partner_name),
        )
    } else {
        (
            format!("新的 {grade} 级线索：{}", s.lead.name),
            format!("推荐人：{}", s.partner_name),
        )
    };
    if let Err(e) = app.notification().builder().title(title).body(body).show() {
        tracing::warn!("cannot show the hot lead notification: {e}");
    }
}
