//! Where moto (SES v2, S3, Secrets Manager, KMS on loopback) runs for the adapters' tests: shared by the
//! test crates that include this file (`#[path = "…/shared/test-support/moto.rs"] mod moto;`).
//! `scripts/test-all` starts moto and sets `RECERT_MOTO_ENDPOINT`, so there these tests never skip.

use std::io::Write;

pub(crate) const ENDPOINT_ENV: &str = "RECERT_MOTO_ENDPOINT";
const DEFAULT_ADDR: &str = "127.0.0.1:5055";

/// Where moto is, or `None` (after saying so) when it is not there and need not be.
pub(crate) async fn endpoint() -> Option<String> {
    if let Some(e) = std::env::var(ENDPOINT_ENV).ok().filter(|e| !e.is_empty()) {
        return Some(e.trim_end_matches('/').to_owned());
    }
    if tokio::net::TcpStream::connect(DEFAULT_ADDR).await.is_ok() {
        return Some(format!("http://{DEFAULT_ADDR}"));
    }
    // Straight to the process's stderr: libtest does not capture it, so the skip shows.
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED: moto is not running and {ENDPOINT_ENV} is unset \
         (run `scripts/moto install && scripts/moto start`, and set {ENDPOINT_ENV} to what it prints)"
    );
    None
}
