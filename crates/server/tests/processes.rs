//! Several server processes on one PostgreSQL behave as one server: the
//! in-process test server plus two real `warmlead-server` processes on the
//! same database, each device talking to whichever process it is routed to
//! (as behind a load balancer).
mod common;
mod process;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{activate, mutation, next_event, world_on, Device, World};
use process::{spawn_server_with, Server};
use reqwest::StatusCode;
use serde_json::json;
use warmlead_core::api::PATH_EVENTS;
use warmlead_core::domain::Channel;
use warmlead_core::sync::MutationBody;
use warmlead_server::testing::Backend;

/// The test server and two more processes on its PostgreSQL database,
/// sharing its media folder; the three base URLs.
async fn three_processes() -> (World, Vec<Server>, Vec<String>) {
    let w = world_on(Backend::Postgres).await;
    let media = w.ts.dir().join("media").display().to_string();
    let mut servers = Vec::new();
    let mut bases = vec![w.ts.url()];
    for _ in 0..2 {
        let (s, base) = spawn_server_with(w.ts.database_url(), &["--media-dir", &media]).await;
        servers.push(s);
        bases.push(base);
    }
    (w, servers, bases)
}

/// The same device, talking to another process.
fn via(d: &Device, base: &str) -> Device {
    Device {
        http: d.http.clone(),
        base: base.to_string(),
        act: d.act.clone(),
    }
}

const WRITER_PUSHES: i64 = 40;
const PAGE: u32 = 7;

/// Writers push through all three processes at once while pullers follow
/// their cursors through all three: a change committed late by a slow
/// transaction must not be skipped (each puller ends with exactly what a
/// fresh full pull of its scope returns, in order, once each).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pullers_through_any_process_never_skip_a_change() {
    let (w, _servers, bases) = three_processes().await;
    let mut writers = Vec::new();
    for user in [
        &w.partner_a1,
        &w.partner_a1,
        &w.partner_a2,
        &w.partner_a2,
        &w.partner_b1,
        &w.partner_b1,
    ] {
        writers.push(activate(&w.ts, user.id).await);
    }
    let pullers = [
        activate(&w.ts, w.manager.id).await,
        activate(&w.ts, w.rep_a.id).await,
        activate(&w.ts, w.rep_b.id).await,
        activate(&w.ts, w.partner_a1.id).await,
    ];
    let done = Arc::new(AtomicBool::new(false));
    let item = w.item.id;
    let pushing: Vec<_> = writers
        .into_iter()
        .enumerate()
        .map(|(k, d)| {
            let bases = bases.clone();
            tokio::spawn(async move {
                for n in 1..=WRITER_PUSHES {
                    let d = via(&d, &bases[(k + n as usize) % bases.len()]);
                    let body = if n % 5 == 0 {
                        MutationBody::RenameSelf {
                            name: format!("名字{k}-{n}"),
                        }
                    } else {
                        return_share(&d, n, item)
                    };
                    let res = d.push(vec![mutation(n, body)]).await;
                    assert_eq!(res.last_seq, n, "writer {k} push {n}");
                }
            })
        })
        .collect();
    let following: Vec<_> = pullers
        .iter()
        .enumerate()
        .map(|(k, d)| {
            let (d, bases, done) = (via(d, &bases[0]), bases.clone(), done.clone());
            tokio::spawn(async move { follow(d, k, bases, done).await })
        })
        .collect();
    for p in pushing {
        p.await.unwrap();
    }
    done.store(true, Ordering::SeqCst);
    for (k, f) in following.into_iter().enumerate() {
        let seen = f.await.unwrap();
        let truth: Vec<i64> = pullers[k].pull_all().await.iter().map(|c| c.seq).collect();
        assert!(!truth.is_empty());
        assert_eq!(seen, truth, "puller {k} skipped or repeated changes");
    }
}

fn return_share(d: &Device, n: i64, item: i64) -> MutationBody {
    d.create_share(n, n, item).body
}

/// Pulls pages through rotating processes until the writers are done and
/// a last pass finds nothing more; every seq received, in order.
async fn follow(d: Device, k: usize, bases: Vec<String>, done: Arc<AtomicBool>) -> Vec<i64> {
    let mut seen = Vec::new();
    let mut cursor = 0;
    let mut turn = k;
    loop {
        let finished = done.load(Ordering::SeqCst);
        turn += 1;
        let page = via(&d, &bases[turn % bases.len()])
            .pull(cursor, Some(PAGE))
            .await;
        seen.extend(page.changes.iter().map(|c| c.seq));
        cursor = page.cursor.max(cursor);
        if finished && !page.has_more {
            return seen;
        }
    }
}

/// The change log's order across processes, made deterministic: a slow
/// writer takes its seq and holds its transaction open; a later change is
/// pushed through a second process meanwhile; a reader pulls through a
/// third before and after the slow writer commits. The reader must end
/// with both changes, the slow one first: a cursor moved past the later
/// seq before the earlier one committed would skip it for good.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_reader_never_skips_a_change_that_commits_after_a_later_one() {
    let (w, _servers, bases) = three_processes().await;
    let writer = via(&activate(&w.ts, w.partner_a1.id).await, &bases[1]);
    let reader = via(&activate(&w.ts, w.manager.id).await, &bases[2]);
    let mut cursor = reader.pull_all().await.last().map_or(0, |c| c.seq);
    let held = w.ts.hold_change(w.company.id).await;
    let held_seq = held.seq;
    let item = w.item.id;
    let push =
        tokio::spawn(async move { writer.push(vec![writer.create_share(1, 1, item)]).await });
    // The later push has either committed (a log that does not order its
    // appends) or is waiting on the held writer's lock: the dangerous point.
    let sql = w.ts.sql();
    common::eventually(
        "the second process's push to commit or wait on the log's lock",
        10,
        || async {
            push.is_finished()
                || sql
                    .i64(
                        "SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted",
                    )
                    .await
                    > 0
        },
    )
    .await;
    let mut seen = Vec::new();
    let page = reader.pull(cursor, None).await;
    seen.extend(page.changes.iter().map(|c| c.seq));
    cursor = page.cursor.max(cursor);
    held.commit().await;
    assert_eq!(push.await.unwrap().last_seq, 1);
    loop {
        let page = reader.pull(cursor, None).await;
        seen.extend(page.changes.iter().map(|c| c.seq));
        cursor = page.cursor.max(cursor);
        if !page.has_more {
            break;
        }
    }
    assert!(
        seen.contains(&held_seq),
        "the reader skipped seq {held_seq} (the held writer's), saw {seen:?}"
    );
    let truth: Vec<i64> = reader
        .pull_all()
        .await
        .iter()
        .map(|c| c.seq)
        .filter(|s| *s >= held_seq)
        .collect();
    assert_eq!(
        seen, truth,
        "the reader's changes against a fresh full pull"
    );
    assert!(
        truth.len() >= 2,
        "both changes reached the reader: {truth:?}"
    );
}

/// A device listening on one process hears of a change committed through
/// another (PostgreSQL LISTEN/NOTIFY), within moments.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn live_events_cross_processes() {
    let (w, _servers, bases) = three_processes().await;
    let partner = activate(&w.ts, w.partner_a1.id).await;
    let rep = via(&activate(&w.ts, w.rep_a.id).await, &bases[2]);
    let mut es = rep.get(PATH_EVENTS).send().await.unwrap();
    assert_eq!(es.status(), StatusCode::OK);
    let mut buf = String::new();
    let head = next_event(&mut es, &mut buf, |e| e.stream == "radar").await;
    let token = partner.sign(1, w.item.id, Channel::Moments);
    let started = tokio::time::Instant::now();
    let res = reqwest::Client::new()
        .post(format!("{}/t/beacon", bases[1]))
        .header("cookie", "wl_v=friend-000000001")
        .body(json!({"t": token, "pv": "pv-cross-0001", "dwell_ms": 0}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let ev = next_event(&mut es, &mut buf, |e| {
        e.stream == "radar" && e.seq > head.seq
    })
    .await;
    assert!(ev.seq > head.seq);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "heard after {:?}",
        started.elapsed()
    );
}

/// A share page one process has cached stops resolving at once when its
/// item is deleted through another process (not after the cache's TTL).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_deleted_item_stops_resolving_on_every_process() {
    let (w, _servers, bases) = three_processes().await;
    let partner = activate(&w.ts, w.partner_a1.id).await;
    let manager = via(&activate(&w.ts, w.manager.id).await, &bases[2]);
    let res = partner
        .push(vec![partner.create_share(1, 1, w.item.id)])
        .await;
    assert_eq!(res.last_seq, 1);
    let token = partner.sign(1, w.item.id, Channel::Moments);
    let page = |base: String| {
        let token = token.clone();
        async move {
            reqwest::get(format!("{base}/s/{token}"))
                .await
                .unwrap()
                .status()
        }
    };
    // Served (and cached) by the second process.
    assert_eq!(page(bases[1].clone()).await, StatusCode::OK);
    assert_eq!(page(bases[1].clone()).await, StatusCode::OK);
    let res = manager
        .push(vec![mutation(
            1,
            MutationBody::DeleteContentItem { item_id: w.item.id },
        )])
        .await;
    assert_eq!(res.last_seq, 1);
    common::eventually(
        "the second process to stop serving the deleted item's share",
        5,
        || async { page(bases[1].clone()).await != StatusCode::OK },
    )
    .await;
}

/// What can change a cached share (its device revoked, its partner
/// switched off, its item archived) through one process.
#[derive(Clone, Copy, Debug)]
enum Cut {
    Revoke,
    SwitchOff,
    Archive,
}

/// The token `/t/forward` hands a friend passing `token` on; `None` when it
/// refuses.
async fn forward_token(base: &str, token: &str, visitor: &str) -> Option<String> {
    let res = reqwest::Client::new()
        .post(format!("{base}{}", warmlead_core::api::PATH_FORWARD))
        .header("cookie", format!("wl_v={visitor}"))
        .json(&json!({"t": token}))
        .send()
        .await
        .unwrap();
    if res.status() != StatusCode::OK {
        return None;
    }
    Some(
        res.json::<warmlead_core::api::ForwardResponse>()
            .await
            .unwrap()
            .token,
    )
}

/// A share one process has cached (page served, forwarded: it credits its
/// partner) follows a cut made through another process at once, by NOTIFY,
/// not after the cache's TTL of a minute: a revoked device's or switched-off
/// partner's link stops crediting (passing it on makes no crediting child),
/// an archived item's link answers 410.
async fn a_cut_reaches_every_process_cache(cut: Cut) {
    let (w, _servers, bases) = three_processes().await;
    let partner = activate(&w.ts, w.partner_a1.id).await;
    let manager = via(&activate(&w.ts, w.manager.id).await, &bases[2]);
    let res = partner
        .push(vec![partner.create_share(1, 1, w.item.id)])
        .await;
    assert_eq!(res.last_seq, 1);
    let token = partner.sign(1, w.item.id, Channel::Moments);
    let page = |token: String| {
        let base = bases[1].clone();
        async move {
            reqwest::get(format!("{base}/s/{token}"))
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(page(token.clone()).await, StatusCode::OK);
    let child = forward_token(&bases[1], &token, "friend-cache-0001").await;
    assert!(
        child.is_some_and(|c| c != token),
        "{cut:?}: before the cut, passing it on credits"
    );
    let status = match cut {
        Cut::Revoke => manager
            .post(&format!("/api/v1/devices/{}/revoke", partner.id()))
            .send()
            .await
            .unwrap()
            .status(),
        Cut::SwitchOff => manager
            .post(&format!("/api/v1/team/{}/deactivate", w.partner_a1.id))
            .send()
            .await
            .unwrap()
            .status(),
        Cut::Archive => {
            let res = manager
                .push(vec![mutation(
                    1,
                    MutationBody::ArchiveContent {
                        key: w.item.key.clone(),
                    },
                )])
                .await;
            assert_eq!(res.last_seq, 1);
            StatusCode::OK
        }
    };
    assert_eq!(status, StatusCode::OK, "{cut:?}");
    match cut {
        Cut::Revoke | Cut::SwitchOff => {
            let mut k = 0;
            common::eventually(
                "the second process to stop crediting the cut partner's share",
                5,
                || {
                    k += 1;
                    let (base, token) = (bases[1].clone(), token.clone());
                    async move {
                        forward_token(&base, &token, &format!("friend-cache-1{k:03}")).await
                            == Some(token)
                    }
                },
            )
            .await
        }
        Cut::Archive => {
            common::eventually(
                "the second process to answer 410 for the archived item's share",
                5,
                || async { page(token.clone()).await == StatusCode::GONE },
            )
            .await
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_revoked_device_reaches_every_process_cache() {
    a_cut_reaches_every_process_cache(Cut::Revoke).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_switched_off_partner_reaches_every_process_cache() {
    a_cut_reaches_every_process_cache(Cut::SwitchOff).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_archived_item_reaches_every_process_cache() {
    a_cut_reaches_every_process_cache(Cut::Archive).await;
}

/// Limits count across processes: five lead forms from one address, sent
/// round-robin to three processes, and the sixth is refused wherever it goes.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rate_limits_count_across_processes() {
    let (w, _servers, bases) = three_processes().await;
    let partner = activate(&w.ts, w.partner_a1.id).await;
    partner
        .push(vec![partner.create_share(1, 1, w.item.id)])
        .await;
    let token = partner.sign(1, w.item.id, Channel::Moments);
    let mut statuses = Vec::new();
    for i in 0..6 {
        let phone = format!("1381234560{i}");
        let res = common::leave_phone(&bases[i % 3], &token, "王小姐", &phone).await;
        statuses.push(res.status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 200, 200, 200, 429]);
}

/// The burst filter counts across processes too (the `recent_opens` table
/// they share): fresh page views of one share from one network, sent
/// round-robin to three processes, become views only up to the one limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_counts_across_processes() {
    use warmlead_core::botfilter::BURST_MAX_PER_NETWORK;
    let (w, _servers, bases) = three_processes().await;
    let partner = activate(&w.ts, w.partner_a1.id).await;
    let token = partner.sign(2, w.item.id, Channel::Moments);
    let http = reqwest::Client::new();
    let sent = 2 * BURST_MAX_PER_NETWORK as usize;
    for i in 0..sent {
        let res = http
            .post(format!("{}/t/beacon", bases[i % 3]))
            .body(json!({"t": token, "pv": format!("pv-spread-{i:04}"), "dwell_ms": 0}).to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
    }
    let views = w.ts.admin().visits_for_share(&token).await.unwrap().len();
    assert_eq!(
        views, BURST_MAX_PER_NETWORK as usize,
        "{sent} fresh views through three processes"
    );
}

/// Wrong activation codes from one address, sent round-robin to three
/// processes, pause that address at the same count as one process would;
/// then a correct code is refused on every process too.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn wrong_activation_codes_count_across_processes() {
    use warmlead_core::api::{ActivateRequest, PATH_ACTIVATE};
    use warmlead_core::limits::MAX_ACTIVATION_FAILURES_PER_ADDRESS as LIMIT;
    let (w, _servers, bases) = three_processes().await;
    let http = reqwest::Client::new();
    let send = |base: &str, code: String| {
        http.post(format!("{base}{PATH_ACTIVATE}"))
            .json(&ActivateRequest {
                code,
                device_name: "猜测".into(),
            })
            .send()
    };
    let mut statuses = Vec::new();
    for i in 0..LIMIT + 3 {
        let res = send(&bases[i % 3], format!("ZZZ-ZZZ-{i:03}"))
            .await
            .unwrap();
        statuses.push(res.status().as_u16());
    }
    let mut want = vec![401; LIMIT];
    want.extend([429; 3]);
    assert_eq!(statuses, want);
    let code =
        w.ts.admin()
            .create_activation_code(w.rep_a.id)
            .await
            .unwrap();
    for base in &bases {
        let res = send(base, code.clone()).await.unwrap();
        assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS, "{base}");
        assert!(res.headers().contains_key("retry-after"), "{base}");
    }
}

/// Every stream of a device ends within seconds of its revocation or its
/// user's switch-off, whichever process it was opened on and whichever
/// process took the manager's request.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn streams_end_on_every_process_when_their_device_or_user_is_off() {
    let (w, _servers, bases) = three_processes().await;
    let manager = activate(&w.ts, w.manager.id).await;
    let partner = activate(&w.ts, w.partner_a1.id).await;
    let rep = activate(&w.ts, w.rep_a.id).await;
    let mut streams = Vec::new();
    for d in [&partner, &rep] {
        let mut mine = Vec::new();
        for base in &bases {
            let mut es = via(d, base).get(PATH_EVENTS).send().await.unwrap();
            assert_eq!(es.status(), StatusCode::OK);
            let mut buf = String::new();
            next_event(&mut es, &mut buf, |e| e.stream == "radar").await;
            mine.push(es);
        }
        streams.push(mine);
    }
    let rep_streams = streams.pop().unwrap();
    let partner_streams = streams.pop().unwrap();

    // Through the second process: the partner's device is revoked.
    let res = via(&manager, &bases[1])
        .post(&format!("/api/v1/devices/{}/revoke", partner.id()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let ends = partner_streams
        .into_iter()
        .enumerate()
        .map(|(k, mut es)| async move {
            common::stream_ends(
                &mut es,
                &format!("revoked device's stream on process {k}"),
                8,
            )
            .await
        });
    futures_util::future::join_all(ends).await;

    // Through the third process: the rep is switched off.
    let res = via(&manager, &bases[2])
        .post(&format!("/api/v1/team/{}/deactivate", w.rep_a.id))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let ends = rep_streams
        .into_iter()
        .enumerate()
        .map(|(k, mut es)| async move {
            common::stream_ends(
                &mut es,
                &format!("switched-off rep's stream on process {k}"),
                8,
            )
            .await
        });
    futures_util::future::join_all(ends).await;
}
