use super::*;
use crate::lead::ReasonCode as R;

const NOW: i64 = 1_800_000_000_000;
const DAY: i64 = 86_400_000;

fn s(kind: SignalKind, value: i64, days_ago: i64, visit_id: i64) -> SignalFact {
    SignalFact {
        kind,
        value,
        at_ms: NOW - days_ago * DAY,
        visit_id,
    }
}

fn man(m: bool, a: bool, n: bool) -> ManFlags {
    ManFlags {
        money: m,
        authority: a,
        need: n,
    }
}

use SignalKind::*;

struct Case {
    name: &'static str,
    signals: Vec<SignalFact>,
    source: LeadSource,
    man: ManFlags,
    score: i64,
    grade: Grade,
    reasons: Vec<(R, i64, i64)>,
}

fn cases() -> Vec<Case> {
    let none = ManFlags::default();
    vec![
        Case {
            name: "contact only, today",
            signals: vec![s(Contact, 1, 0, 0)],
            source: LeadSource::ContactForm,
            man: none,
            score: 40,
            grade: Grade::B,
            reasons: vec![(R::LeftContact, 1, 40)],
        },
        Case {
            name: "contact a month ago cools to C",
            signals: vec![s(Contact, 1, 28, 0)],
            source: LeadSource::ContactForm,
            man: none,
            score: 10,
            grade: Grade::C,
            reasons: vec![(R::LeftContact, 1, 10), (R::Decayed, 25, 0)],
        },
        Case {
            name: "engaged reader who came back and left contact",
            signals: vec![
                s(View, 0, 0, 1),
                s(Dwell, 30_000, 0, 1),
                s(Dwell, 150_000, 0, 1),
                s(Scroll, 40, 0, 1),
                s(Scroll, 90, 0, 1),
                s(View, 0, 0, 2),
                s(RepeatVisit, 2, 0, 2),
                s(Dwell, 70_000, 0, 2),
                s(Contact, 1, 0, 0),
            ],
            source: LeadSource::ContactForm,
            man: none,
            // contact 40 + repeat 10 + read 10 + dwell (3 whole minutes * 4 = 12) + views 10
            score: 82,
            grade: Grade::A,
            reasons: vec![
                (R::LeftContact, 1, 40),
                (R::RepeatVisits, 2, 10),
                (R::ReadDeep, 90, 10),
                (R::LongDwell, 220, 12),
                (R::Viewed, 2, 10),
            ],
        },
        Case {
            name: "video watcher who forwarded twice",
            signals: vec![
                s(View, 0, 0, 1),
                s(Video, 55, 0, 1),
                s(Video, 95, 0, 1),
                s(Forward, 0, 0, 1),
                s(Forward, 0, 0, 1),
                s(Contact, 1, 0, 0),
            ],
            source: LeadSource::ContactForm,
            man: none,
            score: 40 + 30 + 15 + 5,
            grade: Grade::A,
            reasons: vec![
                (R::LeftContact, 1, 40),
                (R::Forwarded, 2, 30),
                (R::WatchedVideo, 95, 15),
                (R::Viewed, 1, 5),
            ],
        },
        Case {
            name: "dwell points are capped",
            signals: vec![s(View, 0, 0, 1), s(Dwell, 3_600_000, 0, 1)],
            source: LeadSource::ContactForm,
            man: none,
            score: 25,
            grade: Grade::C,
            reasons: vec![(R::LongDwell, 3600, 20), (R::Viewed, 1, 5)],
        },
        Case {
            name: "direct referral with no clicks is at least B",
            signals: vec![],
            source: LeadSource::Referral,
            man: none,
            score: 0,
            grade: Grade::B,
            reasons: vec![(R::DirectReferral, 1, 0)],
        },
        Case {
            name: "one MAN flag does not move the grade",
            signals: vec![s(Contact, 1, 0, 0)],
            source: LeadSource::ContactForm,
            man: man(false, false, true),
            score: 40,
            grade: Grade::B,
            reasons: vec![(R::LeftContact, 1, 40), (R::ManNeed, 1, 0)],
        },
        Case {
            name: "two MAN flags raise one step",
            signals: vec![s(Contact, 1, 0, 0)],
            source: LeadSource::ContactForm,
            man: man(true, false, true),
            score: 40,
            grade: Grade::A,
            reasons: vec![
                (R::LeftContact, 1, 40),
                (R::ManMoney, 1, 0),
                (R::ManNeed, 1, 0),
            ],
        },
        Case {
            name: "two MAN flags never make A+",
            signals: vec![
                s(Contact, 1, 0, 0),
                s(Forward, 0, 0, 1),
                s(Forward, 0, 0, 1),
            ],
            source: LeadSource::ContactForm,
            man: man(true, true, false),
            score: 70,
            grade: Grade::A,
            reasons: vec![
                (R::LeftContact, 1, 40),
                (R::Forwarded, 2, 30),
                (R::ManMoney, 1, 0),
                (R::ManAuthority, 1, 0),
            ],
        },
        Case {
            name: "all three MAN flags on a B make A+",
            signals: vec![s(Contact, 1, 0, 0)],
            source: LeadSource::ContactForm,
            man: man(true, true, true),
            score: 40,
            grade: Grade::APlus,
            reasons: vec![
                (R::LeftContact, 1, 40),
                (R::ManMoney, 1, 0),
                (R::ManAuthority, 1, 0),
                (R::ManNeed, 1, 0),
            ],
        },
        Case {
            name: "a high score alone is A+",
            signals: vec![
                s(Contact, 1, 0, 0),
                s(Forward, 0, 0, 1),
                s(Forward, 0, 0, 1),
                s(Forward, 0, 0, 1),
                s(View, 0, 0, 1),
                s(Scroll, 100, 0, 1),
            ],
            source: LeadSource::ContactForm,
            man: none,
            score: 100,
            grade: Grade::APlus,
            reasons: vec![
                (R::LeftContact, 1, 40),
                (R::Forwarded, 3, 45),
                (R::ReadDeep, 100, 10),
                (R::Viewed, 1, 5),
            ],
        },
    ]
}

#[test]
fn table() {
    let rules = ScoringRules::default();
    for c in cases() {
        let g = evaluate(&rules, &c.signals, c.source, c.man, NOW);
        let got: Vec<(R, i64, i64)> = g
            .reasons
            .iter()
            .map(|r| (r.code, r.value, r.points))
            .collect();
        assert_eq!(
            (g.score, g.grade),
            (c.score, c.grade),
            "{}: {got:?}",
            c.name
        );
        assert_eq!(got, c.reasons, "{}", c.name);
    }
}

#[test]
fn reasons_are_stable_whatever_the_signal_order() {
    let rules = ScoringRules::default();
    for c in cases() {
        let mut rev = c.signals.clone();
        rev.reverse();
        let a = evaluate(&rules, &c.signals, c.source, c.man, NOW);
        let b = evaluate(&rules, &rev, c.source, c.man, NOW);
        assert_eq!(a, b, "{}", c.name);
    }
}

#[test]
fn companies_tune_weights_and_decay() {
    let signals = [s(Contact, 1, 14, 0)];
    let default = evaluate(
        &ScoringRules::default(),
        &signals,
        LeadSource::ContactForm,
        ManFlags::default(),
        NOW,
    );
    assert_eq!(default.score, 20, "one half-life halves the points");
    let no_decay = ScoringRules {
        half_life_days: 0,
        contact: 80,
        ..ScoringRules::default()
    };
    let tuned = evaluate(
        &no_decay,
        &signals,
        LeadSource::ContactForm,
        ManFlags::default(),
        NOW,
    );
    assert_eq!((tuned.score, tuned.grade), (80, Grade::A));
}

#[test]
fn validates_rules() {
    assert!(ScoringRules::default().validate().is_ok());
    let bad = ScoringRules {
        a_at: 10,
        ..ScoringRules::default()
    };
    assert!(bad.validate().is_err());
    let neg = ScoringRules {
        view: -1,
        ..ScoringRules::default()
    };
    assert!(neg.validate().is_err());
    // Partial JSON keeps defaults for the rest.
    let partial: ScoringRules = serde_json::from_str(r#"{"contact": 60}"#).unwrap();
    assert_eq!(partial.contact, 60);
    assert_eq!(partial.view, ScoringRules::default().view);
}
