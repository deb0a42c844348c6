//! What the desktop shows is what the server has (issue 18): every change
//! the server refuses is undone in the cache and listed until dismissed,
//! and a cache restored from an older copy never makes a share that the
//! server merges with an older one. The real store and sync client against
//! the real server, nothing mocked.

use warmlead_core::app::{BriefcaseQuery, LibraryQuery, SyncState};
use warmlead_core::domain::{Channel, ContentAudience, ContentStatus};
use warmlead_core::invite::{InviteChannel, NewInvitation};
use warmlead_core::ErrorCode;
use warmlead_store::{draft_of, Store};
use warmlead_sync::sync_once;
use warmlead_tests::{backup_store, now_ms, restore_store, World};

/// Tokens of the partner's shares in a store, sorted.
fn tokens(store: &Store) -> Vec<String> {
    let mut t: Vec<String> = store
        .my_shares()
        .unwrap()
        .into_iter()
        .map(|s| s.token)
        .collect();
    t.sort();
    t
}

/// How often the briefcase says the partner shared each item, by item id.
fn shared_counts(store: &Store) -> Vec<(i64, i64)> {
    let mut c: Vec<(i64, i64)> = store
        .briefcase(&BriefcaseQuery::default())
        .unwrap()
        .into_iter()
        .map(|b| (b.item.id, b.my_shares))
        .collect();
    c.sort();
    c
}

/// Shares of an item archived meanwhile, and of an item no longer for this
/// partner, made before the device learned of either: the server refuses
/// both. They leave the partner's shares and the counts derived from them,
/// so the cache equals what a fresh device pulls; each stays listed, with
/// the item's title and the reason, until dismissed; dismissing removes
/// only that record.
#[tokio::test]
async fn refused_shares_leave_the_cache_and_stay_listed_until_dismissed() {
    let w = World::start(3).await;
    let zhang = w.device(&w.partner, "zhang").await;
    let boss = w.device(&w.manager, "boss").await;
    sync_once(&zhang.path).await.unwrap();
    sync_once(&boss.path).await.unwrap();
    let (archived, moved, kept) = (&w.items[0], &w.items[1], &w.items[2]);

    // The manager archives one item and addresses another to the other
    // rep's partners only; the partner's device has not synced since.
    let b = boss.store();
    b.set_content_status(&archived.key, ContentStatus::Archived)
        .unwrap();
    let mut draft = draft_of(&b.content_item(moved.id).unwrap().unwrap());
    draft.audience = ContentAudience::Reps {
        rep_ids: vec![w.other_rep.id],
    };
    b.save_content(&moved.key, &draft).unwrap();
    assert_eq!(sync_once(&boss.path).await.unwrap().rejected, 0);

    let store = zhang.store();
    let refused_a = store
        .create_share(archived.id, Channel::Moments, now_ms())
        .unwrap();
    let refused_b = store
        .create_share(moved.id, Channel::Group, now_ms())
        .unwrap();
    let good = store
        .create_share(kept.id, Channel::Direct, now_ms())
        .unwrap();
    let report = sync_once(&zhang.path).await.unwrap();
    assert_eq!((report.pushed, report.rejected), (1, 2), "{report:?}");
    assert!(!w.admin().share_exists(&refused_a.token).await.unwrap());
    assert!(!w.admin().share_exists(&refused_b.token).await.unwrap());
    assert!(w.admin().share_exists(&good.token).await.unwrap());

    // The cache has exactly the shares the server has.
    assert_eq!(tokens(&store), vec![good.token.clone()]);
    assert_eq!(shared_counts(&store), vec![(kept.id, 1)]);
    let fresh = w.device(&w.partner, "zhang-new").await;
    sync_once(&fresh.path).await.unwrap();
    assert_eq!(tokens(&store), tokens(&fresh.store()));
    assert_eq!(shared_counts(&store), shared_counts(&fresh.store()));
    let rep = w.device(&w.rep, "li").await;
    sync_once(&rep.path).await.unwrap();
    let counts = rep
        .store()
        .partner_detail(w.partner.id, now_ms())
        .unwrap()
        .summary
        .activity;
    assert_eq!(counts.shares, 1, "the rep's count is the server's");

    // Both refusals are listed, with what they were about and why.
    let rejected = store.rejected().unwrap();
    assert_eq!(rejected.len(), 2, "{rejected:?}");
    for (r, item) in rejected.iter().zip([archived, moved]) {
        assert_eq!(r.name, "create_share");
        assert_eq!(r.code, ErrorCode::NotFound);
        assert_eq!(r.subject.as_deref(), Some(item.title.as_str()));
        assert!(r.message.contains("not in your briefcase"), "{r:?}");
    }
    assert_eq!(store.sync_status(true).unwrap().state, SyncState::Attention);
    // Listed until dismissed: another sync changes nothing.
    let again = sync_once(&zhang.path).await.unwrap();
    assert_eq!((again.pushed, again.rejected), (0, 0));
    assert_eq!(store.rejected().unwrap(), rejected);

    assert!(store.dismiss_rejected(&rejected[0].mutation_id).unwrap());
    assert_eq!(store.rejected().unwrap(), rejected[1..].to_vec());
    assert!(store.dismiss_rejected(&rejected[1].mutation_id).unwrap());
    assert!(store.rejected().unwrap().is_empty());
    assert_eq!(store.sync_status(true).unwrap().state, SyncState::Synced);
    assert_eq!(tokens(&store), vec![good.token.clone()]);
    sync_once(&zhang.path).await.unwrap();
    assert_eq!(tokens(&store), tokens(&fresh.store()));
}

/// A share whose link a phone opened before its item was archived is on
/// the server already: its push is taken, not refused, and the device keeps it.
#[tokio::test]
async fn a_share_the_server_recorded_from_a_phone_is_kept_after_its_item_is_archived() {
    let w = World::start(1).await;
    let zhang = w.device(&w.partner, "zhang").await;
    let boss = w.device(&w.manager, "boss").await;
    sync_once(&zhang.path).await.unwrap();
    sync_once(&boss.path).await.unwrap();
    let store = zhang.store();
    let share = store
        .create_share(w.items[0].id, Channel::Moments, now_ms())
        .unwrap();
    let url = store.share_url(&share).unwrap();
    let page = reqwest::get(&url).await.unwrap();
    assert_eq!(page.status(), 200, "{url}");
    assert!(w.admin().share_exists(&share.token).await.unwrap());

    boss.store()
        .set_content_status(&w.items[0].key, ContentStatus::Archived)
        .unwrap();
    sync_once(&boss.path).await.unwrap();
    let report = sync_once(&zhang.path).await.unwrap();
    assert_eq!((report.pushed, report.rejected), (1, 0), "{report:?}");
    assert_eq!(tokens(&store), vec![share.token.clone()]);
    let fresh = w.device(&w.partner, "zhang-new").await;
    sync_once(&fresh.path).await.unwrap();
    assert_eq!(tokens(&fresh.store()), tokens(&store));
}

/// The other kinds the server can refuse, each undone in the cache: a rep's
/// archive of a company item (the item shows live again), MAN flags on a
/// lead that moved to another rep (the server's flags come back), an
/// invitation made offline after the user stopped being a rep (it leaves
/// the list). Each is listed until dismissed.
#[tokio::test]
async fn every_other_refused_kind_is_undone() {
    let w = World::start(1).await;
    let li = w.device(&w.rep, "li").await;
    sync_once(&li.path).await.unwrap();
    let store = li.store();
    let item = &w.items[0];

    // Archive: only the author or a manager may.
    let asked = store
        .set_content_status(&item.key, ContentStatus::Archived)
        .unwrap();
    assert_eq!(asked.item.status, ContentStatus::Archived);
    let report = sync_once(&li.path).await.unwrap();
    assert_eq!((report.pushed, report.rejected), (0, 1), "{report:?}");
    let lib = store.library(&LibraryQuery::default()).unwrap();
    let shown = lib.iter().find(|i| i.item.key == item.key).unwrap();
    assert_eq!(shown.item.status, ContentStatus::Live, "{shown:?}");
    let refused = store.rejected().unwrap();
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].name, "archive_content");
    assert_eq!(refused[0].code, ErrorCode::Forbidden);
    assert_eq!(refused[0].subject.as_deref(), Some(item.title.as_str()));
    assert!(store.dismiss_rejected(&refused[0].mutation_id).unwrap());

    // An invitation made offline after the company made Li a partner.
    let invite = store
        .create_offline_invitation(
            &NewInvitation {
                channel: InviteChannel::Qr,
                multi_use: false,
                expires_in_hours: Some(24),
            },
            now_ms(),
        )
        .unwrap();
    assert_eq!(store.invitations(10).unwrap().len(), 1);
    w.sql()
        .execute(&format!(
            "UPDATE users SET role = 'partner', rep_id = {} WHERE id = {}",
            w.other_rep.id, w.rep.id
        ))
        .await;
    let report = sync_once(&li.path).await.unwrap();
    assert_eq!(report.rejected, 1, "{report:?}");
    assert!(
        store.invitation(invite.id).unwrap().is_none(),
        "a refused invitation leaves the list"
    );
    assert!(store.invitations(10).unwrap().is_empty());
    let refused = store.rejected().unwrap();
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].name, "create_invitation");
    assert_eq!(refused[0].code, ErrorCode::Forbidden);
}

/// A cache restored from an older copy numbers its shares again from where
/// the copy stood, before any pull (it may well be offline). A new share of
/// the same item on the same channel as one made after the copy still gets
/// a token of its own: the server keeps every share apart, each with the
/// time it was made, and the device lists the same shares.
#[tokio::test]
async fn a_restored_cache_never_makes_an_older_shares_token() {
    let w = World::start(1).await;
    let dev = w.device(&w.partner, "zhang").await;
    sync_once(&dev.path).await.unwrap();
    let item = w.items[0].id;
    let store = dev.store();
    let t0 = now_ms() - 60_000;
    let first = store.create_share(item, Channel::Moments, t0).unwrap();
    sync_once(&dev.path).await.unwrap();
    let saved = w.dir.path().join("zhang-copy.sqlite");
    backup_store(&dev.path, &saved);
    let second = store
        .create_share(item, Channel::Moments, t0 + 1_000)
        .unwrap();
    assert_eq!(sync_once(&dev.path).await.unwrap().pushed, 1);
    drop(store);

    restore_store(&saved, &dev.path);
    let store = dev.store();
    assert_eq!(tokens(&store), vec![first.token.clone()], "the old copy");
    let third = store
        .create_share(item, Channel::Moments, t0 + 2_000)
        .unwrap();
    assert_eq!(third.share_no, second.share_no, "the number comes again");
    let report = sync_once(&dev.path).await.unwrap();
    assert_eq!((report.pushed, report.rejected), (1, 0), "{report:?}");

    let made = [&first, &second, &third];
    let on_server = w
        .sql()
        .i64(&format!(
            "SELECT COUNT(*) FROM shares WHERE partner_id = {}",
            w.partner.id
        ))
        .await;
    assert_eq!(on_server, 3, "three shares, none merged");
    for s in made {
        let at = w
            .server_count("SELECT created_at FROM shares WHERE token = ?1", &s.token)
            .await;
        assert_eq!(at, s.created_at_ms, "share {} keeps its time", s.share_no);
    }
    let mut all: Vec<String> = made.iter().map(|s| s.token.clone()).collect();
    all.sort();
    assert_eq!(tokens(&store), all);
}
