//! The audit of a selected submission: judged by the draw, documents declared and uploaded, the
//! response, the auditor's decisions, and the deadlines.

use crate::audit::case::AUDIT_DEADLINES;
use crate::audit::case::Audit;
use crate::audit::case::AuditNotice;
use crate::audit::case::AuditOutcome;
use crate::audit::case::AuditReceived;
use crate::audit::case::AuditReminder;
use crate::audit::case::AuditStatus;
use crate::audit::case::AuditedEntry;
use crate::audit::case::DecisionInput;
use crate::audit::case::DrawJudgement;
use crate::audit::case::EntryDecision;
use crate::audit::case::Evidence;
use crate::audit::case::EvidenceDeclaration;
use crate::audit::case::MAX_EVIDENCE_PER_ENTRY;
use crate::certification::CertificationAggregate;
use crate::certification::Decide;
use crate::certification::changes::Changes;
use crate::certification::item::Item;
use crate::model::certification::CertificationStatus;
use crate::model::deadline::Deadline;
use crate::model::deadline::DueKind;
use crate::model::history::HistoryKind;
use crate::model::notice::Notice;
use crate::model::notice::OutboxMessage;
use crate::model::notice::Recipient;
use crate::model::notice::missing_lines;
use crate::model::submission::Submission;
use crate::model::submission::SubmissionStatus;
use crate::vocabulary::error::ConflictCode;
use crate::vocabulary::error::DomainError;
use crate::vocabulary::error::FieldErrors;
use crate::vocabulary::ids::EntryId;
use chrono::{DateTime, Days, NaiveDate, Utc};

pub(crate) fn days_after(day: NaiveDate, days: u32) -> NaiveDate {
    day.checked_add_days(Days::new(days.into())).unwrap_or(day)
}

/// The evidence types accepted, by MIME type.
pub const EVIDENCE_TYPES: [&str; 3] = ["application/pdf", "image/png", "image/jpeg"];

impl CertificationAggregate {
    /// The audit of the current cycle's standing submission, if it was selected.
    pub fn current_audit(&self) -> Option<&Audit> {
        let renewal = self.current_submission()?;
        self.audits.iter().find(|a| a.renewal_id == renewal.id)
    }

    pub(crate) fn open_audit(&self) -> Result<&Audit, DomainError> {
        self.current_audit().ok_or(DomainError::NotFound("audit"))
    }

    /// Whether the transcript takes new entries during an audit's extra time (replacement hours).
    pub(crate) fn in_audit_extra_time(&self) -> bool {
        self.current_audit()
            .is_some_and(|a| a.status == AuditStatus::DocumentsDue && a.extra_time_granted)
    }

    pub(crate) fn message(
        &self,
        recipient: Recipient,
        message_id: uuid::Uuid,
        notice: Notice,
        now: DateTime<Utc>,
    ) -> Item {
        Item::Outbox(OutboxMessage::new(
            message_id,
            self.certification.id,
            recipient,
            notice,
            now,
        ))
    }

    /// Judge a paid submission in the draw. Not selected: it goes on to the reviewers. Selected:
    /// it waits for an audit — every entry the eligibility engine counted must be documented
    /// within the rules' days, and the certificant is told which. `None` when the submission is
    /// not waiting for the draw (judged already, withdrawn, decided).
    pub fn judge_draw(
        &self,
        ctx: &Decide<'_>,
        renewal_id: uuid::Uuid,
        judgement: DrawJudgement,
        recipient: Recipient,
    ) -> Option<Changes> {
        let renewal = self.renewals.iter().find(|r| r.id == renewal_id)?;
        if renewal.status != SubmissionStatus::InReview || renewal.draw.is_some() {
            return None;
        }
        let selected = judgement.selected;
        let mut next = renewal.clone();
        next.draw = Some(Box::new(judgement.clone()));
        let what = HistoryKind::AuditDrawn {
            renewal_id,
            selected,
        };
        if !selected {
            return Some(
                self.change(ctx.actor, ctx.now, what)
                    .put(Item::Submission(next))
                    .build(),
            );
        }
        next.status = SubmissionStatus::InAudit;
        let c = &self.certification;
        let eligibility = self.eligibility(ctx.rules);
        let counted = |id: EntryId| {
            eligibility
                .allocation
                .iter()
                .any(|a| a.entry_id == id && !a.shares.is_empty())
        };
        let audit = Audit {
            renewal_id,
            cycle_starts_on: renewal.cycle_starts_on,
            status: AuditStatus::DocumentsDue,
            draw: judgement,
            selected_at: ctx.now,
            due_on: days_after(
                ctx.now.date_naive(),
                ctx.rules.deadlines.audit_documentation_days,
            ),
            extra_time_granted: false,
            entries: self
                .entries
                .iter()
                .filter(|e| counted(e.id))
                .map(|e| AuditedEntry {
                    entry_id: e.id,
                    title: e.activity.title.clone(),
                    completed_on: e.activity.completed_on,
                    hours: e.activity.hours,
                    evidence: Vec::new(),
                    decision: None,
                })
                .collect(),
            responded_at: None,
            closed_at: None,
            failure: None,
        };
        let notice = Notice::AuditSelected(AuditNotice {
            certification_id: c.id,
            credential: c.credential,
            due_on: audit.due_on,
            entries: audit.to_document(),
            rejected: Vec::new(),
            missing: Vec::new(),
        });
        let mut change = self
            .change(ctx.actor, ctx.now, what)
            .put(Item::Submission(next))
            .put(self.message(recipient, ctx.message_id, notice, ctx.now));
        for deadline in audit.deadlines() {
            change = change.put(Item::Deadline(deadline));
        }
        Some(change.put(Item::Audit(audit)).build())
    }

    /// The certificant declares a file for an entry under audit; the caller signs an upload of
    /// exactly that file under `key`. Returns the evidence as recorded.
    pub fn declare_evidence(
        &self,
        ctx: &Decide<'_>,
        entry_id: EntryId,
        declaration: EvidenceDeclaration,
        evidence_id: uuid::Uuid,
        key: String,
        max_bytes: u64,
    ) -> Result<(Evidence, Changes), DomainError> {
        let mut errors = FieldErrors::default();
        crate::vocabulary::text::check(&mut errors, "file_name", &declaration.file_name, 200);
        if declaration.file_name.contains(['/', '\\']) {
            errors.add("file_name", "must be a file name, not a path");
        }
        if !EVIDENCE_TYPES.contains(&declaration.content_type.as_str()) {
            errors.add(
                "content_type",
                format!("must be one of {}", EVIDENCE_TYPES.join(", ")),
            );
        }
        if declaration.size_bytes == 0 || declaration.size_bytes > max_bytes {
            errors.add(
                "size_bytes",
                format!("must be between 1 and {max_bytes} bytes"),
            );
        }
        if declaration.sha256.len() != 64
            || !declaration
                .sha256
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            errors.add("sha256", "must be 64 lower-case hex digits");
        }
        errors.into_result().map_err(DomainError::Invalid)?;
        let mut audit = self.open_audit()?.clone();
        if audit.status != AuditStatus::DocumentsDue {
            return Err(DomainError::conflict(
                ConflictCode::AuditNotOpen,
                "documentation is taken only while the audit waits for it",
            ));
        }
        // During the extra time the certificant may document replacement hours logged since.
        if audit.entry_mut(entry_id).is_none() {
            let entry = self.entry(entry_id)?;
            if !audit.extra_time_granted {
                return Err(DomainError::conflict(
                    ConflictCode::EntryNotAudited,
                    "this entry is not part of the audit",
                ));
            }
            audit.entries.push(AuditedEntry {
                entry_id,
                title: entry.activity.title.clone(),
                completed_on: entry.activity.completed_on,
                hours: entry.activity.hours,
                evidence: Vec::new(),
                decision: None,
            });
        }
        let Some(entry) = audit.entry_mut(entry_id) else {
            return Err(DomainError::NotFound("entry"));
        };
        if entry.decision.as_ref().is_some_and(|d| d.accepted) {
            return Err(DomainError::conflict(
                ConflictCode::EntryAccepted,
                "this entry's documentation was accepted already",
            ));
        }
        if entry.evidence.len() >= MAX_EVIDENCE_PER_ENTRY {
            return Err(DomainError::conflict(
                ConflictCode::TooMuchEvidence,
                format!("an entry takes at most {MAX_EVIDENCE_PER_ENTRY} files"),
            ));
        }
        let evidence = Evidence {
            id: evidence_id,
            file_name: declaration.file_name.trim().to_owned(),
            content_type: declaration.content_type,
            size_bytes: declaration.size_bytes,
            sha256: declaration.sha256,
            key,
            declared_at: ctx.now,
            uploaded: false,
        };
        entry.evidence.push(evidence.clone());
        // New documentation for a rejected entry asks for a new verdict.
        entry.decision = None;
        let changes = self
            .change(
                ctx.actor,
                ctx.now,
                HistoryKind::EvidenceDeclared { entry_id },
            )
            .put(Item::Audit(audit))
            .build();
        Ok((evidence, changes))
    }

    /// The evidence files of the open audit (what the caller checks the store for).
    pub fn declared_evidence(&self) -> Vec<&Evidence> {
        self.current_audit()
            .map(|a| a.entries.iter().flat_map(|e| e.evidence.iter()).collect())
            .unwrap_or_default()
    }

    /// The certificant responds: every entry waiting for a verdict must have at least one file
    /// found in the evidence store (`uploaded` holds the ids found). The audit joins the
    /// auditors' queue, its reminders stop, and the certificant is told what was received.
    pub fn respond_to_audit(
        &self,
        ctx: &Decide<'_>,
        uploaded: &std::collections::BTreeSet<uuid::Uuid>,
        recipient: Recipient,
    ) -> Result<(Audit, Changes), DomainError> {
        let mut audit = self.open_audit()?.clone();
        if audit.status != AuditStatus::DocumentsDue {
            return Err(DomainError::conflict(
                ConflictCode::AuditNotOpen,
                "this audit is not waiting for documentation",
            ));
        }
        if ctx.now.date_naive() > audit.due_on {
            return Err(DomainError::conflict(
                ConflictCode::AuditOverdue,
                format!("the documentation was due by {}", audit.due_on),
            ));
        }
        for entry in &mut audit.entries {
            for e in &mut entry.evidence {
                e.uploaded = uploaded.contains(&e.id);
            }
        }
        let undocumented: Vec<&str> = audit
            .entries
            .iter()
            .filter(|e| e.pending() && !e.evidence.iter().any(|x| x.uploaded))
            .map(|e| e.title.as_str())
            .collect();
        if !undocumented.is_empty() {
            return Err(DomainError::conflict(
                ConflictCode::DocumentationMissing,
                format!(
                    "upload at least one file for each of: {}",
                    undocumented.join("; ")
                ),
            ));
        }
        audit.status = AuditStatus::AwaitingDecision;
        audit.responded_at = Some(ctx.now);
        let c = &self.certification;
        let notice = Notice::AuditReceived(AuditReceived {
            certification_id: c.id,
            credential: c.credential,
            entries: audit.to_document(),
            files: audit
                .entries
                .iter()
                .filter(|e| e.pending())
                .flat_map(|e| &e.evidence)
                .filter(|x| x.uploaded)
                .count(),
        });
        let mut change = self
            .change(
                ctx.actor,
                ctx.now,
                HistoryKind::AuditResponded {
                    renewal_id: audit.renewal_id,
                },
            )
            .put(Item::Audit(audit.clone()))
            .put(self.message(recipient, ctx.message_id, notice, ctx.now));
        for kind in AUDIT_DEADLINES {
            if let Some(d) = self.open_deadline(kind) {
                change = change.put(Item::Deadline(Deadline {
                    done_at: Some(ctx.now),
                    ..d.clone()
                }));
            }
        }
        Ok((audit, change.build()))
    }

    /// An auditor decides every entry waiting for a verdict. Then, with the rejected hours taken
    /// out: requirements met → passed (the renewal goes on to review, the certificate due within
    /// the rules' weeks); a gap and no extra time yet → extra time (the rules' days, once) to
    /// document or log replacement hours; a gap after the extra time → failed, revoked.
    pub fn decide_audit(
        &self,
        ctx: &Decide<'_>,
        decisions: Vec<DecisionInput>,
        recipient: Recipient,
    ) -> Result<(Audit, Changes), DomainError> {
        let mut audit = self.open_audit()?.clone();
        if audit.status != AuditStatus::AwaitingDecision {
            return Err(DomainError::conflict(
                ConflictCode::AuditNotAwaitingDecision,
                "this audit is not waiting for an auditor",
            ));
        }
        let mut errors = FieldErrors::default();
        let mut seen = std::collections::BTreeSet::new();
        for (i, d) in decisions.iter().enumerate() {
            let path = format!("decisions/{i}");
            match audit.entries.iter().find(|e| e.entry_id == d.entry_id) {
                None => errors.add(format!("{path}/entry_id"), "not an entry of this audit"),
                Some(e) if !e.pending() => {
                    errors.add(format!("{path}/entry_id"), "this entry was decided already")
                }
                Some(_) if !seen.insert(d.entry_id) => {
                    errors.add(format!("{path}/entry_id"), "decided twice in one request")
                }
                Some(_) => {}
            }
            match (&d.reason, d.accepted) {
                (None, false) => errors.add(format!("{path}/reason"), "say why it is rejected"),
                (Some(r), _) => {
                    crate::vocabulary::text::check(&mut errors, &format!("{path}/reason"), r, 1000);
                }
                (None, true) => {}
            }
        }
        let undecided = audit
            .entries
            .iter()
            .filter(|e| e.pending() && !seen.contains(&e.entry_id))
            .count();
        if undecided > 0 {
            errors.add(
                "decisions",
                format!("decide every entry waiting for a verdict ({undecided} left)"),
            );
        }
        errors.into_result().map_err(DomainError::Invalid)?;
        for d in decisions {
            if let Some(e) = audit.entry_mut(d.entry_id) {
                e.decision = Some(EntryDecision {
                    accepted: d.accepted,
                    reason: d.reason.map(|r| r.trim().to_owned()),
                    by: ctx.actor.acted_by(),
                    at: ctx.now,
                });
            }
        }
        let c = &self.certification;
        let rejected: Vec<EntryId> = audit
            .entries
            .iter()
            .filter(|e| e.rejected())
            .map(|e| e.entry_id)
            .collect();
        let facts: Vec<_> = self
            .entries
            .iter()
            .filter(|e| !rejected.contains(&e.id))
            .map(|e| e.activity.facts(e.id))
            .collect();
        let eligibility = self.eligibility_of(ctx.rules, &facts);
        let renewal = self
            .renewals
            .iter()
            .find(|r| r.id == audit.renewal_id)
            .ok_or(DomainError::NotFound("submission"))?;
        let today = ctx.now.date_naive();
        if eligibility.met {
            audit.status = AuditStatus::Passed;
            audit.closed_at = Some(ctx.now);
            let certificate_due_on =
                days_after(today, ctx.rules.deadlines.certificate_due_weeks * 7);
            let next = Submission {
                status: SubmissionStatus::InReview,
                certificate_due_on: Some(certificate_due_on),
                ..renewal.clone()
            };
            let notice = Notice::AuditOutcome(AuditOutcome {
                certification_id: c.id,
                credential: c.credential,
                passed: true,
                certificate_due_on: Some(certificate_due_on),
                reason: None,
            });
            let changes = self
                .change(
                    ctx.actor,
                    ctx.now,
                    HistoryKind::AuditPassed {
                        renewal_id: audit.renewal_id,
                    },
                )
                .put(Item::Submission(next))
                .put(Item::Audit(audit.clone()))
                .put(self.message(recipient, ctx.message_id, notice, ctx.now))
                .build();
            return Ok((audit, changes));
        }
        if !audit.extra_time_granted {
            audit.status = AuditStatus::DocumentsDue;
            audit.extra_time_granted = true;
            audit.due_on = days_after(today, ctx.rules.deadlines.audit_replacement_days);
            let rejected_lines = audit
                .entries
                .iter()
                .filter(|e| e.rejected())
                .map(|e| {
                    format!(
                        "{}: {}",
                        e.title,
                        e.decision
                            .as_ref()
                            .and_then(|d| d.reason.clone())
                            .unwrap_or_default()
                    )
                })
                .collect();
            let notice = Notice::AuditExtraTime(AuditNotice {
                certification_id: c.id,
                credential: c.credential,
                due_on: audit.due_on,
                entries: audit.to_document(),
                rejected: rejected_lines,
                missing: missing_lines(&eligibility),
            });
            let mut change = self
                .change(
                    ctx.actor,
                    ctx.now,
                    HistoryKind::AuditExtraTime {
                        renewal_id: audit.renewal_id,
                        due_on: audit.due_on,
                    },
                )
                .put(self.message(recipient, ctx.message_id, notice, ctx.now));
            for deadline in audit.deadlines() {
                change = change.put(Item::Deadline(deadline));
            }
            return Ok((audit.clone(), change.put(Item::Audit(audit)).build()));
        }
        let reason = format!(
            "after the rejected hours were taken out, requirements are still unmet: {}",
            eligibility
                .gaps
                .iter()
                .map(|g| g.message.as_str())
                .collect::<Vec<_>>()
                .join("; ")
        );
        Ok(self.fail_audit(ctx, audit, reason, recipient))
    }

    /// The audit failed: the credential is revoked and the certificant told why.
    pub(crate) fn fail_audit(
        &self,
        ctx: &Decide<'_>,
        mut audit: Audit,
        reason: String,
        recipient: Recipient,
    ) -> (Audit, Changes) {
        let c = &self.certification;
        audit.status = AuditStatus::Failed;
        audit.closed_at = Some(ctx.now);
        audit.failure = Some(reason.clone());
        let mut change = self
            .change(
                ctx.actor,
                ctx.now,
                HistoryKind::AuditFailed {
                    renewal_id: audit.renewal_id,
                },
            )
            .root(|root| root.status = CertificationStatus::Revoked)
            .put(Item::Audit(audit.clone()))
            .put(self.message(
                recipient,
                ctx.message_id,
                Notice::AuditOutcome(AuditOutcome {
                    certification_id: c.id,
                    credential: c.credential,
                    passed: false,
                    certificate_due_on: None,
                    reason: Some(reason),
                }),
                ctx.now,
            ));
        if let Some(renewal) = self.renewals.iter().find(|r| r.id == audit.renewal_id) {
            change = change.put(Item::Submission(Submission {
                status: SubmissionStatus::Rejected,
                ..renewal.clone()
            }));
        }
        for kind in AUDIT_DEADLINES {
            if let Some(d) = self.open_deadline(kind) {
                change = change.put(Item::Deadline(Deadline {
                    done_at: Some(ctx.now),
                    ..d.clone()
                }));
            }
        }
        (audit, change.build())
    }

    /// The audit deadline of `kind` on its day: a reminder while documents are due, or, the day
    /// after the due date, the audit fails and the credential is revoked. `None` when there is
    /// nothing to do (done already, responded, not yet due).
    pub fn act_on_audit_deadline(
        &self,
        ctx: &Decide<'_>,
        kind: DueKind,
        recipient: Recipient,
    ) -> Option<Changes> {
        let deadline = self.open_deadline(kind)?;
        let audit = self.current_audit()?;
        let today = ctx.now.date_naive();
        if audit.status != AuditStatus::DocumentsDue || deadline.on > today {
            return None;
        }
        let c = &self.certification;
        if kind == DueKind::AuditOverdue {
            if today <= audit.due_on {
                return None;
            }
            let reason = format!("no documentation was received by {}", audit.due_on);
            return Some(self.fail_audit(ctx, audit.clone(), reason, recipient).1);
        }
        let notice = Notice::AuditReminder(AuditReminder {
            certification_id: c.id,
            credential: c.credential,
            due_on: audit.due_on,
            days_left: u32::try_from((audit.due_on - today).num_days().max(0)).unwrap_or(0),
            entries: audit.to_document(),
        });
        Some(
            self.change(
                ctx.actor,
                ctx.now,
                HistoryKind::NoticeQueued {
                    template: notice.template().to_owned(),
                },
            )
            .put(Item::Deadline(Deadline {
                done_at: Some(ctx.now),
                ..deadline.clone()
            }))
            .put(self.message(recipient, ctx.message_id, notice, ctx.now))
            .build(),
        )
    }
}
