//! `recert-local audit verify <period>`: re-run every draw of a period with its revealed seed and
//! check each record (commitment, candidate digest, selection), as anyone can with the public
//! package (docs/audit.md).

use crate::local_store;
use recert_app::App;
use recert_app::config::load_rules;
use recert_domain::audit::Period;
use std::io::Write;
use std::path::Path;

/// Verify `period` on the local store (or DynamoDB with `TABLE_NAME`); an error when any draw
/// does not re-run to its record, or the seed is not revealed yet.
pub async fn verify(period: &str, db: &Path) -> Result<(), String> {
    let period: Period = period.parse()?;
    let app = App::new(
        local_store(db).await?,
        load_rules(None).map_err(|e| e.to_string())?,
        crate::clock(None),
    );
    let outcome = recert_app::audit::verify_period(&app, period)
        .await
        .map_err(|e| e.to_string())?;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "{}: {} draws, {} candidates, {} selected",
        outcome.period, outcome.draws, outcome.candidates, outcome.selected
    );
    if outcome.failures.is_empty() {
        let _ = writeln!(
            out,
            "verified: every draw re-runs to its recorded selection with the revealed seed"
        );
        Ok(())
    } else {
        Err(outcome.failures.join("; "))
    }
}
