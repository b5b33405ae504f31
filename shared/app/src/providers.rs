//! Partner providers: the registry staff keep, the batches of completions a provider posts, its
//! voids, and the staff reconciliation of what could not be matched.
//!
//! A batch spans many certifications, so it is many commits. Each row lands exactly once:
//!
//! 1. every row is validated on its own (a bad row is reported, never fails the batch), and the
//!    provider must be active and approved for the row's completion date;
//! 2. the provider's ledger is read for the batch's completion ids (`BatchGetItem` on DynamoDB):
//!    a completion posted before (weeks ago, or earlier in this batch) is a duplicate;
//! 3. each row is matched to a certification (certificate number, else the certificant's one
//!    active certification); a row that matches none is recorded as an unmatched posting and
//!    waits in the staff reconciliation queue;
//! 4. matched rows are committed per certification, [`ROWS_PER_COMMIT`] at a time: the entries
//!    and their postings in one atomic commit, each posting created only if absent. A posting
//!    recorded meanwhile (a concurrent retry of the same batch) fails that commit as a
//!    duplicate; the chunk is read again and its other rows committed. A chunk whose commit fails
//!    otherwise is reported `not_stored` row by row, and nothing of it was written: posting the
//!    batch again is always safe.

use crate::{App, AppError, Decision};
use futures::{StreamExt, stream};
use recert_domain::ConflictCode;
use recert_domain::model::posting::{
    BatchReport, Completion, CompletionRow, PostingStatus, ROWS_PER_COMMIT, Reconciliation,
    RejectionCode, RowOutcome, RowRejection, RowReport,
};
use recert_domain::provider::{ProviderRegistration, ProviderUpdate};
use recert_domain::{
    Actor, CertificationId, CertificationStatus, Posting, Provider, ProviderId, Role,
};
use recert_store::StoreError;
use std::collections::{BTreeMap, HashMap};

/// Who keeps the registry.
pub const REGISTRARS: [Role; 1] = [Role::Admin];
/// Who decides reconciliation (unmatched rows, void requests on locked cycles).
pub const RECONCILERS: [Role; 2] = [Role::Reviewer, Role::Admin];
/// How many certifications a batch works on at once.
const CONCURRENT_COMMITS: usize = 8;
/// Rows naming the same holder: a certificate number and a certificant id, as the row gives them.
type HolderKey = (Option<String>, Option<recert_domain::CertificantId>);
/// How many times a chunk is read again after a concurrent post of the same completions.
const DUPLICATE_ROUNDS: usize = 3;

/// A row as parsed from the request body: the row, or why it could not be read; with the
/// completion id when one could be read (for the report).
#[derive(Debug, Clone)]
pub struct ParsedRow {
    pub row: usize,
    pub completion_id: Option<String>,
    pub parsed: Result<CompletionRow, RowRejection>,
}

fn require(actor: &Actor, roles: &[Role]) -> Result<(), AppError> {
    if actor.has_role(roles) {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

/// Whether `actor` is `provider` itself (a provider sees only its own data).
fn is_provider(actor: &Actor, provider: &ProviderId) -> bool {
    matches!(actor, Actor::Provider { provider: p, .. } if p == provider)
}

/// Staff see every provider; a provider only itself; anyone else nothing (`NotFound`).
fn ensure_visible(actor: &Actor, provider: &ProviderId) -> Result<(), AppError> {
    if is_provider(actor, provider) || actor.role().is_some_and(Role::is_staff) {
        Ok(())
    } else {
        Err(AppError::NotFound("provider"))
    }
}

impl App {
    /// Register a provider (admin).
    pub async fn register_provider(
        &self,
        actor: &Actor,
        input: ProviderRegistration,
    ) -> Result<Provider, AppError> {
        require(actor, &REGISTRARS)?;
        let provider = Provider::register(input, actor, self.clock.now())?;
        self.store.create_provider(&provider).await?;
        Ok(provider)
    }

    /// The provider, if `actor` may see it.
    pub async fn provider_visible(
        &self,
        actor: &Actor,
        id: &ProviderId,
    ) -> Result<Provider, AppError> {
        ensure_visible(actor, id)?;
        self.store
            .provider(id)
            .await?
            .ok_or(AppError::NotFound("provider"))
    }

    /// Change a provider (admin). `precondition` is the client's (`If-Match`): it must hold of
    /// the provider as stored, else `PreconditionFailed`.
    pub async fn update_provider(
        &self,
        actor: &Actor,
        id: &ProviderId,
        update: ProviderUpdate,
        precondition: impl Fn(&Provider) -> bool,
    ) -> Result<Provider, AppError> {
        require(actor, &REGISTRARS)?;
        let current = self
            .store
            .provider(id)
            .await?
            .ok_or(AppError::NotFound("provider"))?;
        if !precondition(&current) {
            return Err(AppError::PreconditionFailed("the provider"));
        }
        let Some(next) = current.updated(update, actor, self.clock.now())? else {
            return Ok(current);
        };
        match self.store.replace_provider(&next).await {
            Ok(()) => Ok(next),
            Err(StoreError::VersionConflict) => Err(AppError::Changed {
                what: "the provider",
            }),
            Err(e) => Err(e.into()),
        }
    }

    /// Post a batch of completions as `actor`, for `provider_id` (see the module docs).
    pub async fn post_completions(
        &self,
        actor: &Actor,
        provider_id: &ProviderId,
        rows: Vec<ParsedRow>,
    ) -> Result<BatchReport, AppError> {
        if !is_provider(actor, provider_id) {
            return Err(AppError::NotFound("provider"));
        }
        let provider = self
            .store
            .provider(provider_id)
            .await?
            .ok_or(AppError::NotFound("provider"))?;
        let today = self.clock.today();
        let max_hours = self.rules.for_cycle_starting(today).entry_max;
        let mut reports = Vec::with_capacity(rows.len());
        let mut first_row: HashMap<String, usize> = HashMap::new();
        let mut repeats = Vec::new();
        let mut valid = Vec::new();
        for ParsedRow {
            row,
            completion_id,
            parsed,
        } in rows
        {
            let checked = parsed
                .and_then(|r| r.validate(max_hours, today))
                .and_then(|c| provider.posting_refusal(c.completed_on).map_or(Ok(c), Err));
            match checked {
                Err(rejection) => reports.push(report(row, completion_id, rejected(rejection))),
                Ok(c) if first_row.contains_key(&c.completion_id) => repeats.push((row, c)),
                Ok(c) => {
                    first_row.insert(c.completion_id.clone(), row);
                    valid.push((row, c));
                }
            }
        }
        // Posted before: a duplicate, with what became of it.
        let ids: Vec<String> = valid.iter().map(|(_, c)| c.completion_id.clone()).collect();
        let existing: HashMap<String, Posting> = self
            .store
            .postings(&provider.id, &ids)
            .await?
            .into_iter()
            .map(|p| (p.completion_id().to_owned(), p))
            .collect();
        let mut fresh = Vec::with_capacity(valid.len());
        for (row, c) in valid {
            match existing.get(&c.completion_id) {
                Some(p) => reports.push(duplicate(row, p)),
                None => fresh.push((row, c)),
            }
        }
        let (matched, unmatched) = self.match_rows(fresh).await?;
        let unmatched_reports = stream::iter(unmatched)
            .map(|(row, c, reason)| self.hold_unmatched(&provider, row, c, reason))
            .buffer_unordered(CONCURRENT_COMMITS)
            .collect::<Vec<_>>()
            .await;
        for r in unmatched_reports {
            reports.push(r?);
        }
        // One certification's chunks in turn (they would only race each other), certifications
        // side by side.
        let provider_ref = &provider;
        let committed = stream::iter(matched)
            .map(|(id, rows)| async move {
                let mut reports = Vec::with_capacity(rows.len());
                for chunk in rows.chunks(ROWS_PER_COMMIT) {
                    reports.extend(
                        self.commit_chunk(actor, provider_ref, id, chunk.to_vec())
                            .await,
                    );
                }
                reports
            })
            .buffer_unordered(CONCURRENT_COMMITS)
            .collect::<Vec<_>>()
            .await;
        reports.extend(committed.into_iter().flatten());
        // A completion id repeated in the batch: a duplicate of what its first row recorded.
        let ids: Vec<String> = repeats
            .iter()
            .map(|(_, c)| c.completion_id.clone())
            .collect();
        let recorded = self.store.postings(&provider.id, &ids).await?;
        for (row, c) in repeats {
            match recorded.iter().find(|p| p.completion_id() == c.completion_id) {
                Some(p) => reports.push(duplicate(row, p)),
                None => reports.push(report(
                    row,
                    Some(c.completion_id.clone()),
                    rejected(RowRejection::new(
                        RejectionCode::InvalidRow,
                        format!(
                            "completion_id {} appears earlier in this batch (row {}), which was not recorded",
                            c.completion_id,
                            first_row.get(&c.completion_id).copied().unwrap_or_default()
                        ),
                    )),
                )),
            }
        }
        Ok(BatchReport::new(reports))
    }

    /// Each row's certification (by certificate number, else the certificant's one active
    /// certification), or why none matched.
    #[allow(clippy::type_complexity)]
    async fn match_rows(
        &self,
        rows: Vec<(usize, Completion)>,
    ) -> Result<
        (
            BTreeMap<CertificationId, Vec<(usize, Completion)>>,
            Vec<(usize, Completion, String)>,
        ),
        AppError,
    > {
        // One lookup per distinct (certificate number, certificant) a batch names.
        let mut by_holder: BTreeMap<HolderKey, Vec<(usize, Completion)>> = BTreeMap::new();
        for (row, c) in rows {
            let key = (c.certificate_number.clone(), c.certificant_id);
            by_holder.entry(key).or_default().push((row, c));
        }
        let lookups = stream::iter(by_holder)
            .map(|(key, rows)| async move {
                let found = match rows.first() {
                    Some((_, c)) => self.certification_of(c).await,
                    None => Ok(Err(String::new())),
                };
                (key, rows, found)
            })
            .buffer_unordered(CONCURRENT_COMMITS)
            .collect::<Vec<_>>()
            .await;
        let mut matched: BTreeMap<CertificationId, Vec<(usize, Completion)>> = BTreeMap::new();
        let mut unmatched = Vec::new();
        for (_, rows, found) in lookups {
            match found? {
                Ok(id) => matched.entry(id).or_default().extend(rows),
                Err(reason) => {
                    unmatched.extend(rows.into_iter().map(|(row, c)| (row, c, reason.clone())));
                }
            }
        }
        for rows in matched.values_mut() {
            rows.sort_by_key(|(row, _)| *row);
        }
        Ok((matched, unmatched))
    }

    /// The certification a completion is for, or why none matches.
    async fn certification_of(
        &self,
        c: &Completion,
    ) -> Result<Result<CertificationId, String>, AppError> {
        if let Some(number) = &c.certificate_number {
            let Some(id) = self.store.certification_by_number(number).await? else {
                return Ok(Err("unknown certificate number".into()));
            };
            if let Some(certificant) = c.certificant_id {
                let holder = self
                    .store
                    .certification(id)
                    .await?
                    .map(|c| c.certificant_id);
                if holder != Some(certificant) {
                    return Ok(Err(
                        "the certificate number and the certificant id name different people"
                            .into(),
                    ));
                }
            }
            return Ok(Ok(id));
        }
        let Some(certificant) = c.certificant_id else {
            return Ok(Err("no certificate number or certificant id".into()));
        };
        let active: Vec<_> = self
            .store
            .certifications_of(certificant)
            .await?
            .into_iter()
            .filter(|c| c.status == CertificationStatus::Active)
            .collect();
        Ok(match active.as_slice() {
            [one] => Ok(one.id),
            [] => Err("the certificant holds no active certification".into()),
            _ => Err(
                "the certificant holds several active certifications; give the certificate number"
                    .into(),
            ),
        })
    }

    /// Record an unmatched row for staff (or report the posting already there).
    async fn hold_unmatched(
        &self,
        provider: &Provider,
        row: usize,
        c: Completion,
        reason: String,
    ) -> Result<RowReport, AppError> {
        let posting = Posting::unmatched(&provider.id, c, reason.clone(), self.clock.now());
        if self.store.create_posting(&posting).await? {
            return Ok(report(
                row,
                Some(posting.completion.completion_id),
                RowOutcome::Unmatched { reason },
            ));
        }
        let stored = self
            .store
            .posting(&provider.id, posting.completion_id())
            .await?
            .unwrap_or(posting);
        Ok(duplicate(row, &stored))
    }

    /// Commit one chunk of rows matched to certification `id`; every row gets its report.
    async fn commit_chunk(
        &self,
        actor: &Actor,
        provider: &Provider,
        id: CertificationId,
        mut chunk: Vec<(usize, Completion)>,
    ) -> Vec<RowReport> {
        let mut reports = Vec::with_capacity(chunk.len());
        for _ in 0..DUPLICATE_ROUNDS {
            let result = self
                .command(actor, id)
                // A provider writes to the certification its row names; it reads nothing of it
                // back but each row's outcome.
                .authorize(|_, _| Ok(()))
                .run(|ctx| {
                    let (outcomes, changes) =
                        ctx.aggregate
                            .post_completions(&ctx.decide(), provider, &chunk);
                    Ok(match changes {
                        Some(changes) => Decision::commit(changes, outcomes),
                        None => Decision::Unchanged(outcomes),
                    })
                })
                .await;
            let failure = match result {
                Ok(outcomes) => {
                    reports.extend(outcomes.into_iter().map(|(row, outcome)| {
                        let id = chunk
                            .iter()
                            .find(|(r, _)| *r == row)
                            .map(|(_, c)| c.completion_id.clone());
                        report(row, id, outcome)
                    }));
                    return reports;
                }
                Err(AppError::Store(StoreError::Duplicate { what: "posting" })) => {
                    // Posted meanwhile: report those, commit the rest.
                    let ids: Vec<String> =
                        chunk.iter().map(|(_, c)| c.completion_id.clone()).collect();
                    match self.store.postings(&provider.id, &ids).await {
                        Ok(found) => {
                            chunk.retain(|(row, c)| {
                                match found.iter().find(|p| p.completion_id() == c.completion_id) {
                                    Some(p) => {
                                        reports.push(duplicate(*row, p));
                                        false
                                    }
                                    None => true,
                                }
                            });
                            if chunk.is_empty() {
                                return reports;
                            }
                            continue;
                        }
                        Err(e) => AppError::from(e),
                    }
                }
                Err(e) => e,
            };
            tracing::warn!(error = %failure, rows = chunk.len(), "a batch chunk was not stored");
            break;
        }
        reports.extend(chunk.into_iter().map(|(row, c)| {
            report(
                row,
                Some(c.completion_id),
                rejected(RowRejection::new(
                    RejectionCode::NotStored,
                    "this row could not be stored this time; post it again",
                )),
            )
        }));
        reports
    }

    /// The provider voids one of its postings, with a reason.
    pub async fn void_posting(
        &self,
        actor: &Actor,
        provider_id: &ProviderId,
        completion_id: &str,
        reason: &str,
    ) -> Result<Posting, AppError> {
        if !is_provider(actor, provider_id) {
            return Err(AppError::NotFound("posting"));
        }
        let posting = self.own_posting(provider_id, completion_id).await?;
        match &posting.status {
            PostingStatus::Posted {
                certification_id, ..
            } => {
                let id = *certification_id;
                self.posting_command(actor, id, |aggregate, decide| {
                    aggregate.void_posting(decide, &posting, reason)
                })
                .await
            }
            PostingStatus::Unmatched { .. } => {
                let next = posting.voided_without_entry(reason, self.clock.now())?;
                self.swap(&posting, next).await
            }
            _ => Err(recert_domain::DomainError::conflict(
                ConflictCode::PostingNotPending,
                "this posting was voided or decided already",
            )
            .into()),
        }
    }

    /// Staff decide a posting waiting in the reconciliation queue.
    pub async fn reconcile_posting(
        &self,
        actor: &Actor,
        provider_id: &ProviderId,
        completion_id: &str,
        decision: Reconciliation,
    ) -> Result<Posting, AppError> {
        require(actor, &RECONCILERS)?;
        let posting = self.own_posting(provider_id, completion_id).await?;
        match (decision, &posting.status) {
            (Reconciliation::Link { certification_id }, _) => {
                let provider = self
                    .store
                    .provider(provider_id)
                    .await?
                    .ok_or(AppError::NotFound("provider"))?;
                self.posting_command(actor, certification_id, |aggregate, decide| {
                    aggregate.link_posting(decide, &posting, &provider)
                })
                .await
            }
            (Reconciliation::Reject { reason }, _) => {
                let next = posting.rejected(&reason, self.clock.now())?;
                self.swap(&posting, next).await
            }
            (
                decision @ (Reconciliation::RemoveEntry | Reconciliation::KeepEntry),
                PostingStatus::VoidRequested {
                    certification_id, ..
                },
            ) => {
                let remove = decision == Reconciliation::RemoveEntry;
                self.posting_command(actor, *certification_id, |aggregate, decide| {
                    aggregate.decide_void(decide, &posting, remove)
                })
                .await
            }
            _ => Err(recert_domain::DomainError::conflict(
                ConflictCode::PostingNotPending,
                "this posting is not waiting for that decision",
            )
            .into()),
        }
    }

    /// One posting of `provider_id` (the caller checked who may see it).
    pub async fn own_posting(
        &self,
        provider_id: &ProviderId,
        completion_id: &str,
    ) -> Result<Posting, AppError> {
        self.store
            .posting(provider_id, completion_id)
            .await?
            .ok_or(AppError::NotFound("posting"))
    }

    /// A posting `actor` may see: its own provider's, or any for staff.
    pub async fn posting_visible(
        &self,
        actor: &Actor,
        provider_id: &ProviderId,
        completion_id: &str,
    ) -> Result<Posting, AppError> {
        ensure_visible(actor, provider_id)?;
        self.own_posting(provider_id, completion_id).await
    }

    /// Replace a posting outside any certification; a lost race is `Changed`.
    async fn swap(&self, current: &Posting, next: Posting) -> Result<Posting, AppError> {
        if self.store.swap_posting(current, &next).await? {
            Ok(next)
        } else {
            Err(AppError::Changed {
                what: "the posting",
            })
        }
    }

    /// A command on certification `id` that changes a posting with it (staff or the provider,
    /// whatever the certification's owner); a posting changed meanwhile is `Changed`.
    async fn posting_command(
        &self,
        actor: &Actor,
        id: CertificationId,
        decide: impl Fn(
            &recert_domain::CertificationAggregate,
            &recert_domain::Decide<'_>,
        )
            -> Result<(Posting, recert_domain::Changes), recert_domain::DomainError>,
    ) -> Result<Posting, AppError> {
        let result = self
            .command(actor, id)
            .authorize(|_, _| Ok(()))
            .run(|ctx| {
                let (posting, changes) = decide(ctx.aggregate, &ctx.decide())?;
                Ok(Decision::commit(changes, posting))
            })
            .await;
        match result {
            Err(AppError::Store(StoreError::PostingChanged)) => Err(AppError::Changed {
                what: "the posting",
            }),
            other => other,
        }
    }
}

fn report(row: usize, completion_id: Option<String>, outcome: RowOutcome) -> RowReport {
    RowReport {
        row,
        completion_id,
        outcome,
    }
}

fn rejected(rejection: RowRejection) -> RowOutcome {
    RowOutcome::Rejected { rejection }
}

fn duplicate(row: usize, posting: &Posting) -> RowReport {
    report(
        row,
        Some(posting.completion_id().to_owned()),
        RowOutcome::Duplicate {
            posting: posting.status.clone(),
        },
    )
}
