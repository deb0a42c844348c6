//! [`LeadStore`]: one lead per phone and company (the unique key refuses a
//! second), a lead reads back as captured, merged, flagged and scored, and
//! another company's phone, visitors and leads are not this company's.

use std::collections::BTreeSet;

use warmlead_core::lead::{Grade, LeadSource, LeadStage, ManFlags};
use warmlead_core::scoring::ScoringRules;

use super::{Fixture, Member, DAY_MS, NOW};
use crate::storage::{record_contact, Stores};

fn one_lead_per_phone(s: &Stores<'_>, w: &Fixture) {
    let leads = s.leads();
    let (share_a, share_b) = (w.share(s, &w.a, 1), w.share(s, &w.b, 1));
    let phone = "+8613800138000";
    let id = leads
        .insert(&share_a, "王小明", phone, "想了解一下价格", NOW)
        .unwrap()
        .expect("a new lead");
    assert_eq!(
        leads
            .insert(&share_a, "王小明", phone, "又来了", NOW + 1)
            .unwrap(),
        None,
        "the unique key refuses a second lead of the phone"
    );
    let other = leads
        .insert(&share_b, "王小明", phone, "", NOW)
        .unwrap()
        .expect("the same person is another company's lead too");
    assert_ne!(id, other);

    let lead = leads.get(id).unwrap().expect("stored");
    assert_eq!(
        (lead.company_id, lead.rep_id, lead.partner_id, lead.item_id),
        (
            w.a.company.id,
            Some(w.a.rep.id),
            w.a.partner.id,
            Some(w.a.item.id)
        )
    );
    assert_eq!(
        (lead.name.as_str(), lead.phone.as_str(), lead.note.as_str()),
        ("王小明", phone, "想了解一下价格")
    );
    assert_eq!(lead.share_token.as_deref(), Some(share_a.token.as_str()));
    assert_eq!(
        (
            lead.source,
            lead.stage,
            lead.grade,
            lead.score,
            lead.contacts
        ),
        (LeadSource::ContactForm, LeadStage::New, Grade::C, 0, 1)
    );
    assert_eq!((lead.man, lead.reasons.len()), (ManFlags::default(), 0));
    assert_eq!((lead.created_at_ms, lead.updated_at_ms), (NOW, NOW));
    assert!(leads.get(other + 1000).unwrap().is_none());

    let ids = |c| -> Vec<i64> { leads.of_company(c).unwrap().iter().map(|l| l.id).collect() };
    assert_eq!(ids(w.a.company.id), vec![id]);
    assert_eq!(ids(w.b.company.id), vec![other]);
}

#[test]
fn one_person_is_one_lead_per_company() {
    let w = Fixture::new();
    w.run(|s| one_lead_per_phone(s, &w));
}

fn merged_and_flagged(s: &Stores<'_>, w: &Fixture) {
    let leads = s.leads();
    let share = w.share(s, &w.a, 1);
    let phone = "+8613800138000";
    let id = leads
        .insert(&share, "王小明", phone, "第一次", NOW)
        .unwrap()
        .unwrap();
    let found = leads
        .by_phone_locked(w.a.company.id, phone)
        .unwrap()
        .expect("found");
    assert_eq!((found.id, found.note.as_str()), (id, "第一次"));
    assert!(
        leads
            .by_phone_locked(w.b.company.id, phone)
            .unwrap()
            .is_none(),
        "a's lead"
    );
    assert!(leads
        .by_phone_locked(w.a.company.id, "+8613800138001")
        .unwrap()
        .is_none());

    leads.merge_contact(id, "第一次\n第二次", NOW + 1).unwrap();
    let lead = leads.locked(id).unwrap().expect("locked and read");
    assert_eq!(
        (lead.note.as_str(), lead.contacts, lead.updated_at_ms),
        ("第一次\n第二次", 2, NOW + 1)
    );
    assert_eq!(lead.created_at_ms, NOW);
    assert!(leads.locked(id + 1000).unwrap().is_none());

    let man = ManFlags {
        money: true,
        authority: false,
        need: true,
    };
    leads.set_man(id, man).unwrap();
    assert_eq!(leads.get(id).unwrap().unwrap().man, man);
}

#[test]
fn a_lead_merges_contacts_and_keeps_its_man_flags() {
    let w = Fixture::new();
    w.run(|s| merged_and_flagged(s, &w));
}

fn rules_are_the_companys(s: &Stores<'_>, w: &Fixture) {
    let leads = s.leads();
    assert_eq!(
        leads.rules(w.a.company.id).unwrap(),
        ScoringRules::default()
    );
    let mine = ScoringRules {
        contact: 80,
        half_life_days: 0,
        ..ScoringRules::default()
    };
    leads.set_rules(w.a.company.id, &mine, NOW).unwrap();
    assert_eq!(leads.rules(w.a.company.id).unwrap(), mine);
    assert_eq!(
        leads.rules(w.b.company.id).unwrap(),
        ScoringRules::default()
    );
    let again = ScoringRules {
        view: 7,
        ..mine.clone()
    };
    leads.set_rules(w.a.company.id, &again, NOW).unwrap();
    assert_eq!(leads.rules(w.a.company.id).unwrap(), again, "replaced");
    let invalid = ScoringRules {
        b_at: 500,
        ..ScoringRules::default()
    };
    assert!(leads.set_rules(w.a.company.id, &invalid, NOW).is_err());
}

#[test]
fn scoring_rules_are_the_companys_own() {
    let w = Fixture::new();
    w.run(|s| rules_are_the_companys(s, &w));
}

/// A lead of `m`'s share whose browser left its contact at `NOW` (a
/// contact signal, worth a B with the default rules).
fn contacted(s: &Stores<'_>, w: &Fixture, m: &Member, visitor: &str) -> (i64, i64) {
    let share = w.share(s, m, 1);
    let id = s
        .leads()
        .insert(&share, "王小明", "+8613800138000", "", NOW)
        .unwrap()
        .unwrap();
    s.leads().attach_visitor(id, visitor).unwrap();
    s.leads().attach_visitor(id, visitor).unwrap();
    record_contact(s.legacy(), &share, visitor, id, NOW).unwrap();
    (m.company.id, id)
}

fn scored_from_signals(s: &Stores<'_>, w: &Fixture) {
    let leads = s.leads();
    let (a, id) = contacted(s, w, &w.a, "browser-1");
    let (b, other) = contacted(s, w, &w.b, "browser-1");
    // The visitor of another company: a's lead is not rescored.
    let visitors = BTreeSet::from([(b, "browser-1".to_string())]);
    leads.rescore_visitors(&visitors, NOW).unwrap();
    assert_eq!(leads.get(id).unwrap().unwrap().grade, Grade::C);
    assert_eq!(leads.get(other).unwrap().unwrap().grade, Grade::B);

    let visitors = BTreeSet::from([(a, "browser-1".to_string())]);
    leads.rescore_visitors(&visitors, NOW).unwrap();
    let lead = leads.get(id).unwrap().unwrap();
    assert_eq!((lead.grade, lead.score), (Grade::B, 40));
    assert_eq!(lead.reasons.len(), 1);
    let (again, before) = leads.rescore(id, NOW, false).unwrap().unwrap();
    assert_eq!(
        (again.grade, before),
        (Grade::B, Grade::B),
        "nothing changed"
    );
    let (forced, _) = leads.rescore(id, NOW + 1, true).unwrap().unwrap();
    assert_eq!(forced.updated_at_ms, NOW + 1, "written when forced");
    assert!(leads.rescore(other + 1000, NOW, false).unwrap().is_none());
}

#[test]
fn a_lead_is_scored_from_its_own_companys_signals() {
    let w = Fixture::new();
    w.run(|s| scored_from_signals(s, &w));
}

fn cooled(s: &Stores<'_>, w: &Fixture) {
    let leads = s.leads();
    let (a, id) = contacted(s, w, &w.a, "browser-1");
    leads.rescore(id, NOW, false).unwrap();
    let (b, other) = contacted(s, w, &w.b, "browser-2");
    leads.rescore(other, NOW, false).unwrap();
    let later = NOW + 30 * DAY_MS;
    assert_eq!(leads.regrade_cooled(a, NOW).unwrap(), 0, "still true");
    assert_eq!(leads.regrade_cooled(a, later).unwrap(), 1);
    assert_eq!(leads.regrade_cooled(a, later).unwrap(), 0, "cooled once");
    let lead = leads.get(id).unwrap().unwrap();
    assert_eq!(lead.grade, Grade::C);
    assert_eq!(lead.updated_at_ms, NOW, "cooling is no activity");
    assert_eq!(
        leads.get(other).unwrap().unwrap().grade,
        Grade::B,
        "b's lead"
    );
    assert_eq!(leads.regrade_cooled(b, later).unwrap(), 1);
}

#[test]
fn leads_cool_once_and_only_in_their_company() {
    let w = Fixture::new();
    w.run(|s| cooled(s, &w));
}

fn new_rules_rescore(s: &Stores<'_>, w: &Fixture) {
    let leads = s.leads();
    let (a, id) = contacted(s, w, &w.a, "browser-1");
    let (b, other) = contacted(s, w, &w.b, "browser-2");
    for lead in [id, other] {
        leads.rescore(lead, NOW, false).unwrap();
    }
    let generous = ScoringRules {
        contact: 80,
        ..ScoringRules::default()
    };
    leads.set_rules(a, &generous, NOW + 1).unwrap();
    let lead = leads.get(id).unwrap().unwrap();
    assert_eq!(
        (lead.score, lead.grade),
        (80, Grade::A),
        "rescored with a's rules"
    );
    let theirs = leads.get(other).unwrap().unwrap();
    assert_eq!(
        (theirs.score, theirs.grade),
        (40, Grade::B),
        "b's rules stay"
    );
    assert_eq!(leads.rules(b).unwrap(), ScoringRules::default());
}

#[test]
fn new_rules_rescore_only_the_companys_leads() {
    let w = Fixture::new();
    w.run(|s| new_rules_rescore(s, &w));
}

/// What the leads' pages read in a snapshot.
#[test]
fn leads_answer_in_a_read_only_snapshot() {
    let w = Fixture::new();
    let (a, id) = w.run(|s| contacted(s, &w, &w.a, "browser-1"));
    let lead = w.run(|s| s.leads().get(id).unwrap().unwrap());
    w.read(|s| {
        let leads = s.leads();
        assert_eq!(leads.get(id).unwrap(), Some(lead.clone()));
        assert_eq!(leads.of_company(a).unwrap(), vec![lead.clone()]);
        assert_eq!(leads.rules(a).unwrap(), ScoringRules::default());
    });
}
