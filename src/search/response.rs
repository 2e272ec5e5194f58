//! What a search answers: the ranked records with their evidence and
//! verdicts, and the state of the database searched; and the last step
//! that orders them, the rivals' discount (`crate::search::rivals`).

use crate::records::record::{Record, Status};
use crate::search::scoring::{self, Evidence, Verdict};
use crate::search::{borderline, rivals};
use serde::{Deserialize, Serialize};

/// What a photo search may be narrowed or helped by.
#[derive(Debug, Clone)]
pub struct SearchOptions {
    pub top: usize,
    /// Words describing the object; records whose text matches rank higher
    /// among candidates of similar image score.
    pub text: Option<String>,
    /// Keep only records of this object type (or a subtype of it).
    pub object_type: Option<String>,
    /// SHA-256 of the photo's bytes: experts' decisions on this photo's
    /// candidates come back with them.
    pub photo_sha256: Option<String>,
    /// Objects looked for in one photo (`crate::search::objects`).
    pub max_objects: usize,
}

impl Default for SearchOptions {
    fn default() -> Self {
        SearchOptions {
            top: 10,
            text: None,
            object_type: None,
            photo_sha256: None,
            max_objects: DEFAULT_MAX_OBJECTS,
        }
    }
}

/// Objects looked for in one photo unless asked otherwise (`--max-objects`).
pub const DEFAULT_MAX_OBJECTS: usize = 10;

/// The fields of a record a result card shows.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RecordSummary {
    pub title: String,
    pub maker: String,
    pub date: String,
    pub object_type: String,
    pub status: Status,
    pub source: String,
    /// Objects of this type are made in multiples (coins, medals, prints,
    /// photographs, casts): a visual match means the same design, not
    /// necessarily this object; [`RecordSummary::inscriptions`] and
    /// [`RecordSummary::features`] tell it apart.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub made_in_multiples: bool,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub inscriptions: String,
    /// The record's distinguishing features (damage, repairs, marks).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub features: String,
}

impl From<&Record> for RecordSummary {
    fn from(r: &Record) -> Self {
        RecordSummary {
            title: r.title.clone(),
            maker: r.maker.clone(),
            date: r.date.clone(),
            object_type: r.object_type.clone(),
            status: r.status,
            source: r.source.clone(),
            made_in_multiples: r.made_in_multiples(),
            inscriptions: r.inscriptions.clone(),
            features: r.features.clone(),
        }
    }
}

/// Discounts the candidates that explain the same part of the photo
/// worse than a stronger one (`crate::search::rivals`), then re-scores
/// them, marks the borderline verdicts, and leaves them in order: by
/// score, then by id.
pub(crate) fn discount_rivals(matches: &mut [Match]) {
    let by_score = |a: &Match, b: &Match| b.score.total_cmp(&a.score).then_with(|| a.id.cmp(&b.id));
    matches.sort_by(by_score);
    let mut view: Vec<rivals::Candidate<'_>> = matches
        .iter_mut()
        .filter_map(|m| {
            let points = m.pairs.iter().map(|(_, q)| *q).collect();
            m.evidence
                .as_mut()
                .map(|evidence| rivals::Candidate { evidence, points })
        })
        .collect();
    rivals::discount(&mut view);
    drop(view);
    for m in matches.iter_mut() {
        if let Some(e) = &m.evidence {
            let score = scoring::score(e);
            if score != m.score {
                m.verdict = Verdict::for_record(score, Some(e), m.record.status);
                m.score = score;
            }
            m.borderline = borderline::borderline(e);
            m.cut_off = borderline::cut_off(m.verdict, e);
        }
    }
    matches.sort_by(by_score);
}

/// One ranked candidate record.
#[derive(Debug, Clone, Serialize)]
pub struct Match {
    pub id: String,
    pub score: f32,
    pub verdict: Verdict,
    /// The verdict lies within the noise of a re-taken or re-saved photo of
    /// a threshold (`crate::search::borderline`): another photo
    /// may change it. Absent when false.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub borderline: bool,
    /// A `partial` or `possible` verdict from a photo whose frame cuts off
    /// most of the record's picture (`crate::search::borderline::cut_off`):
    /// a photo of the whole object may change it. Absent when false.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub cut_off: bool,
    /// Which object of the photo this result explains (1 = the one with
    /// the strongest result): results with the same number are
    /// alternatives for one object, with different numbers different
    /// objects (`crate::search::objects`). None without a verdict or a
    /// verified region.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object: Option<u32>,
    /// The reference image that matched (path as stored at import).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Its position in the record's `images`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_index: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence: Option<Evidence>,
    /// How well the record's text matches the words given with the photo
    /// (0–1); absent when none were given or they do not match it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub words: Option<f32>,
    pub record: RecordSummary,
    /// An expert's decision on this candidate for this photo, if any: a
    /// rejected look-alike is still shown, marked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub review: Option<crate::store::Review>,
    /// Agreeing local features (reference pixel, query pixel), for the
    /// expert's picture; not part of the results format.
    #[serde(skip)]
    pub pairs: Vec<([f32; 2], [f32; 2])>,
}

/// The database a search ran against: "no match" is only meaningful
/// together with how much was searched, and as of when.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DatabaseState {
    pub records: u64,
    pub images: u64,
    pub generation: u64,
    pub store_seq: i64,
    /// When the searched generation was committed (RFC 3339, UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated: Option<String>,
    /// The last image slot of the generation searched: a photo kept as a
    /// sighting was compared with every image up to it
    /// (`crate::engine::Engine::check_sightings`).
    #[serde(skip)]
    pub last_slot: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct SearchResponse {
    pub database: DatabaseState,
    pub matches: Vec<Match>,
    /// What the words given with the photo did to the order; absent when
    /// none were given (`crate::search::words`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub words: Option<crate::search::words::WordsUse>,
    /// Where a photo search's time went, for the operator (metrics, the
    /// batch lines and summary); not part of the answer. None for a text
    /// search.
    #[serde(skip)]
    pub stages: Option<Stages>,
}

/// Seconds a photo search spent in each stage of the query path
/// (`crate::engine`'s `search`): which one grows with the database, or
/// with the photo, is what an operator needs to see at the 99th
/// percentile. Serialised in `batch` lines as `"stages"`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Stages {
    /// The photo's descriptors: features, hashes, embeddings, outlines.
    pub describe: f64,
    /// Index lookups and geometric verification, the second look included.
    pub candidates: f64,
    /// The best candidates compared pixel by pixel.
    pub pixels: f64,
    /// Further looks for more objects in the photo.
    pub objects: f64,
    /// Records, rivals, words and verdicts.
    pub rank: f64,
}

impl Stages {
    /// Each stage's name (as the metrics label it) and seconds.
    pub fn named(&self) -> [(&'static str, f64); 5] {
        [
            ("describe", self.describe),
            ("candidates", self.candidates),
            ("pixels", self.pixels),
            ("objects", self.objects),
            ("rank", self.rank),
        ]
    }
}
