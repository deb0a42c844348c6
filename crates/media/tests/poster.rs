//! Posters: the QR on them decodes with an independent decoder (rqrr), also
//! after the degradation chat apps apply (half size, JPEG quality 60), and
//! hostile texts neither panic nor spill over the canvas or the QR card.

use image::imageops::FilterType;
use image::{codecs::jpeg::JpegEncoder, GrayImage, Rgb, RgbImage};
use warmlead_media::{
    render_poster, render_poster_on, Artwork, MediaError, PosterSpec, POSTER_HEIGHT, POSTER_WIDTH,
};

const FONT: &str = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc";
const URL: &str = "https://r.example.com/i/AQKBAQMBxL2mYk3m9JQ1Zw";

/// The Noto CJK collection. A machine without it fails the poster tests
/// (a skipped test that passes would prove nothing): `cargo xtask setup`
/// installs fonts-noto-cjk.
fn font() -> Vec<u8> {
    std::fs::read(FONT).unwrap_or_else(|e| {
        panic!("cannot read {FONT} ({e}): install fonts-noto-cjk (`cargo xtask setup`)")
    })
}

fn spec() -> PosterSpec {
    PosterSpec {
        url: URL.into(),
        short_code: "K7Q2-M9XD".into(),
        code_label: "邀请码".into(),
        rep_name: "王晓明".into(),
        invite_line: "邀请你成为暖线合作伙伴".into(),
        slogan: "每一次推荐，都是一份信任。携手共赢，让好产品被更多人看见".into(),
        company_name: "杭州暖线科技有限公司".into(),
        rep_photo: None,
        background: None,
        logo: None,
        font_index: 2,
    }
}

/// A busy JPEG: stripes and noise in every channel, the worst case for
/// text and for a QR next to it.
fn busy_jpeg(w: u32, h: u32) -> Vec<u8> {
    let img = RgbImage::from_fn(w, h, |x, y| {
        let n = (x.wrapping_mul(7919) ^ y.wrapping_mul(104_729)) % 97;
        Rgb([
            ((x / 3) % 256) as u8,
            ((y / 5 + n) % 256) as u8,
            ((x + y) % 256) as u8,
        ])
    });
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, 85)
        .encode_image(&img)
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

fn load(bytes: &[u8]) -> image::DynamicImage {
    image::load_from_memory(bytes).expect("valid image")
}

/// Half size, then JPEG quality 60, then decoded again: what a chat app does.
fn degrade(png: &[u8]) -> GrayImage {
    let img = load(png).to_rgb8();
    let half = image::imageops::resize(
        &img,
        img.width() / 2,
        img.height() / 2,
        FilterType::Triangle,
    );
    assert_eq!((half.width(), half.height()), (540, 960));
    let mut jpeg = Vec::new();
    JpegEncoder::new_with_quality(&mut jpeg, 60)
        .encode_image(&half)
        .unwrap();
    load(&jpeg).to_luma8()
}

fn assert_qr_survives(png: &[u8]) {
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let full = load(png);
    assert_eq!((full.width(), full.height()), (POSTER_WIDTH, POSTER_HEIGHT));
    assert_eq!(
        decode_qr(&full.to_luma8()),
        vec![URL.to_string()],
        "full size"
    );
    assert_eq!(
        decode_qr(&degrade(png)),
        vec![URL.to_string()],
        "half size, JPEG 60"
    );
}

#[test]
fn gradient_poster_qr_decodes_full_and_degraded() {
    let font = font();
    let png = render_poster(&spec(), &font).unwrap();
    std::fs::write(
        std::env::temp_dir().join("warmlead-poster-gradient.png"),
        &png,
    )
    .unwrap();
    assert_qr_survives(&png);
}

#[test]
fn artwork_poster_with_photo_qr_decodes_full_and_degraded() {
    let font = font();
    let s = PosterSpec {
        background: Some(busy_jpeg(1600, 1200)),
        rep_photo: Some(busy_jpeg(300, 500)),
        logo: Some(busy_jpeg(200, 120)),
        ..spec()
    };
    let png = render_poster(&s, &font).unwrap();
    std::fs::write(
        std::env::temp_dir().join("warmlead-poster-artwork.png"),
        &png,
    )
    .unwrap();
    assert_qr_survives(&png);
}

/// Pixels of the columns at both edges and of the card's margin beside the
/// QR: text must never reach them.
fn guarded_pixels(png: &[u8]) -> Vec<[u8; 3]> {
    let img = load(png).to_rgb8();
    let mut out = Vec::new();
    for y in 0..img.height() {
        for x in (0..24).chain(1056..1080).chain(180..200).chain(880..900) {
            // The card's side margins, below its rounded corners.
            if (180..900).contains(&x) && !(1040..1800).contains(&y) {
                continue;
            }
            out.push(img.get_pixel(x, y).0);
        }
    }
    out
}

#[test]
fn hostile_texts_do_not_panic_or_spill() {
    let font = font();
    let long_word = "W".repeat(5000);
    let hostile = PosterSpec {
        rep_name: format!("\u{202E}{}\u{0000}\u{0007}\n名字", "超长名字".repeat(2000)),
        slogan: format!(
            "{long_word} {} 😀\r\n\t\u{200B}{}",
            "很长的标语，".repeat(3000),
            "\n".repeat(50)
        ),
        company_name: "公司".repeat(10_000),
        invite_line: "=HYPERLINK(\"http://evil\")".repeat(100),
        short_code: "CODE".repeat(1000),
        code_label: "\u{202E}标签".repeat(100),
        ..spec()
    };
    let png = render_poster(&hostile, &font).unwrap();
    std::fs::write(
        std::env::temp_dir().join("warmlead-poster-hostile.png"),
        &png,
    )
    .unwrap();
    assert_qr_survives(&png);
    let quiet = PosterSpec {
        rep_name: String::new(),
        slogan: String::new(),
        company_name: String::new(),
        invite_line: String::new(),
        short_code: String::new(),
        code_label: String::new(),
        ..spec()
    };
    let baseline = render_poster(&quiet, &font).unwrap();
    assert!(
        guarded_pixels(&png) == guarded_pixels(&baseline),
        "hostile text drew into the poster's edges or the QR card's margins"
    );
}

#[test]
fn odd_images_are_scaled_not_refused() {
    let font = font();
    for (bw, bh, pw, ph) in [(1, 1, 1, 1), (4000, 10, 10, 4000), (10, 3000, 3000, 10)] {
        let s = PosterSpec {
            background: Some(busy_jpeg(bw, bh)),
            rep_photo: Some(busy_jpeg(pw, ph)),
            ..spec()
        };
        let png = render_poster(&s, &font).unwrap();
        assert_eq!(
            decode_qr(&load(&png).to_luma8()),
            vec![URL.to_string()],
            "{bw}x{bh}"
        );
    }
}

#[test]
fn bad_inputs_are_errors_not_panics() {
    let font = font();
    assert!(matches!(
        render_poster(&spec(), b"not a font"),
        Err(MediaError::BadFont(2))
    ));
    let no_such_face = PosterSpec {
        font_index: 99,
        ..spec()
    };
    assert!(matches!(
        render_poster(&no_such_face, &font),
        Err(MediaError::BadFont(99))
    ));
    let bad_art = PosterSpec {
        background: Some(b"GIF89a garbage".to_vec()),
        ..spec()
    };
    assert!(matches!(
        render_poster(&bad_art, &font),
        Err(MediaError::BadImage("background"))
    ));
    let bad_photo = PosterSpec {
        rep_photo: Some(vec![0xff, 0xd8, 0xff, 0, 1]),
        ..spec()
    };
    assert!(matches!(
        render_poster(&bad_photo, &font),
        Err(MediaError::BadImage("photo"))
    ));
    let huge_url = PosterSpec {
        url: format!("{URL}?{}", "x".repeat(2000)),
        ..spec()
    };
    assert!(matches!(
        render_poster(&huge_url, &font),
        Err(MediaError::TooLong)
    ));
}

#[test]
fn artwork_decoded_once_gives_the_same_poster() {
    let font = font();
    let art_bytes = busy_jpeg(1200, 1600);
    let s = PosterSpec {
        background: Some(art_bytes.clone()),
        ..spec()
    };
    let art = Artwork::decode(&art_bytes).unwrap();
    let once = render_poster_on(
        &PosterSpec {
            background: None,
            ..s.clone()
        },
        &font,
        Some(&art),
    )
    .unwrap();
    assert_eq!(once, render_poster(&s, &font).unwrap());
    assert!(matches!(
        Artwork::decode(b"nope"),
        Err(MediaError::BadImage("background"))
    ));
}
