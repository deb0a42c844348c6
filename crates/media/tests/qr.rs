//! The QR codes we make decode back with an independent decoder (rqrr).

use image::imageops::FilterType;
use image::GrayImage;
use warmlead_media::{qr_png, MediaError};

const URL: &str = "https://r.example.com/s/AQKBAQMBxL2mYk3m9JQ1Zw";

fn decode(img: &GrayImage) -> Vec<String> {
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

fn png_to_gray(png: &[u8]) -> GrayImage {
    image::load_from_memory_with_format(png, image::ImageFormat::Png)
        .expect("valid png")
        .to_luma8()
}

#[test]
fn qr_decodes_back_to_the_same_url() {
    let png = qr_png(URL, 8).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(decode(&png_to_gray(&png)), vec![URL.to_string()]);
}

#[test]
fn qr_still_decodes_at_half_size() {
    let img = png_to_gray(&qr_png(URL, 8).unwrap());
    let half = image::imageops::resize(
        &img,
        img.width() / 2,
        img.height() / 2,
        FilterType::Triangle,
    );
    assert_eq!(decode(&half), vec![URL.to_string()]);
}

#[test]
fn qr_has_a_white_quiet_zone() {
    let img = png_to_gray(&qr_png(URL, 4).unwrap());
    // Four modules of 4 px each on every side are white.
    for i in 0..img.width() {
        for d in 0..16 {
            assert_eq!(img.get_pixel(i, d).0[0], 255, "top row {d} col {i}");
            assert_eq!(img.get_pixel(d, i).0[0], 255, "left col {d} row {i}");
        }
    }
}

#[test]
fn rejects_bad_module_size_and_oversized_text() {
    assert!(matches!(qr_png(URL, 0), Err(MediaError::BadModuleSize(0))));
    assert!(matches!(
        qr_png(URL, 1000),
        Err(MediaError::BadModuleSize(1000))
    ));
    let huge = "x".repeat(5000);
    assert!(matches!(qr_png(&huge, 4), Err(MediaError::TooLong)));
}
