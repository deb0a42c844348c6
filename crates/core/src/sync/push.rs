//! The push rules the server applies to each mutation, without IO: once
//! each (by mutation id), in seq order per device, and who may do what.

use super::{MutationBody, Outcome};
use crate::domain::{Channel, Role};
use crate::token::ShareClaim;

/// What to do with one pushed mutation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Pushed before: answer the stored outcome, apply nothing again.
    Replay(Outcome),
    /// A seq is missing before this one: apply nothing.
    Gap { expected: i64 },
    /// Apply (or reject) it, then store this as the device's last seq.
    Apply { last_seq: i64 },
}

/// Decides from the outcome stored under the mutation's id (if any) and the
/// device's last applied seq. The id, not the seq, says whether a mutation
/// was seen before: a new mutation at a seq the server already has comes
/// from a restored or copied desktop cache and is applied like any other,
/// while the last seq stays where it is (it never goes back).
pub fn step(stored: Option<Outcome>, last_seq: i64, seq: i64) -> Step {
    match stored {
        Some(outcome) => Step::Replay(outcome),
        None if seq > last_seq + 1 => Step::Gap {
            expected: last_seq + 1,
        },
        None => Step::Apply {
            last_seq: last_seq.max(seq),
        },
    }
}

/// Why `role` may never do `body`, or `None` when the role allows it (the
/// data may still refuse: MAN flags only on leads the user manages, see
/// `visibility::Managed`).
pub fn forbidden(role: Role, body: &MutationBody) -> Option<&'static str> {
    match body {
        MutationBody::CreateShare { .. } if !shares(role) => {
            Some("only partners and reps share content")
        }
        MutationBody::DeleteContentItem { .. } if role == Role::Partner => {
            Some("only managers and reps delete content items")
        }
        MutationBody::CreateInvitation { .. } if !crate::invite::terms::may_invite(role) => {
            Some("only reps and managers can invite partners")
        }
        MutationBody::SaveContent { .. }
        | MutationBody::PublishContent { .. }
        | MutationBody::ArchiveContent { .. }
            if role == Role::Partner =>
        {
            Some("only managers and reps write content items")
        }
        _ => None,
    }
}

/// Partners and reps share content; a manager's share never resolves.
pub fn shares(role: Role) -> bool {
    matches!(role, Role::Partner | Role::Rep)
}

/// Whether a verified share token of device `device_id` is the share pushed
/// with these fields (share numbers start at 1).
pub fn claim_matches(
    claim: &ShareClaim,
    device_id: u64,
    share_no: i64,
    item_id: i64,
    channel: Channel,
) -> bool {
    share_no >= 1
        && claim.device_id == device_id
        && i64::try_from(claim.share_no) == Ok(share_no)
        && i64::try_from(claim.item_id) == Ok(item_id)
        && claim.channel == channel
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    #[test]
    fn each_mutation_once_in_seq_order() {
        let rejected = Outcome::Rejected {
            code: ErrorCode::Forbidden,
            message: "no".into(),
        };
        // stored outcome, last seq, seq -> step
        let table = [
            (None, 0, 1, Step::Apply { last_seq: 1 }),
            (None, 4, 5, Step::Apply { last_seq: 5 }),
            (None, 4, 7, Step::Gap { expected: 5 }),
            (None, 0, 2, Step::Gap { expected: 1 }),
            // a restored desktop pushes new mutations at old seqs
            (None, 9, 3, Step::Apply { last_seq: 9 }),
            (None, 9, 9, Step::Apply { last_seq: 9 }),
            // seen before: the stored outcome, whatever the seq
            (Some(Outcome::Applied), 4, 5, Step::Replay(Outcome::Applied)),
            (Some(Outcome::Applied), 4, 9, Step::Replay(Outcome::Applied)),
            (Some(rejected.clone()), 0, 1, Step::Replay(rejected)),
        ];
        for (stored, last, seq, expected) in table {
            assert_eq!(
                step(stored.clone(), last, seq),
                expected,
                "{stored:?} {last} {seq}"
            );
        }
    }

    #[test]
    fn who_may_push_what() {
        let share = MutationBody::CreateShare {
            share_no: 1,
            item_id: 1,
            channel: crate::domain::Channel::Moments,
            token: String::new(),
            created_at_ms: 0,
        };
        let delete = MutationBody::DeleteContentItem { item_id: 1 };
        let rename = MutationBody::RenameSelf { name: "x".into() };
        let invite = MutationBody::CreateInvitation {
            invite_no: 1,
            channel: crate::invite::InviteChannel::Qr,
            max_uses: Some(1),
            expires_at_ms: 0,
            token: String::new(),
            created_at_ms: 0,
        };
        // body -> allowed for manager, rep, partner
        let table = [
            (share, [false, true, true]),
            (delete, [true, true, false]),
            (rename, [true, true, true]),
            (invite, [true, true, false]),
        ];
        for (body, expected) in table {
            let got =
                [Role::Manager, Role::Rep, Role::Partner].map(|r| forbidden(r, &body).is_none());
            assert_eq!(got, expected, "{body:?}");
        }
    }

    #[test]
    fn a_pushed_share_must_be_the_one_its_token_signs() {
        let claim = ShareClaim {
            device_id: 7,
            share_no: 3,
            item_id: 4,
            channel: Channel::Group,
        };
        // device, share_no, item_id, channel -> matches
        let table = [
            (7, 3, 4, Channel::Group, true),
            (8, 3, 4, Channel::Group, false),
            (7, 2, 4, Channel::Group, false),
            (7, 3, 5, Channel::Group, false),
            (7, 3, 4, Channel::Moments, false),
        ];
        for (device, no, item, channel, expected) in table {
            assert_eq!(
                claim_matches(&claim, device, no, item, channel),
                expected,
                "{device} {no} {item} {channel:?}"
            );
        }
        let zero = ShareClaim {
            share_no: 0,
            ..claim
        };
        assert!(
            !claim_matches(&zero, 7, 0, 4, Channel::Group),
            "numbers start at 1"
        );
    }
}
