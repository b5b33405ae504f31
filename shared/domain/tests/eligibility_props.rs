//! `evaluate` against brute force: every split of every entry part, enumerated.
//!
//! Two families of instances:
//!
//! * **Exact, any shape.** Random rule books (1–3 sets, each accepting any or only Canadian
//!   hours, 1–3 requirements with random category lists, ethics flags and minimums) and entries
//!   of 1–4 *hundredths*. The brute force enumerates every split in steps of one hundredth, the
//!   engine's own granularity, so the comparison is exact by construction and also covers rule
//!   shapes whose LP relaxation is fractional (where the engine must branch).
//! * **The default rules, scaled.** The CPHIMS-CA and CPHIMS rules of `rules/default.toml` with
//!   their structure kept and random minimums in whole hours, and entries of 1–4 whole hours.
//!   Here the brute force splits in whole hours only. That suffices: with every amount a
//!   multiple of 100, dividing by 100 gives an integer program whose constraint matrix, for the
//!   default shape, is an interval matrix (order the Canadian classes society/approved
//!   non-ethics, society/approved ethics, other ethics, DHC ethics, DHC non-ethics, other
//!   non-ethics and every requirement covers consecutive ones), hence totally unimodular. Its LP
//!   relaxation therefore has an optimum at an integral vertex, i.e. at whole hours, and any
//!   split in hundredths is no better than the LP optimum. A whole-hour split of type totals can
//!   be handed to entries of whole hours in whole hours, so enumerating entry splits in whole
//!   hours reaches the optimum.
//!
//! Brute force gives every hour to some accepting set: more hours in a set never raise a
//! shortfall, so this loses no optimum.

#![allow(clippy::unwrap_used)]

mod common;
use chrono::NaiveDate;
use common::{cycle, d};
use proptest::prelude::*;
use recert_domain::eligibility::{Eligibility, EntryFacts, evaluate};
use recert_domain::rules::{CredentialRules, RequirementSet, RuleBook};
use recert_domain::{Credential, Cycle, EntryId, Hours, ProviderCategory};
use uuid::Uuid;

const CATEGORY_NAMES: [&str; 4] = [
    "society",
    "approved_provider",
    "digital_health_canada",
    "other",
];

#[derive(Debug, Clone)]
struct ReqSpec {
    /// Bit i = `ProviderCategory::ALL[i]`; 0 = any category.
    categories: u8,
    ethics_only: bool,
    min: u32,
}

#[derive(Debug, Clone)]
struct SetSpec {
    canadian_only: bool,
    requirements: Vec<ReqSpec>,
}

/// A complete rule book whose CPHIMS-CA uses `sets` (the other credentials use the first).
fn book_toml(sets: &[SetSpec]) -> String {
    let mut toml = String::from(
        r#"[[version]]
effective_from = "2000-01-01"
entry_max_hundredths = 6000
fees = [
  { credential = "CAHIMS", membership = "member", amount_minor = 1, currency = "USD" },
  { credential = "CAHIMS", membership = "non_member", amount_minor = 1, currency = "USD" },
  { credential = "CPHIMS", membership = "member", amount_minor = 1, currency = "USD" },
  { credential = "CPHIMS", membership = "non_member", amount_minor = 1, currency = "USD" },
  { credential = "CPHIMS-CA", membership = "member", amount_minor = 1, currency = "CAD" },
  { credential = "CPHIMS-CA", membership = "non_member", amount_minor = 1, currency = "CAD" },
  { credential = "CPDHTS", membership = "member", amount_minor = 1, currency = "USD" },
  { credential = "CPDHTS", membership = "non_member", amount_minor = 1, currency = "USD" },
]
[version.deadlines]
window_opens_months_before_expiration = 6
waiver_request_cutoff_months_before_expiration = 3
audit_documentation_days = 30
audit_replacement_days = 60
review_due_days = 7
certificate_due_weeks = 6
audit_sample_percent = 10
[version.lifecycle]
extension_max_months = 6
waiver_max_reduction_percent = 50
closing_reminder_days = [90, 30, 7]
[version.attestation]
version = "test-1"
text = "A test attestation."
"#,
    );
    for (s, set) in sets.iter().enumerate() {
        let accepts = if set.canadian_only {
            "canadian_content"
        } else {
            "any"
        };
        toml += &format!(
            "[version.requirement_sets.s{s}]\nlabel = \"S{s} requirements\"\naccepts = \"{accepts}\"\nrequirements = [\n"
        );
        for (r, req) in set.requirements.iter().enumerate() {
            let categories: Vec<String> = (0..4)
                .filter(|i| req.categories & (1 << i) != 0)
                .map(|i| format!("\"{}\"", CATEGORY_NAMES[i]))
                .collect();
            toml += &format!(
                "  {{ key = \"r{r}\", label = \"r{r} hours\", min_hundredths = {}, categories = [{}], ethics_only = {} }},\n",
                req.min,
                categories.join(", "),
                req.ethics_only
            );
        }
        toml += "]\n";
    }
    let all: Vec<String> = (0..sets.len()).map(|s| format!("\"s{s}\"")).collect();
    for (credential, list) in [
        ("CAHIMS", "[\"s0\"]".to_owned()),
        ("CPHIMS", "[\"s0\"]".to_owned()),
        ("CPHIMS-CA", format!("[{}]", all.join(", "))),
        ("CPDHTS", "[\"s0\"]".to_owned()),
    ] {
        toml += &format!(
            "[version.credentials.{credential}]\ncycle_years = 3\nrequirement_sets = {list}\n"
        );
    }
    toml
}

fn rules_from(sets: &[SetSpec]) -> CredentialRules {
    let book = RuleBook::from_toml(&book_toml(sets)).unwrap();
    book.for_cycle_starting(d(2023, 9, 1))
        .credential(Credential::CphimsCa)
        .clone()
}

/// The default CPHIMS-CA (or CPHIMS) rules with the minimums replaced, in order.
fn default_rules_with(credential: Credential, mins: &[u32]) -> CredentialRules {
    let mut rules = RuleBook::default_rules()
        .for_cycle_starting(d(2023, 9, 1))
        .credential(credential)
        .clone();
    let mut mins = mins.iter();
    for set in &mut rules.requirement_sets {
        for req in &mut set.requirements {
            req.min = Hours(mins.next().copied().unwrap_or(0));
        }
    }
    rules
}

// ---- brute force ---------------------------------------------------------------------------------

struct Part {
    category: ProviderCategory,
    ethics: bool,
    units: u32,
    accepting: Vec<usize>,
}

/// The smallest total shortfall over every split of every entry part in steps of `step`.
fn brute_force(sets: &[RequirementSet], cycle: &Cycle, entries: &[EntryFacts], step: u32) -> u64 {
    let mut parts = Vec::new();
    for e in entries.iter().filter(|e| cycle.counts(e.completed_on)) {
        let ethics = e.ethics_hours.hundredths().min(e.hours.hundredths());
        for (is_ethics, amount) in [(true, ethics), (false, e.hours.hundredths() - ethics)] {
            assert_eq!(
                amount % step,
                0,
                "brute force needs amounts in steps of {step}"
            );
            let accepting: Vec<usize> = (0..sets.len())
                .filter(|&s| sets[s].accepts(e.canadian_content))
                .collect();
            if amount > 0 && !accepting.is_empty() {
                parts.push(Part {
                    category: e.category,
                    ethics: is_ethics,
                    units: amount / step,
                    accepting,
                });
            }
        }
    }
    let mut counted: Vec<Vec<u64>> = sets.iter().map(|s| vec![0; s.requirements.len()]).collect();
    let mut best = u64::MAX;
    search(sets, &parts, step, &mut counted, &mut best);
    best
}

/// The smallest total shortfall over every split of the in-cycle hours *per type* (category ×
/// Canadian content × ethics part) in steps of one hundredth, or `None` when there are more than
/// `limit` splits to try. Hours of one type are interchangeable, so this is the same optimum as
/// [`brute_force`], reachable for larger amounts.
fn brute_force_by_type(
    sets: &[RequirementSet],
    cycle: &Cycle,
    entries: &[EntryFacts],
    limit: u64,
) -> Option<u64> {
    let mut parts: Vec<Part> = Vec::new();
    for e in entries.iter().filter(|e| cycle.counts(e.completed_on)) {
        let ethics = e.ethics_hours.hundredths().min(e.hours.hundredths());
        for (is_ethics, amount) in [(true, ethics), (false, e.hours.hundredths() - ethics)] {
            let accepting: Vec<usize> = (0..sets.len())
                .filter(|&s| sets[s].accepts(e.canadian_content))
                .collect();
            if amount == 0 || accepting.is_empty() {
                continue;
            }
            match parts.iter_mut().find(|p| {
                p.category == e.category && p.ethics == is_ethics && p.accepting == accepting
            }) {
                Some(p) => p.units += amount,
                None => parts.push(Part {
                    category: e.category,
                    ethics: is_ethics,
                    units: amount,
                    accepting,
                }),
            }
        }
    }
    let mut splits: u64 = 1;
    for p in &parts {
        let k = p.accepting.len() as u64;
        let u = u64::from(p.units);
        // Compositions of u into k parts: C(u + k - 1, k - 1), at most (u + 1)^(k - 1).
        splits = splits.saturating_mul((u + 1).saturating_pow(k.saturating_sub(1) as u32));
    }
    if splits > limit {
        return None;
    }
    let mut counted: Vec<Vec<u64>> = sets.iter().map(|s| vec![0; s.requirements.len()]).collect();
    let mut best = u64::MAX;
    search(sets, &parts, 1, &mut counted, &mut best);
    Some(best)
}

fn search(
    sets: &[RequirementSet],
    parts: &[Part],
    step: u32,
    counted: &mut [Vec<u64>],
    best: &mut u64,
) {
    let Some((part, rest)) = parts.split_first() else {
        let total: u64 = sets
            .iter()
            .zip(counted.iter())
            .flat_map(|(set, c)| set.requirements.iter().zip(c))
            .map(|(r, &c)| u64::from(r.min.hundredths()).saturating_sub(c))
            .sum();
        *best = (*best).min(total);
        return;
    };
    // Every composition of `units` over the accepting sets.
    let k = part.accepting.len();
    let mut split = vec![0u32; k];
    compositions(part.units, &mut split, 0, &mut |split| {
        let apply = |counted: &mut [Vec<u64>], sign: i64| {
            for (&s, &units) in part.accepting.iter().zip(split) {
                for (r, req) in sets[s].requirements.iter().enumerate() {
                    if req.counts(part.category, part.ethics) {
                        let amount = u64::from(units * step);
                        counted[s][r] = if sign > 0 {
                            counted[s][r] + amount
                        } else {
                            counted[s][r] - amount
                        };
                    }
                }
            }
        };
        apply(counted, 1);
        search(sets, rest, step, counted, best);
        apply(counted, -1);
    });
}

fn compositions(units: u32, split: &mut [u32], at: usize, visit: &mut dyn FnMut(&[u32])) {
    if at + 1 == split.len() {
        split[at] = units;
        visit(split);
        return;
    }
    for here in 0..=units {
        split[at] = here;
        compositions(units - here, split, at + 1, visit);
    }
}

// ---- consistency of the reported verdict ---------------------------------------------------------

/// (a) `met` iff brute force meets everything; (b) the same smallest total shortfall; and the
/// verdict is consistent (see [`consistent`]).
fn check(
    rules: &CredentialRules,
    cycle: &Cycle,
    entries: &[EntryFacts],
    e: &Eligibility,
    best: u64,
) {
    let total = consistent(rules, cycle, entries, e);
    assert_eq!(e.met, best == 0, "met vs brute force {best}: {e:?}");
    assert_eq!(total, best, "total shortfall vs brute force: {e:?}");
}

/// (c) The allocation is an allocation (per entry: shares within its hours and ethics hours, only
/// in accepting sets, every counted hour placed) and the verdict is what it gives; (d) entries
/// outside the cycle get nothing. Returns the total shortfall.
fn consistent(
    rules: &CredentialRules,
    cycle: &Cycle,
    entries: &[EntryFacts],
    e: &Eligibility,
) -> u64 {
    let sets = &rules.requirement_sets;
    assert_eq!(e.allocation.len(), entries.len());
    let mut counted: Vec<Vec<u64>> = sets.iter().map(|s| vec![0; s.requirements.len()]).collect();
    for (a, f) in e.allocation.iter().zip(entries) {
        assert_eq!(a.entry_id, f.id);
        let ethics_cap = f.ethics_hours.min(f.hours);
        let placed: Hours = a.shares.iter().map(|s| s.hours).sum();
        let placed_ethics: Hours = a.shares.iter().map(|s| s.ethics_hours).sum();
        assert!(
            placed <= f.hours && placed_ethics <= ethics_cap,
            "{a:?} of {f:?}"
        );
        if !cycle.counts(f.completed_on) {
            // (d) entries outside the cycle get nothing.
            assert!(
                !a.in_cycle && a.shares.is_empty() && a.excluded_reason.is_some(),
                "{a:?}"
            );
            continue;
        }
        assert!(a.in_cycle);
        if sets.iter().any(|s| s.accepts(f.canadian_content)) {
            assert_eq!(
                (placed, placed_ethics),
                (f.hours, ethics_cap),
                "every counted hour is placed"
            );
        }
        for share in &a.shares {
            assert!(share.hours > Hours::ZERO && share.ethics_hours <= share.hours);
            assert_eq!(a.shares.iter().filter(|s| s.set == share.set).count(), 1);
            let s = sets.iter().position(|s| s.key == share.set).unwrap();
            assert!(sets[s].accepts(f.canadian_content), "{share:?} of {f:?}");
            for (r, req) in sets[s].requirements.iter().enumerate() {
                if req.counts(f.category, true) {
                    counted[s][r] += u64::from(share.ethics_hours.hundredths());
                }
                if req.counts(f.category, false) {
                    counted[s][r] +=
                        u64::from(share.hours.hundredths() - share.ethics_hours.hundredths());
                }
            }
        }
    }
    assert_eq!(e.sets.len(), sets.len());
    let mut gaps = Vec::new();
    for ((outcome, set), counted) in e.sets.iter().zip(sets).zip(&counted) {
        assert_eq!(outcome.key, set.key);
        assert_eq!(outcome.met, outcome.requirements.iter().all(|r| r.met));
        for ((o, req), &c) in outcome
            .requirements
            .iter()
            .zip(&set.requirements)
            .zip(counted)
        {
            assert_eq!(
                u64::from(o.counted.hundredths()),
                c,
                "{} {}",
                set.key,
                req.key
            );
            assert_eq!(o.required, req.min);
            assert_eq!(o.shortfall, req.min.saturating_sub(o.counted));
            assert_eq!(o.met, o.shortfall == Hours::ZERO);
            if !o.met {
                gaps.push((set.key.clone(), req.key.clone(), o.shortfall));
            }
        }
    }
    let reported: Vec<_> = e
        .gaps
        .iter()
        .map(|g| (g.set.clone(), g.requirement.clone(), g.shortfall))
        .collect();
    assert_eq!(reported, gaps);
    assert_eq!(e.met, e.sets.iter().all(|s| s.met));
    e.gaps
        .iter()
        .map(|g| u64::from(g.shortfall.hundredths()))
        .sum()
}

// ---- strategies ----------------------------------------------------------------------------------

fn category() -> impl Strategy<Value = ProviderCategory> {
    prop::sample::select(ProviderCategory::ALL.to_vec())
}

fn completed_on() -> impl Strategy<Value = NaiveDate> {
    prop_oneof![
        8 => Just(d(2025, 3, 14)),
        1 => Just(d(2023, 8, 31)),
        1 => Just(d(2023, 9, 1)),
        1 => Just(d(2026, 8, 31)),
        1 => Just(d(2026, 9, 1)),
    ]
}

/// One entry: (hours, ethics hours) in units, category, Canadian content, completion date.
type RawEntry = (u32, u32, ProviderCategory, bool, NaiveDate);

fn raw_entry(
    hours: impl Strategy<Value = u32>,
    ethics: impl Strategy<Value = u32>,
    canadian: impl Strategy<Value = bool>,
) -> impl Strategy<Value = RawEntry> {
    (hours, ethics, category(), canadian, completed_on())
}

/// Entries from raw tuples, amounts in units of `unit` hundredths (ethics clamped to hours).
fn build(raw: Vec<RawEntry>, unit: u32) -> Vec<EntryFacts> {
    raw.into_iter()
        .enumerate()
        .map(
            |(i, (hours, ethics, category, canadian_content, completed_on))| EntryFacts {
                id: EntryId(Uuid::from_u128(i as u128 + 1)),
                completed_on,
                hours: Hours(hours * unit),
                ethics_hours: Hours(ethics.min(hours) * unit),
                category,
                canadian_content,
            },
        )
        .collect()
}

/// Up to `max_entries` entries of `1..=max_units` units of `unit` hundredths.
fn entries(
    max_entries: usize,
    max_units: u32,
    unit: u32,
) -> impl Strategy<Value = Vec<EntryFacts>> {
    prop::collection::vec(
        raw_entry(1..=max_units, 0..=max_units, any::<bool>()),
        0..=max_entries,
    )
    .prop_map(move |raw| build(raw, unit))
}

/// Whole-hour entries near the published minimums: up to 3 entries of up to 20 h without
/// Canadian content and up to 3 Canadian ones of up to 12 h, ethics up to 2 h each (so the brute
/// force stays small: only Canadian entries have a split to enumerate).
fn published_entries() -> impl Strategy<Value = Vec<EntryFacts>> {
    (
        prop::collection::vec(raw_entry(1u32..=20, 0u32..=2, Just(false)), 0..=3),
        prop::collection::vec(raw_entry(1u32..=12, 0u32..=2, Just(true)), 0..=3),
    )
        .prop_map(|(mut raw, canadian)| {
            raw.extend(canadian);
            build(raw, 100)
        })
}

/// Up to 40 entries of up to 60.00 h in arbitrary hundredths, a quarter partly ethics.
fn large_entries() -> impl Strategy<Value = Vec<EntryFacts>> {
    let ethics = prop_oneof![3 => Just(0u32), 1 => 0u32..=6000];
    prop::collection::vec(raw_entry(1u32..=6000, ethics, any::<bool>()), 0..=40)
        .prop_map(|raw| build(raw, 1))
}

/// A requirement set with 1–3 requirements of random categories, ethics flag and minimum.
fn set_spec(max_min: u32) -> impl Strategy<Value = SetSpec> {
    (
        any::<bool>(),
        prop::collection::vec(
            (
                prop_oneof![1 => Just(0u8), 3 => 1u8..16],
                any::<bool>(),
                0u32..=max_min,
            )
                .prop_map(|(categories, ethics_only, min)| ReqSpec {
                    categories,
                    ethics_only,
                    min,
                }),
            1..=3,
        ),
    )
        .prop_map(|(canadian_only, requirements)| SetSpec {
            canadian_only,
            requirements,
        })
}

/// Requirements on the category pairs {a,b}, {b,c}, {a,c} in one set and a total in another: the
/// LP relaxation is often fractional here (half of each hour in the first set), so the engine has
/// to branch to find the best split in whole hundredths.
fn odd_cycle_case() -> impl Strategy<Value = (Vec<SetSpec>, Vec<EntryFacts>)> {
    let entry = |which| {
        (
            Just(which),
            1u32..=2,
            prop::bool::weighted(0.15),
            prop::bool::weighted(0.9),
        )
    };
    let entries = (
        entry(0),
        entry(1),
        entry(2),
        prop::collection::vec(entry_any(), 0..=2),
    )
        .prop_map(|(a, b, c, mut more)| {
            more.splice(0..0, [a, b, c]);
            more
        });
    (odd_cycle_sets(), entries).prop_map(|((abc, sets), raw)| {
        let entries = raw
            .into_iter()
            .enumerate()
            .map(|(i, (which, hours, ethics, canadian_content))| EntryFacts {
                id: EntryId(Uuid::from_u128(i as u128 + 1)),
                completed_on: d(2025, 1, 1),
                hours: Hours(hours),
                ethics_hours: Hours(u32::from(ethics)),
                category: ProviderCategory::ALL[usize::from(abc[which])],
                canadian_content,
            })
            .collect();
        (sets, entries)
    })
}

fn entry_any() -> impl Strategy<Value = (usize, u32, bool, bool)> {
    (
        0usize..3,
        1u32..=2,
        prop::bool::weighted(0.15),
        prop::bool::weighted(0.9),
    )
}

fn odd_cycle_sets() -> impl Strategy<Value = (Vec<u8>, Vec<SetSpec>)> {
    (
        prop::sample::subsequence(vec![0u8, 1, 2, 3], 3),
        prop::collection::vec(1u32..=2, 3),
        prop::collection::vec(prop::bool::weighted(0.15), 3),
        2u32..=6,
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(abc, mins, ethics, total, canadian_only, pairs_first)| {
            let bit = |i: usize| 1u8 << abc[i];
            let pairs = SetSpec {
                canadian_only: false,
                requirements: [(0, 1), (1, 2), (0, 2)]
                    .iter()
                    .zip(mins.iter().zip(&ethics))
                    .map(|(&(x, y), (&min, &ethics_only))| ReqSpec {
                        categories: bit(x) | bit(y),
                        ethics_only,
                        min,
                    })
                    .collect(),
            };
            let total = SetSpec {
                canadian_only,
                requirements: vec![ReqSpec {
                    categories: 0,
                    ethics_only: false,
                    min: total,
                }],
            };
            (
                abc.clone(),
                if pairs_first {
                    vec![pairs, total]
                } else {
                    vec![total, pairs]
                },
            )
        })
}

fn exact_case() -> impl Strategy<Value = (Vec<SetSpec>, Vec<EntryFacts>)> {
    prop_oneof![
        2 => (prop::collection::vec(set_spec(8), 1..=2), entries(5, 4, 1)),
        1 => (prop::collection::vec(set_spec(8), 3..=3), entries(3, 3, 1)),
        3 => odd_cycle_case(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Any rule shape, splits in hundredths: the engine finds the brute-force optimum.
    #[test]
    fn evaluate_matches_brute_force_in_hundredths_for_any_rule_shape((sets, entries) in exact_case()) {
        let rules = rules_from(&sets);
        let e = evaluate(&rules, &cycle(), &entries);
        let best = brute_force(&rules.requirement_sets, &cycle(), &entries, 1);
        check(&rules, &cycle(), &entries, &e, best);
    }

    /// The default CPHIMS-CA rules with scaled minimums, whole-hour data: brute force in whole hours.
    #[test]
    fn evaluate_matches_brute_force_for_the_default_cphims_ca_rules_scaled(
        mins in prop::collection::vec(0u32..=8, 6),
        entries in entries(4, 4, 100),
    ) {
        let mins: Vec<u32> = mins.iter().map(|m| m * 100).collect();
        let rules = default_rules_with(Credential::CphimsCa, &mins);
        let e = evaluate(&rules, &cycle(), &entries);
        let best = brute_force(&rules.requirement_sets, &cycle(), &entries, 100);
        check(&rules, &cycle(), &entries, &e, best);
    }

    /// The published CPHIMS-CA minimums (45/25/2 + 15/10/2), whole-hour entries near them.
    #[test]
    fn evaluate_matches_brute_force_for_the_default_cphims_ca_rules_as_published(
        entries in published_entries(),
    ) {
        let rules = default_rules_with(Credential::CphimsCa, &[4500, 2500, 200, 1500, 1000, 200]);
        let e = evaluate(&rules, &cycle(), &entries);
        let best = brute_force(&rules.requirement_sets, &cycle(), &entries, 100);
        check(&rules, &cycle(), &entries, &e, best);
    }

    /// The single-set CPHIMS rules: no split to decide, the verdict is still exact and consistent.
    #[test]
    fn evaluate_matches_brute_force_for_the_default_cphims_rules_scaled(
        mins in prop::collection::vec(0u32..=12, 3),
        entries in entries(5, 4, 100),
    ) {
        let mins: Vec<u32> = mins.iter().map(|m| m * 100).collect();
        let rules = default_rules_with(Credential::Cphims, &mins);
        let e = evaluate(&rules, &cycle(), &entries);
        let best = brute_force(&rules.requirement_sets, &cycle(), &entries, 100);
        check(&rules, &cycle(), &entries, &e, best);
    }
}

// ---- larger instances: properties an exact optimum must have -------------------------------------

/// Rules for the larger instances: the default CPHIMS-CA as published, with random minimums of up
/// to 60 h, or of a random shape.
fn large_rules() -> impl Strategy<Value = (bool, CredentialRules)> {
    prop_oneof![
        Just((
            true,
            default_rules_with(Credential::CphimsCa, &[4500, 2500, 200, 1500, 1000, 200])
        )),
        prop::collection::vec(0u32..=6000, 6)
            .prop_map(|mins| (true, default_rules_with(Credential::CphimsCa, &mins))),
        prop::collection::vec(set_spec(6000), 1..=3).prop_map(|sets| (false, rules_from(&sets))),
    ]
}

fn scaled(
    rules: &CredentialRules,
    entries: &[EntryFacts],
    by: u32,
) -> (CredentialRules, Vec<EntryFacts>) {
    let mut rules = rules.clone();
    for req in rules
        .requirement_sets
        .iter_mut()
        .flat_map(|s| &mut s.requirements)
    {
        req.min = Hours(req.min.hundredths() * by);
    }
    let entries = entries
        .iter()
        .map(|e| EntryFacts {
            hours: Hours(e.hours.hundredths() * by),
            ethics_hours: Hours(e.ethics_hours.hundredths() * by),
            ..*e
        })
        .collect();
    (rules, entries)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Another entry can only add options: the smallest total shortfall never grows.
    #[test]
    fn another_entry_never_raises_the_smallest_total_shortfall(
        (_, rules) in large_rules(),
        entries in large_entries(),
        extra in large_entries(),
    ) {
        let before = consistent(&rules, &cycle(), &entries, &evaluate(&rules, &cycle(), &entries));
        let mut more = entries.clone();
        more.extend(extra);
        let after = consistent(&rules, &cycle(), &more, &evaluate(&rules, &cycle(), &more));
        prop_assert!(after <= before, "{after} > {before}");
    }

    /// Larger amounts (up to 0.12 h per entry) against brute force over type totals.
    #[test]
    fn evaluate_matches_brute_force_over_type_totals_for_larger_amounts(
        sets in prop_oneof![
            prop::collection::vec(set_spec(40), 2..=2),
            odd_cycle_sets().prop_map(|(_, sets)| sets.into_iter().map(|mut s| {
                for r in &mut s.requirements { r.min *= 7; }
                s
            }).collect()),
        ],
        raw in prop::collection::vec(raw_entry(1u32..=12, prop_oneof![3 => Just(0u32), 1 => 0u32..=12], any::<bool>()), 0..=6),
    ) {
        let rules = rules_from(&sets);
        let entries = build(raw, 1);
        let e = evaluate(&rules, &cycle(), &entries);
        let total = consistent(&rules, &cycle(), &entries, &e);
        if let Some(best) = brute_force_by_type(&rules.requirement_sets, &cycle(), &entries, 200_000) {
            prop_assert_eq!(total, best);
            prop_assert_eq!(e.met, best == 0);
        }
    }

    /// The optimum does not depend on the order of the entries.
    #[test]
    fn entry_order_does_not_change_the_smallest_total_shortfall(
        (_, rules) in large_rules(),
        entries in large_entries(),
    ) {
        let forward = evaluate(&rules, &cycle(), &entries);
        let reversed: Vec<EntryFacts> = entries.iter().rev().copied().collect();
        let backward = evaluate(&rules, &cycle(), &reversed);
        prop_assert_eq!(forward.met, backward.met);
        prop_assert_eq!(
            consistent(&rules, &cycle(), &entries, &forward),
            consistent(&rules, &cycle(), &reversed, &backward)
        );
    }

    /// Scaling every minimum and every hour by 100 scales the optimum by 100 for the default shape
    /// (its matrix is totally unimodular, so the optimum sits at an LP vertex either way) and can
    /// only do better than 100 times for other shapes (finer splits become available).
    #[test]
    fn scaling_minimums_and_hours_by_100_scales_the_default_optimum_by_100(
        (default_shape, rules) in large_rules(),
        entries in large_entries(),
    ) {
        let unscaled = consistent(&rules, &cycle(), &entries, &evaluate(&rules, &cycle(), &entries));
        let (big_rules, big_entries) = scaled(&rules, &entries, 100);
        let big = consistent(&big_rules, &cycle(), &big_entries, &evaluate(&big_rules, &cycle(), &big_entries));
        if default_shape {
            prop_assert_eq!(big, unscaled * 100);
        } else {
            prop_assert!(big <= unscaled * 100, "{big} > 100 × {unscaled}");
        }
    }
}

// ---- fixed cases where the LP relaxation is fractional -------------------------------------------

/// Set 0 asks for 1 unit from each pair of {society, approved provider, DHC}; set 1 for 2 units of
/// anything. Half of each hour in set 0 meets all three pairs: the LP optimum is fractional.
fn odd_cycle_rules(unit: u32) -> CredentialRules {
    let pair = |categories: u8| ReqSpec {
        categories,
        ethics_only: false,
        min: unit,
    };
    rules_from(&[
        SetSpec {
            canadian_only: false,
            requirements: vec![pair(0b011), pair(0b110), pair(0b101)],
        },
        SetSpec {
            canadian_only: false,
            requirements: vec![ReqSpec {
                categories: 0,
                ethics_only: false,
                min: 2 * unit,
            }],
        },
    ])
}

fn odd_cycle_entries(unit: u32) -> Vec<EntryFacts> {
    [
        ProviderCategory::Society,
        ProviderCategory::ApprovedProvider,
        ProviderCategory::DigitalHealthCanada,
    ]
    .into_iter()
    .enumerate()
    .map(|(i, category)| EntryFacts {
        id: EntryId(Uuid::from_u128(i as u128 + 1)),
        completed_on: d(2025, 1, 1),
        hours: Hours(unit),
        ethics_hours: Hours::ZERO,
        category,
        canadian_content: false,
    })
    .collect()
}

#[test]
fn a_fractional_lp_optimum_is_branched_to_the_best_split_in_whole_hundredths() {
    // In single hundredths the LP says 0.5; the best integer split leaves 1 hundredth short.
    let rules = odd_cycle_rules(1);
    let entries = odd_cycle_entries(1);
    let e = evaluate(&rules, &cycle(), &entries);
    let best = brute_force(&rules.requirement_sets, &cycle(), &entries, 1);
    assert_eq!(best, 1);
    check(&rules, &cycle(), &entries, &e, best);
}

#[test]
fn hours_split_into_hundredths_beat_any_whole_hour_split_when_the_rules_overlap_oddly() {
    // 1 h each: half of each hour in set 0 meets its three pairs; set 1 gets 1.50 h of 2 h.
    let rules = odd_cycle_rules(100);
    let entries = odd_cycle_entries(100);
    let e = evaluate(&rules, &cycle(), &entries);
    assert_eq!(
        brute_force(&rules.requirement_sets, &cycle(), &entries, 100),
        100
    );
    let total: u32 = e.gaps.iter().map(|g| g.shortfall.hundredths()).sum();
    assert_eq!(total, 50);
    assert!(
        e.allocation
            .iter()
            .all(|a| a.shares.iter().all(|s| s.hours == Hours(50)))
    );
    check(&rules, &cycle(), &entries, &e, 50);
}
