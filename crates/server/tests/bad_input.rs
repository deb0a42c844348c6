mod common;

use common::{activate, api_error, article, world};
use reqwest::StatusCode;
use warmlead_core::api::{
    Beacon, MAX_JSON_BYTES, MAX_MEDIA_BYTES, PATH_CONTENT, PATH_MEDIA, PATH_MEDIA_KEY, PATH_PUSH,
};
use warmlead_core::domain::{Channel, MediaRef};
use warmlead_core::token::{derive_share_key, ShareClaim};
use warmlead_core::ErrorCode;

fn media_files(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

/// A signed-in manager of another company (one that must see nothing of ours).
async fn other_company_manager(ts: &warmlead_server::testing::TestServer) -> common::Device {
    let a = ts.admin();
    let other = a.create_company("别家装修").await.unwrap();
    let stranger = a
        .create_user(
            other.id,
            warmlead_core::domain::Role::Manager,
            "赵六",
            None,
            None,
        )
        .await
        .unwrap();
    activate(ts, stranger.id).await
}

#[tokio::test]
async fn malformed_and_oversized_json_get_clear_errors() {
    let w = world().await;
    let d = activate(&w.ts, w.partner_a1.id).await;
    let send = |body: Vec<u8>| {
        d.post(PATH_PUSH)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let res = send(b"{\"client_id\": ".to_vec()).await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let err = api_error(res).await;
    assert_eq!(err.code, ErrorCode::InvalidInput);
    assert!(err.message.contains("JSON"), "{}", err.message);

    let res = send(br#"{"client_id": 5, "mutations": []}"#.to_vec())
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(api_error(res).await.message.contains("client_id"));

    let mut big = br#"{"client_id": ""#.to_vec();
    big.extend(std::iter::repeat_n(b'x', MAX_JSON_BYTES + 10));
    big.extend(br#"", "mutations": []}"#);
    let res = send(big).await.unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(api_error(res).await.code, ErrorCode::PayloadTooLarge);

    // Rules broken in well-formed JSON name the field.
    let m = activate(&w.ts, w.manager.id).await;
    let res = m
        .post(PATH_CONTENT)
        .json(&article("  "))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(api_error(res).await.message.contains("title"));
    // Only managers write the library.
    let res = d
        .post(PATH_CONTENT)
        .json(&article("好标题"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    // Bad pull queries are JSON errors too.
    let res = d.get("/api/v1/sync/pull?after=abc").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(api_error(res).await.code, ErrorCode::InvalidInput);
}

#[tokio::test]
async fn media_uploads_are_checked_and_served_with_ranges() {
    let w = world().await;
    let m = activate(&w.ts, w.manager.id).await;
    let dir = w.ts.admin().media_dir();

    let res = m
        .post(PATH_MEDIA)
        .header("content-type", "application/pdf")
        .body(vec![1u8; 10])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(api_error(res).await.message.contains("image/png"));

    let partner = activate(&w.ts, w.partner_a1.id).await;
    let res = partner
        .post(PATH_MEDIA)
        .header("content-type", "image/png")
        .body(vec![1u8; 10])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    let res = m
        .post(PATH_MEDIA)
        .header("content-type", "video/mp4")
        // Streamed: the limit is hundreds of megabytes.
        .body(common::stream_of(7, MAX_MEDIA_BYTES + 1))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(api_error(res).await.code, ErrorCode::PayloadTooLarge);
    assert_eq!(w.ts.admin().count_media().await.unwrap(), 0);
    assert!(media_files(&dir).is_empty(), "{:?}", media_files(&dir));

    // An MP4 header, then anything.
    let bytes: Vec<u8> = b"\0\0\0\x20ftypisom"
        .iter()
        .copied()
        .chain((0..=255u8).cycle())
        .take(4096)
        .collect();
    let media: MediaRef = m
        .post(PATH_MEDIA)
        .header("content-type", "video/mp4")
        .body(bytes.clone())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(media.size, 4096);
    assert_eq!(media.content_type, "video/mp4");
    assert_eq!(media_files(&dir).len(), 1);

    // Public once a content item shows it.
    let mut item = article("视频");
    item.kind = warmlead_core::domain::ContentKind::Video;
    item.video_media_id = Some(media.id);
    let res = m.post(PATH_CONTENT).json(&item).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let http = reqwest::Client::new();
    let url = format!("{}{}", w.ts.url(), media.path());
    let full = http.get(&url).send().await.unwrap();
    assert_eq!(full.status(), StatusCode::OK);
    assert_eq!(full.headers()["content-type"], "video/mp4");
    assert!(full.headers()["cache-control"]
        .to_str()
        .unwrap()
        .contains("max-age"));
    assert_eq!(full.bytes().await.unwrap().to_vec(), bytes);
    let part = http
        .get(&url)
        .header("range", "bytes=100-199")
        .send()
        .await
        .unwrap();
    assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        part.bytes().await.unwrap().to_vec(),
        bytes[100..200].to_vec()
    );
    let missing = http
        .get(format!("{}/media/{}", w.ts.url(), "0".repeat(32)))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}

async fn upload(d: &common::Device, content_type: &str, body: Vec<u8>) -> reqwest::Response {
    d.post(PATH_MEDIA)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn uploads_must_be_what_they_claim_and_are_served_as_that() {
    let w = world().await;
    let m = activate(&w.ts, w.manager.id).await;
    let dir = w.ts.admin().media_dir();
    let html = b"<!doctype html><script>alert(document.cookie)</script>".to_vec();
    let jpeg = vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, b'J', b'F', b'I', b'F'];
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    for (declared, body, says) in [
        ("image/png", html.clone(), "not a PNG, JPEG"),
        ("image/jpeg", html, "not a PNG, JPEG"),
        ("image/png", jpeg.clone(), "bytes are image/jpeg"),
        ("video/mp4", png, "bytes are image/png"),
    ] {
        let res = upload(&m, declared, body).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{declared}");
        let err = api_error(res).await;
        assert!(err.message.contains(says), "{declared}: {}", err.message);
    }
    assert_eq!(w.ts.admin().count_media().await.unwrap(), 0);
    assert!(media_files(&dir).is_empty(), "{:?}", media_files(&dir));

    let res = upload(&m, "image/jpeg", jpeg.clone()).await;
    assert_eq!(res.status(), StatusCode::OK);
    let media: MediaRef = res.json().await.unwrap();
    let res = m.get(&media.path()).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "image/jpeg");
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
}

#[tokio::test]
async fn media_addresses_cannot_be_guessed_and_private_media_need_the_companys_token() {
    let w = world().await;
    let m = activate(&w.ts, w.manager.id).await;
    let jpeg = vec![0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3];
    let mut refs = Vec::new();
    for _ in 0..3 {
        let res = upload(&m, "image/jpeg", jpeg.clone()).await;
        refs.push(res.json::<MediaRef>().await.unwrap());
    }
    for r in &refs {
        assert_eq!(r.key.len(), 32, "{}", r.key);
        assert!(r.key.bytes().all(|b| b.is_ascii_hexdigit()), "{}", r.key);
        assert_eq!(r.path(), format!("/media/{}", r.key));
    }
    assert_ne!(refs[0].key, refs[1].key);
    let http = reqwest::Client::new();
    let get = |path: String| http.get(format!("{}{path}", w.ts.url())).send();

    // Counting ids finds nothing, with or without a token.
    for r in &refs {
        assert_eq!(
            get(format!("/media/{}", r.id)).await.unwrap().status(),
            StatusCode::NOT_FOUND
        );
        let res = m.get(&format!("/media/{}", r.id)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
    }
    // Not shown by any content yet: private. Anonymous and other companies
    // get the same 404 as a wrong key; the company's own devices get it.
    let private = &refs[0];
    assert_eq!(
        get(private.path()).await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    let rep = activate(&w.ts, w.rep_a.id).await;
    let res = rep.get(&private.path()).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["cache-control"]
        .to_str()
        .unwrap()
        .starts_with("private"));
    let stranger = other_company_manager(&w.ts).await;
    let res = stranger.get(&private.path()).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);

    // A content item's cover is public: the share page shows it to anyone.
    let mut item = article("封面");
    item.cover_media_id = Some(refs[1].id);
    let res = m.post(PATH_CONTENT).json(&item).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = get(refs[1].path()).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["cache-control"]
        .to_str()
        .unwrap()
        .starts_with("public"));
    assert_eq!(
        get(private.path()).await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn forged_share_tokens_get_a_404_page_and_store_nothing() {
    let w = world().await;
    let d = activate(&w.ts, w.partner_a1.id).await;
    let genuine = d.sign(1, w.item.id, Channel::Moments);
    // Same claim, signed with a key derived from a guessed master secret.
    let forged = ShareClaim {
        device_id: d.id() as u64,
        share_no: 1,
        item_id: w.item.id as u64,
        channel: Channel::Moments,
    }
    .sign(&derive_share_key(b"guess", d.id() as u64));
    let mut flipped: Vec<char> = genuine.chars().collect();
    flipped[4] = if flipped[4] == 'A' { 'B' } else { 'A' };
    let flipped: String = flipped.into_iter().collect();
    let http = reqwest::Client::new();
    for token in [
        forged.as_str(),
        flipped.as_str(),
        "not-a-token",
        "%3Cscript%3E",
    ] {
        let res = http
            .get(format!("{}/s/{token}", w.ts.url()))
            .header("accept-language", "en-US,en;q=0.9")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{token}");
        assert!(res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        let html = res.text().await.unwrap();
        assert!(html.contains("no longer valid"), "{html}");
        assert!(!w.ts.admin().share_exists(token).await.unwrap());

        let beacon = Beacon {
            t: token.to_string(),
            pv: "page-view-forged".into(),
            dwell_ms: 10,
        };
        let res = http
            .post(format!("{}/t/beacon", w.ts.url()))
            .body(serde_json::to_string(&beacon).unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
        assert_eq!(api_error(res).await.code, ErrorCode::NotFound);
    }
    // Chinese by default.
    let res = http
        .get(format!("{}/s/{forged}", w.ts.url()))
        .send()
        .await
        .unwrap();
    assert!(res.text().await.unwrap().contains("链接已失效"));
    assert_eq!(w.ts.admin().count_visits().await.unwrap(), 0);

    // Oversized and malformed beacons.
    let res = http
        .post(format!("{}/t/beacon", w.ts.url()))
        .body(vec![b' '; 4096])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let res = http
        .post(format!("{}/t/beacon", w.ts.url()))
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(w.ts.admin().count_visits().await.unwrap(), 0);
}

/// An article written offline places its images under keys the device
/// picked; the next sync uploads them there. Sending one again (its answer
/// was lost) answers the same media and keeps one file; another company
/// cannot take or read a key that is in use.
#[tokio::test]
async fn media_under_a_devices_own_key_is_idempotent_and_scoped() {
    let w = world().await;
    let m = activate(&w.ts, w.manager.id).await;
    let dir = w.ts.admin().media_dir();
    let jpeg = vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, b'J', b'F', b'I', b'F'];
    let key = "0123456789abcdef0123456789abcdef";
    let put = |d: &common::Device, key: &str| {
        d.put(&PATH_MEDIA_KEY.replace("{key}", key))
            .header("content-type", "image/jpeg")
            .body(jpeg.clone())
            .send()
    };
    for bad in [
        "short",
        "0123456789ABCDEF0123456789ABCDEF",
        "../../etc/passwd",
    ] {
        let res = put(&m, bad).await.unwrap();
        assert_ne!(res.status(), StatusCode::OK, "{bad}");
    }
    assert!(media_files(&dir).is_empty(), "{:?}", media_files(&dir));

    let first: MediaRef = put(&m, key).await.unwrap().json().await.unwrap();
    assert_eq!(first.key, key);
    let res = put(&m, key).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let again: MediaRef = res.json().await.unwrap();
    assert_eq!(again.id, first.id);
    assert_eq!(w.ts.admin().count_media().await.unwrap(), 1);
    assert_eq!(media_files(&dir).len(), 1, "{:?}", media_files(&dir));
    let res = m.get(&first.path()).send().await.unwrap();
    assert_eq!(res.bytes().await.unwrap().to_vec(), jpeg);

    let partner = activate(&w.ts, w.partner_a1.id).await;
    assert_eq!(
        put(&partner, "f".repeat(32).as_str())
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN
    );
    let stranger = other_company_manager(&w.ts).await;
    let res = put(&stranger, key).await.unwrap();
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert_eq!(api_error(res).await.code, ErrorCode::Conflict);
    assert_eq!(w.ts.admin().count_media().await.unwrap(), 1);
    assert_eq!(media_files(&dir).len(), 1, "{:?}", media_files(&dir));
}
