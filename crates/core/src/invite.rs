//! Recruiting partners: invitations (QR face to face, SMS, poster), their
//! lifecycle, SMS records, and the partner lifecycle a rep sees.
//!
//! Face-to-face and poster invitations are made on the rep's device, signed
//! like shares (`offline`), so they work with no network; the server records
//! one when a phone first opens it and again when the app syncs it. SMS
//! invitations are made on the server, which sends them. Invitations reach
//! the rep's devices through the sync stream, so the Invite and Partners
//! screens read the local cache and work offline.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::csv_import::{ImportRow, ImportRowError};

pub mod accept;
pub mod offline;
pub mod terms;

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// How an invitation reaches the person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum InviteChannel {
    /// Full-screen QR on the rep's screen, face to face.
    Qr,
    Sms,
    /// A PNG poster with the QR, sent over WeChat.
    Poster,
}

impl InviteChannel {
    pub const ALL: [InviteChannel; 3] =
        [InviteChannel::Qr, InviteChannel::Sms, InviteChannel::Poster];

    pub fn as_str(self) -> &'static str {
        match self {
            InviteChannel::Qr => "qr",
            InviteChannel::Sms => "sms",
            InviteChannel::Poster => "poster",
        }
    }

    pub fn parse(s: &str) -> Option<InviteChannel> {
        InviteChannel::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// Where a partner came from ("who invited whom", with `User::invited_by`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum PartnerSource {
    Qr,
    Sms,
    Poster,
    /// A rep imported them from a CSV file.
    Import,
    /// Created by an administrator (CLI, demo seed).
    Admin,
}

impl PartnerSource {
    pub const ALL: [PartnerSource; 5] = [
        PartnerSource::Qr,
        PartnerSource::Sms,
        PartnerSource::Poster,
        PartnerSource::Import,
        PartnerSource::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PartnerSource::Qr => "qr",
            PartnerSource::Sms => "sms",
            PartnerSource::Poster => "poster",
            PartnerSource::Import => "import",
            PartnerSource::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<PartnerSource> {
        PartnerSource::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

impl From<InviteChannel> for PartnerSource {
    fn from(c: InviteChannel) -> Self {
        match c {
            InviteChannel::Qr => PartnerSource::Qr,
            InviteChannel::Sms => PartnerSource::Sms,
            InviteChannel::Poster => PartnerSource::Poster,
        }
    }
}

/// Lifecycle of an invitation. The server stores pending/accepted/revoked;
/// expiry is a matter of time, so [`Invitation::status_at`] derives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum InvitationStatus {
    Pending,
    /// Used up: a single-use invitation was accepted (multi-use ones stay
    /// pending while they count uses).
    Accepted,
    Expired,
    Revoked,
}

impl InvitationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            InvitationStatus::Pending => "pending",
            InvitationStatus::Accepted => "accepted",
            InvitationStatus::Expired => "expired",
            InvitationStatus::Revoked => "revoked",
        }
    }

    pub fn parse(s: &str) -> Option<InvitationStatus> {
        [
            InvitationStatus::Pending,
            InvitationStatus::Accepted,
            InvitationStatus::Expired,
            InvitationStatus::Revoked,
        ]
        .into_iter()
        .find(|c| c.as_str() == s)
    }
}

/// One invitation, as the rep's devices see it (ChangeBody::Invitation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Invitation {
    /// The server's id. In the desktop cache, negative (`-invite_no`) for
    /// one made on this device that the server has not recorded yet.
    pub id: i64,
    pub company_id: i64,
    /// The rep who invites (the new partner is bound to them).
    pub rep_id: i64,
    pub channel: InviteChannel,
    /// As stored: pending, accepted or revoked. Use `status_at` to show it.
    pub status: InvitationStatus,
    /// `None`: any number of people may accept (a poster in a group chat).
    pub max_uses: Option<i64>,
    pub uses: i64,
    pub created_at_ms: i64,
    pub expires_at_ms: i64,
    /// The public page, `{public_base}/i/{token}`; the QR encodes it.
    pub url: String,
    /// Typed at `{public_base}/j` when scanning fails, e.g. `K7Q4M2`.
    pub short_code: String,
    /// For SMS invitations: who it was sent to.
    pub recipient_name: Option<String>,
    /// E.164.
    pub recipient_phone: Option<String>,
}

impl Invitation {
    /// The status to show at `now_ms` (pending turns expired past `expires_at_ms`).
    pub fn status_at(&self, now_ms: i64) -> InvitationStatus {
        match self.status {
            InvitationStatus::Pending if now_ms >= self.expires_at_ms => InvitationStatus::Expired,
            s => s,
        }
    }

    /// Whether one more person may accept it at `now_ms`.
    pub fn can_accept(&self, now_ms: i64) -> bool {
        self.status_at(now_ms) == InvitationStatus::Pending
            && self.max_uses.is_none_or(|max| self.uses < max)
    }
}

/// Default and bounds of an invitation's life.
pub const DEFAULT_INVITATION_HOURS: u32 = 7 * 24;
pub const MAX_INVITATION_HOURS: u32 = 90 * 24;

/// Body of `POST /api/v1/invitations` (reps and managers).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct NewInvitation {
    pub channel: InviteChannel,
    /// False: one person may accept it (face to face); true: many (posters).
    pub multi_use: bool,
    /// Default `DEFAULT_INVITATION_HOURS`, at most `MAX_INVITATION_HOURS`.
    pub expires_in_hours: Option<u32>,
}

/// One person a rep sends an SMS invitation to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SmsRecipient {
    pub name: String,
    /// As typed; the server normalizes it to E.164 or says why it cannot.
    pub phone: String,
}

/// Most recipients of one SMS send.
pub use crate::limits::MAX_SMS_RECIPIENTS;

/// Body of `POST /api/v1/invitations/sms`. With `dry_run` nothing is created
/// or sent: the answer is the preview (the exact text and what the rules
/// would do for each number).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SmsInviteRequest {
    pub recipients: Vec<SmsRecipient>,
    pub dry_run: bool,
}

/// Why an SMS is not sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum SmsRefusal {
    BadPhone,
    MissingName,
    NameTooLong,
    TextTooLong,
    /// The number replied with the opt-out word once; never again.
    OptedOut,
    /// Invited within the last 24 hours.
    Duplicate,
    DailyCap,
    /// The same number twice in this request.
    RepeatedInRequest,
    /// Already a partner of this company.
    AlreadyPartner,
}

/// What happens (or, on a dry run, would happen) to one recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "plan", rename_all = "snake_case")]
pub enum SmsPlan {
    Send,
    /// Quiet hours at the recipient: goes out at this instant (UTC ms).
    Queue {
        until_ms: i64,
    },
    Refuse {
        reason: SmsRefusal,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SmsInviteItem {
    pub name: String,
    pub phone: String,
    pub phone_e164: Option<String>,
    pub plan: SmsPlan,
    /// The full text this person gets (with the link and the opt-out line).
    pub text: Option<String>,
    /// Set when not a dry run and the plan was Send or Queue.
    pub sms_id: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SmsInviteResult {
    pub items: Vec<SmsInviteItem>,
}

/// Where an SMS stands, as the rep sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum SmsStatus {
    /// Waiting for the end of quiet hours.
    Queued,
    /// Handed to the provider.
    Sent,
    /// The carrier reported delivery.
    Delivered,
    Failed,
}

impl SmsStatus {
    pub const ALL: [SmsStatus; 4] = [
        SmsStatus::Queued,
        SmsStatus::Sent,
        SmsStatus::Delivered,
        SmsStatus::Failed,
    ];

    /// Whether a message counts in the number's history (duplicates, the
    /// one-a-minute and daily caps): a failed one never reached the phone
    /// and does not; one waiting or sent may have.
    pub fn counts_in_history(self) -> bool {
        self != SmsStatus::Failed
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SmsStatus::Queued => "queued",
            SmsStatus::Sent => "sent",
            SmsStatus::Delivered => "delivered",
            SmsStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<SmsStatus> {
        [
            SmsStatus::Queued,
            SmsStatus::Sent,
            SmsStatus::Delivered,
            SmsStatus::Failed,
        ]
        .into_iter()
        .find(|c| c.as_str() == s)
    }
}

/// One SMS invitation in the rep's history (ChangeBody::SmsRecord).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SmsRecord {
    pub id: i64,
    pub rep_id: i64,
    pub invitation_id: Option<i64>,
    pub name: String,
    /// E.164.
    pub phone: String,
    pub text: String,
    pub status: SmsStatus,
    /// Why it failed, in the provider's words.
    pub error: Option<String>,
    pub created_at_ms: i64,
    /// For queued messages: when they go out.
    pub send_after_ms: Option<i64>,
    pub updated_at_ms: i64,
}

/// Body of `POST /api/v1/partners/import`: rows from a checked preview.
/// The server checks them again and writes all of them or none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct PartnerImportRequest {
    pub rows: Vec<ImportRow>,
    /// Only check (the file's rules and the phones already in the company)
    /// and write nothing: the import dialog's preview asks the server.
    #[serde(default)]
    pub dry_run: bool,
}

/// Answer of the import: how many partners were created, or (status 422,
/// nothing written) the rows that stopped it, e.g. phones that are already
/// partners of the company.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct PartnerImportResult {
    pub imported: i64,
    pub errors: Vec<ImportRowError>,
}

/// Where a partner is in their life with the company.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum PartnerStage {
    /// Joined recently and not shared yet.
    New,
    /// Shared within `dormant_after_days`.
    Active,
    /// No share for `dormant_after_days` (or never, once no longer new).
    Dormant,
    /// Nothing for `churned_after_days`.
    Churned,
}

/// The day counts behind [`PartnerStage`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct LifecycleRules {
    pub new_for_days: i64,
    pub dormant_after_days: i64,
    pub churned_after_days: i64,
}

impl Default for LifecycleRules {
    fn default() -> Self {
        LifecycleRules {
            new_for_days: 14,
            dormant_after_days: 30,
            churned_after_days: 90,
        }
    }
}

impl LifecycleRules {
    /// The stage at `now_ms` of a partner who joined at `joined_at_ms` and
    /// last shared at `last_share_at_ms`.
    pub fn stage(
        &self,
        joined_at_ms: i64,
        last_share_at_ms: Option<i64>,
        now_ms: i64,
    ) -> PartnerStage {
        let days = |ms: i64| (now_ms - ms).max(0) / DAY_MS;
        match last_share_at_ms {
            Some(at) if days(at) < self.dormant_after_days => PartnerStage::Active,
            None if days(joined_at_ms) < self.new_for_days => PartnerStage::New,
            _ => {
                let last = last_share_at_ms.unwrap_or(joined_at_ms).max(joined_at_ms);
                if days(last) >= self.churned_after_days {
                    PartnerStage::Churned
                } else {
                    PartnerStage::Dormant
                }
            }
        }
    }

    /// The instant before which a share counts as "long ago" for `days`.
    pub fn cutoff(now_ms: i64, days: i64) -> i64 {
        now_ms - days * DAY_MS
    }
}

/// What a partner did: shares, views of them, leads, deals won.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
pub struct PartnerActivity {
    pub shares: i64,
    pub views: i64,
    pub leads: i64,
    pub deals: i64,
    pub last_share_at_ms: Option<i64>,
}

/// Filter chips of the Partners screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum PartnerFilter {
    All,
    Active,
    Dormant,
    NeverShared,
    New,
    Churned,
}

/// Where a page of partners ended, in (sort_key DESC, id DESC) order, where
/// sort_key is the last share time or, for those who never shared, 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct PartnerCursor {
    pub sort_key: i64,
    pub id: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
pub struct PartnerQuery {
    /// Name (any part) or phone digits.
    pub search: Option<String>,
    pub filter: Option<PartnerFilter>,
    pub after: Option<PartnerCursor>,
    /// Page size (default 100, at most 500).
    pub limit: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct PartnerSummary {
    pub partner: crate::domain::User,
    pub activity: PartnerActivity,
    pub stage: PartnerStage,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct PartnerPage {
    pub partners: Vec<PartnerSummary>,
    pub next: Option<PartnerCursor>,
}

/// Numbers on the filter chips.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
pub struct PartnerCounts {
    pub all: i64,
    pub active: i64,
    pub dormant: i64,
    pub never_shared: i64,
    pub new: i64,
    pub churned: i64,
}

/// The partner detail pane.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct PartnerDetail {
    pub summary: PartnerSummary,
    /// The invitation they accepted, when known.
    pub invitation: Option<Invitation>,
    /// Name of the rep who invited them.
    pub invited_by_name: Option<String>,
}

/// Conversion of one channel on the rep's Invite dashboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ChannelConversion {
    pub channel: InviteChannel,
    /// Invitations created.
    pub invitations: i64,
    /// Invitations accepted at least once.
    pub accepted: i64,
    /// Partners who joined through this channel (multi-use invitations count each).
    pub partners: i64,
    pub pending: i64,
    pub expired: i64,
    pub revoked: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct InviteDashboard {
    pub channels: Vec<ChannelConversion>,
}

/// A poster invitation rendered on the device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct PosterInvitation {
    pub invitation: Invitation,
    /// 1080x1920 PNG, base64 (standard alphabet).
    pub png_base64: String,
}

/// The poster's slogan when the company set none: no industry words, so it
/// fits any company.
pub const DEFAULT_POSTER_SLOGAN: &str = "诚邀您成为我们的推荐合伙人";
/// A slogan longer than this does not fit the poster's two lines.
pub const MAX_POSTER_SLOGAN_CHARS: usize = 40;

/// A manager's slogan, cleaned: trimmed, blank is None (the default); too
/// long or with control characters is refused with the reason.
pub fn poster_slogan(input: Option<&str>) -> Result<Option<String>, crate::CoreError> {
    let Some(s) = input.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    let invalid = |reason: String| crate::CoreError::Invalid {
        field: "slogan",
        reason,
    };
    if s.chars().count() > MAX_POSTER_SLOGAN_CHARS {
        return Err(invalid(format!(
            "at most {MAX_POSTER_SLOGAN_CHARS} characters"
        )));
    }
    if s.chars().any(char::is_control) {
        return Err(invalid("no line breaks or control characters".into()));
    }
    Ok(Some(s.to_string()))
}

/// What the poster says under the rep's name for `company`.
pub fn slogan_of(company: &crate::domain::Company) -> &str {
    company
        .poster_slogan
        .as_deref()
        .unwrap_or(DEFAULT_POSTER_SLOGAN)
}

pub const DEEP_LINK_SCHEME: &str = "warmlead";

/// The deep link that signs the desktop app in:
/// `warmlead://activate?server=<api url>&code=<activation code>` (server
/// URL and code percent-encoded).
pub fn activation_link(server_url: &str, code: &str) -> String {
    format!(
        "{DEEP_LINK_SCHEME}://activate?server={}&code={}",
        percent_encode(server_url),
        percent_encode(code)
    )
}

/// Reads an activation deep link back; `None` for anything else.
pub fn parse_activation_link(link: &str) -> Option<(String, String)> {
    let rest = link.strip_prefix(&format!("{DEEP_LINK_SCHEME}://activate"))?;
    let query = rest.strip_prefix('/').unwrap_or(rest).strip_prefix('?')?;
    let (mut server, mut code) = (None, None);
    for pair in query.split('&') {
        let (k, v) = pair.split_once('=')?;
        let v = percent_decode(v)?;
        match k {
            "server" => server = Some(v),
            "code" => code = Some(v),
            _ => {}
        }
    }
    let (server, code) = (server?, code?);
    let web = server.starts_with("http://") || server.starts_with("https://");
    (web && server_host(&server).is_some() && !code.trim().is_empty()).then_some((server, code))
}

/// The host (and port, when not the scheme's own) of a server address, as
/// the app names it before a link signs it in: what the address really
/// reaches, not what it seems to say (`http://company.cn@evil.example/` is
/// `evil.example`; an international name is shown in its `xn--` form, so a
/// look-alike letter cannot pass for another). `None` when it has no host.
pub fn server_host(server_url: &str) -> Option<String> {
    let url = url::Url::parse(server_url.trim()).ok()?;
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    let host = url.host_str().filter(|h| !h.is_empty())?;
    Some(match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    })
}

fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_failed_messages_leave_the_history() {
        let table = [
            (SmsStatus::Queued, true),
            (SmsStatus::Sent, true),
            (SmsStatus::Delivered, true),
            (SmsStatus::Failed, false),
        ];
        for (status, counts) in table {
            assert_eq!(status.counts_in_history(), counts, "{status:?}");
        }
    }

    use super::*;

    const NOW: i64 = 1_800_000_000_000;

    fn inv(status: InvitationStatus, max_uses: Option<i64>, uses: i64) -> Invitation {
        Invitation {
            id: 1,
            company_id: 1,
            rep_id: 2,
            channel: InviteChannel::Qr,
            status,
            max_uses,
            uses,
            created_at_ms: NOW - DAY_MS,
            expires_at_ms: NOW + DAY_MS,
            url: "https://r.example/i/x".into(),
            short_code: "K7Q4M2".into(),
            recipient_name: None,
            recipient_phone: None,
        }
    }

    #[test]
    fn pending_turns_expired_with_time_only() {
        let i = inv(InvitationStatus::Pending, Some(1), 0);
        assert_eq!(i.status_at(NOW), InvitationStatus::Pending);
        assert_eq!(i.status_at(NOW + DAY_MS), InvitationStatus::Expired);
        let r = inv(InvitationStatus::Revoked, Some(1), 0);
        assert_eq!(r.status_at(NOW + 2 * DAY_MS), InvitationStatus::Revoked);
    }

    #[test]
    fn uses_limit_acceptance() {
        assert!(inv(InvitationStatus::Pending, Some(1), 0).can_accept(NOW));
        assert!(!inv(InvitationStatus::Pending, Some(1), 1).can_accept(NOW));
        assert!(inv(InvitationStatus::Pending, None, 500).can_accept(NOW));
        assert!(!inv(InvitationStatus::Pending, None, 0).can_accept(NOW + DAY_MS));
        assert!(!inv(InvitationStatus::Revoked, None, 0).can_accept(NOW));
    }

    #[test]
    fn lifecycle_stages() {
        let r = LifecycleRules::default();
        let days = |d: i64| NOW - d * DAY_MS;
        assert_eq!(r.stage(days(3), None, NOW), PartnerStage::New);
        assert_eq!(r.stage(days(20), None, NOW), PartnerStage::Dormant);
        assert_eq!(r.stage(days(200), None, NOW), PartnerStage::Churned);
        assert_eq!(r.stage(days(200), Some(days(1)), NOW), PartnerStage::Active);
        assert_eq!(
            r.stage(days(200), Some(days(29)), NOW),
            PartnerStage::Active
        );
        assert_eq!(
            r.stage(days(200), Some(days(30)), NOW),
            PartnerStage::Dormant
        );
        assert_eq!(
            r.stage(days(200), Some(days(89)), NOW),
            PartnerStage::Dormant
        );
        assert_eq!(
            r.stage(days(200), Some(days(90)), NOW),
            PartnerStage::Churned
        );
    }

    #[test]
    fn activation_link_round_trips() {
        let link = activation_link("http://127.0.0.1:8787/", "K7Q-4M2 XP9");
        assert!(
            link.starts_with("warmlead://activate?server=http%3A%2F%2F127.0.0.1%3A8787%2F&code=")
        );
        assert_eq!(
            parse_activation_link(&link),
            Some((
                "http://127.0.0.1:8787/".to_string(),
                "K7Q-4M2 XP9".to_string()
            ))
        );
    }

    #[test]
    fn the_host_a_link_names_is_the_one_it_reaches() {
        for (server, host) in [
            ("http://127.0.0.1:8787/", Some("127.0.0.1:8787")),
            ("https://warmlead.example.com", Some("warmlead.example.com")),
            (
                "https://warmlead.example.com:443/api",
                Some("warmlead.example.com"),
            ),
            (
                "HTTPS://Warmlead.Example.COM/",
                Some("warmlead.example.com"),
            ),
            ("http://qingsong.cn@evil.example/", Some("evil.example")),
            (
                "http://qingsong.cn:pw@evil.example:9000/",
                Some("evil.example:9000"),
            ),
            ("https://暖客.com/", Some("xn--ubtt8w.com")),
            ("http://[::1]:8080/", Some("[::1]:8080")),
            ("http://", None),
            ("file:///etc/passwd", None),
            ("javascript:alert(1)", None),
            ("not a url", None),
        ] {
            assert_eq!(server_host(server).as_deref(), host, "{server}");
        }
    }

    #[test]
    fn hostile_links_are_refused() {
        for bad in [
            "warmlead://activate",
            "warmlead://activate?code=abc",
            "warmlead://activate?server=file%3A%2F%2F%2Fetc&code=abc",
            "warmlead://activate?server=http%3A%2F%2Fx&code=%20",
            "warmlead://activate?server=http%3A%2F%2Fx&code=%ZZ",
            "https://evil/activate?server=http%3A%2F%2Fx&code=a",
            "warmlead://other?server=http%3A%2F%2Fx&code=a",
            "warmlead://activate?server=http%3A%2F%2F&code=a",
        ] {
            assert_eq!(parse_activation_link(bad), None, "{bad}");
        }
    }

    #[test]
    fn poster_slogans_are_cleaned_or_refused() {
        let forty = "好".repeat(40);
        let forty_one = "好".repeat(41);
        // (input, the cleaned slogan or Err when refused)
        type Row<'a> = (Option<&'a str>, Result<Option<&'a str>, ()>);
        let table: [Row; 6] = [
            (None, Ok(None)),
            (Some("   "), Ok(None)),
            (
                Some("  推荐好友，共享好礼 "),
                Ok(Some("推荐好友，共享好礼")),
            ),
            (Some(&forty), Ok(Some(&forty))),
            (Some(&forty_one), Err(())),
            (Some("一行\n两行"), Err(())),
        ];
        for (input, want) in table {
            let got = poster_slogan(input).map_err(|_| ());
            let got = got.as_ref().map(|o| o.as_deref()).map_err(|_| ());
            assert_eq!(got, want, "{input:?}");
        }
    }

    #[test]
    fn the_default_slogan_is_neutral() {
        let company = crate::domain::Company {
            id: 1,
            name: "c".into(),
            poster_artwork: None,
            poster_slogan: None,
            logo: None,
            commission_promise: None,
        };
        assert_eq!(slogan_of(&company), DEFAULT_POSTER_SLOGAN);
        assert!(!DEFAULT_POSTER_SLOGAN.contains("装修"));
        let own = crate::domain::Company {
            poster_slogan: Some("买车找老王".into()),
            logo: None,
            commission_promise: None,
            ..company
        };
        assert_eq!(slogan_of(&own), "买车找老王");
    }
}
