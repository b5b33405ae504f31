//! The DynamoDB adapter against AWS's DynamoDB Local: the whole conformance suite (each test on its
//! own table, created from `infra/table.json`) and the multi-page race of a paged load, plus what
//! only DynamoDB has: the lost race between two tasks with retries, the mapping of
//! `TransactionCanceledException` reasons, a Query that needs several pages, the call counter,
//! a load's capacity staying flat as the history grows, and the audit ledger's calls, pages and
//! DynamoDB's own refusal of an item over 400 KB.
//!
//! `scripts/test-all` starts DynamoDB Local and sets `RECERT_DYNAMODB_ENDPOINT`, so these always
//! run there. Without that variable they use `http://127.0.0.1:8000` when something listens there,
//! and otherwise SKIP with a line on stderr (so a bare `cargo test` works on a machine without
//! java); with the variable set, an unreachable engine fails them.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::error::TransactionCanceledException;
use aws_sdk_dynamodb::types::{AttributeValue, CancellationReason};
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use chrono::Duration;
use recert_domain::Decide;
use recert_domain::model::entry::Activity;
use recert_domain::{
    CalendarFeed, CeEntry, CertificantId, Certification, CertificationAggregate, DueKind,
    EntrySource, Item, Queue,
};
use recert_store::conformance::{
    activity, actor, add_entry, add_entry_changes, audit_period, bump, commit, create_fresh, date,
    draw_record, entry, entry_id, expected_after, feed_token, history_seqs, instant, load,
    many_large_draws, seed, unique_period,
};
use recert_store::dynamodb::{
    BODY, CallCounter, DynamoStore, DynamoStoreError, Guard, OperationCalls, PK, SK,
    TableDefinition, counts, create_table, local_client, put_item_error, transaction_error,
};
use recert_store::{
    AggregateStore, AuditLedger, CalendarFeeds, CertificantStore, CertificateLookup, DueIndex,
    QueueIndex, StoreError,
};
use std::io::Write;
use std::sync::Arc;
use uuid::Uuid;

const ENDPOINT_ENV: &str = "RECERT_DYNAMODB_ENDPOINT";
const DEFAULT_ENDPOINT: &str = "http://127.0.0.1:8000";

/// Where DynamoDB Local is, or `None` (after saying so) when it is not there and need not be.
async fn endpoint() -> Option<String> {
    if let Some(e) = std::env::var(ENDPOINT_ENV).ok().filter(|e| !e.is_empty()) {
        return Some(e);
    }
    if tokio::net::TcpStream::connect("127.0.0.1:8000")
        .await
        .is_ok()
    {
        return Some(DEFAULT_ENDPOINT.into());
    }
    // Straight to the process's stderr: libtest does not capture it, so the skip shows.
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED: DynamoDB Local is not running and {ENDPOINT_ENV} is unset \
         (scripts/test-all starts it; or run `scripts/dynamodb-local install && scripts/dynamodb-local start`)"
    );
    None
}

/// A store on a new table of its own, or `None` when skipping.
async fn fresh_store() -> Option<DynamoStore> {
    let endpoint = endpoint().await?;
    let calls = CallCounter::new();
    let client = local_client(&endpoint, &calls);
    let table = format!("recert-test-{}", Uuid::now_v7().simple());
    let definition = TableDefinition::bundled().expect("infra/table.json");
    create_table(&client, &table, &definition)
        .await
        .unwrap_or_else(|e| panic!("create table {table} on {endpoint}: {e:?}"));
    calls.reset();
    Some(DynamoStore::with_counter(client, table, calls))
}

/// The suite, one test per case. The `return` sits in the generated test's own body (not in an
/// async block), so a missing engine ends the test early as a loud skip.
mod conformance {
    recert_store::conformance_tests!(match super::fresh_store().await {
        Some(store) => std::future::ready(store),
        None => return,
    });
}

/// The cases share nothing but the table: the whole suite twice at the same time on ONE table
/// (the index cases then see each other's queue and due entries, and must look at their own only).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_whole_suite_twice_at_once_on_one_table() {
    let Some(store) = fresh_store().await else {
        return;
    };
    tokio::join!(
        recert_store::conformance::run_all(&store),
        recert_store::conformance::run_all(&store)
    );
}

// ---------------------------------------------------------------------------------------------
// Races
// ---------------------------------------------------------------------------------------------

/// The multi-page race of the conformance suite: a paged handle on the same table (one item per
/// `Query` page) whose hook commits through the plain one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_load_never_pairs_old_items_with_a_new_version() {
    let Some(store) = fresh_store().await else {
        return;
    };
    let paged_from = store.clone();
    recert_store::conformance::a_load_never_pairs_old_items_with_a_new_version(
        Arc::new(store),
        move |hook| paged_from.with_paging(1, hook),
    )
    .await;
}

/// The conformance case, and the calls it costs: the root's GetItem and one Query per page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paged_load_without_a_writer_is_the_plain_load() {
    let Some(store) = fresh_store().await else {
        return;
    };
    let paged_from = store.clone();
    let (paged, expected) =
        recert_store::conformance::a_paged_load_without_a_writer_is_the_plain_load(
            &store,
            |hook| paged_from.with_paging(2, hook),
        )
        .await;
    store.calls().reset();
    assert_eq!(load(&paged, expected.certification.id).await, expected);
    assert_eq!(
        counts(&store.calls().take()),
        [("GetItem", 1), ("Query", 4)]
    );
}

/// Two tasks (on separate clients, truly in parallel) each add 15 entries to one certification,
/// reloading and retrying on every `VersionConflict`: every entry and every history event lands,
/// the version counts every commit, and no conflict is ever anything but a `VersionConflict`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_tasks_with_retries_lose_nothing() {
    let Some(store) = fresh_store().await else {
        return;
    };
    const PER_TASK: u128 = 15;
    let created = create_fresh(&store).await;
    let id = created.certification.id;
    let endpoint = endpoint().await.expect("endpoint");
    let mut tasks = Vec::new();
    for task in 0..2u128 {
        let other = DynamoStore::new(
            local_client(&endpoint, &CallCounter::new()),
            store.table_name(),
        );
        tasks.push(tokio::spawn(async move {
            let mut conflicts = 0u32;
            for i in 0..PER_TASK {
                let entry = entry_id(1000 * (task + 1) + i);
                loop {
                    let loaded = load(&other, id).await;
                    let now = instant(1) + Duration::seconds(loaded.certification.version as i64);
                    let (_, changes) = add_entry_changes(&loaded, entry, date(2026, 2, 1), now);
                    match other.commit(&changes).await {
                        Ok(()) => break,
                        Err(StoreError::VersionConflict) => conflicts += 1,
                        Err(e) => panic!("task {task}: {e:?}"),
                    }
                }
            }
            conflicts
        }));
    }
    let mut conflicts = 0;
    for t in tasks {
        conflicts += t.await.expect("the task ran");
    }
    let last = load(&store, id).await;
    assert_eq!(last.entries.len(), 2 * PER_TASK as usize);
    assert_eq!(last.certification.version, 1 + 2 * PER_TASK as u64);
    assert_eq!(
        history_seqs(&store, id).await,
        (1..=1 + 2 * PER_TASK as u64).collect::<Vec<_>>()
    );
    eprintln!("racing tasks: {conflicts} version conflicts retried, nothing lost");
}

// ---------------------------------------------------------------------------------------------
// Cancellation reasons
// ---------------------------------------------------------------------------------------------

fn cancelled(
    codes: &[&str],
    old_root_version: Option<u64>,
) -> SdkError<TransactWriteItemsError, HttpResponse> {
    let reasons = codes
        .iter()
        .enumerate()
        .map(|(i, code)| {
            let mut r = CancellationReason::builder().code(*code);
            if let (0, Some(v)) = (i, old_root_version) {
                r = r.item("v", AttributeValue::N(v.to_string()));
            }
            r.build()
        })
        .collect();
    let e = TransactionCanceledException::builder()
        .message("Transaction cancelled, please refer cancellation reasons for specific reasons")
        .set_cancellation_reasons(Some(reasons))
        .build();
    SdkError::service_error(
        TransactWriteItemsError::TransactionCanceledException(e),
        HttpResponse::new(
            StatusCode::try_from(400).expect("a status"),
            SdkBody::empty(),
        ),
    )
}

fn dynamo_source(e: &StoreError) -> &DynamoStoreError {
    let StoreError::Backend(source) = e else {
        panic!("expected Backend, got {e:?}");
    };
    source
        .downcast_ref::<DynamoStoreError>()
        .unwrap_or_else(|| panic!("expected a DynamoStoreError source, got {source:?}"))
}

#[test]
fn cancellation_reasons_are_mapped_precisely() {
    let creation = [
        (0, Guard::Created),
        (1, Guard::Unique("certificate_number")),
    ];
    let update = [(0, Guard::Updated { expected: 4 })];
    let certificant = [
        (0, Guard::Unique("certificant")),
        (1, Guard::Unique("email")),
    ];
    let ccf = "ConditionalCheckFailed";

    let r = transaction_error(cancelled(&[ccf, "None", "None"], None), &creation);
    assert!(matches!(r, StoreError::VersionConflict), "{r:?}");
    let r = transaction_error(cancelled(&["None", ccf, "None"], None), &creation);
    assert!(
        matches!(
            r,
            StoreError::Duplicate {
                what: "certificate_number"
            }
        ),
        "{r:?}"
    );
    // Both conditions failed: the existing certification wins over the taken number.
    let r = transaction_error(cancelled(&[ccf, ccf], None), &creation);
    assert!(matches!(r, StoreError::VersionConflict), "{r:?}");

    let r = transaction_error(cancelled(&["None", ccf], None), &certificant);
    assert!(
        matches!(r, StoreError::Duplicate { what: "email" }),
        "{r:?}"
    );
    let r = transaction_error(cancelled(&[ccf, ccf], None), &certificant);
    assert!(
        matches!(
            r,
            StoreError::Duplicate {
                what: "certificant"
            }
        ),
        "{r:?}"
    );

    // Update: a newer version is a conflict; the same version means the number changed.
    let r = transaction_error(cancelled(&[ccf, "None"], Some(5)), &update);
    assert!(matches!(r, StoreError::VersionConflict), "{r:?}");
    let r = transaction_error(cancelled(&[ccf, "None"], None), &update);
    assert!(matches!(r, StoreError::VersionConflict), "{r:?}");
    let r = transaction_error(cancelled(&[ccf, "None"], Some(4)), &update);
    assert!(matches!(r, StoreError::Rejected(_)), "{r:?}");

    // A concurrent transaction on the same items.
    let r = transaction_error(cancelled(&["None", "TransactionConflict"], None), &update);
    assert!(matches!(r, StoreError::VersionConflict), "{r:?}");

    // Throttling keeps the SDK error as its source, never a string.
    for code in ["ThrottlingError", "ProvisionedThroughputExceeded"] {
        let r = transaction_error(cancelled(&["None", code], None), &update);
        match dynamo_source(&r) {
            DynamoStoreError::Throttled { codes, source } => {
                assert_eq!(codes, &format!("None, {code}"));
                assert!(
                    source
                        .downcast_ref::<SdkError<TransactWriteItemsError, HttpResponse>>()
                        .is_some(),
                    "{source:?}"
                );
            }
            other => panic!("expected Throttled, got {other:?}"),
        }
    }
    let r = transaction_error(cancelled(&["ValidationError", "None"], None), &update);
    assert!(
        matches!(dynamo_source(&r), DynamoStoreError::Cancelled { .. }),
        "{r:?}"
    );

    // Not a cancellation at all: the SDK error, whole.
    let other = SdkError::service_error(
        TransactWriteItemsError::unhandled("internal server error"),
        HttpResponse::new(
            StatusCode::try_from(500).expect("a status"),
            SdkBody::empty(),
        ),
    );
    let r = transaction_error(other, &update);
    assert!(
        matches!(
            dynamo_source(&r),
            DynamoStoreError::Sdk {
                operation: "TransactWriteItems",
                ..
            }
        ),
        "{r:?}"
    );
}

/// On the real engine: an update naming another certificate number is `Rejected` (the failed root
/// comes back with `ReturnValuesOnConditionCheckFailure = ALL_OLD`), and writes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_the_certificate_number_is_rejected() {
    let Some(store) = fresh_store().await else {
        return;
    };
    let v1 = create_fresh(&store).await;
    let changes = bump(&v1, instant(1))
        .root(|c| c.certificate_number = format!("CN-{}", Uuid::now_v7().simple()))
        .build();
    let r = store.commit(&changes).await;
    assert!(matches!(r, Err(StoreError::Rejected(_))), "{r:?}");
    assert_eq!(load(&store, v1.certification.id).await, v1);
    // And a stale one is still a conflict, whatever its number.
    let v2 = {
        let c = bump(&v1, instant(2)).build();
        store.commit(&c).await.expect("commit");
        expected_after(Some(v1.clone()), &c)
    };
    let r = store.commit(&changes).await;
    assert!(matches!(r, Err(StoreError::VersionConflict)), "{r:?}");
    assert_eq!(load(&store, v1.certification.id).await, v2);
}

// ---------------------------------------------------------------------------------------------
// Pagination and the call budget
// ---------------------------------------------------------------------------------------------

fn long_activity(n: u32) -> Activity {
    Activity {
        // ~4 KB per entry: 300 entries are ~1.3 MB, more than one Query page (1 MB).
        title: format!(
            "{n:04} {}",
            "Health information exchange in practice. ".repeat(100)
        ),
        ..activity(date(2026, 1, 1) + Duration::days(i64::from(n % 200)))
    }
}

/// 300 large entries: `load` reads the root, then follows `LastEvaluatedKey` over several Query
/// pages (counted: one GetItem, more than one Query, no other operation) and returns all of them,
/// in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_aggregate_loads_across_query_pages() {
    let Some(store) = fresh_store().await else {
        return;
    };
    let mut expected = create_fresh(&store).await;
    for batch in 0..4u32 {
        let mut changes = bump(&expected, instant(1 + i64::from(batch)));
        for n in batch * 75..(batch + 1) * 75 {
            changes = changes.put(Item::Entry(CeEntry {
                activity: long_activity(n),
                ..entry(
                    &expected,
                    entry_id(u128::from(n) + 1),
                    date(2026, 1, 1),
                    instant(1),
                )
            }));
        }
        expected = commit(&store, Some(&expected), &changes.build()).await;
    }
    store.calls().reset();
    let loaded = load(&store, expected.certification.id).await;
    let calls = store.calls().take();
    assert_eq!(loaded.entries.len(), 300);
    assert_eq!(loaded, expected);
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert_eq!(
        (calls[0].operation.as_str(), calls[0].calls),
        ("GetItem", 1)
    );
    assert_eq!(calls[1].operation, "Query");
    assert!(calls[1].calls >= 2, "expected several pages: {calls:?}");
    eprintln!(
        "300 entries of ~4 KB: 1 GetItem + {} Query pages, {} capacity units",
        calls[1].calls,
        capacity(&calls)
    );
}

/// Thirty draw records of ~40 KB: `draws` follows `LastEvaluatedKey` over several Query pages
/// (one Query operation per page, nothing else) and returns all of them, by day.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn draws_over_a_megabyte_take_several_query_pages() {
    let Some(store) = fresh_store().await else {
        return;
    };
    let (period, recorded) = many_large_draws(&store).await;
    store.calls().reset();
    assert_eq!(store.draws(period).await.expect("draws"), recorded);
    let calls = store.calls().take();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0].operation, "Query");
    assert!(calls[0].calls >= 2, "expected several pages: {calls:?}");
}

/// Past the adapter's own check: DynamoDB Local refuses an item over 400 KB with a
/// `ValidationException`, which [`put_item_error`] makes `Rejected`, not a backend failure.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodbs_own_size_refusal_is_rejected() {
    let Some(store) = fresh_store().await else {
        return;
    };
    let refused = store
        .client()
        .put_item()
        .table_name(store.table_name())
        .item(PK, AttributeValue::S("AUDIT#test".into()))
        .item(SK, AttributeValue::S("DRAW#test".into()))
        .item(BODY, AttributeValue::S("x".repeat(410 * 1024)))
        .send()
        .await
        .expect_err("DynamoDB refuses an item over 400 KB");
    let mapped = put_item_error(refused);
    assert!(
        matches!(&mapped, StoreError::Rejected(m) if m.contains("400 KB")),
        "{mapped:?}"
    );
}

/// What each audit ledger method costs: a read is one GetItem, a create one PutItem (and one
/// GetItem when the period was taken), a reveal (a swap) one PutItem, an append one
/// TransactWriteItems, `draws` and a page of `draws_page` one Query, the listing one Query of
/// GSI1; the period item carries its listing keys.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_audit_ledger_call_costs_what_it_says() {
    let Some(store) = fresh_store().await else {
        return;
    };
    let calls = store.calls();
    let mut period = audit_period(unique_period(), 1);
    store.create_audit_period(&period).await.expect("create");
    assert_eq!(counts(&calls.take()), [("PutItem", 1)]);
    store
        .create_audit_period(&audit_period(period.period, 2))
        .await
        .expect("create again");
    assert_eq!(counts(&calls.take()), [("GetItem", 1), ("PutItem", 1)]);
    store.audit_period(period.period).await.expect("read");
    assert_eq!(counts(&calls.take()), [("GetItem", 1)]);

    let record = draw_record(&period, 1, 1, 10);
    let next = period.appended(&record);
    assert!(
        store
            .append_draw(&period, &next, &record)
            .await
            .expect("append")
    );
    let appended = calls.take();
    assert_eq!(counts(&appended), [("TransactWriteItems", 1)]);
    assert!(appended[0].capacity_units > 0.0, "{appended:?}");
    period = next;
    store.draws(period.period).await.expect("draws");
    assert_eq!(counts(&calls.take()), [("Query", 1)]);
    store
        .draws_page(period.period, None, 5)
        .await
        .expect("page");
    assert_eq!(counts(&calls.take()), [("Query", 1)]);
    store.audit_periods().await.expect("list");
    assert_eq!(counts(&calls.take()), [("Query", 1)]);

    let revealed = period.revealed(&seed(1), instant(40)).expect("its seed");
    assert!(
        store
            .swap_audit_period(&period, &revealed)
            .await
            .expect("reveal")
    );
    assert_eq!(counts(&calls.take()), [("PutItem", 1)]);
    assert!(
        !store
            .swap_audit_period(&period, &revealed)
            .await
            .expect("stale")
    );
    assert_eq!(counts(&calls.take()), [("PutItem", 1)]);

    let item = store
        .client()
        .get_item()
        .table_name(store.table_name())
        .key(PK, AttributeValue::S(format!("AUDIT#{}", period.period)))
        .key(SK, AttributeValue::S("PERIOD".into()))
        .send()
        .await
        .expect("GetItem")
        .item
        .expect("the period item");
    assert_eq!(
        item.get("gsi1pk"),
        Some(&AttributeValue::S("AUDIT_PERIODS".into()))
    );
    assert_eq!(
        item.get("gsi1sk"),
        Some(&AttributeValue::S(period.period.to_string()))
    );
}

/// Each calendar feed call is one call: a put one PutItem (a rotation too), a read one GetItem, a
/// revocation one DeleteItem; the item sits beside the profile as `CERTIFICANT#<id>`,
/// `CALENDAR_FEED`, with the body only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_calendar_feed_call_is_one_call_on_one_item() {
    let Some(store) = fresh_store().await else {
        return;
    };
    let calls = store.calls();
    let id = CertificantId(Uuid::now_v7());
    let feed = CalendarFeed::new(&feed_token(id, 'q'), instant(1));
    store.put_calendar_feed(&feed).await.expect("put");
    let put = calls.take();
    assert_eq!(counts(&put), [("PutItem", 1)]);
    assert!(put[0].capacity_units > 0.0, "{put:?}");
    store
        .put_calendar_feed(&CalendarFeed::new(&feed_token(id, 'r'), instant(2)))
        .await
        .expect("rotate");
    assert_eq!(counts(&calls.take()), [("PutItem", 1)]);
    let item = store
        .client()
        .get_item()
        .table_name(store.table_name())
        .key(PK, AttributeValue::S(format!("CERTIFICANT#{id}")))
        .key(SK, AttributeValue::S("CALENDAR_FEED".into()))
        .consistent_read(true)
        .send()
        .await
        .expect("get the raw item")
        .item
        .expect("the item");
    let mut names: Vec<_> = item.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(names, [BODY, PK, SK]);
    calls.take();
    store.calendar_feed(id).await.expect("read");
    assert_eq!(counts(&calls.take()), [("GetItem", 1)]);
    store.delete_calendar_feed(id).await.expect("delete");
    assert_eq!(counts(&calls.take()), [("DeleteItem", 1)]);
    assert_eq!(store.calendar_feed(id).await.expect("read"), None);
}

fn capacity(calls: &[OperationCalls]) -> f64 {
    calls.iter().map(|c| c.capacity_units).sum()
}

/// A load is the root and the current cycle's working set, never the history: its capacity stays
/// flat (within 1 RCU) from 10 to 300 history events, while reading that history costs many.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_loads_capacity_stays_flat_as_the_history_grows() {
    let Some(store) = fresh_store().await else {
        return;
    };
    let mut aggregate = create_fresh(&store).await;
    let id = aggregate.certification.id;
    for n in 1..=3u32 {
        aggregate = add_entry(
            &store,
            &aggregate,
            entry_id(u128::from(n)),
            date(2026, 1, n),
            instant(i64::from(n)),
        )
        .await;
    }
    let grow_to = async |events: u64, mut aggregate: CertificationAggregate| {
        while aggregate.certification.version < events {
            let now = instant(4) + Duration::seconds(aggregate.certification.version as i64);
            aggregate = commit(&store, Some(&aggregate), &bump(&aggregate, now).build()).await;
        }
        aggregate
    };
    let measure = async |store: &DynamoStore| {
        store.calls().reset();
        load(store, id).await;
        let calls = store.calls().take();
        assert_eq!(counts(&calls), [("GetItem", 1), ("Query", 1)]);
        capacity(&calls)
    };

    aggregate = grow_to(10, aggregate).await;
    assert_eq!(history_seqs(&store, id).await.len(), 10);
    let at_10 = measure(&store).await;
    aggregate = grow_to(300, aggregate).await;
    assert_eq!(history_seqs(&store, id).await.len(), 300);
    let at_300 = measure(&store).await;
    assert_eq!(load(&store, id).await, aggregate);

    store.calls().reset();
    history_seqs(&store, id).await;
    let history_read = capacity(&store.calls().take());
    eprintln!(
        "load RCU with 10 history events: {at_10}; with 300: {at_300}; reading the 300 events: {history_read}"
    );
    assert!(
        (at_300 - at_10).abs() <= 1.0,
        "a load's capacity grew with the history: {at_10} -> {at_300}"
    );
    assert!(
        history_read > at_300 + 2.0,
        "the history is too small to show anything: reading it cost {history_read}"
    );
}

/// Each port method is one DynamoDB operation (a load two: the root, then its working set), and
/// its consumed capacity is recorded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_port_method_is_one_call_with_its_capacity() {
    let Some(store) = fresh_store().await else {
        return;
    };
    let certificant = recert_store::conformance::new_certificant();
    let calls = store.calls();

    store
        .create_certificant(&certificant)
        .await
        .expect("create");
    assert_eq!(counts(&calls.take()), [("TransactWriteItems", 1)]);
    store.certificant(certificant.id).await.expect("read");
    assert_eq!(counts(&calls.take()), [("GetItem", 1)]);

    let certification = Certification {
        ..recert_store::conformance::new_certification(certificant.id)
    };
    let v1 = recert_store::conformance::create(&store, certification, instant(0)).await;
    let create = calls.take();
    assert_eq!(counts(&create), [("TransactWriteItems", 1)]);
    assert!(create[0].capacity_units > 0.0, "{create:?}");

    store.certifications_of(certificant.id).await.expect("list");
    assert_eq!(counts(&calls.take()), [("Query", 1)]);

    let loaded = store.load(v1.certification.id).await.expect("load");
    let read = calls.take();
    assert_eq!(counts(&read), [("GetItem", 1), ("Query", 1)]);
    // (DynamoDB Local charges nothing for a Query matching no item: the working set is empty.)
    assert!(capacity(&read) > 0.0, "{read:?}");
    assert!(read.iter().all(|c| c.attempts == 1), "{read:?}");

    let (_, changes) = add_entry_changes(
        &loaded.expect("exists"),
        entry_id(1),
        date(2026, 1, 2),
        instant(1),
    );
    store.commit(&changes).await.expect("commit");
    assert_eq!(counts(&calls.take()), [("TransactWriteItems", 1)]);

    // With an entry in the working set, both reads of a load cost (and record) capacity.
    store.load(v1.certification.id).await.expect("load");
    let read = calls.take();
    assert_eq!(counts(&read), [("GetItem", 1), ("Query", 1)]);
    assert!(
        read.iter()
            .all(|c| c.capacity_units > 0.0 && c.attempts == 1),
        "{read:?}"
    );

    // A conflict is still one call (TransactionCanceledException is not retried).
    let r = store.commit(&changes).await;
    assert!(matches!(r, Err(StoreError::VersionConflict)), "{r:?}");
    let conflict = calls.take();
    assert_eq!(counts(&conflict), [("TransactWriteItems", 1)]);
    assert_eq!(conflict[0].attempts, 1);

    // What a load leaves out, and the lookups: one call each.
    let id = v1.certification.id;
    store.history(id, None, 10).await.expect("history");
    assert_eq!(counts(&calls.take()), [("Query", 1)]);
    store
        .entries_of_cycle(id, v1.certification.cycle_starts_on)
        .await
        .expect("entries");
    assert_eq!(counts(&calls.take()), [("Query", 1)]);
    let found = store
        .certification_by_number(&v1.certification.certificate_number)
        .await
        .expect("lookup");
    assert_eq!(found, Some(id));
    assert_eq!(counts(&calls.take()), [("GetItem", 1)]);
    store
        .queued(Queue::RenewalReview, None, 10)
        .await
        .expect("queued");
    assert_eq!(counts(&calls.take()), [("Query", 1)]);
    store
        .due(v1.certification.expires_on, DueKind::CycleCloses, None, 10)
        .await
        .expect("due");
    assert_eq!(counts(&calls.take()), [("Query", 1)]);
}

/// The shared actor of the suite is what the store records (a smoke check that bodies round-trip
/// through the `b` attribute untouched, unicode included).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_round_trip_untouched() {
    let Some(store) = fresh_store().await else {
        return;
    };
    let v1 = create_fresh(&store).await;
    let mut a = long_activity(1);
    a.title = "Zoë's «ethics» 研修 🚑".into();
    let (_, changes) = v1
        .add_entry(
            &Decide::new(
                &recert_domain::RuleBook::default_rules().versions()[0],
                &actor(),
                instant(1),
                uuid::Uuid::now_v7(),
            ),
            entry_id(9),
            a,
            EntrySource::SelfReported,
        )
        .expect("the domain accepts the entry");
    store.commit(&changes).await.expect("commit");
    assert_eq!(
        load(&store, v1.certification.id).await,
        expected_after(Some(v1), &changes)
    );
}
