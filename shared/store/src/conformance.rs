//! The adapter conformance suite: the behaviour of the [`Store`] port, which every adapter must pass.
//!
//! Each case is a public async function taking `&dyn Store` and asserting one behaviour (it
//! panics on failure: this is test support code). Every case makes its own fresh ids, emails,
//! certificate numbers, due dates and queue instants, so the cases can share one store (e.g. one
//! DynamoDB table) and run in any order or at the same time; the index cases look only at the
//! certifications they created.
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
//! [`a_load_never_pairs_old_items_with_a_new_version`] needs a second, paged handle on the same
//! store, so it is not in that list: each adapter's tests call it with their own factory.
//!
//! The test data is built with the domain's own constructors ([`Changes::issue`], the
//! [`recert_domain::ChangeBuilder`], `add_entry`, `remove_entry`) at fixed instants, never the
//! system clock; commits the builder can never make come from `Changes::from_parts_unchecked`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::{IndexCursor, IndexPage, Indexed, IndexedItem, Listing, PageHook, Store, StoreError};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use recert_domain::Posting;
use recert_domain::audit::{AuditPeriod, DrawRecord, Period, SealedSeed, Seed};
use recert_domain::entry::Activity;
use recert_domain::notice::WindowOpens;
use recert_domain::provider::{
    ApprovalPeriod, Completion, PostingStatus, Provider, ProviderContact, ProviderRegistration,
    ProviderStatus, ProviderUpdate,
};
use recert_domain::{
    Actor, CalendarFeed, CeEntry, Certificant, CertificantId, Certification,
    CertificationAggregate, CertificationId, CertificationStatus, ChangeBuilder, Changes,
    Credential, Deadline, Delivery, DueKind, EntryId, EntrySource, EvidenceRef, FeedToken,
    HistoryEvent, HistoryKind, Hours, IdempotencyRecord, Item, ItemKey, Membership, Notice,
    OutboxMessage, ProviderCategory, Queue, Recipient, Renewal, RenewalStatus, Role,
};
use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
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
            history_is_paged_by_seq,
            a_load_reads_only_the_current_cycle,
            queue_lists_renewals_in_review_oldest_first_and_paged,
            due_lists_what_falls_due_on_a_day_by_kind,
            certification_by_number_finds_the_certification,
            deadlines_load_with_the_cycle_and_leave_the_due_index_when_done,
            an_outbox_message_commits_with_its_change_and_is_claimed_once,
            an_audit_period_is_created_once_and_keeps_its_first_seed,
            an_unknown_audit_period_is_none,
            an_audit_period_is_replaced_only_as_read,
            the_draw_log_is_appended_once_per_head,
            draws_list_and_page_one_periods_records_by_day,
            audit_periods_are_listed_by_period,
            draws_over_a_megabyte_come_back_whole,
            an_audit_body_too_large_for_one_item_is_rejected,
            a_calendar_feed_round_trips_beside_the_profile,
            rotating_a_calendar_feed_replaces_it,
            a_revoked_calendar_feed_is_gone_and_others_stay,
            an_absent_calendar_feed_is_none,
            a_provider_is_registered_once_and_replaced_by_version,
            a_posting_commits_with_its_entry_exactly_once,
            a_posting_replacement_needs_the_posting_as_read,
            unmatched_postings_wait_for_staff_until_decided,
            a_providers_postings_are_listed_by_time_and_paged,
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

/// A day no other case (nor another run on the same store) uses: in the 24th century, drawn
/// from the random bits of a v7 UUID. Index cases put their due dates and queue instants there.
pub fn unique_day() -> NaiveDate {
    let random = Uuid::now_v7().as_u128() & 0xffff_ffff;
    date(2300, 1, 1) + Duration::days((random % (365 * 90)) as i64)
}

/// Who the suite acts as.
pub fn actor() -> Actor {
    Actor::Staff {
        subject: "conformance-suite".into(),
        role: Role::Admin,
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
        renewed_by: None,
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

/// An entry of `aggregate`'s current cycle, as the domain would log it at `now`.
pub fn entry(
    aggregate: &CertificationAggregate,
    id: EntryId,
    completed_on: NaiveDate,
    now: DateTime<Utc>,
) -> CeEntry {
    CeEntry {
        id,
        cycle_starts_on: aggregate.certification.cycle_starts_on,
        activity: activity(completed_on),
        source: EntrySource::SelfReported,
        posting: None,
        distinct_confirmed: false,
        created_at: now,
        updated_at: now,
    }
}

/// A renewal `n` of `aggregate`'s current cycle.
pub fn renewal(
    aggregate: &CertificationAggregate,
    n: u128,
    status: RenewalStatus,
    submitted_at: DateTime<Utc>,
) -> Renewal {
    Renewal {
        id: Uuid::from_u128(n),
        cycle_starts_on: aggregate.certification.cycle_starts_on,
        cycle_expires_on: aggregate.certification.expires_on,
        status,
        submitted_at,
        // Judged by the audit draw (not selected): a renewal in review waits for a reviewer.
        draw: Some(Box::new(drawn())),
        ..Renewal::default()
    }
}

/// How the audit draw judged a renewal that was not selected.
pub fn drawn() -> recert_domain::audit::DrawJudgement {
    recert_domain::audit::DrawJudgement {
        period: "2026-01".parse().expect("a period"),
        run_on: NaiveDate::from_ymd_opt(2026, 1, 2).expect("a date"),
        seq: 1,
        candidate: "candidate".into(),
        ticket: recert_domain::audit::Ticket::first("seed", "renewal"),
        selected: false,
    }
}

/// An idempotency record under a unique key, live until 2099.
pub fn idempotency_record(created_at: DateTime<Utc>, body: &str) -> IdempotencyRecord {
    IdempotencyRecord {
        key: format!("conformance-suite:{}", Uuid::now_v7()),
        request_hash: "sha256:0f1e2d3c".into(),
        status: 201,
        location: Some("/v1/certifications/x/entries/y".into()),
        body: Some(body.into()),
        created_at,
        expires_at: date(2099, 12, 31)
            .and_hms_opt(0, 0, 0)
            .expect("a valid time")
            .and_utc(),
    }
}

/// The aggregate in the order the port promises: entries by (completion date, id), renewals by
/// (submission, id), idempotency records by key.
pub fn normalized(mut aggregate: CertificationAggregate) -> CertificationAggregate {
    aggregate
        .entries
        .sort_by_key(|e| (e.activity.completed_on, e.id));
    aggregate.renewals.sort_by_key(|r| (r.submitted_at, r.id));
    aggregate.idempotency.sort_by(|a, b| a.key.cmp(&b.key));
    aggregate
}

/// What a store should load after `changes` (a creation or an update of `before`, in the same
/// cycle).
pub fn expected_after(
    before: Option<CertificationAggregate>,
    changes: &Changes,
) -> CertificationAggregate {
    let before =
        before.unwrap_or_else(|| CertificationAggregate::new(changes.certification().clone()));
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

/// The whole history, read 100 events at a time.
pub async fn history(store: &dyn Store, id: CertificationId) -> Vec<HistoryEvent> {
    let mut all: Vec<HistoryEvent> = Vec::new();
    loop {
        let after = all.last().map(|e| e.seq);
        let page = store.history(id, after, 100).await.expect("history");
        assert!(page.len() <= 100, "a history page over its limit");
        let full = page.len() == 100;
        all.extend(page);
        if !full {
            return all;
        }
    }
}

/// The seqs of the whole history.
pub async fn history_seqs(store: &dyn Store, id: CertificationId) -> Vec<u64> {
    history(store, id).await.iter().map(|e| e.seq).collect()
}

/// Commit `changes` and return what the store should now hold.
pub async fn commit(
    store: &dyn Store,
    before: Option<&CertificationAggregate>,
    changes: &Changes,
) -> CertificationAggregate {
    store.commit(changes).await.expect("commit");
    expected_after(before.cloned(), changes)
}

/// Issue `certification` at `now` and return what the store should now hold.
pub async fn create(
    store: &dyn Store,
    certification: Certification,
    now: DateTime<Utc>,
) -> CertificationAggregate {
    let changes = Changes::issue(certification, &actor(), now);
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
            &actor(),
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

/// A change of `aggregate` at `now` with no items yet (add them with `.put`, `.delete`,
/// `.root`), recorded as an entry update.
pub fn bump(aggregate: &CertificationAggregate, now: DateTime<Utc>) -> ChangeBuilder {
    aggregate.change(
        &actor(),
        now,
        HistoryKind::EntryUpdated {
            entry_id: entry_id(0),
        },
    )
}

/// `changes` with another root, event, puts or deletes, unchecked (what the builder never makes).
pub fn tampered(
    changes: &Changes,
    f: impl FnOnce(&mut Certification, &mut HistoryEvent, &mut Vec<Item>, &mut Vec<ItemKey>),
) -> Changes {
    let mut certification = changes.certification().clone();
    let mut event = changes.event().clone();
    let mut puts = changes.puts().to_vec();
    let mut deletes = changes.deletes().to_vec();
    f(&mut certification, &mut event, &mut puts, &mut deletes);
    Changes::from_parts_unchecked(
        changes.expected_version(),
        certification,
        event,
        puts,
        deletes,
    )
}

/// Every page of a listing (`list(cursor)` is one page), checking each stays within `limit`;
/// the entries of the certifications in `ours` only, in listing order.
pub async fn collect_pages<F, Fut>(
    limit: usize,
    ours: &HashSet<CertificationId>,
    mut list: F,
) -> Vec<Indexed>
where
    F: FnMut(Option<IndexCursor>) -> Fut,
    Fut: std::future::Future<Output = Result<IndexPage, StoreError>>,
{
    let mut cursor = None;
    let mut listed = Vec::new();
    for _ in 0..10_000 {
        let page = list(cursor.clone()).await.expect("an index page");
        assert!(
            page.items.len() <= limit,
            "a page of {} items over its limit {limit}",
            page.items.len()
        );
        listed.extend(
            page.items
                .into_iter()
                .filter(|i| ours.contains(&i.certification_id)),
        );
        match page.next {
            Some(next) => {
                assert_ne!(Some(&next), cursor.as_ref(), "the cursor did not move");
                cursor = Some(next);
            }
            None => return listed,
        }
    }
    panic!("the listing never ended");
}

#[track_caller]
pub fn assert_version_conflict(result: Result<(), StoreError>) {
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
        .remove_entry(entry_id(7), &actor(), instant(2))
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
        Item::Renewal(renewal(&v1, n, RenewalStatus::Returned, instant(submitted)))
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
        .remove_entry(entry_id(1), &actor(), instant(3))
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
        .put(Item::Renewal(renewal(
            &v3,
            1,
            RenewalStatus::Approved,
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
    let in_review = RenewalStatus::InReview;
    let r1 = renewal(&a, 1, in_review, at(30));
    let r2 = renewal(&a, 2, in_review, at(10));
    let r3 = renewal(&b, 3, in_review, at(20));
    let r4 = renewal(&c, 4, in_review, at(40));
    let unpaid = renewal(&c, 5, RenewalStatus::AwaitingPayment, at(0));
    let a = commit(
        store,
        Some(&a),
        &bump(&a, at(50))
            .put(Item::Renewal(r1.clone()))
            .put(Item::Renewal(r2.clone()))
            .build(),
    )
    .await;
    let b = commit(
        store,
        Some(&b),
        &bump(&b, at(50)).put(Item::Renewal(r3.clone())).build(),
    )
    .await;
    let c = commit(
        store,
        Some(&c),
        &bump(&c, at(50))
            .put(Item::Renewal(r4.clone()))
            .put(Item::Renewal(unpaid))
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
    let entry = |of: &CertificationAggregate, r: &Renewal| Indexed {
        certification_id: of.certification.id,
        item: IndexedItem::Item(Item::Renewal(r.clone())),
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

    let approved = Renewal {
        status: RenewalStatus::Approved,
        ..r3.clone()
    };
    let b = commit(
        store,
        Some(&b),
        &bump(&b, at(60))
            .put(Item::Renewal(approved.clone()))
            .build(),
    )
    .await;
    assert_eq!(b.renewals, [approved]);
    assert_eq!(
        queued(2).await,
        [entry(&a, &r2), entry(&a, &r1), entry(&c, &r4)]
    );

    let gone = bump(&c, at(70))
        .delete(Item::Renewal(r4.clone()).key())
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

/// A fresh certification with `entries` entries and a live idempotency record (a working set
/// that spans several pages of a paged load); what the store now holds.
async fn with_entries_and_a_record(store: &dyn Store, entries: u32) -> CertificationAggregate {
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
                        .remove_entry(entry_id(3), &actor(), instant(7))
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

/// A message for the outbox of `aggregate`, due at `at`.
pub fn outbox_message(aggregate: &CertificationAggregate, at: DateTime<Utc>) -> OutboxMessage {
    let c = &aggregate.certification;
    OutboxMessage::new(
        Uuid::now_v7(),
        c.id,
        Recipient {
            certificant_id: c.certificant_id,
            email: "someone@example.test".into(),
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

// ---------------------------------------------------------------------------------------------
// The audit ledger
// ---------------------------------------------------------------------------------------------

/// A period no other case (nor another call in this process) uses: consecutive months from a
/// random start between 3000-01 and 9999-12, so cases sharing a store never share a period.
pub fn unique_period() -> Period {
    const MONTHS: usize = 7000 * 12;
    static START: OnceLock<usize> = OnceLock::new();
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let start = *START.get_or_init(|| (Uuid::now_v7().as_u128() & 0xffff_ffff) as usize);
    let n = (start + NEXT.fetch_add(1, Ordering::SeqCst)) % MONTHS;
    let year = 3000 + i32::try_from(n / 12).expect("a year");
    let month = u32::try_from(n % 12).expect("a month") + 1;
    Period::of(date(year, month, 1))
}

/// A period committed at `instant(0)` to a seed made of `seed_byte` (sealed under a dummy key:
/// the store never opens it).
pub fn audit_period(period: Period, seed_byte: u8) -> AuditPeriod {
    AuditPeriod::commit(
        period,
        &seed(seed_byte),
        sealed(seed_byte),
        instant(0),
        false,
    )
}

/// The seed made of `seed_byte`.
pub fn seed(seed_byte: u8) -> Seed {
    Seed::from_bytes([seed_byte; 32])
}

fn sealed(seed_byte: u8) -> SealedSeed {
    SealedSeed {
        key: "file:conformance".into(),
        ciphertext: format!("sealed-{seed_byte}"),
    }
}

/// The draw of day `day` of `period` over `candidates` fresh candidate ids (10% share): the
/// record that follows `period`'s head.
pub fn draw_record(period: &AuditPeriod, seed_byte: u8, day: u32, candidates: usize) -> DrawRecord {
    let run_on = period.period.first_day() + Duration::days(i64::from(day) - 1);
    let ids = (0..candidates).map(|_| format!("{}/2024-01-01", Uuid::now_v7()));
    recert_domain::audit::draw::draw(period, &seed(seed_byte), run_on, 10, ids, instant(1))
}

/// Append the draw of `day` to `period` (as stored), which then is the period as it left it.
pub async fn append(
    store: &dyn Store,
    period: &mut AuditPeriod,
    seed_byte: u8,
    day: u32,
    candidates: usize,
) -> DrawRecord {
    let record = draw_record(period, seed_byte, day, candidates);
    let next = period.appended(&record);
    assert!(
        store
            .append_draw(period, &next, &record)
            .await
            .expect("append"),
        "the append of day {day} is the only writer"
    );
    *period = next;
    record
}

/// A period's seed is created once: two creates at the same time and a later one, each with
/// another seed, all return the first stored, and it is what a read finds.
pub async fn an_audit_period_is_created_once_and_keeps_its_first_seed(store: &dyn Store) {
    let period = unique_period();
    let (a, b) = (audit_period(period, 1), audit_period(period, 2));
    let (ra, rb) = tokio::join!(store.create_audit_period(&a), store.create_audit_period(&b));
    let (ra, rb) = (ra.expect("create"), rb.expect("create"));
    assert_eq!(ra, rb, "two racing creates end with one seed");
    assert!(ra == a || ra == b, "{ra:?}");
    let later = audit_period(period, 3);
    assert_eq!(
        store.create_audit_period(&later).await.expect("create"),
        ra,
        "a later create returns the stored period"
    );
    assert_eq!(store.audit_period(period).await.expect("read"), Some(ra));

    let other = audit_period(unique_period(), 4);
    assert_eq!(
        store.create_audit_period(&other).await.expect("create"),
        other,
        "a first create returns what it stored"
    );
}

/// A period never created reads as `None`, cannot be replaced (nor is it created by trying),
/// and has no draws.
pub async fn an_unknown_audit_period_is_none(store: &dyn Store) {
    let never = audit_period(unique_period(), 5);
    let period = never.period;
    assert_eq!(store.audit_period(period).await.expect("read"), None);
    let revealed = never.revealed(&seed(5), instant(1)).expect("its seed");
    assert!(
        !store
            .swap_audit_period(&never, &revealed)
            .await
            .expect("swap"),
        "nothing to replace"
    );
    assert_eq!(store.audit_period(period).await.expect("read"), None);
    assert_eq!(store.draws(period).await.expect("draws"), []);
    let listed = store.audit_periods().await.expect("list");
    assert!(listed.iter().all(|p| p.period != period));
}

/// A period is replaced only as it was read: a reveal from the stored period writes, a second one
/// from the same (now stale) read does not, and of two racing reveals exactly one writes. A swap
/// to another period (or another commitment) is refused.
pub async fn an_audit_period_is_replaced_only_as_read(store: &dyn Store) {
    let created = audit_period(unique_period(), 6);
    store.create_audit_period(&created).await.expect("create");
    let revealed = created.revealed(&seed(6), instant(40)).expect("its seed");
    assert!(
        store
            .swap_audit_period(&created, &revealed)
            .await
            .expect("swap")
    );
    assert_eq!(
        store.audit_period(created.period).await.expect("read"),
        Some(revealed.clone())
    );
    let again = created.revealed(&seed(6), instant(41)).expect("its seed");
    assert!(
        !store
            .swap_audit_period(&created, &again)
            .await
            .expect("swap"),
        "a stale read does not replace"
    );
    assert_eq!(
        store.create_audit_period(&created).await.expect("create"),
        revealed,
        "a create does not undo a reveal"
    );

    let racing = audit_period(unique_period(), 7);
    store.create_audit_period(&racing).await.expect("create");
    let (a, b) = (
        racing.revealed(&seed(7), instant(50)).expect("its seed"),
        racing.revealed(&seed(7), instant(51)).expect("its seed"),
    );
    let (ra, rb) = tokio::join!(
        store.swap_audit_period(&racing, &a),
        store.swap_audit_period(&racing, &b)
    );
    assert_eq!(
        u8::from(ra.expect("swap")) + u8::from(rb.expect("swap")),
        1,
        "exactly one racing reveal writes"
    );
    let stored = store.audit_period(racing.period).await.expect("read");
    assert!(stored == Some(a) || stored == Some(b), "{stored:?}");

    let other = audit_period(unique_period(), 8);
    assert!(matches!(
        store.swap_audit_period(&racing, &other).await,
        Err(StoreError::Rejected(_))
    ));
}

/// The log is appended to one record at a time: an append from a stale read of the period, or
/// for a day that has its record, writes nothing; of two racing appends exactly one writes; a
/// record that does not follow the head, or a revealed period, is refused before any write.
pub async fn the_draw_log_is_appended_once_per_head(store: &dyn Store) {
    let mut period = audit_period(unique_period(), 9);
    store.create_audit_period(&period).await.expect("create");
    let stale = period.clone();
    let first = append(store, &mut period, 9, 3, 40).await;
    assert_eq!(
        store.audit_period(period.period).await.expect("read"),
        Some(period.clone()),
        "the period's head is the record"
    );
    let late = draw_record(&stale, 9, 4, 5);
    assert!(
        !store
            .append_draw(&stale, &stale.appended(&late), &late)
            .await
            .expect("append"),
        "a stale read of the period appends nothing"
    );
    let same_day = draw_record(&period, 9, 3, 7);
    assert!(
        !store
            .append_draw(&period, &period.appended(&same_day), &same_day)
            .await
            .expect("append"),
        "the day has its record"
    );
    assert_eq!(store.draws(period.period).await.expect("draws"), [first]);
    assert_eq!(
        store.audit_period(period.period).await.expect("read"),
        Some(period.clone()),
        "a refused append leaves the period as it was"
    );

    let (a, b) = (draw_record(&period, 9, 5, 3), draw_record(&period, 9, 6, 3));
    let (na, nb) = (period.appended(&a), period.appended(&b));
    let (ra, rb) = tokio::join!(
        store.append_draw(&period, &na, &a),
        store.append_draw(&period, &nb, &b)
    );
    let (ra, rb) = (ra.expect("append"), rb.expect("append"));
    assert_eq!(u8::from(ra) + u8::from(rb), 1, "exactly one racing append");
    let (winner, next) = if ra { (a, na) } else { (b, nb) };
    let draws = store.draws(period.period).await.expect("draws");
    assert_eq!(draws.len(), 2);
    assert_eq!(draws[1], winner, "the loser left no record");
    period = next;

    let mut gap = draw_record(&period, 9, 8, 2);
    gap.seq += 1;
    assert!(matches!(
        store
            .append_draw(&period, &period.appended(&gap), &gap)
            .await,
        Err(StoreError::Rejected(_))
    ));
    let revealed = period.revealed(&seed(9), instant(60)).expect("its seed");
    assert!(
        store
            .swap_audit_period(&period, &revealed)
            .await
            .expect("swap")
    );
    let after = draw_record(&revealed, 9, 9, 2);
    assert!(matches!(
        store
            .append_draw(&revealed, &revealed.appended(&after), &after)
            .await,
        Err(StoreError::Rejected(_))
    ));
    assert_eq!(store.draws(period.period).await.expect("draws").len(), 2);
}

/// `draws` lists a period's records by run day, and `draws_page` pages through them; never the
/// period item beside them nor another period's records.
pub async fn draws_list_and_page_one_periods_records_by_day(store: &dyn Store) {
    let mut period = audit_period(unique_period(), 10);
    let mut other = audit_period(unique_period(), 11);
    store.create_audit_period(&period).await.expect("create");
    store.create_audit_period(&other).await.expect("create");
    let mut recorded = Vec::new();
    for day in [1, 3, 9, 10, 15, 28] {
        recorded.push(append(store, &mut period, 10, day, 3).await);
        append(store, &mut other, 11, day, 2).await;
    }
    assert_eq!(store.draws(period.period).await.expect("draws"), recorded);
    let mut paged = Vec::new();
    let mut after: Option<IndexCursor> = None;
    loop {
        let page = store
            .draws_page(period.period, after.as_ref(), 4)
            .await
            .expect("page");
        assert!(page.items.len() <= 4);
        paged.extend(page.items);
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(paged, recorded);
    let all = store
        .draws_page(period.period, None, 6)
        .await
        .expect("page");
    assert_eq!((all.items.len(), all.next), (6, None), "an exact page ends");
    assert_eq!(store.draws(other.period).await.expect("draws").len(), 6);
}

/// `audit_periods` lists the periods by period, as stored.
pub async fn audit_periods_are_listed_by_period(store: &dyn Store) {
    let mut mine = Vec::new();
    for seed_byte in 12..15 {
        let p = audit_period(unique_period(), seed_byte);
        mine.push(store.create_audit_period(&p).await.expect("create"));
    }
    let revealed = mine[1].revealed(&seed(13), instant(3)).expect("its seed");
    assert!(
        store
            .swap_audit_period(&mine[1], &revealed)
            .await
            .expect("swap")
    );
    mine[1] = revealed;
    mine.sort_by_key(|p| p.period);
    let listed: Vec<AuditPeriod> = store
        .audit_periods()
        .await
        .expect("list")
        .into_iter()
        .filter(|p| mine.iter().any(|m| m.period == p.period))
        .collect();
    assert_eq!(listed, mine);
}

/// Thirty draw records of about 40 KB each (1,000 candidates and their selection), 1.2 MB in
/// all: more than one DynamoDB `Query` page. Returns the period and its records by day.
pub async fn many_large_draws(store: &dyn Store) -> (Period, Vec<DrawRecord>) {
    let mut period = audit_period(unique_period(), 16);
    store.create_audit_period(&period).await.expect("create");
    let mut recorded = Vec::new();
    for day in 1..=30 {
        recorded.push(append(store, &mut period, 16, day, 1_000).await);
    }
    let bytes: usize = recorded
        .iter()
        .map(|r| crate::codec::encode_draw(r).expect("encode").len())
        .sum();
    assert!(
        bytes > 1_100_000,
        "only {bytes} bytes: too few for two pages"
    );
    (period.period, recorded)
}

/// More draw records than one DynamoDB page holds (over 1 MB) all come back, by day.
pub async fn draws_over_a_megabyte_come_back_whole(store: &dyn Store) {
    let (period, recorded) = many_large_draws(store).await;
    assert_eq!(store.draws(period).await.expect("draws"), recorded);
}

/// A record whose body just fits in one DynamoDB item ([`crate::MAX_BODY_BYTES`]) is stored; one
/// byte more is `Rejected`, with nothing stored, in every store alike.
pub async fn an_audit_body_too_large_for_one_item_is_rejected(store: &dyn Store) {
    let mut period = audit_period(unique_period(), 17);
    store.create_audit_period(&period).await.expect("create");
    let padded = |period: &AuditPeriod, day: u32, bytes: usize| {
        let mut record = draw_record(period, 17, day, 0);
        record.candidates = vec![String::new()];
        let base = crate::codec::encode_body("draw record", &record)
            .expect("encode")
            .len();
        record.candidates = vec!["x".repeat(bytes - base)];
        record.entry_sha256 = record.computed_entry_sha256();
        record
    };
    let fits = padded(&period, 1, crate::MAX_BODY_BYTES);
    let next = period.appended(&fits);
    assert!(
        store
            .append_draw(&period, &next, &fits)
            .await
            .expect("append")
    );
    period = next;
    let too_large = padded(&period, 2, crate::MAX_BODY_BYTES + 1);
    let refused = store
        .append_draw(&period, &period.appended(&too_large), &too_large)
        .await;
    assert!(
        matches!(&refused, Err(StoreError::Rejected(m)) if m.contains("too large")),
        "expected Rejected, got {refused:?}"
    );
    assert_eq!(store.draws(period.period).await.expect("draws"), [fits]);
    assert_eq!(
        store.audit_period(period.period).await.expect("read"),
        Some(period)
    );
}

// ---------------------------------------------------------------------------------------------
// Calendar feeds
// ---------------------------------------------------------------------------------------------

/// A feed token of `certificant` whose secret is spelled with `c` (a base64url character).
pub fn feed_token(certificant: CertificantId, c: char) -> FeedToken {
    FeedToken::parse(&format!("{certificant}.{}A", c.to_string().repeat(42)))
        .expect("a well-formed token")
}

/// A stored feed comes back as it was; the certificant's profile and certifications beside it
/// are untouched (DynamoDB keeps it in the profile's partition).
pub async fn a_calendar_feed_round_trips_beside_the_profile(store: &dyn Store) {
    let person = new_certificant();
    store.create_certificant(&person).await.expect("create");
    let created = create(store, new_certification(person.id), instant(2)).await;
    let feed = CalendarFeed::new(&feed_token(person.id, 'b'), instant(3));
    store.put_calendar_feed(&feed).await.expect("put");
    let stored = store.calendar_feed(person.id).await.expect("read");
    assert_eq!(stored.as_ref(), Some(&feed));
    assert!(stored.expect("stored").verify(&feed_token(person.id, 'b')));
    assert_eq!(
        store.certificant(person.id).await.expect("read"),
        Some(person.clone())
    );
    let listed = store.certifications_of(person.id).await.expect("list");
    assert_eq!(listed, [created.certification]);
}

/// A second put for the same certificant (a rotation) replaces the first: the old secret no
/// longer verifies, the new one does.
pub async fn rotating_a_calendar_feed_replaces_it(store: &dyn Store) {
    let id = CertificantId(Uuid::now_v7());
    let first = CalendarFeed::new(&feed_token(id, 'c'), instant(1));
    let second = CalendarFeed::new(&feed_token(id, 'd'), instant(2));
    store.put_calendar_feed(&first).await.expect("put");
    store.put_calendar_feed(&second).await.expect("rotate");
    let stored = store
        .calendar_feed(id)
        .await
        .expect("read")
        .expect("a feed");
    assert_eq!(stored, second);
    assert!(
        !stored.verify(&feed_token(id, 'c')),
        "the old secret still opens it"
    );
    assert!(stored.verify(&feed_token(id, 'd')));
}

/// A deleted feed is gone (and deleting it again is a no-op); other certificants' feeds stay.
pub async fn a_revoked_calendar_feed_is_gone_and_others_stay(store: &dyn Store) {
    let (mine, theirs) = (CertificantId(Uuid::now_v7()), CertificantId(Uuid::now_v7()));
    let other = CalendarFeed::new(&feed_token(theirs, 'e'), instant(1));
    store
        .put_calendar_feed(&CalendarFeed::new(&feed_token(mine, 'e'), instant(1)))
        .await
        .expect("put");
    store.put_calendar_feed(&other).await.expect("put");
    store.delete_calendar_feed(mine).await.expect("delete");
    assert_eq!(store.calendar_feed(mine).await.expect("read"), None);
    store
        .delete_calendar_feed(mine)
        .await
        .expect("delete again");
    assert_eq!(
        store.calendar_feed(theirs).await.expect("read"),
        Some(other)
    );
}

/// A certificant who never had a feed has none; deleting it is a no-op.
pub async fn an_absent_calendar_feed_is_none(store: &dyn Store) {
    let id = CertificantId(Uuid::now_v7());
    assert_eq!(store.calendar_feed(id).await.expect("read"), None);
    store.delete_calendar_feed(id).await.expect("delete");
    assert_eq!(store.calendar_feed(id).await.expect("read"), None);
}

// ---------------------------------------------------------------------------------------------
// Providers and their postings
// ---------------------------------------------------------------------------------------------

/// A provider with a unique id, registered at `instant(0)`.
pub fn new_provider() -> Provider {
    Provider::register(
        ProviderRegistration {
            id: format!("p-{}", Uuid::now_v7().simple()),
            name: "Partner Learning".into(),
            category: ProviderCategory::ApprovedProvider,
            approval: ApprovalPeriod {
                from: date(2020, 1, 1),
                until: date(2030, 12, 31),
            },
            contact: ProviderContact {
                name: "Registrar".into(),
                email: "registrar@provider.example".into(),
            },
        },
        &actor(),
        instant(0),
    )
    .expect("a valid provider")
}

/// A completion `id` of 2.00 h on `completed_on`.
pub fn completion(id: &str, certificate_number: &str, completed_on: NaiveDate) -> Completion {
    Completion {
        completion_id: id.into(),
        certificate_number: Some(certificate_number.into()),
        certificant_id: None,
        activity_id: "ACT-1".into(),
        title: "Interoperability in practice".into(),
        completed_on,
        hours: Hours(200),
        ethics_hours: Hours(0),
        canadian_content: false,
    }
}

/// Every page of a listing, following `next`.
async fn all_pages<T, F, Fut>(mut page: F) -> Vec<T>
where
    F: FnMut(Option<IndexCursor>) -> Fut,
    Fut: std::future::Future<Output = Result<Listing<T>, StoreError>>,
{
    let mut all = Vec::new();
    let mut after = None;
    loop {
        let listing = page(after).await.expect("a listing page");
        all.extend(listing.items);
        match listing.next {
            Some(next) => after = Some(next),
            None => return all,
        }
    }
}

/// A provider is created once (a second creation is a duplicate), replaced only from the version
/// stored, and listed in the registry.
pub async fn a_provider_is_registered_once_and_replaced_by_version(store: &dyn Store) {
    let provider = new_provider();
    store.create_provider(&provider).await.expect("create");
    assert!(matches!(
        store.create_provider(&provider).await,
        Err(StoreError::Duplicate { what: "provider" })
    ));
    let suspended = provider
        .updated(
            ProviderUpdate {
                status: Some(ProviderStatus::Suspended),
                reason: Some("lapsed agreement".into()),
                ..ProviderUpdate::default()
            },
            &actor(),
            instant(1),
        )
        .expect("a valid update")
        .expect("a change");
    store.replace_provider(&suspended).await.expect("replace");
    assert!(matches!(
        store.replace_provider(&suspended).await,
        Err(StoreError::VersionConflict)
    ));
    assert_eq!(
        store.provider(&provider.id).await.expect("read"),
        Some(suspended.clone())
    );
    let listed = all_pages(|after| async move { store.providers(after.as_ref(), 2).await }).await;
    assert_eq!(
        listed
            .iter()
            .filter(|p| p.id == provider.id)
            .collect::<Vec<_>>(),
        [&suspended]
    );
    let ids: Vec<_> = listed.iter().map(|p| p.id.clone()).collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted, "the registry lists providers by id");
}

/// A posted completion commits with its entry; the same completion committed to another
/// certification is refused as a duplicate posting, and that commit writes nothing.
pub async fn a_posting_commits_with_its_entry_exactly_once(store: &dyn Store) {
    let provider = new_provider();
    let v1 = create_fresh(store).await;
    let number = v1.certification.certificate_number.clone();
    let rows = [(1, completion("C-1", &number, date(2026, 1, 5)))];
    let (outcomes, changes) = v1.post_completions(&provider, &rows, &actor(), instant(1));
    let changes = changes.expect("a commit");
    assert_eq!(changes.postings().len(), 1);
    assert!(matches!(
        outcomes[0].1,
        recert_domain::provider::RowOutcome::Created { .. }
    ));
    store.commit(&changes).await.expect("commit the posting");
    let loaded = load(store, v1.certification.id).await;
    assert_eq!(loaded.entries.len(), 1);
    assert_eq!(
        loaded.entries[0].activity.provider_category,
        provider.category
    );
    let stored = store
        .posting(&provider.id, "C-1")
        .await
        .expect("read")
        .expect("recorded");
    assert!(matches!(
        stored.status,
        PostingStatus::Posted { certification_id, .. } if certification_id == v1.certification.id
    ));
    let found = store
        .postings(&provider.id, &["C-1".into(), "C-404".into()])
        .await
        .expect("batch read");
    assert_eq!(found, [stored]);

    let other = create_fresh(store).await;
    let (_, again) = other.post_completions(&provider, &rows, &actor(), instant(2));
    assert!(matches!(
        store.commit(&again.expect("a commit")).await,
        Err(StoreError::Duplicate { what: "posting" })
    ));
    assert_eq!(load(store, other.certification.id).await, other);
    assert_eq!(history(store, other.certification.id).await.len(), 1);
}

/// A commit replacing a posting fails (`PostingChanged`, nothing written) unless the stored
/// posting is the one the command read.
pub async fn a_posting_replacement_needs_the_posting_as_read(store: &dyn Store) {
    let provider = new_provider();
    let v1 = create_fresh(store).await;
    let number = v1.certification.certificate_number.clone();
    let rows = [(1, completion("C-9", &number, date(2026, 1, 5)))];
    let (_, changes) = v1.post_completions(&provider, &rows, &actor(), instant(1));
    let changes = changes.expect("a commit");
    store.commit(&changes).await.expect("commit");
    let v2 = load(store, v1.certification.id).await;
    let posted = store
        .posting(&provider.id, "C-9")
        .await
        .expect("read")
        .expect("recorded");
    let stale = Posting {
        updated_at: instant(-1),
        ..posted.clone()
    };
    let (_, void) = v2
        .void_posting(&stale, "sent in error", &actor(), instant(3))
        .expect("the domain voids it");
    assert!(matches!(
        store.commit(&void).await,
        Err(StoreError::PostingChanged)
    ));
    assert_eq!(load(store, v1.certification.id).await, v2);

    let (voided, void) = v2
        .void_posting(&posted, "sent in error", &actor(), instant(3))
        .expect("the domain voids it");
    store.commit(&void).await.expect("commit the void");
    assert!(load(store, v1.certification.id).await.entries.is_empty());
    assert_eq!(
        store.posting(&provider.id, "C-9").await.expect("read"),
        Some(voided)
    );
}

/// `provider`'s postings in the reconciliation queue.
async fn queued_of(store: &dyn Store, provider: &Provider) -> Vec<Posting> {
    all_pages(|after| async move { store.reconciliation_queue(after.as_ref(), 50).await })
        .await
        .into_iter()
        .filter(|p| p.provider_id == provider.id)
        .collect()
}

/// An unmatched posting is created once and waits in the reconciliation queue until staff decide
/// (a swap from a stale state changes nothing).
pub async fn unmatched_postings_wait_for_staff_until_decided(store: &dyn Store) {
    let provider = new_provider();
    let at = unique_day().and_hms_opt(9, 0, 0).expect("a time").and_utc();
    let unmatched = Posting::unmatched(
        &provider.id,
        completion("U-1", "NO-SUCH-NUMBER", date(2026, 1, 5)),
        "unknown certificate number",
        at,
    );
    assert!(store.create_posting(&unmatched).await.expect("create"));
    assert!(
        !store
            .create_posting(&unmatched)
            .await
            .expect("create again")
    );
    assert_eq!(
        queued_of(store, &provider).await,
        std::slice::from_ref(&unmatched)
    );
    let rejected = unmatched
        .rejected("not our certificant", at + Duration::minutes(1))
        .expect("reject");
    assert!(
        store
            .swap_posting(&unmatched, &rejected)
            .await
            .expect("swap")
    );
    assert!(
        !store
            .swap_posting(&unmatched, &rejected)
            .await
            .expect("stale swap")
    );
    assert!(queued_of(store, &provider).await.is_empty());
    assert_eq!(
        store.posting(&provider.id, "U-1").await.expect("read"),
        Some(rejected)
    );
}

/// A provider's postings are listed by when they were posted, oldest first, a page at a time,
/// and never another provider's.
pub async fn a_providers_postings_are_listed_by_time_and_paged(store: &dyn Store) {
    let provider = new_provider();
    let other = new_provider();
    let mut made = Vec::new();
    for (i, id) in ["B", "A", "C"].into_iter().enumerate() {
        let p = Posting::unmatched(
            &provider.id,
            completion(id, "NO-SUCH-NUMBER", date(2026, 1, 5)),
            "unknown certificate number",
            instant(i as i64),
        );
        assert!(store.create_posting(&p).await.expect("create"));
        made.push(p);
    }
    let theirs = Posting::unmatched(
        &other.id,
        completion("A", "NO-SUCH-NUMBER", date(2026, 1, 5)),
        "unknown certificate number",
        instant(0),
    );
    assert!(store.create_posting(&theirs).await.expect("create"));
    let first = store
        .provider_postings(&provider.id, None, 2)
        .await
        .expect("page 1");
    assert_eq!(first.items, made[..2]);
    let next = first.next.expect("a next page");
    let second = store
        .provider_postings(&provider.id, Some(&next), 2)
        .await
        .expect("page 2");
    assert_eq!((second.items, second.next), (made[2..].to_vec(), None));
}
