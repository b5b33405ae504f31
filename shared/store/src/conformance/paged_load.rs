//! A load read page by page never pairs old items with a new version (the race the root-first
//! load rules out).

use super::*;
use recert_domain::Decide;

/// A fresh certification with `entries` entries and a live idempotency record (a working set
/// that spans several pages of a paged load); what the store now holds.
pub(super) async fn with_entries_and_a_record(
    store: &dyn Store,
    entries: u32,
) -> CertificationAggregate {
    let mut aggregate = create_fresh(store).await;
    for n in 1..=entries {
        aggregate = add_entry(
            store,
            &aggregate,
            entry_id(u128::from(n)),
            date(2026, 1, n),
            instant(i64::from(n)),
        )
        .await;
    }
    let at = instant(i64::from(entries) + 1);
    let changes = bump(&aggregate, at)
        .put(Item::Idempotency(idempotency_record(at, "{}")))
        .build();
    commit(store, Some(&aggregate), &changes).await
}

/// Without a writer in between, a paged load (page size 2) is the plain load, and the hook runs
/// after the root and after every page but the last (seven items: pages of 2, 2, 2, 1); an unknown
/// id loads as `None` without running the hook. Returns the paged store and the aggregate, for an
/// adapter's own checks (its call counts...).
pub async fn a_paged_load_without_a_writer_is_the_plain_load<S: Store>(
    plain: &dyn Store,
    paged: impl FnOnce(PageHook) -> S,
) -> (S, CertificationAggregate) {
    let expected = with_entries_and_a_record(plain, 6).await;
    let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let hook: PageHook = {
        let calls = Arc::clone(&calls);
        Arc::new(move || {
            calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Box::pin(async {})
        })
    };
    let paged = paged(hook);
    assert_eq!(load(&paged, expected.certification.id).await, expected);
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 1 + 3);
    assert_eq!(
        paged
            .load(CertificationId(Uuid::now_v7()))
            .await
            .expect("load"),
        None
    );
    assert_eq!(
        calls.load(std::sync::atomic::Ordering::SeqCst),
        4,
        "no hook without a root"
    );
    (paged, expected)
}

/// The multi-page race: a paged load (the root, then the working set one item per page) while a
/// writer commits between its pages. Whatever the adapter does, the load is either exactly the
/// latest state, or older than it in a way the next commit detects: its version is behind and a
/// change built from it fails with `VersionConflict`. It is never old items under a new version.
///
/// `plain` is the store; `paged(hook)` makes a paged handle on the same data (`with_paging(1,
/// hook)`), whose hook commits through `plain` the first time it is called.
pub async fn a_load_never_pairs_old_items_with_a_new_version<S: Store + 'static>(
    plain: Arc<S>,
    paged: impl FnOnce(PageHook) -> S,
) {
    let store: &dyn Store = &*plain;
    let before = with_entries_and_a_record(store, 5).await;
    let id = before.certification.id;
    assert_eq!(load(store, id).await, before);

    let calls = Arc::new(AtomicUsize::new(0));
    let hook: PageHook = {
        let (plain, calls) = (Arc::clone(&plain), Arc::clone(&calls));
        Arc::new(move || {
            let (plain, calls) = (Arc::clone(&plain), Arc::clone(&calls));
            Box::pin(async move {
                if calls.fetch_add(1, Ordering::SeqCst) == 0 {
                    let now = load(&*plain, id).await;
                    let removal = now
                        .remove_entry(
                            &Decide::new(
                                &recert_domain::RuleBook::default_rules().versions()[0],
                                &actor(),
                                instant(7),
                                uuid::Uuid::now_v7(),
                            ),
                            entry_id(3),
                        )
                        .expect("the domain removes the entry")
                        .with_idempotency(Some(idempotency_record(instant(7), "{}")));
                    plain
                        .commit(&removal)
                        .await
                        .expect("the writer between two pages commits");
                }
            })
        })
    };
    let paged = paged(hook);
    let mut loaded = paged
        .load(id)
        .await
        .expect("the paged load")
        .expect("the certification exists");
    loaded.idempotency.sort_by(|a, b| a.key.cmp(&b.key));

    // The race happened: the writer committed after the root was read and pages followed.
    let fired = calls.load(Ordering::SeqCst);
    assert!(
        fired >= 2,
        "the hook must run after the root and between pages; it ran {fired} times"
    );
    let latest = load(store, id).await;
    assert_eq!(
        latest.certification.version,
        before.certification.version + 1
    );
    assert!(latest.entries.iter().all(|e| e.id != entry_id(3)));
    assert_eq!(latest.idempotency.len(), 2);

    if loaded != latest {
        assert!(
            loaded.certification.version < latest.certification.version,
            "a load that is not the latest state must carry an older version: {} vs {}",
            loaded.certification.version,
            latest.certification.version
        );
        let (_, from_mixed) =
            add_entry_changes(&loaded, entry_id(99), date(2026, 2, 1), instant(8));
        assert_version_conflict(store.commit(&from_mixed).await);
        assert_eq!(load(store, id).await, latest, "the refused commit wrote");
    }
    let (_, from_latest) = add_entry_changes(&latest, entry_id(99), date(2026, 2, 1), instant(8));
    store
        .commit(&from_latest)
        .await
        .expect("a change from a fresh load commits");
}
