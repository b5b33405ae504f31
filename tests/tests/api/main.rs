//! Black-box API tests: the real routers (as the local server and the Lambdas mount them) over the
//! real embedded store, driven through HTTP requests only.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod audits;
mod auth;
mod calendar;
mod call_budget;
mod contention;
mod eligibility;
mod enrolment;
mod errors;
mod exam;
mod hardening;
mod helpers;
mod lambda_events;
mod notifications;
mod providers;
mod ses;
mod submissions;
mod transcripts;
mod waivers;
