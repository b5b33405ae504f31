//! The `jobs` function: EventBridge Scheduler invokes it with the input its schedule carries,
//! `{"job": "<name>", "scheduled_time": "<aws.scheduler.scheduled-time>"}`; it runs that job for
//! the scheduled time's UTC date through the application layer ([`recert_app::jobs`], [`recert_app::schedule`]) and answers
//! the job's report. A job is keyed by its name and date: running it twice for the same date
//! changes nothing the second time. No HTTP, no JWT: it needs only the store and the rules. The
//! audit jobs run in the `audits` function.

use recert_app::App;
use recert_app::jobs::Job;
use recert_app::schedule::run_scheduled;
pub use recert_app::schedule::{JobError, JobInput, JobOutput};

/// The jobs this function runs.
pub const JOBS: [Job; 2] = [Job::WindowOpens, Job::Lifecycle];

/// Run the job `input` names for its scheduled date.
pub async fn run(app: &App, input: JobInput) -> Result<JobOutput, JobError> {
    run_scheduled(app, input, &JOBS).await
}
