//! Floor 3, the model: each feature's data, with no command. A certificant and a certification,
//! CE entries, renewal submissions, waiver requests, postings, notices and the outbox, the
//! history, deadlines and queues, idempotency records. (The audit's data is in
//! [`crate::audit::case`], beside the draw.) Imports the vocabulary, the rules and eligibility,
//! and other model files; never the certification root or a use case.

pub mod certificant;
pub mod certification;
pub mod deadline;
pub mod entry;
pub mod history;
pub mod idempotency;
pub mod notice;
pub mod posting;
pub mod submission;
pub mod waiver;
