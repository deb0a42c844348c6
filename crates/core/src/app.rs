//! What the desktop app's commands return to the UI. Generated into
//! TypeScript with the rest, so the UI never hand-copies a Rust type.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::domain::{Channel, Company, ContentItem, ContentKind, Share, User};
use crate::error::ErrorCode;

/// The signed-in user on this device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Session {
    pub user: User,
    pub company: Company,
    /// The API address the device talks to.
    pub server_url: String,
    /// Base of share links.
    pub public_base_url: String,
    pub device_id: i64,
}

/// Why the app signed itself out: the company switched the account (or
/// this device) off. Shown on the sign-in screen; kept in memory only, after
/// the company's data was wiped from this computer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SignedOut {
    /// `account_disabled` or `device_revoked`.
    pub code: crate::ErrorCode,
    /// Who was signed in: says whom to ask (a rep asks a manager, a partner their rep).
    pub role: crate::domain::Role,
    pub company_name: String,
}

/// Where this computer keeps the device token (Settings says which): the
/// system keychain, or, where none runs (a Linux session without a Secret
/// Service), a file in the app's data folder that only this user may read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum TokenPlace {
    Keychain,
    File,
}

/// Updates from the signed-in server, as the banner and Settings show them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct UpdateStatus {
    /// The version running.
    pub current_version: String,
    /// False in a build made without the updater key: it never checks.
    pub enabled: bool,
    /// When the server last answered a check (ms since 1970, UTC).
    pub checked_at_ms: Option<i64>,
    /// A newer version the server offers, not installed yet.
    pub available: Option<AvailableUpdate>,
    /// The last install was refused: the package or its signature did not
    /// verify with the updater key, and nothing was installed. The detail
    /// (English, from the updater) is for whoever looks into it.
    pub refused: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct AvailableUpdate {
    pub version: String,
    /// What is new, as the operator wrote it.
    pub notes: String,
}

/// A `warmlead://activate` link waiting for the person to say yes: nothing
/// is signed in before they see which server it points at and continue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct LinkActivation {
    /// What the server address really reaches (`invite::server_host`).
    pub host: String,
    /// The whole address, as the link gave it.
    pub server_url: String,
}

/// The sign-in fields as the app reads them (`signin::sign_in_fields`):
/// what the screen shows back before it signs in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SignInFields {
    pub server_url: String,
    pub code: String,
    /// Both came from a `warmlead://activate` link in one of the fields.
    pub from_link: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum SyncState {
    Synced,
    Syncing,
    Offline,
    /// A change was rejected and the user must see why.
    Attention,
}

/// A pushed change the server refused for good.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct RejectedChange {
    pub mutation_id: String,
    pub name: String,
    /// What the change was about, as the user knew it when making it: the
    /// item's title (a share, a content change), the lead's name, the new
    /// name. Kept with the rejection, since the undo may remove the thing.
    pub subject: Option<String>,
    pub code: ErrorCode,
    pub message: String,
    pub at_ms: i64,
}

/// The sync badge: state, last success, waiting and rejected changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SyncStatus {
    pub state: SyncState,
    pub last_synced_at_ms: Option<i64>,
    pub pending: i64,
    pub rejected: Vec<RejectedChange>,
    /// Why the last attempt failed, for the tooltip.
    pub last_error: Option<String>,
}

/// One item of the briefcase with how often this user shared it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct BriefcaseItem {
    pub item: ContentItem,
    pub my_shares: i64,
}

/// Filter of the briefcase grid.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
pub struct BriefcaseQuery {
    pub kind: Option<ContentKind>,
    pub search: Option<String>,
}

/// One item of the content library as its author or a manager sees it:
/// the server's copy with what was typed here and not yet confirmed on top.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct LibraryItem {
    /// `id` is 0 until the server has the item (a draft written offline).
    pub item: ContentItem,
    /// Written by the signed-in user (我的).
    pub mine: bool,
    /// Changes typed here that the server has not confirmed yet.
    pub unsynced: bool,
    /// Why the server refused this item's last change, if it did.
    pub rejected: Option<String>,
}

/// Filter of the library list.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
pub struct LibraryQuery {
    pub status: Option<crate::domain::ContentStatus>,
    /// Only the signed-in user's own items.
    #[serde(default)]
    pub mine_only: bool,
    pub search: Option<String>,
}

/// Result of sharing an item: the link, its QR code and a message to paste.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ShareResult {
    pub share: Share,
    pub url: String,
    /// PNG of the QR code, base64 (standard alphabet).
    pub qr_png_base64: String,
    pub suggested_message: String,
    /// True until the share has reached the server (the link works anyway).
    pub pending_sync: bool,
}

/// One row of the radar: someone opened a share.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct RadarEntry {
    pub visit_id: i64,
    pub item_id: i64,
    pub item_title: String,
    pub item_kind: Option<ContentKind>,
    pub partner_id: i64,
    pub partner_name: String,
    pub channel: Option<Channel>,
    /// Short anonymous code of the viewer, e.g. "3F9A" (the UI shows "访客 3F9A").
    pub visitor_id: String,
    pub opened_at_ms: i64,
    pub dwell_ms: i64,
    /// The grade of the lead this visitor became, once they left a contact.
    pub lead_grade: Option<crate::lead::Grade>,
}

/// Where a page of leads ended: the next page starts strictly after it in
/// (updated_at_ms, id) descending order. Keyset, so deep pages stay fast.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct LeadCursor {
    pub updated_at_ms: i64,
    pub id: i64,
}

/// Filters of the leads list (all optional; empty `grades` means every grade).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
pub struct LeadQuery {
    #[serde(default)]
    pub grades: Vec<crate::lead::Grade>,
    pub partner_id: Option<i64>,
    pub item_id: Option<i64>,
    /// Only leads updated at or after this time (UTC ms).
    pub since_ms: Option<i64>,
    /// Matches the name, the phone or the note.
    pub search: Option<String>,
    pub after: Option<LeadCursor>,
    /// Page size (default 50, at most 500).
    pub limit: Option<u32>,
}

/// One row of the leads list: the lead with the names the UI shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct LeadSummary {
    pub lead: crate::lead::Lead,
    pub partner_name: String,
    pub item_title: Option<String>,
    /// A Money/Authority/Need change waits in the outbox.
    pub man_pending: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct LeadPage {
    pub leads: Vec<LeadSummary>,
    /// Set when more leads follow; pass it back as `after`.
    pub next: Option<LeadCursor>,
}

/// A node of a forward chain (裂变): a share and the shares made from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ChainNode {
    pub token: String,
    pub depth: i64,
    /// Short anonymous code of the viewer who passed it on (none for the partner's share).
    pub visitor_code: Option<String>,
    pub created_at_ms: Option<i64>,
    /// The lead came through this share.
    pub is_lead_share: bool,
    pub children: Vec<ChainNode>,
}

/// Everything the lead detail pane shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct LeadDetail {
    pub summary: LeadSummary,
    /// The lead's visitor's signals, oldest first.
    pub timeline: Vec<crate::lead::Signal>,
    /// The lead's visitor's visits, oldest first.
    pub visits: Vec<crate::lead::VisitStats>,
    /// The forward chain from the partner's own share, when known.
    pub chain: Option<ChainNode>,
}

/// An activation code this device issued (or a team import returned) and
/// still keeps while it is open, so the team screen can show it again or
/// send it again by SMS. The server keeps only its hash; codes issued on
/// another device are not known here (`warmlead_core::team::keep_known_code`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct KnownCode {
    pub code_id: i64,
    pub user_id: i64,
    pub activation_code: String,
    pub activation_link: String,
    /// When this device learnt it (device clock, UTC ms).
    pub remembered_at_ms: i64,
}

/// The team screen: the server's list of people, and which of their open
/// codes this device knows (the rest were issued on another device).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct TeamScreen {
    pub members: Vec<crate::api::TeamMember>,
    pub known_codes: Vec<KnownCode>,
}
