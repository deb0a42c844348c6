//! What each finding means: pure functions from what the doctor found to a
//! status and a line that says what to fix. Table-tested below; the
//! thresholds are constants in `warmlead_core::limits`.

use std::net::IpAddr;
use std::path::Path;

use warmlead_core::limits::{
    DEFAULT_MEDIA_QUOTA_MB, DOCTOR_FAIL_BACKUP_AGE_HOURS, DOCTOR_FAIL_FREE_MEDIA_MB,
    DOCTOR_WARN_BACKUP_AGE_HOURS, DOCTOR_WARN_FREE_MEDIA_MB,
};
use warmlead_sms::SmsError;

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    Ok,
    Warn,
    Fail,
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Status::Ok => "OK",
            Status::Warn => "WARN",
            Status::Fail => "FAIL",
        })
    }
}

pub type Verdict = (Status, String);

const MIB: u64 = 1024 * 1024;

/// The schema the database is at against the one this binary migrates to.
pub fn schema(found: i64, expected: i64) -> Verdict {
    if found == 0 {
        return (
            Status::Fail,
            "the database has no schema yet: start warmlead-server on it once (it creates the schema)".into(),
        );
    }
    if found < expected {
        return (
            Status::Fail,
            format!(
                "schema version {found}, but this warmlead-server needs {expected}: \
                 restart the server with this version (it applies the missing migrations when it starts)"
            ),
        );
    }
    if found > expected {
        return (
            Status::Fail,
            format!(
                "schema version {found} is newer than this warmlead-server ({expected}): \
                 run the doctor of the version that serves, or upgrade this one"
            ),
        );
    }
    (
        Status::Ok,
        format!("reachable, schema version {found} (current)"),
    )
}

/// Free disk where media are written.
pub fn free_disk(dir: &Path, free_bytes: u64) -> Verdict {
    let mib = free_bytes / MIB;
    let dir = dir.display();
    if mib < DOCTOR_FAIL_FREE_MEDIA_MB {
        return (
            Status::Fail,
            format!(
                "only {mib} MiB free for media in {dir}: uploads fail when the disk is full; \
                 free space on it or move the media folder (--media-dir) to a larger disk"
            ),
        );
    }
    if mib < DOCTOR_WARN_FREE_MEDIA_MB {
        return (
            Status::Warn,
            format!(
                "{mib} MiB free for media in {dir}, less than one company's default media room \
                 ({DEFAULT_MEDIA_QUOTA_MB} MiB): free space on that disk soon"
            ),
        );
    }
    (
        Status::Ok,
        format!("{} GiB free for media in {dir}", mib / 1024),
    )
}

/// How to make a backup, for the lines that ask for one.
pub fn backup_hint(postgres: bool, dir: &Path) -> String {
    if postgres {
        format!(
            "back up nightly, e.g. pg_dump --format=custom --file={}/warmlead-$(date +%F).dump",
            dir.display()
        )
    } else {
        format!(
            "back up nightly, e.g. warmlead-server backup --to {}/server-$(date +%F).db",
            dir.display()
        )
    }
}

/// "3 minutes", "5 hours", "12 days".
pub fn age_text(secs: u64) -> String {
    let (n, unit) = match secs {
        s if s < 2 * 60 => (s, "second"),
        s if s < 2 * 3600 => (s / 60, "minute"),
        s if s < 2 * 86_400 => (s / 3600, "hour"),
        s => (s / 86_400, "day"),
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// The newest file in the backup folder (its name and age in seconds), if any.
pub fn backup(dir: &Path, postgres: bool, newest: Option<(&str, u64)>) -> Verdict {
    let Some((name, age)) = newest else {
        return (
            Status::Fail,
            format!(
                "no backup in {}: {}",
                dir.display(),
                backup_hint(postgres, dir)
            ),
        );
    };
    let hours = age / 3600;
    let found = format!("the newest backup, {name}, is {} old", age_text(age));
    if hours >= DOCTOR_FAIL_BACKUP_AGE_HOURS {
        return (
            Status::Fail,
            format!("{found}: {}", backup_hint(postgres, dir)),
        );
    }
    if hours >= DOCTOR_WARN_BACKUP_AGE_HOURS {
        return (
            Status::Warn,
            format!(
                "{found} (over {DOCTOR_WARN_BACKUP_AGE_HOURS} hours): is the nightly backup still running? {}",
                backup_hint(postgres, dir)
            ),
        );
    }
    (Status::Ok, found)
}

/// No backup folder was given: the age cannot be checked.
pub fn backup_unknown() -> Verdict {
    (
        Status::Warn,
        "no backup folder given: pass --backup-dir (or set WARMLEAD_BACKUP_DIR) to where backups are written, so their age is checked".into(),
    )
}

/// Loopback, private (RFC 1918, IPv6 unique local) or link-local: an
/// address of this machine or its own network, never a visitor's phone.
pub fn is_local(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback() || v4.is_private() || v4.is_link_local(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_local(IpAddr::V4(v4)),
            None => {
                v6.is_loopback()
                    || (v6.segments()[0] & 0xfe00) == 0xfc00
                    || (v6.segments()[0] & 0xffc0) == 0xfe80
            }
        },
    }
}

/// What the server saw of the doctor's request through the public URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seen {
    pub peer: IpAddr,
    pub peer_trusted: bool,
    pub forwarded: bool,
    /// The public URL names this machine or its network (then a local
    /// peer is expected without any proxy).
    pub public_host_is_local: bool,
}

/// Whether the server reads visitors' addresses right: through a proxy it
/// must trust that proxy, or every visitor counts as the proxy.
pub fn proxies(seen: Seen) -> Verdict {
    let peer = seen.peer;
    let same_for_all = format!(
        "every visitor counts as {peer}, so rate limits, lockouts and visitor counts lump them together"
    );
    match (seen.forwarded, seen.peer_trusted) {
        (true, false) => (
            Status::Fail,
            format!(
                "requests come through a proxy at {peer} (it sends X-Forwarded-For) that the server does not trust: \
                 {same_for_all}; set WARMLEAD_TRUSTED_PROXIES={peer} (or --trusted-proxies) and restart the server"
            ),
        ),
        (true, true) => (
            Status::Ok,
            format!("visitors' addresses are read from the forwarding headers of the trusted proxy {peer}"),
        ),
        (false, true) => (
            Status::Warn,
            format!(
                "the trusted proxy {peer} sends no X-Forwarded-For or X-Real-IP: {same_for_all}; \
                 make it send them (nginx: proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;)"
            ),
        ),
        (false, false) if is_local(peer) && !seen.public_host_is_local => (
            Status::Warn,
            format!(
                "requests to the public URL arrive from {peer}, a local address: if a proxy is in front, {same_for_all}; \
                 make the proxy send X-Forwarded-For and set WARMLEAD_TRUSTED_PROXIES={peer}"
            ),
        ),
        (false, false) => (
            Status::Ok,
            format!("no proxy in front: the server sees visitors' own addresses ({peer} for this check)"),
        ),
    }
}

/// How the probe of the public URL went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    /// No HTTP answer at all.
    Unreachable(String),
    /// An HTTP answer that is not the probe's.
    Status(u16),
    /// A Warmlead server refused the probe: it runs on another database.
    OtherDatabase,
    /// An answer whose proof does not verify.
    BadProof,
    /// This server answered; its own public URL.
    Answered { public_url: String },
}

/// Whether the public URL reaches this server, whose links carry it.
pub fn public_url(url: &str, configured: bool, probe: &Probe) -> Verdict {
    if !configured {
        return (
            Status::Fail,
            format!(
                "no public URL set: links would carry {url}, which phones cannot open; \
                 set WARMLEAD_PUBLIC_URL (or --public-url) to the address the world reaches this server at, e.g. https://warmlead.example.com"
            ),
        );
    }
    match probe {
        Probe::Unreachable(e) => (
            Status::Fail,
            format!(
                "{url} does not answer ({e}): start the server, or fix the DNS name, proxy or firewall in front of it"
            ),
        ),
        Probe::Status(404) => (
            Status::Fail,
            format!(
                "{url} answered 404 to the doctor's probe: the address leads to another site or an older warmlead-server; \
                 point it (DNS, proxy upstream) at this server"
            ),
        ),
        Probe::Status(s @ (502..=504)) => (
            Status::Fail,
            format!(
                "{url} answered HTTP {s}: the proxy in front answers but the server behind it does not; \
                 start warmlead-server, or fix the proxy's upstream address"
            ),
        ),
        Probe::Status(s) => (
            Status::Fail,
            format!(
                "{url} answered HTTP {s} to the doctor's probe, not this server's answer: check the proxy in front of it"
            ),
        ),
        Probe::OtherDatabase => (
            Status::Fail,
            format!(
                "{url} is answered by a warmlead-server on another database: point the address (DNS, proxy upstream) \
                 at the server of this database, or give doctor that server's --database-url"
            ),
        ),
        Probe::BadProof => (
            Status::Fail,
            format!(
                "{url} answered with a proof that does not match this database: what answers there is not this server"
            ),
        ),
        Probe::Answered { public_url } if !same_url(public_url, url) => (
            Status::Fail,
            format!(
                "the server at {url} puts {public_url} in its links: give serve and doctor the same WARMLEAD_PUBLIC_URL and restart the server"
            ),
        ),
        Probe::Answered { .. } => (
            Status::Ok,
            format!("{url} answers, from the server of this database, and its links carry this address"),
        ),
    }
}

fn same_url(a: &str, b: &str) -> bool {
    a.trim_end_matches('/')
        .eq_ignore_ascii_case(b.trim_end_matches('/'))
}

/// The variables holding a provider's credentials.
fn credential_vars(provider: &str) -> &'static str {
    match provider {
        "aliyun" => "WARMLEAD_ALIYUN_ACCESS_KEY_ID and WARMLEAD_ALIYUN_ACCESS_KEY_SECRET",
        "tencent" => "WARMLEAD_TENCENT_SECRET_ID and WARMLEAD_TENCENT_SECRET_KEY",
        "twilio" => "WARMLEAD_TWILIO_ACCOUNT_SID and WARMLEAD_TWILIO_AUTH_TOKEN",
        _ => "the provider's credentials",
    }
}

/// SMS go only to the console log.
pub fn sms_console() -> Verdict {
    (
        Status::Warn,
        "SMS go to the console log only: invitations and one-time codes reach nobody's phone; \
         set WARMLEAD_SMS_PROVIDER (aliyun, tencent or twilio) and its credentials"
            .into(),
    )
}

/// What the provider answered to the read-only account check.
pub fn sms(provider: &str, answer: &Result<String, SmsError>) -> Verdict {
    match answer {
        Ok(found) => (Status::Ok, format!("{provider}: {found}")),
        Err(e @ SmsError::Unauthorized { .. }) => (
            Status::Fail,
            format!("{e}: check {}", credential_vars(provider)),
        ),
        Err(e @ SmsError::Rejected { .. }) => (
            Status::Fail,
            format!(
                "{e}: fix it in the provider's console, or configure an approved sign name and template"
            ),
        ),
        Err(e @ SmsError::Unreachable { .. }) => (
            Status::Fail,
            format!("{e}: check that this machine reaches the provider (outbound network, DNS, proxy)"),
        ),
        Err(e @ SmsError::RateLimited { .. }) => (
            Status::Warn,
            format!("{e}: the provider is throttling this account; try again later"),
        ),
        Err(e) => (Status::Fail, e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_versions() {
        let table = [
            (24, 24, Status::Ok, "schema version 24 (current)"),
            (23, 24, Status::Fail, "restart the server"),
            (25, 24, Status::Fail, "newer than this warmlead-server"),
            (0, 24, Status::Fail, "no schema yet"),
        ];
        for (found, expected, status, says) in table {
            let (s, m) = schema(found, expected);
            assert_eq!(s, status, "{found}/{expected}: {m}");
            assert!(m.contains(says), "{found}/{expected}: {m}");
        }
    }

    #[test]
    fn free_disk_thresholds() {
        let dir = Path::new("/srv/media");
        let table = [
            (0, Status::Fail),
            (DOCTOR_FAIL_FREE_MEDIA_MB * MIB - 1, Status::Fail),
            (DOCTOR_FAIL_FREE_MEDIA_MB * MIB, Status::Warn),
            (DOCTOR_WARN_FREE_MEDIA_MB * MIB - 1, Status::Warn),
            (DOCTOR_WARN_FREE_MEDIA_MB * MIB, Status::Ok),
            (u64::MAX, Status::Ok),
        ];
        for (bytes, status) in table {
            let (s, m) = free_disk(dir, bytes);
            assert_eq!(s, status, "{bytes}: {m}");
            assert!(m.contains("/srv/media"), "{m}");
        }
        assert!(free_disk(dir, 0).1.contains("--media-dir"));
    }

    #[test]
    fn backup_ages() {
        let dir = Path::new("/srv/backups");
        let h = 3600;
        let table = [
            (Some(("s.db", 0)), Status::Ok, "0 seconds old"),
            (Some(("s.db", 5 * 60)), Status::Ok, "5 minutes old"),
            (
                Some(("s.db", DOCTOR_WARN_BACKUP_AGE_HOURS * h - 1)),
                Status::Ok,
                "25 hours old",
            ),
            (
                Some(("s.db", DOCTOR_WARN_BACKUP_AGE_HOURS * h)),
                Status::Warn,
                "26 hours old",
            ),
            (
                Some(("s.db", DOCTOR_FAIL_BACKUP_AGE_HOURS * h - 1)),
                Status::Warn,
                "6 days old",
            ),
            (
                Some(("s.db", DOCTOR_FAIL_BACKUP_AGE_HOURS * h)),
                Status::Fail,
                "7 days old",
            ),
            (None, Status::Fail, "no backup in /srv/backups"),
        ];
        for (newest, status, says) in table {
            let (s, m) = backup(dir, false, newest);
            assert_eq!(s, status, "{newest:?}: {m}");
            assert!(m.contains(says), "{newest:?}: {m}");
        }
        assert!(backup(dir, false, None)
            .1
            .contains("warmlead-server backup --to /srv/backups/"));
        assert!(backup(dir, true, None).1.contains("pg_dump"));
        assert_eq!(backup_unknown().0, Status::Warn);
    }

    #[test]
    fn local_addresses() {
        for (ip, local) in [
            ("127.0.0.1", true),
            ("10.1.2.3", true),
            ("172.16.0.9", true),
            ("192.168.1.1", true),
            ("169.254.1.1", true),
            ("::1", true),
            ("fd00::1", true),
            ("fe80::1", true),
            ("::ffff:10.0.0.1", true),
            ("203.0.113.7", false),
            ("2001:db8::1", false),
            ("::ffff:203.0.113.7", false),
        ] {
            assert_eq!(is_local(ip.parse().unwrap()), local, "{ip}");
        }
    }

    #[test]
    fn proxy_settings() {
        let local: IpAddr = "127.0.0.1".parse().unwrap();
        let public: IpAddr = "203.0.113.7".parse().unwrap();
        let seen = |peer, peer_trusted, forwarded, public_host_is_local| Seen {
            peer,
            peer_trusted,
            forwarded,
            public_host_is_local,
        };
        let table = [
            (
                seen(local, false, true, false),
                Status::Fail,
                "WARMLEAD_TRUSTED_PROXIES=127.0.0.1",
            ),
            (seen(local, true, true, false), Status::Ok, "trusted proxy"),
            (
                seen(local, true, false, false),
                Status::Warn,
                "sends no X-Forwarded-For",
            ),
            (
                seen(local, false, false, false),
                Status::Warn,
                "a local address",
            ),
            (seen(local, false, false, true), Status::Ok, "no proxy"),
            (seen(public, false, false, false), Status::Ok, "no proxy"),
        ];
        for (seen, status, says) in table {
            let (s, m) = proxies(seen);
            assert_eq!(s, status, "{seen:?}: {m}");
            assert!(m.contains(says), "{seen:?}: {m}");
        }
    }

    #[test]
    fn public_url_answers() {
        let url = "https://w.example.com";
        let table = [
            (
                true,
                Probe::Answered {
                    public_url: "https://w.example.com/".into(),
                },
                Status::Ok,
                "answers",
            ),
            (
                true,
                Probe::Answered {
                    public_url: "http://127.0.0.1:8787".into(),
                },
                Status::Fail,
                "puts http://127.0.0.1:8787 in its links",
            ),
            (
                true,
                Probe::Unreachable("refused".into()),
                Status::Fail,
                "does not answer (refused)",
            ),
            (true, Probe::Status(404), Status::Fail, "another site"),
            (
                true,
                Probe::Status(502),
                Status::Fail,
                "HTTP 502: the proxy in front answers but the server behind it does not",
            ),
            (true, Probe::Status(401), Status::Fail, "HTTP 401"),
            (true, Probe::OtherDatabase, Status::Fail, "another database"),
            (true, Probe::BadProof, Status::Fail, "does not match"),
            (
                false,
                Probe::Answered {
                    public_url: url.into(),
                },
                Status::Fail,
                "WARMLEAD_PUBLIC_URL",
            ),
        ];
        for (configured, probe, status, says) in table {
            let (s, m) = public_url(url, configured, &probe);
            assert_eq!(s, status, "{probe:?}: {m}");
            assert!(m.contains(says), "{probe:?}: {m}");
        }
    }

    #[test]
    fn sms_answers() {
        let unauthorized = SmsError::Unauthorized {
            provider: "aliyun",
            code: "SignatureDoesNotMatch".into(),
            message: "no".into(),
        };
        let table = [
            (
                Ok("credentials accepted".to_string()),
                Status::Ok,
                "aliyun: credentials accepted",
            ),
            (
                Err(unauthorized),
                Status::Fail,
                "WARMLEAD_ALIYUN_ACCESS_KEY_SECRET",
            ),
            (
                Err(SmsError::Rejected {
                    provider: "aliyun",
                    code: "TemplateStatus=2".into(),
                    message: "template SMS_1 is not approved".into(),
                }),
                Status::Fail,
                "approved sign name and template",
            ),
            (
                Err(SmsError::Unreachable {
                    provider: "aliyun",
                    detail: "dns".into(),
                }),
                Status::Fail,
                "outbound network",
            ),
            (
                Err(SmsError::RateLimited {
                    provider: "aliyun",
                    code: "Throttling.User".into(),
                    message: "slow down".into(),
                }),
                Status::Warn,
                "throttling",
            ),
        ];
        for (answer, status, says) in table {
            let (s, m) = sms("aliyun", &answer);
            assert_eq!(s, status, "{answer:?}: {m}");
            assert!(m.contains(says), "{answer:?}: {m}");
        }
        assert_eq!(sms_console().0, Status::Warn);
    }

    #[test]
    fn ages_read_naturally() {
        for (secs, text) in [
            (1, "1 second"),
            (119, "119 seconds"),
            (120, "2 minutes"),
            (3 * 3600, "3 hours"),
            (86_400, "24 hours"),
            (10 * 86_400, "10 days"),
        ] {
            assert_eq!(age_text(secs), text);
        }
    }
}
