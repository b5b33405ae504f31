//! Calendar feeds ([`crate::CalendarFeeds`]).

use super::*;

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
