//! The clock is injected: the domain never reads the system time itself.

use chrono::{DateTime, NaiveDate, Utc};
use std::fmt::Debug;

pub trait Clock: Send + Sync + Debug {
    fn now(&self) -> DateTime<Utc>;

    /// Today's date. The programme's dates are calendar dates in UTC.
    fn today(&self) -> NaiveDate {
        self.now().date_naive()
    }
}

/// The real clock, for production and the local server.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock stuck at one instant, for tests.
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub DateTime<Utc>);

impl FixedClock {
    /// Noon UTC on the given date.
    pub fn on(date: NaiveDate) -> Self {
        FixedClock(date.and_hms_opt(12, 0, 0).unwrap_or_default().and_utc())
    }
}

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }
}
