//! [`ContentStore`]: a media key and an item key are taken once, an item
//! reads back as saved (its case study, audience and media kept), an item
//! is deleted once, media are public only while a live item shows them,
//! and another company's items and media are not this company's.

use warmlead_core::domain::{CaseStudy, ContentAudience, ContentKind, ContentStatus, MediaRef};
use warmlead_core::visibility::Author;

use super::{entities, Fixture, NOW};
use crate::storage::content_store::{ContentStore, ItemFields, ItemRef, MediaOwner};

const KEY_A: &str = "0123456789abcdef0123456789abcdef";
const KEY_B: &str = "fedcba9876543210fedcba9876543210";
const KEY_C: &str = "00000000000000000000000000000c0c";

fn fields<'a>(title: &'a str, audience: &'a ContentAudience) -> ItemFields<'a> {
    ItemFields {
        title,
        summary: "摘要",
        body: "<p>正文</p>",
        case_study: None,
        cover: None,
        video: None,
        audience,
    }
}

fn media_keys_taken_once(c: &dyn ContentStore, w: &Fixture) {
    let (a, b) = (w.a.company.id, w.b.company.id);
    let by_rep = MediaOwner {
        company_id: a,
        uploaded_by: Some(w.a.rep.id),
    };
    let size = 3_000_000_000;
    let id = c
        .insert_media(by_rep, "video/mp4", size, "2026/视频.mp4", KEY_A, NOW)
        .unwrap()
        .expect("a new key");
    let other = MediaOwner {
        company_id: b,
        uploaded_by: None,
    };
    assert_eq!(
        c.insert_media(other, "image/png", 1, "b.png", KEY_A, NOW)
            .unwrap(),
        None,
        "a key is taken once, whichever company"
    );
    let expected = MediaRef {
        id,
        content_type: "video/mp4".into(),
        size,
        key: KEY_A.into(),
    };
    assert_eq!(c.media(id).unwrap(), Some((a, expected.clone())));
    assert_eq!(c.media_with_key(KEY_A).unwrap(), Some((a, expected)));
    assert!(c.media(id + 1000).unwrap().is_none());
    assert!(c.media_with_key(KEY_B).unwrap().is_none());
    let stored = c.media_by_key(KEY_A).unwrap().expect("by key");
    assert_eq!(
        (
            stored.company_id,
            stored.content_type.as_str(),
            stored.path.as_str(),
            stored.public
        ),
        (a, "video/mp4", "2026/视频.mp4", false)
    );
    assert!(c.media_by_key(KEY_B).unwrap().is_none());

    assert_eq!(c.uploaded_by(a, id).unwrap(), Some(w.a.rep.id));
    assert!(c.uploaded_by(b, id).is_err(), "not b's media");
    let operators = c
        .insert_media(other, "image/png", 1, "b.png", KEY_B, NOW)
        .unwrap()
        .unwrap();
    assert_eq!(c.uploaded_by(b, operators).unwrap(), None, "the operator's");

    assert_eq!(c.image_with_key(b, KEY_B).unwrap(), Some(operators));
    assert_eq!(c.image_with_key(a, KEY_B).unwrap(), None, "b's image");
    assert_eq!(c.image_with_key(a, KEY_A).unwrap(), None, "a video");
    assert_eq!(c.count_media().unwrap(), 2);
}

#[test]
fn a_media_key_is_taken_once_and_its_media_read_back_as_stored() {
    let w = Fixture::new();
    w.run(|s| media_keys_taken_once(&*s.content(), &w));
}

fn drafts_read_back(c: &dyn ContentStore, w: &Fixture) {
    let (a, b) = (w.a.company.id, w.b.company.id);
    let owner = MediaOwner {
        company_id: a,
        uploaded_by: Some(w.a.rep.id),
    };
    let cover = c
        .insert_media(owner, "image/png", 10, "c.png", KEY_A, NOW)
        .unwrap()
        .unwrap();
    let photo = c
        .insert_media(owner, "image/jpeg", 20, "p.jpg", KEY_B, NOW)
        .unwrap()
        .unwrap();
    let photo_ref = c.media(photo).unwrap().unwrap().1;
    let case = CaseStudy {
        customer: "陈女士".into(),
        problem: "厨房太暗".into(),
        solution: "换了窗".into(),
        result: "亮堂了".into(),
        quote: "很满意".into(),
        images: vec![photo_ref],
    };
    let audience = ContentAudience::Reps {
        rep_ids: vec![w.a.rep.id],
    };
    let mut f = fields("我的案例 🏠", &audience);
    f.case_study = Some(&case);
    f.cover = Some(cover);
    let kind = ContentKind::CaseStudy;
    let id = c
        .insert_draft(a, "key-1", kind, w.a.rep.id, f, NOW)
        .unwrap()
        .expect("a new key");
    let company = ContentAudience::Company;
    assert_eq!(
        c.insert_draft(
            a,
            "key-1",
            kind,
            w.a.rep.id,
            fields("又一稿", &company),
            NOW + 1
        )
        .unwrap(),
        None,
        "an item key is taken once in a company"
    );
    let theirs = c
        .insert_draft(
            b,
            "key-1",
            kind,
            w.b.rep.id,
            fields("乙的稿", &company),
            NOW,
        )
        .unwrap()
        .expect("another company's key");

    let (item, author) = c.item(a, ItemRef::Key("key-1")).unwrap().expect("by key");
    assert_eq!(author, Author::Rep(w.a.rep.id));
    assert_eq!(
        (
            item.id,
            item.company_id,
            item.key.as_str(),
            item.kind,
            item.status
        ),
        (id, a, "key-1", kind, ContentStatus::Draft)
    );
    assert_eq!(
        (item.owner_id, item.audience.clone()),
        (Some(w.a.rep.id), audience.clone())
    );
    assert_eq!(
        (
            item.title.as_str(),
            item.summary.as_str(),
            item.body.as_str()
        ),
        ("我的案例 🏠", "摘要", "<p>正文</p>")
    );
    assert_eq!(item.case_study, Some(Box::new(case)));
    assert_eq!(
        item.cover.as_ref().map(|m| (m.id, m.key.as_str())),
        Some((cover, KEY_A))
    );
    assert_eq!(
        (item.video.clone(), item.created_at_ms, item.updated_at_ms),
        (None, NOW, NOW)
    );
    assert_eq!(
        c.item(a, ItemRef::Id(id)).unwrap().map(|i| i.0),
        Some(item.clone())
    );
    assert_eq!(
        c.item_for_write(a, ItemRef::Id(id)).unwrap().map(|i| i.0),
        Some(item)
    );
    assert!(c.item(b, ItemRef::Id(id)).unwrap().is_none(), "a's id");
    assert!(c.item_for_write(b, ItemRef::Id(id)).unwrap().is_none());
    assert_eq!(
        c.item(b, ItemRef::Key("key-1")).unwrap().map(|i| i.0.id),
        Some(theirs)
    );
    assert!(c.item(a, ItemRef::Key("key-9")).unwrap().is_none());

    // A manager's draft is a company item.
    let managers = c
        .insert_draft(
            a,
            "key-2",
            ContentKind::Article,
            w.a.manager.id,
            fields("经理稿", &company),
            NOW,
        )
        .unwrap()
        .unwrap();
    let (_, author) = c.item(a, ItemRef::Id(managers)).unwrap().unwrap();
    assert_eq!(author, Author::Company);

    let ids = |company| -> Vec<i64> { c.items(company).unwrap().iter().map(|i| i.0.id).collect() };
    assert_eq!(ids(a), vec![w.a.item.id, id, managers]);
    assert_eq!(ids(b), vec![w.b.item.id, theirs]);
    let with_media: Vec<i64> = c
        .items_with_media()
        .unwrap()
        .iter()
        .map(|i| i.0.id)
        .collect();
    assert_eq!(with_media, vec![id]);
}

#[test]
fn an_item_key_is_taken_once_per_company_and_a_draft_reads_back_as_saved() {
    let w = Fixture::new();
    w.run(|s| drafts_read_back(&*s.content(), &w));
}

fn writes_are_the_companys(c: &dyn ContentStore, w: &Fixture) {
    let (a, b) = (w.a.company.id, w.b.company.id);
    let company = ContentAudience::Company;
    let id = c
        .insert_company_item(a, ContentKind::Video, fields("公司视频", &company), NOW)
        .unwrap();
    let (item, author) = c.item(a, ItemRef::Id(id)).unwrap().unwrap();
    assert_eq!(
        (item.status, item.owner_id, author),
        (ContentStatus::Live, None, Author::Company)
    );
    assert_eq!(item.key.len(), 36, "a fresh random key");

    c.update_item(b, id, fields("乙改的", &company), NOW + 1)
        .unwrap();
    c.set_status(b, id, ContentStatus::Archived, NOW + 1)
        .unwrap();
    assert!(
        !c.mark_deleted(b, id, NOW + 1).unwrap(),
        "b's write reaches nothing"
    );
    let same = c.item(a, ItemRef::Id(id)).unwrap().unwrap().0;
    assert_eq!(same, item);

    let reps = ContentAudience::Reps {
        rep_ids: vec![w.a.rep.id],
    };
    c.update_item(a, id, fields("改过的视频", &reps), NOW + 2)
        .unwrap();
    c.set_status(a, id, ContentStatus::Archived, NOW + 3)
        .unwrap();
    let (item, _) = c.item(a, ItemRef::Id(id)).unwrap().unwrap();
    assert_eq!((item.title.as_str(), item.audience), ("改过的视频", reps));
    assert_eq!(
        (item.status, item.updated_at_ms, item.kind),
        (ContentStatus::Archived, NOW + 3, ContentKind::Video)
    );

    assert!(c.mark_deleted(a, id, NOW + 4).unwrap());
    assert!(!c.mark_deleted(a, id, NOW + 5).unwrap(), "deleted once");
    assert!(c.item(a, ItemRef::Id(id)).unwrap().is_none());
    assert!(!c.items(a).unwrap().iter().any(|i| i.0.id == id));
}

#[test]
fn an_item_is_written_and_deleted_once_only_by_its_company() {
    let w = Fixture::new();
    w.run(|s| writes_are_the_companys(&*s.content(), &w));
}

fn media_shown_while_live(c: &dyn ContentStore, w: &Fixture) {
    let (a, b) = (w.a.company.id, w.b.company.id);
    let owner = MediaOwner {
        company_id: a,
        uploaded_by: None,
    };
    let shown = c
        .insert_media(owner, "image/png", 5, "a.png", KEY_A, NOW)
        .unwrap()
        .unwrap();
    let dropped = c
        .insert_media(owner, "image/png", 5, "b.png", KEY_B, NOW)
        .unwrap()
        .unwrap();
    let item = w.a.item.id;
    c.link_media(item, &[shown, dropped]).unwrap();
    c.link_media(item, &[shown]).unwrap();
    assert!(c.item_shows(item, shown).unwrap());
    assert!(!c.item_shows(item, dropped).unwrap(), "replaced");
    assert!(
        c.media_by_key(KEY_A).unwrap().unwrap().public,
        "a live item shows it"
    );
    assert!(!c.media_by_key(KEY_B).unwrap().unwrap().public);
    let by = c.live_items_showing(a, shown).unwrap();
    assert_eq!(by.len(), 1);
    assert_eq!(
        (by[0].status, by[0].author),
        (ContentStatus::Live, Author::Company)
    );
    assert_eq!(by[0].audience, ContentAudience::Company);
    assert!(
        c.live_items_showing(b, shown).unwrap().is_empty(),
        "a's item"
    );

    c.set_status(a, item, ContentStatus::Archived, NOW).unwrap();
    assert!(!c.media_by_key(KEY_A).unwrap().unwrap().public, "archived");
    assert!(c.live_items_showing(a, shown).unwrap().is_empty());
    c.set_status(a, item, ContentStatus::Live, NOW).unwrap();
    assert!(c.mark_deleted(a, item, NOW).unwrap());
    assert!(
        !c.item_shows(item, shown).unwrap(),
        "deleted: its media let go"
    );
    assert!(!c.media_by_key(KEY_A).unwrap().unwrap().public);
}

#[test]
fn media_are_public_only_while_a_live_item_shows_them() {
    let w = Fixture::new();
    w.run(|s| media_shown_while_live(&*s.content(), &w));
}

#[test]
fn articles_and_artwork_are_listed_across_companies() {
    let w = Fixture::new();
    w.run(|s| {
        let c = s.content();
        let bodies = c.article_bodies().unwrap();
        let ids: Vec<(i64, i64)> = bodies.iter().map(|b| (b.0, b.1)).collect();
        assert_eq!(
            ids,
            vec![(w.a.item.id, w.a.company.id), (w.b.item.id, w.b.company.id)]
        );
        let before = c
            .item(w.a.company.id, ItemRef::Id(w.a.item.id))
            .unwrap()
            .unwrap()
            .0;
        c.set_body(w.a.item.id, "<p>新的正文</p>").unwrap();
        let after = c
            .item(w.a.company.id, ItemRef::Id(w.a.item.id))
            .unwrap()
            .unwrap()
            .0;
        assert_eq!(after.body, "<p>新的正文</p>");
        assert_eq!(after.updated_at_ms, before.updated_at_ms, "as it is");

        assert!(c.companies_with_artwork().unwrap().is_empty());
        let owner = MediaOwner {
            company_id: w.b.company.id,
            uploaded_by: None,
        };
        let art = c
            .insert_media(owner, "image/png", 1, "p.png", KEY_C, NOW)
            .unwrap()
            .unwrap();
        s.legacy()
            .execute(
                "UPDATE companies SET poster_media_id = ?1 WHERE id = ?2",
                crate::storage::sql::params![art, w.b.company.id],
            )
            .unwrap();
        assert_eq!(c.companies_with_artwork().unwrap(), vec![w.b.company.id]);
        assert!(
            c.media_by_key(KEY_C).unwrap().unwrap().public,
            "poster artwork"
        );
    });
}

#[test]
fn announcements_reach_the_items_company() {
    let w = Fixture::new();
    w.run(|s| {
        let c = s.content();
        let seq = w.newest_seq(s);
        let (item, author) = c
            .item(w.b.company.id, ItemRef::Id(w.b.item.id))
            .unwrap()
            .unwrap();
        c.announce(None, &item, author, NOW).unwrap();
        let logged = w.changes_after(s, seq);
        assert!(!logged.is_empty());
        assert!(logged
            .iter()
            .all(|(co, b)| *co == w.b.company.id && b["entity"] == "content_item"));
        assert_eq!(logged[0].1["data"]["title"], item.title.as_str());

        let seq = w.newest_seq(s);
        let draft = warmlead_core::domain::ContentItem {
            status: ContentStatus::Draft,
            ..item.clone()
        };
        c.announce(Some(&(item.clone(), author)), &draft, author, NOW + 1)
            .unwrap();
        let logged = w.changes_after(s, seq);
        assert!(
            entities(&logged).contains(&"tombstone".to_string()),
            "{logged:?}"
        );

        let seq = w.newest_seq(s);
        c.announce_deleted(w.b.company.id, item.id, NOW + 2)
            .unwrap();
        let logged = w.changes_after(s, seq);
        assert_eq!(entities(&logged), vec!["tombstone"]);
        assert_eq!(logged[0].0, w.b.company.id);
        c.items_changed(w.b.company.id).unwrap();
    });
}

/// What serving media and the briefcase read in a snapshot.
#[test]
fn the_library_answers_in_a_read_only_snapshot() {
    let w = Fixture::new();
    let a = w.a.company.id;
    let owner = MediaOwner {
        company_id: a,
        uploaded_by: None,
    };
    let media = w.run(|s| {
        let c = s.content();
        let id = c
            .insert_media(owner, "image/png", 5, "a.png", KEY_A, NOW)
            .unwrap()
            .unwrap();
        c.link_media(w.a.item.id, &[id]).unwrap();
        id
    });
    let items = w.run(|s| s.content().items(a).unwrap());
    w.read(|s| {
        let c = s.content();
        let stored = c.media_by_key(KEY_A).unwrap().unwrap();
        assert_eq!((stored.company_id, stored.public), (a, true));
        assert_eq!(c.count_media().unwrap(), 1);
        assert_eq!(c.items(a).unwrap(), items);
        assert!(c.item_shows(w.a.item.id, media).unwrap());
        assert_eq!(
            c.item(a, ItemRef::Id(w.a.item.id)).unwrap(),
            items.first().cloned()
        );
    });
}
