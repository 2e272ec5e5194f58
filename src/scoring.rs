//! From raw evidence (hash bits, embedding distance) to one calibrated
//! score in [0, 1] and a verdict.
//!
//! A score must mean the same thing for every query: one threshold, one
//! false-match rate. Each kind of evidence is mapped through a logistic
//! curve fitted on the development benchmark (positives against the
//! negative queries), and the strongest piece of evidence wins. The
//! thresholds below were read off the benchmark's negative queries
//! (see ARCHITECTURE.md, "Scores and verdicts"); re-derive them whenever
//! a descriptor changes.

use serde::Serialize;

/// At or above: `match`. Chosen so that at most 0.1% of the benchmark's
/// negative queries reach it.
pub const MATCH_THRESHOLD: f32 = 0.80;
/// At or above: `possible`. At most 1% of negative queries reach it.
pub const POSSIBLE_THRESHOLD: f32 = 0.50;

/// Weight of one differing hash bit (of 128) in the match logit.
const PER_HASH_BIT: f32 = 0.1;
/// Weight of one unit of embedding distance (unit vectors: 0..2).
const PER_EMBEDDING_UNIT: f32 = 15.0;
/// Logit at which the score is 0.5, and its slope: fitted so that the
/// thresholds below fall where the benchmark's negatives put them.
const LOGIT_MID: f32 = -9.0;
const LOGIT_SLOPE: f32 = 0.693;
/// Geometric verification: the inlier count at which the score is 0.5,
/// and the weight of each inlier.
const INLIERS_MID: f32 = 14.0;
const PER_INLIER: f32 = 0.35;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Match,
    Possible,
    None,
}

impl Verdict {
    pub fn from_score(score: f32) -> Verdict {
        if score >= MATCH_THRESHOLD {
            Verdict::Match
        } else if score >= POSSIBLE_THRESHOLD {
            Verdict::Possible
        } else {
            Verdict::None
        }
    }

    /// The verdict for a record in `status`: a recovered or disputed
    /// object is still shown, but never raises a `match` alarm.
    pub fn for_record(score: f32, status: crate::record::Status) -> Verdict {
        use crate::record::Status;
        match (Verdict::from_score(score), status) {
            (Verdict::Match, Status::Recovered | Status::Disputed) => Verdict::Possible,
            (v, _) => v,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Match => "match",
            Verdict::Possible => "possible",
            Verdict::None => "none",
        }
    }
}

/// What the candidate stages found out about one reference image.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct Evidence {
    /// Fewest differing hash bits over the query's eight orientations.
    pub hash_distance: u32,
    /// Smallest embedding distance over the query's eight orientations.
    pub embedding_distance: f32,
    /// |ln(query aspect) − ln(reference aspect)|, the query taken in the
    /// orientation its hashes fit best. Near-duplicates keep their shape
    /// up to a small crop or border.
    pub aspect_difference: f32,
    /// Local features that agree on one geometric transform (0: none, or
    /// not verified).
    pub inliers: u32,
    /// Share of the reference's area its inlier features span.
    pub coverage: f32,
    /// Bag-of-visual-words similarity (cosine, 0..1).
    pub words: f32,
    /// The reference's outline in the query photo's pixels (top-left,
    /// top-right, bottom-right, bottom-left of the reference).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<[[f32; 2]; 4]>,
}

fn logistic(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// Hash and embedding evidence are added in one logit rather than taking
/// the stronger of the two: on the benchmark a centred object on a plain
/// background can sit 15 bits from an unrelated one, and only the
/// embedding (colour, edges) tells them apart.
pub fn score(e: &Evidence) -> f32 {
    let logit = -PER_HASH_BIT * e.hash_distance as f32 - PER_EMBEDDING_UNIT * e.embedding_distance;
    let global = logistic(LOGIT_SLOPE * (logit - LOGIT_MID));
    let local = logistic(PER_INLIER * (e.inliers as f32 - INLIERS_MID));
    global.max(local).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closer_is_higher_and_similar_colours_alone_do_not_match() {
        let near = score(&Evidence {
            hash_distance: 4,
            embedding_distance: 0.1,
            aspect_difference: 0.0,
            ..Evidence::default()
        });
        let far = score(&Evidence {
            hash_distance: 64,
            embedding_distance: 0.9,
            aspect_difference: 0.0,
            ..Evidence::default()
        });
        assert!(near > far);
        assert_eq!(Verdict::from_score(near), Verdict::Match);
        assert_eq!(Verdict::from_score(far), Verdict::None);
        let colour_only = score(&Evidence {
            hash_distance: 64,
            embedding_distance: 0.3,
            aspect_difference: 0.0,
            ..Evidence::default()
        });
        assert!(colour_only < POSSIBLE_THRESHOLD);
    }
}
