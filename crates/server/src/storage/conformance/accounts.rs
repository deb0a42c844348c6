//! [`AccountStore`]: a company and its people read back as stored, one
//! number is one person per company (the unique index), an activation code
//! is spent once, a revoked device's token is refused, attempts are counted
//! per window, and another company's ids reach nothing.

use warmlead_core::domain::{Company, Role, User};

use super::{Fixture, NOW};
use crate::error::ServerError;
use crate::services::accounts::caller_of_token;
use crate::storage::account_store::AccountStore;
use crate::storage::accounts::sha256;
use crate::storage::Stores;

fn person(company: &Company, role: Role, name: &str, phone: Option<&str>) -> User {
    User {
        id: 0,
        company_id: company.id,
        role,
        name: name.into(),
        phone: phone.map(str::to_string),
        rep_id: None,
        joined_at_ms: NOW,
        source: None,
        invited_by: None,
        invitation_id: None,
    }
}

fn inserted(a: &dyn AccountStore, user: User) -> User {
    a.insert_user(&user)
        .unwrap()
        .expect("a new number makes a user")
}

/// A new company and its person are found again by id, by phone and in
/// the company's list; switching off keeps its first time.
fn company_and_user(a: &dyn AccountStore) {
    let company = a.insert_company("丙公司", NOW).unwrap();
    assert_eq!(a.company(company.id).unwrap().unwrap().name, "丙公司");
    assert_eq!(
        a.company_named("丙公司").unwrap().map(|c| c.id),
        Some(company.id)
    );
    let rep = inserted(
        a,
        person(&company, Role::Rep, "郑新", Some("+8613900139000")),
    );
    assert!(rep.id > 0);
    assert_eq!(a.user(rep.id).unwrap().as_ref(), Some(&rep));
    assert_eq!(a.user_in(company.id, rep.id).unwrap().as_ref(), Some(&rep));
    let by_phone = a.user_by_phone(company.id, "+8613900139000").unwrap();
    assert_eq!(by_phone.map(|u| u.id), Some(rep.id));
    assert_eq!(a.users_of(company.id).unwrap(), std::slice::from_ref(&rep));
    let counts = a.company_counts().unwrap();
    let mine = counts.iter().find(|c| c.company.id == company.id).unwrap();
    assert_eq!((mine.per_role, mine.created_at_ms), ([0, 1, 0], NOW));
    assert_eq!(a.off_since(rep.id).unwrap(), None);
    a.switch_off(company.id, rep.id, NOW).unwrap();
    a.switch_off(company.id, rep.id, NOW + 5).unwrap();
    assert_eq!(
        a.off_since(rep.id).unwrap(),
        Some(NOW),
        "the first time stays"
    );
    a.switch_on(company.id, rep.id).unwrap();
    assert_eq!(a.off_since(rep.id).unwrap(), None);
}

#[test]
fn a_company_and_its_user_read_back_as_stored() {
    let w = Fixture::new();
    w.run(|s| company_and_user(&*s.accounts()));
}

/// The second insert of a number in one company is refused by the unique
/// index (answered as `None`; the transaction goes on); another company
/// may have the same number.
fn one_phone_per_company(a: &dyn AccountStore, w: &Fixture) {
    let phone = Some("+8613900139000");
    let first = inserted(a, person(&w.a.company, Role::Rep, "郑新", phone));
    let again = a
        .insert_user(&person(&w.a.company, Role::Partner, "钱多", phone))
        .unwrap();
    assert!(again.is_none(), "{again:?}");
    let numbered: Vec<User> = a
        .users_of(w.a.company.id)
        .unwrap()
        .into_iter()
        .filter(|u| u.phone.is_some())
        .collect();
    assert_eq!(numbered, [first]);
    inserted(a, person(&w.b.company, Role::Rep, "孙丽", phone));
}

#[test]
fn a_phone_is_one_person_per_company() {
    let w = Fixture::new();
    w.run(|s| one_phone_per_company(&*s.accounts(), &w));
}

/// A code is spent once (the second spend gets nothing, its row says when
/// it was used); a new code retires the open one; an expired code is not
/// spent.
fn code_spent_once(a: &dyn AccountStore, w: &Fixture) {
    let rep = w.a.rep.id;
    let old = sha256(b"OLDCODE00");
    let old_id = a.insert_code(rep, &old, NOW, NOW + 1_000).unwrap().unwrap();
    let hash = sha256(b"ABCDEFGHJ");
    let id = a
        .insert_code(rep, &hash, NOW, NOW + 1_000)
        .unwrap()
        .unwrap();
    assert!(id != old_id && a.has_code(rep, id).unwrap());
    assert!(a.code_state(&old).unwrap().unwrap().revoked_at_ms.is_some());
    assert_eq!(a.spend_code(&old, NOW + 1).unwrap(), None, "retired");
    assert!(a.is_open_code_of(rep, &hash, NOW + 1).unwrap());
    assert_eq!(a.spend_code(&hash, NOW + 1).unwrap(), Some(rep));
    assert_eq!(a.spend_code(&hash, NOW + 2).unwrap(), None);
    assert_eq!(
        a.code_state(&hash).unwrap().unwrap().used_at_ms,
        Some(NOW + 1)
    );
    assert!(!a.is_open_code_of(rep, &hash, NOW + 2).unwrap());
    let late = sha256(b"LATECODE0");
    a.insert_code(rep, &late, NOW, NOW + 10).unwrap().unwrap();
    assert_eq!(a.spend_code(&late, NOW + 10).unwrap(), None, "expired");
}

#[test]
fn an_activation_code_is_spent_once() {
    let w = Fixture::new();
    w.run(|s| code_spent_once(&*s.accounts(), &w));
}

/// A revoked device's token no longer lets it in (the service's token
/// check over the store); the team screen shows it revoked.
fn revoked_device_is_refused(s: &Stores<'_>, w: &Fixture) {
    let a = s.accounts();
    let token_hash = sha256(b"token");
    let device = a
        .insert_device(w.a.rep.id, "笔记本", &token_hash, NOW)
        .unwrap();
    let caller = caller_of_token(s, "token").unwrap();
    assert_eq!((caller.device_id, caller.user.id), (device, w.a.rep.id));
    assert!(a.device_is_live(device).unwrap());
    a.revoke_device(device, NOW + 1).unwrap();
    a.revoke_device(device, NOW + 2).unwrap();
    let found = a.device_by_token(&token_hash).unwrap().unwrap();
    assert_eq!(found.revoked_at_ms, Some(NOW + 1), "the first time stays");
    assert!(!a.device_is_live(device).unwrap());
    let refused = caller_of_token(s, "token").unwrap_err();
    assert!(
        matches!(refused, ServerError::DeviceRevoked(_)),
        "{refused:?}"
    );
    let rows = a.team_rows(w.a.company.id, 0, NOW).unwrap();
    let shown = rows.devices.iter().find(|(_, d)| d.id == device).unwrap();
    assert_eq!(
        (shown.0, shown.1.revoked_at_ms),
        (w.a.rep.id, Some(NOW + 1))
    );
}

#[test]
fn a_revoked_device_cannot_authenticate() {
    let w = Fixture::new();
    w.run(|s| revoked_device_is_refused(s, &w));
}

/// Another company's ids are not found through the company-scoped
/// queries, and its writes do not reach this company's rows.
fn other_companys_ids_are_not_found(a: &dyn AccountStore, w: &Fixture) {
    let (mine, theirs) = (w.a.company.id, w.b.company.id);
    let phone = "+8613900139000";
    let rep = inserted(a, person(&w.a.company, Role::Rep, "郑新", Some(phone)));
    assert_eq!(a.user_in(theirs, rep.id).unwrap(), None);
    assert_eq!(a.user_by_phone(theirs, phone).unwrap(), None);
    assert_eq!(a.device_user_in(theirs, w.a.rep_device).unwrap(), None);
    assert_eq!(
        a.device_user_in(mine, w.a.rep_device).unwrap(),
        Some(w.a.rep.id)
    );
    a.switch_off(theirs, rep.id, NOW).unwrap();
    assert_eq!(a.off_since(rep.id).unwrap(), None);
    a.rename_user(theirs, rep.id, "外人").unwrap();
    assert_eq!(a.user(rep.id).unwrap().unwrap().name, "郑新");
    let their_people = a.users_of(theirs).unwrap();
    assert!(their_people.iter().all(|u| u.company_id == theirs));
    assert!(!their_people.iter().any(|u| u.id == rep.id));
    let rows = a.team_rows(theirs, 0, NOW).unwrap();
    assert!(!rows.devices.iter().any(|(_, d)| d.id == w.a.rep_device));
}

#[test]
fn another_companys_ids_are_not_found() {
    let w = Fixture::new();
    w.run(|s| other_companys_ids_are_not_found(&*s.accounts(), &w));
}

/// Attempts are counted in a window, and one taken back is uncounted.
fn attempt_windows(a: &dyn AccountStore) {
    assert_eq!(a.attempt_window("k").unwrap(), None);
    a.count_attempt("k", NOW, 100).unwrap();
    let w = a.count_attempt("k", NOW + 1, 100).unwrap();
    assert_eq!((w.start_ms, w.hits), (NOW, 2));
    a.uncount_attempt("k", NOW).unwrap();
    assert_eq!(a.attempt_window("k").unwrap().map(|w| w.hits), Some(1));
}

#[test]
fn attempts_are_counted_per_window() {
    let w = Fixture::new();
    w.run(|s| attempt_windows(&*s.accounts()));
}
