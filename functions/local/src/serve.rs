//! Serving and token minting for the `recert-local` binary.

use crate::{app, data_dir, dev_secret, local_state};
use recert_api::Role;
use recert_api::auth::Authenticator;
use recert_api::config::{DEFAULT_AUDIENCE, DEFAULT_ISSUER};
use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;

/// Serve until Ctrl-C or SIGTERM, then finish in-flight requests and exit.
pub async fn run(addr: SocketAddr, db: &Path, rules: Option<&Path>) -> Result<(), String> {
    let state = local_state(db, rules).await?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let bound = listener.local_addr().map_err(|e| e.to_string())?;

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
    let _ = out.flush();
    drop(out);
    axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(|e| e.to_string())?;
    tracing::info!("stopped");
    Ok(())
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
