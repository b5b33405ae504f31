//! The API over a chosen store, as tests and benchmarks drive it: the real routers, a fixed
//! clock, development tokens; the embedded store in memory, or a new table on DynamoDB Local
//! (`RECERT_DYNAMODB_ENDPOINT`) with the app's DynamoDB call counter.

use crate::contention::post_json;
use axum::Router;
use recert_api::auth::Authenticator;
use recert_api::{AppState, Role};
use recert_domain::{FixedClock, RuleBook};
use recert_store::Store;
use recert_store::dynamodb::{
    CallCounter, DynamoStore, TableDefinition, create_table, local_client,
};
use recert_store::sqlite::SqliteStore;
use std::sync::Arc;

/// The development secret of test and benchmark apps (a throwaway, used nowhere else).
pub const SECRET: &[u8] = b"test-only-secret-0123456789abcdef-not-used-anywhere-else";

/// The API over one store: the router, the state behind it, the store, and the DynamoDB call
/// counter when on DynamoDB.
#[derive(Debug)]
pub struct Harness {
    pub router: Router,
    /// The state behind `router`, for mounting a single function's router on the same store.
    pub state: AppState,
    pub store: Arc<dyn Store>,
    pub calls: Option<CallCounter>,
    pub label: &'static str,
    pub auth: Authenticator,
}

/// Where the test apps' upload URLs point (the harness router serves them: send the path).
pub const EVIDENCE_BASE: &str = "http://evidence.test";

/// The payment webhook secret of test and benchmark apps (Stripe scheme; a throwaway).
pub const WEBHOOK_SECRET: &str = "whsec_test-only-0123456789abcdef-not-used-anywhere-else";

/// The webhook verifier of test apps: signs what tests send as the payment processor.
pub fn webhooks() -> recert_webhooks::Verifier {
    let secret =
        recert_webhooks::WebhookSecret::stripe(WEBHOOK_SECRET).unwrap_or_else(|e| panic!("{e}"));
    recert_webhooks::Verifier::new(recert_webhooks::Scheme::Stripe, vec![secret])
        .unwrap_or_else(|e| panic!("{e}"))
}

/// The evidence store of test apps (a fresh folder under the temporary directory) and the router
/// taking its uploads.
pub fn evidence(clock: Arc<dyn recert_domain::Clock>) -> (audits::EvidenceUploads, axum::Router) {
    let dir =
        std::env::temp_dir().join(format!("recert-evidence-{}", uuid::Uuid::now_v7().simple()));
    recert_local::local_evidence(dir, EVIDENCE_BASE, SECRET, clock)
        .unwrap_or_else(|e| panic!("{e}"))
}

/// The day benchmarks run "as of".
fn bench_day() -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2026, 5, 1).unwrap_or_default()
}

impl Harness {
    /// Over `store`, as of `today`, with the default rules.
    pub fn over(
        store: Arc<dyn Store>,
        calls: Option<CallCounter>,
        today: chrono::NaiveDate,
        label: &'static str,
    ) -> Self {
        Self::over_with(store, calls, today, label, RuleBook::default_rules())
    }

    /// Over `store`, as of `today`, with `rules`.
    pub fn over_with(
        store: Arc<dyn Store>,
        calls: Option<CallCounter>,
        today: chrono::NaiveDate,
        label: &'static str,
        rules: RuleBook,
    ) -> Self {
        let mut state = recert_local::state_with(
            store.clone(),
            SECRET,
            rules,
            Arc::new(FixedClock::on(today)),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        // The audit jobs' sealing key: one per harness, so every job run of a test opens the
        // seeds its earlier runs sealed.
        state.app = state
            .app
            .clone()
            .with_sealer(Arc::new(recert_keys::FileKey::ephemeral()));
        let auth = Authenticator::hs256(SECRET, "recert-local", "recert")
            .unwrap_or_else(|e| panic!("{e}"));
        let (evidence, uploads) = evidence(state.app.clock.clone());
        Harness {
            router: recert_local::app(state.clone(), webhooks(), evidence).merge(uploads),
            state,
            store,
            calls,
            label,
            auth,
        }
    }

    /// On the embedded store, in memory.
    pub fn embedded() -> Self {
        let store = SqliteStore::in_memory().unwrap_or_else(|e| panic!("{e}"));
        Self::over(Arc::new(store), None, bench_day(), "embedded (SQLite)")
    }

    /// On a new table of DynamoDB Local at `RECERT_DYNAMODB_ENDPOINT`, if that is set.
    pub async fn dynamodb_local() -> Option<Self> {
        let endpoint = std::env::var("RECERT_DYNAMODB_ENDPOINT")
            .ok()
            .filter(|e| !e.is_empty())?;
        let calls = CallCounter::new();
        let client = local_client(&endpoint, &calls);
        let table = format!("recert-bench-{}", uuid::Uuid::now_v7().simple());
        let definition = TableDefinition::bundled().unwrap_or_else(|e| panic!("{e}"));
        create_table(&client, &table, &definition)
            .await
            .unwrap_or_else(|e| panic!("create {table}: {e:?}"));
        let store = DynamoStore::with_counter(client, table, calls.clone());
        Some(Self::over(
            Arc::new(store),
            Some(calls),
            bench_day(),
            "DynamoDB Local",
        ))
    }

    pub fn token(&self, role: Role, subject: &str) -> String {
        let now = chrono::Utc::now().timestamp();
        self.auth
            .mint(subject, role, now, 3600)
            .unwrap_or_else(|| panic!("a development authenticator mints"))
    }

    /// Enrol a new certificant in a CPHIMS cycle from 2023-09-01 to 2026-08-31 (benchmark
    /// set-up); returns (certificant id, certification id, their token).
    pub async fn enrol_cphims(&self) -> (String, String, String) {
        let admin = self.token(Role::Admin, "bench-admin");
        let unique = uuid::Uuid::now_v7().simple().to_string();
        let person = post_json(
            &self.router,
            "/certificants",
            &admin,
            serde_json::json!({"email": format!("p-{unique}@example.org"), "full_name": "Bench", "membership": "member"}),
        )
        .await;
        let person = person["id"].as_str().unwrap_or_default().to_owned();
        let cert = post_json(
            &self.router,
            "/certifications",
            &admin,
            serde_json::json!({"certificant_id": person, "credential": "CPHIMS",
                   "certificate_number": format!("B-{unique}"),
                   "initial_certification_date": "2023-09-01", "expires_on": "2026-08-31"}),
        )
        .await;
        let cert = cert["id"].as_str().unwrap_or_default().to_owned();
        let token = self.token(Role::Certificant, &person);
        (person, cert, token)
    }
}
