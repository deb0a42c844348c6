//! The device token leaves the cache file (issue 20), with the file vault
//! (the fallback where no keychain runs); the Secret Service itself is in
//! `keychain_tests`.

use std::path::{Path, PathBuf};

use warmlead_core::api::ActivateResponse;

use crate::session::forget_token;
use crate::tests::{activation, save_activation_as_before};
use crate::{migrate, Place, Secret, Store, StoreError, TokenRef, Vault};

/// Long and odd enough to be found only where it was written.
pub(crate) const TOKEN: &str = "dvt-7Hq2Zp9XwL4mN8rT6yB3";

pub(crate) fn act() -> ActivateResponse {
    ActivateResponse {
        device_token: TOKEN.into(),
        ..activation()
    }
}

/// Every file under `dir` whose bytes hold `needle`.
pub(crate) fn files_holding(dir: &Path, needle: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let path = e.path();
            if path.is_dir() {
                todo.push(path);
            } else if std::fs::read(&path)
                .unwrap()
                .windows(needle.len())
                .any(|w| w == needle.as_bytes())
            {
                found.push(path);
            }
        }
    }
    found
}

/// A cache as the app wrote it before the token moved out (schema 12,
/// the token in clear), opened by today's app: `(data dir, cache path)`.
pub(crate) fn old_cache() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("warmlead.sqlite");
    {
        let old = migrate::open_at_version(&path, 12).unwrap();
        save_activation_as_before(&old, "http://127.0.0.1:1/", &act());
    }
    assert_eq!(files_holding(dir.path(), TOKEN), vec![path.clone()]);
    (dir, path)
}

/// What a new process of the app knows: nothing held in memory yet.
pub(crate) fn restart(store: &Store) {
    if let Some(t) = store.token_ref().unwrap() {
        forget_token(&t.id);
    }
}

#[test]
fn an_old_cache_moves_its_token_to_the_file_and_keeps_no_copy() {
    let (dir, path) = old_cache();
    let vault = Vault::file_only(dir.path(), "no keychain in this test");
    let store = Store::open(&path).unwrap();
    // Before the move the token is still usable (and reported nowhere else).
    assert_eq!(store.token_place().unwrap(), None);

    assert_eq!(store.unlock_token(&vault).unwrap(), Some(Place::File));

    let kept = store.token_ref().unwrap().unwrap();
    assert_eq!(kept.place, Place::File);
    assert_eq!(
        vault.get(Place::File, &kept.id).unwrap(),
        Some(Secret::new(TOKEN))
    );
    assert_eq!(store.token_place().unwrap(), Some(Place::File));
    drop(store);
    // Only the vault's file holds it: not the cache, its log or free pages.
    assert_eq!(
        files_holding(dir.path(), TOKEN),
        vec![vault.file_dir().join(&kept.id)]
    );
    // The next start reads it from there, and signs in with it.
    let store = Store::open(&path).unwrap();
    restart(&store);
    assert!(matches!(
        store.credentials(),
        Err(StoreError::TokenUnavailable)
    ));
    assert_eq!(store.unlock_token(&vault).unwrap(), Some(Place::File));
    let again = Store::open(&path).unwrap();
    assert_eq!(again.credentials().unwrap().unwrap().device_token, TOKEN);
}

#[test]
fn a_move_cut_short_at_any_step_ends_at_the_next_start() {
    // After naming the place; after writing there too.
    for written in [false, true] {
        let (dir, path) = old_cache();
        let vault = Vault::file_only(dir.path(), "no keychain in this test");
        let store = Store::open(&path).unwrap();
        let named = TokenRef::fresh(Place::File);
        store.set_token_ref(&named).unwrap();
        if written {
            vault.put(&named.id, &Secret::new(TOKEN)).unwrap();
        }
        // Cut short: the token still works from the row.
        assert_eq!(store.credentials().unwrap().unwrap().device_token, TOKEN);

        assert_eq!(store.unlock_token(&vault).unwrap(), Some(Place::File));

        // The same entry, not a second one.
        assert_eq!(store.token_ref().unwrap(), Some(named.clone()));
        let entries: Vec<_> = std::fs::read_dir(vault.file_dir())
            .unwrap()
            .flatten()
            .map(|e| e.file_name().into_string().unwrap())
            .collect();
        assert_eq!(entries, vec![named.id.clone()], "written: {written}");
        drop(store);
        assert_eq!(
            files_holding(dir.path(), TOKEN),
            vec![vault.file_dir().join(&named.id)]
        );
    }
}

#[test]
fn signing_in_keeps_the_token_out_of_the_cache_and_signing_out_forgets_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("warmlead.sqlite");
    let vault = Vault::file_only(dir.path(), "no keychain in this test");
    let store = Store::open(&path).unwrap();
    assert_eq!(store.unlock_token(&vault).unwrap(), None);

    assert_eq!(
        store
            .sign_in_with(&vault, "http://127.0.0.1:1", &act())
            .unwrap(),
        Place::File
    );
    let kept = store.token_ref().unwrap().unwrap();
    assert_eq!(store.token_in_clear().unwrap(), None);
    assert_eq!(store.credentials().unwrap().unwrap().device_token, TOKEN);
    assert_eq!(
        files_holding(dir.path(), TOKEN),
        vec![vault.file_dir().join(&kept.id)]
    );

    // Signing in again (another account) leaves one token, the new one.
    let second = ActivateResponse {
        device_token: "dvt-second-Qm4Rt8Yp".into(),
        ..act()
    };
    store
        .sign_in_with(&vault, "http://127.0.0.1:1", &second)
        .unwrap();
    assert!(files_holding(dir.path(), TOKEN).is_empty());
    assert_eq!(vault.get(Place::File, &kept.id).unwrap(), None);

    let now = store.token_ref().unwrap().unwrap();
    store.sign_out_with(&vault, true).unwrap();
    assert_eq!(vault.get(Place::File, &now.id).unwrap(), None);
    assert!(files_holding(dir.path(), "dvt-second-Qm4Rt8Yp").is_empty());
    assert_eq!(store.credentials().unwrap(), None);
}

#[test]
fn a_token_gone_from_its_place_says_so_and_keeps_the_session() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("warmlead.sqlite");
    let vault = Vault::file_only(dir.path(), "no keychain in this test");
    let store = Store::open(&path).unwrap();
    store
        .sign_in_with(&vault, "http://127.0.0.1:1", &act())
        .unwrap();
    let kept = store.token_ref().unwrap().unwrap();
    vault.remove(kept.place, &kept.id).unwrap();
    restart(&store);

    let err = store.unlock_token(&vault).unwrap_err();
    assert!(matches!(err, StoreError::TokenUnavailable), "{err}");
    assert!(matches!(
        store.credentials(),
        Err(StoreError::TokenUnavailable)
    ));
    // The cache (and its unsynced changes) stays: signing out is the person's choice.
    assert!(store.session().unwrap().is_some());
}

#[test]
fn no_debug_output_shows_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let vault = Vault::file_only(dir.path(), "no keychain in this test");
    let store = Store::open(dir.path().join("warmlead.sqlite")).unwrap();
    store
        .sign_in_with(&vault, "http://127.0.0.1:1", &act())
        .unwrap();
    let creds = store.credentials().unwrap().unwrap();
    for shown in [
        format!("{creds:?}"),
        format!("{:?}", act()),
        format!("{:?}", Secret::new(TOKEN)),
        format!("{:?}", store.token_ref().unwrap()),
    ] {
        assert!(!shown.contains(TOKEN), "{shown}");
    }
}
