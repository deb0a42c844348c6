//! `/media/{key}` as a phone's video player reads it: a live item's video,
//! fetched with no token, probed with HEAD, read in ranges (open-ended,
//! suffix, past the end), revalidated. Each answer is checked against RFC
//! 9110 (ranges, 416, conditional requests) and what Chromium and Safari
//! need to play and seek (206, `Content-Range`, `Accept-Ranges`, the type).

mod common;

use common::{activate, upload, world};
use reqwest::{Method, StatusCode};
use warmlead_core::api::NewContentItem;
use warmlead_core::domain::{ContentKind, MediaRef};

const SIZE: usize = 10_000;

/// An MP4 header, then bytes that say where they are.
fn video_bytes() -> Vec<u8> {
    let mut bytes = b"\0\0\0\x20ftypisom\0\0\x02\0".to_vec();
    bytes.extend((bytes.len()..SIZE).map(|at| (at % 251) as u8));
    bytes
}

/// A published video item's media: public, so the player needs no token.
async fn public_video() -> (common::World, MediaRef, Vec<u8>) {
    let w = world().await;
    let manager = activate(&w.ts, w.manager.id).await;
    let bytes = video_bytes();
    let media = upload(&manager, "video/mp4", bytes.clone()).await;
    let item = NewContentItem {
        kind: ContentKind::Video,
        title: "旧房翻新实拍".into(),
        summary: "".into(),
        body: "".into(),
        cover_media_id: None,
        video_media_id: Some(media.id),
    };
    w.ts.admin()
        .create_content_item(w.company.id, item)
        .await
        .unwrap();
    (w, media, bytes)
}

struct Case {
    range: &'static str,
    status: StatusCode,
    content_range: String,
    body: std::ops::Range<usize>,
}

fn partial(range: &'static str, first: usize, last: usize) -> Case {
    Case {
        range,
        status: StatusCode::PARTIAL_CONTENT,
        content_range: format!("bytes {first}-{last}/{SIZE}"),
        body: first..last + 1,
    }
}

/// A request the server answers with the whole file (it may ignore Range).
fn whole(range: &'static str) -> Case {
    Case {
        range,
        status: StatusCode::OK,
        content_range: String::new(),
        body: 0..SIZE,
    }
}

#[tokio::test]
async fn a_public_video_answers_ranges_as_players_need() {
    let (w, media, bytes) = public_video().await;
    let url = format!("{}{}", w.ts.url(), media.path());
    let http = reqwest::Client::new();
    let cases = [
        // Safari's first probe; Chromium's first request.
        partial("bytes=0-1", 0, 1),
        partial("bytes=0-", 0, SIZE - 1),
        // A seek: open-ended from the middle.
        partial("bytes=6000-", 6000, SIZE - 1),
        partial("bytes=100-199", 100, 199),
        // An end past the file is cut at its last byte.
        partial("bytes=9990-20000", 9990, SIZE - 1),
        // Suffix ranges: the last bytes (where a non-faststart MP4 keeps its index).
        partial("bytes=-100", SIZE - 100, SIZE - 1),
        // A suffix longer than the file is the whole file (RFC 9110 14.1.2).
        partial("bytes=-20000", 0, SIZE - 1),
        // Several ranges: the server may send the whole file instead (14.2).
        whole("bytes=0-1,100-199"),
        // A unit the server does not know is ignored (14.2).
        whole("items=0-5"),
    ];
    for case in cases {
        let res = http
            .get(&url)
            .header("range", case.range)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), case.status, "{}", case.range);
        let h = res.headers();
        assert_eq!(h["accept-ranges"], "bytes", "{}", case.range);
        assert_eq!(h["content-type"], "video/mp4", "{}", case.range);
        assert_eq!(
            h["cache-control"], "public, max-age=31536000, immutable",
            "{}",
            case.range
        );
        let content_range = h
            .get("content-range")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        assert_eq!(content_range, case.content_range, "{}", case.range);
        let len = case.body.len().to_string();
        assert_eq!(h["content-length"], len.as_str(), "{}", case.range);
        let body = res.bytes().await.unwrap();
        assert_eq!(body.as_ref(), &bytes[case.body], "{}", case.range);
    }
}

/// A range that starts at or past the end is 416 with the file's length in
/// `Content-Range` (RFC 9110 15.5.17): a player learns the size and stops.
#[tokio::test]
async fn a_range_past_the_end_is_416_with_the_length() {
    let (w, media, _) = public_video().await;
    let url = format!("{}{}", w.ts.url(), media.path());
    let http = reqwest::Client::new();
    for range in [format!("bytes={SIZE}-"), format!("bytes={}-", SIZE + 5)] {
        let res = http.get(&url).header("range", &range).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::RANGE_NOT_SATISFIABLE, "{range}");
        assert_eq!(
            res.headers()
                .get("content-range")
                .map(|v| v.to_str().unwrap()),
            Some(format!("bytes */{SIZE}").as_str()),
            "{range}"
        );
        let error = common::api_error(res).await;
        assert!(error.message.contains("range"), "{range}: {error:?}");
    }
}

/// HEAD tells the player the size, type and that ranges work, with no body;
/// a revalidation is 304 and keeps the caching rule.
#[tokio::test]
async fn head_and_revalidation_keep_the_headers() {
    let (w, media, _) = public_video().await;
    let url = format!("{}{}", w.ts.url(), media.path());
    let http = reqwest::Client::new();
    let res = http.request(Method::HEAD, &url).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let h = res.headers().clone();
    assert_eq!(h["accept-ranges"], "bytes");
    assert_eq!(h["content-type"], "video/mp4");
    assert_eq!(h["content-length"], SIZE.to_string().as_str());
    assert_eq!(h["cache-control"], "public, max-age=31536000, immutable");
    assert!(res.bytes().await.unwrap().is_empty());

    let res = http
        .get(&url)
        .header("if-modified-since", &h["last-modified"])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(
        res.headers()
            .get("cache-control")
            .map(|v| v.to_str().unwrap()),
        Some("public, max-age=31536000, immutable")
    );
}
