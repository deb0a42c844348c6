//! The PostgreSQL side of [`Database`](super::Database): a small blocking
//! pool of connections (storage functions are synchronous and run on
//! tokio's blocking pool, like the SQLite ones), and the LISTEN task that
//! wakes live event streams when another process committed a change.

use std::sync::{Condvar, Mutex};
use std::time::Duration;

use futures_util::StreamExt;

use super::sql::{Connection, PgSession};
use super::Database;
use crate::error::ServerError;

/// The NOTIFY channel a commit that appended to a company's change log
/// signals (payload: the company id), see `AppendOrder for Postgres`.
pub(crate) const CHANGES_CHANNEL: &str = "warmlead_changes";
/// The channel for share-cache invalidation (an item archived or deleted, a
/// device revoked: payload the company id).
pub(crate) const ITEMS_CHANNEL: &str = "warmlead_items";

/// How long a request waits for a free connection before it is answered 503.
const CHECKOUT_WAIT: Duration = Duration::from_secs(10);

pub(crate) struct Pool {
    config: postgres::Config,
    statement_timeout_ms: u64,
    max: usize,
    state: Mutex<PoolState>,
    freed: Condvar,
}

struct PoolState {
    idle: Vec<Connection>,
    open: usize,
}

impl Pool {
    pub(crate) fn new(
        url: &str,
        max: usize,
        statement_timeout_ms: u64,
    ) -> Result<Pool, ServerError> {
        let config: postgres::Config = url
            .parse()
            .map_err(|e| ServerError::Config(format!("the PostgreSQL URL is not valid: {e}")))?;
        Ok(Pool {
            config,
            statement_timeout_ms,
            max: max.max(1),
            state: Mutex::new(PoolState {
                idle: Vec::new(),
                open: 0,
            }),
            freed: Condvar::new(),
        })
    }

    /// A connection, opening one if fewer than `max` are open, else waiting
    /// for one to come back (blocking: call on the blocking pool).
    pub(crate) fn get(&self) -> Result<Pooled<'_>, ServerError> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if let Some(conn) = state.idle.pop() {
                return Ok(Pooled {
                    pool: self,
                    conn: Some(conn),
                });
            }
            if state.open < self.max {
                state.open += 1;
                drop(state);
                return match self.connect() {
                    Ok(conn) => Ok(Pooled {
                        pool: self,
                        conn: Some(conn),
                    }),
                    Err(e) => {
                        self.forget();
                        Err(e)
                    }
                };
            }
            let (next, timeout) = self
                .freed
                .wait_timeout(state, CHECKOUT_WAIT)
                .unwrap_or_else(|p| p.into_inner());
            state = next;
            if timeout.timed_out() && state.idle.is_empty() && state.open >= self.max {
                return Err(ServerError::Busy(
                    "every database connection is busy; retry shortly".into(),
                ));
            }
        }
    }

    fn connect(&self) -> Result<Connection, ServerError> {
        let mut client = self
            .config
            .connect(postgres::NoTls)
            .map_err(super::sql::Error::from)?;
        client
            .batch_execute(&format!(
                "SET statement_timeout = {}; SET application_name = 'warmlead-server'",
                self.statement_timeout_ms
            ))
            .map_err(super::sql::Error::from)?;
        Ok(Connection::postgres(PgSession::new(client)))
    }

    fn forget(&self) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.open -= 1;
        self.freed.notify_one();
    }
}

impl Drop for Pool {
    /// Closing a connection blocks on its own runtime, which tokio forbids
    /// on a worker thread (where the last `Database` handle may be dropped).
    fn drop(&mut self) {
        let idle =
            std::mem::take(&mut self.state.get_mut().unwrap_or_else(|p| p.into_inner()).idle);
        if !idle.is_empty() {
            std::thread::spawn(move || drop(idle));
        }
    }
}

/// A checked-out connection; back to the pool on drop (closed if broken).
pub(crate) struct Pooled<'a> {
    pool: &'a Pool,
    conn: Option<Connection>,
}

impl std::ops::Deref for Pooled<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        self.conn
            .as_ref()
            .expect("a pooled connection until dropped")
    }
}

impl Drop for Pooled<'_> {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else { return };
        if conn.is_broken() {
            self.pool.forget();
            return;
        }
        let mut state = self.pool.state.lock().unwrap_or_else(|p| p.into_inner());
        state.idle.push(conn);
        self.pool.freed.notify_one();
    }
}

/// Listens for other processes' commits: a change-log append wakes that
/// company's live streams here; an archived or deleted item is dropped
/// from this process's share cache. Reconnects after a lost connection
/// (and then wakes every stream once, since a notification may be lost).
pub(crate) async fn listen(url: &str, db: Database) -> Result<(), ServerError> {
    let url = url.to_string();
    // The first connection is made here, so a bad URL fails the start.
    let first = connect_listener(&url).await?;
    let weak = std::sync::Arc::downgrade(&db.inner);
    drop(db);
    tokio::spawn(async move {
        let mut conn = Some(first);
        loop {
            let Some((client, mut stream)) = conn.take() else {
                tokio::time::sleep(Duration::from_secs(1)).await;
                conn = connect_listener(&url).await.ok();
                if let Some(inner) = weak.upgrade() {
                    Database { inner }.wake_all();
                }
                continue;
            };
            while let Some(n) = stream.recv().await {
                let Some(inner) = weak.upgrade() else { return };
                Database { inner }.on_notification(n.channel(), n.payload());
            }
            drop(client);
            if weak.strong_count() == 0 {
                return;
            }
        }
    });
    Ok(())
}

type Notifications = tokio::sync::mpsc::UnboundedReceiver<tokio_postgres::Notification>;

async fn connect_listener(
    url: &str,
) -> Result<(tokio_postgres::Client, Notifications), ServerError> {
    let (client, mut connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .map_err(warmlead_server_postgres::Error::from)?;
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    // The connection yields the notifications; it must be polled to run at all.
    tokio::spawn(async move {
        let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(Ok(m)) = messages.next().await {
            if let tokio_postgres::AsyncMessage::Notification(n) = m {
                if tx.send(n).is_err() {
                    return;
                }
            }
        }
    });
    client
        .batch_execute(&format!("LISTEN {CHANGES_CHANNEL}; LISTEN {ITEMS_CHANNEL}"))
        .await
        .map_err(warmlead_server_postgres::Error::from)?;
    Ok((client, rx))
}

impl Database {
    fn on_notification(&self, channel: &str, payload: &str) {
        let Ok(id) = payload.parse::<i64>() else {
            return;
        };
        match channel {
            CHANGES_CHANNEL => self.wake_company(id),
            ITEMS_CHANNEL => self.share_cache().clear(),
            _ => {}
        }
    }

    fn wake_all(&self) {
        let companies: std::collections::BTreeSet<i64> = self
            .inner
            .company_commits
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .keys()
            .copied()
            .collect();
        self.inner.wake(&companies);
    }
}

/// The PostgreSQL backend, where an aggregate's implementation has a part
/// of its own (`sms_store::RecipientLock`, ...).
pub(crate) struct Postgres;

/// Advisory-lock key space of the per-company lead cooling job.
const REGRADE_LOCK: i32 = 0x5247; // "RG"

impl super::lead_store::LeadLocks for Postgres {
    fn lock_lead(conn: &Connection, id: i64) -> Result<(), ServerError> {
        conn.execute("SELECT id FROM leads WHERE id = ?1 FOR UPDATE", [id])?;
        Ok(())
    }

    /// Every process runs the hourly job: one regrades a company at a time.
    fn lock_regrade(conn: &Connection, company_id: i64) -> Result<(), ServerError> {
        conn.execute(
            "SELECT pg_advisory_xact_lock(?1, ?2)",
            super::sql::params![REGRADE_LOCK, company_id],
        )?;
        Ok(())
    }
}

impl super::media_store::SweepClaim for Postgres {
    /// Sweeps in several processes take disjoint rows.
    const CLAIM: &'static str = "FOR UPDATE SKIP LOCKED";
}

impl super::invitation_store::AcceptLock for Postgres {
    /// Two accepts of one multi-use invitation in two processes: the second
    /// waits for the first's commit before reading the uses.
    fn lock_for_accept(conn: &Connection, id: i64) -> Result<(), ServerError> {
        conn.execute("SELECT id FROM invitations WHERE id = ?1 FOR UPDATE", [id])?;
        Ok(())
    }
}

impl super::content_store::ItemLock for Postgres {
    /// Holds the item's row until the transaction ends: a publish and an
    /// archive of one item at once (in two processes) run one after the
    /// other, the second reading what the first committed; else the
    /// archive, having read a draft, would tell no partner the published
    /// item is gone.
    fn lock_item(
        conn: &Connection,
        company_id: i64,
        which: super::content_store::ItemRef<'_>,
    ) -> Result<(), ServerError> {
        let (filter, value) = super::content::item_filter(which);
        conn.execute(
            &format!(
                "SELECT id FROM content_items
                 WHERE {filter} = ?1 AND company_id = ?2 AND deleted_at IS NULL FOR UPDATE"
            ),
            super::sql::params![value, company_id],
        )?;
        Ok(())
    }
}

/// Advisory-lock key space of the per-recipient SMS decision lock.
const RECIPIENT_LOCK: i32 = 0x534d; // "SM"

impl super::account_store::SharesNotice for Postgres {
    /// Every process drops its cached shares when the transaction commits.
    fn shares_changed(conn: &Connection, company_id: i64) -> Result<(), ServerError> {
        conn.execute(
            "SELECT pg_notify(?1, ?2)",
            super::sql::params![ITEMS_CHANNEL, company_id.to_string()],
        )?;
        Ok(())
    }
}

/// Advisory-lock key space of the burst windows, taken by the tracking
/// batch (`track_pg.rs`); the second key is the network key's low bits, so
/// two networks sharing it only wait for each other.
pub(crate) const BURST_LOCK: i32 = 0x5742; // "WB"

/// Advisory-lock key space of the change-log order locks (also taken by
/// the tracking batch's own append, `track_pg.rs`).
pub(crate) const CHANGES_LOCK: i32 = 0x574c; // "WL"

impl super::change_store::AppendOrder for Postgres {
    /// A reader must never see seq N+1 of a company before seq N. Seqs
    /// come from a sequence, and concurrent transactions may commit out of
    /// the order they took them; so a transaction first takes its
    /// company's change-log lock (held until it commits or rolls back) and
    /// only then its seq, which makes a company's appends commit in seq
    /// order. The commit also notifies every process's live streams.
    fn before_append(conn: &Connection, company_id: i64) -> Result<(), ServerError> {
        conn.execute(
            "SELECT pg_advisory_xact_lock(?1, ?2), pg_notify(?3, ?4)",
            super::sql::params![
                CHANGES_LOCK,
                company_id,
                CHANGES_CHANNEL,
                company_id.to_string()
            ],
        )?;
        Ok(())
    }
}

impl super::sms_store::RecipientLock for Postgres {
    /// Two requests for one number (a double click, two processes) would
    /// both read an empty history: the number's lock is held until the
    /// deciding transaction ends.
    fn lock_recipient(conn: &Connection, phone: &str) -> Result<(), ServerError> {
        conn.execute(
            "SELECT pg_advisory_xact_lock(?1, hashtext(?2))",
            super::sql::params![RECIPIENT_LOCK, phone],
        )?;
        Ok(())
    }
}
