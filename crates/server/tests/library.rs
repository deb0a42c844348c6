//! The content library written in the app: drafts, publish, edit after
//! publishing, archive; who sees which item; hostile article HTML; the
//! mutations a device pushes for drafts written offline.

mod common;

use common::{activate, api_error, mutation, upload, world, Device, World};
use reqwest::StatusCode;
use warmlead_core::api::{ContentDraft, PATH_CONTENT};
use warmlead_core::domain::{
    CaseStudy, Channel, ContentAudience, ContentItem, ContentKind, ContentStatus, MediaRef, Role,
};
use warmlead_core::sync::{Change, ChangeBody, EntityKind, MutationBody, Outcome};
use warmlead_core::ErrorCode;

fn draft(kind: ContentKind, title: &str, body: &str) -> ContentDraft {
    ContentDraft {
        kind,
        title: title.into(),
        summary: String::new(),
        body: body.into(),
        case_study: None,
        cover: None,
        video: None,
        audience: ContentAudience::Company,
    }
}

async fn save(d: &Device, key: &str, draft: &ContentDraft) -> reqwest::Response {
    d.http
        .put(format!("{}{PATH_CONTENT}/{key}", d.base))
        .bearer_auth(&d.act.device_token)
        .json(draft)
        .send()
        .await
        .unwrap()
}

async fn saved(d: &Device, key: &str, draft: &ContentDraft) -> ContentItem {
    let res = save(d, key, draft).await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "{}",
        res.text().await.unwrap()
    );
    res.json().await.unwrap()
}

async fn act(d: &Device, key: &str, what: &str) -> reqwest::Response {
    d.post(&format!("{PATH_CONTENT}/{key}/{what}"))
        .send()
        .await
        .unwrap()
}

async fn published(d: &Device, key: &str) -> ContentItem {
    let res = act(d, key, "publish").await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "{}",
        res.text().await.unwrap()
    );
    res.json().await.unwrap()
}

async fn listed(d: &Device) -> Vec<ContentItem> {
    let res = d.get(PATH_CONTENT).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

/// What a device holds after applying its whole pull, by item id.
fn held(changes: &[Change]) -> std::collections::BTreeMap<i64, ContentItem> {
    let mut items = std::collections::BTreeMap::new();
    for c in changes {
        match &c.body {
            ChangeBody::ContentItem(i) => {
                items.insert(i.id, i.clone());
            }
            ChangeBody::Tombstone {
                kind: EntityKind::ContentItem,
                id,
            } => {
                items.remove(&id.parse::<i64>().unwrap());
            }
            _ => {}
        }
    }
    items
}

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";

struct Devices {
    manager: Device,
    rep_a: Device,
    rep_b: Device,
    partner_a1: Device,
    partner_b1: Device,
}

async fn devices(w: &World) -> Devices {
    Devices {
        manager: activate(&w.ts, w.manager.id).await,
        rep_a: activate(&w.ts, w.rep_a.id).await,
        rep_b: activate(&w.ts, w.rep_b.id).await,
        partner_a1: activate(&w.ts, w.partner_a1.id).await,
        partner_b1: activate(&w.ts, w.partner_b1.id).await,
    }
}

/// A hostile article saved through the API is stored, listed, pulled and
/// served clean.
/// The public page of `item_id` as a share the partner's device signed.
async fn public_page(
    ts: &warmlead_server::testing::TestServer,
    partner: &Device,
    item_id: i64,
    channel: Channel,
) -> String {
    let token = partner.sign(1, item_id, channel);
    reqwest::get(format!("{}/s/{token}", ts.url()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_hostile_article_comes_back_clean() {
    let w = world().await;
    let d = devices(&w).await;
    let img = upload(&d.manager, "image/png", PNG.to_vec()).await;
    let hostile = format!(
        "<h2 onclick=\"x()\">标题</h2><script>alert(1)</script><p style=\"color:red\">正文\
         <a href=\"javascript:alert(2)\">链接</a><a href=\"https://example.com\">好链接</a></p>\
         <svg onload=\"alert(3)\"><script>alert(4)</script></svg><iframe src=\"https://evil.example\"></iframe>\
         <img src=\"x\" onerror=\"alert(5)\"><img src=\"{}\" alt=\"厨房\">\
         <math><mtext><table><mglyph><style><img src=x onerror=alert(6)>",
        img.path()
    );
    let item = saved(
        &d.manager,
        "hostile-1",
        &draft(ContentKind::Article, "避坑", &hostile),
    )
    .await;
    let expected = format!(
        "<h2>标题</h2><p>正文<a target=\"_blank\" rel=\"noopener nofollow\">链接</a>\
         <a href=\"https://example.com\" target=\"_blank\" rel=\"noopener nofollow\">好链接</a></p>\
         <img><img src=\"{}\" alt=\"厨房\">",
        img.path()
    );
    assert_eq!(item.body, expected);
    assert_eq!(item.status, ContentStatus::Draft);
    published(&d.manager, "hostile-1").await;
    let from_list = listed(&d.partner_a1).await;
    let got = from_list.iter().find(|i| i.key == "hostile-1").unwrap();
    assert_eq!(got.body, expected);
    let pulled = held(&d.partner_a1.pull_all().await);
    assert_eq!(pulled[&item.id].body, expected);

    // The image placed in the text is public now that the article is live.
    let res = reqwest::get(format!("{}{}", w.ts.url(), img.path()))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    // Its public page carries the clean body and nothing hostile.
    let page = public_page(&w.ts, &d.partner_a1, item.id, Channel::Moments).await;
    assert!(page.contains(&expected), "{page}");
    for bad in [
        "alert(",
        "onerror",
        "onload",
        "javascript:",
        "<iframe",
        "<svg",
    ] {
        assert!(!page.contains(bad), "{bad} on the page");
    }
}

/// A rep's own items reach only that rep's partners; a company item sent
/// to chosen reps reaches only theirs; drafts only the author and managers.
#[tokio::test]
async fn who_sees_which_item_through_list_and_pull() {
    let w = world().await;
    let d = devices(&w).await;
    // Rep A's own item, which claims to be for everyone.
    let mut own = draft(ContentKind::Article, "李明的案例", "<p>我的</p>");
    own.audience = ContentAudience::Reps {
        rep_ids: vec![w.rep_b.id],
    };
    let mine = saved(&d.rep_a, "rep-a-own", &own).await;
    assert_eq!(mine.owner_id, Some(w.rep_a.id));
    assert_eq!(
        mine.audience,
        ContentAudience::Reps {
            rep_ids: vec![w.rep_a.id]
        },
        "a rep chooses no audience: their own partners"
    );
    // A company item for rep B's partners only.
    let mut for_b = draft(ContentKind::Article, "给王芳团队", "<p>b</p>");
    for_b.audience = ContentAudience::Reps {
        rep_ids: vec![w.rep_b.id],
    };
    let for_b = saved(&d.manager, "for-b", &for_b).await;

    let keys = |items: Vec<ContentItem>| {
        let mut k: Vec<String> = items.into_iter().map(|i| i.key).collect();
        k.sort();
        k
    };
    let base = w.item.key.clone();
    // Drafts: the author and the managers.
    assert_eq!(keys(listed(&d.manager).await).len(), 3);
    assert_eq!(
        keys(listed(&d.rep_a).await),
        vec![base.clone(), "rep-a-own".to_string()]
    );
    assert_eq!(keys(listed(&d.partner_a1).await), vec![base.clone()]);
    assert!(!held(&d.partner_a1.pull_all().await).contains_key(&mine.id));

    published(&d.rep_a, "rep-a-own").await;
    published(&d.manager, "for-b").await;
    let mut a_sees = vec![base.clone(), "rep-a-own".to_string()];
    a_sees.sort();
    let mut b_sees = vec![base.clone(), "for-b".to_string()];
    b_sees.sort();
    assert_eq!(keys(listed(&d.partner_a1).await), a_sees);
    assert_eq!(keys(listed(&d.rep_a).await), a_sees);
    assert_eq!(keys(listed(&d.partner_b1).await), b_sees);
    assert_eq!(keys(listed(&d.rep_b).await), b_sees);
    // The pull delivers exactly the same.
    for (dev, want) in [(&d.partner_a1, &a_sees), (&d.partner_b1, &b_sees)] {
        let got: Vec<String> = held(&dev.pull_all().await)
            .into_values()
            .map(|i| i.key)
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        assert_eq!(&got, want);
    }
    // Another rep's partner can neither share nor edit it.
    let res = d
        .partner_b1
        .push(vec![d.partner_b1.create_share(1, 1, mine.id)])
        .await;
    assert!(
        matches!(
            res.outcomes[0].outcome,
            Outcome::Rejected {
                code: ErrorCode::NotFound,
                ..
            }
        ),
        "{res:?}"
    );
    let res = save(
        &d.rep_b,
        "rep-a-own",
        &draft(ContentKind::Article, "改", ""),
    )
    .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = save(
        &d.partner_a1,
        "p-new",
        &draft(ContentKind::Article, "x", ""),
    )
    .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // The manager moves "for-b" to everyone: rep A's partner gets it then.
    let mut everyone = draft(ContentKind::Article, "给所有人", "<p>b</p>");
    everyone.audience = ContentAudience::Company;
    saved(&d.manager, "for-b", &everyone).await;
    assert!(held(&d.partner_a1.pull_all().await).contains_key(&for_b.id));
    // ...and back to rep B only: rep A's partner gets a tombstone.
    let mut back = everyone.clone();
    back.audience = ContentAudience::Reps {
        rep_ids: vec![w.rep_b.id],
    };
    saved(&d.manager, "for-b", &back).await;
    assert!(!held(&d.partner_a1.pull_all().await).contains_key(&for_b.id));
    assert!(held(&d.partner_b1.pull_all().await).contains_key(&for_b.id));
    assert!(held(&d.manager.pull_all().await).contains_key(&for_b.id));
}

/// Publishing asks for what is missing; an edit of a live item shows on
/// its open links; archiving removes it from briefcases and its links show
/// the polite page.
#[tokio::test]
async fn publish_edit_and_archive() {
    let w = world().await;
    let d = devices(&w).await;
    let res = act(&d.manager, "nothing-yet", "publish").await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let empty = saved(&d.manager, "guide", &draft(ContentKind::Article, "  ", "")).await;
    let res = act(&d.manager, "guide", "publish").await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(api_error(res).await.message.contains("add a title"));
    let video = saved(&d.manager, "v", &draft(ContentKind::Video, "视频", "")).await;
    let res = act(&d.manager, &video.key, "publish").await;
    assert!(api_error(res).await.message.contains("upload the video"));

    saved(
        &d.manager,
        "guide",
        &draft(ContentKind::Article, "小户型收纳", "<p>一</p>"),
    )
    .await;
    published(&d.manager, "guide").await;
    let token = d.partner_a1.sign(1, empty.id, Channel::Group);
    let pushed = d
        .partner_a1
        .push(vec![d.partner_a1.create_share(1, 1, empty.id)])
        .await;
    assert_eq!(pushed.outcomes[0].outcome, Outcome::Applied);
    let page = |token: String| {
        let base = w.ts.url();
        async move {
            let res = reqwest::get(format!("{base}/s/{token}")).await.unwrap();
            (res.status(), res.text().await.unwrap())
        }
    };
    let (status, html) = page(token.clone()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("小户型收纳"));

    // Edited after publishing: still live, the open link shows the new version.
    let edited = saved(
        &d.manager,
        "guide",
        &draft(ContentKind::Article, "小户型收纳（新版）", "<p>二</p>"),
    )
    .await;
    assert_eq!(edited.status, ContentStatus::Live);
    let (_, html) = page(token.clone()).await;
    assert!(
        html.contains("小户型收纳（新版）") && html.contains("<p>二</p>"),
        "{html}"
    );

    let archived: ContentItem = act(&d.manager, "guide", "archive")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(archived.status, ContentStatus::Archived);
    let (status, html) = page(token).await;
    assert_eq!(status, StatusCode::GONE);
    assert!(
        html.contains("wl-archived") && html.contains("暖居装修"),
        "{html}"
    );
    assert!(!html.contains("小户型收纳"));
    // Out of the partner's briefcase (list and pull), still in the manager's library.
    assert!(!listed(&d.partner_a1).await.iter().any(|i| i.key == "guide"));
    assert!(!held(&d.partner_a1.pull_all().await).contains_key(&empty.id));
    let m = held(&d.manager.pull_all().await);
    assert_eq!(m[&empty.id].status, ContentStatus::Archived);
    // No new shares of it.
    let res = d
        .partner_a1
        .push(vec![d.partner_a1.create_share(2, 2, empty.id)])
        .await;
    assert!(matches!(res.outcomes[0].outcome, Outcome::Rejected { .. }));
}

/// Drafts written offline arrive as mutations: saved, edited, published in
/// order; one that can never succeed is rejected and does not block the
/// rest.
#[tokio::test]
async fn offline_drafts_arrive_through_push() {
    let w = world().await;
    let d = devices(&w).await;
    let img = upload(&d.rep_a, "image/png", PNG.to_vec()).await;
    let mut cs = draft(ContentKind::CaseStudy, "王先生家的老房翻新", "");
    cs.case_study = Some(CaseStudy {
        customer: "王先生一家".into(),
        problem: "<b>老房</b>漏水".into(),
        solution: "全屋防水".into(),
        result: "两年没漏".into(),
        quote: "省心".into(),
        images: vec![img.clone()],
    });
    let m = |seq, body| mutation(seq, body);
    let res = d
        .rep_a
        .push(vec![
            m(
                1,
                MutationBody::SaveContent {
                    key: "offline-1".into(),
                    draft: Box::new(cs.clone()),
                },
            ),
            // Another rep's key cannot be edited by this rep.
            m(
                2,
                MutationBody::PublishContent {
                    key: "not-there".into(),
                },
            ),
            m(
                3,
                MutationBody::SaveContent {
                    key: "offline-1".into(),
                    draft: Box::new(ContentDraft {
                        summary: "改过".into(),
                        ..cs.clone()
                    }),
                },
            ),
            m(
                4,
                MutationBody::PublishContent {
                    key: "offline-1".into(),
                },
            ),
        ])
        .await;
    let outcomes: Vec<bool> = res
        .outcomes
        .iter()
        .map(|o| o.outcome == Outcome::Applied)
        .collect();
    assert_eq!(outcomes, [true, false, true, true], "{res:?}");
    let item = listed(&d.partner_a1)
        .await
        .into_iter()
        .find(|i| i.key == "offline-1")
        .expect("published to rep A's partners");
    assert_eq!(item.summary, "改过");
    assert_eq!(item.case_study.as_ref().unwrap().images, vec![img.clone()]);
    assert!(!listed(&d.partner_b1)
        .await
        .iter()
        .any(|i| i.key == "offline-1"));
    // The public page shows the card, escaped.
    let html = public_page(&w.ts, &d.partner_a1, item.id, Channel::Direct).await;
    assert!(
        html.contains("&lt;b&gt;老房&lt;/b&gt;漏水") && html.contains(&img.path()),
        "{html}"
    );
    // A partner's library mutation is refused by role and moves on.
    let res = d
        .partner_a1
        .push(vec![m(
            1,
            MutationBody::ArchiveContent {
                key: "offline-1".into(),
            },
        )])
        .await;
    assert!(matches!(
        res.outcomes[0].outcome,
        Outcome::Rejected {
            code: ErrorCode::Forbidden,
            ..
        }
    ));
}

const MP4: &[u8] = b"\0\0\0\x20ftypisom\0\0\x02\0";

/// The reference a device sends: the id only (an attacker who counts ids
/// has no key).
fn by_id(m: &MediaRef) -> MediaRef {
    MediaRef {
        key: String::new(),
        ..m.clone()
    }
}

/// Whether anyone without a token can fetch the media.
async fn is_public(ts: &warmlead_server::testing::TestServer, m: &MediaRef) -> bool {
    let res = reqwest::get(format!("{}{}", ts.url(), m.path()))
        .await
        .unwrap();
    res.status() == StatusCode::OK
}

/// A media file can be attached to an item only by its uploader, or by
/// anyone once a live item they see shows it: naming another user's
/// unpublished upload (a cover, a video, a case-study photo, an image in an
/// article) is a 403 that does not carry the file's key, through the API and
/// through sync (a rejection the outbox moves past), and the file stays
/// private. Another company's ids are refused too.
#[tokio::test]
async fn media_are_attached_only_by_their_uploader_or_once_a_visible_live_item_shows_them() {
    let w = world().await;
    let d = devices(&w).await;
    let m_img = upload(&d.manager, "image/png", PNG.to_vec()).await;
    let m_vid = upload(&d.manager, "video/mp4", MP4.to_vec()).await;
    let b_img = upload(&d.rep_b, "image/png", PNG.to_vec()).await;
    let admin = w.ts.admin();
    let elsewhere = admin.create_company("别家公司").await.unwrap();
    let their_manager = admin
        .create_user(elsewhere.id, Role::Manager, "外人", None, None)
        .await
        .unwrap();
    let their_img = upload(
        &activate(&w.ts, their_manager.id).await,
        "image/png",
        PNG.to_vec(),
    )
    .await;

    let with_cover = |m: &MediaRef| ContentDraft {
        cover: Some(by_id(m)),
        ..draft(ContentKind::Article, "封面", "<p>x</p>")
    };
    let with_video = |m: &MediaRef| ContentDraft {
        video: Some(by_id(m)),
        ..draft(ContentKind::Video, "视频", "")
    };
    let with_photo = |m: &MediaRef| ContentDraft {
        case_study: Some(CaseStudy {
            images: vec![by_id(m)],
            ..CaseStudy::default()
        }),
        ..draft(ContentKind::CaseStudy, "案例", "")
    };
    let with_inline = |m: &MediaRef| {
        draft(
            ContentKind::Article,
            "图文",
            &format!("<p>看图</p><img src=\"{}\" alt=\"图\">", m.path()),
        )
    };
    // (who, what, draft, status, must not leak)
    let refused: Vec<(&Device, &str, ContentDraft, StatusCode, &MediaRef)> = vec![
        (
            &d.rep_a,
            "manager's cover",
            with_cover(&m_img),
            StatusCode::FORBIDDEN,
            &m_img,
        ),
        (
            &d.rep_a,
            "manager's video",
            with_video(&m_vid),
            StatusCode::FORBIDDEN,
            &m_vid,
        ),
        (
            &d.rep_a,
            "rep B's photo",
            with_photo(&b_img),
            StatusCode::FORBIDDEN,
            &b_img,
        ),
        (
            &d.rep_a,
            "manager's inline image",
            with_inline(&m_img),
            StatusCode::FORBIDDEN,
            &m_img,
        ),
        (
            &d.manager,
            "rep B's cover",
            with_cover(&b_img),
            StatusCode::FORBIDDEN,
            &b_img,
        ),
        (
            &d.rep_a,
            "another company's cover",
            with_cover(&their_img),
            StatusCode::BAD_REQUEST,
            &their_img,
        ),
        (
            &d.manager,
            "another company's photo",
            with_photo(&their_img),
            StatusCode::BAD_REQUEST,
            &their_img,
        ),
    ];
    for (i, (who, what, dr, status, media)) in refused.iter().enumerate() {
        let res = save(who, &format!("taken-{i}"), dr).await;
        assert_eq!(res.status(), *status, "{what}");
        let text = res.text().await.unwrap();
        assert!(!text.contains(&media.key), "{what}: the key leaked: {text}");
        let err: warmlead_core::error::ApiError = serde_json::from_str(&text).unwrap();
        assert!(!err.message.is_empty(), "{what}");
        // Nothing was saved that could be published.
        assert_eq!(
            act(who, &format!("taken-{i}"), "publish").await.status(),
            StatusCode::NOT_FOUND,
            "{what}"
        );
    }
    // Through sync: rejected, and the outbox moves on.
    let res = d
        .rep_a
        .push(vec![
            mutation(
                1,
                MutationBody::SaveContent {
                    key: "pushed-cover".into(),
                    draft: Box::new(with_cover(&m_img)),
                },
            ),
            mutation(
                2,
                MutationBody::SaveContent {
                    key: "pushed-video".into(),
                    draft: Box::new(with_video(&m_vid)),
                },
            ),
            mutation(
                3,
                MutationBody::PublishContent {
                    key: "pushed-cover".into(),
                },
            ),
            mutation(
                4,
                MutationBody::SaveContent {
                    key: "own".into(),
                    draft: Box::new(draft(ContentKind::Article, "自己的", "<p>y</p>")),
                },
            ),
        ])
        .await;
    let outcomes: Vec<Option<ErrorCode>> = res
        .outcomes
        .iter()
        .map(|o| match &o.outcome {
            Outcome::Applied => None,
            Outcome::Rejected { code, .. } => Some(*code),
        })
        .collect();
    assert_eq!(
        outcomes,
        [
            Some(ErrorCode::Forbidden),
            Some(ErrorCode::Forbidden),
            Some(ErrorCode::NotFound),
            None
        ],
        "{res:?}"
    );
    assert_eq!(res.last_seq, 4);
    let pulled = serde_json::to_string(&d.rep_a.pull_all().await).unwrap();
    for m in [&m_img, &m_vid, &b_img] {
        assert!(
            !pulled.contains(&m.key),
            "rep A pulled a key it may not have"
        );
        assert!(!is_public(&w.ts, m).await, "{} went public", m.key);
    }

    // Their own uploads: fine. An edit keeps what the item already shows,
    // whoever edits it (the manager edits rep B's item with rep B's photo).
    let a_img = upload(&d.rep_a, "image/png", PNG.to_vec()).await;
    saved(&d.rep_a, "a-own-cover", &with_cover(&a_img)).await;
    saved(&d.rep_b, "b-photo", &with_photo(&b_img)).await;
    let edited = saved(
        &d.manager,
        "b-photo",
        &ContentDraft {
            summary: "经理改过".into(),
            ..with_photo(&b_img)
        },
    )
    .await;
    assert_eq!(edited.case_study.unwrap().images[0].key, b_img.key);

    // Once a live item rep A sees shows the manager's image, rep A may use it;
    // a live item only for rep B's partners does not open it to rep A.
    let mut for_b = with_cover(&m_img);
    for_b.audience = ContentAudience::Reps {
        rep_ids: vec![w.rep_b.id],
    };
    saved(&d.manager, "m-for-b", &for_b).await;
    published(&d.manager, "m-for-b").await;
    assert!(is_public(&w.ts, &m_img).await);
    assert_eq!(
        save(&d.rep_a, "a-reuse", &with_cover(&m_img))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    let reused = saved(&d.rep_b, "b-reuse", &with_cover(&m_img)).await;
    assert_eq!(reused.cover.unwrap().key, m_img.key);
    saved(&d.manager, "m-for-all", &with_cover(&m_img)).await;
    published(&d.manager, "m-for-all").await;
    let reused = saved(&d.rep_a, "a-reuse", &with_cover(&m_img)).await;
    assert_eq!(reused.cover.unwrap().key, m_img.key);
}

/// Who may delete what (issue 19): a rep their own drafts; not their own
/// item once published, not another rep's draft, not a company item; a
/// manager any item. Refusals are stored outcomes, the later ones apply.
#[tokio::test]
async fn reps_delete_their_own_drafts_only() {
    let w = world().await;
    let d = devices(&w).await;
    let own_draft = saved(
        &d.rep_a,
        "a-draft",
        &draft(ContentKind::Article, "草稿", "<p>x</p>"),
    )
    .await;
    let own_live = saved(
        &d.rep_a,
        "a-live",
        &draft(ContentKind::Article, "已发", "<p>x</p>"),
    )
    .await;
    published(&d.rep_a, "a-live").await;
    let others = saved(
        &d.rep_b,
        "b-draft",
        &draft(ContentKind::Article, "别人的", "<p>x</p>"),
    )
    .await;
    let delete = |item_id| MutationBody::DeleteContentItem { item_id };
    let res = d
        .rep_a
        .push(vec![
            mutation(1, delete(own_live.id)),
            mutation(2, delete(others.id)),
            mutation(3, delete(w.item.id)),
            mutation(4, delete(own_draft.id)),
        ])
        .await;
    let outcomes: Vec<_> = res.outcomes.iter().map(|o| o.outcome.clone()).collect();
    assert!(
        matches!(
            &outcomes[..3],
            [
                Outcome::Rejected { .. },
                Outcome::Rejected { .. },
                Outcome::Rejected { .. }
            ]
        ),
        "{outcomes:?}"
    );
    assert_eq!(outcomes[3], Outcome::Applied);
    let mine: Vec<i64> = listed(&d.rep_a).await.iter().map(|i| i.id).collect();
    assert!(
        !mine.contains(&own_draft.id) && mine.contains(&own_live.id),
        "{mine:?}"
    );

    // A partner may delete nothing; a manager anything.
    let res = d
        .partner_a1
        .push(vec![mutation(1, delete(own_live.id))])
        .await;
    assert!(matches!(res.outcomes[0].outcome, Outcome::Rejected { .. }));
    let res = d.manager.push(vec![mutation(1, delete(own_live.id))]).await;
    assert_eq!(res.outcomes[0].outcome, Outcome::Applied);
}
