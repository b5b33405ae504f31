use crate::helpers::*;
use serde_json::json;

#[tokio::test]
async fn an_admin_enrols_a_certificant_and_issues_a_certification() {
    let app = TestApp::on("2026-05-01");
    let admin = app.admin();
    let c = app
        .post(
            "/certificants",
            &admin,
            json!({"email": " Ada@Example.org ", "full_name": "Ada L", "membership": "non_member"}),
        )
        .await;
    let body = c.ok(201);
    let id = body["id"].as_str().unwrap();
    assert_eq!(body["email"], "Ada@Example.org");
    assert_eq!(
        c.headers["location"],
        format!("/certificants/{id}").as_str()
    );
    let cert = app
        .post(
            "/certifications",
            &admin,
            json!({"certificant_id": id, "credential": "CPHIMS-CA", "certificate_number": "CA-1", "previous_expiration_date": "2023-08-31", "expires_on": "2026-08-31"}),
        )
        .await;
    let cert = cert.ok(201);
    assert_eq!(
        cert["cycle_starts_on"], "2023-09-01",
        "the day after the previous expiration"
    );
    assert_eq!(cert["version"], 1);
    let list = app
        .get(&format!("/certificants/{id}/certifications"), &admin)
        .await;
    assert_eq!(list.ok(200)["items"][0]["id"], cert["id"]);
    let history = app
        .get(
            &format!("/certifications/{}/history", cert["id"].as_str().unwrap()),
            &admin,
        )
        .await;
    assert_eq!(history.ok(200)["events"][0]["type"], "certification_issued");
}

#[tokio::test]
async fn a_second_certificant_with_the_same_email_is_409() {
    let app = TestApp::on("2026-05-01");
    let admin = app.admin();
    let body = json!({"email": "same@example.org", "full_name": "A", "membership": "member"});
    app.post("/certificants", &admin, body.clone())
        .await
        .ok(201);
    let mut upper = body.clone();
    upper["email"] = json!("SAME@example.org");
    app.post("/certificants", &admin, upper).await.problem(409);
}

#[tokio::test]
async fn an_invalid_email_or_blank_name_is_422() {
    let app = TestApp::on("2026-05-01");
    let r = app
        .post(
            "/certificants",
            &app.admin(),
            json!({"email": "not an email", "full_name": " ", "membership": "member"}),
        )
        .await;
    let p = r.problem(422);
    assert!(
        p["errors"]["email"].is_array() && p["errors"]["full_name"].is_array(),
        "{p:#}"
    );
}

#[tokio::test]
async fn issuing_needs_exactly_one_start_date_a_known_certificant_and_a_free_number() {
    let app = TestApp::on("2026-05-01");
    let admin = app.admin();
    let (certificant, cert, _) = app.enrol("CPHIMS", "2023-09-01", "2026-08-31").await;
    let number = app
        .get(&format!("/certifications/{cert}"), &admin)
        .await
        .ok(200)["certificate_number"]
        .clone();
    let base = json!({"certificant_id": certificant, "credential": "CAHIMS", "certificate_number": "NEW-1", "expires_on": "2026-08-31"});
    let mut both = base.clone();
    both["initial_certification_date"] = json!("2023-09-01");
    both["previous_expiration_date"] = json!("2023-08-31");
    app.post("/certifications", &admin, both).await.problem(422);
    app.post("/certifications", &admin, base.clone())
        .await
        .problem(422);
    let mut unknown = base.clone();
    unknown["initial_certification_date"] = json!("2023-09-01");
    unknown["certificant_id"] = json!("0190a1b2-0000-7000-8000-000000000000");
    assert!(
        app.post("/certifications", &admin, unknown)
            .await
            .problem(422)["errors"]["certificant_id"]
            .is_array()
    );
    let mut backwards = base.clone();
    backwards["initial_certification_date"] = json!("2026-09-01");
    assert!(
        app.post("/certifications", &admin, backwards)
            .await
            .problem(422)["errors"]["expires_on"]
            .is_array()
    );
    let mut taken = base;
    taken["initial_certification_date"] = json!("2023-09-01");
    taken["certificate_number"] = number;
    app.post("/certifications", &admin, taken)
        .await
        .problem(409);
}

#[tokio::test]
async fn the_history_is_paged_oldest_first_with_tamper_evident_cursors() {
    let app = TestApp::on("2026-05-01");
    let (_, cert, token) = app.enrol("CPHIMS", "2023-09-01", "2026-08-31").await;
    for n in 0..6 {
        app.log(
            &cert,
            &token,
            entry(&format!("Course {n}"), "society", 1, 0, "2024-03-01"),
        )
        .await;
    }
    let mut seqs = Vec::new();
    let mut path = format!("/certifications/{cert}/history?limit=3");
    let mut pages = 0;
    loop {
        let page = app.get(&path, &token).await;
        let body = page.ok(200).clone();
        pages += 1;
        seqs.extend(
            body["events"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["seq"].as_u64().unwrap()),
        );
        let Some(next) = body["next_cursor"].as_str() else {
            break;
        };
        path = format!("/certifications/{cert}/history?limit=3&cursor={next}");
    }
    assert_eq!(seqs, (1..=7).collect::<Vec<u64>>());
    assert_eq!(pages, 3);
    // A cursor from another listing is refused.
    let entries = app
        .get(&format!("/certifications/{cert}/entries?limit=1"), &token)
        .await;
    let foreign = entries.ok(200)["next_cursor"].as_str().unwrap().to_owned();
    app.get(
        &format!("/certifications/{cert}/history?cursor={foreign}"),
        &token,
    )
    .await
    .problem(400);
}
