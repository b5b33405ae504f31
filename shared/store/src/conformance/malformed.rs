//! Commits no command makes, refused alike by every adapter.

use super::*;

// ---------------------------------------------------------------------------------------------
// Malformed commits
// ---------------------------------------------------------------------------------------------

/// A root whose version is not `expected_version + 1` (or an event whose seq is not the new
/// version) is `Rejected`, on creation and on update, and writes nothing.
pub async fn new_version_must_be_expected_plus_one(store: &dyn Store) {
    for wrong in [0, 2] {
        let issue = Changes::issue(
            new_certification(new_certificant().id),
            &actor(),
            instant(0),
        );
        let changes = tampered(&issue, |c, event, _, _| {
            c.version = wrong;
            event.seq = wrong;
        });
        assert_rejected(store.commit(&changes).await);
        assert_eq!(
            store.load(changes.certification().id).await.expect("load"),
            None
        );
        // The right version with the wrong seq.
        let changes = tampered(&issue, |_, event, _, _| event.seq = wrong);
        assert_rejected(store.commit(&changes).await);
        assert_eq!(
            store.load(changes.certification().id).await.expect("load"),
            None
        );
    }

    let v1 = create_fresh(store).await;
    let (_, changes) = add_entry_changes(&v1, entry_id(1), date(2026, 1, 2), instant(1));
    for wrong in [1, 3] {
        let wrong_version = tampered(&changes, |c, event, _, _| {
            c.version = wrong;
            event.seq = wrong;
        });
        assert_rejected(store.commit(&wrong_version).await);
        let wrong_seq = tampered(&changes, |_, event, _, _| event.seq = wrong);
        assert_rejected(store.commit(&wrong_seq).await);
    }
    assert_eq!(load(store, v1.certification.id).await, v1);
    assert_eq!(history_seqs(store, v1.certification.id).await, [1]);
}

/// One commit may not write the same item twice (DynamoDB refuses it): `Rejected`, nothing written.
pub async fn an_item_written_twice_in_one_commit_is_rejected(store: &dyn Store) {
    let v1 = create_fresh(store).await;
    let (entry, changes) = add_entry_changes(&v1, entry_id(1), date(2026, 1, 2), instant(1));

    let twice = tampered(&changes, |_, _, puts, _| {
        puts.push(Item::Entry(entry.clone()));
    });
    assert_rejected(store.commit(&twice).await);

    let put_and_delete = tampered(&changes, |_, _, _, deletes| {
        deletes.push(ItemKey::Entry {
            cycle: v1.certification.cycle_starts_on,
            id: entry_id(1),
        });
    });
    assert_rejected(store.commit(&put_and_delete).await);

    // The builder does not stop it either: the store does.
    let built = bump(&v1, instant(1))
        .put(Item::Idempotency(idempotency_record(instant(1), "{}")))
        .put(Item::Entry(entry.clone()))
        .delete(Item::Entry(entry).key())
        .build();
    assert_rejected(store.commit(&built).await);

    assert_eq!(load(store, v1.certification.id).await, v1);
    assert_eq!(history_seqs(store, v1.certification.id).await, [1]);
}

/// A commit with more writes than one atomic write can hold (the root, its event and 99 items
/// make 101 > DynamoDB's 100) is `Rejected` and writes nothing; 98 items fit.
pub async fn an_oversized_commit_is_rejected(store: &dyn Store) {
    let v1 = create_fresh(store).await;
    let with_entries = |n: u128| {
        (1..=n).fold(bump(&v1, instant(1)), |b, i| {
            b.put(Item::Entry(entry(
                &v1,
                entry_id(i),
                date(2026, 1, 2),
                instant(1),
            )))
        })
    };
    for n in [99, 150] {
        assert_rejected(store.commit(&with_entries(n).build()).await);
        assert_eq!(load(store, v1.certification.id).await, v1);
    }
    let fits = with_entries(98).build();
    let v2 = commit(store, Some(&v1), &fits).await;
    assert_eq!(load(store, v1.certification.id).await, v2);
    assert_eq!(v2.entries.len(), 98);
}
