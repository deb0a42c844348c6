//! Who may read and change a lead: only its rep (and the partner credited,
//! read-only, phone masked) and the company's managers. Another rep, another
//! partner of the same company and every user of another company neither see
//! it in a pull nor change it through a pushed mutation.
mod common;

use common::{activate, mutation, world, Device, World};
use reqwest::StatusCode;
use warmlead_core::api::{PATH_LEAD_FORM, PATH_PULL, PATH_RADAR_PULL};
use warmlead_core::domain::{Channel, Role};
use warmlead_core::lead::{Lead, ManFlags, RadarBody, RadarPullResponse};
use warmlead_core::sync::{MutationBody, Outcome};
use warmlead_core::ErrorCode;

const PHONE: &str = "13800138000";

/// Partner A1 shares; a friend leaves a phone: a lead of rep A.
async fn lead_of_rep_a(w: &World) -> (Lead, String) {
    let p1 = activate(&w.ts, w.partner_a1.id).await;
    let token = p1.sign(1, w.item.id, Channel::Moments);
    let res = reqwest::Client::new()
        .post(format!("{}{PATH_LEAD_FORM}", w.ts.url()))
        .header("cookie", "wl_v=reader-00000001")
        .header("accept", "application/json")
        .form(&[
            ("t", token.as_str()),
            ("name", "赵女士"),
            ("phone", PHONE),
            ("consent", "yes"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let leads = w.ts.admin().leads(w.company.id).await.unwrap();
    assert_eq!(leads.len(), 1);
    assert_eq!(leads[0].rep_id, Some(w.rep_a.id));
    (leads[0].clone(), token)
}

async fn radar(d: &Device) -> RadarPullResponse {
    let res = d
        .get(&format!("{PATH_RADAR_PULL}?after=0&limit=1000"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

/// Lead ids the device's radar pull mentions (the lead itself or its signals).
async fn visible_leads(d: &Device) -> Vec<i64> {
    radar(d)
        .await
        .changes
        .into_iter()
        .filter_map(|c| match c.body {
            RadarBody::Lead(l) => Some(l.id),
            RadarBody::Signal(s) => s.lead_id,
            _ => None,
        })
        .collect()
}

/// Both pulls as raw text: neither may carry the lead's phone or the share.
async fn pulled_text(d: &Device) -> String {
    let mut all = String::new();
    for path in [PATH_PULL, PATH_RADAR_PULL] {
        let res = d
            .get(&format!("{path}?after=0&limit=1000"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        all.push_str(&res.text().await.unwrap());
    }
    all
}

/// Pushes MAN flags on the lead; returns the rejection code (None = applied).
async fn set_man(d: &Device, lead_id: i64) -> Option<ErrorCode> {
    let man = ManFlags {
        money: true,
        authority: true,
        need: true,
    };
    let res = d
        .push(vec![mutation(
            1,
            MutationBody::SetManFlags { lead_id, man },
        )])
        .await;
    assert_eq!(res.last_seq, 1, "a refusal never blocks the queue");
    match &res.outcomes[0].outcome {
        Outcome::Applied => None,
        Outcome::Rejected { code, .. } => Some(*code),
    }
}

async fn assert_shut_out(w: &World, who: &str, d: &Device, lead: &Lead, token: &str) {
    assert!(
        !visible_leads(d).await.contains(&lead.id),
        "{who} sees the lead"
    );
    let text = pulled_text(d).await;
    assert!(!text.contains(token), "{who} pulls the share");
    assert!(!text.contains(PHONE), "{who} pulls the phone");
    assert!(
        !text.contains("138****8000"),
        "{who} pulls the masked phone"
    );
    assert!(!text.contains("赵女士"), "{who} pulls the name");
    let code = set_man(d, lead.id).await;
    assert!(
        matches!(code, Some(ErrorCode::Forbidden | ErrorCode::NotFound)),
        "{who} changed the MAN flags: {code:?}"
    );
    let now = w.ts.admin().lead(lead.id).await.unwrap().unwrap();
    assert_eq!(now.man, lead.man, "{who} changed the lead");
    assert_eq!((now.score, now.grade), (lead.score, lead.grade));
}

#[tokio::test]
async fn rep_b_and_other_partners_neither_see_nor_change_rep_as_lead() {
    let w = world().await;
    let (lead, token) = lead_of_rep_a(&w).await;
    for (who, user) in [
        ("rep B", &w.rep_b),
        ("rep B's partner", &w.partner_b1),
        ("rep A's other partner", &w.partner_a2),
    ] {
        let d = activate(&w.ts, user.id).await;
        assert_shut_out(&w, who, &d, &lead, &token).await;
    }
    // The credited partner sees it (phone masked) but may not change it.
    let p1 = activate(&w.ts, w.partner_a1.id).await;
    assert!(visible_leads(&p1).await.contains(&lead.id));
    assert!(!pulled_text(&p1).await.contains(PHONE));
    assert_eq!(set_man(&p1, lead.id).await, Some(ErrorCode::Forbidden));
    // Its rep and the manager may: the same checks are not vacuous.
    let rep_a = activate(&w.ts, w.rep_a.id).await;
    assert!(visible_leads(&rep_a).await.contains(&lead.id));
    assert_eq!(set_man(&rep_a, lead.id).await, None);
    let manager = activate(&w.ts, w.manager.id).await;
    assert!(pulled_text(&manager).await.contains(&token));
}

#[tokio::test]
async fn another_company_neither_sees_nor_changes_the_lead() {
    let w = world().await;
    let (lead, token) = lead_of_rep_a(&w).await;
    let admin = w.ts.admin();
    let other = admin.create_company("别家装修").await.unwrap();
    let manager = admin
        .create_user(other.id, Role::Manager, "周总", None, None)
        .await
        .unwrap();
    let rep = admin
        .create_user(other.id, Role::Rep, "吴销售", None, None)
        .await
        .unwrap();
    let partner = admin
        .create_user(other.id, Role::Partner, "郑伙伴", None, Some(rep.id))
        .await
        .unwrap();
    for (who, user) in [
        ("the other company's manager", &manager),
        ("the other company's rep", &rep),
        ("the other company's partner", &partner),
    ] {
        let d = activate(&w.ts, user.id).await;
        assert_shut_out(&w, who, &d, &lead, &token).await;
        let code = set_man(&d, lead.id).await;
        assert_eq!(
            code,
            Some(ErrorCode::NotFound),
            "{who}: not even its existence"
        );
    }
}
