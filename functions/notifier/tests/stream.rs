//! The notifier as Lambda runs it: a DynamoDB stream event (the JSON Lambda delivers, keys only)
//! naming an outbox message, handled over the embedded store with the file mailbox: the message
//! is sent once however often the record is delivered; a record naming no message is no failure.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::NaiveDate;
use recert_app::outbox::Courier;
use recert_domain::usecase::lifecycle::issue_with_welcome;
use recert_domain::{
    Actor, CertificantId, Certification, CertificationId, CertificationStatus, Credential,
    Delivery, FixedClock, Recipient, Role, RuleBook,
};
use recert_notify::mailbox::MailboxMailer;
use recert_notify::templates::LinkBase;
use recert_store::Store;
use recert_store::sqlite::SqliteStore;
use std::sync::Arc;

const FIXTURE: &str = include_str!("fixtures/stream-outbox-insert.json");

#[tokio::test]
async fn an_outbox_insert_on_the_stream_is_sent_once_and_unknown_messages_are_no_failure() {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().unwrap());
    let day = NaiveDate::from_ymd_opt(2026, 1, 10).unwrap();
    let clock = FixedClock::on(day);
    let certification = Certification {
        id: CertificationId(uuid::Uuid::now_v7()),
        certificant_id: CertificantId(uuid::Uuid::now_v7()),
        credential: Credential::Cphims,
        certificate_number: "CPHIMS-1".into(),
        cycle_starts_on: NaiveDate::from_ymd_opt(2025, 1, 1).unwrap(),
        expires_on: NaiveDate::from_ymd_opt(2027, 12, 31).unwrap(),
        extended_to: None,
        status: CertificationStatus::Active,
        created_at: clock.0,
        updated_at: clock.0,
        version: 0,
        renewed_by: None,
    };
    let id = certification.id;
    let recipient = Recipient {
        certificant_id: certification.certificant_id,
        email: recert_domain::Email::parse("ada@example.org").unwrap(),
        full_name: "Ada Lovelace".into(),
    };
    let message = uuid::Uuid::now_v7();
    let rules = RuleBook::default_rules();
    let admin = Actor::Staff {
        subject: "admin-1".into(),
        role: Role::Admin,
    };
    let changes = issue_with_welcome(
        certification,
        rules.for_cycle_starting(day),
        recipient,
        message,
        &admin,
        clock.0,
    );
    store.commit(&changes).await.unwrap();

    let dir = std::env::temp_dir().join(format!("recert-notifier-{}", uuid::Uuid::now_v7()));
    let mailbox = Arc::new(MailboxMailer::new(dir));
    let courier = Courier {
        store: store.clone(),
        mailer: mailbox.clone(),
        links: LinkBase::default(),
        clock: Arc::new(clock),
    };
    let json = FIXTURE
        .replace("__CERTIFICATION__", &id.to_string())
        .replace("__MESSAGE__", &message.to_string())
        .replace("__UNKNOWN__", &uuid::Uuid::now_v7().to_string());
    let event: notifier::StreamEvent = serde_json::from_str(&json).unwrap();
    assert_eq!(notifier::outbox_key(&event.records[0]), Some((id, message)));

    // Delivered, then redelivered by the stream: one email.
    for _ in 0..2 {
        let response = notifier::handle_stream(&courier, event.clone()).await;
        assert!(response.batch_item_failures.is_empty(), "{response:?}");
    }
    assert_eq!(mailbox.list().unwrap().len(), 1);
    let stored = store.outbox_message(id, message).await.unwrap().unwrap();
    assert!(
        matches!(stored.delivery, Delivery::Sent { .. }),
        "{stored:?}"
    );
    // The partial batch response serializes as Lambda expects it.
    let empty = serde_json::to_value(notifier::BatchResponse::default()).unwrap();
    assert_eq!(empty, serde_json::json!({"batchItemFailures": []}));
}
