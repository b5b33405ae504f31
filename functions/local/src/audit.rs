//! `recert-local audit …`: the random audit's public checks and its operator's commands.
//!
//! - `verify <period>`: check a period's log as an outsider would (docs/audit.md): the revealed
//!   document (from the store, or a file saved with `document` or `scripts/verify-audit-draw.py
//!   fetch`) against the commitment you recorded before the period started and the copies you
//!   saved while it ran, with the published rules' share of each day. Our own implementation;
//!   `scripts/verify-audit-draw.py` makes the same checks with the public package.
//! - `document <period>`: the period's whole public log as one JSON document (a copy to keep).
//! - `rotate`: retire or re-commit the periods committed under the old scheme.
//!
//! All work on the local store, or on DynamoDB when `TABLE_NAME` is set.

use crate::local_store;
use recert_app::App;
use recert_app::audit::{Rotated, period_log, rotate_legacy_periods, rotation_start, verify_log};
use recert_app::config::load_rules;
use recert_domain::audit::{PeriodLog, Recorded};
use std::io::Write;
use std::path::{Path, PathBuf};

/// What `audit verify` checks against.
#[derive(Debug, Default)]
pub struct VerifyInputs {
    /// The revealed document; `None`: read the period from the store.
    pub document: Option<PathBuf>,
    /// Copies saved earlier.
    pub earlier: Vec<PathBuf>,
    /// The commitment recorded before the period started.
    pub commitment: Option<String>,
    /// The published rules (default: the compiled-in rules).
    pub rules: Option<PathBuf>,
}

fn read_log(path: &Path) -> Result<PeriodLog, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text)
        .map_err(|e| format!("{}: not a period document: {e}", path.display()))
}

async fn app(db: &Path, rules: Option<&Path>) -> Result<App, String> {
    Ok(App::new(
        local_store(db).await?,
        load_rules(rules).map_err(|e| e.to_string())?,
        crate::clock(None),
    ))
}

/// Verify `period`; an error naming every problem when the log does not hold.
pub async fn verify(period: &str, db: &Path, inputs: &VerifyInputs) -> Result<(), String> {
    let period: recert_domain::audit::Period = period.parse()?;
    let app = app(db, inputs.rules.as_deref()).await?;
    let log = match &inputs.document {
        Some(path) => read_log(path)?,
        None => period_log(&app, period).await.map_err(|e| e.to_string())?,
    };
    if log.period.period != period {
        return Err(format!(
            "the document is of {}, not {period}",
            log.period.period
        ));
    }
    let earlier = inputs
        .earlier
        .iter()
        .map(|p| read_log(p))
        .collect::<Result<Vec<_>, _>>()?;
    let recorded = Recorded {
        commitment: inputs.commitment.as_deref(),
        earlier: &earlier,
    };
    let outcome = verify_log(&app, &log, &recorded);
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "{}: {} draws, {} candidates, {} selected",
        outcome.period, outcome.draws, outcome.candidates, outcome.selected
    );
    if inputs.commitment.is_none() && earlier.is_empty() {
        let _ = writeln!(
            out,
            "note: nothing recorded earlier was given (--commitment, --earlier): a forger who \
             rewrote the whole log and its commitment would pass the other checks"
        );
    }
    for note in &outcome.notes {
        let _ = writeln!(out, "note: {note}");
    }
    for problem in &outcome.problems {
        let _ = writeln!(out, "MISMATCH {problem}");
    }
    if outcome.is_verified() {
        let _ = writeln!(
            out,
            "verified: the log extends what you recorded, and every draw re-runs to its selection with the revealed seed"
        );
        Ok(())
    } else {
        Err(format!(
            "{} problem(s) in the log of {period}",
            outcome.problems.len()
        ))
    }
}

/// Print `period`'s whole public log as one JSON document.
pub async fn document(period: &str, db: &Path) -> Result<(), String> {
    let period: recert_domain::audit::Period = period.parse()?;
    let app = app(db, None).await?;
    let log = period_log(&app, period).await.map_err(|e| e.to_string())?;
    let text = serde_json::to_string_pretty(&log).map_err(|e| e.to_string())?;
    let _ = writeln!(std::io::stdout().lock(), "{text}");
    Ok(())
}

/// Rotate the periods of the old scheme from `from` (default: three years back) through next
/// month: retire those drawn in or ended, re-commit the others.
pub async fn rotate(from: Option<&str>, db: &Path) -> Result<(), String> {
    let app = app(db, None).await?.with_sealer(crate::seed_key().await?);
    let from = match from {
        Some(f) => f.parse()?,
        None => rotation_start(&app),
    };
    let rotated = rotate_legacy_periods(&app, from)
        .await
        .map_err(|e| e.to_string())?;
    let mut out = std::io::stdout().lock();
    if rotated.is_empty() {
        let _ = writeln!(
            out,
            "no period of the old scheme from {from} on: nothing to rotate"
        );
    }
    for r in rotated {
        let _ = match r {
            Rotated::Retired(p) => writeln!(
                out,
                "{p}: retired (its seed is revealed; no new draw is made with it)"
            ),
            Rotated::Recommitted(p) => writeln!(
                out,
                "{p}: committed again to a new sealed seed (GET /audit-periods/{p} shows the new commitment)"
            ),
        };
    }
    Ok(())
}
