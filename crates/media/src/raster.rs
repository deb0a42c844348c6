//! Pixels: the background (artwork scaled to cover, or a warm gradient),
//! shapes with anti-aliased edges, the round photo and the QR modules. Every
//! write is bounds-checked, so nothing here can draw outside the canvas.

use std::io::Cursor;

use image::imageops::FilterType;
use image::{DynamicImage, ImageReader, Limits, Rgb, RgbImage};
use qrcode::{Color, EcLevel, QrCode};

use crate::MediaError;

/// Largest artwork or photo we accept, in bytes and pixels per side: keeps a
/// hostile file from costing seconds or gigabytes.
const MAX_IMAGE_BYTES: usize = 20 * 1024 * 1024;
const MAX_IMAGE_SIDE: u32 = 8000;

/// Mixes `color` over `p` by `alpha` (0..=1).
pub(crate) fn blend(p: &mut Rgb<u8>, color: Rgb<u8>, alpha: f32) {
    if alpha <= 0.0 {
        return;
    }
    if alpha >= 1.0 {
        *p = color;
        return;
    }
    let a = alpha;
    for (dst, src) in p.0.iter_mut().zip(color.0) {
        *dst = (f32::from(*dst) * (1.0 - a) + f32::from(src) * a).round() as u8;
    }
}

/// A warm vertical gradient (coral at the top to peach at the bottom) for
/// companies without artwork. One colour per row: cheap, and 8-bit steps
/// over 1920 rows do not band visibly.
pub(crate) fn gradient(w: u32, h: u32) -> RgbImage {
    let top = [255.0, 107.0, 74.0];
    let bottom = [255.0, 196.0, 130.0];
    let mut img = RgbImage::new(w, h);
    for (y, row) in img.rows_mut().enumerate() {
        let t = y as f32 / h.max(1) as f32;
        let c = Rgb(std::array::from_fn(|i| {
            (top[i] + (bottom[i] - top[i]) * t) as u8
        }));
        row.for_each(|p| *p = c);
    }
    img
}

/// Decodes a PNG or JPEG with size limits; `what` names it in the error.
pub(crate) fn decode(bytes: &[u8], what: &'static str) -> Result<DynamicImage, MediaError> {
    let bad = || MediaError::BadImage(what);
    if bytes.len() > MAX_IMAGE_BYTES {
        return Err(bad());
    }
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|_| bad())?;
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_IMAGE_SIDE);
    limits.max_image_height = Some(MAX_IMAGE_SIDE);
    limits.max_alloc = Some(256 * 1024 * 1024);
    reader.limits(limits);
    reader.decode().map_err(|_| bad())
}

/// `src` cropped to the aspect of `w`x`h` around its centre and scaled to
/// exactly that size ("cover"). Artwork already the right size is used as
/// is, without a copy.
pub(crate) fn cover(src: DynamicImage, w: u32, h: u32) -> RgbImage {
    let (sw, sh) = (src.width().max(1), src.height().max(1));
    if (sw, sh) == (w, h) {
        return src.into_rgb8();
    }
    // Compare sw/sh with w/h without floats.
    let (cw, ch) = if u64::from(sw) * u64::from(h) > u64::from(sh) * u64::from(w) {
        (
            (u64::from(sh) * u64::from(w) / u64::from(h)).max(1) as u32,
            sh,
        )
    } else {
        (
            sw,
            (u64::from(sw) * u64::from(h) / u64::from(w)).max(1) as u32,
        )
    };
    let cropped = src.crop_imm((sw - cw) / 2, (sh - ch) / 2, cw, ch);
    let scaled = if cw >= w {
        // Downscaling: the box filter of `thumbnail` is fast and good enough.
        cropped.thumbnail_exact(w, h)
    } else {
        cropped.resize_exact(w, h, FilterType::Triangle)
    };
    scaled.into_rgb8()
}

/// Darkens rows `0..until` by `alpha` evenly, then fades the shade out over
/// the next `fade` rows: white text anywhere above `until` keeps the same
/// contrast on any background.
pub(crate) fn shade(img: &mut RgbImage, until: u32, fade: u32, alpha: f32) {
    let width = img.width() as usize * 3;
    for y in 0..(until + fade).min(img.height()) {
        let a = if y < until {
            alpha
        } else {
            alpha * (1.0 - (y - until) as f32 / fade.max(1) as f32)
        };
        let keep = ((1.0 - a) * 256.0) as u32;
        let start = y as usize * width;
        for b in &mut img.as_mut()[start..start + width] {
            *b = ((u32::from(*b) * keep) >> 8) as u8;
        }
    }
}

/// A filled rectangle with rounded corners (radius `r`), anti-aliased. Only
/// the corner squares need the distance; the rest is a plain fill.
pub(crate) fn rounded_rect(img: &mut RgbImage, rect: [u32; 4], r: f32, color: Rgb<u8>, alpha: f32) {
    let [x0, y0, w, h] = rect;
    let (x1, y1) = ((x0 + w).min(img.width()), (y0 + h).min(img.height()));
    let ri = r.ceil() as u32;
    for y in y0..y1 {
        let corner_row = y < y0 + ri || y + ri >= y0 + h;
        for x in x0..x1 {
            let corner = corner_row && (x < x0 + ri || x + ri >= x0 + w);
            let cov = if corner {
                corner_coverage(rect, r, x, y)
            } else {
                1.0
            };
            blend(img.get_pixel_mut(x, y), color, cov * alpha);
        }
    }
}

/// How much of pixel (x, y) a rounded corner of `rect` covers.
fn corner_coverage([x0, y0, w, h]: [u32; 4], r: f32, x: u32, y: u32) -> f32 {
    let (fx, fy) = (x as f32 + 0.5, y as f32 + 0.5);
    let dx = (x0 as f32 + r - fx)
        .max(fx - ((x0 + w) as f32 - r))
        .max(0.0);
    let dy = (y0 as f32 + r - fy)
        .max(fy - ((y0 + h) as f32 - r))
        .max(0.0);
    (r + 0.5 - (dx * dx + dy * dy).sqrt()).clamp(0.0, 1.0)
}

/// A filled disc of diameter `d` centred on (`cx`, `cy`), anti-aliased.
pub(crate) fn disc(img: &mut RgbImage, cx: f32, cy: f32, d: f32, color: Rgb<u8>, alpha: f32) {
    let r = d / 2.0;
    each_in_circle(img, cx, cy, r, |p, _, _, cov| blend(p, color, cov * alpha));
}

/// The photo, centre-cropped square, scaled and cut to a disc of diameter `d`.
pub(crate) fn round_photo(img: &mut RgbImage, photo: DynamicImage, cx: f32, cy: f32, d: u32) {
    let side = d.max(1);
    let face = cover(photo, side, side);
    let (ox, oy) = (cx - side as f32 / 2.0, cy - side as f32 / 2.0);
    each_in_circle(img, cx, cy, side as f32 / 2.0, |p, x, y, cov| {
        let (fx, fy) = ((x as f32 - ox) as u32, (y as f32 - oy) as u32);
        if let Some(src) = face.get_pixel_checked(fx.min(side - 1), fy.min(side - 1)) {
            blend(p, *src, cov);
        }
    });
}

/// Calls `f(pixel, x, y, coverage)` for every canvas pixel the circle touches.
fn each_in_circle(
    img: &mut RgbImage,
    cx: f32,
    cy: f32,
    r: f32,
    mut f: impl FnMut(&mut Rgb<u8>, u32, u32, f32),
) {
    let clampu = |v: f32, max: u32| (v.max(0.0) as u32).min(max);
    let (x0, x1) = (
        clampu(cx - r - 1.0, img.width()),
        clampu(cx + r + 1.0, img.width()),
    );
    let (y0, y1) = (
        clampu(cy - r - 1.0, img.height()),
        clampu(cy + r + 1.0, img.height()),
    );
    for y in y0..y1 {
        for x in x0..x1 {
            let (dx, dy) = (x as f32 + 0.5 - cx, y as f32 + 0.5 - cy);
            let cov = (r + 0.5 - (dx * dx + dy * dy).sqrt()).clamp(0.0, 1.0);
            if cov > 0.0 {
                f(img.get_pixel_mut(x, y), x, y, cov);
            }
        }
    }
}

/// Smallest module we draw: at half size (what a chat app may do to the
/// poster) it is still 3 px, which phone cameras and rqrr read.
const MIN_MODULE_PX: u32 = 6;

/// Draws the QR of `text` centred in the square `[x, y, side]`, which must be
/// white: the 4-module quiet zone is part of the square. Whole-pixel modules
/// keep edges sharp. Returns the drawn side including the quiet zone.
pub(crate) fn qr(
    img: &mut RgbImage,
    text: &str,
    x: u32,
    y: u32,
    side: u32,
) -> Result<u32, MediaError> {
    // Quartile correction (~25%): posters get photographed, printed and recompressed.
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::Q)
        .map_err(|_| MediaError::TooLong)?;
    let n = code.width() as u32;
    let module = side / (n + 8);
    if module < MIN_MODULE_PX {
        return Err(MediaError::TooLong);
    }
    let drawn = module * (n + 8);
    let left = x + (side - drawn) / 2 + 4 * module;
    let top = y + (side - drawn) / 2 + 4 * module;
    let ink = Rgb([17, 17, 17]);
    for (i, c) in code.to_colors().iter().enumerate() {
        if *c != Color::Dark {
            continue;
        }
        let (mx, my) = (i as u32 % n, i as u32 / n);
        for py in 0..module {
            for px in 0..module {
                let (cx, cy) = (left + mx * module + px, top + my * module + py);
                if cx < img.width() && cy < img.height() {
                    img.put_pixel(cx, cy, ink);
                }
            }
        }
    }
    Ok(drawn)
}

/// WCAG's contrast ratio of two sRGB colours (tests of text on posters).
#[cfg(test)]
pub(crate) fn contrast(a: Rgb<u8>, b: Rgb<u8>) -> f64 {
    let lum = |c: Rgb<u8>| {
        let ch = |v: u8| {
            let v = f64::from(v) / 255.0;
            if v <= 0.03928 {
                v / 12.92
            } else {
                ((v + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * ch(c.0[0]) + 0.7152 * ch(c.0[1]) + 0.0722 * ch(c.0[2])
    };
    let (x, y) = (lum(a), lum(b));
    (x.max(y) + 0.05) / (x.min(y) + 0.05)
}

/// A PNG of one colour (tests).
#[cfg(test)]
pub(crate) fn solid_png(color: Rgb<u8>) -> Vec<u8> {
    let img = RgbImage::from_pixel(64, 64, color);
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}
