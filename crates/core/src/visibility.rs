//! Who sees what: the one definition of the visibility rules.
//!
//! Two rules live here:
//! - [`sees`]: which rows of the change log a user may pull. Each change is
//!   stamped with an [`Audience`] taken from the data; a viewer's
//!   [`grants`] say which audiences reach them. Storage turns the same
//!   grants into its SQL filter (so a second backend writes only SQL), and
//!   a test in the server checks the filter agrees with [`sees`].
//! - [`Managed`]: whose partners and invitations a user manages (a manager
//!   the whole company's, a rep their own), on the server and the desktop.

use crate::domain::{ContentAudience, ContentStatus, Role, User};
use crate::lead::Lead;

/// Who sees a change, besides the company's managers (who see everything).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// Everyone in the company (the company row, content items).
    Company,
    /// The rep in `rep_id` and the partner in `partner_id`.
    Scoped {
        rep_id: Option<i64>,
        partner_id: Option<i64>,
    },
    /// The rep and every partner bound to them (the rep's own user row).
    RepTeam { rep_id: i64 },
}

/// The `audience` column of a stored change.
pub const AUDIENCE_COMPANY: &str = "company";
pub const AUDIENCE_SCOPED: &str = "scoped";
pub const AUDIENCE_REP_TEAM: &str = "rep_team";

impl Audience {
    /// How the audience is stored: `(audience, rep_id, partner_id)`.
    pub fn columns(self) -> (&'static str, Option<i64>, Option<i64>) {
        match self {
            Audience::Company => (AUDIENCE_COMPANY, None, None),
            Audience::Scoped { rep_id, partner_id } => (AUDIENCE_SCOPED, rep_id, partner_id),
            Audience::RepTeam { rep_id } => (AUDIENCE_REP_TEAM, Some(rep_id), None),
        }
    }

    /// The audience of a change to `user`'s own row: partners reach
    /// themselves and their rep; reps themselves and their partners;
    /// managers' rows reach only managers.
    pub fn of_user(user: &User) -> Audience {
        match user.role {
            Role::Partner => Audience::Scoped {
                rep_id: user.rep_id,
                partner_id: Some(user.id),
            },
            Role::Rep => Audience::RepTeam { rep_id: user.id },
            Role::Manager => Audience::Scoped {
                rep_id: None,
                partner_id: None,
            },
        }
    }
}

/// The signed-in user, as far as visibility cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Viewer {
    pub role: Role,
    pub id: i64,
    /// A partner's rep (none for reps, managers and unbound partners).
    pub rep_id: Option<i64>,
}

impl From<&User> for Viewer {
    fn from(u: &User) -> Viewer {
        Viewer {
            role: u.role,
            id: u.id,
            rep_id: u.rep_id,
        }
    }
}

/// One reason a change reaches a viewer. A viewer sees a change when any of
/// their grants admits it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    /// Every change of the company.
    Everything,
    /// Changes addressed to the whole company.
    CompanyWide,
    /// Changes whose rep is this user.
    RepIs(i64),
    /// Changes whose partner is this user.
    PartnerIs(i64),
    /// Changes to this rep's whole team.
    RepTeamOf(i64),
}

impl Grant {
    pub fn admits(self, row: Audience) -> bool {
        let (_, rep, partner) = row.columns();
        match self {
            Grant::Everything => true,
            Grant::CompanyWide => row == Audience::Company,
            Grant::RepIs(id) => rep == Some(id),
            Grant::PartnerIs(id) => partner == Some(id),
            Grant::RepTeamOf(id) => row == Audience::RepTeam { rep_id: id },
        }
    }
}

/// What reaches `viewer`: managers everything; reps what the company or
/// their own rows carry; partners that, plus their rep's team changes.
pub fn grants(viewer: Viewer) -> Vec<Grant> {
    match viewer.role {
        Role::Manager => vec![Grant::Everything],
        Role::Rep => vec![Grant::CompanyWide, Grant::RepIs(viewer.id)],
        Role::Partner => {
            let mut g = vec![Grant::CompanyWide, Grant::PartnerIs(viewer.id)];
            g.extend(viewer.rep_id.map(Grant::RepTeamOf));
            g
        }
    }
}

/// Whether `viewer` may see a change addressed to `row` (same company).
pub fn sees(viewer: Viewer, row: Audience) -> bool {
    grants(viewer).into_iter().any(|g| g.admits(row))
}

/// Whose partners and invitations a user manages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Managed {
    /// The whole company's (managers).
    Company,
    /// Those bound to, or made by, this user.
    OwnedBy(i64),
}

impl Managed {
    pub fn of(role: Role, id: i64) -> Managed {
        match role {
            Role::Manager => Managed::Company,
            Role::Rep | Role::Partner => Managed::OwnedBy(id),
        }
    }

    /// Whether something owned by `owner` (a partner's rep, an invitation's
    /// inviter; none for unbound ones) is managed (same company).
    pub fn covers(self, owner: Option<i64>) -> bool {
        match self {
            Managed::Company => true,
            Managed::OwnedBy(me) => owner == Some(me),
        }
    }

    /// The owner to filter on, `None` for everyone's.
    pub fn owner(self) -> Option<i64> {
        match self {
            Managed::Company => None,
            Managed::OwnedBy(me) => Some(me),
        }
    }
}

/// Who wrote a content item, as far as who sees it cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Author {
    /// A manager (or nobody recorded): a company item, its audience decides.
    Company,
    /// A rep's own item: it reaches only that rep's partners.
    Rep(i64),
}

impl Author {
    /// From the author's id and role (None: an item from before authors).
    pub fn of(owner: Option<(i64, Role)>) -> Author {
        match owner {
            Some((id, Role::Rep)) => Author::Rep(id),
            _ => Author::Company,
        }
    }
}

/// Whether `viewer` sees a content item at all (their library, their
/// briefcase, their pull): managers every item; a draft or archived item
/// only its author besides; a live item its audience, where a rep's own
/// item's audience is always that rep and their partners.
pub fn content_sees(
    viewer: Viewer,
    status: ContentStatus,
    author: Author,
    audience: &ContentAudience,
) -> bool {
    let live = status == ContentStatus::Live;
    let chosen = |rep: Option<i64>| match audience {
        ContentAudience::Company => true,
        ContentAudience::Reps { rep_ids } => rep.is_some_and(|r| rep_ids.contains(&r)),
    };
    match (viewer.role, author) {
        (Role::Manager, _) => true,
        (Role::Rep, Author::Rep(r)) => r == viewer.id,
        (Role::Rep, Author::Company) => live && chosen(Some(viewer.id)),
        (Role::Partner, Author::Rep(r)) => live && viewer.rep_id == Some(r),
        (Role::Partner, Author::Company) => live && chosen(viewer.rep_id),
    }
}

/// Whether an item is meant for `viewer` whatever its status: it would be
/// in their briefcase while live ([`content_sees`] of the live item). A
/// share link opens, counts views and takes leads only while this holds for
/// its sharer (a partner cannot sign a link to another rep's items).
pub fn meant_for(viewer: Viewer, author: Author, audience: &ContentAudience) -> bool {
    content_sees(viewer, ContentStatus::Live, author, audience)
}

/// An item that shows a media file, as far as who may reuse the file cares.
#[derive(Debug, Clone, Copy)]
pub struct MediaUse<'a> {
    pub status: ContentStatus,
    pub author: Author,
    pub audience: &'a ContentAudience,
}

/// Whether `viewer` may attach a media file to an item they write (a cover,
/// a video, a case-study photo, an image in an article). Attaching a file
/// makes it public once the item is live and answers its key, so only:
/// the file's uploader; a manager for a file with no recorded uploader (the
/// company's, uploaded before uploaders were recorded); the item that
/// already shows it (an edit keeps what was allowed before); anyone once a
/// live item they see shows it (it is public already).
pub fn media_usable(
    viewer: Viewer,
    uploaded_by: Option<i64>,
    on_this_item: bool,
    used_by: &[MediaUse<'_>],
) -> bool {
    let uploader = match uploaded_by {
        Some(id) => id == viewer.id,
        None => viewer.role == Role::Manager,
    };
    uploader
        || on_this_item
        || used_by.iter().any(|u| {
            u.status == ContentStatus::Live && content_sees(viewer, u.status, u.author, u.audience)
        })
}

/// The change-log audiences of an item's state, so that a pull delivers
/// it to exactly those [`content_sees`] admits (a test checks both agree).
pub fn content_reach(
    status: ContentStatus,
    author: Author,
    audience: &ContentAudience,
) -> Vec<Audience> {
    let managers_only = Audience::Scoped {
        rep_id: None,
        partner_id: None,
    };
    match (status, author) {
        (ContentStatus::Live, Author::Rep(r)) => vec![Audience::RepTeam { rep_id: r }],
        (ContentStatus::Live, Author::Company) => match audience {
            ContentAudience::Company => vec![Audience::Company],
            ContentAudience::Reps { rep_ids } if rep_ids.is_empty() => vec![managers_only],
            ContentAudience::Reps { rep_ids } => rep_ids
                .iter()
                .map(|&rep_id| Audience::RepTeam { rep_id })
                .collect(),
        },
        (_, Author::Rep(r)) => vec![Audience::Scoped {
            rep_id: Some(r),
            partner_id: None,
        }],
        (_, Author::Company) => vec![managers_only],
    }
}

/// Whether `viewer` may write (edit, publish, archive) an item by `author`:
/// managers any item, reps their own, partners none.
pub fn content_writable(viewer: Viewer, author: Author) -> bool {
    match viewer.role {
        Role::Manager => true,
        Role::Rep => author == Author::Rep(viewer.id),
        Role::Partner => false,
    }
}

/// Whether `viewer` may delete an item by `author` in `status`: managers
/// any item; reps only their own drafts (an item that went live was seen
/// by partners and their friends: it is archived, not deleted); partners
/// none.
pub fn content_deletable(viewer: Viewer, author: Author, status: ContentStatus) -> bool {
    match viewer.role {
        Role::Manager => true,
        Role::Rep => author == Author::Rep(viewer.id) && status == ContentStatus::Draft,
        Role::Partner => false,
    }
}

/// The copies of a lead the change log carries, in order: the partner's
/// (phone masked), then the rep's full copy. Managers see both and keep the
/// later, full one.
pub fn lead_copies(lead: &Lead) -> [(Audience, Lead); 2] {
    let masked = Lead {
        phone: crate::phone::mask(&lead.phone),
        ..lead.clone()
    };
    let partner = Audience::Scoped {
        rep_id: None,
        partner_id: Some(lead.partner_id),
    };
    let rep = Audience::Scoped {
        rep_id: lead.rep_id,
        partner_id: None,
    };
    [(partner, masked), (rep, lead.clone())]
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANAGER: Viewer = Viewer {
        role: Role::Manager,
        id: 1,
        rep_id: None,
    };
    const REP: Viewer = Viewer {
        role: Role::Rep,
        id: 2,
        rep_id: None,
    };
    const PARTNER: Viewer = Viewer {
        role: Role::Partner,
        id: 3,
        rep_id: Some(2),
    };
    const UNBOUND: Viewer = Viewer {
        role: Role::Partner,
        id: 4,
        rep_id: None,
    };

    fn scoped(rep_id: Option<i64>, partner_id: Option<i64>) -> Audience {
        Audience::Scoped { rep_id, partner_id }
    }

    #[test]
    fn who_sees_which_change() {
        // row, then manager / rep 2 / partner 3 of rep 2 / unbound partner 4
        let table = [
            (Audience::Company, [true, true, true, true]),
            (scoped(Some(2), Some(3)), [true, true, true, false]),
            (scoped(Some(2), None), [true, true, false, false]),
            (scoped(None, Some(3)), [true, false, true, false]),
            (scoped(None, Some(4)), [true, false, false, true]),
            (scoped(Some(9), Some(8)), [true, false, false, false]),
            // a manager's own row reaches only managers
            (scoped(None, None), [true, false, false, false]),
            (Audience::RepTeam { rep_id: 2 }, [true, true, true, false]),
            (Audience::RepTeam { rep_id: 9 }, [true, false, false, false]),
        ];
        for (row, expected) in table {
            let got = [MANAGER, REP, PARTNER, UNBOUND].map(|v| sees(v, row));
            assert_eq!(got, expected, "{row:?}");
        }
    }

    /// manager 1 / rep 2 / partner 3 of rep 2 / unbound partner 4 / rep 5 /
    /// partner 6 of rep 5, for every status, author and audience.
    #[test]
    fn who_sees_which_content_item() {
        use ContentStatus::*;
        let rep5 = Viewer {
            role: Role::Rep,
            id: 5,
            rep_id: None,
        };
        let partner6 = Viewer {
            role: Role::Partner,
            id: 6,
            rep_id: Some(5),
        };
        let viewers = [MANAGER, REP, PARTNER, UNBOUND, rep5, partner6];
        let everyone = ContentAudience::Company;
        let reps = |ids: &[i64]| ContentAudience::Reps {
            rep_ids: ids.to_vec(),
        };
        let t = true;
        let f = false;
        // status, author, audience -> manager, rep 2, partner 3, unbound 4, rep 5, partner 6
        let table = [
            (Live, Author::Company, everyone.clone(), [t, t, t, t, t, t]),
            (Live, Author::Company, reps(&[2]), [t, t, t, f, f, f]),
            (Live, Author::Company, reps(&[2, 5]), [t, t, t, f, t, t]),
            (Live, Author::Company, reps(&[]), [t, f, f, f, f, f]),
            (Draft, Author::Company, everyone.clone(), [t, f, f, f, f, f]),
            (Archived, Author::Company, reps(&[2]), [t, f, f, f, f, f]),
            // a rep's own item reaches only that rep's partners, whatever it says
            (Live, Author::Rep(2), everyone.clone(), [t, t, t, f, f, f]),
            (Live, Author::Rep(2), reps(&[5]), [t, t, t, f, f, f]),
            (Draft, Author::Rep(2), everyone.clone(), [t, t, f, f, f, f]),
            (
                Archived,
                Author::Rep(2),
                everyone.clone(),
                [t, t, f, f, f, f],
            ),
            (Live, Author::Rep(5), everyone.clone(), [t, f, f, f, t, t]),
            (Draft, Author::Rep(5), everyone.clone(), [t, f, f, f, t, f]),
        ];
        for (status, author, audience, expected) in &table {
            let got = viewers.map(|v| content_sees(v, *status, *author, audience));
            assert_eq!(&got, expected, "{status:?} {author:?} {audience:?}");
            // The change log delivers exactly what the rule allows.
            let reach = content_reach(*status, *author, audience);
            let pulled = viewers.map(|v| reach.iter().any(|a| sees(v, *a)));
            assert_eq!(
                &pulled, expected,
                "pull of {status:?} {author:?} {audience:?}"
            );
        }
        assert_eq!(Author::of(Some((2, Role::Rep))), Author::Rep(2));
        assert_eq!(Author::of(Some((1, Role::Manager))), Author::Company);
        assert_eq!(Author::of(None), Author::Company);
    }

    /// A share opens for its sharer only when the item is meant for them:
    /// the live row of the briefcase table, whatever the item's status.
    #[test]
    fn items_are_meant_for_whom_the_live_item_reaches() {
        let partner6 = Viewer {
            role: Role::Partner,
            id: 6,
            rep_id: Some(5),
        };
        let reps = |ids: &[i64]| ContentAudience::Reps {
            rep_ids: ids.to_vec(),
        };
        // author, audience -> rep 2, partner 3 of rep 2, unbound 4, partner 6 of rep 5
        let table = [
            (
                Author::Company,
                ContentAudience::Company,
                [true, true, true, true],
            ),
            (Author::Company, reps(&[2]), [true, true, false, false]),
            (Author::Company, reps(&[5]), [false, false, false, true]),
            (
                Author::Rep(2),
                ContentAudience::Company,
                [true, true, false, false],
            ),
            (Author::Rep(5), reps(&[2]), [false, false, false, true]),
        ];
        for (author, audience, expected) in &table {
            let got = [REP, PARTNER, UNBOUND, partner6].map(|v| meant_for(v, *author, audience));
            assert_eq!(&got, expected, "{author:?} {audience:?}");
            for status in [
                ContentStatus::Draft,
                ContentStatus::Archived,
                ContentStatus::Live,
            ] {
                for v in [REP, PARTNER, UNBOUND, partner6] {
                    if content_sees(v, status, *author, audience) {
                        assert!(meant_for(v, *author, audience), "{v:?} {status:?}");
                    }
                }
            }
        }
    }

    /// Who may attach a media file: its uploader, managers for the
    /// company's old files, the item already showing it, anyone a live item
    /// they see shows it to.
    #[test]
    fn who_may_attach_a_media_file() {
        let rep5 = Viewer {
            role: Role::Rep,
            id: 5,
            rep_id: None,
        };
        let everyone = ContentAudience::Company;
        let only5 = ContentAudience::Reps { rep_ids: vec![5] };
        let live = |author, audience| MediaUse {
            status: ContentStatus::Live,
            author,
            audience,
        };
        let draft = |author, audience| MediaUse {
            status: ContentStatus::Draft,
            author,
            audience,
        };
        // viewer, uploader, on this item, used by -> usable
        type Row<'a> = (Viewer, Option<i64>, bool, Vec<MediaUse<'a>>, bool);
        let table: Vec<Row<'_>> = vec![
            (REP, Some(2), false, vec![], true),
            (REP, Some(5), false, vec![], false),
            (REP, Some(1), false, vec![], false),
            (MANAGER, Some(2), false, vec![], false),
            (MANAGER, Some(1), false, vec![], true),
            (MANAGER, None, false, vec![], true),
            (REP, None, false, vec![], false),
            (PARTNER, Some(2), false, vec![], false),
            // the item already shows it
            (REP, Some(5), true, vec![], true),
            // a live item the viewer sees shows it; a draft or an item for
            // someone else does not open it
            (
                REP,
                Some(1),
                false,
                vec![live(Author::Company, &everyone)],
                true,
            ),
            (
                REP,
                Some(1),
                false,
                vec![draft(Author::Company, &everyone)],
                false,
            ),
            (
                REP,
                Some(1),
                false,
                vec![live(Author::Company, &only5)],
                false,
            ),
            (
                rep5,
                Some(1),
                false,
                vec![live(Author::Company, &only5)],
                true,
            ),
            (
                REP,
                Some(5),
                false,
                vec![live(Author::Rep(5), &everyone)],
                false,
            ),
            (
                REP,
                Some(5),
                false,
                vec![
                    draft(Author::Rep(5), &everyone),
                    live(Author::Company, &everyone),
                ],
                true,
            ),
        ];
        for (viewer, uploader, on_item, uses, expected) in &table {
            assert_eq!(
                media_usable(*viewer, *uploader, *on_item, uses),
                *expected,
                "{viewer:?} {uploader:?} {on_item} {uses:?}"
            );
        }
    }

    #[test]
    fn managers_write_any_item_reps_their_own() {
        // viewer, author -> writable
        let table = [
            (MANAGER, Author::Company, true),
            (MANAGER, Author::Rep(2), true),
            (REP, Author::Rep(2), true),
            (REP, Author::Rep(5), false),
            (REP, Author::Company, false),
            (PARTNER, Author::Company, false),
            (PARTNER, Author::Rep(2), false),
        ];
        for (viewer, author, expected) in table {
            assert_eq!(
                content_writable(viewer, author),
                expected,
                "{viewer:?} {author:?}"
            );
        }
    }

    #[test]
    fn managers_delete_any_item_reps_their_own_drafts() {
        use ContentStatus::{Archived, Draft, Live};
        // viewer, author, status -> deletable
        let table = [
            (MANAGER, Author::Company, Live, true),
            (MANAGER, Author::Rep(2), Draft, true),
            (MANAGER, Author::Rep(2), Archived, true),
            (REP, Author::Rep(2), Draft, true),
            (REP, Author::Rep(2), Live, false),
            (REP, Author::Rep(2), Archived, false),
            (REP, Author::Rep(5), Draft, false),
            (REP, Author::Company, Draft, false),
            (PARTNER, Author::Rep(2), Draft, false),
            (PARTNER, Author::Company, Draft, false),
        ];
        for (viewer, author, status, expected) in table {
            assert_eq!(
                content_deletable(viewer, author, status),
                expected,
                "{viewer:?} {author:?} {status:?}"
            );
        }
    }

    #[test]
    fn a_user_row_reaches_the_right_people() {
        let user = |role, id, rep_id| User {
            id,
            company_id: 1,
            role,
            name: "x".into(),
            phone: None,
            rep_id,
            joined_at_ms: 0,
            source: None,
            invited_by: None,
            invitation_id: None,
        };
        let table = [
            (user(Role::Partner, 3, Some(2)), scoped(Some(2), Some(3))),
            (user(Role::Partner, 4, None), scoped(None, Some(4))),
            (user(Role::Rep, 2, None), Audience::RepTeam { rep_id: 2 }),
            (user(Role::Manager, 1, None), scoped(None, None)),
        ];
        for (u, expected) in table {
            assert_eq!(Audience::of_user(&u), expected, "{u:?}");
        }
    }

    #[test]
    fn managers_manage_everything_others_their_own() {
        // role, id, owner -> covered
        let table = [
            (Role::Manager, 1, Some(2), true),
            (Role::Manager, 1, None, true),
            (Role::Rep, 2, Some(2), true),
            (Role::Rep, 2, Some(5), false),
            (Role::Rep, 2, None, false),
            (Role::Partner, 3, Some(2), false),
        ];
        for (role, id, owner, expected) in table {
            let m = Managed::of(role, id);
            assert_eq!(m.covers(owner), expected, "{role:?} {id} {owner:?}");
            assert_eq!(m.owner().is_none(), role == Role::Manager);
        }
    }

    /// Who sees which phone of a lead of rep 2 credited to partner 3.
    #[test]
    fn only_the_rep_and_managers_see_a_leads_full_phone() {
        let lead: Lead = serde_json::from_value(serde_json::json!({
            "id": 1, "company_id": 1, "rep_id": 2, "partner_id": 3, "name": "王",
            "phone": "+8613800138000", "note": "", "source": "contact_form",
            "share_token": null, "item_id": null, "score": 0, "grade": "C",
            "reasons": [], "man": {"money": false, "authority": false, "need": false},
            "stage": "new", "created_at_ms": 0, "updated_at_ms": 0, "contacts": 1
        }))
        .unwrap();
        // viewer -> the phone of the last copy they see (None: no copy)
        let table = [
            (MANAGER, Some("+8613800138000")),
            (REP, Some("+8613800138000")),
            (PARTNER, Some("+86138****8000")),
            (UNBOUND, None),
        ];
        for (viewer, phone) in table {
            let seen = lead_copies(&lead)
                .into_iter()
                .filter(|(a, _)| sees(viewer, *a))
                .map(|(_, l)| l.phone)
                .next_back();
            assert_eq!(seen.as_deref(), phone, "{viewer:?}");
        }
    }
}
