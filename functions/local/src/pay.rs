//! `recert-local pay <order number> [--amount N] [--currency C]`: play the payment processor. Sends
//! the local server a Stripe-style `payment_intent.succeeded` event for the order, signed with the
//! local webhook secret exactly as the processor signs (`Stripe-Signature`), so the whole path —
//! signature, event applied once, receipt email — runs locally.

use crate::{data_dir, dev_webhooks};
use std::io::Write;

/// The server's time: a server rehearsing a date (`--today`, the `recert-today` header) lives at
/// noon of that day, and checks a webhook's timestamp against it; otherwise now.
fn server_now(api: &str) -> chrono::DateTime<chrono::Utc> {
    let today = ureq::get(format!("{api}/health"))
        .call()
        .ok()
        .and_then(|r| r.headers().get("recert-today")?.to_str().ok()?.parse().ok());
    match today {
        Some(day) => recert_domain::Clock::now(&recert_domain::FixedClock::on(day)),
        None => chrono::Utc::now(),
    }
}

/// POST the event to `<api>/webhooks/payments`; print the server's answer.
pub fn run(api: &str, order: &str, amount_minor: i64, currency: &str) -> Result<(), String> {
    let verifier = dev_webhooks(&data_dir())?;
    let api = api.trim_end_matches('/');
    let now = server_now(api);
    let event_id = format!("evt_local_{}", uuid::Uuid::now_v7().simple());
    let body = serde_json::json!({
        "id": event_id,
        "type": "payment_intent.succeeded",
        "created": now.timestamp(),
        "data": {"object": {
            "id": format!("pi_local_{}", uuid::Uuid::now_v7().simple()),
            "amount": amount_minor,
            "currency": currency.to_ascii_lowercase(),
            "metadata": {"order_number": order},
        }},
    })
    .to_string();
    let mut request =
        ureq::post(format!("{api}/webhooks/payments")).header("content-type", "application/json");
    for (name, value) in verifier.sign(body.as_bytes(), now, &event_id) {
        request = request.header(name, value);
    }
    let agent_answer = request
        .config()
        .http_status_as_error(false)
        .build()
        .send(body.as_bytes())
        .map_err(|e| format!("cannot reach {api}: {e}"))?;
    let status = agent_answer.status().as_u16();
    let text = agent_answer
        .into_body()
        .read_to_string()
        .unwrap_or_default();
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{status} {text}");
    if status == 200 {
        Ok(())
    } else {
        Err(format!("the server answered {status}"))
    }
}
