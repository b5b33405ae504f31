//! Test data every case builds on: dates and instants, certificants, certifications, entries, renewals,
//! and a commit from a loaded aggregate.

use super::*;
use recert_domain::Decide;

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
        email: recert_domain::Email::parse(&format!("c-{}@example.test", id.0.simple()))
            .expect("an address"),
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
    status: SubmissionStatus,
    submitted_at: DateTime<Utc>,
) -> Submission {
    Submission {
        id: Uuid::from_u128(n),
        cycle_starts_on: aggregate.certification.cycle_starts_on,
        cycle_expires_on: aggregate.certification.expires_on,
        status,
        submitted_at,
        // Judged by the audit draw (not selected): a renewal in review waits for a reviewer.
        draw: Some(Box::new(drawn())),
        ..Submission::default()
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
            &Decide::new(
                &recert_domain::RuleBook::default_rules().versions()[0],
                &actor(),
                now,
                uuid::Uuid::now_v7(),
            ),
            id,
            activity(completed_on),
            EntrySource::SelfReported,
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
pub(super) fn assert_duplicate(result: Result<(), StoreError>, expected: &str) {
    assert!(
        matches!(&result, Err(StoreError::Duplicate { what }) if *what == expected),
        "expected Duplicate {{ what: {expected:?} }}, got {result:?}"
    );
}

#[track_caller]
pub(super) fn assert_rejected(result: Result<(), StoreError>) {
    assert!(
        matches!(result, Err(StoreError::Rejected(_))),
        "expected Rejected, got {result:?}"
    );
}
