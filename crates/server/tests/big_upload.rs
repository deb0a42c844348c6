//! A 300 MB video goes through the real server: streamed from a file on
//! disk to the media directory, then read back in pieces with `Range:`.

mod common;

use common::{activate, world};
use reqwest::StatusCode;
use tokio::io::AsyncWriteExt;
use warmlead_core::api::PATH_MEDIA;
use warmlead_core::domain::MediaRef;

const SIZE: u64 = 300_000_000;

/// An MP4 header, then a pattern whose bytes say where they are.
async fn write_video(path: &std::path::Path) {
    let mut f = tokio::fs::File::create(path).await.unwrap();
    f.write_all(b"\0\0\0\x20ftypisom").await.unwrap();
    let mut written = 12u64;
    let chunk: Vec<u8> = (0..1u64 << 20).map(|i| (i % 251) as u8).collect();
    while written < SIZE {
        let n = (SIZE - written).min(chunk.len() as u64) as usize;
        f.write_all(&chunk[..n]).await.unwrap();
        written += n as u64;
    }
    f.sync_all().await.unwrap();
}

#[tokio::test]
async fn a_300_mb_video_uploads_and_serves_ranges() {
    let w = world().await;
    let rep = activate(&w.ts, w.rep_a.id).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("walkthrough.mp4");
    write_video(&path).await;

    let file = tokio::fs::File::open(&path).await.unwrap();
    let res = rep
        .post(PATH_MEDIA)
        .header("content-type", "video/mp4")
        .header("content-length", SIZE)
        .body(reqwest::Body::from(file))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "{}",
        res.text().await.unwrap()
    );
    let media: MediaRef = res.json().await.unwrap();
    assert_eq!(media.size, SIZE as i64);
    drop(dir);

    // The last ten bytes, as a phone's player asks for them.
    let res = rep
        .get(&media.path())
        .header("range", format!("bytes={}-", SIZE - 10))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        res.headers()["content-range"].to_str().unwrap(),
        format!("bytes {}-{}/{SIZE}", SIZE - 10, SIZE - 1)
    );
    let tail = res.bytes().await.unwrap();
    let want: Vec<u8> = (SIZE - 10..SIZE)
        .map(|at| ((at - 12) % (1 << 20) % 251) as u8)
        .collect();
    assert_eq!(tail.as_ref(), want.as_slice());
    // The start: the MP4 header.
    let res = rep
        .get(&media.path())
        .header("range", "bytes=0-11")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(res.bytes().await.unwrap().as_ref(), b"\0\0\0\x20ftypisom");
}
