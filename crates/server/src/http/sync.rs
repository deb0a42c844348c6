//! `POST /api/v1/sync/push` and `GET /api/v1/sync/pull`.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use warmlead_core::sync::{PullQuery, PushRequest, PushResponse, MAX_PULL_LIMIT};

use super::extract::{ApiJson, ApiQuery};
use super::AppState;
use crate::error::ServerError;
use crate::services::pull;
use crate::services::push as push_service;
use crate::storage::changes::RawPage;
use crate::storage::Caller;

const DEFAULT_PULL_LIMIT: u32 = 500;

/// `POST /api/v1/sync/push`: a `PushResponse` (`services::push::push`).
pub(crate) async fn push(
    State(st): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<PushRequest>,
) -> Result<Json<PushResponse>, ServerError> {
    Ok(Json(push_service::push(&st.db, caller, req).await?))
}

/// `GET /api/v1/sync/pull?after=&limit=`: a `PullResponse`, written from the
/// stored change bodies without parsing them (see `changes::RawPage`).
pub(crate) async fn pull(
    State(st): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<PullQuery>,
) -> Result<Response, ServerError> {
    // Read your writes: beacons queued before this pull are in it.
    st.db.flush().await;
    let (after, limit) = page_bounds(&q);
    let page = pull::sync_page(&st.db, caller, after, limit).await?;
    page_response(&st.db.secrets().epoch, &page)
}

/// The JSON of `PullResponse` / `RadarPullResponse` (same members, in the
/// order serde writes them) around a page's raw `changes` array.
fn page_json(epoch: &str, page: &RawPage) -> Result<String, ServerError> {
    let epoch = serde_json::to_string(epoch)?;
    let mut out = String::with_capacity(page.changes_json.len() + epoch.len() + 64);
    out.push_str("{\"epoch\":");
    out.push_str(&epoch);
    out.push_str(",\"changes\":");
    out.push_str(&page.changes_json);
    out.push_str(&format!(
        ",\"cursor\":{},\"has_more\":{}}}",
        page.cursor, page.has_more
    ));
    Ok(out)
}

fn page_response(epoch: &str, page: &RawPage) -> Result<Response, ServerError> {
    let json = page_json(epoch, page)?;
    Ok(([(header::CONTENT_TYPE, "application/json")], json).into_response())
}

/// The cursor and page size of a pull, with the server's default and cap.
fn page_bounds(q: &PullQuery) -> (i64, u32) {
    let limit = q.limit.unwrap_or(DEFAULT_PULL_LIMIT);
    (q.after.max(0), limit.clamp(1, MAX_PULL_LIMIT))
}

/// `GET /api/v1/radar/pull?after=&limit=`: leads, signals, visit aggregates
/// and forward chains in the caller's scope (same rules and cursor
/// semantics as the sync pull; the cursor is this stream's own).
pub(crate) async fn pull_radar(
    State(st): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<PullQuery>,
) -> Result<Response, ServerError> {
    st.db.flush().await;
    let (after, limit) = page_bounds(&q);
    let page = pull::radar_page(&st.db, caller, after, limit).await?;
    page_response(&st.db.secrets().epoch, &page)
}

#[cfg(test)]
mod tests {
    use super::*;
    use warmlead_core::lead::RadarPullResponse;
    use warmlead_core::sync::PullResponse;

    /// The envelope around a raw page is what serde writes for the typed
    /// responses (their members in declaration order), empty page or not.
    #[test]
    fn a_raw_page_response_is_the_typed_response() {
        let changes = [
            (String::from("[]"), 12, false),
            (
                String::from(
                    r#"[{"seq":13,"entity":"tombstone","data":{"kind":"user","id":"5"}}]"#,
                ),
                13,
                true,
            ),
        ];
        for (changes_json, cursor, has_more) in changes {
            let page = RawPage {
                changes_json,
                cursor,
                has_more,
            };
            let json = page_json("ep\"och", &page).unwrap();
            let typed: PullResponse = serde_json::from_str(&json).unwrap();
            assert_eq!(json, serde_json::to_string(&typed).unwrap());
            assert_eq!((typed.cursor, typed.has_more), (cursor, has_more));
            assert_eq!(typed.epoch, "ep\"och");
            if page.changes_json == "[]" {
                let radar: RadarPullResponse = serde_json::from_str(&json).unwrap();
                assert_eq!(json, serde_json::to_string(&radar).unwrap());
            }
        }
    }
}
