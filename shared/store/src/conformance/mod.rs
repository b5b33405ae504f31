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
use recert_domain::model::entry::Activity;
use recert_domain::model::notice::WindowOpens;
use recert_domain::model::posting::{Completion, PostingStatus};
use recert_domain::provider::{
    ApprovalPeriod, Provider, ProviderContact, ProviderRegistration, ProviderStatus, ProviderUpdate,
};
use recert_domain::{
    Actor, CalendarFeed, CeEntry, Certificant, CertificantId, Certification,
    CertificationAggregate, CertificationId, CertificationStatus, ChangeBuilder, Changes,
    Credential, Deadline, Delivery, DueKind, EntryId, EntrySource, EvidenceRef, FeedToken,
    HistoryEvent, HistoryKind, Hours, IdempotencyRecord, Item, ItemKey, Membership, Notice,
    OutboxMessage, ProviderCategory, Queue, Recipient, Role, Submission, SubmissionStatus,
};
use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use uuid::Uuid;

mod audit_ledger;
mod calendar;
mod certificants;
mod creating;
mod data;
mod indexes;
mod malformed;
mod outbox;
mod paged_load;
mod providers;
mod reading;
mod updating;

pub use audit_ledger::*;
pub use calendar::*;
pub use certificants::*;
pub use creating::*;
pub use data::*;
pub use indexes::*;
pub use malformed::*;
pub use outbox::*;
pub use paged_load::*;
pub use providers::*;
pub use reading::*;
pub use updating::*;

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
