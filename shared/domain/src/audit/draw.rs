//! The daily draw and its record, one entry of the period's append-only log.
//!
//! A cycle (see [`super::candidate_id`]) whose submission was paid is a candidate of the next
//! daily draw. The draw gives each candidate its ticket under the period's seed ([`Ticket`]); a
//! candidate is selected when its ticket is below the share of the rules in force that day
//! (`audit_sample_percent`). A threshold rather than "the k smallest" keeps each candidate's
//! outcome independent of how many others were paid that day.
//!
//! The [`DrawRecord`] lists the candidates (sorted), their digest, the share, the selected ids with
//! their tickets, its place in the log (`seq`, the `previous` record's hash) and its own hash
//! ([`DrawRecord::entry_text`]), so after the reveal anyone can re-run it, and before it anyone
//! who kept a copy can tell whether a record was changed.

use super::period::{AuditPeriod, Period, Seed, log_instant, to_the_second};
use super::ticket::{ALGORITHM, ALGORITHM_VERSION, Ticket, sha256_hex};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// A selected candidate and its ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Selected {
    /// The candidate: `<certification id>/<first day of the cycle>`.
    pub id: String,
    pub ticket: Ticket,
}

/// What one daily run drew: one entry of the period's log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DrawRecord {
    pub period: Period,
    /// The record's place in the period's log: 1, 2, … without a gap.
    #[serde(default)]
    pub seq: u32,
    /// The day of the run (one record per day, in increasing order).
    pub run_on: NaiveDate,
    pub algorithm: String,
    pub algorithm_version: String,
    pub seed_commitment: String,
    /// A candidate is selected when its ticket is below `share_percent` / 100: the share of the
    /// rules in force on `run_on`.
    pub share_percent: u32,
    /// The candidates drawn, sorted (byte order): `<certification id>/<first day of the cycle>`.
    pub candidates: Vec<String>,
    /// `sha256_hex` of the sorted candidates joined by "\n".
    pub candidates_sha256: String,
    /// The selected candidates with their tickets, smallest ticket first.
    pub selected: Vec<Selected>,
    /// When the run drew (to the second).
    pub ran_at: DateTime<Utc>,
    /// The hash of the record before it in the log (the period's genesis for the first).
    #[serde(default)]
    pub previous: String,
    /// `sha256_hex` of the record's entry text (its fields, one `name value` line each: see
    /// docs/audit.md).
    #[serde(default)]
    pub entry_sha256: String,
}

impl DrawRecord {
    /// Whether this run selected `id`.
    pub fn selects(&self, id: &str) -> Option<&Selected> {
        self.selected.iter().find(|s| s.id == id)
    }

    /// Whether `id` was a candidate of this run.
    pub fn drew(&self, id: &str) -> bool {
        self.candidates
            .binary_search_by(|c| c.as_str().cmp(id))
            .is_ok()
    }

    /// The text the record's hash covers, one `name value` line each:
    ///
    /// ```text
    /// recert-audit-draw/2
    /// period 2026-12
    /// seq 3
    /// run_on 2026-12-03
    /// ran_at 2026-12-03T02:15:07Z
    /// previous <hex>
    /// commitment <hex>
    /// share_percent 10
    /// candidates_sha256 <hex>
    /// selected <id> <ticket>        (one line per selected candidate, in the record's order)
    /// ```
    pub fn entry_text(&self) -> String {
        let mut text = format!(
            "recert-audit-draw/2\nperiod {}\nseq {}\nrun_on {}\nran_at {}\nprevious {}\ncommitment {}\nshare_percent {}\ncandidates_sha256 {}",
            self.period,
            self.seq,
            self.run_on.format("%Y-%m-%d"),
            log_instant(self.ran_at),
            self.previous,
            self.seed_commitment,
            self.share_percent,
            self.candidates_sha256,
        );
        for s in &self.selected {
            text.push_str(&format!("\nselected {} {}", s.id, s.ticket.as_str()));
        }
        text
    }

    /// `sha256_hex` of [`Self::entry_text`]: what `entry_sha256` must be.
    pub fn computed_entry_sha256(&self) -> String {
        sha256_hex(&self.entry_text())
    }
}

impl AuditPeriod {
    /// The period with `record` appended to its log (its length and head advanced).
    pub fn appended(&self, record: &DrawRecord) -> AuditPeriod {
        AuditPeriod {
            draws: record.seq,
            head: record.entry_sha256.clone(),
            ..self.clone()
        }
    }
}

/// `sha256_hex` of the ids sorted and joined by "\n" (and the sorted ids, each once).
pub fn candidates_digest(ids: impl IntoIterator<Item = String>) -> (Vec<String>, String) {
    let mut ids: Vec<String> = ids.into_iter().collect();
    ids.sort();
    ids.dedup();
    let digest = sha256_hex(&ids.join("\n"));
    (ids, digest)
}

/// The next entry of `period`'s log: the draw of `run_on` over `candidates` with `seed` (the
/// period's, which the caller opened) at `share_percent`.
pub fn draw(
    period: &AuditPeriod,
    seed: &Seed,
    run_on: NaiveDate,
    share_percent: u32,
    candidates: impl IntoIterator<Item = String>,
    now: DateTime<Utc>,
) -> DrawRecord {
    let (candidates, candidates_sha256) = candidates_digest(candidates);
    let selected = select(seed.expose(), share_percent, &candidates);
    let mut record = DrawRecord {
        period: period.period,
        seq: period.draws + 1,
        run_on,
        algorithm: ALGORITHM.to_owned(),
        algorithm_version: ALGORITHM_VERSION.to_owned(),
        seed_commitment: period.commitment.clone(),
        share_percent,
        candidates,
        candidates_sha256,
        selected,
        ran_at: to_the_second(now),
        previous: period.head.clone(),
        entry_sha256: String::new(),
    };
    record.entry_sha256 = record.computed_entry_sha256();
    record
}

/// The candidates whose ticket under `seed` is below the share, smallest ticket first.
pub fn select(seed: &str, share_percent: u32, candidates: &[String]) -> Vec<Selected> {
    let mut selected: Vec<Selected> = candidates
        .iter()
        .map(|id| Selected {
            id: id.clone(),
            ticket: Ticket::first(seed, id),
        })
        .filter(|s| s.ticket.below_percent(share_percent))
        .collect();
    selected.sort_by(|a, b| a.ticket.cmp(&b.ticket).then_with(|| a.id.cmp(&b.id)));
    selected
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::super::period::SealedSeed;
    use super::*;
    use proptest::prelude::*;

    fn at() -> DateTime<Utc> {
        "2026-12-02T03:00:00Z".parse().unwrap()
    }

    fn period(seed: &Seed) -> AuditPeriod {
        let sealed = SealedSeed {
            key: "file:test".into(),
            ciphertext: String::new(),
        };
        AuditPeriod::commit(
            "2026-12".parse().unwrap(),
            seed,
            sealed,
            "2026-11-01T02:15:00Z".parse().unwrap(),
            false,
        )
    }

    #[test]
    fn records_chain_from_the_genesis() {
        let seed = Seed::from_bytes([7; 32]);
        let p = period(&seed);
        let ids: Vec<String> = (0..50).map(|i| format!("cert-{i}/2024-01-01")).collect();
        let first = draw(&p, &seed, at().date_naive(), 10, ids.clone(), at());
        assert_eq!(
            (first.seq, first.previous.as_str()),
            (1, p.genesis().as_str())
        );
        assert_eq!(first.entry_sha256, first.computed_entry_sha256());
        let p = p.appended(&first);
        assert_eq!((p.draws, p.head.as_str()), (1, first.entry_sha256.as_str()));
        let second = draw(&p, &seed, "2026-12-03".parse().unwrap(), 10, ids, at());
        assert_eq!(second.seq, 2);
        assert_eq!(second.previous, first.entry_sha256);
        let mut changed = first.clone();
        changed.selected.clear();
        assert_ne!(changed.computed_entry_sha256(), first.entry_sha256);
    }

    #[test]
    fn a_different_candidate_set_gives_a_different_digest() {
        let (_, a) = candidates_digest(["x".to_owned(), "y".to_owned()]);
        let (_, b) = candidates_digest(["y".to_owned(), "x".to_owned()]);
        let (_, c) = candidates_digest(["x".to_owned(), "z".to_owned()]);
        assert_eq!(a, b, "the order of arrival does not matter");
        assert_ne!(a, c);
    }

    #[test]
    fn the_share_holds_over_many_candidates() {
        // 20,000 candidates at 10%: the selected count is Binomial(20000, 0.1), mean 2000,
        // sd 42.4; six standard deviations either side fails a correct sampler about once in
        // 10^9 runs.
        let seed = Seed::from_bytes([42; 32]);
        let ids = (0..20_000).map(|_| format!("{}/2024-01-01", uuid::Uuid::now_v7()));
        let record = draw(&period(&seed), &seed, at().date_naive(), 10, ids, at());
        let n = record.selected.len();
        assert!((1745..=2255).contains(&n), "selected {n} of 20000");
    }

    proptest! {
        #[test]
        fn subsets_keep_their_selection(seed in "[0-9a-f]{64}", n in 1usize..60, keep in 0usize..60) {
            let ids: Vec<String> = (0..n).map(|i| format!("id-{i}")).collect();
            let all = select(&seed, 30, &candidates_digest(ids.clone()).0);
            let subset: Vec<String> = ids.into_iter().take(keep).collect();
            let part = select(&seed, 30, &candidates_digest(subset.clone()).0);
            let expected: Vec<_> = all.into_iter().filter(|s| subset.contains(&s.id)).collect();
            prop_assert_eq!(part, expected);
        }
    }
}
