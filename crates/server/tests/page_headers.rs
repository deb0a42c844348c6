//! Public pages that belong to no link yet carry the company's header like
//! the share and invitation pages (issue 19): `/j`, an invitation or share
//! link that is not there. On a server of one company they show its name;
//! on a server of several they name none (a stranger must not learn who
//! else is hosted there).

use reqwest::StatusCode;
use warmlead_server::testing::TestServer;

async fn page(ts: &TestServer, path: &str) -> (StatusCode, String) {
    let res = reqwest::get(format!("{}{path}", ts.url())).await.unwrap();
    (res.status(), res.text().await.unwrap())
}

const PAGES: [(&str, StatusCode); 4] = [
    ("/j", StatusCode::OK),
    ("/j?code=ZZZZZZ", StatusCode::NOT_FOUND),
    (
        "/i/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        StatusCode::NOT_FOUND,
    ),
    ("/s/not-a-share-token", StatusCode::NOT_FOUND),
];

#[tokio::test]
async fn pages_without_a_link_carry_the_sole_companys_header() {
    let ts = TestServer::start().await;
    ts.admin().create_company("青松家政").await.unwrap();
    for (path, status) in PAGES {
        let (got, body) = page(&ts, path).await;
        assert_eq!(got, status, "{path}");
        assert!(
            body.contains(r#"<div class="company">青松家政</div>"#),
            "{path}: {body}"
        );
    }
}

#[tokio::test]
async fn a_server_of_several_companies_names_none_of_them() {
    let ts = TestServer::start().await;
    ts.admin().create_company("青松家政").await.unwrap();
    ts.admin().create_company("白云物业").await.unwrap();
    for (path, status) in PAGES {
        let (got, body) = page(&ts, path).await;
        assert_eq!(got, status, "{path}");
        assert!(
            !body.contains("青松家政") && !body.contains("白云物业"),
            "{path}: {body}"
        );
        assert!(!body.contains(r#"class="company""#), "{path}: {body}");
    }
}
