//! Domain entities as they travel between server, desktop cache and UI.
//!
//! Times are UTC milliseconds since the Unix epoch (`*_ms`); the UI turns them
//! into local time. Ids are server-assigned integers, except for what a device
//! creates offline (shares), which carry the device id and a device counter.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// What a user does in Warmlead; decides their sections and their sync scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Manager,
    Rep,
    Partner,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Manager => "manager",
            Role::Rep => "rep",
            Role::Partner => "partner",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "manager" => Some(Role::Manager),
            "rep" => Some(Role::Rep),
            "partner" => Some(Role::Partner),
            _ => None,
        }
    }
}

/// The four kinds of content a company puts in its partners' briefcases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ContentKind {
    Article,
    Poster,
    Video,
    CaseStudy,
}

impl ContentKind {
    pub const ALL: [ContentKind; 4] = [
        ContentKind::Article,
        ContentKind::Poster,
        ContentKind::Video,
        ContentKind::CaseStudy,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ContentKind::Article => "article",
            ContentKind::Poster => "poster",
            ContentKind::Video => "video",
            ContentKind::CaseStudy => "case_study",
        }
    }

    pub fn parse(s: &str) -> Option<ContentKind> {
        ContentKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// Where a partner shares an item; labels the share for the radar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// 朋友圈, WeChat moments.
    Moments,
    /// 群, a group chat.
    Group,
    /// 私聊, one friend.
    Direct,
}

impl Channel {
    pub const ALL: [Channel; 3] = [Channel::Moments, Channel::Group, Channel::Direct];

    /// Compact code used inside share tokens; never reuse a number.
    pub fn code(self) -> u8 {
        match self {
            Channel::Moments => 1,
            Channel::Group => 2,
            Channel::Direct => 3,
        }
    }

    pub fn from_code(code: u8) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.code() == code)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Moments => "moments",
            Channel::Group => "group",
            Channel::Direct => "direct",
        }
    }

    pub fn parse(s: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Company {
    pub id: i64,
    pub name: String,
    /// The company's poster template: the artwork every rep's invitation
    /// poster is drawn on (an image/jpeg or image/png media). None: the
    /// warm gradient.
    #[serde(default)]
    pub poster_artwork: Option<MediaRef>,
    /// The line under the rep's name on the invitation poster, set by a
    /// manager. None: the neutral `invite::DEFAULT_POSTER_SLOGAN`.
    #[serde(default)]
    pub poster_slogan: Option<String>,
    /// The company's logo (PNG or JPEG) on public pages and posters. None:
    /// the name's first letter.
    #[serde(default)]
    pub logo: Option<MediaRef>,
    /// What a partner gets, one line on the invitation pages. None: the
    /// neutral `company::DEFAULT_COMMISSION_PROMISE`.
    #[serde(default)]
    pub commission_promise: Option<String>,
}

/// A person in a company. Partners carry the rep they are bound to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct User {
    pub id: i64,
    pub company_id: i64,
    pub role: Role,
    pub name: String,
    /// E.164, e.g. `+8613800138000`.
    pub phone: Option<String>,
    /// For partners: the rep they are bound to.
    pub rep_id: Option<i64>,
    /// When the account was created (partners: when they joined).
    #[serde(default)]
    pub joined_at_ms: i64,
    /// For partners: how they came (QR, SMS, poster, import, admin).
    #[serde(default)]
    pub source: Option<crate::invite::PartnerSource>,
    /// For partners: the rep who invited or imported them ("who invited whom").
    #[serde(default)]
    pub invited_by: Option<i64>,
    /// For partners who accepted an invitation: which one.
    #[serde(default)]
    pub invitation_id: Option<i64>,
}

/// A media file stored on the server, referenced by content items.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct MediaRef {
    pub id: i64,
    pub content_type: String,
    pub size: i64,
    /// The unguessable part of its address (128 random bits, hex): media are
    /// served at `/media/{key}`, never by id. Empty in caches written before
    /// keys existed (the server announces every key again once).
    #[serde(default)]
    pub key: String,
}

impl MediaRef {
    /// Path of the media on the server, relative to its base URL.
    pub fn path(&self) -> String {
        format!("/media/{}", self.key)
    }
}

/// Where an item is in its life: written, shared, withdrawn.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ContentStatus {
    /// Seen only by its author and the company's managers.
    Draft,
    /// In the briefcases of its audience; share links work.
    #[default]
    Live,
    /// Out of every briefcase; old links show a polite page.
    Archived,
}

impl ContentStatus {
    pub const ALL: [ContentStatus; 3] = [
        ContentStatus::Draft,
        ContentStatus::Live,
        ContentStatus::Archived,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ContentStatus::Draft => "draft",
            ContentStatus::Live => "live",
            ContentStatus::Archived => "archived",
        }
    }

    pub fn parse(s: &str) -> Option<ContentStatus> {
        ContentStatus::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// Whose briefcases a live item reaches. A rep's own items reach only that
/// rep's partners whatever this says (see `visibility::content_sees`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(tag = "to", rename_all = "snake_case")]
pub enum ContentAudience {
    /// Everyone in the company.
    #[default]
    Company,
    /// The partners of these reps (and the reps themselves).
    Reps { rep_ids: Vec<i64> },
}

/// A case study's structured fields (rendered as a card, never free HTML).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct CaseStudy {
    pub customer: String,
    pub problem: String,
    pub solution: String,
    pub result: String,
    /// The customer's own words, without quotation marks.
    pub quote: String,
    /// Photos, in order (before/after, the finished room).
    pub images: Vec<MediaRef>,
}

/// An article, poster, video or case study in the company's content library.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ContentItem {
    pub id: i64,
    pub company_id: i64,
    /// Made by the device that wrote the first draft (a UUID), so a draft
    /// written offline and its later edits name the same item.
    #[serde(default)]
    pub key: String,
    pub kind: ContentKind,
    #[serde(default)]
    pub status: ContentStatus,
    /// The author (None: written before authors were recorded, a company
    /// item). A rep's own items are marked 我的 and reach only their partners.
    #[serde(default)]
    pub owner_id: Option<i64>,
    #[serde(default)]
    pub audience: ContentAudience,
    pub title: String,
    pub summary: String,
    /// Articles: sanitised HTML (`article::sanitize`). Posters and videos:
    /// plain text with blank-line paragraphs, escaped by the page.
    pub body: String,
    /// Case studies: their fields (boxed: most items have none).
    #[serde(default)]
    pub case_study: Option<Box<CaseStudy>>,
    /// Cover image (posters: the poster itself).
    pub cover: Option<MediaRef>,
    /// The video file for videos.
    pub video: Option<MediaRef>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

/// One partner sharing one item on one channel. Created on the device,
/// possibly offline; `token` resolves on the server before any sync.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Share {
    pub token: String,
    pub device_id: i64,
    pub share_no: i64,
    pub item_id: i64,
    pub partner_id: i64,
    pub channel: Channel,
    pub created_at_ms: i64,
}

/// One viewer opening a share; dwell grows as the page reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Visit {
    pub id: i64,
    pub share_token: String,
    pub item_id: i64,
    pub partner_id: i64,
    pub rep_id: i64,
    /// Anonymous first-party id of the viewer.
    pub visitor_id: String,
    pub opened_at_ms: i64,
    pub dwell_ms: i64,
}

/// A user's name as stored: trimmed, 1 to [`MAX_NAME_CHARS`] characters;
/// `Err` holds the length found.
///
/// [`MAX_NAME_CHARS`]: crate::limits::MAX_NAME_CHARS
pub fn checked_name(raw: &str) -> Result<String, usize> {
    let name = raw.trim();
    let n = name.chars().count();
    if n == 0 || n > crate::limits::MAX_NAME_CHARS {
        return Err(n);
    }
    Ok(name.to_string())
}

/// A typed code (activation, invitation short code) as stored: upper case,
/// without the dashes and spaces people type.
pub fn normalize_code(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// Why a user cannot be bound to the rep asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BindingRefused {
    /// Only partners are bound to a rep.
    NotAPartner,
    /// The user asked for is not a rep of the company (or does not exist).
    NotARepOfCompany,
}

/// Only partners are bound, and only to a rep of their own company. `rep`
/// is the user asked for (`None`: no such user).
pub fn check_binding(
    role: Role,
    company_id: i64,
    rep: Option<&User>,
) -> Result<(), BindingRefused> {
    if role != Role::Partner {
        return Err(BindingRefused::NotAPartner);
    }
    match rep {
        Some(r) if r.role == Role::Rep && r.company_id == company_id => Ok(()),
        _ => Err(BindingRefused::NotARepOfCompany),
    }
}

#[cfg(test)]
mod binding_tests {
    use super::*;

    #[test]
    fn names_and_codes_as_stored() {
        let long = "长".repeat(crate::limits::MAX_NAME_CHARS);
        // raw -> stored name, or the length refused
        let table = [
            ("  王五 ", Ok("王五".to_string())),
            ("王 五", Ok("王 五".to_string())),
            ("", Err(0)),
            ("   ", Err(0)),
            (&long[..], Ok(long.clone())),
        ];
        for (raw, expected) in table {
            assert_eq!(checked_name(raw), expected, "{raw:?}");
        }
        assert_eq!(checked_name(&format!("{long}长")), Err(41));
        let codes = [(" k7q-4m2 ", "K7Q4M2"), ("ab cd", "ABCD"), ("--", "")];
        for (raw, expected) in codes {
            assert_eq!(normalize_code(raw), expected, "{raw:?}");
        }
    }

    fn user(role: Role, company_id: i64) -> User {
        User {
            id: 2,
            company_id,
            role,
            name: "x".into(),
            phone: None,
            rep_id: None,
            joined_at_ms: 0,
            source: None,
            invited_by: None,
            invitation_id: None,
        }
    }

    #[test]
    fn only_partners_bind_to_a_rep_of_their_company() {
        use BindingRefused::*;
        let (rep, other_co, manager) = (
            user(Role::Rep, 1),
            user(Role::Rep, 9),
            user(Role::Manager, 1),
        );
        // role of the user bound, the user asked for -> outcome
        let table = [
            (Role::Partner, Some(&rep), Ok(())),
            (Role::Partner, Some(&other_co), Err(NotARepOfCompany)),
            (Role::Partner, Some(&manager), Err(NotARepOfCompany)),
            (Role::Partner, None, Err(NotARepOfCompany)),
            (Role::Rep, Some(&rep), Err(NotAPartner)),
            (Role::Manager, Some(&rep), Err(NotAPartner)),
        ];
        for (role, asked, expected) in table {
            assert_eq!(
                check_binding(role, 1, asked),
                expected,
                "{role:?} {asked:?}"
            );
        }
    }
}
