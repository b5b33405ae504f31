//! Serving and token minting for the `recert-local` binary.

use crate::mailbox::Mailbox;
use crate::{
    app_with, data_dir, dev_secret, dev_webhooks, local_courier, local_evidence, local_state,
    mailbox_dir,
};
use axum::http::HeaderValue;
use recert_api::Role;
use recert_api::auth::Authenticator;
use recert_api::config::{DEFAULT_AUDIENCE, DEFAULT_ISSUER};
use recert_notify::mailbox::MailboxMailer;
use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

/// How often the local server delivers the outbox into its mailbox.
const SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// Serve until Ctrl-C or SIGTERM, then finish in-flight requests and exit. With `today`, the
/// server runs as of that date (every response says so in `recert-today`).
pub async fn run(
    addr: SocketAddr,
    db: &Path,
    rules: Option<&Path>,
    today: Option<chrono::NaiveDate>,
) -> Result<(), String> {
    let state = local_state(db, rules, today).await?;
    let courier = local_courier(&state.app);
    let mailbox = Mailbox(Arc::new(MailboxMailer::new(mailbox_dir())));
    // The outbox, delivered into the mailbox as the Lambdas' sweeper would (every second here).
    let sweeper = tokio::spawn(async move {
        loop {
            if let Err(e) = courier.sweep().await {
                tracing::warn!(error = %e, "local outbox sweep failed");
            }
            tokio::time::sleep(SWEEP_EVERY).await;
        }
    });
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let bound = listener.local_addr().map_err(|e| e.to_string())?;
    let webhooks = dev_webhooks(&data_dir())?;
    let secret = dev_secret(&data_dir()).map_err(|e| format!("dev secret: {e}"))?;
    let (evidence, uploads) = local_evidence(
        data_dir().join("evidence"),
        &format!("http://{bound}"),
        &secret,
        state.app.clock.clone(),
    )?;
    let mut router =
        app_with(state, webhooks, evidence, crate::mailbox::routes(mailbox)).merge(uploads);
    let cors_origins = allowed_origins()?;
    if !cors_origins.is_empty() {
        router = router.layer(cors(&cors_origins));
    }
    if let Some(day) = today
        && let Ok(value) = HeaderValue::from_str(&day.to_string())
    {
        router = router.layer(tower_http::set_header::SetResponseHeaderLayer::overriding(
            axum::http::HeaderName::from_static("recert-today"),
            value,
        ));
    }

    // Written with `writeln!` and errors ignored: a closed stdout must not stop the server.
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "Recert listening on http://{bound}  (health: http://{bound}/health, docs: http://{bound}/docs/)"
    );
    let _ = writeln!(
        out,
        "Get a token:  cargo run -q -p recert-local -- token --role admin"
    );
    let _ = writeln!(
        out,
        "              cargo run -q -p recert-local -- token --role certificant --sub <certificant id>"
    );
    let _ = writeln!(
        out,
        "Mail goes to the local mailbox: {} (read it: GET /dev/mailbox with a staff token)",
        mailbox_dir().display()
    );
    if let Some(day) = today {
        let _ = writeln!(
            out,
            "Running as of {day} (--today): every response carries recert-today"
        );
    }
    let _ = out.flush();
    drop(out);
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(|e| e.to_string())?;
    sweeper.abort();
    tracing::info!("stopped");
    Ok(())
}

/// The web origins allowed to call the API (`CORS_ALLOWED_ORIGINS`, comma-separated): the same
/// list the template gives API Gateway, which answers preflights in production.
fn allowed_origins() -> Result<Vec<HeaderValue>, String> {
    std::env::var("CORS_ALLOWED_ORIGINS")
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .map(|o| {
            HeaderValue::from_str(o)
                .map_err(|_| format!("CORS_ALLOWED_ORIGINS: {o:?} is not an origin"))
        })
        .collect()
}

/// Cross-origin access for those origins, with the headers clients send and read.
fn cors(origins: &[HeaderValue]) -> tower_http::cors::CorsLayer {
    use axum::http::{HeaderName, Method, header};
    tower_http::cors::CorsLayer::new()
        .allow_origin(origins.to_vec())
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::IF_MATCH,
            HeaderName::from_static("idempotency-key"),
        ])
        .expose_headers([
            header::LOCATION,
            header::ETAG,
            HeaderName::from_static("idempotent-replayed"),
        ])
        .max_age(std::time::Duration::from_secs(600))
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = term => {} }
    tracing::info!("shutting down");
}

/// Print a dev token for `role`/`sub` to stdout.
pub fn print_token(role: Role, sub: &str, ttl_minutes: i64) -> Result<(), String> {
    let secret = dev_secret(&data_dir()).map_err(|e| format!("dev secret: {e}"))?;
    let auth = Authenticator::hs256(&secret, DEFAULT_ISSUER, DEFAULT_AUDIENCE)
        .map_err(|e| e.to_string())?;
    let token = auth
        .mint(
            sub,
            role,
            chrono::Utc::now().timestamp(),
            ttl_minutes.clamp(1, 7 * 24 * 60) * 60,
        )
        .ok_or("cannot mint with this configuration")?;
    #[allow(clippy::print_stdout)]
    {
        println!("{token}");
    }
    Ok(())
}
