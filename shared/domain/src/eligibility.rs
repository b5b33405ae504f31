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
//! INTERFACE: the public types and [`evaluate`] are fixed; other crates depend on them.

use crate::calendar::Cycle;
use crate::credential::ProviderCategory;
use crate::hours::Hours;
use crate::ids::EntryId;
use crate::rules::{CredentialRules, Requirement, RequirementSet};
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
    pub granted_by: crate::actor::ActedBy,
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
    let mut amounts = [0u64; TYPES];
    for entry in entries {
        if cycle.counts(entry.completed_on) {
            let (ethics, other) = parts(entry);
            let e = type_index(entry.category, entry.canadian_content, true);
            let o = type_index(entry.category, entry.canadian_content, false);
            amounts[e] = amounts[e].saturating_add(ethics);
            amounts[o] = amounts[o].saturating_add(other);
        }
    }
    let plan = allocate(sets, &amounts);
    let (outcomes, gaps) = judge(sets, &plan);
    let allocation = disaggregate(sets, cycle, entries, &plan);
    Eligibility {
        met: outcomes.iter().all(|s| s.met),
        sets: outcomes,
        gaps,
        allocation,
    }
}

// ---- types ---------------------------------------------------------------------------------------

/// Entry types: 4 provider categories × Canadian content × ethics part.
const TYPES: usize = 16;

/// Hours of each type placed in one set (indexed by [`type_index`]).
type SetPlan = [u64; TYPES];

const fn category_index(category: ProviderCategory) -> usize {
    match category {
        ProviderCategory::Society => 0,
        ProviderCategory::ApprovedProvider => 1,
        ProviderCategory::DigitalHealthCanada => 2,
        ProviderCategory::Other => 3,
    }
}

const fn type_index(category: ProviderCategory, canadian: bool, ethics: bool) -> usize {
    category_index(category) * 4 + (canadian as usize) * 2 + (ethics as usize)
}

/// (category, Canadian content, ethics part) of a type index.
fn kind(t: usize) -> (ProviderCategory, bool, bool) {
    let category = match t / 4 {
        0 => ProviderCategory::Society,
        1 => ProviderCategory::ApprovedProvider,
        2 => ProviderCategory::DigitalHealthCanada,
        _ => ProviderCategory::Other,
    };
    (category, t & 2 != 0, t & 1 != 0)
}

fn accepts(set: &RequirementSet, t: usize) -> bool {
    set.accepts(kind(t).1)
}

fn counts(requirement: &Requirement, t: usize) -> bool {
    let (category, _, ethics) = kind(t);
    requirement.counts(category, ethics)
}

/// An entry's (ethics part, other part) in hundredths; `ethics_hours` is clamped to `hours`.
fn parts(entry: &EntryFacts) -> (u64, u64) {
    let hours = entry.hours.hundredths();
    let ethics = entry.ethics_hours.hundredths().min(hours);
    (u64::from(ethics), u64::from(hours - ethics))
}

/// Hours of `plan` that count toward `requirement`.
fn counted(requirement: &Requirement, plan: &SetPlan) -> u64 {
    plan.iter()
        .enumerate()
        .filter(|&(t, &h)| h > 0 && counts(requirement, t))
        .fold(0u64, |sum, (_, &h)| sum.saturating_add(h))
}

fn to_hours(hundredths: u64) -> Hours {
    Hours(u32::try_from(hundredths).unwrap_or(u32::MAX))
}

// ---- allocation of type totals to sets -----------------------------------------------------------

/// The hours of each type placed in each set (one [`SetPlan`] per set, in rule order).
fn allocate(sets: &[RequirementSet], amounts: &[u64; TYPES]) -> Vec<SetPlan> {
    let mut plan = vec![[0u64; TYPES]; sets.len()];
    let mut contested = Vec::new();
    for (t, &amount) in amounts.iter().enumerate() {
        if amount == 0 {
            continue;
        }
        let mut accepting = (0..sets.len()).filter(|&s| accepts(&sets[s], t));
        match (accepting.next(), accepting.next()) {
            (None, _) => {}
            (Some(s), None) => plan[s][t] = amount,
            (Some(_), Some(_)) => contested.push(t),
        }
    }
    if !contested.is_empty() {
        split_contested(sets, amounts, &contested, &mut plan);
    }
    plan
}

/// Types every set treats alike.
struct Class {
    types: Vec<usize>,
    amount: u64,
    /// Accepting sets in rule order; the first takes what the unknowns leave.
    sets: Vec<usize>,
}

impl Class {
    fn first(&self) -> usize {
        self.sets.first().copied().unwrap_or(0)
    }

    /// Whether this class's hours count toward requirement `r` of set `s`.
    fn counts(&self, sets: &[RequirementSet], s: usize, r: usize) -> bool {
        self.types
            .first()
            .is_some_and(|&t| counts(&sets[s].requirements[r], t))
    }
}

fn same_profile(sets: &[RequirementSet], a: usize, b: usize) -> bool {
    sets.iter().all(|set| {
        accepts(set, a) == accepts(set, b)
            && (!accepts(set, a)
                || set
                    .requirements
                    .iter()
                    .all(|r| counts(r, a) == counts(r, b)))
    })
}

/// Decide how contested types are split, exactly (see the module documentation).
fn split_contested(
    sets: &[RequirementSet],
    amounts: &[u64; TYPES],
    contested: &[usize],
    plan: &mut [SetPlan],
) {
    let mut classes: Vec<Class> = Vec::new();
    for &t in contested {
        match classes
            .iter_mut()
            .find(|c| c.types.first().is_some_and(|&u| same_profile(sets, u, t)))
        {
            Some(class) => {
                class.types.push(t);
                class.amount = class.amount.saturating_add(amounts[t]);
            }
            None => classes.push(Class {
                types: vec![t],
                amount: amounts[t],
                sets: (0..sets.len()).filter(|&s| accepts(&sets[s], t)).collect(),
            }),
        }
    }
    // Unknowns: (class, set) for every accepting set but the class's first.
    let vars: Vec<(usize, usize)> = classes
        .iter()
        .enumerate()
        .flat_map(|(k, c)| c.sets.iter().skip(1).map(move |&s| (k, s)))
        .collect();

    // Counted per requirement when every unknown is zero.
    let mut base: Vec<Vec<u64>> = sets
        .iter()
        .zip(plan.iter())
        .map(|(set, p)| set.requirements.iter().map(|r| counted(r, p)).collect())
        .collect();
    for class in &classes {
        let s = class.first();
        for (r, c) in base[s].iter_mut().enumerate() {
            if class.counts(sets, s, r) {
                *c = c.saturating_add(class.amount);
            }
        }
    }

    let x = match build_ilp(sets, &classes, &vars, &base) {
        Some(ilp) => ilp.solve(),
        None => vec![0; vars.len()],
    };
    let mut x: Vec<u64> = x
        .into_iter()
        .map(|v| u64::try_from(v).unwrap_or(0))
        .collect();
    prefer_earlier_sets(sets, &classes, &vars, &base, &mut x);

    // Class amounts per set, then handed to the class's types (each type fills sets in order).
    for (k, class) in classes.iter().enumerate() {
        let mut per_set: Vec<(usize, u64)> = Vec::with_capacity(class.sets.len());
        let given: u64 = vars
            .iter()
            .zip(&x)
            .filter(|((vk, _), _)| *vk == k)
            .map(|(_, &v)| v)
            .sum();
        per_set.push((class.first(), class.amount.saturating_sub(given)));
        per_set.extend(
            vars.iter()
                .zip(&x)
                .filter(|((vk, _), _)| *vk == k)
                .map(|(&(_, s), &v)| (s, v)),
        );
        per_set.sort_by_key(|&(s, _)| s);
        let mut types = class.types.iter().map(|&t| (t, amounts[t])).peekable();
        for (s, mut room) in per_set {
            while room > 0 {
                let Some((t, left)) = types.peek_mut() else {
                    break;
                };
                let take = room.min(*left);
                plan[s][*t] = plan[s][*t].saturating_add(take);
                room -= take;
                *left -= take;
                if *left == 0 {
                    types.next();
                }
            }
        }
    }
}

/// The integer program of step 3, or `None` when a number does not fit the solver (the caller
/// then keeps every contested hour in its first set).
fn build_ilp(
    sets: &[RequirementSet],
    classes: &[Class],
    vars: &[(usize, usize)],
    base: &[Vec<u64>],
) -> Option<Ilp> {
    let mut rows = Vec::new();
    for (s, set) in sets.iter().enumerate() {
        for (r, requirement) in set.requirements.iter().enumerate() {
            let mut sigma = vec![0i8; vars.len()];
            let mut max_loss = 0i128;
            for (j, &(k, vs)) in vars.iter().enumerate() {
                let class = &classes[k];
                if vs == s && class.counts(sets, s, r) {
                    sigma[j] = 1;
                }
                if class.first() == s && class.counts(sets, s, r) {
                    sigma[j] = -1;
                }
            }
            for class in classes {
                if class.first() == s && class.counts(sets, s, r) {
                    max_loss += i128::from(class.amount);
                }
            }
            let a = i128::from(requirement.min.hundredths()) - i128::from(base[s][r]);
            // Rows the unknowns cannot affect, or that stay met whatever they do, are constants.
            if sigma.iter().all(|&v| v == 0) || a + max_loss <= 0 {
                continue;
            }
            rows.push(Row {
                a: i64::try_from(a).ok()?,
                sigma,
            });
        }
    }
    let cap = classes
        .iter()
        .map(|c| i64::try_from(c.amount).ok())
        .collect::<Option<Vec<_>>>()?;
    Some(Ilp {
        group: vars.iter().map(|&(k, _)| k).collect(),
        cap,
        rows,
    })
}

/// Ties: move hours a later set does not need back to the class's first set. A requirement of the
/// later set loses at most its surplus, and the first set only gains, so no shortfall grows.
fn prefer_earlier_sets(
    sets: &[RequirementSet],
    classes: &[Class],
    vars: &[(usize, usize)],
    base: &[Vec<u64>],
    x: &mut [u64],
) {
    let mut now: Vec<Vec<u64>> = base.to_vec();
    for (j, &(k, s)) in vars.iter().enumerate() {
        let class = &classes[k];
        shift(sets, class, &mut now, class.first(), s, x[j]);
    }
    for (j, &(k, s)) in vars.iter().enumerate() {
        let class = &classes[k];
        let first = class.first();
        let surplus = sets[s]
            .requirements
            .iter()
            .enumerate()
            .filter(|&(r, _)| class.counts(sets, s, r))
            .map(|(r, req)| now[s][r].saturating_sub(u64::from(req.min.hundredths())))
            .min()
            .unwrap_or(u64::MAX);
        let moved = x[j].min(surplus);
        if moved == 0 {
            continue;
        }
        x[j] -= moved;
        shift(sets, class, &mut now, s, first, moved);
    }
}

/// Update the counted hours `now` for `amount` of `class` moving from set `from` to set `to`.
fn shift(
    sets: &[RequirementSet],
    class: &Class,
    now: &mut [Vec<u64>],
    from: usize,
    to: usize,
    amount: u64,
) {
    for (r, c) in now[from].iter_mut().enumerate() {
        if class.counts(sets, from, r) {
            *c = c.saturating_sub(amount);
        }
    }
    for (r, c) in now[to].iter_mut().enumerate() {
        if class.counts(sets, to, r) {
            *c = c.saturating_add(amount);
        }
    }
}

// ---- verdict and per-entry allocation ------------------------------------------------------------

fn judge(sets: &[RequirementSet], plan: &[SetPlan]) -> (Vec<SetOutcome>, Vec<Gap>) {
    let mut gaps = Vec::new();
    let outcomes = sets
        .iter()
        .zip(plan)
        .map(|(set, p)| {
            let requirements: Vec<RequirementOutcome> = set
                .requirements
                .iter()
                .map(|r| {
                    let counted = to_hours(counted(r, p));
                    let shortfall = r.min.saturating_sub(counted);
                    if shortfall > Hours::ZERO {
                        let message = if sets.len() > 1 {
                            format!("{shortfall} {} in the {}", r.label, set.label)
                        } else {
                            format!("{shortfall} {}", r.label)
                        };
                        gaps.push(Gap {
                            set: set.key.clone(),
                            requirement: r.key.clone(),
                            shortfall,
                            message,
                        });
                    }
                    RequirementOutcome {
                        key: r.key.clone(),
                        label: r.label.clone(),
                        required: r.min,
                        counted,
                        shortfall,
                        met: shortfall == Hours::ZERO,
                        waived: None,
                    }
                })
                .collect();
            SetOutcome {
                key: set.key.clone(),
                label: set.label.clone(),
                met: requirements.iter().all(|r| r.met),
                requirements,
            }
        })
        .collect();
    (outcomes, gaps)
}

/// Hand the per-set type totals back to entries: in input order, each type filling sets in order.
fn disaggregate(
    sets: &[RequirementSet],
    cycle: &Cycle,
    entries: &[EntryFacts],
    plan: &[SetPlan],
) -> Vec<EntryAllocation> {
    let mut left: Vec<SetPlan> = plan.to_vec();
    let mut cursor = [0usize; TYPES];
    // (hours, ethics hours) of the current entry per set.
    let mut here = vec![(0u64, 0u64); sets.len()];
    let mut take = |t: usize, mut amount: u64, ethics: bool, here: &mut [(u64, u64)]| {
        while amount > 0 && cursor[t] < left.len() {
            let s = cursor[t];
            let part = left[s][t].min(amount);
            left[s][t] -= part;
            amount -= part;
            here[s].0 += part;
            if ethics {
                here[s].1 += part;
            }
            if left[s][t] == 0 {
                cursor[t] += 1;
            }
        }
    };
    entries
        .iter()
        .map(|entry| {
            if !cycle.counts(entry.completed_on) {
                return EntryAllocation {
                    entry_id: entry.id,
                    in_cycle: false,
                    excluded_reason: Some(out_of_cycle_reason(cycle, entry.completed_on)),
                    shares: Vec::new(),
                };
            }
            here.iter_mut().for_each(|h| *h = (0, 0));
            let (ethics, other) = parts(entry);
            take(
                type_index(entry.category, entry.canadian_content, true),
                ethics,
                true,
                &mut here,
            );
            take(
                type_index(entry.category, entry.canadian_content, false),
                other,
                false,
                &mut here,
            );
            let shares: Vec<Share> = sets
                .iter()
                .zip(&here)
                .filter(|&(_, &(hours, _))| hours > 0)
                .map(|(set, &(hours, ethics))| Share {
                    set: set.key.clone(),
                    hours: to_hours(hours),
                    ethics_hours: to_hours(ethics),
                })
                .collect();
            let excluded_reason = (shares.is_empty() && entry.hours > Hours::ZERO).then(|| {
                if entry.canadian_content || sets.is_empty() {
                    "no requirement set of this credential accepts these hours".to_owned()
                } else {
                    "no requirement set of this credential accepts hours without Canadian-specific \
                     content"
                        .to_owned()
                }
            });
            EntryAllocation {
                entry_id: entry.id,
                in_cycle: true,
                excluded_reason,
                shares,
            }
        })
        .collect()
}

fn out_of_cycle_reason(cycle: &Cycle, completed_on: NaiveDate) -> String {
    if completed_on < cycle.starts_on {
        format!(
            "completed on {completed_on}, before the cycle started on {}",
            cycle.starts_on
        )
    } else {
        format!(
            "completed on {completed_on}, after the cycle's counting period ended on {}",
            cycle.counting_ends_on()
        )
    }
}

// ---- the exact integer program -----------------------------------------------------------------

/// Branch-and-bound nodes explored at most (a safety valve; see the module documentation).
const MAX_NODES: usize = 1000;

/// Rounds of local search per candidate at most (each round lowers the objective).
const MAX_POLISH_ROUNDS: usize = 64;

/// Simplex pivots per LP at most (Bland's rule cannot cycle; this only bounds the loop).
const MAX_PIVOTS: usize = 10_000;

/// `min Σ_r max(0, a_r − σ_r·x)` subject to `Σ_{j in group g} x_j ≤ cap_g`, `x ≥ 0` integer.
#[derive(Debug)]
struct Ilp {
    /// The capacity group of each unknown.
    group: Vec<usize>,
    cap: Vec<i64>,
    rows: Vec<Row>,
}

#[derive(Debug)]
struct Row {
    a: i64,
    sigma: Vec<i8>,
}

/// A branch-and-bound node: bounds on the unknowns and the parent's LP bound.
struct Node {
    lo: Vec<i64>,
    hi: Vec<Option<i64>>,
    bound: i128,
}

/// An exact LP optimum: `x_j = lo_j + num_j / den`, objective `z_num / den`.
struct Relaxed {
    num: Vec<i64>,
    den: i64,
    z_num: i64,
}

/// The LP could not be solved within the safety valves: a number left `i64`, a division was not
/// exact (which the theory rules out) or the pivot limit was reached.
#[derive(Debug)]
struct OutOfRange;

impl Ilp {
    /// The exact objective at an integer point.
    fn objective(&self, x: &[i64]) -> i128 {
        self.rows
            .iter()
            .map(|row| {
                let gain: i128 = row
                    .sigma
                    .iter()
                    .zip(x)
                    .map(|(&s, &v)| i128::from(s) * i128::from(v))
                    .sum();
                (i128::from(row.a) - gain).max(0)
            })
            .sum()
    }

    /// An optimal integer point (depth-first branch and bound on exact LP relaxations).
    fn solve(&self) -> Vec<i64> {
        let n = self.group.len();
        let mut best_x = vec![0i64; n];
        let mut best = self.objective(&best_x);
        let mut stack = vec![Node {
            lo: vec![0; n],
            hi: vec![None; n],
            bound: 0,
        }];
        let mut nodes = 0usize;
        while best > 0 {
            let Some(Node { lo, hi, bound }) = stack.pop() else {
                break;
            };
            // The parent's bound holds here too; the incumbent may have improved since.
            if bound >= best {
                continue;
            }
            nodes += 1;
            if nodes > MAX_NODES {
                break;
            }
            let relaxed = match self.relax(&lo, &hi) {
                Ok(Some(r)) => r,
                Ok(None) => continue,
                Err(OutOfRange) => break,
            };
            let bound = i128::from(relaxed.z_num).div_euclid(i128::from(relaxed.den))
                + i128::from(relaxed.z_num.rem_euclid(relaxed.den) != 0);
            if bound >= best {
                continue;
            }
            // Rounding every unknown down stays feasible (caps and bounds are integers); a local
            // search from there often reaches the bound at once.
            let floor: Vec<i64> = (0..n)
                .map(|j| lo[j].saturating_add(relaxed.num[j].div_euclid(relaxed.den)))
                .collect();
            let mut candidate = floor.clone();
            let mut value = self.objective(&candidate);
            if value > bound {
                value = self.polish(&mut candidate);
            }
            if value < best {
                best = value;
                best_x = candidate;
            }
            if best <= bound {
                continue;
            }
            let Some(j) = (0..n).find(|&j| relaxed.num[j].rem_euclid(relaxed.den) != 0) else {
                continue;
            };
            let mut up = lo.clone();
            up[j] = floor[j].saturating_add(1);
            let mut down = hi.clone();
            down[j] = Some(floor[j]);
            let up = Node { lo: up, hi, bound };
            let down = Node {
                lo,
                hi: down,
                bound,
            };
            // Explore first the side the LP value is nearer to.
            if 2 * relaxed.num[j].rem_euclid(relaxed.den) >= relaxed.den {
                stack.extend([down, up]);
            } else {
                stack.extend([up, down]);
            }
        }
        best_x
    }

    /// Improve a feasible integer point by exact line searches along single unknowns and along
    /// moves between two unknowns of one group, until none helps. Returns its objective.
    fn polish(&self, x: &mut [i64]) -> i128 {
        let n = x.len();
        let mut residual: Vec<i128> = self
            .rows
            .iter()
            .map(|row| {
                let gain: i128 = row
                    .sigma
                    .iter()
                    .zip(x.iter())
                    .map(|(&s, &v)| i128::from(s) * i128::from(v))
                    .sum();
                i128::from(row.a) - gain
            })
            .collect();
        let mut used: Vec<i128> = vec![0; self.cap.len()];
        for (j, &v) in x.iter().enumerate() {
            used[self.group[j]] += i128::from(v);
        }
        for _ in 0..MAX_POLISH_ROUNDS {
            let mut improved = false;
            for j in 0..n {
                for k in 0..=n {
                    // Direction: +1 on j and -1 on k (k == n: none), or -1 on j alone (k == j).
                    let (plus, minus) = match k {
                        _ if k == n => (Some(j), None),
                        _ if k == j => (None, Some(j)),
                        _ if self.group[k] == self.group[j] => (Some(j), Some(k)),
                        _ => continue,
                    };
                    let room = match (plus, minus) {
                        (_, Some(m)) => i128::from(x[m]),
                        (Some(p), None) => {
                            i128::from(self.cap[self.group[p]]) - used[self.group[p]]
                        }
                        (None, None) => 0,
                    };
                    if room <= 0 {
                        continue;
                    }
                    let effect = |row: &Row| {
                        plus.map_or(0, |p| i128::from(row.sigma[p]))
                            - minus.map_or(0, |m| i128::from(row.sigma[m]))
                    };
                    let Some(step) = self.line_search(&residual, room, effect) else {
                        continue;
                    };
                    let Ok(step64) = i64::try_from(step) else {
                        continue;
                    };
                    for (res, row) in residual.iter_mut().zip(&self.rows) {
                        *res -= effect(row) * step;
                    }
                    let step = step64;
                    if let Some(p) = plus {
                        x[p] += step;
                        used[self.group[p]] += i128::from(step);
                    }
                    if let Some(m) = minus {
                        x[m] -= step;
                        used[self.group[m]] -= i128::from(step);
                    }
                    improved = true;
                }
            }
            if !improved {
                break;
            }
        }
        self.objective(x)
    }

    /// The best step `t` in `1..=room` along a direction changing each residual `r` by
    /// `-effect(row)·t`, when some step lowers the objective. The objective is convex and
    /// piecewise linear in `t`, so its best integer step is next to a breakpoint or at an end.
    fn line_search(
        &self,
        residual: &[i128],
        room: i128,
        effect: impl Fn(&Row) -> i128,
    ) -> Option<i128> {
        let at = |t: i128| -> i128 {
            residual
                .iter()
                .zip(&self.rows)
                .map(|(&r, row)| (r - effect(row) * t).max(0))
                .sum()
        };
        let now = at(0);
        let mut best: Option<(i128, i128)> = None;
        let mut consider = |t: i128| {
            if (1..=room).contains(&t) {
                let gain = now - at(t);
                if gain > 0 && best.is_none_or(|(bt, bg)| gain > bg || (gain == bg && t < bt)) {
                    best = Some((t, gain));
                }
            }
        };
        consider(1);
        consider(room);
        for (&r, row) in residual.iter().zip(&self.rows) {
            let e = effect(row);
            if e != 0 {
                let t = r.div_euclid(e);
                consider(t - 1);
                consider(t);
                consider(t + 1);
            }
        }
        best.map(|(t, _)| t)
    }

    /// The LP relaxation with `lo ≤ x ≤ hi`, solved exactly; `None` when the bounds are
    /// inconsistent.
    ///
    /// Columns: `x'` (= x − lo), group slacks, shortfalls `y`, surpluses `v`, bound slacks, rhs.
    /// Rows: groups (`Σ x' + slack = cap − Σ lo`), requirements (`σ·x' + y − v = a − σ·lo`, negated
    /// when the right side is negative so that `v` starts basic), bounds (`x' + slack = hi − lo`),
    /// then the reduced costs of `min Σ y`. Every starting basis is a feasible identity.
    fn relax(&self, lo: &[i64], hi: &[Option<i64>]) -> Result<Option<Relaxed>, OutOfRange> {
        let n = self.group.len();
        let g = self.cap.len();
        let r = self.rows.len();
        let bounded: Vec<usize> = (0..n).filter(|&j| hi[j].is_some()).collect();
        let m = g + r + bounded.len();
        let w = n + g + 2 * r + bounded.len() + 1;
        let rhs = w - 1;
        let mut t = vec![0i64; (m + 1) * w];
        let mut basis = vec![0usize; m];
        let mut basic_cost = vec![false; m];
        let fit = |v: i128| i64::try_from(v).map_err(|_| OutOfRange);

        for (k, &cap) in self.cap.iter().enumerate() {
            let used: i128 = (0..n)
                .filter(|&j| self.group[j] == k)
                .map(|j| i128::from(lo[j]))
                .sum();
            let room = i128::from(cap) - used;
            if room < 0 {
                return Ok(None);
            }
            for j in (0..n).filter(|&j| self.group[j] == k) {
                t[k * w + j] = 1;
            }
            t[k * w + n + k] = 1;
            t[k * w + rhs] = fit(room)?;
            basis[k] = n + k;
        }
        for (i, row) in self.rows.iter().enumerate() {
            let at = (g + i) * w;
            let shift: i128 = row
                .sigma
                .iter()
                .zip(lo)
                .map(|(&s, &l)| i128::from(s) * i128::from(l))
                .sum();
            let rest = i128::from(row.a) - shift;
            let sign: i64 = if rest < 0 { -1 } else { 1 };
            for (j, &s) in row.sigma.iter().enumerate() {
                t[at + j] = sign * i64::from(s);
            }
            t[at + n + g + i] = sign;
            t[at + n + g + r + i] = -sign;
            t[at + rhs] = fit(rest.abs())?;
            basis[g + i] = if sign > 0 { n + g + i } else { n + g + r + i };
            basic_cost[g + i] = sign > 0;
        }
        for (q, &j) in bounded.iter().enumerate() {
            let at = (g + r + q) * w;
            let room = i128::from(hi[j].unwrap_or(0)) - i128::from(lo[j]);
            if room < 0 {
                return Ok(None);
            }
            t[at + j] = 1;
            t[at + n + g + 2 * r + q] = 1;
            t[at + rhs] = fit(room)?;
            basis[g + r + q] = n + g + 2 * r + q;
        }
        // Reduced costs: c − Σ c_B · row; the rhs cell holds −z.
        let obj = m * w;
        for i in 0..r {
            t[obj + n + g + i] = 1;
        }
        for i in (0..m).filter(|&i| basic_cost[i]) {
            for col in 0..w {
                t[obj + col] = t[obj + col].checked_sub(t[i * w + col]).ok_or(OutOfRange)?;
            }
        }

        let den = simplex(&mut t, w, m, &mut basis)?;
        let mut num = vec![0i64; n];
        for (i, &b) in basis.iter().enumerate() {
            if b < n {
                num[b] = t[i * w + rhs];
            }
        }
        let z_num = t[obj + rhs].checked_neg().ok_or(OutOfRange)?;
        Ok(Some(Relaxed { num, den, z_num }))
    }
}

/// Fraction-free primal simplex with Bland's rule on a feasible tableau (`m` rows, objective row
/// `m`, rhs in the last column, identity basis, denominator 1). Tableau values are the true ones
/// times the returned denominator (the basis determinant, always positive).
fn simplex(t: &mut [i64], w: usize, m: usize, basis: &mut [usize]) -> Result<i64, OutOfRange> {
    let rhs = w - 1;
    let obj = m * w;
    let mut den: i64 = 1;
    let mut pivot_row = vec![0i64; w];
    for _ in 0..MAX_PIVOTS {
        let Some(c) = (0..rhs).find(|&j| t[obj + j] < 0) else {
            return Ok(den);
        };
        // Minimum ratio rhs/a over a > 0; ties to the smallest basic column (Bland).
        let mut leave: Option<usize> = None;
        for i in 0..m {
            let a = t[i * w + c];
            if a <= 0 {
                continue;
            }
            leave = match leave {
                None => Some(i),
                Some(l) => {
                    let lhs = i128::from(t[i * w + rhs]) * i128::from(t[l * w + c]);
                    let rhs_l = i128::from(t[l * w + rhs]) * i128::from(a);
                    if lhs < rhs_l || (lhs == rhs_l && basis[i] < basis[l]) {
                        Some(i)
                    } else {
                        Some(l)
                    }
                }
            };
        }
        // The objective is bounded below by zero, so some row always limits the step.
        let Some(r) = leave else {
            return Err(OutOfRange);
        };
        let p = t[r * w + c];
        pivot_row.copy_from_slice(&t[r * w..(r + 1) * w]);
        for i in (0..=m).filter(|&i| i != r) {
            let row = &mut t[i * w..(i + 1) * w];
            let f = row[c];
            if f == 0 && p == den {
                continue;
            }
            for (cell, &pr) in row.iter_mut().zip(&pivot_row) {
                let v = i128::from(*cell) * i128::from(p) - i128::from(f) * i128::from(pr);
                let v = if den == 1 {
                    v
                } else {
                    let d = i128::from(den);
                    if v % d != 0 {
                        return Err(OutOfRange);
                    }
                    v / d
                };
                *cell = i64::try_from(v).map_err(|_| OutOfRange)?;
            }
        }
        basis[r] = c;
        den = p;
    }
    Err(OutOfRange)
}
