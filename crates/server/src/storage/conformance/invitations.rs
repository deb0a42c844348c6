//! [`InvitationStore`]: an invitation reads back as made (by id, token and
//! short code), an offline token is recorded once, a use is counted once
//! and within its limit, a revoke never undoes an accept, a one-time code
//! is spent once and locks after its tries, and a company's switch-off,
//! times, accepts and phones are its own.

use warmlead_core::invite::{Invitation, InvitationStatus, InviteChannel};
use warmlead_core::phone::Phone;

use super::{entities, Fixture, Member, DAY_MS, NOW};
use crate::storage::invitation_store::{
    InvitationStore, NewRow, OfflineRow, OtpCheck, OTP_MAX_ATTEMPTS, OTP_TTL_MS,
    SHORT_CODE_ALPHABET, SHORT_CODE_LEN,
};

/// An invitation of `m`'s rep under `token`, made at `NOW` for a day, its
/// URL recorded.
fn made(
    inv: &dyn InvitationStore,
    m: &Member,
    token: &str,
    max_uses: Option<i64>,
    to: Option<(&str, &str)>,
) -> Invitation {
    let channel = if to.is_some() {
        InviteChannel::Sms
    } else {
        InviteChannel::Poster
    };
    let (id, short_code) = inv
        .insert(&NewRow {
            company_id: m.company.id,
            rep_id: m.rep.id,
            channel,
            max_uses,
            expires_at_ms: NOW + DAY_MS,
            token,
            created_at_ms: NOW,
            recipient_name: to.map(|t| t.0),
            recipient_phone: to.map(|t| t.1),
        })
        .unwrap();
    let made = Invitation {
        id,
        company_id: m.company.id,
        rep_id: m.rep.id,
        channel,
        status: InvitationStatus::Pending,
        max_uses,
        uses: 0,
        created_at_ms: NOW,
        expires_at_ms: NOW + DAY_MS,
        url: format!("https://warmlead.test/i/{token}"),
        short_code,
        recipient_name: to.map(|t| t.0.to_string()),
        recipient_phone: to.map(|t| t.1.to_string()),
    };
    inv.record_url(&made, NOW).unwrap();
    made
}

fn read_back(inv: &dyn InvitationStore, w: &Fixture) {
    let sms = made(
        inv,
        &w.a,
        "tok-sms",
        Some(1),
        Some(("王小明", "+8613800138000")),
    );
    let open = made(inv, &w.b, "tok-open", None, None);
    assert_eq!(sms.short_code.len(), SHORT_CODE_LEN);
    assert!(sms
        .short_code
        .bytes()
        .all(|b| SHORT_CODE_ALPHABET.contains(&b)));
    assert_ne!(sms.short_code, open.short_code);
    for x in [&sms, &open] {
        assert_eq!(inv.get(x.id).unwrap().as_ref(), Some(x), "by id");
        let token = x.url.rsplit('/').next().unwrap();
        assert_eq!(
            inv.find_by_token(token).unwrap().as_ref(),
            Some(x),
            "by token"
        );
        let typed = format!(" {}-", x.short_code.to_lowercase());
        assert_eq!(
            inv.find_by_short_code(&typed, NOW).unwrap().as_ref(),
            Some(x)
        );
    }
    assert!(inv.get(open.id + 1000).unwrap().is_none());
    assert!(inv.find_by_token("tok-none").unwrap().is_none());
    assert!(inv.find_by_short_code("22", NOW).unwrap().is_none());
    assert!(
        inv.find_by_short_code(&sms.short_code, NOW + DAY_MS)
            .unwrap()
            .is_none(),
        "expired"
    );
}

#[test]
fn an_invitation_reads_back_as_made_by_id_token_and_short_code() {
    let w = Fixture::new();
    w.run(|s| read_back(&*s.invitations(), &w));
}

fn offline<'a>(m: &Member, token: &'a str, code: &'a str, no: i64) -> OfflineRow<'a> {
    OfflineRow {
        company_id: m.company.id,
        rep_id: m.rep.id,
        channel: InviteChannel::Qr,
        max_uses: Some(2),
        expires_at_ms: NOW + DAY_MS,
        token,
        created_at_ms: NOW - 5,
        device_id: m.rep_device,
        invite_no: no,
        short_code: code,
    }
}

fn recorded_once(inv: &dyn InvitationStore, w: &Fixture) {
    let code = std::str::from_utf8(&SHORT_CODE_ALPHABET[..SHORT_CODE_LEN]).unwrap();
    let (id, kept) = inv
        .insert_offline(&offline(&w.a, "tok-off-1", code, 1))
        .unwrap()
        .expect("recorded now");
    assert_eq!(kept, code);
    assert_eq!(
        inv.insert_offline(&offline(&w.a, "tok-off-1", code, 1))
            .unwrap(),
        None,
        "known"
    );
    let got = inv.find_by_token("tok-off-1").unwrap().expect("stored");
    assert_eq!(
        (
            got.id,
            got.status,
            got.max_uses,
            got.uses,
            got.created_at_ms
        ),
        (id, InvitationStatus::Pending, Some(2), 0, NOW - 5)
    );
    assert_eq!(
        inv.find_by_short_code(code, NOW).unwrap().map(|i| i.id),
        Some(id)
    );
    // Its derived code taken: recorded under one nobody can type.
    let (other, fallback) = inv
        .insert_offline(&offline(&w.a, "tok-off-2", code, 2))
        .unwrap()
        .expect("recorded");
    assert_ne!((other, fallback.as_str()), (id, code));
    assert_eq!(
        inv.find_by_short_code(code, NOW).unwrap().map(|i| i.id),
        Some(id)
    );

    // The device's time, set only within its company.
    inv.set_created_at(w.b.company.id, id, NOW - 100).unwrap();
    assert_eq!(
        inv.get(id).unwrap().unwrap().created_at_ms,
        NOW - 5,
        "b's id"
    );
    inv.set_created_at(w.a.company.id, id, NOW - 100).unwrap();
    assert_eq!(inv.get(id).unwrap().unwrap().created_at_ms, NOW - 100);
}

#[test]
fn an_offline_token_is_recorded_once() {
    let w = Fixture::new();
    w.run(|s| recorded_once(&*s.invitations(), &w));
}

fn uses_counted_once(inv: &dyn InvitationStore, w: &Fixture) {
    let single = made(inv, &w.a, "tok-1", Some(1), None);
    inv.lock_for_accept(single.id).unwrap();
    assert!(inv
        .count_use(single.id, 0, 1, InvitationStatus::Accepted, NOW + 1)
        .unwrap());
    assert!(
        !inv.count_use(single.id, 0, 1, InvitationStatus::Accepted, NOW + 2)
            .unwrap(),
        "a second accept that read 0 uses"
    );
    assert!(
        !inv.revoke(single.id, NOW + 3).unwrap(),
        "accepted stays accepted"
    );
    let got = inv.get(single.id).unwrap().unwrap();
    assert_eq!((got.status, got.uses), (InvitationStatus::Accepted, 1));

    let two = made(inv, &w.a, "tok-2", Some(2), None);
    assert!(inv
        .count_use(two.id, 0, 1, InvitationStatus::Pending, NOW)
        .unwrap());
    assert!(!inv
        .count_use(two.id, 0, 1, InvitationStatus::Pending, NOW)
        .unwrap());
    assert!(inv
        .count_use(two.id, 1, 2, InvitationStatus::Pending, NOW)
        .unwrap());
    assert!(
        !inv.count_use(two.id, 2, 3, InvitationStatus::Pending, NOW)
            .unwrap(),
        "its limit reached"
    );
    assert_eq!(inv.get(two.id).unwrap().unwrap().uses, 2);

    let open = made(inv, &w.a, "tok-3", None, None);
    assert!(inv.revoke(open.id, NOW).unwrap());
    assert!(!inv.revoke(open.id, NOW).unwrap(), "revoked once");
    assert!(!inv
        .count_use(open.id, 0, 1, InvitationStatus::Accepted, NOW)
        .unwrap());
    let got = inv.get(open.id).unwrap().unwrap();
    assert_eq!((got.status, got.uses), (InvitationStatus::Revoked, 0));
    assert!(inv
        .find_by_short_code(&open.short_code, NOW)
        .unwrap()
        .is_none());
}

#[test]
fn a_use_is_counted_once_within_its_limit_and_a_revoke_never_undoes_an_accept() {
    let w = Fixture::new();
    w.run(|s| uses_counted_once(&*s.invitations(), &w));
}

fn switch_off_is_the_companys(inv: &dyn InvitationStore, w: &Fixture) {
    let open = made(inv, &w.a, "tok-1", None, None);
    let by_hand = made(inv, &w.a, "tok-2", None, None);
    let others = made(inv, &w.b, "tok-3", None, None);
    assert!(inv.revoke(by_hand.id, NOW).unwrap());
    let status = |id| inv.get(id).unwrap().unwrap().status;
    // Another company's id with this rep reaches nothing.
    assert_eq!(
        inv.close_for_switch_off(w.b.company.id, w.a.rep.id, NOW)
            .unwrap(),
        0
    );
    assert_eq!(status(open.id), InvitationStatus::Pending);
    assert_eq!(
        inv.close_for_switch_off(w.a.company.id, w.a.rep.id, NOW)
            .unwrap(),
        1
    );
    assert_eq!(
        inv.close_for_switch_off(w.a.company.id, w.a.rep.id, NOW)
            .unwrap(),
        0
    );
    assert_eq!(status(open.id), InvitationStatus::Revoked);
    assert_eq!(status(others.id), InvitationStatus::Pending);
    // Closed by the switch-off: its code still finds it, to say so.
    assert_eq!(
        inv.find_by_short_code(&open.short_code, NOW)
            .unwrap()
            .map(|i| i.status),
        Some(InvitationStatus::Revoked)
    );
    assert_eq!(
        inv.reopen_after_switch_on(w.b.company.id, w.a.rep.id, NOW)
            .unwrap(),
        0
    );
    assert_eq!(
        inv.reopen_after_switch_on(w.a.company.id, w.a.rep.id, NOW)
            .unwrap(),
        1
    );
    assert_eq!(status(open.id), InvitationStatus::Pending);
    assert_eq!(
        status(by_hand.id),
        InvitationStatus::Revoked,
        "revoked by hand"
    );

    // Kept closed: a later switch-on reopens nothing.
    inv.close_for_switch_off(w.a.company.id, w.a.rep.id, NOW)
        .unwrap();
    inv.keep_closed_after_switch_on(w.b.company.id, w.a.rep.id)
        .unwrap();
    inv.keep_closed_after_switch_on(w.a.company.id, w.a.rep.id)
        .unwrap();
    assert_eq!(
        inv.reopen_after_switch_on(w.a.company.id, w.a.rep.id, NOW)
            .unwrap(),
        0
    );
    assert_eq!(status(open.id), InvitationStatus::Revoked);
    assert!(inv
        .find_by_short_code(&open.short_code, NOW)
        .unwrap()
        .is_none());
}

#[test]
fn a_switch_off_closes_and_reopens_only_the_companys_reps_pending_invitations() {
    let w = Fixture::new();
    w.run(|s| switch_off_is_the_companys(&*s.invitations(), &w));
}

fn codes_spent_once(inv: &dyn InvitationStore, w: &Fixture) {
    let i = made(inv, &w.a, "tok-1", None, None);
    let (phone, other) = (
        Phone::parse("13600136000").unwrap(),
        Phone::parse("13600136001").unwrap(),
    );
    let master = w.master();
    assert_eq!(
        inv.check_otp(master, i.id, &phone, "123456", NOW).unwrap(),
        OtpCheck::Missing
    );
    let code = inv.new_otp(master, i.id, &phone, NOW).unwrap();
    assert_eq!(code.len(), 6);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    assert_eq!(
        inv.check_otp(master, i.id, &other, &code, NOW).unwrap(),
        OtpCheck::Missing
    );
    assert_eq!(
        inv.check_otp(master, i.id, &phone, wrong, NOW).unwrap(),
        OtpCheck::Wrong
    );
    let spaced = format!("{} {}", &code[..3], &code[3..]);
    assert_eq!(
        inv.check_otp(master, i.id, &phone, &spaced, NOW).unwrap(),
        OtpCheck::Ok
    );
    assert_eq!(
        inv.check_otp(master, i.id, &phone, &code, NOW).unwrap(),
        OtpCheck::Missing,
        "spent once"
    );

    // A newer code retires the older.
    let old = inv.new_otp(master, i.id, &phone, NOW).unwrap();
    let new = inv.new_otp(master, i.id, &phone, NOW + 1).unwrap();
    if old != new {
        assert_eq!(
            inv.check_otp(master, i.id, &phone, &old, NOW + 2).unwrap(),
            OtpCheck::Wrong
        );
    }
    assert_eq!(
        inv.check_otp(master, i.id, &phone, &new, NOW + 2).unwrap(),
        OtpCheck::Ok
    );

    // Expired.
    let late = inv.new_otp(master, i.id, &phone, NOW).unwrap();
    let at = NOW + OTP_TTL_MS;
    assert_eq!(
        inv.check_otp(master, i.id, &phone, &late, at).unwrap(),
        OtpCheck::Missing
    );
}

#[test]
fn a_one_time_code_is_spent_once_and_only_for_its_phone() {
    let w = Fixture::new();
    w.run(|s| codes_spent_once(&*s.invitations(), &w));
}

fn codes_lock(inv: &dyn InvitationStore, w: &Fixture) {
    let i = made(inv, &w.a, "tok-1", None, None);
    let phone = Phone::parse("13600136000").unwrap();
    let master = w.master();
    let code = inv.new_otp(master, i.id, &phone, NOW).unwrap();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 1..OTP_MAX_ATTEMPTS {
        assert_eq!(
            inv.check_otp(master, i.id, &phone, wrong, NOW).unwrap(),
            OtpCheck::Wrong
        );
    }
    assert_eq!(
        inv.check_otp(master, i.id, &phone, wrong, NOW).unwrap(),
        OtpCheck::Locked
    );
    assert_eq!(
        inv.check_otp(master, i.id, &phone, &code, NOW).unwrap(),
        OtpCheck::Locked,
        "the right code after the limit"
    );
    // Another invitation's code of the same phone is not locked.
    let j = made(inv, &w.b, "tok-2", None, None);
    let other = inv.new_otp(master, j.id, &phone, NOW).unwrap();
    assert_eq!(
        inv.check_otp(master, j.id, &phone, &other, NOW).unwrap(),
        OtpCheck::Ok
    );
    // A code of one invitation does not open another.
    let again = inv.new_otp(master, i.id, &phone, NOW).unwrap();
    assert_eq!(
        inv.check_otp(master, j.id, &phone, &again, NOW).unwrap(),
        OtpCheck::Missing
    );
    assert_eq!(
        inv.check_otp(master, i.id, &phone, &again, NOW).unwrap(),
        OtpCheck::Ok
    );
}

#[test]
fn a_one_time_code_locks_after_its_tries() {
    let w = Fixture::new();
    w.run(|s| codes_lock(&*s.invitations(), &w));
}

#[test]
fn changes_and_accepts_are_the_companys() {
    let w = Fixture::new();
    w.run(|s| {
        let inv = s.invitations();
        let seq = w.newest_seq(s);
        let a = made(&*inv, &w.a, "tok-1", None, None);
        let b = made(&*inv, &w.b, "tok-2", None, None);
        let logged = w.changes_after(s, seq);
        assert_eq!(entities(&logged), vec!["invitation"; 2]);
        assert_eq!(logged[0].0, w.a.company.id);
        assert_eq!(logged[0].1["data"]["url"], "https://warmlead.test/i/tok-1");
        let created = w.newest_seq(s);
        for x in [&a, &b] {
            assert!(inv
                .count_use(x.id, 0, 1, InvitationStatus::Pending, NOW)
                .unwrap());
            inv.changed(
                &Invitation {
                    uses: 1,
                    ..x.clone()
                },
                NOW,
            )
            .unwrap();
        }
        assert_eq!(entities(&w.changes_after(s, seq)).len(), 4);
        let upto = w.newest_seq(s);
        let (ca, cb) = (w.a.company.id, w.b.company.id);
        assert_eq!(inv.accepted_since(ca, None, seq, upto).unwrap(), Some(a.id));
        assert_eq!(
            inv.accepted_since(ca, Some(w.a.rep.id), seq, upto).unwrap(),
            Some(a.id)
        );
        assert_eq!(
            inv.accepted_since(ca, Some(w.b.rep.id), seq, upto).unwrap(),
            None
        );
        assert_eq!(inv.accepted_since(cb, None, seq, upto).unwrap(), Some(b.id));
        assert_eq!(
            inv.accepted_since(ca, None, seq, created).unwrap(),
            None,
            "upto"
        );
        // The URL rests in the first change: a later one keeps it.
        assert_eq!(inv.get(a.id).unwrap().unwrap().url, a.url);
    });
}

fn phones_are_the_companys(inv: &dyn InvitationStore, w: &Fixture, taken: &str) {
    let phones = [taken.to_string(), "+8613700137000".to_string()];
    let mine = inv.taken_phones(w.a.company.id, &phones).unwrap();
    assert_eq!(mine, std::collections::HashSet::from([taken.to_string()]));
    assert!(inv
        .taken_phones(w.b.company.id, &phones)
        .unwrap()
        .is_empty());
    assert!(inv.taken_phones(w.a.company.id, &[]).unwrap().is_empty());
}

#[test]
fn taken_phones_are_the_companys_own() {
    let w = Fixture::new();
    w.run(|s| {
        let phone = "+8613900139000";
        s.legacy()
            .execute(
                "UPDATE users SET phone = ?1 WHERE id = ?2",
                crate::storage::sql::params![phone, w.a.partner.id],
            )
            .unwrap();
        phones_are_the_companys(&*s.invitations(), &w, phone)
    });
}

/// What an invitation's page, the live stream and an import's preview
/// read in a snapshot.
#[test]
fn invitations_answer_in_a_read_only_snapshot() {
    let w = Fixture::new();
    let (inv, seq) = w.run(|s| {
        let seq = w.newest_seq(s);
        (made(&*s.invitations(), &w.a, "tok-1", None, None), seq)
    });
    w.read(|s| {
        let store = s.invitations();
        assert_eq!(store.get(inv.id).unwrap().as_ref(), Some(&inv));
        assert_eq!(store.find_by_token("tok-1").unwrap().as_ref(), Some(&inv));
        assert_eq!(
            store
                .find_by_short_code(&inv.short_code, NOW)
                .unwrap()
                .as_ref(),
            Some(&inv)
        );
        assert_eq!(
            store
                .accepted_since(w.a.company.id, None, seq, i64::MAX)
                .unwrap(),
            None
        );
        let phones = ["+8613700137000".to_string()];
        assert!(store
            .taken_phones(w.a.company.id, &phones)
            .unwrap()
            .is_empty());
    });
}
