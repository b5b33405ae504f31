//! An email address, parsed once with the one rule enrolment, the provider registry and the
//! mailers share: what is accepted here can be sent to.
//!
//! Deliberately strict: a plain ASCII `local@domain`; the local part without whitespace, control
//! character or the specials an address can only hold quoted (`<>()[],;:"\`); the domain a dotted
//! host name (labels of letters, digits and inner hyphens); at most 254 characters (RFC 5321's
//! path limit). No display name, no
//! quoted local part, no internationalised address (SES wants an IDN domain in punycode). The
//! reason an address is refused never repeats it.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The longest address accepted (RFC 5321's path limit).
pub const MAX_EMAIL_CHARS: usize = 254;

/// An email address: a plain ASCII `local@domain`, the local part without space, control
/// character or `<>()[],;:"\`, the domain a dotted host name (letters, digits, inner hyphens), at
/// most 254 characters (surrounding spaces are trimmed).
// Its only constructor is `Email::parse` (deserializing parses too).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(
    value_type = String,
    example = "ada@example.org",
    max_length = 254,
    pattern = r#"^\s*[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+\s*$"#
)]
pub struct Email(String);

impl Email {
    /// `text`, trimmed, as an address; the reason it is not one otherwise.
    pub fn parse(text: &str) -> Result<Email, &'static str> {
        let address = text.trim();
        problem(address).map_or_else(|| Ok(Email(address.to_owned())), Err)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The address lower-cased: what makes two addresses one (uniqueness guards).
    pub fn folded(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

/// Why `address` is not one Recert takes, or `None`.
fn problem(address: &str) -> Option<&'static str> {
    if address.is_empty() {
        return Some("the address is empty");
    }
    if address.chars().count() > MAX_EMAIL_CHARS {
        return Some("the address is longer than 254 characters");
    }
    if !address.is_ascii() {
        return Some("the address is not ASCII (internationalised addresses are not supported)");
    }
    if address
        .chars()
        .any(|c| c.is_ascii_whitespace() || c.is_ascii_control() || "<>()[],;:\"\\".contains(c))
    {
        return Some("the address contains a character an address cannot hold");
    }
    let Some((local, domain)) = address.split_once('@') else {
        return Some("the address needs a local part, one @ and a dotted domain");
    };
    if local.is_empty() || !domain.contains('.') {
        return Some("the address needs a local part, one @ and a dotted domain");
    }
    // The domain is a host name: dotted labels of letters, digits and inner hyphens.
    let label_ok = |label: &str| {
        !label.is_empty()
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    if !domain.split('.').all(label_ok) {
        return Some(
            "the domain must be a host name: dotted labels of letters, digits and hyphens",
        );
    }
    None
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Email {
    type Error = &'static str;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        Email::parse(&text)
    }
}

impl From<Email> for String {
    fn from(email: Email) -> String {
        email.0
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn plain_addresses_parse_trimmed() {
        assert_eq!(
            Email::parse("  ada@example.org ").unwrap().as_str(),
            "ada@example.org"
        );
        assert_eq!(
            Email::parse("A.B+tag@Sub.Example.ORG").unwrap().folded(),
            "a.b+tag@sub.example.org"
        );
    }

    #[test]
    fn what_a_mailer_cannot_send_to_is_refused() {
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.org",
            "ada@example",
            "ada@@example.org",
            "a@b@example.org",
            "ada@.example.org",
            "ada@example.org.",
            "ada@example..org",
            "ada lovelace@example.org",
            "Ada <ada@example.org>",
            "\"ada\"@example.org",
            "ada@exämple.org",
            "ada@example.org\r\nBcc: x@example.org",
            "ada@example.org*",
            "ada@-example.org",
            "ada@example_x.org",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
        let long = format!("{}@example.org", "a".repeat(250));
        assert!(Email::parse(&long).is_err());
        // The reason never repeats the address.
        let reason = Email::parse("secret person@example.org").unwrap_err();
        assert!(!reason.contains("secret"));
    }

    #[test]
    fn deserializing_parses() {
        let ok: Email = serde_json::from_str("\"ada@example.org\"").unwrap();
        assert_eq!(ok.as_str(), "ada@example.org");
        assert!(serde_json::from_str::<Email>("\"ada@example..org\"").is_err());
        assert_eq!(serde_json::to_string(&ok).unwrap(), "\"ada@example.org\"");
    }

    proptest! {
        #[test]
        fn an_accepted_address_is_accepted_again_and_never_holds_a_header_break(s in "\\PC{0,40}") {
            if let Ok(email) = Email::parse(&s) {
                prop_assert_eq!(Email::parse(email.as_str()), Ok(email.clone()));
                prop_assert!(!email.as_str().contains(['\r', '\n', ' ', '<', '>']));
            }
        }
    }
}
