//! Invitations made on this device with no network, on real SQLite files:
//! signed with the device's key, queued for the server, replaced by the
//! server's row when a pull brings it.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use warmlead_core::api::ActivateResponse;
use warmlead_core::domain::{Company, Role, User};
use warmlead_core::invite::offline::{derive_invite_key, short_code, UnverifiedInvite};
use warmlead_core::invite::{Invitation, InvitationStatus, InviteChannel, NewInvitation};
use warmlead_core::sync::{
    Change, ChangeBody, MutationBody, MutationOutcome, Outcome, PullResponse, PushResponse,
};
use warmlead_core::ErrorCode;

use crate::{Store, StoreError};

const NOW: i64 = 1_800_000_000_000;
const HOUR: i64 = 3600 * 1000;
const DEVICE: i64 = 7;
const KEY: [u8; 32] = [7u8; 32];

fn store_as(role: Role) -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("invites.sqlite")).unwrap();
    let me = User {
        id: 2,
        company_id: 1,
        role,
        name: "李明".into(),
        phone: None,
        rep_id: None,
        joined_at_ms: 0,
        source: None,
        invited_by: None,
        invitation_id: None,
    };
    store
        .save_activation(
            "http://127.0.0.1:1",
            &ActivateResponse {
                device_id: DEVICE,
                device_token: "tok".into(),
                share_key: URL_SAFE_NO_PAD.encode(KEY),
                public_base_url: "https://r.example.com/".into(),
                user: me,
                company: Company {
                    id: 1,
                    name: "暖居装修".into(),
                    poster_artwork: None,
                    poster_slogan: None,
                    logo: None,
                    commission_promise: None,
                },
                epoch: "e1".into(),
            },
            &crate::TokenRef::fresh(crate::Place::File),
        )
        .unwrap();
    (dir, store)
}

fn pull(store: &Store, bodies: Vec<ChangeBody>) {
    let (_, cursor) = store.cursor().unwrap();
    let changes: Vec<Change> = bodies
        .into_iter()
        .enumerate()
        .map(|(i, body)| Change {
            seq: cursor + 1 + i as i64,
            body,
        })
        .collect();
    store
        .apply_pull(&PullResponse {
            epoch: "e1".into(),
            cursor: cursor + changes.len() as i64,
            changes,
            has_more: false,
        })
        .unwrap();
}

fn qr(hours: u32) -> NewInvitation {
    NewInvitation {
        channel: InviteChannel::Qr,
        multi_use: false,
        expires_in_hours: Some(hours),
    }
}

#[test]
fn an_invitation_is_made_signed_and_queued_with_no_server() {
    let (_dir, store) = store_as(Role::Rep);
    let inv = store.create_offline_invitation(&qr(24), NOW).unwrap();
    assert_eq!(inv.id, -1, "not recorded by the server yet");
    assert_eq!((inv.rep_id, inv.company_id), (2, 1));
    assert_eq!(inv.status, InvitationStatus::Pending);
    assert_eq!((inv.max_uses, inv.uses), (Some(1), 0));
    assert_eq!(inv.expires_at_ms, NOW + 24 * HOUR);
    let token = inv.url.strip_prefix("https://r.example.com/i/").unwrap();
    assert!(inv.url.len() <= 60, "{}", inv.url);

    // The token verifies with the key the server derives for this device.
    let key = derive_invite_key(&KEY);
    let claim = UnverifiedInvite::parse(token)
        .unwrap()
        .verify(&key)
        .unwrap();
    assert_eq!(claim.device_id, DEVICE as u64);
    assert_eq!(claim.invite_no, 1);
    assert_eq!(claim.expires_at_ms(), inv.expires_at_ms);
    assert_eq!(inv.short_code, short_code(&key, token));

    // Queued for the server with the same fields.
    let queued = store.pending_mutations(10).unwrap();
    assert_eq!(queued.len(), 1);
    match &queued[0].body {
        MutationBody::CreateInvitation {
            invite_no,
            channel,
            max_uses,
            expires_at_ms,
            token: t,
            created_at_ms,
        } => {
            assert_eq!(
                (
                    *invite_no,
                    *channel,
                    *max_uses,
                    *expires_at_ms,
                    *created_at_ms
                ),
                (1, InviteChannel::Qr, Some(1), inv.expires_at_ms, NOW)
            );
            assert_eq!(t, token);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(store.invitations(10).unwrap(), vec![inv.clone()]);
    assert_eq!(store.invitation(-1).unwrap(), Some(inv.clone()));

    // The next one takes the next number; a poster may be used by many.
    let poster = store
        .create_offline_invitation(
            &NewInvitation {
                channel: InviteChannel::Poster,
                multi_use: true,
                expires_in_hours: None,
            },
            NOW + 1,
        )
        .unwrap();
    assert_eq!((poster.id, poster.max_uses), (-2, None));
    assert_ne!(poster.url, inv.url);
}

#[test]
fn the_servers_row_replaces_the_local_one_and_keeps_its_number() {
    let (_dir, store) = store_as(Role::Rep);
    let inv = store.create_offline_invitation(&qr(24), NOW).unwrap();
    let other = store.create_offline_invitation(&qr(24), NOW + 1).unwrap();
    // A phone opened it and joined before the app synced: the server's row.
    let server = Invitation {
        id: 41,
        uses: 1,
        status: InvitationStatus::Accepted,
        ..inv.clone()
    };
    pull(&store, vec![ChangeBody::Invitation(server.clone())]);
    let all = store.invitations(10).unwrap();
    assert_eq!(all.len(), 2, "{all:?}");
    assert!(all.contains(&server) && all.contains(&other));
    assert_eq!(store.invitation(41).unwrap(), Some(server.clone()));
    // The overlay that holds the local id still finds it.
    assert_eq!(store.invitation(-1).unwrap(), Some(server.clone()));
    // Later changes of the same row update it in place.
    let later = Invitation {
        created_at_ms: NOW - 5,
        ..server.clone()
    };
    pull(&store, vec![ChangeBody::Invitation(later.clone())]);
    assert_eq!(store.invitation(-1).unwrap(), Some(later));
    assert_eq!(store.invitations(10).unwrap().len(), 2);
}

#[test]
fn who_may_not_or_what_cannot_be_made_offline_is_refused_and_queues_nothing() {
    let (_dir, partner) = store_as(Role::Partner);
    let e = partner.create_offline_invitation(&qr(24), NOW).unwrap_err();
    assert!(matches!(e, StoreError::Invalid { .. }), "{e:?}");
    assert!(e.to_string().contains("only reps and managers"), "{e}");

    let (_dir, rep) = store_as(Role::Rep);
    let sms = NewInvitation {
        channel: InviteChannel::Sms,
        multi_use: false,
        expires_in_hours: None,
    };
    for bad in [sms, qr(0), qr(91 * 24)] {
        let e = rep.create_offline_invitation(&bad, NOW).unwrap_err();
        assert!(matches!(e, StoreError::Invalid { .. }), "{bad:?}: {e:?}");
    }
    for s in [&partner, &rep] {
        assert!(s.pending_mutations(10).unwrap().is_empty());
        assert!(s.invitations(10).unwrap().is_empty());
    }
    // Refusals do not use up numbers.
    assert_eq!(rep.create_offline_invitation(&qr(1), NOW).unwrap().id, -1);
}

/// A restored server (new epoch): what the server had is downloaded again,
/// an invitation made here and not recorded yet stays, with its outbox row.
#[test]
fn a_new_epoch_keeps_the_invitations_not_recorded_yet() {
    let (_dir, store) = store_as(Role::Rep);
    let recorded = store.create_offline_invitation(&qr(24), NOW).unwrap();
    let waiting = store.create_offline_invitation(&qr(24), NOW + 1).unwrap();
    let server = Invitation { id: 41, ..recorded };
    pull(&store, vec![ChangeBody::Invitation(server)]);
    store
        .apply_pull(&PullResponse {
            epoch: "e2".into(),
            cursor: 0,
            changes: vec![],
            has_more: false,
        })
        .unwrap();
    assert_eq!(store.invitations(10).unwrap(), vec![waiting]);
    assert_eq!(store.pending_mutations(10).unwrap().len(), 2);
}

/// The server refused an invitation made here (e.g. the user is no longer a
/// rep): it will never be recorded, so it leaves the list (a fresh device
/// would not have it either); the refusal is listed until dismissed.
#[test]
fn a_rejected_invitation_leaves_the_list() {
    let (_dir, store) = store_as(Role::Rep);
    let refused = store.create_offline_invitation(&qr(24), NOW).unwrap();
    let kept = store.create_offline_invitation(&qr(24), NOW + 1).unwrap();
    let queued = store.pending_mutations(10).unwrap();
    store
        .record_outcomes(&PushResponse {
            outcomes: vec![MutationOutcome {
                mutation_id: queued[0].mutation_id.clone(),
                seq: queued[0].seq,
                outcome: Outcome::Rejected {
                    code: ErrorCode::Forbidden,
                    message: "only reps and managers can invite partners".into(),
                },
            }],
            last_seq: queued[0].seq,
        })
        .unwrap();
    assert_eq!(store.invitation(refused.id).unwrap(), None);
    let status = |id| store.invitation(id).unwrap().unwrap().status;
    assert_eq!(status(kept.id), InvitationStatus::Pending);
    assert_eq!(store.invitations(10).unwrap(), vec![kept]);
    assert_eq!(store.rejected().unwrap().len(), 1);
}
