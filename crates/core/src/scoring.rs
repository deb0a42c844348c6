//! Intent score and grade: pure functions of a lead's signals, the company's
//! rules, the lead's source and the rep's MAN flags.
//!
//! Score: each signal kind earns points under the company's weights; every
//! signal's points halve every `half_life_days` (old interest cools). Grade:
//! thresholds on the score, then the source's floor, then MAN steps:
//! - score >= `a_plus_at` → A+, >= `a_at` → A, >= `b_at` → B, else C;
//! - a lead the partner referred directly is at least B;
//! - two MAN flags raise the grade one step (at most to A); all three raise
//!   it two steps (A+ possible). One flag alone does not move the grade.
//!
//! The reasons list is stable: one entry per rule that counted, in
//! [`REASON_ORDER`], so the same facts always explain the same way.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::lead::{Grade, LeadSource, ManFlags, Reason, ReasonCode, SignalKind};

/// A company's tunable weights. Stored per company as JSON; defaults below.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(default)]
pub struct ScoringRules {
    /// Per visit.
    pub view: i64,
    /// Per full minute of visible time, summed over visits...
    pub dwell_per_minute: i64,
    /// ...up to this many points.
    pub dwell_max: i64,
    /// Reading at least 75% of the page.
    pub read_deep: i64,
    /// Watching at least half of the video...
    pub video_half: i64,
    /// ...or at least 90% of it (replaces `video_half`).
    pub video_most: i64,
    /// Per return visit (after the reload window).
    pub repeat_visit: i64,
    /// Per time the item was passed on.
    pub forward: i64,
    /// Leaving name and phone.
    pub contact: i64,
    /// Signals' points halve every this many days; 0 turns decay off.
    pub half_life_days: i64,
    pub a_plus_at: i64,
    pub a_at: i64,
    pub b_at: i64,
}

impl Default for ScoringRules {
    fn default() -> Self {
        ScoringRules {
            view: 5,
            dwell_per_minute: 4,
            dwell_max: 20,
            read_deep: 10,
            video_half: 10,
            video_most: 15,
            repeat_visit: 10,
            forward: 15,
            contact: 40,
            half_life_days: 14,
            a_plus_at: 100,
            a_at: 70,
            b_at: 40,
        }
    }
}

impl ScoringRules {
    /// Weights must be 0..=1000 and thresholds ordered, so a typo cannot
    /// make every lead A+.
    pub fn validate(&self) -> Result<(), crate::CoreError> {
        let weights = [
            self.view,
            self.dwell_per_minute,
            self.dwell_max,
            self.read_deep,
            self.video_half,
            self.video_most,
            self.repeat_visit,
            self.forward,
            self.contact,
            self.half_life_days,
        ];
        if weights.iter().any(|w| !(0..=1000).contains(w)) {
            return Err(crate::CoreError::Invalid {
                field: "rules",
                reason: "weights and half_life_days must be 0 to 1000".into(),
            });
        }
        if !(0 < self.b_at && self.b_at < self.a_at && self.a_at < self.a_plus_at) {
            return Err(crate::CoreError::Invalid {
                field: "rules",
                reason: "thresholds must satisfy 0 < b_at < a_at < a_plus_at".into(),
            });
        }
        Ok(())
    }
}

/// One signal as the scorer sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignalFact {
    pub kind: SignalKind,
    pub value: i64,
    pub at_ms: i64,
    /// Groups dwell/scroll/video by visit (their values are per-visit maxima).
    pub visit_id: i64,
}

/// The order reasons are listed in.
pub const REASON_ORDER: [ReasonCode; 13] = [
    ReasonCode::LeftContact,
    ReasonCode::DirectReferral,
    ReasonCode::Forwarded,
    ReasonCode::RepeatVisits,
    ReasonCode::WatchedVideo,
    ReasonCode::ReadDeep,
    ReasonCode::LongDwell,
    ReasonCode::Viewed,
    ReasonCode::ManMoney,
    ReasonCode::ManAuthority,
    ReasonCode::ManNeed,
    ReasonCode::Decayed,
    ReasonCode::Cooling,
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scored {
    pub score: i64,
    pub reasons: Vec<Reason>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Graded {
    pub score: i64,
    pub grade: Grade,
    pub reasons: Vec<Reason>,
}

impl Graded {
    /// Whether storing this grading changes `lead` (then devices hear of it).
    pub fn changes(&self, lead: &crate::lead::Lead) -> bool {
        self.score != lead.score || self.grade != lead.grade || self.reasons != lead.reasons
    }
}

const DAY_MS: f64 = 86_400_000.0;

fn decay(rules: &ScoringRules, at_ms: i64, now_ms: i64) -> f64 {
    if rules.half_life_days <= 0 {
        return 1.0;
    }
    let age_days = (now_ms - at_ms).max(0) as f64 / DAY_MS;
    0.5f64.powf(age_days / rules.half_life_days as f64)
}

/// Per-visit maxima of a per-visit kind, each with the time it was reached.
fn best_per_visit(signals: &[SignalFact], kind: SignalKind) -> Vec<(i64, i64)> {
    let mut best: std::collections::BTreeMap<i64, (i64, i64)> = Default::default();
    for s in signals.iter().filter(|s| s.kind == kind) {
        let e = best.entry(s.visit_id).or_insert((s.value, s.at_ms));
        if s.value > e.0 {
            *e = (s.value, s.at_ms);
        }
    }
    best.into_values().collect()
}

/// The intent score with the reasons that earned points.
pub fn score(rules: &ScoringRules, signals: &[SignalFact], now_ms: i64) -> Scored {
    // (code, value, raw points, decayed points)
    let mut parts: Vec<(ReasonCode, i64, f64, f64)> = Vec::new();
    let mut add = |code, value, items: &[(f64, i64)]| {
        let raw: f64 = items.iter().map(|(p, _)| p).sum();
        let kept: f64 = items
            .iter()
            .map(|(p, at)| p * decay(rules, *at, now_ms))
            .sum();
        if raw > 0.0 {
            parts.push((code, value, raw, kept));
        }
    };
    let of = |k: SignalKind| signals.iter().filter(move |s| s.kind == k);
    let each = |k: SignalKind, w: i64| of(k).map(|s| (w as f64, s.at_ms)).collect::<Vec<_>>();

    add(
        ReasonCode::LeftContact,
        1,
        &each(SignalKind::Contact, rules.contact)[..1.min(of(SignalKind::Contact).count())],
    );
    add(
        ReasonCode::Forwarded,
        of(SignalKind::Forward).count() as i64,
        &each(SignalKind::Forward, rules.forward),
    );
    let visits = of(SignalKind::View).count() as i64;
    add(
        ReasonCode::RepeatVisits,
        visits,
        &each(SignalKind::RepeatVisit, rules.repeat_visit),
    );

    let video = best_per_visit(signals, SignalKind::Video);
    let best_video = video.iter().map(|v| v.0).max().unwrap_or(0);
    let video_pts: Vec<(f64, i64)> = video
        .iter()
        .filter_map(|(pct, at)| match pct {
            90.. => Some((rules.video_most as f64, *at)),
            50.. => Some((rules.video_half as f64, *at)),
            _ => None,
        })
        .take(1)
        .collect();
    add(ReasonCode::WatchedVideo, best_video, &video_pts);

    let scroll = best_per_visit(signals, SignalKind::Scroll);
    let best_scroll = scroll.iter().map(|v| v.0).max().unwrap_or(0);
    let deep: Vec<(f64, i64)> = scroll
        .iter()
        .filter(|(pct, _)| *pct >= 75)
        .map(|(_, at)| (rules.read_deep as f64, *at))
        .take(1)
        .collect();
    add(ReasonCode::ReadDeep, best_scroll, &deep);

    let dwell = best_per_visit(signals, SignalKind::Dwell);
    let total_ms: i64 = dwell.iter().map(|d| d.0).sum();
    let latest = dwell.iter().map(|d| d.1).max().unwrap_or(now_ms);
    let dwell_pts = ((total_ms / 60_000) * rules.dwell_per_minute).min(rules.dwell_max);
    add(
        ReasonCode::LongDwell,
        total_ms / 1000,
        &[(dwell_pts as f64, latest)],
    );
    add(
        ReasonCode::Viewed,
        visits,
        &each(SignalKind::View, rules.view),
    );

    let raw: f64 = parts.iter().map(|p| p.2).sum();
    let kept: f64 = parts.iter().map(|p| p.3).sum();
    let mut reasons: Vec<Reason> = parts
        .iter()
        .map(|(code, value, _, k)| Reason {
            code: *code,
            value: *value,
            points: k.round() as i64,
        })
        .collect();
    let score = kept.round() as i64;
    if raw > 0.0 && (raw.round() as i64) > score {
        reasons.push(Reason {
            code: ReasonCode::Decayed,
            value: ((kept / raw) * 100.0).round() as i64,
            points: 0,
        });
    }
    Scored { score, reasons }
}

/// The grade from the score, the source and the MAN flags, with every reason.
pub fn grade(rules: &ScoringRules, scored: Scored, source: LeadSource, man: ManFlags) -> Graded {
    let Scored { score, mut reasons } = scored;
    let mut g = if score >= rules.a_plus_at {
        Grade::APlus
    } else if score >= rules.a_at {
        Grade::A
    } else if score >= rules.b_at {
        Grade::B
    } else {
        Grade::C
    };
    // Someone a partner vouched for in person is warm whatever they clicked.
    if source == LeadSource::Referral {
        g = g.max(Grade::B);
        reasons.push(Reason {
            code: ReasonCode::DirectReferral,
            value: 1,
            points: 0,
        });
    }
    g = match man.count() {
        3 => g.up().up(),
        2 => g.up().min(Grade::A).max(g),
        _ => g,
    };
    for (set, code) in [
        (man.money, ReasonCode::ManMoney),
        (man.authority, ReasonCode::ManAuthority),
        (man.need, ReasonCode::ManNeed),
    ] {
        if set {
            reasons.push(Reason {
                code,
                value: 1,
                points: 0,
            });
        }
    }
    reasons.sort_by_key(|r| REASON_ORDER.iter().position(|c| *c == r.code));
    Graded {
        score,
        grade: g,
        reasons,
    }
}

/// Score and grade in one call. When the grade at `now_ms` is lower than it
/// was at the last signal, a [`ReasonCode::Cooling`] reason says since when
/// nothing happened.
pub fn evaluate(
    rules: &ScoringRules,
    signals: &[SignalFact],
    source: LeadSource,
    man: ManFlags,
    now_ms: i64,
) -> Graded {
    let mut graded = grade(rules, score(rules, signals, now_ms), source, man);
    let last = signals
        .iter()
        .map(|s| s.at_ms)
        .filter(|at| *at < now_ms)
        .max();
    if let Some(last) = last {
        let peak = grade(rules, score(rules, signals, last), source, man).grade;
        if peak > graded.grade {
            graded.reasons.push(Reason {
                code: ReasonCode::Cooling,
                value: last,
                points: 0,
            });
        }
    }
    graded
}

/// The lead's grade at `now_ms` when it differs from the `stored` one: what
/// the server's periodic regrade applies (a grade otherwise only changes when
/// an event arrives). `None`: the stored grade is still true.
pub fn regrade(
    rules: &ScoringRules,
    signals: &[SignalFact],
    source: LeadSource,
    man: ManFlags,
    stored: Grade,
    now_ms: i64,
) -> Option<Graded> {
    let now = evaluate(rules, signals, source, man, now_ms);
    (now.grade != stored).then_some(now)
}

/// The grades time alone can still lower: decay only ever lowers a score,
/// so without a new signal a lead graded C stays C. The hourly regrade
/// looks only at leads stored with one of these.
pub fn may_cool(stored: Grade) -> bool {
    stored > Grade::C
}

#[cfg(test)]
mod tests;
