//! How a schedule runs a job: EventBridge Scheduler's input ([`JobInput`]) names the job and its
//! time; the job runs for that time's date ([`Job::run`], which dispatches to the daily jobs of
//! [`crate::jobs`] and the audit's of [`crate::audit`]) and answers its report ([`JobOutput`]).

use crate::jobs::{Job, JobReport, lifecycle, window_opens};
use crate::{App, AppError};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

impl Job {
    /// Run this job for `date`.
    pub async fn run(self, app: &App, date: NaiveDate) -> Result<JobReport, AppError> {
        match self {
            Job::WindowOpens => window_opens(app, date).await,
            Job::AuditDraw => Ok(crate::audit::audit_draw(app, date).await?.0),
            Job::AuditDeadlines => crate::audit::audit_deadlines(app, date).await,
            Job::Lifecycle => lifecycle(app, date).await,
        }
    }
}

/// What a schedule sends (EventBridge Scheduler's input, as the template writes it).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobInput {
    /// The job's name (`window-opens`...).
    pub job: String,
    /// When the schedule fired (EventBridge Scheduler's `<aws.scheduler.scheduled-time>`).
    pub scheduled_time: DateTime<Utc>,
}

/// What a scheduled function answers (and logs): the job's report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JobOutput {
    pub job: String,
    pub date: NaiveDate,
    pub due: usize,
    pub acted: usize,
    pub unchanged: usize,
}

impl From<JobReport> for JobOutput {
    fn from(r: JobReport) -> Self {
        JobOutput {
            job: r.job.to_owned(),
            date: r.date,
            due: r.due,
            acted: r.acted,
            unchanged: r.unchanged,
        }
    }
}

/// Why a scheduled run failed: the invocation fails (and the Errors alarm counts it).
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("unknown job {0:?} (this function runs {1})")]
    UnknownJob(String, String),
    #[error("job failed: {0}")]
    Failed(#[from] AppError),
}

/// Run the job `input` names for its scheduled date, if it is one of `runs` (each scheduled
/// function runs its own jobs only).
pub async fn run_scheduled(
    app: &App,
    input: JobInput,
    runs: &[Job],
) -> Result<JobOutput, JobError> {
    let job = Job::parse(&input.job)
        .filter(|j| runs.contains(j))
        .ok_or_else(|| {
            let names: Vec<_> = runs.iter().map(|j| j.name()).collect();
            JobError::UnknownJob(input.job.clone(), names.join(", "))
        })?;
    let report = job.run(app, input.scheduled_time.date_naive()).await?;
    Ok(report.into())
}
