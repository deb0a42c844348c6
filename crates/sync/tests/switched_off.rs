//! A running engine hears within seconds that the company switched its
//! account (or only this device) off: through the live event stream, not the
//! next periodic sync (the interval here is an hour). It stops and says why,
//! so the app can sign out and wipe the cache.

use std::time::Duration;

use warmlead_core::domain::Role;
use warmlead_core::error::ApiError;
use warmlead_core::ErrorCode;
use warmlead_server::testing::TestServer;
use warmlead_store::Store;
use warmlead_sync::{activate, Client, SyncEngine, SyncHandle};

/// Longer than a reconnect after a dropped stream (backoff of one failure is
/// at most 1 s), far shorter than the engine's interval.
const NOTICE_WITHIN: Duration = Duration::from_secs(10);
const INTERVAL: Duration = Duration::from_secs(3600);

struct World {
    ts: TestServer,
    manager: Client,
    rep_id: i64,
    rep_device: i64,
    engine: SyncHandle,
    _dir: tempfile::TempDir,
}

/// A manager's client, and a rep's signed-in cache with its engine running
/// (first sync done).
async fn world() -> World {
    let ts = TestServer::start().await;
    let admin = ts.admin();
    let company = admin.create_company("暖居装修").await.unwrap();
    let boss = admin
        .create_user(
            company.id,
            Role::Manager,
            "张总",
            Some("+8613700137000"),
            None,
        )
        .await
        .unwrap();
    let rep = admin
        .create_user(company.id, Role::Rep, "李明", Some("+8613800138000"), None)
        .await
        .unwrap();
    let code = admin.create_activation_code(boss.id).await.unwrap();
    let act = activate(&ts.url(), &code, "boss").await.unwrap();
    let manager = Client::new(&ts.url(), &act.device_token).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rep.sqlite");
    let code = admin.create_activation_code(rep.id).await.unwrap();
    let act = activate(&ts.url(), &code, "rep laptop").await.unwrap();
    Store::open(&path)
        .unwrap()
        .save_activation(
            &ts.url(),
            &act,
            &warmlead_store::TokenRef::fresh(warmlead_store::Place::File),
        )
        .unwrap();
    let engine = SyncEngine::spawn(path, INTERVAL);
    engine.sync_now().await.unwrap();
    World {
        ts,
        manager,
        rep_id: rep.id,
        rep_device: act.device_id,
        engine,
        _dir: dir,
    }
}

async fn switched_off(engine: &SyncHandle) -> ApiError {
    let mut rx = engine.subscribe_switched_off();
    let seen = tokio::time::timeout(NOTICE_WITHIN, rx.wait_for(Option::is_some))
        .await
        .expect("the engine did not hear of it within seconds")
        .unwrap()
        .clone();
    seen.unwrap()
}

#[tokio::test]
async fn a_deactivated_reps_engine_stops_within_seconds() {
    let w = world().await;
    assert!(w.engine.subscribe_switched_off().borrow().is_none());
    w.manager
        .set_member_active(w.rep_id, false, false)
        .await
        .unwrap();
    let e = switched_off(&w.engine).await;
    assert_eq!(e.code, ErrorCode::AccountDisabled, "{e:?}");
    // The engine has stopped: asking it to sync says so.
    let stopped = tokio::time::timeout(NOTICE_WITHIN, async {
        while w.engine.sync_now().await.is_ok() {}
    });
    stopped.await.expect("the engine went on syncing");
    drop(w.ts);
}

#[tokio::test]
async fn a_revoked_device_hears_its_own_code() {
    let w = world().await;
    w.manager.revoke_device(w.rep_device).await.unwrap();
    let e = switched_off(&w.engine).await;
    assert_eq!(e.code, ErrorCode::DeviceRevoked, "{e:?}");
}

/// The client carries the manager's choice when a rep is switched on again:
/// kept closed, the rep's invitation stays revoked; reopened, it is pending
/// again (the Team screen's two buttons call exactly this).
#[tokio::test]
async fn switching_a_rep_on_carries_the_managers_choice_about_invitations() {
    use warmlead_core::invite::{InvitationStatus, InviteChannel, NewInvitation};
    let w = world().await;
    let code = w.ts.admin().create_activation_code(w.rep_id).await.unwrap();
    let act = activate(&w.ts.url(), &code, "rep phone").await.unwrap();
    let rep = Client::new(&w.ts.url(), &act.device_token).unwrap();
    let new = NewInvitation {
        channel: InviteChannel::Poster,
        multi_use: true,
        expires_in_hours: None,
    };
    let manager = &w.manager;
    let status = |id: i64| async move { manager.get_invitation(id).await.unwrap().status };

    let kept = rep.create_invitation(&new).await.unwrap().id;
    w.manager
        .set_member_active(w.rep_id, false, false)
        .await
        .unwrap();
    assert_eq!(status(kept).await, InvitationStatus::Revoked);
    w.manager
        .set_member_active(w.rep_id, true, false)
        .await
        .unwrap();
    assert_eq!(status(kept).await, InvitationStatus::Revoked, "kept closed");

    // Signed in again (a switch-off signs every device out).
    let code = w.ts.admin().create_activation_code(w.rep_id).await.unwrap();
    let act = activate(&w.ts.url(), &code, "rep phone").await.unwrap();
    let rep = Client::new(&w.ts.url(), &act.device_token).unwrap();
    let reopened = rep.create_invitation(&new).await.unwrap().id;
    w.manager
        .set_member_active(w.rep_id, false, false)
        .await
        .unwrap();
    w.manager
        .set_member_active(w.rep_id, true, true)
        .await
        .unwrap();
    assert_eq!(
        status(reopened).await,
        InvitationStatus::Pending,
        "reopened"
    );
    assert_eq!(status(kept).await, InvitationStatus::Revoked);
}
