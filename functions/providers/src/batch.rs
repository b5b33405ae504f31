//! A batch body, JSON or CSV, read into rows that each stand alone: a row that cannot be read is
//! reported with its reason, never fails the others. What fails the whole batch (400/413/415/422)
//! is only what makes every row unreadable: not JSON or CSV, more than [`MAX_BATCH_ROWS`] rows,
//! a CSV header naming an unknown column or missing a required one.
//!
//! JSON: `{"completions": [{...}, ...]}`. CSV: a header row with the JSON field names, then one
//! row per completion (empty cells for absent optional fields; `true`/`false` for the flag).
//! The same rows give the same results either way.

use recert_api::ApiError;
use recert_app::providers::ParsedRow;
use recert_domain::FieldErrors;
use recert_domain::model::posting::{CompletionRow, MAX_BATCH_ROWS, RejectionCode, RowRejection};

/// The largest batch body accepted (500 rows of long titles fit several times over).
pub const MAX_BATCH_BYTES: usize = 1024 * 1024;

/// The columns a CSV batch may have, and those it must have.
const COLUMNS: [&str; 10] = [
    "completion_id",
    "certificate_number",
    "certificant_id",
    "activity_id",
    "title",
    "completed_on",
    "hours_hundredths",
    "ethics_hours_hundredths",
    "canadian_content",
    "provider_category",
];
const REQUIRED: [&str; 5] = [
    "completion_id",
    "activity_id",
    "title",
    "completed_on",
    "hours_hundredths",
];

/// The body's format, from its `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Csv,
}

impl Format {
    pub fn of(content_type: &str) -> Result<Format, ApiError> {
        match recert_api::extract::media_type(content_type).as_str() {
            "application/json" => Ok(Format::Json),
            "text/csv" => Ok(Format::Csv),
            _ => Err(ApiError::UnsupportedMediaType),
        }
    }
}

fn unreadable(message: &str) -> RowRejection {
    RowRejection::new(RejectionCode::InvalidRow, message)
}

fn too_many(rows: usize) -> ApiError {
    let mut errors = FieldErrors::default();
    errors.add(
        "completions",
        format!("{rows} rows; at most {MAX_BATCH_ROWS} in one batch"),
    );
    ApiError::Unprocessable(errors)
}

/// The rows of a batch body.
pub fn rows(format: Format, body: &[u8]) -> Result<Vec<ParsedRow>, ApiError> {
    match format {
        Format::Json => json_rows(body),
        Format::Csv => csv_rows(body),
    }
}

/// `{"completions": [...]}`: each element read on its own.
fn json_rows(body: &[u8]) -> Result<Vec<ParsedRow>, ApiError> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Batch {
        completions: Vec<serde_json::Value>,
    }
    let batch: Batch = recert_api::extract::parse_json(body)?;
    if batch.completions.len() > MAX_BATCH_ROWS {
        return Err(too_many(batch.completions.len()));
    }
    Ok(batch
        .completions
        .into_iter()
        .enumerate()
        .map(|(i, value)| {
            let completion_id = value
                .get("completion_id")
                .and_then(|v| v.as_str())
                .map(str::to_owned);
            let parsed = serde_json::from_value::<CompletionRow>(value)
                .map_err(|e| unreadable(&format!("the row cannot be read: {e}")));
            ParsedRow {
                row: i + 1,
                completion_id,
                parsed,
            }
        })
        .collect())
}

/// A header row, then one record per completion; row numbers count data rows from 1.
fn csv_rows(body: &[u8]) -> Result<Vec<ParsedRow>, ApiError> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(body);
    let headers = reader
        .headers()
        .map_err(|_| ApiError::bad_request("malformed_csv", "the CSV header row cannot be read"))?
        .clone();
    let mut errors = FieldErrors::default();
    for h in &headers {
        if !COLUMNS.contains(&h) {
            errors.add("header", format!("unknown column {h:?}"));
        }
    }
    for required in REQUIRED {
        if !headers.iter().any(|h| h == required) {
            errors.add("header", format!("missing column {required:?}"));
        }
    }
    errors.into_result().map_err(ApiError::Unprocessable)?;
    let id_column = headers.iter().position(|h| h == "completion_id");
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        if rows.len() == MAX_BATCH_ROWS {
            return Err(too_many(MAX_BATCH_ROWS + 1));
        }
        let row = i + 1;
        let (completion_id, parsed) = match record {
            Err(_) => (None, Err(unreadable("the CSV record cannot be read"))),
            Ok(record) if record.len() != headers.len() => (
                id_column.and_then(|c| record.get(c)).map(str::to_owned),
                Err(unreadable(&format!(
                    "{} fields where the header has {}",
                    record.len(),
                    headers.len()
                ))),
            ),
            Ok(record) => (
                id_column.and_then(|c| record.get(c)).map(str::to_owned),
                record
                    .deserialize::<CompletionRow>(Some(&headers))
                    .map_err(|e| unreadable(&format!("the row cannot be read: {e}"))),
            ),
        };
        rows.push(ParsedRow {
            row,
            completion_id: completion_id.filter(|id| !id.is_empty()),
            parsed,
        });
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn csv_and_json_rows_read_the_same() {
        let csv = "completion_id,certificate_number,activity_id,title,completed_on,hours_hundredths,ethics_hours_hundredths,canadian_content\n\
                   C-1,CN-1,A-1,\"Privacy, in practice\",2026-03-14,150,,true\n\
                   C-2,CN-2,A-1,Webinar,2026-03-15,200,50,\n";
        let json = r#"{"completions":[
            {"completion_id":"C-1","certificate_number":"CN-1","activity_id":"A-1","title":"Privacy, in practice","completed_on":"2026-03-14","hours_hundredths":150,"canadian_content":true},
            {"completion_id":"C-2","certificate_number":"CN-2","activity_id":"A-1","title":"Webinar","completed_on":"2026-03-15","hours_hundredths":200,"ethics_hours_hundredths":50}
        ]}"#;
        let from_csv: Vec<_> = rows(Format::Csv, csv.as_bytes())
            .unwrap()
            .into_iter()
            .map(|r| r.parsed.unwrap())
            .collect();
        let from_json: Vec<_> = rows(Format::Json, json.as_bytes())
            .unwrap()
            .into_iter()
            .map(|r| r.parsed.unwrap())
            .collect();
        assert_eq!(from_csv, from_json);
        assert_eq!(from_csv[0].canadian_content, Some(true));
        assert_eq!(from_csv[1].ethics_hours_hundredths, Some(50));
    }

    #[test]
    fn a_bad_row_is_reported_alone() {
        let csv = "completion_id,certificate_number,activity_id,title,completed_on,hours_hundredths\n\
                   C-1,CN-1,A-1,T,2026-03-14,lots\n\
                   C-2,CN-1,A-1,T,2026-03-14\n\
                   C-3,CN-1,A-1,T,2026-03-14,100\n";
        let read = rows(Format::Csv, csv.as_bytes()).unwrap();
        assert_eq!(read.len(), 3);
        assert!(read[0].parsed.is_err());
        assert_eq!(read[0].completion_id.as_deref(), Some("C-1"));
        assert!(read[1].parsed.is_err());
        assert!(read[2].parsed.is_ok());
        let json = r#"{"completions":[{"completion_id":"C-1","hours_hundredths":"x"}, 5]}"#;
        let read = rows(Format::Json, json.as_bytes()).unwrap();
        assert!(read.iter().all(|r| r.parsed.is_err()));
        assert_eq!(read[0].completion_id.as_deref(), Some("C-1"));
    }

    #[test]
    fn an_unknown_or_missing_column_fails_the_batch() {
        let unknown = "completion_id,activity_id,title,completed_on,hours_hundredths,category\n";
        assert!(matches!(
            rows(Format::Csv, unknown.as_bytes()),
            Err(ApiError::Unprocessable(_))
        ));
        let missing = "completion_id,activity_id,title,completed_on\n";
        assert!(matches!(
            rows(Format::Csv, missing.as_bytes()),
            Err(ApiError::Unprocessable(_))
        ));
    }

    #[test]
    fn more_than_500_rows_fail_the_batch() {
        let mut csv =
            String::from("completion_id,activity_id,title,completed_on,hours_hundredths\n");
        for i in 0..=MAX_BATCH_ROWS {
            csv.push_str(&format!("C-{i},A,T,2026-03-14,100\n"));
        }
        assert!(matches!(
            rows(Format::Csv, csv.as_bytes()),
            Err(ApiError::Unprocessable(_))
        ));
        assert!(matches!(
            Format::of("text/plain"),
            Err(ApiError::UnsupportedMediaType)
        ));
        assert_eq!(Format::of("text/csv; charset=utf-8").unwrap(), Format::Csv);
    }
}
