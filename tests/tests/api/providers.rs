//! Partner providers, on the store `RECERT_TEST_STORE` selects: the registry (suspension with a
//! reason, the approval period), 500-row batches in CSV and JSON posted twice (and twice at once)
//! with every row landing exactly once, the provider's registered category, cross-provider
//! isolation, duplicate flagging of self-reported entries, reconciliation of unknown certificate
//! numbers, and voids (immediate, or decided by staff once the cycle is locked).

use crate::helpers::*;
use http::header;
use recert_app::jobs::Job;
use recert_domain::{Role, RuleBook};
use serde_json::{Value, json};

const TODAY: &str = "2026-04-01";

/// A provider registered by an admin (approved from 2024 to 31 March 2026, category approved
/// provider),
/// and a token of its system.
async fn register(app: &TestApp) -> (String, String) {
    let id = format!("p-{}", uuid::Uuid::now_v7().simple());
    let r = app
        .post(
            "/providers",
            &app.admin(),
            json!({
                "id": id,
                "name": "Partner Learning Inc.",
                "category": "approved_provider",
                "approval": {"from": "2024-01-01", "until": "2026-03-31"},
                "contact": {"name": "Registrar", "email": "registrar@partner.example"},
            }),
        )
        .await;
    assert_eq!(r.ok(201)["status"], "active");
    assert_eq!(r.headers[header::LOCATION], format!("/providers/{id}"));
    let token = app.token(Role::Provider, &id);
    (id, token)
}

fn completions(provider: &str) -> String {
    format!("/providers/{provider}/completions")
}

/// A row for certificate `number`: 1.50 h, a row claiming the society category (ignored).
fn row(completion_id: &str, number: &str, completed_on: &str) -> Value {
    json!({
        "completion_id": completion_id,
        "certificate_number": number,
        "activity_id": "WEB-114",
        "title": "Interoperability in practice",
        "completed_on": completed_on,
        "hours_hundredths": 150,
        "ethics_hours_hundredths": 0,
        "canadian_content": false,
        "provider_category": "society",
    })
}

const CSV_HEADER: &str = "completion_id,certificate_number,activity_id,title,completed_on,hours_hundredths,ethics_hours_hundredths,canadian_content,provider_category";

/// The same rows as CSV.
fn csv(rows: &[Value]) -> String {
    let mut out = format!("{CSV_HEADER}\n");
    for r in rows {
        let cell = |k: &str| match &r[k] {
            Value::Null => String::new(),
            Value::String(s) => format!("\"{}\"", s.replace('"', "\"\"")),
            other => other.to_string(),
        };
        let cells: Vec<String> = CSV_HEADER.split(',').map(cell).collect();
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    out
}

async fn post_csv(app: &TestApp, provider: &str, token: &str, body: String) -> Reply {
    let req = http::Request::builder()
        .method("POST")
        .uri(completions(provider))
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "text/csv")
        .body(axum::body::Body::from(body))
        .unwrap();
    app.send(req).await
}

async fn post_json(app: &TestApp, provider: &str, token: &str, rows: &[Value]) -> Reply {
    app.post(
        &completions(provider),
        token,
        json!({ "completions": rows }),
    )
    .await
}

/// Staff decide a posting waiting for reconciliation.
async fn reconcile(
    app: &TestApp,
    provider: &str,
    completion: &str,
    token: &str,
    decision: Value,
) -> Reply {
    app.post(
        &format!("/providers/{provider}/postings/{completion}/reconciliation"),
        token,
        decision,
    )
    .await
}

/// PATCH a provider as an admin, with an `If-Match` when given.
async fn patch_provider(
    app: &TestApp,
    provider: &str,
    if_match: Option<&str>,
    body: Value,
) -> Reply {
    let mut req = http::Request::builder()
        .method("PATCH")
        .uri(format!("/providers/{provider}"))
        .header(header::AUTHORIZATION, format!("Bearer {}", app.admin()))
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(tag) = if_match {
        req = req.header(header::IF_MATCH, tag);
    }
    app.send(req.body(axum::body::Body::from(body.to_string())).unwrap())
        .await
}

/// A certification's certificate number.
async fn number_of(app: &TestApp, cert: &str) -> String {
    let c = app
        .get(&format!("/certifications/{cert}"), &app.admin())
        .await;
    c.ok(200)["certificate_number"].as_str().unwrap().to_owned()
}

/// Every entry of a certification's current cycle.
async fn entries(app: &TestApp, cert: &str, token: &str) -> Vec<Value> {
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/certifications/{cert}/entries?limit=100&cursor={c}"),
            None => format!("/certifications/{cert}/entries?limit=100"),
        };
        let page = app.get(&path, token).await;
        let page = page.ok(200);
        all.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return all,
        }
    }
}

fn results(report: &Value) -> Vec<String> {
    report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let code = r["code"]
                .as_str()
                .map(|c| format!(":{c}"))
                .unwrap_or_default();
            format!("{}{code}", r["result"].as_str().unwrap())
        })
        .collect()
}

#[tokio::test]
async fn a_500_row_csv_lands_once_and_posting_it_again_gives_500_duplicates_and_no_entry() {
    let app = TestApp::on(TODAY);
    let (provider, token) = register(&app).await;
    // 10 certifications: the first takes 50 rows (two commits of at most 40), the others 50 each.
    let mut certs = Vec::new();
    for _ in 0..10 {
        let (_, cert, holder) = app.enrol("CPHIMS", "2024-09-01", "2027-08-31").await;
        let number = number_of(&app, &cert).await;
        certs.push((cert, holder, number));
    }
    let rows: Vec<Value> = (0..500)
        .map(|i| {
            let (_, _, number) = &certs[i / 50];
            row(&format!("C-{i:04}"), number, "2026-03-14")
        })
        .collect();
    let body = csv(&rows);
    if let Some(calls) = &app.calls {
        calls.reset();
    }
    let first = post_csv(&app, &provider, &token, body.clone()).await;
    // On DynamoDB: the provider, 5 BatchGetItems of the ledger (100 keys each), one lookup per
    // certificate number, and per certification two commits (50 rows, at most 40 a commit),
    // each a load (GetItem + Query) and one TransactWriteItems.
    if let Some(calls) = &app.calls {
        let counted = calls.take();
        assert_eq!(
            recert_store::dynamodb::counts(&counted),
            [
                ("BatchGetItem", 5),
                ("GetItem", 1 + 10 + 20),
                ("Query", 20),
                ("TransactWriteItems", 20)
            ],
            "{counted:?}"
        );
    }
    let first = first.ok(200);
    assert_eq!(
        (first["created"].as_u64(), first["duplicate"].as_u64()),
        (Some(500), Some(0)),
        "{first:#}"
    );
    assert_eq!(first["rows"].as_array().unwrap().len(), 500);
    assert_eq!(first["rows"][499]["row"], 500);
    assert_eq!(first["rows"][499]["completion_id"], "C-0499");

    let again = post_csv(&app, &provider, &token, body).await;
    let again = again.ok(200);
    assert_eq!(
        (again["created"].as_u64(), again["duplicate"].as_u64()),
        (Some(0), Some(500))
    );
    assert_eq!(
        again["rows"][0]["status"], "posted",
        "{:#}",
        again["rows"][0]
    );

    for (cert, holder, _) in &certs {
        let listed = entries(&app, cert, holder).await;
        assert_eq!(listed.len(), 50);
        for e in &listed {
            assert_eq!(e["source"], "provider_reported");
            assert_eq!(
                e["provider_category"], "approved_provider",
                "the row's claim is ignored"
            );
            assert_eq!(e["provider_name"], "Partner Learning Inc.");
            assert_eq!(e["posting"]["provider_id"], provider.as_str());
        }
    }
    // 50 × 1.50 h = 75 h count, in the provider's category.
    let (cert, holder, _) = &certs[0];
    let report = app
        .get(&format!("/certifications/{cert}/eligibility"), holder)
        .await;
    let allocation = report.ok(200)["eligibility"]["allocation"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(allocation.len(), 50);
    let counted: u64 = allocation
        .iter()
        .flat_map(|a| a["shares"].as_array().unwrap().clone())
        .map(|s| s["hours_hundredths"].as_u64().unwrap())
        .sum();
    assert_eq!(counted, 7500);
}

#[tokio::test]
async fn the_same_batch_posted_twice_at_once_makes_each_entry_once() {
    let app = TestApp::on(TODAY);
    let (provider, token) = register(&app).await;
    let (_, cert, holder) = app.enrol("CPHIMS", "2024-09-01", "2027-08-31").await;
    let number = number_of(&app, &cert).await;
    let rows: Vec<Value> = (0..60)
        .map(|i| row(&format!("R-{i}"), &number, "2026-03-14"))
        .collect();
    let (a, b) = tokio::join!(
        post_json(&app, &provider, &token, &rows),
        post_json(&app, &provider, &token, &rows)
    );
    let (a, b) = (a.ok(200), b.ok(200));
    let created = a["created"].as_u64().unwrap() + b["created"].as_u64().unwrap();
    let duplicate = a["duplicate"].as_u64().unwrap() + b["duplicate"].as_u64().unwrap();
    let not_stored = a["rejected"].as_u64().unwrap() + b["rejected"].as_u64().unwrap();
    assert_eq!(created + not_stored, 60, "{a:#} {b:#}");
    assert_eq!(duplicate, 60 - not_stored);
    // Whatever the race did, a retry completes it and nothing is doubled.
    let retry = post_json(&app, &provider, &token, &rows).await;
    assert_eq!(retry.ok(200)["created"].as_u64(), Some(not_stored));
    assert_eq!(entries(&app, &cert, &holder).await.len(), 60);
}

#[tokio::test]
async fn csv_and_json_give_the_same_result_for_every_kind_of_row() {
    let app = TestApp::on(TODAY);
    let (_, cert, _) = app.enrol("CPHIMS", "2024-09-01", "2027-08-31").await;
    let number = number_of(&app, &cert).await;
    let mut bad_hours = row("K-3", &number, "2026-03-14");
    bad_hours["hours_hundredths"] = json!(0);
    let mut too_much_ethics = row("K-4", &number, "2026-03-14");
    too_much_ethics["ethics_hours_hundredths"] = json!(200);
    let rows = vec![
        row("K-1", &number, "2026-03-14"),
        row("K-1", &number, "2026-03-14"),
        bad_hours,
        too_much_ethics,
        row("K-5", "NO-SUCH-NUMBER", "2026-03-14"),
        row("K-6", &number, "2024-08-31"),
        row("K-7", &number, "2026-04-01"),
        row("K-8", &number, "2026-04-02"),
    ];
    let want = [
        "created",
        "duplicate",
        "rejected:hours_invalid",
        "rejected:hours_invalid",
        "unmatched",
        "rejected:outside_cycle",
        "rejected:outside_approval_period",
        "rejected:invalid_row",
    ];
    let (json_provider, json_token) = register(&app).await;
    let from_json = post_json(&app, &json_provider, &json_token, &rows).await;
    assert_eq!(results(from_json.ok(200)), want);
    let (csv_provider, csv_token) = register(&app).await;
    let from_csv = post_csv(&app, &csv_provider, &csv_token, csv(&rows)).await;
    assert_eq!(results(from_csv.ok(200)), want);
    assert_eq!(
        from_csv.body["rows"][2]["fields"],
        from_json.body["rows"][2]["fields"]
    );
}

#[tokio::test]
async fn a_suspended_provider_posts_nothing_and_its_history_says_why() {
    let app = TestApp::on(TODAY);
    let (provider, token) = register(&app).await;
    let (_, cert, holder) = app.enrol("CPHIMS", "2024-09-01", "2027-08-31").await;
    let number = number_of(&app, &cert).await;
    let path = format!("/providers/{provider}");
    let no_reason = patch_provider(&app, &provider, None, json!({"status": "suspended"})).await;
    assert!(no_reason.problem(422)["errors"]["reason"].is_array());
    let not_admin = app
        .call(
            "PATCH",
            &path,
            Some(&app.token(Role::Reviewer, "r-1")),
            Some(json!({"status": "suspended", "reason": "x"})),
        )
        .await;
    not_admin.problem(403);
    let suspended = patch_provider(
        &app,
        &provider,
        None,
        json!({"status": "suspended", "reason": "agreement under review"}),
    )
    .await;
    let suspended = suspended.ok(200);
    assert_eq!(suspended["version"], 2);
    assert_eq!(suspended["history"][1]["type"], "status_changed");
    assert_eq!(suspended["history"][1]["reason"], "agreement under review");

    let refused = post_json(
        &app,
        &provider,
        &token,
        &[row("S-1", &number, "2026-03-14")],
    )
    .await;
    assert_eq!(results(refused.ok(200)), ["rejected:provider_suspended"]);
    assert!(entries(&app, &cert, &holder).await.is_empty());

    // A stale If-Match is refused; the current one goes through.
    let current = app.get(&path, &app.admin()).await;
    let etag = current.headers[header::ETAG].to_str().unwrap().to_owned();
    let reactivate = json!({"status": "active", "reason": "reviewed"});
    let stale = patch_provider(&app, &provider, Some("\"stale\""), reactivate.clone()).await;
    stale.problem(412);
    let reinstated = patch_provider(&app, &provider, Some(&etag), reactivate).await;
    assert_eq!(reinstated.ok(200)["status"], "active");
    let posted = post_json(
        &app,
        &provider,
        &token,
        &[row("S-1", &number, "2026-03-14")],
    )
    .await;
    assert_eq!(results(posted.ok(200)), ["created"]);
}

#[tokio::test]
async fn a_provider_never_sees_another_providers_data_or_a_transcript() {
    let app = TestApp::on(TODAY);
    let (mine, my_token) = register(&app).await;
    let (theirs, their_token) = register(&app).await;
    let (_, cert, _) = app.enrol("CPHIMS", "2024-09-01", "2027-08-31").await;
    let number = number_of(&app, &cert).await;
    let posted = post_json(
        &app,
        &theirs,
        &their_token,
        &[row("T-1", &number, "2026-03-14")],
    )
    .await;
    assert_eq!(results(posted.ok(200)), ["created"]);

    for path in [
        format!("/providers/{theirs}"),
        format!("/providers/{theirs}/postings"),
        format!("/providers/{theirs}/postings/T-1"),
        format!("/certifications/{cert}/entries"),
        format!("/certifications/{cert}/eligibility"),
    ] {
        app.get(&path, &my_token).await.problem(404);
    }
    post_json(
        &app,
        &theirs,
        &my_token,
        &[row("T-2", &number, "2026-03-14")],
    )
    .await
    .problem(404);
    app.post(
        &format!("/providers/{theirs}/postings/T-1/void"),
        &my_token,
        json!({"reason": "not mine"}),
    )
    .await
    .problem(404);
    app.get("/providers", &my_token).await.problem(403);
    app.get("/reconciliation-queue", &my_token)
        .await
        .problem(403);
    // Its own postings list holds only its own.
    let own = app
        .get(&format!("/providers/{mine}/postings"), &my_token)
        .await;
    assert_eq!(own.ok(200)["items"], json!([]));
    let theirs_listed = app
        .get(&format!("/providers/{theirs}/postings"), &their_token)
        .await;
    assert_eq!(
        theirs_listed.ok(200)["items"][0]["completion"]["completion_id"],
        "T-1"
    );
}

#[tokio::test]
async fn a_self_reported_copy_of_a_posted_entry_counts_once_until_confirmed_distinct() {
    let app = TestApp::on(TODAY);
    let (provider, token) = register(&app).await;
    let (_, cert, holder) = app.enrol("CPHIMS", "2024-09-01", "2027-08-31").await;
    let number = number_of(&app, &cert).await;
    post_json(
        &app,
        &provider,
        &token,
        &[row("D-1", &number, "2026-03-14")],
    )
    .await
    .ok(200);
    let posted = entries(&app, &cert, &holder).await[0].clone();
    let posted_id = posted["id"].as_str().unwrap();
    let edit = app
        .call(
            "PUT",
            &format!("/certifications/{cert}/entries/{posted_id}"),
            Some(&holder),
            Some(entry("Mine now", "society", 10, 0, "2026-03-14")),
        )
        .await;
    assert_eq!(edit.problem(409)["code"], "provider_reported");
    let delete = app
        .call(
            "DELETE",
            &format!("/certifications/{cert}/entries/{posted_id}"),
            Some(&holder),
            None,
        )
        .await;
    assert_eq!(delete.problem(409)["code"], "provider_reported");

    let mut copy = entry("Interoperability in Practice", "other", 1, 0, "2026-03-14");
    copy["provider_name"] = json!("partner learning inc");
    copy["hours_hundredths"] = json!(150);
    let own = app.log(&cert, &holder, copy).await;
    let own_id = own["id"].as_str().unwrap();
    let eligibility = format!("/certifications/{cert}/eligibility");
    let report = app.get(&eligibility, &holder).await;
    let report = report.ok(200);
    assert_eq!(
        report["probable_duplicates"],
        json!([{"entry_id": own_id, "provider_entry_id": posted_id}])
    );
    let counted: Vec<_> = report["eligibility"]["allocation"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["entry_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(counted, [posted_id]);

    let confirmed = app
        .post(
            &format!("/certifications/{cert}/entries/{own_id}/confirm-distinct"),
            &holder,
            json!(null),
        )
        .await;
    assert_eq!(confirmed.ok(200)["distinct_confirmed"], true);
    let report = app.get(&eligibility, &holder).await;
    let report = report.ok(200);
    assert_eq!(report["probable_duplicates"], json!([]));
    assert_eq!(
        report["eligibility"]["allocation"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
async fn an_unknown_certificate_number_waits_for_staff_who_link_or_reject_it() {
    let app = TestApp::on(TODAY);
    let (provider, token) = register(&app).await;
    let (_, cert, holder) = app.enrol("CPHIMS", "2024-09-01", "2027-08-31").await;
    let rows = [
        row("U-1", "CPHIMS-TYPO-1", "2026-03-14"),
        row("U-2", "CPHIMS-TYPO-2", "2026-03-14"),
    ];
    let posted = post_json(&app, &provider, &token, &rows).await;
    assert_eq!(results(posted.ok(200)), ["unmatched", "unmatched"]);
    assert_eq!(
        posted.body["rows"][0]["reason"],
        "unknown certificate number"
    );

    let reviewer = app.token(Role::Reviewer, "reviewer-1");
    let queue = app.get("/reconciliation-queue?limit=100", &reviewer).await;
    let waiting: Vec<_> = queue.ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["provider_id"] == provider.as_str())
        .map(|p| {
            p["completion"]["completion_id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(waiting, ["U-1", "U-2"]);
    // Holders cannot decide.
    reconcile(
        &app,
        &provider,
        "U-1",
        &holder,
        json!({"action": "reject", "reason": "no"}),
    )
    .await
    .problem(403);

    let linked = reconcile(
        &app,
        &provider,
        "U-1",
        &reviewer,
        json!({"action": "link", "certification_id": cert}),
    )
    .await;
    let linked = linked.ok(200);
    assert_eq!(linked["status"], "posted");
    assert_eq!(linked["linked_by"], "reviewer");
    let listed = entries(&app, &cert, &holder).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["provider_category"], "approved_provider");

    let rejected = reconcile(
        &app,
        &provider,
        "U-2",
        &reviewer,
        json!({"action": "reject", "reason": "no such certificant"}),
    )
    .await;
    assert_eq!(rejected.ok(200)["status"], "rejected");
    let again = reconcile(
        &app,
        &provider,
        "U-2",
        &reviewer,
        json!({"action": "reject", "reason": "twice"}),
    )
    .await;
    assert_eq!(again.problem(409)["code"], "posting_not_pending");

    // The provider sees both outcomes; re-posting the rows changes nothing.
    let seen = app
        .get(&format!("/providers/{provider}/postings"), &token)
        .await;
    let statuses: Vec<_> = seen.ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["status"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(statuses, ["posted", "rejected"]);
    let reposted = post_json(&app, &provider, &token, &rows).await;
    assert_eq!(results(reposted.ok(200)), ["duplicate", "duplicate"]);
    let queue = app.get("/reconciliation-queue?limit=100", &reviewer).await;
    assert!(
        !queue.ok(200)["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["provider_id"] == provider.as_str())
    );
}

#[tokio::test]
async fn a_void_removes_the_entry_and_once_the_cycle_is_closed_waits_for_staff() {
    let app = TestApp::private("2026-08-01", RuleBook::default_rules());
    let (provider, token) = register(&app).await;
    let (_, cert, holder) = app.enrol("CPHIMS", "2024-09-01", "2026-08-31").await;
    let number = number_of(&app, &cert).await;
    let rows = [
        row("V-1", &number, "2026-03-14"),
        row("V-2", &number, "2026-03-15"),
    ];
    post_json(&app, &provider, &token, &rows).await.ok(200);
    let voided = app
        .post(
            &format!("/providers/{provider}/postings/V-1/void"),
            &token,
            json!({"reason": "posted for the wrong attendee"}),
        )
        .await;
    let voided = voided.ok(200);
    assert_eq!(
        (voided["status"].as_str(), voided["entry_removed"].as_bool()),
        (Some("voided"), Some(true))
    );
    assert_eq!(entries(&app, &cert, &holder).await.len(), 1);

    // Not renewed: the lifecycle job lapses it the day after the closing date.
    assert_eq!(app.run_job(Job::Lifecycle, "2026-09-01").await, (1, 1));
    let requested = app
        .post(
            &format!("/providers/{provider}/postings/V-2/void"),
            &token,
            json!({"reason": "duplicate of another record"}),
        )
        .await;
    assert_eq!(requested.ok(200)["status"], "void_requested");
    let admin = app.admin();
    let queue = app.get("/reconciliation-queue", &admin).await;
    assert_eq!(queue.ok(200)["items"][0]["status"], "void_requested");
    let kept = reconcile(
        &app,
        &provider,
        "V-2",
        &admin,
        json!({"action": "keep_entry"}),
    )
    .await;
    assert_eq!(
        (
            kept.ok(200)["status"].as_str(),
            kept.body["entry_removed"].as_bool()
        ),
        (Some("voided"), Some(false))
    );
    let history = app
        .get(&format!("/certifications/{cert}/history?limit=100"), &admin)
        .await;
    let kinds: Vec<_> = history.ok(200)["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(
        kinds.contains(&"posting_void_requested".to_owned()),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&"posting_void_decided".to_owned()),
        "{kinds:?}"
    );
}

#[tokio::test]
async fn a_batch_over_500_rows_or_not_json_or_csv_is_refused_whole() {
    let app = TestApp::on(TODAY);
    let (provider, token) = register(&app).await;
    let rows: Vec<Value> = (0..501)
        .map(|i| row(&format!("X-{i}"), "N", "2026-03-14"))
        .collect();
    let too_many = post_json(&app, &provider, &token, &rows).await;
    assert!(too_many.problem(422)["errors"]["completions"].is_array());
    let too_many_csv = post_csv(&app, &provider, &token, csv(&rows)).await;
    too_many_csv.problem(422);
    let unknown_column = post_csv(
        &app,
        &provider,
        &token,
        "completion_id,activity_id,title,completed_on,hours_hundredths,colour\n".into(),
    )
    .await;
    assert!(unknown_column.problem(422)["errors"]["header"].is_array());
    let text = app
        .send(
            http::Request::builder()
                .method("POST")
                .uri(completions(&provider))
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .header(header::CONTENT_TYPE, "text/plain")
                .body(axum::body::Body::from("hello"))
                .unwrap(),
        )
        .await;
    text.problem(415);
    let postings = app
        .get(&format!("/providers/{provider}/postings"), &token)
        .await;
    assert_eq!(postings.ok(200)["items"], json!([]), "nothing was recorded");
}
