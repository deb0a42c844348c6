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
}
