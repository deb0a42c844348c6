//! The company profile: a manager sets name, logo, poster slogan and the
//! commission promise in one request; every device learns it through the
//! change log; the share page and the invitation page show the logo and the
//! promise (and put them in their link previews). Bad input changes nothing.

mod common;

use common::{activate, api_error, last_company, upload, world, Device, World};
use dom_query::Document;
use reqwest::StatusCode;
use warmlead_core::api::PATH_COMPANY_PROFILE;
use warmlead_core::company::CompanyProfile;
use warmlead_core::domain::{Channel, Company};
use warmlead_core::invite::{Invitation, InviteChannel, NewInvitation};
use warmlead_core::limits::{MAX_COMMISSION_PROMISE_CHARS, MAX_LOGO_BYTES};
use warmlead_core::ErrorCode;

const PNG_HEAD: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";

async fn put(d: &Device, profile: &CompanyProfile) -> reqwest::Response {
    d.http
        .put(format!("{}{PATH_COMPANY_PROFILE}", d.base))
        .bearer_auth(&d.act.device_token)
        .json(profile)
        .send()
        .await
        .unwrap()
}

fn profile(logo: Option<i64>) -> CompanyProfile {
    CompanyProfile {
        name: " 暖居装修（杭州） ".into(),
        logo_media_id: logo,
        poster_slogan: Some("好房子，朋友推荐".into()),
        commission_promise: Some("朋友签约后，你可得合同额 2% 的推荐奖励".into()),
    }
}

async fn invitation_page(w: &World, rep: &Device) -> Document {
    let res = rep
        .post("/api/v1/invitations")
        .json(&NewInvitation {
            channel: InviteChannel::Qr,
            multi_use: true,
            expires_in_hours: None,
        })
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let inv: Invitation = res.json().await.unwrap();
    assert!(inv.url.starts_with(&w.ts.url()), "{}", inv.url);
    let res = reqwest::get(&inv.url).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    Document::from(res.text().await.unwrap().as_str())
}

async fn share_page(w: &World, partner: &Device) -> Document {
    let token = partner.sign(1, w.item.id, Channel::Group);
    let res = reqwest::get(format!("{}/s/{token}", w.ts.url()))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    Document::from(res.text().await.unwrap().as_str())
}

fn meta(doc: &Document, selector: &str) -> Option<String> {
    doc.select(selector).attr("content").map(|c| c.to_string())
}

#[tokio::test]
async fn a_manager_sets_the_profile_and_every_device_and_page_shows_it() {
    let w = world().await;
    let m = activate(&w.ts, w.manager.id).await;
    let rep = activate(&w.ts, w.rep_a.id).await;
    let partner = activate(&w.ts, w.partner_a1.id).await;

    // Neutral defaults: no logo, the promise names the inviting rep.
    let before = invitation_page(&w, &rep).await;
    assert_eq!(
        before.select("#wl-promise").text().to_string(),
        format!(
            "朋友通过你的推荐成交，你可获得佣金，具体以 {} 的说明为准。",
            w.rep_a.name
        )
    );
    assert!(!before.select("#wl-logo").exists());
    assert!(!share_page(&w, &partner).await.select("#wl-logo").exists());

    let logo = upload(&m, "image/png", PNG_HEAD.to_vec()).await;
    let res = put(&m, &profile(Some(logo.id))).await;
    assert_eq!(res.status(), StatusCode::OK);
    let company: Company = res.json().await.unwrap();
    assert_eq!(company.name, "暖居装修（杭州）");
    assert_eq!(company.logo.as_ref().map(|l| l.id), Some(logo.id));
    assert_eq!(company.poster_slogan.as_deref(), Some("好房子，朋友推荐"));
    assert_eq!(
        company.commission_promise.as_deref(),
        Some("朋友签约后，你可得合同额 2% 的推荐奖励")
    );
    // Synced to every device of the company (posters are made offline).
    for d in [&rep, &partner, &m] {
        assert_eq!(last_company(&d.pull_all().await), company);
    }

    let share = share_page(&w, &partner).await;
    assert_eq!(
        share.select("#wl-logo").attr("src").map(|s| s.to_string()),
        Some(logo.path())
    );
    assert_eq!(
        share.select(".company").text().to_string(),
        "暖居装修（杭州）"
    );
    let invite = invitation_page(&w, &rep).await;
    assert_eq!(
        invite.select("#wl-promise").text().to_string(),
        "朋友签约后，你可得合同额 2% 的推荐奖励"
    );
    assert_eq!(
        invite.select("#wl-logo").attr("src").map(|s| s.to_string()),
        Some(logo.path())
    );
    let logo_url = format!("{}{}", w.ts.url(), logo.path());
    assert_eq!(
        meta(&invite, "meta[property='og:image']"),
        Some(logo_url.clone())
    );
    let description = meta(&invite, "meta[property='og:description']").unwrap();
    assert!(description.contains("推荐奖励"), "{description}");
    // The logo is public: a phone with no token loads it.
    let res = reqwest::get(&logo_url).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "image/png");

    // Cleared: back to the defaults.
    let cleared = CompanyProfile {
        name: "暖居装修".into(),
        ..CompanyProfile::default()
    };
    let company: Company = put(&m, &cleared).await.json().await.unwrap();
    assert_eq!((company.logo, company.commission_promise), (None, None));
    assert_eq!(company.poster_slogan, None);
    assert_eq!(last_company(&rep.pull_all().await).logo, None);
}

#[tokio::test]
async fn bad_profiles_are_refused_and_change_nothing() {
    let w = world().await;
    let m = activate(&w.ts, w.manager.id).await;
    let rep = activate(&w.ts, w.rep_a.id).await;
    let png = upload(&m, "image/png", PNG_HEAD.to_vec()).await;
    let mut big = PNG_HEAD.to_vec();
    big.resize(MAX_LOGO_BYTES + 1, 0);
    let too_big = upload(&m, "image/png", big).await;
    let mut mp4 = b"\0\0\0\x20ftypisom\0\0\x02\0".to_vec();
    mp4.resize(64, 0);
    let video = upload(&m, "video/mp4", mp4).await;
    let before = last_company(&m.pull_all().await);

    let long_promise = CompanyProfile {
        commission_promise: Some("奖".repeat(MAX_COMMISSION_PROMISE_CHARS + 1)),
        ..profile(Some(png.id))
    };
    let blank_name = CompanyProfile {
        name: "  ".into(),
        ..profile(None)
    };
    let cases = [
        (
            &m,
            long_promise,
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidInput,
        ),
        (
            &m,
            blank_name,
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidInput,
        ),
        (
            &m,
            profile(Some(too_big.id)),
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidInput,
        ),
        (
            &m,
            profile(Some(video.id)),
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidInput,
        ),
        (
            &m,
            profile(Some(999_999)),
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
        ),
        (
            &rep,
            profile(Some(png.id)),
            StatusCode::FORBIDDEN,
            ErrorCode::Forbidden,
        ),
    ];
    for (who, p, status, code) in cases {
        let res = put(who, &p).await;
        assert_eq!(res.status(), status, "{p:?}");
        let err = api_error(res).await;
        assert_eq!(err.code, code, "{p:?}: {}", err.message);
    }
    let err = api_error(put(&m, &profile(Some(too_big.id))).await).await;
    assert!(
        err.message.contains(&(MAX_LOGO_BYTES / 1024).to_string()),
        "{}",
        err.message
    );
    assert_eq!(last_company(&m.pull_all().await), before, "nothing changed");
}

/// One company's media cannot become another's logo.
#[tokio::test]
async fn another_companys_image_is_not_found() {
    let w = world().await;
    let m = activate(&w.ts, w.manager.id).await;
    let a = w.ts.admin();
    let other = a.create_company("别家公司").await.unwrap();
    let theirs = a
        .store_media(other.id, "image/png", PNG_HEAD.to_vec())
        .await
        .unwrap();
    let res = put(&m, &profile(Some(theirs.id))).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}
