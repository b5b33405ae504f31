//! The audit draw's trust, on the embedded store with a real sealing key: the clock (not the
//! caller) decides which day may draw, a period is committed before it starts (the very first one
//! waits a day), its seed is sealed until the clock says the period ended, every ended period is
//! revealed, and no draw is made in a revealed period or a period of the old scheme.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::NaiveDate;
use recert_app::audit::{DrawOutcome, Rotated, audit_draw, rotate_legacy_periods};
use recert_app::{App, AppError};
use recert_domain::audit::period::{LEGACY_SCHEME, commitment_of};
use recert_domain::audit::ticket::sha256_hex;
use recert_domain::audit::{AuditPeriod, DrawRefusal, Period};
use recert_domain::{FixedClock, RuleBook};
use recert_keys::FileKey;
use recert_store::Store;
use recert_store::sqlite::SqliteStore;
use std::sync::Arc;

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn p(s: &str) -> Period {
    s.parse().unwrap()
}

/// One store and one key; an [`App`] per day of the clock.
struct Ledger {
    store: Arc<dyn Store>,
    key: Arc<FileKey>,
}

impl Ledger {
    fn new() -> Self {
        Ledger {
            store: Arc::new(SqliteStore::in_memory().unwrap()),
            key: Arc::new(FileKey::ephemeral()),
        }
    }

    /// The application as the clock says `today` (noon UTC).
    fn on(&self, today: &str) -> App {
        App::new(
            self.store.clone(),
            RuleBook::default_rules(),
            Arc::new(FixedClock::on(d(today))),
        )
        .with_sealer(self.key.clone())
    }

    async fn draw(&self, today: &str, date: &str) -> Result<DrawOutcome, AppError> {
        audit_draw(&self.on(today), d(date)).await.map(|(_, o)| o)
    }

    async fn period(&self, period: &str) -> AuditPeriod {
        self.store.audit_period(p(period)).await.unwrap().unwrap()
    }
}

#[tokio::test]
async fn the_clock_not_the_caller_decides_the_day() {
    let ledger = Ledger::new();
    let future = ledger.draw("2026-03-10", "2026-03-11").await;
    assert!(
        matches!(
            future,
            Err(AppError::DrawRefused(DrawRefusal::Future { .. }))
        ),
        "{future:?}"
    );
    let stale = ledger.draw("2026-03-10", "2026-03-08").await;
    assert!(
        matches!(
            stale,
            Err(AppError::DrawRefused(DrawRefusal::TooLate { .. }))
        ),
        "{stale:?}"
    );
    assert!(
        ledger
            .store
            .audit_period(p("2026-03"))
            .await
            .unwrap()
            .is_none(),
        "a refused run commits nothing"
    );
    // A day late (a retried schedule) is taken.
    ledger.draw("2026-03-10", "2026-03-09").await.unwrap();
}

#[tokio::test]
async fn the_first_period_waits_a_day_and_the_next_is_committed_before_it_starts() {
    let ledger = Ledger::new();
    let first = ledger.draw("2026-03-10", "2026-03-10").await.unwrap();
    assert!(
        matches!(
            first,
            DrawOutcome::Waiting(DrawRefusal::CommitmentTooRecent { .. })
        ),
        "{first:?}"
    );
    let march = ledger.period("2026-03").await;
    assert!(
        march.late_commitment,
        "committed inside the period, and says so"
    );
    let april = ledger.period("2026-04").await;
    assert!(!april.late_commitment);
    assert!(april.committed_at.date_naive() < p("2026-04").first_day());
    assert!(ledger.store.draws(p("2026-03")).await.unwrap().is_empty());
    // The next day the commitment is a day old: the draw runs (with no candidates).
    let DrawOutcome::Drawn(record) = ledger.draw("2026-03-11", "2026-03-11").await.unwrap() else {
        panic!("drawn");
    };
    assert_eq!((record.seq, record.previous.clone()), (1, march.genesis()));
    assert_eq!(ledger.period("2026-03").await.head, record.entry_sha256);
    // A rerun of the same day reuses the record.
    let DrawOutcome::Drawn(again) = ledger.draw("2026-03-11", "2026-03-11").await.unwrap() else {
        panic!("drawn");
    };
    assert_eq!(again, record);
    // A late run of an earlier day after a later day drew is refused.
    ledger.draw("2026-03-12", "2026-03-12").await.unwrap();
    let late = ledger.draw("2026-03-12", "2026-03-11").await;
    assert!(
        matches!(late, Ok(DrawOutcome::Drawn(r)) if *r == *record),
        "the day's record"
    );
    let earlier_day = ledger.draw("2026-03-12", "2026-03-10").await;
    assert!(
        matches!(earlier_day, Err(AppError::DrawRefused(_))),
        "{earlier_day:?}"
    );
}

#[tokio::test]
async fn the_seed_is_sealed_until_every_ended_period_is_revealed_by_the_clock() {
    let ledger = Ledger::new();
    ledger.draw("2026-01-10", "2026-01-10").await.unwrap();
    ledger.draw("2026-01-31", "2026-01-31").await.unwrap();
    let january = ledger.period("2026-01").await;
    assert_eq!(january.seed, None, "no seed in clear in the store");
    let sealed = january.sealed_seed.clone().expect("sealed");
    assert_eq!(january.public().seed, None);
    // A late run of 31 January on 1 February still draws with January's seed, unrevealed.
    ledger.draw("2026-02-01", "2026-01-31").await.unwrap();
    assert_eq!(ledger.period("2026-01").await.revealed_at, None);
    // Nothing ran in February or March; on 2 April both January and February are revealed
    // (every ended period, not only the last one), March is committed late, May ahead.
    ledger.draw("2026-04-02", "2026-04-02").await.unwrap();
    for month in ["2026-01", "2026-02"] {
        let revealed = ledger.period(month).await;
        let seed = revealed.public().seed.expect("revealed");
        assert_eq!(commitment_of(&seed), revealed.commitment, "{month}");
        assert_ne!(
            sha256_hex(&seed),
            revealed.commitment,
            "not the sampler's key"
        );
        assert_eq!(
            revealed.sealed_seed.as_ref().map(|s| &s.key),
            Some(&sealed.key)
        );
    }
    assert!(ledger.period("2026-04").await.late_commitment);
    assert_eq!(ledger.period("2026-05").await.revealed_at, None);
    // A run whose clock is set back (a rehearsal) still never draws in a revealed period.
    let revealed = ledger.draw("2026-02-01", "2026-01-31").await;
    assert!(
        matches!(
            revealed,
            Err(AppError::DrawRefused(DrawRefusal::Revealed(_)))
        ),
        "{revealed:?}"
    );
}

#[tokio::test]
async fn without_the_sealing_key_nothing_is_committed() {
    let ledger = Ledger::new();
    let app = App::new(
        ledger.store.clone(),
        RuleBook::default_rules(),
        Arc::new(FixedClock::on(d("2026-03-10"))),
    );
    let refused = audit_draw(&app, d("2026-03-10")).await;
    assert!(
        matches!(refused, Err(AppError::NoSealingKey)),
        "{refused:?}"
    );
    assert!(
        ledger
            .store
            .audit_period(p("2026-03"))
            .await
            .unwrap()
            .is_none()
    );
    // Another key cannot open the seed: the draw fails rather than draw with a wrong seed.
    ledger.draw("2026-03-10", "2026-03-10").await.unwrap();
    let other = App::new(
        ledger.store.clone(),
        RuleBook::default_rules(),
        Arc::new(FixedClock::on(d("2026-03-11"))),
    )
    .with_sealer(Arc::new(FileKey::ephemeral()));
    let wrong = audit_draw(&other, d("2026-03-11")).await;
    assert!(matches!(wrong, Err(AppError::Keys(_))), "{wrong:?}");
}

/// A period of the old scheme, as the code before it stored one: the seed in clear, the
/// commitment its SHA-256.
async fn legacy(store: &dyn Store, period: &str, seed_byte: u8) -> AuditPeriod {
    let seed = hex::encode([seed_byte; 32]);
    let body = serde_json::json!({
        "period": period, "seed": seed, "commitment": sha256_hex(&seed),
        "created_at": "2026-01-01T02:15:00Z"
    });
    let old: AuditPeriod = serde_json::from_value(body).unwrap();
    assert_eq!(old.scheme, LEGACY_SCHEME);
    store.create_audit_period(&old).await.unwrap()
}

#[tokio::test]
async fn periods_of_the_old_scheme_are_never_drawn_in_and_are_rotated() {
    let ledger = Ledger::new();
    let march = legacy(ledger.store.as_ref(), "2026-03", 1).await;
    legacy(ledger.store.as_ref(), "2026-04", 2).await;
    legacy(ledger.store.as_ref(), "2026-01", 3).await;
    let refused = ledger.draw("2026-03-10", "2026-03-10").await;
    assert!(
        matches!(refused, Err(AppError::DrawRefused(DrawRefusal::Legacy(_)))),
        "{refused:?}"
    );
    let app = ledger.on("2026-03-10");
    let rotated = rotate_legacy_periods(&app, p("2025-12")).await.unwrap();
    assert_eq!(
        rotated,
        [
            Rotated::Retired(p("2026-01")),
            Rotated::Recommitted(p("2026-03")),
            Rotated::Recommitted(p("2026-04")),
        ]
    );
    let retired = ledger.period("2026-01").await;
    assert!(retired.rotated_at.is_some() && retired.public().seed.is_some());
    let recommitted = ledger.period("2026-03").await;
    assert_ne!(recommitted.commitment, march.commitment);
    assert!(recommitted.late_commitment && recommitted.seed.is_none());
    assert!(!ledger.period("2026-04").await.late_commitment);
    assert_eq!(
        rotate_legacy_periods(&app, p("2025-12")).await.unwrap(),
        [],
        "nothing of the old scheme is left"
    );
    // The recommitted March draws from the day after its new commitment.
    assert!(matches!(
        ledger.draw("2026-03-10", "2026-03-10").await,
        Ok(DrawOutcome::Waiting(_))
    ));
    assert!(matches!(
        ledger.draw("2026-03-11", "2026-03-11").await,
        Ok(DrawOutcome::Drawn(_))
    ));
}
