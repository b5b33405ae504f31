//! Providers and their postings ([`crate::ProviderRegistry`], [`crate::PostingLedger`]).

use super::*;
use recert_domain::Decide;

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
                email: recert_domain::Email::parse("registrar@provider.example").unwrap(),
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
pub(super) async fn all_pages<T, F, Fut>(mut page: F) -> Vec<T>
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
    let (outcomes, changes) = v1.post_completions(
        &Decide::new(
            &recert_domain::RuleBook::default_rules().versions()[0],
            &actor(),
            instant(1),
            uuid::Uuid::now_v7(),
        ),
        &provider,
        &rows,
    );
    let changes = changes.expect("a commit");
    assert_eq!(changes.postings().len(), 1);
    assert!(matches!(
        outcomes[0].1,
        recert_domain::model::posting::RowOutcome::Created { .. }
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
    let (_, again) = other.post_completions(
        &Decide::new(
            &recert_domain::RuleBook::default_rules().versions()[0],
            &actor(),
            instant(2),
            uuid::Uuid::now_v7(),
        ),
        &provider,
        &rows,
    );
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
    let (_, changes) = v1.post_completions(
        &Decide::new(
            &recert_domain::RuleBook::default_rules().versions()[0],
            &actor(),
            instant(1),
            uuid::Uuid::now_v7(),
        ),
        &provider,
        &rows,
    );
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
        .void_posting(
            &Decide::new(
                &recert_domain::RuleBook::default_rules().versions()[0],
                &actor(),
                instant(3),
                uuid::Uuid::now_v7(),
            ),
            &stale,
            "sent in error",
        )
        .expect("the domain voids it");
    assert!(matches!(
        store.commit(&void).await,
        Err(StoreError::PostingChanged)
    ));
    assert_eq!(load(store, v1.certification.id).await, v2);

    let (voided, void) = v2
        .void_posting(
            &Decide::new(
                &recert_domain::RuleBook::default_rules().versions()[0],
                &actor(),
                instant(3),
                uuid::Uuid::now_v7(),
            ),
            &posted,
            "sent in error",
        )
        .expect("the domain voids it");
    store.commit(&void).await.expect("commit the void");
    assert!(load(store, v1.certification.id).await.entries.is_empty());
    assert_eq!(
        store.posting(&provider.id, "C-9").await.expect("read"),
        Some(voided)
    );
}

/// `provider`'s postings in the reconciliation queue.
pub(super) async fn queued_of(store: &dyn Store, provider: &Provider) -> Vec<Posting> {
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
