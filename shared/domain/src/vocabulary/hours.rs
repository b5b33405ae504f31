//! Hours in integer hundredths: 1 CE = 1 hour, `150` = 1.50 h. Never floats.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::iter::Sum;
use std::ops::{Add, AddAssign};

/// A non-negative number of hours kept in hundredths (`Hours(250)` is 2.50 h).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Hours(pub u32);

impl Hours {
    pub const ZERO: Hours = Hours(0);

    /// Whole hours (`Hours::from_hours(45)` is 45.00 h).
    pub const fn from_hours(h: u32) -> Self {
        Hours(h * 100)
    }

    pub const fn hundredths(self) -> u32 {
        self.0
    }

    pub const fn saturating_sub(self, other: Hours) -> Hours {
        Hours(self.0.saturating_sub(other.0))
    }

    pub fn min(self, other: Hours) -> Hours {
        Hours(self.0.min(other.0))
    }
}

impl Add for Hours {
    type Output = Hours;
    fn add(self, rhs: Hours) -> Hours {
        Hours(self.0.saturating_add(rhs.0))
    }
}

impl AddAssign for Hours {
    fn add_assign(&mut self, rhs: Hours) {
        *self = *self + rhs;
    }
}

impl Sum for Hours {
    fn sum<I: Iterator<Item = Hours>>(iter: I) -> Hours {
        iter.fold(Hours::ZERO, Add::add)
    }
}

/// `2.50 h`
impl fmt::Display for Hours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02} h", self.0 / 100, self.0 % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_hundredths_with_two_decimals() {
        assert_eq!(Hours(250).to_string(), "2.50 h");
        assert_eq!(Hours(5).to_string(), "0.05 h");
        assert_eq!(Hours::from_hours(45).to_string(), "45.00 h");
    }

    #[test]
    fn subtraction_never_goes_below_zero() {
        assert_eq!(Hours(100).saturating_sub(Hours(250)), Hours::ZERO);
    }
}
