//! Sync at scale (issue 9; figures in docs/benchmarks.md, "Sync at scale"):
//! a rep with 10,000 partners, 100,000 leads and 1,000,000 signals, seeded
//! in bulk (`warmlead_server::testing::seed_rep_world`), synced by the real
//! sync client into a real store file from a real server on a loopback port.
//!
//! One ignored test per measurement, on the backend `WARMLEAD_TEST_BACKEND`
//! names (sqlite by default; postgres starts a throwaway cluster):
//!
//! ```text
//! cargo test --release -p warmlead-tests --test sync_scale -- --ignored --nocapture initial_download
//! cargo test --release -p warmlead-tests --test sync_scale -- --ignored --nocapture incremental_pull
//! cargo test --release -p warmlead-tests --test sync_scale -- --ignored --nocapture offline_push
//! ```
//!
//! Each runs the same steps on a world 100 times smaller first (100
//! partners, 1,000 leads, 10,000 signals) and prints both and their ratio:
//! the baseline of the same run on the same noisy machine. The one test
//! that is not ignored checks the seed itself on a small world.

use std::time::{Duration, Instant};

use warmlead_core::lead::ManFlags;
use warmlead_server::testing::{seed_rep_world, Backend, Seeded, WorldSize};
use warmlead_sync::{sync_once, SyncReport};
use warmlead_tests::{now_ms, Device, World};

const LARGE: WorldSize = WorldSize {
    partners: 10_000,
    leads: 100_000,
    signals: 1_000_000,
};
const SMALL: WorldSize = WorldSize {
    partners: 100,
    leads: 1_000,
    signals: 10_000,
};
/// New changes the rep sees per incremental pull: 10 leads (the rep's copy
/// of each) and 90 signals.
const INCREMENT: WorldSize = WorldSize {
    partners: 0,
    leads: 10,
    signals: 90,
};
const INCREMENTAL_ROUNDS: usize = 5;
const OFFLINE_MUTATIONS: usize = 1_000;

/// A seeded world and its rep's activated (not yet synced) device.
struct Scale {
    world: World,
    device: Device,
    seeded: Seeded,
    seed_time: Duration,
}

async fn seeded(size: WorldSize) -> Scale {
    let world = World::start(1).await;
    let started = Instant::now();
    let seeded = seed_rep_world(&world.admin(), &world.rep, world.items[0].id, size)
        .await
        .expect("seed the rep's world");
    let seed_time = started.elapsed();
    let device = world.device(&world.rep, "rep").await;
    Scale {
        world,
        device,
        seeded,
        seed_time,
    }
}

/// Rows of a table in the device's store.
fn store_rows(device: &Device, table: &str) -> i64 {
    let conn = rusqlite::Connection::open(&device.path).expect("open the store file");
    conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
        .expect("count")
}

async fn full_sync(device: &Device) -> (SyncReport, Duration) {
    let started = Instant::now();
    let report = sync_once(&device.path).await.expect("sync");
    (report, started.elapsed())
}

fn backend() -> &'static str {
    match Backend::selected() {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn print_ratio(what: &str, small: Duration, large: Duration) {
    println!(
        "[{}] {what}: small {:.1} ms, large {:.1} ms, ratio large/small {:.1}",
        backend(),
        ms(small),
        ms(large),
        large.as_secs_f64() / small.as_secs_f64()
    );
}

/// The seed is what it claims: a rep's device syncing it gets every
/// partner, lead and signal, and the server holds the rows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seeded_world_syncs_whole_to_the_reps_device() {
    let size = WorldSize {
        partners: 7,
        leads: 30,
        signals: 200,
    };
    let s = seeded(size).await;
    assert_eq!(s.seeded.partner_ids.len(), 7);
    let (report, _) = full_sync(&s.device).await;
    assert_eq!(report.radar_pulled, 30 + 200, "{report:?}");
    assert_eq!(store_rows(&s.device, "leads"), 30);
    assert_eq!(store_rows(&s.device, "signals"), 200);
    let partners = s
        .world
        .sql()
        .i64(&format!(
            "SELECT count(*) FROM users WHERE role = 'partner' AND rep_id = {}",
            s.world.rep.id
        ))
        .await;
    // The world's own partner Zhang and the seeded ones.
    assert_eq!(partners, 8);
    let in_store = s.device.store().user_count().expect("users in the store");
    assert!(in_store >= 8, "{in_store} users in the rep's store");
    // A second seed adds leads on the existing partners' shares.
    seed_rep_world(
        &s.world.admin(),
        &s.world.rep,
        s.world.items[0].id,
        INCREMENT,
    )
    .await
    .expect("increment");
    let (report, _) = full_sync(&s.device).await;
    assert_eq!(report.radar_pulled, 100, "{report:?}");
    assert_eq!(store_rows(&s.device, "signals"), 290);
    // The other rep sees none of it.
    let other = s.world.device(&s.world.other_rep, "other").await;
    let (report, _) = full_sync(&other).await;
    assert_eq!(report.radar_pulled, 0, "{report:?}");
}

/// Initial download of the whole world into a fresh store.
async fn initial(size: WorldSize) -> Duration {
    let s = seeded(size).await;
    let (report, took) = full_sync(&s.device).await;
    assert_eq!(report.radar_pulled, size.leads + size.signals, "{report:?}");
    assert_eq!(store_rows(&s.device, "leads"), size.leads as i64);
    assert_eq!(store_rows(&s.device, "signals"), size.signals as i64);
    println!(
        "[{}] {size:?}: seeded in {:.1} s; initial download {:.2} s ({} + {} changes): \
         waiting for pages {:.2} s, applying them {:.2} s",
        backend(),
        s.seed_time.as_secs_f64(),
        took.as_secs_f64(),
        report.pulled,
        report.radar_pulled,
        report.waited_for_pages.as_secs_f64(),
        report.applying.as_secs_f64(),
    );
    let fetched = fetch_radar_only(&s.device).await;
    println!(
        "[{}] {size:?}: the radar stream again, fetched and parsed without applying: {:.2} s",
        backend(),
        fetched.as_secs_f64()
    );
    took
}

/// Fetches every page of the device's radar stream from 0 (the server's
/// half and the client's parsing, one page after the other), applying none.
async fn fetch_radar_only(device: &Device) -> Duration {
    let creds = device.store().credentials().unwrap().expect("activated");
    let client = warmlead_sync::Client::new(&creds.server_url, &creds.device_token).unwrap();
    let started = Instant::now();
    let mut after = 0;
    loop {
        let page = client
            .pull_radar(after, warmlead_core::sync::MAX_PULL_LIMIT)
            .await
            .expect("radar page");
        after = page.cursor;
        if !page.has_more {
            return started.elapsed();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run in release with --ignored --nocapture"]
async fn initial_download() {
    let small = initial(SMALL).await;
    let large = initial(LARGE).await;
    print_ratio("initial download", small, large);
}

/// The median over rounds of: 100 new changes on the server, then one sync.
async fn incremental(size: WorldSize) -> Duration {
    let s = seeded(size).await;
    full_sync(&s.device).await;
    let mut times = Vec::new();
    for _ in 0..INCREMENTAL_ROUNDS {
        seed_rep_world(
            &s.world.admin(),
            &s.world.rep,
            s.world.items[0].id,
            INCREMENT,
        )
        .await
        .expect("seed 100 changes");
        let (report, took) = full_sync(&s.device).await;
        assert_eq!(report.radar_pulled, 100, "{report:?}");
        times.push(took);
    }
    times.sort();
    println!(
        "[{}] {size:?}: incremental pull of 100 changes, rounds {:?}",
        backend(),
        times.iter().map(|t| ms(*t).round()).collect::<Vec<_>>()
    );
    times[times.len() / 2]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run in release with --ignored --nocapture"]
async fn incremental_pull() {
    let small = incremental(SMALL).await;
    let large = incremental(LARGE).await;
    print_ratio("incremental pull of 100 changes (median)", small, large);
}

/// 1,000 MAN-flag changes made offline in the store, then a sync: the time
/// until the outbox is empty (watched from another connection), and the
/// whole sync (which then pulls the regraded leads back).
async fn offline(size: WorldSize) -> Duration {
    let s = seeded(size).await;
    full_sync(&s.device).await;
    let store = s.device.store();
    let man = ManFlags {
        money: true,
        authority: false,
        need: true,
    };
    for id in s.seeded.lead_ids.iter().take(OFFLINE_MUTATIONS) {
        store
            .set_man_flags(*id, man, now_ms())
            .expect("offline change");
    }
    assert_eq!(store.pending_count().unwrap(), OFFLINE_MUTATIONS as i64);
    let path = s.device.path.clone();
    let started = Instant::now();
    let sync = tokio::spawn(async move { sync_once(&path).await });
    let deadline = started + Duration::from_secs(300);
    while store.pending_count().unwrap() > 0 {
        assert!(Instant::now() < deadline, "the outbox did not empty");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let emptied = started.elapsed();
    let report = sync.await.expect("join").expect("sync");
    let whole = started.elapsed();
    assert_eq!(report.pushed, OFFLINE_MUTATIONS, "{report:?}");
    assert_eq!(report.rejected, 0, "{report:?}");
    println!(
        "[{}] {size:?}: outbox of {OFFLINE_MUTATIONS} empty after {:.0} ms; whole sync {:.0} ms ({} changes pulled back)",
        backend(),
        ms(emptied),
        ms(whole),
        report.radar_pulled
    );
    emptied
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run in release with --ignored --nocapture"]
async fn offline_push() {
    let small = offline(SMALL).await;
    let large = offline(LARGE).await;
    print_ratio("push of 1,000 offline mutations", small, large);
}
