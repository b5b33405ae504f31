use crate::helpers::*;
use recert_domain::{HistoryKind, Item, Submission, SubmissionStatus};
use serde_json::Value;

#[tokio::test]
async fn a_certificant_logs_reads_replaces_and_removes_an_entry() {
    let app = TestApp::on("2026-05-01");
    let (_, cert, token) = app.enrol("CPHIMS", "2023-09-01", "2026-08-31").await;
    let created = app
        .post(
            &format!("/certifications/{cert}/entries"),
            &token,
            entry("Interop 101", "society", 3, 1, "2024-03-01"),
        )
        .await;
    let e = created.ok(201).clone();
    let id = e["id"].as_str().unwrap();
    assert_eq!(
        created.headers["location"],
        format!("/certifications/{cert}/entries/{id}").as_str()
    );
    assert_eq!(e["hours_hundredths"], 300);
    assert_eq!(e["ethics_hours_hundredths"], 100);
    assert_eq!(e["source"], "self_reported");
    let path = format!("/certifications/{cert}/entries/{id}");
    assert_eq!(app.get(&path, &token).await.ok(200)["title"], "Interop 101");
    let replaced = app
        .call(
            "PUT",
            &path,
            Some(&token),
            Some(entry(
                "Interop 102",
                "approved_provider",
                4,
                0,
                "2024-03-02",
            )),
        )
        .await;
    assert_eq!(replaced.ok(200)["title"], "Interop 102");
    assert_eq!(replaced.body["created_at"], e["created_at"]);
    app.call("DELETE", &path, Some(&token), None).await.ok(204);
    app.get(&path, &token).await.problem(404);
    app.call("DELETE", &path, Some(&token), None)
        .await
        .problem(404);
    let history = app
        .get(&format!("/certifications/{cert}/history"), &token)
        .await;
    let kinds: Vec<&str> = history.ok(200)["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "certification_issued",
            "entry_added",
            "entry_updated",
            "entry_removed"
        ]
    );
}

#[tokio::test]
async fn the_listing_pages_with_opaque_cursors_in_completion_order() {
    let app = TestApp::on("2026-05-01");
    let (_, cert, token) = app.enrol("CPHIMS", "2023-09-01", "2026-08-31").await;
    for (i, day) in [
        "2024-05-01",
        "2024-01-01",
        "2024-03-01",
        "2024-02-01",
        "2024-04-01",
    ]
    .iter()
    .enumerate()
    {
        app.log(&cert, &token, entry(&format!("E{i}"), "society", 1, 0, day))
            .await;
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("/certifications/{cert}/entries?limit=2&cursor={c}"),
            None => format!("/certifications/{cert}/entries?limit=2"),
        };
        let page = app.get(&path, &token).await.ok(200).clone();
        pages += 1;
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["completed_on"].as_str().unwrap().to_string()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(
        seen,
        [
            "2024-01-01",
            "2024-02-01",
            "2024-03-01",
            "2024-04-01",
            "2024-05-01"
        ]
    );
}

#[tokio::test]
async fn a_tampered_or_foreign_cursor_and_a_bad_limit_are_400() {
    let app = TestApp::on("2026-05-01");
    let (_, cert, token) = app.enrol("CPHIMS", "2023-09-01", "2026-08-31").await;
    let (_, other, other_token) = app.enrol("CPHIMS", "2023-09-01", "2026-08-31").await;
    for i in 0..3 {
        app.log(
            &other,
            &other_token,
            entry(&format!("E{i}"), "society", 1, 0, "2024-01-01"),
        )
        .await;
    }
    let page = app
        .get(
            &format!("/certifications/{other}/entries?limit=1"),
            &other_token,
        )
        .await;
    let foreign = page.ok(200)["next_cursor"].as_str().unwrap().to_string();
    let admin = app.admin();
    app.get(
        &format!("/certifications/{cert}/entries?cursor={foreign}"),
        &admin,
    )
    .await
    .problem(400);
    let tampered = format!("A{foreign}");
    app.get(
        &format!("/certifications/{other}/entries?cursor={tampered}"),
        &other_token,
    )
    .await
    .problem(400);
    app.get(&format!("/certifications/{cert}/entries?limit=0"), &token)
        .await
        .problem(400);
    app.get(&format!("/certifications/{cert}/entries?limit=101"), &token)
        .await
        .problem(400);
    app.get(&format!("/certifications/{cert}/entries?page=2"), &token)
        .await
        .problem(400);
}

#[tokio::test]
async fn an_idempotent_retry_replays_the_first_response_and_logs_once() {
    let app = TestApp::on("2026-05-01");
    let (_, cert, token) = app.enrol("CPHIMS", "2023-09-01", "2026-08-31").await;
    let send = |body: Value| {
        let req = http::Request::post(format!("/certifications/{cert}/entries"))
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/json")
            .header("idempotency-key", "retry-1")
            .body(axum::body::Body::from(body.to_string()))
            .unwrap();
        app.send(req)
    };
    let body = entry("Once", "society", 2, 0, "2024-01-01");
    let first = send(body.clone()).await;
    let second = send(body.clone()).await;
    assert_eq!(first.ok(201), second.ok(201));
    assert_eq!(second.headers["idempotent-replayed"], "true");
    let list = app
        .get(&format!("/certifications/{cert}/entries"), &token)
        .await;
    assert_eq!(list.ok(200)["items"].as_array().unwrap().len(), 1);
    let other = send(entry("Different", "society", 2, 0, "2024-01-01")).await;
    assert_eq!(other.problem(422)["code"], "idempotency_key_reused");
}

#[tokio::test]
async fn a_retry_of_a_response_too_large_to_keep_is_sent_to_the_entry_it_created() {
    let app = TestApp::on("2026-05-01");
    let (_, cert, token) = app.enrol("CPHIMS", "2023-09-01", "2026-08-31").await;
    let mut body = entry("Big evidence", "society", 2, 0, "2024-01-01");
    // 20 references of 900 characters: the response is ~18 KB, over the record's 8 KiB cap.
    body["evidence"] = (0..20)
        .map(|n| serde_json::json!({"reference": format!("uploads/{n}/{}", "x".repeat(900))}))
        .collect();
    let send = || {
        let req = http::Request::post(format!("/certifications/{cert}/entries"))
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/json")
            .header("idempotency-key", "big-1")
            .body(axum::body::Body::from(body.to_string()))
            .unwrap();
        app.send(req)
    };
    let first = send().await;
    let created = first.ok(201).clone();
    assert!(created.to_string().len() > recert_domain::IDEMPOTENCY_BODY_CAP);
    let again = send().await;
    assert_eq!(again.status, 303, "{:?}", again.body);
    assert_eq!(again.headers["idempotent-replayed"], "true");
    let location = again.headers["location"].to_str().unwrap();
    assert_eq!(location, first.headers["location"].to_str().unwrap());
    assert_eq!(app.get(location, &token).await.ok(200), &created);
    let list = app
        .get(&format!("/certifications/{cert}/entries"), &token)
        .await;
    assert_eq!(
        list.ok(200)["items"].as_array().unwrap().len(),
        1,
        "logged once"
    );
}

#[tokio::test]
async fn an_older_cycles_entries_stay_readable_by_cycle() {
    let app = TestApp::on("2026-05-01");
    let (_, cert, token) = app.enrol("CPHIMS", "2023-09-01", "2026-08-31").await;
    let logged = app
        .log(
            &cert,
            &token,
            entry("Old cycle", "society", 2, 0, "2024-01-01"),
        )
        .await;
    // The cycle rolls over (as a renewal will do).
    app.change_as_staff(
        &cert,
        |a| HistoryKind::CertificationIssued {
            credential: a.certification.credential,
            expires_on: d("2029-08-31"),
        },
        |_, change| {
            change.root(|c| {
                c.cycle_starts_on = d("2026-09-01");
                c.expires_on = d("2029-08-31");
            })
        },
    )
    .await;
    let current = app
        .get(&format!("/certifications/{cert}/entries"), &token)
        .await;
    assert_eq!(current.ok(200)["items"], serde_json::json!([]));
    let old = app
        .get(
            &format!("/certifications/{cert}/entries?cycle_starts_on=2023-09-01"),
            &token,
        )
        .await;
    let items = old.ok(200)["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], logged["id"]);
    assert_eq!(items[0]["cycle_starts_on"], "2023-09-01");
}

#[tokio::test]
async fn entries_of_a_submitted_cycle_are_locked_with_a_clear_reason() {
    let app = TestApp::on("2026-05-01");
    let (_, cert, token) = app.enrol("CPHIMS", "2023-09-01", "2026-08-31").await;
    let e = app
        .log(
            &cert,
            &token,
            entry("Before submission", "society", 2, 0, "2024-01-01"),
        )
        .await;
    // A renewal for the current cycle, committed as the renewals function will.
    let renewal_id = uuid::Uuid::now_v7();
    app.change_as_staff(
        &cert,
        |_| HistoryKind::RenewalSubmitted { renewal_id },
        |a, change| {
            change.put(Item::Submission(Submission {
                id: renewal_id,
                cycle_starts_on: a.certification.cycle_starts_on,
                cycle_expires_on: a.certification.expires_on,
                status: SubmissionStatus::InReview,
                submitted_at: chrono::Utc::now(),
                ..Submission::default()
            }))
        },
    )
    .await;
    let entry_path = format!(
        "/certifications/{cert}/entries/{}",
        e["id"].as_str().unwrap()
    );
    let add = app
        .post(
            &format!("/certifications/{cert}/entries"),
            &token,
            entry("After", "society", 1, 0, "2024-01-02"),
        )
        .await;
    assert_eq!(add.problem(409)["code"], "cycle_submitted");
    assert!(add.body["detail"].as_str().unwrap().contains("locked"));
    let put = app
        .call(
            "PUT",
            &entry_path,
            Some(&token),
            Some(entry("Edit", "society", 1, 0, "2024-01-02")),
        )
        .await;
    assert_eq!(put.problem(409)["code"], "cycle_submitted");
    let del = app.call("DELETE", &entry_path, Some(&token), None).await;
    assert_eq!(del.problem(409)["code"], "cycle_submitted");
    assert_eq!(
        app.get(&entry_path, &token).await.ok(200)["title"],
        "Before submission"
    );
}

#[tokio::test]
async fn concurrent_logging_keeps_every_entry() {
    let app = TestApp::on("2026-05-01");
    let (_, cert, token) = app.enrol("CPHIMS", "2023-09-01", "2026-08-31").await;
    let app = std::sync::Arc::new(app);
    let mut tasks = Vec::new();
    for i in 0..8 {
        let (app, cert, token) = (app.clone(), cert.clone(), token.clone());
        tasks.push(tokio::spawn(async move {
            app.post(
                &format!("/certifications/{cert}/entries"),
                &token,
                entry(&format!("P{i}"), "society", 1, 0, "2024-01-01"),
            )
            .await
            .status
            .as_u16()
        }));
    }
    let mut created = 0;
    for t in tasks {
        let status = t.await.unwrap();
        assert!(status == 201 || status == 409, "{status}");
        created += usize::from(status == 201);
    }
    let stored = app
        .get(&format!("/certifications/{cert}/entries?limit=100"), &token)
        .await
        .ok(200)["items"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(
        stored, created,
        "every acknowledged entry is stored, none twice"
    );
    assert!(created >= 1);
}
