//! The real sync client against the real server: loopback port 0, real
//! SQLite files on both sides, nothing mocked.

use warmlead_core::api::{Beacon, PATH_BEACON, PATH_PUSH};
use warmlead_core::app::{BriefcaseQuery, SyncState};
use warmlead_core::domain::Channel;
use warmlead_core::error::ApiError;
use warmlead_core::sync::{Outcome, PushRequest, PushResponse};
use warmlead_core::ErrorCode;
use warmlead_server::testing::Backend;
use warmlead_sync::{sync_once, sync_once_with, SyncError, SyncOptions};
use warmlead_tests::{backup_store, closed_url, now_ms, restore_store, World};

fn ids(store: &warmlead_store::Store) -> Vec<i64> {
    store
        .briefcase(&BriefcaseQuery::default())
        .unwrap()
        .into_iter()
        .map(|b| b.item.id)
        .collect()
}

/// 1. Shares made while the server is unreachable stay in the outbox (also
/// across a restart of the app) and are applied at the next sync.
#[tokio::test]
async fn offline_edits_are_pushed_later() {
    let w = World::start(3).await;
    let dev = w.device(&w.partner, "zhang-laptop").await;
    sync_once(&dev.path).await.unwrap();
    assert_eq!(ids(&dev.store()).len(), 3);

    dev.set_server_url(&closed_url());
    let store = dev.store();
    let a = store
        .create_share(w.items[0].id, Channel::Moments, now_ms())
        .unwrap();
    let b = store
        .create_share(w.items[1].id, Channel::Direct, now_ms())
        .unwrap();
    store.rename_self("张三丰").unwrap();
    assert!(store
        .share_url(&a)
        .unwrap()
        .starts_with(&format!("{}/s/", w.url())));
    drop(store);

    let err = sync_once(&dev.path).await.unwrap_err();
    assert!(matches!(err, SyncError::Offline(_)), "{err:?}");
    assert_eq!(err.code(), ErrorCode::Offline);
    let store = dev.store(); // the app restarted
    assert_eq!(store.pending_count().unwrap(), 3);
    assert!(store.sync_status(false).unwrap().last_error.is_some());
    assert!(!w.admin().share_exists(&a.token).await.unwrap());

    dev.set_server_url(&w.url());
    let report = sync_once(&dev.path).await.unwrap();
    assert_eq!((report.pushed, report.rejected), (3, 0));
    assert_eq!(store.pending_count().unwrap(), 0);
    assert!(w.admin().share_exists(&a.token).await.unwrap());
    assert!(w.admin().share_exists(&b.token).await.unwrap());
    assert!(!store.share_pending(&a.token).unwrap());
    assert_eq!(store.my_shares().unwrap().len(), 2);
    let status = store.sync_status(true).unwrap();
    assert_eq!(status.state, SyncState::Synced);
    assert!(status.last_synced_at_ms.is_some());
    assert_eq!(status.last_error, None);
    let me = w
        .admin()
        .find_user(&w.partner.id.to_string())
        .await
        .unwrap();
    assert_eq!(me.name, "张三丰");
}

/// 2. Sending the very same push twice applies it once and answers the same.
#[tokio::test]
async fn the_same_push_twice_applies_once() {
    let w = World::start(1).await;
    let dev = w.device(&w.partner, "zhang").await;
    sync_once(&dev.path).await.unwrap();
    let store = dev.store();
    let share = store
        .create_share(w.items[0].id, Channel::Group, now_ms())
        .unwrap();
    let req = PushRequest {
        client_id: dev.activation.device_id.to_string(),
        mutations: store.pending_mutations(10).unwrap(),
    };
    let http = reqwest::Client::new();
    let send = || async {
        let resp = http
            .post(format!("{}{PATH_PUSH}", w.url()))
            .bearer_auth(&dev.activation.device_token)
            .json(&req)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        resp.json::<PushResponse>().await.unwrap()
    };
    let first = send().await;
    let changes_after_first = w
        .server_count("SELECT COUNT(*) FROM changes WHERE ?1 <> ''", "x")
        .await;
    let second = send().await;
    assert_eq!(first, second);
    assert_eq!(first.outcomes.len(), 1);
    assert_eq!(first.outcomes[0].outcome, Outcome::Applied);
    assert_eq!(first.last_seq, 1);
    assert_eq!(
        w.server_count("SELECT COUNT(*) FROM shares WHERE token = ?1", &share.token)
            .await,
        1
    );
    assert_eq!(
        w.server_count(
            "SELECT COUNT(*) FROM mutation_results WHERE client_id = ?1",
            &req.client_id
        )
        .await,
        1
    );
    assert_eq!(
        w.server_count("SELECT COUNT(*) FROM changes WHERE ?1 <> ''", "x")
            .await,
        changes_after_first,
        "a replay logs no new change"
    );
    let recorded = store.record_outcomes(&second).unwrap();
    assert_eq!(recorded.applied, 1);
    assert_eq!(store.pending_count().unwrap(), 0);
}

/// 3. A push that skips a seq is refused with 409 and nothing of it is applied.
#[tokio::test]
async fn a_gap_is_refused() {
    let w = World::start(2).await;
    let dev = w.device(&w.partner, "zhang").await;
    sync_once(&dev.path).await.unwrap();
    let store = dev.store();
    store
        .create_share(w.items[0].id, Channel::Moments, now_ms())
        .unwrap();
    let second = store
        .create_share(w.items[1].id, Channel::Moments, now_ms())
        .unwrap();
    let mut mutations = store.pending_mutations(10).unwrap();
    let only_seq_2 = mutations.split_off(1);
    assert_eq!(only_seq_2[0].seq, 2);
    let req = PushRequest {
        client_id: dev.activation.device_id.to_string(),
        mutations: only_seq_2,
    };

    // Over raw HTTP: 409 with {code: "conflict"}.
    let resp = reqwest::Client::new()
        .post(format!("{}{PATH_PUSH}", w.url()))
        .bearer_auth(&dev.activation.device_token)
        .json(&req)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 409);
    let body: ApiError = resp.json().await.unwrap();
    assert_eq!(body.code, ErrorCode::Conflict);

    // Through the client: a gap error.
    let err = dev.client(&w.url()).push(&req).await.unwrap_err();
    assert!(matches!(err, SyncError::Gap(_)), "{err:?}");
    assert_eq!(err.code(), ErrorCode::Conflict);
    assert!(!w.admin().share_exists(&second.token).await.unwrap());
    assert_eq!(
        w.server_count(
            "SELECT COUNT(*) FROM client_state WHERE client_id = ?1 AND last_seq > 0",
            &req.client_id
        )
        .await,
        0
    );

    // The outbox in order goes through.
    let report = sync_once(&dev.path).await.unwrap();
    assert_eq!(report.pushed, 2);
    assert!(w.admin().share_exists(&second.token).await.unwrap());
}

/// 4. A partner's delete of a content item is rejected, shown to the user,
/// and does not block the mutations queued after it; a manager's delete works.
#[tokio::test]
async fn a_forbidden_mutation_is_rejected_without_blocking_the_queue() {
    let w = World::start(3).await;
    let dev = w.device(&w.partner, "zhang").await;
    let boss = w.device(&w.manager, "boss").await;
    sync_once(&dev.path).await.unwrap();
    sync_once(&boss.path).await.unwrap();
    let store = dev.store();
    let (victim, shared, removed) = (w.items[0].id, w.items[1].id, w.items[2].id);

    store.delete_content_item(victim).unwrap();
    let share = store
        .create_share(shared, Channel::Direct, now_ms())
        .unwrap();
    store.rename_self("张小三").unwrap();
    assert!(!ids(&store).contains(&victim));

    let report = sync_once(&dev.path).await.unwrap();
    assert_eq!((report.pushed, report.rejected), (2, 1));
    let rejected = store.rejected().unwrap();
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0].name, "delete_content_item");
    assert_eq!(rejected[0].code, ErrorCode::Forbidden);
    assert!(!rejected[0].message.is_empty());
    assert_eq!(store.sync_status(true).unwrap().state, SyncState::Attention);
    assert!(
        ids(&store).contains(&victim),
        "the refused delete is undone"
    );
    assert!(w.admin().share_exists(&share.token).await.unwrap());
    assert_eq!(store.pending_count().unwrap(), 0);

    // The manager may delete; the tombstone reaches the partner.
    boss.store().delete_content_item(removed).unwrap();
    let report = sync_once(&boss.path).await.unwrap();
    assert_eq!((report.pushed, report.rejected), (1, 0));
    sync_once(&dev.path).await.unwrap();
    assert!(!ids(&store).contains(&removed));
    assert!(store.content_item(removed).unwrap().is_none());
    assert!(!ids(&boss.store()).contains(&removed));
}

/// 5. A pull interrupted between pages resumes from the stored cursor: every
/// change is applied once and the result equals a fresh full pull.
#[tokio::test]
async fn pull_resumes_from_the_cursor_after_an_interrupted_page() {
    let w = World::start(12).await;
    let dev = w.device(&w.partner, "zhang").await;
    let client = dev.client(&w.url());

    let first = client.pull(0, 4).await.unwrap();
    assert_eq!(first.changes.len(), 4);
    assert!(first.has_more);
    {
        let store = dev.store();
        store.apply_pull(&first).unwrap();
        // The second page arrives, then the app dies before applying it.
        let second = client.pull(first.cursor, 4).await.unwrap();
        assert!(!second.changes.is_empty());
        drop(second);
        drop(store);
    }

    let store = dev.store();
    assert_eq!(store.cursor().unwrap().1, first.cursor);
    let report = sync_once_with(
        &dev.path,
        SyncOptions {
            pull_limit: 4,
            ..SyncOptions::default()
        },
    )
    .await
    .unwrap();

    let fresh = w.device(&w.partner, "zhang-second").await;
    let full = sync_once(&fresh.path).await.unwrap();
    assert_eq!(
        first.changes.len() + report.pulled,
        full.pulled,
        "each change once"
    );
    let fresh_store = fresh.store();
    assert_eq!(ids(&store), ids(&fresh_store));
    assert_eq!(ids(&store).len(), 12);
    assert_eq!(store.cursor().unwrap(), fresh_store.cursor().unwrap());
    assert_eq!(
        store.session().unwrap().unwrap().user,
        fresh_store.session().unwrap().unwrap().user
    );
}

/// 6. A partner shares offline and syncs; a friend opens the link and stays;
/// the rep's radar shows it with the dwell; another rep's partner sees nothing.
#[tokio::test]
async fn two_clients_converge() {
    let w = World::start(2).await;
    let partner = w.device(&w.partner, "zhang").await;
    let rep = w.device(&w.rep, "li").await;
    let stranger = w.device(&w.other_partner, "zhao").await;
    for d in [&partner, &rep, &stranger] {
        sync_once(&d.path).await.unwrap();
    }

    partner.set_server_url(&closed_url());
    let store = partner.store();
    let share = store
        .create_share(w.items[1].id, Channel::Group, now_ms())
        .unwrap();
    let url = store.share_url(&share).unwrap();
    assert!(sync_once(&partner.path).await.is_err());
    partner.set_server_url(&w.url());
    assert_eq!(sync_once(&partner.path).await.unwrap().pushed, 1);

    // The friend's phone: open the page, report dwell twice.
    let phone = reqwest::Client::new();
    let page = phone.get(&url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    for dwell_ms in [1_500, 3_200] {
        let beacon = Beacon {
            t: share.token.clone(),
            pv: "pv-friend-0001".into(),
            dwell_ms,
        };
        let resp = phone
            .post(format!("{}{PATH_BEACON}", w.url()))
            .body(serde_json::to_string(&beacon).unwrap())
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success(), "{}", resp.status());
    }
    let visits = w.admin().visits_for_share(&share.token).await.unwrap();
    assert_eq!(visits.len(), 1);
    assert_eq!(visits[0].dwell_ms, 3_200);

    sync_once(&rep.path).await.unwrap();
    let radar = rep.store().radar(50).unwrap();
    assert_eq!(radar.len(), 1, "{radar:?}");
    assert_eq!(radar[0].item_id, w.items[1].id);
    assert_eq!(radar[0].item_title, w.items[1].title);
    assert_eq!(radar[0].partner_id, w.partner.id);
    assert_eq!(radar[0].partner_name, "张三");
    assert_eq!(radar[0].channel, Some(Channel::Group));
    assert_eq!(radar[0].dwell_ms, 3_200);

    sync_once(&partner.path).await.unwrap();
    assert_eq!(
        store.radar(50).unwrap().len(),
        1,
        "the partner sees views of their shares"
    );

    sync_once(&stranger.path).await.unwrap();
    let other = stranger.store();
    assert!(other.radar(50).unwrap().is_empty());
    assert!(other.my_shares().unwrap().is_empty());
    assert_eq!(
        ids(&other),
        ids(&rep.store()),
        "company content is shared; shares and views are not"
    );
}

/// 7. A new server epoch (a restored database) makes the client re-download
/// everything while its unsynced outbox survives and is pushed.
#[tokio::test]
async fn a_new_epoch_redownloads_and_keeps_the_outbox() {
    let mut w = World::start(3).await;
    let dev = w.device(&w.partner, "zhang").await;
    sync_once(&dev.path).await.unwrap();
    let store = dev.store();
    let before = ids(&store);
    let (old_epoch, _) = store.cursor().unwrap();
    let share = store
        .create_share(w.items[0].id, Channel::Moments, now_ms())
        .unwrap();

    w.stop_server().await;
    let sql = w.sql();
    // Only the SQL differs: text to bytes, per dialect.
    let bytes = if sql.is_postgres() {
        "convert_to('restored-epoch', 'UTF8')"
    } else {
        "CAST('restored-epoch' AS BLOB)"
    };
    sql.execute(&format!(
        "UPDATE meta SET value = {bytes} WHERE key = 'epoch'"
    ))
    .await;
    w.start_again().await;

    // The first page of the new epoch resets the local copy, not the outbox.
    let page = dev.client(&w.url()).pull(5, 100).await.unwrap();
    assert_eq!(page.epoch, "restored-epoch");
    assert_ne!(Some(page.epoch.clone()), old_epoch);
    let applied = store.apply_pull(&page).unwrap();
    assert!(applied.epoch_reset);
    assert!(ids(&store).is_empty());
    assert_eq!(store.cursor().unwrap(), (Some("restored-epoch".into()), 0));
    assert_eq!(store.pending_count().unwrap(), 1);
    assert_eq!(store.my_shares().unwrap().len(), 1);

    let report = sync_once(&dev.path).await.unwrap();
    assert_eq!(report.pushed, 1);
    assert!(w.admin().share_exists(&share.token).await.unwrap());
    assert_eq!(ids(&store), before);
    assert_eq!(store.my_shares().unwrap().len(), 1);
    assert_eq!(store.cursor().unwrap().0.as_deref(), Some("restored-epoch"));
}

/// The background engine: Offline while the server is away (the change kept),
/// Synced after a trigger once it is back, and sync_now reports what it did.
#[tokio::test]
async fn the_background_engine_reports_offline_then_synced() {
    let w = World::start(1).await;
    let dev = w.device(&w.partner, "zhang").await;
    dev.set_server_url(&closed_url());
    let handle =
        warmlead_sync::SyncEngine::spawn(dev.path.clone(), std::time::Duration::from_secs(3600));
    let mut status = handle.subscribe();
    let offline = status
        .wait_for(|s| s.state == SyncState::Offline)
        .await
        .unwrap()
        .clone();
    assert_eq!(offline.pending, 0);

    dev.set_server_url(&w.url());
    handle.trigger();
    let synced = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        status.wait_for(|s| s.state == SyncState::Synced),
    )
    .await
    .expect("synced within 10 s")
    .unwrap()
    .clone();
    assert!(synced.last_synced_at_ms.is_some());
    assert_eq!(ids(&dev.store()).len(), 1);

    let share = dev
        .store()
        .create_share(w.items[0].id, Channel::Direct, now_ms())
        .unwrap();
    let report = handle.sync_now().await.unwrap();
    assert_eq!(report.pushed, 1);
    assert!(w.admin().share_exists(&share.token).await.unwrap());
    assert_eq!(handle.status().pending, 0);
    assert_eq!(handle.status().state, SyncState::Synced);
}

/// Opens a share's link on a phone and stays a moment; the visit counts.
async fn open_and_stay(w: &World, url: &str, token: &str, pv: &str) {
    let phone = reqwest::Client::new();
    assert_eq!(phone.get(url).send().await.unwrap().status(), 200, "{url}");
    let beacon = Beacon {
        t: token.into(),
        pv: pv.into(),
        dwell_ms: 2_000,
    };
    let resp = phone
        .post(format!("{}{PATH_BEACON}", w.url()))
        .body(serde_json::to_string(&beacon).unwrap())
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{}", resp.status());
}

/// Every share resolves on the server, a phone's visit is credited to the
/// partner, and after a sync the device's own list is exactly these shares.
async fn all_resolve_and_are_credited(
    w: &World,
    dev_path: &std::path::Path,
    store: &warmlead_store::Store,
    shares: &[&warmlead_core::domain::Share],
    pv_prefix: &str,
) {
    for (i, share) in shares.iter().enumerate() {
        assert!(w.admin().share_exists(&share.token).await.unwrap());
        let url = store.share_url(share).unwrap();
        open_and_stay(w, &url, &share.token, &format!("{pv_prefix}-{i:04}")).await;
        let visits = w.admin().visits_for_share(&share.token).await.unwrap();
        assert_eq!(visits.len(), 1, "share {i} is credited");
        assert_eq!(visits[0].partner_id, w.partner.id);
    }
    sync_once(dev_path).await.unwrap();
    let mut mine: Vec<String> = store
        .my_shares()
        .unwrap()
        .into_iter()
        .map(|s| s.token)
        .collect();
    mine.sort();
    let mut all: Vec<String> = shares.iter().map(|s| s.token.clone()).collect();
    all.sort();
    assert_eq!(mine, all);
}

/// A cache restored from an older backup reuses outbox seqs and share
/// numbers the server already has. Its queue keeps syncing (no 500, no
/// gap, nothing rejected), and every share, old and new, resolves and is
/// credited to the partner.
#[tokio::test]
async fn a_cache_restored_from_a_backup_keeps_syncing() {
    let w = World::start(3).await;
    let dev = w.device(&w.partner, "zhang").await;
    sync_once(&dev.path).await.unwrap();
    let store = dev.store();
    let first = store
        .create_share(w.items[0].id, Channel::Moments, now_ms())
        .unwrap();
    sync_once(&dev.path).await.unwrap();
    let saved = w.dir.path().join("zhang-backup.sqlite");
    backup_store(&dev.path, &saved);

    let second = store
        .create_share(w.items[1].id, Channel::Direct, now_ms())
        .unwrap();
    assert_eq!(sync_once(&dev.path).await.unwrap().pushed, 1);
    drop(store);

    restore_store(&saved, &dev.path);
    let store = dev.store();
    assert_eq!(store.my_shares().unwrap().len(), 1, "the old copy is back");
    // Seq 2 and share number 2 are the server's already, from `second`.
    store.rename_self("张三丰").unwrap();
    let third = store
        .create_share(w.items[2].id, Channel::Group, now_ms())
        .unwrap();
    assert_eq!(
        third.share_no, second.share_no,
        "the restored copy reuses it"
    );

    let report = sync_once(&dev.path).await.unwrap();
    assert_eq!((report.pushed, report.rejected), (2, 0), "{report:?}");
    assert_eq!(store.pending_count().unwrap(), 0);
    assert!(store.rejected().unwrap().is_empty());
    let again = sync_once(&dev.path).await.unwrap();
    assert_eq!((again.pushed, again.rejected), (0, 0));

    // Later shares of the restored copy take numbers the server has not seen.
    let fourth = store
        .create_share(w.items[0].id, Channel::Group, now_ms())
        .unwrap();
    assert!(fourth.share_no > second.share_no, "{fourth:?}");
    assert_eq!(sync_once(&dev.path).await.unwrap().pushed, 1);

    let shares = [&first, &second, &third, &fourth];
    all_resolve_and_are_credited(&w, &dev.path, &store, &shares, "pv-restored").await;
    let me = w
        .admin()
        .find_user(&w.partner.id.to_string())
        .await
        .unwrap();
    assert_eq!(me.name, "张三丰");
}

/// The same cache copied to a second computer: both copies share with the
/// same numbers and push with the same seqs. Both keep syncing, nothing is
/// rejected, and every share of either resolves to the partner.
#[tokio::test]
async fn a_cache_copied_to_a_second_computer_keeps_both_syncing() {
    let w = World::start(3).await;
    let laptop = w.device(&w.partner, "zhang").await;
    sync_once(&laptop.path).await.unwrap();
    let desktop_path = w.dir.path().join("devices").join("zhang-desktop.sqlite");
    backup_store(&laptop.path, &desktop_path);

    let mut made = Vec::new();
    for round in 0..2 {
        for (path, item) in [(&laptop.path, 0), (&desktop_path, 1 + round)] {
            let store = warmlead_store::Store::open(path).unwrap();
            made.push(
                store
                    .create_share(w.items[item].id, Channel::Moments, now_ms())
                    .unwrap(),
            );
            store.rename_self(&format!("张三{round}")).unwrap();
            drop(store);
            let report = sync_once(path).await.unwrap();
            assert_eq!(
                (report.pushed, report.rejected),
                (2, 0),
                "{path:?} {report:?}"
            );
        }
    }
    for path in [&laptop.path, &desktop_path] {
        let store = warmlead_store::Store::open(path).unwrap();
        assert_eq!(store.pending_count().unwrap(), 0);
        assert!(store.rejected().unwrap().is_empty());
    }
    let laptop_store = laptop.store();
    for (i, share) in made.iter().enumerate() {
        let url = laptop_store.share_url(share).unwrap();
        open_and_stay(&w, &url, &share.token, &format!("pv-copied-{i:04}")).await;
        let visits = w.admin().visits_for_share(&share.token).await.unwrap();
        assert_eq!(visits.len(), 1, "share {i} is credited");
        assert_eq!(visits[0].partner_id, w.partner.id);
    }
}

/// The server is restored from a backup older than what a device pushed:
/// it answers with a new epoch and a `last_seq` below the device's. The
/// device keeps syncing (no gap, no 500): what it pushed after the backup
/// and the server lost is pushed again from its outbox, what it pushed
/// before is not applied twice, its pending change goes through, and every
/// share, old or new, resolves to the partner.
#[tokio::test]
async fn a_restored_server_backup_never_wedges_a_device() {
    // The file backup is SQLite's (PostgreSQL uses pg_dump).
    let mut w = World::start_on(Backend::Sqlite, 3).await;
    let dev = w.device(&w.partner, "zhang").await;
    sync_once(&dev.path).await.unwrap();
    let store = dev.store();
    let before = store
        .create_share(w.items[0].id, Channel::Moments, now_ms())
        .unwrap();
    assert_eq!(sync_once(&dev.path).await.unwrap().pushed, 1);
    let old_epoch = store.cursor().unwrap().0;
    let saved = w.dir.path().join("backups").join("server.db");
    warmlead_server::Admin::backup(&w.db_url, &saved, false).unwrap();

    // Applied by the server, then lost by the restore.
    let lost = store
        .create_share(w.items[1].id, Channel::Direct, now_ms())
        .unwrap();
    store.rename_self("张三丰").unwrap();
    assert_eq!(sync_once(&dev.path).await.unwrap().pushed, 2);
    // Made while the server is down for the restore.
    let pending = store
        .create_share(w.items[2].id, Channel::Group, now_ms())
        .unwrap();
    w.restart(|url| {
        warmlead_server::Admin::restore(url, &saved).unwrap();
    })
    .await;

    let report = sync_once(&dev.path).await.unwrap();
    assert_eq!((report.pushed, report.rejected), (3, 0), "{report:?}");
    assert_eq!(store.pending_count().unwrap(), 0);
    assert!(store.rejected().unwrap().is_empty());
    let new_epoch = store.cursor().unwrap().0;
    assert!(new_epoch.is_some() && new_epoch != old_epoch);
    let device = dev.activation.device_id.to_string();
    let results = "SELECT COUNT(*) FROM mutation_results WHERE client_id = ?1";
    assert_eq!(
        w.server_count(results, &device).await,
        4,
        "each change once"
    );
    let me = w
        .admin()
        .find_user(&w.partner.id.to_string())
        .await
        .unwrap();
    assert_eq!(me.name, "张三丰");

    // Later changes keep flowing, in the server's numbering.
    let later = store
        .create_share(w.items[0].id, Channel::Group, now_ms())
        .unwrap();
    assert_eq!(sync_once(&dev.path).await.unwrap().pushed, 1);
    let again = sync_once(&dev.path).await.unwrap();
    assert_eq!((again.pushed, again.rejected), (0, 0));

    let shares = [&before, &lost, &pending, &later];
    all_resolve_and_are_credited(&w, &dev.path, &store, &shares, "pv-srv-restore").await;
}

/// With nothing pending after the restore there is no gap to notice: the
/// new epoch alone makes the device push again what the server lost.
#[tokio::test]
async fn changes_lost_by_a_server_restore_are_pushed_again_on_the_new_epoch() {
    let mut w = World::start_on(Backend::Sqlite, 2).await;
    let dev = w.device(&w.partner, "zhang").await;
    sync_once(&dev.path).await.unwrap();
    let saved = w.dir.path().join("backups").join("server.db");
    warmlead_server::Admin::backup(&w.db_url, &saved, false).unwrap();
    let store = dev.store();
    let lost = store
        .create_share(w.items[1].id, Channel::Direct, now_ms())
        .unwrap();
    assert_eq!(sync_once(&dev.path).await.unwrap().pushed, 1);
    w.restart(|url| {
        warmlead_server::Admin::restore(url, &saved).unwrap();
    })
    .await;
    assert!(!w.admin().share_exists(&lost.token).await.unwrap());

    let report = sync_once(&dev.path).await.unwrap();
    assert_eq!((report.pushed, report.rejected), (1, 0), "{report:?}");
    assert!(w.admin().share_exists(&lost.token).await.unwrap());
    assert_eq!(store.my_shares().unwrap().len(), 1);
    let url = store.share_url(&lost).unwrap();
    open_and_stay(&w, &url, &lost.token, "pv-srv-restore-epoch").await;
    let visits = w.admin().visits_for_share(&lost.token).await.unwrap();
    assert_eq!(visits[0].partner_id, w.partner.id);
}
