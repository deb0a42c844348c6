//! What every invitation poster of a device shares, loaded once: the Chinese
//! font, and the artwork (the data directory's override file, or the
//! company's template decoded once per media id and cached on disk so posters
//! keep it offline). The one module of this crate that reads and writes files;
//! fetching the template's bytes is the caller's (it knows the server).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

pub use crate::fonts::Font;
use warmlead_core::domain::Company;
use warmlead_core::invite::slogan_of;

use crate::fonts::{load_font_file, load_system_font, preferred_face};
use crate::{
    render_poster_on, render_share_poster, Artwork, MediaError, PosterSpec, SharePosterSpec,
};

const INVITE_LINE: &str = "邀请你成为合作伙伴";
/// Under the share poster's QR. Posters are for Chinese chats, like the
/// invitation poster's lines.
const SHARE_HINT: &str = "长按识别二维码，查看全文";
/// The folder of the data directory where images for posters (covers,
/// logos) are kept by media key, so posters keep them offline.
const MEDIA_CACHE_DIR: &str = "media-cache";
const CODE_LABEL: &str = "邀请码";
/// A local override of the company's artwork in the data directory (kept
/// from before the company template: handy to try an artwork out).
const ARTWORK_FILES: [&str; 2] = ["poster-artwork.jpg", "poster-artwork.png"];
/// The company template's bytes, cached as `poster-artwork-{media id}` in
/// the data directory so posters keep their artwork offline.
const TEMPLATE_PREFIX: &str = "poster-artwork-";

/// The company template decoded for one media id; `None` inside when its
/// bytes would not decode (the gradient then, without retrying each poster).
type TemplateSlot = Mutex<Option<(i64, Option<Arc<Artwork>>)>>;

/// The invitation poster's content: the QR of `url`, the short code, the
/// rep and the company, with the company's slogan (or the neutral default).
pub fn invitation_spec(
    url: &str,
    short_code: &str,
    rep_name: &str,
    company: &Company,
) -> PosterSpec {
    PosterSpec {
        url: url.into(),
        short_code: short_code.into(),
        code_label: CODE_LABEL.into(),
        rep_name: rep_name.into(),
        invite_line: INVITE_LINE.into(),
        slogan: slogan_of(company).into(),
        company_name: company.name.clone(),
        rep_photo: None,
        background: None,
        logo: None,
        font_index: 0,
    }
}

/// The share poster's content: the QR of the sharer's tracked `url`, the
/// item's title, who recommends it and the company; the caller adds the
/// cover's and logo's bytes when it has them.
pub fn share_spec(url: &str, title: &str, sharer_name: &str, company: &Company) -> SharePosterSpec {
    SharePosterSpec {
        url: url.into(),
        title: title.into(),
        sharer_line: format!("{sharer_name} 推荐给你"),
        company_name: company.name.clone(),
        hint: SHARE_HINT.into(),
        cover: None,
        logo: None,
        font_index: 0,
    }
}

/// The cached bytes of the media `key` (a cover, a logo), if any.
pub fn cached_media(data_dir: &Path, key: &str) -> Option<Vec<u8>> {
    std::fs::read(media_cache_path(data_dir, key)?).ok()
}

/// Keeps the bytes of media `key` for posters made offline (whole or not at
/// all: written aside, then renamed).
pub fn cache_media(data_dir: &Path, key: &str, bytes: &[u8]) -> std::io::Result<()> {
    let path = media_cache_path(data_dir, key)
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a media key"))?;
    std::fs::create_dir_all(data_dir.join(MEDIA_CACHE_DIR))?;
    let tmp = path.with_extension("part");
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, &path)
}

/// Media keys are URL-safe base64; anything else (a path) has no cache file.
fn media_cache_path(data_dir: &Path, key: &str) -> Option<PathBuf> {
    let safe = !key.is_empty()
        && key.len() <= 64
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    safe.then(|| data_dir.join(MEDIA_CACHE_DIR).join(key))
}

/// The font and the artwork, each loaded and decoded once (decoding artwork
/// costs ~10 ms a poster otherwise). The artwork is, in order: the data
/// directory's override file, the company's template (decoded once per media
/// id; a new id reloads), the gradient.
#[derive(Default)]
pub struct PosterKit {
    font: OnceLock<Option<Font>>,
    local: OnceLock<Option<Arc<Artwork>>>,
    template: Templates,
}

impl PosterKit {
    /// The Chinese font, found once; None when none is installed.
    pub fn font(&self) -> Option<Font> {
        self.font.get_or_init(load_font).clone()
    }

    /// The override file of the data directory, decided once.
    pub fn local_artwork(&self, data_dir: Option<&Path>) -> Option<Arc<Artwork>> {
        self.local.get_or_init(|| load_artwork(data_dir?)).clone()
    }

    /// A handle on the company template, to use from a blocking task.
    pub fn templates(&self) -> Templates {
        self.template.clone()
    }

    /// Renders `spec` on the kit's font (its face index) and `art`, if any.
    pub fn render(
        &self,
        mut spec: PosterSpec,
        art: Option<&Artwork>,
    ) -> Result<Vec<u8>, MediaError> {
        let (font, index) = self.font().ok_or(MediaError::NoFont)?;
        spec.font_index = index;
        render_poster_on(&spec, &font, art)
    }

    /// Renders a share poster on the kit's font (its face index).
    pub fn render_share(&self, mut spec: SharePosterSpec) -> Result<Vec<u8>, MediaError> {
        let (font, index) = self.font().ok_or(MediaError::NoFont)?;
        spec.font_index = index;
        render_share_poster(&spec, &font)
    }
}

/// The company template: decoded in memory for one media id, its bytes
/// cached in the data directory. Cheap to clone (one shared slot).
#[derive(Clone, Default)]
pub struct Templates(Arc<TemplateSlot>);

impl Templates {
    /// The template of `id` decoded in memory or from its cached file; None
    /// when its bytes are in neither (to be fetched).
    pub fn cached(&self, dir: &Path, id: i64) -> Option<Option<Arc<Artwork>>> {
        if let Some((known, art)) = self.lock().as_ref() {
            if *known == id {
                return Some(art.clone());
            }
        }
        let bytes = std::fs::read(template_path(dir, id)).ok()?;
        Some(self.decode(id, &bytes))
    }

    /// Forgets the template, in memory and its cached files in `dir`: the
    /// app signed out and keeps nothing of the company's.
    pub fn wipe(&self, dir: &Path) -> std::io::Result<()> {
        *self.lock() = None;
        for entry in std::fs::read_dir(dir)?.flatten() {
            if entry
                .file_name()
                .to_string_lossy()
                .starts_with(TEMPLATE_PREFIX)
            {
                std::fs::remove_file(entry.path())?;
            }
        }
        Ok(())
    }

    /// Caches freshly fetched bytes of template `id` and decodes them.
    pub fn store(&self, dir: &Path, id: i64, bytes: &[u8]) -> Option<Arc<Artwork>> {
        if let Err(e) = cache_template(dir, id, bytes) {
            // Still usable for this poster; it is fetched again next time.
            tracing::warn!("poster artwork {id} not cached: {e}");
        }
        self.decode(id, bytes)
    }

    /// Decodes the template's bytes and keeps them as the slot's artwork.
    fn decode(&self, id: i64, bytes: &[u8]) -> Option<Arc<Artwork>> {
        let art = match Artwork::decode(bytes) {
            Ok(art) => Some(Arc::new(art)),
            Err(e) => {
                tracing::warn!("poster artwork {id} ignored: {e}");
                None
            }
        };
        *self.lock() = Some((id, art.clone()));
        art
    }

    fn lock(&self) -> MutexGuard<'_, Option<(i64, Option<Arc<Artwork>>)>> {
        // A panic mid-decode leaves at worst a stale slot: still usable.
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn template_path(dir: &Path, id: i64) -> PathBuf {
    dir.join(format!("{TEMPLATE_PREFIX}{id}"))
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

/// `WARMLEAD_POSTER_FONT` (face `WARMLEAD_POSTER_FONT_INDEX`) when set, else
/// the desktop's own Chinese font.
fn load_font() -> Option<Font> {
    if let Some(path) = std::env::var_os("WARMLEAD_POSTER_FONT") {
        let path = PathBuf::from(path);
        let index = std::env::var("WARMLEAD_POSTER_FONT_INDEX")
            .ok()
            .and_then(|i| i.parse().ok())
            .unwrap_or_else(|| preferred_face(&path));
        return load_font_file(&path, index);
    }
    load_system_font()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_is_cached_by_key_and_only_by_key() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(cached_media(dir.path(), "AbC-_9"), None);
        cache_media(dir.path(), "AbC-_9", b"cover").unwrap();
        assert_eq!(
            cached_media(dir.path(), "AbC-_9").as_deref(),
            Some(&b"cover"[..])
        );
        for bad in ["../x", "a/b", "", ".."] {
            assert!(cache_media(dir.path(), bad, b"x").is_err(), "{bad}");
            assert_eq!(cached_media(dir.path(), bad), None, "{bad}");
        }
    }

    #[test]
    fn the_share_poster_names_the_sharer_and_the_company() {
        let company = Company {
            id: 1,
            name: "某公司".into(),
            ..Company::default()
        };
        let spec = share_spec("https://r.example.com/s/t", "标题", "张三", &company);
        assert_eq!(spec.sharer_line, "张三 推荐给你");
        assert_eq!(spec.company_name, "某公司");
        assert_eq!((spec.cover, spec.logo), (None, None));
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

    #[test]
    fn wiping_forgets_the_company_template_on_disk_and_in_memory() {
        let dir = tempfile::tempdir().unwrap();
        let png = {
            let img = image::RgbImage::from_pixel(4, 4, image::Rgb([200, 30, 30]));
            let mut out = std::io::Cursor::new(Vec::new());
            img.write_to(&mut out, image::ImageFormat::Png).unwrap();
            out.into_inner()
        };
        std::fs::write(dir.path().join("poster-artwork.jpg"), b"override").unwrap();
        std::fs::write(dir.path().join("warmlead.sqlite"), b"db").unwrap();
        let templates = Templates::default();
        assert!(templates.store(dir.path(), 5, &png).is_some());
        assert!(matches!(templates.cached(dir.path(), 5), Some(Some(_))));
        templates.wipe(dir.path()).unwrap();
        assert_eq!(templates.cached(dir.path(), 5).map(|a| a.is_some()), None);
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        // The operator's own override and other files stay.
        assert_eq!(names, ["poster-artwork.jpg", "warmlead.sqlite"]);
    }
}
