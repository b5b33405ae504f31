//! The `jobs` function: EventBridge Scheduler invokes it with the input its schedule carries,
//! `{"job": "<name>", "scheduled_time": "<aws.scheduler.scheduled-time>"}`; it runs that job for
//! the scheduled time's UTC date through the application layer ([`recert_app::jobs`]) and answers
//! the job's report. A job is keyed by its name and date: running it twice for the same date
//! changes nothing the second time. No HTTP, no JWT: it needs only the store and the rules.

use chrono::{DateTime, NaiveDate, Utc};
use recert_app::App;
use recert_app::jobs::{Job, JobReport};
use serde::{Deserialize, Serialize};

/// What a schedule sends.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobInput {
    /// The job's name (`window-opens`...).
    pub job: String,
    /// When the schedule fired (EventBridge Scheduler's `<aws.scheduler.scheduled-time>`).
    pub scheduled_time: DateTime<Utc>,
}

/// What the function answers (and logs): the job's report.
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

/// Why a run failed: the invocation fails (and the Errors alarm counts it).
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("unknown job {0:?}")]
    UnknownJob(String),
    #[error("job failed: {0}")]
    Failed(#[from] recert_app::AppError),
}

/// Run the job `input` names for its scheduled date.
pub async fn run(app: &App, input: JobInput) -> Result<JobOutput, JobError> {
    let job = Job::parse(&input.job).ok_or_else(|| JobError::UnknownJob(input.job.clone()))?;
    let report = job.run(app, input.scheduled_time.date_naive()).await?;
    Ok(report.into())
}
