//! Checking a period's published log as an outsider would, against what they recorded earlier.
//!
//! A document that is merely self-consistent proves little: whoever keeps the ledger could write a
//! new seed with a new commitment, drop a candidate and recompute the digest, or delete a day. So
//! [`verify`] takes, beside the revealed document, what the checker recorded before: the
//! commitment (saved before the period started) and any earlier copies of the document. It checks
//! that the revealed log extends each copy unchanged, that the commitment was published before
//! the period started, that every draw ran inside its period, after the commitment and before the
//! reveal, that every day's share is the published rules' share in force that day, that no
//! candidate is drawn twice, that the log's chain and head hold, and that every selection re-runs
//! from the revealed seed. `scripts/verify-audit-draw.py` makes the same checks with the public
//! `consistent-sampler` package and nothing of ours.

use super::draw::{DrawRecord, candidates_digest, select};
use super::period::{LEGACY_SCHEME, Period, PublicPeriod, SCHEME, commitment_of, genesis};
use super::ticket::sha256_hex;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// A period's public document with its whole log (every page of `GET /audit-periods/{period}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeriodLog {
    pub period: PublicPeriod,
    pub draws: Vec<DrawRecord>,
}

/// What the checker recorded before the reveal.
#[derive(Debug, Clone, Copy, Default)]
pub struct Recorded<'a> {
    /// The commitment, as saved before the period started.
    pub commitment: Option<&'a str>,
    /// Earlier copies of the period's document.
    pub earlier: &'a [PeriodLog],
}

/// What is wrong with a period's log, each naming where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    #[error("the seed of {0} is not revealed yet: the selections cannot be re-run")]
    NotRevealed(Period),
    #[error("the revealed seed does not hash to the published commitment")]
    SeedMismatch,
    #[error("the published commitment {published} is not the one you recorded ({recorded})")]
    NotTheRecordedCommitment { recorded: String, published: String },
    #[error(
        "the commitment was published on {committed_on}, after the period started, and the period does not say so"
    )]
    CommittedLate { committed_on: NaiveDate },
    #[error("the seed was revealed on {revealed_on}, before the period ended")]
    RevealedEarly { revealed_on: NaiveDate },
    #[error("unknown scheme {0}")]
    UnknownScheme(u32),
    #[error(
        "draw {day}: it is record {found} of the log, where record {expected} should be (a record was removed or inserted)"
    )]
    Sequence {
        day: NaiveDate,
        expected: usize,
        found: u32,
    },
    #[error(
        "draw {day}: its `previous` is not the hash of the record before it (the log was changed)"
    )]
    Chain { day: NaiveDate },
    #[error("draw {day}: its `entry_sha256` is not the hash of its content")]
    EntryHash { day: NaiveDate },
    #[error(
        "the period says its log holds {claimed} draws ending in {head}, but the log holds {found}"
    )]
    Head {
        claimed: u32,
        head: String,
        found: usize,
    },
    #[error("draw {day}: it is not a day of {period}")]
    OutsidePeriod { day: NaiveDate, period: Period },
    #[error("draw {day}: it comes after the draw of {before}, a later or the same day")]
    OutOfOrder { day: NaiveDate, before: NaiveDate },
    #[error(
        "draw {day}: it ran on or before the day the commitment was published ({committed_on})"
    )]
    BeforeCommitment {
        day: NaiveDate,
        committed_on: NaiveDate,
    },
    #[error("draw {day}: it ran at {ran_at}, not on its day or the day after")]
    RanOnAnotherDay { day: NaiveDate, ran_at: String },
    #[error("draw {day}: it ran after the seed was revealed")]
    AfterReveal { day: NaiveDate },
    #[error("draw {day}: it names another commitment than its period's")]
    RecordCommitment { day: NaiveDate },
    #[error(
        "draw {day}: its share is {recorded} %, but the rules in force that day say {in_force} %"
    )]
    Share {
        day: NaiveDate,
        recorded: u32,
        in_force: u32,
    },
    #[error("draw {day}: the candidate digest does not match its candidates (sorted, each once)")]
    Digest { day: NaiveDate },
    #[error("{id} is a candidate of two draws: {first} and {second}")]
    DrawnTwice {
        id: String,
        first: NaiveDate,
        second: NaiveDate,
    },
    #[error(
        "draw {day}: re-running it with the revealed seed selects {expected:?}, not {recorded:?}"
    )]
    Selection {
        day: NaiveDate,
        recorded: Vec<String>,
        expected: Vec<String>,
    },
    #[error("your earlier copy is of {earlier}, not {period}")]
    EarlierOtherPeriod { earlier: Period, period: Period },
    #[error(
        "your earlier copy has another commitment, publication time or late flag than this document"
    )]
    EarlierCommitment,
    #[error(
        "your earlier copy holds {earlier} draws, this document only {now} (records were removed)"
    )]
    EarlierLonger { earlier: usize, now: usize },
    #[error("draw {day} differs from your earlier copy")]
    EarlierChanged { day: NaiveDate },
    #[error("your earlier copy shows another seed")]
    EarlierSeed,
}

/// What [`verify`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    pub period: Period,
    pub draws: usize,
    pub candidates: usize,
    pub selected: usize,
    /// Empty: the log holds.
    pub problems: Vec<Problem>,
    /// What the checker should know without it being wrong (a late commitment, the old scheme).
    pub notes: Vec<String>,
}

impl Verification {
    pub fn is_verified(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Check `log` against what was `recorded` earlier; `share_on(day)` is the share (percent) of the
/// published rules in force on that day.
pub fn verify(
    log: &PeriodLog,
    recorded: &Recorded<'_>,
    share_on: &dyn Fn(NaiveDate) -> u32,
) -> Verification {
    let p = &log.period;
    let mut out = Verification {
        period: p.period,
        draws: log.draws.len(),
        candidates: log.draws.iter().map(|d| d.candidates.len()).sum(),
        selected: log.draws.iter().map(|d| d.selected.len()).sum(),
        problems: Vec::new(),
        notes: Vec::new(),
    };
    let problems = &mut out.problems;
    if let Some(recorded) = recorded.commitment
        && recorded != p.commitment
    {
        problems.push(Problem::NotTheRecordedCommitment {
            recorded: recorded.to_owned(),
            published: p.commitment.clone(),
        });
    }
    let seed = revealed_seed(p, problems);
    match p.scheme {
        SCHEME => check_log(log, seed, share_on, &mut out),
        LEGACY_SCHEME => {
            out.notes.push(format!(
                "{} was committed under scheme 1 (its commitment was the sampler's key) and retired; \
                 its draws are checked one by one, without a log chain",
                p.period
            ));
            for d in &log.draws {
                check_draw(d, p, seed, share_on, &mut out.problems);
            }
        }
        other => out.problems.push(Problem::UnknownScheme(other)),
    }
    for copy in recorded.earlier {
        compare_with_earlier(log, copy, &mut out.problems);
    }
    out
}

/// The revealed seed, if it is the one committed to.
fn revealed_seed<'a>(p: &'a PublicPeriod, problems: &mut Vec<Problem>) -> Option<&'a str> {
    let Some(seed) = p.seed.as_deref() else {
        problems.push(Problem::NotRevealed(p.period));
        return None;
    };
    let committed = match p.scheme {
        LEGACY_SCHEME => sha256_hex(seed),
        _ => commitment_of(seed),
    };
    if committed != p.commitment {
        problems.push(Problem::SeedMismatch);
        return None;
    }
    if let Some(revealed_at) = p.revealed_at
        && revealed_at.date_naive() <= p.period.last_day()
        && p.rotated_at.is_none()
    {
        problems.push(Problem::RevealedEarly {
            revealed_on: revealed_at.date_naive(),
        });
    }
    Some(seed)
}

/// The scheme 2 checks: the commitment's date, the chain and head, then every draw.
fn check_log(
    log: &PeriodLog,
    seed: Option<&str>,
    share_on: &dyn Fn(NaiveDate) -> u32,
    out: &mut Verification,
) {
    let p = &log.period;
    let committed_on = p.committed_at.date_naive();
    if committed_on >= p.period.first_day() {
        if p.late_commitment {
            out.notes.push(format!(
                "the commitment of {} was published on {committed_on}, inside the period (the \
                 programme's first period, or a rotated one): compare it with your own record",
                p.period
            ));
        } else {
            out.problems.push(Problem::CommittedLate { committed_on });
        }
    }
    let mut previous = genesis(p.period, &p.commitment, p.committed_at, p.late_commitment);
    let mut seen: HashMap<&str, NaiveDate> = HashMap::new();
    for (i, d) in log.draws.iter().enumerate() {
        let day = d.run_on;
        if usize::try_from(d.seq).ok() != Some(i + 1) {
            out.problems.push(Problem::Sequence {
                day,
                expected: i + 1,
                found: d.seq,
            });
        }
        if d.previous != previous {
            out.problems.push(Problem::Chain { day });
        }
        if d.computed_entry_sha256() != d.entry_sha256 {
            out.problems.push(Problem::EntryHash { day });
        }
        previous = d.entry_sha256.clone();
        if let Some(before) = i.checked_sub(1).map(|j| log.draws[j].run_on)
            && day <= before
        {
            out.problems.push(Problem::OutOfOrder { day, before });
        }
        if day <= committed_on {
            out.problems
                .push(Problem::BeforeCommitment { day, committed_on });
        }
        for c in &d.candidates {
            if let Some(first) = seen.insert(c.as_str(), day) {
                out.problems.push(Problem::DrawnTwice {
                    id: c.clone(),
                    first,
                    second: day,
                });
            }
        }
        check_draw(d, p, seed, share_on, &mut out.problems);
    }
    if usize::try_from(p.draws).ok() != Some(log.draws.len()) || p.head != previous {
        out.problems.push(Problem::Head {
            claimed: p.draws,
            head: p.head.clone(),
            found: log.draws.len(),
        });
    }
}

/// The checks of one draw that need nothing but the draw and its period.
fn check_draw(
    d: &DrawRecord,
    p: &PublicPeriod,
    seed: Option<&str>,
    share_on: &dyn Fn(NaiveDate) -> u32,
    problems: &mut Vec<Problem>,
) {
    let day = d.run_on;
    if d.period != p.period || !p.period.contains(day) {
        problems.push(Problem::OutsidePeriod {
            day,
            period: p.period,
        });
    }
    let ran_on = d.ran_at.date_naive();
    if ran_on < day || day.succ_opt().is_some_and(|next| ran_on > next) {
        problems.push(Problem::RanOnAnotherDay {
            day,
            ran_at: super::period::log_instant(d.ran_at),
        });
    }
    if p.revealed_at.is_some_and(|r| d.ran_at >= r) {
        problems.push(Problem::AfterReveal { day });
    }
    if d.seed_commitment != p.commitment {
        problems.push(Problem::RecordCommitment { day });
    }
    let in_force = share_on(day);
    if d.share_percent != in_force {
        problems.push(Problem::Share {
            day,
            recorded: d.share_percent,
            in_force,
        });
    }
    let (sorted, digest) = candidates_digest(d.candidates.iter().cloned());
    if digest != d.candidates_sha256 || sorted != d.candidates {
        problems.push(Problem::Digest { day });
    }
    if let Some(seed) = seed {
        let expected = select(seed, d.share_percent, &d.candidates);
        if expected != d.selected {
            problems.push(Problem::Selection {
                day,
                recorded: d.selected.iter().map(|s| s.id.clone()).collect(),
                expected: expected.into_iter().map(|s| s.id).collect(),
            });
        }
    }
}

/// The document must extend `earlier` unchanged.
fn compare_with_earlier(log: &PeriodLog, earlier: &PeriodLog, problems: &mut Vec<Problem>) {
    let (p, e) = (&log.period, &earlier.period);
    if e.period != p.period {
        problems.push(Problem::EarlierOtherPeriod {
            earlier: e.period,
            period: p.period,
        });
        return;
    }
    if (&e.commitment, e.committed_at, e.late_commitment, e.scheme)
        != (&p.commitment, p.committed_at, p.late_commitment, p.scheme)
    {
        problems.push(Problem::EarlierCommitment);
    }
    if e.seed.is_some() && e.seed != p.seed {
        problems.push(Problem::EarlierSeed);
    }
    if earlier.draws.len() > log.draws.len() {
        problems.push(Problem::EarlierLonger {
            earlier: earlier.draws.len(),
            now: log.draws.len(),
        });
    }
    for (i, before) in earlier.draws.iter().enumerate() {
        if log.draws.get(i) != Some(before) {
            problems.push(Problem::EarlierChanged { day: before.run_on });
        }
    }
}

#[cfg(test)]
mod tests;
