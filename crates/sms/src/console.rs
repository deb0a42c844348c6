//! The default provider: no account, no network. Messages land in an outbox the demo shows and
//! tests read, in memory and optionally appended to a JSON-lines file.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use crate::error::SmsError;
use crate::message::{DeliveryStatus, MessageKind, ProviderReceipt, SmsMessage};
use crate::provider::{SendFuture, SmsProvider};

/// One message in the outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxEntry {
    pub id: String,
    /// E.164.
    pub to: String,
    pub kind: MessageKind,
    pub text: String,
}

#[derive(Debug, Clone, Default)]
pub struct ConsoleProvider {
    outbox: Arc<Mutex<Vec<OutboxEntry>>>,
    file: Option<PathBuf>,
}

impl ConsoleProvider {
    /// An in-memory outbox.
    pub fn new() -> Self {
        Self::default()
    }

    /// Also appends each message as one JSON line to `path` (created if missing).
    pub fn with_file(path: impl Into<PathBuf>) -> Self {
        ConsoleProvider {
            outbox: Arc::default(),
            file: Some(path.into()),
        }
    }

    /// Everything sent through this provider (and its clones), oldest first.
    pub fn outbox(&self) -> Vec<OutboxEntry> {
        self.outbox.lock().map(|o| o.clone()).unwrap_or_default()
    }

    fn record(&self, message: &SmsMessage) -> Result<OutboxEntry, SmsError> {
        let entry = OutboxEntry {
            id: format!("console-{}", uuid::Uuid::now_v7()),
            to: message.to.as_e164().to_string(),
            kind: message.kind,
            text: message.text.clone(),
        };
        if let Some(path) = &self.file {
            append_line(path, &entry)?;
        }
        // The text carries bearer secrets (an invitation link, an activation code and its
        // warmlead:// link): logs get its words without them; the outbox (memory and the file
        // the operator asked for) keeps the message whole.
        tracing::info!(to = %entry.to, text = %redact(&entry.text), "SMS (console outbox)");
        self.outbox
            .lock()
            .map_err(|_| SmsError::Outbox("outbox lock poisoned".into()))?
            .push(entry.clone());
        Ok(entry)
    }
}

/// The text without its secrets: every invitation link's token, and every
/// ASCII word holding a digit, `-`, `=` or `/` (activation codes like
/// `K7Q-4MX-PQR`, `warmlead://activate?...` links and URLs), replaced with
/// `…`.
fn redact(text: &str) -> String {
    let links = redact_links(text);
    let mut out = String::with_capacity(links.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        if word
            .chars()
            .any(|c| c.is_ascii_digit() || "-=/".contains(c))
        {
            out.push('…');
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for c in links.chars() {
        // A secret is ASCII: letters, digits and the punctuation of codes and URLs.
        if c.is_ascii_graphic() {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

/// Replaces the token of every invitation link (`.../i/<token>`) with `…`.
fn redact_links(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("/i/") {
        out.push_str(&rest[..at + 3]);
        rest = &rest[at + 3..];
        let token_len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
            .unwrap_or(rest.len());
        if token_len > 0 {
            out.push('…');
        }
        rest = &rest[token_len..];
    }
    out.push_str(rest);
    out
}

fn append_line(path: &Path, entry: &OutboxEntry) -> Result<(), SmsError> {
    let line = serde_json::to_string(entry).map_err(|e| SmsError::Outbox(e.to_string()))?;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| SmsError::Outbox(format!("{}: {e}", path.display())))?;
    writeln!(file, "{line}").map_err(|e| SmsError::Outbox(format!("{}: {e}", path.display())))
}

/// Reads an outbox file written by [`ConsoleProvider::with_file`]; a missing file is empty.
pub fn read_outbox_file(path: &Path) -> Result<Vec<OutboxEntry>, SmsError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(SmsError::Outbox(format!("{}: {e}", path.display()))),
    };
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).map_err(|e| SmsError::Outbox(e.to_string())))
        .collect()
}

impl SmsProvider for ConsoleProvider {
    fn name(&self) -> &'static str {
        "console"
    }

    fn send<'a>(&'a self, message: &'a SmsMessage) -> SendFuture<'a> {
        Box::pin(async move {
            let entry = self.record(message)?;
            Ok(ProviderReceipt {
                provider: "console".into(),
                provider_message_id: entry.id,
                // Nothing further will happen to it: the outbox is its destination.
                status: DeliveryStatus::Delivered,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logs_never_carry_invitation_tokens() {
        let text = "李明邀请您：https://r.example.com/i/AbC_12-xyz 拒收请回复R /i/";
        let redacted = redact_links(text);
        assert_eq!(
            redacted,
            "李明邀请您：https://r.example.com/i/… 拒收请回复R /i/"
        );
        assert!(!redacted.contains("AbC_12-xyz"));
    }

    #[test]
    fn logs_never_carry_activation_codes() {
        let text = "暖客激活码 K7Q-4M2-X9P，7 天内有效。在应用里打开 warmlead://activate?server=https%3A%2F%2Fr.example.com&code=K7Q-4M2-X9P 即可登录";
        let logged = redact(text);
        assert!(!logged.contains("K7Q-4M2-X9P"), "{logged}");
        assert!(!logged.contains("code="), "{logged}");
        assert!(logged.starts_with("暖客激活码 …，"), "{logged}");
        assert_eq!(
            redact("码 ABC-DEF-GHJ 有效"),
            "码 … 有效",
            "a code without digits"
        );
        // Words without secrets stay readable.
        assert_eq!(redact("拒收请回复R"), "拒收请回复R");
    }
}
