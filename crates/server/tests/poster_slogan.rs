//! The company's poster slogan: a manager sets it, every device learns it
//! through the Company change; bad input is refused with the reason and
//! changes nothing; reps and partners may not set it.

mod common;

use common::{activate, api_error, last_company, world, Device};
use reqwest::StatusCode;
use warmlead_core::api::{PosterSloganRequest, PATH_POSTER_SLOGAN};
use warmlead_core::domain::Company;
use warmlead_core::ErrorCode;

async fn set(d: &Device, slogan: Option<&str>) -> reqwest::Response {
    d.http
        .put(format!("{}{PATH_POSTER_SLOGAN}", d.base))
        .bearer_auth(&d.act.device_token)
        .json(&PosterSloganRequest {
            slogan: slogan.map(str::to_string),
        })
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_manager_sets_the_slogan_and_every_device_learns_it() {
    let w = world().await;
    let m = activate(&w.ts, w.manager.id).await;
    let rep = activate(&w.ts, w.rep_a.id).await;
    assert_eq!(last_company(&rep.pull_all().await).poster_slogan, None);

    let res = set(&m, Some("  好车推荐给朋友，成交有礼 ")).await;
    assert_eq!(res.status(), StatusCode::OK);
    let company: Company = res.json().await.unwrap();
    assert_eq!(
        company.poster_slogan.as_deref(),
        Some("好车推荐给朋友，成交有礼")
    );
    assert_eq!(
        last_company(&rep.pull_all().await).poster_slogan,
        company.poster_slogan
    );
    let partner = activate(&w.ts, w.partner_a1.id).await;
    assert_eq!(partner.act.company.poster_slogan, company.poster_slogan);

    // Too long, or two lines: refused with the reason, the slogan stays.
    for bad in ["好".repeat(41), "一行\n两行".to_string()] {
        let res = set(&m, Some(&bad)).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        let e = api_error(res).await;
        assert_eq!(e.code, ErrorCode::InvalidInput);
        assert!(e.message.contains("slogan"), "{}", e.message);
    }
    assert_eq!(
        last_company(&rep.pull_all().await).poster_slogan,
        company.poster_slogan
    );

    // Blank goes back to the neutral default (None).
    let res = set(&m, Some("   ")).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(last_company(&rep.pull_all().await).poster_slogan, None);
}

#[tokio::test]
async fn reps_and_partners_may_not_set_the_slogan() {
    let w = world().await;
    for id in [w.rep_a.id, w.partner_a1.id] {
        let d = activate(&w.ts, id).await;
        let res = set(&d, Some("我的口号")).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
    }
    let m = activate(&w.ts, w.manager.id).await;
    assert_eq!(last_company(&m.pull_all().await).poster_slogan, None);
}
