//! A sighting: a searched photo kept with its context (a case, an online
//! listing), so that a record reported stolen *after* the object surfaced
//! can still be matched to it (`crate::engine` raises the alerts).
//!
//! Sightings are described and indexed like references, in their own
//! index (`sightings/` inside the index folder), each as a [`Record`] of
//! type [`SIGHTING_TYPE`]: one code path for describing, storing, healing
//! and rebuilding. They are never returned as records of the database.

use super::record::Record;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The `object_type` of a sighting in the sightings index.
pub const SIGHTING_TYPE: &str = "sighting";

/// Where a photo was seen: one line of a crawler's LISTINGS.jsonl, or the
/// form of a search. Every field is optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Context {
    /// The case or seizure it belongs to.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub case: String,
    /// The listing's address, its title and seller, and when it was seen
    /// (a date or an RFC 3339 time, as the crawler wrote it).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub url: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub title: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub seller: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub seen: String,
}

/// Longest field of a [`Context`], in bytes: a listing's title and seller
/// are written by the other side of an online market, and are copied
/// into every alert, its webhook body and the lists of sightings.
pub const MAX_CONTEXT: usize = 2_000;

/// Why the field `name` is refused, if it is past [`MAX_CONTEXT`] bytes
/// (the same bound holds for the words typed with a search).
pub fn too_long(name: &str, text: &str) -> Option<String> {
    (text.len() > MAX_CONTEXT).then(|| format!("`{name}`: at most {MAX_CONTEXT} bytes"))
}

impl Context {
    /// Why the first field past [`MAX_CONTEXT`] bytes is refused, if any.
    pub fn too_long(&self) -> Option<String> {
        [
            ("case", &self.case),
            ("url", &self.url),
            ("title", &self.title),
            ("seller", &self.seller),
            ("seen", &self.seen),
        ]
        .into_iter()
        .find_map(|(name, v)| too_long(name, v))
    }
}

/// A kept photo, as listed and exported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sighting {
    pub id: String,
    /// The input's name in a batch, or "upload" for a photo sent to the API.
    pub query: String,
    /// SHA-256 of the photo's bytes, hex.
    pub photo_sha256: String,
    /// Where the photo is kept (a batch's own file, or the sightings
    /// index's `uploads/`).
    pub photo: String,
    #[serde(flatten)]
    pub context: Context,
    /// Who kept it (a key's name, or the user running the CLI) and when
    /// (RFC 3339, UTC).
    pub kept_by: String,
    pub kept: String,
    /// The last image slot of the database its search compared it with:
    /// an image added after it is checked against it, whenever it is
    /// kept (`crate::engine::Engine::check_sightings`). None for a
    /// sighting kept before this was recorded.
    #[serde(skip)]
    pub searched_through: Option<i64>,
}

impl Sighting {
    /// One id per photo and context: keeping the same photo of the same
    /// listing twice (a batch re-run) replaces it; the same photo in two
    /// cases is two sightings.
    pub fn id_for(photo_sha256: &str, context: &Context) -> String {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(photo_sha256.as_bytes());
        for part in [&context.case, &context.url] {
            h.update([0u8]);
            h.update(part.as_bytes());
        }
        let d = h.finalize();
        let hex: String = d[..8].iter().map(|b| format!("{b:02x}")).collect();
        format!("S-{hex}")
    }

    /// The record the sightings index keeps: the listing's title and
    /// seller as its text, the rest in `extra`.
    pub fn to_record(&self) -> Record {
        let mut extra = std::collections::BTreeMap::new();
        for (k, v) in [
            ("query", &self.query),
            ("photo_sha256", &self.photo_sha256),
            ("case", &self.context.case),
            ("url", &self.context.url),
            ("seller", &self.context.seller),
            ("seen", &self.context.seen),
            ("kept_by", &self.kept_by),
            ("kept", &self.kept),
        ] {
            extra.insert(k.to_string(), Value::String(v.clone()));
        }
        if let Some(slot) = self.searched_through {
            extra.insert("searched_through".into(), Value::from(slot));
        }
        Record {
            id: self.id.clone(),
            source: self.context.case.clone(),
            object_type: SIGHTING_TYPE.to_string(),
            title: self.context.title.clone(),
            images: vec![self.photo.clone()],
            extra,
            ..Record::default()
        }
    }

    pub fn from_record(r: &Record) -> Sighting {
        let s = |k: &str| {
            r.extra
                .get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        Sighting {
            id: r.id.clone(),
            query: s("query"),
            photo_sha256: s("photo_sha256"),
            photo: r.images.first().cloned().unwrap_or_default(),
            context: Context {
                case: s("case"),
                url: s("url"),
                title: r.title.clone(),
                seller: s("seller"),
                seen: s("seen"),
            },
            kept_by: s("kept_by"),
            kept: s("kept"),
            searched_through: r.extra.get("searched_through").and_then(Value::as_i64),
        }
    }
}

/// One line of LISTINGS.jsonl: `{"image": "a.jpg", "url", "title",
/// "seller", "seen"}`, `image` named as the batch names its inputs.
#[derive(Debug, Clone, Deserialize)]
pub struct ListingLine {
    pub image: String,
    #[serde(flatten)]
    pub context: Context,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sighting_round_trips_through_its_record() {
        let s = Sighting {
            id: "S-1".into(),
            query: "lot/7.jpg".into(),
            photo_sha256: "ab".repeat(32),
            photo: "/seizure/lot/7.jpg".into(),
            context: Context {
                case: "2026-114".into(),
                url: "https://market.example/item/9".into(),
                title: "Old icon, Saint Nicholas".into(),
                seller: "antik_77".into(),
                seen: "2026-03-02".into(),
            },
            kept_by: "officer-1".into(),
            kept: "2026-03-02T10:00:00Z".into(),
            searched_through: Some(41),
        };
        let r = s.to_record();
        r.validate().unwrap();
        assert_eq!(Sighting::from_record(&r), s);
        let other_case = Context {
            case: "2026-115".into(),
            ..s.context.clone()
        };
        assert_ne!(
            Sighting::id_for(&s.photo_sha256, &s.context),
            Sighting::id_for(&s.photo_sha256, &other_case)
        );
    }
}
