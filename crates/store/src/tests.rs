//! Store tests on real SQLite files.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use warmlead_core::api::ActivateResponse;
use warmlead_core::app::BriefcaseQuery;
use warmlead_core::domain::{
    Channel, Company, ContentItem, ContentKind, MediaRef, Role, User, Visit,
};
use warmlead_core::sync::{
    Change, ChangeBody, EntityKind, MutationBody, MutationOutcome, Outcome, PullResponse,
    PushResponse,
};
use warmlead_core::token::{derive_share_key, UnverifiedToken};
use warmlead_core::ErrorCode;

use crate::{migrate, Store, StoreError, TokenRef, LATEST_VERSION, MIGRATIONS};

const DEVICE: i64 = 77;
pub(crate) const ME: i64 = 5;

fn key_bytes() -> [u8; 32] {
    derive_share_key(b"test-master", DEVICE as u64)
}

pub(crate) fn activation() -> ActivateResponse {
    ActivateResponse {
        device_id: DEVICE,
        device_token: "tok".into(),
        share_key: URL_SAFE_NO_PAD.encode(key_bytes()),
        public_base_url: "https://r.example.com/".into(),
        user: User {
            id: ME,
            company_id: 1,
            role: Role::Partner,
            name: "张三".into(),
            phone: None,
            rep_id: Some(2),
            joined_at_ms: 0,
            source: None,
            invited_by: None,
            invitation_id: None,
        },
        company: Company {
            id: 1,
            name: "暖居装修".into(),
            poster_artwork: None,
            poster_slogan: None,
            logo: None,
            commission_promise: None,
        },
        epoch: "epoch-a".into(),
    }
}

/// The session row as the app wrote it before the token moved out of this
/// file (schema 12 and earlier): the token in clear.
pub(crate) fn save_activation_as_before(store: &Store, url: &str, act: &ActivateResponse) {
    store
        .conn
        .execute(
            "INSERT OR REPLACE INTO session (id, server_url, device_id, device_token, share_key, \
             public_base_url, user_json, company_json, epoch) \
             VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            rusqlite::params![
                url.trim_end_matches('/'),
                act.device_id,
                act.device_token,
                act.share_key,
                act.public_base_url.trim_end_matches('/'),
                serde_json::to_string(&act.user).unwrap(),
                serde_json::to_string(&act.company).unwrap(),
                act.epoch,
            ],
        )
        .unwrap();
}

fn item(id: i64, kind: ContentKind, title: &str) -> ContentItem {
    ContentItem {
        id,
        company_id: 1,
        kind,
        title: title.into(),
        summary: format!("{title} 摘要"),
        body: "正文".into(),
        cover: None,
        video: None,
        key: format!("item-{id}"),
        status: warmlead_core::domain::ContentStatus::Live,
        owner_id: None,
        audience: Default::default(),
        case_study: None,
        created_at_ms: 1_000 + id,
        updated_at_ms: 1_000 + id,
    }
}

pub(crate) fn page(epoch: &str, changes: Vec<ChangeBody>, cursor: i64) -> PullResponse {
    let n = changes.len() as i64;
    PullResponse {
        epoch: epoch.into(),
        changes: changes
            .into_iter()
            .enumerate()
            .map(|(i, body)| Change {
                seq: cursor - n + 1 + i as i64,
                body,
            })
            .collect(),
        cursor,
        has_more: false,
    }
}

/// A signed-in store with items 1 (article) and 2 (poster) pulled.
pub(crate) fn signed_in() -> (tempfile::TempDir, std::path::PathBuf, Store) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/cache.sqlite");
    let store = Store::open(&path).unwrap();
    store
        .save_activation(
            "http://127.0.0.1:1/",
            &activation(),
            &TokenRef::fresh(crate::Place::File),
        )
        .unwrap();
    let p = page(
        "epoch-a",
        vec![
            ChangeBody::ContentItem(item(1, ContentKind::Article, "装修避坑指南")),
            ChangeBody::ContentItem(item(2, ContentKind::Poster, "春季优惠")),
        ],
        2,
    );
    store.apply_pull(&p).unwrap();
    (dir, path, store)
}

pub(crate) fn count(store: &Store, sql: &str) -> i64 {
    store.conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

#[test]
fn migrates_an_empty_file_to_the_latest_schema() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("a/b/new.sqlite")).unwrap();
    assert_eq!(store.schema_version().unwrap(), LATEST_VERSION);
    assert_eq!(
        count(&store, "SELECT COUNT(*) FROM schema_migrations"),
        MIGRATIONS.len() as i64
    );
    for table in [
        "session",
        "sync_state",
        "outbox",
        "company",
        "users",
        "content_items",
        "shares",
        "visits",
        "counters",
    ] {
        let n = count(
            &store,
            &format!(
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '{table}'"
            ),
        );
        assert_eq!(n, 1, "table {table}");
    }
    let mode: String = store
        .conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode.to_lowercase(), "wal");
    assert_eq!(count(&store, "PRAGMA synchronous"), 2, "FULL");
    assert_eq!(count(&store, "PRAGMA foreign_keys"), 1);
}

/// For every earlier schema (today only 0001; 0002 will be covered with no
/// change here), a file holding data upgrades and keeps the data.
#[test]
fn upgrades_every_previous_version_keeping_its_rows() {
    for (version, _) in MIGRATIONS {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.sqlite");
        {
            let old = migrate::open_at_version(&path, *version).unwrap();
            assert_eq!(old.schema_version().unwrap(), *version);
            // Columns as of 0001; later migrations must keep them readable.
            old.conn
                .execute_batch(
                    "INSERT INTO content_items (id, company_id, kind, title, summary, body, created_at_ms, updated_at_ms)
                       VALUES (9, 1, 'article', '旧文章', '', '', 1, 1);
                     INSERT INTO outbox (seq, mutation_id, name, args, schema_version, created_at)
                       VALUES (1, '0190-old', 'rename_self', '{\"name\":\"老王\"}', 1, 1);
                     UPDATE counters SET value = 1 WHERE name = 'outbox_seq';",
                )
                .unwrap();
        }
        let store = Store::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), LATEST_VERSION);
        assert_eq!(store.content_item(9).unwrap().unwrap().title, "旧文章");
        let pending = store.pending_mutations(10).unwrap();
        assert_eq!(pending.len(), 1, "from version {version}");
        assert_eq!(pending[0].mutation_id, "0190-old");
        assert_eq!(
            pending[0].body,
            MutationBody::RenameSelf {
                name: "老王".into()
            }
        );
        drop(store);
        // Opening again runs nothing twice.
        let again = Store::open(&path).unwrap();
        assert_eq!(
            count(&again, "SELECT COUNT(*) FROM schema_migrations"),
            MIGRATIONS.len() as i64
        );
    }
}

#[test]
fn refuses_a_file_from_a_newer_app() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("future.sqlite");
    let store = Store::open(&path).unwrap();
    store
        .conn
        .execute(
            "INSERT INTO schema_migrations VALUES (?1, 0)",
            [LATEST_VERSION + 1],
        )
        .unwrap();
    drop(store);
    assert!(matches!(Store::open(&path), Err(StoreError::TooNew { .. })));
}

#[test]
fn outbox_survives_reopening_the_file() {
    let (_dir, path, store) = signed_in();
    let share = store.create_share(1, Channel::Moments, 5_000).unwrap();
    store.rename_self("张三丰").unwrap();
    let before = store.pending_mutations(10).unwrap();
    drop(store); // the process ends

    let store = Store::open(&path).unwrap();
    let after = store.pending_mutations(10).unwrap();
    assert_eq!(after, before);
    assert_eq!(after.iter().map(|m| m.seq).collect::<Vec<_>>(), vec![1, 2]);
    assert!(
        matches!(&after[0].body, MutationBody::CreateShare { token, .. } if *token == share.token)
    );
    assert_eq!(store.pending_count().unwrap(), 2);
    assert_eq!(store.session().unwrap().unwrap().user.name, "张三丰");
    assert!(store.share_pending(&share.token).unwrap());
}

#[test]
fn create_share_signs_a_verifiable_token_with_its_outbox_row() {
    let (_dir, _path, store) = signed_in();
    let share = store.create_share(2, Channel::Group, 5_000).unwrap();
    let claim = UnverifiedToken::parse(&share.token)
        .unwrap()
        .verify(&key_bytes())
        .unwrap();
    assert_eq!(
        (
            claim.device_id,
            claim.share_no,
            claim.item_id,
            claim.channel
        ),
        (DEVICE as u64, 1, 2, Channel::Group)
    );
    assert_eq!(share.partner_id, ME);
    assert_eq!(
        store.share_url(&share).unwrap(),
        format!("https://r.example.com/s/{}", share.token)
    );
    let pending = store.pending_mutations(10).unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(
        pending[0].body,
        MutationBody::CreateShare {
            share_no: 1,
            item_id: 2,
            channel: Channel::Group,
            token: share.token.clone(),
            created_at_ms: 5_000
        }
    );
    let second = store.create_share(2, Channel::Group, 6_000).unwrap();
    assert_eq!(second.share_no, 2);
    assert_ne!(second.token, share.token);
}

#[test]
fn a_failed_share_leaves_neither_share_nor_outbox_row() {
    let (_dir, _path, store) = signed_in();
    // Make the share insert fail after the outbox insert: both must roll
    // back together (the token is random, so a trigger stands in for a clash).
    store
        .conn
        .execute_batch(
            "CREATE TEMP TRIGGER no_shares BEFORE INSERT ON shares \
             BEGIN SELECT RAISE(ABORT, 'no room'); END;",
        )
        .unwrap();
    assert!(store.create_share(1, Channel::Direct, 5_000).is_err());
    assert_eq!(store.pending_count().unwrap(), 0);
    assert_eq!(count(&store, "SELECT COUNT(*) FROM outbox"), 0);
    assert_eq!(
        count(&store, "SELECT value FROM counters WHERE name = 'share_no'"),
        0
    );
    assert!(matches!(
        store.create_share(404, Channel::Direct, 5_000),
        Err(StoreError::ItemNotFound(404))
    ));
}

#[test]
fn apply_pull_commits_a_page_and_its_cursor_or_neither() {
    let (_dir, _path, store) = signed_in();
    assert_eq!(store.cursor().unwrap(), (Some("epoch-a".into()), 2));
    let bad = page(
        "epoch-a",
        vec![
            ChangeBody::ContentItem(item(3, ContentKind::Video, "前后对比")),
            ChangeBody::Tombstone {
                kind: EntityKind::ContentItem,
                id: "not-a-number".into(),
            },
        ],
        4,
    );
    assert!(store.apply_pull(&bad).is_err());
    assert_eq!(store.cursor().unwrap().1, 2);
    assert!(store.content_item(3).unwrap().is_none());
    // Pages commit without fsync; the outbox's writes after them never do.
    assert_eq!(
        count(&store, "PRAGMA synchronous"),
        2,
        "FULL after a failed page"
    );

    let good = page(
        "epoch-a",
        vec![
            ChangeBody::ContentItem(item(3, ContentKind::Video, "前后对比")),
            ChangeBody::Tombstone {
                kind: EntityKind::ContentItem,
                id: "1".into(),
            },
        ],
        4,
    );
    let applied = store.apply_pull(&good).unwrap();
    assert_eq!(applied.changes, 2);
    assert!(!applied.epoch_reset);
    assert_eq!(store.cursor().unwrap().1, 4);
    assert!(store.content_item(3).unwrap().is_some());
    assert!(store.content_item(1).unwrap().is_none());
    assert_eq!(count(&store, "PRAGMA synchronous"), 2, "FULL after a page");
}

#[test]
fn a_new_epoch_clears_server_data_but_keeps_the_outbox() {
    let (_dir, _path, store) = signed_in();
    let synced = store.create_share(1, Channel::Moments, 5_000).unwrap();
    let pushed = store.pending_mutations(1).unwrap();
    store
        .record_outcomes(&PushResponse {
            outcomes: vec![MutationOutcome {
                mutation_id: pushed[0].mutation_id.clone(),
                seq: pushed[0].seq,
                outcome: Outcome::Applied,
            }],
            last_seq: 1,
        })
        .unwrap();
    let offline = store.create_share(2, Channel::Direct, 6_000).unwrap();
    assert_eq!(store.pending_count().unwrap(), 1);

    let fresh = page(
        "epoch-b",
        vec![ChangeBody::ContentItem(item(7, ContentKind::Article, "x"))],
        1,
    );
    let applied = store.apply_pull(&fresh).unwrap();
    assert!(applied.epoch_reset);
    assert_eq!(store.cursor().unwrap(), (Some("epoch-b".into()), 0));
    assert!(store
        .briefcase(&BriefcaseQuery::default())
        .unwrap()
        .is_empty());
    assert!(
        store.content_item(7).unwrap().is_none(),
        "the stale page is not applied"
    );
    let tokens: Vec<String> = store
        .my_shares()
        .unwrap()
        .into_iter()
        .map(|s| s.token)
        .collect();
    assert_eq!(tokens, vec![offline.token.clone()]);
    assert!(!tokens.contains(&synced.token));
    let pending = store.pending_mutations(10).unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].seq, 2);
    // Re-downloading from 0 in the new epoch now applies.
    let again = store.apply_pull(&fresh).unwrap();
    assert!(!again.epoch_reset);
    assert!(store.content_item(7).unwrap().is_some());
}

#[test]
fn a_pending_delete_is_not_undone_by_older_server_state_and_a_rejection_restores() {
    let (_dir, _path, store) = signed_in();
    store.delete_content_item(1).unwrap();
    assert!(store.content_item(1).unwrap().is_none());
    store
        .apply_pull(&page(
            "epoch-a",
            vec![ChangeBody::ContentItem(item(
                1,
                ContentKind::Article,
                "新标题",
            ))],
            3,
        ))
        .unwrap();
    assert!(
        store.content_item(1).unwrap().is_none(),
        "still deleted locally"
    );

    let m = store.pending_mutations(10).unwrap().remove(0);
    let resp = PushResponse {
        outcomes: vec![MutationOutcome {
            mutation_id: m.mutation_id.clone(),
            seq: m.seq,
            outcome: Outcome::Rejected {
                code: ErrorCode::Forbidden,
                message: "partners cannot delete content".into(),
            },
        }],
        last_seq: 1,
    };
    let counts = store.record_outcomes(&resp).unwrap();
    assert_eq!((counts.applied, counts.rejected), (0, 1));
    // The same response again changes nothing.
    assert_eq!(store.record_outcomes(&resp).unwrap().rejected, 0);
    assert_eq!(store.content_item(1).unwrap().unwrap().title, "新标题");
    let rejected = store.rejected().unwrap();
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0].code, ErrorCode::Forbidden);
    assert_eq!(rejected[0].name, "delete_content_item");
    let status = store.sync_status(true).unwrap();
    assert_eq!(status.state, warmlead_core::app::SyncState::Attention);
    assert_eq!(status.pending, 0);

    assert!(!store.dismiss_rejected("no-such-id").unwrap());
    assert!(store.dismiss_rejected(&m.mutation_id).unwrap());
    assert!(store.rejected().unwrap().is_empty());
    assert_eq!(
        store.sync_status(true).unwrap().state,
        warmlead_core::app::SyncState::Synced
    );
    // Dismissing never frees a seq: the next change still gets a new one.
    store.rename_self("李四").unwrap();
    assert_eq!(store.pending_mutations(10).unwrap()[0].seq, 2);
}

#[test]
fn a_pending_rename_keeps_the_local_name() {
    let (_dir, _path, store) = signed_in();
    store.rename_self("新名字").unwrap();
    let server_me = User {
        id: ME,
        company_id: 1,
        role: Role::Partner,
        name: "张三".into(),
        phone: None,
        rep_id: Some(2),
        joined_at_ms: 0,
        source: None,
        invited_by: None,
        invitation_id: None,
    };
    store
        .apply_pull(&page("epoch-a", vec![ChangeBody::User(server_me)], 3))
        .unwrap();
    assert_eq!(store.session().unwrap().unwrap().user.name, "新名字");
    assert!(store.rename_self("  ").is_err());
}

/// The cache refuses a name the server would refuse (one limit in core), so
/// a rename never waits in the outbox only to be rejected later.
#[test]
fn a_rename_follows_the_servers_name_limit() {
    use warmlead_core::limits::MAX_NAME_CHARS;
    let (_dir, _path, store) = signed_in();
    let before = store.pending_count().unwrap();
    let err = store
        .rename_self(&"名".repeat(MAX_NAME_CHARS + 1))
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Invalid { field: "name", .. }),
        "{err:?}"
    );
    assert_eq!(store.pending_count().unwrap(), before);
    store.rename_self(&"名".repeat(MAX_NAME_CHARS)).unwrap();
    assert_eq!(store.pending_count().unwrap(), before + 1);
}

#[test]
fn sign_out_refuses_while_changes_wait_unless_forced() {
    let (_dir, _path, store) = signed_in();
    store.create_share(1, Channel::Moments, 1).unwrap();
    let err = store.sign_out().unwrap_err();
    assert!(matches!(err, StoreError::PendingChanges(1)));
    assert_eq!(err.code(), ErrorCode::Conflict);
    assert!(store.session().unwrap().is_some());
    store.sign_out_force().unwrap();
    assert!(store.session().unwrap().is_none());
    assert!(store.credentials().unwrap().is_none());
    assert_eq!(store.pending_count().unwrap(), 0);
    assert!(store
        .briefcase(&BriefcaseQuery::default())
        .unwrap()
        .is_empty());
    assert!(matches!(
        store.create_share(1, Channel::Moments, 1),
        Err(StoreError::NotActivated)
    ));
}

#[test]
fn briefcase_filters_searches_and_counts_my_shares() {
    let (_dir, _path, store) = signed_in();
    store
        .apply_pull(&page(
            "epoch-a",
            vec![ChangeBody::ContentItem(item(
                3,
                ContentKind::Article,
                "100%_满意",
            ))],
            3,
        ))
        .unwrap();
    store.create_share(1, Channel::Moments, 1).unwrap();
    store.create_share(1, Channel::Group, 2).unwrap();
    let all = store.briefcase(&BriefcaseQuery::default()).unwrap();
    assert_eq!(
        all.iter().map(|b| b.item.id).collect::<Vec<_>>(),
        vec![3, 2, 1]
    );
    assert_eq!(all[2].my_shares, 2);
    let articles = store
        .briefcase(&BriefcaseQuery {
            kind: Some(ContentKind::Article),
            search: None,
        })
        .unwrap();
    assert_eq!(articles.len(), 2);
    let found = store
        .briefcase(&BriefcaseQuery {
            kind: None,
            search: Some(" 避坑 ".into()),
        })
        .unwrap();
    assert_eq!(found.iter().map(|b| b.item.id).collect::<Vec<_>>(), vec![1]);
    let literal = store
        .briefcase(&BriefcaseQuery {
            kind: None,
            search: Some("%_".into()),
        })
        .unwrap();
    assert_eq!(
        literal.iter().map(|b| b.item.id).collect::<Vec<_>>(),
        vec![3]
    );
}

#[test]
fn radar_lists_views_newest_first_even_with_missing_joins() {
    let (_dir, _path, store) = signed_in();
    let share = store.create_share(1, Channel::Group, 1).unwrap();
    let visit = |id, token: &str, item_id, opened| Visit {
        id,
        share_token: token.into(),
        item_id,
        partner_id: ME,
        rep_id: 2,
        visitor_id: format!("demo-visitor-{id}"),
        opened_at_ms: opened,
        dwell_ms: 3_200,
    };
    store
        .apply_pull(&page(
            "epoch-a",
            vec![
                ChangeBody::User(activation().user),
                ChangeBody::Visit(visit(10, &share.token, 1, 100)),
                ChangeBody::Visit(visit(11, "unknown", 99, 200)),
            ],
            5,
        ))
        .unwrap();
    let radar = store.radar(10).unwrap();
    assert_eq!(radar.len(), 2);
    assert_eq!(radar[0].visit_id, 11);
    assert_eq!(radar[0].item_title, "#99");
    assert_eq!(radar[0].channel, None);
    assert_eq!(radar[1].item_title, "装修避坑指南");
    assert_eq!(radar[1].partner_name, "张三");
    assert_eq!(radar[1].channel, Some(Channel::Group));
    assert_eq!(radar[1].dwell_ms, 3_200);
    let code = &radar[1].visitor_id;
    assert!(
        code.len() == 4 && code.chars().all(|c| c.is_ascii_hexdigit()),
        "{code}"
    );
    assert_ne!(
        radar[0].visitor_id, radar[1].visitor_id,
        "different visitors get different codes"
    );
    assert_eq!(store.radar(1).unwrap().len(), 1);
}

#[test]
fn migrating_from_3_keeps_the_company_and_then_learns_its_poster_artwork() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.sqlite");
    {
        let old = migrate::open_at_version(&path, 3).unwrap();
        save_activation_as_before(&old, "http://127.0.0.1:1/", &activation());
        // A file of schema 3 keeps a company JSON without the field.
        old.conn
            .execute_batch(
                r#"INSERT INTO company (id, name) VALUES (1, '暖居装修');
                   UPDATE session SET company_json = '{"id":1,"name":"暖居装修"}';"#,
            )
            .unwrap();
    }
    let store = Store::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), LATEST_VERSION);
    assert_eq!(
        count(
            &store,
            "SELECT COUNT(*) FROM company WHERE id = 1 AND name = '暖居装修' \
             AND poster_artwork_json IS NULL"
        ),
        1
    );
    assert_eq!(
        store.session().unwrap().unwrap().company.poster_artwork,
        None
    );

    let art = warmlead_core::domain::MediaRef {
        id: 42,
        content_type: "image/jpeg".into(),
        size: 123_456,
        key: "5f0c3a9e8d7b6a5f4e3d2c1b0a998877".into(),
    };
    let with_art = Company {
        id: 1,
        name: "暖居装修".into(),
        poster_artwork: Some(art.clone()),
        poster_slogan: None,
        logo: None,
        commission_promise: None,
    };
    store
        .apply_pull(&page("epoch-a", vec![ChangeBody::Company(with_art)], 1))
        .unwrap();
    let json: String = store
        .conn
        .query_row(
            "SELECT poster_artwork_json FROM company WHERE id = 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        serde_json::from_str::<warmlead_core::domain::MediaRef>(&json).unwrap(),
        art
    );
    let session = store.session().unwrap().unwrap();
    assert_eq!(session.company.poster_artwork, Some(art));

    // Null clears it in both places.
    let cleared = Company {
        id: 1,
        name: "暖居装修".into(),
        poster_artwork: None,
        poster_slogan: None,
        logo: None,
        commission_promise: None,
    };
    store
        .apply_pull(&page("epoch-a", vec![ChangeBody::Company(cleared)], 2))
        .unwrap();
    assert_eq!(
        count(
            &store,
            "SELECT COUNT(*) FROM company WHERE poster_artwork_json IS NULL"
        ),
        1
    );
    assert_eq!(
        store.session().unwrap().unwrap().company.poster_artwork,
        None
    );
}

#[test]
fn migrating_from_4_keeps_the_artwork_and_then_learns_the_poster_slogan() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.sqlite");
    {
        let old = migrate::open_at_version(&path, 4).unwrap();
        save_activation_as_before(&old, "http://127.0.0.1:1/", &activation());
        old.conn
            .execute_batch(
                r#"INSERT INTO company (id, name, poster_artwork_json)
                   VALUES (1, '暖居装修', '{"id":42,"content_type":"image/jpeg","size":1}');
                   UPDATE session SET company_json = '{"id":1,"name":"暖居装修"}';"#,
            )
            .unwrap();
    }
    let store = Store::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), LATEST_VERSION);
    assert_eq!(
        count(
            &store,
            "SELECT COUNT(*) FROM company WHERE poster_artwork_json IS NOT NULL \
             AND poster_slogan IS NULL"
        ),
        1
    );
    assert_eq!(
        store.session().unwrap().unwrap().company.poster_slogan,
        None
    );

    let with_slogan = Company {
        id: 1,
        name: "暖居装修".into(),
        poster_artwork: None,
        poster_slogan: Some("好车推荐给朋友".into()),
        logo: None,
        commission_promise: None,
    };
    store
        .apply_pull(&page("epoch-a", vec![ChangeBody::Company(with_slogan)], 1))
        .unwrap();
    assert_eq!(
        count(
            &store,
            "SELECT COUNT(*) FROM company WHERE poster_slogan = '好车推荐给朋友'"
        ),
        1
    );
    assert_eq!(
        store
            .session()
            .unwrap()
            .unwrap()
            .company
            .poster_slogan
            .as_deref(),
        Some("好车推荐给朋友"),
        "the poster reads the session's company"
    );
}

/// The partner's briefcase holds exactly the live items the server sent:
/// an item that leaves the partner's audience (another rep's own, archived)
/// arrives as a tombstone and is gone, also after a restart offline; a
/// draft or archived copy never shows even if one were cached.
#[test]
fn the_briefcase_keeps_only_what_reaches_the_partner() {
    use warmlead_core::domain::ContentStatus;
    let (_dir, path, store) = signed_in();
    let mut rep_own = item(3, ContentKind::Article, "李明的案例");
    rep_own.owner_id = Some(2);
    let mut archived = item(4, ContentKind::Article, "下架了");
    archived.status = ContentStatus::Archived;
    store
        .apply_pull(&page(
            "epoch-a",
            vec![
                ChangeBody::ContentItem(rep_own),
                ChangeBody::ContentItem(archived),
            ],
            4,
        ))
        .unwrap();
    let titles = |s: &Store| -> Vec<String> {
        let mut t: Vec<String> = s
            .briefcase(&BriefcaseQuery::default())
            .unwrap()
            .into_iter()
            .map(|b| b.item.title)
            .collect();
        t.sort();
        t
    };
    assert_eq!(
        titles(&store),
        ["春季优惠", "李明的案例", "装修避坑指南"].map(String::from)
    );
    // Rep 2's item left this partner's audience.
    let gone = ChangeBody::Tombstone {
        kind: warmlead_core::sync::EntityKind::ContentItem,
        id: "3".into(),
    };
    store.apply_pull(&page("epoch-a", vec![gone], 5)).unwrap();
    drop(store);
    let store = Store::open(&path).unwrap();
    assert_eq!(
        titles(&store),
        ["春季优惠", "装修避坑指南"].map(String::from)
    );
}

/// What an author types stays here, on top of the server's copy, until the
/// server has all of it; then the server's copy is the item.
#[test]
fn a_library_edit_stays_until_the_server_has_it() {
    use warmlead_core::api::ContentDraft;
    use warmlead_core::app::LibraryQuery;
    use warmlead_core::domain::ContentStatus;
    let (_dir, _path, store) = signed_in();
    let draft = ContentDraft {
        kind: ContentKind::Article,
        title: "旧房翻新预算".into(),
        summary: String::new(),
        body: "<p>草稿</p>".into(),
        case_study: None,
        cover: None,
        video: None,
        audience: Default::default(),
    };
    let saved = store.save_content("k-1", &draft).unwrap();
    assert!(saved.unsynced && saved.mine && saved.item.id == 0);
    assert_eq!(saved.item.status, ContentStatus::Draft);
    // An older server copy arrives while the edit waits: the edit wins.
    let mut server = item(9, ContentKind::Article, "旧标题");
    server.key = "k-1".into();
    server.owner_id = Some(ME);
    server.status = ContentStatus::Draft;
    store
        .apply_pull(&page(
            "epoch-a",
            vec![ChangeBody::ContentItem(server.clone())],
            3,
        ))
        .unwrap();
    let lib = store.library(&LibraryQuery::default()).unwrap();
    let mine: Vec<_> = lib.iter().filter(|i| i.item.key == "k-1").collect();
    assert_eq!(mine.len(), 1);
    assert_eq!(
        (mine[0].item.id, mine[0].item.title.as_str()),
        (9, "旧房翻新预算")
    );
    assert!(mine[0].unsynced);
    // Pushed and applied, then the server's copy comes: it is the item now.
    let pending = store.pending_mutations(10).unwrap();
    let outcomes = pending
        .iter()
        .map(|m| warmlead_core::sync::MutationOutcome {
            mutation_id: m.mutation_id.clone(),
            seq: m.seq,
            outcome: Outcome::Applied,
        })
        .collect();
    store
        .record_outcomes(&PushResponse {
            outcomes,
            last_seq: pending.last().unwrap().seq,
        })
        .unwrap();
    server.title = "旧房翻新预算".into();
    server.body = "<p>草稿</p>".into();
    store
        .apply_pull(&page("epoch-a", vec![ChangeBody::ContentItem(server)], 4))
        .unwrap();
    let item = store.library_item("k-1").unwrap();
    assert!(!item.unsynced);
    assert_eq!(count(&store, "SELECT COUNT(*) FROM content_edits"), 0);
    // Nothing that is not live reaches the briefcase.
    assert!(!store
        .briefcase(&BriefcaseQuery::default())
        .unwrap()
        .iter()
        .any(|b| b.item.key == "k-1"));
}

/// Schema 8: a cache at 6 keeps its company and learns the profile (logo,
/// commission promise) from the Company change, in the table and in the
/// session the posters read offline.
#[test]
fn migrating_from_6_keeps_the_company_and_then_learns_its_profile() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.sqlite");
    {
        let old = migrate::open_at_version(&path, 6).unwrap();
        save_activation_as_before(&old, "http://127.0.0.1:1/", &activation());
        old.conn
            .execute_batch(
                r#"INSERT INTO company (id, name, poster_slogan) VALUES (1, '暖居装修', '口号');
                   UPDATE session SET company_json = '{"id":1,"name":"暖居装修"}';"#,
            )
            .unwrap();
    }
    let store = Store::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), LATEST_VERSION);
    assert_eq!(
        count(
            &store,
            "SELECT COUNT(*) FROM company WHERE poster_slogan = '口号' \
             AND logo_json IS NULL AND commission_promise IS NULL"
        ),
        1
    );
    let logo = MediaRef {
        id: 9,
        content_type: "image/png".into(),
        size: 120,
        key: "k".repeat(22),
    };
    let profiled = Company {
        id: 1,
        name: "暖居".into(),
        poster_artwork: None,
        poster_slogan: None,
        logo: Some(logo.clone()),
        commission_promise: Some("成交奖 3%".into()),
    };
    store
        .apply_pull(&page(
            "epoch-a",
            vec![ChangeBody::Company(profiled.clone())],
            1,
        ))
        .unwrap();
    assert_eq!(
        count(
            &store,
            "SELECT COUNT(*) FROM company WHERE name = '暖居' AND logo_json IS NOT NULL \
             AND commission_promise = '成交奖 3%'"
        ),
        1
    );
    let session = store.session().unwrap().unwrap();
    assert_eq!(
        session.company, profiled,
        "the posters read the session's company"
    );
    assert_eq!(session.company.logo, Some(logo));
}
