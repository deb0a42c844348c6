//! Procedural artwork for the demo: warm gradients, a sun, a house. No text,
//! so nothing needs a font; every image differs by its seed.

use image::{ImageEncoder, Rgb, RgbImage};

use crate::error::ServerError;

type Color = [f32; 3];

/// (sky top, sky bottom, accent) palettes that suit a home-renovation brand.
const PALETTES: &[(Color, Color, Color)] = &[
    ([232., 89., 12.], [255., 214., 170.], [255., 244., 230.]),
    ([47., 111., 94.], [214., 232., 220.], [232., 89., 12.]),
    ([120., 90., 70.], [240., 226., 210.], [232., 89., 12.]),
    ([52., 78., 120.], [220., 230., 245.], [255., 196., 120.]),
    ([160., 60., 40.], [250., 225., 200.], [255., 250., 240.]),
    ([90., 110., 60.], [235., 240., 215.], [232., 140., 60.]),
];

fn mix(a: Color, b: Color, t: f32) -> Color {
    [
        a[0] + (b[0] - a[0]) * t,
        a[1] + (b[1] - a[1]) * t,
        a[2] + (b[2] - a[2]) * t,
    ]
}

fn px(c: Color) -> Rgb<u8> {
    Rgb([c[0] as u8, c[1] as u8, c[2] as u8])
}

fn blend(img: &mut RgbImage, x: u32, y: u32, c: Color, alpha: f32) {
    let p = img.get_pixel(x, y).0;
    let cur = [f32::from(p[0]), f32::from(p[1]), f32::from(p[2])];
    img.put_pixel(x, y, px(mix(cur, c, alpha)));
}

/// Background gradient, a soft sun and rolling ground.
fn landscape(w: u32, h: u32, seed: u32) -> (RgbImage, Color) {
    let (top, bottom, accent) = PALETTES[seed as usize % PALETTES.len()];
    let mut img = RgbImage::new(w, h);
    let sun_x = w as f32 * (0.2 + 0.6 * ((seed * 37 % 100) as f32 / 100.0));
    let sun_y = h as f32 * 0.3;
    let sun_r = w.min(h) as f32 * 0.18;
    let ground = h as f32 * 0.72;
    let darker = mix(top, [30., 30., 30.], 0.35);
    for y in 0..h {
        let t = y as f32 / h as f32;
        let sky = mix(top, bottom, t);
        for x in 0..w {
            let mut c = sky;
            let d = ((x as f32 - sun_x).powi(2) + (y as f32 - sun_y).powi(2)).sqrt();
            if d < sun_r * 1.6 {
                let glow = (1.0 - (d / (sun_r * 1.6))).clamp(0.0, 1.0);
                c = mix(c, accent, if d < sun_r { 0.9 } else { glow * 0.5 });
            }
            let hill = ground + (x as f32 / w as f32 * 6.0 + seed as f32).sin() * h as f32 * 0.03;
            if y as f32 > hill {
                c = mix(darker, bottom, 0.25);
            }
            img.put_pixel(x, y, px(c));
        }
    }
    (img, accent)
}

/// A simple house: walls, a pitched roof, two lit windows and a door.
fn house(img: &mut RgbImage, cx: f32, base: f32, size: f32, accent: Color) {
    let wall = [250., 246., 240.];
    let roof = [70., 50., 45.];
    let (w, h) = img.dimensions();
    let half = size / 2.0;
    let wall_top = base - size * 0.7;
    for y in 0..h {
        for x in 0..w {
            let (fx, fy) = (x as f32, y as f32);
            let in_wall = (fx - cx).abs() < half && fy > wall_top && fy < base;
            let roof_h = size * 0.45;
            let in_roof = fy <= wall_top
                && fy > wall_top - roof_h
                && (fx - cx).abs() < (half * 1.15) * (1.0 - (wall_top - fy) / roof_h);
            if in_roof {
                blend(img, x, y, roof, 0.92);
            } else if in_wall {
                let win = |wx: f32| {
                    (fx - wx).abs() < size * 0.11
                        && (fy - (wall_top + size * 0.22)).abs() < size * 0.1
                };
                let door = (fx - cx).abs() < size * 0.09 && fy > base - size * 0.32;
                if win(cx - size * 0.27) || win(cx + size * 0.27) {
                    blend(img, x, y, accent, 0.95);
                } else if door {
                    blend(img, x, y, roof, 0.8);
                } else {
                    blend(img, x, y, wall, 0.95);
                }
            }
        }
    }
}

fn encode(img: &RgbImage) -> Result<Vec<u8>, ServerError> {
    let mut out = Vec::new();
    image::codecs::png::PngEncoder::new(&mut out).write_image(
        img.as_raw(),
        img.width(),
        img.height(),
        image::ExtendedColorType::Rgb8,
    )?;
    Ok(out)
}

/// A 16:9 cover (640x360 PNG).
pub(crate) fn cover(seed: u32) -> Result<Vec<u8>, ServerError> {
    let (w, h) = (640, 360);
    let (mut img, accent) = landscape(w, h, seed);
    let cx = w as f32 * (0.3 + 0.4 * ((seed * 53 % 100) as f32 / 100.0));
    house(&mut img, cx, h as f32 * 0.8, h as f32 * 0.42, accent);
    encode(&img)
}

/// A portrait poster (600x900 PNG) with bands and rings; `coupon` cuts
/// ticket notches into a card in the middle.
pub(crate) fn poster(seed: u32, coupon: bool) -> Result<Vec<u8>, ServerError> {
    let (w, h) = (600, 900);
    let (mut img, accent) = landscape(w, h, seed);
    house(
        &mut img,
        w as f32 * 0.5,
        h as f32 * 0.86,
        w as f32 * 0.36,
        accent,
    );
    let card = [255., 252., 248.];
    let (top, bottom) = (h as f32 * 0.42, h as f32 * 0.62);
    for y in 0..h {
        for x in 0..w {
            let (fx, fy) = (x as f32, y as f32);
            let in_card = fx > 48.0 && fx < w as f32 - 48.0 && fy > top && fy < bottom;
            let mid = (top + bottom) / 2.0;
            let notch = coupon
                && ((fx - 48.0).powi(2) + (fy - mid).powi(2) < 900.0
                    || (fx - (w as f32 - 48.0)).powi(2) + (fy - mid).powi(2) < 900.0);
            if in_card && !notch {
                let stripe =
                    coupon && (fx - w as f32 * 0.68).abs() < 1.5 && (fy as u32 / 8) & 1 == 0;
                let band = fy < top + 18.0;
                let c = if stripe || band {
                    [232., 89., 12.]
                } else {
                    card
                };
                blend(&mut img, x, y, c, 0.94);
            }
        }
    }
    encode(&img)
}

/// The company's poster template (1080x1920 JPEG, what the app draws every
/// invitation poster on): a warm dusk over a street of houses. The app puts
/// text on the top half and a white card in the middle (x 170..910,
/// y 1000..1830), so the houses stand on the sides and along the bottom.
pub(crate) fn poster_artwork() -> Result<Vec<u8>, ServerError> {
    let (w, h) = (1080, 1920);
    let (mut img, accent) = landscape(w, h, 0);
    let (fw, fh) = (w as f32, h as f32);
    for (cx, base, size) in [
        (0.07, 0.80, 0.30),
        (0.93, 0.78, 0.32),
        (0.10, 0.99, 0.26),
        (0.90, 0.99, 0.28),
        (0.50, 1.02, 0.22),
    ] {
        house(&mut img, fw * cx, fh * base, fw * size, accent);
    }
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 88).write_image(
        img.as_raw(),
        w,
        h,
        image::ExtendedColorType::Rgb8,
    )?;
    Ok(out)
}

/// The demo company's logo (256x256 PNG): a white house on the brand's
/// orange, drawn round on pages and posters.
pub(crate) fn logo() -> Result<Vec<u8>, ServerError> {
    let side = 256;
    let mut img = RgbImage::from_pixel(side, side, px([232., 89., 12.]));
    let s = side as f32;
    house(&mut img, s * 0.5, s * 0.78, s * 0.56, [255., 244., 230.]);
    encode(&img)
}

#[cfg(test)]
mod tests {
    #[test]
    fn makes_decodable_pngs() {
        for (bytes, w, h) in [
            (super::cover(3).unwrap(), 640, 360),
            (super::poster(1, true).unwrap(), 600, 900),
        ] {
            let img = image::load_from_memory(&bytes).unwrap();
            assert_eq!((img.width(), img.height()), (w, h));
        }
        assert_ne!(super::cover(1).unwrap(), super::cover(2).unwrap());
    }

    #[test]
    fn makes_a_portrait_jpeg_poster_artwork() {
        let bytes = super::poster_artwork().unwrap();
        assert!(bytes.starts_with(&[0xFF, 0xD8]), "a JPEG");
        let img = image::load_from_memory(&bytes).unwrap().to_rgb8();
        assert_eq!(img.dimensions(), (1080, 1920));
        // Warm: more red than blue in the sky.
        let p = img.get_pixel(540, 200).0;
        assert!(p[0] > p[2], "{p:?}");
    }
}
