//! The credentials the body issues and the categories of CE providers.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A credential. Serialized with the body's own spelling (`CPHIMS-CA`).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
pub enum Credential {
    #[serde(rename = "CAHIMS")]
    Cahims,
    #[serde(rename = "CPHIMS")]
    Cphims,
    #[serde(rename = "CPHIMS-CA")]
    CphimsCa,
    #[serde(rename = "CPDHTS")]
    Cpdhts,
}

impl Credential {
    pub const ALL: [Credential; 4] = [
        Credential::Cahims,
        Credential::Cphims,
        Credential::CphimsCa,
        Credential::Cpdhts,
    ];

    pub const fn code(self) -> &'static str {
        match self {
            Credential::Cahims => "CAHIMS",
            Credential::Cphims => "CPHIMS",
            Credential::CphimsCa => "CPHIMS-CA",
            Credential::Cpdhts => "CPDHTS",
        }
    }
}

impl fmt::Display for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Who delivered a CE activity. The rules file says which categories count where.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ProviderCategory {
    /// The certifying society itself.
    Society,
    /// A provider the society has approved.
    ApprovedProvider,
    /// Digital Health Canada.
    DigitalHealthCanada,
    /// Anyone else.
    Other,
}

impl ProviderCategory {
    pub const ALL: [ProviderCategory; 4] = [
        ProviderCategory::Society,
        ProviderCategory::ApprovedProvider,
        ProviderCategory::DigitalHealthCanada,
        ProviderCategory::Other,
    ];

    pub const fn label(self) -> &'static str {
        match self {
            ProviderCategory::Society => "the society",
            ProviderCategory::ApprovedProvider => "an approved provider",
            ProviderCategory::DigitalHealthCanada => "Digital Health Canada",
            ProviderCategory::Other => "another provider",
        }
    }
}

/// Membership status decides the fee.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Membership {
    Member,
    NonMember,
}
