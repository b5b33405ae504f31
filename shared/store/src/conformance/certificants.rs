//! Certificants ([`crate::CertificantStore`]): created once, unique by id and by email.

use super::*;

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
        email: recert_domain::Email::parse(&first.email.as_str().to_uppercase())
            .expect("an address"),
        ..new_certificant()
    };
    assert_duplicate(store.create_certificant(&other).await, "email");
    assert_eq!(store.certificant(other.id).await.expect("read"), None);
    assert_eq!(
        store.certificant(first.id).await.expect("read"),
        Some(first)
    );
}
