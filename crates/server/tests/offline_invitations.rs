//! Invitations made on the rep's device with no network (issue 10): the
//! token is signed there; a phone opens the link before the app has synced
//! and joins; the sync afterwards (or before) makes the same one row; no
//! invitation is accepted more often than it allows; forged, altered or
//! expired links and revoked devices get a clear page. Real server, real
//! database (SQLite, or PostgreSQL with WARMLEAD_TEST_BACKEND=postgres).
mod common;

use common::{activate, mutation, world, Device, World};
use reqwest::StatusCode;
use warmlead_core::domain::User;
use warmlead_core::invite::offline::{derive_invite_key, InviteClaim};
use warmlead_core::invite::{Invitation, InvitationStatus, InviteChannel, PartnerSource};
use warmlead_core::sync::{ChangeBody, Mutation, MutationBody, Outcome};

const HOUR_MS: i64 = 3600 * 1000;

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// An invitation as the rep's app makes it offline: claim and signed token.
struct Offline {
    claim: InviteClaim,
    token: String,
}

fn make(dev: &Device, invite_no: u64, max_uses: Option<u32>, expires_at_ms: i64) -> Offline {
    let claim = InviteClaim {
        device_id: dev.id() as u64,
        invite_no,
        channel: if max_uses.is_some() {
            InviteChannel::Qr
        } else {
            InviteChannel::Poster
        },
        max_uses,
        expires_at_min: (expires_at_ms / 60_000) as u64,
    };
    let token = claim.sign(&derive_invite_key(&dev.share_key()));
    Offline { claim, token }
}

impl Offline {
    fn url(&self, w: &World) -> String {
        format!("{}/i/{}", w.ts.url(), self.token)
    }

    /// The sync's mutation for it, made at `created_at_ms` on the device.
    fn pushed(&self, seq: i64, created_at_ms: i64) -> Mutation {
        mutation(
            seq,
            MutationBody::CreateInvitation {
                invite_no: self.claim.invite_no as i64,
                channel: self.claim.channel,
                max_uses: self.claim.max_uses_i64(),
                expires_at_ms: self.claim.expires_at_ms(),
                token: self.token.clone(),
                created_at_ms,
            },
        )
    }
}

async fn get_page(url: &str) -> (StatusCode, String) {
    let res = reqwest::get(url).await.unwrap();
    (res.status(), res.text().await.unwrap())
}

async fn accept(url: &str, name: &str, phone: &str) -> (StatusCode, String) {
    let res = reqwest::Client::new()
        .post(url)
        .form(&[("name", name), ("phone", phone), ("consent", "yes")])
        .send()
        .await
        .unwrap();
    (res.status(), res.text().await.unwrap())
}

async fn company_users(w: &World) -> Vec<User> {
    w.ts.admin().company_users(w.company.id).await.unwrap()
}

/// The invitations with this token's URL in what `dev` pulls.
async fn pulled(dev: &Device, url: &str) -> Vec<Invitation> {
    dev.pull_all()
        .await
        .into_iter()
        .filter_map(|c| match c.body {
            ChangeBody::Invitation(i) if i.url == url => Some(i),
            _ => None,
        })
        .collect()
}

async fn rows_of(w: &World) -> i64 {
    w.ts.sql()
        .i64("SELECT count(*) FROM invitations WHERE device_id IS NOT NULL")
        .await
}

#[tokio::test]
async fn a_never_synced_offline_invitation_opened_by_a_phone_joins() {
    let w = world().await;
    let rep = activate(&w.ts, w.rep_a.id).await;
    let inv = make(&rep, 1, Some(1), now_ms() + 24 * HOUR_MS);
    let url = inv.url(&w);
    assert!(url.len() <= 70, "short enough for a low-density QR: {url}");

    // The server has never heard of it; the phone opens the link.
    assert_eq!(rows_of(&w).await, 0);
    let (status, html) = get_page(&url).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(
        html.contains("李明 邀请你成为 暖居装修 的推荐合伙人"),
        "{html}"
    );
    assert_eq!(rows_of(&w).await, 1, "recorded at its first open");

    let (status, html) = accept(&url, "赵六", "13600136000").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("wl-welcome"), "{html}");
    let users = company_users(&w).await;
    let p = users.iter().find(|u| u.name == "赵六").expect("joined");
    assert_eq!(p.rep_id, Some(w.rep_a.id));
    assert_eq!(p.source, Some(PartnerSource::Qr));

    // The rep's devices learn of it (with its URL) before any sync of theirs.
    let seen = pulled(&rep, &url).await;
    let last = seen.last().expect("the invitation reaches the rep");
    assert_eq!((last.uses, last.status), (1, InvitationStatus::Accepted));
    assert_eq!(p.invitation_id, Some(last.id));
    assert_eq!(last.expires_at_ms, inv.claim.expires_at_ms());

    // Single use: the next phone is told it was used.
    let (status, html) = accept(&url, "钱七", "13500135000").await;
    assert_eq!(status, StatusCode::GONE);
    assert!(html.contains("这个邀请已被使用"), "{html}");
}

/// Six phones submit the form of one never-seen single-use invitation at
/// the same moment (its first open and its accept race each other): one
/// partner joins, the others are told it was used.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_accepts_of_a_single_use_offline_invitation_let_one_join() {
    let w = world().await;
    let rep = activate(&w.ts, w.rep_a.id).await;
    let before = company_users(&w).await.len();
    let inv = make(&rep, 1, Some(1), now_ms() + HOUR_MS);
    let url = inv.url(&w);
    let phones: Vec<String> = (0..6).map(|i| format!("1360013600{i}")).collect();
    let answers =
        futures_util::future::join_all(phones.iter().map(|p| accept(&url, "赵六", p.as_str())))
            .await;
    let statuses: Vec<StatusCode> = answers.iter().map(|a| a.0).collect();
    let joined = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    assert_eq!(joined, 1, "{statuses:?}");
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::OK || *s == StatusCode::GONE),
        "{statuses:?}"
    );
    assert_eq!(company_users(&w).await.len(), before + 1);
    assert_eq!(rows_of(&w).await, 1);
    let uses =
        w.ts.sql()
            .i64("SELECT uses FROM invitations WHERE device_id IS NOT NULL")
            .await;
    assert_eq!(uses, 1);

    // A multi-use one opened by five at once counts five uses on one row.
    let poster = make(&rep, 2, None, now_ms() + HOUR_MS);
    let url = poster.url(&w);
    let phones: Vec<String> = (0..5).map(|i| format!("1350013500{i}")).collect();
    let answers =
        futures_util::future::join_all(phones.iter().map(|p| accept(&url, "孙七", p.as_str())))
            .await;
    assert!(answers.iter().all(|a| a.0 == StatusCode::OK), "{:?}", {
        answers.iter().map(|a| a.0).collect::<Vec<_>>()
    });
    assert_eq!(rows_of(&w).await, 2);
    let uses =
        w.ts.sql()
            .i64("SELECT uses FROM invitations WHERE invite_no = 2")
            .await;
    assert_eq!(uses, 5);
}

#[tokio::test]
async fn the_sync_after_the_open_reconciles_to_one_row_with_the_right_uses() {
    let w = world().await;
    let rep = activate(&w.ts, w.rep_a.id).await;
    let made_at = now_ms() - 10 * 60_000;
    let poster = make(&rep, 1, None, made_at + 7 * 24 * HOUR_MS);
    let url = poster.url(&w);

    // Two phones join before the rep's app is back online.
    assert_eq!(accept(&url, "赵六", "13600136000").await.0, StatusCode::OK);
    assert_eq!(accept(&url, "钱七", "13500135000").await.0, StatusCode::OK);

    // Then the app syncs it: applied, the same row, uses kept, the device's time.
    let res = rep.push(vec![poster.pushed(1, made_at)]).await;
    assert_eq!(res.outcomes[0].outcome, Outcome::Applied, "{res:?}");
    assert_eq!(rows_of(&w).await, 1);
    let seen = pulled(&rep, &url).await;
    let ids: std::collections::BTreeSet<i64> = seen.iter().map(|i| i.id).collect();
    assert_eq!(ids.len(), 1, "one invitation: {seen:?}");
    let last = seen.last().unwrap();
    assert_eq!(last.uses, 2);
    assert_eq!(last.created_at_ms, made_at);
    assert_eq!(last.max_uses, None);

    // The same push again (a retry) changes nothing.
    let again = rep.push(vec![poster.pushed(2, made_at)]).await;
    assert_eq!(again.outcomes[0].outcome, Outcome::Applied);
    assert_eq!(rows_of(&w).await, 1);

    // Synced first, opened after: still one row, and the page works.
    let qr = make(&rep, 2, Some(1), now_ms() + HOUR_MS);
    let res = rep.push(vec![qr.pushed(3, now_ms())]).await;
    assert_eq!(res.outcomes[0].outcome, Outcome::Applied);
    assert_eq!(rows_of(&w).await, 2);
    assert_eq!(
        accept(&qr.url(&w), "孙八", "13700137001").await.0,
        StatusCode::OK
    );
    assert_eq!(rows_of(&w).await, 2);
    let last = pulled(&rep, &qr.url(&w)).await.pop().unwrap();
    assert_eq!((last.uses, last.status), (1, InvitationStatus::Accepted));
}

/// The app's sync and a phone's first open of the same single-use
/// invitation at the same moment, many times over: always one row, one use.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_open_racing_the_sync_makes_one_row_and_one_use() {
    let w = world().await;
    let rep = activate(&w.ts, w.rep_a.id).await;
    for n in 1..=8_i64 {
        let inv = make(&rep, n as u64, Some(1), now_ms() + HOUR_MS);
        let url = inv.url(&w);
        let phone = format!("1360013601{n}");
        let (pushed, (status, html)) = tokio::join!(
            rep.push(vec![inv.pushed(n, now_ms())]),
            accept(&url, "赵六", &phone)
        );
        assert_eq!(pushed.outcomes[0].outcome, Outcome::Applied, "{pushed:?}");
        assert_eq!(status, StatusCode::OK, "{html}");
        assert_eq!(rows_of(&w).await, n);
        let uses =
            w.ts.sql()
                .i64(&format!(
                    "SELECT uses FROM invitations WHERE invite_no = {n}"
                ))
                .await;
        assert_eq!(uses, 1, "invitation {n}");
    }
}

/// A pushed invitation that can never be recorded is rejected with the
/// reason and the queue moves on.
#[tokio::test]
async fn a_bad_pushed_invitation_is_rejected_and_never_blocks_the_outbox() {
    let w = world().await;
    let rep = activate(&w.ts, w.rep_a.id).await;
    let partner = activate(&w.ts, w.partner_a1.id).await;
    let good = make(&rep, 1, Some(1), now_ms() + HOUR_MS);
    // A field that is not what the token signs.
    let mut altered = good.pushed(1, now_ms());
    if let MutationBody::CreateInvitation { max_uses, .. } = &mut altered.body {
        *max_uses = None;
    }
    // Another device's token.
    let other = activate(&w.ts, w.rep_b.id).await;
    let stolen = make(&other, 1, Some(1), now_ms() + HOUR_MS);
    let res = rep
        .push(vec![
            altered,
            stolen.pushed(2, now_ms()),
            good.pushed(3, now_ms()),
        ])
        .await;
    let outcomes: Vec<&Outcome> = res.outcomes.iter().map(|o| &o.outcome).collect();
    assert!(
        matches!(outcomes[0], Outcome::Rejected { message, .. } if message.contains("does not match")),
        "{outcomes:?}"
    );
    assert!(
        matches!(outcomes[1], Outcome::Rejected { message, .. } if message.contains("does not verify")),
        "{outcomes:?}"
    );
    assert_eq!(outcomes[2], &Outcome::Applied);
    assert_eq!(res.last_seq, 3);
    assert_eq!(rows_of(&w).await, 1);

    // A partner may not invite: rejected, not applied.
    let theirs = make(&partner, 1, Some(1), now_ms() + HOUR_MS);
    let res = partner.push(vec![theirs.pushed(1, now_ms())]).await;
    assert!(
        matches!(&res.outcomes[0].outcome, Outcome::Rejected { .. }),
        "{res:?}"
    );
    assert_eq!(get_page(&theirs.url(&w)).await.0, StatusCode::NOT_FOUND);
    assert_eq!(rows_of(&w).await, 1);
}

#[tokio::test]
async fn forged_altered_expired_and_revoked_links_get_a_clear_page() {
    let w = world().await;
    let rep = activate(&w.ts, w.rep_a.id).await;
    let good = make(&rep, 1, Some(1), now_ms() + HOUR_MS);

    // Altered: one character of the genuine token changed, anywhere.
    for i in [2, 8, good.token.len() - 3] {
        let mut chars: Vec<char> = good.token.chars().collect();
        chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
        let altered: String = chars.into_iter().collect();
        let (status, html) = get_page(&format!("{}/i/{altered}", w.ts.url())).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{altered}");
        assert!(html.contains("邀请不存在"), "{html}");
        let (status, _) = accept(
            &format!("{}/i/{altered}", w.ts.url()),
            "赵六",
            "13600136000",
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
    // Forged: the right shape, signed with a guessed key.
    let forged = InviteClaim {
        device_id: rep.id() as u64,
        ..good.claim
    }
    .sign(&derive_invite_key(b"a guess"));
    assert_eq!(
        get_page(&format!("{}/i/{forged}", w.ts.url())).await.0,
        StatusCode::NOT_FOUND
    );
    // Longer than any invitation may live: refused too.
    let forever = make(&rep, 9, Some(1), now_ms() + 400 * 24 * HOUR_MS);
    assert_eq!(get_page(&forever.url(&w)).await.0, StatusCode::NOT_FOUND);
    assert_eq!(rows_of(&w).await, 0, "nothing recorded for bad links");

    // Expired, never seen before: recorded, and the page says it expired.
    let old = make(&rep, 2, Some(1), now_ms() - HOUR_MS);
    let (status, html) = get_page(&old.url(&w)).await;
    assert_eq!(status, StatusCode::GONE);
    assert!(
        html.contains("这个邀请已过期") && html.contains("李明"),
        "{html}"
    );
    assert_eq!(
        accept(&old.url(&w), "赵六", "13600136000").await.0,
        StatusCode::GONE
    );

    // The rep's laptop is lost: a manager revokes it. Its invitation already
    // opened stops working, and so does one the server never saw.
    let seen = make(&rep, 3, None, now_ms() + HOUR_MS);
    assert_eq!(get_page(&seen.url(&w)).await.0, StatusCode::OK);
    let unseen = make(&rep, 4, None, now_ms() + HOUR_MS);
    let manager = activate(&w.ts, w.manager.id).await;
    let res = manager
        .post(&format!("/api/v1/devices/{}/revoke", rep.id()))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "{}",
        res.text().await.unwrap()
    );
    let (status, html) = get_page(&seen.url(&w)).await;
    assert_eq!(status, StatusCode::GONE);
    assert!(html.contains("这个邀请已被撤销"), "{html}");
    assert_eq!(
        accept(&seen.url(&w), "赵六", "13600136000").await.0,
        StatusCode::GONE
    );
    assert_eq!(get_page(&unseen.url(&w)).await.0, StatusCode::NOT_FOUND);
    assert!(!company_users(&w).await.iter().any(|u| u.name == "赵六"));
}

/// Whatever the code does, the database refuses an invitation used more
/// often than it allows (a trigger on both backends).
#[tokio::test]
async fn the_database_refuses_more_uses_than_allowed() {
    let w = world().await;
    let rep = activate(&w.ts, w.rep_a.id).await;
    let inv = make(&rep, 1, Some(1), now_ms() + HOUR_MS);
    assert_eq!(
        accept(&inv.url(&w), "赵六", "13600136000").await.0,
        StatusCode::OK
    );
    let url = w.ts.database_url().to_string();
    let over = tokio::spawn(async move {
        warmlead_server::testing::TestSql::new(&url)
            .execute("UPDATE invitations SET uses = 2, status = 'pending' WHERE invite_no = 1")
            .await
    })
    .await;
    assert!(over.is_err_and(|e| e.is_panic()), "the update was refused");
    let uses =
        w.ts.sql()
            .i64("SELECT uses FROM invitations WHERE invite_no = 1")
            .await;
    assert_eq!(uses, 1);
}
