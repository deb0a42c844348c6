//! Share posters: a 1080x1920 PNG of one content item that a partner or rep
//! posts in a chat instead of a link. Top to bottom: the item's cover (or
//! the warm gradient) with the company's logo and name over it, the title,
//! who recommends it, then a large QR of the sharer's tracked link and a
//! hint to scan it. Drawn on the device, so it works offline.

use ab_glyph::{FontRef, PxScale};
use image::{Rgb, RgbImage};

use crate::poster::encode_png;
use crate::raster;
use crate::text::{self, Pen};
use crate::{MediaError, POSTER_HEIGHT, POSTER_WIDTH};

/// What goes on a share poster. Texts are drawn as given (control
/// characters dropped, long ones shrunk, wrapped or cut with "…"); images
/// are PNG or JPEG bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SharePosterSpec {
    /// Encoded in the QR: the sharer's tracked link.
    pub url: String,
    /// The item's title; wrapped to at most two lines.
    pub title: String,
    /// Who recommends it, as the reader should see it, e.g. "张三 推荐给你".
    pub sharer_line: String,
    pub company_name: String,
    /// Under the QR, e.g. "长按识别二维码，查看全文".
    pub hint: String,
    /// The item's cover (a poster item: the poster itself); None: the gradient.
    pub cover: Option<Vec<u8>>,
    /// The company's logo, drawn round beside its name.
    pub logo: Option<Vec<u8>>,
    /// Which face of a font collection (.ttc) to use; 0 for a plain font.
    pub font_index: u32,
}

const W: f32 = POSTER_WIDTH as f32;
const CX: f32 = W / 2.0;
const TEXT_W: f32 = 920.0;
const WHITE: Rgb<u8> = Rgb([255, 255, 255]);
const INK: Rgb<u8> = Rgb([34, 34, 34]);
/// Secondary text: #767676 is the lightest grey that keeps AA contrast on white.
const GREY: Rgb<u8> = Rgb([0x76, 0x76, 0x76]);
const ACCENT: Rgb<u8> = Rgb([0xC2, 0x41, 0x0C]);

/// The cover's band at the top of the poster.
const COVER_H: u32 = 940;
const LOGO_D: f32 = 104.0;
/// The QR square (quiet zone included), centred, and where it starts.
pub const SHARE_QR_SIDE: u32 = 560;
const QR_TOP: u32 = 1270;

/// Renders the share poster as PNG. `font` is the bytes of a TrueType or
/// OpenType font or collection that has the glyphs of the texts.
pub fn render_share_poster(spec: &SharePosterSpec, font: &[u8]) -> Result<Vec<u8>, MediaError> {
    let font = FontRef::try_from_slice_and_index(font, spec.font_index)
        .map_err(|_| MediaError::BadFont(spec.font_index))?;
    let mut img = RgbImage::from_pixel(POSTER_WIDTH, POSTER_HEIGHT, WHITE);
    draw_cover(&mut img, spec)?;
    draw_company(&mut img, &font, spec)?;
    draw_texts(&mut img, &font, spec);
    let qr_x = (POSTER_WIDTH - SHARE_QR_SIDE) / 2;
    raster::qr(&mut img, &spec.url, qr_x, QR_TOP, SHARE_QR_SIDE)?;
    let hint = text::clean(&spec.hint, 60, false);
    let (scale, line) = text::fit_line(&font, &hint, 36.0, 26.0, TEXT_W);
    let baseline = (QR_TOP + SHARE_QR_SIDE) as f32 + 60.0;
    text::draw_centered(&mut img, &font, pen(scale, GREY), &line, CX, baseline);
    encode_png(&img)
}

fn pen(scale: PxScale, color: Rgb<u8>) -> Pen {
    Pen {
        scale,
        color,
        opacity: 1.0,
        shadow: None,
    }
}

/// The cover scaled to fill the band (cropped around its centre), with the
/// top shaded for the company's name; the gradient when there is none.
fn draw_cover(img: &mut RgbImage, spec: &SharePosterSpec) -> Result<(), MediaError> {
    let band = match &spec.cover {
        Some(bytes) => raster::cover(raster::decode(bytes, "cover")?, POSTER_WIDTH, COVER_H),
        None => raster::gradient(POSTER_WIDTH, COVER_H),
    };
    image::imageops::replace(img, &band, 0, 0);
    // Evenly down to below the company's name (small text: 4.5:1 even on a
    // white cover), then fading out.
    raster::shade(img, NAME_AREA_END, 100, 0.55);
    Ok(())
}

/// The last row the company's name (and logo) may reach.
const NAME_AREA_END: u32 = 180;

/// The logo (round, on a white ring) and the company's name at the top left.
fn draw_company(
    img: &mut RgbImage,
    font: &FontRef,
    spec: &SharePosterSpec,
) -> Result<(), MediaError> {
    let (x, cy) = (64.0, 120.0);
    let name_x = match &spec.logo {
        Some(bytes) => {
            let logo = raster::decode(bytes, "logo")?;
            let cx = x + LOGO_D / 2.0;
            raster::disc(img, cx, cy, LOGO_D + 8.0, WHITE, 1.0);
            raster::round_photo(img, logo, cx, cy, LOGO_D as u32);
            x + LOGO_D + 28.0
        }
        None => x,
    };
    let company = text::clean(&spec.company_name, 80, false);
    let (scale, line) = text::fit_line(font, &company, 48.0, 30.0, W - name_x - 64.0);
    let baseline = cy + text::ascent(font, scale) * 0.4;
    let shadowed = Pen {
        shadow: Some((2, 3, Rgb([0, 0, 0]), 0.3)),
        ..pen(scale, WHITE)
    };
    text::draw(img, font, shadowed, &line, name_x, baseline);
    Ok(())
}

/// The title in up to two lines, then who recommends it, in the accent.
fn draw_texts(img: &mut RgbImage, font: &FontRef, spec: &SharePosterSpec) {
    let title = text::clean(&spec.title, 200, false);
    let scale = PxScale::from(64.0);
    let ascent = text::ascent(font, scale);
    let top = COVER_H as f32 + 56.0;
    for (i, line) in text::wrap(font, scale, &title, TEXT_W, 2)
        .iter()
        .enumerate()
    {
        let baseline = top + ascent + i as f32 * 88.0;
        text::draw_centered(img, font, pen(scale, INK), line, CX, baseline);
    }
    let sharer = text::clean(&spec.sharer_line, 80, false);
    let (scale, line) = text::fit_line(font, &sharer, 40.0, 28.0, TEXT_W);
    let baseline = QR_TOP as f32 - 36.0;
    text::draw_centered(img, font, pen(scale, ACCENT), &line, CX, baseline);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raster::{contrast, solid_png};

    /// The company's name in white at the top of a share poster (issue 19)
    /// keeps 4.5:1 on a white cover, a pale one and the gradient.
    #[test]
    fn the_company_name_keeps_small_text_contrast_on_any_cover() {
        for cover in [
            Some(solid_png(WHITE)),
            Some(solid_png(Rgb([250, 240, 200]))),
            None,
        ] {
            let spec = SharePosterSpec {
                cover: cover.clone(),
                ..SharePosterSpec::default()
            };
            let mut img = RgbImage::from_pixel(POSTER_WIDTH, POSTER_HEIGHT, WHITE);
            draw_cover(&mut img, &spec).unwrap();
            for y in 0..NAME_AREA_END {
                let px = *img.get_pixel(W as u32 - 10, y);
                let c = contrast(WHITE, px);
                assert!(
                    c >= 4.5,
                    "cover {}: row {y} is {px:?}, white on it {c:.2}:1",
                    cover.is_some()
                );
            }
        }
    }
}
