//! Header text: the `Name <address>` form (RFC 5322 phrase, quoted string, or RFC 2047 encoded
//! words for non-ASCII names), encoded words for unstructured headers and their decoding, and the
//! redaction of provider messages. The address itself is a `recert_domain::Email`: parsed once,
//! with the rule enrolment uses.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

/// Raw bytes per encoded word: 45 bytes are 60 base64 characters, and with `=?UTF-8?B?` and
/// `?=` the word stays within RFC 2047's 75.
const WORD_BYTES: usize = 45;

/// `text` on one line: every control character (CR and LF included) and run of whitespace
/// becomes one space, and the ends are trimmed. Keeps header injection out of every header.
pub(crate) fn one_line(text: &str) -> String {
    text.split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

fn is_atext(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c)
}

/// RFC 2047 `B` encoded words of `text` (UTF-8), each at most 75 characters, split on character
/// boundaries.
pub(crate) fn encoded_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut start = 0;
    let mut end = 0;
    for (i, c) in text.char_indices() {
        let next = i + c.len_utf8();
        if next - start > WORD_BYTES && end > start {
            words.push(encoded_word(&text[start..end]));
            start = end;
        }
        end = next;
    }
    if end > start {
        words.push(encoded_word(&text[start..end]));
    }
    words
}

fn encoded_word(chunk: &str) -> String {
    format!("=?UTF-8?B?{}?=", B64.encode(chunk.as_bytes()))
}

/// An unstructured header value (a subject): as it is when printable ASCII, else encoded words
/// separated by spaces. Always one line.
#[cfg(any(feature = "mailbox", test))]
pub(crate) fn header_text(text: &str) -> String {
    let text = one_line(text);
    if text.is_ascii() && !text.contains("=?") {
        text
    } else {
        encoded_words(&text).join(" ")
    }
}

/// `name <address>` for a `To`/`From` header or SES's destination: the name as it is when it is
/// a plain phrase, quoted when it has specials, RFC 2047 encoded when it is not ASCII; the bare
/// address when the name is blank. The address is a parsed `recert_domain::Email`.
pub(crate) fn mailbox(name: &str, address: &str) -> String {
    let name = one_line(name);
    if name.is_empty() {
        return address.to_owned();
    }
    let phrase = if !name.is_ascii() {
        encoded_words(&name).join(" ")
    } else if name.chars().all(|c| c == ' ' || is_atext(c)) && !name.contains("=?") {
        name
    } else {
        let mut quoted = String::with_capacity(name.len() + 2);
        quoted.push('"');
        for c in name.chars() {
            if c == '"' || c == '\\' {
                quoted.push('\\');
            }
            quoted.push(c);
        }
        quoted.push('"');
        quoted
    };
    format!("{phrase} <{address}>")
}

/// Decodes the encoded words this crate writes (`=?UTF-8?B?...?=`, whitespace between two of them
/// dropped) in an unfolded header value; anything else is kept as it is.
#[cfg(any(feature = "mailbox", test))]
pub(crate) fn decode_header(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut previous_encoded = false;
    for (i, token) in value.split(' ').enumerate() {
        match decode_word(token) {
            Some(decoded) => {
                if i > 0 && !previous_encoded {
                    out.push(' ');
                }
                out.push_str(&decoded);
                previous_encoded = true;
            }
            None => {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(token);
                previous_encoded = false;
            }
        }
    }
    out
}

#[cfg(any(feature = "mailbox", test))]
fn decode_word(token: &str) -> Option<String> {
    let inner = token.strip_prefix("=?")?.strip_suffix("?=")?;
    let mut parts = inner.splitn(3, '?');
    let charset = parts.next()?;
    let encoding = parts.next()?;
    let data = parts.next()?;
    if !charset.eq_ignore_ascii_case("utf-8") || !encoding.eq_ignore_ascii_case("b") {
        return None;
    }
    String::from_utf8(B64.decode(data).ok()?).ok()
}

/// A provider's error message without personal data: every word holding an `@` becomes
/// `<address>`, on one line, at most 200 characters.
pub(crate) fn redact(message: &str) -> String {
    let redacted = one_line(message)
        .split(' ')
        .map(|w| if w.contains('@') { "<address>" } else { w })
        .collect::<Vec<_>>()
        .join(" ");
    match redacted.char_indices().nth(200) {
        Some((i, _)) => format!("{}…", &redacted[..i]),
        None => redacted,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn plain_names_stay_readable() {
        assert_eq!(
            mailbox("Ada Lovelace", "ada@example.org"),
            "Ada Lovelace <ada@example.org>"
        );
        assert_eq!(mailbox("  ", "ada@example.org"), "ada@example.org");
    }

    #[test]
    fn specials_are_quoted_and_escaped() {
        assert_eq!(
            mailbox("Lovelace, Ada \"The\" Countess", "ada@example.org"),
            "\"Lovelace, Ada \\\"The\\\" Countess\" <ada@example.org>"
        );
        assert_eq!(
            mailbox("Ada <script>", "ada@example.org"),
            "\"Ada <script>\" <ada@example.org>"
        );
    }

    #[test]
    fn non_ascii_names_are_encoded_words_that_decode_back() {
        let name = "Élodie Ñúñez-Åström 山田太郎 ".repeat(4);
        let header = mailbox(&name, "e@example.org");
        assert!(header.is_ascii(), "{header}");
        assert!(header.ends_with(" <e@example.org>"));
        for word in header.trim_end_matches(" <e@example.org>").split(' ') {
            assert!(word.len() <= 75, "{word}");
            assert!(word.starts_with("=?UTF-8?B?") && word.ends_with("?="));
        }
        assert_eq!(
            decode_header(&header),
            format!("{} <e@example.org>", one_line(&name))
        );
    }

    #[test]
    fn header_injection_is_flattened() {
        assert_eq!(
            mailbox("Ada\r\nBcc: eve@example.org", "ada@example.org"),
            "\"Ada Bcc: eve@example.org\" <ada@example.org>"
        );
        assert_eq!(header_text("Hi\r\nBcc: x"), "Hi Bcc: x");
    }

    #[test]
    fn subjects_encode_only_when_needed() {
        assert_eq!(header_text("Your CPHIMS renewal"), "Your CPHIMS renewal");
        let encoded = header_text("Renouvellement – fenêtre ouverte");
        assert!(encoded.starts_with("=?UTF-8?B?"));
        assert_eq!(decode_header(&encoded), "Renouvellement – fenêtre ouverte");
        // Literal encoded-word syntax is encoded so it reads back as written.
        assert_eq!(decode_header(&header_text("=?x?=")), "=?x?=");
    }

    #[test]
    fn redaction_removes_addresses() {
        assert_eq!(
            redact("Email address not verified Recert <no-reply@example.org>"),
            "Email address not verified Recert <address>"
        );
        assert_eq!(redact(&"x".repeat(300)).chars().count(), 201);
    }
}
