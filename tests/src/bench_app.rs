//! The API over a chosen store for benchmarks: the embedded store in memory, or a new table on
//! DynamoDB Local (`RECERT_DYNAMODB_ENDPOINT`), with the app's DynamoDB call counter.

use axum::Router;
use recert_api::Role;
use recert_api::auth::Authenticator;
use recert_domain::{FixedClock, RuleBook};
use recert_store::Store;
use recert_store::dynamodb::{
    CallCounter, DynamoStore, TableDefinition, create_table, local_client,
};
use recert_store::sqlite::SqliteStore;
use std::sync::Arc;

/// The development secret of benchmark apps (a throwaway, used nowhere else).
pub const SECRET: &[u8] = b"bench-only-secret-0123456789abcdef-not-used-elsewhere";

/// A benchmark's API: the router, its store, and the DynamoDB call counter when on DynamoDB.
#[derive(Debug)]
pub struct BenchApp {
    pub router: Router,
    pub store: Arc<dyn Store>,
    pub calls: Option<CallCounter>,
    pub label: &'static str,
    auth: Authenticator,
}

impl BenchApp {
    /// Over `store`, as of 2026-05-01.
    pub fn over(store: Arc<dyn Store>, calls: Option<CallCounter>, label: &'static str) -> Self {
        let today = chrono::NaiveDate::from_ymd_opt(2026, 5, 1).unwrap_or_default();
        let state = recert_local::state_with(
            store.clone(),
            SECRET,
            RuleBook::default_rules(),
            Arc::new(FixedClock::on(today)),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let auth = Authenticator::hs256(SECRET, "recert-local", "recert")
            .unwrap_or_else(|e| panic!("{e}"));
        BenchApp {
            router: recert_local::app(state),
            store,
            calls,
            label,
            auth,
        }
    }

    /// On the embedded store, in memory.
    pub fn embedded() -> Self {
        let store = SqliteStore::in_memory().unwrap_or_else(|e| panic!("{e}"));
        Self::over(Arc::new(store), None, "embedded (SQLite)")
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
        Some(Self::over(Arc::new(store), Some(calls), "DynamoDB Local"))
    }

    pub fn token(&self, role: Role, subject: &str) -> String {
        let now = chrono::Utc::now().timestamp();
        self.auth
            .mint(subject, role, now, 3600)
            .unwrap_or_else(|| panic!("a development authenticator mints"))
    }
}
