//! Floor 1, the vocabulary: the words every rule is written in. Typed ids, [`email::Email`],
//! [`hours::Hours`], credentials, provider categories and membership status, date arithmetic, the
//! actors who act, the clock, free text, and the errors a rule answers with. Imports nothing else
//! of the domain.

pub mod actor;
pub mod clock;
pub mod credential;
pub mod dates;
pub mod email;
pub mod error;
pub mod hours;
pub mod ids;
pub mod text;
