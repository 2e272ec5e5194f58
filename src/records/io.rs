//! Reading record files: JSON Lines and CSV, in the Object ID field names.
//!
//! Each line is parsed and validated on its own, so that one bad line is
//! reported with its file and line number while the rest import. Image
//! paths are resolved against the records file's folder.

use crate::records::record::{Record, RecordError, Status};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One record read from a file, or why that line was rejected.
#[derive(Debug)]
pub struct ParsedLine {
    /// 1-based line number (for CSV: the line of the row).
    pub line: usize,
    /// The record's id where one could be read, for a rejected line too,
    /// so that its error names the record.
    pub id: Option<String>,
    pub result: Result<Record, LineError>,
}

/// Why a line of a records file was rejected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LineError {
    #[error("invalid JSON: {0}")]
    Json(String),
    #[error("invalid CSV row: {0}")]
    Csv(String),
    #[error("not UTF-8 text (save the file as UTF-8): {0}")]
    Encoding(String),
    #[error(
        "field `status`: unknown value {0:?} (expected stolen, missing, recovered or disputed)"
    )]
    Status(String),
    #[error(transparent)]
    Record(#[from] RecordError),
}

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: unknown records format (expected .jsonl, .json or .csv)")]
    Format { path: PathBuf },
    #[error(
        "{path}: a JSON array; records are read as JSON Lines, one object to a line \
         (convert it with: jq -c '.[]' FILE > FILE.jsonl)"
    )]
    JsonArray { path: PathBuf },
    #[error("{path}: CSV header: {message}")]
    CsvHeader { path: PathBuf, message: String },
}

/// Reads every record of a `.jsonl` or `.csv` file.
pub fn read_records(path: &Path) -> Result<Vec<ParsedLine>, ReadError> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase())
        .unwrap_or_default();
    // Bytes, not text: one line in another encoding is that line's error,
    // not the whole file's.
    let text = std::fs::read(path).map_err(|source| ReadError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    match ext.as_str() {
        "jsonl" | "json" | "ndjson" if json_array(&text) => Err(ReadError::JsonArray {
            path: path.to_path_buf(),
        }),
        "jsonl" | "json" | "ndjson" => Ok(parse_jsonl(&text)),
        // An empty file is no records, as an empty JSONL file is.
        "csv"
            if text
                .strip_prefix("\u{feff}".as_bytes())
                .unwrap_or(&text)
                .trim_ascii()
                .is_empty() =>
        {
            Ok(Vec::new())
        }
        "csv" => parse_csv(&text).map_err(|message| ReadError::CsvHeader {
            path: path.to_path_buf(),
            message,
        }),
        _ => Err(ReadError::Format {
            path: path.to_path_buf(),
        }),
    }
}

/// Whether a JSON file holds one array rather than one object a line: read
/// line by line, its last element alone would import.
fn json_array(bytes: &[u8]) -> bool {
    let bytes = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes);
    bytes.trim_ascii_start().starts_with(b"[")
}

pub fn parse_jsonl(bytes: &[u8]) -> Vec<ParsedLine> {
    // A byte-order mark, as Windows tools write it, is not part of line 1.
    let bytes = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes);
    bytes
        .split(|&b| b == b'\n')
        .enumerate()
        .filter(|(_, l)| !l.trim_ascii().is_empty())
        .map(|(i, l)| {
            let (id, result) = match std::str::from_utf8(l) {
                // The id named all the same (ids are ASCII more often than not).
                Err(e) => (
                    id_of(&String::from_utf8_lossy(l)),
                    Err(LineError::Encoding(e.to_string())),
                ),
                Ok(l) => (id_of(l), parse_json_record(l)),
            };
            ParsedLine {
                line: i + 1,
                id,
                result,
            }
        })
        .collect()
}

/// The `id` of a JSON line, if it has one, valid or not.
fn id_of(line: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    Some(v.get("id")?.as_str()?.trim().to_string()).filter(|s| !s.is_empty())
}

/// Parses and validates one JSON record (also what the HTTP API accepts).
pub fn parse_json_record(json: &str) -> Result<Record, LineError> {
    let mut value: serde_json::Value =
        serde_json::from_str(json).map_err(|e| LineError::Json(e.to_string()))?;
    let Some(obj) = value.as_object_mut() else {
        return Err(LineError::Json(
            "a record is a JSON object, one to a line".into(),
        ));
    };
    check_field_types(obj)?;
    if let Some(text) = obj.get("status").and_then(|s| s.as_str()) {
        // Accept "Stolen", " stolen " and "" as real databases write them.
        let status = Status::parse(text).ok_or_else(|| LineError::Status(text.to_string()))?;
        obj.insert(
            "status".into(),
            serde_json::Value::String(status.as_str().into()),
        );
    }
    let rec: Record = serde_json::from_value(value).map_err(|e| LineError::Json(e.to_string()))?;
    let rec = normalise(rec);
    rec.validate()?;
    Ok(rec)
}

/// The record field `key` names but for case, blanks, hyphens,
/// underscores or a plural ("Title", "Object Type", "image"), where `key`
/// is not it exactly.
pub fn field_named_like(key: &str) -> Option<&'static str> {
    let squeezed: String = key
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '_'))
        .flat_map(char::to_lowercase)
        .collect();
    TEXT_FIELDS
        .iter()
        .chain(&["images", "status"])
        .copied()
        .find(|f| {
            let name = f.replace('_', "");
            let like = name == squeezed
                || name == format!("{squeezed}s")
                || format!("{name}s") == squeezed;
            like && *f != key
        })
}

/// The record's text fields; everything else but `images` is kept as is.
const TEXT_FIELDS: &[&str] = &[
    "id",
    "status",
    "source",
    "object_type",
    "title",
    "maker",
    "date",
    "subject",
    "materials",
    "measurements",
    "inscriptions",
    "features",
    "description",
    "theft_date",
    "theft_place",
    "country",
    "language",
];

/// Checks field types so that the error names the field (serde's own
/// message does not). Numbers in text fields (an id, a year) are taken as
/// their text, as spreadsheets export them; null is an empty field.
fn check_field_types(
    obj: &mut serde_json::Map<String, serde_json::Value>,
) -> Result<(), LineError> {
    use serde_json::Value;
    let bad = |field: &str, message: &str| {
        LineError::Record(RecordError::BadField {
            field: field.to_string(),
            message: message.to_string(),
        })
    };
    for &f in TEXT_FIELDS {
        match obj.get(f) {
            None | Some(Value::String(_)) => {}
            Some(Value::Null) => {
                obj.remove(f);
            }
            Some(Value::Number(n)) => {
                let text = n.to_string();
                obj.insert(f.to_string(), Value::String(text));
            }
            Some(_) => return Err(bad(f, "expected text")),
        }
    }
    match obj.get("images") {
        None | Some(Value::Null) => {
            obj.remove("images");
        }
        Some(Value::Array(items)) => {
            if let Some(i) = items.iter().position(|v| !v.is_string()) {
                return Err(bad(&format!("images[{i}]"), "expected a path (text)"));
            }
        }
        Some(Value::String(_)) => {
            return Err(bad("images", "expected a list of paths, found one text"));
        }
        Some(_) => return Err(bad("images", "expected a list of paths")),
    }
    Ok(())
}

fn normalise(mut rec: Record) -> Record {
    rec.id = rec.id.trim().to_string();
    rec.object_type = rec.object_type.trim().to_ascii_lowercase();
    // "en-GB", "pt_BR": the language, without its region.
    rec.language = rec
        .language
        .trim()
        .split(['-', '_'])
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    rec
}

/// CSV: a header row of field names; `images` holds paths separated by `;`.
pub fn parse_csv(bytes: &[u8]) -> Result<Vec<ParsedLine>, String> {
    // Rows as bytes, checked here: a row in another encoding or with a
    // field too many is that row's error, its id named all the same.
    let mut rdr = csv::ReaderBuilder::new().flexible(true).from_reader(bytes);
    let headers = rdr.headers().map_err(|e| e.to_string())?.clone();
    let Some(id_column) = headers.iter().position(|h| h.trim() == "id") else {
        return Err("no `id` column".into());
    };
    let mut out = Vec::new();
    for row in rdr.byte_records() {
        let (line, id, result) = match row {
            Err(e) => (
                e.position().map(|p| p.line() as usize).unwrap_or(0),
                None,
                Err(LineError::Csv(e.to_string())),
            ),
            Ok(row) => {
                let line = row.position().map(|p| p.line() as usize).unwrap_or(0);
                let id = row
                    .get(id_column)
                    .map(|b| String::from_utf8_lossy(b).trim().to_string())
                    .filter(|s| !s.is_empty());
                let result = if row.len() != headers.len() {
                    Err(LineError::Csv(format!(
                        "{} fields where the header has {}",
                        row.len(),
                        headers.len()
                    )))
                } else {
                    match csv::StringRecord::from_byte_record(row) {
                        Ok(row) => csv_record(&headers, &row),
                        Err(e) => {
                            let field = e.utf8_error().field();
                            let name = headers.get(field).unwrap_or("?").trim();
                            Err(LineError::Encoding(format!("in the field `{name}`")))
                        }
                    }
                };
                (line, id, result)
            }
        };
        out.push(ParsedLine { line, id, result });
    }
    Ok(out)
}

fn csv_record(headers: &csv::StringRecord, row: &csv::StringRecord) -> Result<Record, LineError> {
    let mut obj = BTreeMap::new();
    for (h, v) in headers.iter().zip(row.iter()) {
        let h = h.trim();
        let value = if h == "images" {
            serde_json::Value::Array(
                v.split(';')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|s| serde_json::Value::String(s.into()))
                    .collect(),
            )
        } else {
            serde_json::Value::String(v.to_string())
        };
        obj.insert(h.to_string(), value);
    }
    parse_json_record(&serde_json::to_string(&obj).expect("strings serialise"))
}

/// Resolves a record's image path against the folder of its records file.
pub fn resolve_image(records_file: &Path, image: &str) -> PathBuf {
    let p = Path::new(image);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        records_file.parent().unwrap_or(Path::new(".")).join(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jsonl_lines_fail_alone() {
        let lines = parse_jsonl(
            b"{\"id\":\"a\"}\n\nnot json\n{\"title\":\"no id\"}\n{\"id\":\"b\",\"status\":\"lost\"}\n{\"id\":7}\n",
        );
        let summary: Vec<(usize, bool)> =
            lines.iter().map(|l| (l.line, l.result.is_ok())).collect();
        assert_eq!(
            summary,
            vec![(1, true), (3, false), (4, false), (5, false), (6, true)]
        );
        assert!(matches!(
            lines[2].result,
            Err(LineError::Record(RecordError::MissingId))
        ));
        assert!(matches!(lines[3].result, Err(LineError::Status(_))));
        assert_eq!(lines[4].result.as_ref().unwrap().id, "7");
        // A rejected line still names its record where it has an id.
        assert_eq!(lines[3].id.as_deref(), Some("b"));
    }

    #[test]
    fn a_line_in_another_encoding_fails_alone_and_a_bom_is_no_part_of_line_one() {
        let mut file = "\u{feff}{\"id\":\"a\"}\n".as_bytes().to_vec();
        file.extend(b"{\"id\":\"b\",\"title\":\"Caf\xe9\"}\n{\"id\":\"c\"}\n");
        let lines = parse_jsonl(&file);
        let ok: Vec<bool> = lines.iter().map(|l| l.result.is_ok()).collect();
        assert_eq!(ok, [true, false, true]);
        assert!(matches!(lines[1].result, Err(LineError::Encoding(_))));
        let mut csv = b"id,title\na,Vase\nb,Caf".to_vec();
        csv.extend(b"\xe9\nc,Bowl\n");
        let rows = parse_csv(&csv).unwrap();
        let ok: Vec<(usize, bool)> = rows.iter().map(|l| (l.line, l.result.is_ok())).collect();
        assert_eq!(ok, [(2, true), (3, false), (4, true)]);
        assert!(matches!(rows[1].result, Err(LineError::Encoding(_))));
    }

    #[test]
    fn wrong_types_name_the_field() {
        let err = parse_json_record(r#"{"id":"a","title":{"x":1}}"#).unwrap_err();
        assert!(err.to_string().contains("`title`"), "{err}");
        let err = parse_json_record(r#"{"id":"a","images":["a.jpg", 3]}"#).unwrap_err();
        assert!(err.to_string().contains("`images[1]`"), "{err}");
        let ok = parse_json_record(r#"{"id":"a","date":1832,"maker":null}"#).unwrap();
        assert_eq!(ok.date, "1832");
    }

    #[test]
    fn csv_images_split_on_semicolons() {
        let lines =
            parse_csv(b"id,title,images,status\nx,Vase,a.jpg; b.png,Recovered\ny,,,\n").unwrap();
        let x = lines[0].result.as_ref().unwrap();
        assert_eq!(x.images, vec!["a.jpg", "b.png"]);
        assert_eq!(x.status, Status::Recovered);
        assert_eq!(lines[0].line, 2);
        assert!(lines[1].result.as_ref().unwrap().images.is_empty());
    }
}
