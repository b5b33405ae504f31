//! Identifiers. UUIDv7 (time-ordered) so sort keys cluster by creation time.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(transparent)]
        #[schema(value_type = String, format = Uuid)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A new time-ordered id. `at_millis` comes from the injected clock.
            pub fn new_v7(at_millis: u64) -> Self {
                let ts = uuid::Timestamp::from_unix(uuid::NoContext, at_millis / 1000, ((at_millis % 1000) * 1_000_000) as u32);
                Self(Uuid::new_v7(ts))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

id_type!(
    /// A person who holds (or held) a credential.
    CertificantId
);
id_type!(
    /// One credential held by one certificant, with its cycles.
    CertificationId
);
id_type!(
    /// One continuing-education entry on a transcript.
    EntryId
);
