//! The rules on commercial SMS, as pure functions of (request, history, rules, now).
//!
//! Checked in this order, so the most permanent reason wins: the request itself (a rep, a name,
//! a body), the recipient's opt-out (forever, for codes too), a duplicate invitation or a code
//! resent too soon, the daily cap, then quiet hours (invitations only; the only reason that
//! delays instead of refusing).

use warmlead_core::{phone::Phone, ErrorCode};

use crate::error::SmsError;
use crate::message::{MessageKind, SmsMessage};
use crate::time::{DAY_MS, MINUTE_MS};

/// The knobs. `Rules::default()` is what the issue asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rules {
    /// Quiet hours in the recipient's local time, minutes after midnight. The window may wrap
    /// midnight (21:00-08:00); start == end means no quiet hours.
    pub quiet_start_minute: u16,
    pub quiet_end_minute: u16,
    /// Messages of any kind to one number per local calendar day of the recipient.
    pub daily_cap_per_number: u32,
    /// No second invitation to the same number within this window.
    pub duplicate_window_ms: i64,
    /// No second one-time code to the same number within this window (the
    /// form's "send again" waits this long).
    pub code_resend_ms: i64,
    /// Appended to every invitation.
    pub opt_out_line: String,
    /// Used when the country of a number has no single time zone we know (e.g. +1).
    pub fallback_utc_offset_minutes: i32,
    /// Longer texts are refused: they split into many billed segments.
    pub max_text_chars: usize,
    pub max_name_chars: usize,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            quiet_start_minute: 21 * 60,
            quiet_end_minute: 8 * 60,
            daily_cap_per_number: 3,
            duplicate_window_ms: DAY_MS,
            code_resend_ms: MINUTE_MS,
            opt_out_line: "拒收请回复R".to_string(),
            fallback_utc_offset_minutes: 8 * 60,
            max_text_chars: 300,
            max_name_chars: warmlead_core::limits::MAX_NAME_CHARS,
        }
    }
}

impl Rules {
    /// The oldest send [`decide`] looks at, at `now_utc_ms`: the duplicate
    /// and resend windows and the recipient's calendar day (at any offset)
    /// all start after it, so storage fetches a number's history from here.
    pub fn history_since(&self, now_utc_ms: i64) -> i64 {
        let window = self
            .duplicate_window_ms
            .max(self.code_resend_ms)
            .max(DAY_MS);
        now_utc_ms - window - DAY_MS
    }

    /// Rejects settings that would silently disable a rule (a quiet hour past midnight, a cap of
    /// zero that blocks everything, an empty opt-out line).
    pub fn validate(&self) -> Result<(), SmsError> {
        let bad = |what: &str| Err(SmsError::InvalidInput(format!("SMS rules: {what}")));
        if self.quiet_start_minute >= 24 * 60 || self.quiet_end_minute >= 24 * 60 {
            return bad("quiet hours must be between 00:00 and 23:59");
        }
        if self.daily_cap_per_number == 0 {
            return bad("the daily cap per number must be at least 1");
        }
        if self.opt_out_line.trim().is_empty() {
            return bad("the opt-out line must not be empty");
        }
        if self.duplicate_window_ms < 0
            || self.code_resend_ms < 0
            || self.max_text_chars == 0
            || self.max_name_chars == 0
        {
            return bad("windows and limits must be positive");
        }
        if self.fallback_utc_offset_minutes.abs() > 14 * 60 {
            return bad("the UTC offset must be within ±14:00");
        }
        Ok(())
    }
}

/// One message someone wants to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendRequest {
    pub kind: MessageKind,
    pub to: Phone,
    /// The person's name as the rep knows them; required for invitations.
    pub recipient_name: String,
    /// The rep (user id) who pressed send; required for invitations.
    pub triggered_by_rep: Option<i64>,
    /// The text without the opt-out line.
    pub body: String,
    /// Values for template-based providers.
    pub template_params: Vec<(String, String)>,
}

/// One earlier message to the same number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SentRecord {
    pub at_utc_ms: i64,
    pub kind: MessageKind,
}

/// What we know about the number: its opt-out and what was sent to it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct History {
    /// Set once the recipient replied with an opt-out word; never cleared by this crate.
    pub opted_out: bool,
    pub sent: Vec<SentRecord>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Send,
    /// Quiet hours at the recipient: send at this instant.
    Queue {
        until_utc_ms: i64,
    },
    Refuse {
        reason: RefuseReason,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefuseReason {
    NotTriggeredByRep,
    MissingName,
    NameTooLong,
    EmptyBody,
    TextTooLong,
    OptedOut,
    DuplicateInvitation,
    /// A one-time code went to this number moments ago.
    CodeTooSoon,
    DailyCapReached,
}

impl RefuseReason {
    /// A sentence for the rep.
    pub fn message(self) -> &'static str {
        match self {
            RefuseReason::NotTriggeredByRep => "invitations are only sent when a rep sends them",
            RefuseReason::MissingName => "enter the person's name before sending",
            RefuseReason::NameTooLong => "the name is too long",
            RefuseReason::EmptyBody => "the message is empty",
            RefuseReason::TextTooLong => "the message is too long for one SMS",
            RefuseReason::OptedOut => "this number has opted out of messages",
            RefuseReason::DuplicateInvitation => {
                "this number was already invited in the last 24 hours"
            }
            RefuseReason::CodeTooSoon => "a code was sent to this number moments ago",
            RefuseReason::DailyCapReached => "this number has had enough messages today",
        }
    }

    pub fn code(self) -> ErrorCode {
        match self {
            RefuseReason::OptedOut => ErrorCode::Forbidden,
            RefuseReason::DuplicateInvitation => ErrorCode::Conflict,
            RefuseReason::DailyCapReached | RefuseReason::CodeTooSoon => ErrorCode::RateLimited,
            _ => ErrorCode::InvalidInput,
        }
    }
}

/// Whether a message may be sent now, later, or never.
pub fn decide(req: &SendRequest, history: &History, rules: &Rules, now_utc_ms: i64) -> Decision {
    let refuse = |reason| Decision::Refuse { reason };
    if let Some(reason) = check_request(req, rules) {
        return refuse(reason);
    }
    // Codes too: anyone can type a number into the form, so a code is no
    // proof the number's owner asked for it.
    if history.opted_out {
        return refuse(RefuseReason::OptedOut);
    }
    if req.kind == MessageKind::Invitation && invited_recently(history, rules, now_utc_ms) {
        return refuse(RefuseReason::DuplicateInvitation);
    }
    if req.kind == MessageKind::OneTimeCode && code_sent_recently(history, rules, now_utc_ms) {
        return refuse(RefuseReason::CodeTooSoon);
    }
    let offset = utc_offset_minutes(&req.to, rules);
    if sent_today(history, offset, now_utc_ms) >= rules.daily_cap_per_number {
        return refuse(RefuseReason::DailyCapReached);
    }
    // A code the person just asked for is useless tomorrow morning.
    if req.kind == MessageKind::Invitation {
        if let Some(until_utc_ms) = quiet_until(rules, offset, now_utc_ms) {
            return Decision::Queue { until_utc_ms };
        }
    }
    Decision::Send
}

/// The message as it goes out: invitations get the opt-out line, once.
pub fn compose(req: &SendRequest, rules: &Rules) -> SmsMessage {
    let body = req.body.trim();
    let text = if req.kind == MessageKind::Invitation && !body.ends_with(&rules.opt_out_line) {
        format!("{body} {}", rules.opt_out_line)
    } else {
        body.to_string()
    };
    SmsMessage {
        to: req.to.clone(),
        kind: req.kind,
        text,
        template_params: req.template_params.clone(),
    }
}

/// Whether an incoming reply means "stop": R (the line we append), T/TD (the carriers' habit),
/// 退订/拒收, STOP. Case, spaces and full-width letters are ignored.
pub fn is_opt_out_reply(reply: &str) -> bool {
    let normalized: String = reply
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(fullwidth_to_ascii)
        .collect::<String>()
        .to_uppercase();
    matches!(
        normalized.as_str(),
        "R" | "T" | "TD" | "N" | "STOP" | "UNSUBSCRIBE" | "退订" | "拒收" | "取消"
    )
}

fn fullwidth_to_ascii(c: char) -> char {
    match c {
        'Ａ'..='Ｚ' | 'ａ'..='ｚ' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        _ => c,
    }
}

fn check_request(req: &SendRequest, rules: &Rules) -> Option<RefuseReason> {
    let name = req.recipient_name.trim();
    if req.kind == MessageKind::Invitation {
        if req.triggered_by_rep.is_none() {
            return Some(RefuseReason::NotTriggeredByRep);
        }
        if name.is_empty() {
            return Some(RefuseReason::MissingName);
        }
    }
    if name.chars().count() > rules.max_name_chars {
        return Some(RefuseReason::NameTooLong);
    }
    if req.body.trim().is_empty() {
        return Some(RefuseReason::EmptyBody);
    }
    if compose(req, rules).text.chars().count() > rules.max_text_chars {
        return Some(RefuseReason::TextTooLong);
    }
    None
}

fn invited_recently(history: &History, rules: &Rules, now: i64) -> bool {
    history
        .sent
        .iter()
        .any(|s| s.kind == MessageKind::Invitation && now - s.at_utc_ms < rules.duplicate_window_ms)
}

fn code_sent_recently(history: &History, rules: &Rules, now: i64) -> bool {
    history
        .sent
        .iter()
        .any(|s| s.kind == MessageKind::OneTimeCode && now - s.at_utc_ms < rules.code_resend_ms)
}

/// Messages sent since the recipient's local midnight.
fn sent_today(history: &History, offset_minutes: i32, now: i64) -> u32 {
    let local_now = now + i64::from(offset_minutes) * MINUTE_MS;
    let midnight_utc =
        local_now - local_now.rem_euclid(DAY_MS) - i64::from(offset_minutes) * MINUTE_MS;
    let n = history
        .sent
        .iter()
        .filter(|s| s.at_utc_ms >= midnight_utc && s.at_utc_ms <= now)
        .count();
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// When quiet hours end, if it is quiet now at the recipient.
fn quiet_until(rules: &Rules, offset_minutes: i32, now: i64) -> Option<i64> {
    let (start, end) = (
        i64::from(rules.quiet_start_minute),
        i64::from(rules.quiet_end_minute),
    );
    let offset_ms = i64::from(offset_minutes) * MINUTE_MS;
    let local_now = now + offset_ms;
    let minute = local_now.rem_euclid(DAY_MS) / MINUTE_MS;
    let quiet = if start > end {
        minute >= start || minute < end
    } else {
        minute >= start && minute < end
    };
    if !quiet {
        return None;
    }
    let mut opens = local_now - local_now.rem_euclid(DAY_MS) + end * MINUTE_MS;
    if opens <= local_now {
        opens += DAY_MS;
    }
    Some(opens - offset_ms)
}

/// The recipient's UTC offset from the country code. Only countries with one time zone (and no
/// daylight saving) are listed; the others use `rules.fallback_utc_offset_minutes`.
pub fn utc_offset_minutes(phone: &Phone, rules: &Rules) -> i32 {
    const ZONES: [(&str, i32); 12] = [
        ("+86", 480),
        ("+852", 480),
        ("+853", 480),
        ("+886", 480),
        ("+65", 480),
        ("+60", 480),
        ("+63", 480),
        ("+81", 540),
        ("+82", 540),
        ("+66", 420),
        ("+84", 420),
        ("+91", 330),
    ];
    let e164 = phone.as_e164();
    ZONES
        .iter()
        .filter(|(prefix, _)| e164.starts_with(prefix))
        .max_by_key(|(prefix, _)| prefix.len())
        .map_or(rules.fallback_utc_offset_minutes, |(_, offset)| *offset)
}

#[cfg(test)]
mod tests {
    #[test]
    fn history_reaches_back_over_every_window() {
        const NOW: i64 = 100 * DAY_MS;
        let rules = |duplicate_window_ms, code_resend_ms| Rules {
            duplicate_window_ms,
            code_resend_ms,
            ..Rules::default()
        };
        // duplicate window, resend window -> since
        let table = [
            (DAY_MS, MINUTE_MS, NOW - 2 * DAY_MS),
            (MINUTE_MS, MINUTE_MS, NOW - 2 * DAY_MS),
            (3 * DAY_MS, MINUTE_MS, NOW - 4 * DAY_MS),
            (DAY_MS, 2 * DAY_MS, NOW - 3 * DAY_MS),
        ];
        for (dup, resend, since) in table {
            assert_eq!(
                rules(dup, resend).history_since(NOW),
                since,
                "{dup} {resend}"
            );
        }
    }

    use super::*;

    #[test]
    fn defaults_are_valid_and_nonsense_is_not() {
        assert!(Rules::default().validate().is_ok());
        for broken in [
            Rules {
                quiet_start_minute: 24 * 60,
                ..Rules::default()
            },
            Rules {
                daily_cap_per_number: 0,
                ..Rules::default()
            },
            Rules {
                opt_out_line: " ".into(),
                ..Rules::default()
            },
            Rules {
                fallback_utc_offset_minutes: 15 * 60,
                ..Rules::default()
            },
        ] {
            assert!(broken.validate().is_err(), "{broken:?}");
        }
    }
}
