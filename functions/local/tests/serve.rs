//! The run command as a user runs it: start the binary, read where it listens, mint tokens with
//! the same binary, use the API, stop it with SIGTERM and see it exit cleanly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_recert-local");

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(dir: &Path) -> Server {
    start_with(dir, &[])
}

fn start_with(dir: &Path, extra: &[&str]) -> Server {
    let mut child = Command::new(BIN)
        .args(["serve", "--addr", "127.0.0.1:0"])
        .args(extra)
        .arg("--db")
        .arg(dir.join("recert.db"))
        .env("RECERT_DATA_DIR", dir)
        .env_remove("JWT_HS256_SECRET")
        .env_remove("RECERT_MAILBOX_DIR")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start recert-local");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_string();
    Server { child, base }
}

fn token(dir: &Path, role: &str, sub: &str) -> String {
    let out = Command::new(BIN)
        .args(["token", "--role", role, "--sub", sub])
        .env("RECERT_DATA_DIR", dir)
        .env_remove("JWT_HS256_SECRET")
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

#[test]
fn the_local_server_serves_the_api_and_stops_gracefully() {
    let dir = std::env::temp_dir().join(format!("recert-local-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut server = start(&dir);
    let http = agent();

    let health: serde_json::Value = http
        .get(format!("{}/health", server.base))
        .call()
        .unwrap()
        .body_mut()
        .read_json()
        .unwrap();
    assert_eq!(health["status"], "ok");

    let admin = token(&dir, "admin", "dev-admin");
    let mut r = http
        .post(format!("{}/certificants", server.base))
        .header("authorization", format!("Bearer {admin}"))
        .send_json(serde_json::json!({"email": "local@example.org", "full_name": "Local", "membership": "member"}))
        .unwrap();
    assert_eq!(r.status(), 201);
    let certificant: serde_json::Value = r.body_mut().read_json().unwrap();
    let id = certificant["id"].as_str().unwrap();
    let mine = token(&dir, "certificant", id);
    let r = http
        .get(format!("{}/certificants/{id}/certifications", server.base))
        .header("authorization", format!("Bearer {mine}"))
        .call()
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = http
        .get(format!("{}/certificants/{id}", server.base))
        .call()
        .unwrap();
    assert_eq!(r.status(), 401);

    // SIGTERM: finish and exit 0.
    let pid = server.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = server.child.wait().unwrap();
    assert!(status.success(), "{status:?}");

    // Data survives a restart on the same file.
    let server = start(&dir);
    let r = http
        .get(format!("{}/certificants/{id}", server.base))
        .header("authorization", format!("Bearer {admin}"))
        .call()
        .unwrap();
    assert_eq!(r.status(), 200);
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

/// `recert-local job ...` on the server's data directory; its stdout.
fn job(dir: &Path, args: &[&str]) -> String {
    let out = Command::new(BIN)
        .arg("job")
        .args(args)
        .arg("--db")
        .arg(dir.join("recert.db"))
        .env("RECERT_DATA_DIR", dir)
        .env_remove("TABLE_NAME")
        .env_remove("RECERT_MAILBOX_DIR")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The local mailbox as staff read it, waiting up to 10 s for `count` messages.
fn mailbox(http: &ureq::Agent, base: &str, staff: &str, count: usize) -> Vec<serde_json::Value> {
    for _ in 0..100 {
        let listing: serde_json::Value = http
            .get(format!("{base}/dev/mailbox"))
            .header("authorization", format!("Bearer {staff}"))
            .call()
            .unwrap()
            .body_mut()
            .read_json()
            .unwrap();
        let messages = listing["messages"].as_array().unwrap().clone();
        if messages.len() >= count {
            return messages;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("fewer than {count} messages in the mailbox after 10 s");
}

/// One message of the mailbox listing, as sent (`.eml`).
fn read_mail(http: &ureq::Agent, base: &str, staff: &str, listed: &serde_json::Value) -> String {
    http.get(format!(
        "{base}/dev/mailbox/{}",
        listed["id"].as_str().unwrap()
    ))
    .header("authorization", format!("Bearer {staff}"))
    .call()
    .unwrap()
    .body_mut()
    .read_to_string()
    .unwrap()
}

/// As a new user tries it: issue a certification and read the welcome in the local mailbox; run
/// the window job for the day the window opens and read the reminder naming the missing hours;
/// run it again and get nothing new. The server runs as of a chosen date (`--today`).
#[test]
fn a_lifecycle_rehearsed_locally_with_the_mailbox_and_the_window_job() {
    let dir = std::env::temp_dir().join(format!("recert-local-mail-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let server = start_with(&dir, &["--today", "2026-01-10"]);
    let http = agent();
    let admin = token(&dir, "admin", "dev-admin");
    let r = http.get(format!("{}/health", server.base)).call().unwrap();
    assert_eq!(r.headers()["recert-today"], "2026-01-10");

    let mut r = http
        .post(format!("{}/certificants", server.base))
        .header("authorization", format!("Bearer {admin}"))
        .send_json(serde_json::json!({"email": "grace@example.org", "full_name": "Grace Hopper", "membership": "member"}))
        .unwrap();
    let person: serde_json::Value = r.body_mut().read_json().unwrap();
    let r = http
        .post(format!("{}/certifications", server.base))
        .header("authorization", format!("Bearer {admin}"))
        .send_json(
            serde_json::json!({"certificant_id": person["id"], "credential": "CPHIMS",
            "certificate_number": "CPHIMS-LOCAL-1", "initial_certification_date": "2023-09-01",
            "expires_on": "2026-08-31"}),
        )
        .unwrap();
    assert_eq!(r.status(), 201);
    let welcome = mailbox(&http, &server.base, &admin, 1);
    assert_eq!(welcome[0]["to"], "Grace Hopper <grace@example.org>");
    let raw = read_mail(&http, &server.base, &admin, &welcome[0]);
    assert!(raw.contains("Grace Hopper") && raw.contains("CPHIMS-LOCAL-1"));
    // Certificants cannot read the mailbox.
    let mine = token(&dir, "certificant", person["id"].as_str().unwrap());
    let r = http
        .get(format!("{}/dev/mailbox", server.base))
        .header("authorization", format!("Bearer {mine}"))
        .call()
        .unwrap();
    assert_eq!(r.status(), 403);

    // The window opens on 28 Feb 2026: the job reminds once.
    let out = job(&dir, &["window-opens", "--date", "2026-02-28"]);
    assert!(out.contains("1 acted"), "{out}");
    let both = mailbox(&http, &server.base, &admin, 2);
    let reminder = read_mail(&http, &server.base, &admin, &both[0]);
    assert!(
        reminder.contains("45.00 h"),
        "the reminder names the missing hours"
    );
    let again = job(&dir, &["window-opens", "--date", "2026-02-28"]);
    assert!(again.contains("0 acted"), "{again}");
    assert_eq!(
        mailbox(&http, &server.base, &admin, 2).len(),
        2,
        "nothing new"
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The renewal as a new user tries it locally: enrol, log hours, submit inside the window, pay
/// with a correctly signed webhook (`recert-local pay`), see it in the review queue, approve it,
/// and find the new expiration, the locked entries and the receipt and approval emails.
#[test]
fn a_renewal_rehearsed_locally_from_submission_to_approval() {
    let dir = std::env::temp_dir().join(format!("recert-local-renew-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let server = start_with(&dir, &["--today", "2026-03-01"]);
    let http = agent();
    let admin = token(&dir, "admin", "dev-admin");
    let post = |path: &str, bearer: &str, body: serde_json::Value| -> (u16, serde_json::Value) {
        let mut r = http
            .post(format!("{}{path}", server.base))
            .header("authorization", format!("Bearer {bearer}"))
            .send_json(body)
            .unwrap();
        (
            r.status().as_u16(),
            r.body_mut().read_json().unwrap_or_default(),
        )
    };
    let get = |path: &str, bearer: &str| -> serde_json::Value {
        http.get(format!("{}{path}", server.base))
            .header("authorization", format!("Bearer {bearer}"))
            .call()
            .unwrap()
            .body_mut()
            .read_json()
            .unwrap()
    };
    let (_, person) = post(
        "/certificants",
        &admin,
        serde_json::json!({"email": "alan@example.org", "full_name": "Alan Turing", "membership": "non_member"}),
    );
    let (_, cert) = post(
        "/certifications",
        &admin,
        serde_json::json!({"certificant_id": person["id"], "credential": "CPHIMS",
        "certificate_number": "CPHIMS-LOCAL-2", "initial_certification_date": "2023-09-01", "expires_on": "2026-08-31"}),
    );
    let cert = cert["id"].as_str().unwrap().to_owned();
    let me = token(&dir, "certificant", person["id"].as_str().unwrap());
    let (status, _) = post(
        &format!("/certifications/{cert}/entries"),
        &me,
        serde_json::json!({"title": "Society conference",
        "provider_name": "The Society", "provider_category": "society", "completed_on": "2024-05-01",
        "hours_hundredths": 4500, "ethics_hours_hundredths": 200}),
    );
    assert_eq!(status, 201);
    let (status, submitted) = post(
        &format!("/certifications/{cert}/submissions"),
        &me,
        serde_json::json!({"attestation": true,
        "billing_address": {"name": "Alan Turing", "line1": "Bletchley Park", "city": "Milton Keynes", "postal_code": "MK3 6EB", "country": "GB"}}),
    );
    assert_eq!(status, 201, "{submitted}");
    assert_eq!(
        submitted["charge"]["amount_minor"], 17500,
        "priced as a non-member"
    );
    let order = submitted["order_number"].as_str().unwrap();

    // The processor pays: a signed webhook, from the same binary.
    let out = Command::new(BIN)
        .args([
            "pay",
            order,
            "--amount",
            "17500",
            "--currency",
            "USD",
            "--api",
            &server.base,
        ])
        .env("RECERT_DATA_DIR", &dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("applied"));

    // The day's audit draw (with a rules file whose share selects nobody) lets review begin.
    let rules = dir.join("no-audit.toml");
    std::fs::write(
        &rules,
        include_str!("../../../shared/domain/rules/default.toml")
            .replace("audit_sample_percent = 10", "audit_sample_percent = 0"),
    )
    .unwrap();
    // A fresh ledger: the run of the day before commits the periods (a month's draws need its
    // commitment from an earlier day), and says it is a rehearsal.
    let draw = |date: &str| {
        Command::new(BIN)
            .args(["job", "audit-draw", "--date", date, "--db"])
            .arg(dir.join("recert.db"))
            .arg("--rules")
            .arg(&rules)
            .env("RECERT_DATA_DIR", &dir)
            .output()
            .unwrap()
    };
    let eve = draw("2026-02-28");
    assert!(
        String::from_utf8_lossy(&eve.stdout).contains("rehearsal: the clock is set to 2026-02-28"),
        "{}",
        String::from_utf8_lossy(&eve.stdout)
    );
    assert!(dir.join("audit-seed.key").exists(), "the local sealing key");
    let out = draw("2026-03-01");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("1 due, 1 acted"),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    let reviewer = token(&dir, "reviewer", "rev-1");
    let queue = get("/review-queue", &reviewer);
    let sid = submitted["id"].as_str().unwrap();
    assert!(
        queue["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["submission"]["id"] == sid)
    );
    let (status, approved) = post(
        &format!("/certifications/{cert}/submissions/{sid}/approve"),
        &reviewer,
        serde_json::json!({}),
    );
    assert_eq!(status, 200, "{approved}");
    let certification = get(&format!("/certifications/{cert}"), &me);
    assert_eq!(certification["expires_on"], "2029-08-31");
    // The old cycle's entry stays, locked and readable by cycle.
    let old = get(
        &format!("/certifications/{cert}/entries?cycle_starts_on=2023-09-01"),
        &me,
    );
    assert_eq!(old["items"].as_array().unwrap().len(), 1);
    // Welcome, receipt and approval in the mailbox.
    let mails = mailbox(&http, &server.base, &admin, 3);
    let subjects: Vec<&str> = mails
        .iter()
        .map(|m| m["subject"].as_str().unwrap())
        .collect();
    assert!(
        subjects.iter().any(|s| s.contains("Payment received")),
        "{subjects:?}"
    );
    assert!(
        subjects
            .iter()
            .any(|s| s.contains("renewed until 31 August 2029")),
        "{subjects:?}"
    );

    // An outsider keeps a copy of March's log with the public script's `fetch` (every page, over
    // HTTP), then checks the revealed log against it once the seed is out (2 April).
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../scripts/verify-audit-draw.py"
    );
    let fetch = || {
        let out = Command::new("python3")
            .args([
                script,
                "fetch",
                &format!("{}/audit-periods/2026-03", server.base),
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        doc
    };
    let copy = fetch();
    assert_eq!(copy["draws"].as_array().unwrap().len(), 1);
    assert!(copy["period"]["seed"].is_null());
    draw("2026-04-02");
    let revealed = fetch();
    assert!(revealed["period"]["seed"].is_string(), "{revealed}");
    if let Ok(python) = std::env::var("RECERT_SAMPLER_PYTHON") {
        let (copy_path, revealed_path) = (dir.join("copy.json"), dir.join("revealed.json"));
        std::fs::write(&copy_path, copy.to_string()).unwrap();
        std::fs::write(&revealed_path, revealed.to_string()).unwrap();
        let out = Command::new(python)
            .arg(script)
            .arg("check")
            .arg(&revealed_path)
            .arg("--earlier")
            .arg(&copy_path)
            .arg("--rules")
            .arg(&rules)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        // Our own verifier, from the store, agrees.
        let ours = Command::new(BIN)
            .args(["audit", "verify", "2026-03", "--db"])
            .arg(dir.join("recert.db"))
            .arg("--earlier")
            .arg(&copy_path)
            .arg("--rules")
            .arg(&rules)
            .env("RECERT_DATA_DIR", &dir)
            .output()
            .unwrap();
        assert!(
            ours.status.success(),
            "{}",
            String::from_utf8_lossy(&ours.stdout)
        );
    }
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}
