//! SMS on the server, below HTTP: a rep's invitations to named people
//! (`invite`), one-time and activation codes (`code`), the background
//! runner that hands due messages to the configured provider, and what the
//! provider hooks bring back (delivery reports, opt-out replies: `hooks`).
//! The routes are `http::sms`; nothing here knows of HTTP.
//!
//! The rules themselves (opt-outs, quiet hours, caps, duplicates) are
//! `warmlead_sms::decide`; this module feeds them the number's history from
//! SQLite and keeps the queue. Sending never happens inside a transaction.

pub(crate) mod code;
pub(crate) mod hooks;
pub(crate) mod invite;
mod plan;
mod runner;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use warmlead_sms::{Rules, SmsProvider};

use crate::error::ServerError;
use crate::storage::Database;

pub(crate) use runner::RunnerHandle;

/// The time the SMS rules see, injectable so tests can stand in quiet hours
/// without waiting for them.
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> i64 + Send + Sync>);

impl Clock {
    /// Wall-clock UTC milliseconds.
    pub fn system() -> Clock {
        Clock(Arc::new(crate::storage::now_ms))
    }

    pub fn from_fn(f: impl Fn() -> i64 + Send + Sync + 'static) -> Clock {
        Clock(Arc::new(f))
    }

    pub fn now_ms(&self) -> i64 {
        (self.0)()
    }
}

impl Default for Clock {
    fn default() -> Self {
        Clock::system()
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Clock")
    }
}

/// SMS settings of a server.
#[derive(Clone)]
pub struct SmsInviteOptions {
    /// Quiet hours, daily cap, opt-out line (`Rules::default()` is the issue's).
    pub rules: Rules,
    /// Shared secret of the provider hooks (`?secret=` or `X-Warmlead-Hook-Secret`);
    /// without one the hooks answer 404.
    pub hook_secret: Option<String>,
    pub clock: Clock,
    /// How often the runner looks for due messages when nobody wakes it.
    pub runner_every: Duration,
}

impl Default for SmsInviteOptions {
    fn default() -> Self {
        SmsInviteOptions {
            rules: Rules::default(),
            hook_secret: None,
            clock: Clock::system(),
            runner_every: Duration::from_secs(5),
        }
    }
}

impl std::fmt::Debug for SmsInviteOptions {
    // The hook secret never reaches a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmsInviteOptions")
            .field("rules", &self.rules)
            .field("hook_secret", &self.hook_secret.as_ref().map(|_| "<set>"))
            .field("runner_every", &self.runner_every)
            .finish_non_exhaustive()
    }
}

/// `21:00-08:00` as minutes after midnight (start, end); equal means none.
pub fn parse_quiet_hours(s: &str) -> Result<(u16, u16), String> {
    let minute = |hm: &str| -> Option<u16> {
        let (h, m) = hm.trim().split_once(':')?;
        let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
        (h < 24 && m < 60).then_some(h * 60 + m)
    };
    let err = || format!("quiet hours must look like 21:00-08:00, got {s:?}");
    let (a, b) = s.split_once('-').ok_or_else(err)?;
    Ok((minute(a).ok_or_else(err)?, minute(b).ok_or_else(err)?))
}

/// The `serve` flags of SMS invitations (flattened into the CLI). No
/// `Debug`: it holds the hook secret.
#[derive(Clone, clap::Args)]
pub struct SmsInviteArgs {
    /// Quiet hours in the recipient's local time: invitations wait until they end.
    #[arg(long, env = "WARMLEAD_SMS_QUIET_HOURS", default_value = "21:00-08:00",
          value_parser = parse_quiet_hours)]
    pub sms_quiet_hours: (u16, u16),
    /// Messages per number per local day, at most.
    #[arg(long, env = "WARMLEAD_SMS_DAILY_CAP", default_value_t = 3)]
    pub sms_daily_cap: u32,
    /// Shared secret of the provider hooks under /hooks/sms/ (put `?secret=...` in the
    /// callback URLs configured at the provider). Without it the hooks are off (404).
    #[arg(long, env = "WARMLEAD_SMS_HOOK_SECRET", hide_env_values = true)]
    pub sms_hook_secret: Option<String>,
}

impl SmsInviteArgs {
    pub fn into_options(self) -> SmsInviteOptions {
        let (quiet_start_minute, quiet_end_minute) = self.sms_quiet_hours;
        SmsInviteOptions {
            rules: Rules {
                quiet_start_minute,
                quiet_end_minute,
                daily_cap_per_number: self.sms_daily_cap,
                ..Rules::default()
            },
            hook_secret: self.sms_hook_secret,
            ..SmsInviteOptions::default()
        }
    }
}

/// Everything the SMS routes, the code senders and the runner share. Cheap
/// to clone.
#[derive(Clone)]
pub(crate) struct SmsService {
    db: Database,
    provider: Arc<dyn SmsProvider>,
    /// Base of invitation links, without a trailing slash.
    public_url: String,
    options: Arc<SmsInviteOptions>,
    wake: Arc<Notify>,
}

impl SmsService {
    pub fn new(
        db: Database,
        provider: Arc<dyn SmsProvider>,
        public_url: String,
        options: SmsInviteOptions,
    ) -> Result<SmsService, ServerError> {
        options
            .rules
            .validate()
            .map_err(|e| ServerError::Config(e.to_string()))?;
        // An empty secret would let `?secret=` in.
        if options
            .hook_secret
            .as_deref()
            .is_some_and(|s| s.trim().len() < 8)
        {
            return Err(ServerError::Config(
                "the SMS hook secret must be at least 8 characters".into(),
            ));
        }
        Ok(SmsService {
            db,
            provider,
            public_url,
            options: Arc::new(options),
            wake: Arc::new(Notify::new()),
        })
    }

    fn db(&self) -> &Database {
        &self.db
    }

    fn now(&self) -> i64 {
        self.options.clock.now_ms()
    }

    fn rules(&self) -> &Rules {
        &self.options.rules
    }

    /// Starts the queue runner; stop it with [`RunnerHandle::stop`] at shutdown.
    pub fn spawn_runner(&self) -> RunnerHandle {
        runner::spawn(self.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quiet_hours_parse() {
        assert_eq!(parse_quiet_hours("21:00-08:00"), Ok((1260, 480)));
        assert_eq!(parse_quiet_hours(" 22:30 - 7:05 "), Ok((1350, 425)));
        assert_eq!(parse_quiet_hours("00:00-00:00"), Ok((0, 0)));
        for bad in [
            "",
            "21-08",
            "24:00-08:00",
            "21:60-08:00",
            "21:00",
            "a:b-c:d",
        ] {
            assert!(parse_quiet_hours(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn serve_flags_become_rules() {
        use clap::Parser;
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            sms: SmsInviteArgs,
        }
        let o = Cli::try_parse_from(["x"]).unwrap().sms.into_options();
        assert_eq!(o.rules, Rules::default());
        assert_eq!(o.hook_secret, None);
        let o = Cli::try_parse_from([
            "x",
            "--sms-quiet-hours",
            "22:00-07:30",
            "--sms-daily-cap",
            "1",
            "--sms-hook-secret",
            "0123456789abcdef",
        ])
        .unwrap()
        .sms
        .into_options();
        assert_eq!(
            (o.rules.quiet_start_minute, o.rules.quiet_end_minute),
            (1320, 450)
        );
        assert_eq!(o.rules.daily_cap_per_number, 1);
        assert_eq!(o.hook_secret.as_deref(), Some("0123456789abcdef"));
        assert!(Cli::try_parse_from(["x", "--sms-quiet-hours", "9pm-8am"]).is_err());
    }

    #[test]
    fn debug_hides_the_hook_secret() {
        let o = SmsInviteOptions {
            hook_secret: Some("s3cr3t-value".into()),
            ..SmsInviteOptions::default()
        };
        let shown = format!("{o:?}");
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(shown.contains("<set>"));
    }
}
