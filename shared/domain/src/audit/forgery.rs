//! Test support (feature `testing`): an honest period's log, and the forgeries a careful forger
//! could make of it, each made self-consistent (digests, chain and head recomputed). Both
//! verifiers are tested against them: ours (`verify`) and the public script.

use super::draw::{candidates_digest, draw, select};
use super::period::{AuditPeriod, PublicPeriod, SealedSeed, Seed, genesis};
use super::verify::PeriodLog;
use chrono::{DateTime, NaiveDate, Utc};

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap_or_default()
}

/// A revealed December 2026 at a 10 % share, committed on 1 November, with three daily draws of
/// 40 candidates, revealed on 2 January; and the copy an outsider saved after the second draw.
pub fn honest() -> (PeriodLog, PeriodLog) {
    let seed = Seed::from_bytes([9; 32]);
    let sealed = SealedSeed {
        key: "file:test".into(),
        ciphertext: String::new(),
    };
    let december = "2026-12".parse().unwrap_or_else(|_| unreachable!());
    let mut period =
        AuditPeriod::commit(december, &seed, sealed, at("2026-11-01T02:15:00Z"), false);
    let mut draws = Vec::new();
    let mut copy = None;
    for day in 1..=3u32 {
        let ids = (0..40).map(|i| format!("cert-{day}-{i}/2024-01-01"));
        let run_on = NaiveDate::from_ymd_opt(2026, 12, day).unwrap_or_default();
        let ran_at = run_on.and_hms_opt(2, 15, 0).unwrap_or_default().and_utc();
        let record = draw(&period, &seed, run_on, 10, ids, ran_at);
        period = period.appended(&record);
        draws.push(record);
        if day == 2 {
            copy = Some(PeriodLog {
                period: period.public(),
                draws: draws.clone(),
            });
        }
    }
    let revealed = period
        .revealed(&seed, at("2027-01-02T02:15:00Z"))
        .unwrap_or(period);
    let log = PeriodLog {
        period: revealed.public(),
        draws,
    };
    (log, copy.unwrap_or_else(|| unreachable!()))
}

/// What a careful forger does after an edit: recompute every digest, the chain and the head.
pub fn rechain(log: &mut PeriodLog) {
    let p: &mut PublicPeriod = &mut log.period;
    let mut previous = genesis(p.period, &p.commitment, p.committed_at, p.late_commitment);
    for (i, d) in log.draws.iter_mut().enumerate() {
        d.seq = u32::try_from(i + 1).unwrap_or(u32::MAX);
        d.candidates_sha256 = candidates_digest(d.candidates.clone()).1;
        d.seed_commitment = p.commitment.clone();
        d.previous = previous;
        d.entry_sha256 = d.computed_entry_sha256();
        previous = d.entry_sha256.clone();
    }
    p.draws = u32::try_from(log.draws.len()).unwrap_or(u32::MAX);
    p.head = previous;
}

/// The forgeries the verifiers must refuse, given what the outsider recorded earlier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forgery {
    /// Another seed, with its own commitment, every selection redone.
    NewSeed,
    /// A day's share set to 0 (nobody selected that day).
    ShareOfZero,
    /// A candidate removed from a day, the digest recomputed.
    CandidateRemoved,
    /// A day deleted from the log.
    DayDeleted,
    /// One candidate drawn on two days.
    OneIdInTwoDays,
    /// A draw run after the reveal.
    DrawAfterTheReveal,
}

impl Forgery {
    pub const ALL: [Forgery; 6] = [
        Forgery::NewSeed,
        Forgery::ShareOfZero,
        Forgery::CandidateRemoved,
        Forgery::DayDeleted,
        Forgery::OneIdInTwoDays,
        Forgery::DrawAfterTheReveal,
    ];

    /// `log` forged this way, self-consistent.
    pub fn forge(self, log: &PeriodLog) -> PeriodLog {
        let mut forged = log.clone();
        let seed = forged.period.seed.clone().unwrap_or_default();
        match self {
            Forgery::NewSeed => {
                let other = Seed::from_bytes([1; 32]);
                forged.period.commitment = other.commitment();
                forged.period.seed = Some(other.expose().to_owned());
                for d in &mut forged.draws {
                    d.selected = select(other.expose(), d.share_percent, &d.candidates);
                }
            }
            Forgery::ShareOfZero => {
                forged.draws[2].share_percent = 0;
                forged.draws[2].selected.clear();
            }
            Forgery::CandidateRemoved => {
                let first = &mut forged.draws[0];
                let kept = first.candidates.clone();
                let unselected = kept
                    .iter()
                    .position(|c| first.selects(c).is_none())
                    .unwrap_or(0);
                first.candidates.remove(unselected);
            }
            Forgery::DayDeleted => {
                forged.draws.remove(1);
            }
            Forgery::OneIdInTwoDays => {
                let twice = forged.draws[0].candidates[0].clone();
                let last = &mut forged.draws[2];
                last.candidates.push(twice);
                last.candidates.sort();
                last.selected = select(&seed, last.share_percent, &last.candidates);
            }
            Forgery::DrawAfterTheReveal => {
                if let Some(last) = forged.draws.last_mut() {
                    last.ran_at = at("2027-01-02T05:00:00Z");
                }
            }
        }
        rechain(&mut forged);
        forged
    }
}
