mod common;

use common::{activate, api_error, mutation, world};
use reqwest::StatusCode;
use warmlead_core::api::PATH_PUSH;
use warmlead_core::domain::Channel;
use warmlead_core::sync::{ChangeBody, MutationBody, Outcome, PushRequest, SCHEMA_VERSION};
use warmlead_core::ErrorCode;

fn share_changes(changes: &[warmlead_core::sync::Change], token: &str) -> usize {
    changes
        .iter()
        .filter(|c| matches!(&c.body, ChangeBody::Share(s) if s.token == token))
        .count()
}

#[tokio::test]
async fn the_same_push_twice_applies_once() {
    let w = world().await;
    let d = activate(&w.ts, w.partner_a1.id).await;
    let m = d.create_share(1, 1, w.item.id);
    let token = match &m.body {
        MutationBody::CreateShare { token, .. } => token.clone(),
        _ => unreachable!(),
    };
    let first = d.push(vec![m.clone()]).await;
    assert_eq!(first.outcomes[0].outcome, Outcome::Applied);
    assert_eq!(first.last_seq, 1);
    let second = d.push(vec![m.clone()]).await;
    assert_eq!(second.outcomes, first.outcomes);
    assert_eq!(second.last_seq, 1);

    let manager = activate(&w.ts, w.manager.id).await;
    assert_eq!(share_changes(&manager.pull_all().await, &token), 1);
    assert!(w.ts.admin().share_exists(&token).await.unwrap());
}

#[tokio::test]
async fn a_gap_is_refused_with_409() {
    let w = world().await;
    let d = activate(&w.ts, w.partner_a1.id).await;
    let res = d.push_raw(vec![d.create_share(3, 1, w.item.id)]).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let err = api_error(res).await;
    assert_eq!(err.code, ErrorCode::Conflict);
    assert_eq!(err.message, "sync gap: expected seq 1, got 3");
    // Nothing moved: seq 1 is still the next one.
    let ok = d.push(vec![d.create_share(1, 1, w.item.id)]).await;
    assert_eq!(ok.last_seq, 1);
    // A later gap in a batch stops there, keeping what came before.
    let res = d
        .push(vec![
            d.create_share(2, 2, w.item.id),
            d.create_share(4, 4, w.item.id),
        ])
        .await;
    assert_eq!(res.outcomes.len(), 1);
    assert_eq!(res.last_seq, 2);
}

#[tokio::test]
async fn a_forbidden_mutation_is_rejected_and_later_ones_apply() {
    let w = world().await;
    let d = activate(&w.ts, w.partner_a1.id).await;
    let other = activate(&w.ts, w.partner_a2.id).await;
    let mut too_new = mutation(4, MutationBody::RenameSelf { name: "x".into() });
    too_new.schema_version = SCHEMA_VERSION + 1;
    let res = d
        .push(vec![
            mutation(1, MutationBody::DeleteContentItem { item_id: w.item.id }),
            // Signed by another device: does not verify with this device's key.
            mutation(
                2,
                MutationBody::CreateShare {
                    share_no: 1,
                    item_id: w.item.id,
                    channel: Channel::Group,
                    token: other.sign(1, w.item.id, Channel::Group),
                    created_at_ms: 1,
                },
            ),
            mutation(
                3,
                MutationBody::RenameSelf {
                    name: "张三丰".into(),
                },
            ),
            too_new,
            mutation(5, MutationBody::RenameSelf { name: "  ".into() }),
        ])
        .await;
    let codes: Vec<_> = res
        .outcomes
        .iter()
        .map(|o| match &o.outcome {
            Outcome::Applied => None,
            Outcome::Rejected { code, .. } => Some(*code),
        })
        .collect();
    assert_eq!(
        codes,
        vec![
            Some(ErrorCode::Forbidden),
            Some(ErrorCode::InvalidInput),
            None,
            Some(ErrorCode::InvalidInput),
            Some(ErrorCode::InvalidInput),
        ]
    );
    assert_eq!(res.last_seq, 5);
    // The item is still there; the rename happened.
    let items: Vec<warmlead_core::domain::ContentItem> = d
        .get(warmlead_core::api::PATH_CONTENT)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(items.len(), 1);
    let me: warmlead_core::api::MeResponse = d
        .get(warmlead_core::api::PATH_ME)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me.user.name, "张三丰");
    // A new mutation on a seq the server already has (a restored or copied
    // cache numbering its outbox again) is applied; last_seq stays.
    let reused = d
        .push(vec![mutation(
            2,
            MutationBody::RenameSelf { name: "李".into() },
        )])
        .await;
    assert_eq!(reused.outcomes[0].outcome, Outcome::Applied);
    assert_eq!(reused.last_seq, 5);
    let me: warmlead_core::api::MeResponse = d
        .get(warmlead_core::api::PATH_ME)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me.user.name, "李");
}

/// Two validly signed shares with the same share number and different items
/// (a cache restored from a backup) are two shares: both apply, both resolve.
#[tokio::test]
async fn a_reused_share_number_is_another_share() {
    let w = world().await;
    let d = activate(&w.ts, w.partner_a1.id).await;
    let other_item =
        w.ts.admin()
            .create_content_item(w.company.id, common::article("第二篇"))
            .await
            .unwrap();
    let first = d.create_share(1, 1, w.item.id);
    let again = d.create_share(2, 1, other_item.id);
    let res = d.push(vec![first.clone(), again.clone()]).await;
    let outcomes: Vec<_> = res.outcomes.iter().map(|o| o.outcome.clone()).collect();
    assert_eq!(outcomes, vec![Outcome::Applied, Outcome::Applied]);
    assert_eq!(res.last_seq, 2);
    for m in [&first, &again] {
        let MutationBody::CreateShare { token, .. } = &m.body else {
            unreachable!()
        };
        assert!(w.ts.admin().share_exists(token).await.unwrap());
        let page = reqwest::get(format!("{}/s/{token}", w.ts.url()))
            .await
            .unwrap();
        assert_eq!(page.status(), StatusCode::OK);
    }
}

/// Whatever a mutation hits on the server that is not transient (here a
/// constraint the schema grew) is stored as rejected: the push answers, the
/// seq advances and the next mutation applies. The queue never wedges.
#[tokio::test]
async fn a_database_constraint_is_a_rejection_not_a_wedge() {
    let w = world().await;
    let d = activate(&w.ts, w.partner_a1.id).await;
    let sql = w.ts.sql();
    // Only the SQL differs: each dialect's trigger.
    sql.execute(if sql.is_postgres() {
        "CREATE FUNCTION no_shares() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN RAISE EXCEPTION 'no shares today' USING ERRCODE = 'check_violation'; END $$;
         CREATE TRIGGER no_shares BEFORE INSERT ON shares
         FOR EACH ROW EXECUTE FUNCTION no_shares();"
    } else {
        "CREATE TRIGGER no_shares BEFORE INSERT ON shares
         BEGIN SELECT RAISE(ABORT, 'constraint failed: no shares today'); END;"
    })
    .await;
    let res = d
        .push(vec![
            d.create_share(1, 1, w.item.id),
            mutation(
                2,
                MutationBody::RenameSelf {
                    name: "王五".into(),
                },
            ),
        ])
        .await;
    assert_eq!(res.last_seq, 2);
    let Outcome::Rejected { code, message } = &res.outcomes[0].outcome else {
        panic!("{:?}", res.outcomes[0]);
    };
    assert_eq!(*code, ErrorCode::Internal);
    assert!(
        !message.contains("no shares today"),
        "details stay in the log: {message}"
    );
    assert_eq!(res.outcomes[1].outcome, Outcome::Applied);
    // Pushed again, the same answer: the rejection is stored.
    let replay = d.push(vec![d.create_share(1, 1, w.item.id)]).await;
    assert_eq!(replay.last_seq, 2);
}

#[tokio::test]
async fn another_devices_client_id_is_forbidden() {
    let w = world().await;
    let d = activate(&w.ts, w.partner_a1.id).await;
    let res = d
        .post(PATH_PUSH)
        .json(&PushRequest {
            client_id: (d.id() + 1).to_string(),
            mutations: vec![d.create_share(1, 1, w.item.id)],
        })
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(api_error(res).await.code, ErrorCode::Forbidden);
}

/// Mutation ids are each device's own: a device that pushes an id another
/// device used (in its company or another) has its change applied, not that
/// device's stored outcome handed back; the same device pushing its id again
/// still gets its stored outcome and nothing is applied twice.
#[tokio::test]
async fn a_mutation_id_another_device_used_is_a_new_mutation() {
    let w = world().await;
    let a = activate(&w.ts, w.partner_a1.id).await;
    let b = activate(&w.ts, w.partner_a2.id).await;
    let admin = w.ts.admin();
    let elsewhere = admin.create_company("别家公司").await.unwrap();
    let stranger = admin
        .create_user(
            elsewhere.id,
            warmlead_core::domain::Role::Partner,
            "外人",
            None,
            None,
        )
        .await
        .unwrap();
    let c = activate(&w.ts, stranger.id).await;
    let name_of = |d: &common::Device| {
        let req = d.get(warmlead_core::api::PATH_ME);
        async move {
            let me: warmlead_core::api::MeResponse =
                req.send().await.unwrap().json().await.unwrap();
            me.user.name
        }
    };

    // Device A's mutation is rejected (a blank name) and stored so.
    let id = uuid::Uuid::now_v7().to_string();
    let with_id = |name: &str| warmlead_core::sync::Mutation {
        mutation_id: id.clone(),
        ..mutation(1, MutationBody::RenameSelf { name: name.into() })
    };
    let first = a.push(vec![with_id("  ")]).await;
    assert!(
        matches!(first.outcomes[0].outcome, Outcome::Rejected { .. }),
        "{:?}",
        first.outcomes
    );

    // The same id from device B, then from a device of another company:
    // each change applies.
    for (d, name) in [(&b, "李四改"), (&c, "外人改")] {
        let res = d.push(vec![with_id(name)]).await;
        assert_eq!(res.outcomes[0].outcome, Outcome::Applied, "{name}");
        assert_eq!(res.last_seq, 1);
        assert_eq!(name_of(d).await, name);
        // Its own repeat is its own stored outcome, not applied again.
        let again = d.push(vec![with_id("不应生效")]).await;
        assert_eq!(again.outcomes, res.outcomes, "{name}");
        assert_eq!(name_of(d).await, name);
    }

    // Device A's repeat still answers A's stored rejection; nothing applies.
    let replay = a.push(vec![with_id("张三改")]).await;
    assert_eq!(replay.outcomes, first.outcomes);
    assert_eq!(name_of(&a).await, "张三");
}
