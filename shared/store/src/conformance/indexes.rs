//! The indexes: queues ([`crate::QueueIndex`]), due dates ([`crate::DueIndex`]) and certificate
//! numbers ([`crate::CertificateLookup`]).

use super::*;

/// Renewals in review wait in the review queue, oldest first across certifications, a page at a
/// time (each exactly once); putting one with another status, or deleting it, takes it out of
/// the queue in that commit. Other renewals are never queued.
pub async fn queue_lists_renewals_in_review_oldest_first_and_paged(store: &dyn Store) {
    let base = unique_day().and_hms_opt(9, 0, 0).expect("a time").and_utc();
    let at = |minutes: i64| base + Duration::minutes(minutes) + Duration::nanoseconds(7);
    let a = create_fresh(store).await;
    let b = create_fresh(store).await;
    let c = create_fresh(store).await;
    let ours: HashSet<_> = [&a, &b, &c].iter().map(|x| x.certification.id).collect();
    let in_review = SubmissionStatus::InReview;
    let r1 = renewal(&a, 1, in_review, at(30));
    let r2 = renewal(&a, 2, in_review, at(10));
    let r3 = renewal(&b, 3, in_review, at(20));
    let r4 = renewal(&c, 4, in_review, at(40));
    let unpaid = renewal(&c, 5, SubmissionStatus::AwaitingPayment, at(0));
    let a = commit(
        store,
        Some(&a),
        &bump(&a, at(50))
            .put(Item::Submission(r1.clone()))
            .put(Item::Submission(r2.clone()))
            .build(),
    )
    .await;
    let b = commit(
        store,
        Some(&b),
        &bump(&b, at(50)).put(Item::Submission(r3.clone())).build(),
    )
    .await;
    let c = commit(
        store,
        Some(&c),
        &bump(&c, at(50))
            .put(Item::Submission(r4.clone()))
            .put(Item::Submission(unpaid))
            .build(),
    )
    .await;

    let queued = |limit: usize| {
        let ours = ours.clone();
        async move {
            collect_pages(limit, &ours, |cursor| async move {
                store
                    .queued(Queue::RenewalReview, cursor.as_ref(), limit)
                    .await
            })
            .await
        }
    };
    let entry = |of: &CertificationAggregate, r: &Submission| Indexed {
        certification_id: of.certification.id,
        item: IndexedItem::Item(Item::Submission(r.clone())),
    };
    let all = [
        entry(&a, &r2),
        entry(&b, &r3),
        entry(&a, &r1),
        entry(&c, &r4),
    ];
    assert_eq!(queued(2).await, all);
    assert_eq!(queued(1).await, all);
    assert_eq!(queued(100).await, all);

    let approved = Submission {
        status: SubmissionStatus::Approved,
        ..r3.clone()
    };
    let b = commit(
        store,
        Some(&b),
        &bump(&b, at(60))
            .put(Item::Submission(approved.clone()))
            .build(),
    )
    .await;
    assert_eq!(b.renewals, [approved]);
    assert_eq!(
        queued(2).await,
        [entry(&a, &r2), entry(&a, &r1), entry(&c, &r4)]
    );

    let gone = bump(&c, at(70))
        .delete(Item::Submission(r4.clone()).key())
        .build();
    store.commit(&gone).await.expect("delete the renewal");
    assert_eq!(queued(2).await, [entry(&a, &r2), entry(&a, &r1)]);
}

/// An active certification falls due on its closing date (the later of its expiry and its
/// extension) under `cycle_closes`, listed a page at a time by id; lapsing it or extending it
/// moves it off that day in the same commit.
pub async fn due_lists_what_falls_due_on_a_day_by_kind(store: &dyn Store) {
    let day = unique_day();
    let issue = |expires_on: NaiveDate, extended_to: Option<NaiveDate>| Certification {
        cycle_starts_on: day - Duration::days(3 * 365),
        expires_on,
        extended_to,
        ..new_certification(new_certificant().id)
    };
    let mut roots = Vec::new();
    for _ in 0..3 {
        roots.push(create(store, issue(day, None), instant(0)).await);
    }
    // Expiring the day before, but extended to the day: it falls due on the day too.
    roots.push(create(store, issue(day - Duration::days(1), Some(day)), instant(0)).await);
    // Expiring on the day, but extended past it: due later.
    let later = create(
        store,
        issue(day, Some(day + Duration::days(30))),
        instant(0),
    )
    .await;
    let ours: HashSet<_> = roots
        .iter()
        .chain([&later])
        .map(|x| x.certification.id)
        .collect();
    roots.sort_by_key(|r| r.certification.id);

    let due = |on: NaiveDate, limit: usize| {
        let ours = ours.clone();
        async move {
            collect_pages(limit, &ours, |cursor| async move {
                store
                    .due(on, DueKind::CycleCloses, cursor.as_ref(), limit)
                    .await
            })
            .await
        }
    };
    let listed = |roots: &[&CertificationAggregate]| {
        roots
            .iter()
            .map(|r| Indexed {
                certification_id: r.certification.id,
                item: IndexedItem::Certification(r.certification.clone()),
            })
            .collect::<Vec<_>>()
    };
    let all: Vec<_> = roots.iter().collect();
    assert_eq!(due(day, 2).await, listed(&all));
    assert_eq!(due(day, 1).await, listed(&all));
    assert_eq!(due(day, 100).await, listed(&all));
    assert_eq!(due(day + Duration::days(30), 2).await, listed(&[&later]));
    assert_eq!(due(day - Duration::days(1), 2).await, []);

    let lapse = bump(&roots[1], instant(1))
        .root(|c| c.status = CertificationStatus::Lapsed)
        .build();
    store.commit(&lapse).await.expect("lapse");
    let extend = bump(&roots[2], instant(1))
        .root(|c| c.extended_to = Some(day + Duration::days(10)))
        .build();
    let extended = commit(store, Some(&roots[2]), &extend).await;
    assert_eq!(due(day, 2).await, listed(&[&roots[0], &roots[3]]));
    assert_eq!(due(day + Duration::days(10), 2).await, listed(&[&extended]));
    assert_eq!(extended.certification.version, 2);
}

/// A certification is found by its certificate number, before and after it changes; an unknown
/// number finds nothing.
pub async fn certification_by_number_finds_the_certification(store: &dyn Store) {
    let a = create_fresh(store).await;
    let b = create_fresh(store).await;
    let number = |x: &CertificationAggregate| x.certification.certificate_number.clone();
    assert_eq!(
        store
            .certification_by_number(&number(&a))
            .await
            .expect("lookup"),
        Some(a.certification.id)
    );
    assert_eq!(
        store
            .certification_by_number(&number(&b))
            .await
            .expect("lookup"),
        Some(b.certification.id)
    );
    add_entry(store, &a, entry_id(1), date(2026, 1, 2), instant(1)).await;
    assert_eq!(
        store
            .certification_by_number(&number(&a))
            .await
            .expect("lookup"),
        Some(a.certification.id)
    );
    let unknown = format!("CN-{}", Uuid::now_v7().simple());
    assert_eq!(
        store
            .certification_by_number(&unknown)
            .await
            .expect("lookup"),
        None
    );
}
