//! Every migration, run from the version before it with a row in every
//! table: the rows survive with their values. A table without a fixture
//! here fails the test, so each new table brings its row.

mod common;

use std::collections::BTreeMap;

use warmlead_server_postgres::{latest, migrate_to, Client};

/// `(table, first version the statement fits, INSERT)`, in foreign-key
/// order. For a table, the latest fixture not newer than the database is used.
const FIXTURES: &[(&str, i64, &str)] = &[
    ("meta", 1, "INSERT INTO meta (key, value) VALUES ('k', decode('01', 'hex'))"),
    ("companies", 1, "INSERT INTO companies (id, name, created_at) VALUES (1, 'Acme', 1000)"),
    ("users", 1, "INSERT INTO users (id, company_id, role, name, phone, rep_id, created_at)
                  VALUES (1, 1, 'manager', 'Ann', '+15550001', NULL, 1000)"),
    ("devices", 1, "INSERT INTO devices (id, user_id, name, token_hash, created_at, revoked_at)
                    VALUES (1, 1, 'laptop', decode('aa', 'hex'), 1000, NULL)"),
    ("activation_codes", 1, "INSERT INTO activation_codes (code_hash, user_id, created_at, expires_at, used_at)
                             VALUES (decode('bb', 'hex'), 1, 1000, 2000, NULL)"),
    ("media", 1, "INSERT INTO media (id, company_id, content_type, size, path, created_at)
                  VALUES (1, 1, 'image/png', 10, 'a.png', 1000)"),
    ("content_items", 1, "INSERT INTO content_items (id, company_id, kind, title, summary, body,
                          cover_media_id, video_media_id, created_at, updated_at, deleted_at)
                          VALUES (1, 1, 'article', 'T', 'S', 'B', 1, NULL, 1000, 1000, NULL)"),
    ("content_item_media", 16, "INSERT INTO content_item_media (item_id, media_id) VALUES (1, 1)"),
    ("shares", 1, "INSERT INTO shares (token, device_id, share_no, item_id, partner_id, rep_id, channel, created_at)
                   VALUES ('tok1', 1, 1, 1, 1, NULL, 'sms', 1000)"),
    ("visits", 1, "INSERT INTO visits (id, page_view, share_token, visitor_id, opened_at, dwell_ms,
                   item_id, partner_id, rep_id, ip_hash)
                   VALUES (1, 'pv1', 'tok1', 'v1', 1000, 5, 1, 1, NULL, 'ab12')"),
    ("visits", 2, "INSERT INTO visits (id, page_view, share_token, root_token, visitor_id, opened_at,
                   last_seen_at, dwell_ms, item_id, partner_id, rep_id, ip_hash)
                   VALUES (1, 'pv1', 'tok1', 'tok1', 'v1', 1000, 1000, 5, 1, 1, NULL, 'ab12')"),
    ("client_state", 1, "INSERT INTO client_state (client_id, last_seq) VALUES ('c1', 3)"),
    ("mutation_results", 1, "INSERT INTO mutation_results (mutation_id, client_id, seq, outcome)
                             VALUES ('m1', 'c1', 3, 'ok')"),
    ("changes", 1, "INSERT INTO changes (seq, company_id, rep_id, partner_id, audience, body, created_at)
                    VALUES (1, 1, NULL, NULL, 'company', '{}', 1000)"),
    ("page_views", 2, "INSERT INTO page_views (pv, visit_id, dwell_ms) VALUES ('pv1', 1, 5)"),
    ("signals", 2, "INSERT INTO signals (id, share_token, visit_id, visitor_id, kind, value, at,
                    company_id, partner_id, item_id)
                    VALUES (1, 'tok1', 1, 'v1', 'dwell', 5, 1000, 1, 1, 1)"),
    ("filtered_hits", 2, "INSERT INTO filtered_hits (company_id, reason, count) VALUES (1, 'bot', 2)"),
    ("own_visitors", 2, "INSERT INTO own_visitors (visitor_id, partner_id, created_at) VALUES ('v9', 1, 1000)"),
    ("child_shares", 2, "INSERT INTO child_shares (token, parent_token, root_token, item_id, partner_id,
                         rep_id, company_id, depth, visitor_id, created_at)
                         VALUES ('tok2', 'tok1', 'tok1', 1, 1, NULL, 1, 1, 'v1', 1000)"),
    ("leads", 2, "INSERT INTO leads (id, company_id, rep_id, partner_id, name, phone, note, source,
                  share_token, item_id, score, grade, reasons, man_money, stage, created_at, updated_at)
                  VALUES (1, 1, NULL, 1, 'Bob', '+15550002', '', 'form', 'tok1', 1, 10, 'warm', '[]',
                          TRUE, 'new', 1000, 1000)"),
    ("lead_visitors", 2, "INSERT INTO lead_visitors (visitor_id, lead_id) VALUES ('v1', 1)"),
    ("scoring_rules", 2, "INSERT INTO scoring_rules (company_id, rules) VALUES (1, '{}')"),
    ("invitations", 4, "INSERT INTO invitations (id, company_id, rep_id, channel, status, token_hash,
                        short_code, created_at, expires_at, updated_at)
                        VALUES (1, 1, 1, 'qr', 'pending', decode('cc', 'hex'), 'ABC123', 1000, 2000, 1000)"),
    ("invitation_otps", 4, "INSERT INTO invitation_otps (id, invitation_id, phone, code_hash, created_at, expires_at)
                            VALUES (1, 1, '+15550003', decode('dd', 'hex'), 1000, 2000)"),
    ("sms_messages", 5, "INSERT INTO sms_messages (id, company_id, rep_id, invitation_id, name, phone, text,
                         kind, status, created_at, send_after, updated_at)
                         VALUES (1, 1, 1, 1, 'Cy', '+15550004', 'hi', 'invitation', 'queued', 1000, 1000, 1000)"),
    ("sms_optouts", 5, "INSERT INTO sms_optouts (phone, at, source) VALUES ('+15550005', 1000, 'twilio')"),
    ("rate_limits", 11, "INSERT INTO rate_limits (key, window_start, hits) VALUES ('lead_ip:0a1b2c', 1000, 3)"),
    ("recent_opens", 20, "INSERT INTO recent_opens (network, opened_at) VALUES (7, 1000)"),
    ("burst_windows", 28, "INSERT INTO burst_windows (network, opens, newest) VALUES (7, '{1000}', 1000)"),
    ("media_usage", 24, "INSERT INTO media_usage (company_id, bytes) VALUES (1, 10)"),
    ("media_reservations", 24, "INSERT INTO media_reservations (id, company_id, bytes, touched_at)
                                VALUES (1, 1, 4096, 1000)"),
    ("app_releases", 26, "INSERT INTO app_releases (version, target, file, stored_as, size, signature,
                          notes, published_at)
                          VALUES ('0.2.0', 'linux-x86_64', 'warmlead_0.2.0_amd64.deb', 'release-ab', 10,
                                  'sig', 'Faster sync', 1000)"),
];

/// The tables of the database and their columns, sorted.
async fn tables(client: &Client) -> BTreeMap<String, Vec<String>> {
    let mut tables: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in client
        .query(
            "SELECT table_name::text, column_name::text FROM information_schema.columns
             WHERE table_schema = 'public' AND table_name <> 'schema_migrations'
             ORDER BY 1, 2",
            &[],
        )
        .await
        .unwrap()
    {
        tables.entry(r.get(0)).or_default().push(r.get(1));
    }
    tables
}

/// `(table, migration)`: a table the migration replaces by another, its
/// rows moved into it (`check_migrated_data` checks them there).
const REPLACED: &[(&str, i64)] = &[("recent_opens", 28)];

/// Each table's rows as text, over the given columns only.
async fn snapshot(
    client: &Client,
    tables: &BTreeMap<String, Vec<String>>,
) -> BTreeMap<String, Vec<String>> {
    let mut rows = BTreeMap::new();
    for (table, columns) in tables {
        let list: Vec<String> = columns.iter().map(|c| format!("\"{c}\"")).collect();
        let sql = format!(
            "SELECT ROW({})::text FROM \"{table}\" ORDER BY 1",
            list.join(", ")
        );
        let texts = client.query(&sql, &[]).await.unwrap();
        rows.insert(table.clone(), texts.iter().map(|r| r.get(0)).collect());
    }
    rows
}

/// Fills every table present at `version` with its fixture row.
async fn fill(client: &Client, version: i64, tables: &BTreeMap<String, Vec<String>>) {
    for table in tables.keys() {
        assert!(
            FIXTURES.iter().any(|f| f.0 == table && f.1 <= version),
            "table {table} (version {version}) has no fixture row: add one to FIXTURES"
        );
    }
    for (table, since, sql) in FIXTURES {
        let newest = FIXTURES
            .iter()
            .filter(|f| f.0 == *table && f.1 <= version)
            .map(|f| f.1)
            .max();
        if tables.contains_key(*table) && newest == Some(*since) {
            client
                .batch_execute(sql)
                .await
                .unwrap_or_else(|e| panic!("fixture of {table} at version {version}: {e}"));
        }
    }
}

#[tokio::test]
async fn every_migration_keeps_the_rows_of_the_version_before() {
    for target in 1..=latest() {
        let mut client = common::fresh_client().await;
        migrate_to(&mut client, Some(target - 1)).await.unwrap();
        let before = tables(&client).await;
        fill(&client, target - 1, &before).await;
        let rows_before = snapshot(&client, &before).await;
        migrate_to(&mut client, Some(target))
            .await
            .unwrap_or_else(|e| panic!("migrating {} -> {target} with data: {e}", target - 1));
        let replaced: Vec<&str> = REPLACED
            .iter()
            .filter(|r| r.1 == target)
            .map(|r| r.0)
            .collect();
        let before: BTreeMap<String, Vec<String>> = before
            .into_iter()
            .filter(|(t, _)| !replaced.contains(&t.as_str()))
            .collect();
        let rows_before: BTreeMap<String, Vec<String>> = rows_before
            .into_iter()
            .filter(|(t, _)| !replaced.contains(&t.as_str()))
            .collect();
        let rows_after = snapshot(&client, &before).await;
        for (table, rows) in &rows_before {
            assert_eq!(rows.len(), 1, "fixture of {table} at {}", target - 1);
            assert_eq!(
                Some(rows),
                rows_after.get(table),
                "{table}'s row changed in migration {target}"
            );
        }
        check_migrated_data(&client, target).await;
    }
}

/// What a migration itself derives from the rows already there.
async fn check_migrated_data(client: &Client, version: i64) {
    let one = |sql: &'static str| async move {
        let row = client.query_one(sql, &[]).await.unwrap();
        row.get::<_, String>(0)
    };
    match version {
        2 => {
            assert_eq!(
                one("SELECT root_token || ' ' || last_seen_at || ' ' || visit_no || ' ' || page_views FROM visits").await,
                "tok1 1000 1 1"
            );
            assert_eq!(
                one("SELECT pv || ' ' || visit_id || ' ' || dwell_ms FROM page_views").await,
                "pv1 1 5"
            );
        }
        28 => {
            assert_eq!(
                one("SELECT network || ' ' || opens::text || ' ' || newest FROM burst_windows")
                    .await,
                "7 {1000} 1000"
            );
            assert_eq!(one("SELECT visit_no::text FROM visits").await, "1");
        }
        8 => {
            let key = one("SELECT public_key FROM media").await;
            assert!(
                key.len() == 32
                    && key
                        .chars()
                        .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()),
                "{key}"
            );
        }
        _ => {}
    }
}

/// 0007: a restored desktop cache numbers its shares again; the server
/// takes them (identified by token), which it refused before.
#[tokio::test]
async fn shares_are_identified_by_token_from_version_7() {
    let mut client = common::fresh_client().await;
    migrate_to(&mut client, Some(6)).await.unwrap();
    let tables = tables(&client).await;
    fill(&client, 6, &tables).await;
    let again = "INSERT INTO shares (token, device_id, share_no, item_id, partner_id, rep_id, channel, created_at)
                 VALUES ('tok1-restored', 1, 1, 1, 1, NULL, 'sms', 2000)";
    let refused = client.batch_execute(again).await.unwrap_err();
    assert_eq!(
        refused.as_db_error().and_then(|d| d.constraint()),
        Some("shares_device_share_no"),
        "{refused:?}"
    );
    migrate_to(&mut client, Some(7)).await.unwrap();
    client.batch_execute(again).await.unwrap();
}
