//! UTC calendar arithmetic without a date crate: dates for signatures, quiet
//! hours and CSV exports. Local time is the UI's business.

/// (year, month, day) of a day count since 1970-01-01 (Howard Hinnant's civil_from_days).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// `2016-02-23` for a UTC second timestamp.
pub fn utc_date(unix_secs: i64) -> String {
    let (y, m, d) = civil_from_days(unix_secs.div_euclid(86_400));
    format!("{y:04}-{m:02}-{d:02}")
}

/// `2016-02-23T12:46:24Z` (ISO 8601, UTC) for a UTC second timestamp.
pub fn utc_iso8601(unix_secs: i64) -> String {
    let secs = unix_secs.rem_euclid(86_400);
    format!(
        "{}T{:02}:{:02}:{:02}Z",
        utc_date(unix_secs),
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_across_leap_days_and_before_1970() {
        assert_eq!(utc_iso8601(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc_iso8601(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(utc_iso8601(1_456_231_584), "2016-02-23T12:46:24Z");
        assert_eq!(utc_date(-1), "1969-12-31");
        assert_eq!(utc_date(951_868_800), "2000-03-01");
        // Tencent Cloud's signature example: 2019-02-25 16:44:25 UTC.
        assert_eq!(utc_iso8601(1_551_113_065), "2019-02-25T16:44:25Z");
    }
}
