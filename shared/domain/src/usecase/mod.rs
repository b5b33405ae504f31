//! Floor 5, the use cases: one module each, every one a set of commands on the certification root
//! ([`crate::certification::CertificationAggregate`]) that return the [`Changes`] to commit
//! (or a refusal). They import the floors below, never each other's commands.
//!
//! [`Changes`]: crate::certification::Changes

pub mod audit;
pub mod exam;
pub mod lifecycle;
pub mod payment;
pub mod posting;
pub mod review;
pub mod submission;
pub mod transcript;
pub mod waiver;
