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

use crate::lead::ChildShare;

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
}
