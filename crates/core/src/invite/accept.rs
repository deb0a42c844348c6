//! Accepting an invitation: whether one more person may, and what joining
//! writes (the new partner's binding, the invitation's uses and status).
//! Storage fetches the facts, calls these and stores the decision.

use super::{Invitation, InvitationStatus, InviteChannel, PartnerSource};
use crate::domain::Role;

/// Why an invitation cannot be accepted any more (the page says 410 Gone).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closed {
    Expired,
    Revoked,
    UsedUp,
}

/// Whether one more person may accept `inv` at `now_ms`, and if not, why.
pub fn closed_reason(inv: &Invitation, now_ms: i64) -> Option<Closed> {
    match inv.status_at(now_ms) {
        InvitationStatus::Revoked => Some(Closed::Revoked),
        InvitationStatus::Expired => Some(Closed::Expired),
        InvitationStatus::Accepted => Some(Closed::UsedUp),
        InvitationStatus::Pending if !inv.can_accept(now_ms) => Some(Closed::UsedUp),
        InvitationStatus::Pending => None,
    }
}

/// An SMS invitation reached one number, and having the link proves only
/// that: only that number (E.164) may accept it. Other invitations (QR,
/// poster, short code) are for whoever holds them.
pub fn is_for_phone(inv: &Invitation, phone_e164: &str) -> bool {
    match (inv.channel, inv.recipient_phone.as_deref()) {
        (InviteChannel::Sms, Some(to)) => to == phone_e164,
        _ => true,
    }
}

/// What storage knows about an open invitation's acceptance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facts {
    /// Someone in the company already has the phone.
    pub already_member: bool,
    pub inviter_id: i64,
    pub inviter_role: Role,
}

/// What accepting an open invitation does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// An SMS invitation accepted with another number than it was sent to.
    NotTheRecipient,
    /// The phone already belongs to someone in the company: nothing written.
    AlreadyMember,
    /// A new partner joins.
    Join(Join),
}

/// The new partner and the invitation after one more use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Join {
    /// The rep the partner is bound to: the inviter if a rep; a manager's
    /// invitee stays unbound.
    pub rep_id: Option<i64>,
    pub invited_by: i64,
    pub source: PartnerSource,
    pub uses: i64,
    pub status: InvitationStatus,
}

/// Decides the acceptance of an invitation `closed_reason` left open.
pub fn decide(inv: &Invitation, phone_e164: &str, facts: Facts) -> Decision {
    if !is_for_phone(inv, phone_e164) {
        return Decision::NotTheRecipient;
    }
    if facts.already_member {
        return Decision::AlreadyMember;
    }
    let uses = inv.uses + 1;
    let status = if inv.max_uses.is_some_and(|max| uses >= max) {
        InvitationStatus::Accepted
    } else {
        inv.status
    };
    Decision::Join(Join {
        rep_id: (facts.inviter_role == Role::Rep).then_some(facts.inviter_id),
        invited_by: facts.inviter_id,
        source: PartnerSource::from(inv.channel),
        uses,
        status,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_000_000;

    fn inv(
        channel: InviteChannel,
        status: InvitationStatus,
        max: Option<i64>,
        uses: i64,
    ) -> Invitation {
        Invitation {
            id: 1,
            company_id: 1,
            rep_id: 2,
            channel,
            status,
            max_uses: max,
            uses,
            created_at_ms: 0,
            expires_at_ms: NOW + 1,
            url: String::new(),
            short_code: String::new(),
            recipient_name: None,
            recipient_phone: (channel == InviteChannel::Sms).then(|| "+8613800138000".into()),
        }
    }

    #[test]
    fn closed_invitations_say_why() {
        use InvitationStatus::*;
        let qr = InviteChannel::Qr;
        let mut expired = inv(qr, Pending, None, 0);
        expired.expires_at_ms = NOW;
        // invitation -> why it is closed at NOW
        let table = [
            (inv(qr, Pending, None, 9), None),
            (inv(qr, Pending, Some(2), 1), None),
            (inv(qr, Pending, Some(2), 2), Some(Closed::UsedUp)),
            (inv(qr, Accepted, Some(1), 1), Some(Closed::UsedUp)),
            (inv(qr, Revoked, None, 0), Some(Closed::Revoked)),
            (expired, Some(Closed::Expired)),
        ];
        for (i, expected) in table {
            assert_eq!(closed_reason(&i, NOW), expected, "{i:?}");
        }
    }

    #[test]
    fn who_joins_and_how() {
        use InvitationStatus::*;
        let (sms, qr, poster) = (InviteChannel::Sms, InviteChannel::Qr, InviteChannel::Poster);
        let to = "+8613800138000";
        let other = "+8613900139000";
        let rep = Facts {
            already_member: false,
            inviter_id: 2,
            inviter_role: Role::Rep,
        };
        let manager = Facts {
            inviter_id: 1,
            inviter_role: Role::Manager,
            ..rep
        };
        let member = Facts {
            already_member: true,
            ..rep
        };
        let join = |rep_id, invited_by, source, uses, status| {
            Decision::Join(Join {
                rep_id,
                invited_by,
                source,
                uses,
                status,
            })
        };
        // invitation, phone, facts -> decision
        let table = [
            (
                inv(sms, Pending, Some(1), 0),
                other,
                rep,
                Decision::NotTheRecipient,
            ),
            // the wrong number is refused before membership is told
            (
                inv(sms, Pending, Some(1), 0),
                other,
                member,
                Decision::NotTheRecipient,
            ),
            (
                inv(sms, Pending, Some(1), 0),
                to,
                member,
                Decision::AlreadyMember,
            ),
            (
                inv(qr, Pending, None, 0),
                other,
                member,
                Decision::AlreadyMember,
            ),
            (
                inv(sms, Pending, Some(1), 0),
                to,
                rep,
                join(Some(2), 2, PartnerSource::Sms, 1, Accepted),
            ),
            (
                inv(qr, Pending, None, 4),
                other,
                rep,
                join(Some(2), 2, PartnerSource::Qr, 5, Pending),
            ),
            (
                inv(poster, Pending, Some(3), 1),
                other,
                manager,
                join(None, 1, PartnerSource::Poster, 2, Pending),
            ),
            (
                inv(poster, Pending, Some(3), 2),
                other,
                manager,
                join(None, 1, PartnerSource::Poster, 3, Accepted),
            ),
        ];
        for (i, phone, facts, expected) in table {
            assert_eq!(
                decide(&i, phone, facts),
                expected,
                "{i:?} {phone} {facts:?}"
            );
        }
    }
}
