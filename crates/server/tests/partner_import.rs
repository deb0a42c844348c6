//! `POST /api/v1/partners/import` against a real server: checked again on the
//! server, all rows or none, fast enough for 10,000 rows in one request.
mod common;

use std::time::Instant;

use common::{activate, api_error, world, World};
use reqwest::StatusCode;
use warmlead_core::api::PATH_PARTNER_IMPORT;
use warmlead_core::csv_import::{ImportColumn, ImportReason, ImportRow, MAX_ROWS};
use warmlead_core::domain::{Role, User};
use warmlead_core::invite::{PartnerImportRequest, PartnerImportResult, PartnerSource};
use warmlead_core::sync::ChangeBody;
use warmlead_core::ErrorCode;

fn row(row: u32, name: &str, phone: &str) -> ImportRow {
    ImportRow {
        row,
        name: name.into(),
        phone: phone.into(),
        note: None,
    }
}

async fn users(w: &World) -> Vec<User> {
    w.ts.admin().company_users(w.company.id).await.unwrap()
}

#[tokio::test]
async fn any_bad_row_stops_the_import_and_says_which() {
    let w = world().await;
    let rep = activate(&w.ts, w.rep_a.id).await;
    let before = users(&w).await.len();
    let head = rep.pull_all().await.len();
    let rows = vec![
        row(2, "好人", "13300133001"),
        row(3, "坏号码", "12345"),
        row(4, "重复", "+86 133 0013 3001"),
        // Already a partner of the company (张三 of rep A).
        row(5, "老朋友", "13700137000"),
        row(6, "  ", "13300133006"),
        row(7, &"长".repeat(41), "13300133007"),
        row(8, "=HYPERLINK(\"x\")", "13300133008"),
    ];
    let res = rep
        .post(PATH_PARTNER_IMPORT)
        .json(&PartnerImportRequest {
            rows,
            dry_run: false,
        })
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let out: PartnerImportResult = res.json().await.unwrap();
    assert_eq!(out.imported, 0);
    let got: Vec<(u32, ImportReason, Option<ImportColumn>, Option<u32>)> = out
        .errors
        .iter()
        .map(|e| (e.row, e.reason, e.column, e.duplicate_of))
        .collect();
    let phone = Some(ImportColumn::Phone);
    let name = Some(ImportColumn::Name);
    assert_eq!(
        got,
        vec![
            (3, ImportReason::BadPhone, phone, None),
            (4, ImportReason::DuplicatePhone, phone, Some(2)),
            (5, ImportReason::DuplicatePhone, phone, None),
            (6, ImportReason::MissingName, name, None),
            (7, ImportReason::TooLong, name, None),
            (8, ImportReason::Formula, name, None),
        ]
    );
    assert_eq!(out.errors[0].value, "12345");
    // Nothing written, not even the good row.
    assert_eq!(users(&w).await.len(), before);
    assert_eq!(rep.pull_all().await.len(), head);
}

#[tokio::test]
async fn good_rows_become_partners_of_the_importing_rep() {
    let w = world().await;
    let rep = activate(&w.ts, w.rep_a.id).await;
    let rows = vec![
        row(2, " 刘 一 ", "133 0013 3001"),
        ImportRow {
            note: Some("老客户介绍\n第二行".into()),
            ..row(3, "陈二", "+8613300133002")
        },
        row(4, "Anna Smith", "+44 7700 900123"),
    ];
    let res = rep
        .post(PATH_PARTNER_IMPORT)
        .json(&PartnerImportRequest {
            rows,
            dry_run: false,
        })
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let out: PartnerImportResult = res.json().await.unwrap();
    assert_eq!(
        out,
        PartnerImportResult {
            imported: 3,
            errors: vec![]
        }
    );
    let imported: Vec<User> = users(&w)
        .await
        .into_iter()
        .filter(|u| u.source == Some(PartnerSource::Import))
        .collect();
    let names: Vec<&str> = imported.iter().map(|u| u.name.as_str()).collect();
    assert_eq!(names, ["刘 一", "陈二", "Anna Smith"]);
    for u in &imported {
        assert_eq!(u.role, Role::Partner);
        assert_eq!(u.rep_id, Some(w.rep_a.id));
        assert_eq!(u.invited_by, Some(w.rep_a.id));
        assert_eq!(u.invitation_id, None);
    }
    assert_eq!(imported[0].phone.as_deref(), Some("+8613300133001"));
    assert_eq!(imported[2].phone.as_deref(), Some("+447700900123"));
    // The rep's devices get them through the pull.
    let pulled: Vec<i64> = rep
        .pull_all()
        .await
        .into_iter()
        .filter_map(|c| match c.body {
            ChangeBody::User(u) if u.source == Some(PartnerSource::Import) => Some(u.id),
            _ => None,
        })
        .collect();
    assert_eq!(pulled, imported.iter().map(|u| u.id).collect::<Vec<_>>());
    // Importing the same file again: all already partners, nothing written.
    let again = rep
        .post(PATH_PARTNER_IMPORT)
        .json(&PartnerImportRequest {
            rows: vec![row(2, "刘一", "13300133001")],
            dry_run: false,
        })
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn only_reps_import_and_sizes_are_bounded() {
    let w = world().await;
    let rows = vec![row(2, "刘一", "13300133001")];
    for user in [&w.partner_a1, &w.manager] {
        let dev = activate(&w.ts, user.id).await;
        let res = dev
            .post(PATH_PARTNER_IMPORT)
            .json(&PartnerImportRequest {
                rows: rows.clone(),
                dry_run: false,
            })
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        assert_eq!(api_error(res).await.code, ErrorCode::Forbidden);
    }
    let rep = activate(&w.ts, w.rep_a.id).await;
    let too_many: Vec<ImportRow> = (0..=MAX_ROWS as u32)
        .map(|i| row(i + 2, "某人", &format!("+86135{i:08}")))
        .collect();
    for rows in [vec![], too_many] {
        let res = rep
            .post(PATH_PARTNER_IMPORT)
            .json(&PartnerImportRequest {
                rows,
                dry_run: false,
            })
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        let err = api_error(res).await;
        assert_eq!(err.code, ErrorCode::InvalidInput);
        assert!(err.message.contains("10000 rows"), "{}", err.message);
    }
    let res = rep
        .post(PATH_PARTNER_IMPORT)
        .header("content-type", "application/json")
        .body("{\"rows\": 3}")
        .send()
        .await
        .unwrap();
    // Not an import request at all: 400 like every malformed body (422 is
    // kept for rows that were read and refused).
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(api_error(res).await.code, ErrorCode::InvalidInput);
}

#[tokio::test]
async fn ten_thousand_rows_import_in_one_request() {
    let w = world().await;
    let rep = activate(&w.ts, w.rep_a.id).await;
    let before = users(&w).await.len();
    let rows: Vec<ImportRow> = (0..MAX_ROWS as u32)
        .map(|i| ImportRow {
            note: Some(format!("展会名单 第 {i} 位")),
            ..row(i + 2, &format!("合伙人{i:05}"), &format!("+86139{i:08}"))
        })
        .collect();
    let body = serde_json::to_vec(&PartnerImportRequest {
        rows,
        dry_run: false,
    })
    .unwrap();
    let size = body.len();
    let started = Instant::now();
    let res = rep
        .post(PATH_PARTNER_IMPORT)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = res.status();
    let out: PartnerImportResult = res.json().await.unwrap();
    let elapsed = started.elapsed();
    println!(
        "imported {} partners ({size} bytes of JSON) in one request: {elapsed:?}",
        out.imported
    );
    assert_eq!(status, StatusCode::OK);
    assert_eq!(out.imported, MAX_ROWS as i64);
    assert_eq!(users(&w).await.len(), before + MAX_ROWS);
    assert!(
        elapsed.as_secs() < 30,
        "10,000 rows must import quickly, took {elapsed:?}"
    );
}
