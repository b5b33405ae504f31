//! Updating a certification: the version check, atomic puts and deletes, lost races.

use super::*;
use recert_domain::Decide;

// ---------------------------------------------------------------------------------------------
// Updating
// ---------------------------------------------------------------------------------------------

/// A commit from a stale load is a `VersionConflict` and writes nothing: the old state stays, the
/// item it put is absent and its event is not in the history.
pub async fn stale_update_is_a_version_conflict_and_writes_nothing(store: &dyn Store) {
    let v1 = create_fresh(store).await;
    let v2 = add_entry(store, &v1, entry_id(1), date(2026, 1, 5), instant(1)).await;

    let (_, stale) = add_entry_changes(&v1, entry_id(2), date(2026, 1, 6), instant(2));
    assert_version_conflict(store.commit(&stale).await);

    let loaded = load(store, v1.certification.id).await;
    assert_eq!(loaded, v2);
    assert_eq!(loaded.certification.version, 2);
    assert!(
        loaded.entries.iter().all(|e| e.id != entry_id(2)),
        "the stale commit's entry was written"
    );
    let events = history(store, v1.certification.id).await;
    assert_eq!(events.len(), 2);
    assert_eq!(
        events[1].kind,
        HistoryKind::EntryAdded {
            entry_id: entry_id(1)
        }
    );
}

/// Puts and deletes of one commit land together: an entry added in one commit and removed in the
/// next, with the history of both.
pub async fn puts_and_deletes_commit_together(store: &dyn Store) {
    let v1 = create_fresh(store).await;
    let v2 = add_entry(store, &v1, entry_id(7), date(2026, 1, 5), instant(1)).await;
    assert_eq!(load(store, v1.certification.id).await, v2);

    let removal = v2
        .remove_entry(
            &Decide::new(
                &recert_domain::RuleBook::default_rules().versions()[0],
                &actor(),
                instant(2),
                uuid::Uuid::now_v7(),
            ),
            entry_id(7),
        )
        .expect("the domain removes the entry");
    assert_eq!((removal.puts().len(), removal.deletes().len()), (0, 1));
    store.commit(&removal).await.expect("commit the removal");

    let loaded = load(store, v1.certification.id).await;
    assert_eq!(loaded, expected_after(Some(v2), &removal));
    assert!(loaded.entries.is_empty());
    let kinds: Vec<_> = history(store, v1.certification.id)
        .await
        .into_iter()
        .map(|h| h.kind)
        .collect();
    assert_eq!(
        kinds[1..],
        [
            HistoryKind::EntryAdded {
                entry_id: entry_id(7)
            },
            HistoryKind::EntryRemoved {
                entry_id: entry_id(7)
            }
        ]
    );
}

/// A creation that fails (taken certificate number) leaves none of its items behind: creating the
/// same id properly afterwards shows only that creation's items and event.
pub async fn failed_creation_leaves_no_items(store: &dyn Store) {
    let taken = create_fresh(store).await;
    let certification = new_certification(new_certificant().id);
    let clashing = Certification {
        certificate_number: taken.certification.certificate_number.clone(),
        ..certification.clone()
    };
    let issue = Changes::issue(clashing, &actor(), instant(1));
    let aggregate = expected_after(None, &issue);
    let changes = tampered(&issue, |_, _, puts, _| {
        puts.push(Item::Entry(entry(
            &aggregate,
            entry_id(1),
            date(2026, 1, 2),
            instant(1),
        )));
        puts.push(Item::Idempotency(idempotency_record(instant(1), "{}")));
    });
    assert_duplicate(store.commit(&changes).await, "certificate_number");
    assert_eq!(store.load(certification.id).await.expect("load"), None);
    assert_eq!(history(store, certification.id).await, []);

    let created = create(store, certification.clone(), instant(2)).await;
    let loaded = load(store, certification.id).await;
    assert_eq!(loaded, created);
    assert!(
        loaded.entries.is_empty() && loaded.idempotency.is_empty(),
        "items of the failed commit survived"
    );
    assert_eq!(
        store
            .entries_of_cycle(certification.id, certification.cycle_starts_on)
            .await
            .expect("entries"),
        []
    );
    let events = history(store, certification.id).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].at, instant(2));
}

/// Two writers load the same version and commit at once: exactly one wins, the other gets a
/// `VersionConflict`, and the winner's change is what the store holds. Twenty rounds.
pub async fn concurrent_writers_exactly_one_wins(store: &dyn Store) {
    const ROUNDS: u64 = 20;
    let mut expected = create_fresh(store).await;
    let id = expected.certification.id;
    for round in 0..ROUNDS {
        let loaded = load(store, id).await;
        assert_eq!(
            loaded, expected,
            "round {round}: the store does not hold the last winner's state"
        );
        let now = instant(1) + Duration::minutes(round as i64);
        let on = date(2026, 1, 1) + Duration::days(round as i64);
        let (_, a) = add_entry_changes(&loaded, entry_id(2 * u128::from(round) + 100), on, now);
        let (_, b) = add_entry_changes(&loaded, entry_id(2 * u128::from(round) + 101), on, now);
        let (ra, rb) = tokio::join!(store.commit(&a), store.commit(&b));
        let winner = match (ra, rb) {
            (Ok(()), Err(StoreError::VersionConflict)) => a,
            (Err(StoreError::VersionConflict), Ok(())) => b,
            other => panic!(
                "round {round}: expected exactly one Ok and one VersionConflict, got {other:?}"
            ),
        };
        expected = expected_after(Some(loaded), &winner);
    }
    let last = load(store, id).await;
    assert_eq!(last, expected);
    assert_eq!(last.certification.version, ROUNDS + 1);
    assert_eq!(last.entries.len(), ROUNDS as usize);
    assert_eq!(
        history_seqs(store, id).await,
        (1..=ROUNDS + 1).collect::<Vec<_>>()
    );
}

/// Two creations of the same id at once: exactly one wins, the other gets a `VersionConflict`
/// (not a duplicate number, not a backend error). Twenty rounds.
pub async fn concurrent_creations_exactly_one_wins(store: &dyn Store) {
    for round in 0..20 {
        let certification = new_certification(new_certificant().id);
        let a = Changes::issue(certification.clone(), &actor(), instant(1));
        let b = Changes::issue(certification.clone(), &actor(), instant(2));
        let (ra, rb) = tokio::join!(store.commit(&a), store.commit(&b));
        let winner = match (ra, rb) {
            (Ok(()), Err(StoreError::VersionConflict)) => a,
            (Err(StoreError::VersionConflict), Ok(())) => b,
            other => panic!(
                "round {round}: expected exactly one Ok and one VersionConflict, got {other:?}"
            ),
        };
        assert_eq!(
            load(store, certification.id).await,
            expected_after(None, &winner)
        );
        assert_eq!(
            history(store, certification.id).await,
            [winner.event().clone()]
        );
    }
}
