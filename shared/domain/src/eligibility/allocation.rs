//! Steps 1–3 and 5 of the engine (see the module documentation of [`super`]): entries as type
//! totals, uncontested types placed, contested ones grouped into classes and handed to the exact
//! solver ([`super::ilp`]), ties broken toward earlier sets, the verdict, and the type totals
//! handed back to entries.

use super::ilp::{Ilp, Row};
use super::{EntryAllocation, EntryFacts, Gap, RequirementOutcome, SetOutcome, Share};
use crate::calendar::Cycle;
use crate::rules::Requirement;
use crate::rules::RequirementSet;
use crate::vocabulary::credential::ProviderCategory;
use crate::vocabulary::hours::Hours;
use chrono::NaiveDate;

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
pub(super) fn allocate(sets: &[RequirementSet], amounts: &[u64; TYPES]) -> Vec<SetPlan> {
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

pub(super) fn judge(sets: &[RequirementSet], plan: &[SetPlan]) -> (Vec<SetOutcome>, Vec<Gap>) {
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
pub(super) fn disaggregate(
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

/// The in-cycle hours of `entries`, summed by type (step 1).
pub(super) fn type_totals(cycle: &Cycle, entries: &[EntryFacts]) -> [u64; TYPES] {
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
    amounts
}
