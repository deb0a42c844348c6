//! [`ChangeLog`]: rows come back in seq order, each stream apart, to those
//! the row's scope lets see it and never to another company; pages stop at
//! their limit and at the durable seq.

use warmlead_core::domain::{Company, User};
use warmlead_core::lead::{Grade, Lead, LeadSource, LeadStage, ManFlags, RadarBody};
use warmlead_core::sync::{ChangeBody, EntityKind};

use super::{Fixture, NOW};
use crate::storage::change_store::ChangeLog;
use crate::storage::changes::{NewChange, Scope, RADAR, SYNC};
use crate::storage::Caller;

fn caller(user: &User, company: &Company) -> Caller {
    Caller {
        device_id: 0,
        user: user.clone(),
        company: company.clone(),
        last_seen_ms: None,
    }
}

fn tombstone(id: &str) -> ChangeBody {
    ChangeBody::Tombstone {
        kind: EntityKind::Share,
        id: id.into(),
    }
}

/// The ids of a page's tombstones, in its order, and its seqs.
fn page_ids(log: &dyn ChangeLog, who: &Caller, stream: &str, after: i64) -> Vec<(i64, String)> {
    let page = log.page(who, stream, after, i64::MAX, 100).unwrap();
    let changes: Vec<serde_json::Value> = serde_json::from_str(&page.changes_json).unwrap();
    changes
        .iter()
        .map(|c| {
            let id = c["data"]["id"].as_str().unwrap_or_default().to_string();
            (c["seq"].as_i64().unwrap(), id)
        })
        .collect()
}

fn scoped_and_ordered(w: &Fixture) {
    let (a, b) = (&w.a, &w.b);
    let partner = caller(&a.partner, &a.company);
    let other = caller(&b.manager, &b.company);
    let (start, seqs) = w.run(|s| {
        let start = w.newest_seq(s);
        let log = s.changes();
        let mine = Scope::Scoped {
            rep_id: Some(a.rep.id),
            partner_id: Some(a.partner.id),
        };
        let someone_elses = Scope::Scoped {
            rep_id: Some(a.rep.id),
            partner_id: Some(a.partner.id + 1000),
        };
        let seqs = [
            log.append(a.company.id, Scope::Company, &tombstone("全公司"), NOW)
                .unwrap(),
            log.append(a.company.id, mine, &tombstone("我的"), NOW)
                .unwrap(),
            log.append(a.company.id, someone_elses, &tombstone("别人的"), NOW)
                .unwrap(),
            log.append(b.company.id, Scope::Company, &tombstone("乙"), NOW)
                .unwrap(),
        ];
        (start, seqs)
    });
    assert!(seqs.windows(2).all(|p| p[0] < p[1]), "{seqs:?}");
    w.read(|s| {
        let log = s.changes();
        let seen = page_ids(&*log, &partner, SYNC, start);
        assert_eq!(
            seen,
            [
                (seqs[0], "全公司".to_string()),
                (seqs[1], "我的".to_string())
            ]
        );
        assert_eq!(
            page_ids(&*log, &other, SYNC, start),
            [(seqs[3], "乙".to_string())]
        );
        assert!(
            page_ids(&*log, &partner, RADAR, start).is_empty(),
            "streams apart"
        );
        assert_eq!(
            log.newest_visible(&partner, SYNC, start, i64::MAX).unwrap(),
            seqs[1]
        );
        // Up to the durable seq only; `after` when nothing is visible.
        assert_eq!(
            log.newest_visible(&partner, SYNC, start, seqs[0]).unwrap(),
            seqs[0]
        );
        assert_eq!(
            log.newest_visible(&partner, SYNC, seqs[1], i64::MAX)
                .unwrap(),
            seqs[1]
        );
        let upto = log.page(&partner, SYNC, start, seqs[0], 100).unwrap();
        assert_eq!(upto.cursor, seqs[0]);
        assert!(!upto.has_more);
    });
}

#[test]
fn rows_come_back_in_order_to_those_their_scope_lets_see_them() {
    scoped_and_ordered(&Fixture::new());
}

#[test]
fn many_rows_keep_their_order_and_streams_and_pages_stop_at_their_limit() {
    let w = Fixture::new();
    let a = &w.a;
    let manager = caller(&a.manager, &a.company);
    let start = w.run(|s| w.newest_seq(s));
    let rows: Vec<NewChange> = (0..5)
        .map(|n| {
            let body = tombstone(&format!("第{n}条"));
            let mut row = NewChange::sync(a.company.id, Scope::Company, &body).unwrap();
            if n == 2 {
                row.stream = RADAR;
            }
            row
        })
        .collect();
    w.run(|s| s.changes().append_many(&rows, NOW).unwrap());
    w.read(|s| {
        let log = s.changes();
        let ids: Vec<String> = page_ids(&*log, &manager, SYNC, start)
            .into_iter()
            .map(|(_, id)| id)
            .collect();
        assert_eq!(ids, ["第0条", "第1条", "第3条", "第4条"]);
        assert_eq!(page_ids(&*log, &manager, RADAR, start).len(), 1);
        let first = log.page(&manager, SYNC, start, i64::MAX, 2).unwrap();
        assert!(first.has_more);
        let rest = log.page(&manager, SYNC, first.cursor, i64::MAX, 2).unwrap();
        assert!(!rest.has_more);
        let all: Vec<serde_json::Value> = [first, rest]
            .iter()
            .flat_map(|p| serde_json::from_str::<Vec<serde_json::Value>>(&p.changes_json).unwrap())
            .collect();
        assert_eq!(all.len(), 4, "{all:?}");
    });
}

fn lead(w: &Fixture, id: i64, grade: Grade) -> Lead {
    let a = &w.a;
    Lead {
        id,
        company_id: a.company.id,
        rep_id: Some(a.rep.id),
        partner_id: a.partner.id,
        name: "钱先生".into(),
        phone: "+8613500135000".into(),
        note: String::new(),
        source: LeadSource::ContactForm,
        share_token: None,
        item_id: Some(a.item.id),
        score: 10,
        grade,
        reasons: Vec::new(),
        man: ManFlags::default(),
        stage: LeadStage::New,
        created_at_ms: NOW,
        updated_at_ms: NOW,
        contacts: 1,
    }
}

#[test]
fn the_newest_hot_lead_is_found_on_the_radar_stream() {
    let w = Fixture::new();
    let a = &w.a;
    let rep = caller(&a.rep, &a.company);
    let scope = Scope::Scoped {
        rep_id: Some(a.rep.id),
        partner_id: Some(a.partner.id),
    };
    let start = w.run(|s| w.newest_seq(s));
    let upto = w.run(|s| {
        let log = s.changes();
        for (id, grade) in [(1, Grade::C), (2, Grade::A), (3, Grade::B)] {
            let body = RadarBody::Lead(lead(&w, id, grade));
            log.append_radar(a.company.id, scope, &body, NOW).unwrap();
        }
        w.newest_seq(s)
    });
    w.read(|s| {
        let log = s.changes();
        assert_eq!(log.hot_lead(&rep, start, upto).unwrap(), Some(2));
        assert_eq!(log.hot_lead(&rep, upto, upto).unwrap(), None);
        // Another company's caller finds none of it.
        let other = caller(&w.b.rep, &w.b.company);
        assert_eq!(log.hot_lead(&other, start, upto).unwrap(), None);
    });
}
