//! Planning an SMS invitation send, without IO: the checks of a recipient
//! that need no database, and the plan of a number from what storage knows
//! (already in the company) and the SMS rules' decision.
//!
//! Per recipient, in this order: the number (E.164), the name, the same
//! number twice in the request, already someone in the company, then the
//! SMS rules (`warmlead_sms::decide`) with the number's history.

use std::collections::HashSet;

use warmlead_core::invite::{SmsPlan, SmsRecipient, SmsRefusal, MAX_SMS_RECIPIENTS};
use warmlead_core::phone::Phone;
use warmlead_sms::{Decision, RefuseReason};

use crate::error::ServerError;

/// A recipient after the checks that need no database.
pub(super) enum Checked {
    Refused(SmsRefusal, Option<Phone>),
    Candidate(Phone),
}

pub(super) fn check_count(recipients: &[SmsRecipient]) -> Result<(), ServerError> {
    if recipients.is_empty() {
        return Err(ServerError::InvalidInput(
            "add at least one recipient (name and phone)".into(),
        ));
    }
    if recipients.len() > MAX_SMS_RECIPIENTS {
        return Err(ServerError::InvalidInput(format!(
            "at most {MAX_SMS_RECIPIENTS} recipients per send, got {}; split the list",
            recipients.len()
        )));
    }
    Ok(())
}

/// The number, the name and repeats within the request.
pub(super) fn precheck(recipients: &[SmsRecipient], max_name_chars: usize) -> Vec<Checked> {
    let mut seen = HashSet::new();
    recipients
        .iter()
        .map(|r| {
            let Ok(phone) = Phone::parse(&r.phone) else {
                return Checked::Refused(SmsRefusal::BadPhone, None);
            };
            let name = r.name.trim().chars().count();
            let refusal = if name == 0 {
                Some(SmsRefusal::MissingName)
            } else if name > max_name_chars {
                Some(SmsRefusal::NameTooLong)
            } else if !seen.insert(phone.clone()) {
                Some(SmsRefusal::RepeatedInRequest)
            } else {
                None
            };
            match refusal {
                Some(reason) => Checked::Refused(reason, Some(phone)),
                None => Checked::Candidate(phone),
            }
        })
        .collect()
}

/// A number's plan, and when its message may go (none: nothing is sent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Planned {
    pub plan: SmsPlan,
    pub send_after: Option<i64>,
}

/// The plan of a number that passed `precheck`: someone already in the
/// company is refused before the rules are asked (`decide` is not called).
pub(super) fn plan(already_partner: bool, decide: impl FnOnce() -> Decision, now: i64) -> Planned {
    let refuse = |reason| Planned {
        plan: SmsPlan::Refuse { reason },
        send_after: None,
    };
    if already_partner {
        return refuse(SmsRefusal::AlreadyPartner);
    }
    match decide() {
        Decision::Refuse { reason } => refuse(refusal(reason)),
        Decision::Queue { until_utc_ms } => Planned {
            plan: SmsPlan::Queue {
                until_ms: until_utc_ms,
            },
            send_after: Some(until_utc_ms),
        },
        Decision::Send => Planned {
            plan: SmsPlan::Send,
            send_after: Some(now),
        },
    }
}

/// The rules' reason in the API's words. The request-level reasons cannot
/// happen here (a rep, a name and a body are always there) but still map.
fn refusal(reason: RefuseReason) -> SmsRefusal {
    match reason {
        RefuseReason::NotTriggeredByRep | RefuseReason::MissingName => SmsRefusal::MissingName,
        RefuseReason::NameTooLong => SmsRefusal::NameTooLong,
        RefuseReason::EmptyBody | RefuseReason::TextTooLong => SmsRefusal::TextTooLong,
        RefuseReason::OptedOut => SmsRefusal::OptedOut,
        RefuseReason::DuplicateInvitation | RefuseReason::CodeTooSoon => SmsRefusal::Duplicate,
        RefuseReason::DailyCapReached => SmsRefusal::DailyCap,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(name: &str, phone: &str) -> SmsRecipient {
        SmsRecipient {
            name: name.into(),
            phone: phone.into(),
        }
    }

    #[test]
    fn prechecks_number_name_and_repeats() {
        let out = precheck(
            &[
                r("王五", "138 0013 8000"),
                r("赵六", "12345"),
                r(" ", "13700137000"),
                r(&"名".repeat(41), "13600136000"),
                r("王五", "+8613800138000"),
            ],
            40,
        );
        let kinds: Vec<Option<SmsRefusal>> = out
            .iter()
            .map(|c| match c {
                Checked::Refused(r, _) => Some(*r),
                Checked::Candidate(_) => None,
            })
            .collect();
        assert_eq!(
            kinds,
            vec![
                None,
                Some(SmsRefusal::BadPhone),
                Some(SmsRefusal::MissingName),
                Some(SmsRefusal::NameTooLong),
                Some(SmsRefusal::RepeatedInRequest)
            ]
        );
    }

    #[test]
    fn plans_a_number() {
        let refuse = |reason| Planned {
            plan: SmsPlan::Refuse { reason },
            send_after: None,
        };
        let queue = Decision::Queue { until_utc_ms: 900 };
        let opted_out = Decision::Refuse {
            reason: RefuseReason::OptedOut,
        };
        let capped = Decision::Refuse {
            reason: RefuseReason::DailyCapReached,
        };
        let dup = Decision::Refuse {
            reason: RefuseReason::DuplicateInvitation,
        };
        // already in the company, the rules' decision -> plan
        let table = [
            (true, Decision::Send, refuse(SmsRefusal::AlreadyPartner)),
            (true, opted_out, refuse(SmsRefusal::AlreadyPartner)),
            (
                false,
                Decision::Send,
                Planned {
                    plan: SmsPlan::Send,
                    send_after: Some(100),
                },
            ),
            (
                false,
                queue,
                Planned {
                    plan: SmsPlan::Queue { until_ms: 900 },
                    send_after: Some(900),
                },
            ),
            (false, opted_out, refuse(SmsRefusal::OptedOut)),
            (false, capped, refuse(SmsRefusal::DailyCap)),
            (false, dup, refuse(SmsRefusal::Duplicate)),
        ];
        for (already, decision, expected) in table {
            assert_eq!(
                plan(already, || decision, 100),
                expected,
                "{already} {decision:?}"
            );
        }
    }

    #[test]
    fn too_many_or_no_recipients_is_a_clear_400() {
        assert!(check_count(&[]).is_err());
        let many = vec![r("王五", "13800138000"); MAX_SMS_RECIPIENTS + 1];
        let e = check_count(&many).unwrap_err();
        assert!(e.to_string().contains("at most 200 recipients"), "{e}");
        assert!(check_count(&many[..MAX_SMS_RECIPIENTS]).is_ok());
    }
}
