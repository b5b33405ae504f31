//! The eligibility engine against the default rule book: one test per rule.

mod common;
use chrono::NaiveDate;
use common::{cycle, d};
use recert_domain::eligibility::{Eligibility, EntryFacts, evaluate};
use recert_domain::rules::{CredentialRules, RuleBook};
use recert_domain::{Credential, Cycle, EntryId, Hours, ProviderCategory};
use uuid::Uuid;

use ProviderCategory::{ApprovedProvider, DigitalHealthCanada, Other, Society};

fn rules(credential: Credential) -> CredentialRules {
    RuleBook::default_rules()
        .for_cycle_starting(d(2023, 9, 1))
        .credential(credential)
        .clone()
}

/// An entry completed mid-cycle; `hours` and `ethics` in hundredths.
fn entry(
    n: u128,
    category: ProviderCategory,
    canadian: bool,
    hours: u32,
    ethics: u32,
) -> EntryFacts {
    EntryFacts {
        id: EntryId(Uuid::from_u128(n)),
        completed_on: d(2025, 3, 14),
        hours: Hours(hours),
        ethics_hours: Hours(ethics),
        category,
        canadian_content: canadian,
    }
}

fn on(mut e: EntryFacts, day: NaiveDate) -> EntryFacts {
    e.completed_on = day;
    e
}

/// (counted, shortfall) of requirement `req` of set `set`.
fn req(e: &Eligibility, set: &str, req: &str) -> (Hours, Hours) {
    e.sets
        .iter()
        .filter(|s| s.key == set)
        .flat_map(|s| &s.requirements)
        .find(|r| r.key == req)
        .map_or((Hours(u32::MAX), Hours(u32::MAX)), |r| {
            (r.counted, r.shortfall)
        })
}

/// Hours of entry `i` placed in `set`.
fn share(e: &Eligibility, i: usize, set: &str) -> Hours {
    e.allocation[i]
        .shares
        .iter()
        .filter(|s| s.set == set)
        .map(|s| s.hours)
        .sum()
}

fn messages(e: &Eligibility) -> Vec<&str> {
    e.gaps.iter().map(|g| g.message.as_str()).collect()
}

#[test]
fn cphims_45_total_25_approved_2_ethics_met_exactly() {
    let entries = [
        entry(1, Society, false, 1500, 200),
        entry(2, ApprovedProvider, false, 1000, 0),
        entry(3, Other, false, 2000, 0),
    ];
    let e = evaluate(&rules(Credential::Cphims), &cycle(), &entries);
    assert!(e.met, "{:?}", e.gaps);
    assert!(e.gaps.is_empty());
    assert_eq!(req(&e, "core", "total"), (Hours(4500), Hours::ZERO));
    assert_eq!(req(&e, "core", "approved"), (Hours(2500), Hours::ZERO));
    assert_eq!(req(&e, "core", "ethics"), (Hours(200), Hours::ZERO));
}

#[test]
fn cphims_one_hundredth_short_of_the_total_is_not_met() {
    let entries = [
        entry(1, Society, false, 2500, 200),
        entry(2, Other, false, 1999, 0),
    ];
    let e = evaluate(&rules(Credential::Cphims), &cycle(), &entries);
    assert!(!e.met);
    assert_eq!(req(&e, "core", "total"), (Hours(4499), Hours(1)));
    assert_eq!(messages(&e), ["0.01 h total hours"]);
}

#[test]
fn cphims_without_ethics_reports_a_two_hour_ethics_shortfall() {
    let entries = [
        entry(1, Society, false, 3000, 0),
        entry(2, Other, false, 2000, 0),
    ];
    let e = evaluate(&rules(Credential::Cphims), &cycle(), &entries);
    assert!(!e.met);
    assert_eq!(req(&e, "core", "ethics"), (Hours::ZERO, Hours(200)));
    assert_eq!(e.gaps.len(), 1);
    assert_eq!(e.gaps[0].shortfall, Hours(200));
    assert_eq!(e.gaps[0].set, "core");
    assert_eq!(e.gaps[0].requirement, "ethics");
    assert_eq!(
        messages(&e),
        ["2.00 h ethics / conflicts of interest hours"]
    );
    assert!(
        e.sets[0]
            .requirements
            .iter()
            .filter(|r| r.key != "ethics")
            .all(|r| r.met)
    );
}

#[test]
fn approved_counts_society_and_approved_provider_but_not_other_or_digital_health_canada() {
    let entries = [
        entry(1, Society, false, 100, 0),
        entry(2, ApprovedProvider, false, 200, 0),
        entry(3, Other, false, 400, 0),
        entry(4, DigitalHealthCanada, false, 800, 0),
    ];
    let e = evaluate(&rules(Credential::Cphims), &cycle(), &entries);
    assert_eq!(req(&e, "core", "approved"), (Hours(300), Hours(2200)));
    assert_eq!(req(&e, "core", "total"), (Hours(1500), Hours(3000)));
}

#[test]
fn cphims_ca_puts_digital_health_canada_hours_in_the_canadian_set_when_needed() {
    // The core set is 10 h short without Canadian hours. A greedy that fills the core set first
    // would take the DHC entry (listed first) there and leave the Canadian set without DHC hours.
    let entries = [
        entry(1, DigitalHealthCanada, true, 1000, 0),
        entry(2, Other, true, 1500, 200),
        entry(3, Society, false, 2500, 200),
        entry(4, Other, false, 1000, 0),
    ];
    let e = evaluate(&rules(Credential::CphimsCa), &cycle(), &entries);
    assert!(e.met, "{:?}", e.gaps);
    assert_eq!(share(&e, 0, "canadian"), Hours(1000));
    assert_eq!(share(&e, 0, "core"), Hours::ZERO);
    assert_eq!(share(&e, 1, "canadian") + share(&e, 1, "core"), Hours(1500));
    assert_eq!(
        req(&e, "canadian", "digital_health_canada"),
        (Hours(1000), Hours::ZERO)
    );
    assert_eq!(req(&e, "canadian", "ethics"), (Hours(200), Hours::ZERO));
    assert_eq!(req(&e, "core", "total"), (Hours(4500), Hours::ZERO));
}

#[test]
fn cphims_ca_splits_one_entry_between_the_sets() {
    // One Canadian DHC activity of 25 h with 4 h ethics must serve both sets.
    let entries = [
        entry(1, DigitalHealthCanada, true, 2500, 400),
        entry(2, Society, false, 3500, 0),
    ];
    let e = evaluate(&rules(Credential::CphimsCa), &cycle(), &entries);
    assert!(e.met, "{:?}", e.gaps);
    let shares = &e.allocation[0].shares;
    assert_eq!(shares.len(), 2);
    assert_eq!(shares.iter().map(|s| s.hours).sum::<Hours>(), Hours(2500));
    assert_eq!(
        shares.iter().map(|s| s.ethics_hours).sum::<Hours>(),
        Hours(400)
    );
    assert!(shares.iter().all(|s| s.ethics_hours >= Hours(200)));
}

#[test]
fn canadian_hours_never_count_twice() {
    // 60 h in all, every hour Canadian content: 45 + 15 would be enough only if hours counted twice.
    let entries = [
        entry(1, Society, true, 3000, 200),
        entry(2, DigitalHealthCanada, true, 1500, 200),
        entry(3, Other, true, 1500, 0),
    ];
    let e = evaluate(&rules(Credential::CphimsCa), &cycle(), &entries);
    for (i, (a, facts)) in e.allocation.iter().zip(&entries).enumerate() {
        let placed: Hours = a.shares.iter().map(|s| s.hours).sum();
        let ethics: Hours = a.shares.iter().map(|s| s.ethics_hours).sum();
        assert!(
            placed <= facts.hours,
            "entry {i} placed {placed} of {}",
            facts.hours
        );
        assert!(ethics <= facts.ethics_hours);
    }
    let core_total = req(&e, "core", "total").0;
    let canadian_total = req(&e, "canadian", "total").0;
    assert!(core_total + canadian_total <= Hours(6000));
    // 60 h can meet both sets exactly: 45 core (incl. 25 approved, 2 ethics) + 15 Canadian.
    assert!(e.met, "{:?}", e.gaps);
    assert_eq!(core_total + canadian_total, Hours(6000));

    let short = [
        entry(1, Society, true, 3000, 200),
        entry(2, DigitalHealthCanada, true, 1500, 200),
        entry(3, Other, true, 1400, 0),
    ];
    let e = evaluate(&rules(Credential::CphimsCa), &cycle(), &short);
    assert!(!e.met);
    let shortfall: u32 = e.gaps.iter().map(|g| g.shortfall.hundredths()).sum();
    assert_eq!(shortfall, 100);
}

#[test]
fn an_entry_completed_the_day_before_the_cycle_starts_does_not_count() {
    let entries = [on(entry(1, Society, false, 4500, 200), d(2023, 8, 31))];
    let e = evaluate(&rules(Credential::Cphims), &cycle(), &entries);
    assert!(!e.met);
    let a = &e.allocation[0];
    assert!(!a.in_cycle);
    assert!(a.shares.is_empty());
    assert_eq!(
        a.excluded_reason.as_deref(),
        Some("completed on 2023-08-31, before the cycle started on 2023-09-01")
    );
    assert_eq!(req(&e, "core", "total"), (Hours::ZERO, Hours(4500)));
}

#[test]
fn entries_on_the_first_day_and_on_the_expiration_date_count() {
    let entries = [
        on(entry(1, Society, false, 2500, 200), d(2023, 9, 1)),
        on(entry(2, Other, false, 2000, 0), d(2026, 8, 31)),
    ];
    let e = evaluate(&rules(Credential::Cphims), &cycle(), &entries);
    assert!(e.met, "{:?}", e.gaps);
    assert!(
        e.allocation
            .iter()
            .all(|a| a.in_cycle && a.excluded_reason.is_none())
    );
    assert_eq!(share(&e, 0, "core"), Hours(2500));
    assert_eq!(share(&e, 1, "core"), Hours(2000));
}

#[test]
fn an_entry_after_expiration_counts_only_up_to_a_granted_extension_date() {
    let late = [
        entry(1, Society, false, 2500, 200),
        on(entry(2, Other, false, 2000, 0), d(2026, 11, 30)),
    ];
    let e = evaluate(&rules(Credential::Cphims), &cycle(), &late);
    assert!(!e.met);
    assert_eq!(
        e.allocation[1].excluded_reason.as_deref(),
        Some("completed on 2026-11-30, after the cycle's counting period ended on 2026-08-31")
    );
    let extended = Cycle {
        extended_to: Some(d(2026, 11, 30)),
        ..cycle()
    };
    let e = evaluate(&rules(Credential::Cphims), &extended, &late);
    assert!(e.met, "{:?}", e.gaps);
    assert!(e.allocation[1].in_cycle);
    let day_after = [late[0], on(late[1], d(2026, 12, 1))];
    let e = evaluate(&rules(Credential::Cphims), &extended, &day_after);
    assert!(!e.allocation[1].in_cycle);
    assert!(
        e.allocation[1]
            .excluded_reason
            .as_deref()
            .is_some_and(|r| r.contains("2026-11-30"))
    );
}

#[test]
fn cpdhts_needs_30_total_and_15_from_approved_providers() {
    let rules = rules(Credential::Cpdhts);
    let met = [
        entry(1, ApprovedProvider, false, 1500, 0),
        entry(2, Other, false, 1500, 0),
    ];
    let e = evaluate(&rules, &cycle(), &met);
    assert!(e.met, "{:?}", e.gaps);
    assert_eq!(req(&e, "technology", "total"), (Hours(3000), Hours::ZERO));
    assert_eq!(e.sets[0].requirements.len(), 2);

    let short = [
        entry(1, DigitalHealthCanada, false, 1500, 0),
        entry(2, Other, false, 1500, 0),
    ];
    let e = evaluate(&rules, &cycle(), &short);
    assert!(!e.met);
    assert_eq!(
        req(&e, "technology", "approved"),
        (Hours::ZERO, Hours(1500))
    );
    assert_eq!(
        messages(&e),
        ["15.00 h hours from the society or its approved providers"]
    );
}

#[test]
fn shortfall_messages_name_the_hours_the_requirement_and_the_set() {
    let entries = [
        entry(1, Society, false, 4500, 200),
        entry(2, DigitalHealthCanada, true, 650, 0),
        entry(3, Other, true, 850, 0),
    ];
    let e = evaluate(&rules(Credential::CphimsCa), &cycle(), &entries);
    assert!(!e.met);
    assert_eq!(
        messages(&e),
        [
            "3.50 h hours from Digital Health Canada in the Canadian requirements",
            "2.00 h ethics / conflicts of interest hours in the Canadian requirements",
        ]
    );
    assert!(e.sets[0].met);
    assert!(!e.sets[1].met);
}

#[test]
fn surplus_canadian_hours_go_to_the_earlier_set() {
    let entries = [
        entry(1, DigitalHealthCanada, true, 6000, 400),
        entry(2, Society, true, 3000, 0),
    ];
    let e = evaluate(&rules(Credential::CphimsCa), &cycle(), &entries);
    assert!(e.met, "{:?}", e.gaps);
    // The Canadian set keeps exactly what it needs: 15 h, of them 10 h DHC and 2 h ethics.
    assert_eq!(req(&e, "canadian", "total").0, Hours(1500));
    assert_eq!(req(&e, "core", "total").0, Hours(7500));
}

#[test]
fn one_allocation_per_entry_in_input_order() {
    let entries = [
        on(entry(7, Other, false, 100, 0), d(2020, 1, 1)),
        entry(3, Society, true, 100, 0),
        entry(5, Other, false, 0, 0),
    ];
    let e = evaluate(&rules(Credential::CphimsCa), &cycle(), &entries);
    let ids: Vec<_> = e.allocation.iter().map(|a| a.entry_id).collect();
    assert_eq!(ids, entries.map(|f| f.id));
    assert!(e.allocation[2].shares.is_empty());
    assert!(e.allocation[2].excluded_reason.is_none());
}

#[test]
fn ethics_hours_above_the_hours_are_clamped_and_nothing_panics() {
    let entries = [
        entry(1, Society, true, 100, 900),
        entry(2, DigitalHealthCanada, true, u32::MAX, u32::MAX),
        entry(3, Other, false, u32::MAX, 0),
    ];
    for credential in Credential::ALL {
        let e = evaluate(&rules(credential), &cycle(), &entries);
        assert_eq!(e.allocation.len(), 3);
        let ethics: Hours = e.allocation[0].shares.iter().map(|s| s.ethics_hours).sum();
        assert!(ethics <= Hours(100));
    }
    let e = evaluate(&rules(Credential::CphimsCa), &cycle(), &[]);
    assert!(!e.met);
    assert_eq!(e.gaps.len(), 6);
}
