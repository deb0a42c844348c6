//! Radar decay: a grade changes only when an event arrives, so without the
//! server's periodic regrade a lead hot a month ago would still be A+ on the
//! rep's desktop. The regrade (clock injected) lowers it, logs the change,
//! and the rep's synced store shows the new grade and why.

use warmlead_core::api::PATH_LEAD_FORM;
use warmlead_core::app::LeadQuery;
use warmlead_core::domain::Channel;
use warmlead_core::lead::{Grade, ManFlags, ReasonCode};
use warmlead_sync::sync_once;
use warmlead_tests::{now_ms, World};

const DAY_MS: i64 = 24 * 3600 * 1000;

#[tokio::test]
async fn a_lead_left_alone_for_a_month_cools_on_the_reps_desktop() {
    let w = World::start(1).await;
    let partner = w.device(&w.partner, "zhang").await;
    let rep = w.device(&w.rep, "li").await;
    sync_once(&partner.path).await.unwrap();
    let share = partner
        .store()
        .create_share(w.items[0].id, Channel::Moments, now_ms())
        .unwrap();
    sync_once(&partner.path).await.unwrap();
    let res = reqwest::Client::new()
        .post(format!("{}{PATH_LEAD_FORM}", w.url()))
        .header("accept", "application/json")
        .form(&[
            ("t", share.token.as_str()),
            ("name", "王小姐"),
            ("phone", "13812345678"),
            ("consent", "yes"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    // The rep learns money, authority and need: the lead is hot.
    sync_once(&rep.path).await.unwrap();
    let id = rep.store().leads(&LeadQuery::default()).unwrap().leads[0]
        .lead
        .id;
    let all = ManFlags {
        money: true,
        authority: true,
        need: true,
    };
    rep.store().set_man_flags(id, all, now_ms()).unwrap();
    sync_once(&rep.path).await.unwrap();
    let hot = rep.store().lead_detail(id).unwrap().summary.lead;
    assert_eq!(hot.grade, Grade::APlus, "{hot:?}");

    // Today nothing has cooled: the job changes nothing.
    assert_eq!(w.admin().regrade_cooled_leads(now_ms()).await.unwrap(), 0);

    // A month without a signal: the contact's points have decayed to C,
    // the three MAN flags lift it two steps to A.
    let later = now_ms() + 30 * DAY_MS;
    assert_eq!(w.admin().regrade_cooled_leads(later).await.unwrap(), 1);
    assert_eq!(
        w.server_count("SELECT COUNT(*) FROM leads WHERE grade = ?1", "A")
            .await,
        1,
        "the server holds the cooled grade"
    );
    let report = sync_once(&rep.path).await.unwrap();
    assert!(report.radar_pulled > 0, "the regrade is a change to pull");
    let cooled = rep.store().lead_detail(id).unwrap().summary.lead;
    assert_eq!(cooled.grade, Grade::A, "{cooled:?}");
    assert_eq!(
        cooled.updated_at_ms, hot.updated_at_ms,
        "cooling is no activity: the lead keeps its last-activity time"
    );
    let cooling = cooled
        .reasons
        .iter()
        .find(|r| r.code == ReasonCode::Cooling)
        .expect("the desktop can say why it cooled");
    assert!(
        later - cooling.value >= 29 * DAY_MS,
        "no activity since the contact: {cooling:?}"
    );
    // Running again at the same time finds nothing more to change.
    assert_eq!(w.admin().regrade_cooled_leads(later).await.unwrap(), 0);
}
