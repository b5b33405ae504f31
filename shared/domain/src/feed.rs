//! The certificant's private calendar feed: a secret URL a calendar app subscribes to (calendar
//! apps cannot send a bearer token), and the iCalendar (RFC 5545) text it serves.
//!
//! **The token** is `<certificant id>.<secret>`: the certificant's id (lower-case hyphenated UUID)
//! names whose feed it is, the secret is 32 random bytes as unpadded base64url (43 characters).
//! Only the secret's SHA-256 is stored ([`CalendarFeed`]); the token itself is shown once, when
//! the feed is created or rotated, and never stored nor logged ([`FeedToken`]'s `Debug` hides
//! it). A presented token is checked against the stored hash in constant time
//! ([`CalendarFeed::verify`]). Rotating stores a new hash over the old one, so the old URL stops
//! working at once; revoking deletes the record.
//!
//! **The calendar** ([`feed_events`], [`render_calendar`]) lists, for each ACTIVE certification,
//! the current cycle's renewal window opening, the waiver-request cutoff and the closing date
//! (the counting end, which a granted extension moves), and the documentation due date of every
//! audit still waiting for documents. A lapsed or revoked certification has no dates to keep, so
//! it contributes no event at all. Events are all-day (`VALUE=DATE`), with stable UIDs (an
//! extension moves the closing date's event, it does not add one) and no personal data beyond
//! the credential's code: not the name, not the certificate number (the URL may end up in places
//! the certificant did not mean it to).

use crate::audit::case::AuditStatus;
use crate::certification::CertificationAggregate;
use crate::rules::RuleSet;
use crate::vocabulary::credential::Credential;
use crate::vocabulary::ids::CertificantId;
use crate::vocabulary::ids::CertificationId;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Days, NaiveDate, Utc};
use icalendar::{Calendar, Component, EventLike, Property};
use rand::CryptoRng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;
use subtle::ConstantTimeEq;

/// Bytes of randomness in a feed's secret.
pub const SECRET_BYTES: usize = 32;
/// Characters of the secret in a token: 32 bytes as unpadded base64url.
pub const SECRET_CHARS: usize = 43;
/// The iCalendar `PRODID` of the feed.
pub const PRODID: &str = "-//Recert//Certificant calendar feed//EN";
/// The calendar's name (`X-WR-CALNAME`) as calendar apps show it.
pub const CALENDAR_NAME: &str = "Recert: renewal dates";
/// How often a calendar app should fetch the feed again (`REFRESH-INTERVAL`, `X-PUBLISHED-TTL`).
pub const REFRESH_HOURS: i64 = 12;

/// A feed's secret URL token, as handed out once. Never stored, never logged: `Debug` shows the
/// certificant only, and there is no `Display`; [`FeedToken::expose`] is the one way to its text.
#[derive(Clone, PartialEq, Eq)]
pub struct FeedToken {
    certificant_id: CertificantId,
    secret: [u8; SECRET_BYTES],
}

impl fmt::Debug for FeedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FeedToken")
            .field("certificant_id", &self.certificant_id)
            .field("secret", &"[redacted]")
            .finish()
    }
}

impl FeedToken {
    /// A fresh token for `certificant_id`, its secret drawn from `rng` (a cryptographic one:
    /// `rand::rng()` in production).
    pub fn mint<R: CryptoRng + ?Sized>(certificant_id: CertificantId, rng: &mut R) -> Self {
        let mut secret = [0u8; SECRET_BYTES];
        rng.fill_bytes(&mut secret);
        FeedToken {
            certificant_id,
            secret,
        }
    }

    /// The token `text` spells, if it is one: `<lower-case hyphenated uuid>.<43 base64url
    /// characters decoding to 32 bytes>`, nothing else (no padding, no other spelling of the id,
    /// no surrounding space), so each secret has exactly one URL.
    pub fn parse(text: &str) -> Option<Self> {
        let (id, secret) = text.split_once('.')?;
        let certificant_id: CertificantId = id.parse().ok()?;
        if certificant_id.to_string() != id || secret.len() != SECRET_CHARS {
            return None;
        }
        // The engine refuses padding and non-zero trailing bits: one spelling per secret.
        let bytes = URL_SAFE_NO_PAD.decode(secret).ok()?;
        let secret: [u8; SECRET_BYTES] = bytes.try_into().ok()?;
        Some(FeedToken {
            certificant_id,
            secret,
        })
    }

    /// Whose feed the token opens.
    pub fn certificant_id(&self) -> CertificantId {
        self.certificant_id
    }

    /// The token's text, for the one response that hands it out (the feed's URL).
    pub fn expose(&self) -> String {
        format!(
            "{}.{}",
            self.certificant_id,
            URL_SAFE_NO_PAD.encode(self.secret)
        )
    }

    /// SHA-256 of the secret.
    fn secret_sha256(&self) -> [u8; 32] {
        Sha256::digest(self.secret).into()
    }
}

/// A certificant's calendar feed as stored: whose it is, the SHA-256 of its secret (lower-case
/// hex), when it was created (or last rotated). At most one per certificant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarFeed {
    pub certificant_id: CertificantId,
    /// Lower-case hex SHA-256 of the token's secret (the token itself is never stored).
    pub secret_sha256: String,
    pub created_at: DateTime<Utc>,
}

impl CalendarFeed {
    /// The record of `token`, created (or rotated) at `now`.
    pub fn new(token: &FeedToken, now: DateTime<Utc>) -> Self {
        CalendarFeed {
            certificant_id: token.certificant_id,
            secret_sha256: hex::encode(token.secret_sha256()),
            created_at: now,
        }
    }

    /// Whether `token` opens this feed: its certificant's, and the SHA-256 of its secret equal to
    /// the stored one, compared in constant time. A stored hash that is not 64 hex digits opens
    /// nothing.
    pub fn verify(&self, token: &FeedToken) -> bool {
        let mut stored = [0u8; 32];
        if hex::decode_to_slice(&self.secret_sha256, &mut stored).is_err() {
            return false;
        }
        let same_hash: bool = token.secret_sha256().ct_eq(&stored).into();
        same_hash && token.certificant_id == self.certificant_id
    }
}

/// What a date in the feed is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FeedEventKind {
    /// The renewal window opens: submissions are taken from this day.
    WindowOpens,
    /// The last day a waiver or extension request may arrive.
    WaiverCutoff,
    /// The cycle's closing date: the last day whose hours count and to submit (an extension
    /// moves it).
    CycleCloses,
    /// An audit's documentation is due (while the audit waits for documents).
    AuditDocumentsDue,
}

impl FeedEventKind {
    /// The kind's part of an event's UID.
    pub const fn as_str(self) -> &'static str {
        match self {
            FeedEventKind::WindowOpens => "window_opens",
            FeedEventKind::WaiverCutoff => "waiver_cutoff",
            FeedEventKind::CycleCloses => "cycle_closes",
            FeedEventKind::AuditDocumentsDue => "audit_documents_due",
        }
    }

    fn summary(self, credential: Credential) -> String {
        match self {
            FeedEventKind::WindowOpens => format!("{credential}: renewal window opens"),
            FeedEventKind::WaiverCutoff => {
                format!("{credential}: last day to request a waiver or extension")
            }
            FeedEventKind::CycleCloses => {
                format!("{credential}: cycle closes, last day to renew")
            }
            FeedEventKind::AuditDocumentsDue => {
                format!("{credential} audit: documentation due")
            }
        }
    }

    fn description(self) -> &'static str {
        match self {
            FeedEventKind::WindowOpens => {
                "Your renewal submission is taken from today until the cycle closes."
            }
            FeedEventKind::WaiverCutoff => {
                "A waiver or extension request must arrive by the end of today."
            }
            FeedEventKind::CycleCloses => {
                "The last day whose completed hours count, and the last day to submit your \
                 renewal; after it an unrenewed credential lapses."
            }
            FeedEventKind::AuditDocumentsDue => {
                "Upload the documentation of your audited entries and respond by the end of \
                 today; after it the audit fails and the credential is revoked."
            }
        }
    }
}

/// One all-day event of the feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedEvent {
    pub certification_id: CertificationId,
    pub credential: Credential,
    pub kind: FeedEventKind,
    pub on: NaiveDate,
    /// Stable across fetches: `<certification id>.<kind>.<cycle start, yyyymmdd>@recert`, or for
    /// an audit `<certification id>.audit_documents_due.<renewal id>@recert`. The cycle start
    /// (not the date) is in it, so an extension moves the closing date's event and a renewal's
    /// next cycle gets new events.
    pub uid: String,
    pub summary: String,
}

impl FeedEvent {
    fn new(
        aggregate: &CertificationAggregate,
        kind: FeedEventKind,
        on: NaiveDate,
        discriminator: String,
    ) -> Self {
        let c = &aggregate.certification;
        FeedEvent {
            certification_id: c.id,
            credential: c.credential,
            kind,
            on,
            uid: format!("{}.{}.{discriminator}@recert", c.id, kind.as_str()),
            summary: kind.summary(c.credential),
        }
    }
}

/// The dates of `certificant`'s feed, by date then UID: for each ACTIVE certification of theirs
/// (with the rules of its cycle), its window opening, waiver cutoff and closing date, and the due
/// date of each of its audits still waiting for documents. Certifications of anyone else, and
/// lapsed or revoked ones, give nothing.
pub fn feed_events(
    certificant: CertificantId,
    certifications: &[(CertificationAggregate, &RuleSet)],
) -> Vec<FeedEvent> {
    let mut events = Vec::new();
    for (aggregate, rules) in certifications {
        let c = &aggregate.certification;
        if c.certificant_id != certificant || !c.is_active() {
            continue;
        }
        let cycle = c.cycle();
        let starts = c.cycle_starts_on.format("%Y%m%d").to_string();
        let window = cycle.window(&rules.deadlines);
        for (kind, on) in [
            (FeedEventKind::WindowOpens, window.opens_on),
            (
                FeedEventKind::WaiverCutoff,
                cycle.waiver_request_cutoff(&rules.deadlines),
            ),
            (FeedEventKind::CycleCloses, cycle.counting_ends_on()),
        ] {
            events.push(FeedEvent::new(aggregate, kind, on, starts.clone()));
        }
        for audit in &aggregate.audits {
            if audit.status == AuditStatus::DocumentsDue {
                events.push(FeedEvent::new(
                    aggregate,
                    FeedEventKind::AuditDocumentsDue,
                    audit.due_on,
                    audit.renewal_id.to_string(),
                ));
            }
        }
    }
    events.sort_by(|a, b| (a.on, &a.uid).cmp(&(b.on, &b.uid)));
    events
}

/// The feed's iCalendar text (RFC 5545: CRLF lines folded at 75 octets, text escaped, by the
/// `icalendar` crate): `events` as all-day events stamped `now`, the calendar named
/// [`CALENDAR_NAME`], refreshed every [`REFRESH_HOURS`] hours.
pub fn render_calendar(events: &[FeedEvent], now: DateTime<Utc>) -> String {
    let mut calendar = Calendar::empty();
    calendar
        .append_property(Property::new("VERSION", "2.0"))
        .append_property(Property::new("PRODID", PRODID))
        .append_property(Property::new("CALSCALE", "GREGORIAN"))
        .append_property(Property::new("METHOD", "PUBLISH"))
        .append_property(Property::new("X-WR-CALNAME", CALENDAR_NAME))
        .ttl(&chrono::Duration::hours(REFRESH_HOURS));
    for e in events {
        let mut event = icalendar::Event::with_uid(&e.uid);
        event
            .timestamp(now)
            .starts(e.on)
            // DTEND is exclusive: an all-day event of one day ends the next day.
            .ends(e.on.checked_add_days(Days::new(1)).unwrap_or(e.on))
            .summary(&e.summary)
            .description(e.kind.description())
            .add_property("TRANSP", "TRANSPARENT")
            .class(icalendar::Class::Private);
        calendar.push(event.done());
    }
    format!("{calendar}")
}

/// [`feed_events`] rendered by [`render_calendar`]: the whole feed.
pub fn calendar_feed(
    certificant: CertificantId,
    certifications: &[(CertificationAggregate, &RuleSet)],
    now: DateTime<Utc>,
) -> String {
    render_calendar(&feed_events(certificant, certifications), now)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::audit::case::Audit;
    use crate::audit::case::DrawJudgement;
    use crate::audit::period::Period;
    use crate::audit::ticket::Ticket;
    use crate::model::certification::Certification;
    use crate::model::certification::CertificationStatus;
    use crate::rules::RuleBook;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn now() -> DateTime<Utc> {
        "2026-03-01T12:00:00Z".parse().unwrap()
    }

    fn person() -> CertificantId {
        CertificantId(uuid::Uuid::from_u128(
            0x0190_0000_0000_7000_8000_0000_0000_0001,
        ))
    }

    fn token() -> FeedToken {
        FeedToken::mint(person(), &mut StdRng::seed_from_u64(7))
    }

    #[test]
    fn a_token_is_the_certificant_id_and_43_base64url_characters() {
        let text = token().expose();
        let (id, secret) = text.split_once('.').unwrap();
        assert_eq!(id, person().to_string());
        assert_eq!(secret.len(), SECRET_CHARS);
        assert!(
            secret
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_eq!(FeedToken::parse(&text), Some(token()));
    }

    #[test]
    fn tokens_are_random() {
        let mut rng = rand::rng();
        let (a, b) = (
            FeedToken::mint(person(), &mut rng),
            FeedToken::mint(person(), &mut rng),
        );
        assert_ne!(a.expose(), b.expose());
    }

    #[test]
    fn the_stored_record_holds_the_secrets_hash_never_the_secret() {
        let t = token();
        let feed = CalendarFeed::new(&t, now());
        let secret = t.expose().split_once('.').unwrap().1.to_owned();
        assert_eq!(feed.secret_sha256.len(), 64);
        let stored = serde_json::to_string(&feed).unwrap();
        assert!(!stored.contains(&secret), "{stored}");
        assert_eq!(feed.certificant_id, person());
        assert_eq!(feed.created_at, now());
    }

    #[test]
    fn only_the_right_secret_of_the_right_certificant_verifies() {
        let t = token();
        let feed = CalendarFeed::new(&t, now());
        assert!(feed.verify(&t));
        assert!(feed.verify(&FeedToken::parse(&t.expose()).unwrap()));
        // Another secret (a rotated-out or guessed one).
        let other = FeedToken::mint(person(), &mut StdRng::seed_from_u64(8));
        assert!(!feed.verify(&other));
        // The same secret under another certificant's id.
        let text = t.expose();
        let (_, secret) = text.split_once('.').unwrap();
        let elsewhere = format!("{}.{secret}", CertificantId(uuid::Uuid::now_v7()));
        assert!(!feed.verify(&FeedToken::parse(&elsewhere).unwrap()));
        // A damaged stored hash opens nothing: not hex, or a digit short or over.
        let stored = feed.secret_sha256.clone();
        for damaged in [
            "zz".repeat(32),
            stored[..62].to_owned(),
            format!("{stored}00"),
        ] {
            let damaged = CalendarFeed {
                secret_sha256: damaged,
                ..feed.clone()
            };
            assert!(!damaged.verify(&t), "{}", damaged.secret_sha256);
        }
        // Its hex digits in either case still open it.
        let upper = CalendarFeed {
            secret_sha256: stored.to_uppercase(),
            ..feed
        };
        assert!(upper.verify(&t));
    }

    #[test]
    fn malformed_tokens_do_not_parse() {
        let good = token().expose();
        let (id, secret) = good.split_once('.').unwrap();
        let cases = [
            String::new(),
            ".".into(),
            id.to_owned(),
            format!("{id}."),
            format!(".{secret}"),
            format!("{id}.{secret}="),
            format!("{id}.{}", &secret[..42]),
            format!("{id}.{secret}A"),
            format!("{id}.{}", secret.replace(|_: char| true, "+")),
            format!("{}.{secret}", id.to_uppercase()),
            format!("{}.{secret}", id.replace('-', "")),
            format!("{{{id}}}.{secret}"),
            format!("{id}.{secret}.ics"),
            format!(" {good}"),
            format!("not-a-uuid.{secret}"),
            // The last character carries 2 bits of padding: non-zero ones are another spelling.
            format!("{id}.{}B", &secret[..42]),
        ];
        for case in cases {
            if case == good {
                continue;
            }
            assert_eq!(FeedToken::parse(&case), None, "{case:?}");
        }
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let t = token();
        let secret = t.expose().split_once('.').unwrap().1.to_owned();
        let shown = format!("{t:?}");
        assert!(!shown.contains(&secret), "{shown}");
        assert!(shown.contains("redacted"));
    }

    fn certification(expires_on: &str, status: CertificationStatus) -> CertificationAggregate {
        let at = now();
        CertificationAggregate {
            certification: Certification {
                id: CertificationId(uuid::Uuid::now_v7()),
                certificant_id: person(),
                credential: Credential::Cphims,
                certificate_number: "CPHIMS-1".into(),
                cycle_starts_on: d("2023-09-01"),
                expires_on: d(expires_on),
                extended_to: None,
                status,
                created_at: at,
                updated_at: at,
                version: 1,
                renewed_by: None,
            },
            entries: Vec::new(),
            renewals: Vec::new(),
            idempotency: Vec::new(),
            deadlines: Vec::new(),
            audits: Vec::new(),
            waiver_requests: Vec::new(),
        }
    }

    fn audit(status: AuditStatus, due_on: &str) -> Audit {
        Audit {
            renewal_id: uuid::Uuid::now_v7(),
            cycle_starts_on: d("2023-09-01"),
            status,
            draw: DrawJudgement {
                period: Period::of(d("2026-03-01")),
                run_on: d("2026-03-01"),
                seq: 1,
                candidate: "candidate".into(),
                selected: true,
                ticket: Ticket::first("seed", "renewal"),
            },
            selected_at: now(),
            due_on: d(due_on),
            extra_time_granted: false,
            entries: Vec::new(),
            responded_at: None,
            closed_at: None,
            failure: None,
        }
    }

    fn rules() -> RuleBook {
        RuleBook::default_rules()
    }

    #[test]
    fn an_active_certification_has_its_window_cutoff_and_closing_date() {
        let book = rules();
        let c = certification("2026-08-31", CertificationStatus::Active);
        let id = c.certification.id;
        let rules = book.for_cycle_starting(d("2023-09-01"));
        let events = feed_events(person(), &[(c, rules)]);
        let got: Vec<_> = events.iter().map(|e| (e.kind, e.on)).collect();
        assert_eq!(
            got,
            [
                (FeedEventKind::WindowOpens, d("2026-02-28")),
                (FeedEventKind::WaiverCutoff, d("2026-05-31")),
                (FeedEventKind::CycleCloses, d("2026-08-31")),
            ]
        );
        assert_eq!(events[2].uid, format!("{id}.cycle_closes.20230901@recert"));
        assert_eq!(events[0].summary, "CPHIMS: renewal window opens");
    }

    #[test]
    fn an_extension_moves_the_closing_date_under_the_same_uid() {
        let book = rules();
        let rules = book.for_cycle_starting(d("2023-09-01"));
        let plain = certification("2026-08-31", CertificationStatus::Active);
        let mut extended = plain.clone();
        extended.certification.extended_to = Some(d("2026-11-30"));
        let closing = |c: CertificationAggregate| {
            feed_events(person(), &[(c, rules)])
                .into_iter()
                .find(|e| e.kind == FeedEventKind::CycleCloses)
                .unwrap()
        };
        let (before, after) = (closing(plain), closing(extended));
        assert_eq!(after.on, d("2026-11-30"));
        assert_eq!(before.uid, after.uid);
    }

    #[test]
    fn audits_waiting_for_documents_are_listed_and_no_others() {
        let book = rules();
        let rules = book.for_cycle_starting(d("2023-09-01"));
        let mut c = certification("2026-08-31", CertificationStatus::Active);
        let waiting = audit(AuditStatus::DocumentsDue, "2026-03-31");
        c.audits = vec![
            waiting.clone(),
            audit(AuditStatus::AwaitingDecision, "2026-03-20"),
            audit(AuditStatus::Passed, "2026-03-10"),
        ];
        let id = c.certification.id;
        let audits: Vec<_> = feed_events(person(), &[(c, rules)])
            .into_iter()
            .filter(|e| e.kind == FeedEventKind::AuditDocumentsDue)
            .collect();
        assert_eq!(audits.len(), 1);
        assert_eq!(audits[0].on, d("2026-03-31"));
        assert_eq!(
            audits[0].uid,
            format!("{id}.audit_documents_due.{}@recert", waiting.renewal_id)
        );
        assert_eq!(audits[0].summary, "CPHIMS audit: documentation due");
    }

    #[test]
    fn lapsed_revoked_and_other_peoples_certifications_give_nothing() {
        let book = rules();
        let rules = book.for_cycle_starting(d("2023-09-01"));
        let mut revoked = certification("2026-08-31", CertificationStatus::Revoked);
        revoked.audits = vec![audit(AuditStatus::DocumentsDue, "2026-03-31")];
        let lapsed = certification("2025-08-31", CertificationStatus::Lapsed);
        let mut someone_else = certification("2026-08-31", CertificationStatus::Active);
        someone_else.certification.certificant_id = CertificantId(uuid::Uuid::now_v7());
        let events = feed_events(
            person(),
            &[(revoked, rules), (lapsed, rules), (someone_else, rules)],
        );
        assert_eq!(events, []);
        let empty = render_calendar(&events, now());
        assert!(empty.starts_with("BEGIN:VCALENDAR\r\n"), "{empty}");
        assert!(!empty.contains("BEGIN:VEVENT"), "{empty}");
    }

    #[test]
    fn the_calendar_is_rfc_5545_text_with_all_day_events() {
        let book = rules();
        let rules = book.for_cycle_starting(d("2023-09-01"));
        let c = certification("2026-08-31", CertificationStatus::Active);
        let text = calendar_feed(person(), &[(c, rules)], now());
        assert!(text.starts_with("BEGIN:VCALENDAR\r\n"), "{text}");
        assert!(text.ends_with("END:VCALENDAR\r\n"), "{text}");
        for line in text.split("\r\n") {
            assert!(line.len() <= 75, "unfolded line: {line:?}");
            assert!(!line.contains('\n'), "bare LF in {line:?}");
        }
        for wanted in [
            "VERSION:2.0\r\n",
            &format!("PRODID:{PRODID}\r\n"),
            &format!("X-WR-CALNAME:{CALENDAR_NAME}\r\n"),
            "METHOD:PUBLISH\r\n",
            "DTSTART;VALUE=DATE:20260228\r\n",
            "DTEND;VALUE=DATE:20260301\r\n",
            "DTSTART;VALUE=DATE:20260831\r\n",
            "DTEND;VALUE=DATE:20260901\r\n",
            "DTSTAMP:20260301T120000Z\r\n",
            "SUMMARY:CPHIMS: renewal window opens\r\n",
        ] {
            assert!(text.contains(wanted), "no {wanted:?} in\n{text}");
        }
        assert_eq!(text.matches("BEGIN:VEVENT").count(), 3);
        // No personal data: not the certificate number, not the certificant's id.
        assert!(!text.contains("CPHIMS-1"));
        assert!(!text.contains(&person().to_string()));
    }

    #[test]
    fn text_is_escaped_and_long_lines_folded() {
        let event = FeedEvent {
            certification_id: CertificationId(uuid::Uuid::now_v7()),
            credential: Credential::CphimsCa,
            kind: FeedEventKind::WaiverCutoff,
            on: d("2026-05-31"),
            uid: "x@recert".into(),
            summary: format!("a; b, c\\ d {}", "é".repeat(60)),
        };
        let text = render_calendar(&[event], now());
        assert!(text.contains("SUMMARY:a\\; b\\, c\\\\ d é"), "{text}");
        // The summary is longer than one line: folded at 75 octets (never inside a character)
        // with CRLF and a space.
        for line in text.split("\r\n") {
            assert!(line.len() <= 75, "unfolded line: {line:?}");
        }
        let unfolded = text.replace("\r\n ", "");
        assert!(unfolded.contains(&"é".repeat(60)), "{text}");
    }
}
