//! Recruiting: invitations (QR, SMS, poster) made on the server, the local
//! lists and dashboard read from the cache, and the poster rendered here.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use tauri::State;
use warmlead_core::domain::MediaRef;
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
/// A local override of the company's artwork in the data directory (kept
/// from before the company template: handy to try an artwork out).
const ARTWORK_FILES: [&str; 2] = ["poster-artwork.jpg", "poster-artwork.png"];
/// The company template's bytes, cached as `poster-artwork-{media id}` in
/// the data directory so posters keep their artwork offline.
const TEMPLATE_PREFIX: &str = "poster-artwork-";

/// The company template decoded for one media id; `None` inside when its
/// bytes would not decode (the gradient then, without retrying each poster).
type TemplateSlot = Mutex<Option<(i64, Option<Arc<Artwork>>)>>;

/// What every poster shares: the font and the artwork, each loaded and
/// decoded once (decoding artwork costs ~10 ms a poster otherwise). The
/// artwork is, in order: the data directory's override file, the company's
/// `poster_artwork` (decoded once per media id; a new id reloads), the
/// gradient.
#[derive(Default)]
pub struct PosterKit {
    font: OnceLock<Option<(Arc<Vec<u8>>, u32)>>,
    local: OnceLock<Option<Arc<Artwork>>>,
    template: Arc<TemplateSlot>,
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

    /// The override file of the data directory, decided once.
    fn local_artwork(&self, data_dir: Option<&Path>) -> Option<Arc<Artwork>> {
        self.local.get_or_init(|| load_artwork(data_dir?)).clone()
    }

    /// The poster's artwork: the override, else the company template of
    /// `media` (from memory, the data directory's cache, or the server, whose
    /// bytes are then cached), else None for the gradient. Never an error:
    /// offline without cached bytes is the gradient.
    async fn artwork(
        &self,
        data_dir: Option<PathBuf>,
        media: Option<&MediaRef>,
        client: Option<&Client>,
    ) -> Option<Arc<Artwork>> {
        if let Some(art) = self.local_artwork(data_dir.as_deref()) {
            return Some(art);
        }
        let (dir, id) = (data_dir?, media?.id);
        if let Some(known) = self.cached_template(&dir, id).await {
            return known;
        }
        let bytes = match client?.fetch_media(id).await {
            Ok(bytes) => bytes,
            Err(e) => {
                tracing::warn!("poster artwork {id} not fetched, the gradient instead: {e}");
                return None;
            }
        };
        let slot = self.template.clone();
        tauri::async_runtime::spawn_blocking(move || {
            if let Err(e) = cache_template(&dir, id, &bytes) {
                // Still usable for this poster; it is fetched again next time.
                tracing::warn!("poster artwork {id} not cached: {e}");
            }
            decode_template(&slot, id, &bytes)
        })
        .await
        .ok()
        .flatten()
    }

    /// The template of `id` decoded in memory or from its cached file; None
    /// when its bytes are in neither (to be fetched).
    async fn cached_template(&self, dir: &Path, id: i64) -> Option<Option<Arc<Artwork>>> {
        let (slot, dir) = (self.template.clone(), dir.to_path_buf());
        tauri::async_runtime::spawn_blocking(move || template_from_cache(&slot, &dir, id))
            .await
            .ok()
            .flatten()
    }
}

fn template_path(dir: &Path, id: i64) -> PathBuf {
    dir.join(format!("{TEMPLATE_PREFIX}{id}"))
}

fn template_from_cache(slot: &TemplateSlot, dir: &Path, id: i64) -> Option<Option<Arc<Artwork>>> {
    if let Some((known, art)) = lock(slot).as_ref() {
        if *known == id {
            return Some(art.clone());
        }
    }
    let bytes = std::fs::read(template_path(dir, id)).ok()?;
    Some(decode_template(slot, id, &bytes))
}

/// Decodes the template's bytes and keeps them as the slot's artwork.
fn decode_template(slot: &TemplateSlot, id: i64, bytes: &[u8]) -> Option<Arc<Artwork>> {
    let art = match Artwork::decode(bytes) {
        Ok(art) => Some(Arc::new(art)),
        Err(e) => {
            tracing::warn!("poster artwork {id} ignored: {e}");
            None
        }
    };
    *lock(slot) = Some((id, art.clone()));
    art
}

fn lock(slot: &TemplateSlot) -> std::sync::MutexGuard<'_, Option<(i64, Option<Arc<Artwork>>)>> {
    // A panic mid-decode leaves at worst a stale slot: still usable.
    slot.lock().unwrap_or_else(|p| p.into_inner())
}

/// Writes the bytes of template `id` (whole or not at all) and removes the
/// cached bytes of earlier templates.
fn cache_template(dir: &Path, id: i64, bytes: &[u8]) -> std::io::Result<()> {
    let path = template_path(dir, id);
    let tmp = dir.join(format!("{TEMPLATE_PREFIX}{id}.part"));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, &path)?;
    for entry in std::fs::read_dir(dir)?.flatten() {
        let name = entry.file_name();
        let old = name
            .to_str()
            .and_then(|n| n.strip_prefix(TEMPLATE_PREFIX))
            .is_some_and(|rest| rest.parse::<i64>().is_ok_and(|other| other != id));
        if old {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    Ok(())
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

fn load_artwork(dir: &Path) -> Option<Arc<Artwork>> {
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
    let server = client(&state).await?;
    let invitation = server.create_invitation(&req).await?;
    let invitation = keep(&state, invitation).await?;
    let spec = poster_spec(&invitation, &session.user.name, &session.company.name);
    let font = kit.font()?;
    let data_dir = state.db_path.parent().map(PathBuf::from);
    let art = kit
        .artwork(
            data_dir,
            session.company.poster_artwork.as_ref(),
            Some(&server),
        )
        .await;
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

    #[test]
    fn renders_a_poster_of_the_invitation_with_the_system_font() {
        let kit = PosterKit::default();
        let Ok(font) = kit.font() else {
            eprintln!("SKIPPED: no Chinese font installed (fonts-noto-cjk)");
            return;
        };
        let inv = invitation();
        // No artwork in an empty directory: the gradient, decided once.
        let dir = tempfile::tempdir().unwrap();
        assert!(kit.local_artwork(Some(dir.path())).is_none());
        let png = render(poster_spec(&inv, "李明", "暖居装修"), &font, None).unwrap();
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

    fn media(id: i64) -> MediaRef {
        MediaRef {
            id,
            content_type: "image/png".into(),
            size: 1,
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
        let seven = kit.artwork(data.clone(), Some(&media(7)), None).await;
        let seven = seven.expect("the cached template");
        // Decoded once: the file is not read again for the same id.
        std::fs::remove_file(dir.path().join("poster-artwork-7")).unwrap();
        let again = kit.artwork(data.clone(), Some(&media(7)), None).await;
        assert!(Arc::ptr_eq(&seven, &again.unwrap()));

        // A new id with no cached bytes, offline: the gradient, no error.
        assert!(kit
            .artwork(data.clone(), Some(&media(8)), None)
            .await
            .is_none());
        // No template at all: the gradient.
        assert!(kit.artwork(data.clone(), None, None).await.is_none());

        // Another id reloads from its own file.
        std::fs::write(
            dir.path().join("poster-artwork-9"),
            solid_png([30, 30, 200]),
        )
        .unwrap();
        let nine = kit
            .artwork(data.clone(), Some(&media(9)), None)
            .await
            .unwrap();
        assert!(!Arc::ptr_eq(&seven, &nine));

        // Bytes that are no image: the gradient.
        std::fs::write(dir.path().join("poster-artwork-10"), b"not an image").unwrap();
        assert!(kit.artwork(data, Some(&media(10)), None).await.is_none());
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
        let art = kit.artwork(data, Some(&media(7)), None).await.unwrap();
        assert!(Arc::ptr_eq(&local, &art));
    }

    #[test]
    fn caching_a_template_keeps_its_bytes_and_drops_older_ones() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("poster-artwork-3"), b"old").unwrap();
        std::fs::write(dir.path().join("poster-artwork.jpg"), b"override").unwrap();
        cache_template(dir.path(), 4, b"new").unwrap();
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["poster-artwork-4", "poster-artwork.jpg"]);
        assert_eq!(
            std::fs::read(dir.path().join("poster-artwork-4")).unwrap(),
            b"new"
        );
    }

    #[tokio::test]
    async fn the_poster_is_drawn_on_the_template() {
        let kit = PosterKit::default();
        let Ok(font) = kit.font() else {
            eprintln!("SKIPPED: no Chinese font installed (fonts-noto-cjk)");
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("poster-artwork-7"),
            solid_png([200, 30, 30]),
        )
        .unwrap();
        let art = kit
            .artwork(Some(dir.path().to_path_buf()), Some(&media(7)), None)
            .await;
        let inv = invitation();
        let spec = poster_spec(&inv, "李明", "暖居装修");
        let on_art = render(spec.clone(), &font, art.as_deref()).unwrap();
        let on_gradient = render(spec, &font, None).unwrap();
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
