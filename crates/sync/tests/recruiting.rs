//! The client's recruiting calls against the real server (loopback port 0,
//! real SQLite files on both sides), then the pull that brings their results
//! into the desktop cache.

use warmlead_core::csv_import::ImportRow;
use warmlead_core::domain::Role;
use warmlead_core::invite::{
    InvitationStatus, InviteChannel, NewInvitation, PartnerQuery, SmsInviteRequest, SmsPlan,
    SmsRecipient,
};
use warmlead_core::ErrorCode;
use warmlead_server::testing::TestServer;
use warmlead_store::Store;
use warmlead_sync::{activate, sync_once, Client, SyncError};

fn row(row: u32, name: &str, phone: &str) -> ImportRow {
    ImportRow {
        row,
        name: name.into(),
        phone: phone.into(),
        note: None,
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

#[tokio::test]
async fn invitations_sms_preview_and_import_reach_the_cache() {
    let ts = TestServer::start().await;
    let admin = ts.admin();
    let company = admin.create_company("暖居装修").await.unwrap();
    let rep = admin
        .create_user(company.id, Role::Rep, "李明", Some("+8613800138000"), None)
        .await
        .unwrap();
    let code = admin.create_activation_code(rep.id).await.unwrap();
    let act = activate(&ts.url(), &code, "test").await.unwrap();
    let client = Client::new(&ts.url(), &act.device_token).unwrap();

    // Create, read back, revoke.
    let req = NewInvitation {
        channel: InviteChannel::Qr,
        multi_use: false,
        expires_in_hours: Some(24),
    };
    let inv = client.create_invitation(&req).await.unwrap();
    assert_eq!(
        (inv.channel, inv.status, inv.rep_id),
        (InviteChannel::Qr, InvitationStatus::Pending, rep.id)
    );
    assert!(inv.url.contains("/i/"), "{}", inv.url);
    assert_eq!(client.get_invitation(inv.id).await.unwrap(), inv);
    let revoked = client.revoke_invitation(inv.id).await.unwrap();
    assert_eq!(revoked.status, InvitationStatus::Revoked);
    let missing = client.get_invitation(inv.id + 1_000).await.unwrap_err();
    assert_eq!(missing.code(), ErrorCode::NotFound);

    // The SMS preview sends nothing and says what would happen.
    let preview = client
        .sms_invite(&SmsInviteRequest {
            recipients: vec![
                SmsRecipient {
                    name: "王芳".into(),
                    phone: "13900139000".into(),
                },
                SmsRecipient {
                    name: "坏号码".into(),
                    phone: "12345".into(),
                },
            ],
            dry_run: true,
        })
        .await
        .unwrap();
    assert_eq!(preview.items.len(), 2);
    assert!(
        matches!(preview.items[1].plan, SmsPlan::Refuse { .. }),
        "{:?}",
        preview.items[1]
    );
    assert!(preview.items.iter().all(|i| i.sms_id.is_none()));

    // Import: written once; the same rows again are refused with row errors.
    let rows = vec![
        row(2, "刘一", "+8613300133001"),
        row(3, "陈二", "+8613300133002"),
    ];
    let done = client.import_partners(rows.clone(), false).await.unwrap();
    assert_eq!((done.imported, done.errors.len()), (2, 0));
    let refused = client.import_partners(rows, false).await.unwrap();
    assert_eq!(refused.imported, 0);
    let mut refused_rows: Vec<u32> = refused.errors.iter().map(|e| e.row).collect();
    refused_rows.dedup();
    assert_eq!(refused_rows, vec![2, 3]);
    let offline = Client::new("http://127.0.0.1:9", "x").unwrap();
    assert!(matches!(
        offline.import_partners(vec![], false).await,
        Err(SyncError::Offline(_))
    ));

    // The pull brings the invitation (revoked) and the partners to the cache.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.sqlite");
    Store::open(&path)
        .unwrap()
        .save_activation(
            &ts.url(),
            &act,
            &warmlead_store::TokenRef::fresh(warmlead_store::Place::File),
        )
        .unwrap();
    sync_once(&path).await.unwrap();
    let store = Store::open(&path).unwrap();
    let cached = store.invitations(10).unwrap();
    assert_eq!(cached.len(), 1);
    assert_eq!(cached[0].status, InvitationStatus::Revoked);
    let page = store.partners(&PartnerQuery::default(), now_ms()).unwrap();
    let mut names: Vec<String> = page
        .partners
        .iter()
        .map(|p| p.partner.name.clone())
        .collect();
    names.sort();
    assert_eq!(names, vec!["刘一", "陈二"]);
    assert_eq!(store.partner_counts(now_ms()).unwrap().new, 2);
    let d = store.invite_dashboard(now_ms()).unwrap();
    let qr = d
        .channels
        .iter()
        .find(|c| c.channel == InviteChannel::Qr)
        .unwrap();
    assert_eq!((qr.invitations, qr.revoked), (1, 1));
}
