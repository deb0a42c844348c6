//! Inviting with no network, across programs: the rep's real store makes a
//! QR and a poster invitation while the real server is stopped; a phone
//! (an HTTP client) opens the QR link once the server is back and joins
//! before the rep's app has synced; the app's sync then records both, and
//! the cache ends with the server's rows (one each, the right use counts).

use warmlead_core::invite::{InvitationStatus, InviteChannel, NewInvitation};
use warmlead_sync::{sync_once, SyncError};
use warmlead_tests::{now_ms, World};

async fn join(url: &str, name: &str, phone: &str) -> (u16, String) {
    let res = reqwest::Client::new()
        .post(url)
        .form(&[("name", name), ("phone", phone), ("consent", "yes")])
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

#[tokio::test]
async fn invitations_made_while_the_server_is_stopped_join_and_sync_to_one_row() {
    let mut w = World::start(0).await;
    let dev = w.device(&w.rep, "li-laptop").await;
    sync_once(&dev.path).await.unwrap();

    // At the customer's home: no server.
    w.stop_server().await;
    let store = dev.store();
    let qr = store
        .create_offline_invitation(
            &NewInvitation {
                channel: InviteChannel::Qr,
                multi_use: false,
                expires_in_hours: Some(24),
            },
            now_ms(),
        )
        .unwrap();
    let poster = store
        .create_offline_invitation(
            &NewInvitation {
                channel: InviteChannel::Poster,
                multi_use: true,
                expires_in_hours: None,
            },
            now_ms(),
        )
        .unwrap();
    assert!(qr.id < 0 && poster.id < 0, "not recorded by the server yet");
    assert_eq!(store.invitations(10).unwrap().len(), 2);
    let err = sync_once(&dev.path).await.unwrap_err();
    assert!(matches!(err, SyncError::Offline(_)), "{err:?}");
    assert_eq!(store.pending_count().unwrap(), 2);

    // The friend's phone has a network; the server is reachable again, but
    // the rep's app has not synced.
    w.start_again().await;
    assert!(qr.url.starts_with(&format!("{}/i/", w.url())), "{}", qr.url);
    let (status, html) = join(&qr.url, "孙七", "13500135000").await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("wl-welcome"), "{html}");
    let (status, _) = join(&qr.url, "周八", "13500135001").await;
    assert_eq!(status, 410, "single use");

    // Back online: the sync records both (the QR one is the same row the
    // phone's open made) and brings the server's rows into the cache.
    let report = sync_once(&dev.path).await.unwrap();
    assert_eq!((report.pushed, report.rejected), (2, 0), "{report:?}");
    assert_eq!(store.pending_count().unwrap(), 0);
    assert_eq!(
        w.sql()
            .i64("SELECT count(*) FROM invitations WHERE device_id IS NOT NULL")
            .await,
        2
    );
    let cached = store.invitations(10).unwrap();
    assert_eq!(cached.len(), 2, "{cached:?}");
    assert!(cached.iter().all(|i| i.id > 0), "{cached:?}");
    let qr_now = store
        .invitation(qr.id)
        .unwrap()
        .expect("found by its local id");
    assert_eq!(qr_now.url, qr.url);
    assert_eq!(
        (qr_now.uses, qr_now.status),
        (1, InvitationStatus::Accepted)
    );
    assert_eq!(qr_now.short_code, qr.short_code);
    let poster_now = store.invitation(poster.id).unwrap().unwrap();
    assert_eq!((poster_now.uses, poster_now.max_uses), (0, None));
    assert_eq!(poster_now.created_at_ms, poster.created_at_ms);

    // The new partner reached the rep's cache, bound to the rep.
    let joined = w
        .admin()
        .find_user("+8613500135000")
        .await
        .expect("the partner");
    assert_eq!(joined.rep_id, Some(w.rep.id));
    assert_eq!(joined.invitation_id, Some(qr_now.id));
}
