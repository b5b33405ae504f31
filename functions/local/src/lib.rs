//! The local server: every function's router mounted on one port over the embedded SQLite store,
//! sharing every line of handler code with the Lambdas. Also mints development tokens.
//!
//! The development JWT secret is generated on first use into `.recert/dev-jwt-secret` (mode 0600,
//! git-ignored) unless `JWT_HS256_SECRET` is set. It is a throwaway for this machine only.

use audits::EvidenceUploads;
use axum::Router;
use rand::RngCore;
use recert_api::config::{DEFAULT_AUDIENCE, DEFAULT_ISSUER, derive_cursor_key};
use recert_api::cursor::CursorCodec;
use recert_api::{AppState, auth::Authenticator, finish};
use recert_app::App;
use recert_app::config::{ProcessEnv, StoreConfig, load_rules};
use recert_domain::{Clock, RuleBook, SystemClock};
use recert_store::Store;
use recert_store::sqlite::SqliteStore;
use recert_webhooks::{Scheme, Verifier, WebhookSecret};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub mod audit;
pub mod jobs;
pub mod mailbox;
pub mod openapi;
pub mod pay;
pub mod serve;

/// The routes of every function, as the Lambdas serve them; `webhooks` verifies the payment
/// processor's signatures, `evidence` takes audit uploads.
pub fn routes(webhooks: Verifier, evidence: EvidenceUploads) -> Router<AppState> {
    Router::new()
        .merge(certifications::router())
        .merge(transcripts::router())
        .merge(eligibility::router())
        .merge(submissions::router_with(webhooks))
        .merge(audits::router_with(evidence))
        .merge(waivers::router())
        .merge(providers::router())
}

/// Each function's routes by its crate's name (as the template names its code), and the routes
/// every function serves: what the OpenAPI document describes and `recert-local routes` lists.
pub fn declared_routes() -> [(&'static str, recert_api::Routes); 8] {
    [
        ("certifications", certifications::routes()),
        ("transcripts", transcripts::routes()),
        ("eligibility", eligibility::routes()),
        ("submissions", submissions::routes()),
        ("audits", audits::routes()),
        ("waivers", waivers::routes()),
        ("providers", providers::routes()),
        ("*", recert_api::app::shared_routes()),
    ]
}

/// The evidence store of a local run: files under `dir`, upload URLs on `base_url` (the server's
/// own address) signed with a key derived from `secret`; and the router taking those uploads
/// (`PUT /dev/evidence/...`, authenticated by the URL's signature like a presigned S3 URL).
pub fn local_evidence(
    dir: PathBuf,
    base_url: &str,
    secret: &[u8],
    clock: Arc<dyn Clock>,
) -> Result<(EvidenceUploads, Router), String> {
    use hmac::Mac;
    let mut mac = <hmac::Hmac<sha2::Sha256> as hmac::KeyInit>::new_from_slice(secret)
        .map_err(|e| e.to_string())?;
    mac.update(b"recert-local evidence uploads");
    let key = mac.finalize().into_bytes().to_vec();
    let store = Arc::new(
        recert_evidence::local::LocalEvidence::new(dir, base_url.to_owned(), key)
            .with_clock(Arc::new(move || clock.now())),
    );
    let uploads = EvidenceUploads::from_env(store.clone())?;
    Ok((uploads, recert_evidence::local::upload_router(store)))
}

/// The whole API over `state`, with the shared layers and the Swagger UI at `/docs`.
pub fn app(state: AppState, webhooks: Verifier, evidence: EvidenceUploads) -> Router {
    app_with(state, webhooks, evidence, Router::new())
}

/// [`app`] plus local-only routes (the dev mailbox), under the same layers and authentication.
pub fn app_with(
    state: AppState,
    webhooks: Verifier,
    evidence: EvidenceUploads,
    local: Router<AppState>,
) -> Router {
    let docs = utoipa_swagger_ui::SwaggerUi::new("/docs").url("/openapi.json", openapi::api_doc());
    finish(routes(webhooks, evidence).merge(local), state).merge(docs)
}

/// The payment webhook verifier of a local run: `PAYMENT_WEBHOOK_*` when set, else a Stripe-style
/// secret generated on first use into `<dir>/dev-webhook-secret` (a throwaway, this machine only;
/// `recert-local pay` signs with it).
pub fn dev_webhooks(dir: &Path) -> Result<Verifier, String> {
    if std::env::var_os(recert_webhooks::ENV_SECRET).is_some() {
        return Verifier::from_env().map_err(|e| e.to_string());
    }
    let path = dir.join("dev-webhook-secret");
    let secret = match std::fs::read_to_string(&path) {
        Ok(s) if s.trim().starts_with("whsec_") => s.trim().to_owned(),
        _ => {
            let mut bytes = [0u8; 24];
            rand::rng().fill_bytes(&mut bytes);
            let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            let secret = format!("whsec_{hex}");
            write_private(&path, &secret).map_err(|e| format!("dev webhook secret: {e}"))?;
            secret
        }
    };
    let key = WebhookSecret::stripe(&secret).map_err(|e| e.to_string())?;
    Verifier::new(Scheme::Stripe, vec![key]).map_err(|e| e.to_string())
}

/// Write `text` to `path` (mode 0600 on unix), creating its directory.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(text.as_bytes())
}

/// The clock of a local run: the system's, or noon UTC of `today` to rehearse a lifecycle
/// (local builds only; the Lambdas always use the real clock).
pub fn clock(today: Option<chrono::NaiveDate>) -> Arc<dyn Clock> {
    match today {
        Some(day) => Arc::new(recert_domain::FixedClock::on(day)),
        None => Arc::new(SystemClock),
    }
}

/// Where the local mailbox keeps its `.eml` files: `RECERT_MAILBOX_DIR` (the variable the
/// notifier's local builds read too), else `mailbox/` in the [`data_dir`].
pub fn mailbox_dir() -> PathBuf {
    mailbox_dir_from(
        std::env::var_os(recert_app::outbox::MAILBOX_DIR),
        &data_dir(),
    )
}

/// [`mailbox_dir`] given the variable's value (unset or empty: none) and the data directory.
fn mailbox_dir_from(var: Option<std::ffi::OsString>, data_dir: &Path) -> PathBuf {
    var.filter(|v| !v.is_empty())
        .map_or_else(|| data_dir.join("mailbox"), PathBuf::from)
}

/// The courier delivering the outbox of `app` into the local mailbox.
pub fn local_courier(app: &App) -> recert_app::outbox::Courier {
    recert_app::outbox::Courier {
        store: app.store.clone(),
        mailer: Arc::new(recert_notify::mailbox::MailboxMailer::new(mailbox_dir())),
        links: recert_notify::templates::LinkBase::from_env().unwrap_or_default(),
        clock: app.clock.clone(),
    }
}

/// State for tests and the local server: given store, HS256 secret, clock.
pub fn state_with(
    store: Arc<dyn Store>,
    secret: &[u8],
    rules: RuleBook,
    clock: Arc<dyn Clock>,
) -> Result<AppState, String> {
    let auth = Authenticator::hs256(secret, DEFAULT_ISSUER, DEFAULT_AUDIENCE)
        .map_err(|e| e.to_string())?;
    Ok(AppState::new(
        App::new(store, rules, clock),
        auth,
        CursorCodec::new(&derive_cursor_key(secret)),
    ))
}

/// `JWT_HS256_SECRET`, or the secret in `<dir>/dev-jwt-secret`, generated on first use.
pub fn dev_secret(dir: &Path) -> std::io::Result<Vec<u8>> {
    if let Ok(s) = std::env::var("JWT_HS256_SECRET")
        && !s.is_empty()
    {
        return Ok(s.into_bytes());
    }
    let path = dir.join("dev-jwt-secret");
    if let Ok(existing) = std::fs::read_to_string(&path) {
        let s = existing.trim();
        if s.len() >= 32 {
            return Ok(s.as_bytes().to_vec());
        }
    }
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    write_private(&path, &hex)?;
    Ok(hex.into_bytes())
}

/// The key that seals audit seeds in a local run: the KMS key `AUDIT_SEED_KEY_ID` names when set
/// (e.g. against moto or a real account), else a key file `<data dir>/audit-seed.key` generated on
/// first use (mode 0600, git-ignored; this machine only).
pub async fn seed_key() -> Result<Arc<dyn recert_keys::Sealer>, String> {
    if std::env::var_os(recert_keys::kms::KEY_ID_ENV).is_some() {
        return Ok(Arc::new(audits::seed_key(
            recert_app::aws_sdk_config().await,
        )?));
    }
    let key = recert_keys::FileKey::open_or_create(&data_dir().join("audit-seed.key"))
        .map_err(|e| e.to_string())?;
    Ok(Arc::new(key))
}

/// Where the local server keeps its files (`.recert/` under the current directory).
pub fn data_dir() -> PathBuf {
    std::env::var_os("RECERT_DATA_DIR").map_or_else(|| PathBuf::from(".recert"), PathBuf::from)
}

/// The store of a local run: the SQLite file at `db`, or DynamoDB when `TABLE_NAME` is set (e.g.
/// DynamoDB Local, see docs/dynamodb.md).
pub async fn local_store(db: &Path) -> Result<Arc<dyn Store>, String> {
    Ok(match StoreConfig::from_env(&ProcessEnv) {
        Ok(dynamo @ StoreConfig::DynamoDb { .. }) => recert_app::open_store(&dynamo)
            .await
            .map_err(|e| e.to_string())?,
        _ => {
            Arc::new(SqliteStore::open(db).map_err(|e| format!("store at {}: {e}", db.display()))?)
        }
    })
}

/// The state the local server runs on: [`local_store`], the dev secret, the rules, [`clock`].
pub async fn local_state(
    db: &Path,
    rules_path: Option<&Path>,
    today: Option<chrono::NaiveDate>,
) -> Result<AppState, String> {
    let secret = dev_secret(&data_dir()).map_err(|e| format!("dev secret: {e}"))?;
    let store = local_store(db).await?;
    let rules = load_rules(rules_path).map_err(|e| e.to_string())?;
    state_with(store, &secret, rules, clock(today))
}

#[cfg(test)]
mod tests {
    use super::mailbox_dir_from;
    use std::path::{Path, PathBuf};

    #[test]
    fn the_mailbox_is_recert_mailbox_dir_else_in_the_data_directory() {
        let data = Path::new("/tmp/data");
        assert_eq!(
            mailbox_dir_from(Some("/srv/mail".into()), data),
            PathBuf::from("/srv/mail")
        );
        assert_eq!(
            mailbox_dir_from(Some("".into()), data),
            data.join("mailbox")
        );
        assert_eq!(mailbox_dir_from(None, data), data.join("mailbox"));
    }
}
