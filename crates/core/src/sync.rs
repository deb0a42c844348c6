//! The sync protocol's wire types (see DESIGN.md, "Sync").
//!
//! Push: the device sends its outbox in `seq` order; the server applies each
//! mutation once, remembers the outcome under `mutation_id`, refuses gaps, and
//! records mutations that can never succeed as rejected so they cannot block
//! the queue. Pull: the device asks for changes after its cursor; the server
//! answers from its change log, filtered by the scope of the caller's token.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::domain::{Channel, Company, ContentItem, Share, User, Visit};
use crate::error::ErrorCode;

pub mod push;

/// Bumped when mutation arguments change shape; the server refuses newer ones.
pub const SCHEMA_VERSION: u32 = 1;
/// Most mutations one push may carry.
pub const MAX_PUSH_BATCH: usize = 500;
/// Most changes one pull page may carry.
pub const MAX_PULL_LIMIT: u32 = 1000;

/// What a device asks the server to do, with its arguments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "name", content = "args", rename_all = "snake_case")]
pub enum MutationBody {
    /// A partner (or rep) shared an item; the token was signed on the device.
    CreateShare {
        share_no: i64,
        item_id: i64,
        channel: Channel,
        token: String,
        created_at_ms: i64,
    },
    /// A manager removes an item from the content library (a tombstone for everyone).
    DeleteContentItem { item_id: i64 },
    /// Any user changes the name others see.
    RenameSelf { name: String },
    /// An author saves an item (a new draft, a draft, or a live item's
    /// edit), written offline or not. The whole state, so repeats are harmless.
    SaveContent {
        key: String,
        draft: Box<crate::api::ContentDraft>,
    },
    /// An author puts an item in its audience's briefcases.
    PublishContent { key: String },
    /// An author takes an item out of every briefcase.
    ArchiveContent { key: String },
    /// A rep (or manager) records Money / Authority / Need on a lead; the
    /// server regrades it.
    SetManFlags {
        lead_id: i64,
        man: crate::lead::ManFlags,
    },
    /// A rep (or manager) made a QR or poster invitation on the device; the
    /// token was signed there (`invite::offline`). The server may have
    /// recorded it already, when a phone opened the link: one row either way.
    CreateInvitation {
        invite_no: i64,
        channel: crate::invite::InviteChannel,
        /// `None`: any number of people may accept.
        max_uses: Option<i64>,
        expires_at_ms: i64,
        token: String,
        created_at_ms: i64,
    },
}

impl MutationBody {
    pub fn name(&self) -> &'static str {
        match self {
            MutationBody::CreateShare { .. } => "create_share",
            MutationBody::DeleteContentItem { .. } => "delete_content_item",
            MutationBody::RenameSelf { .. } => "rename_self",
            MutationBody::SaveContent { .. } => "save_content",
            MutationBody::PublishContent { .. } => "publish_content",
            MutationBody::ArchiveContent { .. } => "archive_content",
            MutationBody::SetManFlags { .. } => "set_man_flags",
            MutationBody::CreateInvitation { .. } => "create_invitation",
        }
    }
}

/// One outbox row as pushed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Mutation {
    /// UUIDv7, unique forever; the server keys stored outcomes by it.
    pub mutation_id: String,
    /// Per-device counter, 1, 2, 3, ... without gaps.
    pub seq: i64,
    pub schema_version: u32,
    #[serde(flatten)]
    pub body: MutationBody,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct PushRequest {
    /// The device's client id (its device id as a string).
    pub client_id: String,
    pub mutations: Vec<Mutation>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome {
    Applied,
    /// Can never succeed; recorded so the queue moves on. The app shows it.
    Rejected {
        code: ErrorCode,
        message: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct MutationOutcome {
    pub mutation_id: String,
    pub seq: i64,
    #[serde(flatten)]
    pub outcome: Outcome,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct PushResponse {
    pub outcomes: Vec<MutationOutcome>,
    /// Highest seq the server has taken from this client.
    pub last_seq: i64,
}

/// Kinds of entity a tombstone can remove.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum EntityKind {
    ContentItem,
    Share,
    Visit,
    User,
}

/// The new state of one entity, or its deletion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "entity", content = "data", rename_all = "snake_case")]
pub enum ChangeBody {
    Company(Company),
    User(User),
    ContentItem(ContentItem),
    Share(Share),
    Visit(Visit),
    /// Scoped to the inviting rep (and managers).
    Invitation(crate::invite::Invitation),
    /// Scoped to the sending rep (and managers).
    SmsRecord(crate::invite::SmsRecord),
    Tombstone {
        kind: EntityKind,
        /// The entity's id (a share's token for shares).
        id: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Change {
    /// Server-assigned, strictly increasing; the client's cursor.
    pub seq: i64,
    #[serde(flatten)]
    pub body: ChangeBody,
}

/// Query of `GET /api/v1/sync/pull`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullQuery {
    pub after: i64,
    pub limit: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct PullResponse {
    /// Changes when the server's database is restored or moved; a client that
    /// sees a new epoch re-downloads everything (and keeps its outbox).
    pub epoch: String,
    pub changes: Vec<Change>,
    /// Store this with the page, in the same transaction.
    pub cursor: i64,
    pub has_more: bool,
}
