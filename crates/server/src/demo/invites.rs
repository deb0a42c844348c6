//! Demo recruiting: the partners join over the last 60 days through the
//! reps' invitations (QR face to face, SMS, a poster in a WeChat group) or a
//! CSV import, through the same storage functions as real use; and each rep
//! has invitations of every channel and status, so the Invite dashboard's
//! conversion per channel has a shape.

use warmlead_core::csv_import::ImportRow;
use warmlead_core::domain::User;
use warmlead_core::invite::{InviteChannel, NewInvitation, PartnerSource};
use warmlead_core::phone::Phone;

use super::DAY_MS;
use crate::services::invitations;
use crate::storage::Database;
use crate::ServerError;

const HOUR_MS: i64 = 3600 * 1000;

/// One demo partner: who, whose, how they came and how long ago (days).
pub(super) struct Joiner {
    pub name: &'static str,
    pub phone: &'static str,
    /// 0: 李明, 1: 王芳.
    pub rep: usize,
    pub source: PartnerSource,
    pub days_ago: i64,
}

/// An invitation nobody (more) accepts: `age` days old, living `hours`.
struct Open {
    rep: usize,
    channel: InviteChannel,
    age_days: i64,
    hours: u32,
    /// Revoked this many days after it was made.
    revoked_after: Option<i64>,
    recipient: Option<(&'static str, &'static str)>,
}

/// Pending (still in time), expired (past `hours`) and revoked invitations.
const OPEN: &[Open] = &[
    // 李明: QR codes shown at the showroom, SMS to customers, an old poster.
    open(0, InviteChannel::Qr, 0, 24, None, None),
    open(0, InviteChannel::Qr, 9, 24, None, None),
    open(0, InviteChannel::Qr, 23, 24, None, None),
    open(0, InviteChannel::Qr, 6, 72, Some(1), None),
    open(
        0,
        InviteChannel::Sms,
        1,
        168,
        None,
        Some(("郑女士", "13600002001")),
    ),
    open(
        0,
        InviteChannel::Sms,
        2,
        168,
        None,
        Some(("钱先生", "13600002002")),
    ),
    open(
        0,
        InviteChannel::Sms,
        20,
        168,
        None,
        Some(("冯先生", "13600002003")),
    ),
    open(
        0,
        InviteChannel::Sms,
        41,
        168,
        None,
        Some(("许女士", "13600002004")),
    ),
    open(
        0,
        InviteChannel::Sms,
        12,
        168,
        Some(2),
        Some(("韩先生", "13600002005")),
    ),
    open(0, InviteChannel::Poster, 55, 336, None, None),
    open(0, InviteChannel::Poster, 30, 336, Some(4), None),
    // 王芳: fewer, and more of them lapse.
    open(1, InviteChannel::Qr, 1, 24, None, None),
    open(1, InviteChannel::Qr, 15, 24, None, None),
    open(1, InviteChannel::Qr, 30, 24, None, None),
    open(
        1,
        InviteChannel::Sms,
        3,
        168,
        None,
        Some(("唐女士", "13600003001")),
    ),
    open(
        1,
        InviteChannel::Sms,
        33,
        168,
        None,
        Some(("曹先生", "13600003002")),
    ),
    open(
        1,
        InviteChannel::Sms,
        18,
        168,
        Some(3),
        Some(("邓女士", "13600003003")),
    ),
    open(1, InviteChannel::Poster, 40, 168, Some(2), None),
];

const fn open(
    rep: usize,
    channel: InviteChannel,
    age_days: i64,
    hours: u32,
    revoked_after: Option<i64>,
    recipient: Option<(&'static str, &'static str)>,
) -> Open {
    Open {
        rep,
        channel,
        age_days,
        hours,
        revoked_after,
        recipient,
    }
}

fn phone(s: &str) -> Result<Phone, ServerError> {
    Phone::parse(s).map_err(ServerError::from)
}

/// Creates the partners (in `joiners` order) as they would have joined, and
/// the reps' other invitations, in one transaction.
pub(super) async fn seed(
    db: &Database,
    reps: [User; 2],
    joiners: &'static [Joiner],
    public_url: String,
    now: i64,
) -> Result<Vec<User>, ServerError> {
    db.transaction(move |s| {
        // One poster per rep, put in a WeChat group 25 days ago; several join through it.
        let mut posters = Vec::new();
        for rep in &reps {
            let new = NewInvitation {
                channel: InviteChannel::Poster,
                multi_use: true,
                expires_in_hours: Some(30 * 24),
            };
            let at = now - 25 * DAY_MS;
            posters.push(invitations::create(s, rep, &new, None, &public_url, at)?);
        }
        let mut users = Vec::new();
        for j in joiners {
            let rep = &reps[j.rep];
            let joined = now - j.days_ago * DAY_MS;
            let p = phone(j.phone)?;
            let invitation_id = match j.source {
                PartnerSource::Qr | PartnerSource::Sms => {
                    let sms = j.source == PartnerSource::Sms;
                    let new = NewInvitation {
                        channel: if sms {
                            InviteChannel::Sms
                        } else {
                            InviteChannel::Qr
                        },
                        multi_use: false,
                        expires_in_hours: Some(if sms { 168 } else { 24 }),
                    };
                    let recipient = sms.then_some((j.name, &p));
                    let made = joined - if sms { 20 } else { 1 } * HOUR_MS;
                    Some(invitations::create(s, rep, &new, recipient, &public_url, made)?.id)
                }
                PartnerSource::Poster => Some(posters[j.rep].id),
                PartnerSource::Import | PartnerSource::Admin => None,
            };
            match invitation_id {
                Some(id) => {
                    invitations::accept(s, id, j.name, &p, joined)?;
                }
                None => {
                    let row = ImportRow {
                        row: 2,
                        name: j.name.into(),
                        phone: p.as_e164().into(),
                        note: None,
                    };
                    let out = invitations::import(s, rep, &[row], false, joined)?;
                    if out.imported != 1 {
                        return Err(ServerError::InvalidInput(format!(
                            "demo import of {} refused: {:?}",
                            j.name, out.errors
                        )));
                    }
                }
            }
            let user = s
                .accounts()
                .user_by_phone(rep.company_id, p.as_e164())?
                .ok_or_else(|| ServerError::NotFound(format!("demo partner {}", j.name)))?;
            users.push(user);
        }
        for o in OPEN {
            let rep = &reps[o.rep];
            let made = now - o.age_days * DAY_MS - 2 * HOUR_MS;
            let new = NewInvitation {
                channel: o.channel,
                multi_use: o.channel == InviteChannel::Poster,
                expires_in_hours: Some(o.hours),
            };
            let p = o.recipient.map(|(_, ph)| phone(ph)).transpose()?;
            let recipient = o.recipient.zip(p.as_ref()).map(|((n, _), p)| (n, p));
            let inv = invitations::create(s, rep, &new, recipient, &public_url, made)?;
            if let Some(days) = o.revoked_after {
                invitations::revoke(s, rep, inv.id, made + days * DAY_MS)?;
            }
        }
        Ok(users)
    })
    .await
}
