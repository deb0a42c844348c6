//! The live feed: listens to the server's event stream (`GET /api/v1/events`,
//! SSE) while online and hands each `LiveEvent` to the engine, which syncs
//! at once. Reconnects with the same backoff as sync; the engine's periodic
//! sync fills any gap while the stream is down.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::sync::mpsc;
use warmlead_core::lead::LiveEvent;
use warmlead_store::Store;

use crate::{backoff_delay, Client, SyncError};

/// The server sends a keep-alive every 15 s; silence this long means the
/// connection is dead even if TCP has not noticed.
const READ_TIMEOUT: Duration = Duration::from_secs(45);

/// Runs until `events` has no receiver (the engine stopped), or until the
/// server says the company switched this account or device off: then one
/// last event makes the engine sync at once, hear the same, and stop.
pub(crate) async fn listen(path: PathBuf, events: mpsc::UnboundedSender<LiveEvent>) {
    let mut failures: u32 = 0;
    while !events.is_closed() {
        match stream_once(&path, &events, &mut failures).await {
            Ok(()) => tracing::debug!("the event stream ended; reconnecting"),
            Err(SyncError::Api(e)) if e.code.is_switched_off() => {
                let _ = events.send(LiveEvent {
                    seq: 0,
                    stream: "sync".into(),
                    hot_lead_id: None,
                    invitation_id: None,
                });
                return;
            }
            Err(e) => tracing::debug!("event stream: {e}"),
        }
        failures = failures.saturating_add(1);
        tokio::time::sleep(backoff_delay(failures)).await;
    }
}

async fn stream_once(
    path: &Path,
    events: &mpsc::UnboundedSender<LiveEvent>,
    failures: &mut u32,
) -> Result<(), SyncError> {
    let creds = Store::open(path)?
        .credentials()?
        .ok_or(SyncError::NotActivated)?;
    let client = Client::new(&creds.server_url, &creds.device_token)?;
    let mut resp = client.open_events().await?;
    *failures = 0;
    let mut parser = SseParser::default();
    loop {
        let chunk = tokio::time::timeout(READ_TIMEOUT, resp.chunk())
            .await
            .map_err(|_| SyncError::Offline("the event stream went silent".into()))?
            .map_err(|e| SyncError::Offline(e.to_string()))?;
        let Some(chunk) = chunk else { return Ok(()) };
        // The engine stopped (signed out): keep-alives alone would hold this
        // connection open for ever.
        if events.is_closed() {
            return Ok(());
        }
        for data in parser.push(&chunk) {
            match serde_json::from_str::<LiveEvent>(&data) {
                Ok(ev) => {
                    if events.send(ev).is_err() {
                        return Ok(());
                    }
                }
                Err(e) => tracing::debug!("ignoring an event we cannot read: {e}"),
            }
        }
    }
}

/// Splits a byte stream of server-sent events into the `data` of each event
/// (multi-line data joined with `\n`; comments and other fields ignored).
#[derive(Default)]
pub(crate) struct SseParser {
    buf: Vec<u8>,
    data: Vec<String>,
}

impl SseParser {
    pub(crate) fn push(&mut self, bytes: &[u8]) -> Vec<String> {
        self.buf.extend_from_slice(bytes);
        let mut out = Vec::new();
        while let Some(end) = self.buf.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.buf.drain(..=end).collect();
            let line = String::from_utf8_lossy(&line);
            let line = line.trim_end_matches(['\n', '\r']);
            if line.is_empty() {
                if !self.data.is_empty() {
                    out.push(std::mem::take(&mut self.data).join("\n"));
                }
            } else if let Some(rest) = line.strip_prefix("data:") {
                self.data
                    .push(rest.strip_prefix(' ').unwrap_or(rest).to_string());
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::SseParser;

    #[test]
    fn events_split_across_chunks_and_comments_are_skipped() {
        let mut p = SseParser::default();
        assert!(p
            .push(b": keep-alive\n\nevent: radar\ndata: {\"a\"")
            .is_empty());
        assert_eq!(p.push(b":1}\r\n\r\ndata: x\ndata: y\n"), vec!["{\"a\":1}"]);
        assert_eq!(p.push(b"\n"), vec!["x\ny"]);
        assert!(p.push(b"\n\n").is_empty(), "no data, no event");
    }
}
