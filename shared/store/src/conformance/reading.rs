//! Reading a certification: its working set in order, its history by page, older cycles, a
//! certificant's certifications.

use super::*;
use recert_domain::Decide;

// ---------------------------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------------------------

/// Entries come back by completion date, then id, whatever order they were added in (from a load
/// and from `entries_of_cycle` alike).
pub async fn entries_sorted_by_completion_date_then_id(store: &dyn Store) {
    let mut aggregate = create_fresh(store).await;
    let added = [
        (entry_id(3), date(2026, 3, 1)),
        (entry_id(1), date(2026, 3, 5)),
        (entry_id(0x20), date(2026, 2, 1)),
        (entry_id(2), date(2026, 3, 1)),
        (entry_id(0x10), date(2025, 12, 31)),
    ];
    for (i, (id, on)) in added.into_iter().enumerate() {
        aggregate = add_entry(store, &aggregate, id, on, instant(1 + i as i64)).await;
    }
    let loaded = load(store, aggregate.certification.id).await;
    let order: Vec<_> = loaded.entries.iter().map(|e| e.id).collect();
    assert_eq!(
        order,
        [
            entry_id(0x10),
            entry_id(0x20),
            entry_id(2),
            entry_id(3),
            entry_id(1)
        ]
    );
    assert_eq!(loaded, aggregate);
    assert_eq!(
        store
            .entries_of_cycle(
                aggregate.certification.id,
                aggregate.certification.cycle_starts_on
            )
            .await
            .expect("entries"),
        loaded.entries
    );
}

/// Renewals come back by submission time (then id), and the history by seq as numbers (10 after
/// 9, 100 after 99), a page at a time.
pub async fn renewals_by_submission_and_history_by_seq(store: &dyn Store) {
    let v1 = create_fresh(store).await;
    let id = v1.certification.id;
    let returned = |n: u128, submitted: i64| {
        Item::Submission(renewal(
            &v1,
            n,
            SubmissionStatus::Returned,
            instant(submitted),
        ))
    };
    let changes = bump(&v1, instant(20))
        .put(returned(1, 9))
        .put(returned(3, 2))
        .put(returned(2, 5))
        .put(returned(4, 5))
        .build();
    let v2 = commit(store, Some(&v1), &changes).await;
    let loaded = load(store, id).await;
    let renewals: Vec<_> = loaded.renewals.iter().map(|r| r.id).collect();
    assert_eq!(
        renewals,
        [
            Uuid::from_u128(3),
            Uuid::from_u128(2),
            Uuid::from_u128(4),
            Uuid::from_u128(1)
        ]
    );
    assert_eq!(loaded, v2);

    // Up to seq 101, so the keys cross from one to two and from two to three digits.
    let mut aggregate = v2;
    for i in 0..99 {
        let changes = bump(&aggregate, instant(21) + Duration::minutes(i)).build();
        aggregate = commit(store, Some(&aggregate), &changes).await;
    }
    assert_eq!(aggregate.certification.version, 101);
    assert_eq!(history_seqs(store, id).await, (1..=101).collect::<Vec<_>>());
    let seqs = |events: Vec<HistoryEvent>| events.iter().map(|e| e.seq).collect::<Vec<_>>();
    assert_eq!(
        seqs(store.history(id, Some(8), 3).await.expect("history")),
        [9, 10, 11]
    );
    assert_eq!(
        seqs(store.history(id, Some(98), 5).await.expect("history")),
        [99, 100, 101]
    );
    assert_eq!(load(store, id).await, aggregate);
}

/// `certifications_of` returns that certificant's certifications only, oldest first (then by id),
/// each at its latest version.
pub async fn certifications_of_returns_only_that_certificants_oldest_first(store: &dyn Store) {
    let holder = new_certificant();
    let other = new_certificant();
    let newest = create(store, new_certification(holder.id), instant(5)).await;
    let oldest = create(store, new_certification(holder.id), instant(1)).await;
    let mut ids = [
        CertificationId(Uuid::now_v7()),
        CertificationId(Uuid::now_v7()),
    ];
    ids.sort();
    // Created in reverse id order at the same instant: the id breaks the tie.
    let tie_high = create(
        store,
        Certification {
            id: ids[1],
            ..new_certification(holder.id)
        },
        instant(3),
    )
    .await;
    let tie_low = create(
        store,
        Certification {
            id: ids[0],
            ..new_certification(holder.id)
        },
        instant(3),
    )
    .await;
    let _not_theirs = create(store, new_certification(other.id), instant(2)).await;
    let newest = add_entry(store, &newest, entry_id(1), date(2026, 1, 2), instant(6)).await;

    let listed = store.certifications_of(holder.id).await.expect("list");
    let expected: Vec<Certification> = [oldest, tie_low, tie_high, newest]
        .into_iter()
        .map(|a| a.certification)
        .collect();
    assert_eq!(listed, expected);
    assert_eq!(listed[3].version, 2);

    assert_eq!(
        store
            .certifications_of(new_certificant().id)
            .await
            .expect("list"),
        vec![]
    );
}

/// An idempotency record committed with a change comes back with the aggregate; putting the same
/// key again replaces it.
pub async fn idempotency_record_round_trip(store: &dyn Store) {
    let v1 = create_fresh(store).await;
    let record = idempotency_record(
        instant(1),
        r#"{"id":"00000000-0000-0000-0000-000000000001"}"#,
    );
    let (_, changes) = add_entry_changes(&v1, entry_id(1), date(2026, 1, 2), instant(1));
    let changes = changes.with_idempotency(Some(record.clone()));
    store.commit(&changes).await.expect("commit");

    let v2 = load(store, v1.certification.id).await;
    assert_eq!(v2, expected_after(Some(v1), &changes));
    assert_eq!(v2.idempotency, std::slice::from_ref(&record));
    assert_eq!(
        v2.idempotency_record(&record.key, instant(1)),
        Some(&record)
    );

    let other = IdempotencyRecord {
        location: None,
        body: None,
        ..idempotency_record(instant(2), "{}")
    };
    let replaced = IdempotencyRecord {
        status: 200,
        body: Some("{\"replayed\":true}".into()),
        ..record.clone()
    };
    let changes = bump(&v2, instant(2))
        .put(Item::Idempotency(replaced.clone()))
        .put(Item::Idempotency(other.clone()))
        .build();
    store.commit(&changes).await.expect("commit");
    let v3 = load(store, v2.certification.id).await;
    let mut expected = vec![replaced, other];
    expected.sort_by(|a, b| a.key.cmp(&b.key));
    assert_eq!(v3.idempotency, expected);
}

/// A deleted entry is gone; the others stay.
pub async fn deleted_entry_is_gone(store: &dyn Store) {
    let v1 = create_fresh(store).await;
    let v2 = add_entry(store, &v1, entry_id(1), date(2026, 1, 2), instant(1)).await;
    let v3 = add_entry(store, &v2, entry_id(2), date(2026, 1, 3), instant(2)).await;
    let removal = v3
        .remove_entry(
            &Decide::new(
                &recert_domain::RuleBook::default_rules().versions()[0],
                &actor(),
                instant(3),
                uuid::Uuid::now_v7(),
            ),
            entry_id(1),
        )
        .expect("the domain removes the entry");
    store.commit(&removal).await.expect("commit");
    let loaded = load(store, v1.certification.id).await;
    assert_eq!(
        loaded.entries.iter().map(|e| e.id).collect::<Vec<_>>(),
        [entry_id(2)]
    );
    assert!(loaded.entry(entry_id(1)).is_err());
    assert_eq!(loaded, expected_after(Some(v3), &removal));
    assert_eq!(
        store
            .entries_of_cycle(v1.certification.id, v1.certification.cycle_starts_on)
            .await
            .expect("entries"),
        loaded.entries
    );
}

/// The history comes a page at a time: `limit` events after `after`, by seq, each exactly once;
/// a load never includes it.
pub async fn history_is_paged_by_seq(store: &dyn Store) {
    let issue = Changes::issue(
        new_certification(new_certificant().id),
        &actor(),
        instant(0),
    );
    let id = issue.certification().id;
    let mut aggregate = commit(store, None, &issue).await;
    let mut events = vec![issue.event().clone()];
    for i in 0..6u32 {
        let changes = aggregate
            .change(
                &actor(),
                instant(1 + i64::from(i)),
                HistoryKind::EntryUpdated {
                    entry_id: entry_id(u128::from(i)),
                },
            )
            .build();
        aggregate = commit(store, Some(&aggregate), &changes).await;
        events.push(changes.event().clone());
    }

    let mut pages = Vec::new();
    let mut after = None;
    loop {
        let page = store.history(id, after, 3).await.expect("history");
        assert!(page.len() <= 3, "{} events over the limit", page.len());
        let Some(last) = page.last() else { break };
        after = Some(last.seq);
        pages.push(page.iter().map(|e| e.seq).collect::<Vec<_>>());
        if pages.len() > 10 {
            panic!("the history never ended: {pages:?}");
        }
    }
    assert_eq!(pages, [vec![1, 2, 3], vec![4, 5, 6], vec![7]]);
    assert_eq!(history(store, id).await, events);
    assert_eq!(
        store.history(id, Some(2), 100).await.expect("history"),
        events[2..]
    );
    assert_eq!(store.history(id, Some(7), 3).await.expect("history"), []);
    assert_eq!(store.history(id, None, 0).await.expect("history"), []);
    assert_eq!(
        store.history(id, Some(u64::MAX), 3).await.expect("history"),
        []
    );
    // The load is the root and its (empty) working set: nothing of the seven events.
    let loaded = load(store, id).await;
    assert_eq!(loaded, aggregate);
    assert!(
        loaded.entries.is_empty() && loaded.renewals.is_empty() && loaded.idempotency.is_empty()
    );
}

/// A load reads the current cycle's items (and the idempotency records) only: once the root's
/// cycle rolls over, the old cycle's entries and renewals are no longer loaded, and
/// `entries_of_cycle` still returns that cycle's entries.
pub async fn a_load_reads_only_the_current_cycle(store: &dyn Store) {
    let v1 = create_fresh(store).await;
    let id = v1.certification.id;
    let old_cycle = v1.certification.cycle_starts_on;
    let v2 = add_entry(store, &v1, entry_id(2), date(2026, 3, 1), instant(1)).await;
    let v3 = add_entry(store, &v2, entry_id(1), date(2026, 3, 1), instant(2)).await;
    let record = idempotency_record(instant(3), "{}");
    let changes = bump(&v3, instant(3))
        .put(Item::Submission(renewal(
            &v3,
            1,
            SubmissionStatus::Approved,
            instant(3),
        )))
        .put(Item::Idempotency(record.clone()))
        .build();
    let v4 = commit(store, Some(&v3), &changes).await;
    assert_eq!(load(store, id).await, v4);
    assert_eq!((v4.entries.len(), v4.renewals.len()), (2, 1));

    let new_cycle = date(2028, 1, 1);
    let roll = bump(&v4, instant(4))
        .root(|c| {
            c.cycle_starts_on = new_cycle;
            c.expires_on = date(2030, 12, 31);
        })
        .build();
    store.commit(&roll).await.expect("roll the cycle over");
    let v5 = load(store, id).await;
    assert_eq!(&v5.certification, roll.certification());
    assert_eq!(v5.entries, []);
    assert_eq!(v5.renewals, []);
    assert_eq!(v5.idempotency, [record]);

    let v6 = add_entry(store, &v5, entry_id(3), date(2028, 2, 1), instant(5)).await;
    let loaded = load(store, id).await;
    assert_eq!(loaded, v6);
    assert_eq!(
        loaded.entries.iter().map(|e| e.id).collect::<Vec<_>>(),
        [entry_id(3)]
    );
    assert_eq!(loaded.entries[0].cycle_starts_on, new_cycle);

    assert_eq!(
        store
            .entries_of_cycle(id, old_cycle)
            .await
            .expect("entries"),
        v3.entries
    );
    assert_eq!(
        store
            .entries_of_cycle(id, new_cycle)
            .await
            .expect("entries"),
        v6.entries
    );
    assert_eq!(
        store
            .entries_of_cycle(id, date(2022, 1, 1))
            .await
            .expect("entries"),
        []
    );
    assert_eq!(history_seqs(store, id).await, (1..=6).collect::<Vec<_>>());
}
