//! Recert's application layer: what every actor's entry point calls, with no HTTP in sight.
//!
//! - [`config`]: typed configuration, read once per process, secrets in a [`config::Secret`]
//!   that never prints, a startup error naming the missing or bad variable.
//! - [`aws`]: the AWS SDK's shared configuration; in Lambda no file read at init (issue 15).
//! - [`secrets`]: the secrets a Lambda's `<NAME>_ARN` variables name, read from Secrets Manager at
//!   cold start (concurrently) and overlaid on the environment the configuration reads.
//! - [`App`] (the composition root): the store, the rules, the clock and the retry policy, built
//!   once from a [`config::CoreConfig`]. A scheduled job or a stream consumer needs nothing more;
//!   HTTP functions add their authentication in `recert-api`.
//! - [`runner`]: the command runner every writer uses — load → authorize the [`Actor`] →
//!   decide → commit with the version check → on a lost race, retry on fresh state with
//!   jittered exponential backoff inside a time budget.
//! - [`outbox`]: delivering the transactional outbox (claim, send, record; retry, park) and the
//!   sweeper that backs the stream-triggered notifier up.
//! - [`jobs`]: scheduled jobs (one day at a time, through the due-date index, idempotent), and
//!   [`schedule`], how a schedule's input runs one.
//! - [`audit`]: the random audit's daily draw (committed, sealed seeds; an append-only log that
//!   anyone re-checks after the reveal), its deadlines, and the rotation of the old scheme.
//! - [`calendar`]: the certificant's private calendar feed (create or rotate, revoke, serve).
//! - [`providers`]: the provider registry, batches of completions (each row exactly once),
//!   voids and the staff reconciliation.
//! - [`AppError`]: why a command or query failed, in domain terms; each edge (HTTP, a job's log,
//!   a stream's batch failure) renders it its own way.
//!
//! Must not depend on HTTP, on JWTs, or on any function crate.

pub mod audit;
/// The AWS SDK's shared configuration (its own crate: the adapters' emulator clients use it too).
pub use recert_aws as aws;
pub mod calendar;
pub mod config;
pub mod error;
pub mod jobs;
pub mod outbox;
pub mod payments;
pub mod providers;
pub mod runner;
pub mod schedule;
pub mod secrets;

pub use error::AppError;
pub use recert_domain::{Actor, JobName, ProviderId, Role, WebhookSender};
pub use runner::{Command, Concurrency, Decision, RetryPolicy};

use config::{ConfigError, CoreConfig, StoreConfig};
use recert_domain::{
    Certification, CertificationAggregate, CertificationId, Clock, RuleBook, RuleSet, SystemClock,
};
use recert_store::Store;
use std::sync::Arc;

/// Everything a command needs, built once per process (Lambda init) and cheap to clone.
#[derive(Clone, Debug)]
pub struct App {
    pub store: Arc<dyn Store>,
    pub rules: Arc<RuleBook>,
    pub clock: Arc<dyn Clock>,
    pub retry: RetryPolicy,
    /// The key that seals the audit seeds: only the audit jobs (and local runs) hold one.
    pub sealer: Option<Arc<dyn recert_keys::Sealer>>,
}

impl App {
    /// The application over given parts (tests, the local server).
    pub fn new(store: Arc<dyn Store>, rules: RuleBook, clock: Arc<dyn Clock>) -> Self {
        App {
            store,
            rules: Arc::new(rules),
            clock,
            retry: RetryPolicy::default(),
            sealer: None,
        }
    }

    /// The same application, sealing audit seeds with `sealer`.
    pub fn with_sealer(self, sealer: Arc<dyn recert_keys::Sealer>) -> Self {
        App {
            sealer: Some(sealer),
            ..self
        }
    }

    /// The composition root: the store and rules `config` names, the system clock. Makes no
    /// network call (the DynamoDB client connects on first use).
    pub async fn from_config(config: &CoreConfig) -> Result<Self, ConfigError> {
        let rules = config::load_rules(config.rules_path.as_deref())?;
        let store = open_store(&config.store).await?;
        Ok(App::new(store, rules, Arc::new(SystemClock)))
    }

    /// The rule version that judges this aggregate's current cycle.
    pub fn rules_for(&self, aggregate: &CertificationAggregate) -> &RuleSet {
        self.rules
            .for_cycle_starting(aggregate.certification.cycle_starts_on)
    }

    /// The certification if `actor` may see it; `NotFound` otherwise (we never confirm that
    /// another certificant's certification exists).
    pub async fn load_visible(
        &self,
        actor: &Actor,
        id: CertificationId,
    ) -> Result<CertificationAggregate, AppError> {
        let aggregate = self
            .store
            .load(id)
            .await?
            .ok_or(AppError::NotFound("certification"))?;
        if !actor.may_read(aggregate.certification.certificant_id) {
            return Err(AppError::NotFound("certification"));
        }
        Ok(aggregate)
    }

    /// The certification alone (its root: one read) if `actor` may see it; `NotFound` otherwise.
    pub async fn certification_visible(
        &self,
        actor: &Actor,
        id: CertificationId,
    ) -> Result<Certification, AppError> {
        let certification = self
            .store
            .certification(id)
            .await?
            .ok_or(AppError::NotFound("certification"))?;
        if !actor.may_read(certification.certificant_id) {
            return Err(AppError::NotFound("certification"));
        }
        Ok(certification)
    }

    /// A command on one certification by `actor` (see [`runner`]).
    pub fn command<'a>(&'a self, actor: &'a Actor, id: CertificationId) -> Command<'a> {
        Command::new(self, actor, id)
    }
}

/// Crates that log whole events, requests or responses (tokens and personal data included), or
/// the signed parts of a request (`aws_sigv4`), below `info`: whatever `RUST_LOG` says, they log at
/// `info` at most.
const CAPPED: [&str; 13] = [
    "lambda_runtime",
    "lambda_runtime_api_client",
    "lambda_http",
    "aws_smithy_runtime",
    "aws_smithy_http_client",
    "aws_runtime",
    "aws_sigv4",
    "aws_sdk_dynamodb",
    "aws_sdk_sesv2",
    "aws_sdk_s3",
    "aws_sdk_secretsmanager",
    "hyper",
    "hyper_util",
];

/// The log filter for `rust_log` (default `info`), with [`CAPPED`] crates held at `info`.
///
/// `RUST_LOG` is a list of `target=level` directives and a bare default level (`info`,
/// `info,recert_api=debug`); span and field filters are not supported (a value with them falls
/// back to `info`). A [`Targets`](tracing_subscriber::filter::Targets) filter rather than
/// `EnvFilter`: the same syntax for what we use, without the regex engine in every Lambda.
pub fn log_filter(rust_log: Option<&str>) -> tracing_subscriber::filter::Targets {
    use tracing_subscriber::filter::{LevelFilter, Targets};
    let filter = rust_log
        .and_then(|v| v.parse::<Targets>().ok())
        .unwrap_or_else(|| Targets::new().with_default(LevelFilter::INFO));
    filter.with_targets(CAPPED.map(|target| (target, LevelFilter::INFO)))
}

/// Logs go to stderr (CloudWatch in Lambda; stdout stays for command output locally), level from
/// `RUST_LOG` (default `info`, see [`log_filter`]), JSON in Lambda. Every binary calls this once.
pub fn init_tracing(json: bool) {
    let filter = log_filter(std::env::var("RUST_LOG").ok().as_deref());
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let layer = tracing_subscriber::fmt::layer()
        .with_target(false)
        .with_writer(std::io::stderr);
    let registry = tracing_subscriber::registry().with(filter);
    let _ = if json {
        registry.with(layer.json().without_time()).try_init()
    } else {
        registry.with(layer).try_init()
    };
}

/// The AWS SDK's shared configuration (region, credentials, endpoint overrides from the standard
/// variables), loaded once per process however many clients (DynamoDB, SES) are built from it.
/// Makes no network call. In Lambda it comes from the variables alone and reads no file (see [`aws`]).
pub async fn aws_sdk_config() -> &'static aws_types::SdkConfig {
    static SDK: tokio::sync::OnceCell<aws_types::SdkConfig> = tokio::sync::OnceCell::const_new();
    SDK.get_or_init(aws::load).await
}

/// The store a configuration names.
pub async fn open_store(config: &StoreConfig) -> Result<Arc<dyn Store>, ConfigError> {
    match config {
        StoreConfig::DynamoDb { table } => {
            use recert_store::dynamodb::{CallCounter, DynamoStore, client};
            // Region, credentials and AWS_ENDPOINT_URL_DYNAMODB from the standard AWS variables.
            let calls = CallCounter::new();
            Ok(Arc::new(DynamoStore::with_counter(
                client(aws_sdk_config().await, &calls),
                table.clone(),
                calls,
            )))
        }
        #[cfg(feature = "sqlite")]
        StoreConfig::Sqlite { path } => Ok(Arc::new(
            recert_store::sqlite::SqliteStore::open(path).map_err(ConfigError::Store)?,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use tracing::Level;

    #[test]
    fn trace_never_reaches_the_crates_that_log_raw_events() {
        for rust_log in [
            "trace",
            "info,hyper=trace,aws_sigv4=debug,lambda_runtime=trace",
        ] {
            let filter = log_filter(Some(rust_log));
            for target in CAPPED {
                assert!(
                    !filter.would_enable(target, &Level::DEBUG),
                    "{rust_log}: {target}"
                );
                assert!(filter.would_enable(&format!("{target}::inner"), &Level::INFO));
            }
        }
        let filter = log_filter(Some("trace"));
        assert!(
            filter.would_enable("recert_api", &Level::TRACE),
            "our own crates still trace"
        );
    }

    #[test]
    fn rust_log_sets_levels_per_target_and_a_bad_value_means_info() {
        let filter = log_filter(Some("warn,recert_app=debug"));
        assert!(filter.would_enable("recert_app::outbox", &Level::DEBUG));
        assert!(!filter.would_enable("recert_api", &Level::INFO));
        assert!(filter.would_enable("recert_api", &Level::WARN));
        for value in [None, Some("recert[span{id=1}]=debug")] {
            let filter = log_filter(value);
            assert!(filter.would_enable("recert_api", &Level::INFO), "{value:?}");
            assert!(
                !filter.would_enable("recert_api", &Level::DEBUG),
                "{value:?}"
            );
        }
    }
}
