//! Domain errors: a rule said no. Each maps to one HTTP class in the api crate.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Field name (JSON pointer-ish path, e.g. `ethics_hours_hundredths`) → messages.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldErrors(pub BTreeMap<String, Vec<String>>);

impl FieldErrors {
    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.entry(field.into()).or_default().push(message.into());
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(())` when nothing was added.
    pub fn into_result(self) -> Result<(), FieldErrors> {
        if self.is_empty() { Ok(()) } else { Err(self) }
    }

    /// The value `parsed` holds, or `None` with its reason added under `field`: parse every field,
    /// then build with [`FieldErrors::then`], so one request reports every bad field at once.
    pub fn field<T, E: Into<String>>(&mut self, field: &str, parsed: Result<T, E>) -> Option<T> {
        parsed.map_err(|why| self.add(field, why)).ok()
    }

    /// `build`'s value when nothing was added. `build` sees the fields [`FieldErrors::field`]
    /// parsed: each is `Some` then, as a failed one added its reason.
    pub fn then<T>(self, build: impl FnOnce() -> Option<T>) -> Result<T, FieldErrors> {
        self.into_result()?;
        build().ok_or_else(|| {
            let mut errors = FieldErrors::default();
            errors.add("body", "could not be read");
            errors
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// Input that parsed but breaks a rule on a field (→ 422 with the field map).
    #[error("invalid fields")]
    Invalid(FieldErrors),
    /// The state of the certification forbids the command (→ 409). `code` is stable for clients.
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// The thing addressed does not exist in this certification (→ 404).
    #[error("{0} not found")]
    NotFound(&'static str),
}

impl DomainError {
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        DomainError::Conflict {
            code,
            message: message.into(),
        }
    }
}
