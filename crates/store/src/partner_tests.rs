//! Partners, invitations and SMS records on real SQLite files: pulls, the
//! activity triggers, lifecycle filters against `LifecycleRules::stage`,
//! search, keyset pages, the dashboard and the CSV export.

use std::collections::HashSet;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use warmlead_core::api::ActivateResponse;
use warmlead_core::domain::{Channel, Company, Role, Share, User, Visit};
use warmlead_core::invite::{
    Invitation, InvitationStatus, InviteChannel, LifecycleRules, PartnerFilter, PartnerQuery,
    PartnerSource, PartnerStage, SmsRecord, SmsStatus,
};
use warmlead_core::lead::{
    Lead, LeadSource, LeadStage, ManFlags, RadarBody, RadarChange, RadarPullResponse,
};
use warmlead_core::sync::{Change, ChangeBody, EntityKind, PullResponse};

use crate::{migrate, Store, StoreError, LATEST_VERSION};

const DAY: i64 = 24 * 60 * 60 * 1000;
const NOW: i64 = 1_800_000_000_000;
const REP: i64 = 2;
const OTHER_REP: i64 = 3;

fn user(id: i64, role: Role, name: &str, rep_id: Option<i64>) -> User {
    User {
        id,
        company_id: 1,
        role,
        name: name.into(),
        phone: Some(format!("+86139{id:08}")),
        rep_id,
        joined_at_ms: NOW - 100 * DAY,
        source: Some(PartnerSource::Qr),
        invited_by: rep_id,
        invitation_id: None,
    }
}

fn partner(id: i64, name: &str) -> User {
    user(id, Role::Partner, name, Some(REP))
}

fn store_as(role: Role) -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("partners.sqlite")).unwrap();
    let me = user(REP, role, "李明", None);
    store
        .save_activation(
            "http://127.0.0.1:1",
            &ActivateResponse {
                device_id: 7,
                device_token: "tok".into(),
                share_key: URL_SAFE_NO_PAD.encode([7u8; 32]),
                public_base_url: "https://r.example.com/".into(),
                user: me,
                company: Company {
                    id: 1,
                    name: "暖居装修".into(),
                    poster_artwork: None,
                    poster_slogan: None,
                    logo: None,
                    commission_promise: None,
                },
                epoch: "e1".into(),
            },
            &crate::TokenRef::fresh(crate::Place::File),
        )
        .unwrap();
    (dir, store)
}

fn rep_store() -> (tempfile::TempDir, Store) {
    store_as(Role::Rep)
}

/// Applies `bodies` as the next pull page.
fn pull(store: &Store, bodies: Vec<ChangeBody>) {
    let (_, cursor) = store.cursor().unwrap();
    let changes: Vec<Change> = bodies
        .into_iter()
        .enumerate()
        .map(|(i, body)| Change {
            seq: cursor + 1 + i as i64,
            body,
        })
        .collect();
    let page = PullResponse {
        epoch: "e1".into(),
        cursor: cursor + changes.len() as i64,
        changes,
        has_more: false,
    };
    store.apply_pull(&page).unwrap();
}

fn radar(store: &Store, bodies: Vec<RadarBody>) {
    let (_, cursor) = store.radar_cursor().unwrap();
    let changes: Vec<RadarChange> = bodies
        .into_iter()
        .enumerate()
        .map(|(i, body)| RadarChange {
            seq: cursor + 1 + i as i64,
            body,
        })
        .collect();
    store
        .apply_radar_pull(&RadarPullResponse {
            epoch: "r1".into(),
            cursor: cursor + changes.len() as i64,
            changes,
            has_more: false,
        })
        .unwrap();
}

fn share(token: &str, partner_id: i64, at: i64) -> ChangeBody {
    ChangeBody::Share(Share {
        token: token.into(),
        device_id: 1,
        share_no: 1,
        item_id: 1,
        partner_id,
        channel: Channel::Direct,
        created_at_ms: at,
    })
}

fn visit(id: i64, partner_id: i64) -> ChangeBody {
    ChangeBody::Visit(Visit {
        id,
        share_token: "t".into(),
        item_id: 1,
        partner_id,
        rep_id: REP,
        visitor_id: format!("v{id}"),
        opened_at_ms: NOW,
        dwell_ms: 1_000,
    })
}

fn lead(id: i64, partner_id: i64, stage: LeadStage) -> RadarBody {
    RadarBody::Lead(Lead {
        id,
        company_id: 1,
        rep_id: Some(REP),
        partner_id,
        name: format!("客户{id}"),
        phone: format!("+86138{id:08}"),
        note: String::new(),
        source: LeadSource::ContactForm,
        share_token: None,
        item_id: None,
        score: 50,
        grade: warmlead_core::lead::Grade::B,
        reasons: Vec::new(),
        man: ManFlags::default(),
        stage,
        created_at_ms: NOW,
        updated_at_ms: NOW,
        contacts: 1,
    })
}

fn invitation(id: i64, channel: InviteChannel, status: InvitationStatus, uses: i64) -> Invitation {
    Invitation {
        id,
        company_id: 1,
        rep_id: REP,
        channel,
        status,
        max_uses: Some(1),
        uses,
        created_at_ms: NOW - id * 1_000,
        expires_at_ms: NOW + DAY,
        url: format!("https://r.example.com/i/tok{id}"),
        short_code: format!("K7Q4M{id}"),
        recipient_name: None,
        recipient_phone: None,
    }
}

fn activity(store: &Store, id: i64) -> (i64, i64, i64, i64, Option<i64>) {
    let a = store.partner_detail(id, NOW).unwrap().summary.activity;
    (a.shares, a.views, a.leads, a.deals, a.last_share_at_ms)
}

#[test]
fn triggers_keep_activity_right_through_inserts_changes_and_tombstones() {
    let (_dir, store) = rep_store();
    pull(
        &store,
        vec![
            ChangeBody::User(partner(10, "王芳")),
            ChangeBody::User(partner(11, "赵强")),
        ],
    );
    assert_eq!(activity(&store, 10), (0, 0, 0, 0, None));

    pull(
        &store,
        vec![
            share("a", 10, NOW - 5 * DAY),
            share("b", 10, NOW - DAY),
            visit(1, 10),
            visit(2, 10),
        ],
    );
    radar(
        &store,
        vec![lead(1, 10, LeadStage::New), lead(2, 10, LeadStage::Won)],
    );
    assert_eq!(activity(&store, 10), (2, 2, 2, 1, Some(NOW - DAY)));

    // Changes: a share moves to another partner, a lead is won, a visit moves.
    pull(&store, vec![share("b", 11, NOW - DAY), visit(2, 11)]);
    radar(&store, vec![lead(1, 10, LeadStage::Won)]);
    assert_eq!(activity(&store, 10), (1, 1, 2, 2, Some(NOW - 5 * DAY)));
    assert_eq!(activity(&store, 11), (1, 1, 0, 0, Some(NOW - DAY)));
    // A lead moving partner takes its deal along.
    radar(&store, vec![lead(2, 11, LeadStage::Won)]);
    assert_eq!(activity(&store, 10), (1, 1, 1, 1, Some(NOW - 5 * DAY)));
    assert_eq!(activity(&store, 11), (1, 1, 1, 1, Some(NOW - DAY)));

    // Tombstones.
    let tomb = |kind, id: &str| ChangeBody::Tombstone {
        kind,
        id: id.into(),
    };
    pull(
        &store,
        vec![tomb(EntityKind::Share, "a"), tomb(EntityKind::Visit, "1")],
    );
    assert_eq!(activity(&store, 10), (0, 0, 1, 1, None));
    // A radar epoch reset clears the leads, and their counts with them.
    store
        .apply_radar_pull(&RadarPullResponse {
            epoch: "r2".into(),
            changes: Vec::new(),
            cursor: 0,
            has_more: false,
        })
        .unwrap();
    assert_eq!(activity(&store, 10), (0, 0, 0, 0, None));
    assert_eq!(activity(&store, 11), (1, 1, 0, 0, Some(NOW - DAY)));
}

#[test]
fn pulled_invitations_sms_records_and_partners_are_kept() {
    let (_dir, store) = rep_store();
    let mut p = partner(10, "王芳");
    p.source = Some(PartnerSource::Sms);
    p.invitation_id = Some(1);
    p.joined_at_ms = NOW - 3 * DAY;
    let mut inv = invitation(1, InviteChannel::Sms, InvitationStatus::Accepted, 1);
    inv.recipient_name = Some("王芳".into());
    inv.recipient_phone = Some("+8613900000010".into());
    let sms = SmsRecord {
        id: 5,
        rep_id: REP,
        invitation_id: Some(1),
        name: "王芳".into(),
        phone: "+8613900000010".into(),
        text: "【暖居装修】李明邀请你…".into(),
        status: SmsStatus::Sent,
        error: None,
        created_at_ms: NOW - 4 * DAY,
        send_after_ms: None,
        updated_at_ms: NOW - 4 * DAY,
    };
    pull(
        &store,
        vec![
            ChangeBody::Invitation(inv.clone()),
            ChangeBody::SmsRecord(sms.clone()),
            ChangeBody::User(p.clone()),
        ],
    );
    assert_eq!(store.invitations(10).unwrap(), vec![inv.clone()]);
    assert_eq!(store.sms_records(10).unwrap(), vec![sms.clone()]);
    let detail = store.partner_detail(10, NOW).unwrap();
    assert_eq!(detail.summary.partner, p);
    assert_eq!(detail.summary.stage, PartnerStage::New);
    assert_eq!(detail.invitation, Some(inv.clone()));
    assert_eq!(
        detail.invited_by_name, None,
        "the rep's own user row is not pulled here"
    );
    pull(
        &store,
        vec![ChangeBody::User(user(REP, Role::Rep, "李明", None))],
    );
    assert_eq!(
        store
            .partner_detail(10, NOW)
            .unwrap()
            .invited_by_name
            .as_deref(),
        Some("李明")
    );

    // Updates replace; delivery reports change the status.
    let delivered = SmsRecord {
        status: SmsStatus::Delivered,
        updated_at_ms: NOW,
        ..sms
    };
    pull(&store, vec![ChangeBody::SmsRecord(delivered.clone())]);
    assert_eq!(store.sms_records(10).unwrap(), vec![delivered]);
    assert!(matches!(
        store.partner_detail(99, NOW),
        Err(StoreError::PartnerNotFound(99))
    ));
}

#[test]
fn only_my_partners_unless_manager() {
    let (_dir, store) = rep_store();
    pull(
        &store,
        vec![
            ChangeBody::User(partner(10, "王芳")),
            ChangeBody::User(user(11, Role::Partner, "别人的", Some(OTHER_REP))),
            ChangeBody::User(user(OTHER_REP, Role::Rep, "同事", None)),
        ],
    );
    let ids = |s: &Store| -> Vec<i64> {
        s.partners(&PartnerQuery::default(), NOW)
            .unwrap()
            .partners
            .iter()
            .map(|p| p.partner.id)
            .collect()
    };
    assert_eq!(ids(&store), vec![10]);
    assert!(store.partner_detail(11, NOW).is_err());
    assert_eq!(store.partner_counts(NOW).unwrap().all, 1);

    let (_d2, manager) = store_as(Role::Manager);
    pull(
        &manager,
        vec![
            ChangeBody::User(partner(10, "王芳")),
            ChangeBody::User(user(11, Role::Partner, "别人的", Some(OTHER_REP))),
        ],
    );
    assert_eq!(ids(&manager), vec![11, 10]);
}

/// The partner list's SQL scope agrees with `visibility::Managed` for each
/// signed-in role over partners bound to me, to another rep, and to no one.
#[test]
fn the_partner_scope_agrees_with_the_managed_rule() {
    use warmlead_core::visibility::Managed;
    let bound = [Some(REP), Some(OTHER_REP), None];
    for role in [Role::Rep, Role::Manager] {
        let (_dir, store) = store_as(role);
        let rows: Vec<User> = bound
            .iter()
            .enumerate()
            .map(|(i, rep)| user(20 + i as i64, Role::Partner, "甲", *rep))
            .collect();
        pull(&store, rows.iter().cloned().map(ChangeBody::User).collect());
        let mut got: Vec<i64> = store
            .partners(&PartnerQuery::default(), NOW)
            .unwrap()
            .partners
            .iter()
            .map(|p| p.partner.id)
            .collect();
        got.sort();
        let managed = Managed::of(role, REP);
        let expected: Vec<i64> = rows
            .iter()
            .filter(|u| managed.covers(u.rep_id))
            .map(|u| u.id)
            .collect();
        assert_eq!(got, expected, "{role:?}");
        assert_eq!(
            store.partner_counts(NOW).unwrap().all as usize,
            expected.len()
        );
    }
}

/// Partners at every interesting distance from the day cut-offs, each with
/// the stage `LifecycleRules::stage` gives: the filters must agree with it.
#[test]
fn filters_and_counts_agree_with_the_lifecycle_rules() {
    let (_dir, store) = rep_store();
    let offsets = [0, 1, 13, 14, 15, 29, 30, 31, 89, 90, 91, 200];
    let mut bodies = Vec::new();
    let mut expected = Vec::new();
    let mut id = 100;
    for joined in offsets {
        for last in offsets.iter().map(|d| Some(*d)).chain([None]) {
            if last.is_some_and(|l| l > joined) {
                continue; // Shared before joining: not a real case.
            }
            id += 1;
            // A millisecond around the cut-off too.
            let jitter = if id % 2 == 0 { 1 } else { -1 };
            let mut p = partner(id, &format!("伙伴{id}"));
            p.joined_at_ms = NOW - joined * DAY + jitter;
            bodies.push(ChangeBody::User(p.clone()));
            let last_ms = last.map(|d| NOW - d * DAY - jitter);
            if let Some(at) = last_ms {
                bodies.push(share(&format!("s{id}"), id, at));
            }
            let stage = LifecycleRules::default().stage(p.joined_at_ms, last_ms, NOW);
            expected.push((id, stage, last_ms.is_none()));
        }
    }
    pull(&store, bodies);
    let ids_of = |filter: PartnerFilter| -> HashSet<i64> {
        let q = PartnerQuery {
            filter: Some(filter),
            limit: Some(500),
            ..PartnerQuery::default()
        };
        store
            .partners(&q, NOW)
            .unwrap()
            .partners
            .iter()
            .map(|p| p.partner.id)
            .collect()
    };
    let want = |f: &StagePred| -> HashSet<i64> {
        expected
            .iter()
            .filter(|(_, s, n)| f(*s, *n))
            .map(|(id, _, _)| *id)
            .collect()
    };
    let cases: [(PartnerFilter, &StagePred); 6] = [
        (PartnerFilter::All, &|_, _| true),
        (PartnerFilter::Active, &|s, _| s == PartnerStage::Active),
        (PartnerFilter::Dormant, &|s, _| s == PartnerStage::Dormant),
        (PartnerFilter::Churned, &|s, _| s == PartnerStage::Churned),
        (PartnerFilter::New, &|s, _| s == PartnerStage::New),
        (PartnerFilter::NeverShared, &|_, never| never),
    ];
    let counts = store.partner_counts(NOW).unwrap();
    for (filter, pred) in cases {
        let want = want(pred);
        assert!(!want.is_empty(), "{filter:?} has no case");
        assert_eq!(ids_of(filter), want, "{filter:?}");
        let n = match filter {
            PartnerFilter::All => counts.all,
            PartnerFilter::Active => counts.active,
            PartnerFilter::Dormant => counts.dormant,
            PartnerFilter::Churned => counts.churned,
            PartnerFilter::New => counts.new,
            PartnerFilter::NeverShared => counts.never_shared,
        };
        assert_eq!(n, want.len() as i64, "count of {filter:?}");
    }
    // Each row says its stage too.
    let page = store
        .partners(
            &PartnerQuery {
                limit: Some(500),
                ..PartnerQuery::default()
            },
            NOW,
        )
        .unwrap();
    for p in page.partners {
        let (_, stage, _) = expected
            .iter()
            .find(|(id, _, _)| *id == p.partner.id)
            .unwrap();
        assert_eq!(p.stage, *stage, "partner {}", p.partner.id);
    }
}

/// Whether a partner of this stage (and never shared or not) belongs in a filter.
type StagePred = dyn Fn(PartnerStage, bool) -> bool;

fn search(store: &Store, s: &str) -> Vec<i64> {
    let q = PartnerQuery {
        search: Some(s.into()),
        ..PartnerQuery::default()
    };
    let mut ids: Vec<i64> = store
        .partners(&q, NOW)
        .unwrap()
        .partners
        .iter()
        .map(|p| p.partner.id)
        .collect();
    ids.sort();
    ids
}

#[test]
fn search_finds_short_chinese_names_longer_parts_and_phone_digits() {
    let (_dir, store) = rep_store();
    let mut a = partner(10, "王芳");
    a.phone = Some("+8613800138000".into());
    let mut b = partner(11, "欧阳王芳华");
    b.phone = Some("+8613912345678".into());
    let mut c = partner(12, "Lily_100%");
    c.phone = None;
    pull(
        &store,
        vec![
            ChangeBody::User(a),
            ChangeBody::User(b.clone()),
            ChangeBody::User(c),
        ],
    );
    assert_eq!(search(&store, "王"), vec![10, 11]);
    assert_eq!(search(&store, "王芳"), vec![10, 11]);
    assert_eq!(search(&store, "王芳华"), vec![11]);
    assert_eq!(search(&store, "欧阳王"), vec![11]);
    assert_eq!(search(&store, "芳王"), Vec::<i64>::new());
    assert_eq!(search(&store, "138 0013"), vec![10]);
    assert_eq!(search(&store, "5678"), vec![11]);
    assert_eq!(search(&store, "+86139"), vec![11]);
    assert_eq!(search(&store, "86"), vec![10, 11]);
    assert_eq!(search(&store, "lily"), vec![12]);
    assert_eq!(search(&store, "_1"), vec![12]);
    assert_eq!(search(&store, "%"), vec![12]);
    assert_eq!(search(&store, "\"王"), Vec::<i64>::new());
    // A rename re-indexes; a tombstone removes.
    b.name = "欧阳明".into();
    pull(&store, vec![ChangeBody::User(b)]);
    assert_eq!(search(&store, "王芳华"), Vec::<i64>::new());
    assert_eq!(search(&store, "欧阳明"), vec![11]);
    pull(
        &store,
        vec![ChangeBody::Tombstone {
            kind: EntityKind::User,
            id: "11".into(),
        }],
    );
    assert_eq!(search(&store, "欧阳"), Vec::<i64>::new());
    assert_eq!(search(&store, "5678"), Vec::<i64>::new());
}

#[test]
fn keyset_pages_neither_skip_nor_repeat() {
    let (_dir, store) = rep_store();
    let mut bodies = Vec::new();
    for id in 100..350 {
        bodies.push(ChangeBody::User(partner(id, &format!("伙伴{id}"))));
        // Ties on purpose: 7 partners share each time; a third never shared.
        if id % 3 != 0 {
            bodies.push(share(&format!("s{id}"), id, NOW - (id % 7) * DAY));
        }
    }
    pull(&store, bodies);
    for filter in [
        PartnerFilter::All,
        PartnerFilter::Active,
        PartnerFilter::NeverShared,
    ] {
        let mut q = PartnerQuery {
            filter: Some(filter),
            limit: Some(17),
            ..PartnerQuery::default()
        };
        let mut seen = Vec::new();
        loop {
            let page = store.partners(&q, NOW).unwrap();
            assert!(page.partners.len() <= 17);
            seen.extend(
                page.partners
                    .iter()
                    .map(|p| (p.activity.last_share_at_ms.unwrap_or(0), p.partner.id)),
            );
            match page.next {
                Some(n) => q.after = Some(n),
                None => break,
            }
        }
        let mut sorted = seen.clone();
        sorted.sort_by(|a, b| b.cmp(a));
        sorted.dedup();
        assert_eq!(seen, sorted, "{filter:?}: order, no repeats");
        let total = store
            .partners(
                &PartnerQuery {
                    filter: Some(filter),
                    limit: Some(500),
                    ..PartnerQuery::default()
                },
                NOW,
            )
            .unwrap()
            .partners
            .len();
        assert_eq!(seen.len(), total, "{filter:?}: nothing skipped");
        assert!(total > 17, "{filter:?} spans pages");
    }
}

#[test]
fn dashboard_counts_each_channel() {
    let (_dir, store) = rep_store();
    let mut expired = invitation(4, InviteChannel::Qr, InvitationStatus::Pending, 0);
    expired.expires_at_ms = NOW - 1;
    let mut other = invitation(6, InviteChannel::Qr, InvitationStatus::Pending, 0);
    other.rep_id = OTHER_REP;
    let mut poster = invitation(5, InviteChannel::Poster, InvitationStatus::Pending, 3);
    poster.max_uses = None;
    let mut joined = partner(10, "王芳");
    joined.source = Some(PartnerSource::Poster);
    let mut sms_partner = partner(11, "赵强");
    sms_partner.source = Some(PartnerSource::Sms);
    pull(
        &store,
        vec![
            ChangeBody::Invitation(invitation(
                1,
                InviteChannel::Qr,
                InvitationStatus::Accepted,
                1,
            )),
            ChangeBody::Invitation(invitation(
                2,
                InviteChannel::Qr,
                InvitationStatus::Pending,
                0,
            )),
            ChangeBody::Invitation(invitation(
                3,
                InviteChannel::Qr,
                InvitationStatus::Revoked,
                0,
            )),
            ChangeBody::Invitation(expired),
            ChangeBody::Invitation(other),
            ChangeBody::Invitation(poster),
            ChangeBody::User(joined),
            ChangeBody::User(sms_partner),
        ],
    );
    let d = store.invite_dashboard(NOW).unwrap();
    let qr = d
        .channels
        .iter()
        .find(|c| c.channel == InviteChannel::Qr)
        .unwrap();
    assert_eq!(
        (
            qr.invitations,
            qr.accepted,
            qr.partners,
            qr.pending,
            qr.expired,
            qr.revoked
        ),
        (4, 1, 0, 1, 1, 1)
    );
    let p = d
        .channels
        .iter()
        .find(|c| c.channel == InviteChannel::Poster)
        .unwrap();
    assert_eq!(
        (p.invitations, p.accepted, p.partners, p.pending),
        (1, 1, 1, 1)
    );
    let s = d
        .channels
        .iter()
        .find(|c| c.channel == InviteChannel::Sms)
        .unwrap();
    assert_eq!((s.invitations, s.partners), (0, 1));
    // Newest first.
    let ids: Vec<i64> = store
        .invitations(100)
        .unwrap()
        .iter()
        .map(|i| i.id)
        .collect();
    assert_eq!(ids, vec![1, 2, 3, 4, 5, 6]);
    assert_eq!(store.invitations(2).unwrap().len(), 2);
}

#[test]
fn export_round_trips_through_the_importer_and_neutralizes_formulas() {
    let (_dir, store) = rep_store();
    let mut a = partner(10, "王芳");
    a.phone = Some("+8613800138000".into());
    a.joined_at_ms = 1_795_462_200_000;
    let mut b = partner(11, "=HYPERLINK(\"http://x\",\"点我\")");
    b.phone = Some("+8613912345678".into());
    let mut c = partner(12, "Smith, John");
    c.phone = Some("+14155552671".into());
    pull(
        &store,
        vec![
            ChangeBody::User(a),
            ChangeBody::User(b),
            ChangeBody::User(c),
            share("s", 10, NOW - DAY),
        ],
    );
    let csv = store.export_partners_csv_at(NOW).unwrap();
    assert!(csv.starts_with(b"\xEF\xBB\xBF"));
    let text = std::str::from_utf8(&csv[3..]).unwrap();
    let lines: Vec<&str> = text.split("\r\n").collect();
    assert_eq!(
        lines[0],
        "姓名,手机,来源,加入时间(UTC),分享,浏览,线索,成交,阶段"
    );
    assert_eq!(
        lines[1],
        "王芳,'+8613800138000,二维码,2026-11-23T19:30:00Z,1,0,0,0,活跃"
    );
    for line in &lines[1..] {
        for cell in line.split(',') {
            assert!(
                !cell
                    .trim_start_matches('"')
                    .starts_with(['=', '+', '-', '@']),
                "{line}"
            );
        }
    }
    let preview = warmlead_core::csv_import::preview(&csv);
    assert_eq!(preview.file_error, None);
    assert!(preview.errors.is_empty(), "{:?}", preview.errors);
    let rows: Vec<(String, String)> = preview
        .valid
        .iter()
        .map(|r| (r.name.clone(), r.phone.clone()))
        .collect();
    assert_eq!(
        rows,
        vec![
            ("王芳".to_string(), "+8613800138000".to_string()),
            ("Smith, John".to_string(), "+14155552671".to_string()),
            (
                "'=HYPERLINK(\"http://x\",\"点我\")".to_string(),
                "+8613912345678".to_string()
            ),
        ]
    );
}

#[test]
fn migrating_from_2_backfills_activity_and_search() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.sqlite");
    {
        let old = migrate::open_at_version(&path, 2).unwrap();
        old.conn
            .execute_batch(
r#"INSERT INTO users (id, company_id, role, name, phone, rep_id)
                   VALUES (2, 1, 'rep', '李明', NULL, NULL),
                          (10, 1, 'partner', '王芳', '+8613800138000', 2);
                 INSERT INTO session (id, server_url, device_id, device_token, share_key,
                   public_base_url, user_json, company_json, epoch)
                   VALUES (1, 'http://x', 7, 't', 'k', 'https://r',
                   '{"id":2,"company_id":1,"role":"rep","name":"李明","phone":null,"rep_id":null}',
                   '{"id":1,"name":"暖居装修"}', 'e1');
                 INSERT INTO shares (token, device_id, share_no, item_id, partner_id, channel, created_at_ms)
                   VALUES ('a', 1, 1, 1, 10, 'direct', 5000), ('b', 1, 2, 1, 10, 'direct', 9000);
                 INSERT INTO visits (id, share_token, item_id, partner_id, rep_id, visitor_id, opened_at_ms, dwell_ms)
                   VALUES (1, 'a', 1, 10, 2, 'v', 1, 1);
                 INSERT INTO leads (id, company_id, rep_id, partner_id, name, phone, note, source, score,
                   grade, man_money, man_authority, man_need, stage, created_at_ms, updated_at_ms, contacts)
                   VALUES (1, 1, 2, 10, '客户', '+8613000000000', '', 'contact_form', 1, 'B', 0, 0, 0, 'won', 1, 1, 1);"#,
            )
            .unwrap();
    }
    let store = Store::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), LATEST_VERSION);
    assert_eq!(activity(&store, 10), (2, 1, 1, 1, Some(9000)));
    assert_eq!(search(&store, "王芳"), vec![10]);
    assert_eq!(search(&store, "13800"), vec![10]);
    let p = store.partner_detail(10, NOW).unwrap().summary.partner;
    assert_eq!((p.joined_at_ms, p.source), (0, None));
}

/// A manager addresses items to reps from the cache, offline too: every rep
/// synced, by name, and nobody else.
#[test]
fn the_reps_a_manager_can_choose_come_from_the_cache() {
    let (_dir, store) = store_as(Role::Manager);
    pull(
        &store,
        vec![
            ChangeBody::User(user(OTHER_REP, Role::Rep, "王芳", None)),
            ChangeBody::User(user(9, Role::Rep, "蔡伟", None)),
            ChangeBody::User(partner(20, "张三")),
            ChangeBody::User(user(30, Role::Manager, "周总", None)),
        ],
    );
    let names: Vec<String> = store.reps().unwrap().into_iter().map(|u| u.name).collect();
    let mut expected = vec!["王芳".to_string(), "蔡伟".to_string()];
    expected.sort();
    assert_eq!(names, expected);
}
