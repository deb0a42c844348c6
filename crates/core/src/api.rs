//! The HTTP API's paths and request/response bodies (besides sync).

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::domain::{
    CaseStudy, Company, ContentAudience, ContentItem, ContentKind, MediaRef, Role, User,
};

pub const PATH_HEALTH: &str = "/healthz";
pub const PATH_ACTIVATE: &str = "/api/v1/activate";
pub const PATH_ME: &str = "/api/v1/me";
/// `GET`: the items the caller may see (their library); `POST` a
/// `NewContentItem` (managers: a live company item at once).
pub const PATH_CONTENT: &str = "/api/v1/content";
/// `PUT /api/v1/content/{key}` a `ContentDraft` (create or edit, managers
/// and reps); `POST /api/v1/content/{key}/publish` and `.../archive`.
pub const PATH_CONTENT_PREFIX: &str = "/api/v1/content/";
pub const PATH_MEDIA: &str = "/api/v1/media";
/// `PUT` a media under a key the device chose (an image of an offline draft).
pub const PATH_MEDIA_KEY: &str = "/api/v1/media/{key}";
pub const PATH_PUSH: &str = "/api/v1/sync/push";
pub const PATH_PULL: &str = "/api/v1/sync/pull";
/// Public share page: `/s/{token}`.
pub const PATH_SHARE_PREFIX: &str = "/s/";
/// Where the share page's script reports views and dwell time.
pub const PATH_BEACON: &str = "/t/beacon";
/// The share page's "I'm interested" form (POST, form-encoded or JSON `ContactForm`).
pub const PATH_LEAD_FORM: &str = "/t/lead";
/// The share page's "pass it on" button (POST `ForwardRequest`, answers `ForwardResponse`).
pub const PATH_FORWARD: &str = "/t/forward";
/// Public privacy notice linked from the form.
pub const PATH_PRIVACY: &str = "/privacy";
/// Radar stream: leads, signals, visit aggregates, forward chains (`RadarPullResponse`).
pub const PATH_RADAR_PULL: &str = "/api/v1/radar/pull";
/// Server-sent events for a signed-in device (`LiveEvent` as `data:`).
pub const PATH_EVENTS: &str = "/api/v1/events";
/// Managers: what was not counted as a view, and why (`FilteredStats`).
pub const PATH_FILTERED_STATS: &str = "/api/v1/stats/filtered";
/// Managers: beacons accepted and stored by this process (`TrackingStats`).
pub const PATH_TRACKING_STATS: &str = "/api/v1/stats/tracking";
/// The company's scoring rules (`ScoringRules`): GET for everyone, PUT for managers.
pub const PATH_SCORING_RULES: &str = "/api/v1/scoring/rules";
/// Managers: `PUT` a `PosterArtworkRequest`, answered with the `Company`.
pub const PATH_POSTER_ARTWORK: &str = "/api/v1/company/poster-artwork";
/// Managers: `PUT` a `PosterSloganRequest`, answered with the `Company`.
pub const PATH_POSTER_SLOGAN: &str = "/api/v1/company/poster-slogan";

/// Managers: `PUT` a `company::CompanyProfile`, answered with the `Company`.
pub const PATH_COMPANY_PROFILE: &str = "/api/v1/company/profile";
/// Managers and reps: `GET` the company's `MediaUsage` (room its media take
/// on the server, of its quota).
pub const PATH_MEDIA_USAGE: &str = "/api/v1/company/media-usage";

/// Reps and managers: `POST` a `NewInvitation`, answered with the `Invitation`.
pub const PATH_INVITATIONS: &str = "/api/v1/invitations";
/// `GET /api/v1/invitations/{id}`; `POST /api/v1/invitations/{id}/revoke`.
pub const PATH_INVITATION_PREFIX: &str = "/api/v1/invitations/";
/// Reps: `POST` an `SmsInviteRequest`, answered with an `SmsInviteResult`.
pub const PATH_SMS_INVITATIONS: &str = "/api/v1/invitations/sms";
/// Reps: `POST` a `PartnerImportRequest`, answered with a `PartnerImportResult`.
pub const PATH_PARTNER_IMPORT: &str = "/api/v1/partners/import";
/// `GET`: the company's people and their devices (manager only).
pub const PATH_TEAM: &str = "/api/v1/team";
/// Managers: `POST` a `TeamImportRequest` (reps from a file), answered with
/// a `TeamImportResult`.
pub const PATH_TEAM_IMPORT: &str = "/api/v1/team/import";
/// `POST /api/v1/team/{user_id}/deactivate` and `.../reactivate` (manager only).
pub const PATH_TEAM_PREFIX: &str = "/api/v1/team/";
/// `POST /api/v1/devices/{device_id}/revoke` (its owner, or a manager).
pub const PATH_DEVICES_PREFIX: &str = "/api/v1/devices/";
/// Public invitation page: `/i/{token}` (GET the page, POST the form).
pub const PATH_INVITE_PREFIX: &str = "/i/";
/// Public page where a short code is typed: `/j` (and `/j/{code}`).
pub const PATH_JOIN: &str = "/j";
/// Provider callbacks: `/hooks/sms/{provider}/status` and `/hooks/sms/{provider}/reply`.
pub const PATH_SMS_HOOKS_PREFIX: &str = "/hooks/sms/";

/// Body of `PUT /api/v1/company/poster-artwork`: an uploaded image
/// (image/jpeg or image/png) of the company, or null to go back to the gradient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct PosterArtworkRequest {
    pub media_id: Option<i64>,
}

/// Body of `PUT /api/v1/company/poster-slogan`: the poster's slogan, or
/// null (or blank) to go back to the neutral default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct PosterSloganRequest {
    pub slogan: Option<String>,
}

/// `GET /api/v1/company/media-usage`: what the company's uploaded media
/// take on the server (with the room uploads under way hold), and the
/// quota an upload may not pass (a server setting).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct MediaUsage {
    pub used_bytes: i64,
    pub quota_bytes: i64,
}

/// Largest JSON body the API accepts.
pub const MAX_JSON_BYTES: usize = 1024 * 1024;
/// Largest media upload (videos included).
pub use crate::limits::{MAX_ARTICLE_IMAGE_BYTES, MAX_MEDIA_BYTES};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ActivateRequest {
    /// One-time activation code, e.g. `K7Q-4M2-XP9`.
    pub code: String,
    /// Shown to the user's manager, e.g. "Li Ming's laptop".
    pub device_name: String,
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ActivateResponse {
    pub device_id: i64,
    /// Bearer token for every later request. The server keeps only its hash.
    pub device_token: String,
    /// Base64url key that signs this device's share tokens.
    pub share_key: String,
    /// Base of share links, e.g. `https://r.example.com`; never the API address.
    pub public_base_url: String,
    pub user: User,
    pub company: Company,
    pub epoch: String,
}

// A derived Debug would print the token (and the signing key) into any log
// line that shows the answer.
impl std::fmt::Debug for ActivateResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActivateResponse")
            .field("device_id", &self.device_id)
            .field("device_token", &"(hidden)")
            .field("share_key", &"(hidden)")
            .field("public_base_url", &self.public_base_url)
            .field("user", &self.user)
            .field("company", &self.company)
            .field("epoch", &self.epoch)
            .finish()
    }
}

/// One signed-in device of a user, as the team screen lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct DeviceInfo {
    pub id: i64,
    pub name: String,
    pub created_at_ms: i64,
    /// Set once revoked: its token is refused from then on.
    pub revoked_at_ms: Option<i64>,
    /// When it last reached the server (to the minute).
    pub last_seen_at_ms: Option<i64>,
}

/// An activation code not yet used, expired or revoked, as the team screen
/// lists it. The code itself is not shown again: the server keeps only its
/// hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct OpenCode {
    pub id: i64,
    pub created_at_ms: i64,
    pub expires_at_ms: i64,
}

/// Body of `POST /api/v1/team` (manager only): a new rep or manager.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct NewTeamMember {
    pub role: Role,
    pub name: String,
    /// As typed; stored in E.164.
    pub phone: String,
}

/// A one-time activation code and the `warmlead://activate?...` link that
/// signs the desktop app in with it (shown as text, link and QR).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct IssuedCode {
    pub user: User,
    /// The code's id among the person's open codes (to revoke it).
    pub code_id: i64,
    pub activation_code: String,
    pub activation_link: String,
}

/// Body of `POST /api/v1/team/{user_id}/reactivate`: whether the
/// invitations that the person's switch-off closed open again. The manager
/// chooses; an empty body reopens none.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReactivateRequest {
    #[serde(default)]
    pub reopen_invitations: bool,
}

/// `POST /api/v1/team/{user_id}/activation-code/sms`: send this code (one the
/// caller was just shown, still unused) to the person's phone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct CodeSmsRequest {
    pub activation_code: String,
}

/// The activation code SMS went to the provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct CodeSmsSent {
    /// E.164.
    pub phone: String,
    /// The text as the person reads it.
    pub text: String,
}

/// Body of `POST /api/v1/team/import`: rows of a checked preview, each a
/// new rep. The server checks them again (the file's rules and the phones
/// already in the company) and adds all of them or none. With `dry_run` it
/// only checks and writes nothing: the import dialog asks it before the
/// manager confirms, so the rule lives on the server once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct TeamImportRequest {
    pub rows: Vec<crate::csv_import::ImportRow>,
    #[serde(default)]
    pub dry_run: bool,
}

/// One rep the import added: the file's row and their first code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct TeamImportAdded {
    pub row: u32,
    pub issued: IssuedCode,
}

/// Answer of the team import: the reps added (in the file's order), or
/// (status 422, nothing written; or a dry run) the rows that would stop it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct TeamImportResult {
    pub added: Vec<TeamImportAdded>,
    pub errors: Vec<crate::csv_import::ImportRowError>,
}

/// A person of the company and their devices (`GET /api/v1/team`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct TeamMember {
    pub user: User,
    /// Set while the company has switched the account off.
    pub deactivated_at_ms: Option<i64>,
    pub devices: Vec<DeviceInfo>,
    /// Activation codes that could still sign a device in (at most one:
    /// a new code retires the older ones), oldest first.
    pub open_codes: Vec<OpenCode>,
    /// A rep's bound partners (0 for others).
    pub partners: i64,
    /// Leads of a rep, or referred by a partner.
    pub leads: i64,
    /// Shares since the `shares_since` of the request (the UI sends the
    /// start of the month in its time zone): a partner's own, a rep's
    /// partners'.
    pub shares_since: i64,
}

/// Query of `GET /api/v1/team`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct TeamQuery {
    /// Count shares from this UTC time on [default: 30 days ago].
    pub shares_since: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct MeResponse {
    pub user: User,
    pub company: Company,
}

/// Body of `POST /api/v1/content` (manager only): a live company item with a
/// plain-text body (an article's becomes escaped paragraphs). Media are uploaded first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct NewContentItem {
    pub kind: ContentKind,
    pub title: String,
    pub summary: String,
    pub body: String,
    pub cover_media_id: Option<i64>,
    pub video_media_id: Option<i64>,
}

impl NewContentItem {
    pub const MAX_TITLE_CHARS: usize = crate::limits::MAX_TITLE_CHARS;
    pub const MAX_SUMMARY_CHARS: usize = crate::limits::MAX_SUMMARY_CHARS;
    pub const MAX_BODY_CHARS: usize = crate::limits::MAX_BODY_CHARS;

    /// Checks lengths and required fields; the message names the field.
    pub fn validate(&self) -> Result<(), crate::CoreError> {
        let check = |field: &'static str, value: &str, max: usize, required: bool| {
            let n = value.chars().count();
            if required && value.trim().is_empty() {
                Err(crate::CoreError::Invalid {
                    field,
                    reason: "must not be empty".into(),
                })
            } else if n > max {
                Err(crate::CoreError::Invalid {
                    field,
                    reason: format!("is {n} characters; at most {max}"),
                })
            } else {
                Ok(())
            }
        };
        check("title", &self.title, Self::MAX_TITLE_CHARS, true)?;
        check("summary", &self.summary, Self::MAX_SUMMARY_CHARS, false)?;
        check("body", &self.body, Self::MAX_BODY_CHARS, false)?;
        if self.kind == ContentKind::Video && self.video_media_id.is_none() {
            return Err(crate::CoreError::Invalid {
                field: "video_media_id",
                reason: "a video item needs its video".into(),
            });
        }
        Ok(())
    }
}

/// What an author writes: the whole editable state of an item, sent on
/// every save (so saving twice, or a retried push, lands the same). Body of
/// `PUT /api/v1/content/{key}` and of the `save_content` mutation. Media are
/// uploaded first; the server reads only their ids and checks them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ContentDraft {
    pub kind: ContentKind,
    pub title: String,
    pub summary: String,
    /// Articles: HTML, sanitised by the server (`article::sanitize`).
    pub body: String,
    #[serde(default)]
    pub case_study: Option<CaseStudy>,
    pub cover: Option<MediaRef>,
    pub video: Option<MediaRef>,
    /// Ignored for a rep's own items (they reach only the rep's partners).
    #[serde(default)]
    pub audience: ContentAudience,
}

fn invalid(field: &'static str, reason: impl Into<String>) -> crate::CoreError {
    crate::CoreError::Invalid {
        field,
        reason: reason.into(),
    }
}

fn at_most(field: &'static str, value: &str, max: usize) -> Result<(), crate::CoreError> {
    let n = value.chars().count();
    if n > max {
        return Err(invalid(field, format!("is {n} characters; at most {max}")));
    }
    Ok(())
}

/// A content item's key as devices make them: 1 to 64 letters, digits and
/// dashes (a UUID).
pub fn check_content_key(key: &str) -> Result<(), crate::CoreError> {
    if key.is_empty()
        || key.len() > 64
        || !key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        return Err(invalid(
            "key",
            "must be 1 to 64 letters, digits or dashes (a UUID)",
        ));
    }
    Ok(())
}

impl ContentDraft {
    /// Limits that hold for every save, drafts included (an empty title is
    /// fine while writing; publishing asks for one, see [`check_publishable`]).
    pub fn validate(&self) -> Result<(), crate::CoreError> {
        use crate::limits::*;
        at_most("title", &self.title, MAX_TITLE_CHARS)?;
        at_most("summary", &self.summary, MAX_SUMMARY_CHARS)?;
        at_most("body", &self.body, MAX_BODY_CHARS)?;
        if let Some(cs) = &self.case_study {
            at_most("case_study.customer", &cs.customer, MAX_CASE_FIELD_CHARS)?;
            at_most("case_study.problem", &cs.problem, MAX_CASE_FIELD_CHARS)?;
            at_most("case_study.solution", &cs.solution, MAX_CASE_FIELD_CHARS)?;
            at_most("case_study.result", &cs.result, MAX_CASE_FIELD_CHARS)?;
            at_most("case_study.quote", &cs.quote, MAX_CASE_FIELD_CHARS)?;
            if cs.images.len() > MAX_CASE_IMAGES {
                return Err(invalid(
                    "case_study.images",
                    format!("has {} photos; at most {MAX_CASE_IMAGES}", cs.images.len()),
                ));
            }
        }
        if let ContentAudience::Reps { rep_ids } = &self.audience {
            if rep_ids.len() > MAX_AUDIENCE_REPS {
                return Err(invalid(
                    "audience",
                    format!("names {} reps; at most {MAX_AUDIENCE_REPS}", rep_ids.len()),
                ));
            }
        }
        Ok(())
    }
}

/// What an item still needs before it can go live; the message says what
/// to add.
pub fn check_publishable(item: &ContentItem) -> Result<(), crate::CoreError> {
    if item.title.trim().is_empty() {
        return Err(invalid("title", "add a title before publishing"));
    }
    match item.kind {
        ContentKind::Video if item.video.is_none() => {
            Err(invalid("video", "upload the video before publishing"))
        }
        ContentKind::Poster if item.cover.is_none() => Err(invalid(
            "cover",
            "upload the poster image before publishing",
        )),
        ContentKind::Article
            if crate::article::plain_text(&item.body).trim().is_empty()
                && crate::article::media_keys(&item.body).is_empty() =>
        {
            Err(invalid("body", "write the article before publishing"))
        }
        ContentKind::CaseStudy
            if item
                .case_study
                .as_ref()
                .is_none_or(|c| c.customer.trim().is_empty()) =>
        {
            Err(invalid(
                "case_study.customer",
                "name the customer before publishing",
            ))
        }
        _ => Ok(()),
    }
}

/// What the share page's script sends (with `navigator.sendBeacon`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Beacon {
    /// The share token of the page.
    pub t: String,
    /// Random id the page made when it loaded: one page view.
    pub pv: String,
    /// Visible time so far, in milliseconds.
    pub dwell_ms: i64,
}

/// What the share page's script sends since the radar: [`Beacon`] plus what
/// the viewer did. Every added field is optional, so an old page's beacon
/// still parses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct TrackBeacon {
    pub t: String,
    pub pv: String,
    /// Visible time of this page view so far, ms.
    pub dwell_ms: i64,
    /// Deepest scroll so far, percent of the page (0..=100).
    #[serde(default)]
    pub scroll_pct: Option<i64>,
    /// Furthest position reached in the video, seconds.
    #[serde(default)]
    pub video_s: Option<i64>,
    /// The video's duration, seconds.
    #[serde(default)]
    pub video_len_s: Option<i64>,
}

/// Body of `POST /t/forward`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ForwardRequest {
    /// The token of the page the viewer is on.
    pub t: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ForwardResponse {
    /// The child share's token and full link.
    pub token: String,
    pub url: String,
}
