//! The certificant's private calendar feed ([`recert_domain::feed`]): create or rotate it (a new
//! secret URL; the old one stops working), revoke it, and serve it to whoever holds the URL.
//!
//! Who may create or revoke a certificant's feed is the edge's to check (the certificant
//! themself, or staff allowed to act for them); serving the feed checks only the token, since a
//! calendar app cannot send anything else. The token is never logged nor stored (only its
//! secret's SHA-256 is).

use crate::{App, AppError};
use recert_domain::feed::{self, CalendarFeed, FeedToken};
use recert_domain::{CertificantId, CertificationStatus};

/// A new feed for `certificant` (replacing theirs, if they had one): the token to hand out once,
/// and the record stored. `NotFound` if there is no such certificant.
pub async fn rotate_feed(
    app: &App,
    certificant: CertificantId,
) -> Result<(FeedToken, CalendarFeed), AppError> {
    if app.store.certificant(certificant).await?.is_none() {
        return Err(AppError::NotFound("certificant"));
    }
    let token = FeedToken::mint(certificant, &mut rand::rng());
    let record = CalendarFeed::new(&token, app.clock.now());
    app.store.put_calendar_feed(&record).await?;
    tracing::info!("calendar feed created");
    Ok((token, record))
}

/// Revoke `certificant`'s feed (whether or not they had one). `NotFound` if there is no such
/// certificant.
pub async fn revoke_feed(app: &App, certificant: CertificantId) -> Result<(), AppError> {
    if app.store.certificant(certificant).await?.is_none() {
        return Err(AppError::NotFound("certificant"));
    }
    app.store.delete_calendar_feed(certificant).await?;
    tracing::info!("calendar feed revoked");
    Ok(())
}

/// The iCalendar text of the feed `token` opens, or `None` when it opens none: a malformed
/// token, one without a feed (never created, or revoked), one whose secret is not the feed's
/// (rotated out, or guessed) — the caller cannot tell which.
pub async fn feed_calendar(app: &App, token: &str) -> Result<Option<String>, AppError> {
    let Some(token) = FeedToken::parse(token) else {
        return Ok(None);
    };
    let certificant = token.certificant_id();
    let opens = app
        .store
        .calendar_feed(certificant)
        .await?
        .is_some_and(|stored| stored.verify(&token));
    if !opens {
        return Ok(None);
    }
    let mut certifications = Vec::new();
    for certification in app.store.certifications_of(certificant).await? {
        // A lapsed or revoked certification has no dates in the feed: not worth a load.
        if certification.status != CertificationStatus::Active {
            continue;
        }
        if let Some(aggregate) = app.store.load(certification.id).await? {
            let rules = app.rules_for(&aggregate);
            certifications.push((aggregate, rules));
        }
    }
    Ok(Some(feed::calendar_feed(
        certificant,
        &certifications,
        app.clock.now(),
    )))
}
