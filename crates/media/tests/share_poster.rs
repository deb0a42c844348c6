//! Share posters: the QR of the tracked link still decodes with an
//! independent decoder (rqrr) after the poster is shrunk to a third and saved
//! as JPEG quality 40 (what a chat app may do to it); the Chinese title is
//! drawn with real glyphs; bad images are errors, not panics.

use image::imageops::FilterType;
use image::{codecs::jpeg::JpegEncoder, GrayImage, Rgb, RgbImage};
use warmlead_media::fonts::{choose_face, face_covers};
use warmlead_media::{
    render_share_poster, MediaError, SharePosterSpec, POSTER_HEIGHT, POSTER_WIDTH,
};

const FONT: &str = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc";
/// As long as a real share link (about 60 characters).
const URL: &str = "https://r.example.com/s/AQKBAQMBxL2mYk3m9JQ1ZwAQKBAQMBxL2mYk3m9";
const TITLE: &str = "装修避坑指南：水电改造前一定要问清楚的十件事";

/// The Noto CJK collection, at its Simplified Chinese face. A machine without
/// it fails here, saying what to install (a skipped test would prove nothing).
fn font() -> (Vec<u8>, u32) {
    let bytes = std::fs::read(FONT).unwrap_or_else(|e| {
        panic!("cannot read {FONT} ({e}): install fonts-noto-cjk (`cargo xtask setup`)")
    });
    let face = choose_face(&bytes, 2).unwrap_or_else(|| {
        panic!("{FONT} has no face with Chinese glyphs: reinstall fonts-noto-cjk")
    });
    (bytes, face)
}

fn spec(face: u32) -> SharePosterSpec {
    SharePosterSpec {
        url: URL.into(),
        title: TITLE.into(),
        sharer_line: "张三 推荐给你".into(),
        company_name: "暖居装修".into(),
        hint: "长按识别二维码，查看全文".into(),
        cover: None,
        logo: None,
        font_index: face,
    }
}

/// A busy JPEG: stripes and noise, the worst case next to text and the QR.
fn busy_jpeg(w: u32, h: u32) -> Vec<u8> {
    let img = RgbImage::from_fn(w, h, |x, y| {
        let n = (x.wrapping_mul(7919) ^ y.wrapping_mul(104_729)) % 97;
        Rgb([
            ((x / 3) % 256) as u8,
            ((y / 5 + n) % 256) as u8,
            ((x + y) % 256) as u8,
        ])
    });
    jpeg(&img, 85)
}

fn jpeg(img: &RgbImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, quality)
        .encode_image(img)
        .unwrap();
    out
}

fn decode_qr(img: &GrayImage) -> Vec<String> {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| {
        img.get_pixel(x as u32, y as u32).0[0]
    });
    prepared
        .detect_grids()
        .into_iter()
        .filter_map(|g| g.decode().ok().map(|(_, text)| text))
        .collect()
}

/// A third of the size, saved as JPEG quality 40, decoded again.
fn shrink_and_recompress(png: &[u8]) -> GrayImage {
    let img = image::load_from_memory(png).unwrap().to_rgb8();
    let third = image::imageops::resize(
        &img,
        img.width() / 3,
        img.height() / 3,
        FilterType::Triangle,
    );
    let bytes = jpeg(&third, 40);
    image::load_from_memory(&bytes).unwrap().to_luma8()
}

fn assert_qr_survives(png: &[u8]) {
    let img = image::load_from_memory(png).unwrap();
    assert_eq!((img.width(), img.height()), (POSTER_WIDTH, POSTER_HEIGHT));
    assert_eq!(decode_qr(&img.to_luma8()), [URL], "full size");
    let small = shrink_and_recompress(png);
    assert_eq!((small.width(), small.height()), (360, 640));
    assert_eq!(decode_qr(&small), [URL], "a third, JPEG quality 40");
}

#[test]
fn the_qr_decodes_after_a_third_and_jpeg_quality_40() {
    let (font, face) = font();
    let plain = render_share_poster(&spec(face), &font).unwrap();
    assert_qr_survives(&plain);
    let with_images = SharePosterSpec {
        cover: Some(busy_jpeg(1600, 1200)),
        logo: Some(busy_jpeg(300, 300)),
        ..spec(face)
    };
    assert_qr_survives(&render_share_poster(&with_images, &font).unwrap());
}

/// Ink pixels (dark, on the white part) in the title's band.
fn ink_in_title_band(png: &[u8]) -> usize {
    let img = image::load_from_memory(png).unwrap().to_luma8();
    (960..1160)
        .flat_map(|y| (0..POSTER_WIDTH).map(move |x| (x, y)))
        .filter(|&(x, y)| img.get_pixel(x, y).0[0] < 100)
        .count()
}

/// The title is drawn with the font's Chinese glyphs: the face covers every
/// character of it, and the band holds about as much ink as a title of that
/// length should (a font without the glyphs draws nothing: they are skipped).
#[test]
fn the_chinese_title_is_drawn() {
    let (font, face) = font();
    assert!(
        face_covers(&font, face),
        "face {face} of {FONT} lacks Chinese glyphs: install fonts-noto-cjk"
    );
    let parsed = ab_glyph_face(&font, face);
    for c in TITLE.chars() {
        assert!(parsed(c), "{FONT} face {face} has no glyph for {c:?}");
    }
    let with_title = ink_in_title_band(&render_share_poster(&spec(face), &font).unwrap());
    let untitled = SharePosterSpec {
        title: String::new(),
        ..spec(face)
    };
    let without = ink_in_title_band(&render_share_poster(&untitled, &font).unwrap());
    assert_eq!(without, 0, "nothing else is drawn in the title band");
    // Two lines of 64 px CJK strokes: thousands of dark pixels.
    assert!(
        with_title > 5_000,
        "only {with_title} ink pixels for the title"
    );
}

fn ab_glyph_face(font: &[u8], face: u32) -> impl Fn(char) -> bool + '_ {
    use ab_glyph::Font as _;
    let f = ab_glyph::FontRef::try_from_slice_and_index(font, face).unwrap();
    move |c| f.glyph_id(c).0 != 0
}

#[test]
fn bad_images_and_fonts_are_errors_not_panics() {
    let (font, face) = font();
    let bad_cover = SharePosterSpec {
        cover: Some(b"not an image".to_vec()),
        ..spec(face)
    };
    assert!(matches!(
        render_share_poster(&bad_cover, &font),
        Err(MediaError::BadImage("cover"))
    ));
    let bad_logo = SharePosterSpec {
        logo: Some(vec![0x89, b'P', b'N', b'G']),
        ..spec(face)
    };
    assert!(matches!(
        render_share_poster(&bad_logo, &font),
        Err(MediaError::BadImage("logo"))
    ));
    assert!(matches!(
        render_share_poster(&spec(face), b"not a font"),
        Err(MediaError::BadFont(_))
    ));
    let hostile = SharePosterSpec {
        title: "\u{202E}标题".repeat(500),
        sharer_line: "\n".repeat(100),
        company_name: "名".repeat(1000),
        ..spec(face)
    };
    assert_qr_survives(&render_share_poster(&hostile, &font).unwrap());
}
