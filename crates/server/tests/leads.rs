//! Steps 4 and 5: the contact form makes a lead (merged by phone, first
//! referrer wins), the visitor's signals score it, MAN flags regrade it.
mod common;

use common::{activate, mutation, world, Device};
use reqwest::StatusCode;
use serde_json::json;
use warmlead_core::api::{PATH_LEAD_FORM, PATH_RADAR_PULL, PATH_SCORING_RULES};
use warmlead_core::domain::Channel;
use warmlead_core::lead::{
    Grade, Lead, ManFlags, RadarBody, RadarPullResponse, ReasonCode, SignalKind,
};
use warmlead_core::scoring::ScoringRules;
use warmlead_core::sync::{MutationBody, Outcome};

async fn submit(
    base: &str,
    fields: &[(&str, &str)],
    visitor: &str,
    lang: &str,
    json: bool,
) -> (StatusCode, String) {
    let mut req = reqwest::Client::new()
        .post(format!("{base}{PATH_LEAD_FORM}"))
        .header("cookie", format!("wl_v={visitor}"))
        .header("accept-language", lang)
        .form(fields);
    if json {
        req = req.header("accept", "application/json");
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    let text = res.text().await.unwrap();
    if json {
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        (status, v["message"].as_str().unwrap().to_string())
    } else {
        (status, text)
    }
}

async fn beacon(base: &str, token: &str, visitor: &str, body: serde_json::Value) {
    let mut b = body;
    b["t"] = json!(token);
    let res = reqwest::Client::new()
        .post(format!("{base}/t/beacon"))
        .header("cookie", format!("wl_v={visitor}"))
        .body(b.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
}

async fn radar_leads(d: &Device) -> Vec<Lead> {
    let r: RadarPullResponse = d
        .get(&format!("{PATH_RADAR_PULL}?after=0&limit=1000"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // Latest state per lead id.
    let mut out: Vec<Lead> = Vec::new();
    for c in r.changes {
        if let RadarBody::Lead(l) = c.body {
            out.retain(|x| x.id != l.id);
            out.push(l);
        }
    }
    out
}

#[tokio::test]
async fn the_form_makes_a_scored_lead_that_merges_by_phone() {
    let w = world().await;
    let p1 = activate(&w.ts, w.partner_a1.id).await;
    let token = p1.sign(1, w.item.id, Channel::Moments);
    let base = w.ts.url();
    let visitor = "reader-00000001";
    beacon(
        &base,
        &token,
        visitor,
        json!({"pv": "pv-reader-01", "dwell_ms": 185_000, "scroll_pct": 90}),
    )
    .await;

    // Bad input: clear errors in the page's language, nothing stored.
    let bad_phone = [
        ("t", token.as_str()),
        ("name", "赵女士"),
        ("phone", "12345"),
        ("consent", "yes"),
    ];
    let (s, msg) = submit(&base, &bad_phone, visitor, "zh-CN", true).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(msg.contains("手机号"), "{msg}");
    let (_, msg) = submit(&base, &bad_phone, visitor, "en", true).await;
    assert!(msg.contains("valid mobile number"), "{msg}");
    let no_consent = [
        ("t", token.as_str()),
        ("name", "赵女士"),
        ("phone", "13800138000"),
    ];
    let (s, msg) = submit(&base, &no_consent, visitor, "zh-CN", true).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(msg.contains("同意"), "{msg}");
    assert!(w.ts.admin().leads(w.company.id).await.unwrap().is_empty());

    let ok = [
        ("t", token.as_str()),
        ("name", "赵女士"),
        ("phone", "138 0013 8000"),
        ("note", "周末方便"),
        ("consent", "yes"),
    ];
    let (s, msg) = submit(&base, &ok, visitor, "zh-CN", true).await;
    assert_eq!(s, StatusCode::OK, "{msg}");
    assert!(msg.contains("谢谢"));
    // Committed before the thanks: visible at once, without a flush.
    let leads = w.ts.admin().leads(w.company.id).await.unwrap();
    assert_eq!(leads.len(), 1);
    let lead = &leads[0];
    assert_eq!(
        (lead.partner_id, lead.rep_id),
        (w.partner_a1.id, Some(w.rep_a.id))
    );
    assert_eq!(lead.phone, "+8613800138000");
    assert_eq!(lead.share_token.as_deref(), Some(token.as_str()));
    let codes: Vec<ReasonCode> = lead.reasons.iter().map(|r| r.code).collect();
    assert_eq!(
        codes,
        vec![
            ReasonCode::LeftContact,
            ReasonCode::ReadDeep,
            ReasonCode::LongDwell,
            ReasonCode::Viewed
        ],
        "the visitor's earlier signals count"
    );
    // contact 40 + read 10 + 3 min * 4 + view 5
    assert_eq!((lead.score, lead.grade), (67, Grade::B));
    let signals = w.ts.admin().signals_for_share(&token).await.unwrap();
    assert!(signals.iter().all(|s| s.lead_id == Some(lead.id)));
    assert!(signals.iter().any(|s| s.kind == SignalKind::Contact));

    // Later signals from the same browser rescore the lead.
    beacon(&base, &token, visitor, json!({"pv": "pv-reader-01", "dwell_ms": 185_000, "scroll_pct": 90, "video_s": 100, "video_len_s": 100})).await;
    let lead = w.ts.admin().lead(lead.id).await.unwrap().unwrap();
    assert_eq!((lead.score, lead.grade), (82, Grade::A));

    // The same person through another partner's share: one lead, first referrer wins.
    let p2 = activate(&w.ts, w.partner_a2.id).await;
    let other = p2.sign(1, w.item.id, Channel::Group);
    let again = [
        ("t", other.as_str()),
        ("name", "赵丽"),
        ("phone", "+86 138-0013-8000"),
        ("note", "想要报价"),
        ("consent", "on"),
    ];
    let (s, html) = submit(&base, &again, "another-browser-1", "zh-CN", false).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains("id=\"wl-thanks\""),
        "a page for browsers without script"
    );
    let leads = w.ts.admin().leads(w.company.id).await.unwrap();
    assert_eq!(leads.len(), 1);
    let merged = &leads[0];
    assert_eq!(merged.partner_id, w.partner_a1.id, "first referrer wins");
    assert_eq!(merged.name, "赵女士");
    assert_eq!(merged.contacts, 2);
    assert_eq!(merged.note, "周末方便\n想要报价");

    // The rep sees the phone; the partner sees it masked; the other rep nothing.
    let rep = activate(&w.ts, w.rep_a.id).await;
    let seen = radar_leads(&rep).await;
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].phone, "+8613800138000");
    let mine = radar_leads(&p1).await;
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].phone, "+86138****8000");
    assert!(
        radar_leads(&p2).await.is_empty(),
        "the second partner is not credited"
    );
    let rep_b = activate(&w.ts, w.rep_b.id).await;
    assert!(radar_leads(&rep_b).await.is_empty());

    // MAN flags: the rep may set them (regrade), a partner may not.
    let man = ManFlags {
        money: true,
        authority: true,
        need: true,
    };
    let res = rep
        .push(vec![mutation(
            1,
            MutationBody::SetManFlags {
                lead_id: merged.id,
                man,
            },
        )])
        .await;
    assert_eq!(res.outcomes[0].outcome, Outcome::Applied);
    let lead = radar_leads(&rep).await.remove(0);
    assert_eq!(lead.man, man);
    assert_eq!(lead.grade, Grade::APlus);
    assert!(lead
        .reasons
        .iter()
        .any(|r| r.code == ReasonCode::ManAuthority));
    let res = p1
        .push(vec![mutation(
            1,
            MutationBody::SetManFlags {
                lead_id: merged.id,
                man: ManFlags::default(),
            },
        )])
        .await;
    assert!(matches!(res.outcomes[0].outcome, Outcome::Rejected { .. }));

    // Managers tune the rules; leads are rescored with them.
    let manager = activate(&w.ts, w.manager.id).await;
    let rules = ScoringRules {
        contact: 0,
        view: 0,
        ..ScoringRules::default()
    };
    let res = manager
        .http
        .put(format!("{}{PATH_SCORING_RULES}", manager.base))
        .bearer_auth(&manager.act.device_token)
        .json(&rules)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let lead = w.ts.admin().lead(merged.id).await.unwrap().unwrap();
    assert_eq!(lead.score, 82 - 40 - 5);
    let res = rep
        .http
        .put(format!("{}{PATH_SCORING_RULES}", rep.base))
        .bearer_auth(&rep.act.device_token)
        .json(&rules)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_form_is_rate_limited_per_address() {
    let w = world().await;
    let p1 = activate(&w.ts, w.partner_a1.id).await;
    let token = p1.sign(1, w.item.id, Channel::Moments);
    let base = w.ts.url();
    let mut statuses = Vec::new();
    for i in 0..6 {
        let phone = format!("1390013900{i}");
        let f = [
            ("t", token.as_str()),
            ("name", "客户"),
            ("phone", phone.as_str()),
            ("consent", "yes"),
        ];
        statuses.push(submit(&base, &f, "some-visitor-01", "en", true).await);
    }
    assert!(
        statuses[..5].iter().all(|(s, _)| *s == StatusCode::OK),
        "{statuses:?}"
    );
    assert_eq!(statuses[5].0, StatusCode::TOO_MANY_REQUESTS);
    assert!(statuses[5].1.contains("Too many"));
    assert_eq!(w.ts.admin().leads(w.company.id).await.unwrap().len(), 5);
}

#[tokio::test]
async fn the_privacy_notice_is_served_and_pages_stay_small() {
    let w = world().await;
    let p1 = activate(&w.ts, w.partner_a1.id).await;
    let token = p1.sign(1, w.item.id, Channel::Moments);
    let page = reqwest::get(format!("{}/s/{token}", w.ts.url()))
        .await
        .unwrap();
    let html = page.text().await.unwrap();
    // HTML, CSS and script are inline: the whole page before media.
    assert!(html.len() < 60 * 1024, "{} bytes", html.len());
    assert!(html.contains("href=\"/privacy\"") && html.contains("id=\"wl-form\""));
    let html = reqwest::get(format!("{}/privacy", w.ts.url()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("隐私说明") && html.contains("哈希"));
}

/// One person leaves the same number on two friends' shares at the same
/// moment (on PostgreSQL, two concurrent transactions): one lead with both
/// contacts, not two leads and not a refused form.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_number_captured_twice_at_once_is_one_lead() {
    let w = world().await;
    let base = w.ts.url();
    let p1 = activate(&w.ts, w.partner_a1.id).await;
    let p2 = activate(&w.ts, w.partner_a2.id).await;
    let (t1, t2) = (
        p1.sign(1, w.item.id, Channel::Moments),
        p2.sign(1, w.item.id, Channel::Group),
    );
    // Two rounds: the per-address form limit is 5 in ten minutes.
    for round in 0..2 {
        let phone = format!("1380013810{round}");
        let f1 = [
            ("t", t1.as_str()),
            ("name", "钱先生"),
            ("phone", phone.as_str()),
            ("consent", "on"),
        ];
        let f2 = [("t", t2.as_str()), f1[1], f1[2], f1[3]];
        let (a, b) = tokio::join!(
            submit(&base, &f1, "browser-one-0001", "zh-CN", true),
            submit(&base, &f2, "browser-two-0002", "zh-CN", true)
        );
        assert_eq!((a.0, b.0), (StatusCode::OK, StatusCode::OK), "{a:?} {b:?}");
    }
    let leads = w.ts.admin().leads(w.company.id).await.unwrap();
    assert_eq!(leads.len(), 2, "{leads:?}");
    assert!(leads.iter().all(|l| l.contacts == 2), "{leads:?}");
}
