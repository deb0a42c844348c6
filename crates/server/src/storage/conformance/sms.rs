//! [`SmsQueue`]: messages read back as queued, a message is claimed once,
//! reports only move it forward, and a rep's cancel reaches only that
//! company's rep.

use warmlead_core::invite::SmsStatus;
use warmlead_core::phone::Phone;
use warmlead_sms::{DeliveryStatus, MessageKind, ProviderReceipt};

use super::{entities, Fixture, Member, DAY_MS, NOW};
use crate::storage::sms_store::{
    NewCode, NewMessage, SmsQueue, CANCELLED_SWITCHED_OFF, MAX_ERROR_CHARS,
};
use warmlead_core::invite::SmsRecord;

fn phone(n: &str) -> Phone {
    Phone::parse(n).expect("a phone number")
}

/// An invitation SMS of `m`'s rep to `to`, due at `send_after`.
fn queue(q: &dyn SmsQueue, m: &Member, to: &Phone, send_after: i64) -> SmsRecord {
    let params = [("rep".to_string(), m.rep.name.clone())];
    q.queue(
        &NewMessage {
            company_id: m.company.id,
            rep_id: m.rep.id,
            invitation_id: None,
            name: "王五",
            phone: to,
            text: "李明邀请您加入 拒收请回复R",
            template_params: &params,
            send_after,
        },
        NOW,
    )
    .expect("queue")
}

fn receipt(id: &str, status: DeliveryStatus) -> ProviderReceipt {
    ProviderReceipt {
        provider: "twilio".into(),
        provider_message_id: id.into(),
        status,
    }
}

fn a_queued_message_reads_back_as_stored(q: &dyn SmsQueue, w: &Fixture) {
    let to = phone("13800138000");
    let rec = queue(q, &w.a, &to, NOW + DAY_MS);
    assert_eq!(
        (rec.rep_id, rec.invitation_id, rec.status, rec.error.clone()),
        (w.a.rep.id, None, SmsStatus::Queued, None)
    );
    assert_eq!(rec.name, "王五");
    assert_eq!(rec.text, "李明邀请您加入 拒收请回复R");
    assert_eq!(rec.phone, "+8613800138000");
    assert_eq!(
        (rec.created_at_ms, rec.updated_at_ms, rec.send_after_ms),
        (NOW, NOW, Some(NOW + DAY_MS))
    );
    let got = q.get(rec.id).unwrap().expect("stored");
    assert_eq!(format!("{got:?}"), format!("{rec:?}"));
    assert!(q.get(rec.id + 1000).unwrap().is_none());

    assert!(q.due(NOW + DAY_MS - 1, 10).unwrap().is_empty(), "not due");
    let due = q.due(NOW + DAY_MS, 10).unwrap();
    assert_eq!(due.len(), 1);
    let d = &due[0];
    assert_eq!(
        (d.id, d.rep_id, d.kind),
        (rec.id, w.a.rep.id, MessageKind::Invitation)
    );
    assert_eq!(
        (d.name.as_str(), d.phone.as_str()),
        ("王五", "+8613800138000")
    );
    assert_eq!(d.text, rec.text);
    assert_eq!(d.template_params, vec![("rep".into(), "李明".into())]);
}

#[test]
fn queued_messages_read_back_as_stored() {
    let w = Fixture::new();
    w.run(|s| a_queued_message_reads_back_as_stored(&*s.sms(), &w));
}

fn due_is_oldest_first_and_limited(q: &dyn SmsQueue, w: &Fixture) {
    let later = queue(q, &w.a, &phone("13800138001"), NOW + 20);
    let first = queue(q, &w.b, &phone("13800138002"), NOW + 10);
    let ids = |limit| -> Vec<i64> {
        q.due(NOW + 30, limit)
            .unwrap()
            .iter()
            .map(|d| d.id)
            .collect()
    };
    assert_eq!(ids(10), vec![first.id, later.id]);
    assert_eq!(ids(1), vec![first.id]);
}

#[test]
fn due_messages_come_oldest_first_up_to_the_limit() {
    let w = Fixture::new();
    w.run(|s| due_is_oldest_first_and_limited(&*s.sms(), &w));
}

fn claimed_once_and_reported_forward_only(q: &dyn SmsQueue, w: &Fixture) {
    let rec = queue(q, &w.a, &phone("13800138000"), NOW);
    assert!(q.claim(rec.id, NOW).unwrap());
    assert!(
        !q.claim(rec.id, NOW).unwrap(),
        "a second claim gets nothing"
    );
    assert!(
        q.due(NOW + DAY_MS, 10).unwrap().is_empty(),
        "claimed: not due"
    );

    let sent = q
        .mark_sent(rec.id, &receipt("SM1", DeliveryStatus::Queued), NOW + 1)
        .unwrap();
    assert_eq!((sent.status, sent.send_after_ms), (SmsStatus::Sent, None));
    assert_eq!(sent.updated_at_ms, NOW + 1);
    assert!(
        !q.claim(rec.id, NOW + 2).unwrap(),
        "sent: never claimed again"
    );

    let report = |status, error| {
        q.apply_status("twilio", "SM1", status, error, NOW + 3)
            .unwrap()
    };
    assert!(
        report(DeliveryStatus::Queued, None).is_none(),
        "no going back"
    );
    assert!(
        report(DeliveryStatus::Sent, None).is_none(),
        "no standing still"
    );
    assert!(
        q.apply_status("aliyun", "SM1", DeliveryStatus::Delivered, None, NOW)
            .unwrap()
            .is_none(),
        "another provider's id"
    );
    assert!(
        q.apply_status("twilio", "SM2", DeliveryStatus::Delivered, None, NOW)
            .unwrap()
            .is_none(),
        "an unknown id"
    );
    let delivered = report(DeliveryStatus::Delivered, None).expect("forward");
    assert_eq!(
        (delivered.id, delivered.status),
        (rec.id, SmsStatus::Delivered)
    );
    assert!(
        report(DeliveryStatus::Failed, Some("30003")).is_none(),
        "final"
    );
    let stored = q.get(rec.id).unwrap().unwrap();
    assert_eq!((stored.status, stored.error), (SmsStatus::Delivered, None));
}

#[test]
fn a_message_is_claimed_once_and_reports_only_move_it_forward() {
    let w = Fixture::new();
    w.run(|s| claimed_once_and_reported_forward_only(&*s.sms(), &w));
}

fn a_failure_keeps_its_error(q: &dyn SmsQueue, w: &Fixture) {
    let rec = queue(q, &w.a, &phone("13800138000"), NOW);
    q.claim(rec.id, NOW).unwrap();
    q.mark_sent(rec.id, &receipt("SM1", DeliveryStatus::Sent), NOW)
        .unwrap();
    // A failure report of a sent message, its error cut to the kept length
    // in characters (not bytes: a Chinese error is not cut mid-character).
    let long = "号码无效".repeat(MAX_ERROR_CHARS);
    let failed = q
        .apply_status(
            "twilio",
            "SM1",
            DeliveryStatus::Failed,
            Some(&long),
            NOW + 1,
        )
        .unwrap()
        .expect("sent to failed");
    assert_eq!(failed.status, SmsStatus::Failed);
    let kept: String = long.chars().take(MAX_ERROR_CHARS).collect();
    assert_eq!(failed.error.as_deref(), Some(kept.as_str()));

    // Failed by the runner with no provider named: the error is stored.
    let other = queue(q, &w.a, &phone("13800138001"), NOW);
    let failed = q.mark_failed(other.id, None, "规则拒绝", NOW + 2).unwrap();
    assert_eq!(
        (failed.status, failed.error.as_deref(), failed.send_after_ms),
        (SmsStatus::Failed, Some("规则拒绝"), None)
    );
    assert!(
        !q.claim(other.id, NOW + 3).unwrap(),
        "failed: never claimed"
    );
}

#[test]
fn a_failure_keeps_its_error_whole_characters() {
    let w = Fixture::new();
    w.run(|s| a_failure_keeps_its_error(&*s.sms(), &w));
}

fn a_requeued_message_waits(q: &dyn SmsQueue, w: &Fixture) {
    let rec = queue(q, &w.a, &phone("13800138000"), NOW);
    let later = q.requeue(rec.id, NOW + DAY_MS, NOW + 1).unwrap();
    assert_eq!(
        (later.status, later.send_after_ms, later.updated_at_ms),
        (SmsStatus::Queued, Some(NOW + DAY_MS), NOW + 1)
    );
    assert!(q.due(NOW + DAY_MS - 1, 10).unwrap().is_empty());
    assert_eq!(q.due(NOW + DAY_MS, 10).unwrap().len(), 1);
}

#[test]
fn a_requeued_message_waits_until_it_is_due() {
    let w = Fixture::new();
    w.run(|s| a_requeued_message_waits(&*s.sms(), &w));
}

fn codes_are_sent_once(q: &dyn SmsQueue, w: &Fixture) {
    let code = |to| NewCode {
        company_id: w.a.company.id,
        rep_id: w.a.rep.id,
        invitation_id: None,
        name: "新同事",
        phone: to,
        masked_text: "您的验证码是 ******",
    };
    let ok = q.insert_code(code("+8613700137000"), NOW).unwrap();
    let bad = q.insert_code(code("+8613700137001"), NOW).unwrap();
    assert_ne!(ok, bad);
    // Being sent already: the runner never picks a code up.
    assert!(q.due(NOW + DAY_MS, 10).unwrap().is_empty());
    assert!(!q.claim(ok, NOW).unwrap());
    q.code_sent(ok, &receipt("SM7", DeliveryStatus::Sent), NOW + 1)
        .unwrap();
    q.code_failed(bad, "twilio", "无法送达", NOW + 1).unwrap();
    let sent = q.get(ok).unwrap().unwrap();
    assert_eq!(
        (sent.status, sent.text.as_str(), sent.updated_at_ms),
        (SmsStatus::Sent, "您的验证码是 ******", NOW + 1)
    );
    let failed = q.get(bad).unwrap().unwrap();
    assert_eq!(
        (failed.status, failed.error.as_deref()),
        (SmsStatus::Failed, Some("无法送达"))
    );
    // Reports reach a code's message too.
    let delivered = q
        .apply_status("twilio", "SM7", DeliveryStatus::Delivered, None, NOW + 2)
        .unwrap()
        .expect("delivered");
    assert_eq!(delivered.id, ok);
    // The sent code counts in its number's history, with its kind; the
    // failed one never reached its phone.
    let h = q.history("+8613700137000", None, NOW).unwrap();
    assert_eq!(h.sent.len(), 1);
    assert_eq!(
        (h.sent[0].kind, h.sent[0].at_utc_ms),
        (MessageKind::OneTimeCode, NOW + 1)
    );
    assert!(q
        .history("+8613700137001", None, NOW)
        .unwrap()
        .sent
        .is_empty());
}

#[test]
fn a_codes_message_is_never_queued_and_counts_once_sent() {
    let w = Fixture::new();
    w.run(|s| codes_are_sent_once(&*s.sms(), &w));
}

fn history_and_opt_outs(q: &dyn SmsQueue, w: &Fixture) {
    let to = phone("13800138000");
    let first = queue(q, &w.a, &to, NOW);
    let waiting = queue(q, &w.b, &to, NOW + DAY_MS);
    let h = q.history(to.as_e164(), None, NOW).unwrap();
    assert!(!h.opted_out);
    assert_eq!(h.sent.len(), 2, "queued messages count, of any company");
    assert_eq!(h.sent[0].kind, MessageKind::Invitation);
    let h = q.history(to.as_e164(), Some(waiting.id), NOW).unwrap();
    assert_eq!(h.sent.len(), 1, "the message re-checked is left out");
    assert!(
        q.history(to.as_e164(), None, NOW + 1)
            .unwrap()
            .sent
            .is_empty(),
        "since"
    );
    q.mark_failed(first.id, Some("twilio"), "boom", NOW)
        .unwrap();
    assert_eq!(q.history(to.as_e164(), None, NOW).unwrap().sent.len(), 1);

    assert!(q.opt_out(to.as_e164(), "twilio", NOW).unwrap(), "new");
    assert!(
        !q.opt_out(to.as_e164(), "aliyun", NOW + 1).unwrap(),
        "kept once"
    );
    assert!(
        q.history(to.as_e164(), None, NOW + 400 * DAY_MS)
            .unwrap()
            .opted_out
    );
    assert!(!q.history("+8613800138009", None, NOW).unwrap().opted_out);
}

#[test]
fn history_counts_what_reached_or_waits_for_the_phone_and_opt_outs_stay() {
    let w = Fixture::new();
    w.run(|s| history_and_opt_outs(&*s.sms(), &w));
}

fn a_cancel_reaches_only_the_reps_waiting_messages(q: &dyn SmsQueue, w: &Fixture) {
    let waiting = queue(q, &w.a, &phone("13800138000"), NOW + DAY_MS);
    let claimed = queue(q, &w.a, &phone("13800138001"), NOW);
    q.claim(claimed.id, NOW).unwrap();
    let others = queue(q, &w.b, &phone("13800138002"), NOW + DAY_MS);
    // Another company's id with this rep reaches nothing.
    assert_eq!(
        q.cancel_queued_of(w.b.company.id, w.a.rep.id, NOW).unwrap(),
        0
    );
    assert_eq!(
        q.cancel_queued_of(w.a.company.id, w.a.rep.id, NOW + 1)
            .unwrap(),
        1
    );
    assert_eq!(
        q.cancel_queued_of(w.a.company.id, w.a.rep.id, NOW + 2)
            .unwrap(),
        0,
        "once"
    );
    let got = q.get(waiting.id).unwrap().unwrap();
    assert_eq!(
        (got.status, got.error.as_deref()),
        (SmsStatus::Failed, Some(CANCELLED_SWITCHED_OFF))
    );
    assert_eq!(
        q.get(claimed.id).unwrap().unwrap().status,
        SmsStatus::Queued,
        "goes on"
    );
    assert_eq!(q.get(others.id).unwrap().unwrap().status, SmsStatus::Queued);
}

#[test]
fn a_cancel_reaches_only_the_companys_rep_and_what_is_not_claimed() {
    let w = Fixture::new();
    w.run(|s| a_cancel_reaches_only_the_reps_waiting_messages(&*s.sms(), &w));
}

fn interrupted_sends_fail_once(q: &dyn SmsQueue, w: &Fixture) {
    let rec = queue(q, &w.a, &phone("13800138000"), NOW);
    let unclaimed = queue(q, &w.a, &phone("13800138001"), NOW);
    q.claim(rec.id, NOW).unwrap();
    assert_eq!(
        q.fail_interrupted(NOW, NOW + 1).unwrap(),
        0,
        "claimed at the cut-off"
    );
    assert_eq!(q.fail_interrupted(NOW + 1, NOW + 1).unwrap(), 1);
    assert_eq!(
        q.fail_interrupted(NOW + 2, NOW + 2).unwrap(),
        0,
        "failed once"
    );
    let got = q.get(rec.id).unwrap().unwrap();
    assert_eq!(got.status, SmsStatus::Failed);
    assert!(got.error.unwrap().contains("interrupted"));
    assert_eq!(
        q.get(unclaimed.id).unwrap().unwrap().status,
        SmsStatus::Queued
    );
}

#[test]
fn an_interrupted_send_fails_once_instead_of_repeating() {
    let w = Fixture::new();
    w.run(|s| interrupted_sends_fail_once(&*s.sms(), &w));
}

/// Every change a rep sees reaches the change log, for the rep's company.
#[test]
fn each_change_of_a_message_is_logged_for_its_company() {
    let w = Fixture::new();
    w.run(|s| {
        let q = s.sms();
        let seq = w.newest_seq(s);
        let rec = queue(&*q, &w.b, &phone("13800138000"), NOW);
        q.claim(rec.id, NOW).unwrap();
        q.mark_sent(rec.id, &receipt("SM1", DeliveryStatus::Sent), NOW)
            .unwrap();
        q.apply_status("twilio", "SM1", DeliveryStatus::Delivered, None, NOW)
            .unwrap();
        q.insert_code(
            NewCode {
                company_id: w.b.company.id,
                rep_id: w.b.rep.id,
                invitation_id: None,
                name: "新同事",
                phone: "+8613700137000",
                masked_text: "******",
            },
            NOW,
        )
        .unwrap();
        let logged = w.changes_after(s, seq);
        assert_eq!(
            entities(&logged),
            vec!["sms_record"; 3],
            "queued, sent, delivered; no code"
        );
        assert!(logged.iter().all(|(c, _)| *c == w.b.company.id));
    });
}

/// What the runner and a dry run read in a snapshot.
#[test]
fn the_queue_answers_in_a_read_only_snapshot() {
    let w = Fixture::new();
    let to = phone("13800138000");
    let rec = w.run(|s| queue(&*s.sms(), &w.a, &to, NOW));
    let (due, history) = w.read(|s| {
        let q = s.sms();
        (
            q.due(NOW, 10).unwrap(),
            q.history(to.as_e164(), None, NOW).unwrap(),
        )
    });
    assert_eq!(due.iter().map(|d| d.id).collect::<Vec<_>>(), vec![rec.id]);
    assert_eq!((history.sent.len(), history.opted_out), (1, false));
}
