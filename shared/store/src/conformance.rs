//! The adapter conformance suite: the behaviour of the [`Store`] port, which every adapter must pass.
//!
//! Each case is a public async function taking `&dyn Store` and asserting one behaviour (it
//! panics on failure: this is test support code). Every case makes its own fresh ids, emails and
//! certificate numbers, so the cases can share one store (e.g. one DynamoDB table) and run in
//! any order or at the same time.
//!
//! Run them as named tests with [`conformance_tests!`](crate::conformance_tests) (one
//! `#[tokio::test]` per case; the calling crate needs `tokio` with `macros` and
//! `rt-multi-thread`), or all in a row on one store with [`run_all`]:
//!
//! ```ignore
//! mod in_memory {
//!     use recert_store::sqlite::SqliteStore;
//!     recert_store::conformance_tests!(async { SqliteStore::in_memory().expect("store") });
//! }
//! ```
//!
//! The test data is built with the domain's own constructors (`CertificationAggregate::issue`,
//! `add_entry`, `remove_entry`) at fixed instants, never the system clock.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::{Store, StoreError};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use recert_domain::entry::Activity;
use recert_domain::{
    Actor, CeEntry, Certificant, CertificantId, Certification, CertificationAggregate,
    CertificationId, CertificationStatus, Changes, Credential, EntryId, EntrySource, EvidenceRef,
    HistoryEvent, HistoryKind, Hours, IdempotencyRecord, Item, ItemKey, Membership,
    ProviderCategory, Renewal, RenewalStatus,
};
use uuid::Uuid;

/// Expands to the list of cases, handed to `__recert_store_conformance_expand!` in `mode`.
/// Add a case here and it runs in [`conformance_tests!`](crate::conformance_tests) and [`run_all`].
#[doc(hidden)]
#[macro_export]
macro_rules! __recert_store_conformance_cases {
    ($mode:ident $($arg:tt)*) => {
        $crate::__recert_store_conformance_expand! {
            $mode [$($arg)*]
            certificant_round_trip,
            duplicate_certificant_id_is_refused,
            duplicate_email_is_refused_ignoring_case,
            certification_create_round_trip,
            unknown_certification_loads_as_none,
            duplicate_certificate_number_is_refused,
            creating_an_existing_certification_is_a_version_conflict,
            stale_update_is_a_version_conflict_and_writes_nothing,
            puts_and_deletes_commit_together,
            failed_creation_leaves_no_items,
            concurrent_writers_exactly_one_wins,
            concurrent_creations_exactly_one_wins,
            entries_sorted_by_completion_date_then_id,
            renewals_by_submission_and_history_by_seq,
            certifications_of_returns_only_that_certificants_oldest_first,
            idempotency_record_round_trip,
            deleted_entry_is_gone,
            new_version_must_be_expected_plus_one,
            an_item_written_twice_in_one_commit_is_rejected,
            an_oversized_commit_is_rejected,
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __recert_store_conformance_expand {
    (tests [$make:expr] $($case:ident),* $(,)?) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let store = $make.await;
                $crate::conformance::$case(&store).await;
            }
        )*
    };
    (run [$store:expr] $($case:ident),* $(,)?) => {
        $(
            $crate::conformance::$case($store).await;
        )*
    };
}

/// One `#[tokio::test]` per conformance case, named after it. `$make` is a future (e.g. an
/// `async { ... }` block) resolving to a fresh store (any type implementing [`Store`]); it is
/// awaited once per test. Invoke it inside a module to run the suite on several stores.
#[macro_export]
macro_rules! conformance_tests {
    ($make:expr $(,)?) => {
        $crate::__recert_store_conformance_cases!(tests $make);
    };
}

/// Every case, one after the other, on one store.
pub async fn run_all(store: &dyn Store) {
    crate::__recert_store_conformance_cases!(run store);
}

// ---------------------------------------------------------------------------------------------
// Test data
// ---------------------------------------------------------------------------------------------

/// A calendar date (panics on a bad one).
pub fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("a valid date")
}

/// A fixed instant `days` after 2026-01-15 12:00:00.123456789 UTC (nanoseconds on purpose: the
/// store must keep them).
pub fn instant(days: i64) -> DateTime<Utc> {
    let base = date(2026, 1, 15)
        .and_hms_nano_opt(12, 0, 0, 123_456_789)
        .expect("a valid time")
        .and_utc();
    base + Duration::days(days)
}

/// Who the suite acts as.
pub fn actor() -> Actor {
    Actor {
        subject: "conformance-suite".into(),
        role: "staff".into(),
    }
}

/// A new certificant with a unique id and email.
pub fn new_certificant() -> Certificant {
    let id = CertificantId(Uuid::now_v7());
    Certificant {
        id,
        email: format!("c-{}@example.test", id.0.simple()),
        full_name: "Test Certificant".into(),
        membership: Membership::Member,
        created_at: instant(0),
    }
}

/// A new (not yet issued, version 0) certification with a unique id and certificate number.
pub fn new_certification(certificant_id: CertificantId) -> Certification {
    let id = CertificationId(Uuid::now_v7());
    Certification {
        id,
        certificant_id,
        credential: Credential::Cphims,
        certificate_number: format!("CN-{}", id.0.simple()),
        cycle_starts_on: date(2025, 1, 1),
        expires_on: date(2027, 12, 31),
        extended_to: None,
        status: CertificationStatus::Active,
        created_at: instant(0),
        updated_at: instant(0),
        version: 0,
    }
}

/// A CE activity completed on `completed_on`.
pub fn activity(completed_on: NaiveDate) -> Activity {
    Activity {
        title: "Interoperability in practice".into(),
        provider_name: "The Society".into(),
        provider_category: ProviderCategory::Society,
        canadian_content: false,
        completed_on,
        hours: Hours(150),
        ethics_hours: Hours(25),
        evidence: vec![EvidenceRef {
            reference: "uploads/certificate.pdf".into(),
            description: Some("certificate".into()),
        }],
    }
}

/// An entry id with a chosen order (`entry_id(1) < entry_id(2)`); unique within a certification.
pub fn entry_id(n: u128) -> EntryId {
    EntryId(Uuid::from_u128(n))
}

/// An idempotency record under a unique key, live until 2099.
pub fn idempotency_record(created_at: DateTime<Utc>, body: &str) -> IdempotencyRecord {
    IdempotencyRecord {
        key: format!("conformance-suite:{}", Uuid::now_v7()),
        request_hash: "sha256:0f1e2d3c".into(),
        status: 201,
        body: body.into(),
        created_at,
        expires_at: date(2099, 12, 31)
            .and_hms_opt(0, 0, 0)
            .expect("a valid time")
            .and_utc(),
    }
}

/// The aggregate in the order the port promises: entries by (completion date, id), renewals by
/// (submission, id), history by seq, idempotency records by key.
pub fn normalized(mut aggregate: CertificationAggregate) -> CertificationAggregate {
    aggregate
        .entries
        .sort_by_key(|e| (e.activity.completed_on, e.id));
    aggregate.renewals.sort_by_key(|r| (r.submitted_at, r.id));
    aggregate.history.sort_by_key(|h| h.seq);
    aggregate.idempotency.sort_by(|a, b| a.key.cmp(&b.key));
    aggregate
}

/// What a store should load after `changes` (a creation or an update of `before`).
pub fn expected_after(
    before: Option<CertificationAggregate>,
    changes: &Changes,
) -> CertificationAggregate {
    let before = before.unwrap_or_else(|| CertificationAggregate {
        certification: changes.certification.clone(),
        entries: Vec::new(),
        renewals: Vec::new(),
        history: Vec::new(),
        idempotency: Vec::new(),
    });
    normalized(before.apply(changes))
}

/// Load, insisting the certification exists; idempotency records ordered by key for comparison.
pub async fn load(store: &dyn Store, id: CertificationId) -> CertificationAggregate {
    let mut aggregate = store
        .load(id)
        .await
        .expect("load")
        .expect("the certification exists");
    aggregate.idempotency.sort_by(|a, b| a.key.cmp(&b.key));
    aggregate
}

/// Issue `certification` at `now` and return what the store should now hold.
pub async fn create(
    store: &dyn Store,
    certification: Certification,
    now: DateTime<Utc>,
) -> CertificationAggregate {
    let changes = CertificationAggregate::issue(certification, actor(), now);
    store
        .commit(&changes)
        .await
        .expect("create the certification");
    expected_after(None, &changes)
}

/// Issue a fresh certification for a fresh certificant.
pub async fn create_fresh(store: &dyn Store) -> CertificationAggregate {
    create(store, new_certification(new_certificant().id), instant(0)).await
}

/// The changes adding entry `id` (completed on `completed_on`) to `aggregate` at `now`.
pub fn add_entry_changes(
    aggregate: &CertificationAggregate,
    id: EntryId,
    completed_on: NaiveDate,
    now: DateTime<Utc>,
) -> (CeEntry, Changes) {
    aggregate
        .add_entry(
            id,
            activity(completed_on),
            EntrySource::SelfReported,
            actor(),
            now,
        )
        .expect("the domain accepts the entry")
}

/// Add entry `id` and return what the store should now hold.
pub async fn add_entry(
    store: &dyn Store,
    aggregate: &CertificationAggregate,
    id: EntryId,
    completed_on: NaiveDate,
    now: DateTime<Utc>,
) -> CertificationAggregate {
    let (_, changes) = add_entry_changes(aggregate, id, completed_on, now);
    store.commit(&changes).await.expect("commit the entry");
    expected_after(Some(aggregate.clone()), &changes)
}

/// The next version of the root, changed at `now`, with no items (for hand-made commits).
pub fn bump(aggregate: &CertificationAggregate, now: DateTime<Utc>) -> Changes {
    let mut certification = aggregate.certification.clone();
    certification.version += 1;
    certification.updated_at = now;
    Changes {
        expected_version: aggregate.certification.version,
        certification,
        puts: vec![],
        deletes: vec![],
    }
}

#[track_caller]
fn assert_version_conflict(result: Result<(), StoreError>) {
    assert!(
        matches!(result, Err(StoreError::VersionConflict)),
        "expected VersionConflict, got {result:?}"
    );
}

#[track_caller]
fn assert_duplicate(result: Result<(), StoreError>, expected: &str) {
    assert!(
        matches!(&result, Err(StoreError::Duplicate { what }) if *what == expected),
        "expected Duplicate {{ what: {expected:?} }}, got {result:?}"
    );
}

#[track_caller]
fn assert_rejected(result: Result<(), StoreError>) {
    assert!(
        matches!(result, Err(StoreError::Rejected(_))),
        "expected Rejected, got {result:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Certificants
// ---------------------------------------------------------------------------------------------

/// A created certificant comes back as it was; an unknown id is `None`.
pub async fn certificant_round_trip(store: &dyn Store) {
    let mut c = new_certificant();
    c.full_name = "Zoë O'Brien-Ńguyen".into();
    c.membership = Membership::NonMember;
    store
        .create_certificant(&c)
        .await
        .expect("create the certificant");
    assert_eq!(store.certificant(c.id).await.expect("read"), Some(c));
    assert_eq!(
        store.certificant(new_certificant().id).await.expect("read"),
        None
    );
}

/// A second certificant with a taken id is `Duplicate { what: "certificant" }`; the first stays.
pub async fn duplicate_certificant_id_is_refused(store: &dyn Store) {
    let first = new_certificant();
    store
        .create_certificant(&first)
        .await
        .expect("create the certificant");
    let again = Certificant {
        email: new_certificant().email,
        full_name: "Someone Else".into(),
        ..first.clone()
    };
    assert_duplicate(store.create_certificant(&again).await, "certificant");
    assert_eq!(
        store.certificant(first.id).await.expect("read"),
        Some(first)
    );
}

/// A second certificant with a taken email, in any letter case, is `Duplicate { what: "email" }`.
pub async fn duplicate_email_is_refused_ignoring_case(store: &dyn Store) {
    let first = new_certificant();
    store
        .create_certificant(&first)
        .await
        .expect("create the certificant");
    let other = Certificant {
        email: first.email.to_uppercase(),
        ..new_certificant()
    };
    assert_duplicate(store.create_certificant(&other).await, "email");
    assert_eq!(store.certificant(other.id).await.expect("read"), None);
    assert_eq!(
        store.certificant(first.id).await.expect("read"),
        Some(first)
    );
}

// ---------------------------------------------------------------------------------------------
// Creating certifications
// ---------------------------------------------------------------------------------------------

/// Load returns exactly what the creation committed: the root at version 1 and its history.
pub async fn certification_create_round_trip(store: &dyn Store) {
    let certification = Certification {
        extended_to: Some(date(2028, 3, 31)),
        credential: Credential::CphimsCa,
        ..new_certification(new_certificant().id)
    };
    let expected = create(store, certification.clone(), instant(3)).await;
    let loaded = load(store, certification.id).await;
    assert_eq!(loaded, expected);
    assert_eq!(loaded.certification.version, 1);
    assert_eq!(loaded.certification.created_at, instant(3));
    assert_eq!(loaded.history.len(), 1);
    assert_eq!(loaded.history[0].seq, 1);
    assert!(
        loaded.entries.is_empty() && loaded.renewals.is_empty() && loaded.idempotency.is_empty()
    );
}

/// Loading an id that was never created is `None`.
pub async fn unknown_certification_loads_as_none(store: &dyn Store) {
    let unknown = CertificationId(Uuid::now_v7());
    assert_eq!(store.load(unknown).await.expect("load"), None);
}

/// A second certification with a taken certificate number is `Duplicate { what:
/// "certificate_number" }` and is not created.
pub async fn duplicate_certificate_number_is_refused(store: &dyn Store) {
    let first = create_fresh(store).await;
    let second = Certification {
        certificate_number: first.certification.certificate_number.clone(),
        ..new_certification(new_certificant().id)
    };
    let changes = CertificationAggregate::issue(second.clone(), actor(), instant(1));
    assert_duplicate(store.commit(&changes).await, "certificate_number");
    assert_eq!(store.load(second.id).await.expect("load"), None);
    assert_eq!(load(store, first.certification.id).await, first);
}

/// Creating (expected version 0) an id that exists is a `VersionConflict`, with the same or
/// another certificate number; the stored one is untouched.
pub async fn creating_an_existing_certification_is_a_version_conflict(store: &dyn Store) {
    let first = create_fresh(store).await;
    let id = first.certification.id;

    let retry = CertificationAggregate::issue(first.certification.clone(), actor(), instant(2));
    assert_version_conflict(store.commit(&retry).await);

    let renumbered = Certification {
        certificate_number: format!("CN-{}", Uuid::now_v7().simple()),
        ..first.certification.clone()
    };
    let mut changes = CertificationAggregate::issue(renumbered, actor(), instant(2));
    let (entry, _) = add_entry_changes(&first, entry_id(1), date(2026, 1, 2), instant(2));
    changes.puts.push(Item::Entry(entry));
    assert_version_conflict(store.commit(&changes).await);

    assert_eq!(load(store, id).await, first);
}

// ---------------------------------------------------------------------------------------------
// Updating
// ---------------------------------------------------------------------------------------------

/// A commit from a stale load is a `VersionConflict` and writes nothing: the old state stays and
/// the item it put is absent.
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
    assert_eq!(loaded.history.len(), 2);
}

/// Puts and deletes of one commit land together: an entry added in one commit and removed in the
/// next, with the history of both.
pub async fn puts_and_deletes_commit_together(store: &dyn Store) {
    let v1 = create_fresh(store).await;
    let v2 = add_entry(store, &v1, entry_id(7), date(2026, 1, 5), instant(1)).await;
    assert_eq!(load(store, v1.certification.id).await, v2);

    let removal = v2
        .remove_entry(entry_id(7), actor(), instant(2))
        .expect("the domain removes the entry");
    assert_eq!((removal.puts.len(), removal.deletes.len()), (1, 1));
    store.commit(&removal).await.expect("commit the removal");

    let loaded = load(store, v1.certification.id).await;
    assert_eq!(loaded, expected_after(Some(v2), &removal));
    assert!(loaded.entries.is_empty());
    let kinds: Vec<_> = loaded.history.iter().map(|h| h.kind.clone()).collect();
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
/// same id properly afterwards shows only that creation's items.
pub async fn failed_creation_leaves_no_items(store: &dyn Store) {
    let taken = create_fresh(store).await;
    let certification = new_certification(new_certificant().id);
    let clashing = Certification {
        certificate_number: taken.certification.certificate_number.clone(),
        ..certification.clone()
    };
    let mut changes = CertificationAggregate::issue(clashing, actor(), instant(1));
    let aggregate = expected_after(None, &changes);
    let (entry, _) = add_entry_changes(&aggregate, entry_id(1), date(2026, 1, 2), instant(1));
    changes.puts.push(Item::Entry(entry));
    changes
        .puts
        .push(Item::Idempotency(idempotency_record(instant(1), "{}")));
    assert_duplicate(store.commit(&changes).await, "certificate_number");
    assert_eq!(store.load(certification.id).await.expect("load"), None);

    let created = create(store, certification.clone(), instant(2)).await;
    let loaded = load(store, certification.id).await;
    assert_eq!(loaded, created);
    assert!(
        loaded.entries.is_empty() && loaded.idempotency.is_empty(),
        "items of the failed commit survived"
    );
    assert_eq!(loaded.history.len(), 1);
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
        last.history.iter().map(|h| h.seq).collect::<Vec<_>>(),
        (1..=ROUNDS + 1).collect::<Vec<_>>()
    );
}

/// Two creations of the same id at once: exactly one wins, the other gets a `VersionConflict`
/// (not a duplicate number, not a backend error). Twenty rounds.
pub async fn concurrent_creations_exactly_one_wins(store: &dyn Store) {
    for round in 0..20 {
        let certification = new_certification(new_certificant().id);
        let a = CertificationAggregate::issue(certification.clone(), actor(), instant(1));
        let b = CertificationAggregate::issue(certification.clone(), actor(), instant(2));
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
    }
}

// ---------------------------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------------------------

/// Entries come back by completion date, then id, whatever order they were added in.
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
}

/// Renewals come back by submission time (then id) and history by seq, as numbers (10 after 9).
pub async fn renewals_by_submission_and_history_by_seq(store: &dyn Store) {
    let v1 = create_fresh(store).await;
    let renewal = |n: u128, submitted: i64| Renewal {
        id: Uuid::from_u128(n),
        cycle_expires_on: date(2027, 12, 31),
        status: RenewalStatus::Returned,
        submitted_at: instant(submitted),
    };
    let event = |seq: u64| HistoryEvent {
        seq,
        at: instant(seq as i64),
        actor: actor(),
        kind: HistoryKind::EntryAdded {
            entry_id: entry_id(u128::from(seq)),
        },
    };
    let mut changes = bump(&v1, instant(20));
    changes.puts = vec![
        Item::Renewal(renewal(1, 9)),
        Item::History(event(10)),
        Item::Renewal(renewal(3, 2)),
        Item::History(event(2)),
        Item::Renewal(renewal(2, 5)),
        Item::History(event(100)),
        Item::Renewal(renewal(4, 5)),
        Item::History(event(9)),
    ];
    store.commit(&changes).await.expect("commit");
    let loaded = load(store, v1.certification.id).await;
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
    assert_eq!(
        loaded.history.iter().map(|h| h.seq).collect::<Vec<_>>(),
        [1, 2, 9, 10, 100]
    );
    assert_eq!(loaded, expected_after(Some(v1), &changes));
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

    let other = idempotency_record(instant(2), "{}");
    let replaced = IdempotencyRecord {
        status: 200,
        body: "{\"replayed\":true}".into(),
        ..record.clone()
    };
    let mut changes = bump(&v2, instant(2));
    changes.puts = vec![
        Item::Idempotency(replaced.clone()),
        Item::Idempotency(other.clone()),
    ];
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
        .remove_entry(entry_id(1), actor(), instant(3))
        .expect("the domain removes the entry");
    store.commit(&removal).await.expect("commit");
    let loaded = load(store, v1.certification.id).await;
    assert_eq!(
        loaded.entries.iter().map(|e| e.id).collect::<Vec<_>>(),
        [entry_id(2)]
    );
    assert!(loaded.entry(entry_id(1)).is_err());
    assert_eq!(loaded, expected_after(Some(v3), &removal));
}

// ---------------------------------------------------------------------------------------------
// Malformed commits
// ---------------------------------------------------------------------------------------------

/// A root whose version is not `expected_version + 1` is `Rejected`, on creation and on update,
/// and writes nothing.
pub async fn new_version_must_be_expected_plus_one(store: &dyn Store) {
    for wrong in [0, 2] {
        let mut changes = CertificationAggregate::issue(
            new_certification(new_certificant().id),
            actor(),
            instant(0),
        );
        changes.certification.version = wrong;
        assert_rejected(store.commit(&changes).await);
        assert_eq!(
            store.load(changes.certification.id).await.expect("load"),
            None
        );
    }

    let v1 = create_fresh(store).await;
    for wrong in [1, 3] {
        let (_, mut changes) = add_entry_changes(&v1, entry_id(1), date(2026, 1, 2), instant(1));
        changes.certification.version = wrong;
        assert_rejected(store.commit(&changes).await);
    }
    assert_eq!(load(store, v1.certification.id).await, v1);
}

/// One commit may not write the same item twice (DynamoDB refuses it): `Rejected`, nothing written.
pub async fn an_item_written_twice_in_one_commit_is_rejected(store: &dyn Store) {
    let v1 = create_fresh(store).await;
    let (entry, changes) = add_entry_changes(&v1, entry_id(1), date(2026, 1, 2), instant(1));

    let mut twice = changes.clone();
    twice.puts.push(Item::Entry(entry));
    assert_rejected(store.commit(&twice).await);

    let mut put_and_delete = changes;
    put_and_delete.deletes.push(ItemKey::Entry(entry_id(1)));
    assert_rejected(store.commit(&put_and_delete).await);

    assert_eq!(load(store, v1.certification.id).await, v1);
}

/// A commit with more writes than one atomic write can hold (150 > DynamoDB's 100) is `Rejected`
/// and writes nothing.
pub async fn an_oversized_commit_is_rejected(store: &dyn Store) {
    let v1 = create_fresh(store).await;
    let (_, mut changes) = add_entry_changes(&v1, entry_id(1), date(2026, 1, 2), instant(1));
    for seq in 1000..1150 {
        changes.puts.push(Item::History(HistoryEvent {
            seq,
            at: instant(1),
            actor: actor(),
            kind: HistoryKind::EntryUpdated {
                entry_id: entry_id(1),
            },
        }));
    }
    assert_rejected(store.commit(&changes).await);
    assert_eq!(load(store, v1.certification.id).await, v1);
}
