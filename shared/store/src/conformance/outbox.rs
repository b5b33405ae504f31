//! Deadlines and the transactional outbox ([`crate::OutboxStore`]).

use super::*;

/// A message for the outbox of `aggregate`, due at `at`.
pub fn outbox_message(aggregate: &CertificationAggregate, at: DateTime<Utc>) -> OutboxMessage {
    let c = &aggregate.certification;
    OutboxMessage::new(
        Uuid::now_v7(),
        c.id,
        Recipient {
            certificant_id: c.certificant_id,
            email: recert_domain::Email::parse("someone@example.test").unwrap(),
            full_name: "Test Certificant".into(),
        },
        Notice::WindowOpens(WindowOpens {
            certification_id: c.id,
            credential: c.credential,
            window_opens_on: date(2027, 6, 30),
            window_closes_on: c.expires_on,
            met: false,
            missing: vec![],
        }),
        at,
    )
}

/// A deadline of the current cycle loads with the aggregate, is listed on its day under its kind
/// until it is done, and a put marking it done takes it off the index in the same commit.
pub async fn deadlines_load_with_the_cycle_and_leave_the_due_index_when_done(store: &dyn Store) {
    let day = unique_day();
    let a = create_fresh(store).await;
    let ours: HashSet<_> = [a.certification.id].into_iter().collect();
    let deadline = Deadline {
        kind: DueKind::WindowOpens,
        cycle_starts_on: a.certification.cycle_starts_on,
        on: day,
        done_at: None,
    };
    let a = commit(
        store,
        Some(&a),
        &bump(&a, instant(1))
            .put(Item::Deadline(deadline.clone()))
            .build(),
    )
    .await;
    assert_eq!(
        load(store, a.certification.id).await.deadlines,
        std::slice::from_ref(&deadline)
    );
    let due = |kind: DueKind| {
        let ours = ours.clone();
        async move {
            collect_pages(10, &ours, |cursor| async move {
                store.due(day, kind, cursor.as_ref(), 10).await
            })
            .await
        }
    };
    assert_eq!(
        due(DueKind::WindowOpens).await,
        [Indexed {
            certification_id: a.certification.id,
            item: IndexedItem::Item(Item::Deadline(deadline.clone())),
        }]
    );
    assert!(due(DueKind::CycleCloses).await.is_empty(), "another kind");
    let done = Deadline {
        done_at: Some(instant(2)),
        ..deadline
    };
    let a = commit(
        store,
        Some(&a),
        &bump(&a, instant(2))
            .put(Item::Deadline(done.clone()))
            .build(),
    )
    .await;
    assert_eq!(a.deadlines, [done]);
    assert!(
        due(DueKind::WindowOpens).await.is_empty(),
        "done: off the index"
    );
}

/// An outbox message is written by the commit that reports the change (never loaded with the
/// aggregate), waits in the outbox queue by when it is due, can be claimed by exactly one of two
/// senders holding the same state, and leaves the queue once sent.
pub async fn an_outbox_message_commits_with_its_change_and_is_claimed_once(store: &dyn Store) {
    let due_at = unique_day().and_hms_opt(8, 0, 0).expect("a time").and_utc();
    let a = create_fresh(store).await;
    let id = a.certification.id;
    let ours: HashSet<_> = [id].into_iter().collect();
    let message = outbox_message(&a, due_at);
    let before = load(store, id).await;
    let a = commit(
        store,
        Some(&a),
        &bump(&a, instant(1))
            .put(Item::Outbox(message.clone()))
            .build(),
    )
    .await;
    assert_eq!(load(store, id).await, a, "not part of the loaded aggregate");
    assert_ne!(before.certification.version, a.certification.version);
    assert_eq!(
        store.outbox_message(id, message.id).await.expect("read"),
        Some(message.clone())
    );
    assert_eq!(
        store
            .outbox_message(id, Uuid::now_v7())
            .await
            .expect("read"),
        None
    );
    let queued = || {
        let ours = ours.clone();
        async move {
            collect_pages(10, &ours, |cursor| async move {
                store.queued(Queue::Outbox, cursor.as_ref(), 10).await
            })
            .await
        }
    };
    let listed = |m: &OutboxMessage| {
        vec![Indexed {
            certification_id: id,
            item: IndexedItem::Item(Item::Outbox(m.clone())),
        }]
    };
    assert_eq!(queued().await, listed(&message));

    // Two senders read the same pending message; only the first swap wins.
    let claimed = OutboxMessage {
        delivery: Delivery::Sending {
            until: due_at + Duration::minutes(5),
        },
        ..message.clone()
    };
    let rival = OutboxMessage {
        delivery: Delivery::Sending {
            until: due_at + Duration::minutes(6),
        },
        ..message.clone()
    };
    assert!(
        store
            .swap_outbox_message(&message, &claimed)
            .await
            .expect("swap")
    );
    assert!(
        !store
            .swap_outbox_message(&message, &rival)
            .await
            .expect("swap")
    );
    assert_eq!(
        store.outbox_message(id, message.id).await.expect("read"),
        Some(claimed.clone())
    );
    assert_eq!(
        queued().await,
        listed(&claimed),
        "a claim stays queued until it lapses"
    );

    let sent = OutboxMessage {
        delivery: Delivery::Sent {
            provider_id: "provider-message-1".into(),
            at: due_at + Duration::seconds(1),
        },
        ..claimed.clone()
    };
    assert!(
        store
            .swap_outbox_message(&claimed, &sent)
            .await
            .expect("swap")
    );
    assert!(queued().await.is_empty(), "sent: off the queue");
    assert_eq!(
        store.outbox_message(id, message.id).await.expect("read"),
        Some(sent.clone())
    );
    // A swap may not turn one message into another.
    let other = outbox_message(&a, due_at);
    assert!(matches!(
        store.swap_outbox_message(&sent, &other).await,
        Err(StoreError::Rejected(_))
    ));
    assert_eq!(
        load(store, id).await.certification.version,
        a.certification.version,
        "delivery never touches the certification"
    );
}
