//! Lead tests on real SQLite files: radar pulls, keyset pages, filters, detail, MAN flags.

use std::collections::HashSet;

use warmlead_core::app::LeadQuery;
use warmlead_core::lead::{
    ChildShare, Grade, Lead, LeadSource, LeadStage, ManFlags, RadarBody, RadarChange,
    RadarPullResponse, Reason, ReasonCode, Signal, SignalKind,
};
use warmlead_core::sync::MutationBody;

use crate::{Store, StoreError};

fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("leads.sqlite")).unwrap();
    (dir, store)
}

const GRADES: [Grade; 4] = [Grade::APlus, Grade::A, Grade::B, Grade::C];

/// Lead `id`: partner 10 + id % 3, item 100 + id % 5, grade by id % 4;
/// `updated_at_ms` repeats every 7 ids so keyset ties are exercised.
fn lead(id: i64) -> Lead {
    Lead {
        id,
        company_id: 1,
        rep_id: Some(2),
        partner_id: 10 + id % 3,
        name: format!("客户{id}"),
        phone: format!("+86138{id:08}"),
        note: if id % 10 == 0 {
            "想装修厨房".into()
        } else {
            String::new()
        },
        source: LeadSource::ContactForm,
        share_token: Some(format!("tok{}", id % 4)),
        item_id: Some(100 + id % 5),
        score: id,
        grade: GRADES[(id % 4) as usize],
        reasons: vec![
            Reason {
                code: ReasonCode::LeftContact,
                value: 1,
                points: 40,
            },
            Reason {
                code: ReasonCode::LongDwell,
                value: id,
                points: 5,
            },
        ],
        man: ManFlags::default(),
        stage: LeadStage::New,
        created_at_ms: 1_000,
        updated_at_ms: 1_000 + id / 7,
        contacts: 1,
    }
}

fn radar_page(epoch: &str, bodies: Vec<RadarBody>, first_seq: i64) -> RadarPullResponse {
    let changes: Vec<RadarChange> = bodies
        .into_iter()
        .enumerate()
        .map(|(i, body)| RadarChange {
            seq: first_seq + i as i64,
            body,
        })
        .collect();
    RadarPullResponse {
        epoch: epoch.into(),
        cursor: changes.last().map_or(first_seq - 1, |c| c.seq),
        changes,
        has_more: false,
    }
}

fn seeded(n: i64) -> (tempfile::TempDir, Store) {
    let (dir, store) = store();
    let bodies = (1..=n).map(|i| RadarBody::Lead(lead(i))).collect();
    let applied = store
        .apply_radar_pull(&radar_page("e1", bodies, 1))
        .unwrap();
    assert_eq!(applied.changes, n as usize);
    (dir, store)
}

/// Every id of every page, following `next` until it is `None`.
fn all_pages(store: &Store, mut q: LeadQuery) -> Vec<(i64, i64)> {
    let mut seen = Vec::new();
    loop {
        let page = store.leads(&q).unwrap();
        assert!(page.leads.len() <= q.limit.unwrap() as usize);
        seen.extend(page.leads.iter().map(|s| (s.lead.updated_at_ms, s.lead.id)));
        match page.next {
            Some(next) => q.after = Some(next),
            None => return seen,
        }
    }
}

#[test]
fn keyset_pages_cover_every_lead_once_in_order() {
    let (_d, store) = seeded(103);
    let seen = all_pages(
        &store,
        LeadQuery {
            limit: Some(10),
            ..LeadQuery::default()
        },
    );
    assert_eq!(seen.len(), 103);
    let unique: HashSet<i64> = seen.iter().map(|(_, id)| *id).collect();
    assert_eq!(unique.len(), 103, "a lead appeared twice");
    let mut sorted = seen.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(seen, sorted, "not newest first by (updated_at_ms, id)");
    let first = store.leads(&LeadQuery::default()).unwrap();
    assert_eq!(
        first.leads[0].lead.reasons.len(),
        2,
        "reasons come with the row"
    );
    assert_eq!(first.leads[0].lead.reasons[0].code, ReasonCode::LeftContact);
}

#[test]
fn filters_by_grade_partner_item_time_and_search() {
    let (_d, store) = seeded(120);
    let ids = |q: LeadQuery| -> Vec<i64> {
        all_pages(
            &store,
            LeadQuery {
                limit: Some(7),
                ..q
            },
        )
        .into_iter()
        .map(|(_, id)| id)
        .collect()
    };
    let hot = ids(LeadQuery {
        grades: vec![Grade::APlus, Grade::A],
        ..LeadQuery::default()
    });
    assert_eq!(hot.len(), 60);
    assert!(hot.iter().all(|id| id % 4 <= 1));
    let partner_a = ids(LeadQuery {
        grades: vec![Grade::APlus],
        partner_id: Some(10),
        ..LeadQuery::default()
    });
    assert_eq!(partner_a.len(), 10);
    assert!(partner_a.iter().all(|id| id % 12 == 0));
    let item = ids(LeadQuery {
        item_id: Some(103),
        ..LeadQuery::default()
    });
    assert_eq!(item.len(), 24);
    assert!(item.iter().all(|id| id % 5 == 3));
    let recent = ids(LeadQuery {
        since_ms: Some(1_010),
        ..LeadQuery::default()
    });
    assert!(recent.iter().all(|id| 1_000 + id / 7 >= 1_010));
    assert_eq!(recent.len(), 120 - 69);
    let kitchen = ids(LeadQuery {
        search: Some("厨房".into()),
        ..LeadQuery::default()
    });
    assert_eq!(kitchen.len(), 12);
    let by_phone = ids(LeadQuery {
        search: Some("00000077".into()),
        ..LeadQuery::default()
    });
    assert_eq!(by_phone, vec![77]);
    let wildcard = ids(LeadQuery {
        search: Some("%".into()),
        ..LeadQuery::default()
    });
    assert!(wildcard.is_empty(), "% is matched literally");
}

#[test]
fn a_failing_page_leaves_nothing_and_the_cursor_stays() {
    let (_d, store) = seeded(3);
    assert_eq!(store.radar_cursor().unwrap(), (Some("e1".into()), 3));
    store
        .conn
        .execute_batch(
            "CREATE TRIGGER boom BEFORE INSERT ON child_shares WHEN NEW.token = 'boom' \
             BEGIN SELECT RAISE(ABORT, 'boom'); END",
        )
        .unwrap();
    let child = ChildShare {
        token: "boom".into(),
        parent_token: "tok1".into(),
        root_token: "tok1".into(),
        item_id: 101,
        partner_id: 11,
        depth: 1,
        visitor_id: "v".into(),
        created_at_ms: 5,
    };
    let page = radar_page(
        "e1",
        vec![RadarBody::Lead(lead(50)), RadarBody::ChildShare(child)],
        4,
    );
    assert!(store.apply_radar_pull(&page).is_err());
    assert_eq!(store.lead_count().unwrap(), 3, "lead 50 rolled back");
    assert_eq!(store.radar_cursor().unwrap().1, 3);
    let sync: i64 = store
        .conn
        .query_row("PRAGMA synchronous", [], |r| r.get(0))
        .unwrap();
    assert_eq!(sync, 2, "the outbox's FULL is back after a failed page");
}

#[test]
fn a_new_epoch_clears_the_radar_and_restarts_at_zero() {
    let (_d, store) = seeded(5);
    let page = radar_page("e2", vec![RadarBody::Lead(lead(9))], 1);
    let applied = store.apply_radar_pull(&page).unwrap();
    assert!(applied.epoch_reset);
    assert_eq!(store.lead_count().unwrap(), 0);
    assert_eq!(store.radar_cursor().unwrap(), (Some("e2".into()), 0));
    store.apply_radar_pull(&page).unwrap();
    assert_eq!(store.lead_count().unwrap(), 1);
}

#[test]
fn man_flags_change_locally_with_an_outbox_row_and_survive_a_stale_pull() {
    let (_d, store) = seeded(4);
    let man = ManFlags {
        money: true,
        authority: false,
        need: true,
    };
    let s = store.set_man_flags(2, man, 9_000).unwrap();
    assert_eq!(s.lead.man, man);
    assert!(s.man_pending);
    let pending = store.pending_mutations(10).unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(
        pending[0].body,
        MutationBody::SetManFlags { lead_id: 2, man }
    );
    // The server's copy from before the push must not undo the local change.
    store
        .apply_radar_pull(&radar_page("e1", vec![RadarBody::Lead(lead(2))], 4))
        .unwrap();
    assert_eq!(store.lead_detail(2).unwrap().summary.lead.man, man);
    assert!(matches!(
        store.set_man_flags(99, man, 1),
        Err(StoreError::LeadNotFound(99))
    ));
    assert_eq!(
        store.pending_count().unwrap(),
        1,
        "no outbox row for a missing lead"
    );
}

fn signal(id: i64, visitor: &str, kind: SignalKind, lead_id: Option<i64>) -> Signal {
    Signal {
        id,
        share_token: "tok1".into(),
        visit_id: Some(1),
        visitor_id: visitor.into(),
        kind,
        value: id * 10,
        at_ms: 2_000 + id,
        partner_id: 11,
        item_id: 101,
        lead_id,
    }
}

fn child(token: &str, parent: &str, depth: i64) -> RadarBody {
    RadarBody::ChildShare(ChildShare {
        token: token.into(),
        parent_token: parent.into(),
        root_token: "root".into(),
        item_id: 101,
        partner_id: 11,
        depth,
        visitor_id: format!("v-{token}"),
        created_at_ms: 3_000 + depth,
    })
}

#[test]
fn detail_has_reasons_timeline_and_the_forward_chain_as_a_tree() {
    let (_d, store) = store();
    let mut l = lead(1);
    l.share_token = Some("c2".into());
    let bodies = vec![
        RadarBody::Signal(signal(1, "vis", SignalKind::View, None)),
        RadarBody::Signal(signal(2, "vis", SignalKind::Scroll, None)),
        RadarBody::Signal(signal(3, "other", SignalKind::View, None)),
        child("c1", "root", 1),
        child("c2", "c1", 2),
        child("c3", "root", 1),
        RadarBody::Signal(signal(4, "vis", SignalKind::Contact, Some(1))),
        RadarBody::Lead(l),
    ];
    store
        .apply_radar_pull(&radar_page("e1", bodies, 1))
        .unwrap();
    let d = store.lead_detail(1).unwrap();
    assert_eq!(d.summary.lead.reasons.len(), 2);
    let kinds: Vec<SignalKind> = d.timeline.iter().map(|s| s.kind).collect();
    assert_eq!(
        kinds,
        vec![SignalKind::View, SignalKind::Scroll, SignalKind::Contact],
        "the visitor's earlier signals, not other visitors'"
    );
    let root = d.chain.expect("chain");
    assert_eq!(root.token, "root");
    let tokens: Vec<&str> = root.children.iter().map(|c| c.token.as_str()).collect();
    assert_eq!(tokens, vec!["c1", "c3"]);
    assert_eq!(root.children[0].children.len(), 1);
    assert!(root.children[0].children[0].is_lead_share);
    assert!(!root.is_lead_share);
    assert!(matches!(
        store.lead_detail(2),
        Err(StoreError::LeadNotFound(2))
    ));
}

#[test]
fn a_radar_row_shows_the_grade_of_the_lead_its_visitor_became() {
    let (_d, store) = store();
    store
        .conn
        .execute_batch(
            "INSERT INTO visits (id, share_token, item_id, partner_id, rep_id, visitor_id, opened_at_ms, dwell_ms) \
             VALUES (1, 'tok1', 101, 11, 2, 'vis', 10, 0), (2, 'tok1', 101, 11, 2, 'other', 20, 0)",
        )
        .unwrap();
    let mut l = lead(1);
    l.grade = Grade::A;
    let bodies = vec![
        RadarBody::Signal(signal(4, "vis", SignalKind::Contact, Some(1))),
        RadarBody::Lead(l),
    ];
    store
        .apply_radar_pull(&radar_page("e1", bodies, 1))
        .unwrap();
    let rows = store.radar(10).unwrap();
    let grades: Vec<(i64, Option<Grade>)> =
        rows.iter().map(|r| (r.visit_id, r.lead_grade)).collect();
    assert_eq!(grades, vec![(2, None), (1, Some(Grade::A))]);
}
