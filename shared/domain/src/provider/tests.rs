#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::certification::CertificationAggregate;
use crate::certification::Changes;
use crate::certification::Decide;
use crate::model::certification::Certification;
use crate::model::certification::CertificationStatus;
use crate::model::entry::CeEntryInput;
use crate::model::entry::EntryLimits;
use crate::model::entry::EntrySource;
use crate::model::posting::Completion;
use crate::model::posting::CompletionRow;
use crate::model::posting::Posting;
use crate::model::posting::PostingStatus;
use crate::model::posting::ProbableDuplicate;
use crate::model::posting::RowOutcome;
use crate::model::posting::posted_entry_id;
use crate::rules::DuplicateMatch;
use crate::rules::RuleBook;
use crate::rules::RuleSet;
use crate::vocabulary::actor::Role;
use crate::vocabulary::credential::Credential;
use crate::vocabulary::hours::Hours;
use crate::vocabulary::ids::CertificantId;
use crate::vocabulary::ids::CertificationId;
use crate::vocabulary::ids::EntryId;
use uuid::Uuid;

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn at(day: &str) -> DateTime<Utc> {
    d(day).and_hms_opt(12, 0, 0).unwrap().and_utc()
}

fn admin() -> Actor {
    Actor::Staff {
        subject: "s-1".into(),
        role: Role::Admin,
    }
}

fn provider(status: ProviderStatus) -> Provider {
    let mut p = Provider::register(
        ProviderRegistration {
            id: "dhc-learning".into(),
            name: "Digital Health Canada Learning".into(),
            category: ProviderCategory::DigitalHealthCanada,
            approval: ApprovalPeriod {
                from: d("2025-01-01"),
                until: d("2026-06-30"),
            },
            contact: ProviderContact {
                name: "Registrar".into(),
                email: crate::Email::parse("registrar@dhc.example").unwrap(),
            },
        },
        &admin(),
        at("2025-01-01"),
    )
    .unwrap();
    p.status = status;
    p
}

fn poster(p: &Provider) -> Actor {
    Actor::Provider {
        subject: "client-1".into(),
        provider: p.id.clone(),
    }
}

fn rules() -> RuleSet {
    RuleBook::default_rules()
        .for_cycle_starting(d("2024-09-01"))
        .clone()
}

/// A CPDHTS certification expiring 31 Aug 2026.
fn aggregate() -> CertificationAggregate {
    CertificationAggregate::new(Certification {
        id: CertificationId(Uuid::from_u128(1)),
        certificant_id: CertificantId(Uuid::from_u128(2)),
        credential: Credential::Cpdhts,
        certificate_number: "CN-1".into(),
        cycle_starts_on: d("2024-09-01"),
        expires_on: d("2026-08-31"),
        extended_to: None,
        status: CertificationStatus::Active,
        created_at: at("2024-09-01"),
        updated_at: at("2024-09-01"),
        version: 1,
        renewed_by: None,
    })
}

fn row(id: &str) -> CompletionRow {
    CompletionRow {
        completion_id: id.into(),
        certificate_number: Some("CN-1".into()),
        certificant_id: None,
        activity_id: "WEB-114".into(),
        title: "Interoperability in practice".into(),
        completed_on: d("2026-03-14"),
        hours_hundredths: 150,
        ethics_hours_hundredths: None,
        canadian_content: Some(true),
        provider_category: Some(ProviderCategory::Society),
    }
}

fn completion(id: &str) -> Completion {
    row(id).validate(Hours(6000), d("2026-04-01")).unwrap()
}

fn post(
    agg: &CertificationAggregate,
    p: &Provider,
    ids: &[&str],
) -> (Vec<(usize, RowOutcome)>, Option<Changes>) {
    let rows: Vec<_> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| (i + 1, completion(id)))
        .collect();
    agg.post_completions(
        &Decide::new(
            &crate::RuleBook::default_rules().versions()[0],
            &poster(p),
            at("2026-04-01"),
            uuid::Uuid::now_v7(),
        ),
        p,
        &rows,
    )
}

#[test]
fn the_entry_id_is_derived_from_the_provider_and_the_completion() {
    let a = ProviderId("a-1".into());
    let b = ProviderId("b-1".into());
    assert_eq!(posted_entry_id(&a, "C-1"), posted_entry_id(&a, "C-1"));
    assert_ne!(posted_entry_id(&a, "C-1"), posted_entry_id(&a, "C-2"));
    assert_ne!(posted_entry_id(&a, "C-1"), posted_entry_id(&b, "C-1"));
}

#[test]
fn a_posted_entry_counts_in_the_providers_registered_category() {
    let p = provider(ProviderStatus::Active);
    let agg = aggregate();
    let (outcomes, changes) = post(&agg, &p, &["C-1"]);
    let changes = changes.unwrap();
    assert!(matches!(outcomes[0].1, RowOutcome::Created { .. }));
    assert_eq!(changes.postings().len(), 1);
    let after = agg.apply(&changes);
    let entry = &after.entries[0];
    assert_eq!(entry.source, EntrySource::ProviderReported);
    assert_eq!(
        entry.activity.provider_category,
        ProviderCategory::DigitalHealthCanada
    );
    assert_eq!(entry.activity.provider_name, p.name);
    assert_eq!(entry.id, posted_entry_id(&p.id, "C-1"));
    assert_eq!(
        entry.posting.as_ref().map(|r| r.activity_id.as_str()),
        Some("WEB-114")
    );
}

#[test]
fn a_completion_already_on_the_transcript_is_a_duplicate_and_nothing_is_written() {
    let p = provider(ProviderStatus::Active);
    let (_, changes) = post(&aggregate(), &p, &["C-1"]);
    let after = aggregate().apply(&changes.unwrap());
    let (outcomes, changes) = post(&after, &p, &["C-1"]);
    assert!(changes.is_none());
    assert!(matches!(outcomes[0].1, RowOutcome::Duplicate { .. }));
}

#[test]
fn completions_outside_the_cycle_or_on_a_lapsed_certification_are_rejected() {
    let p = provider(ProviderStatus::Active);
    let early = Completion {
        completed_on: d("2024-08-31"),
        ..completion("C-1")
    };
    let (outcomes, changes) = aggregate().post_completions(
        &Decide::new(
            &crate::RuleBook::default_rules().versions()[0],
            &poster(&p),
            at("2026-04-01"),
            uuid::Uuid::now_v7(),
        ),
        &p,
        &[(1, early)],
    );
    assert!(changes.is_none());
    assert!(matches!(
        &outcomes[0].1,
        RowOutcome::Rejected { rejection } if rejection.code == RejectionCode::OutsideCycle
    ));
    let mut lapsed = aggregate();
    lapsed.certification.status = CertificationStatus::Lapsed;
    let (outcomes, _) = post(&lapsed, &p, &["C-2"]);
    assert!(matches!(
        &outcomes[0].1,
        RowOutcome::Rejected { rejection } if rejection.code == RejectionCode::TranscriptLocked
    ));
}

#[test]
fn a_suspended_or_out_of_period_provider_may_not_post() {
    let suspended = provider(ProviderStatus::Suspended);
    assert_eq!(
        suspended.posting_refusal(d("2026-03-14")).map(|r| r.code),
        Some(RejectionCode::ProviderSuspended)
    );
    let active = provider(ProviderStatus::Active);
    assert_eq!(active.posting_refusal(d("2026-03-14")), None);
    assert_eq!(
        active.posting_refusal(d("2026-07-01")).map(|r| r.code),
        Some(RejectionCode::OutsideApprovalPeriod)
    );
}

#[test]
fn rows_with_bad_hours_or_no_certificant_are_refused_with_the_field() {
    let today = d("2026-04-01");
    let bad_hours = CompletionRow {
        hours_hundredths: 0,
        ..row("C-1")
    }
    .validate(Hours(6000), today)
    .unwrap_err();
    assert_eq!(bad_hours.code, RejectionCode::HoursInvalid);
    let ethics = CompletionRow {
        ethics_hours_hundredths: Some(200),
        ..row("C-1")
    }
    .validate(Hours(6000), today)
    .unwrap_err();
    assert_eq!(ethics.code, RejectionCode::HoursInvalid);
    let nobody = CompletionRow {
        certificate_number: Some("  ".into()),
        ..row("C-1")
    }
    .validate(Hours(6000), today)
    .unwrap_err();
    assert_eq!(nobody.code, RejectionCode::InvalidRow);
    assert!(nobody.fields.unwrap().0.contains_key("certificate_number"));
    let bad_id = CompletionRow {
        completion_id: "C 1#x".into(),
        ..row("C-1")
    }
    .validate(Hours(6000), today)
    .unwrap_err();
    assert!(bad_id.fields.unwrap().0.contains_key("completion_id"));
}

#[test]
fn a_status_change_needs_a_reason_and_is_recorded_in_the_history() {
    let p = provider(ProviderStatus::Active);
    let suspend = ProviderUpdate {
        status: Some(ProviderStatus::Suspended),
        ..ProviderUpdate::default()
    };
    assert!(matches!(
        p.updated(suspend.clone(), &admin(), at("2026-01-01")),
        Err(DomainError::Invalid(_))
    ));
    let next = p
        .updated(
            ProviderUpdate {
                reason: Some("agreement expired".into()),
                ..suspend
            },
            &admin(),
            at("2026-01-01"),
        )
        .unwrap()
        .unwrap();
    assert_eq!((next.version, next.status), (2, ProviderStatus::Suspended));
    assert!(matches!(
        next.history.last().map(|e| &e.kind),
        Some(ProviderEventKind::StatusChanged { reason, .. }) if reason == "agreement expired"
    ));
    let same = ProviderUpdate {
        name: Some(next.name.clone()),
        ..ProviderUpdate::default()
    };
    assert_eq!(
        next.updated(same, &admin(), at("2026-01-02")).unwrap(),
        None
    );
}

#[test]
fn a_self_reported_copy_of_a_posted_entry_counts_once_until_confirmed_distinct() {
    let rules = rules();
    let p = provider(ProviderStatus::Active);
    let (_, changes) = post(&aggregate(), &p, &["C-1"]);
    let agg = aggregate().apply(&changes.unwrap());
    let me = Actor::Certificant(agg.certification.certificant_id);
    let own = CeEntryInput {
        title: "Interoperability in Practice!".into(),
        provider_name: "digital health canada learning".into(),
        provider_category: ProviderCategory::Other,
        canadian_content: true,
        completed_on: d("2026-03-14"),
        hours_hundredths: 150,
        ethics_hours_hundredths: 0,
        evidence: vec![],
    }
    .validate(EntryLimits {
        max_hours: Hours(6000),
        completed_no_later_than: Some(d("2026-04-01")),
    })
    .unwrap();
    let own_id = EntryId(Uuid::from_u128(77));
    let (_, added) = agg
        .add_entry(
            &Decide::new(
                &crate::RuleBook::default_rules().versions()[0],
                &me,
                at("2026-04-02"),
                uuid::Uuid::now_v7(),
            ),
            own_id,
            own,
            EntrySource::SelfReported,
        )
        .unwrap();
    let agg = agg.apply(&added);
    assert_eq!(
        agg.probable_duplicates(&rules.duplicates),
        [ProbableDuplicate {
            entry_id: own_id,
            provider_entry_id: posted_entry_id(&p.id, "C-1"),
        }]
    );
    let counted: Vec<_> = agg.entry_facts(&rules).iter().map(|f| f.id).collect();
    assert_eq!(counted, [posted_entry_id(&p.id, "C-1")]);

    let (_, confirmed) = agg
        .confirm_distinct(
            &Decide::new(
                &crate::RuleBook::default_rules().versions()[0],
                &me,
                at("2026-04-03"),
                uuid::Uuid::now_v7(),
            ),
            own_id,
        )
        .unwrap();
    let agg = agg.apply(&confirmed);
    assert!(agg.probable_duplicates(&rules.duplicates).is_empty());
    assert_eq!(agg.entry_facts(&rules).len(), 2);

    // A looser rule (a day apart, any title) still matches; the default does not.
    let mut other_day = agg.clone();
    other_day.entries.iter_mut().for_each(|e| {
        if e.id == own_id {
            e.distinct_confirmed = false;
            e.activity.completed_on = d("2026-03-15");
            e.activity.title = "Webinar".into();
        }
    });
    assert!(other_day.probable_duplicates(&rules.duplicates).is_empty());
    let loose = DuplicateMatch {
        date_tolerance_days: 1,
        match_title: false,
    };
    assert_eq!(other_day.probable_duplicates(&loose).len(), 1);
}

#[test]
fn a_void_removes_the_entry_while_the_transcript_is_open_and_waits_for_staff_once_locked() {
    let p = provider(ProviderStatus::Active);
    let (_, changes) = post(&aggregate(), &p, &["C-1"]);
    let changes = changes.unwrap();
    let posting = changes.postings()[0].posting().clone();
    let agg = aggregate().apply(&changes);
    let (voided, void) = agg
        .void_posting(
            &Decide::new(
                &crate::RuleBook::default_rules().versions()[0],
                &poster(&p),
                at("2026-04-05"),
                uuid::Uuid::now_v7(),
            ),
            &posting,
            "sent in error",
        )
        .unwrap();
    assert!(matches!(
        voided.status,
        PostingStatus::Voided {
            entry_removed: true,
            ..
        }
    ));
    assert!(agg.clone().apply(&void).entries.is_empty());

    let mut locked = agg.clone();
    locked.certification.status = CertificationStatus::Lapsed;
    let (requested, change) = locked
        .void_posting(
            &Decide::new(
                &crate::RuleBook::default_rules().versions()[0],
                &poster(&p),
                at("2026-04-05"),
                uuid::Uuid::now_v7(),
            ),
            &posting,
            "sent in error",
        )
        .unwrap();
    assert!(matches!(
        requested.status,
        PostingStatus::VoidRequested { .. }
    ));
    assert!(requested.status.awaits_staff());
    assert!(change.deletes().is_empty());
    let (kept, decided) = locked
        .decide_void(
            &Decide::new(
                &crate::RuleBook::default_rules().versions()[0],
                &admin(),
                at("2026-04-06"),
                uuid::Uuid::now_v7(),
            ),
            &requested,
            false,
        )
        .unwrap();
    assert!(matches!(
        kept.status,
        PostingStatus::Voided {
            entry_removed: false,
            ..
        }
    ));
    assert!(decided.deletes().is_empty());
    assert!(matches!(
        locked.decide_void(
            &Decide::new(
                &crate::RuleBook::default_rules().versions()[0],
                &admin(),
                at("2026-04-07"),
                uuid::Uuid::now_v7()
            ),
            &kept,
            true
        ),
        Err(DomainError::Conflict {
            code: crate::ConflictCode::PostingNotPending,
            ..
        })
    ));
}

#[test]
fn staff_link_an_unmatched_posting_and_the_entry_takes_the_providers_category() {
    let p = provider(ProviderStatus::Active);
    let unmatched = Posting::unmatched(
        &p.id,
        completion("C-5"),
        "unknown certificate number",
        at("2026-04-01"),
    );
    let agg = aggregate();
    let (linked, changes) = agg
        .link_posting(
            &Decide::new(
                &crate::RuleBook::default_rules().versions()[0],
                &admin(),
                at("2026-04-02"),
                uuid::Uuid::now_v7(),
            ),
            &unmatched,
            &p,
        )
        .unwrap();
    assert!(matches!(
        &linked.status,
        PostingStatus::Posted { linked_by: Some(r), .. } if r == "admin"
    ));
    let after = agg.apply(&changes);
    assert_eq!(
        after.entries[0].activity.provider_category,
        ProviderCategory::DigitalHealthCanada
    );
    assert!(matches!(
        unmatched.rejected(" ", at("2026-04-02")),
        Err(DomainError::Invalid(_))
    ));
}
