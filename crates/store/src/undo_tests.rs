//! Every mutation kind's undo (issue 18): a change the server refuses is
//! rolled back here in the transaction that records the refusal, and the
//! refusal stays listed until dismissed. Real SQLite files.

use warmlead_core::app::LibraryQuery;
use warmlead_core::domain::{ContentStatus, User};
use warmlead_core::lead::{
    Grade, Lead, LeadSource, LeadStage, ManFlags, RadarBody, RadarChange, RadarPullResponse,
};
use warmlead_core::sync::{ChangeBody, MutationOutcome, Outcome, PushResponse};
use warmlead_core::ErrorCode;

use crate::tests::{activation, count, page, signed_in, ME};
use crate::{migrate, Store};

/// The server answers the oldest pending mutation.
fn answer_next(store: &Store, outcome: Outcome) {
    let m = store.pending_mutations(1).unwrap().remove(0);
    store
        .record_outcomes(&PushResponse {
            outcomes: vec![MutationOutcome {
                mutation_id: m.mutation_id,
                seq: m.seq,
                outcome,
            }],
            last_seq: m.seq,
        })
        .unwrap();
}

fn refuse(code: ErrorCode) -> Outcome {
    Outcome::Rejected {
        code,
        message: "refused".into(),
    }
}

fn me_named(name: &str) -> User {
    User {
        name: name.into(),
        ..activation().user
    }
}

/// The name the store shows for me: the session's and my users row.
fn my_names(store: &Store) -> (String, String) {
    let row: String = store
        .conn
        .query_row("SELECT name FROM users WHERE id = ?1", [ME], |r| r.get(0))
        .unwrap();
    (store.session().unwrap().unwrap().user.name, row)
}

#[test]
fn a_refused_share_leaves_the_shares_and_the_counts_and_stays_listed() {
    let (_dir, _path, store) = signed_in();
    let kept = store
        .create_share(2, warmlead_core::domain::Channel::Direct, 10)
        .unwrap();
    answer_next(&store, Outcome::Applied);
    let refused = store
        .create_share(1, warmlead_core::domain::Channel::Moments, 20)
        .unwrap();
    answer_next(&store, refuse(ErrorCode::NotFound));

    let tokens: Vec<String> = store
        .my_shares()
        .unwrap()
        .into_iter()
        .map(|s| s.token)
        .collect();
    assert_eq!(tokens, vec![kept.token.clone()]);
    assert_ne!(refused.token, kept.token);
    assert_eq!(
        count(
            &store,
            "SELECT shares FROM partner_activity WHERE partner_id = 5"
        ),
        1
    );
    let rejected = store.rejected().unwrap();
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0].subject.as_deref(), Some("装修避坑指南"));
    assert_eq!(rejected[0].code, ErrorCode::NotFound);

    assert!(store.dismiss_rejected(&rejected[0].mutation_id).unwrap());
    assert!(!store.dismiss_rejected(&rejected[0].mutation_id).unwrap());
    assert!(store.rejected().unwrap().is_empty());
    assert_eq!(store.my_shares().unwrap().len(), 1);
}

#[test]
fn a_refused_rename_puts_back_the_servers_last_name() {
    let (_dir, _path, store) = signed_in();
    store
        .apply_pull(&page(
            "epoch-a",
            vec![ChangeBody::User(me_named("张三"))],
            3,
        ))
        .unwrap();
    store.rename_self("张小三").unwrap();
    // Meanwhile a manager renamed me on the server; the pending rename wins here.
    store
        .apply_pull(&page(
            "epoch-a",
            vec![ChangeBody::User(me_named("张三丰"))],
            4,
        ))
        .unwrap();
    assert_eq!(my_names(&store).0, "张小三");
    answer_next(&store, refuse(ErrorCode::InvalidInput));
    assert_eq!(my_names(&store), ("张三丰".into(), "张三丰".into()));
    assert_eq!(
        store.rejected().unwrap()[0].subject.as_deref(),
        Some("张小三")
    );

    // Two waiting renames: refusing the first keeps the second; refusing
    // that one too puts back what the server has (the applied one's name).
    store.rename_self("一").unwrap();
    answer_next(&store, Outcome::Applied);
    store.rename_self("二").unwrap();
    store.rename_self("三").unwrap();
    answer_next(&store, refuse(ErrorCode::InvalidInput));
    assert_eq!(my_names(&store).0, "三");
    answer_next(&store, refuse(ErrorCode::InvalidInput));
    assert_eq!(my_names(&store), ("一".into(), "一".into()));
}

fn lead(id: i64, man: ManFlags) -> Lead {
    Lead {
        id,
        company_id: 1,
        rep_id: Some(2),
        partner_id: ME,
        name: "王小姐".into(),
        phone: "+8613812345678".into(),
        note: String::new(),
        source: LeadSource::ContactForm,
        share_token: None,
        item_id: None,
        score: 40,
        grade: Grade::B,
        reasons: vec![],
        man,
        stage: LeadStage::New,
        created_at_ms: 1_000,
        updated_at_ms: 1_000,
        contacts: 1,
    }
}

fn radar(store: &Store, seq: i64, l: Lead) {
    store
        .apply_radar_pull(&RadarPullResponse {
            epoch: "e1".into(),
            changes: vec![RadarChange {
                seq,
                body: RadarBody::Lead(l),
            }],
            cursor: seq,
            has_more: false,
        })
        .unwrap();
}

fn stored_man(store: &Store, id: i64) -> ManFlags {
    crate::leads::stored_man(&store.conn, id).unwrap().unwrap()
}

#[test]
fn refused_man_flags_put_back_the_servers_flags() {
    let (_dir, _path, store) = signed_in();
    let money = ManFlags {
        money: true,
        ..ManFlags::default()
    };
    let all = ManFlags {
        money: true,
        authority: true,
        need: true,
    };
    radar(&store, 1, lead(7, money));
    store.set_man_flags(7, all, 1).unwrap();
    // The server's flags change meanwhile (another manager): they come back.
    let need = ManFlags {
        need: true,
        ..ManFlags::default()
    };
    radar(&store, 2, lead(7, need));
    assert_eq!(stored_man(&store, 7), all, "the pending change stays");
    answer_next(&store, refuse(ErrorCode::Forbidden));
    assert_eq!(stored_man(&store, 7), need);
    assert_eq!(
        store.rejected().unwrap()[0].subject.as_deref(),
        Some("王小姐")
    );
}

#[test]
fn a_refused_archive_leaves_the_servers_status_and_a_refused_edit_keeps_the_text() {
    let (_dir, _path, store) = signed_in();
    let key = "item-1";
    let asked = store
        .set_content_status(key, ContentStatus::Archived)
        .unwrap();
    assert_eq!(asked.item.status, ContentStatus::Archived);
    answer_next(&store, refuse(ErrorCode::Forbidden));
    let shown = store.library_item(key).unwrap();
    assert_eq!(shown.item.status, ContentStatus::Live);
    assert!(shown.rejected.is_some());

    let mut draft = crate::draft_of(&shown.item);
    draft.title = "改过的标题".into();
    store.save_content(key, &draft).unwrap();
    answer_next(&store, refuse(ErrorCode::Forbidden));
    let lib = store.library(&LibraryQuery::default()).unwrap();
    let kept = lib.iter().find(|i| i.item.key == key).unwrap();
    assert_eq!(kept.item.title, "改过的标题", "what was typed stays");
    assert_eq!(kept.item.status, ContentStatus::Live);
    let subjects: Vec<Option<String>> = store
        .rejected()
        .unwrap()
        .into_iter()
        .map(|r| r.subject)
        .collect();
    assert_eq!(
        subjects,
        vec![Some("装修避坑指南".into()), Some("改过的标题".into())]
    );
}

#[test]
fn a_refused_delete_shows_the_item_again() {
    let (_dir, _path, store) = signed_in();
    store.delete_content_item(1).unwrap();
    assert!(store.content_item(1).unwrap().is_none());
    answer_next(&store, refuse(ErrorCode::Forbidden));
    assert!(store.content_item(1).unwrap().is_some());
}

/// A cache of an earlier version kept refused shares (listed as synced),
/// and lost the outbox row of a dismissed one: upgrading drops both.
#[test]
fn upgrading_drops_the_refused_shares_an_earlier_version_kept() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v10.sqlite");
    {
        let old = migrate::open_at_version(&path, 10).unwrap();
        old.conn
            .execute_batch(
                "INSERT INTO content_items (id, company_id, kind, title, summary, body, created_at_ms, updated_at_ms)
                   VALUES (9, 1, 'article', '旧文章', '', '', 1, 1);
                 INSERT INTO shares (token, device_id, share_no, item_id, partner_id, channel, created_at_ms, outbox_seq)
                   VALUES ('refused', 77, 1, 9, 5, 'moments', 1, 1),
                          ('dismissed', 77, 2, 9, 5, 'moments', 2, 2),
                          ('synced', 77, 3, 9, 5, 'moments', 3, NULL),
                          ('waiting', 77, 4, 9, 5, 'moments', 4, 3);
                 INSERT INTO outbox (seq, mutation_id, name, args, schema_version, created_at, state, error_code)
                   VALUES (1, 'm1', 'create_share', '{\"share_no\":1,\"item_id\":9,\"channel\":\"moments\",\"token\":\"refused\",\"created_at_ms\":1}', 1, 1, 'rejected', 'not_found'),
                          (3, 'm3', 'create_share', '{\"share_no\":4,\"item_id\":9,\"channel\":\"moments\",\"token\":\"waiting\",\"created_at_ms\":4}', 1, 4, 'pending', NULL);",
            )
            .unwrap();
    }
    let store = Store::open(&path).unwrap();
    let mut left: Vec<String> = store
        .conn
        .prepare("SELECT token FROM shares")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    left.sort();
    assert_eq!(left, vec!["synced".to_string(), "waiting".to_string()]);
    let rejected = store.rejected().unwrap();
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0].subject.as_deref(), Some("旧文章"));
}
