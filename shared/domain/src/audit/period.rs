//! A draw period (a calendar month) and its seed: secret while the period runs, committed before
//! it starts, revealed after it ended, by the clock.
//!
//! - **The seed** ([`Seed`]) is 32 random bytes written as 64 lower-case hex characters; the
//!   sampler's seed is that text. It is stored only sealed ([`SealedSeed`]: encrypted under a key
//!   only the audit job may use), until the reveal writes it in clear.
//! - **The commitment** is `sha256_hex("recert-audit-commitment:" + seed)` ([`commitment_of`]): a
//!   domain-separated hash, never the sampler's inner key `sha256_hex(seed)`, so it tells nobody
//!   a ticket.
//! - **The log.** A period's draw records form a hash chain: the first record's `previous` is the
//!   period's [`AuditPeriod::genesis`] (a hash of its commitment, the instant it was published and
//!   whether it was published late), each later record's `previous` is the record before it, and
//!   the period keeps the number of records and the last one's hash ([`AuditPeriod::head`]), so a
//!   record changed, inserted or removed breaks the chain or the head.
//! - **Scheme 1** is how periods were committed before (`commitment = sha256_hex(seed)`, the seed
//!   in clear in the table): such a period is never drawn in again; `audit rotate` retires it.

use super::ticket::sha256_hex;
use chrono::{DateTime, Datelike, Days, NaiveDate, Timelike, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The prefix of the text whose SHA-256 is a period's commitment.
pub const COMMITMENT_PREFIX: &str = "recert-audit-commitment:";
/// The scheme of periods committed today (domain-separated commitment, sealed seed, hash chain).
pub const SCHEME: u32 = 2;
/// The scheme of periods committed before: the commitment was the sampler's inner key.
pub const LEGACY_SCHEME: u32 = 1;
/// A draw may run at most this many days after its day (a late or retried schedule), and a
/// period's seed is revealed only once that many days have passed after the period's last day,
/// so a late run of the last day never meets a revealed seed.
pub const LATE_RUN_DAYS: u64 = 1;

/// The commitment to `seed`: `sha256_hex("recert-audit-commitment:" + seed)`.
pub fn commitment_of(seed: &str) -> String {
    sha256_hex(&format!("{COMMITMENT_PREFIX}{seed}"))
}

/// `at` without its fraction of a second (instants in the log are written to the second, so the
/// text a hash covers is the text the document shows).
pub fn to_the_second(at: DateTime<Utc>) -> DateTime<Utc> {
    at.with_nanosecond(0).unwrap_or(at)
}

/// An instant as the log's hashes write it (and as the document shows it): `2026-12-01T02:15:00Z`.
pub fn log_instant(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
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
        Period(crate::vocabulary::dates::add_months(self.0, 1))
    }

    /// The period before this one.
    pub fn previous(self) -> Period {
        Period::of(self.0.pred_opt().unwrap_or(self.0))
    }

    /// The last day of the period.
    pub fn last_day(self) -> NaiveDate {
        self.next().first_day().pred_opt().unwrap_or(self.0)
    }

    /// Whether `date` falls in the period.
    pub fn contains(self, date: NaiveDate) -> bool {
        Period::of(date) == self
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
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

/// A period's seed: 64 lower-case hex characters (32 random bytes). Its `Debug` never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct Seed(String);

impl Seed {
    /// The seed of 32 random bytes (from the operating system's random source, or KMS).
    pub fn from_bytes(bytes: [u8; 32]) -> Seed {
        Seed(hex::encode(bytes))
    }

    /// A seed's text as stored or revealed; `None` unless 64 lower-case hex characters.
    pub fn parse(text: &str) -> Option<Seed> {
        let ok = text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        ok.then(|| Seed(text.to_owned()))
    }

    /// The seed's text: the sampler's seed.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Its commitment ([`commitment_of`]).
    pub fn commitment(&self) -> String {
        commitment_of(&self.0)
    }
}

impl fmt::Debug for Seed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Seed([secret])")
    }
}

/// A seed encrypted under a key only the audit job may use. `key` names the key (a KMS key ARN, or
/// `file:<fingerprint>` locally); `ciphertext` is base64. Bound to its period: opening it under
/// another period fails.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedSeed {
    pub key: String,
    pub ciphertext: String,
}

/// A period as stored: its commitment, its sealed seed, its log's length and head, and once it
/// ended its seed in clear.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPeriod {
    pub period: Period,
    /// [`SCHEME`], or [`LEGACY_SCHEME`] for a period committed before it.
    #[serde(default = "legacy_scheme")]
    pub scheme: u32,
    /// [`commitment_of`] the seed (scheme 1: `sha256_hex(seed)`).
    pub commitment: String,
    /// When the commitment was published.
    #[serde(alias = "created_at")]
    pub committed_at: DateTime<Utc>,
    /// Committed after the period had started: the programme's first period, or one re-committed
    /// when the old scheme was rotated. Its draws wait until the commitment is a day old.
    #[serde(default)]
    pub late_commitment: bool,
    /// The seed, sealed (scheme 2). Kept after the reveal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed_seed: Option<SealedSeed>,
    /// How many draw records the log holds.
    #[serde(default)]
    pub draws: u32,
    /// The hash of the last draw record, or the [`Self::genesis`] before the first (scheme 2).
    #[serde(default)]
    pub head: String,
    /// The seed in clear: once revealed (scheme 1: always, which is why it is rotated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revealed_at: Option<DateTime<Utc>>,
    /// A scheme 1 period retired by `audit rotate` (revealed early: its key was public).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotated_at: Option<DateTime<Utc>>,
}

fn legacy_scheme() -> u32 {
    LEGACY_SCHEME
}

/// Why the draw of a day may not run, or not yet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DrawRefusal {
    #[error("a draw for {date} is in the future: the clock says {today}")]
    Future { date: NaiveDate, today: NaiveDate },
    #[error(
        "a draw for {date} is more than {LATE_RUN_DAYS} day late (the clock says {today}); its candidates wait for today's draw"
    )]
    TooLate { date: NaiveDate, today: NaiveDate },
    #[error("the seed of {0} is revealed: no draw is made with a public seed")]
    Revealed(Period),
    #[error(
        "{0} was committed under the old scheme (its commitment exposed the key): run `audit rotate`"
    )]
    Legacy(Period),
    #[error("{date} is not in {period}")]
    OtherPeriod { period: Period, date: NaiveDate },
    #[error(
        "the commitment of {period} was published on {committed_on}: its first draw waits until the day after"
    )]
    CommitmentTooRecent {
        period: Period,
        committed_on: NaiveDate,
    },
    #[error("the log of {period} already holds the draw of {last}, a later day than {date}")]
    LaterDayDrawn {
        period: Period,
        date: NaiveDate,
        last: NaiveDate,
    },
}

impl DrawRefusal {
    /// Whether the run should simply wait (a fresh commitment), rather than fail loudly.
    pub fn is_wait(&self) -> bool {
        matches!(self, DrawRefusal::CommitmentTooRecent { .. })
    }
}

/// Whether a draw for `date` may run when the clock says `today`: never in the future, at most
/// [`LATE_RUN_DAYS`] late.
pub fn check_run_date(date: NaiveDate, today: NaiveDate) -> Result<(), DrawRefusal> {
    if date > today {
        return Err(DrawRefusal::Future { date, today });
    }
    if today.checked_sub_days(Days::new(LATE_RUN_DAYS)) > Some(date) {
        return Err(DrawRefusal::TooLate { date, today });
    }
    Ok(())
}

impl AuditPeriod {
    /// A period committed now to `seed`, kept as `sealed`. `late_commitment`: committed after the
    /// period started (see the field).
    pub fn commit(
        period: Period,
        seed: &Seed,
        sealed: SealedSeed,
        now: DateTime<Utc>,
        late_commitment: bool,
    ) -> AuditPeriod {
        let mut fresh = AuditPeriod {
            period,
            scheme: SCHEME,
            commitment: seed.commitment(),
            committed_at: to_the_second(now),
            late_commitment,
            sealed_seed: Some(sealed),
            draws: 0,
            head: String::new(),
            seed: None,
            revealed_at: None,
            rotated_at: None,
        };
        fresh.head = fresh.genesis();
        fresh
    }

    /// The hash the log starts from: it covers the period, its commitment, when it was published
    /// and whether late, so none of them can change without breaking the chain.
    pub fn genesis(&self) -> String {
        genesis(
            self.period,
            &self.commitment,
            self.committed_at,
            self.late_commitment,
        )
    }

    /// Whether the commitment was published after the period started (by the first instant of
    /// its first day).
    pub fn committed_after_start(&self) -> bool {
        self.committed_at.date_naive() >= self.period.first_day()
    }

    /// Whether the draw of `date` may run in this period now (the date itself is checked against
    /// the clock by [`check_run_date`]).
    pub fn check_draw(&self, date: NaiveDate) -> Result<(), DrawRefusal> {
        let period = self.period;
        if !period.contains(date) {
            return Err(DrawRefusal::OtherPeriod { period, date });
        }
        if self.scheme != SCHEME {
            return Err(DrawRefusal::Legacy(period));
        }
        if self.revealed_at.is_some() {
            return Err(DrawRefusal::Revealed(period));
        }
        let committed_on = self.committed_at.date_naive();
        if committed_on >= date {
            return Err(DrawRefusal::CommitmentTooRecent {
                period,
                committed_on,
            });
        }
        Ok(())
    }

    /// Whether the seed is due to be revealed on `today`: [`LATE_RUN_DAYS`] after the last day.
    pub fn reveal_due(&self, today: NaiveDate) -> bool {
        self.revealed_at.is_none()
            && self
                .period
                .last_day()
                .checked_add_days(Days::new(LATE_RUN_DAYS))
                .is_some_and(|last_run| today > last_run)
    }

    /// Whether `seed` is the one committed to.
    pub fn is_committed_seed(&self, seed: &str) -> bool {
        let expected = if self.scheme == LEGACY_SCHEME {
            sha256_hex(seed)
        } else {
            commitment_of(seed)
        };
        expected == self.commitment
    }

    /// The period revealed at `at` with `seed`, if it is the seed committed to; `None` otherwise
    /// (a wrong key never publishes a wrong seed).
    pub fn revealed(&self, seed: &Seed, at: DateTime<Utc>) -> Option<AuditPeriod> {
        self.is_committed_seed(seed.expose()).then(|| AuditPeriod {
            seed: Some(seed.expose().to_owned()),
            revealed_at: Some(to_the_second(at)),
            ..self.clone()
        })
    }

    /// A scheme 1 period retired by the rotation: revealed at once (its key was public anyway).
    pub fn retired(&self, at: DateTime<Utc>) -> AuditPeriod {
        AuditPeriod {
            revealed_at: self.revealed_at.or(Some(to_the_second(at))),
            rotated_at: Some(to_the_second(at)),
            ..self.clone()
        }
    }

    /// The period as the public may see it: the seed only once revealed.
    pub fn public(&self) -> PublicPeriod {
        PublicPeriod {
            period: self.period,
            scheme: self.scheme,
            commitment: self.commitment.clone(),
            committed_at: self.committed_at,
            late_commitment: self.late_commitment,
            draws: self.draws,
            head: self.head.clone(),
            seed: self.revealed_at.and(self.seed.clone()),
            revealed_at: self.revealed_at,
            rotated_at: self.rotated_at,
        }
    }
}

/// The genesis hash of a period's log (see [`AuditPeriod::genesis`]).
pub fn genesis(
    period: Period,
    commitment: &str,
    committed_at: DateTime<Utc>,
    late_commitment: bool,
) -> String {
    sha256_hex(&format!(
        "recert-audit-log/2\nperiod {period}\ncommitment {commitment}\ncommitted_at {}\nlate_commitment {late_commitment}",
        log_instant(committed_at)
    ))
}

/// A period as published: its commitment and log head always, its seed once revealed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PublicPeriod {
    pub period: Period,
    /// 2: `commitment = sha256_hex("recert-audit-commitment:" + seed)`; 1: the retired scheme
    /// (`sha256_hex(seed)`).
    pub scheme: u32,
    /// Record it before the period starts; after the reveal check it against the seed.
    pub commitment: String,
    /// When the commitment was published: before the period started, unless `late_commitment`.
    pub committed_at: DateTime<Utc>,
    /// Committed after the period started (the programme's first period, or a rotated one): its
    /// draws ran only from the day after the commitment.
    #[serde(default)]
    pub late_commitment: bool,
    /// How many draw records the log holds.
    #[serde(default)]
    pub draws: u32,
    /// The hash of the log's last record (its genesis before the first).
    #[serde(default)]
    pub head: String,
    /// The seed, once the period has ended and it was revealed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revealed_at: Option<DateTime<Utc>>,
    /// A scheme 1 period retired early by the rotation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotated_at: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn sealed() -> SealedSeed {
        SealedSeed {
            key: "file:test".into(),
            ciphertext: "AAAA".into(),
        }
    }

    #[test]
    fn periods_parse_and_end() {
        let p: Period = "2028-02".parse().unwrap();
        assert_eq!(p.last_day(), d("2028-02-29"));
        assert!(p.contains(d("2028-02-29")) && !p.contains(d("2028-03-01")));
        assert_eq!(p.previous().to_string(), "2028-01");
        assert_eq!(
            "2026-12".parse::<Period>().unwrap().next().to_string(),
            "2027-01"
        );
        for bad in ["2026-13", "2026-1", "26-01", "2026-00", "x"] {
            assert!(bad.parse::<Period>().is_err(), "{bad}");
        }
    }

    #[test]
    fn the_commitment_is_not_the_samplers_inner_key() {
        let seed = Seed::from_bytes([7; 32]);
        assert_ne!(seed.commitment(), sha256_hex(seed.expose()));
        assert_eq!(
            seed.commitment(),
            sha256_hex(&format!("recert-audit-commitment:{}", seed.expose()))
        );
        assert_eq!(format!("{seed:?}"), "Seed([secret])");
        assert!(
            Seed::parse(&"A".repeat(64)).is_none(),
            "lower-case hex only"
        );
        assert!(Seed::parse(&"a".repeat(63)).is_none());
        assert_eq!(Seed::parse(seed.expose()), Some(seed));
    }

    #[test]
    fn a_run_date_is_the_clocks_day_or_the_day_before() {
        let today = d("2026-12-07");
        assert_eq!(check_run_date(today, today), Ok(()));
        assert_eq!(check_run_date(d("2026-12-06"), today), Ok(()));
        assert!(matches!(
            check_run_date(d("2026-12-08"), today),
            Err(DrawRefusal::Future { .. })
        ));
        assert!(matches!(
            check_run_date(d("2026-12-05"), today),
            Err(DrawRefusal::TooLate { .. })
        ));
    }

    #[test]
    fn a_period_draws_from_the_day_after_its_commitment_until_its_reveal() {
        let seed = Seed::from_bytes([1; 32]);
        let p = AuditPeriod::commit(
            "2026-12".parse().unwrap(),
            &seed,
            sealed(),
            at("2026-11-01T02:15:00.5Z"),
            false,
        );
        assert_eq!(p.committed_at, at("2026-11-01T02:15:00Z"), "to the second");
        assert!(!p.committed_after_start());
        assert_eq!(p.head, p.genesis());
        assert_eq!(p.check_draw(d("2026-12-01")), Ok(()));
        assert!(matches!(
            p.check_draw(d("2027-01-01")),
            Err(DrawRefusal::OtherPeriod { .. })
        ));
        assert!(!p.reveal_due(d("2026-12-31")));
        assert!(!p.reveal_due(d("2027-01-01")), "a late run of the last day");
        assert!(p.reveal_due(d("2027-01-02")));
        assert!(
            p.revealed(&Seed::from_bytes([2; 32]), at("2027-01-02T02:15:00Z"))
                .is_none()
        );
        let revealed = p.revealed(&seed, at("2027-01-02T02:15:00Z")).unwrap();
        assert_eq!(revealed.public().seed.as_deref(), Some(seed.expose()));
        assert_eq!(
            revealed.check_draw(d("2026-12-31")),
            Err(DrawRefusal::Revealed(p.period))
        );
        assert!(p.public().seed.is_none());

        let opening = AuditPeriod::commit(
            "2026-12".parse().unwrap(),
            &seed,
            sealed(),
            at("2026-12-07T10:00:00Z"),
            true,
        );
        assert!(opening.committed_after_start());
        assert!(opening.check_draw(d("2026-12-07")).unwrap_err().is_wait());
        assert_eq!(opening.check_draw(d("2026-12-08")), Ok(()));
        assert_ne!(opening.genesis(), p.genesis());
    }

    #[test]
    fn a_scheme_1_period_reads_and_is_never_drawn_in() {
        let seed = "ab".repeat(32);
        let body = format!(
            r#"{{"period":"2026-12","seed":"{seed}","commitment":"{}","created_at":"2026-11-01T02:15:00Z"}}"#,
            sha256_hex(&seed)
        );
        let legacy: AuditPeriod = serde_json::from_str(&body).unwrap();
        assert_eq!(legacy.scheme, LEGACY_SCHEME);
        assert!(legacy.is_committed_seed(&seed));
        assert_eq!(legacy.public().seed, None, "not published before a reveal");
        assert_eq!(
            legacy.check_draw(d("2026-12-02")),
            Err(DrawRefusal::Legacy(legacy.period))
        );
        let retired = legacy.retired(at("2026-12-07T09:00:00Z"));
        assert_eq!(retired.public().seed, Some(seed));
        assert!(retired.rotated_at.is_some());
    }
}
