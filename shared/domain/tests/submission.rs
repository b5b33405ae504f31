//! Renewal submissions, payments and review, judged by the domain alone (the API and store tests
//! drive the same commands end to end).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::{DateTime, NaiveDate, Utc};
use recert_domain::Decide;
use recert_domain::certification::{CertificationAggregate, Item};
use recert_domain::model::entry::Activity;
use recert_domain::model::notice::Notice;
use recert_domain::model::submission::{
    BillingAddress, PaymentEventFacts, ReturnReason, ReviewOutcome, SubmitRequest,
    certification_of_order,
};
use recert_domain::{
    Actor, CertificantId, Certification, CertificationId, CertificationStatus, Changes, Credential,
    DomainError, DueKind, EntryId, EntrySource, Hours, Membership, ProviderCategory, Recipient,
    Role, RuleBook, SubmissionStatus,
};
use uuid::Uuid;

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn at(s: &str) -> DateTime<Utc> {
    d(s).and_hms_opt(12, 0, 0).unwrap().and_utc()
}

fn rules() -> RuleBook {
    RuleBook::default_rules()
}

fn me() -> Actor {
    Actor::Certificant(CertificantId(Uuid::from_u128(7)))
}

fn reviewer() -> Actor {
    Actor::Staff {
        subject: "rev-1".into(),
        role: Role::Reviewer,
    }
}

fn recipient() -> Recipient {
    Recipient {
        certificant_id: CertificantId(Uuid::from_u128(7)),
        email: recert_domain::Email::parse("ada@example.org").unwrap(),
        full_name: "Ada Lovelace".into(),
    }
}

fn address() -> BillingAddress {
    BillingAddress {
        name: " Ada Lovelace ".into(),
        line1: "12 St James's Square".into(),
        line2: None,
        city: "London".into(),
        region: None,
        postal_code: "SW1Y 4LE".into(),
        country: "gb".into(),
    }
}

fn request() -> SubmitRequest {
    SubmitRequest {
        attestation: Some(true),
        attestation_version: None,
        billing_address: address(),
    }
}

/// A CPHIMS cycle 1 Sep 2023 – 31 Aug 2026 (window from 28 Feb 2026), with `hours` society hours
/// (2 of them ethics) when `hours > 0`.
fn aggregate(hours: u32) -> CertificationAggregate {
    let certification = Certification {
        id: CertificationId(Uuid::from_u128(1)),
        certificant_id: CertificantId(Uuid::from_u128(7)),
        credential: Credential::Cphims,
        certificate_number: "CPHIMS-1".into(),
        cycle_starts_on: d("2023-09-01"),
        expires_on: d("2026-08-31"),
        extended_to: None,
        status: CertificationStatus::Active,
        created_at: at("2023-09-01"),
        updated_at: at("2023-09-01"),
        version: 0,
        renewed_by: None,
    };
    let mut agg = CertificationAggregate::new(certification.clone());
    agg = agg.apply(&Changes::issue(certification, &me(), at("2023-09-01")));
    if hours > 0 {
        let activity = Activity {
            title: "Society conference".into(),
            provider_name: "The Society".into(),
            provider_category: ProviderCategory::Society,
            canadian_content: false,
            completed_on: d("2024-05-01"),
            hours: Hours(hours * 100),
            ethics_hours: Hours(200),
            evidence: vec![],
        };
        let (_, changes) = agg
            .add_entry(
                &Decide::new(
                    &recert_domain::RuleBook::default_rules().versions()[0],
                    &me(),
                    at("2024-05-02"),
                    uuid::Uuid::now_v7(),
                ),
                EntryId(Uuid::from_u128(9)),
                activity,
                EntrySource::SelfReported,
            )
            .unwrap();
        agg = agg.apply(&changes);
    }
    agg
}

fn submitted(
    agg: &CertificationAggregate,
    membership: Membership,
    on: &str,
) -> CertificationAggregate {
    let rules = rules();
    let (_, changes) = agg
        .submit(
            &Decide::new(
                rules.for_cycle_starting(agg.certification.cycle_starts_on),
                &me(),
                at(on),
                uuid::Uuid::now_v7(),
            ),
            request(),
            membership,
            Uuid::from_u128(50),
        )
        .unwrap();
    agg.clone().apply(&changes)
}

fn conflict_code(e: DomainError) -> &'static str {
    match e {
        DomainError::Conflict { code, .. } => code.as_str(),
        other => panic!("not a conflict: {other:?}"),
    }
}

fn paid_event(id: &str, amount: i64, currency: &str) -> PaymentEventFacts {
    PaymentEventFacts {
        event_id: id.into(),
        succeeded: true,
        refunded: false,
        amount_minor: Some(amount),
        currency: Some(currency.into()),
        reference: Some("pi_1".into()),
    }
}

#[test]
fn a_submission_is_priced_by_membership_on_record_attested_and_locks_the_entries() {
    let rules = rules();
    let set = rules.for_cycle_starting(d("2023-09-01"));
    let agg = aggregate(45);
    let (member, _) = agg
        .submit(
            &Decide::new(set, &me(), at("2026-03-01"), uuid::Uuid::now_v7()),
            request(),
            Membership::Member,
            Uuid::from_u128(50),
        )
        .unwrap();
    let (non_member, changes) = agg
        .submit(
            &Decide::new(set, &me(), at("2026-03-01"), uuid::Uuid::now_v7()),
            request(),
            Membership::NonMember,
            Uuid::from_u128(51),
        )
        .unwrap();
    assert_eq!(member.charge.as_ref().unwrap().amount_minor, 12500);
    let charge = non_member.charge.as_ref().unwrap();
    assert_eq!(
        (charge.amount_minor, charge.currency.as_str()),
        (17500, "USD")
    );
    assert_eq!(charge.membership, Membership::NonMember);
    assert_eq!(charge.fee_table_effective_from, set.effective_from);
    let attestation = non_member.attestation.as_ref().unwrap();
    assert_eq!(attestation.version, set.attestation.version);
    assert_eq!(attestation.text, set.attestation.text);
    assert_eq!(non_member.billing_address.as_ref().unwrap().country, "GB");
    assert_eq!(
        non_member.billing_address.as_ref().unwrap().name,
        "Ada Lovelace"
    );
    assert_eq!(non_member.status, SubmissionStatus::AwaitingPayment);
    assert_eq!(
        certification_of_order(&non_member.order_number),
        Some(agg.certification.id)
    );
    let after = agg.apply(&changes);
    let activity = after.entries[0].activity.clone();
    let err = after
        .add_entry(
            &Decide::new(
                &recert_domain::RuleBook::default_rules().versions()[0],
                &me(),
                at("2026-03-02"),
                uuid::Uuid::now_v7(),
            ),
            EntryId(Uuid::from_u128(10)),
            activity,
            EntrySource::SelfReported,
        )
        .unwrap_err();
    assert_eq!(conflict_code(err), "cycle_submitted");
}

#[test]
fn every_refusal_has_its_code_and_its_facts() {
    let rules = rules();
    let set = rules.for_cycle_starting(d("2023-09-01"));
    let ready = aggregate(45);
    let submit = |agg: &CertificationAggregate, req: SubmitRequest, on: &str| {
        agg.submit(
            &Decide::new(set, &me(), at(on), uuid::Uuid::now_v7()),
            req,
            Membership::Member,
            Uuid::from_u128(60),
        )
    };
    // Outside the window, with its dates.
    match submit(&ready, request(), "2026-02-27").unwrap_err() {
        DomainError::Conflict { code, message } => {
            assert_eq!(code.as_str(), "window_not_open");
            assert!(message.contains("2026-02-28"), "{message}");
        }
        e => panic!("{e:?}"),
    }
    assert_eq!(
        conflict_code(submit(&ready, request(), "2026-09-01").unwrap_err()),
        "window_closed"
    );
    // Requirements not met, with the shortfall.
    match submit(&aggregate(40), request(), "2026-03-01").unwrap_err() {
        DomainError::Conflict { code, message } => {
            assert_eq!(code.as_str(), "requirements_not_met");
            assert!(message.contains("5.00 h"), "{message}");
        }
        e => panic!("{e:?}"),
    }
    // Attestation false, missing, or an outdated version: field errors.
    for (attestation, version) in [
        (Some(false), None),
        (None, None),
        (Some(true), Some("1999-01".to_owned())),
    ] {
        let req = SubmitRequest {
            attestation,
            attestation_version: version,
            billing_address: address(),
        };
        assert!(matches!(
            submit(&ready, req, "2026-03-01").unwrap_err(),
            DomainError::Invalid(_)
        ));
    }
    // A billing address without a city, with a bad country.
    let mut bad = address();
    bad.city = " ".into();
    bad.country = "Great Britain".into();
    match submit(
        &ready,
        SubmitRequest {
            billing_address: bad,
            ..request()
        },
        "2026-03-01",
    )
    .unwrap_err()
    {
        DomainError::Invalid(f) => {
            assert!(
                f.0.contains_key("billing_address/city")
                    && f.0.contains_key("billing_address/country"),
                "{f:?}"
            );
        }
        e => panic!("{e:?}"),
    }
    // Already submitted.
    let once = submitted(&ready, Membership::Member, "2026-03-01");
    assert_eq!(
        conflict_code(submit(&once, request(), "2026-03-02").unwrap_err()),
        "cycle_submitted"
    );
    // Lapsed.
    let mut lapsed = ready.clone();
    lapsed.certification.status = CertificationStatus::Lapsed;
    assert_eq!(
        conflict_code(submit(&lapsed, request(), "2026-03-01").unwrap_err()),
        "certification_lapsed"
    );
}

#[test]
fn an_unpaid_submission_can_be_withdrawn_which_unlocks_the_entries() {
    let once = submitted(&aggregate(45), Membership::Member, "2026-03-01");
    let id = once.renewals[0].id;
    let (withdrawn, changes) = once
        .withdraw(
            &Decide::new(
                &recert_domain::RuleBook::default_rules().versions()[0],
                &me(),
                at("2026-03-02"),
                uuid::Uuid::now_v7(),
            ),
            id,
        )
        .unwrap();
    assert_eq!(withdrawn.status, SubmissionStatus::Withdrawn);
    let after = once.apply(&changes);
    assert!(after.current_submission().is_none());
    assert_eq!(
        conflict_code(
            after
                .withdraw(
                    &Decide::new(
                        &recert_domain::RuleBook::default_rules().versions()[0],
                        &me(),
                        at("2026-03-03"),
                        uuid::Uuid::now_v7()
                    ),
                    id
                )
                .unwrap_err()
        ),
        "not_withdrawable"
    );
    // ... and a new submission is taken.
    submitted(&after, Membership::Member, "2026-03-04");
}

#[test]
fn a_payment_event_is_applied_once_and_anything_that_does_not_pay_the_fee_is_flagged() {
    let once = submitted(&aggregate(45), Membership::Member, "2026-03-01");
    let order = once.renewals[0].order_number.clone();
    let pay = |agg: &CertificationAggregate, e: &PaymentEventFacts, on: &str| {
        agg.apply_payment(
            &Decide::new(
                &recert_domain::RuleBook::default_rules().versions()[0],
                &Actor::Webhook(recert_domain::WebhookSender("payments".into())),
                at(on),
                Uuid::now_v7(),
            ),
            &order,
            e,
            recipient(),
        )
    };
    // Wrong amount: recorded, flagged, not paid.
    let short = pay(&once, &paid_event("evt_short", 100, "usd"), "2026-03-02")
        .unwrap()
        .unwrap();
    let after_short = once.clone().apply(&short);
    let r = &after_short.renewals[0];
    assert_eq!(r.status, SubmissionStatus::AwaitingPayment);
    assert_eq!(r.payments.len(), 1);
    assert!(!r.payments[0].accepted);
    assert!(
        r.flags[0].contains("1.00 USD") && r.flags[0].contains("125.00 USD"),
        "{:?}",
        r.flags
    );
    // The right amount: in review, with a receipt in the outbox, queued for reviewers since payment.
    let paid = pay(
        &after_short,
        &paid_event("evt_ok", 12500, "usd"),
        "2026-03-03",
    )
    .unwrap()
    .unwrap();
    let receipt = paid.puts().iter().find_map(|i| match i {
        Item::Outbox(m) => Some(m.clone()),
        _ => None,
    });
    assert!(matches!(receipt.unwrap().notice, Notice::Receipt(_)));
    let after_paid = after_short.apply(&paid);
    let r = &after_paid.renewals[0];
    assert_eq!(r.status, SubmissionStatus::InReview);
    assert_eq!(r.paid_at, Some(at("2026-03-03")));
    assert_eq!(
        Item::Submission(r.clone()).queue_slot().unwrap().since,
        at("2026-03-03")
    );
    // Redelivered, days later: nothing changes.
    assert!(
        pay(
            &after_paid,
            &paid_event("evt_ok", 12500, "usd"),
            "2026-03-20"
        )
        .unwrap()
        .is_none()
    );
    // A second, different payment for a paid submission: recorded and flagged for a refund.
    let twice = pay(
        &after_paid,
        &paid_event("evt_again", 12500, "usd"),
        "2026-03-04",
    )
    .unwrap()
    .unwrap();
    let r = &after_paid.clone().apply(&twice).renewals[0];
    assert_eq!(r.status, SubmissionStatus::InReview);
    assert!(
        r.flags.iter().any(|f| f.contains("in review")),
        "{:?}",
        r.flags
    );
}

#[test]
fn a_payment_for_a_withdrawn_submission_is_recorded_and_flagged_never_accepted() {
    let once = submitted(&aggregate(45), Membership::Member, "2026-03-01");
    let order = once.renewals[0].order_number.clone();
    let (_, w) = once
        .withdraw(
            &Decide::new(
                &recert_domain::RuleBook::default_rules().versions()[0],
                &me(),
                at("2026-03-02"),
                uuid::Uuid::now_v7(),
            ),
            once.renewals[0].id,
        )
        .unwrap();
    let withdrawn = once.apply(&w);
    let changes = withdrawn
        .apply_payment(
            &Decide::new(
                &recert_domain::RuleBook::default_rules().versions()[0],
                &me(),
                at("2026-03-03"),
                Uuid::now_v7(),
            ),
            &order,
            &paid_event("evt_late", 12500, "USD"),
            recipient(),
        )
        .unwrap()
        .unwrap();
    let r = &withdrawn.apply(&changes).renewals[0];
    assert_eq!(r.status, SubmissionStatus::Withdrawn);
    assert!(!r.payments[0].accepted);
    assert!(
        r.flags.iter().any(|f| f.contains("withdrawn")),
        "{:?}",
        r.flags
    );
}

fn in_review() -> CertificationAggregate {
    let once = submitted(&aggregate(45), Membership::Member, "2026-03-01");
    let order = once.renewals[0].order_number.clone();
    let paid = once
        .apply_payment(
            &Decide::new(
                &recert_domain::RuleBook::default_rules().versions()[0],
                &me(),
                at("2026-03-02"),
                Uuid::now_v7(),
            ),
            &order,
            &paid_event("evt_1", 12500, "USD"),
            recipient(),
        )
        .unwrap()
        .unwrap();
    let paid = once.apply(&paid);
    let id = paid.renewals[0].id;
    let drawn = paid
        .judge_draw(
            &Decide::new(
                rules().for_cycle_starting(paid.certification.cycle_starts_on),
                &me(),
                at("2026-03-03"),
                Uuid::now_v7(),
            ),
            id,
            not_selected(),
            recipient(),
        )
        .unwrap();
    paid.apply(&drawn)
}

fn not_selected() -> recert_domain::audit::DrawJudgement {
    recert_domain::audit::DrawJudgement {
        period: "2026-03".parse().unwrap(),
        run_on: d("2026-03-03"),
        seq: 1,
        candidate: "candidate".into(),
        ticket: recert_domain::audit::Ticket::first("seed", "id"),
        selected: false,
    }
}

#[test]
fn a_paid_submission_waits_for_the_audit_draw_and_is_judged_once() {
    let once = submitted(&aggregate(45), Membership::Member, "2026-03-01");
    let order = once.renewals[0].order_number.clone();
    let paid = once.clone().apply(
        &once
            .apply_payment(
                &Decide::new(
                    &recert_domain::RuleBook::default_rules().versions()[0],
                    &me(),
                    at("2026-03-02"),
                    Uuid::now_v7(),
                ),
                &order,
                &paid_event("evt_1", 12500, "USD"),
                recipient(),
            )
            .unwrap()
            .unwrap(),
    );
    let rules = rules();
    let set = rules.for_cycle_starting(paid.certification.cycle_starts_on);
    let id = paid.renewals[0].id;
    let early = paid
        .approve(
            &Decide::new(set, &reviewer(), at("2026-03-02"), Uuid::now_v7()),
            id,
            recipient(),
        )
        .unwrap_err();
    assert_eq!(conflict_code(early), "awaiting_audit_draw");
    let drawn = paid.clone().apply(
        &paid
            .judge_draw(
                &Decide::new(set, &me(), at("2026-03-03"), Uuid::now_v7()),
                id,
                not_selected(),
                recipient(),
            )
            .unwrap(),
    );
    assert_eq!(drawn.renewals[0].status, SubmissionStatus::InReview);
    // Judged once: a second draw (however it would judge) changes nothing.
    let again = recert_domain::audit::DrawJudgement {
        selected: true,
        ..not_selected()
    };
    assert!(
        drawn
            .judge_draw(
                &Decide::new(set, &me(), at("2026-03-04"), Uuid::now_v7()),
                id,
                again,
                recipient()
            )
            .is_none()
    );
}

#[test]
fn approval_moves_the_expiration_one_cycle_from_the_old_one_and_starts_the_next_cycle() {
    let agg = in_review();
    let rules = rules();
    let set = rules.for_cycle_starting(agg.certification.cycle_starts_on);
    let id = agg.renewals[0].id;
    let (approved, changes) = agg
        .approve(
            &Decide::new(set, &reviewer(), at("2026-03-05"), Uuid::now_v7()),
            id,
            recipient(),
        )
        .unwrap();
    assert!(
        matches!(approved.review.unwrap().outcome, ReviewOutcome::Approved { new_expires_on } if new_expires_on == d("2029-08-31"))
    );
    let root = changes.certification();
    assert_eq!(root.expires_on, d("2029-08-31"));
    assert_eq!(root.cycle_starts_on, d("2026-09-01"));
    // The new cycle's window deadline and the approval email come with it.
    assert!(changes.puts().iter().any(|i| matches!(i, Item::Deadline(dl) if dl.kind == DueKind::WindowOpens && dl.cycle_starts_on == d("2026-09-01") && dl.on == d("2029-02-28"))));
    assert!(
        changes
            .puts()
            .iter()
            .any(|i| matches!(i, Item::Outbox(m) if matches!(m.notice, Notice::Approved(_))))
    );
    // A second reviewer deciding the same submission: a clear conflict.
    let after = agg.apply(&changes);
    assert_eq!(
        conflict_code(
            after
                .approve(
                    &Decide::new(set, &reviewer(), at("2026-03-05"), Uuid::now_v7()),
                    id,
                    recipient()
                )
                .unwrap_err()
        ),
        "not_in_review"
    );
}

#[test]
fn month_ends_are_clamped_when_the_expiration_moves() {
    let mut agg = in_review();
    // A cycle ending 29 Feb 2028 (leap) renews to 28 Feb 2031.
    agg.certification.expires_on = d("2028-02-29");
    agg.renewals[0].cycle_expires_on = d("2028-02-29");
    let rules = rules();
    let set = rules.for_cycle_starting(agg.certification.cycle_starts_on);
    let (_, changes) = agg
        .approve(
            &Decide::new(set, &reviewer(), at("2028-01-05"), Uuid::now_v7()),
            agg.renewals[0].id,
            recipient(),
        )
        .unwrap();
    assert_eq!(changes.certification().expires_on, d("2031-02-28"));
    assert_eq!(changes.certification().cycle_starts_on, d("2028-03-01"));
}

#[test]
fn a_returned_submission_unlocks_the_entries_and_a_resubmission_does_not_pay_twice() {
    let agg = in_review();
    let renewal = agg.renewals[0].clone();
    assert!(matches!(
        agg.return_submission(
            &Decide::new(
                &recert_domain::RuleBook::default_rules().versions()[0],
                &reviewer(),
                at("2026-03-05"),
                Uuid::now_v7()
            ),
            renewal.id,
            vec![],
            recipient()
        ),
        Err(DomainError::Invalid(_))
    ));
    let reasons = vec![ReturnReason {
        entry_id: Some(EntryId(Uuid::from_u128(9))),
        reason: "The certificate is unreadable".into(),
    }];
    let (returned, changes) = agg
        .return_submission(
            &Decide::new(
                &recert_domain::RuleBook::default_rules().versions()[0],
                &reviewer(),
                at("2026-03-05"),
                Uuid::now_v7(),
            ),
            renewal.id,
            reasons,
            recipient(),
        )
        .unwrap();
    assert_eq!(returned.status, SubmissionStatus::Returned);
    assert!(
        changes
            .puts()
            .iter()
            .any(|i| matches!(i, Item::Outbox(m) if matches!(m.notice, Notice::Returned(_))))
    );
    let after = agg.apply(&changes);
    assert!(after.current_submission().is_none(), "entries unlocked");
    let rules = rules();
    let set = rules.for_cycle_starting(after.certification.cycle_starts_on);
    let (resubmitted, _) = after
        .submit(
            &Decide::new(set, &me(), at("2026-03-06"), uuid::Uuid::now_v7()),
            request(),
            Membership::Member,
            Uuid::from_u128(51),
        )
        .unwrap();
    assert_eq!(
        resubmitted.status,
        SubmissionStatus::InReview,
        "paid already: straight to review"
    );
    assert_eq!(resubmitted.order_number, renewal.order_number);
    assert_eq!(resubmitted.payments.len(), 1);
    assert_eq!(
        resubmitted.paid_at,
        Some(at("2026-03-06")),
        "queued for review from now"
    );
}
