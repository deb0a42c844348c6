//! [`MediaStore`]: room is taken only within the quota, a reservation is
//! settled once, the sweep takes only what nothing uses, and another
//! company's reservation is not this company's.

use super::{Fixture, NOW};
use crate::storage::content_store::MediaOwner;
use crate::storage::media_store::{MediaStore, MIB, SWEEP_BATCH};
use crate::storage::Stores;

/// A quota past what 32 bits hold (10 GiB).
const QUOTA: i64 = 10 * 1024 * MIB;

fn room_within_the_quota(m: &dyn MediaStore, w: &Fixture) {
    let (a, b) = (w.a.company.id, w.b.company.id);
    assert_eq!(m.usage(a).unwrap(), 0);
    let big = 6 * 1024 * MIB;
    let r = m.reserve(a, None, big, QUOTA, NOW).unwrap().expect("room");
    assert_eq!(m.usage(a).unwrap(), big);
    assert_eq!(m.usage(b).unwrap(), 0, "another company's usage");
    // More of the same upload, up to the quota and not past it.
    assert_eq!(
        m.reserve(a, Some(r), 4 * 1024 * MIB, QUOTA, NOW + 1)
            .unwrap(),
        Some(r)
    );
    assert_eq!(m.usage(a).unwrap(), QUOTA);
    assert_eq!(
        m.reserve(a, Some(r), 1, QUOTA, NOW + 2).unwrap(),
        None,
        "past the quota"
    );
    assert_eq!(
        m.reserve(a, None, 1, QUOTA, NOW + 2).unwrap(),
        None,
        "a new upload too"
    );
    assert_eq!(m.usage(a).unwrap(), QUOTA, "a refusal takes nothing");
    assert_eq!(
        m.reserve(b, None, QUOTA + 1, QUOTA, NOW).unwrap(),
        None,
        "more than the quota"
    );
    assert!(
        m.reserve(b, None, QUOTA, QUOTA, NOW).unwrap().is_some(),
        "b's own room"
    );

    // Stored: the reservation's room becomes the media's bytes.
    m.settle(a, Some(r), 3).unwrap();
    assert_eq!(m.usage(a).unwrap(), 3);
    m.settle(a, Some(r), 3).unwrap();
    assert_eq!(
        m.usage(a).unwrap(),
        6,
        "settled once: the second only adds its bytes"
    );
    assert_eq!(m.usage(b).unwrap(), QUOTA);
}

#[test]
fn room_is_taken_within_the_quota_and_settled_once() {
    let w = Fixture::new();
    w.run(|s| room_within_the_quota(&*s.media(), &w));
}

fn reservations_are_the_companys(m: &dyn MediaStore, w: &Fixture) {
    let (a, b) = (w.a.company.id, w.b.company.id);
    let r = m.reserve(a, None, 100, QUOTA, NOW).unwrap().unwrap();
    m.touch(a, r, NOW + 1).unwrap();
    assert!(m.touch(b, r, NOW + 1).is_err(), "not b's reservation");
    // b settling a's reservation gives back nothing of a's.
    m.settle(b, Some(r), 0).unwrap();
    assert_eq!(m.usage(a).unwrap(), 100);
    assert_eq!(m.usage(b).unwrap(), 0);
    // An upload that was not kept gives its room back.
    m.settle(a, Some(r), 0).unwrap();
    assert_eq!(m.usage(a).unwrap(), 0);
    assert!(m.touch(a, r, NOW + 2).is_err(), "settled: gone");
}

#[test]
fn a_reservation_is_renewed_and_settled_only_by_its_company() {
    let w = Fixture::new();
    w.run(|s| reservations_are_the_companys(&*s.media(), &w));
}

#[test]
fn another_companys_reservation_gives_no_room() {
    let w = Fixture::new();
    let r = w.run(|s| {
        s.media()
            .reserve(w.a.company.id, None, 100, QUOTA, NOW)
            .unwrap()
            .unwrap()
    });
    // The error rolls the caller's transaction back; here it is the answer.
    w.run(|s| {
        let m = s.media();
        assert!(m.reserve(w.b.company.id, Some(r), 10, QUOTA, NOW).is_err());
        assert_eq!(m.usage(w.a.company.id).unwrap(), 100);
    });
}

fn stale_reservations_are_dropped_once(m: &dyn MediaStore, w: &Fixture) {
    let (a, b) = (w.a.company.id, w.b.company.id);
    let stale = m.reserve(a, None, 70, QUOTA, NOW).unwrap().unwrap();
    let renewed = m.reserve(b, None, 30, QUOTA, NOW).unwrap().unwrap();
    m.touch(b, renewed, NOW + 10).unwrap();
    assert_eq!(
        m.drop_stale_reservations(NOW).unwrap(),
        0,
        "touched at the cut-off"
    );
    assert_eq!(m.drop_stale_reservations(NOW + 5).unwrap(), 1);
    assert_eq!(
        m.drop_stale_reservations(NOW + 5).unwrap(),
        0,
        "dropped once"
    );
    assert_eq!((m.usage(a).unwrap(), m.usage(b).unwrap()), (0, 30));
    assert!(
        m.touch(a, stale, NOW + 6).is_err(),
        "its upload lost its room"
    );
    assert!(m.reserve(a, Some(stale), 1, QUOTA, NOW + 6).is_err());
}

#[test]
fn stale_reservations_are_dropped_once_and_give_their_room_back() {
    let w = Fixture::new();
    w.run(|s| stale_reservations_are_dropped_once(&*s.media(), &w));
}

/// Media of `company` stored as its upload's settlement: `size` bytes under `key`.
fn stored(s: &Stores<'_>, company: i64, key: &str, size: i64, at: i64) -> i64 {
    let owner = MediaOwner {
        company_id: company,
        uploaded_by: None,
    };
    let r = s.media().reserve(company, None, size, QUOTA, at).unwrap();
    let id = s
        .content()
        .insert_media(owner, "image/png", size, &format!("{key}.png"), key, at)
        .unwrap()
        .expect("a new key");
    s.media().settle(company, r, size).unwrap();
    id
}

#[test]
fn the_sweep_takes_only_unused_media_once() {
    let w = Fixture::new();
    w.run(|s| {
        let (a, b) = (w.a.company.id, w.b.company.id);
        let big = 3 * 1024 * MIB;
        stored(s, a, "0000000000000000000000000000000a", big, NOW);
        let used = stored(s, a, "0000000000000000000000000000000b", 5, NOW);
        stored(s, b, "0000000000000000000000000000000c", 7, NOW);
        stored(s, b, "0000000000000000000000000000000d", 9, NOW + 10);
        s.content().link_media(w.a.item.id, &[used]).unwrap();
        assert_eq!(s.media().usage(a).unwrap(), big + 5);

        let mut swept = s.media().claim_unused(NOW + 5).unwrap();
        swept.sort();
        assert_eq!(
            swept,
            vec![
                ("0000000000000000000000000000000a.png".to_string(), big),
                ("0000000000000000000000000000000c.png".to_string(), 7),
            ],
            "unused and older than the cut-off"
        );
        assert!(s.media().claim_unused(NOW + 5).unwrap().is_empty(), "once");
        assert_eq!(s.media().usage(a).unwrap(), 5, "its room given back");
        assert_eq!(s.media().usage(b).unwrap(), 9);
        assert!(s.content().media(used).unwrap().is_some());
    });
}

#[test]
fn a_sweep_takes_at_most_a_batch() {
    let w = Fixture::new();
    let a = w.a.company.id;
    w.run(|s| {
        for i in 0..=SWEEP_BATCH {
            stored(s, a, &format!("{i:032x}"), 1, NOW);
        }
        // Stored without a reservation: its bytes count all the same.
        s.media().settle(a, None, 9).unwrap();
        assert_eq!(s.media().usage(a).unwrap(), SWEEP_BATCH + 1 + 9);
    });
    let swept = w.run(|s| s.media().claim_unused(NOW + 1).unwrap());
    assert_eq!(swept.len() as i64, SWEEP_BATCH);
    let rest = w.run(|s| s.media().claim_unused(NOW + 1).unwrap());
    assert_eq!(rest.len(), 1, "the rest in the next batch");
    w.run(|s| {
        assert_eq!(s.media().usage(a).unwrap(), 9);
        assert_eq!(s.content().count_media().unwrap(), 0);
    });
}

/// What the quota's page reads in a snapshot.
#[test]
fn usage_answers_in_a_read_only_snapshot() {
    let w = Fixture::new();
    let a = w.a.company.id;
    w.run(|s| s.media().reserve(a, None, 42, QUOTA, NOW).unwrap());
    assert_eq!(w.read(|s| s.media().usage(a).unwrap()), 42);
}
