//! The desktop leads list at 100,000 leads in a real SQLite file: first
//! page, a deep keyset page, and a grade + partner filtered page, against a
//! plain `SELECT count(*)` baseline measured in the same run.
//!
//! `cargo bench -p warmlead-store --bench leads`

use criterion::{criterion_group, criterion_main, Criterion};
use warmlead_core::app::{LeadCursor, LeadQuery};
use warmlead_core::lead::{
    Grade, Lead, LeadSource, LeadStage, ManFlags, RadarBody, RadarChange, RadarPullResponse,
    Reason, ReasonCode,
};
use warmlead_store::Store;

const LEADS: i64 = 100_000;
const PARTNERS: i64 = 200;
const PAGE: u32 = 50;

/// 5 % A+, 15 % A, 30 % B, 50 % C, spread over partners and items.
fn grade_of(id: i64) -> Grade {
    match id % 20 {
        0 => Grade::APlus,
        1..=3 => Grade::A,
        4..=9 => Grade::B,
        _ => Grade::C,
    }
}

fn lead(id: i64) -> Lead {
    Lead {
        id,
        company_id: 1,
        rep_id: Some(2),
        partner_id: 1_000 + (id * 7919) % PARTNERS,
        name: format!("客户{id}"),
        phone: format!("+86138{id:08}"),
        note: String::new(),
        source: LeadSource::ContactForm,
        share_token: Some(format!("tok{}", id % 5_000)),
        item_id: Some(id % 50),
        score: id % 100,
        grade: grade_of(id),
        reasons: vec![
            Reason {
                code: ReasonCode::LeftContact,
                value: 1,
                points: 40,
            },
            Reason {
                code: ReasonCode::ReadDeep,
                value: 80,
                points: 15,
            },
        ],
        man: ManFlags::default(),
        stage: LeadStage::New,
        created_at_ms: 1_700_000_000_000 + id * 1_000,
        updated_at_ms: 1_700_000_000_000 + id * 1_000,
        contacts: 1,
    }
}

fn seed(store: &Store) {
    for start in (1..=LEADS).step_by(5_000) {
        let changes = (start..(start + 5_000).min(LEADS + 1))
            .map(|id| RadarChange {
                seq: id,
                body: RadarBody::Lead(lead(id)),
            })
            .collect::<Vec<_>>();
        let cursor = changes.last().map_or(0, |c| c.seq);
        store
            .apply_radar_pull(&RadarPullResponse {
                epoch: "bench".into(),
                changes,
                cursor,
                has_more: true,
            })
            .expect("seed page");
    }
    assert_eq!(store.lead_count().expect("count"), LEADS);
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(dir.path().join("leads.sqlite")).expect("store");
    seed(&store);
    let first = LeadQuery {
        limit: Some(PAGE),
        ..LeadQuery::default()
    };
    // 90 % of the way down: what OFFSET would have to walk past.
    let deep_id = LEADS / 10;
    let deep = LeadQuery {
        after: Some(LeadCursor {
            updated_at_ms: lead(deep_id).updated_at_ms,
            id: deep_id,
        }),
        ..first.clone()
    };
    let filtered = LeadQuery {
        grades: vec![Grade::A],
        partner_id: Some(lead(1).partner_id),
        ..first.clone()
    };
    assert_eq!(store.leads(&deep).expect("deep").leads.len(), PAGE as usize);
    assert!(!store.leads(&filtered).expect("filtered").leads.is_empty());

    let mut g = c.benchmark_group("leads_100k");
    g.bench_function("count_baseline", |b| {
        b.iter(|| store.lead_count().expect("count"))
    });
    g.bench_function("first_page", |b| {
        b.iter(|| store.leads(&first).expect("page"))
    });
    g.bench_function("deep_keyset_page", |b| {
        b.iter(|| store.leads(&deep).expect("page"))
    });
    g.bench_function("grade_partner_page", |b| {
        b.iter(|| store.leads(&filtered).expect("page"))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
