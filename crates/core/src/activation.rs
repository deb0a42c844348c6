//! How many activation codes may be tried, and what a refused attempt is
//! told. A code is nine characters of a 31-letter alphabet: guessing one
//! is hopeless only while guesses are few, so attempts are counted per
//! network and for the whole server in fixed windows (the server keeps the
//! windows in its database, so every process on one database counts the
//! same attempts), and a full window refuses every attempt until it ends,
//! a correct code included (else the pause would only slow a guesser down).

use crate::limits::{
    ACTIVATION_WINDOW_SECS, MAX_ACTIVATION_FAILURES_OVERALL, MAX_ACTIVATION_FAILURES_PER_ADDRESS,
};

/// The counting window, in milliseconds.
pub const WINDOW_MS: i64 = ACTIVATION_WINDOW_SECS as i64 * 1000;

/// A counting window as stored: when it began and the attempts counted in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start_ms: i64,
    pub hits: i64,
}

/// Whose attempts a window counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counter {
    /// One network (the client's address, hashed and truncated).
    Address,
    /// Every network together.
    Overall,
}

impl Counter {
    /// Attempts a window of this counter takes.
    pub fn max(self) -> i64 {
        match self {
            Counter::Address => MAX_ACTIVATION_FAILURES_PER_ADDRESS as i64,
            Counter::Overall => MAX_ACTIVATION_FAILURES_OVERALL as i64,
        }
    }
}

/// Activation is paused: for whom, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lockout {
    pub counter: Counter,
    /// Until the window ends, rounded up (the `Retry-After` header).
    pub retry_after_secs: u64,
}

impl Lockout {
    /// What the refused person reads: why, that a correct code waits too,
    /// and when to try again.
    pub fn message(&self) -> String {
        let when = in_words(self.retry_after_secs);
        match self.counter {
            Counter::Address => format!(
                "too many wrong activation codes came from your network, so activation from it \
                 is paused, even with a correct code; try again in {when}"
            ),
            Counter::Overall => format!(
                "too many wrong activation codes reached this server, so activation is paused \
                 for everyone, even with a correct code; try again in {when}"
            ),
        }
    }
}

/// `45 seconds`, `1 minute`, `15 minutes` (rounded up).
fn in_words(secs: u64) -> String {
    match secs {
        0..=1 => "1 second".into(),
        2..=59 => format!("{secs} seconds"),
        _ => match secs.div_ceil(60) {
            1 => "1 minute".into(),
            m => format!("{m} minutes"),
        },
    }
}

/// The pause a window imposes at `now`, if it still runs and `hits`
/// attempts already fill it.
fn pause(counter: Counter, window: Option<Window>, now_ms: i64) -> Option<Lockout> {
    let w = window?;
    let ends = w.start_ms.saturating_add(WINDOW_MS);
    if ends <= now_ms || w.hits < counter.max() {
        return None;
    }
    Some(Lockout {
        counter,
        retry_after_secs: u64::try_from(ends - now_ms).unwrap_or(0).div_ceil(1000),
    })
}

/// Before anything is written: whether the stored windows of the address
/// and of the server refuse a new attempt.
pub fn lockout(address: Option<Window>, overall: Option<Window>, now_ms: i64) -> Option<Lockout> {
    pause(Counter::Address, address, now_ms).or_else(|| pause(Counter::Overall, overall, now_ms))
}

/// After an attempt was counted (`address` and `overall` include it):
/// whether it came too late to be looked at. Attempts that raced past
/// [`lockout`] together are cut off here, at exactly the limit.
pub fn counted(address: Window, overall: Window, now_ms: i64) -> Option<Lockout> {
    let before = |w: Window| {
        Some(Window {
            hits: w.hits - 1,
            ..w
        })
    };
    lockout(before(address), before(overall), now_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: i64 = MAX_ACTIVATION_FAILURES_PER_ADDRESS as i64;
    const O: i64 = MAX_ACTIVATION_FAILURES_OVERALL as i64;

    fn w(start_ms: i64, hits: i64) -> Option<Window> {
        Some(Window { start_ms, hits })
    }

    #[test]
    fn a_full_window_pauses_until_it_ends() {
        let t = 1_000_000;
        // (address, overall, now, expected)
        let table = [
            (None, None, t, None),
            (w(t, A - 1), w(t, O - 1), t, None),
            (
                w(t, A),
                None,
                t,
                Some((Counter::Address, ACTIVATION_WINDOW_SECS as u64)),
            ),
            (w(t, A), None, t + 1, Some((Counter::Address, 900))),
            (
                w(t, A),
                None,
                t + WINDOW_MS - 1_500,
                Some((Counter::Address, 2)),
            ),
            (
                w(t, A),
                None,
                t + WINDOW_MS - 1,
                Some((Counter::Address, 1)),
            ),
            // The window ended: a new one starts with the next attempt.
            (w(t, A), None, t + WINDOW_MS, None),
            (w(t, A + 30), w(t, O + 30), t + WINDOW_MS, None),
            (None, w(t, O), t + 60_000, Some((Counter::Overall, 840))),
            // The address is named first when both are full.
            (w(t, A), w(t, O), t, Some((Counter::Address, 900))),
            (
                w(t, A - 1),
                w(t - 1000, O),
                t,
                Some((Counter::Overall, 899)),
            ),
        ];
        for (address, overall, now, want) in table {
            let got = lockout(address, overall, now).map(|l| (l.counter, l.retry_after_secs));
            assert_eq!(got, want, "{address:?} {overall:?} at {now}");
        }
    }

    #[test]
    fn a_counted_attempt_is_looked_at_up_to_the_limit_exactly() {
        let t = 5_000;
        for hits in 1..=A {
            assert_eq!(
                counted(w(t, hits).unwrap(), w(t, hits).unwrap(), t),
                None,
                "{hits}"
            );
        }
        let over = counted(w(t, A + 1).unwrap(), w(t, A + 1).unwrap(), t).unwrap();
        assert_eq!(over.counter, Counter::Address);
        let over = counted(w(t, 1).unwrap(), w(t, O + 1).unwrap(), t).unwrap();
        assert_eq!(over.counter, Counter::Overall);
    }

    #[test]
    fn the_message_says_why_and_when() {
        let table = [
            (Counter::Address, 900, "your network", "15 minutes"),
            (Counter::Address, 61, "your network", "2 minutes"),
            (Counter::Address, 60, "your network", "1 minute"),
            (Counter::Overall, 45, "for everyone", "45 seconds"),
            (Counter::Overall, 1, "for everyone", "1 second"),
        ];
        for (counter, secs, who, when) in table {
            let m = Lockout {
                counter,
                retry_after_secs: secs,
            }
            .message();
            assert!(m.contains(who), "{m}");
            assert!(m.contains("even with a correct code"), "{m}");
            assert!(m.ends_with(&format!("try again in {when}")), "{m}");
        }
    }
}
