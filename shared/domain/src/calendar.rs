//! Calendar rules: cycles, the renewal window, the waiver cutoff. Month arithmetic clamps to month
//! ends (expiration 31 Aug → the window opens 28/29 Feb).

use crate::rules::Deadlines;
use crate::vocabulary::dates::add_months;
use chrono::NaiveDate;
use serde::Serialize;

/// One certification cycle: the days whose completed hours count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Cycle {
    /// The day after the previous expiration, or the initial certification date.
    pub starts_on: NaiveDate,
    /// The expiration date the cycle ends on.
    pub expires_on: NaiveDate,
    /// A granted extension: moves the closing date and the counting end, never the hours required.
    pub extended_to: Option<NaiveDate>,
}

impl Cycle {
    /// The last day whose completed hours count.
    pub fn counting_ends_on(&self) -> NaiveDate {
        self.extended_to
            .map_or(self.expires_on, |e| e.max(self.expires_on))
    }

    pub fn counts(&self, completed_on: NaiveDate) -> bool {
        self.starts_on <= completed_on && completed_on <= self.counting_ends_on()
    }

    pub fn window(&self, deadlines: &Deadlines) -> RenewalWindow {
        RenewalWindow {
            opens_on: add_months(
                self.expires_on,
                -(deadlines.window_opens_months_before_expiration as i32),
            ),
            closes_on: self.counting_ends_on(),
        }
    }

    /// The last day a waiver or extension request may arrive.
    pub fn waiver_request_cutoff(&self, deadlines: &Deadlines) -> NaiveDate {
        add_months(
            self.expires_on,
            -(deadlines.waiver_request_cutoff_months_before_expiration as i32),
        )
    }

    /// The next expiration after a renewal: one cycle length from the old expiration date.
    pub fn next_expiration(&self, cycle_years: u32) -> NaiveDate {
        add_months(self.expires_on, (cycle_years * 12) as i32)
    }
}

/// Where today stands against the renewal window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WindowState {
    NotYetOpen,
    Open,
    Closed,
}

/// Submissions are taken from `opens_on` through the end of `closes_on` (inclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RenewalWindow {
    pub opens_on: NaiveDate,
    pub closes_on: NaiveDate,
}

impl RenewalWindow {
    pub fn state_on(&self, today: NaiveDate) -> WindowState {
        if today < self.opens_on {
            WindowState::NotYetOpen
        } else if today <= self.closes_on {
            WindowState::Open
        } else {
            WindowState::Closed
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::RuleBook;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap_or_default()
    }

    fn deadlines() -> Deadlines {
        RuleBook::default_rules()
            .for_cycle_starting(d(2024, 1, 1))
            .deadlines
    }

    fn cycle(expires_on: NaiveDate) -> Cycle {
        Cycle {
            starts_on: d(2023, 9, 1),
            expires_on,
            extended_to: None,
        }
    }

    #[test]
    fn window_for_31_august_opens_on_the_last_day_of_february() {
        assert_eq!(
            cycle(d(2026, 8, 31)).window(&deadlines()).opens_on,
            d(2026, 2, 28)
        );
        assert_eq!(
            cycle(d(2028, 8, 31)).window(&deadlines()).opens_on,
            d(2028, 2, 29)
        );
    }

    #[test]
    fn window_is_open_from_its_first_day_through_the_end_of_expiration_day() {
        let w = cycle(d(2026, 8, 31)).window(&deadlines());
        assert_eq!(w.state_on(d(2026, 2, 27)), WindowState::NotYetOpen);
        assert_eq!(w.state_on(d(2026, 2, 28)), WindowState::Open);
        assert_eq!(w.state_on(d(2026, 8, 31)), WindowState::Open);
        assert_eq!(w.state_on(d(2026, 9, 1)), WindowState::Closed);
    }

    #[test]
    fn waiver_cutoff_is_three_months_before_expiration_clamped() {
        assert_eq!(
            cycle(d(2026, 5, 31)).waiver_request_cutoff(&deadlines()),
            d(2026, 2, 28)
        );
        assert_eq!(
            cycle(d(2026, 8, 31)).waiver_request_cutoff(&deadlines()),
            d(2026, 5, 31)
        );
    }

    #[test]
    fn hours_count_from_cycle_start_through_expiration_not_the_day_before() {
        let c = Cycle {
            starts_on: d(2023, 9, 1),
            expires_on: d(2026, 8, 31),
            extended_to: None,
        };
        assert!(!c.counts(d(2023, 8, 31)));
        assert!(c.counts(d(2023, 9, 1)));
        assert!(c.counts(d(2026, 8, 31)));
        assert!(!c.counts(d(2026, 9, 1)));
    }

    #[test]
    fn an_extension_moves_the_closing_date_and_the_counting_end() {
        let c = Cycle {
            starts_on: d(2023, 9, 1),
            expires_on: d(2026, 8, 31),
            extended_to: Some(d(2026, 11, 30)),
        };
        assert!(c.counts(d(2026, 11, 30)));
        assert_eq!(c.window(&deadlines()).closes_on, d(2026, 11, 30));
        assert_eq!(c.window(&deadlines()).opens_on, d(2026, 2, 28));
    }

    #[test]
    fn renewal_moves_expiration_one_cycle_from_the_old_expiration() {
        assert_eq!(cycle(d(2026, 8, 31)).next_expiration(3), d(2029, 8, 31));
        assert_eq!(cycle(d(2028, 2, 29)).next_expiration(2), d(2030, 2, 28));
    }

    #[test]
    fn add_months_clamps_and_goes_both_ways() {
        assert_eq!(add_months(d(2026, 1, 31), 1), d(2026, 2, 28));
        assert_eq!(add_months(d(2026, 3, 31), -1), d(2026, 2, 28));
        assert_eq!(add_months(d(2024, 3, 31), -1), d(2024, 2, 29));
        assert_eq!(add_months(d(2026, 8, 31), -6), d(2026, 2, 28));
    }
}
