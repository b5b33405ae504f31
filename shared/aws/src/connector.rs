//! The AWS SDK's HTTP client in Lambda: HTTP/1.1 over hyper, TLS by rustls on ring, trusting the
//! roots it is given (the compiled-in Amazon Trust Services roots: [`crate::AWS_ROOTS_PEM`]).
//!
//! Why not the SDK's default client (`aws-smithy-http-client`, the `default-https-client` feature):
//! it always links HTTP/2 (`h2` and hyper's `http2`), proxy support and the native-roots loader,
//! which no function needs: every endpoint a function calls (DynamoDB, SES v2, S3, Secrets
//! Manager) serves HTTP/1.1, and none of the calls is an event stream. Left out, each arm64
//! bootstrap is smaller (docs/performance.md, "Package size"). What the default client does that
//! matters to us is kept here:
//!
//! - the connect timeout of the SDK client's `TimeoutConfig` bounds the TCP connection and the TLS
//!   handshake, its read timeout the wait for the response head;
//! - connections are pooled and reused (one pool per set of timeouts, as the SDK asks for a
//!   connector per set);
//! - failures are classified the way the SDK's retry strategy reads them: a timeout is a timeout,
//!   a refused, reset or closed connection is an I/O error (both retried), anything else is not
//!   retried.

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector as TcpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use std::error::Error as StdError;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::error::Elapsed;

type BoxError = Box<dyn StdError + Send + Sync>;

/// An [`HttpClient`] for the SDK's clients (set on the shared configuration: every client built
/// from it uses this one).
#[derive(Clone)]
pub struct HttpsClient {
    tls: Arc<rustls::ClientConfig>,
    /// The connectors handed out so far, by their timeouts: one connection pool each.
    connectors: Arc<Mutex<Vec<(Timeouts, SharedHttpConnector)>>>,
}

impl std::fmt::Debug for HttpsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpsClient").finish_non_exhaustive()
    }
}

/// The connect and read timeouts of [`HttpConnectorSettings`].
type Timeouts = (Option<Duration>, Option<Duration>);

impl HttpsClient {
    /// A client trusting only the certificates in `roots_pem` (a PEM bundle), on ring.
    pub fn trusting(roots_pem: &[u8]) -> Result<Self, rustls::Error> {
        let mut roots = rustls::RootCertStore::empty();
        roots.add_parsable_certificates(
            CertificateDer::pem_slice_iter(roots_pem).filter_map(Result::ok),
        );
        if roots.is_empty() {
            return Err(rustls::Error::General(
                "no usable root certificate in the bundle".into(),
            ));
        }
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
        Ok(Self {
            tls: Arc::new(tls),
            connectors: Arc::default(),
        })
    }

    fn connector(&self, (connect, read): Timeouts) -> Connector {
        let mut tcp = TcpConnector::new();
        tcp.enforce_http(false);
        tcp.set_nodelay(true);
        let https = HttpsConnectorBuilder::new()
            .with_tls_config((*self.tls).clone())
            .https_or_http()
            .enable_http1()
            .wrap_connector(tcp);
        let connect = Connect {
            https,
            timeout: connect,
        };
        Connector {
            client: Client::builder(TokioExecutor::new())
                .pool_timer(TokioTimer::new())
                .build(connect),
            read_timeout: read,
        }
    }
}

type Https = HttpsConnector<TcpConnector>;
type Stream = <Https as tower::Service<http::Uri>>::Response;
type ConnectFuture = Pin<Box<dyn Future<Output = Result<Stream, BoxError>> + Send>>;

/// The TLS connector with the connect timeout over the TCP connection and the TLS handshake.
#[derive(Clone)]
struct Connect {
    https: Https,
    timeout: Option<Duration>,
}

impl tower::Service<http::Uri> for Connect {
    type Response = Stream;
    type Error = BoxError;
    type Future = ConnectFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.https.poll_ready(cx)
    }

    fn call(&mut self, uri: http::Uri) -> ConnectFuture {
        let connecting = self.https.call(uri);
        let timeout = self.timeout;
        Box::pin(async move {
            match timeout {
                Some(limit) => tokio::time::timeout(limit, connecting).await?,
                None => connecting.await,
            }
        })
    }
}

impl HttpClient for HttpsClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        let timeouts = (settings.connect_timeout(), settings.read_timeout());
        let mut connectors = self
            .connectors
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some((_, connector)) = connectors.iter().find(|(t, _)| *t == timeouts) {
            return connector.clone();
        }
        let connector = SharedHttpConnector::new(self.connector(timeouts));
        connectors.push((timeouts, connector.clone()));
        connector
    }
}

/// One connection pool and its read timeout.
struct Connector {
    client: Client<Connect, SdkBody>,
    read_timeout: Option<Duration>,
}

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connector")
            .field("read_timeout", &self.read_timeout)
            .finish_non_exhaustive()
    }
}

impl HttpConnector for Connector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let request = match request.try_into_http1x() {
            Ok(request) => request,
            Err(error) => {
                return HttpConnectorFuture::ready(Err(ConnectorError::user(error.into())));
            }
        };
        let sent = self.client.request(request);
        let read_timeout = self.read_timeout;
        HttpConnectorFuture::new(async move {
            let response = match read_timeout {
                Some(limit) => tokio::time::timeout(limit, sent)
                    .await
                    .map_err(|elapsed| ConnectorError::timeout(elapsed.into()))?,
                None => sent.await,
            }
            .map_err(classify)?;
            HttpResponse::try_from(response.map(SdkBody::from_body_1_x))
                .map_err(|error| ConnectorError::other(error.into(), None))
        })
    }
}

/// What the SDK's retry strategy should make of a failed exchange.
fn classify(error: hyper_util::client::legacy::Error) -> ConnectorError {
    let timed_out = causes(&error).any(|cause| cause.is::<Elapsed>());
    let io = error.is_connect()
        || causes(&error).any(|cause| {
            cause.is::<std::io::Error>()
                || cause
                    .downcast_ref::<hyper::Error>()
                    .is_some_and(|e| e.is_closed() || e.is_incomplete_message() || e.is_canceled())
        });
    if timed_out {
        ConnectorError::timeout(error.into())
    } else if io {
        ConnectorError::io(error.into())
    } else {
        ConnectorError::other(error.into(), None)
    }
}

/// An error and its sources, outermost first.
fn causes<'a>(
    error: &'a (dyn StdError + 'static),
) -> impl Iterator<Item = &'a (dyn StdError + 'static)> {
    std::iter::successors(Some(error), |&e| e.source())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use aws_sdk_dynamodb::config::retry::RetryConfig;
    use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
    use aws_sdk_dynamodb::error::SdkError;
    use aws_smithy_runtime_api::client::result::DispatchFailure;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// A DynamoDB client through [`HttpsClient`] to `endpoint`, without retries.
    fn dynamodb(endpoint: &str, timeouts: TimeoutConfig) -> aws_sdk_dynamodb::Client {
        let sdk = crate::emulator(endpoint);
        assert!(sdk.http_client().is_some());
        aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::config::Builder::from(&sdk)
                .retry_config(RetryConfig::disabled())
                .timeout_config(timeouts)
                .build(),
        )
    }

    /// A local server answering every request on a connection with `ListTables` naming `t`, and
    /// counting the connections it accepted.
    async fn list_tables_server() -> (String, Arc<AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = accepted.clone();
        tokio::spawn(async move {
            loop {
                let (mut socket, _) = listener.accept().await.unwrap();
                counter.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 64 * 1024];
                    let mut seen = Vec::new();
                    loop {
                        let n = socket.read(&mut buf).await.unwrap_or(0);
                        if n == 0 {
                            return;
                        }
                        seen.extend_from_slice(&buf[..n]);
                        // One request: its head and the body its Content-Length announces.
                        let Some(head_end) = seen.windows(4).position(|w| w == b"\r\n\r\n") else {
                            continue;
                        };
                        let head = String::from_utf8_lossy(&seen[..head_end]).to_lowercase();
                        let length: usize = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .map_or(0, |v| v.trim().parse().unwrap());
                        if seen.len() < head_end + 4 + length {
                            continue;
                        }
                        seen.drain(..head_end + 4 + length);
                        let body = r#"{"TableNames":["t"]}"#;
                        let response = format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.0\r\n\
                             content-length: {}\r\n\r\n{body}",
                            body.len()
                        );
                        socket.write_all(response.as_bytes()).await.unwrap();
                    }
                });
            }
        });
        (endpoint, accepted)
    }

    /// A local server that accepts connections and never answers.
    async fn silent_server() -> std::net::SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let mut open = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                open.push(socket);
            }
        });
        addr
    }

    /// How a `ListTables` call to `endpoint` failed to dispatch (any other outcome panics).
    async fn failed_dispatch(endpoint: &str, timeouts: TimeoutConfig) -> DispatchFailure {
        let error = dynamodb(endpoint, timeouts)
            .list_tables()
            .send()
            .await
            .unwrap_err();
        match error {
            SdkError::DispatchFailure(failure) => failure,
            other => panic!("{other:?}"),
        }
    }

    fn timeouts(connect: Duration, read: Duration) -> TimeoutConfig {
        TimeoutConfig::builder()
            .connect_timeout(connect)
            .read_timeout(read)
            .build()
    }

    #[tokio::test]
    async fn a_response_reaches_the_sdk_and_the_connection_is_reused() {
        let (endpoint, accepted) = list_tables_server().await;
        let client = dynamodb(&endpoint, TimeoutConfig::builder().build());
        for _ in 0..3 {
            let tables = client.list_tables().send().await.unwrap();
            assert_eq!(tables.table_names(), ["t"]);
        }
        assert_eq!(accepted.load(Ordering::SeqCst), 1, "one pooled connection");
    }

    #[tokio::test]
    async fn a_refused_connection_is_an_io_error() {
        let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", closed.local_addr().unwrap());
        drop(closed);
        let failure = failed_dispatch(&endpoint, TimeoutConfig::builder().build()).await;
        assert!(failure.is_io(), "{failure:?}");
    }

    #[tokio::test]
    async fn no_response_head_within_the_read_timeout_is_a_timeout() {
        let addr = silent_server().await;
        let failure = failed_dispatch(
            &format!("http://{addr}"),
            timeouts(Duration::from_secs(5), Duration::from_millis(200)),
        )
        .await;
        assert!(failure.is_timeout(), "{failure:?}");
    }

    /// The connect timeout covers the TLS handshake: a server that takes the TCP connection but
    /// never answers the ClientHello times out after it, not after the (longer) read timeout.
    #[tokio::test]
    async fn a_stalled_tls_handshake_is_a_connect_timeout() {
        let addr = silent_server().await;
        let started = std::time::Instant::now();
        let failure = failed_dispatch(
            &format!("https://{addr}"),
            timeouts(Duration::from_millis(200), Duration::from_secs(30)),
        )
        .await;
        assert!(failure.is_timeout(), "{failure:?}");
        assert!(started.elapsed() < Duration::from_secs(10));
    }
}
