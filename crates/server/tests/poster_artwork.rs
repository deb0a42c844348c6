//! The company's poster template: a manager picks an uploaded image, every
//! device of the company learns it through the Company change.

mod common;

use common::{activate, api_error, last_company, upload, world, Device};
use reqwest::StatusCode;
use warmlead_core::api::{PosterArtworkRequest, PATH_POSTER_ARTWORK};
use warmlead_core::domain::{Company, Role};
use warmlead_core::ErrorCode;

async fn set(d: &Device, media_id: Option<i64>) -> reqwest::Response {
    d.http
        .put(format!("{}{PATH_POSTER_ARTWORK}", d.base))
        .bearer_auth(&d.act.device_token)
        .json(&PosterArtworkRequest { media_id })
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_manager_sets_the_artwork_and_reps_learn_it_through_the_pull() {
    let w = world().await;
    let m = activate(&w.ts, w.manager.id).await;
    let rep = activate(&w.ts, w.rep_a.id).await;
    assert_eq!(last_company(&rep.pull_all().await).poster_artwork, None);

    let art = upload(&m, "image/jpeg", vec![0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3]).await;
    let res = set(&m, Some(art.id)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let company: Company = res.json().await.unwrap();
    assert_eq!(company.poster_artwork.as_ref(), Some(&art));
    assert_eq!(company.id, w.company.id);

    let pulled = last_company(&rep.pull_all().await);
    assert_eq!(pulled.poster_artwork, Some(art.clone()));
    // The activation and /me of a new device carry it as well.
    let partner = activate(&w.ts, w.partner_a1.id).await;
    assert_eq!(partner.act.company.poster_artwork, Some(art.clone()));

    // The bytes are served where the app fetches them.
    let res = rep.get(&art.path()).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.bytes().await.unwrap().as_ref(),
        &[0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3]
    );

    // The company's artwork is public content: no token needed.
    let res = reqwest::get(format!("{}{}", w.ts.url(), art.path()))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    // Null goes back to the gradient, for everyone.
    let res = set(&m, None).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Company>().await.unwrap().poster_artwork, None);
    assert_eq!(last_company(&rep.pull_all().await).poster_artwork, None);
}

#[tokio::test]
async fn reps_may_not_change_it() {
    let w = world().await;
    let m = activate(&w.ts, w.manager.id).await;
    let rep = activate(&w.ts, w.rep_a.id).await;
    let art = upload(&m, "image/png", b"\x89PNG\r\n\x1a\n".to_vec()).await;
    let res = set(&rep, Some(art.id)).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(api_error(res).await.code, ErrorCode::Forbidden);
    assert_eq!(last_company(&rep.pull_all().await).poster_artwork, None);
}

#[tokio::test]
async fn only_an_image_of_the_same_company_is_accepted() {
    let w = world().await;
    let m = activate(&w.ts, w.manager.id).await;
    let good = upload(&m, "image/jpeg", vec![0xFF, 0xD8, 0xFF, 9]).await;
    assert_eq!(set(&m, Some(good.id)).await.status(), StatusCode::OK);

    let video = upload(&m, "video/mp4", b"\0\0\0\x20ftypisom".to_vec()).await;
    let res = set(&m, Some(video.id)).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let err = api_error(res).await;
    assert_eq!(err.code, ErrorCode::InvalidInput);
    assert!(
        err.message.contains("image/jpeg or image/png"),
        "{}",
        err.message
    );
    let webp = upload(&m, "image/webp", b"RIFF\0\0\0\0WEBPVP8 ".to_vec()).await;
    assert_eq!(
        set(&m, Some(webp.id)).await.status(),
        StatusCode::BAD_REQUEST
    );

    // Another company's image is not found, as if it did not exist.
    let a = w.ts.admin();
    let other = a.create_company("别家装修").await.unwrap();
    let other_manager = a
        .create_user(other.id, Role::Manager, "赵六", None, None)
        .await
        .unwrap();
    let om = activate(&w.ts, other_manager.id).await;
    let theirs = upload(&om, "image/jpeg", vec![0xFF, 0xD8, 0xFF, 1]).await;
    let res = set(&m, Some(theirs.id)).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert!(api_error(res).await.message.contains("no media"));
    assert_eq!(set(&m, Some(999_999)).await.status(), StatusCode::NOT_FOUND);

    // Refusals changed nothing: the good artwork stays.
    let rep = activate(&w.ts, w.rep_a.id).await;
    assert_eq!(rep.act.company.poster_artwork, Some(good));
}
