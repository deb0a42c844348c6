//! "Not views": which requests for a public page are machines (link-preview
//! fetchers, crawlers, prefetches) rather than a person looking at it.
//!
//! The patterns are data, not code: the server ships them as a list file
//! (`crates/server/data/bot_user_agents.txt`) and parses it with
//! [`BotRules::parse`]. Matching is a pure function so it is table-tested.

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use ts_rs::TS;

/// Why a request was not counted as a view. Stable names: they are stored
/// as counters and shown to managers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum FilterReason {
    /// `HEAD` requests: link checkers and preview fetchers.
    Head,
    /// `Purpose: prefetch` / `Sec-Purpose: prefetch` (browser or proxy prefetch).
    Prefetch,
    /// A user agent on the bot and preview list.
    BotUserAgent,
    /// The sharer opening their own link.
    OwnLink,
    /// A reload inside the repeat window: merged into the visit, not a new one.
    Reload,
    /// Too many new page views of one share from one visitor or one network
    /// in a minute (see [`is_burst`]): a script, not people reading.
    Burst,
}

impl FilterReason {
    pub const ALL: [FilterReason; 6] = [
        FilterReason::Head,
        FilterReason::Prefetch,
        FilterReason::BotUserAgent,
        FilterReason::OwnLink,
        FilterReason::Reload,
        FilterReason::Burst,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FilterReason::Head => "head",
            FilterReason::Prefetch => "prefetch",
            FilterReason::BotUserAgent => "bot_user_agent",
            FilterReason::OwnLink => "own_link",
            FilterReason::Reload => "reload",
            FilterReason::Burst => "burst",
        }
    }

    pub fn parse(s: &str) -> Option<FilterReason> {
        FilterReason::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// The parts of a request the filter looks at.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestShape<'a> {
    pub method: &'a str,
    pub user_agent: Option<&'a str>,
    /// `Purpose` header, if any.
    pub purpose: Option<&'a str>,
    /// `Sec-Purpose` header, if any.
    pub sec_purpose: Option<&'a str>,
}

/// Case-insensitive substring patterns. A line starting with `!` is an
/// exception: a user agent matching it is a person even if a bot pattern
/// matches too (e.g. the phone brand "CUBOT" against "bot ").
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BotRules {
    bots: Vec<String>,
    people: Vec<String>,
}

impl BotRules {
    /// One pattern a line; `#` starts a comment, blank lines are ignored,
    /// surrounding spaces are trimmed (write `\s` for a significant space).
    pub fn parse(text: &str) -> BotRules {
        let mut rules = BotRules::default();
        for line in text.lines() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let (list, pat) = match line.strip_prefix('!') {
                Some(p) => (&mut rules.people, p.trim()),
                None => (&mut rules.bots, line),
            };
            let pat = pat.replace("\\s", " ").to_ascii_lowercase();
            if !pat.is_empty() {
                list.push(pat);
            }
        }
        rules
    }

    pub fn len(&self) -> usize {
        self.bots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bots.is_empty()
    }

    /// Whether this user agent is on the list (and not an exception).
    pub fn is_bot_user_agent(&self, ua: &str) -> bool {
        let ua = ua.to_ascii_lowercase();
        self.bots.iter().any(|p| ua.contains(p.as_str()))
            && !self.people.iter().any(|p| ua.contains(p.as_str()))
    }

    /// `Some(reason)` when the request must not count as a view. A missing
    /// user agent is not a reason by itself: some privacy tools strip it.
    /// An empty or blank one is: no browser sends that, scripts do.
    pub fn classify(&self, req: &RequestShape<'_>) -> Option<FilterReason> {
        if req.method.eq_ignore_ascii_case("HEAD") {
            return Some(FilterReason::Head);
        }
        let prefetch = |h: Option<&str>| {
            h.is_some_and(|v| {
                v.split(';')
                    .any(|p| p.trim().eq_ignore_ascii_case("prefetch"))
            })
        };
        if prefetch(req.purpose) || prefetch(req.sec_purpose) {
            return Some(FilterReason::Prefetch);
        }
        match req.user_agent {
            Some(ua) if ua.trim().is_empty() || self.is_bot_user_agent(ua) => {
                Some(FilterReason::BotUserAgent)
            }
            _ => None,
        }
    }
}

/// The window [`is_burst`] counts new page views in.
pub const BURST_WINDOW_MS: i64 = 60_000;
/// New page views of one share one visitor may open per window. A person
/// reloading is merged into their visit anyway; more than this is a script.
pub const BURST_MAX_PER_VISITOR: u32 = 5;
/// New page views of one share one network (the hashed /24 or /48) may open
/// per window. Generous: an office or a carrier NAT shares one address and a
/// link posted in a group chat is opened by many people at once.
pub const BURST_MAX_PER_NETWORK: u32 = 30;

/// New page views of one share already counted in the last
/// [`BURST_WINDOW_MS`], before the one being decided.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecentViews {
    pub by_visitor: u32,
    pub by_network: u32,
}

/// Whether one more new page view is a burst (not a view): either key is
/// already at its limit for the window.
pub fn is_burst(recent: RecentViews) -> bool {
    recent.by_visitor >= BURST_MAX_PER_VISITOR || recent.by_network >= BURST_MAX_PER_NETWORK
}

type HmacSha256 = Hmac<Sha256>;

/// What the desktop app appends as `?from_app=<proof>` when the sharer opens
/// their own link: proves the device that signed the share opened it, so the
/// server marks that browser (cookie `wl_d`) as the sharer's and does not
/// count its views. `share_key` is the device's key from activation.
pub fn own_link_proof(share_key: &[u8], token: &str) -> String {
    let mut m = HmacSha256::new_from_slice(share_key).expect("hmac takes any key length");
    m.update(b"warmlead-own-link-v1");
    m.update(token.as_bytes());
    let tag = m.finalize().into_bytes();
    tag[..12].iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIST: &str =
        "# comment\nfacebookexternalhit\n bot/ # trailing comment\n!cubot\nbot\\s\n\n";

    fn get(ua: &str) -> RequestShape<'_> {
        RequestShape {
            method: "GET",
            user_agent: Some(ua),
            ..Default::default()
        }
    }

    #[test]
    fn parses_comments_exceptions_and_spaces() {
        let r = BotRules::parse(LIST);
        assert_eq!(r.len(), 3);
        assert!(r.is_bot_user_agent("FacebookExternalHit/1.1"));
        assert!(r.is_bot_user_agent("x bot y"));
        assert!(!r.is_bot_user_agent("Mozilla/5.0 (Linux; Android 9; CUBOT X20 bot y)"));
        assert!(!r.is_bot_user_agent("robotic"));
    }

    #[test]
    fn request_shapes() {
        let r = BotRules::parse(LIST);
        let head = RequestShape {
            method: "HEAD",
            ..get("Mozilla/5.0")
        };
        assert_eq!(r.classify(&head), Some(FilterReason::Head));
        let pre = RequestShape {
            sec_purpose: Some("prefetch;prerender"),
            ..get("Mozilla/5.0")
        };
        assert_eq!(r.classify(&pre), Some(FilterReason::Prefetch));
        let pre2 = RequestShape {
            purpose: Some("Prefetch"),
            ..get("Mozilla/5.0")
        };
        assert_eq!(r.classify(&pre2), Some(FilterReason::Prefetch));
        assert_eq!(r.classify(&get("Mozilla/5.0")), None);
        let none = RequestShape {
            method: "GET",
            ..Default::default()
        };
        assert_eq!(r.classify(&none), None);
    }

    /// A user agent that is there but says nothing is a script's.
    #[test]
    fn blank_user_agents_are_not_people() {
        let r = BotRules::parse(LIST);
        // user agent -> filtered
        let table = [
            (Some(""), Some(FilterReason::BotUserAgent)),
            (Some(" "), Some(FilterReason::BotUserAgent)),
            (Some("    "), Some(FilterReason::BotUserAgent)),
            (Some("\t \t"), Some(FilterReason::BotUserAgent)),
            (Some(" Mozilla/5.0 "), None),
            (None, None),
        ];
        for (ua, expected) in table {
            let req = RequestShape {
                method: "GET",
                user_agent: ua,
                ..Default::default()
            };
            assert_eq!(r.classify(&req), expected, "{ua:?}");
        }
    }

    #[test]
    fn own_link_proof_depends_on_key_and_token() {
        let a = own_link_proof(b"k1", "AQtoken");
        assert_eq!(a.len(), 24);
        assert_eq!(a, own_link_proof(b"k1", "AQtoken"));
        assert_ne!(a, own_link_proof(b"k2", "AQtoken"));
        assert_ne!(a, own_link_proof(b"k1", "AQtokem"));
    }

    #[test]
    fn bursts_by_visitor_or_network() {
        let (v, n) = (BURST_MAX_PER_VISITOR, BURST_MAX_PER_NETWORK);
        let table = [
            (0, 0, false),
            (v - 1, 0, false),
            (v, 0, true),
            (0, n - 1, false),
            (0, n, true),
            (v - 1, n - 1, false),
            (v + 100, n + 100, true),
        ];
        for (by_visitor, by_network, burst) in table {
            let recent = RecentViews {
                by_visitor,
                by_network,
            };
            assert_eq!(is_burst(recent), burst, "{recent:?}");
        }
    }

    #[test]
    fn reasons_round_trip() {
        for r in FilterReason::ALL {
            assert_eq!(FilterReason::parse(r.as_str()), Some(r));
        }
    }
}
