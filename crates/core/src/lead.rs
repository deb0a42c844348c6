//! The radar's wire types: leads, the signals behind them, visit aggregates
//! and forward chains. They travel in their own change stream
//! (`GET /api/v1/radar/pull`, same seq space as the sync log) so that a
//! desktop built before the radar, whose pull applies `ChangeBody` with an
//! exhaustive match, never sees an entity it cannot decode.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

pub mod merge;

/// A lead's grade: A+ is the hottest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, TS)]
pub enum Grade {
    #[serde(rename = "C")]
    C,
    #[serde(rename = "B")]
    B,
    #[serde(rename = "A")]
    A,
    #[serde(rename = "A+")]
    APlus,
}

impl Grade {
    /// Highest first.
    pub const ALL: [Grade; 4] = [Grade::APlus, Grade::A, Grade::B, Grade::C];

    /// A or A+: the desktop notifies the rep about such a lead.
    pub fn is_hot(self) -> bool {
        self >= Grade::A
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Grade::APlus => "A+",
            Grade::A => "A",
            Grade::B => "B",
            Grade::C => "C",
        }
    }

    pub fn parse(s: &str) -> Option<Grade> {
        Grade::ALL.into_iter().find(|g| g.as_str() == s)
    }

    /// One step up (A+ stays A+).
    pub fn up(self) -> Grade {
        match self {
            Grade::C => Grade::B,
            Grade::B => Grade::A,
            Grade::A | Grade::APlus => Grade::APlus,
        }
    }
}

/// How the lead reached the company.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum LeadSource {
    /// Left name and phone on a shared page ("我感兴趣").
    ContactForm,
    /// A partner referred the person directly (name + phone).
    Referral,
}

impl LeadSource {
    pub fn as_str(self) -> &'static str {
        match self {
            LeadSource::ContactForm => "contact_form",
            LeadSource::Referral => "referral",
        }
    }

    pub fn parse(s: &str) -> Option<LeadSource> {
        [LeadSource::ContactForm, LeadSource::Referral]
            .into_iter()
            .find(|x| x.as_str() == s)
    }
}

/// Money, Authority, Need: what the rep learned talking to the lead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
pub struct ManFlags {
    pub money: bool,
    pub authority: bool,
    pub need: bool,
}

impl ManFlags {
    pub fn count(self) -> u8 {
        u8::from(self.money) + u8::from(self.authority) + u8::from(self.need)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum LeadStage {
    New,
    Contacted,
    Visited,
    Won,
    Lost,
}

impl LeadStage {
    pub fn as_str(self) -> &'static str {
        match self {
            LeadStage::New => "new",
            LeadStage::Contacted => "contacted",
            LeadStage::Visited => "visited",
            LeadStage::Won => "won",
            LeadStage::Lost => "lost",
        }
    }

    pub fn parse(s: &str) -> Option<LeadStage> {
        [
            LeadStage::New,
            LeadStage::Contacted,
            LeadStage::Visited,
            LeadStage::Won,
            LeadStage::Lost,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }
}

/// What a viewer did on a shared page. Append-only on the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum SignalKind {
    /// A new visit (value: 0).
    View,
    /// Visible time of the visit rose (value: total ms of the visit).
    Dwell,
    /// Deepest scroll rose (value: percent 0..=100).
    Scroll,
    /// Furthest video position rose (value: percent of the duration watched).
    Video,
    /// The same visitor came back after the reload window (value: visit number).
    RepeatVisit,
    /// Passed the item on (value: 0; the child share is in `ChildShare`).
    Forward,
    /// Left name and phone (value: the lead id).
    Contact,
}

impl SignalKind {
    pub const ALL: [SignalKind; 7] = [
        SignalKind::View,
        SignalKind::Dwell,
        SignalKind::Scroll,
        SignalKind::Video,
        SignalKind::RepeatVisit,
        SignalKind::Forward,
        SignalKind::Contact,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SignalKind::View => "view",
            SignalKind::Dwell => "dwell",
            SignalKind::Scroll => "scroll",
            SignalKind::Video => "video",
            SignalKind::RepeatVisit => "repeat_visit",
            SignalKind::Forward => "forward",
            SignalKind::Contact => "contact",
        }
    }

    pub fn parse(s: &str) -> Option<SignalKind> {
        SignalKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// Why a lead has its grade: one entry per rule that counted, in a stable
/// order (see `scoring::REASON_ORDER`). The UI words them from `code` and `value`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ReasonCode {
    /// Left their phone (value: 1).
    LeftContact,
    /// Referred directly by the partner.
    DirectReferral,
    /// Passed the item on (value: times).
    Forwarded,
    /// Came back (value: number of visits).
    RepeatVisits,
    /// Watched the video (value: best percent).
    WatchedVideo,
    /// Read far down the page (value: best percent).
    ReadDeep,
    /// Stayed a while (value: total seconds visible).
    LongDwell,
    /// Opened the shared item (value: visits).
    Viewed,
    /// The rep marked Money / Authority / Need.
    ManMoney,
    ManAuthority,
    ManNeed,
    /// Old signals count less (value: percent of the raw score kept).
    Decayed,
    /// The grade fell since the last activity because nothing happened
    /// (value: time of the last signal, ms UTC, so "no activity for N days"
    /// stays true offline).
    Cooling,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Reason {
    pub code: ReasonCode,
    pub value: i64,
    /// Points this rule added to the score (0 for grade-only rules like MAN).
    pub points: i64,
}

/// The reasons of a lead without those whose code this build cannot read.
fn known_reasons<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Reason>, D::Error> {
    let raw: Vec<serde_json::Value> = Deserialize::deserialize(d)?;
    Ok(raw
        .into_iter()
        .filter_map(|v| serde_json::from_value(v).ok())
        .collect())
}

/// A person who may buy, owned by the partner's rep and credited to the partner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Lead {
    pub id: i64,
    pub company_id: i64,
    pub rep_id: Option<i64>,
    /// The partner credited (first referrer wins; see DESIGN and the server docs).
    pub partner_id: i64,
    pub name: String,
    /// E.164.
    pub phone: String,
    pub note: String,
    pub source: LeadSource,
    /// The share the lead came through (a child share's token when forwarded).
    pub share_token: Option<String>,
    pub item_id: Option<i64>,
    pub score: i64,
    pub grade: Grade,
    /// A reason code this build does not know (a newer server) is left out,
    /// so the lead still arrives.
    #[serde(deserialize_with = "known_reasons")]
    pub reasons: Vec<Reason>,
    pub man: ManFlags,
    pub stage: LeadStage,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    /// Times this person left their contact (merged duplicates count here).
    pub contacts: i64,
}

/// One stored signal, as the radar timeline shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Signal {
    pub id: i64,
    pub share_token: String,
    pub visit_id: Option<i64>,
    /// Anonymous first-party id of the viewer.
    pub visitor_id: String,
    pub kind: SignalKind,
    pub value: i64,
    pub at_ms: i64,
    pub partner_id: i64,
    pub item_id: i64,
    /// The lead this visitor became, once known.
    pub lead_id: Option<i64>,
}

/// A visit with everything the page reported, for the radar feed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct VisitStats {
    pub visit_id: i64,
    pub share_token: String,
    /// The partner's own share this visit credits (differs from `share_token` when forwarded).
    pub root_token: String,
    pub item_id: i64,
    pub partner_id: i64,
    pub rep_id: Option<i64>,
    pub visitor_id: String,
    pub opened_at_ms: i64,
    pub last_seen_at_ms: i64,
    pub dwell_ms: i64,
    pub scroll_pct: i64,
    pub video_pct: i64,
    /// 1 for a first visit, 2 for the first return, ...
    pub visit_no: i64,
    /// Page loads merged into this visit (reloads inside the window).
    pub page_views: i64,
}

/// A share a viewer made with "pass it on": credits the root partner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ChildShare {
    pub token: String,
    pub parent_token: String,
    pub root_token: String,
    pub item_id: i64,
    /// The original partner, credited for everything down the chain.
    pub partner_id: i64,
    /// 1 for a child of the partner's share, 2 for a grandchild, ...
    pub depth: i64,
    /// The viewer who passed it on.
    pub visitor_id: String,
    pub created_at_ms: i64,
}

/// One entry of the radar stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "entity", content = "data", rename_all = "snake_case")]
pub enum RadarBody {
    Lead(Lead),
    Signal(Signal),
    VisitStats(VisitStats),
    ChildShare(ChildShare),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct RadarChange {
    /// Same seq space as the sync change log; the radar stream's cursor.
    pub seq: i64,
    #[serde(flatten)]
    pub body: RadarBody,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct RadarPullResponse {
    pub epoch: String,
    pub changes: Vec<RadarChange>,
    pub cursor: i64,
    pub has_more: bool,
}

/// What the share page's form posts to `POST /t/lead` (form-encoded or JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ContactForm {
    /// The page's share token.
    pub t: String,
    pub name: String,
    pub phone: String,
    #[serde(default)]
    pub note: String,
    /// The consent box; must be ticked.
    #[serde(default)]
    pub consent: Option<String>,
}

impl ContactForm {
    pub const MAX_NAME_CHARS: usize = crate::limits::MAX_NAME_CHARS;
    pub const MAX_NOTE_CHARS: usize = crate::limits::MAX_NOTE_CHARS;
}

/// One small event on `GET /api/v1/events` (SSE `data:`): something in the
/// device's scope was appended; pull now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct LiveEvent {
    /// The newest seq in the caller's scope.
    pub seq: i64,
    /// "sync" or "radar": which pull has news.
    pub stream: String,
    /// Set when a lead reached A or A+ (the desktop may notify).
    pub hot_lead_id: Option<i64>,
    /// Set when someone accepted one of the rep's invitations (the QR screen
    /// shows the next one).
    #[serde(default)]
    pub invitation_id: Option<i64>,
}

/// `GET /api/v1/stats/filtered` (managers): what was not counted, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct FilteredStats {
    pub counts: Vec<FilteredCount>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct FilteredCount {
    pub reason: crate::botfilter::FilterReason,
    pub count: i64,
}

/// `GET /api/v1/stats/tracking` (managers): beacons this server process
/// accepted (answered 204) and wrote, since it started. After a flush the
/// two are equal; the load benchmark checks that.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct TrackingStats {
    pub accepted_beacons: i64,
    pub stored_beacons: i64,
    /// Signals rows in the database (all companies).
    pub signals: i64,
}

#[cfg(test)]
mod reason_tests {
    use super::*;

    #[test]
    fn a_lead_with_a_reason_code_from_a_newer_server_still_decodes() {
        let json = serde_json::json!({
            "id": 1, "company_id": 1, "rep_id": 2, "partner_id": 3, "name": "王小姐",
            "phone": "+8613812345678", "note": "", "source": "contact_form",
            "share_token": null, "item_id": null, "score": 40, "grade": "B",
            "reasons": [
                {"code": "left_contact", "value": 1, "points": 40},
                {"code": "from_the_future", "value": 7, "points": 0}
            ],
            "man": {"money": false, "authority": false, "need": false},
            "stage": "new", "created_at_ms": 1, "updated_at_ms": 1, "contacts": 1
        });
        let lead: Lead = serde_json::from_value(json).unwrap();
        assert_eq!(
            lead.reasons,
            [Reason {
                code: ReasonCode::LeftContact,
                value: 1,
                points: 40
            }]
        );
    }
}
