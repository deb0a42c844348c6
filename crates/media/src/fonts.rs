//! Where a Chinese font is on each desktop. Posters are drawn on the user's
//! own system font (a CJK font is ~20 MB: too big to ship): a pure list of
//! candidate paths per platform, then loading the first that holds the
//! poster's characters, choosing the right face of a collection (.ttc).

use std::path::PathBuf;
use std::sync::Arc;

use ab_glyph::{Font as _, FontRef};

/// The desktops the app runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Os {
    Windows,
    MacOs,
    Linux,
}

impl Os {
    /// The platform this build runs on (other Unixes look like Linux).
    pub fn current() -> Os {
        if cfg!(target_os = "windows") {
            Os::Windows
        } else if cfg!(target_os = "macos") {
            Os::MacOs
        } else {
            Os::Linux
        }
    }
}

/// Font bytes and the face index to use in them.
pub type Font = (Arc<Vec<u8>>, u32);

/// More faces than any system collection holds (PingFang has 12 or so).
const MAX_FACES: u32 = 64;

/// Characters every poster draws: a face without them is not a Chinese face.
pub const PROBE: &str = "邀请码推荐合伙人";

const WINDOWS: [&str; 5] = [
    r"C:\Windows\Fonts\msyh.ttc",
    r"C:\Windows\Fonts\msyh.ttf",
    r"C:\Windows\Fonts\simhei.ttf",
    r"C:\Windows\Fonts\simsun.ttc",
    r"C:\Windows\Fonts\Deng.ttf",
];
const MACOS: [&str; 7] = [
    "/System/Library/Fonts/PingFang.ttc",
    "/System/Library/Fonts/STHeiti Medium.ttc",
    "/System/Library/Fonts/STHeiti Light.ttc",
    "/System/Library/Fonts/Hiragino Sans GB.ttc",
    "/Library/Fonts/Hiragino Sans GB.ttc",
    "/Library/Fonts/Arial Unicode.ttf",
    "/System/Library/Fonts/Supplemental/Arial Unicode.ttf",
];
const LINUX: [&str; 8] = [
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/wenquanyi/wqy-microhei/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
];

/// Where a Chinese font usually is on `os`, best first. On Linux, `fc-match`
/// (see [`load_system_font`]) is asked after these.
pub fn font_candidates(os: Os) -> Vec<PathBuf> {
    let list: &[&str] = match os {
        Os::Windows => &WINDOWS,
        Os::MacOs => &MACOS,
        Os::Linux => &LINUX,
    };
    list.iter().map(PathBuf::from).collect()
}

/// The face to try first in a file: the Noto CJK collections put Simplified
/// Chinese at 2 (0 is Japanese, whose glyph shapes differ); others at 0.
pub fn preferred_face(path: &std::path::Path) -> u32 {
    let name = path.to_string_lossy();
    if name.contains("NotoSansCJK") || name.contains("NotoSerifCJK") {
        2
    } else {
        0
    }
}

/// Whether face `index` of `bytes` loads and has a glyph for every [`PROBE`]
/// character.
pub fn face_covers(bytes: &[u8], index: u32) -> bool {
    FontRef::try_from_slice_and_index(bytes, index)
        .is_ok_and(|f| PROBE.chars().all(|c| f.glyph_id(c).0 != 0))
}

/// The face of `bytes` to draw with: `preferred` when it covers the probe,
/// else the first face of the collection that does.
pub fn choose_face(bytes: &[u8], preferred: u32) -> Option<u32> {
    if face_covers(bytes, preferred) {
        return Some(preferred);
    }
    // A collection's faces are 0..n: the first index that fails to load ends it.
    (0..MAX_FACES)
        .take_while(|i| FontRef::try_from_slice_and_index(bytes, *i).is_ok())
        .find(|i| face_covers(bytes, *i))
}

/// Reads `path` and picks its face; None when unreadable or not Chinese.
pub fn load_font_file(path: &std::path::Path, preferred: u32) -> Option<Font> {
    let bytes = std::fs::read(path).ok()?;
    let face = choose_face(&bytes, preferred)?;
    Some((Arc::new(bytes), face))
}

/// The first usable Chinese font of this desktop: the candidates of its
/// platform, then (Linux) what fontconfig suggests for Chinese.
pub fn load_system_font() -> Option<Font> {
    let os = Os::current();
    let found = font_candidates(os)
        .into_iter()
        .find_map(|p| load_font_file(&p, preferred_face(&p)));
    found.or_else(|| (os == Os::Linux).then(fc_match).flatten())
}

/// `fc-match` for a Simplified Chinese sans face: "path:index".
fn fc_match() -> Option<Font> {
    let out = std::process::Command::new("fc-match")
        .args(["-f", "%{file}:%{index}", "sans-serif:lang=zh-cn"])
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    let (file, index) = text.trim().rsplit_once(':')?;
    load_font_file(std::path::Path::new(file), index.parse().unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(os: Os) -> Vec<String> {
        font_candidates(os)
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn windows_candidates_are_its_chinese_system_fonts() {
        let n = names(Os::Windows);
        assert_eq!(n[0], r"C:\Windows\Fonts\msyh.ttc", "Microsoft YaHei first");
        for f in ["simhei.ttf", "simsun.ttc"] {
            assert!(n.iter().any(|p| p.ends_with(f)), "{f} in {n:?}");
        }
        assert!(n.iter().all(|p| p.starts_with(r"C:\Windows\Fonts\")));
    }

    #[test]
    fn macos_candidates_are_its_chinese_system_fonts() {
        let n = names(Os::MacOs);
        assert_eq!(n[0], "/System/Library/Fonts/PingFang.ttc");
        for f in [
            "STHeiti",
            "Hiragino Sans GB",
            "/Library/Fonts/Arial Unicode.ttf",
        ] {
            assert!(n.iter().any(|p| p.contains(f)), "{f} in {n:?}");
        }
        assert!(n.iter().all(|p| !p.contains('\\') && p.starts_with('/')));
    }

    #[test]
    fn linux_candidates_are_noto_cjk_then_wenquanyi() {
        let n = names(Os::Linux);
        assert!(n[0].contains("NotoSansCJK"), "{n:?}");
        assert!(n.iter().any(|p| p.contains("wqy")), "{n:?}");
        assert!(n.iter().all(|p| p.starts_with("/usr/share/fonts/")));
    }

    #[test]
    fn noto_collections_prefer_simplified_chinese() {
        let noto = std::path::Path::new("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc");
        assert_eq!(preferred_face(noto), 2);
        assert_eq!(
            preferred_face(std::path::Path::new(r"C:\Windows\Fonts\msyh.ttc")),
            0
        );
    }

    /// A TrueType collection loads at the right face. This machine's own
    /// font must be there: `cargo xtask setup` installs fonts-noto-cjk.
    #[test]
    fn the_noto_collection_loads_its_simplified_chinese_face() {
        let path = std::path::Path::new(LINUX[0]);
        let bytes = std::fs::read(path).unwrap_or_else(|e| {
            panic!(
                "{} missing ({e}): install fonts-noto-cjk (`cargo xtask setup`)",
                path.display()
            )
        });
        assert_eq!(choose_face(&bytes, 2), Some(2));
        // A face index past the collection's end falls back to one that covers.
        let fallback = choose_face(&bytes, 99).expect("some face covers Chinese");
        assert!(face_covers(&bytes, fallback));
        let (_, face) = load_font_file(path, preferred_face(path)).unwrap();
        assert_eq!(face, 2);
        if Os::current() == Os::Linux {
            assert!(load_system_font().is_some(), "the system font is found");
        }
    }

    #[test]
    fn not_a_font_is_no_face() {
        assert_eq!(choose_face(b"not a font", 0), None);
    }
}
