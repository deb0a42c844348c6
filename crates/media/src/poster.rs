//! Invitation posters: a 1080x1920 PNG a rep saves and posts in chats or
//! prints. Top to bottom: company name, the slogan (wrapped), the rep's round
//! photo (or initial) and name, then a white card with a large QR of the
//! invitation URL and the short code to type.

use std::io::Cursor;

use ab_glyph::{FontRef, PxScale};
use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::{ExtendedColorType, ImageEncoder, Rgb, RgbImage};

use crate::raster;
use crate::text::{self, Pen};
use crate::MediaError;

pub const POSTER_WIDTH: u32 = 1080;
pub const POSTER_HEIGHT: u32 = 1920;

/// What goes on a poster. Texts are drawn as given (control characters
/// dropped, long ones shrunk, wrapped or cut with "…"); images are PNG or
/// JPEG bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PosterSpec {
    /// Encoded in the QR: the invitation or share URL.
    pub url: String,
    /// The code to type when scanning is not possible, shown under the QR.
    pub short_code: String,
    /// Label before the short code, e.g. "邀请码".
    pub code_label: String,
    pub rep_name: String,
    /// Under the rep's name, e.g. "邀请你成为合作伙伴"; may be empty.
    pub invite_line: String,
    /// The company's slogan, in Chinese; wrapped to at most three lines.
    pub slogan: String,
    pub company_name: String,
    /// The rep's photo, cut to a circle; None draws the name's first letter.
    pub rep_photo: Option<Vec<u8>>,
    /// The company's artwork, scaled to cover the poster; None draws a warm gradient.
    pub background: Option<Vec<u8>>,
    /// The company's logo, drawn round before its name; None: the name alone.
    pub logo: Option<Vec<u8>>,
    /// Which face of a font collection (.ttc) to use; 0 for a plain font.
    /// For Noto Sans CJK (NotoSansCJK-Regular.ttc) 2 is Simplified Chinese.
    pub font_index: u32,
}

const W: f32 = POSTER_WIDTH as f32;
const CX: f32 = W / 2.0;
const TEXT_W: f32 = 920.0;
const WHITE: Rgb<u8> = Rgb([255, 255, 255]);
const INK: Rgb<u8> = Rgb([34, 34, 34]);
const SHADOW: Rgb<u8> = Rgb([0, 0, 0]);

// The card holding the QR: [x, y, w, h].
const CARD: [u32; 4] = [170, 1000, 740, 830];
const QR_SIDE: u32 = 660;
const QR_TOP: u32 = 1030;

/// Renders the poster as PNG. `font` is the bytes of a TrueType/OpenType
/// font or collection that has the glyphs of the texts (the caller loads it).
pub fn render_poster(spec: &PosterSpec, font: &[u8]) -> Result<Vec<u8>, MediaError> {
    let art = spec
        .background
        .as_deref()
        .map(Artwork::decode)
        .transpose()?;
    render_poster_on(spec, font, art.as_ref())
}

/// Like `render_poster`, on artwork decoded beforehand (`spec.background` is
/// then not read). A rep's company artwork is the same on every poster:
/// decoding it once saves the JPEG decode (~10 ms) on each render.
pub fn render_poster_on(
    spec: &PosterSpec,
    font: &[u8],
    art: Option<&Artwork>,
) -> Result<Vec<u8>, MediaError> {
    let font = FontRef::try_from_slice_and_index(font, spec.font_index)
        .map_err(|_| MediaError::BadFont(spec.font_index))?;
    let mut img = background(art);
    draw_header(&mut img, &font, spec)?;
    draw_rep(&mut img, &font, spec)?;
    draw_card(&mut img, &font, spec)?;
    encode_png(&img)
}

/// A company's artwork, decoded, scaled to cover the poster and shaded
/// where the white text goes.
#[derive(Debug, Clone)]
pub struct Artwork(RgbImage);

impl Artwork {
    /// From PNG or JPEG bytes.
    pub fn decode(bytes: &[u8]) -> Result<Artwork, MediaError> {
        let art = raster::decode(bytes, "background")?;
        let mut img = raster::cover(art, POSTER_WIDTH, POSTER_HEIGHT);
        shade_text_area(&mut img);
        Ok(Artwork(img))
    }
}

/// Artwork can be light anywhere: the top is shaded, most at the slogan,
/// fading out towards the card (evenly shading it all confuses QR readers:
/// the rep's ringed photo on a dark field looks like a finder pattern).
fn shade_text_area(img: &mut RgbImage) {
    raster::shade(img, 0, 1000, 0.55);
}

/// What the poster is drawn on: the company's artwork (shaded when it was
/// decoded), else the gradient.
fn background(art: Option<&Artwork>) -> RgbImage {
    match art {
        Some(art) => art.0.clone(),
        None => raster::gradient(POSTER_WIDTH, POSTER_HEIGHT),
    }
}

/// How dark the backdrop behind the small white lines (company name, rep
/// name, invitation line) is: on a pure white artwork white text then has
/// 4.7:1, above the 4.5:1 small text needs (WCAG AA).
const BACKDROP_ALPHA: f32 = 0.55;

/// A rounded dark backdrop `[x, y, w, h]` behind small white text.
fn backdrop(img: &mut RgbImage, rect: [u32; 4]) {
    raster::rounded_rect(
        img,
        rect,
        (rect[3] as f32 / 2.0).min(28.0),
        SHADOW,
        BACKDROP_ALPHA,
    );
}

/// The box around text spanning `left..right` horizontally and from
/// `top` to `bottom`, padded.
fn padded(left: f32, right: f32, top: f32, bottom: f32) -> [u32; 4] {
    const PAD_X: f32 = 28.0;
    const PAD_Y: f32 = 14.0;
    let x = (left - PAD_X).max(0.0);
    let y = (top - PAD_Y).max(0.0);
    [
        x as u32,
        y as u32,
        (right + PAD_X - x).min(W - x) as u32,
        (bottom + PAD_Y - y) as u32,
    ]
}

/// White text with a soft shadow, readable on artwork and gradient alike.
fn shadowed(img: &mut RgbImage, font: &FontRef, scale: PxScale, s: &str, baseline: f32) {
    let pen = Pen {
        scale,
        color: WHITE,
        opacity: 1.0,
        shadow: Some((2, 3, SHADOW, 0.25)),
    };
    text::draw_centered(img, font, pen, s, CX, baseline);
}

/// The company logo's diameter at the top.
const LOGO_D: f32 = 72.0;

/// Company name (after its round logo, if any), then the slogan in up to
/// three lines.
fn draw_header(img: &mut RgbImage, font: &FontRef, spec: &PosterSpec) -> Result<(), MediaError> {
    let company = text::clean(&spec.company_name, 80, false);
    let logo_w = if spec.logo.is_some() {
        LOGO_D + 20.0
    } else {
        0.0
    };
    let (scale, line) = text::fit_line(font, &company, 44.0, 28.0, TEXT_W - logo_w);
    let text_w = text::width(font, scale, &line);
    let left = CX - (logo_w + text_w) / 2.0;
    let ascent = text::ascent(font, scale);
    let logo_top = 130.0 - ascent * 0.35 - (LOGO_D + 6.0) / 2.0;
    let logo_bottom = logo_top + LOGO_D + 6.0;
    let (top, bottom) = if spec.logo.is_some() {
        (
            logo_top.min(130.0 - ascent),
            logo_bottom.max(130.0 + ascent * 0.3),
        )
    } else {
        (130.0 - ascent, 130.0 + ascent * 0.3)
    };
    backdrop(img, padded(left, left + logo_w + text_w, top, bottom));
    if let Some(bytes) = &spec.logo {
        let logo = raster::decode(bytes, "logo")?;
        let cy = 130.0 - text::ascent(font, scale) * 0.35;
        raster::disc(img, left + LOGO_D / 2.0, cy, LOGO_D + 6.0, WHITE, 1.0);
        raster::round_photo(img, logo, left + LOGO_D / 2.0, cy, LOGO_D as u32);
    }
    let pen = Pen {
        scale,
        color: WHITE,
        opacity: 1.0,
        shadow: Some((2, 3, SHADOW, 0.25)),
    };
    text::draw(img, font, pen, &line, left + logo_w, 130.0);

    let slogan = text::clean(&spec.slogan, 300, true);
    let scale = PxScale::from(84.0);
    let lines = text::wrap(font, scale, &slogan, TEXT_W, 3);
    let ascent = text::ascent(font, scale);
    for (i, line) in lines.iter().enumerate() {
        shadowed(img, font, scale, line, 220.0 + ascent + i as f32 * 112.0);
    }
    Ok(())
}

/// The rep: a round photo (or the name's first letter on a disc) with a white
/// ring, the name, and the invitation line.
fn draw_rep(img: &mut RgbImage, font: &FontRef, spec: &PosterSpec) -> Result<(), MediaError> {
    let name = text::clean(&spec.rep_name, 80, false);
    let (cy, d) = (690.0, 170.0);
    raster::disc(img, CX, cy, d + 12.0, WHITE, 1.0);
    match &spec.rep_photo {
        Some(bytes) => {
            let photo = raster::decode(bytes, "photo")?;
            raster::round_photo(img, photo, CX, cy, d as u32);
        }
        None => initial(img, font, &name, cy, d),
    }
    let (name_scale, name_line) = text::fit_line(font, &name, 60.0, 32.0, TEXT_W);
    let invite = text::clean(&spec.invite_line, 80, false);
    let (scale, line) = text::fit_line(font, &invite, 38.0, 26.0, TEXT_W);
    let widest = text::width(font, name_scale, &name_line).max(text::width(font, scale, &line));
    backdrop(
        img,
        rep_backdrop(
            widest,
            text::ascent(font, name_scale),
            text::ascent(font, scale),
        ),
    );
    shadowed(img, font, name_scale, &name_line, 850.0);
    shadowed(img, font, scale, &line, 920.0);
    Ok(())
}

/// The backdrop of the rep's name (baseline 850) and invitation line
/// (baseline 920), centred, as wide as the wider of the two.
fn rep_backdrop(widest: f32, name_ascent: f32, line_ascent: f32) -> [u32; 4] {
    padded(
        CX - widest / 2.0,
        CX + widest / 2.0,
        850.0 - name_ascent,
        920.0 + line_ascent * 0.3,
    )
}

/// The first letter of the name, large, on a warm disc: a face for reps
/// without a photo.
fn initial(img: &mut RgbImage, font: &FontRef, name: &str, cy: f32, d: f32) {
    raster::disc(img, CX, cy, d, Rgb([255, 138, 76]), 1.0);
    let first: String = name.chars().take(1).collect();
    let scale = PxScale::from(d * 0.55);
    let baseline = cy + text::ascent(font, scale) * 0.4;
    text::draw_centered(
        img,
        font,
        Pen {
            scale,
            color: WHITE,
            opacity: 1.0,
            shadow: None,
        },
        &first,
        CX,
        baseline,
    );
}

/// The white card: a faint shadow, the QR with its quiet zone, the code.
fn draw_card(img: &mut RgbImage, font: &FontRef, spec: &PosterSpec) -> Result<(), MediaError> {
    let [x, y, w, h] = CARD;
    raster::rounded_rect(img, [x + 4, y + 10, w, h], 36.0, SHADOW, 0.18);
    raster::rounded_rect(img, CARD, 36.0, WHITE, 1.0);
    let qr_x = (POSTER_WIDTH - QR_SIDE) / 2;
    raster::qr(img, &spec.url, qr_x, QR_TOP, QR_SIDE)?;

    let code = text::clean(&spec.short_code, 40, false);
    let label = text::clean(&spec.code_label, 20, false);
    let line = if label.is_empty() {
        code
    } else {
        format!("{label}  {code}")
    };
    let (scale, line) = text::fit_line(font, &line, 52.0, 30.0, w as f32 - 80.0);
    let pen = Pen {
        scale,
        color: INK,
        opacity: 1.0,
        shadow: None,
    };
    text::draw_centered(img, font, pen, &line, CX, (QR_TOP + QR_SIDE) as f32 + 80.0);
    Ok(())
}

/// PNG with fast compression and one filter for every row: the poster is
/// mostly flat colour and smooth gradients, which "Up" predicts well, and
/// the adaptive filter search would otherwise be the bulk of render time.
pub(crate) fn encode_png(img: &RgbImage) -> Result<Vec<u8>, MediaError> {
    let mut png = Vec::new();
    PngEncoder::new_with_quality(
        Cursor::new(&mut png),
        CompressionType::Fast,
        FilterType::Adaptive,
    )
    .write_image(
        img.as_raw(),
        img.width(),
        img.height(),
        ExtendedColorType::Rgb8,
    )?;
    Ok(png)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raster::{contrast, solid_png as png};

    const FONT: &str = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc";

    /// Small white text on an invitation poster (issue 19): on the
    /// lightest artwork a company can upload, a pale one and the default
    /// gradient, the backdrops behind the company name and the rep's lines
    /// give white at least 4.5:1 all round the text.
    #[test]
    fn small_white_text_keeps_its_contrast_on_any_background() {
        let font_bytes = std::fs::read(FONT).unwrap_or_else(|e| {
            panic!("cannot read {FONT} ({e}): install fonts-noto-cjk (`cargo xtask setup`)")
        });
        let font = FontRef::try_from_slice_and_index(&font_bytes, 0).unwrap();
        let spec = PosterSpec {
            url: "https://r.example.com/i/x".into(),
            short_code: "K7Q2-M9XD".into(),
            code_label: "邀请码".into(),
            rep_name: "王晓明".into(),
            company_name: "青松家政".into(),
            invite_line: "邀请你成为合作伙伴".into(),
            slogan: "口号".into(),
            ..PosterSpec::default()
        };
        let white = Artwork::decode(&png(WHITE)).unwrap();
        let pale = Artwork::decode(&png(Rgb([255, 230, 180]))).unwrap();
        for (what, art) in [
            ("white", Some(&white)),
            ("pale", Some(&pale)),
            ("gradient", None),
        ] {
            let mut img = background(art);
            draw_header(&mut img, &font, &spec).unwrap();
            draw_rep(&mut img, &font, &spec).unwrap();
            // Inside each backdrop's padding, above and below the text.
            let (scale, line) = text::fit_line(&font, "王晓明", 60.0, 32.0, TEXT_W);
            let (s2, l2) = text::fit_line(&font, "邀请你成为合作伙伴", 38.0, 26.0, TEXT_W);
            let widest = text::width(&font, scale, &line).max(text::width(&font, s2, &l2));
            let [x, y, w, h] =
                rep_backdrop(widest, text::ascent(&font, scale), text::ascent(&font, s2));
            let ascent = text::ascent(&font, PxScale::from(44.0));
            for (px, py) in [
                (x + w / 2, y + 4),
                (x + w / 2, y + h - 5),
                (x + 30, y + h / 2),
                (CX as u32, (130.0 - ascent) as u32 - 8),
            ] {
                let c = contrast(WHITE, *img.get_pixel(px, py));
                assert!(c >= 4.5, "{what}: ({px}, {py}) gives white {c:.2}:1");
            }
        }
    }
}
