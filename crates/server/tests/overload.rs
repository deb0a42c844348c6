//! A measurement, not a check run by default: how many views are lost when
//! twice what the server can write is offered for 10 s. Run it on a quiet
//! machine, release build:
//!
//! ```text
//! cargo test --release -p warmlead-server --test overload -- --ignored --nocapture
//! WARMLEAD_BENCH_DATABASE_URL=postgres://... cargo test --release -p warmlead-server --test overload -- --ignored --nocapture
//! ```
//!
//! The server writes to a fresh SQLite file, or to the empty PostgreSQL
//! database named by `WARMLEAD_BENCH_DATABASE_URL`.
//!
//! First the write capacity: `WORKERS` closed-loop clients post view
//! beacons for `CAPACITY_SECS` (each beacon a new page view of its own
//! share, the heaviest case: share row and its change-log row, visit,
//! `view` signal, the visit's two change-log rows; since issue 9 no
//! page-view row, the visit row is its first page load) and the 204s per
//! second are counted. Then the
//! offer: beacons at twice that rate, open loop (like browsers: each sent on
//! time whatever the others' answers), for `OFFER_SECS`; each beacon is
//! lost unless answered 204 (503 and 429 are lost too: sendBeacon never
//! retries). Finally the stored views must equal the 204s.
//!
//! On SQLite the capacity is first measured on the schema before migration
//! 0015 (its two dropped indexes put back) and on the latest, alternately,
//! `SCHEMA_ROUNDS` times each on a fresh file: the before/after of the same
//! run. Each run also reports the writer's own time per event, summed from
//! the server's `tracking batch written` log lines (the writer alone: what
//! it would do with the HTTP side and the generator free).
mod common;
mod process;

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use process::{prepare, spawn_server, Setup, WriterLog};

/// A database URL to measure instead of a fresh SQLite file (an empty
/// PostgreSQL database).
const DATABASE_URL_ENV: &str = "WARMLEAD_BENCH_DATABASE_URL";
/// Closed-loop clients of the capacity phase; `WARMLEAD_BENCH_WORKERS`
/// measures with more (each waits for its commit, so with group commit the
/// batch, and so the capacity, is at most this many beacons per commit).
const WORKERS: u64 = 64;

fn workers() -> u64 {
    std::env::var("WARMLEAD_BENCH_WORKERS")
        .ok()
        .and_then(|w| w.parse().ok())
        .unwrap_or(WORKERS)
}
/// The offer comes from this many networks (source addresses 127.0.N.1, each
/// its own /24): many browsers, not one client the per-address cap refuses.
const NETWORKS: u8 = 64;
const CAPACITY_SECS: u64 = 5;
/// Before/after pairs of capacity runs on SQLite.
const SCHEMA_ROUNDS: usize = 2;
/// The indexes migration 0015 dropped: created again, they give the schema
/// before it.
const DROPPED_BY_0015: [&str; 2] = [
    "CREATE INDEX visits_share ON visits(share_token)",
    "CREATE INDEX visits_root ON visits(root_token)",
];
const OFFER_SECS: u64 = 10;
/// Beacons are sent in this many slices a second.
const TICKS_PER_SEC: u64 = 100;

#[derive(Default)]
struct Answers {
    ok: AtomicI64,
    busy: AtomicI64,
    limited: AtomicI64,
    other: AtomicI64,
    /// No answer: could not connect (the listen backlog overflowed), or timed out, or else.
    failed: AtomicI64,
    connect: AtomicI64,
    timeout: AtomicI64,
}

async fn post(http: &reqwest::Client, base: &str, setup: &Setup, share_no: u64, a: &Answers) {
    let body = serde_json::json!({
        "t": setup.token(share_no), "pv": format!("pv-{share_no:010}"), "dwell_ms": 0
    });
    let res = http
        .post(format!("{base}/t/beacon"))
        .header("user-agent", "Mozilla/5.0 (iPhone) MicroMessenger/8.0")
        .body(body.to_string())
        .timeout(Duration::from_secs(60))
        .send()
        .await;
    let counter = match res.map(|r| r.status().as_u16()) {
        Ok(204) => &a.ok,
        Ok(503) => &a.busy,
        Ok(429) => &a.limited,
        Ok(_) => &a.other,
        Err(e) if e.is_connect() => &a.connect,
        Err(e) if e.is_timeout() => &a.timeout,
        Err(_) => &a.failed,
    };
    counter.fetch_add(1, Ordering::Relaxed);
}

/// A client whose requests come from 127.0.`n`.1.
fn client_from(n: u8) -> reqwest::Client {
    let ip = std::net::IpAddr::V4(std::net::Ipv4Addr::new(127, 0, n, 1));
    reqwest::Client::builder()
        .local_address(ip)
        .build()
        .unwrap()
}

/// 204s per second with closed-loop clients, and how many 204s.
async fn capacity(base: &str, setup: &Arc<Setup>, next: &Arc<AtomicU64>) -> (f64, i64) {
    let answers = Arc::new(Answers::default());
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let workers: Vec<_> = (0..workers())
        .map(|w| {
            let (base, setup, next) = (base.to_string(), setup.clone(), next.clone());
            let (answers, stop) = (answers.clone(), stop.clone());
            tokio::spawn(async move {
                let http = client_from((w % u64::from(NETWORKS)) as u8 + 1);
                while !stop.load(Ordering::Relaxed) {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    post(&http, &base, &setup, n, &answers).await;
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(CAPACITY_SECS)).await;
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.await.unwrap();
    }
    let ok = answers.ok.load(Ordering::Relaxed);
    (ok as f64 / started.elapsed().as_secs_f64(), ok)
}

/// A fresh SQLite file, prepared, on the schema before 0015 or the latest;
/// its server logs the writer's batches to a file in `dir`.
async fn fresh_sqlite(dir: &std::path::Path, before_0015: bool) -> (String, Setup) {
    let db_url = format!("sqlite://{}", dir.join("server.db").display());
    let setup = prepare(&db_url).await;
    if before_0015 {
        let sql = warmlead_server::testing::TestSql::new(&db_url);
        for index in DROPPED_BY_0015 {
            sql.execute(index).await;
        }
    }
    // Read by `process::spawn_server` (this test's server logs only).
    std::env::set_var("WARMLEAD_BENCH_SERVER_LOG", dir.join("server.log"));
    (db_url, setup)
}

/// The capacity of one schema on a fresh file, and its writer's log.
async fn capacity_of(before_0015: bool) -> (f64, WriterLog) {
    let dir = tempfile::tempdir().unwrap();
    let (db_url, setup) = fresh_sqlite(dir.path(), before_0015).await;
    let (mut server, base) = spawn_server(&db_url).await;
    let (cap, _) = capacity(&base, &Arc::new(setup), &Arc::new(AtomicU64::new(1))).await;
    server.kill();
    (cap, WriterLog::read(&dir.path().join("server.log")))
}

/// Capacity before and after migration 0015, alternately on fresh files.
async fn compare_schemas() {
    let mut before = Vec::new();
    let mut after = Vec::new();
    for round in 1..=SCHEMA_ROUNDS {
        for before_0015 in [true, false] {
            let (cap, log) = capacity_of(before_0015).await;
            let name = if before_0015 {
                "before 0015"
            } else {
                "after 0015"
            };
            eprintln!(
                "round {round}, {name}: capacity {cap:.0} views/s; {}",
                log.describe()
            );
            if before_0015 { &mut before } else { &mut after }.push(cap);
        }
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    eprintln!(
        "capacity before 0015 {:.0} views/s, after {:.0} (mean of {SCHEMA_ROUNDS}): ratio after/before {:.2}",
        mean(&before),
        mean(&after),
        mean(&after) / mean(&before)
    );
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "a measurement: run with --release --ignored --nocapture"]
async fn views_lost_at_twice_the_write_capacity() {
    let dir = tempfile::tempdir().unwrap();
    let (db_url, setup) = match std::env::var(DATABASE_URL_ENV) {
        Ok(url) => {
            let setup = prepare(&url).await;
            (url, setup)
        }
        Err(_) => {
            compare_schemas().await;
            fresh_sqlite(dir.path(), false).await
        }
    };
    let setup = Arc::new(setup);
    let (mut server, base) = spawn_server(&db_url).await;
    let next = Arc::new(AtomicU64::new(1));
    let (cap, cap_ok) = capacity(&base, &setup, &next).await;
    let rate = (2.0 * cap).round() as u64;
    let per_tick = rate / TICKS_PER_SEC;
    eprintln!(
        "capacity {cap:.0} views/s (closed loop, {} clients); offering {rate}/s for {OFFER_SECS} s",
        workers()
    );

    let answers = Arc::new(Answers::default());
    let clients: Vec<reqwest::Client> = (1..=NETWORKS).map(client_from).collect();
    let mut sent = Vec::new();
    let mut tick = tokio::time::interval(Duration::from_millis(1000 / TICKS_PER_SEC));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let started = Instant::now();
    for _ in 0..OFFER_SECS * TICKS_PER_SEC {
        tick.tick().await;
        for _ in 0..per_tick {
            let n = next.fetch_add(1, Ordering::Relaxed);
            let http = clients[(n % u64::from(NETWORKS)) as usize].clone();
            let (base, setup, a) = (base.clone(), setup.clone(), answers.clone());
            sent.push(tokio::spawn(async move {
                post(&http, &base, &setup, n, &a).await
            }));
        }
    }
    let offered_for = started.elapsed();
    let offered = sent.len() as i64;
    for s in sent {
        s.await.unwrap();
    }
    let drained = started.elapsed();
    let get = |c: &AtomicI64| c.load(Ordering::Relaxed);
    let ok = get(&answers.ok);
    let lost = offered - ok;
    eprintln!(
        "offered {offered} in {:.1} s; answered 204: {ok}, 503: {}, 429: {}, other: {}, \
         no answer: {} connect, {} timeout, {} else; \
         lost {lost} = {:.2} %; last answer after {:.1} s",
        offered_for.as_secs_f64(),
        get(&answers.busy),
        get(&answers.limited),
        get(&answers.other),
        get(&answers.connect),
        get(&answers.timeout),
        get(&answers.failed),
        100.0 * lost as f64 / offered as f64,
        drained.as_secs_f64()
    );
    server.kill();
    eprintln!(
        "both phases, {}",
        WriterLog::read(&dir.path().join("server.log")).describe()
    );
    let sql = warmlead_server::testing::TestSql::new(&db_url);
    let views = sql
        .i64("SELECT COUNT(*) FROM signals WHERE kind = 'view'")
        .await;
    let mut rows = 0;
    for table in ["shares", "visits", "page_views", "signals", "changes"] {
        let n = sql.i64(&format!("SELECT COUNT(*) FROM {table}")).await;
        eprintln!("{table}: {n} rows");
        rows += n;
    }
    eprintln!(
        "rows written per stored view: {:.2}",
        rows as f64 / views.max(1) as f64
    );
    // Every 204 of both phases is a stored view.
    eprintln!(
        "stored views {views}; answered 204 in both phases {}",
        cap_ok + ok
    );
    assert!(views >= cap_ok + ok, "acknowledged views missing");
}
