//! The audit draw against the public `consistent-sampler` package itself (PyPI 1.0.10, installed by
//! `scripts/audit-sampler`; `RECERT_SAMPLER_PYTHON` names its python): our tickets are the
//! package's, and a published period re-verifies with `scripts/verify-audit-draw.py`, the check
//! anyone can run. Skipped, with a notice, when the variable is unset (the test command sets it).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use recert_domain::audit::draw::{AuditPeriod, Ticket, draw};
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

fn now() -> chrono::DateTime<chrono::Utc> {
    "2026-12-01T02:15:00Z".parse().unwrap()
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

#[test]
fn a_published_period_reverifies_with_the_public_script_and_a_forgery_does_not() {
    let Some(python) = python() else { return };
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../scripts/verify-audit-draw.py"
    );
    let mut period = AuditPeriod::new("2026-11".parse().unwrap(), rand_seed(), now());
    let ids = (0..400).map(|_| uuid::Uuid::now_v7().to_string());
    let record = draw(&period, "2026-11-30".parse().unwrap(), 10, ids, now());
    assert!(!record.selected.is_empty());
    period.revealed_at = Some(now());
    let document = serde_json::json!({"period": period.public(), "draws": [record]});
    let (ok, out) = run(&python, &[script, "-"], &document.to_string());
    assert!(ok, "{out}");
    assert!(out.contains("400 candidates"), "{out}");

    let mut forged = document.clone();
    forged["draws"][0]["selected"].as_array_mut().unwrap().pop();
    let (ok, out) = run(&python, &[script, "-"], &forged.to_string());
    assert!(!ok, "a dropped selection must not verify: {out}");
    assert!(out.contains("MISMATCH"), "{out}");

    let mut unrevealed = document;
    unrevealed["period"]["seed"] = serde_json::Value::Null;
    let (ok, out) = run(&python, &[script, "-"], &unrevealed.to_string());
    assert!(!ok && out.contains("not revealed"), "{out}");
}

/// A seed that differs from run to run (the period's seed comes from the OS in production).
fn rand_seed() -> [u8; 32] {
    let mut seed = [0u8; 32];
    seed[..16].copy_from_slice(uuid::Uuid::now_v7().as_bytes());
    seed[16..].copy_from_slice(uuid::Uuid::now_v7().as_bytes());
    seed
}
