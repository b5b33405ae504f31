//! Each forgery a careful forger could make, self-consistent (digests, chain and head recomputed),
//! is refused, naming what is wrong.
#![allow(clippy::unwrap_used)]

use super::*;
use crate::audit::forgery::Forgery;
use crate::audit::forgery::honest;
use crate::audit::forgery::rechain;
use chrono::{DateTime, Utc};

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn share(_: NaiveDate) -> u32 {
    10
}

fn problems(log: &PeriodLog, recorded: &Recorded<'_>) -> Vec<Problem> {
    verify(log, recorded, &share).problems
}

#[test]
fn the_honest_log_verifies_against_what_was_recorded() {
    let (log, copy) = honest();
    let recorded = Recorded {
        commitment: Some(&copy.period.commitment),
        earlier: std::slice::from_ref(&copy),
    };
    let v = verify(&log, &recorded, &share);
    assert_eq!(v.problems, [], "{:?}", v.notes);
    assert_eq!((v.draws, v.candidates), (3, 120));
    // Not yet revealed: the structure holds, the selections cannot be re-run.
    assert_eq!(
        problems(&copy, &Recorded::default()),
        [Problem::NotRevealed(copy.period.period)]
    );
}

#[test]
fn every_forgery_is_refused_with_what_was_recorded() {
    let (log, copy) = honest();
    let full = [copy.clone(), log.clone()];
    for forgery in Forgery::ALL {
        let forged = forgery.forge(&log);
        let recorded = Recorded {
            commitment: Some(&copy.period.commitment),
            earlier: &full,
        };
        let found = problems(&forged, &recorded);
        assert!(!found.is_empty(), "{forgery:?} passed");
    }
}

#[test]
fn a_new_seed_with_a_new_commitment_is_refused() {
    let (log, copy) = honest();
    let forged = Forgery::NewSeed.forge(&log);
    assert_eq!(
        problems(&forged, &Recorded::default()),
        [],
        "self-consistent"
    );
    let recorded = Recorded {
        commitment: Some(&copy.period.commitment),
        earlier: std::slice::from_ref(&copy),
    };
    let found = problems(&forged, &recorded);
    assert!(
        matches!(found[0], Problem::NotTheRecordedCommitment { .. }),
        "{found:?}"
    );
    assert!(found.contains(&Problem::EarlierCommitment), "{found:?}");
}

#[test]
fn a_share_of_zero_is_refused() {
    let (log, _) = honest();
    let forged = Forgery::ShareOfZero.forge(&log);
    assert_eq!(
        problems(&forged, &Recorded::default()),
        [Problem::Share {
            day: log.draws[2].run_on,
            recorded: 0,
            in_force: 10
        }]
    );
}

#[test]
fn a_candidate_removed_with_its_digest_recomputed_is_refused() {
    let (log, copy) = honest();
    let forged = Forgery::CandidateRemoved.forge(&log);
    assert_eq!(
        problems(&forged, &Recorded::default()),
        [],
        "self-consistent"
    );
    let recorded = Recorded {
        commitment: None,
        earlier: std::slice::from_ref(&copy),
    };
    let found = problems(&forged, &recorded);
    let day = log.draws[0].run_on;
    assert!(
        found.contains(&Problem::EarlierChanged { day }),
        "{found:?}"
    );
    assert!(
        found
            .iter()
            .all(|p| matches!(p, Problem::EarlierChanged { .. })),
        "{found:?}"
    );
}

#[test]
fn a_day_deleted_is_refused() {
    let (log, copy) = honest();
    // Left as it was: the chain and the period's head give it away.
    let mut cut = log.clone();
    cut.draws.remove(1);
    let found = problems(&cut, &Recorded::default());
    for expected in ["Sequence", "Chain", "Head"] {
        assert!(
            found.iter().any(|p| format!("{p:?}").starts_with(expected)),
            "{expected}: {found:?}"
        );
    }
    // Rechained: the earlier copy gives it away.
    let forged = Forgery::DayDeleted.forge(&log);
    let recorded = Recorded {
        commitment: None,
        earlier: std::slice::from_ref(&copy),
    };
    assert_eq!(
        problems(&forged, &recorded),
        [Problem::EarlierChanged {
            day: copy.draws[1].run_on
        }]
    );
    // The last day deleted, after a copy that held it.
    let mut tail = log.clone();
    tail.draws.pop();
    rechain(&mut tail);
    let full = [log];
    let recorded = Recorded {
        commitment: None,
        earlier: &full,
    };
    let found = problems(&tail, &recorded);
    assert!(
        found.contains(&Problem::EarlierLonger { earlier: 3, now: 2 }),
        "{found:?}"
    );
}

#[test]
fn one_id_in_two_days_is_refused() {
    let (log, _) = honest();
    let forged = Forgery::OneIdInTwoDays.forge(&log);
    assert_eq!(
        problems(&forged, &Recorded::default()),
        [Problem::DrawnTwice {
            id: log.draws[0].candidates[0].clone(),
            first: log.draws[0].run_on,
            second: log.draws[2].run_on
        }]
    );
}

#[test]
fn a_draw_run_after_the_reveal_is_refused() {
    let (log, _) = honest();
    let forged = Forgery::DrawAfterTheReveal.forge(&log);
    let found = problems(&forged, &Recorded::default());
    let day = log.draws[2].run_on;
    assert!(found.contains(&Problem::AfterReveal { day }), "{found:?}");
}

#[test]
fn a_commitment_published_after_the_start_is_refused_unless_declared() {
    let (mut log, _) = honest();
    log.period.committed_at = at("2026-12-01T01:00:00Z");
    rechain(&mut log);
    let found = problems(&log, &Recorded::default());
    let committed_on: NaiveDate = "2026-12-01".parse().unwrap();
    assert!(found.contains(&Problem::CommittedLate { committed_on }));
    assert!(
        found.contains(&Problem::BeforeCommitment {
            day: log.draws[0].run_on,
            committed_on
        }),
        "a draw on the day of the commitment: {found:?}"
    );
    // Declared late (the first period): a note, and draws only from the next day.
    log.period.late_commitment = true;
    log.draws.remove(0);
    rechain(&mut log);
    let v = verify(&log, &Recorded::default(), &share);
    assert_eq!(v.problems, []);
    assert_eq!(v.notes.len(), 1, "{:?}", v.notes);
}

#[test]
fn a_changed_selection_or_revealed_seed_is_refused() {
    let (mut log, _) = honest();
    let dropped = log.draws[1].selected.pop();
    assert!(dropped.is_some(), "the test needs a selection");
    rechain(&mut log);
    let found = problems(&log, &Recorded::default());
    assert!(
        matches!(found[..], [Problem::Selection { .. }]),
        "{found:?}"
    );
    let (mut log, _) = honest();
    log.period.seed = Some("00".repeat(32));
    assert_eq!(
        problems(&log, &Recorded::default()),
        [Problem::SeedMismatch]
    );
}
