//! Poster render time against a baseline of `qr_png` alone, in the same run.
//! `cargo bench -p warmlead-media --bench poster` prints criterion's estimates
//! and then our own median/p95 over 200 renders each (criterion does not
//! report percentiles) and the ratio poster / qr_png.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::Criterion;
use image::{codecs::jpeg::JpegEncoder, Rgb, RgbImage};
use warmlead_media::{qr_png, render_poster, render_poster_on, Artwork, PosterSpec};

const FONT: &str = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc";
const URL: &str = "https://r.example.com/i/AQKBAQMBxL2mYk3m9JQ1Zw";

fn jpeg(w: u32, h: u32) -> Vec<u8> {
    let img = RgbImage::from_fn(w, h, |x, y| {
        Rgb([(x % 256) as u8, (y % 256) as u8, ((x + y) % 256) as u8])
    });
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, 85)
        .encode_image(&img)
        .expect("jpeg");
    out
}

fn spec(with_images: bool) -> PosterSpec {
    PosterSpec {
        url: URL.into(),
        short_code: "K7Q2-M9XD".into(),
        code_label: "邀请码".into(),
        rep_name: "王晓明".into(),
        invite_line: "邀请你成为暖线合作伙伴".into(),
        slogan: "每一次推荐，都是一份信任。携手共赢，让好产品被更多人看见".into(),
        company_name: "杭州暖线科技有限公司".into(),
        rep_photo: with_images.then(|| jpeg(600, 600)),
        background: with_images.then(|| jpeg(1080, 1920)),
        logo: with_images.then(|| jpeg(200, 200)),
        font_index: 2,
    }
}

fn percentiles(mut f: impl FnMut()) -> (Duration, Duration) {
    let mut times: Vec<Duration> = (0..200)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    times.sort();
    (times[times.len() / 2], times[times.len() * 95 / 100])
}

fn main() {
    let Ok(font) = std::fs::read(FONT) else {
        eprintln!("SKIPPED: {FONT} is missing (cargo xtask setup installs fonts-noto-cjk)");
        return;
    };
    let (plain, art) = (spec(false), spec(true));
    let mut c = Criterion::default().configure_from_args();
    c.bench_function("qr_png (baseline)", |b| {
        b.iter(|| qr_png(black_box(URL), 8).unwrap())
    });
    c.bench_function("poster, gradient", |b| {
        b.iter(|| render_poster(black_box(&plain), &font).unwrap())
    });
    c.bench_function("poster, artwork + photo", |b| {
        b.iter(|| render_poster(black_box(&art), &font).unwrap())
    });
    let art_once = Artwork::decode(art.background.as_deref().unwrap()).unwrap();
    let on = |b: &mut criterion::Bencher| {
        b.iter(|| render_poster_on(black_box(&art), &font, Some(&art_once)).unwrap())
    };
    c.bench_function("poster, artwork decoded once + photo", on);
    c.final_summary();

    // Under `cargo test --benches` criterion runs each once; skip the long part.
    if std::env::args().any(|a| a == "--test") {
        return;
    }
    let (qr50, qr95) = percentiles(|| drop(qr_png(URL, 8).unwrap()));
    println!("qr_png:                  median {qr50:?}  p95 {qr95:?}");
    for (name, s) in [
        ("poster, gradient", &plain),
        ("poster, artwork + photo", &art),
    ] {
        let (p50, p95) = percentiles(|| drop(render_poster(s, &font).unwrap()));
        let ratio = p50.as_secs_f64() / qr50.as_secs_f64();
        println!("{name:<24} median {p50:?}  p95 {p95:?}  ({ratio:.1}x qr_png median; target p95 < 50 ms)");
    }
    let (p50, p95) = percentiles(|| drop(render_poster_on(&art, &font, Some(&art_once)).unwrap()));
    let ratio = p50.as_secs_f64() / qr50.as_secs_f64();
    println!("poster, artwork decoded once + photo: median {p50:?}  p95 {p95:?}  ({ratio:.1}x qr_png median)");
}
