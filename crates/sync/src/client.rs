//! The HTTP client of the server's API, speaking the wire types of `core`.

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;
use warmlead_core::api::{
    ActivateRequest, ActivateResponse, CodeSmsRequest, CodeSmsSent, IssuedCode, MeResponse,
    MediaUsage, NewTeamMember, PosterSloganRequest, TeamImportRequest, TeamImportResult,
    TeamMember, PATH_ACTIVATE, PATH_COMPANY_PROFILE, PATH_DEVICES_PREFIX, PATH_EVENTS,
    PATH_INVITATIONS, PATH_INVITATION_PREFIX, PATH_ME, PATH_MEDIA, PATH_MEDIA_KEY,
    PATH_MEDIA_USAGE, PATH_PARTNER_IMPORT, PATH_POSTER_SLOGAN, PATH_PULL, PATH_PUSH,
    PATH_RADAR_PULL, PATH_SMS_INVITATIONS, PATH_TEAM, PATH_TEAM_IMPORT, PATH_TEAM_PREFIX,
};
use warmlead_core::company::CompanyProfile;
use warmlead_core::csv_import::ImportRow;
use warmlead_core::domain::{Company, MediaRef};
use warmlead_core::error::ApiError;
use warmlead_core::invite::{
    Invitation, NewInvitation, PartnerImportRequest, PartnerImportResult, SmsInviteRequest,
    SmsInviteResult,
};
use warmlead_core::lead::RadarPullResponse;
use warmlead_core::sync::{PullResponse, PushRequest, PushResponse};
use warmlead_core::ErrorCode;

use crate::SyncError;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// An authenticated connection to one server.
#[derive(Clone)]
pub struct Client {
    pub(crate) http: reqwest::Client,
    pub(crate) base_url: String,
    pub(crate) token: String,
}

// A derived Debug would print the device token into any log that shows it.
impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.base_url)
            .field("token", &"(hidden)")
            .finish_non_exhaustive()
    }
}

fn http() -> Result<reqwest::Client, SyncError> {
    reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(REQUEST_TIMEOUT)
        .build()
        .map_err(|e| SyncError::Protocol(format!("cannot build the HTTP client: {e}")))
}

/// Trades a one-time activation code for this device's credentials.
pub async fn activate(
    server_url: &str,
    code: &str,
    device_name: &str,
) -> Result<ActivateResponse, SyncError> {
    let url = format!("{}{}", server_url.trim_end_matches('/'), PATH_ACTIVATE);
    let body = ActivateRequest {
        code: code.trim().to_string(),
        device_name: device_name.to_string(),
    };
    let resp = http()?
        .post(url)
        .json(&body)
        .send()
        .await
        .map_err(transport)?;
    read(resp).await
}

impl Client {
    pub fn new(base_url: &str, token: &str) -> Result<Client, SyncError> {
        Ok(Client {
            http: http()?,
            base_url: base_url.trim_end_matches('/').to_string(),
            token: token.to_string(),
        })
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Pushes mutations (at most `MAX_PUSH_BATCH`); a gap is [`SyncError::Gap`].
    pub async fn push(&self, req: &PushRequest) -> Result<PushResponse, SyncError> {
        let resp = self
            .http
            .post(self.url(PATH_PUSH))
            .bearer_auth(&self.token)
            .json(req)
            .send()
            .await
            .map_err(transport)?;
        read(resp).await
    }

    /// Changes after `after`, at most `limit` of them.
    pub async fn pull(&self, after: i64, limit: u32) -> Result<PullResponse, SyncError> {
        self.page(PATH_PULL, after, limit).await
    }

    /// Radar changes (leads, signals, visits, forward chains) after `after`.
    pub async fn pull_radar(&self, after: i64, limit: u32) -> Result<RadarPullResponse, SyncError> {
        self.page(PATH_RADAR_PULL, after, limit).await
    }

    /// One page of a change stream: `GET path?after=&limit=`.
    async fn page<T: DeserializeOwned>(
        &self,
        path: &str,
        after: i64,
        limit: u32,
    ) -> Result<T, SyncError> {
        let resp = self
            .http
            .get(self.url(path))
            .bearer_auth(&self.token)
            .query(&[("after", after.to_string()), ("limit", limit.to_string())])
            .send()
            .await
            .map_err(transport)?;
        read(resp).await
    }

    /// Opens the server-sent event stream. Uses a client without an overall
    /// timeout (the stream is meant to stay open); the caller times out reads.
    pub async fn open_events(&self) -> Result<reqwest::Response, SyncError> {
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .build()
            .map_err(|e| SyncError::Protocol(format!("cannot build the HTTP client: {e}")))?;
        let resp = http
            .get(self.url(PATH_EVENTS))
            .bearer_auth(&self.token)
            .header("accept", "text/event-stream")
            .send()
            .await
            .map_err(transport)?;
        if resp.status().is_success() {
            return Ok(resp);
        }
        // `read` turns an error status into our error; it cannot succeed here.
        Err(match read::<serde_json::Value>(resp).await {
            Err(e) => e,
            Ok(_) => SyncError::Protocol("the event stream answered an error".into()),
        })
    }

    /// Who this device is signed in as.
    pub async fn me(&self) -> Result<MeResponse, SyncError> {
        let resp = self
            .http
            .get(self.url(PATH_ME))
            .bearer_auth(&self.token)
            .send()
            .await
            .map_err(transport)?;
        read(resp).await
    }

    /// Creates an invitation (`POST /api/v1/invitations`).
    pub async fn create_invitation(&self, req: &NewInvitation) -> Result<Invitation, SyncError> {
        self.post(PATH_INVITATIONS, req).await
    }

    /// One invitation as the server has it now (uses, status).
    pub async fn get_invitation(&self, id: i64) -> Result<Invitation, SyncError> {
        let resp = self
            .http
            .get(self.url(&format!("{PATH_INVITATION_PREFIX}{id}")))
            .bearer_auth(&self.token)
            .send()
            .await
            .map_err(transport)?;
        read(resp).await
    }

    /// Revokes an invitation; answers it as revoked.
    pub async fn revoke_invitation(&self, id: i64) -> Result<Invitation, SyncError> {
        let path = format!("{PATH_INVITATION_PREFIX}{id}/revoke");
        self.post(&path, &serde_json::json!({})).await
    }

    /// Sets the company's poster slogan (managers; None or blank: the
    /// neutral default); answers the Company as the server now has it.
    pub async fn set_poster_slogan(&self, slogan: Option<&str>) -> Result<Company, SyncError> {
        let resp = self
            .http
            .put(self.url(PATH_POSTER_SLOGAN))
            .bearer_auth(&self.token)
            .json(&PosterSloganRequest {
                slogan: slogan.map(str::to_string),
            })
            .send()
            .await
            .map_err(transport)?;
        read(resp).await
    }

    /// Sets the company's whole profile (managers: name, logo, poster
    /// slogan, commission promise); answers the Company as the server now
    /// has it. Every device learns it through the Company change.
    pub async fn set_company_profile(
        &self,
        profile: &CompanyProfile,
    ) -> Result<Company, SyncError> {
        let resp = self
            .http
            .put(self.url(PATH_COMPANY_PROFILE))
            .bearer_auth(&self.token)
            .json(profile)
            .send()
            .await
            .map_err(transport)?;
        read(resp).await
    }

    /// Uploads a PNG or JPEG (a logo) as media of the company; answers its
    /// reference.
    pub async fn upload_image(
        &self,
        content_type: &str,
        bytes: Vec<u8>,
    ) -> Result<MediaRef, SyncError> {
        let resp = self
            .http
            .post(self.url(PATH_MEDIA))
            .bearer_auth(&self.token)
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(bytes)
            .send()
            .await
            .map_err(transport)?;
        read(resp).await
    }

    /// The room the company's media take on the server, of its quota
    /// (managers and reps).
    pub async fn media_usage(&self) -> Result<MediaUsage, SyncError> {
        let resp = self
            .http
            .get(self.url(PATH_MEDIA_USAGE))
            .bearer_auth(&self.token)
            .send()
            .await
            .map_err(transport)?;
        read(resp).await
    }

    /// The company's people with their devices and counts (managers);
    /// shares counted from `shares_since` (UTC ms).
    pub async fn team(&self, shares_since: i64) -> Result<Vec<TeamMember>, SyncError> {
        let resp = self
            .http
            .get(self.url(PATH_TEAM))
            .query(&[("shares_since", shares_since)])
            .bearer_auth(&self.token)
            .send()
            .await
            .map_err(transport)?;
        read(resp).await
    }

    /// Adds a rep or a manager; answers their first activation code and link.
    pub async fn add_team_member(&self, new: &NewTeamMember) -> Result<IssuedCode, SyncError> {
        self.post(PATH_TEAM, new).await
    }

    /// A fresh activation code for someone's next device.
    pub async fn issue_activation_code(&self, user_id: i64) -> Result<IssuedCode, SyncError> {
        let path = format!("{PATH_TEAM_PREFIX}{user_id}/activation-code");
        self.post(&path, &serde_json::json!({})).await
    }

    /// Sends an open activation code of `user_id` (one just shown) to their
    /// phone by SMS.
    pub async fn sms_activation_code(
        &self,
        user_id: i64,
        activation_code: &str,
    ) -> Result<CodeSmsSent, SyncError> {
        let path = format!("{PATH_TEAM_PREFIX}{user_id}/activation-code/sms");
        let req = CodeSmsRequest {
            activation_code: activation_code.to_string(),
        };
        self.post(&path, &req).await
    }

    /// Withdraws an open activation code of `user_id` (it can no longer sign
    /// a device in); answers the person as the team list shows them.
    pub async fn revoke_activation_code(
        &self,
        user_id: i64,
        code_id: i64,
    ) -> Result<TeamMember, SyncError> {
        let path = format!("{PATH_TEAM_PREFIX}{user_id}/activation-codes/{code_id}/revoke");
        self.post(&path, &serde_json::json!({})).await
    }

    /// Switches a rep or partner off (`active` false) or on again; on again,
    /// `reopen_invitations` says whether the invitations their switch-off
    /// closed open again (the manager's choice).
    pub async fn set_member_active(
        &self,
        user_id: i64,
        active: bool,
        reopen_invitations: bool,
    ) -> Result<TeamMember, SyncError> {
        if active {
            let path = format!("{PATH_TEAM_PREFIX}{user_id}/reactivate");
            let req = warmlead_core::api::ReactivateRequest { reopen_invitations };
            self.post(&path, &req).await
        } else {
            let path = format!("{PATH_TEAM_PREFIX}{user_id}/deactivate");
            self.post(&path, &serde_json::json!({})).await
        }
    }

    /// Revokes one device; answers its owner as the team list shows them.
    pub async fn revoke_device(&self, device_id: i64) -> Result<TeamMember, SyncError> {
        let path = format!("{PATH_DEVICES_PREFIX}{device_id}/revoke");
        self.post(&path, &serde_json::json!({})).await
    }

    /// Previews (`dry_run`) or sends SMS invitations.
    pub async fn sms_invite(&self, req: &SmsInviteRequest) -> Result<SmsInviteResult, SyncError> {
        self.post(PATH_SMS_INVITATIONS, req).await
    }

    /// Imports partners, all or nothing (`dry_run`: only checks, the
    /// preview's second opinion). When the server refuses rows (422 with a
    /// `PartnerImportResult` body) this is `Ok` with `imported: 0` and the
    /// per-row `errors`, so the UI shows them like the preview's; any other
    /// failure is an `Err`.
    pub async fn import_partners(
        &self,
        rows: Vec<ImportRow>,
        dry_run: bool,
    ) -> Result<PartnerImportResult, SyncError> {
        let req = PartnerImportRequest { rows, dry_run };
        self.import(PATH_PARTNER_IMPORT, &req).await
    }

    /// Adds reps from a file, all or nothing, each with their first code
    /// (`dry_run`: only checks). Refused rows (422) are `Ok` with no one
    /// added and the per-row `errors`, like the partners' import.
    pub async fn import_team(
        &self,
        rows: Vec<ImportRow>,
        dry_run: bool,
    ) -> Result<TeamImportResult, SyncError> {
        let req = TeamImportRequest { rows, dry_run };
        self.import(PATH_TEAM_IMPORT, &req).await
    }

    /// Posts an import; a 422 whose body is the import's answer (the rows
    /// that stopped it) is that answer, not an error.
    async fn import<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        req: &B,
    ) -> Result<T, SyncError> {
        let resp = self
            .http
            .post(self.url(path))
            .bearer_auth(&self.token)
            .json(req)
            .send()
            .await
            .map_err(transport)?;
        if resp.status().as_u16() != 422 {
            return read(resp).await;
        }
        let bytes = resp.bytes().await.map_err(transport)?;
        serde_json::from_slice::<T>(&bytes).map_err(|_| {
            SyncError::Api(
                serde_json::from_slice::<ApiError>(&bytes).unwrap_or_else(|_| {
                    ApiError::new(ErrorCode::InvalidInput, "the server refused the import")
                }),
            )
        })
    }

    /// Uploads an image under the key this device picked for it
    /// (`PUT /api/v1/media/{key}`); sending it again answers the same media.
    pub async fn put_media(
        &self,
        key: &str,
        content_type: &str,
        bytes: Vec<u8>,
    ) -> Result<MediaRef, SyncError> {
        let resp = self
            .http
            .put(self.url(&PATH_MEDIA_KEY.replace("{key}", key)))
            .bearer_auth(&self.token)
            .header("content-type", content_type)
            .body(bytes)
            .send()
            .await
            .map_err(transport)?;
        read(resp).await
    }

    /// The bytes of an uploaded media (`GET /media/{key}`, e.g. the company's
    /// poster artwork). Public media need no token; private ones need this
    /// device's, so it always goes along.
    pub async fn fetch_media(&self, media: &MediaRef) -> Result<Vec<u8>, SyncError> {
        let id = media.id;
        let resp = self
            .http
            .get(self.url(&media.path()))
            .bearer_auth(&self.token)
            .send()
            .await
            .map_err(transport)?;
        if resp.status().is_success() {
            return Ok(resp.bytes().await.map_err(transport)?.to_vec());
        }
        // `read` turns an error status into our error; it cannot succeed here.
        Err(match read::<serde_json::Value>(resp).await {
            Err(e) => e,
            Ok(_) => SyncError::Protocol(format!("media {id} answered an error")),
        })
    }

    async fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, SyncError> {
        let resp = self
            .http
            .post(self.url(path))
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await
            .map_err(transport)?;
        read(resp).await
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url, path)
    }
}

/// A request that got no HTTP answer: the server is out of reach.
pub(crate) fn transport(e: reqwest::Error) -> SyncError {
    if e.is_builder() {
        SyncError::Protocol(format!("bad server address: {e}"))
    } else {
        SyncError::Offline(e.to_string())
    }
}

/// Decodes a success body, or turns an error status into [`SyncError`].
pub(crate) async fn read<T: DeserializeOwned>(resp: reqwest::Response) -> Result<T, SyncError> {
    let status = resp.status();
    let bytes = resp.bytes().await.map_err(transport)?;
    if status.is_success() {
        return serde_json::from_slice(&bytes)
            .map_err(|e| SyncError::Protocol(format!("{status}: {e}")));
    }
    let api = serde_json::from_slice::<ApiError>(&bytes).unwrap_or_else(|_| {
        ApiError::new(
            code_for_status(status.as_u16()),
            format!(
                "{status}: {}",
                String::from_utf8_lossy(&bytes[..bytes.len().min(200)])
            ),
        )
    });
    if status.as_u16() == 409 {
        Err(SyncError::Gap(api))
    } else if matches!(status.as_u16(), 502..=504) && api.code == ErrorCode::Internal {
        // A proxy in front of a server that is down: the same as unreachable.
        Err(SyncError::Offline(api.message))
    } else {
        Err(SyncError::Api(api))
    }
}

/// The code for an error answer without our JSON body (e.g. from a proxy).
fn code_for_status(status: u16) -> ErrorCode {
    match status {
        400 | 422 => ErrorCode::InvalidInput,
        401 => ErrorCode::Unauthorized,
        403 => ErrorCode::Forbidden,
        404 => ErrorCode::NotFound,
        409 => ErrorCode::Conflict,
        413 => ErrorCode::PayloadTooLarge,
        429 => ErrorCode::RateLimited,
        _ => ErrorCode::Internal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_hides_the_device_token() {
        let client = Client::new("http://127.0.0.1:1", "dvt-never-in-a-log-9Qz").unwrap();
        let shown = format!("{client:?}");
        assert!(!shown.contains("dvt-never-in-a-log-9Qz"), "{shown}");
        assert!(shown.contains("127.0.0.1"), "{shown}");
    }

    #[tokio::test]
    async fn a_closed_port_is_offline() {
        // Bind then drop a listener: nothing listens on that port afterwards.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let client = Client::new(&format!("http://127.0.0.1:{port}/"), "t").unwrap();
        let err = client.pull(0, 10).await.unwrap_err();
        assert!(matches!(err, SyncError::Offline(_)), "{err:?}");
        assert_eq!(err.code(), ErrorCode::Offline);
        assert!(err.is_temporary());
        let err = activate(&format!("http://127.0.0.1:{port}"), "X", "d")
            .await
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::Offline);
    }

    #[tokio::test]
    async fn fetch_media_brings_the_uploaded_bytes_or_not_found() {
        let ts = warmlead_server::testing::TestServer::start().await;
        let admin = ts.admin();
        let company = admin.create_company("暖居装修").await.unwrap();
        let rep = admin
            .create_user(
                company.id,
                warmlead_core::domain::Role::Rep,
                "李明",
                None,
                None,
            )
            .await
            .unwrap();
        let bytes: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
        let media = admin
            .store_media(company.id, "image/jpeg", bytes.clone())
            .await
            .unwrap();
        let code = admin.create_activation_code(rep.id).await.unwrap();
        let act = activate(&ts.url(), &code, "test").await.unwrap();
        let client = Client::new(&ts.url(), &act.device_token).unwrap();
        assert_eq!(client.fetch_media(&media).await.unwrap(), bytes);
        let guessed = MediaRef {
            key: "0".repeat(32),
            ..media.clone()
        };
        let err = client.fetch_media(&guessed).await.unwrap_err();
        assert_eq!(err.code(), ErrorCode::NotFound);
    }

    #[tokio::test]
    async fn a_manager_sets_the_poster_slogan_and_a_rep_may_not() {
        use warmlead_core::domain::Role;
        let ts = warmlead_server::testing::TestServer::start().await;
        let admin = ts.admin();
        let company = admin.create_company("暖居装修").await.unwrap();
        let client_of = |role: Role| {
            let (admin, url) = (admin.clone(), ts.url());
            async move {
                let user = admin
                    .create_user(company.id, role, "某人", None, None)
                    .await
                    .unwrap();
                let code = admin.create_activation_code(user.id).await.unwrap();
                let act = activate(&url, &code, "test").await.unwrap();
                Client::new(&url, &act.device_token).unwrap()
            }
        };
        let manager = client_of(Role::Manager).await;
        let set = manager.set_poster_slogan(Some("好车推荐给朋友")).await;
        assert_eq!(
            set.unwrap().poster_slogan.as_deref(),
            Some("好车推荐给朋友")
        );
        let too_long = "好".repeat(41);
        let err = manager
            .set_poster_slogan(Some(&too_long))
            .await
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidInput);
        let cleared = manager.set_poster_slogan(None).await.unwrap();
        assert_eq!(cleared.poster_slogan, None);
        let rep = client_of(Role::Rep).await;
        let err = rep.set_poster_slogan(Some("我的")).await.unwrap_err();
        assert_eq!(err.code(), ErrorCode::Forbidden);
    }

    #[test]
    fn statuses_without_our_body_map_to_codes() {
        assert_eq!(code_for_status(401), ErrorCode::Unauthorized);
        assert_eq!(code_for_status(500), ErrorCode::Internal);
        assert_eq!(code_for_status(429), ErrorCode::RateLimited);
    }
}
