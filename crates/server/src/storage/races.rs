//! Every single-use or limit check holds when two transactions meet at its
//! dangerous point (issue 21). Each test holds one transaction open at that
//! point while a second, on another connection, runs into it; then lets the
//! first commit and the second finish. On PostgreSQL (READ COMMITTED) the
//! second is parked on a lock the first holds ([`testdb::wait_for_lock_waiter`]);
//! on SQLite its IMMEDIATE begin waits for the first's commit, which shows
//! the rule holds behind the one writer too. No sleeps, no random stress.

use warmlead_core::api::{ContentDraft, NewContentItem};
use warmlead_core::domain::{
    Channel, Company, ContentAudience, ContentItem, ContentKind, ContentStatus, Role, User,
};
use warmlead_core::invite::{Invitation, InvitationStatus, InviteChannel, NewInvitation};
use warmlead_core::phone::Phone;
use warmlead_core::sync::{Change, ChangeBody, EntityKind, Mutation, MutationBody, Outcome};
use warmlead_core::token::{derive_share_key, ShareClaim};
use warmlead_core::ErrorCode;

use super::accounts;
use super::invitation_store::{invitation_store, OtpCheck, OTP_MAX_ATTEMPTS};
use super::sql::Connection;
use super::Caller;
use super::{now_ms, shares, testdb, Secrets, Stores};
use crate::error::ServerError;
use crate::services::push::{self as push_service, PushStep};
use crate::services::{self, content, invitations};

/// A company with a manager, a rep, a partner of the rep with a device
/// (signed in) and a live company article, committed.
struct World {
    secrets: Secrets,
    company: Company,
    manager: User,
    rep: User,
    partner: Caller,
    item: ContentItem,
}

impl World {
    fn new(conn: &Connection) -> World {
        testdb::begin(conn);
        let company = accounts::create_company(conn, "测试公司").unwrap();
        let user = |role, name, rep_id| {
            accounts::create_user(conn, company.id, role, name, None, rep_id).unwrap()
        };
        let manager = user(Role::Manager, "王经理", None);
        let rep = user(Role::Rep, "李明", None);
        let partner = user(Role::Partner, "张三", Some(rep.id));
        let secrets = secrets();
        let s = Stores::new(conn, &secrets);
        let (_, code) = services::accounts::new_code(&s, partner.id, now_ms()).unwrap();
        let device = services::accounts::spend_code(&s, &code, "张三的手机", now_ms()).unwrap();
        let partner = services::accounts::caller_of_token(&s, &device.token).unwrap();
        let item = content::create_item(
            &Stores::new(conn, &secrets),
            company.id,
            None,
            &NewContentItem {
                kind: ContentKind::Article,
                title: "第一篇文章".into(),
                summary: "摘要".into(),
                body: "正文".into(),
                cover_media_id: None,
                video_media_id: None,
            },
        )
        .unwrap();
        conn.execute_batch("COMMIT").unwrap();
        World {
            secrets,
            company,
            manager,
            rep,
            partner,
            item,
        }
    }

    /// A single-use QR invitation of the rep, in `conn`'s open transaction.
    fn qr_invitation(&self, conn: &Connection, now: i64) -> Invitation {
        let new = NewInvitation {
            channel: InviteChannel::Qr,
            multi_use: false,
            expires_in_hours: None,
        };
        invitations::create(
            &Stores::new(conn, &self.secrets),
            &self.rep,
            &new,
            None,
            "",
            now,
        )
        .unwrap()
    }

    /// A caller acting as `user` (publishing and archiving need no device).
    fn caller(&self, user: &User) -> Caller {
        Caller {
            device_id: 0,
            user: user.clone(),
            company: self.company.clone(),
            last_seen_ms: None,
        }
    }

    /// A share of `item` signed by the partner's device, as its app makes offline.
    fn share_token(&self, share_no: u64, item_id: i64) -> String {
        let device = self.partner.device_id as u64;
        ShareClaim {
            device_id: device,
            share_no,
            item_id: item_id as u64,
            channel: Channel::Moments,
        }
        .sign_unique(&derive_share_key(&self.secrets.master, device), [1, 2, 3])
    }
}

/// The server's secrets in these tests (a share token signed with them
/// verifies on any connection).
fn secrets() -> Secrets {
    Secrets {
        master: vec![7; 32],
        epoch: "race".into(),
    }
}

fn mutation(id: &str, seq: i64, body: MutationBody) -> Mutation {
    Mutation {
        mutation_id: id.into(),
        seq,
        schema_version: warmlead_core::sync::SCHEMA_VERSION,
        body,
    }
}

fn create_share(token: &str, item_id: i64) -> MutationBody {
    MutationBody::CreateShare {
        share_no: 1,
        item_id,
        channel: Channel::Moments,
        token: token.into(),
        created_at_ms: 1_700_000_000_000,
    }
}

/// Runs `f` in a transaction of its own on another thread (committed when
/// it returns Ok), for the test to hold its own transaction meanwhile.
fn racer<T: Send + 'static>(
    conn: Connection,
    f: impl FnOnce(&Connection) -> Result<T, ServerError> + Send + 'static,
) -> std::thread::JoinHandle<Result<T, ServerError>> {
    std::thread::spawn(move || {
        testdb::begin(&conn);
        let out = f(&conn);
        let end = if out.is_ok() { "COMMIT" } else { "ROLLBACK" };
        conn.execute_batch(end).unwrap();
        out
    })
}

/// Race 1: a friend opens a share link while the partner's app pushes the
/// share. The page's tracking batch records the share first (an
/// `INSERT ... ON CONFLICT (token) DO NOTHING` of the token, as both
/// backends' batches do) and holds its transaction; the push then meets the
/// row it has not committed. The push
/// must apply (it is the same share), not store an internal rejection that
/// makes the app drop a valid share for good.
#[test]
fn a_share_the_page_records_while_it_is_pushed_is_applied() {
    let (mut conns, _dir) = testdb::racing_connections(3);
    let (page, push, watcher) = (conns.remove(0), conns.remove(0), conns.remove(0));
    let w = World::new(&page);
    let token = w.share_token(1, w.item.id);

    testdb::begin(&page);
    let resolved = shares::resolve(&page, &w.secrets, &token)
        .unwrap()
        .expect("the token resolves");
    let logged = shares::record_share(&page, &resolved, now_ms()).unwrap();
    assert!(logged.is_some(), "the page recorded the share first");

    let caller = w.partner.clone();
    let m = mutation("share-1", 1, create_share(&token, w.item.id));
    let pushed = racer(push, move |tx| {
        push_service::apply_one(
            &Stores::new(tx, &secrets()),
            &caller,
            &m,
            "https://warmlead.test",
        )
    });
    testdb::wait_for_lock_waiter(&watcher);
    page.execute_batch("COMMIT").unwrap();

    let step = pushed.join().unwrap().expect("the push answers");
    assert_eq!(step, PushStep::Done(Outcome::Applied));
    let stored = shares::get_share(&watcher, &token).unwrap().unwrap();
    assert_eq!(
        stored.created_at_ms, 1_700_000_000_000,
        "the app's own time"
    );
    assert_eq!(stored.item_id, w.item.id);
}

/// Race 1's other side: a row under the pushed token that is not the
/// pushed share (here, another item) is a clear rejection, never applied
/// over.
#[test]
fn a_different_share_under_the_pushed_token_is_rejected() {
    let (mut conns, _dir) = testdb::racing_connections(1);
    let conn = conns.remove(0);
    let w = World::new(&conn);
    let other = content::create_item(
        &Stores::new(&conn, &w.secrets),
        w.company.id,
        None,
        &NewContentItem {
            kind: ContentKind::Article,
            title: "另一篇".into(),
            summary: "s".into(),
            body: "b".into(),
            cover_media_id: None,
            video_media_id: None,
        },
    )
    .unwrap();
    let token = w.share_token(1, w.item.id);
    conn.execute(
        "INSERT INTO shares (token, device_id, share_no, item_id, partner_id, rep_id, channel,
                             created_at, recorded_at)
         VALUES (?1, ?2, 1, ?3, ?4, ?5, 'moments', 1, 1)",
        super::sql::params![
            token,
            w.partner.device_id,
            other.id,
            w.partner.user.id,
            w.rep.id
        ],
    )
    .unwrap();
    testdb::begin(&conn);
    let m = mutation("share-1", 1, create_share(&token, w.item.id));
    let step =
        push_service::apply_one(&Stores::new(&conn, &w.secrets), &w.partner, &m, "").unwrap();
    conn.execute_batch("COMMIT").unwrap();
    let PushStep::Done(Outcome::Rejected { code, message }) = step else {
        panic!("not rejected: {step:?}")
    };
    assert_eq!(code, ErrorCode::Conflict, "{message}");
    assert!(message.contains("another share"), "{message}");
    let stored = shares::get_share(&conn, &token).unwrap().unwrap();
    assert_eq!((stored.item_id, stored.created_at_ms), (other.id, 1));
}

/// The partners' view of item `id` after pulling everything: its last
/// change, if any (None: a tombstone, or never shown).
fn partner_view(conn: &Connection, partner: &Caller, id: i64) -> Option<ContentItem> {
    let page = super::change_store::change_log(conn)
        .page(partner, super::changes::SYNC, 0, i64::MAX, 10_000)
        .unwrap();
    let changes: Vec<Change> = serde_json::from_str(&page.changes_json).unwrap();
    let mut seen = None;
    for c in changes {
        match c.body {
            ChangeBody::ContentItem(item) if item.id == id => seen = Some(item),
            ChangeBody::Tombstone {
                kind: EntityKind::ContentItem,
                id: gone,
            } if gone == id.to_string() => seen = None,
            _ => {}
        }
    }
    seen
}

/// Race 2: the rep publishes their draft while a manager archives it. The
/// publish holds its transaction after its write; the archive, which read
/// the item as a draft, then waits for it. Once both commit the item is
/// archived, and the partners' view must say so (a tombstone), not keep
/// the published item for good.
#[test]
fn a_publish_and_an_archive_at_once_leave_partners_what_is_stored() {
    let (mut conns, _dir) = testdb::racing_connections(3);
    let (publish, archive, watcher) = (conns.remove(0), conns.remove(0), conns.remove(0));
    let w = World::new(&publish);
    let (rep, manager) = (w.caller(&w.rep), w.caller(&w.manager));
    testdb::begin(&publish);
    let draft = ContentDraft {
        kind: ContentKind::Article,
        title: "我的案例".into(),
        summary: "s".into(),
        body: "<p>正文</p>".into(),
        case_study: None,
        cover: None,
        video: None,
        audience: ContentAudience::Company,
    };
    let item = content::save_item(
        &Stores::new(&publish, &w.secrets),
        &rep,
        "rep-draft-1",
        &draft,
    )
    .unwrap();
    publish.execute_batch("COMMIT").unwrap();
    assert_eq!(item.status, ContentStatus::Draft);

    testdb::begin(&publish);
    content::set_item_status(
        &Stores::new(&publish, &w.secrets),
        &rep,
        "rep-draft-1",
        ContentStatus::Live,
    )
    .unwrap();
    let archived = racer(archive, move |tx| {
        let secrets = secrets();
        let s = Stores::new(tx, &secrets);
        content::set_item_status(&s, &manager, "rep-draft-1", ContentStatus::Archived)
    });
    testdb::wait_for_lock_waiter(&watcher);
    publish.execute_batch("COMMIT").unwrap();
    let archived = archived.join().unwrap().expect("the archive applies");
    assert_eq!(archived.status, ContentStatus::Archived);

    let status: String = watcher
        .query_row(
            "SELECT status FROM content_items WHERE id = ?1",
            [item.id],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(status, "archived");
    let seen = partner_view(&watcher, &w.partner, item.id);
    assert!(
        seen.is_none(),
        "archived in the database, but the partner still sees {:?}",
        seen.map(|i| i.status)
    );
}

/// Race 3: the same push in flight twice (the app retried while the first
/// request was still running). The first holds its transaction after
/// applying; the second must answer the first's stored outcome once it
/// commits, never a 500, and apply nothing again.
#[test]
fn the_same_push_in_flight_twice_answers_the_stored_outcome() {
    let (mut conns, _dir) = testdb::racing_connections(3);
    let (first, second, watcher) = (conns.remove(0), conns.remove(0), conns.remove(0));
    let w = World::new(&first);
    let rename = mutation(
        "rename-1",
        1,
        MutationBody::RenameSelf {
            name: "张三丰".into(),
        },
    );
    let changes_before = count_changes(&watcher);
    testdb::begin(&first);
    let step =
        push_service::apply_one(&Stores::new(&first, &w.secrets), &w.partner, &rename, "").unwrap();
    assert_eq!(step, PushStep::Done(Outcome::Applied));
    let (caller, m) = (w.partner.clone(), rename.clone());
    let again = racer(second, move |tx| {
        push_service::apply_one(&Stores::new(tx, &secrets()), &caller, &m, "")
    });
    testdb::wait_for_lock_waiter(&watcher);
    first.execute_batch("COMMIT").unwrap();
    let again = again.join().unwrap();
    assert!(
        matches!(again, Ok(PushStep::Replayed(Outcome::Applied))),
        "{again:?}"
    );
    assert_eq!(
        count_changes(&watcher) - changes_before,
        1,
        "the rename was applied (and announced) once"
    );
}

fn count_changes(conn: &Connection) -> i64 {
    conn.query_row("SELECT COUNT(*) FROM changes", (), |r| r.get(0))
        .unwrap()
}

/// Race 5: one-time-code guesses at once. Four wrong guesses are in; the
/// fifth (wrong) holds its transaction after counting; a sixth, with the
/// right code, comes in meanwhile. The limit is five: the sixth must be
/// told to ask for a new code, not pass.
#[test]
fn parallel_code_guesses_stop_at_the_attempt_limit() {
    let (mut conns, _dir) = testdb::racing_connections(3);
    let (first, second, watcher) = (conns.remove(0), conns.remove(0), conns.remove(0));
    let w = World::new(&first);
    let phone = Phone::parse("13600136000").unwrap();
    let now = now_ms();
    testdb::begin(&first);
    let inv = w.qr_invitation(&first, now);
    let code = invitation_store(&first)
        .new_otp(&w.secrets.master, inv.id, &phone, now)
        .unwrap();
    first.execute_batch("COMMIT").unwrap();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let guess = |conn: &Connection, code: &str| {
        invitation_store(conn)
            .check_otp(&w.secrets.master, inv.id, &phone, code, now)
            .unwrap()
    };
    for _ in 1..OTP_MAX_ATTEMPTS {
        testdb::begin(&first);
        assert_eq!(guess(&first, wrong), OtpCheck::Wrong);
        first.execute_batch("COMMIT").unwrap();
    }

    testdb::begin(&first);
    assert_eq!(guess(&first, wrong), OtpCheck::Locked);
    let (master, right, id) = (w.secrets.master.clone(), code.clone(), inv.id);
    let sixth = racer(second, move |tx| {
        invitation_store(tx).check_otp(&master, id, &phone, &right, now)
    });
    testdb::wait_for_lock_waiter(&watcher);
    first.execute_batch("COMMIT").unwrap();
    let sixth = sixth.join().unwrap().unwrap();
    assert_eq!(
        sixth,
        OtpCheck::Locked,
        "a sixth guess passed a limit of {}",
        OTP_MAX_ATTEMPTS
    );
}

/// A rep revokes a single-use invitation while a friend accepts it (two
/// processes): the accept holds its transaction after using it up; the
/// revoke, which read it as pending, waits. The friend joined: the
/// invitation stays accepted, with its use, and the rep is told so.
#[test]
fn a_revoke_while_an_accept_commits_leaves_the_invitation_accepted() {
    let (mut conns, _dir) = testdb::racing_connections(3);
    let (first, second, watcher) = (conns.remove(0), conns.remove(0), conns.remove(0));
    let w = World::new(&first);
    let now = now_ms();
    testdb::begin(&first);
    let inv = w.qr_invitation(&first, now);
    first.execute_batch("COMMIT").unwrap();

    testdb::begin(&first);
    let phone = Phone::parse("13700137000").unwrap();
    let joined = invitations::accept(
        &Stores::new(&first, &w.secrets),
        inv.id,
        "赵六",
        &phone,
        now,
    )
    .unwrap();
    assert!(matches!(joined, invitations::Accepted::Joined { .. }));
    let (rep, id) = (w.rep.clone(), inv.id);
    let revoked = racer(second, move |tx| {
        invitations::revoke(&Stores::new(tx, &secrets()), &rep, id, now)
    });
    testdb::wait_for_lock_waiter(&watcher);
    first.execute_batch("COMMIT").unwrap();
    let answered = revoked.join().unwrap().unwrap();
    assert_eq!(
        (answered.status, answered.uses),
        (InvitationStatus::Accepted, 1)
    );
    let stored = invitation_store(&watcher).get(inv.id).unwrap().unwrap();
    assert_eq!(
        (stored.status, stored.uses),
        (InvitationStatus::Accepted, 1)
    );
}

/// Two saves of a new item key at once (the rep's editor and a manager,
/// or two devices): the first holds its transaction after inserting the
/// draft; the second, which found no item under the key, then meets its
/// row. It must become an edit of that item, not fail on the key.
#[test]
fn two_saves_of_a_new_key_at_once_make_one_item() {
    let (mut conns, _dir) = testdb::racing_connections(3);
    let (first, second, watcher) = (conns.remove(0), conns.remove(0), conns.remove(0));
    let w = World::new(&first);
    let draft = |title: &str| ContentDraft {
        kind: ContentKind::Article,
        title: title.into(),
        summary: "s".into(),
        body: "<p>正文</p>".into(),
        case_study: None,
        cover: None,
        video: None,
        audience: ContentAudience::Company,
    };
    testdb::begin(&first);
    let made = content::save_item(
        &Stores::new(&first, &w.secrets),
        &w.caller(&w.rep),
        "new-key-1",
        &draft("初稿"),
    )
    .unwrap();
    let (manager, edit) = (w.caller(&w.manager), draft("经理改过"));
    let edited = racer(second, move |tx| {
        let secrets = secrets();
        content::save_item(&Stores::new(tx, &secrets), &manager, "new-key-1", &edit)
    });
    testdb::wait_for_lock_waiter(&watcher);
    first.execute_batch("COMMIT").unwrap();
    let edited = edited.join().unwrap().expect("the second save is an edit");
    assert_eq!((edited.id, edited.title.as_str()), (made.id, "经理改过"));
    let n: i64 = watcher
        .query_row(
            "SELECT COUNT(*) FROM content_items WHERE item_key = 'new-key-1'",
            (),
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(n, 1);
}

/// A rep imports a file of partners while one of its numbers joins the
/// company another way (here a second import, held after its insert). The
/// import read the company's phones before that number was committed; the
/// unique phone index refuses it, and the rep is told which row, not a 500.
#[test]
fn an_import_racing_a_join_of_one_of_its_numbers_is_a_conflict() {
    use warmlead_core::csv_import::ImportRow;
    let (mut conns, _dir) = testdb::racing_connections(3);
    let (first, second, watcher) = (conns.remove(0), conns.remove(0), conns.remove(0));
    let w = World::new(&first);
    let row = |row, name: &str, phone: &str| ImportRow {
        row,
        name: name.into(),
        phone: phone.into(),
        note: None,
    };
    testdb::begin(&first);
    let one = [row(2, "钱七", "+8613500135000")];
    let done = invitations::import(
        &Stores::new(&first, &w.secrets),
        &w.rep,
        &one,
        false,
        now_ms(),
    )
    .unwrap();
    assert_eq!(done.imported, 1);
    let (rep, file) = (
        w.rep.clone(),
        vec![
            row(2, "孙八", "+8613400134000"),
            row(3, "钱七", "+8613500135000"),
        ],
    );
    let racing = racer(second, move |tx| {
        invitations::import(&Stores::new(tx, &secrets()), &rep, &file, false, now_ms())
    });
    testdb::wait_for_lock_waiter(&watcher);
    first.execute_batch("COMMIT").unwrap();
    match racing.join().unwrap() {
        // SQLite: the second import began after the first committed, and
        // its check found the number.
        Ok(result) => {
            assert_eq!(result.imported, 0);
            assert_eq!(result.errors.len(), 1, "{:?}", result.errors);
            assert_eq!(result.errors[0].row, 3);
        }
        Err(e) => {
            assert!(
                matches!(&e, ServerError::Conflict(m) if m.contains("row 3")),
                "{e:?}"
            );
        }
    }
    let partners: i64 = watcher
        .query_row(
            "SELECT COUNT(*) FROM users WHERE role = 'partner' AND company_id = ?1",
            [w.company.id],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        partners, 2,
        "张三 and the first import's 钱七; nothing of the second"
    );
}

/// A friend asks for a one-time code twice at once (a double tap, two
/// processes): the first holds its transaction after storing its code; the
/// second, which retired the open codes it could see, stores another. One
/// code stays open, the newer, so an older one cannot come back with tries
/// of its own once the newer is spent.
#[test]
fn two_codes_asked_for_at_once_leave_one_open() {
    let (mut conns, _dir) = testdb::racing_connections(3);
    let (first, second, watcher) = (conns.remove(0), conns.remove(0), conns.remove(0));
    let w = World::new(&first);
    let phone = Phone::parse("13600136000").unwrap();
    let now = now_ms();
    testdb::begin(&first);
    let inv = w.qr_invitation(&first, now);
    first.execute_batch("COMMIT").unwrap();

    testdb::begin(&first);
    invitation_store(&first)
        .new_otp(&w.secrets.master, inv.id, &phone, now)
        .unwrap();
    let (master, id, to) = (w.secrets.master.clone(), inv.id, phone.clone());
    let again = racer(second, move |tx| {
        invitation_store(tx).new_otp(&master, id, &to, now)
    });
    testdb::wait_for_lock_waiter_or(&watcher, || again.is_finished());
    first.execute_batch("COMMIT").unwrap();
    let newer = again.join().unwrap().expect("the second code is stored");
    let open: i64 = watcher
        .query_row(
            "SELECT COUNT(*) FROM invitation_otps
             WHERE invitation_id = ?1 AND phone = ?2 AND used_at IS NULL",
            super::sql::params![inv.id, phone.as_e164()],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(open, 1, "two codes open for one phone");
    testdb::begin(&watcher);
    let check = invitation_store(&watcher)
        .check_otp(&w.secrets.master, inv.id, &phone, &newer, now)
        .unwrap();
    watcher.execute_batch("COMMIT").unwrap();
    assert_eq!(check, OtpCheck::Ok, "the newer code is the open one");
}
