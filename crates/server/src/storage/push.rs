//! [`PushLog`] and [`ShareStore`] in SQL both databases run (see
//! `push_store.rs`).

use warmlead_core::domain::Share;
use warmlead_core::sync::Outcome;

use super::push_store::{PushLog, ShareStore};
use super::shares::{get_share, resolve, upsert_share, ResolvedShare};
use super::sql::{params, Connection, OptionalExtension};
use super::Secrets;
use crate::error::ServerError;

pub(crate) struct PushSql<'c> {
    pub(crate) conn: &'c Connection,
}

impl PushLog for PushSql<'_> {
    fn lock_client(&self, client_id: &str) -> Result<i64, ServerError> {
        // The no-op update takes the row's lock when it exists.
        Ok(self.conn.query_row(
            "INSERT INTO client_state (client_id, last_seq) VALUES (?1, 0)
             ON CONFLICT (client_id) DO UPDATE SET last_seq = client_state.last_seq
             RETURNING last_seq",
            [client_id],
            |r| r.get(0),
        )?)
    }

    fn last_seq(&self, client_id: &str) -> Result<i64, ServerError> {
        Ok(self
            .conn
            .query_row(
                "SELECT last_seq FROM client_state WHERE client_id = ?1",
                [client_id],
                |r| r.get(0),
            )
            .optional()?
            .unwrap_or(0))
    }

    fn stored_outcome(
        &self,
        client_id: &str,
        mutation_id: &str,
    ) -> Result<Option<Outcome>, ServerError> {
        let json: Option<String> = self
            .conn
            .query_row(
                "SELECT outcome FROM mutation_results WHERE client_id = ?1 AND mutation_id = ?2",
                params![client_id, mutation_id],
                |r| r.get(0),
            )
            .optional()?;
        Ok(json.map(|j| serde_json::from_str(&j)).transpose()?)
    }

    fn set_last_seq(&self, client_id: &str, last_seq: i64) -> Result<(), ServerError> {
        self.conn.execute(
            "INSERT INTO client_state (client_id, last_seq) VALUES (?1, ?2)
             ON CONFLICT (client_id) DO UPDATE SET last_seq = excluded.last_seq",
            params![client_id, last_seq],
        )?;
        Ok(())
    }

    fn store_outcome(
        &self,
        client_id: &str,
        mutation_id: &str,
        seq: i64,
        outcome: &Outcome,
    ) -> Result<(), ServerError> {
        self.conn.execute(
            "INSERT INTO mutation_results (mutation_id, client_id, seq, outcome)
             VALUES (?1, ?2, ?3, ?4)",
            params![mutation_id, client_id, seq, serde_json::to_string(outcome)?],
        )?;
        Ok(())
    }
}

pub(crate) struct ShareSql<'c> {
    pub(crate) conn: &'c Connection,
    pub(crate) secrets: &'c Secrets,
}

impl ShareStore for ShareSql<'_> {
    fn resolve(&self, token: &str) -> Result<Option<ResolvedShare>, ServerError> {
        resolve(self.conn, self.secrets, token)
    }

    fn share(&self, token: &str) -> Result<Option<Share>, ServerError> {
        get_share(self.conn, token)
    }

    fn record_pushed(&self, share: &ResolvedShare, created_at: i64) -> Result<Share, ServerError> {
        upsert_share(self.conn, share, created_at)
    }
}
