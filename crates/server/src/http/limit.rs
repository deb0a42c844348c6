//! Fixed-window rate limits (per key: an IP hash, a share, a phone),
//! counted in the database (`storage::limits`), so several server
//! processes on one PostgreSQL enforce one limit, not one each.

use std::time::Duration;

use crate::storage::{now_ms, Database};

pub(crate) struct RateLimiter {
    /// Prefix of the counter's key: one counter per limit and subject.
    name: &'static str,
    max: u32,
    window: Duration,
}

impl RateLimiter {
    pub fn new(name: &'static str, max: u32, window: Duration) -> RateLimiter {
        RateLimiter { name, max, window }
    }

    /// Counts one attempt under `key`; false when over the limit. A
    /// database failure lets the attempt through (it then meets the same
    /// failure doing its work, which answers with the real error).
    pub async fn allow(&self, db: &Database, key: &str) -> bool {
        let window_ms = i64::try_from(self.window.as_millis()).unwrap_or(i64::MAX);
        match db
            .rate_hit(format!("{}:{key}", self.name), now_ms(), window_ms)
            .await
        {
            Ok(hits) => hits <= i64::from(self.max),
            Err(e) => {
                tracing::error!(error = %e, limit = self.name, "rate limit not counted");
                true
            }
        }
    }
}
