//! Recruiting: invitations (QR, SMS, poster) made on the server, the local
//! lists and dashboard read from the cache, and the poster rendered here.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use tauri::State;
use warmlead_core::error::ApiError;
use warmlead_core::invite::{
    Invitation, InviteChannel, InviteDashboard, NewInvitation, PosterInvitation, SmsInviteRequest,
    SmsInviteResult, SmsRecord,
};
use warmlead_core::ErrorCode;
use warmlead_media::{render_poster_on, Artwork, PosterSpec};
use warmlead_sync::{Client, SyncError};

use crate::commands::{blocking, now_ms, write_download, Res};
use crate::state::AppState;

const SLOGAN: &str = "推荐好友装修，成交即有奖励";
const INVITE_LINE: &str = "邀请你成为合作伙伴";
const CODE_LABEL: &str = "邀请码";
/// Where a Chinese font usually is; `WARMLEAD_POSTER_FONT` names another.
/// (path, face index): 2 is Simplified Chinese in the Noto CJK collection.
const FONTS: [(&str, u32); 4] = [
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc", 2),
    (
        "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
        2,
    ),
    ("C:\\Windows\\Fonts\\msyh.ttc", 0),
];
/// The company's artwork, if the data directory has one.
const ARTWORK_FILES: [&str; 2] = ["poster-artwork.jpg", "poster-artwork.png"];

/// What every poster shares: the font and the company artwork, each loaded
/// and decoded once (decoding artwork costs ~10 ms a poster otherwise).
#[derive(Default)]
pub struct PosterKit {
    font: OnceLock<Option<(Arc<Vec<u8>>, u32)>>,
    artwork: OnceLock<Option<Arc<Artwork>>>,
}

impl PosterKit {
    fn font(&self) -> Res<(Arc<Vec<u8>>, u32)> {
        self.font.get_or_init(load_font).clone().ok_or_else(|| {
            ApiError::new(
                ErrorCode::Internal,
                "no Chinese font found for the poster (install fonts-noto-cjk or set WARMLEAD_POSTER_FONT)",
            )
        })
    }

    fn artwork(&self, data_dir: Option<PathBuf>) -> Option<Arc<Artwork>> {
        self.artwork.get_or_init(|| load_artwork(data_dir?)).clone()
    }
}

fn load_font() -> Option<(Arc<Vec<u8>>, u32)> {
    if let Some(path) = std::env::var_os("WARMLEAD_POSTER_FONT") {
        let index = std::env::var("WARMLEAD_POSTER_FONT_INDEX")
            .ok()
            .and_then(|i| i.parse().ok())
            .unwrap_or(0);
        return std::fs::read(path).ok().map(|b| (Arc::new(b), index));
    }
    FONTS
        .iter()
        .find_map(|(p, i)| std::fs::read(p).ok().map(|b| (Arc::new(b), *i)))
}

fn load_artwork(dir: PathBuf) -> Option<Arc<Artwork>> {
    let bytes = ARTWORK_FILES
        .iter()
        .find_map(|f| std::fs::read(dir.join(f)).ok())?;
    match Artwork::decode(&bytes) {
        Ok(art) => Some(Arc::new(art)),
        Err(e) => {
            tracing::warn!("poster artwork ignored: {e}");
            None
        }
    }
}

/// A client of the signed-in server, or "not signed in".
pub async fn client(state: &AppState) -> Res<Client> {
    let creds = blocking(&state.db_path, |s| s.credentials())
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::NotActivated, "this device is not signed in"))?;
    Ok(Client::new(&creds.server_url, &creds.device_token)?)
}

/// Keeps the server's answer in the cache (the pull brings it too, later)
/// and asks for a sync.
async fn keep(state: &AppState, inv: Invitation) -> Res<Invitation> {
    let copy = inv.clone();
    blocking(&state.db_path, move |s| s.save_invitation(&copy)).await?;
    if let Some(engine) = state.engine() {
        engine.trigger();
    }
    Ok(inv)
}

#[tauri::command]
pub async fn create_invitation(state: State<'_, AppState>, req: NewInvitation) -> Res<Invitation> {
    let inv = client(&state).await?.create_invitation(&req).await?;
    keep(&state, inv).await
}

/// Fresh from the server (uses, status); the cached copy when offline.
#[tauri::command]
pub async fn invitation(state: State<'_, AppState>, id: i64) -> Res<Invitation> {
    match client(&state).await?.get_invitation(id).await {
        Ok(inv) => {
            let copy = inv.clone();
            blocking(&state.db_path, move |s| s.save_invitation(&copy)).await?;
            Ok(inv)
        }
        Err(SyncError::Offline(msg)) => blocking(&state.db_path, move |s| s.invitation(id))
            .await?
            .ok_or_else(|| ApiError::new(ErrorCode::Offline, msg)),
        Err(e) => Err(e.into()),
    }
}

#[tauri::command]
pub async fn revoke_invitation(state: State<'_, AppState>, id: i64) -> Res<Invitation> {
    let inv = client(&state).await?.revoke_invitation(id).await?;
    keep(&state, inv).await
}

#[tauri::command]
pub async fn invitations(state: State<'_, AppState>, limit: i64) -> Res<Vec<Invitation>> {
    blocking(&state.db_path, move |s| s.invitations(limit)).await
}

#[tauri::command]
pub async fn invite_dashboard(state: State<'_, AppState>) -> Res<InviteDashboard> {
    blocking(&state.db_path, |s| s.invite_dashboard(now_ms())).await
}

/// A dry run is the preview; a real send is followed by a sync so the
/// records and invitations appear in the lists.
#[tauri::command]
pub async fn sms_invite(state: State<'_, AppState>, req: SmsInviteRequest) -> Res<SmsInviteResult> {
    let result = client(&state).await?.sms_invite(&req).await?;
    if !req.dry_run {
        if let Some(engine) = state.engine() {
            engine.trigger();
        }
    }
    Ok(result)
}

#[tauri::command]
pub async fn sms_records(state: State<'_, AppState>, limit: i64) -> Res<Vec<SmsRecord>> {
    blocking(&state.db_path, move |s| s.sms_records(limit)).await
}

/// Creates a multi-use poster invitation and renders its 1080x1920 poster.
#[tauri::command]
pub async fn poster_invitation(
    state: State<'_, AppState>,
    kit: State<'_, PosterKit>,
) -> Res<PosterInvitation> {
    let session = blocking(&state.db_path, |s| s.session())
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::NotActivated, "this device is not signed in"))?;
    let req = NewInvitation {
        channel: InviteChannel::Poster,
        multi_use: true,
        expires_in_hours: None,
    };
    let invitation = client(&state).await?.create_invitation(&req).await?;
    let invitation = keep(&state, invitation).await?;
    let spec = poster_spec(&invitation, &session.user.name, &session.company.name);
    let (font, art) = (
        kit.font()?,
        kit.artwork(state.db_path.parent().map(PathBuf::from)),
    );
    let png = tauri::async_runtime::spawn_blocking(move || render(spec, &font, art.as_deref()))
        .await
        .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))??;
    Ok(PosterInvitation {
        invitation,
        png_base64: STANDARD.encode(png),
    })
}

fn poster_spec(inv: &Invitation, rep_name: &str, company_name: &str) -> PosterSpec {
    PosterSpec {
        url: inv.url.clone(),
        short_code: inv.short_code.clone(),
        code_label: CODE_LABEL.into(),
        rep_name: rep_name.into(),
        invite_line: INVITE_LINE.into(),
        slogan: SLOGAN.into(),
        company_name: company_name.into(),
        rep_photo: None,
        background: None,
        font_index: 0,
    }
}

/// Renders on the kit's font (its face index) and artwork, if any.
fn render(mut spec: PosterSpec, font: &(Arc<Vec<u8>>, u32), art: Option<&Artwork>) -> Res<Vec<u8>> {
    spec.font_index = font.1;
    render_poster_on(&spec, &font.0, art).map_err(|e| ApiError::new(e.code(), e.to_string()))
}

/// Writes a PNG the UI has (a poster) into Downloads; returns the path.
#[tauri::command]
pub async fn save_png(png_base64: String, file_name: String) -> Res<String> {
    let png = STANDARD
        .decode(png_base64.trim())
        .map_err(|_| ApiError::new(ErrorCode::InvalidInput, "the image is not base64"))?;
    if !png.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Err(ApiError::new(
            ErrorCode::InvalidInput,
            "the image is not a PNG",
        ));
    }
    write_download(&file_name, ".png", png).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_a_poster_of_the_invitation_with_the_system_font() {
        let kit = PosterKit::default();
        let Ok(font) = kit.font() else {
            eprintln!("SKIPPED: no Chinese font installed (fonts-noto-cjk)");
            return;
        };
        let inv = Invitation {
            id: 1,
            company_id: 1,
            rep_id: 2,
            channel: InviteChannel::Poster,
            status: warmlead_core::invite::InvitationStatus::Pending,
            max_uses: None,
            uses: 0,
            created_at_ms: 0,
            expires_at_ms: 1,
            url: "https://r.example.com/i/abc".into(),
            short_code: "K7Q4M2".into(),
            recipient_name: None,
            recipient_phone: None,
        };
        // No artwork in an empty directory: the gradient, decided once.
        let dir = tempfile::tempdir().unwrap();
        assert!(kit.artwork(Some(dir.path().to_path_buf())).is_none());
        let png = render(poster_spec(&inv, "李明", "暖居装修"), &font, None).unwrap();
        let img = image::load_from_memory(&png).unwrap();
        assert_eq!((img.width(), img.height()), (1080, 1920));
    }
}
