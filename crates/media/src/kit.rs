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
use crate::{render_poster_on, Artwork, MediaError, PosterSpec};

const INVITE_LINE: &str = "邀请你成为合作伙伴";
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
        font_index: 0,
    }
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
