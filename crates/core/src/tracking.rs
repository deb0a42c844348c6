//! Tracking rules of the public share page that need no IO.
//!
//! The visit window: a visit is one person (visitor id) on one share. A page
//! load by the same visitor on the same share within [`RELOAD_WINDOW_MS`] of
//! the visit's last activity is a reload, merged into that visit (not a new
//! view); after the window it opens the visitor's next visit (`visit_no + 1`,
//! a `repeat_visit` signal).
//!
//! Pass it on (裂变): a viewer's child share keeps its parent and the root
//! (the partner's own share) and credits the root's partner, up to
//! [`MAX_FORWARD_DEPTH`] links deep.

use crate::lead::{ChildShare, SignalKind};

/// Reloads within 30 minutes of the last activity are the same visit.
pub const RELOAD_WINDOW_MS: i64 = 30 * 60 * 1000;

/// The visitor's latest visit of the share, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LatestVisit {
    pub id: i64,
    pub last_seen_at_ms: i64,
    pub visit_no: i64,
}

/// What a new page load is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageLoad {
    /// One more page view of visit `visit_id`.
    Reload { visit_id: i64 },
    /// A new visit, the visitor's `visit_no`-th of this share (unless the
    /// burst filter refuses it).
    NewVisit { visit_no: i64 },
}

/// Decides a page load at `now_ms` from the visitor's latest visit.
pub fn page_load(latest: Option<LatestVisit>, now_ms: i64) -> PageLoad {
    match latest {
        Some(v) if v.last_seen_at_ms >= now_ms - RELOAD_WINDOW_MS => {
            PageLoad::Reload { visit_id: v.id }
        }
        Some(v) => PageLoad::NewVisit {
            visit_no: v.visit_no + 1,
        },
        None => PageLoad::NewVisit { visit_no: 1 },
    }
}

/// Dwell beyond six hours is a tab left open, not reading.
pub const MAX_DWELL_MS: i64 = 6 * 3600 * 1000;
/// Longest video we believe (a day); guards the percent against nonsense.
pub const MAX_VIDEO_S: i64 = 24 * 3600;

/// How far into a video of `len` seconds `pos` is, 0..=100 (0 without a length).
pub fn video_pct(pos: i64, len: i64) -> i64 {
    if len <= 0 {
        0
    } else {
        (pos * 100 / len).clamp(0, 100)
    }
}

/// A visit's aggregates as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VisitAgg {
    pub dwell_ms: i64,
    pub scroll_pct: i64,
    pub video_s: i64,
    pub video_len_s: i64,
    pub last_seen_at_ms: i64,
}

/// What one beacon of a page load reports (as sent: not yet clamped).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reading {
    /// The page load's visible time so far.
    pub dwell_ms: i64,
    pub scroll_pct: Option<i64>,
    pub video_s: Option<i64>,
    pub video_len_s: Option<i64>,
    pub now_ms: i64,
}

/// What to store after a beacon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AggUpdate {
    /// The page load's new dwell, when it rose.
    pub page_dwell_ms: Option<i64>,
    /// The visit's new aggregates, when anything (or the last-seen time) moved.
    pub visit: Option<VisitAgg>,
    /// Signals to append, in order: one per value that rose.
    pub signals: Vec<(SignalKind, i64)>,
}

/// A beacon applied to visit `agg` whose page load had `page_dwell_ms` so far.
/// Values only rise (a visit's dwell is the sum over its page loads, capped),
/// and a signal is appended only when one does, so signals are a timeline.
pub fn apply_reading(agg: VisitAgg, page_dwell_ms: i64, r: Reading) -> AggUpdate {
    let mut new = agg;
    let mut out = AggUpdate {
        page_dwell_ms: None,
        visit: None,
        signals: Vec::new(),
    };
    let dwell = r.dwell_ms.clamp(0, MAX_DWELL_MS);
    if dwell > page_dwell_ms {
        out.page_dwell_ms = Some(dwell);
        new.dwell_ms = (agg.dwell_ms + dwell - page_dwell_ms).min(MAX_DWELL_MS);
        if new.dwell_ms > agg.dwell_ms {
            out.signals.push((SignalKind::Dwell, new.dwell_ms));
        }
    }
    if let Some(s) = r.scroll_pct.map(|s| s.clamp(0, 100)) {
        if s > agg.scroll_pct {
            new.scroll_pct = s;
            out.signals.push((SignalKind::Scroll, s));
        }
    }
    if let (Some(pos), Some(len)) = (r.video_s, r.video_len_s) {
        let len = len.clamp(0, MAX_VIDEO_S);
        let pos = pos.clamp(0, len);
        if pos > agg.video_s && len > 0 {
            new.video_s = pos;
            new.video_len_s = len;
            let (before, after) = (video_pct(agg.video_s, agg.video_len_s), video_pct(pos, len));
            if after > before {
                out.signals.push((SignalKind::Video, after));
            }
        }
    }
    new.last_seen_at_ms = agg.last_seen_at_ms.max(r.now_ms);
    if new != agg {
        out.visit = Some(new);
    }
    out
}

/// Deeper chains are refused: past this, it is a loop or a script.
pub const MAX_FORWARD_DEPTH: i64 = 20;

/// The share a viewer passes on, as storage resolved it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardParent {
    pub token: String,
    pub root_token: String,
    pub item_id: i64,
    /// The partner the parent credits (the root's, for a child).
    pub partner_id: i64,
    pub depth: i64,
}

/// The child share `token` of `parent` for `visitor_id` at `now_ms`, or
/// `None` when the chain is already [`MAX_FORWARD_DEPTH`] deep.
pub fn forward_child(
    parent: &ForwardParent,
    token: String,
    visitor_id: &str,
    now_ms: i64,
) -> Option<ChildShare> {
    (parent.depth < MAX_FORWARD_DEPTH).then(|| ChildShare {
        token,
        parent_token: parent.token.clone(),
        root_token: parent.root_token.clone(),
        item_id: parent.item_id,
        partner_id: parent.partner_id,
        depth: parent.depth + 1,
        visitor_id: visitor_id.to_string(),
        created_at_ms: now_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reloads_inside_the_window_join_the_visit() {
        let now = 10 * RELOAD_WINDOW_MS;
        let latest = |last_seen_at_ms, visit_no| {
            Some(LatestVisit {
                id: 7,
                last_seen_at_ms,
                visit_no,
            })
        };
        // latest visit -> decision
        let table = [
            (None, PageLoad::NewVisit { visit_no: 1 }),
            (latest(now, 1), PageLoad::Reload { visit_id: 7 }),
            (latest(now - 1, 3), PageLoad::Reload { visit_id: 7 }),
            // exactly at the window's edge: still the same visit
            (
                latest(now - RELOAD_WINDOW_MS, 1),
                PageLoad::Reload { visit_id: 7 },
            ),
            (
                latest(now - RELOAD_WINDOW_MS - 1, 1),
                PageLoad::NewVisit { visit_no: 2 },
            ),
            (latest(0, 4), PageLoad::NewVisit { visit_no: 5 }),
            // a clock that went back a little: still a reload
            (latest(now + 5_000, 2), PageLoad::Reload { visit_id: 7 }),
        ];
        for (latest, expected) in table {
            assert_eq!(page_load(latest, now), expected, "{latest:?}");
        }
    }

    #[test]
    fn a_child_share_credits_the_root_partner_up_to_the_depth_limit() {
        let parent = |token: &str, depth| ForwardParent {
            token: token.into(),
            root_token: "root".into(),
            item_id: 4,
            partner_id: 3,
            depth,
        };
        let child = |parent_token: &str, depth| ChildShare {
            token: "c".into(),
            parent_token: parent_token.into(),
            root_token: "root".into(),
            item_id: 4,
            partner_id: 3,
            depth,
            visitor_id: "v".into(),
            created_at_ms: 9,
        };
        // parent -> child
        let table = [
            (parent("root", 0), Some(child("root", 1))),
            (parent("mid", 5), Some(child("mid", 6))),
            (
                parent("last", MAX_FORWARD_DEPTH - 1),
                Some(child("last", MAX_FORWARD_DEPTH)),
            ),
            (parent("deep", MAX_FORWARD_DEPTH), None),
            (parent("deeper", MAX_FORWARD_DEPTH + 3), None),
        ];
        for (p, expected) in table {
            assert_eq!(forward_child(&p, "c".into(), "v", 9), expected, "{p:?}");
        }
    }

    #[test]
    fn a_beacon_raises_values_and_signals_only_what_rose() {
        let agg = VisitAgg {
            dwell_ms: 10_000,
            scroll_pct: 40,
            video_s: 30,
            video_len_s: 120,
            last_seen_at_ms: 1_000,
        };
        let read = |dwell_ms, scroll, video: Option<(i64, i64)>, now_ms| Reading {
            dwell_ms,
            scroll_pct: scroll,
            video_s: video.map(|v| v.0),
            video_len_s: video.map(|v| v.1),
            now_ms,
        };
        let with = |f: fn(&mut VisitAgg)| {
            let mut a = agg;
            f(&mut a);
            Some(a)
        };
        use SignalKind::{Dwell, Scroll, Video};
        // page dwell so far, reading -> (page dwell, visit, signals)
        let table = [
            // nothing new at an old time: nothing written
            (
                4_000,
                read(4_000, Some(40), Some((30, 120)), 900),
                (None, None, vec![]),
            ),
            // nothing new but later: only the last-seen time moves
            (
                4_000,
                read(3_000, Some(10), None, 2_000),
                (None, with(|a| a.last_seen_at_ms = 2_000), vec![]),
            ),
            // dwell adds what this page load gained
            (
                4_000,
                read(6_000, None, None, 1_000),
                (
                    Some(6_000),
                    with(|a| a.dwell_ms = 12_000),
                    vec![(Dwell, 12_000)],
                ),
            ),
            // a visit at the dwell cap: the page's dwell is kept, no signal
            (
                0,
                read(MAX_DWELL_MS + 5, None, None, 1_000),
                (
                    Some(MAX_DWELL_MS),
                    with(|a| a.dwell_ms = MAX_DWELL_MS),
                    vec![(Dwell, MAX_DWELL_MS)],
                ),
            ),
            (
                0,
                read(-5, Some(250), None, 1_000),
                (None, with(|a| a.scroll_pct = 100), vec![(Scroll, 100)]),
            ),
            // video: position past the length counts as the end
            (
                0,
                read(0, None, Some((500, 120)), 1_000),
                (None, with(|a| a.video_s = 120), vec![(Video, 100)]),
            ),
            // further but a lower percent (a longer video): stored, no signal
            (
                0,
                read(0, None, Some((31, 12_000)), 1_000),
                (
                    None,
                    with(|a| {
                        a.video_s = 31;
                        a.video_len_s = 12_000
                    }),
                    vec![],
                ),
            ),
            // no length: ignored
            (0, read(0, None, Some((60, 0)), 1_000), (None, None, vec![])),
            (
                2_000,
                read(3_000, Some(90), Some((90, 120)), 5_000),
                (
                    Some(3_000),
                    with(|a| {
                        a.dwell_ms = 11_000;
                        a.scroll_pct = 90;
                        a.video_s = 90;
                        a.last_seen_at_ms = 5_000;
                    }),
                    vec![(Dwell, 11_000), (Scroll, 90), (Video, 75)],
                ),
            ),
        ];
        for (page, reading, (page_dwell_ms, visit, signals)) in table {
            let expected = AggUpdate {
                page_dwell_ms,
                visit,
                signals,
            };
            assert_eq!(
                apply_reading(agg, page, reading),
                expected,
                "{page} {reading:?}"
            );
        }
    }
}
