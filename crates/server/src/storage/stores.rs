//! One transaction's (or one read's) storage, aggregate by aggregate: what
//! the services work through. Each accessor hands out the aggregate's trait
//! (one file each, `*_store.rs`) implemented for the backend the
//! transaction runs on; services never see a connection or a dialect.
//!
//! Aggregates not yet behind a trait are reached through [`Stores::legacy`]
//! until each moves (docs/storage.md lists which are).

use super::account_store::{self, AccountStore};
use super::change_store::{change_log, ChangeLog};
use super::content_store::{self, ContentStore};
use super::invitation_store::{self, InvitationStore};
use super::lead_store::{self, LeadStore};
use super::media_store::{self, MediaStore};
use super::push::{PushSql, ShareSql};
use super::push_store::{PushLog, ShareStore};
use super::release_store::ReleaseStore;
use super::releases::ReleaseSql;
use super::sms_store::{self, SmsQueue};
use super::sql::Connection;
use super::{Database, Secrets};
use crate::error::ServerError;

pub(crate) struct Stores<'c> {
    conn: &'c Connection,
    secrets: &'c Secrets,
}

impl<'c> Stores<'c> {
    /// The stores of a transaction already open on `conn` (the tests'
    /// fixtures; the server opens them with [`Database::transaction`]).
    #[cfg(test)]
    pub(crate) fn new(conn: &'c Connection, secrets: &'c Secrets) -> Self {
        Stores { conn, secrets }
    }

    /// Companies, their people, devices, activation codes and the
    /// activation attempts' windows.
    pub fn accounts(&self) -> Box<dyn AccountStore + 'c> {
        account_store::account_store(self.conn)
    }

    /// The content library: items, their media rows and which media each shows.
    pub fn content(&self) -> Box<dyn ContentStore + 'c> {
        content_store::content_store(self.conn)
    }

    /// The change log clients pull.
    pub fn changes(&self) -> Box<dyn ChangeLog + 'c> {
        change_log(self.conn)
    }

    /// The SMS queue and opt-outs.
    pub fn sms(&self) -> Box<dyn SmsQueue + 'c> {
        sms_store::sms_queue(self.conn)
    }

    /// Invitations and the one-time codes of their pages.
    pub fn invitations(&self) -> Box<dyn InvitationStore + 'c> {
        invitation_store::invitation_store(self.conn)
    }

    /// Leads, their visitors and the company's scoring rules.
    pub fn leads(&self) -> Box<dyn LeadStore + 'c> {
        lead_store::lead_store(self.conn)
    }

    /// Each company's room for media, and the sweep of unused media.
    pub fn media(&self) -> Box<dyn MediaStore + 'c> {
        media_store::media_store(self.conn)
    }

    /// Each device's push log: its last applied seq and its mutations' outcomes.
    pub fn push_log(&self) -> Box<dyn PushLog + 'c> {
        Box::new(PushSql { conn: self.conn })
    }

    /// The shares devices push, and what a share token resolves to.
    pub fn shares(&self) -> Box<dyn ShareStore + 'c> {
        Box::new(ShareSql {
            conn: self.conn,
            secrets: self.secrets,
        })
    }

    /// Runs `f` in a savepoint of this transaction: its writes are kept
    /// when it returns Ok, and rolled back, the transaction usable again,
    /// when it returns Err (a pushed mutation that is refused).
    pub fn savepoint<T>(
        &self,
        f: impl FnOnce(&Stores<'_>) -> Result<T, ServerError>,
    ) -> Result<T, ServerError> {
        let secrets = self.secrets;
        self.conn.savepoint(|conn| f(&Stores { conn, secrets }))
    }

    /// The desktop app's published releases.
    pub fn releases(&self) -> Box<dyn ReleaseStore + 'c> {
        Box::new(ReleaseSql { conn: self.conn })
    }

    /// Server-wide secrets (share keys, token hashing).
    pub fn secrets(&self) -> &'c Secrets {
        self.secrets
    }

    /// The storage functions of aggregates that have no trait yet.
    pub fn legacy(&self) -> &'c Connection {
        self.conn
    }
}

impl Database {
    /// Runs `f` in one transaction (see [`Database::tx`]): every aggregate's
    /// writes and the change-log rows they append commit together.
    pub(crate) async fn transaction<T, F>(&self, f: F) -> Result<T, ServerError>
    where
        T: Send + 'static,
        F: FnOnce(&Stores<'_>) -> Result<T, ServerError> + Send + 'static,
    {
        self.tx(move |conn, secrets| f(&Stores { conn, secrets }))
            .await
    }

    /// Runs `f` on a read-only snapshot (see [`Database::read`]).
    pub(crate) async fn snapshot<T, F>(&self, f: F) -> Result<T, ServerError>
    where
        T: Send + 'static,
        F: FnOnce(&Stores<'_>) -> Result<T, ServerError> + Send + 'static,
    {
        self.read(move |conn, secrets| f(&Stores { conn, secrets }))
            .await
    }
}
