//! The eligibility engine: which hours count, how they are split across requirement sets, and
//! exactly what is still missing.
//!
//! # The problem
//!
//! Hours completed inside the cycle's counting period count; each entry has an ethics part
//! (`ethics_hours`, clamped to `hours`) and a non-ethics part. Every part may be split, in whole
//! hundredths, across the credential's requirement sets that accept it; an hour counts in ONE set
//! only, and inside its set it counts toward every requirement it matches (minimums overlap). The
//! engine looks for a split that meets every minimum and, when none exists, for one that leaves
//! the smallest total shortfall (summed over all requirements of all sets).
//!
//! # The algorithm
//!
//! 1. **Aggregate.** Every rule predicate ([`RequirementSet::accepts`], [`Requirement::counts`])
//!    depends only on (provider category, Canadian content, ethics part), so the in-cycle hours
//!    are summed into at most 16 *types*. Hours of one type are interchangeable: any split of the
//!    type totals can be realised entry by entry (step 5) and vice versa.
//! 2. **Uncontested types.** A type accepted by exactly one set goes there entirely: allocating
//!    more hours to a set never raises a shortfall. A type no set accepts counts nowhere.
//! 3. **Contested types** (accepted by two or more sets; with the default rules only the Canadian
//!    content of CPHIMS-CA) are merged into *classes* of types that every set treats alike. For a
//!    class `k` the unknowns are `x[k][s]`, the hours it gives to each accepting set `s` other
//!    than its first; the first accepting set takes the rest (again: more never hurts). With
//!    `a_r` = requirement `r`'s minimum minus what it gets when every `x` is zero and `σ_r ∈ {-1,
//!    0, 1}` the effect of each unknown on it, the problem is the integer program
//!    `min Σ_r max(0, a_r − σ_r·x)` s.t. `Σ_s x[k][s] ≤ A_k`, `x ≥ 0` integer.
//! 4. **Solve exactly.** The integer program is tiny (the default rules give 6 unknowns and at
//!    most 6 rows) and independent of the number of entries. It is solved by LP-based branch and
//!    bound; every LP relaxation is solved by a fraction-free (integer-preserving,
//!    Edmonds/Bareiss) primal simplex with Bland's rule. Every tableau entry is a sub-determinant
//!    of the integer input, every division is exact and no float is ever used, so each LP optimum
//!    is exact, and so is its bound. A node is pruned only when the ceiling of its LP bound (the
//!    objective is an integer) is no better than the best integer split found, so the split
//!    returned is optimal. Each node also rounds its LP point down (always feasible) and, when
//!    that falls short of the bound, improves it by exact local search (moves of one class's
//!    hours between two sets, with exact line search); this finds optimal splits early and keeps
//!    the tree to a node or three even on large random rule books.
//!
//!    For the default rules the constraint matrix is an interval matrix (order the Canadian
//!    classes society/approved non-ethics, society/approved ethics, other ethics, DHC ethics,
//!    DHC non-ethics, other non-ethics: every requirement's classes are consecutive), hence
//!    totally unimodular: the root LP is already integral, every pivot is 1, and there is no
//!    branching and no local search. Rule books with odd overlaps (requirements on the category
//!    pairs {a,b}, {b,c}, {a,c}, say) can have fractional LP optima; that is what branching is
//!    for. Two safety valves keep the engine bounded and panic-free: a tableau value that does
//!    not fit `i64`, or more than 1,000 nodes, ends the search with the best split found so far.
//!    Neither is reachable with realistic data (tableau values are at most the hours involved
//!    times small sub-determinants; 100,000 random rule books of up to 4 sets × 5 requirements
//!    with 30 entries never needed more than 3 nodes), and the property tests compare the result
//!    with brute force.
//! 5. **Ties and disaggregation.** Among optimal splits, hours a later set does not need (every
//!    requirement they count toward there stays met without them) move to the class's first
//!    set, so surplus hours prefer earlier sets. Type totals are then handed back to entries in
//!    input order, each type filling sets in order; an entry may end up split across sets.
//!
//! Everything is integer hundredths (`u64` sums, `i64`/`i128` in the solver); counted values
//! beyond `u32` saturate. The cost is `O(entries)` plus a solve whose size depends only on the
//! rules.
//!
//! Files: this one (the public types and [`evaluate`]), `allocation.rs` (steps 1–3 and 5: types,
//! classes, the integer program's rows, ties, the verdict and the per-entry allocation) and
//! `ilp.rs` (step 4: the general exact integer-program solver, which knows nothing of CE hours).
//!
//! INTERFACE: the public types and [`evaluate`] are fixed; other crates depend on them.

mod allocation;
mod ilp;

use crate::calendar::Cycle;
use crate::rules::CredentialRules;
use crate::vocabulary::credential::ProviderCategory;
use crate::vocabulary::hours::Hours;
use crate::vocabulary::ids::EntryId;
use allocation::{allocate, disaggregate, judge, type_totals};
use chrono::NaiveDate;
use serde::Serialize;

/// The facts of one entry the engine needs (small and `Copy`, so evaluation never clones text).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryFacts {
    pub id: EntryId,
    pub completed_on: NaiveDate,
    pub hours: Hours,
    pub ethics_hours: Hours,
    pub category: ProviderCategory,
    pub canadian_content: bool,
}

/// The verdict: per requirement set and requirement, and the allocation chosen per entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Eligibility {
    /// Every requirement of every set is met.
    pub met: bool,
    pub sets: Vec<SetOutcome>,
    /// One line per unmet requirement, e.g. "2.00 h ethics / conflicts of interest hours in the Canadian requirements".
    pub gaps: Vec<Gap>,
    /// Per entry: how its hours were split across sets, or why it does not count.
    pub allocation: Vec<EntryAllocation>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SetOutcome {
    pub key: String,
    pub label: String,
    pub met: bool,
    pub requirements: Vec<RequirementOutcome>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RequirementOutcome {
    pub key: String,
    pub label: String,
    #[serde(rename = "required_hundredths")]
    #[schema(value_type = u32)]
    pub required: Hours,
    /// Hours allocated to the set that match this requirement (may exceed `required`).
    #[serde(rename = "counted_hundredths")]
    #[schema(value_type = u32)]
    pub counted: Hours,
    #[serde(rename = "shortfall_hundredths")]
    #[schema(value_type = u32)]
    pub shortfall: Hours,
    pub met: bool,
    /// Set when a granted waiver lowered this minimum (`required` is then the granted one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waived: Option<Waived>,
}

/// A minimum lowered by a waiver: what the rule says, what was granted, by whom and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Waived {
    #[schema(value_type = u32)]
    pub rule_min_hundredths: Hours,
    #[schema(value_type = u32)]
    pub granted_min_hundredths: Hours,
    /// The waiver request that granted it.
    #[schema(value_type = String, format = Uuid)]
    pub request_id: uuid::Uuid,
    pub granted_by: crate::vocabulary::actor::ActedBy,
    pub granted_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Gap {
    pub set: String,
    pub requirement: String,
    #[serde(rename = "shortfall_hundredths")]
    #[schema(value_type = u32)]
    pub shortfall: Hours,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct EntryAllocation {
    pub entry_id: EntryId,
    /// Completed inside the cycle's counting period.
    pub in_cycle: bool,
    /// Why the entry does not count, when it does not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub excluded_reason: Option<String>,
    pub shares: Vec<Share>,
}

/// Hours of one entry placed in one set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Share {
    pub set: String,
    #[serde(rename = "hours_hundredths")]
    #[schema(value_type = u32)]
    pub hours: Hours,
    #[serde(rename = "ethics_hours_hundredths")]
    #[schema(value_type = u32)]
    pub ethics_hours: Hours,
}

/// Judge `entries` against `rules` for `cycle`.
pub fn evaluate(rules: &CredentialRules, cycle: &Cycle, entries: &[EntryFacts]) -> Eligibility {
    let sets = rules.requirement_sets.as_slice();
    let plan = allocate(sets, &type_totals(cycle, entries));
    let (outcomes, gaps) = judge(sets, &plan);
    let allocation = disaggregate(sets, cycle, entries, &plan);
    Eligibility {
        met: outcomes.iter().all(|s| s.met),
        sets: outcomes,
        gaps,
        allocation,
    }
}
