use crate::helpers::*;
use serde_json::{Value, json};

fn requirement<'a>(report: &'a Value, set: &str, key: &str) -> &'a Value {
    let sets = report["eligibility"]["sets"].as_array().unwrap();
    let s = sets
        .iter()
        .find(|s| s["key"] == set)
        .unwrap_or_else(|| panic!("no set {set}"));
    s["requirements"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["key"] == key)
        .unwrap_or_else(|| panic!("no {key}"))
}

#[tokio::test]
async fn the_gap_closes_as_entries_are_logged() {
    let app = TestApp::on("2026-05-01");
    let (_, cert, token) = app.enrol("CPHIMS", "2023-09-01", "2026-08-31").await;
    let path = format!("/certifications/{cert}/eligibility");
    let empty = app.get(&path, &token).await.ok(200).clone();
    assert_eq!(empty["eligibility"]["met"], false);
    assert_eq!(
        requirement(&empty, "core", "total")["shortfall_hundredths"],
        4500
    );
    assert_eq!(empty["window"]["opens_on"], "2026-02-28");
    assert_eq!(empty["window"]["closes_on"], "2026-08-31");
    assert_eq!(empty["window"]["state"], "open");
    assert_eq!(empty["waiver_request_cutoff"], "2026-05-31");
    assert_eq!(empty["submission"]["accepted"], false);
    let codes: Vec<&str> = empty["submission"]["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["requirements_not_met"]);

    app.log(
        &cert,
        &token,
        entry("Society course", "society", 25, 2, "2024-06-01"),
    )
    .await;
    let mid = app.get(&path, &token).await.ok(200).clone();
    assert_eq!(requirement(&mid, "core", "approved")["met"], true);
    assert_eq!(requirement(&mid, "core", "ethics")["met"], true);
    assert_eq!(
        requirement(&mid, "core", "total")["shortfall_hundredths"],
        2000
    );
    let gaps = mid["eligibility"]["gaps"].as_array().unwrap();
    assert_eq!(gaps.len(), 1);
    assert!(
        gaps[0]["message"].as_str().unwrap().starts_with("20.00 h"),
        "{gaps:?}"
    );

    app.log(
        &cert,
        &token,
        entry("Conference", "other", 20, 0, "2025-10-10"),
    )
    .await;
    let done = app.get(&path, &token).await.ok(200).clone();
    assert_eq!(done["eligibility"]["met"], true);
    assert_eq!(done["submission"]["accepted"], true);
    assert_eq!(done["submission"]["reasons"], json!([]));
}

#[tokio::test]
async fn an_entry_completed_the_day_before_the_cycle_does_not_count() {
    let app = TestApp::on("2026-05-01");
    let (_, cert, token) = app.enrol("CPHIMS", "2023-09-01", "2026-08-31").await;
    let before = app
        .log(
            &cert,
            &token,
            entry("Too early", "society", 45, 2, "2023-08-31"),
        )
        .await;
    let first = app
        .log(
            &cert,
            &token,
            entry("First day", "society", 1, 0, "2023-09-01"),
        )
        .await;
    let report = app
        .get(&format!("/certifications/{cert}/eligibility"), &token)
        .await
        .ok(200)
        .clone();
    assert_eq!(
        requirement(&report, "core", "total")["counted_hundredths"],
        100
    );
    let allocation = report["eligibility"]["allocation"].as_array().unwrap();
    let early = allocation
        .iter()
        .find(|a| a["entry_id"] == before["id"])
        .unwrap();
    assert_eq!(early["in_cycle"], false);
    assert!(
        early["excluded_reason"]
            .as_str()
            .unwrap()
            .contains("2023-09-01")
    );
    let counted = allocation
        .iter()
        .find(|a| a["entry_id"] == first["id"])
        .unwrap();
    assert_eq!(counted["in_cycle"], true);
}

#[tokio::test]
async fn digital_health_canada_hours_go_where_a_cphims_ca_needs_them() {
    let app = TestApp::on("2026-05-01");
    let (_, cert, token) = app.enrol("CPHIMS-CA", "2023-09-01", "2026-08-31").await;
    // Base: 25 h approved with 2 h ethics, 10 h other. Canadian: 10 h DHC + 5 h other Canadian content,
    // with 2 h Canadian ethics. The DHC hours could also fill the base total: only the right split works.
    app.log(
        &cert,
        &token,
        entry("Approved", "approved_provider", 25, 2, "2024-01-10"),
    )
    .await;
    app.log(&cert, &token, entry("Other", "other", 10, 0, "2024-02-10"))
        .await;
    app.log(
        &cert,
        &token,
        canadian(entry(
            "DHC summit",
            "digital_health_canada",
            20,
            0,
            "2024-03-10",
        )),
    )
    .await;
    app.log(
        &cert,
        &token,
        canadian(entry("Canadian ethics", "other", 5, 2, "2024-04-10")),
    )
    .await;
    let report = app
        .get(&format!("/certifications/{cert}/eligibility"), &token)
        .await
        .ok(200)
        .clone();
    assert_eq!(
        report["eligibility"]["met"], true,
        "{:#}",
        report["eligibility"]
    );
    assert_eq!(
        requirement(&report, "canadian", "digital_health_canada")["met"],
        true
    );
    assert_eq!(requirement(&report, "core", "total")["met"], true);
    // No hour counts twice: per entry, shares add up to at most its hours.
    for a in report["eligibility"]["allocation"].as_array().unwrap() {
        let total: u64 = a["shares"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["hours_hundredths"].as_u64().unwrap())
            .sum();
        assert!(total <= 2500);
    }
}

#[tokio::test]
async fn a_31_august_expiration_opens_the_window_on_the_last_day_of_february() {
    let app = TestApp::on("2028-02-28");
    let (_, cert, token) = app.enrol("CAHIMS", "2025-09-01", "2028-08-31").await;
    let report = app
        .get(&format!("/certifications/{cert}/eligibility"), &token)
        .await
        .ok(200)
        .clone();
    assert_eq!(report["window"]["opens_on"], "2028-02-29");
    assert_eq!(report["window"]["state"], "not_yet_open");
    let codes: Vec<&str> = report["submission"]["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"window_not_open"), "{codes:?}");
}

#[tokio::test]
async fn what_if_judges_planned_entries_and_stores_nothing() {
    let app = TestApp::on("2026-05-01");
    let (_, cert, token) = app.enrol("CPDHTS", "2024-09-01", "2026-08-31").await;
    app.log(
        &cert,
        &token,
        entry("Approved", "approved_provider", 15, 0, "2025-01-10"),
    )
    .await;
    let history_before = app
        .get(&format!("/certifications/{cert}/history"), &token)
        .await
        .ok(200)
        .clone();
    let plan = json!({"entries": [entry("Planned course", "other", 15, 0, "2026-07-01")]});
    let r = app
        .post(
            &format!("/certifications/{cert}/eligibility/what-if"),
            &token,
            plan,
        )
        .await;
    let report = r.ok(200);
    assert_eq!(report["met"], true);
    assert_eq!(report["closes_gap"], true);
    assert_eq!(report["current"]["met"], false);
    assert_eq!(report["planned_entry_ids"].as_array().unwrap().len(), 1);
    let entries = app
        .get(&format!("/certifications/{cert}/entries"), &token)
        .await
        .ok(200)
        .clone();
    assert_eq!(
        entries["items"].as_array().unwrap().len(),
        1,
        "nothing stored"
    );
    assert_eq!(
        app.get(&format!("/certifications/{cert}/history"), &token)
            .await
            .ok(200),
        &history_before
    );

    let short = json!({"entries": [entry("Too small", "other", 5, 0, "2026-07-01")]});
    let r = app
        .post(
            &format!("/certifications/{cert}/eligibility/what-if"),
            &token,
            short,
        )
        .await;
    assert_eq!(r.ok(200)["closes_gap"], false);
    let gaps = r.body["eligibility"]["gaps"].as_array().unwrap();
    assert!(
        gaps[0]["message"].as_str().unwrap().starts_with("10.00 h"),
        "{gaps:?}"
    );
}

#[tokio::test]
async fn what_if_rejects_empty_or_invalid_plans_by_field() {
    let app = TestApp::on("2026-05-01");
    let (_, cert, token) = app.enrol("CPHIMS", "2023-09-01", "2026-08-31").await;
    let path = format!("/certifications/{cert}/eligibility/what-if");
    app.post(&path, &token, json!({"entries": []}))
        .await
        .problem(422);
    let r = app.post(&path, &token, json!({"entries": [entry("ok", "society", 1, 0, "2026-01-01"), entry("bad", "society", 1, 3, "2026-01-01")]})).await;
    assert!(
        r.problem(422)["errors"]["entries/1/ethics_hours_hundredths"].is_array(),
        "{:#}",
        r.body
    );
}
