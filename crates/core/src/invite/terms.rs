//! A new invitation's terms: who may invite, how long it lives, how many
//! people may accept it.

use super::{NewInvitation, DEFAULT_INVITATION_HOURS, MAX_INVITATION_HOURS};
use crate::domain::Role;

const HOUR_MS: i64 = 3600 * 1000;

/// Why an invitation cannot be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Only reps and managers invite partners.
    NotAnInviter,
    /// Hours of life outside 1..=[`MAX_INVITATION_HOURS`].
    BadHours(u32),
}

/// What storage writes for a new invitation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Terms {
    /// `None`: anyone holding it may accept (posters, group chats).
    pub max_uses: Option<i64>,
    pub expires_at_ms: i64,
}

/// Hours of life asked for (the default when none), checked.
pub fn checked_hours(hours: Option<u32>) -> Result<i64, Refused> {
    let h = hours.unwrap_or(DEFAULT_INVITATION_HOURS);
    if h == 0 || h > MAX_INVITATION_HOURS {
        return Err(Refused::BadHours(h));
    }
    Ok(i64::from(h))
}

/// Reps and managers invite partners; partners do not.
pub fn may_invite(role: Role) -> bool {
    matches!(role, Role::Rep | Role::Manager)
}

/// The terms of `new` made by a user of `role` at `now_ms`.
pub fn terms(role: Role, new: &NewInvitation, now_ms: i64) -> Result<Terms, Refused> {
    if !may_invite(role) {
        return Err(Refused::NotAnInviter);
    }
    let hours = checked_hours(new.expires_in_hours)?;
    Ok(Terms {
        max_uses: (!new.multi_use).then_some(1),
        expires_at_ms: now_ms + hours * HOUR_MS,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::invite::InviteChannel;

    #[test]
    fn terms_of_a_new_invitation() {
        let new = |multi_use, hours| NewInvitation {
            channel: InviteChannel::Qr,
            multi_use,
            expires_in_hours: hours,
        };
        let week = i64::from(DEFAULT_INVITATION_HOURS) * HOUR_MS;
        let max = i64::from(MAX_INVITATION_HOURS) * HOUR_MS;
        let ok = |max_uses, expires_at_ms| {
            Ok(Terms {
                max_uses,
                expires_at_ms,
            })
        };
        // role, request -> terms at time 5
        let table = [
            (Role::Rep, new(false, None), ok(Some(1), 5 + week)),
            (Role::Manager, new(true, None), ok(None, 5 + week)),
            (Role::Rep, new(true, Some(1)), ok(None, 5 + HOUR_MS)),
            (
                Role::Rep,
                new(false, Some(MAX_INVITATION_HOURS)),
                ok(Some(1), 5 + max),
            ),
            (Role::Rep, new(false, Some(0)), Err(Refused::BadHours(0))),
            (
                Role::Rep,
                new(false, Some(MAX_INVITATION_HOURS + 1)),
                Err(Refused::BadHours(MAX_INVITATION_HOURS + 1)),
            ),
            (Role::Partner, new(false, None), Err(Refused::NotAnInviter)),
            // the role is refused before the hours are looked at
            (
                Role::Partner,
                new(false, Some(0)),
                Err(Refused::NotAnInviter),
            ),
        ];
        for (role, n, expected) in table {
            assert_eq!(terms(role, &n, 5), expected, "{role:?} {n:?}");
        }
    }
}
