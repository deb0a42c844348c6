//! Text on the poster: cleaning what people typed, measuring, wrapping
//! (CJK breaks between any two characters, Latin at spaces) and drawing
//! with anti-aliasing. Drawing is clipped to the canvas, so no text, however
//! long or strange, can write outside it.

use ab_glyph::{point, Font, FontRef, GlyphId, PxScale, ScaleFont};
use image::{Rgb, RgbImage};

use crate::raster::blend;

const ELLIPSIS: char = '…';

/// What we draw of `s`: at most `max_chars` characters, without control or
/// bidi-override characters (a hostile name must not reorder or hide the
/// rest); newlines kept only when `keep_newlines`, else they become spaces.
/// A cut text ends in "…".
pub(crate) fn clean(s: &str, max_chars: usize, keep_newlines: bool) -> String {
    let mut kept = s.chars().filter_map(|c| match c {
        '\n' if keep_newlines => Some('\n'),
        '\n' | '\t' | '\r' | '\u{3000}' => Some(' '),
        c if c.is_control() || is_invisible_format(c) => None,
        c => Some(c),
    });
    let mut out: String = kept.by_ref().take(max_chars).collect();
    if kept.next().is_some() {
        out.push(ELLIPSIS);
    }
    out.trim().to_string()
}

/// Bidi overrides/isolates and zero-width characters.
fn is_invisible_format(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}')
}

/// The glyph of `c`, or None when the font has none (we skip it rather than
/// draw a box).
fn glyph(font: &FontRef, c: char) -> Option<GlyphId> {
    let id = font.glyph_id(c);
    (id.0 != 0).then_some(id)
}

fn advance(font: &FontRef, scale: PxScale, c: char) -> f32 {
    glyph(font, c).map_or(0.0, |id| font.as_scaled(scale).h_advance(id))
}

pub(crate) fn width(font: &FontRef, scale: PxScale, s: &str) -> f32 {
    s.chars().map(|c| advance(font, scale, c)).sum()
}

/// Wide (CJK) characters may break before and after them.
fn is_wide(c: char) -> bool {
    ('\u{2E80}'..='\u{9FFF}').contains(&c)
        || ('\u{AC00}'..='\u{D7AF}').contains(&c)
        || ('\u{F900}'..='\u{FAFF}').contains(&c)
        || ('\u{FF00}'..='\u{FFEF}').contains(&c)
}

/// Punctuation that must not start a line (kinsoku): it stays on the line
/// before, even if that line gets one character too wide.
fn is_closing(c: char) -> bool {
    "，。！？、；：」』）》〉】”’,.!?;:)".contains(c)
}

/// Splits `text` into lines no wider than `max_w` (a closing punctuation mark
/// may hang), at most `max_lines`; the last line ends in "…" when text was cut.
pub(crate) fn wrap(
    font: &FontRef,
    scale: PxScale,
    text: &str,
    max_w: f32,
    max_lines: usize,
) -> Vec<String> {
    let mut lines = Vec::new();
    for para in text.split('\n') {
        wrap_paragraph(font, scale, para, max_w, &mut lines);
        if lines.len() > max_lines {
            break;
        }
    }
    if lines.len() > max_lines {
        lines.truncate(max_lines);
        let last = lines.pop().unwrap_or_default();
        lines.push(ellipsize(font, scale, &format!("{last}{ELLIPSIS}"), max_w));
    }
    lines.retain(|l| !l.is_empty());
    lines
}

fn wrap_paragraph(font: &FontRef, scale: PxScale, para: &str, max_w: f32, out: &mut Vec<String>) {
    let chars: Vec<char> = para.chars().collect();
    let (mut start, mut i, mut w) = (0, 0, 0.0);
    // Where the current line may end (exclusive), if anywhere yet.
    let mut brk: Option<usize> = None;
    while i < chars.len() {
        let c = chars[i];
        let adv = advance(font, scale, c);
        if w + adv > max_w && i > start && !is_closing(c) {
            // A space that overflows ends the line right there.
            let cut = if c == ' ' {
                i
            } else {
                brk.filter(|&b| b > start).unwrap_or(i)
            };
            out.push(
                chars[start..cut]
                    .iter()
                    .collect::<String>()
                    .trim()
                    .to_string(),
            );
            start = cut;
            while start < chars.len() && chars[start] == ' ' {
                start += 1;
            }
            (i, w, brk) = (start, 0.0, None);
            continue;
        }
        if is_wide(c) && !is_closing(c) {
            brk = Some(i);
        }
        w += adv;
        i += 1;
        if c == ' ' || is_wide(c) {
            brk = Some(i);
        }
    }
    if start < chars.len() {
        out.push(chars[start..].iter().collect::<String>().trim().to_string());
    }
}

/// `s` cut to fit `max_w`, ending in "…" when it was cut.
pub(crate) fn ellipsize(font: &FontRef, scale: PxScale, s: &str, max_w: f32) -> String {
    if width(font, scale, s) <= max_w {
        return s.to_string();
    }
    let room = max_w - advance(font, scale, ELLIPSIS);
    let mut out = String::new();
    let mut w = 0.0;
    for c in s.chars().filter(|&c| c != ELLIPSIS) {
        w += advance(font, scale, c);
        if w > room {
            break;
        }
        out.push(c);
    }
    out.push(ELLIPSIS);
    out
}

/// One line: the largest size from `max_px` down to `min_px` at which it
/// fits, cut with "…" if even the smallest does not.
pub(crate) fn fit_line(
    font: &FontRef,
    text: &str,
    max_px: f32,
    min_px: f32,
    max_w: f32,
) -> (PxScale, String) {
    let mut px = max_px;
    while px > min_px && width(font, PxScale::from(px), text) > max_w {
        px -= 4.0;
    }
    let scale = PxScale::from(px.max(min_px));
    (scale, ellipsize(font, scale, text, max_w))
}

/// How to draw a line of text.
#[derive(Clone, Copy)]
pub(crate) struct Pen {
    pub scale: PxScale,
    pub color: Rgb<u8>,
    /// 0..=1
    pub opacity: f32,
    /// Drawn first, offset by (dx, dy) pixels: (dx, dy, colour, opacity).
    pub shadow: Option<(i64, i64, Rgb<u8>, f32)>,
}

/// Draws `s` centred on `cx` with its baseline at `baseline`.
pub(crate) fn draw_centered(
    img: &mut RgbImage,
    font: &FontRef,
    pen: Pen,
    s: &str,
    cx: f32,
    baseline: f32,
) {
    let x = cx - width(font, pen.scale, s) / 2.0;
    draw(img, font, pen, s, x, baseline);
}

/// A glyph's coverage, rasterized once and drawn as shadow and as text.
struct Coverage {
    x: i64,
    y: i64,
    w: usize,
    cov: Vec<f32>,
}

/// Draws `s` from `x` with its baseline at `baseline`, clipped to the image.
pub(crate) fn draw(img: &mut RgbImage, font: &FontRef, pen: Pen, s: &str, x: f32, baseline: f32) {
    let glyphs = rasterize(font, pen.scale, s, x, baseline);
    if let Some((dx, dy, color, opacity)) = pen.shadow {
        glyphs
            .iter()
            .for_each(|g| blit(img, g, dx, dy, color, opacity));
    }
    glyphs
        .iter()
        .for_each(|g| blit(img, g, 0, 0, pen.color, pen.opacity));
}

fn rasterize(font: &FontRef, scale: PxScale, s: &str, x: f32, baseline: f32) -> Vec<Coverage> {
    let scaled = font.as_scaled(scale);
    let mut caret = x;
    let mut out = Vec::new();
    for c in s.chars() {
        let Some(id) = glyph(font, c) else { continue };
        let g = id.with_scale_and_position(scale, point(caret, baseline));
        caret += scaled.h_advance(id);
        let Some(outline) = font.outline_glyph(g) else {
            continue;
        };
        let b = outline.px_bounds();
        let w = b.width() as usize;
        let mut cov = vec![0.0; w * b.height() as usize];
        outline.draw(|gx, gy, c| {
            if let Some(v) = cov.get_mut(gy as usize * w + gx as usize) {
                *v = c.clamp(0.0, 1.0);
            }
        });
        out.push(Coverage {
            x: b.min.x as i64,
            y: b.min.y as i64,
            w,
            cov,
        });
    }
    out
}

fn blit(img: &mut RgbImage, g: &Coverage, dx: i64, dy: i64, color: Rgb<u8>, opacity: f32) {
    let (iw, ih) = (i64::from(img.width()), i64::from(img.height()));
    for (i, &c) in g.cov.iter().enumerate() {
        let px = g.x + dx + (i % g.w.max(1)) as i64;
        let py = g.y + dy + (i / g.w.max(1)) as i64;
        if c > 0.0 && px >= 0 && py >= 0 && px < iw && py < ih {
            blend(img.get_pixel_mut(px as u32, py as u32), color, c * opacity);
        }
    }
}

/// Ascent of the font at `scale`, for placing lines.
pub(crate) fn ascent(font: &FontRef, scale: PxScale) -> f32 {
    font.as_scaled(scale).ascent()
}

#[cfg(test)]
mod tests {
    use super::*;

    const FONT: &str = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc";

    fn with_font(f: impl FnOnce(&FontRef)) {
        match std::fs::read(FONT) {
            Ok(bytes) => f(&FontRef::try_from_slice_and_index(&bytes, 2).unwrap()),
            // A missing font is a failure, not a pass: the test would prove nothing.
            Err(e) => {
                panic!("cannot read {FONT} ({e}): install fonts-noto-cjk (`cargo xtask setup`)")
            }
        }
    }

    #[test]
    fn clean_drops_controls_and_bidi_and_marks_cuts() {
        assert_eq!(
            clean("\u{202E}王\u{0}小\u{200B}明\u{7}", 10, false),
            "王小明"
        );
        assert_eq!(clean("a\nb\tc", 10, false), "a b c");
        assert_eq!(clean("a\nb", 10, true), "a\nb");
        assert_eq!(clean("一二三四五", 3, false), "一二三…");
    }

    #[test]
    fn wraps_cjk_anywhere_latin_at_spaces_and_keeps_punctuation_on_the_line() {
        with_font(|font| {
            let scale = PxScale::from(40.0);
            let one = width(font, scale, "字");
            // Room for exactly four CJK characters.
            let lines = wrap(font, scale, "一二三四，五六七八", one * 4.0 + 1.0, 9);
            assert_eq!(lines, vec!["一二三四，", "五六七八"]);
            let room = width(font, scale, "hello world") + 1.0;
            let lines = wrap(font, scale, "hello world again", room, 9);
            assert_eq!(lines, vec!["hello world", "again"]);
            let lines = wrap(font, scale, &"x".repeat(100), room, 9);
            assert!(
                lines.iter().all(|l| width(font, scale, l) <= room),
                "{lines:?}"
            );
        });
    }

    #[test]
    fn wrap_stops_at_max_lines_with_an_ellipsis() {
        with_font(|font| {
            let scale = PxScale::from(40.0);
            let max_w = width(font, scale, "字") * 5.0 + 1.0;
            let lines = wrap(font, scale, &"字".repeat(100), max_w, 3);
            assert_eq!(lines.len(), 3);
            assert!(lines[2].ends_with(ELLIPSIS), "{lines:?}");
            assert!(
                lines.iter().all(|l| width(font, scale, l) <= max_w),
                "{lines:?}"
            );
        });
    }
}
