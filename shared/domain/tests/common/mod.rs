//! Calendar fixtures shared by the eligibility test binaries.

use chrono::NaiveDate;
use recert_domain::Cycle;

pub(crate) fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap_or_else(|| panic!("bad date {y}-{m}-{day}"))
}

/// The cycle every eligibility test judges: 1 Sep 2023 through 31 Aug 2026.
pub(crate) fn cycle() -> Cycle {
    Cycle {
        starts_on: d(2023, 9, 1),
        expires_on: d(2026, 8, 31),
        extended_to: None,
    }
}
