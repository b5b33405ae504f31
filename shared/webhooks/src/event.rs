//! The provider-neutral payment event and the mapping of each scheme's body onto it (see the
//! crate docs for the shapes). Error texts name fields, never their content.

use crate::WebhookError;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

/// What happened to a payment.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PaymentKind {
    /// The payment went through.
    Succeeded,
    /// The payment attempt failed.
    Failed,
    /// The payment was refunded (fully or partly: see `amount_minor`).
    Refunded,
    /// Any other event type, as sent (ignored by the application but acknowledged).
    Other(String),
}

/// One verified payment notification, whatever the processor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentEvent {
    /// The processor's event id, the deduplication key: Stripe's body `id` (`evt_…`); Standard
    /// Webhooks' `webhook-id` header.
    pub event_id: String,
    /// What happened.
    pub kind: PaymentKind,
    /// Recert's order number (`R-…`), when the processor echoes it.
    pub order_number: Option<String>,
    /// The amount in minor units (cents); for a refund, the refunded amount.
    pub amount_minor: Option<i64>,
    /// The ISO 4217 currency code, upper-cased (`USD`).
    pub currency: Option<String>,
    /// The processor's payment id (a refund carries the refunded payment's id).
    pub payment_reference: Option<String>,
    /// When the event happened at the processor.
    pub occurred_at: Option<DateTime<Utc>>,
}

impl PaymentEvent {
    fn bare(event_id: &str, kind: PaymentKind, occurred_at: Option<DateTime<Utc>>) -> Self {
        PaymentEvent {
            event_id: event_id.to_owned(),
            kind,
            order_number: None,
            amount_minor: None,
            currency: None,
            payment_reference: None,
            occurred_at,
        }
    }
}

/// A Stripe event body.
pub(crate) fn from_stripe(body: &[u8]) -> Result<PaymentEvent, WebhookError> {
    let root = parse_object(body)?;
    let event_id = required_str(&root, "id", "id")?;
    let kind = match required_str(&root, "type", "type")? {
        "payment_intent.succeeded" => PaymentKind::Succeeded,
        "payment_intent.payment_failed" => PaymentKind::Failed,
        "charge.refunded" => PaymentKind::Refunded,
        other => PaymentKind::Other(other.to_owned()),
    };
    let occurred_at = match root.get("created") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => Some(
            n.as_i64()
                .and_then(|secs| DateTime::from_timestamp(secs, 0))
                .ok_or_else(|| bad("`created` is not a Unix timestamp in range"))?,
        ),
        Some(Value::String(text)) => Some(parse_rfc3339(text, "created")?),
        Some(_) => return Err(bad("`created` is not a Unix timestamp")),
    };
    let mut event = PaymentEvent::bare(event_id, kind, occurred_at);
    if matches!(event.kind, PaymentKind::Other(_)) {
        return Ok(event);
    }

    let data = required_object(&root, "data", "data")?;
    let object = required_object(data, "object", "data.object")?;
    event.order_number = match opt_object(object, "metadata", "data.object.metadata")? {
        Some(metadata) => opt_str(
            metadata,
            "order_number",
            "data.object.metadata.order_number",
        )?
        .map(owned),
        None => None,
    };
    event.currency = opt_currency(object, "currency", "data.object.currency")?;
    let own_id = opt_str(object, "id", "data.object.id")?;
    if event.kind == PaymentKind::Refunded {
        // A Charge: report the refunded amount and the PaymentIntent it belongs to.
        event.amount_minor =
            match opt_i64(object, "amount_refunded", "data.object.amount_refunded")? {
                Some(refunded) => Some(refunded),
                None => opt_i64(object, "amount", "data.object.amount")?,
            };
        let intent = match object.get("payment_intent") {
            None | Some(Value::Null) => None,
            Some(Value::String(id)) => Some(id.as_str()),
            // Expanded: the PaymentIntent object itself.
            Some(Value::Object(intent)) => opt_str(intent, "id", "data.object.payment_intent.id")?,
            Some(_) => return Err(bad("`data.object.payment_intent` is not an id")),
        };
        event.payment_reference = intent.or(own_id).map(owned);
    } else {
        event.amount_minor = opt_i64(object, "amount", "data.object.amount")?;
        event.payment_reference = own_id.map(owned);
    }
    Ok(event)
}

/// Recert's neutral body, delivered with Standard Webhooks; `event_id` is the `webhook-id` header.
pub(crate) fn from_standard(body: &[u8], event_id: &str) -> Result<PaymentEvent, WebhookError> {
    let root = parse_object(body)?;
    let kind = match required_str(&root, "type", "type")? {
        "payment.succeeded" => PaymentKind::Succeeded,
        "payment.failed" => PaymentKind::Failed,
        "payment.refunded" => PaymentKind::Refunded,
        other => PaymentKind::Other(other.to_owned()),
    };
    let occurred_at = opt_str(&root, "timestamp", "timestamp")?
        .map(|text| parse_rfc3339(text, "timestamp"))
        .transpose()?;
    let mut event = PaymentEvent::bare(event_id, kind, occurred_at);
    if matches!(event.kind, PaymentKind::Other(_)) {
        return Ok(event);
    }

    let data = required_object(&root, "data", "data")?;
    event.order_number = opt_str(data, "order_number", "data.order_number")?.map(owned);
    event.amount_minor = opt_i64(data, "amount_minor", "data.amount_minor")?;
    event.currency = opt_currency(data, "currency", "data.currency")?;
    event.payment_reference = opt_str(data, "payment_id", "data.payment_id")?.map(owned);
    Ok(event)
}

fn bad(what: impl Into<String>) -> WebhookError {
    WebhookError::BadPayload(what.into())
}

fn owned(s: &str) -> String {
    s.to_owned()
}

fn parse_object(body: &[u8]) -> Result<Map<String, Value>, WebhookError> {
    // serde_json's messages can quote the input; keep only the position.
    match serde_json::from_slice(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(bad("body is not a JSON object")),
        Err(e) => Err(bad(format!(
            "body is not JSON (line {}, column {})",
            e.line(),
            e.column()
        ))),
    }
}

/// A non-empty string field; absent, null, empty or another type is an error.
fn required_str<'v>(
    map: &'v Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<&'v str, WebhookError> {
    opt_str(map, key, path)?
        .filter(|s| !s.is_empty())
        .ok_or_else(|| bad(format!("missing string `{path}`")))
}

/// A string field; absent or null is `None`, another type is an error.
fn opt_str<'v>(
    map: &'v Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<Option<&'v str>, WebhookError> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(bad(format!("`{path}` is not a string"))),
    }
}

/// An integer field; absent or null is `None`, another type (or a fraction) is an error.
fn opt_i64(map: &Map<String, Value>, key: &str, path: &str) -> Result<Option<i64>, WebhookError> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => value
            .as_i64()
            .map(Some)
            .ok_or_else(|| bad(format!("`{path}` is not an integer"))),
    }
}

/// An object field; absent or null is `None`, another type is an error.
fn opt_object<'v>(
    map: &'v Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<Option<&'v Map<String, Value>>, WebhookError> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(inner)) => Ok(Some(inner)),
        Some(_) => Err(bad(format!("`{path}` is not an object"))),
    }
}

fn required_object<'v>(
    map: &'v Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<&'v Map<String, Value>, WebhookError> {
    opt_object(map, key, path)?.ok_or_else(|| bad(format!("missing object `{path}`")))
}

/// A three-letter currency code, returned upper-cased.
fn opt_currency(
    map: &Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<Option<String>, WebhookError> {
    match opt_str(map, key, path)? {
        None => Ok(None),
        Some(code) if code.len() == 3 && code.bytes().all(|b| b.is_ascii_alphabetic()) => {
            Ok(Some(code.to_ascii_uppercase()))
        }
        Some(_) => Err(bad(format!("`{path}` is not a three-letter ISO 4217 code"))),
    }
}

fn parse_rfc3339(text: &str, path: &str) -> Result<DateTime<Utc>, WebhookError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| bad(format!("`{path}` is not an RFC 3339 date-time")))
}
