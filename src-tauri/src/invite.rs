//! Recruiting: QR and poster invitations made on this device with no
//! network (signed like shares, recorded by the server when a phone opens
//! them or the app syncs), SMS invitations made by the server, the local
//! lists and dashboard read from the cache, and the poster rendered here.

use std::path::PathBuf;
use std::sync::Arc;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use tauri::{AppHandle, State};
use warmlead_core::domain::{Company, MediaRef};
use warmlead_core::error::ApiError;
use warmlead_core::invite::{
    Invitation, InviteChannel, InviteDashboard, NewInvitation, PosterInvitation, SmsInviteRequest,
    SmsInviteResult, SmsRecord,
};
use warmlead_core::ErrorCode;
use warmlead_media::kit::{invitation_spec, PosterKit};
use warmlead_media::Artwork;
use warmlead_sync::{Client, SyncError};

use crate::bridge;
use crate::commands::{blocking, now_ms, Res};
use crate::state::AppState;

/// The poster's artwork: the data directory's override, else the company
/// template of `media` (from memory, the cached file, or the server, whose
/// bytes are then cached), else None for the gradient. Never an error:
/// offline without cached bytes is the gradient.
async fn poster_artwork(
    kit: &PosterKit,
    data_dir: Option<PathBuf>,
    media: Option<&MediaRef>,
    client: Option<&Client>,
) -> Option<Arc<Artwork>> {
    if let Some(art) = kit.local_artwork(data_dir.as_deref()) {
        return Some(art);
    }
    let media = media.filter(|m| !m.key.is_empty())?;
    let (dir, id) = (data_dir?, media.id);
    let (templates, cache_dir) = (kit.templates(), dir.clone());
    let known = tauri::async_runtime::spawn_blocking(move || templates.cached(&cache_dir, id))
        .await
        .ok()
        .flatten();
    if let Some(known) = known {
        return known;
    }
    let bytes = match client?.fetch_media(media).await {
        Ok(bytes) => bytes,
        Err(e) => {
            tracing::warn!("poster artwork {id} not fetched, the gradient instead: {e}");
            return None;
        }
    };
    let templates = kit.templates();
    tauri::async_runtime::spawn_blocking(move || templates.store(&dir, id, &bytes))
        .await
        .ok()
        .flatten()
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

/// Makes a QR or poster invitation on this device (no network needed: the
/// link works as soon as a phone opens it) and asks for a sync so the
/// server records it too. SMS invitations are sent by the server
/// (`sms_invite`).
#[bridge::command]
pub async fn create_invitation(state: State<'_, AppState>, req: NewInvitation) -> Res<Invitation> {
    let inv = blocking(&state.db_path, move |s| {
        s.create_offline_invitation(&req, now_ms())
    })
    .await?;
    if let Some(engine) = state.engine() {
        engine.trigger();
    }
    Ok(inv)
}

/// The invitation as the cache has it; for one the server has recorded,
/// fresh from the server (uses, status) when it can be reached. A negative
/// id (made on this device) finds it also after the server's row arrived.
#[bridge::command]
pub async fn invitation(state: State<'_, AppState>, id: i64) -> Res<Invitation> {
    let local = blocking(&state.db_path, move |s| s.invitation(id))
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, format!("no invitation {id}")))?;
    if local.id < 0 {
        // Not recorded by the server yet: it has nothing newer to say.
        if let Some(engine) = state.engine() {
            engine.trigger();
        }
        return Ok(local);
    }
    match client(&state).await?.get_invitation(local.id).await {
        Ok(inv) => {
            let copy = inv.clone();
            blocking(&state.db_path, move |s| s.save_invitation(&copy)).await?;
            Ok(inv)
        }
        Err(SyncError::Offline(_)) => Ok(local),
        Err(e) => Err(e.into()),
    }
}

/// Revokes an invitation on the server. One made on this device is first
/// pushed (a sync), since the server can only revoke what it has recorded.
#[bridge::command]
pub async fn revoke_invitation(state: State<'_, AppState>, id: i64) -> Res<Invitation> {
    let mut server_id = id;
    if id < 0 {
        if let Some(engine) = state.engine() {
            if let Err(e) = engine.sync_now().await {
                tracing::info!("sync before a revoke failed: {e}");
            }
        }
        let local = blocking(&state.db_path, move |s| s.invitation(id)).await?;
        server_id = match local {
            Some(inv) if inv.id > 0 => inv.id,
            _ => {
                return Err(ApiError::new(
                    ErrorCode::Offline,
                    "this invitation has not reached the server yet; it can be revoked once the app is back online",
                ))
            }
        };
    }
    let inv = client(&state).await?.revoke_invitation(server_id).await?;
    keep(&state, inv).await
}

#[bridge::command]
pub async fn invitations(state: State<'_, AppState>, limit: i64) -> Res<Vec<Invitation>> {
    blocking(&state.db_path, move |s| s.invitations(limit)).await
}

#[bridge::command]
pub async fn invite_dashboard(state: State<'_, AppState>) -> Res<InviteDashboard> {
    blocking(&state.db_path, |s| s.invite_dashboard(now_ms())).await
}

/// A dry run is the preview; a real send is followed by a sync so the
/// records and invitations appear in the lists.
#[bridge::command]
pub async fn sms_invite(state: State<'_, AppState>, req: SmsInviteRequest) -> Res<SmsInviteResult> {
    let result = client(&state).await?.sms_invite(&req).await?;
    if !req.dry_run {
        if let Some(engine) = state.engine() {
            engine.trigger();
        }
    }
    Ok(result)
}

#[bridge::command]
pub async fn sms_records(state: State<'_, AppState>, limit: i64) -> Res<Vec<SmsRecord>> {
    blocking(&state.db_path, move |s| s.sms_records(limit)).await
}

/// Makes a multi-use poster invitation on this device and renders its
/// 1080x1920 poster.
#[bridge::command]
pub async fn poster_invitation(
    state: State<'_, AppState>,
    kit: State<'_, Arc<PosterKit>>,
) -> Res<PosterInvitation> {
    let session = blocking(&state.db_path, |s| s.session())
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::NotActivated, "this device is not signed in"))?;
    let req = NewInvitation {
        channel: InviteChannel::Poster,
        multi_use: true,
        expires_in_hours: None,
    };
    // Made on this device: the poster works offline (the artwork then comes
    // from the cache, or the gradient).
    let invitation = blocking(&state.db_path, move |s| {
        s.create_offline_invitation(&req, now_ms())
    })
    .await?;
    if let Some(engine) = state.engine() {
        engine.trigger();
    }
    let server = client(&state).await?;
    let mut spec = invitation_spec(
        &invitation.url,
        &invitation.short_code,
        &session.user.name,
        &session.company,
    );
    let data_dir = state.db_path.parent().map(PathBuf::from);
    spec.logo = crate::share::poster_image(
        data_dir.as_deref(),
        session.company.logo.as_ref(),
        Some(&server),
    )
    .await;
    let art = poster_artwork(
        &kit,
        data_dir,
        session.company.poster_artwork.as_ref(),
        Some(&server),
    )
    .await;
    let kit = kit.inner().clone();
    let png = tauri::async_runtime::spawn_blocking(move || {
        // A logo that does not decode is left out rather than failing the poster.
        match kit.render(spec.clone(), art.as_deref()) {
            Err(warmlead_media::MediaError::BadImage("logo")) => {
                let spec = warmlead_media::PosterSpec { logo: None, ..spec };
                kit.render(spec, art.as_deref())
            }
            other => other,
        }
    })
    .await
    .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?
    .map_err(|e| ApiError::new(e.code(), e.to_string()))?;
    Ok(PosterInvitation {
        invitation,
        png_base64: STANDARD.encode(png),
    })
}

/// Managers: the company's poster slogan (None or blank: the neutral
/// default). The answer is the Company; a sync brings it to the cache.
#[bridge::command]
pub async fn set_poster_slogan(state: State<'_, AppState>, slogan: Option<String>) -> Res<Company> {
    let company = client(&state)
        .await?
        .set_poster_slogan(slogan.as_deref())
        .await?;
    if let Some(engine) = state.engine() {
        engine.trigger();
    }
    Ok(company)
}

/// Saves a PNG the UI has (a poster) where the user chooses (a save dialog
/// that opens on Downloads); the path written, `None` when cancelled.
#[bridge::command]
pub async fn save_png(
    app: AppHandle,
    png_base64: String,
    file_name: String,
) -> Res<Option<String>> {
    let png = STANDARD
        .decode(png_base64.trim())
        .map_err(|_| ApiError::new(ErrorCode::InvalidInput, "the image is not base64"))?;
    if !png.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Err(ApiError::new(
            ErrorCode::InvalidInput,
            "the image is not a PNG",
        ));
    }
    crate::commands::save_as(&app, &file_name, png).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invitation() -> Invitation {
        Invitation {
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
        }
    }

    /// A machine without a Chinese font fails the poster tests: a skipped
    /// test that passes would prove nothing.
    fn assert_has_font(kit: &PosterKit) {
        assert!(
            kit.font().is_some(),
            "no Chinese font found for the poster: install fonts-noto-cjk (`cargo xtask setup`)"
        );
    }

    #[test]
    fn renders_a_poster_of_the_invitation_with_the_system_font() {
        let kit = PosterKit::default();
        assert_has_font(&kit);
        let inv = invitation();
        // No artwork in an empty directory: the gradient, decided once.
        let dir = tempfile::tempdir().unwrap();
        assert!(kit.local_artwork(Some(dir.path())).is_none());
        let png = kit.render(spec_of(&inv), None).unwrap();
        let img = image::load_from_memory(&png).unwrap();
        assert_eq!((img.width(), img.height()), (1080, 1920));
    }

    /// A small solid-colour PNG, as a company would upload (scaled up by
    /// the kit to cover the poster).
    fn solid_png(rgb: [u8; 3]) -> Vec<u8> {
        let img = image::RgbImage::from_pixel(54, 96, image::Rgb(rgb));
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Png).unwrap();
        out.into_inner()
    }

    fn company(slogan: Option<&str>) -> warmlead_core::domain::Company {
        warmlead_core::domain::Company {
            id: 1,
            name: "暖居装修".into(),
            poster_artwork: None,
            poster_slogan: slogan.map(str::to_string),
            logo: None,
            commission_promise: None,
        }
    }

    fn spec_of(inv: &Invitation) -> warmlead_media::PosterSpec {
        invitation_spec(&inv.url, &inv.short_code, "李明", &company(None))
    }

    #[test]
    fn the_poster_says_the_companys_slogan_or_the_neutral_default() {
        let inv = invitation();
        let own = invitation_spec(
            &inv.url,
            &inv.short_code,
            "李明",
            &company(Some("买车找老王")),
        );
        assert_eq!(own.slogan, "买车找老王");
        let neutral = spec_of(&inv);
        assert_eq!(neutral.slogan, warmlead_core::invite::DEFAULT_POSTER_SLOGAN);
        assert_eq!(neutral.company_name, "暖居装修");
    }

    fn media(id: i64) -> MediaRef {
        MediaRef {
            id,
            content_type: "image/png".into(),
            size: 1,
            key: format!("{id:032x}"),
        }
    }

    #[tokio::test]
    async fn the_kit_picks_the_cached_template_of_the_media_id_else_the_gradient() {
        let dir = tempfile::tempdir().unwrap();
        let data = Some(dir.path().to_path_buf());
        std::fs::write(
            dir.path().join("poster-artwork-7"),
            solid_png([200, 30, 30]),
        )
        .unwrap();
        let kit = PosterKit::default();

        // Offline (no client): the cached bytes of media 7.
        let seven = poster_artwork(&kit, data.clone(), Some(&media(7)), None).await;
        let seven = seven.expect("the cached template");
        // Decoded once: the file is not read again for the same id.
        std::fs::remove_file(dir.path().join("poster-artwork-7")).unwrap();
        let again = poster_artwork(&kit, data.clone(), Some(&media(7)), None).await;
        assert!(Arc::ptr_eq(&seven, &again.unwrap()));

        // A new id with no cached bytes, offline: the gradient, no error.
        assert!(poster_artwork(&kit, data.clone(), Some(&media(8)), None)
            .await
            .is_none());
        // No template at all: the gradient.
        assert!(poster_artwork(&kit, data.clone(), None, None)
            .await
            .is_none());

        // Another id reloads from its own file.
        std::fs::write(
            dir.path().join("poster-artwork-9"),
            solid_png([30, 30, 200]),
        )
        .unwrap();
        let nine = poster_artwork(&kit, data.clone(), Some(&media(9)), None)
            .await
            .unwrap();
        assert!(!Arc::ptr_eq(&seven, &nine));

        // Bytes that are no image: the gradient.
        std::fs::write(dir.path().join("poster-artwork-10"), b"not an image").unwrap();
        assert!(poster_artwork(&kit, data, Some(&media(10)), None)
            .await
            .is_none());
    }

    #[tokio::test]
    async fn the_data_dir_override_wins_over_the_template() {
        let dir = tempfile::tempdir().unwrap();
        let data = Some(dir.path().to_path_buf());
        std::fs::write(dir.path().join("poster-artwork.png"), solid_png([1, 2, 3])).unwrap();
        std::fs::write(
            dir.path().join("poster-artwork-7"),
            solid_png([200, 30, 30]),
        )
        .unwrap();
        let kit = PosterKit::default();
        let local = kit.local_artwork(Some(dir.path())).unwrap();
        let art = poster_artwork(&kit, data, Some(&media(7)), None)
            .await
            .unwrap();
        assert!(Arc::ptr_eq(&local, &art));
    }

    #[tokio::test]
    async fn the_poster_is_drawn_on_the_template() {
        let kit = PosterKit::default();
        assert_has_font(&kit);
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("poster-artwork-7"),
            solid_png([200, 30, 30]),
        )
        .unwrap();
        let art = poster_artwork(&kit, Some(dir.path().to_path_buf()), Some(&media(7)), None).await;
        let inv = invitation();
        let spec = spec_of(&inv);
        let on_art = kit.render(spec.clone(), art.as_deref()).unwrap();
        let on_gradient = kit.render(spec, None).unwrap();
        // Below the white card (y 1830..1920) the artwork shows unshaded.
        let pixel = |png: &[u8]| {
            image::load_from_memory(png)
                .unwrap()
                .to_rgb8()
                .get_pixel(20, 1900)
                .0
        };
        let p = pixel(&on_art);
        assert!(p[0] > 180 && p[1] < 60 && p[2] < 60, "{p:?}");
        assert_ne!(pixel(&on_gradient), p);
    }
}
