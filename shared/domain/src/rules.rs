//! The versioned rule book: requirement sets, fees and deadlines as data.
//!
//! `rules/default.toml` is compiled in (as JSON: the build script converts it, and JSON parses in a
//! fraction of the time at a cold start); a deployment may point at another TOML file. A cycle is
//! judged by the version in force on the day it starts ([`RuleBook::for_cycle_starting`]).

use crate::vocabulary::credential::Credential;
use crate::vocabulary::credential::Membership;
use crate::vocabulary::credential::ProviderCategory;
use crate::vocabulary::hours::Hours;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `rules/default.toml`, converted to JSON by `build.rs`.
const DEFAULT_RULES_JSON: &str = include_str!(concat!(env!("OUT_DIR"), "/default-rules.json"));

#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    #[error("rules file is not valid TOML for the rule book: {0}")]
    Parse(#[from] toml::de::Error),
    #[error("rules file: {0}")]
    Invalid(String),
}

/// All versions of the rules, oldest first.
#[derive(Debug, Clone)]
pub struct RuleBook {
    versions: Vec<RuleSet>,
}

/// One version of the rules.
#[derive(Debug, Clone)]
pub struct RuleSet {
    pub effective_from: NaiveDate,
    pub entry_max: Hours,
    pub deadlines: Deadlines,
    pub fees: Vec<Fee>,
    /// What a certificant attests when submitting a renewal (recorded with the submission).
    pub attestation: Attestation,
    /// Bounds of waivers and extensions, and the closing-date reminders.
    pub lifecycle: Lifecycle,
    /// How a self-reported entry is matched to a provider's as a probable duplicate.
    pub duplicates: DuplicateMatch,
    credentials: BTreeMap<Credential, CredentialRules>,
}

/// The attestation a renewal submission accepts: its text and the version that names it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Attestation {
    pub version: String,
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Deadlines {
    pub window_opens_months_before_expiration: u32,
    pub waiver_request_cutoff_months_before_expiration: u32,
    pub audit_documentation_days: u32,
    pub audit_replacement_days: u32,
    pub review_due_days: u32,
    pub certificate_due_weeks: u32,
    pub audit_sample_percent: u32,
}

/// What the committee may grant, and when the closing date is announced.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Lifecycle {
    /// The latest closing date an extension may grant, in months after the expiration date.
    pub extension_max_months: u32,
    /// The most a waiver may lower one requirement's minimum, in percent of it (100: waive it all).
    pub waiver_max_reduction_percent: u32,
    /// Days before the closing date on which the certificant is told where they stand.
    pub closing_reminder_days: Vec<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Fee {
    pub credential: Credential,
    pub membership: Membership,
    /// Integer minor units (cents).
    pub amount_minor: u64,
    /// ISO 4217 code.
    pub currency: String,
}

/// What one credential must show per cycle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialRules {
    pub credential: Credential,
    pub cycle_years: u32,
    pub requirement_sets: Vec<RequirementSet>,
}

impl CredentialRules {
    /// The requirement `requirement` of the set `set`, if the credential has it.
    pub fn requirement(&self, set: &str, requirement: &str) -> Option<&Requirement> {
        self.requirement_sets
            .iter()
            .find(|s| s.key == set)?
            .requirements
            .iter()
            .find(|r| r.key == requirement)
    }
}

/// Which hours a requirement set may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Acceptance {
    /// Any hour completed in the cycle.
    Any,
    /// Only hours of activities flagged as Canadian-specific content.
    CanadianContent,
}

/// A group of minimums met together by the hours allocated to the set. An hour allocated to a set
/// counts toward every requirement of that set it matches (minimums overlap inside a set) and
/// toward no other set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequirementSet {
    pub key: String,
    pub label: String,
    pub accepts: Acceptance,
    pub requirements: Vec<Requirement>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Requirement {
    pub key: String,
    pub label: String,
    #[serde(rename = "min_hundredths")]
    pub min: Hours,
    /// Provider categories whose hours count; empty = any category.
    #[serde(default)]
    pub categories: Vec<ProviderCategory>,
    /// Only the ethics part of an activity counts.
    #[serde(default)]
    pub ethics_only: bool,
}

impl Requirement {
    /// Whether an hour of this kind counts toward the requirement.
    pub fn counts(&self, category: ProviderCategory, ethics: bool) -> bool {
        (self.categories.is_empty() || self.categories.contains(&category))
            && (!self.ethics_only || ethics)
    }
}

impl RequirementSet {
    pub fn accepts(&self, canadian_content: bool) -> bool {
        match self.accepts {
            Acceptance::Any => true,
            Acceptance::CanadianContent => canadian_content,
        }
    }
}

// ---- file format -------------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileBook {
    version: Vec<FileVersion>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileVersion {
    effective_from: NaiveDate,
    entry_max_hundredths: u32,
    fees: Vec<Fee>,
    deadlines: Deadlines,
    attestation: Attestation,
    lifecycle: Lifecycle,
    #[serde(default)]
    duplicates: DuplicateMatch,
    requirement_sets: BTreeMap<String, FileSet>,
    credentials: BTreeMap<Credential, FileCredential>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSet {
    label: String,
    accepts: Acceptance,
    requirements: Vec<Requirement>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileCredential {
    cycle_years: u32,
    requirement_sets: Vec<String>,
}

impl RuleBook {
    /// The compiled-in default rules (the first customer's policy).
    pub fn default_rules() -> Self {
        #[allow(clippy::expect_used)] // the file is part of the build and has its own test
        serde_json::from_str(DEFAULT_RULES_JSON)
            .map_err(|e| RulesError::Invalid(e.to_string()))
            .and_then(Self::resolve)
            .expect("the compiled-in rules/default.toml is valid")
    }

    pub fn from_toml(text: &str) -> Result<Self, RulesError> {
        Self::resolve(toml::from_str(text)?)
    }

    fn resolve(file: FileBook) -> Result<Self, RulesError> {
        let mut versions = Vec::with_capacity(file.version.len());
        for v in file.version {
            versions.push(RuleSet::resolve(v)?);
        }
        if versions.is_empty() {
            return Err(RulesError::Invalid(
                "at least one [[version]] is required".into(),
            ));
        }
        versions.sort_by_key(|v| v.effective_from);
        if versions
            .windows(2)
            .any(|w| w[0].effective_from == w[1].effective_from)
        {
            return Err(RulesError::Invalid(
                "two versions share an effective_from date".into(),
            ));
        }
        Ok(RuleBook { versions })
    }

    /// These rules with every version's audit share set to `percent` (0 to 100): a rehearsal or
    /// a test that needs the draw to select nobody, or everybody.
    pub fn with_audit_share(mut self, percent: u32) -> Self {
        for v in &mut self.versions {
            v.deadlines.audit_sample_percent = percent.min(100);
        }
        self
    }

    /// The version in force on the day a cycle starts (the first version for earlier cycles).
    pub fn for_cycle_starting(&self, starts_on: NaiveDate) -> &RuleSet {
        self.versions
            .iter()
            .rev()
            .find(|v| v.effective_from <= starts_on)
            .unwrap_or(&self.versions[0])
    }

    pub fn versions(&self) -> &[RuleSet] {
        &self.versions
    }
}

impl RuleSet {
    fn resolve(v: FileVersion) -> Result<Self, RulesError> {
        let invalid = |m: String| RulesError::Invalid(format!("version {}: {m}", v.effective_from));
        if v.entry_max_hundredths == 0 {
            return Err(invalid("entry_max_hundredths must be positive".into()));
        }
        let d = &v.deadlines;
        if d.window_opens_months_before_expiration == 0 || d.audit_sample_percent > 100 {
            return Err(invalid("deadlines out of range".into()));
        }
        let l = &v.lifecycle;
        if l.extension_max_months == 0
            || l.waiver_max_reduction_percent > 100
            || l.closing_reminder_days.contains(&0)
        {
            return Err(invalid("lifecycle bounds out of range".into()));
        }
        if v.attestation.version.trim().is_empty() || v.attestation.text.trim().is_empty() {
            return Err(invalid("the attestation needs a version and a text".into()));
        }
        let mut credentials = BTreeMap::new();
        for credential in Credential::ALL {
            let fc = v
                .credentials
                .get(&credential)
                .ok_or_else(|| invalid(format!("credential {credential} has no rules")))?;
            if fc.cycle_years == 0 || fc.requirement_sets.is_empty() {
                return Err(invalid(format!(
                    "credential {credential}: empty cycle or sets"
                )));
            }
            let mut sets = Vec::new();
            for name in &fc.requirement_sets {
                let set = v
                    .requirement_sets
                    .get(name)
                    .ok_or_else(|| invalid(format!("unknown requirement set {name}")))?;
                sets.push(RequirementSet {
                    key: name.clone(),
                    label: set.label.clone(),
                    accepts: set.accepts,
                    requirements: set.requirements.clone(),
                });
            }
            credentials.insert(
                credential,
                CredentialRules {
                    credential,
                    cycle_years: fc.cycle_years,
                    requirement_sets: sets,
                },
            );
            for membership in [Membership::Member, Membership::NonMember] {
                if !v
                    .fees
                    .iter()
                    .any(|f| f.credential == credential && f.membership == membership)
                {
                    return Err(invalid(format!("no fee for {credential} / {membership:?}")));
                }
            }
        }
        Ok(RuleSet {
            effective_from: v.effective_from,
            entry_max: Hours(v.entry_max_hundredths),
            deadlines: v.deadlines,
            fees: v.fees,
            attestation: v.attestation,
            lifecycle: v.lifecycle,
            duplicates: v.duplicates,
            credentials,
        })
    }

    pub fn credential(&self, credential: Credential) -> &CredentialRules {
        // `resolve` guarantees an entry for every credential.
        &self.credentials[&credential]
    }

    pub fn fee(&self, credential: Credential, membership: Membership) -> Option<&Fee> {
        self.fees
            .iter()
            .find(|f| f.credential == credential && f.membership == membership)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEFAULT_RULES: &str = include_str!("../rules/default.toml");

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap_or_default()
    }

    #[test]
    fn default_rules_state_the_published_policy() {
        let book = RuleBook::default_rules();
        let rules = book.for_cycle_starting(d(2025, 1, 1));
        let cphims = rules.credential(Credential::Cphims);
        assert_eq!(cphims.cycle_years, 3);
        let core = &cphims.requirement_sets[0];
        let mins: Vec<_> = core
            .requirements
            .iter()
            .map(|r| (r.key.as_str(), r.min))
            .collect();
        assert_eq!(
            mins,
            [
                ("total", Hours(4500)),
                ("approved", Hours(2500)),
                ("ethics", Hours(200))
            ]
        );
        let ca = rules.credential(Credential::CphimsCa);
        assert_eq!(ca.requirement_sets.len(), 2);
        assert_eq!(ca.requirement_sets[0], *core);
        let canadian = &ca.requirement_sets[1];
        assert_eq!(canadian.accepts, Acceptance::CanadianContent);
        assert_eq!(canadian.requirements[0].min, Hours(1500));
        assert_eq!(canadian.requirements[1].min, Hours(1000));
        assert_eq!(
            canadian.requirements[1].categories,
            [ProviderCategory::DigitalHealthCanada]
        );
        let cpdhts = rules.credential(Credential::Cpdhts);
        assert_eq!(cpdhts.cycle_years, 2);
        assert_eq!(cpdhts.requirement_sets[0].requirements[0].min, Hours(3000));
        assert_eq!(cpdhts.requirement_sets[0].requirements[1].min, Hours(1500));
        assert_eq!(rules.deadlines.window_opens_months_before_expiration, 6);
        assert_eq!(
            rules
                .deadlines
                .waiver_request_cutoff_months_before_expiration,
            3
        );
        assert_eq!(rules.deadlines.audit_documentation_days, 30);
        assert_eq!(rules.deadlines.audit_replacement_days, 60);
        assert_eq!(rules.deadlines.review_due_days, 7);
        assert!(rules.fee(Credential::Cahims, Membership::Member).is_some());
        assert_eq!(rules.lifecycle.closing_reminder_days, [90, 30, 7]);
        assert_eq!(rules.lifecycle.extension_max_months, 6);
        assert_eq!(rules.lifecycle.waiver_max_reduction_percent, 50);
    }

    #[test]
    fn society_counts_as_approved_provider() {
        let book = RuleBook::default_rules();
        let core = &book
            .for_cycle_starting(d(2025, 1, 1))
            .credential(Credential::Cahims)
            .requirement_sets[0];
        let approved = &core.requirements[1];
        assert!(approved.counts(ProviderCategory::Society, false));
        assert!(approved.counts(ProviderCategory::ApprovedProvider, true));
        assert!(!approved.counts(ProviderCategory::Other, false));
    }

    #[test]
    fn the_compiled_in_json_is_the_rule_book_of_the_toml_file() {
        let from_toml = RuleBook::from_toml(DEFAULT_RULES).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            format!("{:?}", RuleBook::default_rules()),
            format!("{from_toml:?}")
        );
        // Not vacuous: the Debug form names the policy's figures.
        assert!(format!("{from_toml:?}").contains("4500"));
    }

    #[test]
    fn a_cycle_is_judged_by_the_version_in_force_at_its_start() {
        let base = DEFAULT_RULES.to_string();
        let newer = base
            .split("\n[[version]]\n")
            .nth(1)
            .unwrap_or_default()
            .replacen(
                "effective_from = \"2000-01-01\"",
                "effective_from = \"2027-01-01\"",
                1,
            )
            .replacen("min_hundredths = 4500", "min_hundredths = 6000", 1);
        let book = RuleBook::from_toml(&format!("{base}\n[[version]]\n{newer}"))
            .unwrap_or_else(|e| panic!("{e}"));
        let total = |day| {
            book.for_cycle_starting(day)
                .credential(Credential::Cahims)
                .requirement_sets[0]
                .requirements[0]
                .min
        };
        assert_eq!(total(d(2026, 12, 31)), Hours(4500));
        assert_eq!(total(d(2027, 1, 1)), Hours(6000));
        assert_eq!(total(d(1999, 1, 1)), Hours(4500));
    }

    #[test]
    fn a_credential_without_rules_is_refused() {
        let broken = DEFAULT_RULES.replace(
            "[version.credentials.CPDHTS]",
            "[version.credentials.CPHIMSX]",
        );
        assert!(RuleBook::from_toml(&broken).is_err());
    }
}

/// How a self-reported entry is matched to a provider-reported one as a probable duplicate (the
/// rules file's `[version.duplicates]`): same provider (by its registered name, ignoring case and
/// punctuation), completion dates at most `date_tolerance_days` apart, and — when `match_title`
/// — the same title (ignoring case and punctuation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DuplicateMatch {
    pub date_tolerance_days: u32,
    pub match_title: bool,
}

impl Default for DuplicateMatch {
    /// Same provider, same day, same title.
    fn default() -> Self {
        DuplicateMatch {
            date_tolerance_days: 0,
            match_title: true,
        }
    }
}
