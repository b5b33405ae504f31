//! The one decision context every command decides with.

use crate::rules::RuleSet;
use crate::vocabulary::actor::Actor;
use chrono::{DateTime, Utc};

/// What a command decides with: the rules that judge the certification's cycle, who acts, when
/// (from the injected clock), and the id of the outbox message it may queue (fresh for each
/// attempt of the command, so a retry never sends twice under two ids).
#[derive(Debug, Clone, Copy)]
pub struct Decide<'a> {
    pub rules: &'a RuleSet,
    pub actor: &'a Actor,
    pub now: DateTime<Utc>,
    pub message_id: uuid::Uuid,
}

impl<'a> Decide<'a> {
    pub fn new(
        rules: &'a RuleSet,
        actor: &'a Actor,
        now: DateTime<Utc>,
        message_id: uuid::Uuid,
    ) -> Self {
        Decide {
            rules,
            actor,
            now,
            message_id,
        }
    }
}
