//! Rate-limit counters (table `rate_limits`): one row per limit and
//! subject, counted with one upsert so concurrent hits, in one process or
//! several on one PostgreSQL, never lose a count.

use super::sql::{params, Connection};
use super::Database;
use crate::error::ServerError;

/// Counts one hit of `key` at `now` in a fixed window of `window_ms`
/// (a window older than that starts again at 1); the hits in the window.
pub(crate) fn hit(
    conn: &Connection,
    key: &str,
    now: i64,
    window_ms: i64,
) -> Result<i64, ServerError> {
    Ok(hit_window(conn, key, now, window_ms)?.1)
}

/// [`hit`], with the start of the window the hit was counted in: (start, hits).
pub(crate) fn hit_window(
    conn: &Connection,
    key: &str,
    now: i64,
    window_ms: i64,
) -> Result<(i64, i64), ServerError> {
    Ok(conn.query_row(
        "INSERT INTO rate_limits (key, window_start, hits) VALUES (?1, ?2, 1)
         ON CONFLICT (key) DO UPDATE SET
             hits = CASE WHEN rate_limits.window_start <= ?3 THEN 1
                         ELSE rate_limits.hits + 1 END,
             window_start = CASE WHEN rate_limits.window_start <= ?3 THEN ?2
                                 ELSE rate_limits.window_start END
         RETURNING window_start, hits",
        params![key, now, now - window_ms],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?)
}

/// Takes back one hit of `key` counted in the window that began at
/// `window_start` (an attempt that turned out fine); nothing if that window
/// has ended since.
pub(crate) fn unhit(conn: &Connection, key: &str, window_start: i64) -> Result<(), ServerError> {
    conn.execute(
        "UPDATE rate_limits SET hits = hits - 1
         WHERE key = ?1 AND window_start = ?2 AND hits > 0",
        params![key, window_start],
    )?;
    Ok(())
}

/// The window of `key` as stored: (start, hits), if any.
pub(crate) fn window(conn: &Connection, key: &str) -> Result<Option<(i64, i64)>, ServerError> {
    use super::sql::OptionalExtension;
    Ok(conn
        .query_row(
            "SELECT window_start, hits FROM rate_limits WHERE key = ?1",
            [key],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?)
}

/// Forgets windows that ended before `before` (the hourly purge).
pub(crate) fn forget_before(conn: &Connection, before: i64) -> Result<usize, ServerError> {
    Ok(conn.execute("DELETE FROM rate_limits WHERE window_start < ?1", [before])?)
}

impl Database {
    /// Counts a hit; the hits of `key` in its current window.
    pub(crate) async fn rate_hit(
        &self,
        key: String,
        now: i64,
        window_ms: i64,
    ) -> Result<i64, ServerError> {
        self.tx(move |tx, _| hit(tx, &key, now, window_ms)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> Connection {
        super::super::testdb::connection()
    }

    #[test]
    fn counts_per_key_and_restarts_after_the_window() {
        let c = db();
        // (key, now, expected hits) with a 100 ms window
        let steps = [
            ("a", 1_000, 1),
            ("a", 1_050, 2),
            ("b", 1_060, 1),
            ("a", 1_099, 3),
            ("a", 1_100, 1), // the window from 1_000 ended
            ("a", 1_150, 2),
            ("b", 1_161, 1),
        ];
        for (key, now, want) in steps {
            assert_eq!(hit(&c, key, now, 100).unwrap(), want, "{key} at {now}");
        }
        assert_eq!(window(&c, "a").unwrap(), Some((1_100, 2)));
        unhit(&c, "a", 1_000).unwrap();
        assert_eq!(
            window(&c, "a").unwrap(),
            Some((1_100, 2)),
            "an ended window"
        );
        unhit(&c, "a", 1_100).unwrap();
        assert_eq!(window(&c, "a").unwrap(), Some((1_100, 1)));
        assert_eq!(window(&c, "nobody").unwrap(), None);
        assert_eq!(
            forget_before(&c, 1_150).unwrap(),
            1,
            "a's window began at 1_100"
        );
    }
}
