//! Calendar arithmetic on dates (no rule in it).

use chrono::{Months, NaiveDate};

/// `date` moved by `months` (negative = earlier), clamped to the end of the target month.
pub fn add_months(date: NaiveDate, months: i32) -> NaiveDate {
    let m = Months::new(months.unsigned_abs());
    let moved = if months >= 0 {
        date.checked_add_months(m)
    } else {
        date.checked_sub_months(m)
    };
    moved.unwrap_or(date)
}
