//! Storage that cannot be filled by one company: a per-company media quota
//! on both upload paths (counted in the database, so two uploads at once
//! cannot both pass it), the sweep of media nothing uses and of crashed
//! uploads, and uploads that stall are cut off.

mod common;

use std::path::Path;
use std::time::Duration;

use common::{activate, api_error, mutation, upload, world_with, Device, World};
use reqwest::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use warmlead_core::api::{
    ContentDraft, MediaUsage, PATH_COMPANY_PROFILE, PATH_CONTENT, PATH_MEDIA, PATH_MEDIA_USAGE,
    PATH_POSTER_ARTWORK,
};
use warmlead_core::company::CompanyProfile;
use warmlead_core::domain::{ContentAudience, ContentKind, MediaRef};
use warmlead_core::limits::{MEDIA_SWEEP_GRACE_HOURS, MEDIA_UPLOAD_STALE_MINUTES};
use warmlead_core::sync::{MutationBody, Outcome};
use warmlead_core::ErrorCode;
use warmlead_server::testing::Backend;
use warmlead_server::{Options, Swept};

const KIB: usize = 1024;

/// A PNG's first bytes, then `len` bytes in all.
fn png(len: usize) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    bytes.resize(len, 7);
    bytes
}

/// A world whose companies have 1 MiB of media room, and whose uploads
/// stall after 1 s.
async fn small_world() -> World {
    world_with(
        Backend::selected(),
        Options {
            media_quota_mb: 1,
            upload_stall: Duration::from_secs(1),
            ..Options::default()
        },
    )
    .await
}

async fn post(d: &Device, bytes: Vec<u8>) -> reqwest::Response {
    d.post(PATH_MEDIA)
        .header("content-type", "image/png")
        .body(bytes)
        .send()
        .await
        .unwrap()
}

async fn put_key(d: &Device, key: &str, body: reqwest::Body) -> reqwest::Response {
    d.put(&format!("{PATH_MEDIA}/{key}"))
        .header("content-type", "image/png")
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn usage(d: &Device) -> MediaUsage {
    let res = d.get(PATH_MEDIA_USAGE).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

/// Upload temp files left in the media folder.
fn temp_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".upload-"))
        .collect()
}

/// The media files (not temp files) in the media folder.
fn media_files(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| {
            !e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with('.')
        })
        .count()
}

async fn refused_for_room(res: reqwest::Response) -> String {
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let err = api_error(res).await;
    assert_eq!(err.code, ErrorCode::PayloadTooLarge);
    assert!(
        err.message.contains("storage is full")
            && err.message.contains("of 1 MB used")
            && err.message.contains("--media-quota-mb"),
        "says used / total and what to do: {}",
        err.message
    );
    err.message
}

/// An upload that would pass the company's quota is refused (413, used /
/// total and what to do), on both upload paths, whether its length is
/// declared or only found out while streaming; it leaves no row, no file,
/// no room taken. Another company's room is its own.
#[tokio::test]
async fn uploads_past_the_quota_are_refused_on_both_paths() {
    let w = small_world().await;
    let rep = activate(&w.ts, w.rep_a.id).await;
    let manager = activate(&w.ts, w.manager.id).await;
    let dir = w.ts.admin().media_dir();

    let first = upload(&rep, "image/png", png(600 * KIB)).await;
    let used = usage(&manager).await;
    assert_eq!(used.quota_bytes, 1024 * 1024);
    assert_eq!(used.used_bytes, first.size);

    // Declared length: refused before a byte is stored.
    let msg = refused_for_room(post(&rep, png(600 * KIB)).await).await;
    assert!(msg.contains("600 KB of 1 MB used"), "{msg}");
    // The device's own key, streamed without a length: refused once the
    // bytes pass the room left.
    let key = "0123456789abcdef0123456789abcdef";
    let streamed = reqwest::Body::wrap_stream(futures_util::stream::iter((0..6).map(|i| {
        Ok::<_, std::io::Error>(if i == 0 {
            png(100 * KIB)
        } else {
            vec![7; 100 * KIB]
        })
    })));
    refused_for_room(put_key(&rep, key, streamed).await).await;
    // Without a length through POST too.
    let streamed = reqwest::Body::wrap_stream(futures_util::stream::iter((0..6).map(|i| {
        Ok::<_, std::io::Error>(if i == 0 {
            png(100 * KIB)
        } else {
            vec![7; 100 * KIB]
        })
    })));
    let res = rep
        .post(PATH_MEDIA)
        .header("content-type", "image/png")
        .body(streamed)
        .send()
        .await
        .unwrap();
    refused_for_room(res).await;

    assert_eq!(w.ts.admin().count_media().await.unwrap(), 1);
    assert_eq!(usage(&manager).await.used_bytes, first.size, "no room kept");
    common::eventually("no temp file left", 10, || async {
        temp_files(&dir).is_empty()
    })
    .await;
    assert_eq!(media_files(&dir), 1);

    // What fits still goes, by either path.
    upload(&rep, "image/png", png(200 * KIB)).await;
    let res = put_key(&rep, key, reqwest::Body::from(png(200 * KIB))).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        usage(&manager).await.used_bytes,
        first.size + 400 * KIB as i64
    );

    // A second company starts with its own room.
    let other = w.ts.admin().create_company("别家公司").await.unwrap();
    let other_rep =
        w.ts.admin()
            .create_user(
                other.id,
                warmlead_core::domain::Role::Rep,
                "周八",
                None,
                None,
            )
            .await
            .unwrap();
    let other_rep = activate(&w.ts, other_rep.id).await;
    upload(&other_rep, "image/png", png(900 * KIB)).await;
    assert_eq!(usage(&other_rep).await.used_bytes, 900 * KIB as i64);

    // Partners upload nothing and see no usage.
    let partner = activate(&w.ts, w.partner_a1.id).await;
    let res = partner.get(PATH_MEDIA_USAGE).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}

/// Two uploads at once, each fitting alone but not together: exactly one
/// is stored (the room is taken by one conditional statement, not checked
/// and then taken).
#[tokio::test]
async fn two_uploads_at_once_cannot_both_pass_the_quota() {
    let w = small_world().await;
    let a = activate(&w.ts, w.rep_a.id).await;
    let b = activate(&w.ts, w.rep_b.id).await;
    let manager = activate(&w.ts, w.manager.id).await;
    for round in 0..5 {
        let (ra, rb) = tokio::join!(post(&a, png(700 * KIB)), post(&b, png(700 * KIB)));
        let mut statuses = [ra.status(), rb.status()];
        statuses.sort();
        assert_eq!(
            statuses,
            [StatusCode::OK, StatusCode::PAYLOAD_TOO_LARGE],
            "round {round}"
        );
        assert_eq!(usage(&manager).await.used_bytes, 700 * KIB as i64);
        // Free the room again for the next round.
        assert_eq!(w.ts.admin().count_media().await.unwrap(), 1);
        let later = storage_now() + grace_ms() + 60_000;
        let swept = w.ts.admin().sweep_media(later).await.unwrap();
        assert_eq!(swept.media, 1, "round {round}");
        assert_eq!(usage(&manager).await.used_bytes, 0);
    }
}

fn storage_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn grace_ms() -> i64 {
    (MEDIA_SWEEP_GRACE_HOURS * 3600 * 1000) as i64
}

fn stale_ms() -> i64 {
    (MEDIA_UPLOAD_STALE_MINUTES * 60 * 1000) as i64
}

fn draft(kind: ContentKind, body: &str, cover: Option<MediaRef>) -> ContentDraft {
    ContentDraft {
        kind,
        title: "封面测试".into(),
        summary: String::new(),
        body: body.into(),
        case_study: None,
        cover,
        video: None,
        audience: ContentAudience::Company,
    }
}

async fn save(d: &Device, key: &str, draft: &ContentDraft) -> i64 {
    let res = d
        .put(&format!("{PATH_CONTENT}/{key}"))
        .json(draft)
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "{}",
        res.text().await.unwrap()
    );
    res.json::<warmlead_core::domain::ContentItem>()
        .await
        .unwrap()
        .id
}

/// Whether the company's device still gets the media.
async fn served(d: &Device, m: &MediaRef) -> bool {
    let res = d.get(&m.path()).send().await.unwrap();
    match res.status() {
        StatusCode::OK => true,
        StatusCode::NOT_FOUND => false,
        other => panic!("{other}"),
    }
}

/// Media that no item (a draft, a live article's image, a cover), no
/// company profile (logo, poster artwork) uses are removed once past the
/// grace period (row, then file, and their room given back); used ones and
/// young ones stay. A deleted item's media are freed. Crashed uploads'
/// temp files and reserved room go too. Two sweeps at once remove each
/// media once.
#[tokio::test]
async fn the_sweep_removes_what_nothing_uses_after_the_grace_period() {
    let w = world_with(Backend::selected(), Options::default()).await;
    let manager = activate(&w.ts, w.manager.id).await;
    let rep = activate(&w.ts, w.rep_a.id).await;
    let admin = w.ts.admin();
    let dir = admin.media_dir();

    let unused = upload(&rep, "image/png", png(3 * KIB)).await;
    let draft_cover = upload(&rep, "image/png", png(3 * KIB)).await;
    save(
        &rep,
        "draft-1",
        &draft(ContentKind::Poster, "", Some(draft_cover.clone())),
    )
    .await;
    let image_key = "00112233445566778899aabbccddeeff";
    let res = put_key(&rep, image_key, reqwest::Body::from(png(3 * KIB))).await;
    assert_eq!(res.status(), StatusCode::OK);
    let image: MediaRef = res.json().await.unwrap();
    save(
        &rep,
        "article-1",
        &draft(
            ContentKind::Article,
            &format!("<p>图</p><img src=\"/media/{image_key}\">"),
            None,
        ),
    )
    .await;
    let logo = upload(&manager, "image/png", png(2 * KIB)).await;
    let res = manager
        .put(PATH_COMPANY_PROFILE)
        .json(&CompanyProfile {
            name: "暖居装修".into(),
            logo_media_id: Some(logo.id),
            poster_slogan: None,
            commission_promise: None,
        })
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "{}",
        res.text().await.unwrap()
    );
    let artwork = upload(&manager, "image/png", png(2 * KIB)).await;
    let res = manager
        .put(PATH_POSTER_ARTWORK)
        .json(&serde_json::json!({ "media_id": artwork.id }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "{}",
        res.text().await.unwrap()
    );
    // The manager's own upload: a cover must be the saver's upload or shown
    // by a live item they can see (issue 18).
    let deleted_cover = upload(&manager, "image/png", png(3 * KIB)).await;
    let gone = save(
        &manager,
        "gone",
        &draft(ContentKind::Poster, "", Some(deleted_cover.clone())),
    )
    .await;
    let res = manager
        .push(vec![mutation(
            1,
            MutationBody::DeleteContentItem { item_id: gone },
        )])
        .await;
    assert_eq!(res.outcomes[0].outcome, Outcome::Applied);
    let kept = [&draft_cover, &image, &logo, &artwork];
    let used_before = usage(&manager).await.used_bytes;

    // A crashed upload: its temp file and its reserved room.
    let crashed = dir.join(".upload-crashed");
    std::fs::write(&crashed, b"half a video").unwrap();
    let old = std::time::SystemTime::now() - Duration::from_millis(stale_ms() as u64 + 60_000);
    std::fs::File::options()
        .write(true)
        .open(&crashed)
        .unwrap()
        .set_modified(old)
        .unwrap();
    let live_upload = dir.join(".upload-in-progress");
    std::fs::write(&live_upload, b"being written").unwrap();
    let sql = w.ts.sql();
    let c = w.company.id;
    sql.execute(&format!(
        "INSERT INTO media_reservations (company_id, bytes, touched_at)
         VALUES ({c}, 5000, {})",
        storage_now() - stale_ms() - 60_000
    ))
    .await;
    sql.execute(&format!(
        "UPDATE media_usage SET bytes = bytes + 5000 WHERE company_id = {c}"
    ))
    .await;
    assert_eq!(usage(&manager).await.used_bytes, used_before + 5000);

    // Now: every media is young, so only the crashed upload goes.
    let swept = admin.sweep_media(storage_now()).await.unwrap();
    assert_eq!(
        swept,
        Swept {
            media: 0,
            bytes: 0,
            reservations: 1,
            temp_files: 1
        }
    );
    assert!(!crashed.exists() && live_upload.exists());
    assert_eq!(usage(&manager).await.used_bytes, used_before);
    assert!(served(&rep, &unused).await && served(&rep, &deleted_cover).await);

    // Past the grace period, two sweeps at once: the unused upload and the
    // deleted item's cover go, once.
    let later = storage_now() + grace_ms() + 60_000;
    let (one, two) = tokio::join!(admin.sweep_media(later), admin.sweep_media(later));
    let (one, two) = (one.unwrap(), two.unwrap());
    assert_eq!(one.media + two.media, 2, "{one:?} {two:?}");
    assert_eq!(one.bytes + two.bytes, 6 * KIB as i64);
    assert_eq!(
        usage(&manager).await.used_bytes,
        used_before - 6 * KIB as i64
    );
    assert!(!served(&rep, &unused).await && !served(&rep, &deleted_cover).await);
    for m in kept {
        assert!(served(&rep, m).await, "{m:?} is used and stays");
    }
    assert_eq!(admin.count_media().await.unwrap(), 4);
    assert_eq!(media_files(&dir), 4, "their files went with their rows");

    // The draft's cover is freed once the draft no longer shows it.
    save(&rep, "draft-1", &draft(ContentKind::Poster, "", None)).await;
    let swept = admin.sweep_media(later).await.unwrap();
    assert_eq!(swept.media, 1);
    assert!(!served(&rep, &draft_cover).await);
}

/// Reads the HTTP status line of the answer on `stream` (within 20 s).
async fn status_line(stream: &mut tokio::net::TcpStream) -> String {
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    let read = async {
        while !got.windows(2).any(|w| w == b"\r\n") {
            let n = stream.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
        }
    };
    tokio::time::timeout(Duration::from_secs(20), read)
        .await
        .expect("an answer while the body stalls");
    let text = String::from_utf8_lossy(&got);
    text.lines().next().unwrap_or_default().to_string()
}

/// A client that stops sending halfway through its body is cut off with
/// 408 once the stall time passes; its temp file is removed and its room
/// given back. A client that goes away mid-body leaves nothing either.
#[tokio::test]
async fn a_stalled_upload_is_cut_off_and_leaves_nothing() {
    let w = small_world().await;
    let rep = activate(&w.ts, w.rep_a.id).await;
    let manager = activate(&w.ts, w.manager.id).await;
    let dir = w.ts.admin().media_dir();
    let addr = w.ts.server.addr();

    for path in [
        PATH_MEDIA.to_string(),
        format!("{PATH_MEDIA}/aaaaaaaaaaaaaaaabbbbbbbbbbbbbbbb"),
    ] {
        let method = if path == PATH_MEDIA { "POST" } else { "PUT" };
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\n\
             Content-Type: image/png\r\nContent-Length: 500000\r\n\r\n",
            rep.act.device_token
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        stream.write_all(&png(200 * KIB)).await.unwrap();
        stream.flush().await.unwrap();
        // The upload is under way: its temp file is there.
        common::eventually("the upload's temp file", 10, || async {
            !temp_files(&dir).is_empty()
        })
        .await;
        // Then nothing more is sent.
        let line = status_line(&mut stream).await;
        assert!(line.starts_with("HTTP/1.1 408"), "{method}: {line}");
        common::eventually("the stalled upload's temp file removed", 10, || async {
            temp_files(&dir).is_empty()
        })
        .await;
        assert_eq!(
            usage(&manager).await.used_bytes,
            0,
            "{method}: room given back"
        );
        assert_eq!(w.ts.admin().count_media().await.unwrap(), 0);
    }

    // A client that hangs up mid-body.
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST {PATH_MEDIA} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: image/png\r\nContent-Length: 500000\r\n\r\n",
        rep.act.device_token
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&png(200 * KIB)).await.unwrap();
    common::eventually("the upload's temp file", 10, || async {
        !temp_files(&dir).is_empty()
    })
    .await;
    drop(stream);
    common::eventually("the dropped upload's temp file removed", 10, || async {
        temp_files(&dir).is_empty()
    })
    .await;
    common::eventually("the dropped upload's room given back", 10, || async {
        usage(&manager).await.used_bytes == 0
    })
    .await;
}
