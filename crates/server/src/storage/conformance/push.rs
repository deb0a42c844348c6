//! [`PushLog`] and [`ShareStore`]: a device's last seq and its outcomes read
//! back as stored, per device; an outcome is stored once; a pushed share is
//! recorded once, takes the device's time, and is never written over by
//! another share under its token.

use warmlead_core::sync::Outcome;
use warmlead_core::token::{derive_share_key, ShareClaim};
use warmlead_core::ErrorCode;

use super::{entities, Fixture, NOW};
use crate::error::ServerError;
use crate::storage::push_store::PushLog;
use crate::storage::Stores;

/// Past what 32 bits hold.
const BIG_SEQ: i64 = 5_000_000_000;

fn rejected() -> Outcome {
    Outcome::Rejected {
        code: ErrorCode::Forbidden,
        message: "合伙人不能删除内容".into(),
    }
}

fn seqs_per_device(log: &dyn PushLog) {
    assert_eq!(log.last_seq("7").unwrap(), 0, "a device that never pushed");
    assert_eq!(log.lock_client("7").unwrap(), 0, "made at 0");
    assert_eq!(log.last_seq("7").unwrap(), 0);
    log.set_last_seq("7", BIG_SEQ).unwrap();
    assert_eq!(log.lock_client("7").unwrap(), BIG_SEQ, "the lock reads it");
    assert_eq!(log.last_seq("7").unwrap(), BIG_SEQ);
    assert_eq!(log.last_seq("8").unwrap(), 0, "another device's is its own");
    // A restored desktop cache pushes lower seqs again: the log takes the
    // seq it is given (the service decides it never goes back).
    log.set_last_seq("7", 3).unwrap();
    assert_eq!(log.last_seq("7").unwrap(), 3);
}

#[test]
fn a_devices_last_seq_reads_back_per_device() {
    let w = Fixture::new();
    w.run(|s| seqs_per_device(&*s.push_log()));
    // What a push answers with is read in a snapshot.
    assert_eq!(w.read(|s| s.push_log().last_seq("7").unwrap()), 3);
    assert_eq!(w.read(|s| s.push_log().last_seq("9").unwrap()), 0);
}

fn outcomes_once(log: &dyn PushLog) {
    assert_eq!(log.stored_outcome("7", "m-1").unwrap(), None);
    log.store_outcome("7", "m-1", 1, &Outcome::Applied).unwrap();
    log.store_outcome("7", "m-2", BIG_SEQ, &rejected()).unwrap();
    assert_eq!(
        log.stored_outcome("7", "m-1").unwrap(),
        Some(Outcome::Applied)
    );
    assert_eq!(log.stored_outcome("7", "m-2").unwrap(), Some(rejected()));
    assert_eq!(
        log.stored_outcome("8", "m-1").unwrap(),
        None,
        "mutation ids are the device's own"
    );
    // Another device may use the same id for its own mutation.
    log.store_outcome("8", "m-1", 1, &rejected()).unwrap();
    assert_eq!(log.stored_outcome("8", "m-1").unwrap(), Some(rejected()));
    assert_eq!(
        log.stored_outcome("7", "m-1").unwrap(),
        Some(Outcome::Applied)
    );
}

#[test]
fn outcomes_read_back_per_device() {
    let w = Fixture::new();
    w.run(|s| outcomes_once(&*s.push_log()));
    let read = w.read(|s| s.push_log().stored_outcome("7", "m-2").unwrap());
    assert_eq!(read, Some(rejected()));
}

#[test]
fn an_outcome_is_stored_once() {
    let w = Fixture::new();
    w.run(|s| {
        s.push_log()
            .store_outcome("7", "m-1", 1, &Outcome::Applied)
            .unwrap()
    });
    let again = w.run(|s| s.push_log().store_outcome("7", "m-1", 1, &rejected()));
    assert!(again.is_err(), "stored twice: {again:?}");
    let kept = w.read(|s| s.push_log().stored_outcome("7", "m-1").unwrap());
    assert_eq!(kept, Some(Outcome::Applied), "never replaced");
}

#[test]
fn a_pushed_share_is_recorded_with_the_devices_time_and_announced() {
    let w = Fixture::new();
    let before = w.run(|s| w.newest_seq(s));
    let share = w.run(|s| w.signed_share(s, &w.a, 1));
    assert!(w
        .read(|s| s.shares().share(&share.token).unwrap())
        .is_none());
    let stored = w.run(|s| s.shares().record_pushed(&share, NOW).unwrap());
    assert_eq!(stored.token, share.token);
    assert_eq!(stored.device_id, w.a.partner_device);
    assert_eq!(stored.share_no, 1);
    assert_eq!(stored.item_id, w.a.item.id);
    assert_eq!(stored.partner_id, w.a.partner.id);
    assert_eq!(stored.created_at_ms, NOW);
    let read = w.read(|s| s.shares().share(&share.token).unwrap());
    assert_eq!(read, Some(stored));
    let changes = w.run(|s| w.changes_after(s, before));
    assert_eq!(entities(&changes), vec!["share"]);
    assert_eq!(changes[0].0, w.a.company.id, "announced to its company");
}

#[test]
fn the_same_share_pushed_again_takes_the_devices_time() {
    let w = Fixture::new();
    // The page recorded it first, at its own time.
    let share = w.run(|s| w.share(s, &w.a, 1));
    let stored = w.run(|s| s.shares().record_pushed(&share, NOW - 5).unwrap());
    assert_eq!(stored.created_at_ms, NOW - 5);
    let again = w.run(|s| s.shares().record_pushed(&share, NOW - 5).unwrap());
    assert_eq!(again, stored);
    let read = w.read(|s| s.shares().share(&share.token).unwrap().unwrap());
    assert_eq!(read.created_at_ms, NOW - 5);
}

fn another_share_under_the_token(s: &Stores<'_>, w: &Fixture) {
    let share = w.signed_share(s, &w.a, 1);
    let first = s.shares().record_pushed(&share, NOW).unwrap();
    let other = crate::storage::ResolvedShare {
        claim: ShareClaim {
            share_no: 2,
            ..share.claim
        },
        ..share.clone()
    };
    let refused = s.shares().record_pushed(&other, NOW + 1);
    assert!(
        matches!(refused, Err(ServerError::Conflict(_))),
        "{refused:?}"
    );
    assert_eq!(s.shares().share(&share.token).unwrap(), Some(first));
}

#[test]
fn another_share_under_a_recorded_token_is_a_conflict() {
    let w = Fixture::new();
    w.run(|s| another_share_under_the_token(s, &w));
}

#[test]
fn a_token_resolves_to_its_sharer_and_item_read_only() {
    let w = Fixture::new();
    let share = w.run(|s| w.signed_share(s, &w.a, 1));
    let resolved = w.read(|s| s.shares().resolve(&share.token).unwrap());
    let resolved = resolved.expect("a signed token resolves before it is recorded");
    assert_eq!(resolved.sharer.id, w.a.partner.id);
    assert_eq!(resolved.company.id, w.a.company.id);
    assert_eq!(resolved.item.id, w.a.item.id);
    assert_eq!(resolved.claim, share.claim);
    // The same claim signed with another device's key is no share at all.
    let forged = ShareClaim {
        device_id: w.b.partner_device as u64,
        ..share.claim
    }
    .sign(&derive_share_key(w.master(), w.a.partner_device as u64));
    assert!(w.read(|s| s.shares().resolve(&forged).unwrap()).is_none());
    assert!(w
        .read(|s| s.shares().resolve("not-a-token").unwrap())
        .is_none());
}
