//! The audit draw against the public `consistent-sampler` package itself (PyPI 1.0.10, installed by
//! `scripts/audit-sampler`; `RECERT_SAMPLER_PYTHON` names its python): our tickets are the
//! package's, and `scripts/verify-audit-draw.py`, the check anyone can run, accepts an honest log
//! and refuses every forgery our own verifier refuses, naming the same problem. Skipped, with a
//! notice, when the variable is unset (the test command sets it).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use recert_domain::audit::forgery::{Forgery, honest};
use recert_domain::audit::verify::verify;
use recert_domain::audit::{PeriodLog, Recorded, Ticket};
use std::io::Write;
use std::process::{Command, Stdio};

fn python() -> Option<String> {
    let p = std::env::var("RECERT_SAMPLER_PYTHON")
        .ok()
        .filter(|p| !p.is_empty());
    if p.is_none() {
        eprintln!("SKIPPED: RECERT_SAMPLER_PYTHON is not set (scripts/test-all sets it)");
    }
    p
}

fn run(python: &str, args: &[&str], stdin: &str) -> (bool, String) {
    let mut child = Command::new(python)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run python");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn our_tickets_are_the_packages_tickets() {
    let Some(python) = python() else { return };
    let pairs: Vec<(String, String)> = (0..300)
        .map(|i| {
            let seed = if i % 3 == 0 {
                format!("{i}")
            } else {
                format!("{:064x}", i * 7919)
            };
            (seed, uuid::Uuid::now_v7().to_string())
        })
        .collect();
    let input = serde_json::to_string(&pairs).unwrap();
    let (ok, out) = run(
        &python,
        &[
            "-c",
            "import json,sys\nfrom consistent_sampler import first_fraction\n\
             print(json.dumps([first_fraction(i, s) for s, i in json.load(sys.stdin)]))",
        ],
        &input,
    );
    assert!(ok, "{out}");
    let theirs: Vec<String> = serde_json::from_str(out.trim()).unwrap();
    for ((seed, id), t) in pairs.iter().zip(&theirs) {
        assert_eq!(Ticket::first(seed, id).as_str(), t, "seed {seed} id {id}");
    }
}

/// Write `value` as JSON into a fresh file of the test's own directory.
fn file(dir: &std::path::Path, name: &str, value: &PeriodLog) -> String {
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_string(value).unwrap()).unwrap();
    path.to_string_lossy().into_owned()
}

fn script() -> &'static str {
    concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../scripts/verify-audit-draw.py"
    )
}

fn check(
    python: &str,
    dir: &std::path::Path,
    log: &PeriodLog,
    commitment: &str,
    earlier: &[PeriodLog],
) -> (bool, String) {
    let revealed = file(dir, "revealed.json", log);
    let mut args = vec![
        script().to_owned(),
        "check".into(),
        revealed,
        "--commitment".into(),
        commitment.into(),
    ];
    for (i, copy) in earlier.iter().enumerate() {
        args.push("--earlier".into());
        args.push(file(dir, &format!("copy-{i}.json"), copy));
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run(python, &args, "")
}

fn share(_: chrono::NaiveDate) -> u32 {
    10
}

#[test]
fn the_public_script_refuses_every_forgery_our_verifier_refuses() {
    let Some(python) = python() else { return };
    let dir = std::env::temp_dir().join(format!("recert-sampler-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let (log, copy) = honest();
    let commitment = copy.period.commitment.clone();
    let earlier = [copy.clone(), log.clone()];
    let (ok, out) = check(&python, &dir, &log, &commitment, &earlier[..1]);
    assert!(ok, "{out}");
    assert!(out.contains("3 draws, 120 candidates"), "{out}");
    let recorded = Recorded {
        commitment: Some(&commitment),
        earlier: &earlier,
    };
    assert!(verify(&log, &recorded, &share).is_verified());

    for (forgery, says) in [
        (Forgery::NewSeed, "is not the one you recorded"),
        (Forgery::ShareOfZero, "the rules in force that day say 10 %"),
        (Forgery::CandidateRemoved, "differs from your earlier copy"),
        (Forgery::DayDeleted, "differs from your earlier copy"),
        (Forgery::OneIdInTwoDays, "is a candidate of two draws"),
        (
            Forgery::DrawAfterTheReveal,
            "ran after the seed was revealed",
        ),
    ] {
        let forged = forgery.forge(&log);
        let (ok, out) = check(&python, &dir, &forged, &commitment, &earlier);
        assert!(!ok, "{forgery:?} passed the script: {out}");
        assert!(
            out.contains("MISMATCH") && out.contains(says),
            "{forgery:?}: {out}"
        );
        let ours = verify(&forged, &recorded, &share);
        assert!(!ours.is_verified(), "{forgery:?} passed our verifier");
        assert!(
            ours.problems.iter().any(|p| p.to_string().contains(says)),
            "{forgery:?}: our verifier says {:?}",
            ours.problems
        );
    }

    let (ok, out) = check(&python, &dir, &copy, &commitment, &[]);
    assert!(!ok && out.contains("not revealed"), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}
