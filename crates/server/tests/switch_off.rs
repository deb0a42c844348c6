//! Switching someone off ends everything they can do (issue 18): a rep's
//! invitations close (pages say so politely, on every way in) and reopen
//! only when the manager chooses; a partner's (or a revoked device's) share
//! links recorded before keep showing their content but credit no partner,
//! and links recorded after are not served, on every channel that reaches
//! the same effect. Real server, real database (SQLite, or PostgreSQL with
//! WARMLEAD_TEST_BACKEND=postgres).
mod common;

use common::{activate, leave_phone, mutation, world, Device, World};
use reqwest::StatusCode;
use serde_json::json;
use warmlead_core::api::{ForwardResponse, PATH_FORWARD};
use warmlead_core::domain::{Channel, User};
use warmlead_core::invite::offline::{derive_invite_key, InviteClaim};
use warmlead_core::invite::{Invitation, InvitationStatus, InviteChannel, NewInvitation};
use warmlead_core::sync::{ChangeBody, MutationBody};

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

async fn switch_off(manager: &Device, user_id: i64) {
    let res = manager
        .post(&format!("/api/v1/team/{user_id}/deactivate"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}

async fn switch_on(manager: &Device, user_id: i64, body: Option<serde_json::Value>) {
    let req = manager.post(&format!("/api/v1/team/{user_id}/reactivate"));
    let req = match body {
        Some(b) => req.json(&b),
        None => req,
    };
    let res = req.send().await.unwrap();
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "{}",
        res.text().await.unwrap()
    );
}

async fn revoke(manager: &Device, device_id: i64) {
    let res = manager
        .post(&format!("/api/v1/devices/{device_id}/revoke"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}

async fn create_invitation(rep: &Device, channel: InviteChannel, multi_use: bool) -> Invitation {
    let res = rep
        .post("/api/v1/invitations")
        .json(&NewInvitation {
            channel,
            multi_use,
            expires_in_hours: Some(90 * 24),
        })
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
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

async fn users(w: &World) -> Vec<User> {
    w.ts.admin().company_users(w.company.id).await.unwrap()
}

/// The polite page of an invitation closed by its rep's switch-off: 410,
/// says it is closed and to ask the company (not the switched-off rep).
fn assert_closed_politely(w: &World, what: &str, (status, body): (StatusCode, String)) {
    assert_eq!(status, StatusCode::GONE, "{what}: {body}");
    assert!(body.contains("邀请已关闭"), "{what}: {body}");
    assert!(body.contains(&w.company.name), "{what}: {body}");
    assert!(
        !body.contains(&w.rep_a.name),
        "{what} names the rep: {body}"
    );
}

/// The newest state of each invitation the device pulls.
async fn invitations(d: &Device) -> std::collections::HashMap<i64, Invitation> {
    let mut out = std::collections::HashMap::new();
    for c in d.pull_all().await {
        if let ChangeBody::Invitation(i) = c.body {
            out.insert(i.id, i);
        }
    }
    out
}

/// A fired rep's 90-day multi-use poster link, their QR link and its short
/// code: closed the moment the rep is switched off, on GET, on the accept
/// POST, at `/j` by code; nobody joins; the devices learn they are revoked.
#[tokio::test]
async fn a_switched_off_reps_server_made_invitations_close_on_every_way_in() {
    let w = world().await;
    let manager = activate(&w.ts, w.manager.id).await;
    let rep = activate(&w.ts, w.rep_a.id).await;
    let poster = create_invitation(&rep, InviteChannel::Poster, true).await;
    let qr = create_invitation(&rep, InviteChannel::Qr, false).await;
    // Used once before: a multi-use link stays open until the switch-off.
    let (status, _) = accept(&poster.url, "第一位", "13600136001").await;
    assert_eq!(status, StatusCode::OK);
    let before = users(&w).await.len();

    switch_off(&manager, w.rep_a.id).await;
    let base = w.ts.url();
    for inv in [&poster, &qr] {
        assert_closed_politely(&w, "GET", get_page(&inv.url).await);
        assert_closed_politely(
            &w,
            "POST",
            accept(&inv.url, "第二部手机", "13600136002").await,
        );
        let by_code = format!("{base}/j?code={}", inv.short_code);
        assert_closed_politely(&w, "/j?code", get_page(&by_code).await);
        let code_url = format!("{base}/j/{}", inv.short_code);
        assert_closed_politely(&w, "/j/code GET", get_page(&code_url).await);
        assert_closed_politely(
            &w,
            "/j/code POST",
            accept(&code_url, "第二部手机", "13600136002").await,
        );
    }
    assert_eq!(users(&w).await.len(), before, "nobody joined");
    let seen = invitations(&manager).await;
    for inv in [&poster, &qr] {
        assert_eq!(seen[&inv.id].status, InvitationStatus::Revoked, "{inv:?}");
    }

    // Switched on again without asking to reopen (an old client's empty
    // body): they stay closed, now like any revoked invitation.
    switch_on(&manager, w.rep_a.id, None).await;
    let (status, _) = get_page(&poster.url).await;
    assert_eq!(status, StatusCode::GONE);
    let (status, _) = accept(&qr.url, "第二部手机", "13600136002").await;
    assert_eq!(status, StatusCode::GONE);
    assert_eq!(users(&w).await.len(), before);
    // And a later switch-off and switch-on that reopens cannot revive them.
    switch_off(&manager, w.rep_a.id).await;
    switch_on(
        &manager,
        w.rep_a.id,
        Some(json!({"reopen_invitations": true})),
    )
    .await;
    let (status, _) = get_page(&qr.url).await;
    assert_eq!(status, StatusCode::GONE);
}

/// The manager may choose to reopen exactly what the switch-off closed; an
/// invitation the rep had revoked themself stays revoked.
#[tokio::test]
async fn switching_a_rep_on_reopens_their_invitations_only_when_asked() {
    let w = world().await;
    let manager = activate(&w.ts, w.manager.id).await;
    let rep = activate(&w.ts, w.rep_a.id).await;
    let open = create_invitation(&rep, InviteChannel::Poster, true).await;
    let revoked = create_invitation(&rep, InviteChannel::Qr, false).await;
    let res = rep
        .post(&format!("/api/v1/invitations/{}/revoke", revoked.id))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    switch_off(&manager, w.rep_a.id).await;
    assert_closed_politely(&w, "GET", get_page(&open.url).await);
    let bad = manager
        .post(&format!("/api/v1/team/{}/reactivate", w.rep_a.id))
        .json(&json!({"reopen_invitations": "maybe"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    switch_on(
        &manager,
        w.rep_a.id,
        Some(json!({"reopen_invitations": true})),
    )
    .await;
    let (status, _) = get_page(&open.url).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = accept(&open.url, "新朋友", "13600136003").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = get_page(&revoked.url).await;
    assert_eq!(status, StatusCode::GONE);
    let seen = invitations(&manager).await;
    assert_eq!(seen[&open.id].status, InvitationStatus::Pending);
    assert_eq!(seen[&revoked.id].status, InvitationStatus::Revoked);
}

fn offline_invite(dev: &Device, invite_no: u64) -> String {
    let claim = InviteClaim {
        device_id: dev.id() as u64,
        invite_no,
        channel: InviteChannel::Poster,
        max_uses: None,
        expires_at_min: ((now_ms() + 24 * 3600 * 1000) / 60_000) as u64,
    };
    claim.sign(&derive_invite_key(&dev.share_key()))
}

/// Invitations the rep's device signed offline, one the server recorded
/// before the switch-off and one it never saw: refused at accept, with the
/// polite page, while the rep is off.
#[tokio::test]
async fn a_switched_off_reps_offline_invitations_are_refused_at_accept() {
    let w = world().await;
    let manager = activate(&w.ts, w.manager.id).await;
    let rep = activate(&w.ts, w.rep_a.id).await;
    let base = w.ts.url();
    let seen = format!("{base}/i/{}", offline_invite(&rep, 1));
    let unseen = format!("{base}/i/{}", offline_invite(&rep, 2));
    let (status, _) = get_page(&seen).await;
    assert_eq!(status, StatusCode::OK, "recorded by its first open");
    let before = users(&w).await.len();
    switch_off(&manager, w.rep_a.id).await;
    assert_closed_politely(&w, "recorded GET", get_page(&seen).await);
    assert_closed_politely(
        &w,
        "recorded POST",
        accept(&seen, "朋友", "13600136004").await,
    );
    let (status, _) = accept(&unseen, "朋友", "13600136004").await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "never seen, signed by a device that is off"
    );
    assert_eq!(users(&w).await.len(), before, "nobody joined");
}

async fn page_status(base: &str, token: &str) -> (StatusCode, String) {
    get_page(&format!("{base}/s/{token}")).await
}

async fn beacon(base: &str, token: &str, visitor: &str, pv: &str) -> StatusCode {
    reqwest::Client::new()
        .post(format!("{base}/t/beacon"))
        .header("cookie", format!("wl_v={visitor}"))
        .body(json!({"t": token, "pv": pv, "dwell_ms": 4000}).to_string())
        .send()
        .await
        .unwrap()
        .status()
}

async fn forward(base: &str, token: &str, visitor: &str) -> (StatusCode, Option<ForwardResponse>) {
    let res = reqwest::Client::new()
        .post(format!("{base}{PATH_FORWARD}"))
        .header("cookie", format!("wl_v={visitor}"))
        .json(&json!({"t": token}))
        .send()
        .await
        .unwrap();
    let status = res.status();
    (status, res.json().await.ok())
}

/// How the sharer is cut off, for the same checks.
#[derive(Clone, Copy, Debug)]
enum Cut {
    SwitchOff,
    Revoke,
}

/// A partner's links after the partner is switched off or their device
/// revoked. Recorded before (pushed by sync, first opened by a friend, a
/// child share passed on): still shown, but views, forwards and leads
/// credit no partner (a friend's details go to the rep). Signed after (or
/// never recorded before): not served on any channel, and a push of it is
/// refused. A page cached before the cut behaves the same at once.
async fn shares_after(cut: Cut) {
    let w = world().await;
    let manager = activate(&w.ts, w.manager.id).await;
    let partner = activate(&w.ts, w.partner_a1.id).await;
    let base = w.ts.url();
    let item = w.item.id;
    let pushed = partner.sign(1, item, Channel::Moments);
    let res = partner.push(vec![partner.create_share(1, 1, item)]).await;
    assert_eq!(res.last_seq, 1);
    let opened = partner.sign(2, item, Channel::Group);
    let (status, _) = page_status(&base, &opened).await;
    assert_eq!(status, StatusCode::OK);
    common::eventually("the opened share to be recorded", 10, || async {
        w.ts.admin().share_exists(&opened).await.unwrap()
    })
    .await;
    let (status, child) = forward(&base, &pushed, "friend-before-0001").await;
    assert_eq!(status, StatusCode::OK);
    let child = child.unwrap().token;
    // A view before the cut is credited, and the page is now cached.
    assert_eq!(
        beacon(&base, &pushed, "friend-before-0001", "pv-before-0001").await,
        StatusCode::NO_CONTENT
    );
    let credited_before = w.ts.admin().visits_for_share(&pushed).await.unwrap();
    assert_eq!(credited_before.len(), 1);
    assert_eq!(credited_before[0].partner_id, w.partner_a1.id);
    let signed_before_never_seen = partner.sign(3, item, Channel::Direct);

    match cut {
        Cut::SwitchOff => switch_off(&manager, w.partner_a1.id).await,
        Cut::Revoke => revoke(&manager, partner.id()).await,
    }
    let signed_after = partner.sign(4, item, Channel::Moments);

    // Recorded before: the content still shows, to the friend who did nothing wrong.
    for token in [&pushed, &opened, &child] {
        let (status, body) = page_status(&base, token).await;
        assert_eq!(status, StatusCode::OK, "{cut:?} {token}");
        assert!(body.contains(&w.item.title), "{cut:?} {token}");
    }
    // ... and nothing from them credits the partner.
    for (k, token) in [&pushed, &opened, &child].into_iter().enumerate() {
        let visitor = format!("friend-after-000{k}");
        let status = beacon(&base, token, &visitor, &format!("pv-after-000{k}")).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{cut:?}");
    }
    for token in [&pushed, &opened, &child] {
        let visits = w.ts.admin().visits_for_share(token).await.unwrap();
        let to_rep = visits.iter().filter(|v| v.partner_id == w.rep_a.id).count();
        assert_eq!(
            to_rep, 1,
            "{cut:?} {token}: the view after the cut goes to the rep: {visits:?}"
        );
        let credited = visits
            .iter()
            .filter(|v| v.partner_id == w.partner_a1.id)
            .count();
        assert_eq!(
            credited,
            usize::from(*token == pushed),
            "{cut:?} {token}: {visits:?}"
        );
    }
    let (status, again) = forward(&base, &pushed, "friend-after-0009").await;
    assert_eq!(status, StatusCode::OK, "{cut:?}");
    assert_eq!(
        again.unwrap().token,
        pushed,
        "{cut:?}: passing it on makes no crediting child"
    );
    for (k, token) in [&pushed, &opened, &child].into_iter().enumerate() {
        let phone = format!("1350013500{k}");
        let res = leave_phone(&base, token, "钱先生", &phone).await;
        assert_eq!(res.status(), StatusCode::OK, "{cut:?} {token}");
        let lead =
            w.ts.admin()
                .leads(w.company.id)
                .await
                .unwrap()
                .into_iter()
                .find(|l| l.phone.ends_with(&phone[1..]))
                .expect("the friend's details are kept");
        assert_ne!(
            lead.partner_id, w.partner_a1.id,
            "{cut:?} {token}: credited"
        );
        assert_eq!(
            lead.rep_id,
            Some(w.rep_a.id),
            "{cut:?} {token}: goes to the rep"
        );
        assert_eq!(lead.name, "钱先生");
    }

    // Not recorded before the cut: not served, whichever way it comes.
    for token in [&signed_before_never_seen, &signed_after] {
        let (status, _) = page_status(&base, token).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{cut:?} page");
        assert_eq!(
            beacon(&base, token, "friend-x-00000001", "pv-x-00000001").await,
            StatusCode::NOT_FOUND
        );
        let (status, _) = forward(&base, token, "friend-x-00000001").await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{cut:?} forward");
        let res = leave_phone(&base, token, "孙女士", "13500135099").await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{cut:?} lead");
        assert!(
            !w.ts.admin().share_exists(token).await.unwrap(),
            "{cut:?} recorded"
        );
    }
    let leads = w.ts.admin().leads(w.company.id).await.unwrap();
    assert!(leads.iter().all(|l| l.phone != "+8613500135099"));
    // The device cannot push it either.
    let res = partner
        .push_raw(vec![mutation(
            2,
            MutationBody::CreateShare {
                share_no: 4,
                item_id: item,
                channel: Channel::Moments,
                token: signed_after.clone(),
                created_at_ms: now_ms() - 3_600_000,
            },
        )])
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{cut:?}");
    let (status, _) = page_status(&base, &signed_after).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_switched_off_partners_links_show_content_but_credit_no_one() {
    shares_after(Cut::SwitchOff).await;
}

#[tokio::test]
async fn a_revoked_devices_links_show_content_but_credit_no_one() {
    shares_after(Cut::Revoke).await;
}

/// Switched on again, the partner's links credit them again.
#[tokio::test]
async fn switched_on_again_a_partners_links_credit_again() {
    let w = world().await;
    let manager = activate(&w.ts, w.manager.id).await;
    let partner = activate(&w.ts, w.partner_a1.id).await;
    let base = w.ts.url();
    let token = partner.sign(1, w.item.id, Channel::Moments);
    partner
        .push(vec![partner.create_share(1, 1, w.item.id)])
        .await;
    switch_off(&manager, w.partner_a1.id).await;
    let res = leave_phone(&base, &token, "周先生", "13500135001").await;
    assert_eq!(res.status(), StatusCode::OK);
    switch_on(&manager, w.partner_a1.id, None).await;
    let res = leave_phone(&base, &token, "吴先生", "13500135002").await;
    assert_eq!(res.status(), StatusCode::OK);
    let leads = w.ts.admin().leads(w.company.id).await.unwrap();
    let by_phone = |p: &str| leads.iter().find(|l| l.phone == p).unwrap().partner_id;
    assert_eq!(by_phone("+8613500135001"), w.rep_a.id);
    assert_eq!(by_phone("+8613500135002"), w.partner_a1.id);
}
