//! The local mailbox: on the local server, outbox messages are delivered to `.eml` files under
//! `<data dir>/mailbox` (by [`recert_app::outbox::Courier`], as the Lambdas deliver them through
//! SES), and staff read them over HTTP:
//!
//! - `GET /dev/mailbox` — the messages, newest first (id, recipient, subject, when);
//! - `GET /dev/mailbox/{id}` — one message as it was sent (`message/rfc822`).
//!
//! Local builds only: these routes are not in the OpenAPI document and no Lambda serves them.

use axum::Extension;
use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use recert_api::{ApiError, AppState, Path, Principal, Role};
use recert_notify::mailbox::MailboxMailer;
use serde::Serialize;
use std::sync::Arc;

/// The mailbox behind the dev routes.
#[derive(Debug, Clone)]
pub struct Mailbox(pub Arc<MailboxMailer>);

#[derive(Debug, Serialize)]
struct Listed {
    id: String,
    to: String,
    subject: String,
    sent_at: String,
}

#[derive(Debug, Serialize)]
struct Listing {
    messages: Vec<Listed>,
}

/// Staff only: the mailbox holds every certificant's mail.
fn staff(principal: &Principal) -> Result<(), ApiError> {
    principal.require(&Role::STAFF)
}

async fn list(
    Extension(mailbox): Extension<Mailbox>,
    principal: Principal,
) -> Result<axum::Json<Listing>, ApiError> {
    staff(&principal)?;
    let entries = mailbox.0.list().map_err(ApiError::internal)?;
    Ok(axum::Json(Listing {
        messages: entries
            .into_iter()
            .map(|e| Listed {
                id: e.id,
                to: e.to,
                subject: e.subject,
                sent_at: e.sent_at.to_rfc3339(),
            })
            .collect(),
    }))
}

async fn read(
    Extension(mailbox): Extension<Mailbox>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    staff(&principal)?;
    let raw = mailbox
        .0
        .read(&id)
        .map_err(ApiError::internal)?
        .ok_or(ApiError::NotFound("message"))?;
    let mut res = raw.into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("message/rfc822"),
    );
    Ok(res)
}

/// The dev routes over `mailbox`, authenticated like every route.
pub fn routes(mailbox: Mailbox) -> Router<AppState> {
    Router::new()
        .route("/dev/mailbox", get(list))
        .route("/dev/mailbox/{id}", get(read))
        .layer(Extension(mailbox))
}
