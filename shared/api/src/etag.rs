//! Optimistic concurrency for clients: resources carry a strong `ETag`, and a write may name the
//! version it was made against in `If-Match` (RFC 9110 §13.1.1): a mismatch is a 412, so two
//! clients editing one entry cannot silently overwrite each other. `If-Match` stays optional (no
//! 428): a client that sends none keeps last-writer-wins on the fields it sends.

use crate::error::ApiError;
use axum::http::HeaderMap;
use sha2::{Digest, Sha256};

/// The strong entity tag of a representation: its JSON's SHA-256, quoted.
pub fn etag_of(value: &impl serde::Serialize) -> String {
    let digest = Sha256::digest(serde_json::to_vec(value).unwrap_or_default());
    let hex = hex::encode(&digest[..16]);
    format!("\"{hex}\"")
}

/// A request's `If-Match`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IfMatch {
    /// `*`: any current version.
    Any,
    /// One of these strong tags (weak ones never match, as RFC 9110 requires for If-Match).
    Tags(Vec<String>),
}

impl IfMatch {
    /// The header, if sent; a malformed one is a 400.
    pub fn from_headers(headers: &HeaderMap) -> Result<Option<IfMatch>, ApiError> {
        let Some(value) = headers.get("if-match") else {
            return Ok(None);
        };
        let bad = || {
            ApiError::bad_request(
                "invalid_if_match",
                "If-Match must be * or a list of quoted entity tags",
            )
        };
        let text = value.to_str().map_err(|_| bad())?.trim();
        if text == "*" {
            return Ok(Some(IfMatch::Any));
        }
        let tags: Vec<String> = text
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect();
        let well_formed = |t: &String| {
            let t = t.strip_prefix("W/").unwrap_or(t);
            t.len() >= 2 && t.starts_with('"') && t.ends_with('"')
        };
        if tags.is_empty() || !tags.iter().all(well_formed) {
            return Err(bad());
        }
        Ok(Some(IfMatch::Tags(tags)))
    }

    /// Whether the current representation's tag satisfies it.
    pub fn matches(&self, current: &str) -> bool {
        match self {
            IfMatch::Any => true,
            IfMatch::Tags(tags) => tags.iter().any(|t| t == current),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn headers(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("if-match", v.parse().unwrap());
        h
    }

    #[test]
    fn strong_tags_match_weak_ones_never_and_star_always() {
        let tag = etag_of(&serde_json::json!({"a": 1}));
        assert!(
            IfMatch::from_headers(&headers(&tag))
                .unwrap()
                .unwrap()
                .matches(&tag)
        );
        let weak = format!("W/{tag}");
        assert!(
            !IfMatch::from_headers(&headers(&weak))
                .unwrap()
                .unwrap()
                .matches(&tag)
        );
        assert!(
            IfMatch::from_headers(&headers("*"))
                .unwrap()
                .unwrap()
                .matches(&tag)
        );
        let list = format!("\"other\", {tag}");
        assert!(
            IfMatch::from_headers(&headers(&list))
                .unwrap()
                .unwrap()
                .matches(&tag)
        );
        assert!(IfMatch::from_headers(&headers("not-quoted")).is_err());
        assert_eq!(IfMatch::from_headers(&HeaderMap::new()).unwrap(), None);
    }

    #[test]
    fn the_tag_follows_the_content() {
        assert_ne!(
            etag_of(&serde_json::json!({"a": 1})),
            etag_of(&serde_json::json!({"a": 2}))
        );
    }
}
