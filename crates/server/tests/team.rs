//! The manager's team: switching a rep or partner off stops every device of
//! theirs at once (401 `account_disabled`, which the app acts on) and their
//! activation codes; switching them on again undoes it; revoking one lost
//! device leaves the others working. Nobody else may do it.
mod common;

use common::{activate, api_error, world, Device};
use reqwest::StatusCode;
use warmlead_core::api::{TeamMember, PATH_ACTIVATE, PATH_ME, PATH_TEAM};
use warmlead_core::error::ErrorCode;

async fn me(d: &Device) -> reqwest::Response {
    d.get(PATH_ME).send().await.unwrap()
}

async fn switch(d: &Device, user_id: i64, on: bool) -> reqwest::Response {
    let verb = if on { "reactivate" } else { "deactivate" };
    d.post(&format!("/api/v1/team/{user_id}/{verb}"))
        .send()
        .await
        .unwrap()
}

async fn revoke(d: &Device, device_id: i64) -> reqwest::Response {
    d.post(&format!("/api/v1/devices/{device_id}/revoke"))
        .send()
        .await
        .unwrap()
}

async fn team_of(manager: &Device) -> Vec<TeamMember> {
    manager
        .get(PATH_TEAM)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn assert_switched_off(res: reqwest::Response) {
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let e = api_error(res).await;
    assert_eq!(e.code, ErrorCode::AccountDisabled, "{e:?}");
    assert!(e.message.contains("switched"), "{e:?}");
}

/// A revoked device has its own code, so the app says "this device".
async fn assert_revoked(res: reqwest::Response) {
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let e = api_error(res).await;
    assert_eq!(e.code, ErrorCode::DeviceRevoked, "{e:?}");
    assert!(e.message.contains("revoked this device"), "{e:?}");
}

#[tokio::test]
async fn a_switched_off_rep_is_signed_out_everywhere_until_switched_on() {
    let w = world().await;
    let manager = activate(&w.ts, w.manager.id).await;
    let laptop = activate(&w.ts, w.rep_a.id).await;
    let phone = activate(&w.ts, w.rep_a.id).await;
    let partner = activate(&w.ts, w.partner_a1.id).await;

    let team = team_of(&manager).await;
    let rep = team.iter().find(|m| m.user.id == w.rep_a.id).unwrap();
    assert_eq!(rep.devices.len(), 2);
    assert_eq!(rep.deactivated_at_ms, None);
    assert_eq!(
        laptop.get(PATH_TEAM).send().await.unwrap().status(),
        StatusCode::FORBIDDEN
    );

    assert_eq!(
        switch(&manager, w.rep_a.id, false).await.status(),
        StatusCode::OK
    );
    assert_switched_off(me(&laptop).await).await;
    assert_switched_off(me(&phone).await).await;
    let code =
        w.ts.admin()
            .create_activation_code(w.rep_a.id)
            .await
            .unwrap();
    let res = reqwest::Client::new()
        .post(format!("{}{PATH_ACTIVATE}", w.ts.url()))
        .json(&warmlead_core::api::ActivateRequest {
            code,
            device_name: "new laptop".into(),
        })
        .send()
        .await
        .unwrap();
    assert_switched_off(res).await;
    // Their partners and leads stay where they are.
    assert_eq!(me(&partner).await.status(), StatusCode::OK);
    let team = team_of(&manager).await;
    let rep = team.iter().find(|m| m.user.id == w.rep_a.id).unwrap();
    assert!(rep.deactivated_at_ms.is_some());
    let bound = team.iter().find(|m| m.user.id == w.partner_a1.id).unwrap();
    assert_eq!(bound.user.rep_id, Some(w.rep_a.id));

    assert_eq!(
        switch(&manager, w.rep_a.id, true).await.status(),
        StatusCode::OK
    );
    assert_eq!(me(&laptop).await.status(), StatusCode::OK);
    assert_eq!(me(&phone).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_lost_laptop_is_revoked_alone() {
    let w = world().await;
    let manager = activate(&w.ts, w.manager.id).await;
    let lost = activate(&w.ts, w.partner_a1.id).await;
    let kept = activate(&w.ts, w.partner_a1.id).await;
    assert_eq!(revoke(&manager, lost.id()).await.status(), StatusCode::OK);
    assert_revoked(me(&lost).await).await;
    assert_eq!(me(&kept).await.status(), StatusCode::OK);
    // The owner revokes one of their own devices from another.
    let spare = activate(&w.ts, w.partner_a1.id).await;
    assert_eq!(revoke(&kept, spare.id()).await.status(), StatusCode::OK);
    assert_revoked(me(&spare).await).await;
    let team = team_of(&manager).await;
    let devices = &team
        .iter()
        .find(|m| m.user.id == w.partner_a1.id)
        .unwrap()
        .devices;
    let revoked: Vec<i64> = devices
        .iter()
        .filter(|d| d.revoked_at_ms.is_some())
        .map(|d| d.id)
        .collect();
    assert_eq!(revoked, [lost.id(), spare.id()]);
}

#[tokio::test]
async fn only_a_manager_of_the_company_switches_reps_and_partners() {
    let w = world().await;
    let manager = activate(&w.ts, w.manager.id).await;
    let rep = activate(&w.ts, w.rep_a.id).await;
    let partner = activate(&w.ts, w.partner_a1.id).await;
    let other = w.ts.admin().create_company("另一家").await.unwrap();
    let stranger =
        w.ts.admin()
            .create_user(
                other.id,
                warmlead_core::domain::Role::Rep,
                "外人",
                None,
                None,
            )
            .await
            .unwrap();
    let second_manager =
        w.ts.admin()
            .create_user(
                w.company.id,
                warmlead_core::domain::Role::Manager,
                "副经理",
                None,
                None,
            )
            .await
            .unwrap();
    let cases = [
        (&rep, w.partner_a1.id, StatusCode::FORBIDDEN),
        (&partner, w.rep_a.id, StatusCode::FORBIDDEN),
        (&manager, w.manager.id, StatusCode::FORBIDDEN),
        (&manager, second_manager.id, StatusCode::FORBIDDEN),
        (&manager, stranger.id, StatusCode::NOT_FOUND),
        (&manager, 999_999, StatusCode::NOT_FOUND),
    ];
    for (who, target, want) in cases {
        assert_eq!(switch(who, target, false).await.status(), want, "{target}");
    }
    assert_eq!(
        revoke(&rep, partner.id()).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(me(&rep).await.status(), StatusCode::OK);
    assert_eq!(me(&partner).await.status(), StatusCode::OK);
}

/// The manager adds a rep from the team screen: the answer carries the code
/// and the sign-in link (the QR), and the rep signs in with them; a code for
/// a new laptop later; a bad number or a partner added this way is refused.
#[tokio::test]
async fn a_manager_adds_a_rep_who_signs_in_with_the_shown_code() {
    use warmlead_core::api::{IssuedCode, NewTeamMember};
    use warmlead_core::domain::Role;
    let w = world().await;
    let manager = activate(&w.ts, w.manager.id).await;
    let add = |role: Role, phone: &str| {
        manager
            .post(PATH_TEAM)
            .json(&NewTeamMember {
                role,
                name: "孙七".into(),
                phone: phone.into(),
            })
            .send()
    };
    let issued: IssuedCode = add(Role::Rep, "135 0013 5000")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (issued.user.role, issued.user.phone.as_deref()),
        (Role::Rep, Some("+8613500135000"))
    );
    let (server, code) =
        warmlead_core::invite::parse_activation_link(&issued.activation_link).unwrap();
    assert_eq!(
        (server, code.clone()),
        (w.ts.url(), issued.activation_code.clone())
    );
    let rep = common::activate_with_code(&w.ts, &code).await;
    assert_eq!(rep.act.user.id, issued.user.id);
    assert_eq!(me(&rep).await.status(), StatusCode::OK);

    let again: IssuedCode = manager
        .post(&format!("/api/v1/team/{}/activation-code", issued.user.id))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_ne!(again.activation_code, issued.activation_code);
    common::activate_with_code(&w.ts, &again.activation_code).await;

    let dup = add(Role::Rep, "13500135000").await.unwrap();
    assert_eq!(dup.status(), StatusCode::CONFLICT);
    let bad = add(Role::Rep, "12345").await.unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert!(api_error(bad).await.message.contains("12345"));
    assert_eq!(
        add(Role::Partner, "13600136001").await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    let rep_adds = rep
        .post(PATH_TEAM)
        .json(&NewTeamMember {
            role: Role::Rep,
            name: "周八".into(),
            phone: "13600136002".into(),
        })
        .send()
        .await
        .unwrap();
    assert_eq!(rep_adds.status(), StatusCode::FORBIDDEN);
}

/// The team list counts what each person did: a rep's partners and leads,
/// shares since the time the screen asks about, and when each device was
/// last seen.
#[tokio::test]
async fn the_team_list_counts_partners_leads_shares_and_last_seen() {
    use warmlead_core::domain::Channel;
    let w = world().await;
    let manager = activate(&w.ts, w.manager.id).await;
    let partner = activate(&w.ts, w.partner_a1.id).await;
    let res = partner
        .push(vec![
            partner.create_share(1, 1, w.item.id),
            partner.create_share(2, 2, w.item.id),
        ])
        .await;
    assert_eq!(res.last_seq, 2);
    let token = partner.sign(1, w.item.id, Channel::Moments);
    let lead = common::leave_phone(&w.ts.url(), &token, "钱先生", "13700137001").await;
    assert_eq!(lead.status(), StatusCode::OK);

    let team = |since: Option<i64>| {
        let path = match since {
            Some(s) => format!("{PATH_TEAM}?shares_since={s}"),
            None => PATH_TEAM.to_string(),
        };
        let get = manager.get(&path).send();
        async move { get.await.unwrap().json::<Vec<TeamMember>>().await.unwrap() }
    };
    // The test's shares are dated 2023 (see `Device::create_share`).
    let all = team(Some(0)).await;
    let of = |id: i64| all.iter().find(|m| m.user.id == id).unwrap().clone();
    let (rep, p1, p2) = (of(w.rep_a.id), of(w.partner_a1.id), of(w.partner_a2.id));
    assert_eq!((rep.partners, rep.leads, rep.shares_since), (2, 1, 2));
    assert_eq!((p1.partners, p1.leads, p1.shares_since), (0, 1, 2));
    assert_eq!((p2.leads, p2.shares_since), (0, 0));
    let later = team(Some(i64::MAX / 2)).await;
    assert!(later.iter().all(|m| m.shares_since == 0));
    let last_30_days = team(None).await;
    assert!(
        last_30_days.iter().all(|m| m.shares_since == 0),
        "the default window"
    );

    // The partner's device reached the server: its last-seen time is stored.
    common::eventually("the partner's device's last-seen time", 10, || async {
        team(None)
            .await
            .iter()
            .flat_map(|m| m.devices.iter())
            .find(|d| d.id == partner.id())
            .is_some_and(|d| d.last_seen_at_ms.is_some())
    })
    .await;
}
