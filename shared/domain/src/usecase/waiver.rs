//! Waiver and extension requests: ask (before the cutoff), withdraw, and the committee's
//! decision.

use crate::certification::CertificationAggregate;
use crate::certification::Decide;
use crate::certification::changes::Changes;
use crate::certification::item::Item;
use crate::model::history::HistoryKind;
use crate::model::notice::HoursLine;
use crate::model::notice::Notice;
use crate::model::notice::OutboxMessage;
use crate::model::notice::Recipient;
use crate::model::notice::WaiverDecided;
use crate::model::waiver::MAX_REASON_CHARS;
use crate::model::waiver::Reduction;
use crate::model::waiver::Relief;
use crate::model::waiver::WaiverDecision;
use crate::model::waiver::WaiverDecisionInput;
use crate::model::waiver::WaiverOutcome;
use crate::model::waiver::WaiverRequest;
use crate::model::waiver::WaiverRequestInput;
use crate::model::waiver::WaiverStatus;
use crate::model::waiver::waiver_status_name;
use crate::rules::RuleSet;
use crate::vocabulary::credential::Credential;
use crate::vocabulary::dates::add_months;
use crate::vocabulary::error::ConflictCode;
use crate::vocabulary::error::DomainError;
use crate::vocabulary::error::FieldErrors;
use crate::vocabulary::hours::Hours;

impl CertificationAggregate {
    /// The waiver and extension requests of the current cycle, oldest first.
    pub fn current_waiver_requests(&self) -> impl Iterator<Item = &WaiverRequest> {
        let cycle = self.certification.cycle_starts_on;
        self.waiver_requests
            .iter()
            .filter(move |r| r.cycle_starts_on == cycle)
    }

    pub fn waiver_request(&self, id: uuid::Uuid) -> Result<&WaiverRequest, DomainError> {
        self.current_waiver_requests()
            .find(|r| r.id == id)
            .ok_or(DomainError::NotFound("waiver request"))
    }

    /// Ask for an extension or a waiver: active, by the cutoff, before submitting, one open
    /// request at a time, and within what the committee could grant.
    pub fn request_waiver(
        &self,
        ctx: &Decide<'_>,
        id: uuid::Uuid,
        input: WaiverRequestInput,
    ) -> Result<(WaiverRequest, Changes), DomainError> {
        let c = &self.certification;
        if !c.is_active() {
            return Err(DomainError::conflict(
                ConflictCode::CertificationLapsed,
                "this certification is no longer active (lapsed or revoked); only passing the exam again reinstates it",
            ));
        }
        let cutoff = c.cycle().waiver_request_cutoff(&ctx.rules.deadlines);
        if ctx.now.date_naive() > cutoff {
            return Err(DomainError::conflict(
                ConflictCode::RequestCutoffPassed,
                format!(
                    "waiver and extension requests for the cycle expiring {} had to arrive by {cutoff}",
                    c.expires_on
                ),
            ));
        }
        if let Some(open) = self
            .current_waiver_requests()
            .find(|r| r.status == WaiverStatus::Open)
        {
            return Err(DomainError::conflict(
                ConflictCode::RequestOpen,
                format!(
                    "a {} request made on {} is still open; withdraw it or wait for the committee",
                    open.requested.kind(),
                    open.requested_at.date_naive()
                ),
            ));
        }
        if let Some(r) = self.current_submission() {
            return Err(DomainError::conflict(
                ConflictCode::CycleSubmitted,
                format!(
                    "a renewal for this cycle was submitted on {}; there is nothing left to extend or waive",
                    r.submitted_at.date_naive()
                ),
            ));
        }
        let mut errors = FieldErrors::default();
        let reason =
            crate::vocabulary::text::check(&mut errors, "reason", &input.reason, MAX_REASON_CHARS);
        self.check_relief(&input.relief, ctx.rules, "relief", &mut errors);
        errors.into_result().map_err(DomainError::Invalid)?;
        let request = WaiverRequest {
            id,
            cycle_starts_on: c.cycle_starts_on,
            requested: input.relief,
            reason,
            status: WaiverStatus::Open,
            requested_at: ctx.now,
            requested_by: ctx.actor.acted_by(),
            withdrawn_at: None,
            decision: None,
        };
        let changes = self
            .change(
                ctx.actor,
                ctx.now,
                HistoryKind::WaiverRequested { request_id: id },
            )
            .put(Item::WaiverRequest(request.clone()))
            .build();
        Ok((request, changes))
    }

    /// Withdraw an open request.
    pub fn withdraw_waiver_request(
        &self,
        ctx: &Decide<'_>,
        id: uuid::Uuid,
    ) -> Result<(WaiverRequest, Changes), DomainError> {
        let request = self.open_waiver_request(id)?;
        let withdrawn = WaiverRequest {
            status: WaiverStatus::Withdrawn,
            withdrawn_at: Some(ctx.now),
            ..request.clone()
        };
        let changes = self
            .change(
                ctx.actor,
                ctx.now,
                HistoryKind::WaiverWithdrawn { request_id: id },
            )
            .put(Item::WaiverRequest(withdrawn.clone()))
            .build();
        Ok((withdrawn, changes))
    }

    /// The committee's decision: approve (granting what was asked, or `grant`, within the rules'
    /// bounds) or deny, with a note; the certificant is emailed. An approved extension moves the
    /// closing date at once; an approved waiver lowers the minimums of every later verdict.
    pub fn decide_waiver_request(
        &self,
        ctx: &Decide<'_>,
        id: uuid::Uuid,
        input: WaiverDecisionInput,
        recipient: Recipient,
    ) -> Result<(WaiverRequest, Changes), DomainError> {
        let request = self.open_waiver_request(id)?;
        let c = &self.certification;
        let mut errors = FieldErrors::default();
        let note =
            crate::vocabulary::text::check(&mut errors, "note", &input.note, MAX_REASON_CHARS);
        let approved = input.outcome == WaiverOutcome::Approved;
        let granted = match (input.outcome, input.grant) {
            (WaiverOutcome::Denied, Some(_)) => {
                errors.add("grant", "a denial grants nothing; leave it out");
                None
            }
            (WaiverOutcome::Denied, None) => None,
            (WaiverOutcome::Approved, grant) => {
                let grant = grant.unwrap_or_else(|| request.requested.clone());
                if grant.kind() != request.requested.kind() {
                    errors.add(
                        "grant/type",
                        format!(
                            "the request asks for {} {}; grant that kind or deny it",
                            if request.requested.kind() == "extension" {
                                "an"
                            } else {
                                "a"
                            },
                            request.requested.kind()
                        ),
                    );
                } else {
                    self.check_relief(&grant, ctx.rules, "grant", &mut errors);
                }
                Some(grant)
            }
        };
        errors.into_result().map_err(DomainError::Invalid)?;
        if approved && !c.is_active() {
            return Err(DomainError::conflict(
                ConflictCode::CertificationLapsed,
                "this certification is no longer active; deny the request instead",
            ));
        }
        let decided = WaiverRequest {
            status: if approved {
                WaiverStatus::Approved
            } else {
                WaiverStatus::Denied
            },
            decision: Some(Box::new(WaiverDecision {
                approved,
                granted: granted.clone(),
                note: note.clone(),
                by: ctx.actor.acted_by(),
                at: ctx.now,
            })),
            ..request.clone()
        };
        let extended_to = match &granted {
            Some(Relief::Extension { until }) => Some(*until),
            _ => c.extended_to,
        };
        let mut closing = c.cycle();
        closing.extended_to = extended_to;
        let reduced = match &granted {
            Some(Relief::Waiver { reductions }) => {
                reduction_lines(ctx.rules, c.credential, reductions)
            }
            _ => Vec::new(),
        };
        let notice = Notice::WaiverDecided(WaiverDecided {
            certification_id: c.id,
            credential: c.credential,
            kind: request.requested.kind().to_owned(),
            approved,
            note,
            closes_on: closing.counting_ends_on(),
            reduced,
        });
        let changes = self
            .change(
                ctx.actor,
                ctx.now,
                HistoryKind::WaiverDecided {
                    request_id: id,
                    approved,
                },
            )
            .root(|root| root.extended_to = extended_to)
            .put(Item::WaiverRequest(decided.clone()))
            .put(Item::Outbox(OutboxMessage::new(
                ctx.message_id,
                c.id,
                recipient,
                notice,
                ctx.now,
            )))
            .build();
        Ok((decided, changes))
    }

    pub(crate) fn open_waiver_request(
        &self,
        id: uuid::Uuid,
    ) -> Result<&WaiverRequest, DomainError> {
        let request = self.waiver_request(id)?;
        if request.status != WaiverStatus::Open {
            return Err(DomainError::conflict(
                ConflictCode::RequestNotOpen,
                format!(
                    "this request is {}; only an open request can be withdrawn or decided",
                    waiver_status_name(request.status)
                ),
            ));
        }
        Ok(request)
    }

    /// Whether `relief` is within what the rules let the committee grant for this cycle.
    pub(crate) fn check_relief(
        &self,
        relief: &Relief,
        rules: &RuleSet,
        field: &str,
        errors: &mut FieldErrors,
    ) {
        let c = &self.certification;
        let bounds = &rules.lifecycle;
        match relief {
            Relief::Extension { until } => {
                let latest = add_months(c.expires_on, bounds.extension_max_months as i32);
                let closes_on = c.cycle().counting_ends_on();
                if *until <= closes_on {
                    errors.add(
                        format!("{field}/until"),
                        format!("must be after the current closing date, {closes_on}"),
                    );
                } else if *until > latest {
                    errors.add(
                        format!("{field}/until"),
                        format!(
                            "an extension may reach {latest} at the latest ({} months after the expiration date)",
                            bounds.extension_max_months
                        ),
                    );
                }
            }
            Relief::Waiver { reductions } => {
                let credential = rules.credential(c.credential);
                if reductions.is_empty() {
                    errors.add(
                        format!("{field}/reductions"),
                        "name at least one requirement to lower",
                    );
                }
                for (i, r) in reductions.iter().enumerate() {
                    let at = format!("{field}/reductions/{i}");
                    if reductions[..i]
                        .iter()
                        .any(|o| o.set == r.set && o.requirement == r.requirement)
                    {
                        errors.add(at.clone(), "names the same requirement twice");
                        continue;
                    }
                    let Some(rule) = credential.requirement(&r.set, &r.requirement) else {
                        errors.add(
                            at,
                            format!(
                                "{} has no requirement {:?} in a set {:?}",
                                c.credential, r.requirement, r.set
                            ),
                        );
                        continue;
                    };
                    let floor = lowest_min(rule.min, bounds.waiver_max_reduction_percent);
                    if r.min >= rule.min {
                        errors.add(
                            format!("{at}/min_hundredths"),
                            format!("must be below the rule's {}", rule.min),
                        );
                    } else if r.min < floor {
                        errors.add(
                            format!("{at}/min_hundredths"),
                            format!(
                                "may be lowered to {floor} at most ({}% off the rule's {})",
                                bounds.waiver_max_reduction_percent, rule.min
                            ),
                        );
                    }
                }
            }
        }
    }
}

/// The lowest minimum a waiver may grant for a rule of `min`, lowered by at most `percent`
/// (rounded up to a whole hundredth: never more than the bound).
pub(crate) fn lowest_min(min: Hours, percent: u32) -> Hours {
    let kept = u64::from(min.0) * u64::from(100 - percent.min(100));
    Hours(u32::try_from(kept.div_ceil(100)).unwrap_or(min.0))
}

/// The granted reductions as message lines ("<set>: <requirement>" and the new minimum).
pub(crate) fn reduction_lines(
    rules: &RuleSet,
    credential: Credential,
    reductions: &[Reduction],
) -> Vec<HoursLine> {
    let rules = rules.credential(credential);
    reductions
        .iter()
        .filter_map(|r| {
            let set = rules.requirement_sets.iter().find(|s| s.key == r.set)?;
            let rule = set.requirements.iter().find(|q| q.key == r.requirement)?;
            Some(HoursLine {
                label: format!("{}: {}", set.label, rule.label),
                hours: r.min,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::eligibility::Eligibility;
    use crate::model::certification::Certification;
    use crate::model::certification::CertificationStatus;
    use crate::model::submission::Submission;
    use crate::model::submission::SubmissionStatus;
    use crate::rules::RuleBook;
    use crate::vocabulary::actor::Actor;
    use crate::vocabulary::ids::CertificantId;
    use crate::vocabulary::ids::CertificationId;
    use chrono::DateTime;
    use chrono::NaiveDate;
    use chrono::Utc;
    use uuid::Uuid;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn at(day: &str) -> DateTime<Utc> {
        d(day).and_hms_opt(12, 0, 0).unwrap().and_utc()
    }

    fn rules() -> RuleSet {
        RuleBook::default_rules()
            .for_cycle_starting(d("2024-09-01"))
            .clone()
    }

    /// A CPDHTS certification (30 h total, 15 h approved) expiring 31 Aug 2026.
    fn aggregate() -> CertificationAggregate {
        let c = Certification {
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
        };
        CertificationAggregate::new(c)
    }

    fn me(agg: &CertificationAggregate) -> Actor {
        Actor::Certificant(agg.certification.certificant_id)
    }

    fn committee() -> Actor {
        Actor::Staff {
            subject: "c-1".into(),
            role: crate::vocabulary::actor::Role::Committee,
        }
    }

    fn recipient() -> Recipient {
        Recipient {
            certificant_id: CertificantId(Uuid::from_u128(2)),
            email: crate::Email::parse("a@example.org").unwrap(),
            full_name: "A".into(),
        }
    }

    fn waiver(min: u32) -> Relief {
        Relief::Waiver {
            reductions: vec![Reduction {
                set: "technology".into(),
                requirement: "approved".into(),
                min: Hours(min),
            }],
        }
    }

    fn ask(
        agg: &CertificationAggregate,
        relief: Relief,
        day: &str,
    ) -> Result<CertificationAggregate, DomainError> {
        let input = WaiverRequestInput {
            relief,
            reason: "leave".into(),
        };
        let (_, changes) = agg.request_waiver(
            &Decide::new(&rules(), &me(agg), at(day), uuid::Uuid::now_v7()),
            Uuid::from_u128(9),
            input,
        )?;
        Ok(agg.clone().apply(&changes))
    }

    fn decide(
        agg: &CertificationAggregate,
        outcome: WaiverOutcome,
        grant: Option<Relief>,
    ) -> Result<CertificationAggregate, DomainError> {
        let input = WaiverDecisionInput {
            outcome,
            grant,
            note: "decided".into(),
        };
        let (_, changes) = agg.decide_waiver_request(
            &Decide::new(
                &rules(),
                &committee(),
                at("2026-04-01"),
                Uuid::from_u128(10),
            ),
            Uuid::from_u128(9),
            input,
            recipient(),
        )?;
        Ok(agg.clone().apply(&changes))
    }

    fn invalid_fields(e: DomainError) -> Vec<String> {
        match e {
            DomainError::Invalid(f) => f.0.into_keys().collect(),
            other => panic!("expected invalid fields, got {other:?}"),
        }
    }

    #[test]
    fn a_waiver_floor_is_rounded_up_never_past_the_bound() {
        assert_eq!(lowest_min(Hours(1500), 50), Hours(750));
        assert_eq!(lowest_min(Hours(333), 50), Hours(167));
        assert_eq!(lowest_min(Hours(200), 100), Hours(0));
        assert_eq!(lowest_min(Hours(200), 0), Hours(200));
    }

    #[test]
    fn an_extension_reaches_six_months_after_expiration_clamped_to_the_month_end() {
        let agg = aggregate();
        // 31 Aug + 6 months = 28 Feb.
        let too_late = ask(
            &agg,
            Relief::Extension {
                until: d("2027-03-01"),
            },
            "2026-05-31",
        );
        assert_eq!(invalid_fields(too_late.unwrap_err()), ["relief/until"]);
        let not_later = ask(
            &agg,
            Relief::Extension {
                until: d("2026-08-31"),
            },
            "2026-05-31",
        );
        assert_eq!(invalid_fields(not_later.unwrap_err()), ["relief/until"]);
        let asked = ask(
            &agg,
            Relief::Extension {
                until: d("2027-02-28"),
            },
            "2026-05-31",
        )
        .unwrap();
        let granted = decide(&asked, WaiverOutcome::Approved, None).unwrap();
        assert_eq!(granted.certification.extended_to, Some(d("2027-02-28")));
        assert_eq!(
            granted.certification.due_slot().unwrap().on,
            d("2027-02-28")
        );
        let r = &granted.waiver_requests[0];
        assert_eq!(r.status, WaiverStatus::Approved);
        assert_eq!(r.decision.as_ref().unwrap().by.role, "committee");
    }

    #[test]
    fn a_request_after_the_cutoff_names_the_cutoff() {
        let agg = aggregate();
        match ask(&agg, waiver(1000), "2026-06-01") {
            Err(DomainError::Conflict { code, message }) => {
                assert_eq!(code, ConflictCode::RequestCutoffPassed);
                assert!(message.contains("2026-05-31"), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_grant_of_another_kind_or_a_denial_with_a_grant_is_refused() {
        let asked = ask(&aggregate(), waiver(1000), "2026-05-01").unwrap();
        let other_kind = decide(
            &asked,
            WaiverOutcome::Approved,
            Some(Relief::Extension {
                until: d("2026-10-31"),
            }),
        );
        assert_eq!(invalid_fields(other_kind.unwrap_err()), ["grant/type"]);
        let denial = decide(&asked, WaiverOutcome::Denied, Some(waiver(1000)));
        assert_eq!(invalid_fields(denial.unwrap_err()), ["grant"]);
        let duplicate = Relief::Waiver {
            reductions: vec![
                Reduction {
                    set: "technology".into(),
                    requirement: "approved".into(),
                    min: Hours(1000),
                },
                Reduction {
                    set: "technology".into(),
                    requirement: "approved".into(),
                    min: Hours(900),
                },
            ],
        };
        let twice = decide(&asked, WaiverOutcome::Approved, Some(duplicate));
        assert_eq!(invalid_fields(twice.unwrap_err()), ["grant/reductions/1"]);
    }

    #[test]
    fn a_granted_waiver_lowers_only_the_named_minimum_for_every_verdict() {
        let asked = ask(&aggregate(), waiver(1000), "2026-05-01").unwrap();
        let before = asked.eligibility(&rules());
        let granted = decide(&asked, WaiverOutcome::Approved, None).unwrap();
        let after = granted.eligibility(&rules());
        let req = |e: &Eligibility, key: &str| {
            e.sets[0]
                .requirements
                .iter()
                .find(|r| r.key == key)
                .unwrap()
                .clone()
        };
        assert_eq!(req(&before, "approved").required, Hours(1500));
        assert_eq!(req(&after, "approved").required, Hours(1000));
        let waived = req(&after, "approved").waived.unwrap();
        assert_eq!(waived.rule_min_hundredths, Hours(1500));
        assert_eq!(waived.request_id, Uuid::from_u128(9));
        assert_eq!(req(&after, "total").required, Hours(3000));
        assert!(req(&after, "total").waived.is_none());
    }

    #[test]
    fn lapse_spares_a_paid_submission_and_withdraws_an_unpaid_one() {
        let agg = aggregate();
        let job = Actor::System(crate::JobName("lifecycle".into()));
        let lapse = |a: &CertificationAggregate, day: &str| {
            a.lapse_if_unrenewed(
                &Decide::new(
                    &crate::RuleBook::default_rules().versions()[0],
                    &job,
                    at(day),
                    Uuid::from_u128(11),
                ),
                recipient(),
            )
        };
        assert!(
            lapse(&agg, "2026-08-31").is_none(),
            "not on the closing day"
        );
        let lapsed = agg.clone().apply(&lapse(&agg, "2026-09-01").unwrap());
        assert_eq!(lapsed.certification.status, CertificationStatus::Lapsed);
        assert!(lapse(&lapsed, "2026-09-02").is_none(), "once");

        let with = |status| {
            let mut a = aggregate();
            a.renewals.push(Submission {
                id: Uuid::from_u128(5),
                cycle_starts_on: d("2024-09-01"),
                cycle_expires_on: d("2026-08-31"),
                status,
                submitted_at: at("2026-08-01"),
                ..Submission::default()
            });
            a
        };
        for status in [SubmissionStatus::InReview, SubmissionStatus::InAudit] {
            assert!(lapse(&with(status), "2026-09-01").is_none(), "{status:?}");
        }
        let unpaid = with(SubmissionStatus::AwaitingPayment);
        let after = unpaid.clone().apply(&lapse(&unpaid, "2026-09-01").unwrap());
        assert_eq!(after.renewals[0].status, SubmissionStatus::Withdrawn);
    }

    #[test]
    fn a_closing_reminder_goes_once_per_reminder_day_and_not_after_submitting() {
        let agg = aggregate();
        let job = Actor::System(crate::JobName("lifecycle".into()));
        let remind = |a: &CertificationAggregate, day: &str| {
            a.remind_closing(
                &Decide::new(&rules(), &job, at(day), Uuid::from_u128(12)),
                recipient(),
            )
        };
        assert!(
            remind(&agg, "2026-06-03").is_none(),
            "89 days: not a reminder day"
        );
        let reminded = agg.clone().apply(&remind(&agg, "2026-06-02").unwrap());
        assert!(
            remind(&reminded, "2026-06-02").is_none(),
            "the same day again"
        );
        assert!(remind(&reminded, "2026-08-01").is_some(), "30 days before");
        let mut submitted = aggregate();
        submitted.renewals.push(Submission {
            id: Uuid::from_u128(5),
            cycle_starts_on: d("2024-09-01"),
            cycle_expires_on: d("2026-08-31"),
            status: SubmissionStatus::AwaitingPayment,
            submitted_at: at("2026-05-01"),
            ..Submission::default()
        });
        assert!(remind(&submitted, "2026-06-02").is_none());
    }
}
