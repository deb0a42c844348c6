//! [`ReleaseStore`]: a release reads back as published, and a version is
//! published once per target.

use super::{Fixture, NOW};
use crate::storage::release_store::{Release, ReleaseStore};

fn release(version: &str, target: &str, at: i64) -> Release {
    Release {
        version: version.into(),
        target: target.into(),
        file: format!("warmlead_{version}_{target}.AppImage"),
        stored_as: format!("release-{version}-{target}"),
        // Past what 32 bits hold.
        size: 5_000_000_000,
        signature: "untrusted comment: 签名\nRWQ=".into(),
        notes: "修复了同步问题；新增海报".into(),
        published_at_ms: at,
    }
}

fn published_once(r: &dyn ReleaseStore) {
    let first = release("0.2.0", "linux-x86_64", NOW);
    assert!(r.insert(&first).unwrap());
    let again = Release {
        notes: "改过的说明".into(),
        size: 1,
        ..release("0.2.0", "linux-x86_64", NOW + 1)
    };
    assert!(!r.insert(&again).unwrap(), "a version is published once");
    assert_eq!(r.get("0.2.0", "linux-x86_64").unwrap(), Some(first.clone()));
    // The same version for another target is another package.
    let windows = release("0.2.0", "windows-x86_64", NOW + 2);
    assert!(r.insert(&windows).unwrap());
    assert!(r.get("0.2.1", "linux-x86_64").unwrap().is_none());
    assert!(r.get("0.2.0", "darwin-aarch64").unwrap().is_none());
}

#[test]
fn a_release_reads_back_as_published_and_is_published_once() {
    let w = Fixture::new();
    w.run(|s| published_once(&*s.releases()));
}

fn listed(r: &dyn ReleaseStore) {
    assert!(r.all().unwrap().is_empty());
    assert!(r.versions("linux-x86_64").unwrap().is_empty());
    let newest = release("0.10.0", "linux-x86_64", NOW + 20);
    let oldest = release("0.9.0", "linux-x86_64", NOW);
    let other = release("0.9.0", "windows-x86_64", NOW + 10);
    for x in [&newest, &oldest, &other] {
        assert!(r.insert(x).unwrap());
    }
    let mut versions = r.versions("linux-x86_64").unwrap();
    versions.sort();
    assert_eq!(versions, vec!["0.10.0", "0.9.0"]);
    assert_eq!(
        r.all().unwrap(),
        vec![oldest, other, newest],
        "oldest first"
    );
}

#[test]
fn releases_are_listed_per_target_and_oldest_first() {
    let w = Fixture::new();
    w.run(|s| listed(&*s.releases()));
}

/// What the update endpoint reads in a snapshot.
#[test]
fn releases_answer_in_a_read_only_snapshot() {
    let w = Fixture::new();
    let r = release("0.3.0", "linux-x86_64", NOW);
    w.run(|s| assert!(s.releases().insert(&r).unwrap()));
    w.read(|s| {
        let releases = s.releases();
        assert_eq!(releases.all().unwrap(), vec![r.clone()]);
        assert_eq!(
            releases.get("0.3.0", "linux-x86_64").unwrap(),
            Some(r.clone())
        );
        assert_eq!(releases.versions("linux-x86_64").unwrap(), vec!["0.3.0"]);
    });
}
