//! The content library across programs: a rep writes an article while the
//! server is unreachable, it waits in the store, sync pushes it, and only
//! that rep's partner sees it in the briefcase, also offline; archiving
//! takes it out again.

use warmlead_core::api::ContentDraft;
use warmlead_core::app::{BriefcaseQuery, LibraryQuery};
use warmlead_core::domain::{ContentAudience, ContentKind, ContentStatus};
use warmlead_sync::{sync_once, SyncError};
use warmlead_tests::{closed_url, World};

fn briefcase_titles(store: &warmlead_store::Store) -> Vec<String> {
    let mut t: Vec<String> = store
        .briefcase(&BriefcaseQuery::default())
        .unwrap()
        .into_iter()
        .map(|b| b.item.title)
        .collect();
    t.sort();
    t
}

fn article(title: &str, body: &str) -> ContentDraft {
    ContentDraft {
        kind: ContentKind::Article,
        title: title.into(),
        summary: "摘要".into(),
        body: body.into(),
        case_study: None,
        cover: None,
        video: None,
        audience: ContentAudience::Company,
    }
}

#[tokio::test]
async fn a_draft_written_offline_reaches_only_the_reps_partners() {
    let w = World::start(1).await;
    let rep = w.device(&w.rep, "li-laptop").await;
    let partner = w.device(&w.partner, "zhang-laptop").await;
    let other = w.device(&w.other_partner, "zhao-laptop").await;
    for d in [&rep, &partner, &other] {
        sync_once(&d.path).await.unwrap();
    }
    let company_item = w.items[0].title.clone();

    // Written with no network: saved as typed, several times.
    rep.set_server_url(&closed_url());
    let store = rep.store();
    store
        .save_content("offline-guide", &article("", "<p>开"))
        .unwrap();
    store
        .save_content(
            "offline-guide",
            &article("旧房翻新预算", "<p>开头<script>x()</script></p>"),
        )
        .unwrap();
    let err = store
        .set_content_status("offline-guide", ContentStatus::Live)
        .map(|_| ())
        .err();
    assert!(err.is_none(), "{err:?}");
    drop(store);
    let res = sync_once(&rep.path).await.unwrap_err();
    assert!(matches!(res, SyncError::Offline(_)), "{res:?}");
    // The app restarted: nothing typed is lost.
    let store = rep.store();
    let mine = store
        .library(&LibraryQuery {
            mine_only: true,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].item.title, "旧房翻新预算");
    assert_eq!(mine[0].item.status, ContentStatus::Live);
    assert!(mine[0].unsynced && mine[0].mine && mine[0].item.id == 0);

    // Back online: pushed, sanitised by the server, pulled back.
    rep.set_server_url(&w.url());
    let report = sync_once(&rep.path).await.unwrap();
    assert_eq!(report.rejected, 0);
    let mine = store
        .library(&LibraryQuery {
            mine_only: true,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(mine.len(), 1, "{mine:?}");
    assert!(!mine[0].unsynced && mine[0].item.id > 0);
    assert_eq!(mine[0].item.body, "<p>开头</p>");
    assert_eq!(mine[0].item.owner_id, Some(w.rep.id));

    // Only the rep's partner gets it; the other rep's partner never does.
    sync_once(&partner.path).await.unwrap();
    sync_once(&other.path).await.unwrap();
    let mut both = vec![company_item.clone(), "旧房翻新预算".to_string()];
    both.sort();
    assert_eq!(briefcase_titles(&partner.store()), both);
    assert_eq!(briefcase_titles(&other.store()), vec![company_item.clone()]);
    // Offline, the partner still has it.
    partner.set_server_url(&closed_url());
    assert_eq!(briefcase_titles(&partner.store()), both);
    partner.set_server_url(&w.url());

    // Archived by its author: out of the partner's briefcase after sync.
    store
        .set_content_status("offline-guide", ContentStatus::Archived)
        .unwrap();
    sync_once(&rep.path).await.unwrap();
    sync_once(&partner.path).await.unwrap();
    assert_eq!(briefcase_titles(&partner.store()), vec![company_item]);
    let archived = store
        .library(&LibraryQuery {
            status: Some(ContentStatus::Archived),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(archived.len(), 1);
    assert!(!archived[0].unsynced);
}

/// A change the server refuses is shown with its reason, does not block
/// the outbox, and keeps what was typed.
#[tokio::test]
async fn a_refused_edit_keeps_the_text_and_does_not_block() {
    let w = World::start(1).await;
    let rep = w.device(&w.rep, "li-laptop").await;
    let other_rep = w.device(&w.other_rep, "wang-laptop").await;
    let store = rep.store();
    store
        .save_content("mine", &article("我的", "<p>a</p>"))
        .unwrap();
    sync_once(&rep.path).await.unwrap();
    // The other rep uses the same key for their own text: refused (not theirs).
    let other = other_rep.store();
    other
        .save_content("mine", &article("不是我的", "<p>b</p>"))
        .unwrap();
    other
        .save_content("theirs", &article("王芳的", "<p>c</p>"))
        .unwrap();
    let report = sync_once(&other_rep.path).await.unwrap();
    assert_eq!((report.pushed, report.rejected), (1, 1));
    let lib = other.library(&LibraryQuery::default()).unwrap();
    let refused = lib.iter().find(|i| i.item.key == "mine").expect("kept");
    assert_eq!(refused.item.title, "不是我的");
    assert!(
        refused
            .rejected
            .as_deref()
            .is_some_and(|m| m.contains("author")),
        "{refused:?}"
    );
    let ok = lib.iter().find(|i| i.item.key == "theirs").unwrap();
    assert!(ok.item.id > 0 && ok.rejected.is_none());
}

/// A PNG's signature and header: what the server's sniffing checks.
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0";

/// An image placed in an article with no network waits in the store under
/// its own key; the next sync uploads it before the article, and the live
/// article's public image is those bytes. An image the server refuses for
/// good is shown as rejected and holds up nothing after it.
#[tokio::test]
async fn an_image_placed_offline_is_uploaded_before_its_article() {
    let w = World::start(1).await;
    let rep = w.device(&w.rep, "li-laptop").await;
    let partner = w.device(&w.partner, "zhang-laptop").await;
    sync_once(&rep.path).await.unwrap();

    rep.set_server_url(&closed_url());
    let store = rep.store();
    let image = store.add_article_image("image/png", PNG).unwrap();
    let body = format!(
        "<p>看图</p><p><img src=\"/media/{}\" alt=\"\"></p>",
        image.key
    );
    store
        .save_content("with-image", &article("带图的文章", &body))
        .unwrap();
    store
        .set_content_status("with-image", ContentStatus::Live)
        .unwrap();
    // A second image whose bytes are not what they claim: the server will refuse it.
    let bad = store
        .add_article_image("image/png", b"<svg onload=alert(1)>")
        .unwrap();
    let res = sync_once(&rep.path).await.unwrap_err();
    assert!(matches!(res, SyncError::Offline(_)), "{res:?}");
    assert_eq!(
        store.local_media(&image.key).unwrap().map(|m| m.1),
        Some(PNG.to_vec()),
        "the editor's preview reads it from the cache"
    );
    assert_eq!(store.sync_status(false).unwrap().pending, 4);

    rep.set_server_url(&w.url());
    let report = sync_once(&rep.path).await.unwrap();
    assert_eq!((report.pushed, report.rejected), (3, 1), "{report:?}");
    assert!(store.pending_media(10).unwrap().is_empty());
    let status = store.sync_status(true).unwrap();
    assert_eq!(status.pending, 0);
    assert_eq!(status.rejected.len(), 1, "{:?}", status.rejected);
    assert_eq!(status.rejected[0].mutation_id, format!("media:{}", bad.key));
    assert!(
        status.rejected[0].message.contains("bytes"),
        "{}",
        status.rejected[0].message
    );

    // The partner's briefcase has the article; its image is public now.
    sync_once(&partner.path).await.unwrap();
    let items = partner
        .store()
        .briefcase(&BriefcaseQuery::default())
        .unwrap();
    let item = items
        .iter()
        .find(|b| b.item.title == "带图的文章")
        .expect("in the briefcase");
    assert!(item.item.body.contains(&image.key), "{}", item.item.body);
    let res = reqwest::get(format!("{}/media/{}", w.url(), image.key))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.bytes().await.unwrap().to_vec(), PNG);
}

/// A rep deletes a draft (issue 19): refused while it waits to sync (its
/// queued save would bring it back), gone here and on the server once
/// synced; a published item is never deleted this way.
#[tokio::test]
async fn a_synced_draft_is_deleted_here_and_on_the_server() {
    let w = World::start(1).await;
    let rep = w.device(&w.rep, "li-laptop").await;
    let other = w.device(&w.rep, "li-phone").await;
    sync_once(&rep.path).await.unwrap();
    let store = rep.store();
    store
        .save_content("typo-draft", &article("写错的草稿", "<p>删掉</p>"))
        .unwrap();
    let err = store.delete_draft("typo-draft").unwrap_err();
    assert!(err.to_string().contains("after the next sync"), "{err}");

    sync_once(&rep.path).await.unwrap();
    sync_once(&other.path).await.unwrap();
    let titles = |s: &warmlead_store::Store| -> Vec<String> {
        s.library(&LibraryQuery::default())
            .unwrap()
            .into_iter()
            .map(|i| i.item.title)
            .collect()
    };
    assert!(titles(&other.store()).contains(&"写错的草稿".to_string()));

    store.delete_draft("typo-draft").unwrap();
    assert!(
        !titles(&store).contains(&"写错的草稿".to_string()),
        "gone here at once"
    );
    let report = sync_once(&rep.path).await.unwrap();
    assert_eq!(report.rejected, 0);
    sync_once(&other.path).await.unwrap();
    assert!(
        !titles(&other.store()).contains(&"写错的草稿".to_string()),
        "gone on the server"
    );
    assert!(
        !titles(&store).contains(&"写错的草稿".to_string()),
        "and stays gone"
    );

    // A published item is archived, not deleted.
    store
        .save_content("live-one", &article("已发布", "<p>正文</p>"))
        .unwrap();
    store
        .set_content_status("live-one", ContentStatus::Live)
        .unwrap();
    sync_once(&rep.path).await.unwrap();
    let err = store.delete_draft("live-one").unwrap_err();
    assert!(err.to_string().contains("only a draft"), "{err}");
}
