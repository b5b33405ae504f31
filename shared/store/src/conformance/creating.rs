//! Creating a certification ([`crate::AggregateStore::commit`] at version 0).

use super::*;

// ---------------------------------------------------------------------------------------------
// Creating certifications
// ---------------------------------------------------------------------------------------------

/// Load returns exactly what the creation committed: the root at version 1; the history holds
/// the creation's event, and only it.
pub async fn certification_create_round_trip(store: &dyn Store) {
    let certification = Certification {
        extended_to: Some(date(2028, 3, 31)),
        credential: Credential::CphimsCa,
        ..new_certification(new_certificant().id)
    };
    let changes = Changes::issue(certification.clone(), &actor(), instant(3));
    let expected = commit(store, None, &changes).await;
    let loaded = load(store, certification.id).await;
    assert_eq!(loaded, expected);
    assert_eq!(loaded.certification.version, 1);
    assert_eq!(loaded.certification.created_at, instant(3));
    assert_eq!(
        store.certification(certification.id).await.unwrap(),
        Some(expected.certification.clone()),
        "the root alone is the loaded root"
    );
    let events = history(store, certification.id).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].seq, 1);
    assert_eq!(events, [changes.event().clone()]);
    assert!(
        loaded.entries.is_empty() && loaded.renewals.is_empty() && loaded.idempotency.is_empty()
    );
}

/// Loading an id that was never created is `None`; it has no history and no entries.
pub async fn unknown_certification_loads_as_none(store: &dyn Store) {
    let unknown = CertificationId(Uuid::now_v7());
    assert_eq!(store.load(unknown).await.expect("load"), None);
    assert_eq!(store.certification(unknown).await.expect("root"), None);
    assert_eq!(store.history(unknown, None, 10).await.expect("history"), []);
    assert_eq!(
        store
            .entries_of_cycle(unknown, date(2025, 1, 1))
            .await
            .expect("entries"),
        []
    );
}

/// A second certification with a taken certificate number is `Duplicate { what:
/// "certificate_number" }` and is not created; the number still names the first.
pub async fn duplicate_certificate_number_is_refused(store: &dyn Store) {
    let first = create_fresh(store).await;
    let number = first.certification.certificate_number.clone();
    let second = Certification {
        certificate_number: number.clone(),
        ..new_certification(new_certificant().id)
    };
    let changes = Changes::issue(second.clone(), &actor(), instant(1));
    assert_duplicate(store.commit(&changes).await, "certificate_number");
    assert_eq!(store.load(second.id).await.expect("load"), None);
    assert_eq!(history(store, second.id).await, []);
    assert_eq!(load(store, first.certification.id).await, first);
    assert_eq!(
        store
            .certification_by_number(&number)
            .await
            .expect("lookup"),
        Some(first.certification.id)
    );
}

/// Creating (expected version 0) an id that exists is a `VersionConflict`, with the same or
/// another certificate number; the stored one is untouched.
pub async fn creating_an_existing_certification_is_a_version_conflict(store: &dyn Store) {
    let first = create_fresh(store).await;
    let id = first.certification.id;

    let retry = Changes::issue(first.certification.clone(), &actor(), instant(2));
    assert_version_conflict(store.commit(&retry).await);

    let renumbered = Certification {
        certificate_number: format!("CN-{}", Uuid::now_v7().simple()),
        ..first.certification.clone()
    };
    let issue = Changes::issue(renumbered, &actor(), instant(2));
    let with_entry = tampered(&issue, |_, _, puts, _| {
        puts.push(Item::Entry(entry(
            &first,
            entry_id(1),
            date(2026, 1, 2),
            instant(2),
        )));
    });
    assert_version_conflict(store.commit(&with_entry).await);

    assert_eq!(load(store, id).await, first);
    assert_eq!(history_seqs(store, id).await, [1]);
}
