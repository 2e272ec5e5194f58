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

/// Hash distance (phash+dhash bits, 0..=128) at which the hash score is 0.5.
const HASH_MID: f32 = 30.0;
const HASH_SCALE: f32 = 3.0;
/// Embedding L2 distance at which the embedding score is 0.5.
const EMB_MID: f32 = 0.35;
const EMB_SCALE: f32 = 0.05;
/// An embedding alone never proves a match: its score is capped below
/// `MATCH_THRESHOLD`, so only geometric or hash evidence can raise an alarm.
const EMB_CAP: f32 = 0.75;

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

    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Match => "match",
            Verdict::Possible => "possible",
            Verdict::None => "none",
        }
    }
}

/// What the candidate stages found out about one reference image.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Evidence {
    /// Fewest differing hash bits over the query's eight orientations.
    pub hash_distance: u32,
    /// Smallest embedding distance over the query's eight orientations.
    pub embedding_distance: f32,
}

fn logistic(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

pub fn score(e: &Evidence) -> f32 {
    let h = logistic((HASH_MID - e.hash_distance as f32) / HASH_SCALE);
    let v = EMB_CAP * logistic((EMB_MID - e.embedding_distance) / EMB_SCALE);
    h.max(v).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closer_is_higher_and_embedding_alone_never_matches() {
        let near = score(&Evidence {
            hash_distance: 4,
            embedding_distance: 0.1,
        });
        let far = score(&Evidence {
            hash_distance: 64,
            embedding_distance: 0.9,
        });
        assert!(near > far);
        assert_eq!(Verdict::from_score(near), Verdict::Match);
        assert_eq!(Verdict::from_score(far), Verdict::None);
        let emb_only = score(&Evidence {
            hash_distance: 64,
            embedding_distance: 0.0,
        });
        assert!(emb_only < MATCH_THRESHOLD);
    }
}
