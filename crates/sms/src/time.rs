//! UTC calendar arithmetic without a date crate: only what signatures and quiet hours need.

pub const MINUTE_MS: i64 = 60_000;
pub const DAY_MS: i64 = 86_400_000;

pub use warmlead_core::time::{utc_date, utc_iso8601};

/// Seconds since the Unix epoch, for request timestamps.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
