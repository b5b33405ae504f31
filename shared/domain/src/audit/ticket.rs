//! The sampler: Rivest's consistent-sampling ticket, exactly as the public `consistent-sampler`
//! package (PyPI, 1.0.10) computes its first ticket, and what it is computed for.
//!
//! ```text
//! ticket(seed, id) = "0." + reverse( zero-pad-64( decimal( int( sha256_hex( sha256_hex(seed) + id ), 16 ) ) ) )
//! ```
//!
//! (in Python: `consistent_sampler.first_fraction(id, seed)`). `sha256_hex(seed)` is the sampler's
//! inner key: whoever knows it computes every ticket, so it is never published before the reveal
//! (the commitment is another hash, see [`super::period`]).
//!
//! The id drawn is a certification's cycle ([`candidate_id`]), never a submission: a certificant
//! cannot get a new ticket by withdrawing and submitting again.

use crate::CertificationId;
use chrono::NaiveDate;
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

/// The id the draw judges for a certification's cycle: `<certification id>/<first day of the
/// cycle>` (e.g. `0193b7a2-…/2023-09-01`). The cycle's first day never moves (an extension moves
/// its closing date), and every submission of the cycle has the same id, so every submission of
/// the cycle has the same ticket.
pub fn candidate_id(certification: CertificationId, cycle_starts_on: NaiveDate) -> String {
    format!("{certification}/{}", cycle_starts_on.format("%Y-%m-%d"))
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

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
    fn every_submission_of_a_cycle_is_one_candidate() {
        let certification: CertificationId =
            "0193b7a2-5c1e-7d3a-9f00-000000000001".parse().unwrap();
        let starts = NaiveDate::from_ymd_opt(2023, 9, 1).unwrap();
        assert_eq!(
            candidate_id(certification, starts),
            "0193b7a2-5c1e-7d3a-9f00-000000000001/2023-09-01"
        );
        let next = NaiveDate::from_ymd_opt(2026, 9, 1).unwrap();
        assert_ne!(
            candidate_id(certification, starts),
            candidate_id(certification, next),
            "the next cycle is drawn anew"
        );
    }
}
