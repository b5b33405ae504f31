//! The whole notification flow through SES v2 on moto, on the store `RECERT_TEST_STORE` selects:
//! issue a certification (the welcome is queued in the same commit), deliver it through the SES
//! adapter, run the window-opens job on the day the window opens, deliver the reminder that names
//! the missing hours; run the job again and nothing new is queued or sent. moto keeps what SES
//! "sent" at `GET <endpoint>/moto-api/data.json` (`ses.Message[]`, the HTML part only).
//! `RECERT_MOTO_ENDPOINT` names moto (`scripts/test-all` starts it); without it this test SKIPs.

use crate::helpers::*;
use crate::notifications::{app_on, at, courier, pending, private_app};
use recert_app::jobs::Job;
use recert_app::outbox::Delivered;
use recert_domain::{CertificationId, Delivery};
use recert_notify::ses::{SesConfig, SesMailer, local_client};
use serde_json::Value;
use std::io::Write;
use std::sync::Arc;

fn moto() -> Option<String> {
    let endpoint = std::env::var("RECERT_MOTO_ENDPOINT")
        .ok()
        .filter(|e| !e.is_empty());
    if endpoint.is_none() {
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: RECERT_MOTO_ENDPOINT is unset (scripts/test-all starts moto's SES)"
        );
    }
    endpoint.map(|e| e.trim_end_matches('/').to_owned())
}

/// What moto recorded as sent, by message id: (recipient, subject, HTML body).
fn sent_by_moto(endpoint: &str, id: &str) -> Option<(String, String, String)> {
    let data: Value = ureq::get(format!("{endpoint}/moto-api/data.json"))
        .call()
        .ok()?
        .body_mut()
        .read_json()
        .ok()?;
    let messages = data["ses"]["Message"].as_array()?;
    let m = messages.iter().find(|m| m["id"] == id)?;
    Some((
        m["destinations"]["ToAddresses"][0].as_str()?.to_owned(),
        m["subject"].as_str()?.to_owned(),
        m["body"].as_str()?.to_owned(),
    ))
}

async fn sent_id(app: &TestApp, id: CertificationId, message: uuid::Uuid) -> String {
    match app
        .store
        .outbox_message(id, message)
        .await
        .unwrap()
        .unwrap()
        .delivery
    {
        Delivery::Sent { provider_id, .. } => provider_id,
        other => panic!("not sent: {other:?}"),
    }
}

#[tokio::test]
async fn the_whole_flow_through_ses_on_moto() {
    let Some(endpoint) = moto() else { return };
    let client = local_client(&endpoint);
    let sender = format!("no-reply-{}@example.org", uuid::Uuid::now_v7().simple());
    client
        .create_email_identity()
        .email_identity(&sender)
        .send()
        .await
        .unwrap();
    let ses = Arc::new(SesMailer::new(
        client,
        SesConfig {
            sender,
            configuration_set: None,
        },
    ));
    let app = private_app("2026-01-10").await;
    let (_, cert, token) = app.enrol("CPHIMS", "2023-09-01", "2026-08-31").await;
    let id: CertificationId = cert.parse().unwrap();
    app.log(
        &cert,
        &token,
        entry("Conference", "society", 10, 2, "2025-05-01"),
    )
    .await;

    // The welcome.
    let welcome = pending(app.store.as_ref(), id).await.remove(0);
    let to = welcome.recipient.email.clone();
    let c = courier(&app, ses.clone(), at("2026-01-10"));
    assert_eq!(c.deliver(id, welcome.id).await.unwrap(), Delivered::Sent);
    let (rcpt, subject, body) = sent_by_moto(&endpoint, &sent_id(&app, id, welcome.id).await)
        .expect("moto recorded the welcome");
    assert!(rcpt.contains(to.as_str()), "{rcpt}");
    assert!(subject.contains("CPHIMS"), "{subject}");
    assert!(body.contains("28 February 2026") && body.contains("45.00 h"));

    // The window opens: one reminder with the gap, however often the job runs.
    let day = d("2026-02-28");
    let first = Job::WindowOpens
        .run(&app_on(&app, "2026-02-28"), day)
        .await
        .unwrap();
    assert_eq!(first.acted, 1);
    let reminder = pending(app.store.as_ref(), id).await.remove(0);
    let c = courier(&app, ses.clone(), at("2026-02-28"));
    assert_eq!(c.sweep().await.unwrap().sent, 1);
    let (_, subject, body) = sent_by_moto(&endpoint, &sent_id(&app, id, reminder.id).await)
        .expect("moto recorded the reminder");
    assert!(subject.to_lowercase().contains("window"), "{subject}");
    assert!(
        body.contains("35.00 h"),
        "the reminder names the missing hours"
    );
    let again = Job::WindowOpens
        .run(&app_on(&app, "2026-02-28"), day)
        .await
        .unwrap();
    assert_eq!(again.acted, 0);
    assert_eq!(c.sweep().await.unwrap().examined, 0, "nothing new to send");
}
