//! Waiver and extension requests and the lifecycle job (closing-date reminders and lapse), on the
//! store `RECERT_TEST_STORE` selects: the cutoff day and the day after, one open request per cycle
//! and withdrawal, the committee's queue and decisions within the rules' bounds, an extension
//! across a month end onto a leap day, a waiver that closes the gap, and the job's runs around the
//! closing day, repeated.

use crate::helpers::*;
use crate::notifications::pending;
use recert_app::jobs::Job;
use recert_domain::{CertificationId, Notice, Role, RuleBook};
use serde_json::{Value, json};

fn committee(app: &TestApp) -> String {
    app.token(Role::Committee, "committee-1")
}

fn extension(until: &str) -> Value {
    json!({"relief": {"type": "extension", "until": until}, "reason": "Parental leave, March to June"})
}

fn requests(cert: &str) -> String {
    format!("/certifications/{cert}/waiver-requests")
}

async fn notices(app: &TestApp, cert: &str) -> Vec<Notice> {
    let id: CertificationId = cert.parse().unwrap();
    pending(app.store.as_ref(), id)
        .await
        .into_iter()
        .map(|m| m.notice)
        .collect()
}

#[tokio::test]
async fn a_request_on_the_cutoff_day_is_taken_and_one_the_day_after_is_refused_with_the_cutoff() {
    // Expiring 31 May 2027: the cutoff is three months before, clamped to 28 Feb 2027.
    let app = TestApp::on("2027-02-28");
    let (_, cert, token) = app.enrol("CPHIMS", "2024-06-01", "2027-05-31").await;
    let (_, late_cert, late_token) = app.enrol("CPHIMS", "2024-06-01", "2027-05-31").await;
    let report = app
        .get(&format!("/certifications/{cert}/eligibility"), &token)
        .await;
    assert_eq!(report.ok(200)["waiver_request_cutoff"], "2027-02-28");

    let taken = app
        .post(&requests(&cert), &token, extension("2027-08-31"))
        .await;
    let taken = taken.ok(201);
    assert_eq!(taken["status"], "open");
    assert_eq!(taken["requested"]["until"], "2027-08-31");

    let next_day = TestApp::with_store("2027-03-01", app.store.clone());
    let late = next_day
        .post(&requests(&late_cert), &late_token, extension("2027-08-31"))
        .await;
    let p = late.problem(409);
    assert_eq!(p["code"], "request_cutoff_passed");
    assert!(p["detail"].as_str().unwrap().contains("2027-02-28"), "{p}");
    let listed = next_day.get(&requests(&late_cert), &late_token).await;
    assert_eq!(listed.ok(200)["items"], json!([]), "nothing was stored");
}

#[tokio::test]
async fn one_open_request_per_cycle_withdrawn_while_open_and_private_to_its_certificant() {
    let app = TestApp::on("2026-01-15");
    let (_, cert, token) = app.enrol("CPHIMS", "2023-09-01", "2026-08-31").await;
    let (_, _, someone_else) = app.enrol("CPHIMS", "2023-09-01", "2026-08-31").await;
    let first = app
        .post(&requests(&cert), &token, extension("2026-10-31"))
        .await;
    let first_id = first.ok(201)["id"].as_str().unwrap().to_owned();
    assert!(
        first.headers["location"]
            .to_str()
            .unwrap()
            .ends_with(&first_id)
    );

    let second = app
        .post(&requests(&cert), &token, extension("2026-11-30"))
        .await;
    assert_eq!(second.problem(409)["code"], "request_open");

    let theirs = app.get(&requests(&cert), &someone_else).await;
    theirs.problem(404);
    let meddling = app
        .post(
            &format!("{}/{first_id}/withdraw", requests(&cert)),
            &someone_else,
            json!({}),
        )
        .await;
    meddling.problem(404);
    let self_approval = app
        .post(
            &format!("{}/{first_id}/decision", requests(&cert)),
            &token,
            json!({"outcome": "approved", "note": "fine"}),
        )
        .await;
    self_approval.problem(403);

    let withdrawn = app
        .post(
            &format!("{}/{first_id}/withdraw", requests(&cert)),
            &token,
            json!({}),
        )
        .await;
    assert_eq!(withdrawn.ok(200)["status"], "withdrawn");
    let again = app
        .post(
            &format!("{}/{first_id}/withdraw", requests(&cert)),
            &token,
            json!({}),
        )
        .await;
    assert_eq!(again.problem(409)["code"], "request_not_open");
    let decided = app
        .post(
            &format!("{}/{first_id}/decision", requests(&cert)),
            &committee(&app),
            json!({"outcome": "denied", "note": "withdrawn anyway"}),
        )
        .await;
    assert_eq!(decided.problem(409)["code"], "request_not_open");

    let second = app
        .post(&requests(&cert), &token, extension("2026-11-30"))
        .await;
    assert_eq!(second.ok(201)["status"], "open");
    let listed = app.get(&requests(&cert), &token).await;
    let statuses: Vec<_> = listed.ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(statuses, ["withdrawn", "open"]);

    let history = app
        .get(&format!("/certifications/{cert}/history?limit=100"), &token)
        .await;
    let kinds: Vec<_> = history.ok(200)["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_owned())
        .collect();
    for kind in ["waiver_requested", "waiver_withdrawn"] {
        assert!(kinds.iter().any(|k| k == kind), "{kind} in {kinds:?}");
    }
}

#[tokio::test]
async fn a_granted_extension_across_a_month_end_onto_a_leap_day_moves_the_closing_date() {
    // Expiring 31 Jan 2028; the extension runs into February of a leap year.
    let app = TestApp::on("2027-09-01");
    let (_, cert, token) = app.enrol("CPHIMS", "2025-02-01", "2028-01-31").await;
    let refused = app
        .post(&requests(&cert), &token, extension("2028-08-31"))
        .await;
    let errors = &refused.problem(422)["errors"];
    assert!(
        errors["relief/until"][0]
            .as_str()
            .unwrap()
            .contains("2028-07-31"),
        "at most six months after the expiration (clamped): {errors}"
    );
    let asked = app
        .post(&requests(&cert), &token, extension("2028-02-29"))
        .await;
    let id = asked.ok(201)["id"].as_str().unwrap().to_owned();

    // The committee's queue shows it, with its age.
    let committee = committee(&app);
    let queue = app.get("/waiver-queue?limit=100", &committee).await;
    let queued = queue.ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["request"]["id"] == id.as_str())
        .cloned()
        .expect("the open request is in the committee's queue");
    assert_eq!(queued["certification_id"], cert.as_str());
    assert_eq!(queued["waiting_days"], 0);
    let reviewer = app
        .get("/waiver-queue", &app.token(Role::Reviewer, "r-1"))
        .await;
    reviewer.problem(403);

    let out_of_bounds = app
        .post(
            &format!("{}/{id}/decision", requests(&cert)),
            &committee,
            json!({"outcome": "approved", "grant": {"type": "extension", "until": "2028-08-01"},
                   "note": "granted"}),
        )
        .await;
    out_of_bounds.problem(422);
    let approved = app
        .post(
            &format!("{}/{id}/decision", requests(&cert)),
            &committee,
            json!({"outcome": "approved", "note": "Granted as asked."}),
        )
        .await;
    let approved = approved.ok(200);
    assert_eq!(approved["status"], "approved");
    assert_eq!(approved["decision"]["granted"]["until"], "2028-02-29");
    assert_eq!(approved["decision"]["by"]["role"], "committee");

    let report = app
        .get(&format!("/certifications/{cert}/eligibility"), &token)
        .await;
    let report = report.ok(200);
    assert_eq!(report["cycle"]["expires_on"], "2028-01-31");
    assert_eq!(report["cycle"]["extended_to"], "2028-02-29");
    assert_eq!(report["cycle"]["counting_ends_on"], "2028-02-29");
    assert_eq!(report["window"]["closes_on"], "2028-02-29");
    let required = &report["eligibility"]["sets"][0]["requirements"][0];
    assert_eq!(
        required["required_hundredths"], 4500,
        "an extension never lowers the hours"
    );
    // Hours completed on the leap day count.
    let leap_day = TestApp::with_store("2028-02-29", app.store.clone());
    let leap = leap_day
        .log(
            &cert,
            &token,
            entry("Leap-day course", "society", 3, 0, "2028-02-29"),
        )
        .await;
    let report = leap_day
        .get(&format!("/certifications/{cert}/eligibility"), &token)
        .await;
    let allocation = report.ok(200)["eligibility"]["allocation"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["entry_id"] == leap["id"])
        .cloned()
        .unwrap();
    assert_eq!(allocation["in_cycle"], true);

    let queue = app.get("/waiver-queue?limit=100", &committee).await;
    assert!(
        !queue.ok(200)["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|q| q["request"]["id"] == id.as_str()),
        "a decided request leaves the queue"
    );
    let told = notices(&app, &cert).await;
    let decided = told
        .iter()
        .find_map(|n| match n {
            Notice::WaiverDecided(w) => Some(w.clone()),
            _ => None,
        })
        .expect("the decision is emailed");
    assert!(decided.approved);
    assert_eq!(decided.closes_on, d("2028-02-29"));
}

#[tokio::test]
async fn a_granted_waiver_closes_the_gap_and_eligibility_shows_it_as_waived() {
    // CPDHTS: 30 h in total, 15 h of them from approved providers. 10 approved + 20 other: 5 h short.
    let app = TestApp::on("2026-05-01");
    let (_, cert, token) = app.enrol("CPDHTS", "2024-09-01", "2026-08-31").await;
    app.log(
        &cert,
        &token,
        entry("Approved course", "approved_provider", 10, 0, "2025-01-10"),
    )
    .await;
    app.log(
        &cert,
        &token,
        entry("Hospital rounds", "other", 20, 0, "2025-03-10"),
    )
    .await;
    let before = app
        .get(&format!("/certifications/{cert}/eligibility"), &token)
        .await;
    assert_eq!(before.ok(200)["eligibility"]["met"], false);

    let waiver = |min: u32| {
        json!({"relief": {"type": "waiver", "reductions": [
            {"set": "technology", "requirement": "approved", "min_hundredths": min}]},
            "reason": "No approved provider offered courses in my region this cycle"})
    };
    // At most 50% off the rule's 15 h: 7.50 h is the floor.
    let too_far = app.post(&requests(&cert), &token, waiver(700)).await;
    let errors = &too_far.problem(422)["errors"];
    assert!(
        errors["relief/reductions/0/min_hundredths"][0]
            .as_str()
            .unwrap()
            .contains("7.50 h"),
        "{errors}"
    );
    let unknown = app
        .post(
            &requests(&cert),
            &token,
            json!({"relief": {"type": "waiver", "reductions": [
                {"set": "technology", "requirement": "ethics", "min_hundredths": 100}]},
                "reason": "x"}),
        )
        .await;
    unknown.problem(422);

    let asked = app.post(&requests(&cert), &token, waiver(800)).await;
    let id = asked.ok(201)["id"].as_str().unwrap().to_owned();
    let approved = app
        .post(
            &format!("{}/{id}/decision", requests(&cert)),
            &committee(&app),
            json!({"outcome": "approved", "note": "Granted: 10 h from approved providers.",
                   "grant": {"type": "waiver", "reductions": [
                       {"set": "technology", "requirement": "approved", "min_hundredths": 1000}]}}),
        )
        .await;
    assert_eq!(approved.ok(200)["status"], "approved");

    let after = app
        .get(&format!("/certifications/{cert}/eligibility"), &token)
        .await;
    let after = after.ok(200);
    assert_eq!(after["eligibility"]["met"], true, "{after:#}");
    assert_eq!(after["submission"]["accepted"], true);
    let approved_rule = after["eligibility"]["sets"][0]["requirements"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["key"] == "approved")
        .cloned()
        .unwrap();
    assert_eq!(approved_rule["required_hundredths"], 1000);
    assert_eq!(approved_rule["waived"]["rule_min_hundredths"], 1500);
    assert_eq!(approved_rule["waived"]["granted_min_hundredths"], 1000);
    assert_eq!(approved_rule["waived"]["request_id"], id.as_str());
    assert_eq!(approved_rule["waived"]["granted_by"]["role"], "committee");
    let total = &after["eligibility"]["sets"][0]["requirements"][0];
    assert!(
        total.get("waived").is_none(),
        "only the named minimum is waived"
    );

    // The renewal can be submitted on the waived verdict.
    let submitted = app
        .post(
            &format!("/certifications/{cert}/submissions"),
            &token,
            json!({"attestation": true, "billing_address": {"name": "Ada Lovelace",
                "line1": "12 St James's Square", "city": "London", "postal_code": "SW1Y 4LE",
                "country": "GB"}}),
        )
        .await;
    submitted.ok(201);
}

#[tokio::test]
async fn a_denial_keeps_the_closing_date_and_says_why() {
    let app = TestApp::on("2026-01-15");
    let (_, cert, token) = app.enrol("CPHIMS", "2023-09-01", "2026-08-31").await;
    let asked = app
        .post(&requests(&cert), &token, extension("2026-12-31"))
        .await;
    let id = asked.ok(201)["id"].as_str().unwrap().to_owned();
    let unexplained = app
        .post(
            &format!("{}/{id}/decision", requests(&cert)),
            &committee(&app),
            json!({"outcome": "denied", "note": "  "}),
        )
        .await;
    unexplained.problem(422);
    let denied = app
        .post(
            &format!("{}/{id}/decision", requests(&cert)),
            &committee(&app),
            json!({"outcome": "denied", "note": "Leave ended before the window opened."}),
        )
        .await;
    assert_eq!(denied.ok(200)["status"], "denied");
    let report = app
        .get(&format!("/certifications/{cert}/eligibility"), &token)
        .await;
    assert_eq!(report.ok(200)["window"]["closes_on"], "2026-08-31");
    let told = notices(&app, &cert).await;
    assert!(told.iter().any(|n| matches!(n,
        Notice::WaiverDecided(w) if !w.approved && w.note.contains("Leave ended"))));
}

/// The lifecycle job over a store of its own (a job sees every certification due in its store).
fn private(today: &str) -> TestApp {
    TestApp::private(today, RuleBook::default_rules())
}

fn templates_of(told: &[Notice]) -> Vec<&'static str> {
    told.iter().map(|n| n.template()).collect()
}

#[tokio::test]
async fn reminders_90_30_and_7_days_before_say_what_is_missing_once_each() {
    let app = private("2026-01-15");
    // Closing 31 Aug 2026: 90 days before is 2 Jun, 30 days 1 Aug, 7 days 24 Aug.
    let (_, short, short_token) = app.enrol("CPHIMS", "2023-09-01", "2026-08-31").await;
    app.log(
        &short,
        &short_token,
        entry("Society conference", "society", 40, 2, "2024-05-01"),
    )
    .await;
    let (_, ready, ready_token) = app.enrol("CPHIMS", "2023-09-01", "2026-08-31").await;
    app.log(
        &ready,
        &ready_token,
        entry("Society conference", "society", 45, 2, "2024-05-01"),
    )
    .await;

    assert_eq!(app.run_job(Job::Lifecycle, "2026-06-01").await, (0, 0));
    assert_eq!(app.run_job(Job::Lifecycle, "2026-06-02").await, (2, 2));
    assert_eq!(
        app.run_job(Job::Lifecycle, "2026-06-02").await,
        (2, 0),
        "a rerun sends nothing"
    );
    let reminder = |told: Vec<Notice>| {
        told.into_iter()
            .filter_map(|n| match n {
                Notice::ClosingReminder(r) => Some(r),
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    let short_told = reminder(notices(&app, &short).await);
    assert_eq!(short_told.len(), 1);
    assert_eq!(short_told[0].days_left, 90);
    assert!(!short_told[0].met);
    assert_eq!(
        short_told[0].missing.len(),
        1,
        "{:?}",
        short_told[0].missing
    );
    assert_eq!(short_told[0].missing[0].hours.0, 500);
    let ready_told = reminder(notices(&app, &ready).await);
    assert!(ready_told[0].met && ready_told[0].missing.is_empty());

    assert_eq!(app.run_job(Job::Lifecycle, "2026-08-01").await, (2, 2));
    assert_eq!(app.run_job(Job::Lifecycle, "2026-08-24").await, (2, 2));
    assert_eq!(app.run_job(Job::Lifecycle, "2026-08-24").await, (2, 0));
    let days: Vec<u32> = reminder(notices(&app, &short).await)
        .iter()
        .map(|r| r.days_left)
        .collect();
    assert_eq!(days, [90, 30, 7]);
}

#[tokio::test]
async fn the_job_lapses_on_the_day_after_the_closing_date_not_on_it_and_spares_a_paid_submission() {
    let app = private("2026-03-01");
    let (_, idle, idle_token) = app.enrol("CPHIMS", "2023-09-01", "2026-08-31").await;
    // Submitted and paid: in review across the closing date.
    let (paid, _, _, _) = crate::audits::paid(&app).await;
    // Submitted, never paid: lapses, and its submission is withdrawn.
    let (_, unpaid, unpaid_token) = app.enrol("CPHIMS", "2023-09-01", "2026-08-31").await;
    app.log(
        &unpaid,
        &unpaid_token,
        entry("Society conference", "society", 45, 2, "2024-05-01"),
    )
    .await;
    let s = app
        .post(
            &format!("/certifications/{unpaid}/submissions"),
            &unpaid_token,
            json!({"attestation": true, "billing_address": {"name": "Ada Lovelace",
                "line1": "12 St James's Square", "city": "London", "postal_code": "SW1Y 4LE",
                "country": "GB"}}),
        )
        .await;
    let unpaid_submission = s.ok(201)["id"].as_str().unwrap().to_owned();

    // On the closing day itself nothing lapses (the reminder days are past).
    assert_eq!(app.run_job(Job::Lifecycle, "2026-08-31").await.1, 0);
    let on_the_day = app
        .get(&format!("/certifications/{idle}"), &idle_token)
        .await;
    assert_eq!(on_the_day.ok(200)["status"], "active");

    assert_eq!(app.run_job(Job::Lifecycle, "2026-09-01").await, (3, 2));
    assert_eq!(
        app.run_job(Job::Lifecycle, "2026-09-01").await,
        (1, 0),
        "a rerun finds only the one in review, and leaves it"
    );
    let status = |cert: String| {
        let app = &app;
        async move {
            app.get(&format!("/certifications/{cert}"), &app.admin())
                .await
                .ok(200)["status"]
                .clone()
        }
    };
    assert_eq!(status(idle.clone()).await, "lapsed");
    assert_eq!(status(unpaid.clone()).await, "lapsed");
    assert_eq!(status(paid.clone()).await, "active");
    let withdrawn = app
        .get(
            &format!("/certifications/{unpaid}/submissions/{unpaid_submission}"),
            &unpaid_token,
        )
        .await;
    assert_eq!(withdrawn.ok(200)["status"], "withdrawn");
    let told = notices(&app, &idle).await;
    assert!(
        templates_of(&told).contains(&"lapsed"),
        "{:?}",
        templates_of(&told)
    );
    let lapsed = told
        .iter()
        .find_map(|n| match n {
            Notice::Lapsed(l) => Some(l.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(lapsed.closed_on, d("2026-08-31"));
    let history = app
        .get(
            &format!("/certifications/{idle}/history?limit=100"),
            &idle_token,
        )
        .await;
    assert!(
        history.ok(200)["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["type"] == "certification_lapsed" && e["actor"]["role"] == "system")
    );
    // A lapsed certification takes no request.
    let late = TestApp::with_store("2026-09-02", app.store.clone());
    let refused = late
        .post(&requests(&idle), &idle_token, extension("2026-12-31"))
        .await;
    refused.problem(409);
}

#[tokio::test]
async fn an_extension_moves_the_lapse_to_the_day_after_the_new_closing_date() {
    let app = private("2026-01-15");
    let (_, cert, token) = app.enrol("CPHIMS", "2023-09-01", "2026-08-31").await;
    let asked = app
        .post(&requests(&cert), &token, extension("2026-09-30"))
        .await;
    let id = asked.ok(201)["id"].as_str().unwrap().to_owned();
    app.post(
        &format!("{}/{id}/decision", requests(&cert)),
        &committee(&app),
        json!({"outcome": "approved", "note": "ok"}),
    )
    .await
    .ok(200);
    assert_eq!(app.run_job(Job::Lifecycle, "2026-09-01").await, (0, 0));
    // The reminders follow the new date: 7 days before 30 Sep.
    assert_eq!(app.run_job(Job::Lifecycle, "2026-09-23").await, (1, 1));
    assert_eq!(app.run_job(Job::Lifecycle, "2026-09-30").await, (0, 0));
    assert_eq!(app.run_job(Job::Lifecycle, "2026-10-01").await, (1, 1));
    let after = app.get(&format!("/certifications/{cert}"), &token).await;
    assert_eq!(after.ok(200)["status"], "lapsed");
}
