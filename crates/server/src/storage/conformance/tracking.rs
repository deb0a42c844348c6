//! [`TrackStore`]: a partner's share is recorded once, a visit reads back
//! as stored (and a second visit under its page-view id is a race, never a
//! second row), a batch's writes come back through its lookups, new visits
//! count in their network's burst window once committed (and never when
//! rolled back), and signals rescore only their company's leads.

use std::collections::BTreeSet;
use std::sync::Arc;

use warmlead_core::botfilter::{FilterReason, BURST_WINDOW_MS};
use warmlead_core::lead::{Grade, SignalKind};

use super::{entities, Fixture, NOW};
use crate::storage::shares::ResolvedShare;
use crate::storage::track_store::{is_raced, Agg, Lookups, NewSignal, NewVisit, Writes};

fn visit(share: &Arc<ResolvedShare>, pv: &str, visitor: &str, no: i64, at: i64) -> NewVisit {
    NewVisit {
        page_view: pv.into(),
        share: share.clone(),
        visitor_id: visitor.into(),
        ip_hash: Some("网络-1".into()),
        opened_at: at,
        visit_no: no,
        agg: Agg {
            id: 0,
            dwell_ms: 90_000,
            scroll_pct: 80,
            video_s: 30,
            video_len_s: 120,
            last_seen_at: at + 90_000,
        },
        page_views: 1,
    }
}

#[test]
fn a_partners_share_is_recorded_once_and_logged_when_appended() {
    let w = Fixture::new();
    let rows = w.track(|t, s| {
        let share = w.signed_share(s, &w.a, 1);
        let rows = t.record_shares(&[&share], NOW).unwrap();
        assert_eq!(rows.len(), 1, "its change-log row");
        assert!(
            t.record_shares(&[&share], NOW + 1).unwrap().is_empty(),
            "once"
        );
        let seq = w.newest_seq(s);
        t.append_changes(&rows, NOW).unwrap();
        let logged = w.changes_after(s, seq);
        assert_eq!(entities(&logged), vec!["share"]);
        assert_eq!(logged[0].0, w.a.company.id);
        (rows.len(), Vec::new())
    });
    assert_eq!(rows, 1);
}

#[test]
fn a_visit_reads_back_as_stored_and_its_page_view_id_is_taken_once() {
    let w = Fixture::new();
    let share = w.run(|s| Arc::new(w.share(s, &w.a, 1)));
    let id = w.track(|t, _| {
        let ids = t
            .insert_visits(&[visit(&share, "pv-1", "访客-1", 1, NOW)])
            .unwrap();
        assert_eq!(ids.len(), 1);
        let mut logged = t.visits_for_log(&ids).unwrap();
        let (v, stats) = logged.remove(&ids[0]).expect("its visit");
        assert_eq!(
            (v.id, v.share_token.as_str()),
            (ids[0], share.token.as_str())
        );
        assert_eq!(
            (v.item_id, v.partner_id, v.rep_id),
            (w.a.item.id, w.a.partner.id, w.a.rep.id)
        );
        assert_eq!(
            (v.visitor_id.as_str(), v.opened_at_ms, v.dwell_ms),
            ("访客-1", NOW, 90_000)
        );
        assert_eq!(
            (stats.visit_no, stats.page_views, stats.scroll_pct),
            (1, 1, 80)
        );
        assert_eq!((stats.last_seen_at_ms, stats.video_pct), (NOW + 90_000, 25));
        assert_eq!(stats.root_token, share.root_token);
        assert!(t.visits_for_log(&[ids[0] + 1000]).unwrap().is_empty());
        (ids[0], Vec::new())
    });
    // Another batch opened it meanwhile: this batch is run again.
    w.track_rolled_back(|t| {
        let again = t.insert_visits(&[visit(&share, "pv-1", "访客-2", 1, NOW)]);
        assert!(matches!(&again, Err(e) if is_raced(e)), "{again:?}");
    });
    w.track_rolled_back(|t| {
        let again = t.insert_visits(&[visit(&share, "pv-2", "访客-1", 1, NOW)]);
        assert!(
            matches!(&again, Err(e) if is_raced(e)),
            "visit 1 taken: {again:?}"
        );
    });
    w.track(|t, _| {
        assert_eq!(t.visits_for_log(&[id]).unwrap().len(), 1);
        ((), Vec::new())
    });
}

#[test]
fn a_batchs_writes_come_back_through_its_lookups() {
    let w = Fixture::new();
    let share = w.run(|s| Arc::new(w.share(s, &w.a, 1)));
    let id = w.track(|t, _| {
        let ids = t
            .insert_visits(&[visit(&share, "pv-1", "访客-1", 1, NOW)])
            .unwrap();
        (ids[0], Vec::new())
    });
    let lookups = |since| Lookups {
        visitors: vec![
            (share.token.as_str(), "访客-1"),
            (share.token.as_str(), "访客-2"),
        ],
        own: vec![("访客-1", w.a.partner.id), ("访客-1", w.b.partner.id)],
        networks: Vec::new(),
        since,
    };
    w.track(|t, _| {
        let loaded = t.load(&lookups(NOW - 1)).unwrap();
        let key = (share.token.clone(), "访客-1".to_string());
        let mine = loaded.visitors.get(&key).expect("the visitor's visits");
        assert_eq!(
            (mine.latest.id, mine.visit_no, mine.recent.clone()),
            (id, 1, vec![NOW])
        );
        assert_eq!(loaded.visitors.len(), 1, "no visit of 访客-2");
        assert!(loaded.own.is_empty());
        assert!(
            t.load(&lookups(NOW)).unwrap().visitors[&key]
                .recent
                .is_empty(),
            "since"
        );

        let first = t.pages(&["pv-1", "pv-9"]).unwrap();
        assert_eq!(first.len(), 1);
        assert_eq!(
            (first[0].pv.as_str(), first[0].row, first[0].dwell_ms),
            ("pv-1", false, 90_000)
        );
        assert_eq!(
            (first[0].share_token.as_str(), first[0].visit.id),
            (share.token.as_str(), id)
        );

        let grown = Agg {
            id,
            dwell_ms: 150_000,
            scroll_pct: 100,
            video_s: 120,
            video_len_s: 120,
            last_seen_at: NOW + 200_000,
        };
        let writes = Writes {
            pages: vec![("pv-2".into(), id, 60_000)],
            visits: vec![(grown, 1)],
            own: vec![("访客-1".into(), w.a.partner.id)],
            filtered: vec![(w.a.company.id, FilterReason::Reload.as_str(), 3)],
            ..Writes::default()
        };
        t.write(&writes, NOW + 200_000).unwrap();
        ((), Vec::new())
    });
    w.track(|t, s| {
        let loaded = t.load(&lookups(NOW - 1)).unwrap();
        let key = (share.token.clone(), "访客-1".to_string());
        assert_eq!(loaded.visitors[&key].latest.dwell_ms, 150_000);
        assert_eq!(loaded.own, [("访客-1".to_string(), w.a.partner.id)].into());
        let mut pages = t.pages(&["pv-1", "pv-2"]).unwrap();
        pages.sort_by(|x, y| x.pv.cmp(&y.pv));
        let seen: Vec<(&str, bool, i64)> = pages
            .iter()
            .map(|p| (p.pv.as_str(), p.row, p.dwell_ms))
            .collect();
        assert_eq!(seen, vec![("pv-1", false, 90_000), ("pv-2", true, 60_000)]);
        assert_eq!(
            pages[1].visit,
            Agg {
                id,
                ..pages[1].visit
            }
        );
        let (_, stats) = t.visits_for_log(&[id]).unwrap().remove(&id).unwrap();
        assert_eq!(
            (stats.page_views, stats.dwell_ms, stats.video_pct),
            (2, 150_000, 100)
        );
        let filtered = crate::storage::signals::filtered_stats(s.legacy(), w.a.company.id).unwrap();
        assert_eq!(filtered.counts.len(), 1);
        assert_eq!(
            (filtered.counts[0].reason, filtered.counts[0].count),
            (FilterReason::Reload, 3)
        );
        let theirs = crate::storage::signals::filtered_stats(s.legacy(), w.b.company.id).unwrap();
        assert!(theirs.counts.is_empty());
        ((), Vec::new())
    });
}

#[test]
fn new_visits_count_in_their_networks_window_once_committed() {
    let w = Fixture::new();
    let networks = |n: Vec<i64>| Lookups {
        networks: n,
        ..Lookups::default()
    };
    let opens = vec![(7, NOW), (7, NOW + 10), (8, NOW + 10)];
    w.track_rolled_back(|t| {
        t.load(&networks(vec![7])).unwrap();
        t.write(
            &Writes {
                opens: vec![(7, NOW), (7, NOW)],
                ..Writes::default()
            },
            NOW,
        )
        .unwrap();
    });
    w.track(|t, _| {
        t.load(&networks(vec![7, 8])).unwrap();
        t.write(
            &Writes {
                opens: opens.clone(),
                ..Writes::default()
            },
            NOW + 10,
        )
        .unwrap();
        ((), opens.clone())
    });
    let count = |network, now| {
        w.track(|t, _| {
            t.load(&networks(vec![network])).unwrap();
            (t.opens_since(network, now), Vec::new())
        })
    };
    assert_eq!(
        count(7, NOW + 20),
        2,
        "the rolled-back batch counts nothing"
    );
    assert_eq!(count(8, NOW + 20), 1);
    assert_eq!(count(9, NOW + 20), 0, "another network");
    assert_eq!(count(7, NOW + BURST_WINDOW_MS), 1);
    assert_eq!(count(7, NOW + BURST_WINDOW_MS + 10), 0, "out of the window");
}

#[test]
fn signals_rescore_only_their_companys_leads() {
    let w = Fixture::new();
    let (share, other, lead, theirs) = w.run(|s| {
        let share = Arc::new(w.share(s, &w.a, 1));
        let other = Arc::new(w.share(s, &w.b, 1));
        let lead = s
            .leads()
            .insert(&share, "王小明", "+8613800138000", "", NOW)
            .unwrap()
            .unwrap();
        let theirs = s
            .leads()
            .insert(&other, "王小明", "+8613800138000", "", NOW)
            .unwrap()
            .unwrap();
        s.leads().attach_visitor(lead, "访客-1").unwrap();
        s.leads().attach_visitor(theirs, "访客-1").unwrap();
        (share, other, lead, theirs)
    });
    w.track(|t, s| {
        let ids = t
            .insert_visits(&[visit(&share, "pv-1", "访客-1", 1, NOW)])
            .unwrap();
        let signal = |share: &Arc<ResolvedShare>, value| NewSignal {
            share: share.clone(),
            visit_id: ids[0],
            visitor_id: "访客-1".into(),
            kind: SignalKind::Contact,
            value,
            at: NOW,
        };
        let writes = Writes {
            signals: vec![signal(&share, lead), signal(&other, theirs)],
            ..Writes::default()
        };
        t.write(&writes, NOW).unwrap();
        let visitors = BTreeSet::from([(w.a.company.id, "访客-1".to_string())]);
        t.rescore_leads(&visitors, NOW).unwrap();
        let leads = s.leads();
        let (mine, others) = (
            leads.get(lead).unwrap().unwrap(),
            leads.get(theirs).unwrap().unwrap(),
        );
        assert_eq!(
            (mine.grade, mine.score),
            (Grade::B, 40),
            "one contact of a's"
        );
        assert_eq!(others.grade, Grade::C, "b's lead waits for b's visitors");
        ((), Vec::new())
    });
}

#[test]
fn shares_are_recorded_in_order_and_counters_add_up() {
    let w = Fixture::new();
    let tokens = w.track(|t, s| {
        let (one, two) = (w.signed_share(s, &w.a, 1), w.signed_share(s, &w.b, 2));
        let rows = t.record_shares(&[&two, &one, &two], NOW).unwrap();
        let logged: Vec<(i64, String)> = rows
            .iter()
            .map(|r| {
                let body: serde_json::Value = serde_json::from_str(&r.body).unwrap();
                (
                    r.company_id,
                    body["data"]["token"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                )
            })
            .collect();
        assert_eq!(
            logged,
            vec![
                (w.b.company.id, two.token.clone()),
                (w.a.company.id, one.token.clone())
            ],
            "in order, each once"
        );
        let reload = FilterReason::Reload.as_str();
        let filtered = vec![(w.a.company.id, reload, 3), (w.b.company.id, reload, 1)];
        t.write(
            &Writes {
                filtered,
                ..Writes::default()
            },
            NOW,
        )
        .unwrap();
        ((one.token, two.token), Vec::new())
    });
    w.track(|t, s| {
        let own = FilterReason::OwnLink.as_str();
        let reload = FilterReason::Reload.as_str();
        let filtered = vec![(w.a.company.id, reload, 2), (w.a.company.id, own, 1)];
        t.write(
            &Writes {
                filtered,
                ..Writes::default()
            },
            NOW,
        )
        .unwrap();
        let counts = |c| {
            let stats = crate::storage::signals::filtered_stats(s.legacy(), c).unwrap();
            let mut counts: Vec<(FilterReason, i64)> =
                stats.counts.iter().map(|x| (x.reason, x.count)).collect();
            counts.sort_by_key(|x| x.0.as_str());
            counts
        };
        assert_eq!(
            counts(w.a.company.id),
            vec![(FilterReason::OwnLink, 1), (FilterReason::Reload, 5)]
        );
        assert_eq!(counts(w.b.company.id), vec![(FilterReason::Reload, 1)]);
        assert!(t.record_shares(&[], NOW).unwrap().is_empty());
        ((), Vec::new())
    });
    assert_ne!(tokens.0, tokens.1);
}

#[test]
fn a_visitors_recent_visits_are_all_found() {
    let w = Fixture::new();
    let share = w.run(|s| Arc::new(w.share(s, &w.a, 1)));
    let (first, second) = w.track(|t, _| {
        let ids = t
            .insert_visits(&[
                visit(&share, "pv-1", "访客-1", 1, NOW),
                visit(&share, "pv-2", "访客-1", 2, NOW + 60_000),
                visit(&share, "pv-3", "访客-2", 1, NOW + 1),
            ])
            .unwrap();
        assert_eq!(ids.len(), 3);
        assert_eq!(t.visits_for_log(&ids).unwrap().len(), 3);
        ((ids[0], ids[1]), Vec::new())
    });
    w.track(|t, _| {
        let lookups = Lookups {
            visitors: vec![(share.token.as_str(), "访客-1")],
            since: NOW - 1,
            ..Lookups::default()
        };
        let loaded = t.load(&lookups).unwrap();
        let mine = &loaded.visitors[&(share.token.clone(), "访客-1".to_string())];
        assert_eq!((mine.latest.id, mine.visit_no), (second, 2), "the latest");
        let mut recent = mine.recent.clone();
        recent.sort();
        assert_eq!(recent, vec![NOW, NOW + 60_000]);
        assert_ne!(first, second);
        ((), Vec::new())
    });
}
