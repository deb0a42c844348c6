mod common;

use common::activate;
use warmlead_core::domain::{ContentItem, ContentKind, Role};
use warmlead_core::sync::ChangeBody;
use warmlead_server::demo;
use warmlead_server::testing::TestServer;

#[tokio::test]
async fn the_demo_seeds_once_and_syncs_like_real_data() {
    // One instant for the seed and the grading (issue 19): the demo's made-up
    // times and the regrade agree whatever the clock says.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let ts = TestServer::start().await;
    let admin = ts.admin();
    demo::seed_at(&admin, &ts.url(), now).await.unwrap();
    let company = admin
        .find_company(demo::DEMO_COMPANY)
        .await
        .unwrap()
        .unwrap();
    let users = admin.company_users(company.id).await.unwrap();
    let count = |r: Role| users.iter().filter(|u| u.role == r).count();
    assert_eq!(count(Role::Manager), 1);
    assert_eq!(count(Role::Rep), 2);
    assert_eq!(count(Role::Partner), 20);
    let visits = admin.count_visits().await.unwrap();
    assert!((150..=800).contains(&visits), "{visits} visits");

    // Leads of several grades, for both reps, so the leads screen has a shape,
    // also once the hourly cooling regrade has run, at the seed's instant.
    admin.regrade_cooled_leads(now).await.unwrap();
    let leads = admin.leads(company.id).await.unwrap();
    assert!(leads.len() >= 10, "{} leads", leads.len());
    let grades: std::collections::BTreeSet<_> =
        leads.iter().map(|l| format!("{:?}", l.grade)).collect();
    assert!(grades.len() >= 3, "grades {grades:?}");
    let reps: std::collections::BTreeSet<_> = leads.iter().map(|l| l.rep_id).collect();
    assert_eq!(reps.len(), 2, "leads of both reps");

    // Seeding again changes nothing.
    demo::seed(&admin).await.unwrap();
    assert_eq!(
        admin.company_users(company.id).await.unwrap().len(),
        users.len()
    );
    assert_eq!(admin.count_visits().await.unwrap(), visits);
    assert_eq!(admin.leads(company.id).await.unwrap().len(), leads.len());

    let rep = demo::main_user(&admin, Role::Rep).await.unwrap();
    assert_eq!(rep.name, demo::MAIN_REP);
    let partner = demo::main_user(&admin, Role::Partner).await.unwrap();
    assert_eq!(partner.rep_id, Some(rep.id));

    // The rep's app gets the library and views of his partners' shares only.
    let d = activate(&ts, rep.id).await;

    // The company's poster template: a 1080x1920 JPEG the rep's device knows.
    let art = company.poster_artwork.clone().expect("demo poster artwork");
    assert_eq!(art.content_type, "image/jpeg");
    assert_eq!(d.act.company.poster_artwork.as_ref(), Some(&art));
    // Its own renovation slogan lives in the demo seed, not in product code.
    let slogan = d.act.company.poster_slogan.as_deref().expect("demo slogan");
    assert!(slogan.contains("装修"), "{slogan}");
    let bytes = d
        .get(&art.path())
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let img = image::load_from_memory(&bytes).unwrap();
    assert_eq!((img.width(), img.height()), (1080, 1920));
    let items: Vec<ContentItem> = d
        .get(warmlead_core::api::PATH_CONTENT)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(items.len() >= 28, "{}", items.len());
    for kind in ContentKind::ALL {
        assert!(items.iter().any(|i| i.kind == kind), "{kind:?}");
    }
    assert!(items.iter().all(|i| i.cover.is_some()));
    assert!(items
        .iter()
        .filter(|i| i.kind == ContentKind::Video)
        .all(|i| i.video.is_some()));
    let changes = d.pull_all().await;
    let rep_visits: Vec<_> = changes
        .iter()
        .filter_map(|c| match &c.body {
            ChangeBody::Visit(v) => Some(v.clone()),
            _ => None,
        })
        .collect();
    assert!(!rep_visits.is_empty());
    assert!(rep_visits.iter().all(|v| v.rep_id == rep.id));

    // A demo share opens, with its cover image served.
    let share = changes
        .iter()
        .find_map(|c| match &c.body {
            ChangeBody::Share(s) => Some(s.clone()),
            _ => None,
        })
        .unwrap();
    let page = reqwest::get(format!("{}/s/{}", ts.url(), share.token))
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let item = items.iter().find(|i| i.id == share.item_id).unwrap();
    let cover = item.cover.as_ref().unwrap();
    let img = reqwest::get(format!("{}{}", ts.url(), cover.path()))
        .await
        .unwrap();
    assert_eq!(img.headers()["content-type"], "image/png");
    assert_eq!(img.bytes().await.unwrap().len() as i64, cover.size);
}
