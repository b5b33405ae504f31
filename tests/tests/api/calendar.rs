//! The certificant's private calendar feed, on the store `RECERT_TEST_STORE` selects: created by
//! the certificant, fetched WITHOUT a bearer token as a calendar app would, and read back with an
//! independent iCalendar parser (the `ical` crate, not the generator); the renewal window, waiver
//! cutoff and closing date, an audit's due date, an extension, a lapse; rotation and revocation
//! (the old URL is a 404), who may keep a feed, and the one 404 for every token that opens none.

use crate::helpers::*;
use chrono::NaiveDate;
use recert_domain::{CertificationStatus, HistoryKind, Role};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::BufReader;

const TODAY: &str = "2026-03-01";

/// One VEVENT as the independent parser read it.
#[derive(Debug, Clone)]
struct Event {
    uid: String,
    summary: String,
    starts: NaiveDate,
    ends: NaiveDate,
    stamped: bool,
}

/// A parsed feed: the calendar's properties (name → value) and its events, by start date.
#[derive(Debug)]
struct Feed {
    properties: BTreeMap<String, String>,
    events: Vec<Event>,
}

impl Feed {
    fn with_summary(&self, part: &str) -> Vec<&Event> {
        self.events
            .iter()
            .filter(|e| e.summary.contains(part))
            .collect()
    }

    fn one(&self, part: &str) -> &Event {
        let found = self.with_summary(part);
        assert_eq!(found.len(), 1, "one {part:?} event in {:#?}", self.events);
        found[0]
    }
}

/// RFC 5545 TEXT unescaping (the parser hands values over as written).
fn unescape(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n' | 'N') => out.push('\n'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

/// A `VALUE=DATE` property's date (panics on anything else: the feed's events are all-day).
fn date_of(p: &ical::property::Property) -> NaiveDate {
    let params = p.params.clone().unwrap_or_default();
    assert!(
        params
            .iter()
            .any(|(k, v)| k == "VALUE" && v == &["DATE".to_owned()]),
        "{} is not VALUE=DATE: {params:?}",
        p.name
    );
    NaiveDate::parse_from_str(p.value.as_deref().unwrap_or_default(), "%Y%m%d")
        .unwrap_or_else(|e| panic!("{} = {:?}: {e}", p.name, p.value))
}

/// Parse `text` with the `ical` crate: exactly one calendar.
fn parse(text: &str) -> Feed {
    let mut calendars = ical::IcalParser::new(BufReader::new(text.as_bytes()))
        .collect::<Result<Vec<_>, _>>()
        .unwrap_or_else(|e| panic!("not iCalendar: {e}\n{text}"));
    assert_eq!(calendars.len(), 1, "{text}");
    let calendar = calendars.remove(0);
    let properties = calendar
        .properties
        .iter()
        .map(|p| (p.name.clone(), p.value.clone().unwrap_or_default()))
        .collect();
    let mut events: Vec<Event> = calendar
        .events
        .iter()
        .map(|e| {
            let get = |name: &str| e.properties.iter().find(|p| p.name == name);
            let text = |name: &str| {
                unescape(
                    get(name)
                        .and_then(|p| p.value.as_deref())
                        .unwrap_or_else(|| panic!("no {name} in {e:?}")),
                )
            };
            Event {
                uid: text("UID"),
                summary: text("SUMMARY"),
                starts: date_of(get("DTSTART").unwrap_or_else(|| panic!("no DTSTART"))),
                ends: date_of(get("DTEND").unwrap_or_else(|| panic!("no DTEND"))),
                stamped: get("DTSTAMP").is_some(),
            }
        })
        .collect();
    events.sort_by(|a, b| (a.starts, &a.uid).cmp(&(b.starts, &b.uid)));
    Feed { properties, events }
}

/// Create (or rotate) `certificant`'s feed as `token`; asserts 201 and returns the feed's URL.
async fn create_feed(app: &TestApp, certificant: &str, token: &str) -> String {
    let r = app
        .call(
            "POST",
            &format!("/certificants/{certificant}/calendar-feed"),
            Some(token),
            None,
        )
        .await;
    let body = r.ok(201);
    assert!(body["created_at"].is_string(), "{body:#}");
    assert_eq!(
        r.headers.get("cache-control").unwrap(),
        "no-store",
        "the secret URL is never cached"
    );
    let url = body["url"].as_str().unwrap().to_owned();
    assert!(
        url.starts_with("/calendar/") && url.ends_with(".ics"),
        "{url}"
    );
    url
}

/// Fetch a feed URL as a calendar app does: no `Authorization` header.
async fn fetch(app: &TestApp, url: &str) -> Reply {
    app.call("GET", url, None, None).await
}

/// Fetch and parse a feed that must answer 200 with a calendar.
async fn fetch_feed(app: &TestApp, url: &str) -> (Feed, String) {
    let r = fetch(app, url).await;
    assert_eq!(r.status, 200, "{:#}", r.body);
    assert_eq!(r.content_type(), "text/calendar; charset=utf-8");
    assert_eq!(
        r.headers.get("cache-control").unwrap(),
        "private, max-age=300"
    );
    let text = r.body.as_str().unwrap_or_else(|| panic!("{:#}", r.body));
    (parse(text), text.to_owned())
}

/// A certificant's certification, issued by an admin.
async fn issue(
    app: &TestApp,
    certificant: &str,
    credential: &str,
    start: &str,
    end: &str,
) -> String {
    let n = uuid::Uuid::now_v7().simple().to_string();
    let r = app
        .post(
            "/certifications",
            &app.admin(),
            json!({"certificant_id": certificant, "credential": credential,
                   "certificate_number": format!("{credential}-{n}"),
                   "initial_certification_date": start, "expires_on": end}),
        )
        .await;
    r.ok(201)["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_certificant_subscribes_without_a_token_and_sees_their_dates() {
    let app = TestApp::on(TODAY);
    let (person, cert, token) = app.enrol("CPHIMS", "2023-09-01", "2026-08-31").await;
    let url = create_feed(&app, &person, &token).await;

    let (feed, text) = fetch_feed(&app, &url).await;
    assert_eq!(feed.properties["VERSION"], "2.0");
    assert!(feed.properties["PRODID"].contains("Recert"));
    assert_eq!(feed.properties["X-WR-CALNAME"], "Recert: renewal dates");
    let got: Vec<_> = feed
        .events
        .iter()
        .map(|e| (e.summary.as_str(), e.starts, e.ends))
        .collect();
    assert_eq!(
        got,
        [
            (
                "CPHIMS: renewal window opens",
                d("2026-02-28"),
                d("2026-03-01")
            ),
            (
                "CPHIMS: last day to request a waiver or extension",
                d("2026-05-31"),
                d("2026-06-01")
            ),
            (
                "CPHIMS: cycle closes, last day to renew",
                d("2026-08-31"),
                d("2026-09-01")
            ),
        ]
    );
    for e in &feed.events {
        assert!(e.stamped, "{e:?}");
        assert!(
            e.uid.starts_with(&format!("{cert}.")) && e.uid.ends_with("@recert"),
            "{}",
            e.uid
        );
    }
    // Only the certificant's own data, and little of it: no name, email or certificate number.
    for personal in ["Test Person", "@example.org", "CPHIMS-"] {
        assert!(!text.contains(personal), "{personal} in\n{text}");
    }

    // The `.ics` suffix is optional, and the UIDs are stable from one fetch to the next.
    let (again, _) = fetch_feed(&app, url.trim_end_matches(".ics")).await;
    let uids = |f: &Feed| f.events.iter().map(|e| e.uid.clone()).collect::<Vec<_>>();
    assert_eq!(uids(&again), uids(&feed));
    // A token-bearing request changes nothing either (the feed ignores it).
    let with_token = app.get(&url, &token).await;
    assert_eq!(with_token.status, 200);
}

#[tokio::test]
async fn an_audit_waiting_for_documents_puts_its_due_date_in_the_feed() {
    let app = TestApp::with_audit_share(TODAY, 100);
    app.commit_audit_period("2026-03").await;
    let (cert, _sid, _entry, token) = crate::audits::paid(&app).await;
    assert_eq!(
        app.run_job(recert_app::jobs::Job::AuditDraw, TODAY).await,
        (1, 1)
    );
    let audit = app
        .get(&format!("/certifications/{cert}/audit"), &token)
        .await;
    let audit = audit.ok(200).clone();
    assert_eq!(audit["status"], "documents_due");
    let due_on = d(audit["due_on"].as_str().unwrap());
    let person = app.get(&format!("/certifications/{cert}"), &token).await;
    let person = person.ok(200)["certificant_id"]
        .as_str()
        .unwrap()
        .to_owned();

    let url = create_feed(&app, &person, &token).await;
    let (feed, _) = fetch_feed(&app, &url).await;
    let due = feed.one("audit: documentation due");
    assert_eq!(
        (due.starts, due.summary.as_str()),
        (due_on, "CPHIMS audit: documentation due")
    );
    assert_eq!(
        due.uid,
        format!(
            "{cert}.audit_documents_due.{}@recert",
            audit["renewal_id"].as_str().unwrap()
        )
    );
    assert_eq!(feed.events.len(), 4, "{:#?}", feed.events);
}

#[tokio::test]
async fn an_extension_moves_the_closing_date_and_a_lapsed_certification_leaves_the_feed() {
    let app = TestApp::on(TODAY);
    let (person, cert, token) = app.enrol("CPHIMS", "2023-09-01", "2026-08-31").await;
    let other = issue(&app, &person, "CAHIMS", "2024-01-01", "2026-12-31").await;
    let url = create_feed(&app, &person, &token).await;
    let (before, _) = fetch_feed(&app, &url).await;
    assert_eq!(before.events.len(), 6, "{:#?}", before.events);
    let closing = before.one("CPHIMS: cycle closes").clone();

    // The certificant asks for an extension and the committee grants it.
    let asked = app
        .post(
            &format!("/certifications/{cert}/waiver-requests"),
            &token,
            json!({"relief": {"type": "extension", "until": "2026-11-30"},
                   "reason": "Parental leave"}),
        )
        .await;
    let request = asked.ok(201)["id"].as_str().unwrap().to_owned();
    let granted = app
        .post(
            &format!("/certifications/{cert}/waiver-requests/{request}/decision"),
            &app.token(Role::Committee, "committee-1"),
            json!({"outcome": "approved", "note": "Granted as asked."}),
        )
        .await;
    assert_eq!(granted.ok(200)["status"], "approved");
    // The other certification lapses.
    app.change_as_staff(
        &other,
        |a| HistoryKind::CertificationLapsed {
            closed_on: a.certification.expires_on,
        },
        |_, change| change.root(|c| c.status = CertificationStatus::Lapsed),
    )
    .await;

    let (after, _) = fetch_feed(&app, &url).await;
    let moved = after.one("CPHIMS: cycle closes");
    assert_eq!(moved.starts, d("2026-11-30"));
    assert_eq!(moved.uid, closing.uid, "the same event, moved");
    // The window and the waiver cutoff follow the expiration date, not the extension.
    assert_eq!(
        after.one("CPHIMS: renewal window opens").starts,
        d("2026-02-28")
    );
    assert!(
        after.with_summary("CAHIMS").is_empty(),
        "{:#?}",
        after.events
    );
    assert_eq!(after.events.len(), 3);
}

#[tokio::test]
async fn rotation_retires_the_old_url_and_revocation_the_feed() {
    let app = TestApp::on(TODAY);
    let (person, _cert, token) = app.enrol("CPHIMS", "2023-09-01", "2026-08-31").await;
    let first = create_feed(&app, &person, &token).await;
    fetch_feed(&app, &first).await;

    let second = create_feed(&app, &person, &token).await;
    assert_ne!(first, second);
    fetch(&app, &first).await.problem(404);
    fetch_feed(&app, &second).await;

    let path = format!("/certificants/{person}/calendar-feed");
    let revoked = app.call("DELETE", &path, Some(&token), None).await;
    assert_eq!(revoked.status, 204, "{:#}", revoked.body);
    fetch(&app, &second).await.problem(404);
    fetch(&app, &first).await.problem(404);
    // Revoking again is no error; a new feed works again, with a new URL.
    let again = app.call("DELETE", &path, Some(&token), None).await;
    assert_eq!(again.status, 204);
    let third = create_feed(&app, &person, &token).await;
    assert!(third != first && third != second);
    fetch_feed(&app, &third).await;
}

#[tokio::test]
async fn only_the_certificant_or_an_admin_keeps_a_feed() {
    let app = TestApp::on(TODAY);
    let (person, _cert, token) = app.enrol("CPHIMS", "2023-09-01", "2026-08-31").await;
    let (_, _, stranger) = app.enrol("CPHIMS", "2023-09-01", "2026-08-31").await;
    let path = format!("/certificants/{person}/calendar-feed");
    let mine = create_feed(&app, &person, &token).await;

    // Another certificant: not theirs to know of (404), and nothing changes.
    for method in ["POST", "DELETE"] {
        let r = app.call(method, &path, Some(&stranger), None).await;
        r.problem(404);
    }
    fetch_feed(&app, &mine).await;
    // Staff other than admins keep nobody's feed; no token is a 401.
    let reviewer = app.token(Role::Reviewer, "rev-1");
    for method in ["POST", "DELETE"] {
        app.call(method, &path, Some(&reviewer), None)
            .await
            .problem(403);
        app.call(method, &path, None, None).await.problem(401);
    }
    fetch_feed(&app, &mine).await;
    // An admin may, for the certificant (rotating it); not for someone who does not exist.
    let admin = app.admin();
    let rotated = create_feed(&app, &person, &admin).await;
    fetch(&app, &mine).await.problem(404);
    fetch_feed(&app, &rotated).await;
    let nobody = uuid::Uuid::now_v7();
    app.call(
        "POST",
        &format!("/certificants/{nobody}/calendar-feed"),
        Some(&admin),
        None,
    )
    .await
    .problem(404);
    // A malformed certificant id is a 400, like every path id.
    app.call(
        "POST",
        "/certificants/nope/calendar-feed",
        Some(&admin),
        None,
    )
    .await
    .problem(400);
}

#[tokio::test]
async fn every_token_that_opens_no_feed_gets_the_same_404() {
    let app = TestApp::on(TODAY);
    let (person, _cert, token) = app.enrol("CPHIMS", "2023-09-01", "2026-08-31").await;
    let url = create_feed(&app, &person, &token).await;
    let good = url
        .trim_start_matches("/calendar/")
        .trim_end_matches(".ics")
        .to_owned();
    let (id, secret) = good.split_once('.').unwrap();
    let mut flipped = secret.to_owned();
    let last = if flipped.ends_with('A') { "E" } else { "A" };
    flipped.replace_range(42.., last);
    let unknown = uuid::Uuid::now_v7();
    let tokens = [
        "nope".to_owned(),
        "nope.ics".to_owned(),
        format!("{id}.ics"),
        format!("{id}.{}", &secret[..42]),
        format!("{}.{secret}", id.to_uppercase()),
        format!("{id}.{flipped}"),
        format!("{unknown}.{secret}"),
        format!("{good}.ics.ics"),
        format!("{good}%20"),
    ];
    let mut answers: Vec<Value> = Vec::new();
    for t in &tokens {
        let r = fetch(&app, &format!("/calendar/{t}")).await;
        answers.push(r.problem(404).clone());
    }
    // Revoked: the same answer again.
    app.call(
        "DELETE",
        &format!("/certificants/{person}/calendar-feed"),
        Some(&token),
        None,
    )
    .await;
    answers.push(fetch(&app, &url).await.problem(404).clone());
    for a in &answers {
        assert_eq!(a, &answers[0], "an oracle: {tokens:?}");
    }
    assert_eq!(answers[0]["code"], "not_found");
}
