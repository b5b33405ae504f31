//! The random audit's ledger ([`crate::AuditLedger`]).

use super::*;

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

pub(super) fn sealed(seed_byte: u8) -> SealedSeed {
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
