//! Email through the transactional outbox (issue 9), on the store `RECERT_TEST_STORE` selects:
//! issuing a certification queues a welcome message in the same commit; the courier claims,
//! sends and records it exactly once however often it is delivered; a failing send is retried
//! later and a refused one is parked; the window-opens job reminds each certificant once, with
//! their gap, however often it runs. Mail goes to a real adapter: a file mailbox here, SES on
//! moto in `ses.rs`. Each test has a store of its own (a new table on DynamoDB), since the sweeper
//! and the jobs act on everything due in a store.

use crate::helpers::*;
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use recert_app::App;
use recert_app::jobs::Job;
use recert_app::outbox::{Courier, Delivered, MAX_ATTEMPTS};
use recert_domain::{CertificationId, Delivery, FixedClock, Item, Notice, OutboxMessage, Queue};
use recert_notify::mailbox::MailboxMailer;
use recert_notify::templates::LinkBase;
use recert_notify::{Email, MailError, Mailer, SentId};
use recert_store::{IndexedItem, Store};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A test app with a store of its own.
pub(crate) async fn private_app(today: &str) -> TestApp {
    TestApp::private(today, recert_domain::RuleBook::default_rules())
}

/// A new, empty mailbox directory.
pub(crate) fn mailbox() -> (Arc<MailboxMailer>, PathBuf) {
    let dir = std::env::temp_dir().join(format!("recert-mailbox-{}", uuid::Uuid::now_v7()));
    (Arc::new(MailboxMailer::new(dir.clone())), dir)
}

pub(crate) fn at(day: &str) -> DateTime<Utc> {
    d(day).and_hms_opt(12, 0, 0).unwrap().and_utc()
}

/// A courier over `app`'s store, sending through `mailer`, as of `now`.
pub(crate) fn courier(app: &TestApp, mailer: Arc<dyn Mailer>, now: DateTime<Utc>) -> Courier {
    Courier {
        store: app.store.clone(),
        mailer,
        links: LinkBase::default(),
        clock: Arc::new(FixedClock(now)),
    }
}

/// The application over `app`'s store as of `day` (what a scheduled job runs on).
pub(crate) fn app_on(app: &TestApp, day: &str) -> App {
    app.app_on(day)
}

/// The undelivered outbox messages of one certification.
pub(crate) async fn pending(store: &dyn Store, id: CertificationId) -> Vec<OutboxMessage> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page = store
            .queued(Queue::Outbox, cursor.as_ref(), 50)
            .await
            .unwrap();
        for entry in page.items {
            if let IndexedItem::Item(Item::Outbox(m)) = entry.item
                && entry.certification_id == id
            {
                out.push(m);
            }
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => return out,
        }
    }
}

/// A mailer that fails its first `failures` sends (permanently or not), then sends to a mailbox.
#[derive(Debug)]
struct Failing {
    failures: AtomicUsize,
    permanent: bool,
    then: Arc<MailboxMailer>,
}

#[async_trait]
impl Mailer for Failing {
    async fn send(&self, email: &Email) -> Result<SentId, MailError> {
        let left = self.failures.load(Ordering::SeqCst);
        if left > 0 {
            self.failures.store(left - 1, Ordering::SeqCst);
            return Err(if self.permanent {
                MailError::Rejected {
                    reason: "MessageRejected: address refused".into(),
                }
            } else {
                MailError::Transient("throttled".into())
            });
        }
        self.then.send(email).await
    }
}

#[tokio::test]
async fn issuing_a_certification_queues_one_welcome_that_is_sent_once() {
    let app = private_app("2025-01-10").await;
    let (_, cert, token) = app.enrol("CPHIMS", "2025-01-01", "2027-12-31").await;
    let id: CertificationId = cert.parse().unwrap();
    let queued = pending(app.store.as_ref(), id).await;
    assert_eq!(
        queued.len(),
        1,
        "one welcome, committed with the certification"
    );
    let welcome = &queued[0];
    assert!(matches!(welcome.notice, Notice::Welcome(_)));
    assert!(welcome.recipient.email.as_str().starts_with("person"));
    // The welcome committed in the issuing commit itself: one history event, version 1.
    let history = app
        .get(&format!("/certifications/{cert}/history"), &token)
        .await;
    assert_eq!(history.ok(200)["events"].as_array().unwrap().len(), 1);

    let (mailbox, _) = mailbox();
    let courier = courier(&app, mailbox.clone(), at("2025-01-10"));
    assert_eq!(
        courier.deliver(id, welcome.id).await.unwrap(),
        Delivered::Sent
    );
    // The stream redelivers the record, the sweeper runs: nothing is sent twice.
    assert_eq!(
        courier.deliver(id, welcome.id).await.unwrap(),
        Delivered::AlreadyDone
    );
    assert_eq!(courier.sweep().await.unwrap().sent, 0);
    let mails = mailbox.list().unwrap();
    assert_eq!(mails.len(), 1);
    assert!(mails[0].subject.contains("CPHIMS"), "{}", mails[0].subject);
    let raw = mailbox.read(&mails[0].id).unwrap().unwrap();
    for fact in [
        "Test Person",
        "CPHIMS-",
        "30 June 2027",
        "31 December 2027",
        "45.00 h",
    ] {
        assert!(raw.contains(fact), "{fact} missing from the welcome");
    }
    let stored = app
        .store
        .outbox_message(id, welcome.id)
        .await
        .unwrap()
        .unwrap();
    match stored.delivery {
        Delivery::Sent { provider_id, at } => {
            assert_eq!(provider_id, mails[0].id);
            assert_eq!(at, self::at("2025-01-10"));
        }
        other => panic!("not recorded as sent: {other:?}"),
    }
    assert!(pending(app.store.as_ref(), id).await.is_empty());
}

#[tokio::test]
async fn two_senders_racing_for_one_message_send_it_once() {
    let app = private_app("2025-01-10").await;
    let (_, cert, _) = app.enrol("CPHIMS", "2025-01-01", "2027-12-31").await;
    let id: CertificationId = cert.parse().unwrap();
    let message = pending(app.store.as_ref(), id).await.remove(0);
    let (mailbox, _) = mailbox();
    let a = courier(&app, mailbox.clone(), at("2025-01-10"));
    let b = courier(&app, mailbox.clone(), at("2025-01-10"));
    let (x, y) = tokio::join!(a.deliver(id, message.id), b.deliver(id, message.id));
    let outcomes = [x.unwrap(), y.unwrap()];
    assert_eq!(
        outcomes.iter().filter(|o| **o == Delivered::Sent).count(),
        1,
        "{outcomes:?}"
    );
    assert_eq!(mailbox.list().unwrap().len(), 1);
}

#[tokio::test]
async fn a_failed_send_is_retried_later_and_a_refused_one_is_parked() {
    let app = private_app("2025-01-10").await;
    let (_, cert, _) = app.enrol("CPHIMS", "2025-01-01", "2027-12-31").await;
    let id: CertificationId = cert.parse().unwrap();
    let message = pending(app.store.as_ref(), id).await.remove(0);
    let (mailbox, _) = mailbox();
    let flaky = Arc::new(Failing {
        failures: AtomicUsize::new(1),
        permanent: false,
        then: mailbox.clone(),
    });
    let now = at("2025-01-10");
    let first = courier(&app, flaky.clone(), now);
    assert_eq!(
        first.deliver(id, message.id).await.unwrap(),
        Delivered::Retrying
    );
    let retried = app
        .store
        .outbox_message(id, message.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(retried.delivery, Delivery::Pending);
    assert_eq!(retried.attempts, 1);
    assert_eq!(retried.next_attempt_at, now + chrono::Duration::minutes(1));
    assert!(retried.last_error.is_some());
    // Not due yet: the sweeper leaves it; a minute later it sends it.
    assert_eq!(first.sweep().await.unwrap().examined, 0);
    let later = courier(&app, flaky, now + chrono::Duration::minutes(2));
    assert_eq!(later.sweep().await.unwrap().sent, 1);
    assert_eq!(mailbox.list().unwrap().len(), 1);

    // A second certification's welcome is refused by the provider: parked, never retried.
    let (_, cert2, _) = app.enrol("CPHIMS", "2025-01-01", "2027-12-31").await;
    let id2: CertificationId = cert2.parse().unwrap();
    let refused = pending(app.store.as_ref(), id2).await.remove(0);
    let refusing = Arc::new(Failing {
        failures: AtomicUsize::new(1),
        permanent: true,
        then: mailbox.clone(),
    });
    let c = courier(&app, refusing, now);
    assert_eq!(c.deliver(id2, refused.id).await.unwrap(), Delivered::Parked);
    let parked = app
        .store
        .outbox_message(id2, refused.id)
        .await
        .unwrap()
        .unwrap();
    assert!(
        matches!(parked.delivery, Delivery::Parked { .. }),
        "{parked:?}"
    );
    assert!(
        pending(app.store.as_ref(), id2).await.is_empty(),
        "off the queue"
    );
    let much_later = courier(&app, mailbox.clone(), now + chrono::Duration::days(3));
    assert_eq!(much_later.sweep().await.unwrap().examined, 0);
    assert_eq!(
        mailbox.list().unwrap().len(),
        1,
        "the parked one was never sent"
    );
}

#[tokio::test]
async fn a_message_that_keeps_failing_is_parked_after_the_last_attempt() {
    let app = private_app("2025-01-10").await;
    let (_, cert, _) = app.enrol("CPHIMS", "2025-01-01", "2027-12-31").await;
    let id: CertificationId = cert.parse().unwrap();
    let message = pending(app.store.as_ref(), id).await.remove(0);
    let (mailbox, _) = mailbox();
    let down = Arc::new(Failing {
        failures: AtomicUsize::new(usize::MAX),
        permanent: false,
        then: mailbox,
    });
    let mut now = at("2025-01-10");
    let mut outcomes = Vec::new();
    for _ in 0..MAX_ATTEMPTS {
        outcomes.push(
            courier(&app, down.clone(), now)
                .deliver(id, message.id)
                .await
                .unwrap(),
        );
        now += chrono::Duration::hours(7);
    }
    assert!(
        outcomes[..outcomes.len() - 1]
            .iter()
            .all(|o| *o == Delivered::Retrying)
    );
    assert_eq!(outcomes.last(), Some(&Delivered::Parked));
    let stored = app
        .store
        .outbox_message(id, message.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.attempts, MAX_ATTEMPTS);
}

#[tokio::test]
async fn the_window_opens_job_reminds_once_with_the_gap_however_often_it_runs() {
    let app = private_app("2026-01-10").await;
    // CPHIMS expiring 31 Aug 2026: the window opens on 28 Feb 2026.
    let (_, cert, token) = app.enrol("CPHIMS", "2023-09-01", "2026-08-31").await;
    let id: CertificationId = cert.parse().unwrap();
    app.log(
        &cert,
        &token,
        entry("Conference", "society", 10, 2, "2025-05-01"),
    )
    .await;
    let (mailbox, _) = mailbox();
    courier(&app, mailbox.clone(), at("2026-01-10"))
        .sweep()
        .await
        .unwrap();
    assert_eq!(mailbox.list().unwrap().len(), 1, "the welcome");

    let before = Job::WindowOpens
        .run(&app_on(&app, "2026-02-27"), d("2026-02-27"))
        .await
        .unwrap();
    assert_eq!(
        (before.due, before.acted),
        (0, 0),
        "nothing due the day before"
    );
    let day: NaiveDate = d("2026-02-28");
    let first = Job::WindowOpens
        .run(&app_on(&app, "2026-02-28"), day)
        .await
        .unwrap();
    assert_eq!((first.due, first.acted), (1, 1));
    let again = Job::WindowOpens
        .run(&app_on(&app, "2026-02-28"), day)
        .await
        .unwrap();
    assert_eq!((again.due, again.acted), (0, 0), "run twice: nothing new");

    let queued = pending(app.store.as_ref(), id).await;
    assert_eq!(queued.len(), 1);
    let Notice::WindowOpens(reminder) = &queued[0].notice else {
        panic!("not a window reminder: {:?}", queued[0].notice)
    };
    assert!(!reminder.met);
    assert_eq!(reminder.window_opens_on, day);
    assert!(
        reminder.missing.iter().any(|l| l.hours.0 == 3500),
        "35.00 h total missing: {:?}",
        reminder.missing
    );
    let sweep = courier(&app, mailbox.clone(), at("2026-02-28"))
        .sweep()
        .await
        .unwrap();
    assert_eq!(sweep.sent, 1);
    let mails = mailbox.list().unwrap();
    assert_eq!(mails.len(), 2);
    let raw = mailbox.read(&mails[0].id).unwrap().unwrap();
    assert!(
        raw.contains("35.00 h"),
        "the reminder names the missing hours"
    );
    assert!(raw.contains("28 February 2026"));
    // Recorded by the job, as the system.
    let history = app
        .get(&format!("/certifications/{cert}/history"), &token)
        .await;
    let events = history.ok(200)["events"].as_array().unwrap().clone();
    let last = events.last().unwrap();
    assert_eq!(last["type"], "notice_queued");
    assert_eq!(last["actor"]["subject"], "window-opens");
    assert_eq!(last["actor"]["role"], "system");
}
