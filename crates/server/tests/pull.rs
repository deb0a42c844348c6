mod common;

use common::{activate, mutation, world, Device};
use warmlead_core::api::Beacon;
use warmlead_core::sync::{Change, ChangeBody, EntityKind, MutationBody};

fn user_ids(changes: &[Change]) -> Vec<i64> {
    let mut ids: Vec<i64> = changes
        .iter()
        .filter_map(|c| match &c.body {
            ChangeBody::User(u) => Some(u.id),
            _ => None,
        })
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

fn share_partners(changes: &[Change]) -> Vec<i64> {
    let mut ids: Vec<i64> = changes
        .iter()
        .filter_map(|c| match &c.body {
            ChangeBody::Share(s) => Some(s.partner_id),
            ChangeBody::Visit(v) => Some(v.partner_id),
            _ => None,
        })
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

/// Shares one item, pushes it, and records one view of it.
async fn share_and_view(d: &Device, item_id: i64) {
    let m = d.create_share(1, 1, item_id);
    let MutationBody::CreateShare { token, .. } = m.body.clone() else {
        unreachable!()
    };
    d.push(vec![m]).await;
    let res = reqwest::Client::new()
        .post(format!("{}/t/beacon", d.base))
        .body(
            serde_json::to_string(&Beacon {
                t: token,
                pv: format!("page-view-{}", d.id()),
                dwell_ms: 1000,
            })
            .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
}

#[tokio::test]
async fn each_role_sees_only_its_scope() {
    let w = world().await;
    let a1 = activate(&w.ts, w.partner_a1.id).await;
    let b1 = activate(&w.ts, w.partner_b1.id).await;
    share_and_view(&a1, w.item.id).await;
    share_and_view(&b1, w.item.id).await;

    let a1_changes = a1.pull_all().await;
    assert_eq!(user_ids(&a1_changes), vec![w.rep_a.id, w.partner_a1.id]);
    assert_eq!(share_partners(&a1_changes), vec![w.partner_a1.id]);
    assert!(a1_changes
        .iter()
        .any(|c| matches!(&c.body, ChangeBody::Company(_))));
    assert!(a1_changes
        .iter()
        .any(|c| matches!(&c.body, ChangeBody::ContentItem(i) if i.id == w.item.id)));

    let rep_a = activate(&w.ts, w.rep_a.id).await;
    let rep_changes = rep_a.pull_all().await;
    assert_eq!(
        user_ids(&rep_changes),
        vec![w.rep_a.id, w.partner_a1.id, w.partner_a2.id]
    );
    assert_eq!(share_partners(&rep_changes), vec![w.partner_a1.id]);
    assert!(rep_changes
        .iter()
        .any(|c| matches!(&c.body, ChangeBody::Visit(_))));

    let manager = activate(&w.ts, w.manager.id).await;
    let all = manager.pull_all().await;
    assert_eq!(user_ids(&all).len(), 6);
    assert_eq!(share_partners(&all), vec![w.partner_a1.id, w.partner_b1.id]);

    // Another company sees none of it.
    let other = w.ts.admin().create_company("别家公司").await.unwrap();
    let stranger =
        w.ts.admin()
            .create_user(
                other.id,
                warmlead_core::domain::Role::Manager,
                "外人",
                None,
                None,
            )
            .await
            .unwrap();
    let stranger = activate(&w.ts, stranger.id).await;
    let theirs = stranger.pull_all().await;
    assert_eq!(user_ids(&theirs), vec![stranger.act.user.id]);
    assert!(share_partners(&theirs).is_empty());
}

#[tokio::test]
async fn a_deleted_item_arrives_as_a_tombstone() {
    let w = world().await;
    let partner = activate(&w.ts, w.partner_a1.id).await;
    let before = partner.pull_all().await;
    let cursor = before.last().unwrap().seq;
    let manager = activate(&w.ts, w.manager.id).await;
    manager
        .push(vec![mutation(
            1,
            MutationBody::DeleteContentItem { item_id: w.item.id },
        )])
        .await;
    let page = partner.pull(cursor, None).await;
    assert_eq!(page.changes.len(), 1);
    assert_eq!(
        page.changes[0].body,
        ChangeBody::Tombstone {
            kind: EntityKind::ContentItem,
            id: w.item.id.to_string()
        }
    );
    let items: Vec<serde_json::Value> = partner
        .get(warmlead_core::api::PATH_CONTENT)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(items.is_empty());
}

#[tokio::test]
async fn pages_follow_the_cursor() {
    let w = world().await;
    let manager = activate(&w.ts, w.manager.id).await;
    let everything = manager.pull(0, Some(1000)).await;
    assert!(!everything.has_more);
    let total = everything.changes.len();
    assert!(total >= 8, "{total}");

    let mut seen = Vec::new();
    let mut after = 0;
    let mut pages = 0;
    loop {
        let page = manager.pull(after, Some(3)).await;
        pages += 1;
        assert!(page.changes.len() <= 3);
        assert!(page.changes.iter().all(|c| c.seq > after));
        if let Some(last) = page.changes.last() {
            assert_eq!(page.cursor, last.seq);
        }
        assert_eq!(page.has_more, seen.len() + page.changes.len() < total);
        seen.extend(page.changes);
        after = page.cursor;
        if !page.has_more {
            break;
        }
    }
    assert_eq!(pages, total.div_ceil(3));
    assert_eq!(seen, everything.changes);
    assert_eq!(everything.epoch, manager.act.epoch);

    // Past the end: empty page, cursor stays.
    let end = manager.pull(after, Some(3)).await;
    assert!(end.changes.is_empty());
    assert_eq!(end.cursor, after);
    assert!(!end.has_more);
}

/// Read-only requests (authentication, /me, the content list, media, both pulls)
/// run on reader connections: they answer while another connection holds
/// the database's write lock (a long write in progress), instead of waiting
/// for the writer and failing with "database is locked".
#[tokio::test]
async fn reads_answer_while_the_writer_is_held() {
    use warmlead_core::api::{PATH_CONTENT, PATH_ME, PATH_PULL, PATH_RADAR_PULL};
    let w = world().await;
    let d = activate(&w.ts, w.partner_a1.id).await;
    let manager = activate(&w.ts, w.manager.id).await;
    let res = manager
        .post(warmlead_core::api::PATH_MEDIA)
        .header("content-type", "image/jpeg")
        .body(vec![0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let media: warmlead_core::domain::MediaRef = res.json().await.unwrap();
    let writer = w.ts.sql().hold_writes().await;
    for path in [
        media.path(),
        PATH_ME.to_string(),
        PATH_CONTENT.to_string(),
        format!("{PATH_PULL}?after=0"),
        format!("{PATH_RADAR_PULL}?after=0"),
    ] {
        let res = d
            .get(&path)
            // Well under the writer's 5 s busy timeout.
            .timeout(std::time::Duration::from_secs(3))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(res.status(), 200, "{path}");
    }
    let page = d.pull(0, None).await;
    assert!(!page.changes.is_empty());
    writer.release().await;
}
