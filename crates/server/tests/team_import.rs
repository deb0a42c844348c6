//! `POST /api/v1/team/import` against a real server: a manager's reps from a
//! file, checked again on the server (the file's rules and the phones already
//! in the company), all rows or none, each added rep with a code that signs
//! in. A dry run (the import dialog's preview) says the same without writing;
//! the partners' import has the same dry run.
mod common;

use common::{activate, activate_with_code, api_error, world, Device, World};
use reqwest::StatusCode;
use warmlead_core::api::{
    TeamImportRequest, TeamImportResult, PATH_PARTNER_IMPORT, PATH_TEAM_IMPORT,
};
use warmlead_core::csv_import::{ImportColumn, ImportReason, ImportRow};
use warmlead_core::domain::{Role, User};
use warmlead_core::invite::{PartnerImportRequest, PartnerImportResult};
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

fn req(rows: Vec<ImportRow>, dry_run: bool) -> TeamImportRequest {
    TeamImportRequest { rows, dry_run }
}

/// Posts an import and reads its answer, which must come with `status`.
async fn import(d: &Device, req: &TeamImportRequest, status: StatusCode) -> TeamImportResult {
    let res = d.post(PATH_TEAM_IMPORT).json(req).send().await.unwrap();
    assert_eq!(res.status(), status);
    res.json().await.unwrap()
}

/// (row, reason) of each error.
fn reasons(out: &TeamImportResult) -> Vec<(u32, ImportReason)> {
    out.errors.iter().map(|e| (e.row, e.reason)).collect()
}

#[tokio::test]
async fn a_dry_run_flags_phones_already_in_the_company_and_writes_nothing() {
    let w = world().await;
    let manager = activate(&w.ts, w.manager.id).await;
    let before = users(&w).await;
    let rows = vec![
        row(2, "新销售", "13300133001"),
        // A partner's (张三), a rep's (李明) and the manager's own number.
        row(3, "张三", "13700137000"),
        row(4, "李明", "+86 139 0013 9000"),
        row(5, "陈静", "138 0013 8000"),
        row(6, "坏号码", "12345"),
    ];
    let res = manager
        .post(PATH_TEAM_IMPORT)
        .json(&req(rows.clone(), true))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "a dry run answers what was asked"
    );
    let out: TeamImportResult = res.json().await.unwrap();
    assert!(out.added.is_empty());
    assert_eq!(
        reasons(&out),
        vec![
            (3, ImportReason::DuplicatePhone),
            (4, ImportReason::DuplicatePhone),
            (5, ImportReason::DuplicatePhone),
            (6, ImportReason::BadPhone),
        ]
    );
    // Already in the company: no earlier row to point at, the phone column.
    let taken = &out.errors[0];
    assert_eq!(taken.duplicate_of, None);
    assert_eq!(taken.column, Some(ImportColumn::Phone));
    assert_eq!(taken.value, "+8613700137000");
    assert_eq!(users(&w).await, before, "a dry run writes nothing");

    // A clean dry run: no problems, still nothing written.
    let out = import(&manager, &req(vec![rows[0].clone()], true), StatusCode::OK).await;
    assert!(out.added.is_empty() && out.errors.is_empty(), "{out:?}");
    assert_eq!(users(&w).await, before);
}

#[tokio::test]
async fn one_taken_phone_stops_the_whole_import() {
    let w = world().await;
    let manager = activate(&w.ts, w.manager.id).await;
    let before = users(&w).await;
    let rows = vec![
        row(2, "孙丽", "13700001111"),
        row(3, "张三", "13700137000"),
        row(4, "周强", "13700002222"),
    ];
    let out = import(
        &manager,
        &req(rows, false),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(out.added.is_empty());
    assert_eq!(reasons(&out), vec![(3, ImportReason::DuplicatePhone)]);
    assert_eq!(users(&w).await, before, "all or nothing: no row was added");
}

#[tokio::test]
async fn imported_reps_sign_in_with_their_codes_and_a_second_import_is_refused() {
    let w = world().await;
    let manager = activate(&w.ts, w.manager.id).await;
    // Another company's person with the same number does not make it taken.
    let other = w.ts.admin().create_company("青松家政").await.unwrap();
    w.ts.admin()
        .create_user(other.id, Role::Rep, "外人", Some("13700002222"), None)
        .await
        .unwrap();
    let rows = vec![
        row(2, " 孙  丽 ", "13700001111"),
        row(3, "周强", "13700002222"),
    ];
    let out = import(&manager, &req(rows.clone(), false), StatusCode::OK).await;
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    let got: Vec<(u32, &str, Option<&str>, Role)> = out
        .added
        .iter()
        .map(|a| {
            let u = &a.issued.user;
            (a.row, u.name.as_str(), u.phone.as_deref(), u.role)
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (2, "孙 丽", Some("+8613700001111"), Role::Rep),
            (3, "周强", Some("+8613700002222"), Role::Rep),
        ]
    );
    for a in &out.added {
        assert_eq!(a.issued.user.company_id, w.company.id);
        assert!(a.issued.activation_link.starts_with("warmlead://activate?"));
        let dev = activate_with_code(&w.ts, &a.issued.activation_code).await;
        assert_eq!(dev.act.user.id, a.issued.user.id);
    }
    // The same file again: every phone is now in the company.
    let out = import(
        &manager,
        &req(rows, false),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        reasons(&out),
        vec![
            (2, ImportReason::DuplicatePhone),
            (3, ImportReason::DuplicatePhone)
        ]
    );
}

#[tokio::test]
async fn two_imports_of_one_phone_at_once_add_it_once() {
    let w = world().await;
    let manager = activate(&w.ts, w.manager.id).await;
    let one = || {
        manager
            .post(PATH_TEAM_IMPORT)
            .json(&req(vec![row(2, "孙丽", "13700001111")], false))
            .send()
    };
    let (a, b) = tokio::join!(one(), one());
    let mut statuses = vec![a.unwrap().status(), b.unwrap().status()];
    statuses.sort();
    assert_eq!(statuses[0], StatusCode::OK, "{statuses:?}");
    // SQLite serialises the two (the later sees the phone taken: 422); on
    // PostgreSQL both may pass the check and the unique index refuses one
    // (409). Either way one rep has the number.
    assert!(
        matches!(
            statuses[1],
            StatusCode::UNPROCESSABLE_ENTITY | StatusCode::CONFLICT
        ),
        "{statuses:?}"
    );
    let with_phone = users(&w)
        .await
        .into_iter()
        .filter(|u| u.phone.as_deref() == Some("+8613700001111"))
        .count();
    assert_eq!(with_phone, 1);
}

#[tokio::test]
async fn only_a_manager_imports_reps() {
    let w = world().await;
    let before = users(&w).await;
    for user in [&w.rep_a, &w.partner_a1] {
        let dev = activate(&w.ts, user.id).await;
        for dry_run in [true, false] {
            let res = dev
                .post(PATH_TEAM_IMPORT)
                .json(&req(vec![row(2, "孙丽", "13700001111")], dry_run))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), StatusCode::FORBIDDEN);
            assert_eq!(api_error(res).await.code, ErrorCode::Forbidden);
        }
    }
    let manager = activate(&w.ts, w.manager.id).await;
    let res = manager
        .post(PATH_TEAM_IMPORT)
        .json(&req(vec![], true))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(users(&w).await, before);
}

#[tokio::test]
async fn the_partner_import_has_the_same_dry_run() {
    let w = world().await;
    let rep = activate(&w.ts, w.rep_a.id).await;
    let before = users(&w).await;
    let rows = vec![row(2, "好人", "13300133001"), row(3, "李明", "13900139000")];
    let res = rep
        .post(PATH_PARTNER_IMPORT)
        .json(&PartnerImportRequest {
            rows: rows.clone(),
            dry_run: true,
        })
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let out: PartnerImportResult = res.json().await.unwrap();
    assert_eq!(out.imported, 0);
    let got: Vec<(u32, ImportReason)> = out.errors.iter().map(|e| (e.row, e.reason)).collect();
    assert_eq!(got, vec![(3, ImportReason::DuplicatePhone)]);
    let res = rep
        .post(PATH_PARTNER_IMPORT)
        .json(&PartnerImportRequest {
            rows: vec![rows[0].clone()],
            dry_run: true,
        })
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let out: PartnerImportResult = res.json().await.unwrap();
    assert_eq!((out.imported, out.errors.len()), (0, 0));
    assert_eq!(users(&w).await, before, "a dry run writes nothing");
}
