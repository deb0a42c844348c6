//! The radar end to end: a friend leaves their contact on the real server's
//! page, the rep's store gets the graded lead (with reasons) by sync and by
//! the live event stream, the partner sees a masked phone, another rep sees
//! nothing, and MAN flags set on the desktop regrade the lead on the server.

use std::time::Duration;

use warmlead_core::api::{TrackBeacon, PATH_BEACON, PATH_LEAD_FORM};
use warmlead_core::app::LeadQuery;
use warmlead_core::domain::Channel;
use warmlead_core::lead::{Grade, ManFlags, ReasonCode, SignalKind};
use warmlead_sync::{sync_once, SyncEngine};
use warmlead_tests::{now_ms, Device, World};

const WECHAT_UA: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) \
    AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.47 NetType/WIFI";
const PHONE: &str = "13812345678";

/// The partner shares item 0 and syncs; returns the share's public URL and token.
async fn shared(w: &World, partner: &Device) -> (String, String) {
    sync_once(&partner.path).await.unwrap();
    let store = partner.store();
    let share = store
        .create_share(w.items[0].id, Channel::Moments, now_ms())
        .unwrap();
    assert_eq!(sync_once(&partner.path).await.unwrap().pushed, 1);
    (store.share_url(&share).unwrap(), share.token)
}

/// A friend's phone in WeChat opens the page, then sends the form the way
/// the page's script does (form-encoded, with the visitor cookie).
async fn friend_leaves_contact(w: &World, url: &str, token: &str) {
    let phone = reqwest::Client::builder()
        .user_agent(WECHAT_UA)
        .build()
        .unwrap();
    let page = phone.get(url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let cookie: Vec<String> = page
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .map(str::to_string)
        .collect();
    assert!(!cookie.is_empty(), "the page sets the visitor cookie");
    let cookie = cookie.join("; ");
    // The page's script reports the visit: 40 s read, 80 % scrolled.
    let beacon = TrackBeacon {
        t: token.to_string(),
        pv: "pv-friend-0001".into(),
        dwell_ms: 40_000,
        scroll_pct: Some(80),
        video_s: None,
        video_len_s: None,
    };
    let resp = phone
        .post(format!("{}{PATH_BEACON}", w.url()))
        .header("cookie", &cookie)
        .body(serde_json::to_string(&beacon).unwrap())
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{}", resp.status());
    let resp = phone
        .post(format!("{}{PATH_LEAD_FORM}", w.url()))
        .header("cookie", &cookie)
        .header("accept", "application/json")
        .form(&[
            ("t", token),
            ("name", "王小姐"),
            ("phone", PHONE),
            ("note", "想了解厨房翻新"),
            ("consent", "yes"),
        ])
        .send()
        .await
        .unwrap();
    let status = resp.status();
    assert_eq!(status, 200, "{}", resp.text().await.unwrap());
}

#[tokio::test]
async fn a_contact_form_becomes_a_graded_lead_in_the_reps_store_only() {
    let w = World::start(1).await;
    let partner = w.device(&w.partner, "zhang").await;
    let rep = w.device(&w.rep, "li").await;
    let other = w.device(&w.other_rep, "wang").await;
    let (url, token) = shared(&w, &partner).await;
    friend_leaves_contact(&w, &url, &token).await;

    let report = sync_once(&rep.path).await.unwrap();
    assert!(report.radar_pulled > 0);
    let page = rep.store().leads(&LeadQuery::default()).unwrap();
    assert_eq!(page.leads.len(), 1, "{page:?}");
    let lead = &page.leads[0].lead;
    assert_eq!(lead.name, "王小姐");
    assert_eq!(lead.phone, "+8613812345678");
    assert_eq!(lead.partner_id, w.partner.id);
    assert_eq!(page.leads[0].partner_name, "张三");
    assert!(lead
        .reasons
        .iter()
        .any(|r| r.code == ReasonCode::LeftContact));
    let detail = rep.store().lead_detail(lead.id).unwrap();
    let kinds: Vec<SignalKind> = detail.timeline.iter().map(|s| s.kind).collect();
    assert!(kinds.contains(&SignalKind::Contact), "{kinds:?}");
    // Views, dwell and scroll travel as the visit's aggregate, not one by one.
    assert_eq!(
        detail.visits.len(),
        1,
        "the visit before the form is attached"
    );
    assert_eq!(detail.visits[0].share_token, token);
    assert_eq!(detail.visits[0].scroll_pct, 80);
    assert!(lead.reasons.iter().any(|r| r.code == ReasonCode::ReadDeep));

    sync_once(&partner.path).await.unwrap();
    let theirs = partner.store().leads(&LeadQuery::default()).unwrap();
    assert_eq!(theirs.leads.len(), 1);
    assert_ne!(
        theirs.leads[0].lead.phone, lead.phone,
        "the partner's copy is masked"
    );
    assert!(!theirs.leads[0].lead.phone.contains("1234"));

    sync_once(&other.path).await.unwrap();
    assert!(other
        .store()
        .leads(&LeadQuery::default())
        .unwrap()
        .leads
        .is_empty());
}

#[tokio::test]
async fn man_flags_from_the_desktop_regrade_the_lead_on_the_server() {
    let w = World::start(1).await;
    let partner = w.device(&w.partner, "zhang").await;
    let rep = w.device(&w.rep, "li").await;
    let (url, token) = shared(&w, &partner).await;
    friend_leaves_contact(&w, &url, &token).await;
    sync_once(&rep.path).await.unwrap();
    let before = rep.store().leads(&LeadQuery::default()).unwrap().leads[0]
        .lead
        .clone();
    assert_ne!(before.grade, Grade::APlus, "nothing left to raise");

    let all = ManFlags {
        money: true,
        authority: true,
        need: true,
    };
    let local = rep.store().set_man_flags(before.id, all, now_ms()).unwrap();
    assert!(local.man_pending);
    let report = sync_once(&rep.path).await.unwrap();
    assert_eq!((report.pushed, report.rejected), (1, 0));
    let after = rep.store().lead_detail(before.id).unwrap().summary;
    assert!(!after.man_pending);
    assert_eq!(after.lead.man, all);
    assert!(
        after.lead.grade > before.grade,
        "{:?} -> {:?}",
        before.grade,
        after.lead.grade
    );
    let codes: Vec<ReasonCode> = after.lead.reasons.iter().map(|r| r.code).collect();
    assert!(codes.contains(&ReasonCode::ManMoney), "{codes:?}");
    let on_server = w
        .server_count(
            "SELECT COUNT(*) FROM leads WHERE grade = ?1",
            after.lead.grade.as_str(),
        )
        .await;
    assert_eq!(on_server, 1, "the server holds the new grade");
}

#[tokio::test]
async fn the_live_stream_brings_new_leads_and_announces_hot_ones() {
    let w = World::start(1).await;
    let partner = w.device(&w.partner, "zhang").await;
    let rep = w.device(&w.rep, "li").await;
    let (url, token) = shared(&w, &partner).await;
    // An hour between periodic syncs: only the event stream can bring the lead.
    let engine = SyncEngine::spawn(rep.path.clone(), Duration::from_secs(3600));
    let mut radar = engine.subscribe_radar();
    let mut hot = engine.subscribe_hot_leads();
    engine.sync_now().await.unwrap();
    let leads = || rep.store().leads(&LeadQuery::default()).unwrap().leads;
    assert!(leads().is_empty());

    friend_leaves_contact(&w, &url, &token).await;
    // Each radar sync (the stream's first head event, then the lead's) wakes
    // this; wait until one has brought the lead, not for a fixed time.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while leads().is_empty() {
        tokio::time::timeout_at(deadline, radar.changed())
            .await
            .expect("the lead by the event stream within 10 s")
            .unwrap();
    }
    let leads = leads();
    assert_eq!(leads.len(), 1);
    assert_eq!(leads[0].lead.name, "王小姐");
    assert!(leads[0].lead.grade < Grade::A, "not hot yet");
    // The rep learns it has budget, authority and need: the regrade makes it
    // hot, and the server announces it on the stream.
    let man = ManFlags {
        money: true,
        authority: true,
        need: true,
    };
    rep.store()
        .set_man_flags(leads[0].lead.id, man, now_ms())
        .unwrap();
    engine.trigger();
    let id = tokio::time::timeout(Duration::from_secs(10), hot.recv())
        .await
        .expect("a hot lead within 10 s")
        .unwrap();
    assert_eq!(id, leads[0].lead.id);
    let hot_lead = rep.store().lead_detail(id).unwrap().summary.lead;
    assert!(hot_lead.grade >= Grade::A, "{:?}", hot_lead.grade);
}
