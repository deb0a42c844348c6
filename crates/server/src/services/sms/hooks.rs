//! What the provider hooks bring (routes: `http::sms`): delivery reports
//! and inbound replies (an opt-out word stops invitations to that number
//! forever), read in each provider's format and recorded.
//!
//! Authenticated with the server's shared hook secret (`?secret=` in the URL
//! configured at the provider, or the `X-Warmlead-Hook-Secret` header),
//! compared in constant time. Without a configured secret the hooks do not
//! exist (404). Reports about messages we do not know are acknowledged (the
//! provider would retry forever otherwise) and logged at debug.

use std::collections::HashMap;

use sha2::{Digest, Sha256};
use warmlead_core::phone::Phone;
use warmlead_sms::{inbound, is_opt_out_reply, status, InboundReply, SmsError, StatusUpdate};

use super::SmsService;
use crate::error::ServerError;

/// Providers batch reports; a few hundred KiB is plenty.
pub(crate) const MAX_HOOK_BYTES: usize = 256 * 1024;
pub(crate) const SECRET_HEADER: &str = "x-warmlead-hook-secret";

/// Providers whose hooks we read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Provider {
    Aliyun,
    Tencent,
    Twilio,
}

impl Provider {
    pub fn parse(name: &str) -> Result<Provider, ServerError> {
        match name {
            "aliyun" => Ok(Provider::Aliyun),
            "tencent" => Ok(Provider::Tencent),
            "twilio" => Ok(Provider::Twilio),
            _ => Err(ServerError::NotFound(format!(
                "no SMS provider hook named {name:?} (aliyun, tencent, twilio)"
            ))),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Provider::Aliyun => "aliyun",
            Provider::Tencent => "tencent",
            Provider::Twilio => "twilio",
        }
    }
}

/// Checks the shared secret, from the header or else the query string;
/// 404 when the server has none configured.
pub(crate) fn authorize(
    svc: &SmsService,
    header: Option<&str>,
    query: Option<&str>,
) -> Result<(), ServerError> {
    let Some(expected) = svc.options.hook_secret.as_deref() else {
        return Err(ServerError::NotFound("no such endpoint".into()));
    };
    let given = header
        .map(str::to_string)
        .or_else(|| form(query.unwrap_or_default()).remove("secret"));
    match given {
        Some(g) if same_secret(&g, expected) => Ok(()),
        Some(_) => Err(ServerError::Unauthorized("wrong hook secret".into())),
        None => Err(ServerError::Unauthorized(format!(
            "hooks need the shared secret (?secret= or {SECRET_HEADER})"
        ))),
    }
}

/// Constant time in the secret's content: both sides are hashed to 32 bytes
/// first, so neither the length nor the first differing byte shows in timing.
fn same_secret(given: &str, expected: &str) -> bool {
    let (a, b) = (
        Sha256::digest(given.as_bytes()),
        Sha256::digest(expected.as_bytes()),
    );
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

/// `application/x-www-form-urlencoded` (Twilio's hooks, query strings).
fn form(s: &str) -> HashMap<String, String> {
    s.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn unreadable(e: SmsError) -> ServerError {
    ServerError::InvalidInput(format!("unreadable hook body: {e}"))
}

fn reports(provider: Provider, body: &str) -> Result<Vec<StatusUpdate>, SmsError> {
    match provider {
        Provider::Aliyun => status::aliyun_reports(body),
        Provider::Tencent => status::tencent_reports(body),
        Provider::Twilio => status::twilio_report(&form(body)).map(|u| vec![u]),
    }
}

fn replies(provider: Provider, body: &str) -> Result<Vec<InboundReply>, SmsError> {
    match provider {
        Provider::Aliyun => inbound::aliyun_replies(body),
        Provider::Tencent => inbound::tencent_replies(body),
        Provider::Twilio => inbound::twilio_reply(&form(body)).map(|r| vec![r]),
    }
}

/// Records a batch of delivery reports.
pub(crate) async fn status(
    svc: &SmsService,
    provider: Provider,
    body: &str,
) -> Result<(), ServerError> {
    let updates = reports(provider, body).map_err(unreadable)?;
    let now = svc.now();
    let name = provider.name();
    let unknown = svc
        .db()
        .transaction(move |s| {
            let mut unknown = Vec::new();
            for u in updates {
                let applied = s.sms().apply_status(
                    name,
                    &u.provider_message_id,
                    u.status,
                    u.error.as_deref(),
                    now,
                )?;
                if applied.is_none() {
                    unknown.push(u.provider_message_id);
                }
            }
            Ok(unknown)
        })
        .await?;
    for id in unknown {
        tracing::debug!(
            provider = name,
            id,
            "status report for an unknown message or a stale status; ignored"
        );
    }
    Ok(())
}

/// Records the opt-outs among a batch of inbound replies.
pub(crate) async fn reply(
    svc: &SmsService,
    provider: Provider,
    body: &str,
) -> Result<(), ServerError> {
    let stops: Vec<Phone> = replies(provider, body)
        .map_err(unreadable)?
        .into_iter()
        .filter(|r| is_opt_out_reply(&r.text))
        .filter_map(|r| match Phone::parse(&r.from) {
            Ok(p) => Some(p),
            Err(_) => {
                tracing::debug!(
                    provider = provider.name(),
                    "opt-out from an unreadable number"
                );
                None
            }
        })
        .collect();
    if !stops.is_empty() {
        let (now, name) = (svc.now(), provider.name());
        let new = svc
            .db()
            .transaction(move |s| {
                let mut new = 0;
                for phone in &stops {
                    new += usize::from(s.sms().opt_out(phone.as_e164(), name, now)?);
                }
                Ok(new)
            })
            .await?;
        tracing::info!(provider = name, new, "SMS opt-out replies recorded");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_compare_by_content_only() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abd", "abc"));
        assert!(!same_secret("abc ", "abc"));
        assert!(!same_secret("", "abc"));
    }

    #[test]
    fn form_decoding() {
        let f = form("MessageSid=SM1&Body=%E6%8B%92+R&Empty=&Flag");
        assert_eq!(f["MessageSid"], "SM1");
        assert_eq!(f["Body"], "拒 R");
        assert_eq!(f["Empty"], "");
        assert_eq!(f["Flag"], "");
        assert_eq!(percent_decode("100%"), "100%");
    }
}
