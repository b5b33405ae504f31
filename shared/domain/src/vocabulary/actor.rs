//! Who acts on a certification: every kind of caller the application serves, each with exactly
//! the identity it has (a certificant id, a staff role, a provider id, a job's name, a verified
//! webhook sender). Transport-free: an HTTP token, a schedule or a stream record becomes an
//! [`Actor`] at the edge, and every rule about who may do what is asked of it here.

use crate::vocabulary::ids::CertificantId;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The roles a token may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Certificant,
    Provider,
    Reviewer,
    Auditor,
    Committee,
    Admin,
}

impl Role {
    pub const ALL: [Role; 6] = [
        Role::Certificant,
        Role::Provider,
        Role::Reviewer,
        Role::Auditor,
        Role::Committee,
        Role::Admin,
    ];
    /// Staff may read every certification.
    pub const STAFF: [Role; 4] = [Role::Reviewer, Role::Auditor, Role::Committee, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Certificant => "certificant",
            Role::Provider => "provider",
            Role::Reviewer => "reviewer",
            Role::Auditor => "auditor",
            Role::Committee => "committee",
            Role::Admin => "admin",
        }
    }

    pub fn is_staff(self) -> bool {
        Role::STAFF.contains(&self)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL.into_iter().find(|r| r.as_str() == s).ok_or_else(|| {
            format!(
                "unknown role {s:?}; one of certificant, provider, reviewer, auditor, committee, admin"
            )
        })
    }
}

/// A partner education provider's id (as registered; the providers issue fills the registry).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ProviderId(pub String);

/// A scheduled job, by name (`lapse`, `audit-sampler`...): the actor of what no person asked for.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct JobName(pub String);

/// A sender whose webhook signature was verified (`payments`...).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct WebhookSender(pub String);

/// Whoever runs a command or a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// A certificant, acting on their own certifications.
    Certificant(CertificantId),
    /// A staff member with one staff role; `subject` is their (opaque) account id.
    Staff { subject: String, role: Role },
    /// A partner provider's system; `subject` is the calling client's id.
    Provider {
        subject: String,
        provider: ProviderId,
    },
    /// A scheduled job.
    System(JobName),
    /// A webhook whose signature was verified (a payment processor...).
    Webhook(WebhookSender),
}

impl Actor {
    /// The role this actor holds, for role checks; jobs and webhooks hold none.
    pub fn role(&self) -> Option<Role> {
        match self {
            Actor::Certificant(_) => Some(Role::Certificant),
            Actor::Staff { role, .. } => Some(*role),
            Actor::Provider { .. } => Some(Role::Provider),
            Actor::System(_) | Actor::Webhook(_) => None,
        }
    }

    /// Whether the actor holds one of `roles`.
    pub fn has_role(&self, roles: &[Role]) -> bool {
        self.role().is_some_and(|r| roles.contains(&r))
    }

    /// The certificant this actor is, when a certificant.
    pub fn certificant_id(&self) -> Option<CertificantId> {
        match self {
            Actor::Certificant(id) => Some(*id),
            _ => None,
        }
    }

    /// Whether the actor may see the data of `owner`'s certifications: staff and the system's
    /// own jobs always, a certificant only their own. Providers and webhooks see through their
    /// own commands only (they address what they posted, never read a transcript).
    pub fn may_read(&self, owner: CertificantId) -> bool {
        match self {
            Actor::Certificant(id) => *id == owner,
            Actor::Staff { .. } | Actor::System(_) => true,
            Actor::Provider { .. } | Actor::Webhook(_) => false,
        }
    }

    /// Who did it, as the history records it: an opaque subject and a role-like kind. Never a
    /// name or an email.
    pub fn acted_by(&self) -> ActedBy {
        let (subject, role) = match self {
            Actor::Certificant(id) => (id.to_string(), Role::Certificant.as_str()),
            Actor::Staff { subject, role } => (subject.clone(), role.as_str()),
            Actor::Provider { provider, .. } => (provider.0.clone(), Role::Provider.as_str()),
            Actor::System(job) => (job.0.clone(), "system"),
            Actor::Webhook(sender) => (sender.0.clone(), "webhook"),
        };
        ActedBy {
            subject,
            role: role.to_owned(),
        }
    }
}

/// Who did something, as recorded in the history: the actor's subject and kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ActedBy {
    pub subject: String,
    /// `certificant`, a staff role, `provider`, `system` (a scheduled job) or `webhook`.
    pub role: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn someone() -> CertificantId {
        CertificantId(Uuid::from_u128(7))
    }

    #[test]
    fn a_certificant_reads_only_their_own() {
        let me = Actor::Certificant(someone());
        assert!(me.may_read(someone()));
        assert!(!me.may_read(CertificantId(Uuid::from_u128(8))));
    }

    #[test]
    fn staff_and_jobs_read_everything_providers_and_webhooks_nothing() {
        let staff = Actor::Staff {
            subject: "s".into(),
            role: Role::Reviewer,
        };
        assert!(staff.may_read(someone()));
        assert!(Actor::System(JobName("lapse".into())).may_read(someone()));
        let provider = Actor::Provider {
            subject: "client".into(),
            provider: ProviderId("p-1".into()),
        };
        assert!(!provider.may_read(someone()));
        assert!(!Actor::Webhook(WebhookSender("payments".into())).may_read(someone()));
    }

    #[test]
    fn jobs_and_webhooks_hold_no_role() {
        assert_eq!(Actor::System(JobName("lapse".into())).role(), None);
        assert!(!Actor::Webhook(WebhookSender("payments".into())).has_role(&Role::ALL));
    }

    #[test]
    fn the_history_names_the_job_and_the_provider_not_a_person() {
        let by = Actor::System(JobName("lapse".into())).acted_by();
        assert_eq!((by.subject.as_str(), by.role.as_str()), ("lapse", "system"));
        let by = Actor::Provider {
            subject: "client-9".into(),
            provider: ProviderId("p-1".into()),
        }
        .acted_by();
        assert_eq!((by.subject.as_str(), by.role.as_str()), ("p-1", "provider"));
    }
}
