//! Link previews: a share page carries the card a chat app shows (title,
//! description, absolute image URL on the public base URL), read here with
//! an HTML parser as a link-preview fetcher would.

mod common;

use common::{activate, upload, Device};
use dom_query::Document;
use reqwest::StatusCode;
use warmlead_core::api::NewContentItem;
use warmlead_core::domain::{Channel, ContentKind, MediaRef, Role};
use warmlead_server::testing::TestServer;

const PUBLIC: &str = "https://r.example.com";

async fn upload_jpeg(d: &Device) -> MediaRef {
    let jpeg = vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, b'J', b'F', b'I', b'F'];
    upload(d, "image/jpeg", jpeg).await
}

/// `content` of the first element matching `selector`, None when absent.
fn content(doc: &Document, selector: &str) -> Option<String> {
    let sel = doc.select(selector);
    sel.exists()
        .then(|| sel.attr("content").map(|c| c.to_string()))
        .flatten()
}

struct Setup {
    ts: TestServer,
    partner: Device,
    manager: Device,
    company_id: i64,
}

async fn setup() -> Setup {
    let ts = TestServer::start_configured(false, Some(PUBLIC.into()), Default::default()).await;
    let a = ts.admin();
    let company = a.create_company("暖居装修").await.unwrap();
    let manager = a
        .create_user(company.id, Role::Manager, "张总", None, None)
        .await
        .unwrap();
    let partner = a
        .create_user(company.id, Role::Partner, "张三", None, None)
        .await
        .unwrap();
    let manager = activate(&ts, manager.id).await;
    let partner = activate(&ts, partner.id).await;
    Setup {
        ts,
        partner,
        manager,
        company_id: company.id,
    }
}

async fn page_of(s: &Setup, item: NewContentItem) -> (String, Document) {
    let item =
        s.ts.admin()
            .create_content_item(s.company_id, item)
            .await
            .unwrap();
    let token = s.partner.sign(item.id, item.id, Channel::Moments);
    let res = reqwest::get(format!("{}/s/{token}", s.ts.url()))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    (token, Document::from(res.text().await.unwrap().as_str()))
}

#[tokio::test]
async fn a_share_page_carries_its_card_with_an_absolute_image() {
    let s = setup().await;
    let cover = upload_jpeg(&s.manager).await;
    let item = NewContentItem {
        kind: ContentKind::Article,
        title: "装修避坑指南 <第 1 版>".into(),
        summary: "水电改造前 \"一定\" 要问清楚的十件事".into(),
        body: "正文".into(),
        cover_media_id: Some(cover.id),
        video_media_id: None,
    };
    let (token, doc) = page_of(&s, item).await;
    let image = format!("{PUBLIC}/media/{}", cover.key);
    let want = [
        ("meta[property='og:title']", "装修避坑指南 <第 1 版>"),
        (
            "meta[property='og:description']",
            "水电改造前 \"一定\" 要问清楚的十件事",
        ),
        (
            "meta[name='description']",
            "水电改造前 \"一定\" 要问清楚的十件事",
        ),
        ("meta[property='og:image']", &image),
        ("meta[property='og:type']", "article"),
        ("meta[property='og:site_name']", "暖居装修"),
        ("meta[name='twitter:card']", "summary_large_image"),
        ("meta[name='twitter:image']", &image),
        ("meta[itemprop='image']", &image),
        ("meta[itemprop='name']", "装修避坑指南 <第 1 版>"),
    ];
    for (selector, value) in want {
        assert_eq!(
            content(&doc, selector).as_deref(),
            Some(value),
            "{selector}"
        );
    }
    assert_eq!(
        content(&doc, "meta[property='og:url']"),
        Some(format!("{PUBLIC}/s/{token}"))
    );
    // The first image of the page (WeChat's card without its SDK).
    assert_eq!(
        doc.select("body img")
            .first()
            .attr("src")
            .map(|s| s.to_string()),
        Some(cover.path())
    );
    // A fetcher with no cookie and no token can load the card's image.
    let res = reqwest::get(format!("{}{}", s.ts.url(), cover.path()))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "image/jpeg");
}

#[tokio::test]
async fn without_a_cover_the_card_is_a_summary_of_the_first_paragraph() {
    let s = setup().await;
    let mut mp4 = b"\0\0\0\x20ftypisom\0\0\x02\0".to_vec();
    mp4.resize(64, 0);
    let video = upload(&s.manager, "video/mp4", mp4).await;
    let item = NewContentItem {
        kind: ContentKind::Video,
        title: "旧房翻新实拍".into(),
        summary: " ".into(),
        body: "\n\n第一段：  老房子\n四十年。\n\n第二段。".into(),
        cover_media_id: None,
        video_media_id: Some(video.id),
    };
    let (_, doc) = page_of(&s, item).await;
    assert_eq!(
        content(&doc, "meta[property='og:description']").as_deref(),
        Some("第一段： 老房子 四十年。")
    );
    assert_eq!(
        content(&doc, "meta[property='og:type']").as_deref(),
        Some("video.other")
    );
    assert_eq!(
        content(&doc, "meta[name='twitter:card']").as_deref(),
        Some("summary")
    );
    assert_eq!(content(&doc, "meta[property='og:image']"), None);
    assert!(!doc.select("#wl-card-image").exists());
}
