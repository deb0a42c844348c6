//! The conformance suite of the storage traits (issue 21): one set of
//! cases, generic over each aggregate's trait (`*_store.rs`), that runs
//! unchanged on both databases. A case is a plain function over the trait
//! object (or over [`Stores`]) and a [`Fixture`]; it never names a backend
//! or a dialect, so what it proves holds for whichever implementation
//! `Stores` hands out. `cargo xtask test` runs the server's lib tests, this
//! suite among them, once per backend (`WARMLEAD_TEST_BACKEND`).
//!
//! What each trait's file checks is the sequential contract: what is
//! stored comes back as stored, the single-use and limit rules each method
//! documents, and that another company's ids reach nothing. Two
//! transactions meeting at a rule's dangerous point are `races.rs`'s.

mod accounts;
mod changes;
mod content;
mod invitations;
mod leads;
mod media;
mod push;
mod releases;
mod sms;
mod tracking;

use warmlead_core::api::NewContentItem;
use warmlead_core::domain::{Channel, Company, ContentItem, ContentKind, Role, User};
use warmlead_core::token::{derive_share_key, ShareClaim};

use super::accounts::{create_company, create_user};
use super::shares::{self, ResolvedShare};
use super::signals::BurstWindow;
use super::sql::{params, Connection, Dialect};
use super::track_store::TrackStore;
use super::{now_ms, testdb, tracking_store, Caller, Secrets, Stores};
use crate::services::accounts::{caller_of_token, new_code, spend_code};
use crate::services::content::create_item;

/// A time in milliseconds past what 32 bits hold: every stored time in the
/// suite is near it, so a column too narrow for `i64` fails.
pub(super) const NOW: i64 = 1_800_000_000_000;

/// A day in milliseconds.
pub(super) const DAY_MS: i64 = 24 * 3600 * 1000;

/// One company of the fixture: its people (the partner, and the rep, each
/// signed in on a device of their own) and a live company article.
pub(super) struct Member {
    pub company: Company,
    pub manager: User,
    pub rep: User,
    pub partner: User,
    /// The rep's device (offline invitations are made on it).
    pub rep_device: i64,
    /// The partner's device (its shares are signed with its key).
    pub partner_device: i64,
    pub item: ContentItem,
}

/// A fresh database on the backend the suite runs on, with two companies
/// (`a` and `b`) to tell what is scoped by company.
pub(super) struct Fixture {
    conn: Connection,
    secrets: Secrets,
    /// The tracking writer's burst window (used by the backend that keeps
    /// it in the writer's memory).
    window: BurstWindow,
    pub a: Member,
    pub b: Member,
}

impl Fixture {
    pub fn new() -> Fixture {
        let conn = testdb::connection();
        let secrets = Secrets {
            master: vec![9; 32],
            epoch: "conformance".into(),
        };
        testdb::begin(&conn);
        let a = member(&conn, &secrets, "甲公司", ["王经理", "李明", "张三"]);
        let b = member(&conn, &secrets, "乙公司", ["赵经理", "周杰", "吴四"]);
        conn.execute_batch("COMMIT").expect("commit the fixture");
        Fixture {
            conn,
            secrets,
            window: BurstWindow::default(),
            a,
            b,
        }
    }

    /// Runs `f` in one transaction (as the server runs every store call)
    /// and commits it.
    pub fn run<T>(&self, f: impl FnOnce(&Stores<'_>) -> T) -> T {
        testdb::begin(&self.conn);
        let out = f(&Stores::new(&self.conn, &self.secrets));
        self.conn.execute_batch("COMMIT").expect("commit");
        out
    }

    /// Runs `f` read-only, as `Database::snapshot` does (PostgreSQL: a
    /// REPEATABLE READ READ ONLY transaction; SQLite: a connection that
    /// may only read, as the server's readers are opened): what a service
    /// reads in a snapshot must not write.
    pub fn read<T>(&self, f: impl FnOnce(&Stores<'_>) -> T) -> T {
        let (begin, end) = match self.conn.dialect() {
            Dialect::Sqlite => ("PRAGMA query_only = ON", "PRAGMA query_only = OFF"),
            Dialect::Postgres => ("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", "COMMIT"),
        };
        self.conn.execute_batch(begin).expect("begin a snapshot");
        let out = f(&Stores::new(&self.conn, &self.secrets));
        self.conn.execute_batch(end).expect("end the snapshot");
        out
    }

    pub fn master(&self) -> &[u8] {
        &self.secrets.master
    }

    /// A share of `m`'s item signed by its partner's device, resolved and
    /// recorded (as its first page view records it), in `s`'s transaction.
    pub fn share(&self, s: &Stores<'_>, m: &Member, share_no: u64) -> ResolvedShare {
        let share = self.signed_share(s, m, share_no);
        shares::record_share(s.legacy(), &share, NOW).expect("record the share");
        share
    }

    /// A share of `m`'s item signed by its partner's device and resolved,
    /// not yet recorded.
    pub fn signed_share(&self, s: &Stores<'_>, m: &Member, share_no: u64) -> ResolvedShare {
        let device = m.partner_device as u64;
        let token = ShareClaim {
            device_id: device,
            share_no,
            item_id: m.item.id as u64,
            channel: Channel::Moments,
        }
        .sign_unique(&derive_share_key(&self.secrets.master, device), [1, 2, 3]);
        shares::resolve(s.legacy(), &self.secrets, &token)
            .expect("resolve")
            .expect("the token resolves")
    }

    /// Runs `f` on the tracking store in one transaction, as the tracking
    /// writer runs a batch (`Database::track_tx`), and commits it; then
    /// hands the new visits `f` answers to the burst window, as the writer
    /// does once a batch committed (`Database::remember_opens`).
    pub fn track<T>(
        &self,
        f: impl FnOnce(&mut dyn TrackStore, &Stores<'_>) -> (T, Vec<(i64, i64)>),
    ) -> T {
        let (out, opens) = self.run(|s| {
            let mut store = tracking_store(s.legacy(), Some(self.window.clone()));
            f(&mut *store, s)
        });
        self.window
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .add(opens);
        out
    }

    /// [`Fixture::track`] for a batch that fails: rolled back, and its new
    /// visits never reach the window.
    pub fn track_rolled_back(&self, f: impl FnOnce(&mut dyn TrackStore)) {
        testdb::begin(&self.conn);
        f(&mut *tracking_store(&self.conn, Some(self.window.clone())));
        self.conn.execute_batch("ROLLBACK").expect("roll back");
    }

    /// The newest change-log seq (0 when empty).
    pub fn newest_seq(&self, s: &Stores<'_>) -> i64 {
        s.legacy()
            .query_row("SELECT COALESCE(MAX(seq), 0) FROM changes", (), |r| {
                r.get(0)
            })
            .expect("newest seq")
    }

    /// The change-log bodies appended after `seq`, oldest first, as JSON,
    /// with the company each was appended for.
    pub fn changes_after(&self, s: &Stores<'_>, seq: i64) -> Vec<(i64, serde_json::Value)> {
        let rows: Vec<(i64, String)> = s
            .legacy()
            .prepare("SELECT company_id, body FROM changes WHERE seq > ?1 ORDER BY seq")
            .expect("prepare")
            .query_map(params![seq], |r| Ok((r.get(0)?, r.get(1)?)))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows");
        rows.into_iter()
            .map(|(c, b)| (c, serde_json::from_str(&b).expect("a JSON body")))
            .collect()
    }
}

/// The `entity` of each change body (`sms_record`, `invitation`, ...).
pub(super) fn entities(changes: &[(i64, serde_json::Value)]) -> Vec<String> {
    changes
        .iter()
        .map(|(_, b)| b["entity"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// A company with a manager, a rep and the rep's partner named `names`,
/// each of the last two signed in on a device, and a live company article.
fn member(conn: &Connection, secrets: &Secrets, name: &str, names: [&str; 3]) -> Member {
    let company = create_company(conn, name).expect("company");
    let user =
        |role, name, rep_id| create_user(conn, company.id, role, name, None, rep_id).expect("user");
    let manager = user(Role::Manager, names[0], None);
    let rep = user(Role::Rep, names[1], None);
    let partner = user(Role::Partner, names[2], Some(rep.id));
    let item = create_item(
        &Stores::new(conn, secrets),
        company.id,
        None,
        &NewContentItem {
            kind: ContentKind::Article,
            title: format!("{name}的文章"),
            summary: "摘要".into(),
            body: "正文".into(),
            cover_media_id: None,
            video_media_id: None,
        },
    )
    .expect("item");
    Member {
        rep_device: signed_in(conn, secrets, &rep).device_id,
        partner_device: signed_in(conn, secrets, &partner).device_id,
        company,
        manager,
        rep,
        partner,
        item,
    }
}

/// `user`, signed in on a new device.
fn signed_in(conn: &Connection, secrets: &Secrets, user: &User) -> Caller {
    let s = Stores::new(conn, secrets);
    let (_, code) = new_code(&s, user.id, now_ms()).expect("activation code");
    let name = format!("{}的手机", user.name);
    let device = spend_code(&s, &code, &name, now_ms()).expect("activate");
    caller_of_token(&s, &device.token).expect("authenticate")
}

/// The fixture's snapshot refuses writes, so a read that writes fails its
/// case on either backend.
#[test]
fn a_snapshot_refuses_writes() {
    let w = Fixture::new();
    let a = w.a.company.id;
    let refused = w.read(|s| s.media().reserve(a, None, 1, 10, NOW));
    assert!(refused.is_err(), "{refused:?}");
    assert_eq!(w.run(|s| s.media().usage(a).unwrap()), 0);
}
