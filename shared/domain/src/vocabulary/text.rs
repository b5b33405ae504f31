//! One rule for free text a person types (titles, names, addresses, reasons): trimmed, within a
//! length, no control characters, no bidirectional overrides or isolates (which make text display
//! as something it is not), and not made of invisible characters only.

use crate::vocabulary::error::FieldErrors;

/// Characters that reorder how text displays (Trojan-source style spoofing).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// Characters that display as nothing.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{00AD}'
    )
}

/// The reason `value` (already trimmed) is not acceptable text, if any.
pub fn problem(value: &str, max_chars: usize) -> Option<String> {
    if value.chars().all(|c| c.is_whitespace() || is_invisible(c)) {
        Some("must not be blank".into())
    } else if value.chars().count() > max_chars {
        Some(format!("must be at most {max_chars} characters"))
    } else if value.chars().any(char::is_control) {
        Some("must not contain control characters".into())
    } else if value.chars().any(is_bidi_control) {
        Some("must not contain bidirectional override characters".into())
    } else {
        None
    }
}

/// `value` trimmed; its problem, if any, added to `errors` under `field`.
pub fn check(errors: &mut FieldErrors, field: &str, value: &str, max_chars: usize) -> String {
    let trimmed = value.trim();
    if let Some(p) = problem(trimmed, max_chars) {
        errors.add(field, p);
    }
    trimmed.to_string()
}

/// An evidence reference is an upload key (`uploads/…`) or an https link; any other scheme
/// (`http:`, `javascript:`, `data:`…) is refused.
pub fn link_problem(reference: &str) -> Option<&'static str> {
    let scheme_end = reference.find(':');
    let path_start = reference.find('/');
    match scheme_end {
        Some(colon) if path_start.is_none_or(|slash| colon < slash) => {
            (!reference.to_ascii_lowercase().starts_with("https://"))
                .then_some("a link must be https")
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bidi_overrides_and_invisible_only_text_are_refused() {
        assert!(problem("\u{202E}\u{200B}", 200).is_some());
        assert!(problem("\u{200B}\u{200D}", 200).is_some());
        assert!(problem("Ethics \u{202E}txt.exe", 200).is_some());
        assert!(problem("Ethics in health IT", 200).is_none());
        assert!(problem("Éthique et TI — Québec", 200).is_none());
    }

    #[test]
    fn evidence_links_are_https_or_upload_keys() {
        assert_eq!(link_problem("uploads/2026/cert.pdf"), None);
        assert_eq!(link_problem("https://example.org/cert.pdf"), None);
        assert!(link_problem("http://example.org/cert.pdf").is_some());
        assert!(link_problem("javascript:alert(1)").is_some());
        assert!(link_problem("data:text/html,hi").is_some());
    }
}
