//! Table tests for the SMS rules: opt-out, quiet hours in the recipient's zone, daily cap,
//! duplicates, named recipients triggered by a rep.

use warmlead_core::phone::Phone;
use warmlead_sms::rules::{compose, is_opt_out_reply};
use warmlead_sms::{
    decide, Decision, History, MessageKind, RefuseReason, Rules, SendRequest, SentRecord,
};

const HOUR: i64 = 3_600_000;
const MINUTE: i64 = 60_000;
/// 2026-11-23T00:00:00Z, which is 08:00 in China (UTC+8).
const DAY0: i64 = 1_795_392_000_000;

/// An instant given as China local time on 2026-11-23 (may be negative hours for the day before).
fn cn(hour: i64, minute: i64) -> i64 {
    DAY0 - 8 * HOUR + hour * HOUR + minute * MINUTE
}

fn invitation(phone: &str) -> SendRequest {
    SendRequest {
        kind: MessageKind::Invitation,
        to: Phone::parse(phone).unwrap(),
        recipient_name: "王芳".into(),
        triggered_by_rep: Some(7),
        body: "王芳您好，我是李娜，邀请您成为合作伙伴：https://w.example/i/abc".into(),
        template_params: vec![("name".into(), "王芳".into())],
    }
}

fn code(phone: &str) -> SendRequest {
    SendRequest {
        kind: MessageKind::OneTimeCode,
        recipient_name: String::new(),
        triggered_by_rep: None,
        body: "验证码 123456，5分钟内有效".into(),
        ..invitation(phone)
    }
}

fn code_at(at: i64) -> History {
    History {
        opted_out: false,
        sent: vec![sent(at, MessageKind::OneTimeCode)],
    }
}

fn invited_at(at: i64) -> History {
    History {
        opted_out: false,
        sent: vec![sent(at, MessageKind::Invitation)],
    }
}

fn sent(at: i64, kind: MessageKind) -> SentRecord {
    SentRecord {
        at_utc_ms: at,
        kind,
    }
}

fn refuse(reason: RefuseReason) -> Decision {
    Decision::Refuse { reason }
}

const CN: &str = "13800138000";

#[test]
fn rule_table() {
    let rules = Rules::default();
    let empty = History::default();
    let opted_out = History {
        opted_out: true,
        sent: vec![sent(
            cn(10, 0) - 3 * 365 * 24 * HOUR,
            MessageKind::Invitation,
        )],
    };
    let invited_23h_ago = History {
        opted_out: false,
        sent: vec![sent(cn(10, 0) - 23 * HOUR, MessageKind::Invitation)],
    };
    let invited_25h_ago = History {
        opted_out: false,
        sent: vec![sent(cn(10, 0) - 25 * HOUR, MessageKind::Invitation)],
    };
    let three_codes_today = History {
        opted_out: false,
        sent: (0..3)
            .map(|i| sent(cn(0, 30 + i), MessageKind::OneTimeCode))
            .collect(),
    };
    let three_codes_yesterday_evening = History {
        opted_out: false,
        sent: (0..3)
            .map(|i| sent(cn(-1, i), MessageKind::OneTimeCode))
            .collect(),
    };
    let code_59s_ago = code_at(cn(10, 0) - 59_000);
    let code_60s_ago = code_at(cn(10, 0) - 60_000);
    let invited_1s_ago = invited_at(cn(10, 0) - 1_000);
    let nameless = SendRequest {
        recipient_name: "  ".into(),
        ..invitation(CN)
    };
    let no_rep = SendRequest {
        triggered_by_rep: None,
        ..invitation(CN)
    };
    let empty_body = SendRequest {
        body: " \n".into(),
        ..invitation(CN)
    };
    let long_body = SendRequest {
        body: "长".repeat(295),
        ..invitation(CN)
    };
    let long_name = SendRequest {
        recipient_name: "名".repeat(41),
        ..invitation(CN)
    };
    let next_8am = Decision::Queue {
        until_utc_ms: cn(24 + 8, 0),
    };
    let this_8am = Decision::Queue {
        until_utc_ms: cn(8, 0),
    };

    let table: Vec<(&str, SendRequest, &History, i64, Decision)> = vec![
        (
            "named invitation at 10:00 local",
            invitation(CN),
            &empty,
            cn(10, 0),
            Decision::Send,
        ),
        (
            "not triggered by a rep",
            no_rep,
            &empty,
            cn(10, 0),
            refuse(RefuseReason::NotTriggeredByRep),
        ),
        (
            "no name",
            nameless,
            &empty,
            cn(10, 0),
            refuse(RefuseReason::MissingName),
        ),
        (
            "name too long",
            long_name,
            &empty,
            cn(10, 0),
            refuse(RefuseReason::NameTooLong),
        ),
        (
            "empty body",
            empty_body,
            &empty,
            cn(10, 0),
            refuse(RefuseReason::EmptyBody),
        ),
        (
            "body + opt-out line too long",
            long_body,
            &empty,
            cn(10, 0),
            refuse(RefuseReason::TextTooLong),
        ),
        (
            "opted out three years ago",
            invitation(CN),
            &opted_out,
            cn(10, 0),
            refuse(RefuseReason::OptedOut),
        ),
        (
            "invited 23 h ago",
            invitation(CN),
            &invited_23h_ago,
            cn(10, 0),
            refuse(RefuseReason::DuplicateInvitation),
        ),
        (
            "invited 25 h ago",
            invitation(CN),
            &invited_25h_ago,
            cn(10, 0),
            Decision::Send,
        ),
        (
            "cap reached today",
            invitation(CN),
            &three_codes_today,
            cn(10, 0),
            refuse(RefuseReason::DailyCapReached),
        ),
        (
            "yesterday's sends do not count",
            invitation(CN),
            &three_codes_yesterday_evening,
            cn(10, 0),
            Decision::Send,
        ),
        (
            "07:59 local is quiet",
            invitation(CN),
            &empty,
            cn(7, 59),
            this_8am,
        ),
        (
            "08:00 local opens",
            invitation(CN),
            &empty,
            cn(8, 0),
            Decision::Send,
        ),
        (
            "20:59 local still open",
            invitation(CN),
            &empty,
            cn(20, 59),
            Decision::Send,
        ),
        (
            "21:00 local is quiet",
            invitation(CN),
            &empty,
            cn(21, 0),
            next_8am,
        ),
        (
            "23:30 local is quiet",
            invitation(CN),
            &empty,
            cn(23, 30),
            next_8am,
        ),
        (
            "00:10 local is quiet",
            invitation(CN),
            &empty,
            cn(0, 10),
            this_8am,
        ),
        (
            "opt-out beats quiet hours",
            invitation(CN),
            &opted_out,
            cn(23, 0),
            refuse(RefuseReason::OptedOut),
        ),
        (
            "duplicate beats quiet hours",
            invitation(CN),
            &invited_23h_ago,
            cn(-2, 0),
            refuse(RefuseReason::DuplicateInvitation),
        ),
        // A code the person asked for themselves: no rep, no name, no quiet hours. But an
        // opted-out number gets none (anyone can type a number into the form), and not two
        // within a minute.
        (
            "code at 23:00 local",
            code(CN),
            &empty,
            cn(23, 0),
            Decision::Send,
        ),
        (
            "code to an opted-out number",
            code(CN),
            &opted_out,
            cn(10, 0),
            refuse(RefuseReason::OptedOut),
        ),
        (
            "code 59 s after a code",
            code(CN),
            &code_59s_ago,
            cn(10, 0),
            refuse(RefuseReason::CodeTooSoon),
        ),
        (
            "code 60 s after a code",
            code(CN),
            &code_60s_ago,
            cn(10, 0),
            Decision::Send,
        ),
        (
            "an invitation moments ago does not delay a code",
            code(CN),
            &invited_1s_ago,
            cn(10, 0),
            Decision::Send,
        ),
        (
            "codes are capped too",
            code(CN),
            &three_codes_today,
            cn(10, 0),
            refuse(RefuseReason::DailyCapReached),
        ),
    ];
    for (name, req, history, now, want) in table {
        assert_eq!(decide(&req, history, &rules, now), want, "{name}");
    }
}

#[test]
fn quiet_hours_follow_the_recipients_zone() {
    let rules = Rules::default();
    // 14:00 UTC: 22:00 in Beijing (quiet), 23:00 in Tokyo (quiet), 19:30 in India (open).
    let at = DAY0 + 14 * HOUR;
    let beijing = decide(&invitation(CN), &History::default(), &rules, at);
    assert_eq!(
        beijing,
        Decision::Queue {
            until_utc_ms: DAY0 + 24 * HOUR
        }
    );
    let tokyo = decide(
        &invitation("+81 90 1234 5678"),
        &History::default(),
        &rules,
        at,
    );
    // 08:00 in Tokyo is 23:00 UTC.
    assert_eq!(
        tokyo,
        Decision::Queue {
            until_utc_ms: DAY0 + 23 * HOUR
        }
    );
    let india = decide(
        &invitation("+91 98765 43210"),
        &History::default(),
        &rules,
        at,
    );
    assert_eq!(india, Decision::Send);
    // Hong Kong shares Beijing's clock.
    let hk = decide(
        &invitation("+852 9123 4567"),
        &History::default(),
        &rules,
        at,
    );
    assert_eq!(hk, beijing);
}

#[test]
fn zones_we_do_not_know_use_the_configured_fallback() {
    // New York in winter (UTC-5), configured by the company.
    let rules = Rules {
        fallback_utc_offset_minutes: -300,
        ..Rules::default()
    };
    let us = invitation("+1 (415) 555-2671");
    // 02:00 UTC = 21:00 in New York: queued until 08:00 there = 13:00 UTC.
    let at = DAY0 + 2 * HOUR;
    assert_eq!(
        decide(&us, &History::default(), &rules, at),
        Decision::Queue {
            until_utc_ms: DAY0 + 13 * HOUR
        }
    );
    assert_eq!(
        decide(&us, &History::default(), &rules, DAY0 + 13 * HOUR),
        Decision::Send
    );
}

#[test]
fn quiet_hours_and_caps_are_configurable() {
    let none = Rules {
        quiet_start_minute: 0,
        quiet_end_minute: 0,
        ..Rules::default()
    };
    assert_eq!(
        decide(&invitation(CN), &History::default(), &none, cn(3, 0)),
        Decision::Send
    );
    // A window that does not wrap midnight: 12:00-14:00.
    let lunch = Rules {
        quiet_start_minute: 12 * 60,
        quiet_end_minute: 14 * 60,
        ..Rules::default()
    };
    assert_eq!(
        decide(&invitation(CN), &History::default(), &lunch, cn(12, 30)),
        Decision::Queue {
            until_utc_ms: cn(14, 0)
        }
    );
    assert_eq!(
        decide(&invitation(CN), &History::default(), &lunch, cn(22, 0)),
        Decision::Send
    );
    let one_a_day = Rules {
        daily_cap_per_number: 1,
        ..Rules::default()
    };
    let one_code = History {
        opted_out: false,
        sent: vec![sent(cn(9, 0), MessageKind::OneTimeCode)],
    };
    assert_eq!(
        decide(&invitation(CN), &one_code, &one_a_day, cn(10, 0)),
        refuse(RefuseReason::DailyCapReached)
    );
    assert_eq!(
        decide(&invitation(CN), &one_code, &Rules::default(), cn(10, 0)),
        Decision::Send
    );
}

#[test]
fn a_queued_invitation_goes_out_when_the_window_opens() {
    let rules = Rules::default();
    let Decision::Queue { until_utc_ms } =
        decide(&invitation(CN), &History::default(), &rules, cn(22, 15))
    else {
        panic!("22:15 local must queue");
    };
    assert_eq!(
        decide(&invitation(CN), &History::default(), &rules, until_utc_ms),
        Decision::Send
    );
    assert!(matches!(
        decide(
            &invitation(CN),
            &History::default(),
            &rules,
            until_utc_ms - 1
        ),
        Decision::Queue { .. }
    ));
}

#[test]
fn invitations_carry_the_opt_out_line_once() {
    let rules = Rules::default();
    let msg = compose(&invitation(CN), &rules);
    assert!(msg.text.ends_with(" 拒收请回复R"), "{}", msg.text);
    assert_eq!(msg.text.matches("拒收请回复R").count(), 1);
    let already = SendRequest {
        body: "你好 拒收请回复R".into(),
        ..invitation(CN)
    };
    assert_eq!(compose(&already, &rules).text, "你好 拒收请回复R");
    let custom = Rules {
        opt_out_line: "Reply STOP to opt out".into(),
        ..Rules::default()
    };
    assert!(compose(&invitation(CN), &custom)
        .text
        .ends_with("Reply STOP to opt out"));
    assert!(!compose(&code(CN), &rules).text.contains("拒收"));
    assert_eq!(msg.to.as_e164(), "+8613800138000");
}

#[test]
fn opt_out_replies_are_recognised() {
    for yes in [
        "R", "r", " R\n", "Ｒ", "TD", "td", "T", "退订", "拒收", "STOP", "Stop",
    ] {
        assert!(is_opt_out_reply(yes), "{yes:?}");
    }
    for no in ["", "好的", "RR", "谢谢", "Yes", "不要退订哦"] {
        assert!(!is_opt_out_reply(no), "{no:?}");
    }
}

#[test]
fn refusals_map_to_error_codes() {
    use warmlead_core::ErrorCode;
    assert_eq!(RefuseReason::OptedOut.code(), ErrorCode::Forbidden);
    assert_eq!(RefuseReason::DailyCapReached.code(), ErrorCode::RateLimited);
    assert_eq!(
        RefuseReason::DuplicateInvitation.code(),
        ErrorCode::Conflict
    );
    assert_eq!(RefuseReason::MissingName.code(), ErrorCode::InvalidInput);
    assert!(!RefuseReason::MissingName.message().is_empty());
}

/// decide + compose + send through the console provider (the real default provider).
#[tokio::test]
async fn dispatch_sends_queues_and_refuses() {
    use warmlead_sms::{dispatch, ConsoleProvider, DeliveryStatus, Outcome};
    let outbox = ConsoleProvider::new();
    let rules = Rules::default();
    let mut history = History::default();

    let sent = dispatch(&outbox, &rules, &invitation(CN), &history, cn(10, 0))
        .await
        .unwrap();
    let Outcome::Sent { message, receipt } = &sent else {
        panic!("expected Sent, got {sent:?}");
    };
    assert!(message.text.ends_with("拒收请回复R"));
    assert_eq!(receipt.provider, "console");
    assert_eq!(sent.status(), Some(DeliveryStatus::Delivered));
    history.sent.push(SentRecord {
        at_utc_ms: cn(10, 0),
        kind: MessageKind::Invitation,
    });

    // The same invitation an hour later is a duplicate; nothing more reaches the outbox.
    let again = dispatch(&outbox, &rules, &invitation(CN), &history, cn(11, 0))
        .await
        .unwrap();
    assert_eq!(
        again,
        Outcome::Refused {
            reason: RefuseReason::DuplicateInvitation
        }
    );

    // Another number at 22:00 local waits for the morning.
    let late = dispatch(
        &outbox,
        &rules,
        &invitation("13900139000"),
        &History::default(),
        cn(22, 0),
    )
    .await
    .unwrap();
    assert_eq!(
        late,
        Outcome::Queued {
            until_utc_ms: cn(24 + 8, 0)
        }
    );
    assert_eq!(late.status(), Some(DeliveryStatus::Queued));

    assert_eq!(outbox.outbox().len(), 1);
    assert_eq!(outbox.outbox()[0].to, "+8613800138000");
}
