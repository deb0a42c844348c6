//! `GET /api/v1/events`: server-sent events for a signed-in device. Each
//! event says "something in your scope was appended to this stream; pull
//! now" (`LiveEvent`), so the desktop's radar updates within moments while
//! online; when offline, the next sync fills the gap. A stream ends within
//! seconds of its device's revocation or its user's switch-off, on every
//! process: each wake and a timer re-check the device in the database.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use warmlead_core::lead::LiveEvent;

use super::AppState;
use crate::services::pull;
use crate::storage::Caller;

fn event(seq: i64, stream: &str, hot_lead_id: Option<i64>, invitation_id: Option<i64>) -> Event {
    let data = LiveEvent {
        seq,
        stream: stream.to_string(),
        hot_lead_id,
        invitation_id,
    };
    Event::default()
        .event(stream)
        .json_data(&data)
        .unwrap_or_else(|_| Event::default().comment("unencodable"))
}

/// How often a stream with no commits to wake it re-checks that its device
/// may still listen (every wake checks too).
const RECHECK_EVERY: Duration = Duration::from_secs(2);

struct Live {
    db: crate::storage::Database,
    caller: Caller,
    commits: tokio::sync::watch::Receiver<u64>,
    heads: (i64, i64),
    pending: Vec<Event>,
    first: bool,
}

impl Live {
    /// Waits for a commit of the caller's company (not before the first round), then queues an
    /// event per stream whose visible head moved. `None` ends the stream.
    async fn next(mut self) -> Option<(Result<Event, Infallible>, Live)> {
        loop {
            if let Some(e) = self.pending.pop() {
                return Some((Ok(e), self));
            }
            if !self.first {
                tokio::select! {
                    changed = self.commits.changed() => changed.ok()?,
                    () = tokio::time::sleep(RECHECK_EVERY) => {
                        // A quiet company wakes nobody: the device is checked
                        // anyway, so a revoked one does not keep listening.
                        if !pull::device_is_live(&self.db, self.caller.device_id).await.ok()? {
                            return None;
                        }
                        continue;
                    }
                }
            }
            let (sync, radar) = self.heads;
            // `None` when the device was revoked or its user switched off
            // since the stream opened: the stream ends.
            let (s, r, hot) =
                pull::live_state(&self.db, self.caller.clone(), self.heads, !self.first)
                    .await
                    .ok()??;
            if s > sync || self.first {
                // Someone accepted an invitation: the rep's QR screen moves on at once.
                let accepted = if s > sync && !self.first {
                    crate::services::invitations::accepted_since(
                        &self.db,
                        self.caller.clone(),
                        sync,
                        s,
                    )
                    .await
                    .ok()?
                } else {
                    None
                };
                self.pending.push(event(s, "sync", None, accepted));
            }
            if r > radar || self.first {
                self.pending.push(event(r, "radar", hot, None));
            }
            self.heads = (s, r);
            self.first = false;
        }
    }
}

/// First the current heads of both streams, then one event per stream
/// whenever a commit appended something the caller may see. The stream
/// wakes (and queries) only on commits that appended to the caller's
/// company's log, not on every commit of the server.
pub(crate) async fn events(
    State(st): State<AppState>,
    caller: Caller,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let mut commits = st.db.subscribe_company(caller.company.id);
    commits.mark_unchanged();
    let live = Live {
        db: st.db.clone(),
        caller,
        commits,
        heads: (0, 0),
        pending: Vec::new(),
        first: true,
    };
    let stream = futures_util::stream::unfold(live, Live::next);
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}
