//! Extractors whose rejections are problem+json: malformed JSON is 400, a JSON value of the wrong
//! shape (missing, unknown or mistyped field) is 422 with the field's path, a body over the limit
//! is 413, a body that is not JSON is 415.

use crate::error::ApiError;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{StatusCode, header};
use recert_domain::FieldErrors;
use serde::de::DeserializeOwned;

/// The largest request body any endpoint accepts.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A JSON request body, strictly parsed.
#[derive(Debug, Clone)]
pub struct Json<T>(pub T);

/// The media type of a `Content-Type` value, lower-cased, without its parameters.
pub fn media_type(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

fn is_json(content_type: &str) -> bool {
    let mime = media_type(content_type);
    mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
}

/// Parse `bytes` as `T`, classifying failures as 400 (not JSON) or 422 (wrong shape).
///
/// A number with a zero fraction (`4.0`, `1e2`) is the integer it equals, as in JSON Schema
/// (where `4.0` is an `integer`): the spec's integer fields take it.
///
/// Every request body is a JSON object: an array is refused (422) before serde, which would read
/// a struct from an array of its fields in order.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        let mut errors = FieldErrors::default();
        errors.add("body", "must be a JSON object");
        return Err(ApiError::Unprocessable(errors));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let err = match serde_path_to_error::deserialize::<_, T>(&mut de) {
        Ok(value) => {
            de.end().map_err(|_| trailing_characters())?;
            return Ok(value);
        }
        Err(e) => e,
    };
    if err.inner().classify() == serde_json::error::Category::Data
        && !err.inner().to_string().starts_with("duplicate field")
        && serde_json::from_slice::<NoDuplicateKeys>(bytes).is_ok()
        && let Ok(mut value) = serde_json::from_slice::<serde_json::Value>(bytes)
        && whole_numbers_as_integers(&mut value)
        && let Ok(parsed) = serde_path_to_error::deserialize::<_, T>(value)
    {
        return Ok(parsed);
    }
    Err(rejection(err))
}

/// Any JSON value whose objects have no key twice (a `serde_json::Value` keeps the last silently,
/// where a struct refuses a duplicate field).
struct NoDuplicateKeys;

impl<'de> serde::Deserialize<'de> for NoDuplicateKeys {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = NoDuplicateKeys;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(NoDuplicateKeys)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
                Ok(NoDuplicateKeys)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
                Ok(NoDuplicateKeys)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
                Ok(NoDuplicateKeys)
            }
            fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
                Ok(NoDuplicateKeys)
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(NoDuplicateKeys)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Self::Value, A::Error> {
                while seq.next_element::<NoDuplicateKeys>()?.is_some() {}
                Ok(NoDuplicateKeys)
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                let mut seen = std::collections::HashSet::new();
                while let Some(key) = map.next_key::<String>()? {
                    if !seen.insert(key) {
                        return Err(serde::de::Error::custom("duplicate key"));
                    }
                    map.next_value::<NoDuplicateKeys>()?;
                }
                Ok(NoDuplicateKeys)
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// Replace every number with a zero fraction by the integer it equals; whether any was.
fn whole_numbers_as_integers(value: &mut serde_json::Value) -> bool {
    match value {
        serde_json::Value::Number(n) if n.is_f64() => {
            let Some(f) = n.as_f64() else { return false };
            // Within ±2^53 a whole f64 is an exact integer.
            const EXACT: f64 = 9_007_199_254_740_992.0;
            if f.fract() == 0.0 && f.abs() <= EXACT {
                // Exact by the bound above.
                #[allow(clippy::cast_possible_truncation)]
                let i = f as i64;
                *value = serde_json::Value::from(i);
                true
            } else {
                false
            }
        }
        // Every element is visited (no short circuit): count the changed ones.
        serde_json::Value::Array(items) => {
            items
                .iter_mut()
                .map(whole_numbers_as_integers)
                .filter(|changed| *changed)
                .count()
                > 0
        }
        serde_json::Value::Object(map) => {
            map.values_mut()
                .map(whole_numbers_as_integers)
                .filter(|changed| *changed)
                .count()
                > 0
        }
        _ => false,
    }
}

fn trailing_characters() -> ApiError {
    ApiError::bad_request(
        "malformed_json",
        "the body has trailing characters after the JSON value",
    )
}

fn rejection(e: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let path = e.path().to_string();
    let inner = e.into_inner();
    match inner.classify() {
        serde_json::error::Category::Data => {
            let mut errors = FieldErrors::default();
            let message = strip_position(&inner.to_string());
            let field = if path == "." {
                String::new()
            } else {
                path.replace('.', "/")
            };
            let (field, message) = unknown_field(&field, &message).unwrap_or((field, message));
            errors.add(
                if field.is_empty() {
                    "body".to_string()
                } else {
                    field
                },
                message,
            );
            ApiError::Unprocessable(errors)
        }
        _ => ApiError::bad_request(
            "malformed_json",
            format!(
                "the body is not valid JSON: {}",
                strip_position(&inner.to_string())
            ),
        ),
    }
}

/// serde says "unknown field `x`, expected ..." or "missing field `x`"; report it on the field
/// itself, briefly.
fn unknown_field(path: &str, message: &str) -> Option<(String, String)> {
    let (rest, said) = if let Some(r) = message.strip_prefix("unknown field `") {
        (r, "unknown field")
    } else {
        (message.strip_prefix("missing field `")?, "is required")
    };
    let name = rest.split('`').next()?;
    let field = if path == name || path.ends_with(&format!("/{name}")) {
        path.to_string()
    } else if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}/{name}")
    };
    Some((field, said.to_string()))
}

fn strip_position(message: &str) -> String {
    match message.find(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !is_json(content_type) {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e: BytesRejection| {
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::PayloadTooLarge
                } else {
                    ApiError::bad_request("unreadable_body", "the request body could not be read")
                }
            })?;
        parse_json(&bytes).map(Json)
    }
}

/// A request body of at most `limit` bytes, for a route that takes more (or less) than the shared
/// limit: the route's handler says how much it reads, so the route is declared in one place.
/// Longer is a 413 problem.
pub async fn body_up_to(body: axum::body::Body, limit: usize) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(body, limit).await.map_err(|e| {
        let too_long = std::error::Error::source(&e)
            .is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
        if too_long {
            ApiError::PayloadTooLarge
        } else {
            ApiError::bad_request("unreadable_body", "the request body could not be read")
        }
    })
}

/// Path parameters; an unparsable id is a 400 problem.
#[derive(Debug, Clone)]
pub struct Path<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| Path(p.0))
            .map_err(|e: PathRejection| ApiError::bad_request("invalid_path", e.body_text()))
    }
}

/// Query parameters; unknown or mistyped parameters are a 400 problem.
#[derive(Debug, Clone)]
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Query(q.0))
            .map_err(|e: QueryRejection| ApiError::bad_request("invalid_query", e.body_text()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        hours: u32,
        inner: Option<Inner>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        name: String,
    }

    fn fields(e: ApiError) -> Vec<String> {
        match e {
            ApiError::Unprocessable(f) => f.0.keys().cloned().collect(),
            other => panic!("expected 422, got {other:?}"),
        }
    }

    #[test]
    fn malformed_json_is_a_bad_request() {
        assert!(matches!(
            parse_json::<Body>(b"{\"hours\": "),
            Err(ApiError::BadRequest { .. })
        ));
        assert!(matches!(
            parse_json::<Body>(b"{\"hours\": 1} x"),
            Err(ApiError::BadRequest { .. })
        ));
    }

    #[test]
    fn wrong_type_names_the_field() {
        assert_eq!(
            fields(
                parse_json::<Body>(b"{\"hours\": -1}")
                    .err()
                    .unwrap_or(ApiError::Forbidden)
            ),
            ["hours"]
        );
    }

    #[test]
    fn unknown_fields_are_rejected_by_name_even_nested() {
        assert_eq!(
            fields(
                parse_json::<Body>(b"{\"hours\": 1, \"oops\": 2}")
                    .err()
                    .unwrap_or(ApiError::Forbidden)
            ),
            ["oops"]
        );
        let nested = parse_json::<Body>(b"{\"hours\": 1, \"inner\": {\"name\": \"a\", \"x\": 1}}");
        assert_eq!(
            fields(nested.err().unwrap_or(ApiError::Forbidden)),
            ["inner/x"]
        );
    }

    #[test]
    fn a_missing_field_is_reported() {
        let e = parse_json::<Body>(b"{}")
            .err()
            .unwrap_or(ApiError::Forbidden);
        assert_eq!(fields(e), ["hours"]);
    }

    #[test]
    fn a_whole_number_is_an_integer_as_in_json_schema() {
        assert!(matches!(
            parse_json::<Body>(b"{\"hours\": 4.0}"),
            Ok(Body { hours: 4, .. })
        ));
        assert!(matches!(
            parse_json::<Body>(b"{\"hours\": 1e2}"),
            Ok(Body { hours: 100, .. })
        ));
        for refused in [&b"{\"hours\": 4.5}"[..], b"{\"hours\": -1.0}"] {
            assert_eq!(
                fields(
                    parse_json::<Body>(refused)
                        .err()
                        .unwrap_or(ApiError::Forbidden)
                ),
                ["hours"]
            );
        }
        // A duplicate field stays refused, whatever else the body holds.
        assert_eq!(
            fields(
                parse_json::<Body>(b"{\"hours\": 1.0, \"hours\": 2}")
                    .err()
                    .unwrap_or(ApiError::Forbidden)
            ),
            ["hours"]
        );
    }

    #[test]
    fn an_array_is_not_an_object() {
        assert_eq!(
            fields(
                parse_json::<Body>(b" [1, null]")
                    .err()
                    .unwrap_or(ApiError::Forbidden)
            ),
            ["body"]
        );
    }
}
