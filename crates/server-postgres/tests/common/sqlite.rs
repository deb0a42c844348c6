//! A real SQLite server database for the tests: the server's own
//! migrations (`crates/server-sqlite/migrations`), and at the latest version a row
//! (or more) in every table. `tests/copy.rs` copies it into PostgreSQL,
//! `tests/pg_dump.rs` backs that copy up and restores it.

use std::path::{Path, PathBuf};

use warmlead_server_postgres::latest;

/// One row (or more) per table, SQLite syntax, in foreign-key order. A
/// table without a row here fails `every_table_has_a_fixture` (tests/copy.rs).
pub const FIXTURES: &[(&str, &str)] = &[
    ("meta", "INSERT INTO meta (key, value) VALUES ('master_secret', X'00ff10203040506070'),
              ('epoch', X'0000000000000007')"),
    ("companies", "INSERT INTO companies (id, name, created_at, poster_media_id, poster_slogan)
                   VALUES (1, '暖居装修', 1000, 1, 'Warm homes'), (2, 'Other', 1001, NULL, NULL)"),
    ("media", "INSERT INTO media (id, company_id, content_type, size, path, created_at, public_key)
               VALUES (1, 1, 'image/png', 10, 'media/1/a.png', 1000, '0123456789abcdef0123456789abcdef')"),
    ("invitations", "INSERT INTO invitations (id, company_id, rep_id, channel, status, max_uses, uses,
                     token_hash, url_seq, short_code, created_at, expires_at, updated_at,
                     recipient_name, recipient_phone)
                     VALUES (1, 1, 2, 'qr', 'pending', 5, 1, X'cc', 2, 'ABC123', 1000, 2000, 1000, NULL, NULL)"),
    ("users", "INSERT INTO users (id, company_id, role, name, phone, rep_id, created_at, source, invited_by, invitation_id)
               VALUES (1, 1, 'manager', 'Ann', '+15550001', NULL, 1000, NULL, NULL, NULL),
                      (2, 1, 'rep', 'Rex', '+15550002', NULL, 1000, NULL, NULL, NULL),
                      (3, 1, 'partner', 'Pat', '+15550003', 2, 1000, 'invitation', 2, 1)"),
    ("devices", "INSERT INTO devices (id, user_id, name, token_hash, created_at, revoked_at)
                 VALUES (1, 3, 'laptop', X'aa01', 1000, NULL), (2, 2, 'old', X'bb02', 1000, 1500)"),
    ("activation_codes", "INSERT INTO activation_codes (code_hash, user_id, created_at, expires_at, used_at)
                          VALUES (X'bb', 1, 1000, 2000, NULL)"),
    ("content_items", "INSERT INTO content_items (id, company_id, kind, title, summary, body,
                       cover_media_id, video_media_id, created_at, updated_at, deleted_at)
                       VALUES (1, 1, 'article', 'T', 'S', 'B ''quoted'' 🙂', 1, NULL, 1000, 1000, NULL)"),
    ("content_item_media", "INSERT INTO content_item_media (item_id, media_id) VALUES (1, 1)"),
    ("shares", "INSERT INTO shares (token, device_id, share_no, item_id, partner_id, rep_id, channel, created_at)
                VALUES ('tok1', 1, 1, 1, 3, 2, 'sms', 1000), ('Tok0', 1, 2, 1, 3, 2, 'qr', 1001)"),
    ("visits", "INSERT INTO visits (id, page_view, share_token, root_token, visitor_id, opened_at,
                last_seen_at, dwell_ms, item_id, partner_id, rep_id, ip_hash)
                VALUES (1, 'pv1', 'tok1', 'tok1', 'v1', 1000, 1000, 5, 1, 3, 2, 'ab12')"),
    ("client_state", "INSERT INTO client_state (client_id, last_seq) VALUES ('c1', 3)"),
    ("mutation_results", "INSERT INTO mutation_results (mutation_id, client_id, seq, outcome)
                          VALUES ('m1', 'c1', 3, 'ok')"),
    ("changes", "INSERT INTO changes (seq, company_id, rep_id, partner_id, audience, body, created_at)
                 VALUES (1, 1, NULL, NULL, 'company', '{}', 1000), (2, 1, 2, 3, 'company', '{\"a\":1}', 1001),
                        (9, 1, NULL, NULL, 'company', '{}', 1002)"),
    ("page_views", "INSERT INTO page_views (pv, visit_id, dwell_ms) VALUES ('pv1', 1, 5)"),
    ("signals", "INSERT INTO signals (id, share_token, visit_id, visitor_id, kind, value, at,
                 company_id, partner_id, item_id)
                 WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2500)
                 SELECT i, 'tok1', 1, 'v1', 'dwell', i * 7, 1000 + i, 1, 3, 1 FROM n"),
    ("filtered_hits", "INSERT INTO filtered_hits (company_id, reason, count) VALUES (1, 'bot', 2)"),
    ("own_visitors", "INSERT INTO own_visitors (visitor_id, partner_id, created_at) VALUES ('v9', 3, 1000)"),
    ("child_shares", "INSERT INTO child_shares (token, parent_token, root_token, item_id, partner_id,
                      rep_id, company_id, depth, visitor_id, created_at)
                      VALUES ('tok2', 'tok1', 'tok1', 1, 3, 2, 1, 1, 'v1', 1000)"),
    ("leads", "INSERT INTO leads (id, company_id, rep_id, partner_id, name, phone, note, source,
               share_token, item_id, score, grade, reasons, man_money, man_authority, man_need,
               stage, created_at, updated_at)
               VALUES (1, 1, 2, 3, 'Bob', '+15550009', '', 'form', 'tok1', 1, 10, 'warm', '[]',
                       1, 0, 1, 'new', 1000, 1000)"),
    ("lead_visitors", "INSERT INTO lead_visitors (visitor_id, lead_id) VALUES ('v1', 1)"),
    ("scoring_rules", "INSERT INTO scoring_rules (company_id, rules) VALUES (1, '{}')"),
    ("invitation_otps", "INSERT INTO invitation_otps (id, invitation_id, phone, code_hash, created_at, expires_at)
                         VALUES (1, 1, '+15550003', X'dd', 1000, 2000)"),
    ("sms_messages", "INSERT INTO sms_messages (id, company_id, rep_id, invitation_id, name, phone, text,
                      kind, status, created_at, send_after, updated_at)
                      VALUES (1, 1, 2, 1, 'Cy', '+15550004', 'hi', 'invitation', 'sent', 1000, 1000, 1000)"),
    ("sms_optouts", "INSERT INTO sms_optouts (phone, at, source) VALUES ('+15550005', 1000, 'twilio')"),
    ("rate_limits", "INSERT INTO rate_limits (key, window_start, hits) VALUES ('lead_ip:0a1b2c', 1000, 3)"),
    ("media_usage", "INSERT INTO media_usage (company_id, bytes) VALUES (1, 4106)"),
    ("media_reservations", "INSERT INTO media_reservations (id, company_id, bytes, touched_at)
                            VALUES (3, 1, 4096, 1000)"),
    ("app_releases", "INSERT INTO app_releases (version, target, file, stored_as, size, signature,
                      notes, published_at)
                      VALUES ('0.2.0', 'linux-x86_64', 'warmlead_0.2.0_amd64.deb', 'release-ab', 10,
                              'sig', 'Faster sync', 1000)"),
];

fn sqlite_migration_files() -> Vec<(i64, PathBuf)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../server-sqlite/migrations");
    let mut files: Vec<(i64, PathBuf)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "sql"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            (name[..4].parse().unwrap(), p)
        })
        .collect();
    files.sort();
    files
}

/// A SQLite server database at `up_to` (recorded in schema_migrations like
/// the server does), filled with FIXTURES when at the latest version.
pub fn sqlite_database(dir: &Path, up_to: i64) -> PathBuf {
    let path = dir.join("server.db");
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.pragma_update(None, "foreign_keys", "ON").unwrap();
    conn.execute_batch(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
    )
    .unwrap();
    for (version, file) in sqlite_migration_files() {
        if version > up_to {
            continue;
        }
        conn.execute_batch(&std::fs::read_to_string(&file).unwrap())
            .unwrap_or_else(|e| panic!("{file:?}: {e}"));
        conn.execute(
            "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, 1000)",
            [version],
        )
        .unwrap();
    }
    if up_to == latest() {
        // Rows inserted while the foreign keys are checked at COMMIT: the
        // fixtures follow the same cycles as real data.
        conn.execute_batch("PRAGMA defer_foreign_keys = ON; BEGIN")
            .unwrap();
        for (table, sql) in FIXTURES {
            conn.execute_batch(sql)
                .unwrap_or_else(|e| panic!("fixture {table}: {e}"));
        }
        // The newest change was deleted: its number must never come back.
        conn.execute_batch("DELETE FROM changes WHERE seq = 9; COMMIT")
            .unwrap();
    }
    path
}
