//! The test app: the real routers over a real store, a fixed clock, and tokens.
//!
//! The store is the embedded SQLite (in memory, one per app) unless `RECERT_TEST_STORE=dynamodb`:
//! then every app is on DynamoDB Local (`RECERT_DYNAMODB_ENDPOINT`, default
//! `http://127.0.0.1:8000`), all apps of one test run sharing one new table created from
//! `infra/table.json` (the tests make unique ids, emails and numbers), each app with its own
//! client and [`CallCounter`]. `scripts/test-all` runs these tests once on each store.

use axum::Router;
use axum::body::Body;
use chrono::NaiveDate;
use http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use recert_api::auth::Authenticator;
use recert_api::{AppState, Role};
use recert_domain::{
    Actor, CertificationAggregate, CertificationId, ChangeBuilder, HistoryKind, RuleBook,
};
use recert_store::Store;
use recert_store::dynamodb::{
    CallCounter, DynamoStore, TableDefinition, create_table, local_client,
};
use recert_store::sqlite::SqliteStore;
pub(crate) use recert_tests::harness::{Harness, SECRET};
use serde_json::{Value, json};
use std::sync::Arc;
use tower::ServiceExt;

pub(crate) fn d(s: &str) -> NaiveDate {
    s.parse().unwrap_or_else(|e| panic!("bad date {s}: {e}"))
}

pub(crate) struct TestApp {
    pub router: Router,
    /// The state behind `router`, for mounting a single function's router on the same store.
    pub state: AppState,
    pub store: Arc<dyn Store>,
    /// The DynamoDB calls of this app's store (`None` on SQLite).
    pub calls: Option<CallCounter>,
    auth: Authenticator,
}

/// `RECERT_TEST_STORE=dynamodb` puts the apps on DynamoDB Local.
pub(crate) fn on_dynamodb() -> bool {
    std::env::var("RECERT_TEST_STORE").is_ok_and(|s| s.eq_ignore_ascii_case("dynamodb"))
}

fn dynamodb_endpoint() -> String {
    std::env::var("RECERT_DYNAMODB_ENDPOINT")
        .ok()
        .filter(|e| !e.is_empty())
        .unwrap_or_else(|| "http://127.0.0.1:8000".into())
}

/// The table of this test run, created on first use (on a thread of its own: the caller may be
/// inside a single-threaded runtime and `TestApp::on` is synchronous).
fn dynamodb_table() -> &'static str {
    static TABLE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TABLE.get_or_init(new_dynamodb_table)
}

/// A new table on DynamoDB Local (created on a thread of its own, see [`dynamodb_table`]).
fn new_dynamodb_table() -> String {
    {
        let table = format!("recert-api-{}", uuid::Uuid::now_v7().simple());
        let name = table.clone();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap_or_else(|e| panic!("{e}"));
            runtime.block_on(async {
                let endpoint = dynamodb_endpoint();
                let client = local_client(&endpoint, &CallCounter::new());
                let definition = TableDefinition::bundled().unwrap_or_else(|e| panic!("{e}"));
                create_table(&client, &name, &definition)
                    .await
                    .unwrap_or_else(|e| panic!("create table {name} on {endpoint}: {e:?}"));
            });
        })
        .join()
        .unwrap_or_else(|_| panic!("creating the DynamoDB table failed"));
        table
    }
}

#[derive(Debug)]
pub(crate) struct Reply {
    pub status: StatusCode,
    pub headers: http::HeaderMap,
    pub body: Value,
}

impl Reply {
    pub(crate) fn content_type(&self) -> &str {
        self.headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// Assert a problem+json reply with this status; returns its body.
    pub(crate) fn problem(&self, status: u16) -> &Value {
        assert_eq!(self.status.as_u16(), status, "{:#}", self.body);
        assert_eq!(
            self.content_type(),
            "application/problem+json",
            "{:#}",
            self.body
        );
        assert_eq!(self.body["status"], status);
        &self.body
    }

    pub(crate) fn ok(&self, status: u16) -> &Value {
        assert_eq!(self.status.as_u16(), status, "{:#}", self.body);
        &self.body
    }
}

impl TestApp {
    /// The API as of `today`, over a fresh in-memory SQLite store, or over the run's DynamoDB
    /// table with `RECERT_TEST_STORE=dynamodb`.
    pub(crate) fn on(today: &str) -> Self {
        if on_dynamodb() {
            let calls = CallCounter::new();
            let client = local_client(&dynamodb_endpoint(), &calls);
            let store = DynamoStore::with_counter(client, dynamodb_table(), calls.clone());
            let mut app = Self::with_store(today, Arc::new(store));
            app.calls = Some(calls);
            return app;
        }
        let store: Arc<dyn Store> =
            Arc::new(SqliteStore::in_memory().unwrap_or_else(|e| panic!("{e}")));
        Self::with_store(today, store)
    }

    /// The API as of `today` with the audit draw selecting `percent` of paid submissions, over
    /// a store of its own ([`Self::private`]): a draw judges every paid submission in its store,
    /// so it must not see other tests' data.
    pub(crate) fn with_audit_share(today: &str, percent: u32) -> Self {
        Self::private(today, RuleBook::default_rules().with_audit_share(percent))
    }

    /// The API as of `today` with `rules`, over a store of its own (a fresh in-memory SQLite
    /// store, or a new DynamoDB Local table).
    pub(crate) fn private(today: &str, rules: RuleBook) -> Self {
        if on_dynamodb() {
            let calls = CallCounter::new();
            let client = local_client(&dynamodb_endpoint(), &calls);
            let store = DynamoStore::with_counter(client, new_dynamodb_table(), calls.clone());
            let mut app = Self::with_rules(today, Arc::new(store), rules);
            app.calls = Some(calls);
            return app;
        }
        let store: Arc<dyn Store> =
            Arc::new(SqliteStore::in_memory().unwrap_or_else(|e| panic!("{e}")));
        Self::with_rules(today, store, rules)
    }

    /// Run a scheduled job for `date` as its Lambda would; returns (due, acted).
    pub(crate) async fn run_job(&self, job: recert_app::jobs::Job, date: &str) -> (usize, usize) {
        let report = job
            .run(&self.app_on(date), d(date))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        (report.due, report.acted)
    }

    /// `month`'s audit period committed before it starts, as the daily draw leaves it: a draw run
    /// on the last day of the month before (which commits that month, late, and `month` ahead).
    pub(crate) async fn commit_audit_period(&self, month: &str) {
        let period: recert_domain::audit::Period = month.parse().unwrap_or_else(|e| panic!("{e}"));
        let eve = period
            .first_day()
            .pred_opt()
            .unwrap_or_else(|| panic!("{month}"));
        self.run_job(recert_app::jobs::Job::AuditDraw, &eve.to_string())
            .await;
    }

    /// The application of this API (its store and rules) as of `day`: what a scheduled job runs on.
    pub(crate) fn app_on(&self, day: &str) -> recert_app::App {
        recert_app::App {
            clock: Arc::new(recert_domain::FixedClock::on(d(day))),
            ..self.state.app.clone()
        }
    }

    pub(crate) fn with_store(today: &str, store: Arc<dyn Store>) -> Self {
        Self::with_rules(today, store, RuleBook::default_rules())
    }

    fn with_rules(today: &str, store: Arc<dyn Store>, rules: RuleBook) -> Self {
        let Harness {
            router,
            state,
            store,
            auth,
            ..
        } = Harness::over_with(store, None, d(today), "test", rules);
        TestApp {
            router,
            state,
            store,
            calls: None,
            auth,
        }
    }

    pub(crate) fn token(&self, role: Role, sub: &str) -> String {
        let now = chrono::Utc::now().timestamp();
        self.auth.mint(sub, role, now, 3600).unwrap_or_default()
    }

    pub(crate) fn admin(&self) -> String {
        self.token(Role::Admin, "admin-1")
    }

    pub(crate) async fn send(&self, req: Request<Body>) -> Reply {
        let res = self
            .router
            .clone()
            .oneshot(req)
            .await
            .unwrap_or_else(|e| match e {});
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        Reply {
            status,
            headers,
            body,
        }
    }

    pub(crate) async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(t) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let req = match body {
            Some(b) => req
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(b.to_string())),
            None => req.body(Body::empty()),
        };
        self.send(req.unwrap_or_else(|e| panic!("{e}"))).await
    }

    pub(crate) async fn get(&self, path: &str, token: &str) -> Reply {
        self.call("GET", path, Some(token), None).await
    }

    pub(crate) async fn post(&self, path: &str, token: &str, body: Value) -> Reply {
        self.call("POST", path, Some(token), Some(body)).await
    }

    /// Enrol a certificant and issue them a certification; returns (certificant id, certification id, their token).
    pub(crate) async fn enrol(
        &self,
        credential: &str,
        cycle_start: &str,
        expires_on: &str,
    ) -> (String, String, String) {
        let admin = self.admin();
        let n: u32 = rand_suffix();
        let c = self
            .post("/certificants", &admin, json!({"email": format!("person{n}@example.org"), "full_name": "Test Person", "membership": "member"}))
            .await;
        let certificant_id = c.ok(201)["id"].as_str().unwrap_or_default().to_string();
        let cert = self
            .post(
                "/certifications",
                &admin,
                json!({
                    "certificant_id": certificant_id,
                    "credential": credential,
                    "certificate_number": format!("{credential}-{n}"),
                    "initial_certification_date": cycle_start,
                    "expires_on": expires_on,
                }),
            )
            .await;
        let certification_id = cert.ok(201)["id"].as_str().unwrap_or_default().to_string();
        let token = self.token(Role::Certificant, &certificant_id);
        (certificant_id, certification_id, token)
    }

    /// Commit a change the API has no endpoint for yet (a renewal, a cycle roll-over), as staff,
    /// through the domain's change builder and the store — as a later function will.
    pub(crate) async fn change_as_staff(
        &self,
        certification: &str,
        what: impl FnOnce(&CertificationAggregate) -> HistoryKind,
        build: impl FnOnce(&CertificationAggregate, ChangeBuilder) -> ChangeBuilder,
    ) {
        let id: CertificationId = certification.parse().unwrap_or_else(|e| panic!("{e}"));
        let aggregate = self
            .store
            .load(id)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("no certification {id}"));
        let staff = Actor::Staff {
            subject: "admin-1".into(),
            role: Role::Admin,
        };
        let start = aggregate.change(&staff, chrono::Utc::now(), what(&aggregate));
        let changes = build(&aggregate, start).build();
        self.store
            .commit(&changes)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }

    /// Log an entry as `token`; asserts 201 and returns the entry.
    pub(crate) async fn log(&self, certification: &str, token: &str, entry: Value) -> Value {
        let r = self
            .post(
                &format!("/certifications/{certification}/entries"),
                token,
                entry,
            )
            .await;
        r.ok(201).clone()
    }
}

fn rand_suffix() -> u32 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(1000);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// An entry body with the given hours (whole hours) and provider category.
pub(crate) fn entry(
    title: &str,
    category: &str,
    hours: u32,
    ethics: u32,
    completed_on: &str,
) -> Value {
    json!({
        "title": title,
        "provider_name": "Provider",
        "provider_category": category,
        "completed_on": completed_on,
        "hours_hundredths": hours * 100,
        "ethics_hours_hundredths": ethics * 100,
    })
}

pub(crate) fn canadian(mut e: Value) -> Value {
    e["canadian_content"] = Value::Bool(true);
    e
}
