//! What every router gets: the health endpoint, problem+json fallbacks, body limit, catch-panic
//! (a bug is a 500 problem, not a dead process) and request tracing without headers or bodies.

use crate::error::{ApiError, Problem, problem_response};
use crate::extract::MAX_BODY_BYTES;
use crate::routes::Routes;
use crate::state::AppState;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use std::any::Any;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Health {
    pub status: &'static str,
}

/// Liveness: the process answers. (It does not touch the store: a health check must be cheap.)
#[utoipa::path(get, path = "/health", tag = "health", security(), responses((status = 200, body = Health)))]
pub async fn health() -> axum::Json<Health> {
    axum::Json(Health { status: "ok" })
}

fn panic_to_problem(_: Box<dyn Any + Send + 'static>) -> Response {
    // The panic message may contain request data: it is not logged here (the panic hook printed
    // the location already) and never sent.
    tracing::error!("handler panicked");
    problem_response(&ApiError::Internal("panic".into()).problem())
}

async fn not_found() -> ApiError {
    ApiError::NotFound("route")
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

/// The routes every function serves besides its own.
pub fn shared_routes() -> Routes {
    crate::routes![health]
}

/// Finish a function's router: add health, fallbacks and the shared layers, then bind the state.
pub fn finish(routes: Router<AppState>, state: AppState) -> Router {
    routes
        .merge(shared_routes().into_router())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        // Answers carry personal data: never cached, never sniffed into another type.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
                // Method and matched path template only: no headers (tokens), no query, no body.
                let route = req
                    .extensions()
                    .get::<axum::extract::MatchedPath>()
                    .map_or("unmatched", |p| p.as_str())
                    .to_owned();
                tracing::info_span!("request", method = %req.method(), route)
            }),
        )
        .layer(CatchPanicLayer::custom(panic_to_problem))
        .with_state(state)
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        problem_response(&self)
    }
}
