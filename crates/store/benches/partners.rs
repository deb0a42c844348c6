//! The Partners screen at 10,000 partners in a real SQLite file (100,000
//! shares, 200,000 visits, 3,000 leads, all through the pull path so the
//! activity triggers run): first page, a deep keyset page, each filter, the
//! chip counts, search (2-character name, 3-character name, phone digits)
//! and the detail pane, against a plain `SELECT count(*) FROM users`
//! baseline measured in the same run.
//!
//! `cargo bench -p warmlead-store --bench partners`

use std::time::Instant;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use criterion::{criterion_group, criterion_main, Criterion};
use warmlead_core::api::ActivateResponse;
use warmlead_core::domain::{Channel, Company, Role, Share, User, Visit};
use warmlead_core::invite::{PartnerFilter, PartnerQuery, PartnerSource};
use warmlead_core::lead::{
    Grade, Lead, LeadSource, LeadStage, ManFlags, RadarBody, RadarChange, RadarPullResponse,
};
use warmlead_core::sync::{Change, ChangeBody, PullResponse};
use warmlead_store::Store;

const PARTNERS: i64 = 10_000;
const SHARES: i64 = 100_000;
const VISITS: i64 = 200_000;
const LEADS: i64 = 3_000;
const REP: i64 = 1;
const DAY: i64 = 24 * 60 * 60 * 1000;
const NOW: i64 = 1_800_000_000_000;
const BATCH: usize = 5_000;

const SURNAMES: [&str; 12] = [
    "王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "欧阳", "司马",
];
const GIVEN: [&str; 16] = [
    "芳", "伟", "娜", "敏", "静", "强", "磊", "洋", "艳", "勇", "军", "杰", "娟", "涛", "明", "超",
];

/// A small deterministic generator (no dev-dependency for randomness).
fn mix(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x
}

fn partner(id: i64) -> User {
    let h = mix(id as u64);
    let mut name = SURNAMES[(h % 12) as usize].to_string();
    name.push_str(GIVEN[(h >> 8) as usize % 16]);
    if h.is_multiple_of(3) {
        name.push_str(GIVEN[(h >> 16) as usize % 16]);
    }
    User {
        id: 100 + id,
        company_id: 1,
        role: Role::Partner,
        name,
        phone: Some(format!("+86138{:08}", id * 7)),
        rep_id: Some(REP),
        // Joined over the last 400 days.
        joined_at_ms: NOW - (h >> 20) as i64 % (400 * DAY),
        source: Some(PartnerSource::ALL[(h % 5) as usize]),
        invited_by: Some(REP),
        invitation_id: None,
    }
}

fn apply(store: &Store, bodies: Vec<ChangeBody>, cursor: &mut i64) {
    for chunk in bodies.chunks(BATCH) {
        let changes: Vec<Change> = chunk
            .iter()
            .cloned()
            .map(|body| {
                *cursor += 1;
                Change { seq: *cursor, body }
            })
            .collect();
        store
            .apply_pull(&PullResponse {
                epoch: "bench".into(),
                changes,
                cursor: *cursor,
                has_more: true,
            })
            .expect("seed page");
    }
}

fn seed(store: &Store) {
    let mut cursor = 0;
    let users = (0..PARTNERS)
        .map(|i| ChangeBody::User(partner(i)))
        .collect();
    apply(store, users, &mut cursor);
    // Shares: a third of partners share, skewed; times over the last 200 days.
    let shares = (0..SHARES)
        .map(|i| {
            let h = mix(1_000_000 + i as u64);
            ChangeBody::Share(Share {
                token: format!("tok{i}"),
                device_id: 1,
                share_no: i,
                item_id: (h % 50) as i64,
                partner_id: 100 + (h % (PARTNERS as u64 / 3)) as i64 * 3,
                channel: Channel::Moments,
                created_at_ms: NOW - (h >> 16) as i64 % (200 * DAY),
            })
        })
        .collect();
    apply(store, shares, &mut cursor);
    let visits = (0..VISITS)
        .map(|i| {
            let h = mix(5_000_000 + i as u64);
            ChangeBody::Visit(Visit {
                id: i + 1,
                share_token: format!("tok{}", h % SHARES as u64),
                item_id: 1,
                partner_id: 100 + (h % (PARTNERS as u64 / 3)) as i64 * 3,
                rep_id: REP,
                visitor_id: format!("v{}", h % 50_000),
                opened_at_ms: NOW - (h >> 16) as i64 % (200 * DAY),
                dwell_ms: 10_000,
            })
        })
        .collect();
    apply(store, visits, &mut cursor);
    let changes = (0..LEADS)
        .map(|i| RadarChange {
            seq: i + 1,
            body: RadarBody::Lead(lead(i)),
        })
        .collect();
    store
        .apply_radar_pull(&RadarPullResponse {
            epoch: "bench".into(),
            changes,
            cursor: LEADS,
            has_more: false,
        })
        .expect("leads");
    assert_eq!(store.user_count().expect("count"), PARTNERS);
}

fn lead(i: i64) -> Lead {
    Lead {
        id: i + 1,
        company_id: 1,
        rep_id: Some(REP),
        partner_id: 100 + (mix(9_000_000 + i as u64) % PARTNERS as u64) as i64,
        name: format!("客户{i}"),
        phone: format!("+86139{i:08}"),
        note: String::new(),
        source: LeadSource::ContactForm,
        share_token: None,
        item_id: None,
        score: 50,
        grade: Grade::B,
        reasons: Vec::new(),
        man: ManFlags::default(),
        stage: if i % 10 == 0 {
            LeadStage::Won
        } else {
            LeadStage::New
        },
        created_at_ms: NOW,
        updated_at_ms: NOW,
        contacts: 1,
    }
}

fn sign_in(store: &Store) {
    let me = User {
        id: REP,
        company_id: 1,
        role: Role::Rep,
        name: "李明".into(),
        phone: None,
        rep_id: None,
        joined_at_ms: 0,
        source: None,
        invited_by: None,
        invitation_id: None,
    };
    store
        .save_activation(
            "http://127.0.0.1:1",
            &ActivateResponse {
                device_id: 1,
                device_token: "t".into(),
                share_key: URL_SAFE_NO_PAD.encode([1u8; 32]),
                public_base_url: "https://r.example.com".into(),
                user: me,
                company: Company {
                    id: 1,
                    name: "暖居装修".into(),
                    poster_artwork: None,
                    poster_slogan: None,
                    logo: None,
                    commission_promise: None,
                },
                epoch: "bench".into(),
            },
            &warmlead_store::TokenRef::fresh(warmlead_store::Place::File),
        )
        .expect("sign in");
}

fn q(filter: PartnerFilter, search: Option<&str>) -> PartnerQuery {
    PartnerQuery {
        search: search.map(str::to_string),
        filter: Some(filter),
        after: None,
        limit: Some(100),
    }
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(dir.path().join("partners.sqlite")).expect("store");
    sign_in(&store);
    let started = Instant::now();
    seed(&store);
    eprintln!("seeded in {:.1} s", started.elapsed().as_secs_f64());

    let first = q(PartnerFilter::All, None);
    // Walk 90 % of the way down for the deep page's cursor.
    let mut deep = first.clone();
    for _ in 0..90 {
        deep.after = store.partners(&deep, NOW).expect("page").next;
    }
    assert_eq!(
        store.partners(&deep, NOW).expect("deep").partners.len(),
        100
    );
    let counts = store.partner_counts(NOW).expect("counts");
    eprintln!("{counts:?}");
    let two = partner(0).name.chars().take(2).collect::<String>();
    let three = (0..PARTNERS)
        .map(partner)
        .find(|p| p.name.chars().count() == 3)
        .expect("a 3-character name")
        .name;
    let digits = "3800007";
    for s in [two.as_str(), three.as_str(), digits] {
        let n = store
            .partners(&q(PartnerFilter::All, Some(s)), NOW)
            .expect("search")
            .partners
            .len();
        eprintln!("search {s:?}: {n} on the first page");
        assert!(n > 0);
    }
    let detail_id = store.partners(&first, NOW).expect("page").partners[0]
        .partner
        .id;

    let mut g = c.benchmark_group("partners_10k");
    g.bench_function("count_baseline", |b| {
        b.iter(|| store.user_count().expect("count"))
    });
    g.bench_function("first_page", |b| {
        b.iter(|| store.partners(&first, NOW).expect("page"))
    });
    g.bench_function("deep_keyset_page", |b| {
        b.iter(|| store.partners(&deep, NOW).expect("page"))
    });
    for (name, f) in [
        ("filter_active", PartnerFilter::Active),
        ("filter_dormant", PartnerFilter::Dormant),
        ("filter_never_shared", PartnerFilter::NeverShared),
        ("filter_new", PartnerFilter::New),
        ("filter_churned", PartnerFilter::Churned),
    ] {
        let query = q(f, None);
        g.bench_function(name, |b| {
            b.iter(|| store.partners(&query, NOW).expect("page"))
        });
    }
    g.bench_function("counts", |b| {
        b.iter(|| store.partner_counts(NOW).expect("counts"))
    });
    for (name, s) in [
        ("search_2_chars", two.as_str()),
        ("search_3_chars", three.as_str()),
        ("search_phone_digits", digits),
    ] {
        let query = q(PartnerFilter::All, Some(s));
        g.bench_function(name, |b| {
            b.iter(|| store.partners(&query, NOW).expect("page"))
        });
    }
    g.bench_function("detail", |b| {
        b.iter(|| store.partner_detail(detail_id, NOW).expect("detail"))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
