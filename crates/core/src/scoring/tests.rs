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
            reasons: vec![
                (R::LeftContact, 1, 10),
                (R::Decayed, 25, 0),
                (R::Cooling, NOW - 28 * DAY, 0),
            ],
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

/// A hot lead left alone: (days since its last signal, grade, cooling?).
#[test]
fn a_hot_lead_cools_day_by_day() {
    let rules = ScoringRules::default();
    let hot = |days_ago: i64| {
        vec![
            s(Contact, 1, days_ago, 0),
            s(Forward, 0, days_ago, 1),
            s(Forward, 0, days_ago, 1),
            s(Forward, 0, days_ago, 1),
            s(View, 0, days_ago, 1),
            s(Scroll, 100, days_ago, 1),
        ]
    };
    let table = [
        (0, Grade::APlus, false),
        (1, Grade::A, true),
        (7, Grade::A, true),
        (8, Grade::B, true),
        (18, Grade::B, true),
        (19, Grade::C, true),
        (30, Grade::C, true),
    ];
    for (days, want, cooling) in table {
        let g = evaluate(
            &rules,
            &hot(days),
            LeadSource::ContactForm,
            man(false, false, false),
            NOW,
        );
        assert_eq!(g.grade, want, "{days} days: {g:?}");
        let c = g.reasons.iter().find(|r| r.code == R::Cooling);
        assert_eq!(c.is_some(), cooling, "{days} days: {g:?}");
        if let Some(c) = c {
            assert_eq!(c.value, NOW - days * DAY, "since the last signal");
        }
    }
}

/// Floors hold while the score cools: a referral stays B, three MAN flags
/// still lift; no decay means no cooling.
#[test]
fn cooling_respects_floors_and_decay_off() {
    let rules = ScoringRules::default();
    let old = [s(Contact, 1, 60, 0)];
    let referral = evaluate(&rules, &old, LeadSource::Referral, ManFlags::default(), NOW);
    assert_eq!(referral.grade, Grade::B);
    assert!(referral.reasons.iter().all(|r| r.code != R::Cooling));
    let all = evaluate(
        &rules,
        &old,
        LeadSource::ContactForm,
        man(true, true, true),
        NOW,
    );
    assert_eq!(all.grade, Grade::A, "C lifted two steps, was A+ when fresh");
    assert!(all.reasons.iter().any(|r| r.code == R::Cooling));
    let off = ScoringRules {
        half_life_days: 0,
        ..ScoringRules::default()
    };
    let kept = evaluate(
        &off,
        &old,
        LeadSource::ContactForm,
        ManFlags::default(),
        NOW,
    );
    assert_eq!(kept.grade, Grade::B);
    assert!(kept.reasons.iter().all(|r| r.code != R::Cooling));
}

/// The periodic job's decision: (stored grade, days since the hot signals,
/// the new grade to write or none).
#[test]
fn regrade_only_when_the_grade_changes() {
    let rules = ScoringRules::default();
    let hot = |days_ago: i64| {
        vec![
            s(Contact, 1, days_ago, 0),
            s(Forward, 0, days_ago, 1),
            s(Forward, 0, days_ago, 1),
            s(Forward, 0, days_ago, 1),
            s(View, 0, days_ago, 1),
            s(Scroll, 100, days_ago, 1),
        ]
    };
    let table = [
        (Grade::APlus, 0, None),
        (Grade::APlus, 30, Some(Grade::C)),
        (Grade::APlus, 5, Some(Grade::A)),
        (Grade::A, 5, None),
        (Grade::C, 30, None),
    ];
    for (stored, days, want) in table {
        let got = regrade(
            &rules,
            &hot(days),
            LeadSource::ContactForm,
            ManFlags::default(),
            stored,
            NOW,
        )
        .map(|g| g.grade);
        assert_eq!(got, want, "stored {stored:?}, {days} days");
    }
}

#[test]
fn a_grading_changes_the_lead_when_any_part_differs() {
    let lead: crate::lead::Lead = serde_json::from_value(serde_json::json!({
        "id": 1, "company_id": 1, "rep_id": 2, "partner_id": 3, "name": "王",
        "phone": "+8613800138000", "note": "", "source": "contact_form",
        "share_token": null, "item_id": null, "score": 40, "grade": "B",
        "reasons": [], "man": {"money": false, "authority": false, "need": false},
        "stage": "new", "created_at_ms": 0, "updated_at_ms": 0, "contacts": 1
    }))
    .unwrap();
    let reason = evaluate(
        &ScoringRules::default(),
        &[s(Contact, 1, 0, 0)],
        LeadSource::ContactForm,
        ManFlags::default(),
        NOW,
    )
    .reasons;
    assert!(!reason.is_empty());
    let graded = |score, grade, reasons: &Vec<crate::lead::Reason>| Graded {
        score,
        grade,
        reasons: reasons.clone(),
    };
    // grading -> changes the lead (score 40, B, no reasons)
    let table = [
        (graded(40, Grade::B, &vec![]), false),
        (graded(41, Grade::B, &vec![]), true),
        (graded(40, Grade::A, &vec![]), true),
        (graded(40, Grade::B, &reason), true),
    ];
    for (g, expected) in table {
        assert_eq!(g.changes(&lead), expected, "{g:?}");
    }
}

#[test]
fn only_a_and_a_plus_are_hot() {
    let table = [
        (Grade::APlus, true),
        (Grade::A, true),
        (Grade::B, false),
        (Grade::C, false),
    ];
    for (grade, hot) in table {
        assert_eq!(grade.is_hot(), hot, "{grade:?}");
    }
}

/// Time alone never raises a grade (what lets the hourly regrade skip
/// leads that cannot cool): for every case, the grade a day, a week and
/// three months later is never above today's; a grade that may not cool
/// never changes.
#[test]
fn time_alone_never_raises_a_grade() {
    let rules = ScoringRules::default();
    for case in cases() {
        let today = evaluate(&rules, &case.signals, case.source, case.man, NOW);
        for later in [DAY, 7 * DAY, 90 * DAY] {
            let then = evaluate(&rules, &case.signals, case.source, case.man, NOW + later);
            assert!(
                then.grade <= today.grade,
                "{}: {:?} -> {:?}",
                case.name,
                today.grade,
                then.grade
            );
            if !may_cool(today.grade) {
                assert_eq!(
                    regrade(
                        &rules,
                        &case.signals,
                        case.source,
                        case.man,
                        today.grade,
                        NOW + later
                    ),
                    None,
                    "{}",
                    case.name
                );
            }
        }
    }
    let coolable: Vec<Grade> = Grade::ALL.into_iter().filter(|g| may_cool(*g)).collect();
    assert_eq!(coolable, [Grade::APlus, Grade::A, Grade::B]);
}
