//! The Object ID record model and its validation.
//!
//! A [`Record`] is what a curator imports and what every index is derived
//! from. Parsing (JSONL/CSV) lives in [`crate::records::io`]; this module only
//! knows what a valid record is, so that the HTTP API and the CLI validate
//! the same way.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// Where a stolen-works record stands. Only `stolen` and `missing` objects
/// can produce a `match`; `recovered` and `disputed` ones are still shown,
/// at most as `possible` (see `scoring::Verdict::for_record`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    #[default]
    Stolen,
    Missing,
    Recovered,
    Disputed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Stolen => "stolen",
            Status::Missing => "missing",
            Status::Recovered => "recovered",
            Status::Disputed => "disputed",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        match s.trim().to_ascii_lowercase().as_str() {
            "" | "stolen" => Some(Status::Stolen),
            "missing" => Some(Status::Missing),
            "recovered" => Some(Status::Recovered),
            "disputed" => Some(Status::Disputed),
            _ => None,
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One cultural object, as the Getty/ICOM Object ID standard describes it.
///
/// Every text field defaults to empty: real databases are patchy, and a
/// record with only an id and a photo is still worth matching against.
/// Fields this model does not know (e.g. `inventory_number`) are kept in
/// `extra` and round-trip unchanged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Record {
    pub id: String,
    pub source: String,
    pub status: Status,
    pub object_type: String,
    pub title: String,
    pub maker: String,
    pub date: String,
    pub subject: String,
    pub materials: String,
    pub measurements: String,
    pub inscriptions: String,
    pub features: String,
    pub description: String,
    pub theft_date: String,
    pub theft_place: String,
    pub country: String,
    /// ISO 639-1 code of the language the record is written in (`it`,
    /// `ru`); text search stems and drops stop words by it. Empty: English.
    pub language: String,
    /// Image paths, relative to the records file they were imported from
    /// (after import: relative to the index's image store).
    pub images: Vec<String>,
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// Why a record is not acceptable; the caller adds file and line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error("field `id` is missing or empty")]
    MissingId,
    #[error("field `id` is {0} bytes long (at most 200)")]
    IdTooLong(usize),
    #[error("field `id` contains a control character or '/', or is \".\" or \"..\"")]
    IdBadChar,
    #[error("field `{field}`: {message}")]
    BadField { field: String, message: String },
}

/// The longest record id, in bytes: ids travel in URLs and file names.
pub const MAX_ID_BYTES: usize = 200;

impl Record {
    /// Checks the invariants every index relies on.
    pub fn validate(&self) -> Result<(), RecordError> {
        let id = self.id.trim();
        if id.is_empty() {
            return Err(RecordError::MissingId);
        }
        if id.len() > MAX_ID_BYTES {
            return Err(RecordError::IdTooLong(id.len()));
        }
        // "." and ".." name no record in a URL: browsers resolve them away.
        if id.chars().any(|c| c.is_control() || c == '/' || c == '\\') || id == "." || id == ".." {
            return Err(RecordError::IdBadChar);
        }
        let iso_639_1 = |l: &str| l.len() == 2 && l.bytes().all(|b| b.is_ascii_lowercase());
        if !self.language.is_empty() && !iso_639_1(&self.language) {
            return Err(RecordError::BadField {
                field: "language".into(),
                message: format!(
                    "expected a two-letter ISO 639-1 code such as \"it\", found {:?}",
                    self.language
                ),
            });
        }
        for (i, img) in self.images.iter().enumerate() {
            if img.trim().is_empty() {
                return Err(RecordError::BadField {
                    field: format!("images[{i}]"),
                    message: "empty image path".into(),
                });
            }
        }
        Ok(())
    }

    /// The text fields that full-text search covers, with their names.
    /// Whether objects of this record's type are made in multiples (struck,
    /// printed, cast): a picture that matches shows the same design, which
    /// other objects of the same run share; only the record's
    /// distinguishing features and inscriptions tell this one apart.
    pub fn made_in_multiples(&self) -> bool {
        made_in_multiples(&self.object_type)
    }

    pub fn text_fields(&self) -> [(&'static str, &str); 9] {
        [
            ("title", &self.title),
            ("maker", &self.maker),
            ("materials", &self.materials),
            ("inscriptions", &self.inscriptions),
            ("subject", &self.subject),
            ("description", &self.description),
            ("object_type", &self.object_type),
            ("features", &self.features),
            ("date", &self.date),
        ]
    }
}

/// Object types (either level of `type/subtype`) made in multiples,
/// besides [`PRINTED`].
const MULTIPLES: &[&str] = &[
    "coin",
    "coins",
    "medal",
    "medals",
    "medallion",
    "token",
    "banknote",
    "stamp",
    "seal",
    "cast",
    "casts",
    "bronze cast",
    "plaquette",
    "multiple",
];

/// Prints and photographs: made in multiples, and pictures on paper.
const PRINTED: &[&str] = &[
    "print",
    "prints",
    "etching",
    "engraving",
    "lithograph",
    "woodcut",
    "screenprint",
    "photograph",
    "photographs",
    "photo",
];

/// See [`Record::made_in_multiples`].
pub fn made_in_multiples(object_type: &str) -> bool {
    of_types(object_type, MULTIPLES) || of_types(object_type, PRINTED)
}

/// Object types (either level of `type/subtype`) that are pictures on a
/// flat ground (paper, canvas, board), besides [`PRINTED`].
const PICTURES: &[&str] = &[
    "drawing",
    "drawings",
    "watercolour",
    "watercolor",
    "painting",
    "paintings",
    "poster",
    "map",
    "manuscript",
    "page",
    "stamp",
    "banknote",
];

/// Whether a record of this type is a picture on a flat ground: its
/// paper's white is part of the picture (a drawing in a larger sheet is
/// another picture), never a backdrop it was photographed on
/// (`crate::search::backdrop`).
pub fn is_picture(object_type: &str) -> bool {
    of_types(object_type, PICTURES) || of_types(object_type, PRINTED)
}

/// Whether either level of `object_type` is one of `types`.
fn of_types(object_type: &str, types: &[&str]) -> bool {
    object_type
        .split('/')
        .map(|level| level.trim().to_ascii_lowercase())
        .any(|level| types.contains(&level.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_fields_round_trip() {
        let line = r#"{"id":"7","title":"Zebra","inventory_number":"T1","images":[]}"#;
        let r: Record = serde_json::from_str(line).unwrap();
        assert_eq!(r.extra["inventory_number"], "T1");
        assert_eq!(r.status, Status::Stolen);
        let back = serde_json::to_string(&r).unwrap();
        assert!(back.contains("inventory_number"));
    }

    #[test]
    fn empty_id_is_rejected() {
        let r = Record::default();
        assert_eq!(r.validate(), Err(RecordError::MissingId));
    }

    #[test]
    fn an_id_a_url_cannot_name_is_rejected() {
        for id in [".", "..", "a/b", "a\\b", "a\u{7}"] {
            let r = Record {
                id: id.into(),
                ..Record::default()
            };
            assert_eq!(r.validate(), Err(RecordError::IdBadChar), "{id:?}");
        }
        let r = Record {
            id: "...".into(),
            ..Record::default()
        };
        assert_eq!(r.validate(), Ok(()));
    }

    #[test]
    fn drawings_and_paintings_are_pictures_and_a_vase_is_not() {
        for t in [
            "drawing",
            "Painting",
            "print/etching",
            "photograph",
            "works on paper/watercolour",
        ] {
            assert!(is_picture(t), "{t}");
        }
        for t in ["object", "sculpture", "coin", "vase", "icon", ""] {
            assert!(!is_picture(t), "{t}");
        }
    }

    #[test]
    fn struck_printed_and_cast_objects_are_made_in_multiples() {
        for t in [
            "coin",
            "Medal",
            "print/etching",
            "sculpture/cast",
            "photograph",
        ] {
            assert!(made_in_multiples(t), "{t}");
        }
        for t in ["painting", "icon", "sculpture/bust", "manuscript", ""] {
            assert!(!made_in_multiples(t), "{t}");
        }
    }
}
