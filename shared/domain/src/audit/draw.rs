//! The random audit draw: verifiable by anyone, predictable by no one.
//!
//! Each paid submission gets a ticket computed with Rivest's consistent-sampling formula exactly as
//! the public `consistent-sampler` package (PyPI, 1.0.x) computes its first ticket:
//!
//! ```text
//! ticket(seed, id) = "0." + reverse( zero-pad-64( decimal( int( sha256_hex( sha256_hex(seed) + id ), 16 ) ) ) )
//! ```
//!
//! (in Python: `consistent_sampler.first_fraction(id, seed)`). A submission is audited when its
//! ticket is below the share (`audit_sample_percent` of the rules in force on the day of the draw).
//!
//! Each period (a calendar month, `YYYY-MM`) has its own seed: 32 random bytes as lower-case hex,
//! secret while the period runs, committed in advance by its SHA-256 (`sha256_hex(seed)`, published
//! when the period is created, before its first draw) and revealed when the period has ended. A
//! [`DrawRecord`] per daily run lists the candidates (sorted), the digest of that list, the
//! algorithm and its version, the seed commitment and the selected ids with their tickets, so after
//! the reveal anyone can re-run every draw of the period ([`verify`]).

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::cmp::Ordering;

/// The algorithm a draw record names.
pub const ALGORITHM: &str = "consistent-sampler first_fraction (Rivest), sha256";
/// The version of the public package whose formula the tickets reproduce.
pub const ALGORITHM_VERSION: &str = "consistent-sampler 1.0.10";

/// Lower-case hex SHA-256 of the UTF-8 text (Python: `hashlib.sha256(s.encode()).hexdigest()`).
pub fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// A ticket: a decimal fraction in (0, 1), written `0.ddd...` with at least 64 digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(transparent)]
pub struct Ticket(String);

impl Ticket {
    /// The first ticket of `id` under `seed` (Python: `consistent_sampler.first_fraction(id, seed)`).
    pub fn first(seed: &str, id: &str) -> Ticket {
        let input = format!("{}{id}", sha256_hex(seed));
        let value = num_bigint::BigUint::from_bytes_be(&Sha256::digest(input.as_bytes()));
        let decimal = format!("{value:0>64}");
        Ticket(format!("0.{}", decimal.chars().rev().collect::<String>()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn digits(&self) -> &str {
        self.0.strip_prefix("0.").unwrap_or(&self.0)
    }

    /// Whether the ticket is below `percent`/100 (exactly, in decimal).
    pub fn below_percent(&self, percent: u32) -> bool {
        if percent >= 100 {
            return true;
        }
        // percent/100 = 0.PP: compare the first two digits, then the rest against zeros.
        let share = format!("{percent:02}");
        compare_fraction_digits(self.digits(), &share) == Ordering::Less
    }
}

impl Ord for Ticket {
    /// By value; two texts of one value (trailing zeros) by text, so the order agrees with `Eq`.
    fn cmp(&self, other: &Self) -> Ordering {
        compare_fraction_digits(self.digits(), other.digits()).then_with(|| self.0.cmp(&other.0))
    }
}

impl PartialOrd for Ticket {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Compare two fractions given by their digits after "0.", the shorter padded with zeros.
fn compare_fraction_digits(a: &str, b: &str) -> Ordering {
    let len = a.len().max(b.len());
    let pad = |s: &str| {
        s.bytes()
            .chain(std::iter::repeat(b'0'))
            .take(len)
            .collect::<Vec<u8>>()
    };
    pad(a).cmp(&pad(b))
}

/// A calendar month, `YYYY-MM`: each has its own seed.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, pattern = r"^[0-9]{4}-(0[1-9]|1[0-2])$", example = "2026-12")]
pub struct Period(NaiveDate);

impl Period {
    /// The period `date` falls in.
    pub fn of(date: NaiveDate) -> Period {
        Period(date.with_day(1).unwrap_or(date))
    }

    pub fn first_day(self) -> NaiveDate {
        self.0
    }

    /// The period after this one.
    pub fn next(self) -> Period {
        Period(crate::calendar::add_months(self.0, 1))
    }

    /// The last day of the period.
    pub fn last_day(self) -> NaiveDate {
        self.next().first_day().pred_opt().unwrap_or(self.0)
    }

    /// Whether the period has ended on `today` (its seed may be revealed).
    pub fn ended_by(self, today: NaiveDate) -> bool {
        today > self.last_day()
    }
}

impl std::fmt::Display for Period {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0.format("%Y-%m"))
    }
}

impl std::str::FromStr for Period {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("{s:?} is not a period: write YYYY-MM, e.g. 2026-12");
        let (y, m) = s.split_once('-').ok_or_else(bad)?;
        if y.len() != 4 || m.len() != 2 {
            return Err(bad());
        }
        let year: i32 = y.parse().map_err(|_| bad())?;
        let month: u32 = m.parse().map_err(|_| bad())?;
        NaiveDate::from_ymd_opt(year, month, 1)
            .map(Period)
            .ok_or_else(bad)
    }
}

impl TryFrom<String> for Period {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Period> for String {
    fn from(p: Period) -> String {
        p.to_string()
    }
}

/// A period's seed and its commitment. The seed is secret until [`Self::revealed_at`] is set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPeriod {
    pub period: Period,
    /// 32 random bytes, lower-case hex: the sampler's seed. Secret until revealed.
    pub seed: String,
    /// `sha256_hex(seed)`: published from creation on.
    pub commitment: String,
    pub created_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revealed_at: Option<DateTime<Utc>>,
}

impl AuditPeriod {
    /// A new period with `seed_bytes` (from the OS's random source) as its seed.
    pub fn new(period: Period, seed_bytes: [u8; 32], now: DateTime<Utc>) -> AuditPeriod {
        let seed = hex::encode(seed_bytes);
        AuditPeriod {
            period,
            commitment: sha256_hex(&seed),
            seed,
            created_at: now,
            revealed_at: None,
        }
    }

    /// The period as the public may see it: the seed only once revealed.
    pub fn public(&self) -> PublicPeriod {
        PublicPeriod {
            period: self.period,
            commitment: self.commitment.clone(),
            committed_at: self.created_at,
            seed: self.revealed_at.map(|_| self.seed.clone()),
            revealed_at: self.revealed_at,
        }
    }
}

/// A period as published: its commitment always, its seed once revealed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PublicPeriod {
    pub period: Period,
    /// SHA-256 (lower-case hex) of the seed's text: check `sha256(seed) == commitment`.
    pub commitment: String,
    pub committed_at: DateTime<Utc>,
    /// The seed, once the period has ended and it was revealed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revealed_at: Option<DateTime<Utc>>,
}

/// A selected candidate and its ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Selected {
    /// The submission (renewal) id.
    pub id: String,
    pub ticket: Ticket,
}

/// What one daily run drew: enough for anyone to re-run it once the seed is revealed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DrawRecord {
    pub period: Period,
    /// The day of the run (one record per day).
    pub run_on: NaiveDate,
    pub algorithm: String,
    pub algorithm_version: String,
    pub seed_commitment: String,
    /// A submission is selected when its ticket is below `share_percent` / 100.
    pub share_percent: u32,
    /// The submission ids drawn, sorted (byte order).
    pub candidates: Vec<String>,
    /// `sha256_hex` of the sorted candidate ids joined by "\n".
    pub candidates_sha256: String,
    /// The selected ids with their tickets, smallest ticket first.
    pub selected: Vec<Selected>,
    pub ran_at: DateTime<Utc>,
}

impl DrawRecord {
    /// Whether this run selected `id`.
    pub fn selects(&self, id: &str) -> Option<&Selected> {
        self.selected.iter().find(|s| s.id == id)
    }
}

/// `sha256_hex` of the ids sorted and joined by "\n" (and the sorted ids).
pub fn candidates_digest(ids: impl IntoIterator<Item = String>) -> (Vec<String>, String) {
    let mut ids: Vec<String> = ids.into_iter().collect();
    ids.sort();
    ids.dedup();
    let digest = sha256_hex(&ids.join("\n"));
    (ids, digest)
}

/// Draw from `candidates` with `period`'s seed (see the module docs).
pub fn draw(
    period: &AuditPeriod,
    run_on: NaiveDate,
    share_percent: u32,
    candidates: impl IntoIterator<Item = String>,
    now: DateTime<Utc>,
) -> DrawRecord {
    let (candidates, candidates_sha256) = candidates_digest(candidates);
    let selected = select(&period.seed, share_percent, &candidates);
    DrawRecord {
        period: period.period,
        run_on,
        algorithm: ALGORITHM.to_owned(),
        algorithm_version: ALGORITHM_VERSION.to_owned(),
        seed_commitment: period.commitment.clone(),
        share_percent,
        candidates,
        candidates_sha256,
        selected,
        ran_at: now,
    }
}

fn select(seed: &str, share_percent: u32, candidates: &[String]) -> Vec<Selected> {
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

/// Why a draw record does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("the seed of {0} has not been revealed yet")]
    NotRevealed(Period),
    #[error("sha256(seed) is not the published commitment")]
    CommitmentMismatch,
    #[error("the draw of {0} names another commitment than its period's")]
    RecordCommitment(NaiveDate),
    #[error("the draw of {0}: the candidate digest does not match its candidates")]
    DigestMismatch(NaiveDate),
    #[error("the draw of {0}: re-running it selects other submissions")]
    SelectionMismatch(NaiveDate),
}

/// Re-run `record` with the revealed seed of `period` and check every part of it.
pub fn verify(period: &PublicPeriod, record: &DrawRecord) -> Result<(), VerifyError> {
    let seed = period
        .seed
        .as_deref()
        .ok_or(VerifyError::NotRevealed(period.period))?;
    if sha256_hex(seed) != period.commitment {
        return Err(VerifyError::CommitmentMismatch);
    }
    if record.seed_commitment != period.commitment {
        return Err(VerifyError::RecordCommitment(record.run_on));
    }
    let (sorted, digest) = candidates_digest(record.candidates.iter().cloned());
    if digest != record.candidates_sha256 || sorted != record.candidates {
        return Err(VerifyError::DigestMismatch(record.run_on));
    }
    if select(seed, record.share_percent, &record.candidates) != record.selected {
        return Err(VerifyError::SelectionMismatch(record.run_on));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    fn at() -> DateTime<Utc> {
        "2026-12-02T03:00:00Z".parse().unwrap()
    }

    #[test]
    fn tickets_match_the_packages_published_vectors() {
        // consistent_sampler.first_fraction docstring (1.0.10).
        assert_eq!(
            Ticket::first("01382438112797316654", "AB-130").as_str(),
            "0.26299714122838008416507544297546663599715395525154425586041245287750224561854"
        );
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        // The package's demo: seed 314159 orders these ids cd-1, ef-3, ab-1, ab-2.
        let mut ids = ["ab-1", "ab-2", "cd-1", "ef-3"]
            .map(|id| (Ticket::first("314159", id), id))
            .to_vec();
        ids.sort();
        let order: Vec<_> = ids.iter().map(|(_, id)| *id).collect();
        assert_eq!(order, ["cd-1", "ef-3", "ab-1", "ab-2"]);
        assert!(ids[0].0.as_str().starts_with("0.3176858174"));
        assert!(ids[3].0.as_str().starts_with("0.9231549043"));
    }

    #[test]
    fn the_share_is_compared_exactly() {
        let t = |s: &str| Ticket(s.to_owned());
        assert!(t("0.0999999").below_percent(10));
        assert!(!t("0.1000000").below_percent(10));
        assert!(!t("0.10").below_percent(10));
        assert!(t("0.05").below_percent(6));
        assert!(!t("0.0").below_percent(0));
        assert!(t("0.99").below_percent(100));
    }

    #[test]
    fn periods_parse_and_end() {
        let p: Period = "2028-02".parse().unwrap();
        assert_eq!(p.last_day(), NaiveDate::from_ymd_opt(2028, 2, 29).unwrap());
        assert!(!p.ended_by(NaiveDate::from_ymd_opt(2028, 2, 29).unwrap()));
        assert!(p.ended_by(NaiveDate::from_ymd_opt(2028, 3, 1).unwrap()));
        assert_eq!(
            "2026-12".parse::<Period>().unwrap().next().to_string(),
            "2027-01"
        );
        for bad in ["2026-13", "2026-1", "26-01", "2026-00", "x"] {
            assert!(bad.parse::<Period>().is_err(), "{bad}");
        }
    }

    #[test]
    fn a_draw_verifies_after_the_reveal_and_not_when_tampered() {
        let mut period = AuditPeriod::new("2026-12".parse().unwrap(), [7; 32], at());
        let ids: Vec<String> = (0..200).map(|i| format!("renewal-{i}")).collect();
        let record = draw(&period, at().date_naive(), 10, ids.clone(), at());
        assert!(!record.selected.is_empty());
        assert_eq!(
            verify(&period.public(), &record),
            Err(VerifyError::NotRevealed(period.period))
        );
        period.revealed_at = Some(at());
        assert_eq!(verify(&period.public(), &record), Ok(()));

        let mut fewer = record.clone();
        fewer.selected.pop();
        assert_eq!(
            verify(&period.public(), &fewer),
            Err(VerifyError::SelectionMismatch(record.run_on))
        );
        let mut other = record.clone();
        other.candidates.pop();
        assert_eq!(
            verify(&period.public(), &other),
            Err(VerifyError::DigestMismatch(record.run_on))
        );
        let mut wrong_seed = period.public();
        wrong_seed.seed = Some("00".repeat(32));
        assert_eq!(
            verify(&wrong_seed, &record),
            Err(VerifyError::CommitmentMismatch)
        );
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
    fn the_share_holds_over_many_submissions() {
        // 20,000 submissions at 10%: the selected count is Binomial(20000, 0.1), mean 2000,
        // sd 42.4; six standard deviations either side fails a correct sampler about once in
        // 10^9 runs.
        let period = AuditPeriod::new("2026-12".parse().unwrap(), [42; 32], at());
        let ids = (0..20_000).map(|_| uuid::Uuid::now_v7().to_string());
        let record = draw(&period, at().date_naive(), 10, ids, at());
        let n = record.selected.len();
        assert!((1745..=2255).contains(&n), "selected {n} of 20000");
    }

    proptest! {
        #[test]
        fn subsets_keep_their_selection(seed in "[0-9a-f]{64}", n in 1usize..60, keep in 0usize..60) {
            let period = AuditPeriod { seed: seed.clone(), commitment: sha256_hex(&seed), ..AuditPeriod::new("2026-12".parse().unwrap(), [0; 32], at()) };
            let ids: Vec<String> = (0..n).map(|i| format!("id-{i}")).collect();
            let all = draw(&period, at().date_naive(), 30, ids.clone(), at());
            let subset: Vec<String> = ids.into_iter().take(keep).collect();
            let part = draw(&period, at().date_naive(), 30, subset.clone(), at());
            let expected: Vec<_> = all.selected.iter().filter(|s| subset.contains(&s.id)).cloned().collect();
            prop_assert_eq!(part.selected, expected);
        }
    }
}
