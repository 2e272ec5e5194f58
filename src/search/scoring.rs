//! From raw evidence to one calibrated score in [0, 1] and a verdict.
//!
//! A score must mean the same thing for every query: one threshold, one
//! false-match rate. Two kinds of evidence are put on one scale, the
//! *strength* of the match, and the stronger wins:
//!
//! - local: `ln(1 + inliers) + ln(1 + cells)` — how many local features
//!   agree on one geometric transform, and how widely they are spread
//!   over the reference (cells of an 8×8 grid). Chance agreements in
//!   clutter or between two similar drawings bunch up on a detail; a true
//!   view spreads out. Both counts are log-scaled: past a few dozen
//!   inliers more says little.
//! - global: hash bits and embedding distance in one logit, which on
//!   their own identify re-used catalogue photos (resized, recompressed,
//!   a border or watermark) even when local features are few. The same
//!   logit, with the same weights, is computed for each outlined region
//!   of the photo (a picture in its frame, warped upright by
//!   `crate::describe::quad` and `crate::describe::rectify`): once upright, a photographed
//!   picture is judged exactly like a re-used photo of it, which finds
//!   flat, smooth or washed-out pictures whose corners are too few for
//!   local features.
//!
//! Local evidence is stronger when its transform puts the reference's
//! outline on an outline found in the photo, and when the photo inside that
//! outline agrees with the reference pixel by pixel; both kinds add up where each
//! alone would be a match; and `crate::search::rivals` discounts a candidate that a
//! stronger one of the same photo explains away.
//!
//! The score is a logistic function of the strength, anchored on the two
//! thresholds read off the benchmark's negative queries (photos of
//! objects that are not in the database, `../shared/bench`): strength
//! [`POSSIBLE_STRENGTH`] is the score 0.5, which at most 1% of negative
//! queries reach with their best candidate; strength [`MATCH_STRENGTH`]
//! is the score 0.8, above every negative query with a margin (262
//! negatives cannot show a false-match rate under 1%: README, "verdict",
//! gives what is measured at each database size). CONTRIBUTING.md ("Re-deriving the verdict
//! thresholds") says how to re-derive them; do so whenever a descriptor
//! changes.

use serde::{Deserialize, Serialize};

/// What a score means on this build: the thresholds and the strength
/// model. Federated servers (`crate::server::peers`) merge scores only
/// when this is the same: change it whenever a threshold, an anchor or
/// the strength model changes.
pub const CALIBRATION: &str = "strength-5.25-5.9/partial-1of3-fine-0.3/lo-ransac/global-chance-0.57-25k-to-possible/pixels-refined/colour-0.3/off-backdrop/2026-12-07";

/// At or above: `match`.
pub const MATCH_THRESHOLD: f32 = 0.80;
/// At or above: `possible`.
pub const POSSIBLE_THRESHOLD: f32 = 0.50;

/// Strength at which the score is [`POSSIBLE_THRESHOLD`]: at most 1% of
/// negative queries reach it with their best candidate (docs/decisions.md,
/// "2026-11-30 — Verdict thresholds read off the negatives").
pub const POSSIBLE_STRENGTH: f32 = 5.25;
/// Strength at which the score is [`MATCH_THRESHOLD`]: above the best
/// candidate of every negative query, with a margin (docs/decisions.md,
/// "2026-11-30 — Verdict thresholds read off the negatives").
pub const MATCH_STRENGTH: f32 = 5.9;

/// Local evidence whose transform carries the reference's edges onto an
/// outline found in the photo is stronger: chance inliers put the outline
/// anywhere (docs/decisions.md, "2026-11-30 — Rival references, outline
/// agreement and combined evidence"). The error is the mean corner
/// distance over the outline's size; the bonus falls linearly from
/// [`OUTLINE_BONUS`] at no error to nothing at [`OUTLINE_TOLERANCE`], so
/// that two candidates on either side of a cut-off are not told apart by it.
const OUTLINE_TOLERANCE: f32 = 0.1;
const OUTLINE_BONUS: f32 = 1.0;
/// Local evidence is stronger when the photo inside the verified outline
/// agrees with the whole reference pixel by pixel (`crate::search::pixels`): from
/// nothing at agreement [`PIXEL_FLOOR`] (high enough that a look-alike,
/// such as another icon of the same set, stays below it) to
/// [`PIXEL_BONUS`] at 1. Only a bonus: glare, a hand or a steep angle
/// lower the agreement of true views, so low agreement is no proof of a
/// look-alike, and a reference file that cannot be read costs only the
/// bonus (docs/decisions.md, "2026-12-01 — Pixel agreement inside a
/// verified outline").
pub const PIXEL_FLOOR: f32 = 0.7;
const PIXEL_BONUS: f32 = 1.0;
/// Where the global and the local evidence each reach this strength on
/// their own (past `match`), their agreement adds this share of the
/// weaker's excess: two independent proofs outrank one, which orders
/// near-variants that both match (a re-used photo of one of them is also
/// its hash's near-duplicate).
const BOTH_AGREE: f32 = 6.0;
/// The more candidates are verified, the more chance inliers the best
/// wrong one gathers: a candidate found only by the second look
/// (`crate::search::candidates`) pays for the wider net, enough that
/// `possible` keeps its false-match rate while the right references it
/// finds still rank first (docs/decisions.md, "2026-12-01 — A second look
/// for photos with no conclusive match").
const SECOND_LOOK_DISCOUNT: f32 = 0.3;
const BOTH_AGREE_SHARE: f32 = 0.2;

/// The chance model of the global evidence: over pairs of unrelated
/// pictures, P(global strength ≥ s) falls by e every [`CHANCE_SCALE`]
/// units in its tail, and at [`MATCH_STRENGTH`] is about 1 / (1,000 ×
/// [`CHANCE_FREE_REFERENCES`]). So up to that many references, fewer than
/// 0.1% of photos of unrelated objects reach `match` by their hashes and
/// embedding alone; beyond, the expected number of such chance matches
/// grows with the references searched, and the global strength is
/// discounted by `CHANCE_SCALE × ln(N / CHANCE_FREE_REFERENCES)` to keep it,
/// down to [`POSSIBLE_STRENGTH`] at most (an a-contrario number of false
/// alarms over N; measured on half A's
/// negatives against 51,111 references, docs/decisions.md, "The global
/// evidence's chance grows with the database").
const CHANCE_SCALE: f32 = 0.57;
const CHANCE_FREE_REFERENCES: f32 = 25_000.0;

/// The global strength taken off for searching `references` references
/// (see [`CHANCE_SCALE`]); none up to [`CHANCE_FREE_REFERENCES`].
pub fn global_chance_discount(references: usize) -> f32 {
    CHANCE_SCALE * (references as f32 / CHANCE_FREE_REFERENCES).ln().max(0.0)
}

/// Weight of one differing hash bit (of 128) in the global logit.
const PER_HASH_BIT: f32 = 0.1;
/// Weight of one unit of embedding distance (unit vectors: 0..2).
const PER_EMBEDDING_UNIT: f32 = 15.0;
/// The global logit onto the strength scale: fitted so that global
/// evidence alone reaches `match` where it did before local features
/// existed (hash and embedding close to a re-used photo).
const GLOBAL_SCALE: f32 = 0.7;
const GLOBAL_OFFSET: f32 = 10.3;

/// Ordered strongest first: `Match < Partial < Possible < None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// The photo shows this picture: an alarm.
    Match,
    /// The photo shares a part of its picture with this one, proved by the
    /// local features, but most of the reference is not what the photo
    /// shows (a shared motif, a print of the same plate, a detail pasted
    /// into another picture): for an expert, not an alarm.
    Partial,
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

    /// The verdict for a record in `status`, from the score and the
    /// evidence behind it: a recovered or disputed object is still shown,
    /// but never raises a `match` alarm.
    pub fn for_record(
        score: f32,
        evidence: Option<&Evidence>,
        status: crate::records::record::Status,
    ) -> Verdict {
        use crate::records::record::Status;
        if evidence.is_some_and(shows_part_only) {
            return Verdict::Partial;
        }
        match (Verdict::from_score(score), status) {
            (Verdict::Match, Status::Recovered | Status::Disputed) => Verdict::Possible,
            (v, _) => v,
        }
    }

    /// The verdict [`Verdict::as_str`] names (a peer's answer); anything
    /// else is `None`.
    pub fn parse(s: &str) -> Verdict {
        [Verdict::Match, Verdict::Partial, Verdict::Possible]
            .into_iter()
            .find(|v| v.as_str() == s)
            .unwrap_or(Verdict::None)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Match => "match",
            Verdict::Partial => "partial",
            Verdict::Possible => "possible",
            Verdict::None => "none",
        }
    }
}

/// What the candidate stages found out about one reference image.
/// Serialised in the results format, and sent whole between federated
/// servers (`crate::search::remote`): every field reads back as written.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
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
    /// Descriptor matches (ratio test passed) the inliers were chosen from.
    #[serde(skip_serializing_if = "is_zero_u32")]
    pub putative: u32,
    /// log10 of the number of false alarms of the inliers against this one
    /// reference (`crate::search::matching::log10_nfa`); 0 when not verified.
    #[serde(skip_serializing_if = "is_zero")]
    pub log10_nfa: f32,
    /// Share of the reference's area its inlier features span.
    pub coverage: f32,
    /// Cells of an 8×8 grid over the reference holding an inlier.
    pub cells: u32,
    /// Bag-of-visual-words similarity (cosine, 0..1).
    pub words: f32,
    /// Fewest hash bits that differ between the reference and an
    /// outlined region of the photo (a picture in its frame) warped
    /// upright (`crate::describe::quad`); None when the photo has no outline.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region_hash_distance: Option<u32>,
    /// Smallest embedding distance, the same way.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region_embedding_distance: Option<f32>,
    /// The reference's outline in the query photo's pixels (top-left,
    /// top-right, bottom-right, bottom-left of the reference).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<[[f32; 2]; 4]>,
    /// How far `region` is from the nearest outline `crate::describe::quad` found in
    /// the photo (mean corner distance over the outline's size): near 0
    /// when the reference's edges, carried into the photo by the
    /// verified transform, fall on the picture's frame or edges.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outline_error: Option<f32>,
    /// Gradient correlation (-1..1) of the photo inside `region` with the
    /// whole reference (`crate::search::pixels`): near 1 for a view of the same
    /// picture, low for a look-alike that shares a detail with it. Computed
    /// for the best candidates only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pixel_agreement: Option<f32>,
    /// The same comparison part by part (`crate::search::parts::Blocks`);
    /// made where the photo is, never read from another server.
    #[serde(skip_serializing_if = "Option::is_none", skip_deserializing)]
    pub pixel_blocks: Option<crate::search::parts::Blocks>,
    /// Correlation (-1..1) of the reference's colours with the photo's
    /// inside `region` (`crate::search::colour`): high for a view of the
    /// picture under any light, low for the same design in other colours.
    /// None where either side has too few colours to compare; made where
    /// the photo is, never taken from another server.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub colour_agreement: Option<f32>,
    /// Strength taken off the local evidence because a stronger candidate
    /// has more inliers on the same part of the photo (`crate::search::rivals`):
    /// this reference is likely a variant of that one.
    #[serde(skip_serializing_if = "is_zero")]
    pub local_discount: f32,
    /// The same for the photo-level global evidence.
    #[serde(skip_serializing_if = "is_zero")]
    pub global_discount: f32,
    /// Strength taken off the global evidence (photo and regions) for the
    /// number of references searched: more references, more chance
    /// near-duplicates ([`global_chance_discount`]).
    #[serde(skip_serializing_if = "is_zero")]
    pub global_chance: f32,
    /// Found only by the wider second look at a photo that nothing
    /// matched conclusively (`crate::search::candidates`): its local evidence
    /// counts [`SECOND_LOOK_DISCOUNT`] less.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub second_look: bool,
    /// Its local evidence would make a `match`, but its pixels were not
    /// compared: more candidates would match than a search compares
    /// (`crate::search::pixels::CHECKED_MAX`, many images or colourways
    /// of one design). Unjudged, it is no `match`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub not_compared: bool,
    /// Found by the closer look at a large photo in which the first look
    /// found nothing (`crate::search::further::keep_small_finds`): a small
    /// picture, which must show
    /// [`crate::search::parts::SHOWN_SHARE_CLOSER`] of the reference.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub closer_look: bool,
}

fn is_zero(x: &f32) -> bool {
    *x == 0.0
}

fn is_zero_u32(x: &u32) -> bool {
    *x == 0
}

fn logistic(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// The strength of the evidence (see the module documentation).
pub fn strength(e: &Evidence) -> f32 {
    let global = whole_global_strength(e);
    let local = if e.inliers > 0 {
        local_strength(e) - e.local_discount - second_look_discount(e)
    } else {
        0.0
    };
    global.max(local) + BOTH_AGREE_SHARE * (global.min(local) - BOTH_AGREE).max(0.0)
}

/// The global evidence: the photo's or its best outlined region's, less
/// any rival's discount. Hashes and embeddings describe a whole picture,
/// so this evidence is of the whole picture by construction.
pub fn whole_global_strength(e: &Evidence) -> f32 {
    let global = photo_global_strength(e) - e.global_discount;
    let region = match (e.region_hash_distance, e.region_embedding_distance) {
        (Some(h), Some(d)) => global_strength(h, d),
        _ => f32::MIN,
    };
    // The chance model corrects the verdict, never below `possible`: under
    // it the global evidence keeps ranking candidates as it did, against
    // local evidence and for the choice of candidates to verify.
    let whole = global.max(region);
    whole - e.global_chance.min((whole - POSSIBLE_STRENGTH).max(0.0))
}

fn second_look_discount(e: &Evidence) -> f32 {
    if e.second_look {
        SECOND_LOOK_DISCOUNT
    } else {
        0.0
    }
}

/// The strength of the local evidence alone, before any discount.
pub fn local_strength(e: &Evidence) -> f32 {
    if e.inliers == 0 {
        return 0.0;
    }
    let outline = e.outline_error.map_or(0.0, |err| {
        OUTLINE_BONUS * (1.0 - err / OUTLINE_TOLERANCE).max(0.0)
    });
    let pixels = e.pixel_agreement.map_or(0.0, |a| {
        PIXEL_BONUS * ((a - PIXEL_FLOOR) / (1.0 - PIXEL_FLOOR)).max(0.0)
    });
    (1.0 + e.inliers as f32).ln() + (1.0 + e.cells as f32).ln() + outline + pixels
}

/// The global strength of the whole photo (not of an outlined region).
pub fn photo_global_strength(e: &Evidence) -> f32 {
    global_strength(e.hash_distance, e.embedding_distance)
}

/// Hash bits and embedding distance on the strength scale.
fn global_strength(hash_distance: u32, embedding_distance: f32) -> f32 {
    let logit = -PER_HASH_BIT * hash_distance as f32 - PER_EMBEDDING_UNIT * embedding_distance;
    GLOBAL_SCALE * logit + GLOBAL_OFFSET
}

/// The score of the evidence: its strength on the calibrated scale, and
/// for a photo that shows only a part of the reference
/// ([`shows_part_only`]), its design in other colours
/// ([`colours_differ`]), or whose pixels were not compared
/// ([`Evidence::not_compared`]), moved below `match`, into the upper half of
/// `possible`, keeping the order among such candidates: proof of a shared
/// part or design is more than weak evidence of anything, but no alarm.
pub fn score(e: &Evidence) -> f32 {
    let s = strength_score(e);
    let unjudged = colours_differ(e) || e.not_compared;
    if part_only(e, s) || (unjudged && s >= MATCH_THRESHOLD) {
        let excess = (s - MATCH_THRESHOLD) / (1.0 - MATCH_THRESHOLD);
        let band = MATCH_THRESHOLD - POSSIBLE_THRESHOLD;
        POSSIBLE_THRESHOLD + band * (0.5 + 0.45 * excess.clamp(0.0, 1.0))
    } else {
        s
    }
}

/// The score the strength alone earns, before the whole picture is judged.
pub fn strength_score(e: &Evidence) -> f32 {
    let slope =
        (MATCH_THRESHOLD / (1.0 - MATCH_THRESHOLD)).ln() / (MATCH_STRENGTH - POSSIBLE_STRENGTH);
    logistic(slope * (strength(e) - POSSIBLE_STRENGTH)).clamp(0.0, 1.0)
}

/// Whether the evidence would make a `match` but the photo, compared part
/// by part with the reference inside the verified outline, shows only a
/// part of it (`crate::search::parts::Blocks::shows_part_only`). Without a
/// part-by-part comparison (no verified outline, a flat reference) the
/// whole picture is not judged; nor where the global evidence alone makes
/// the `match` (a re-used or mirrored copy of the whole picture, whose
/// parts the local transform may not line up).
pub fn shows_part_only(e: &Evidence) -> bool {
    part_only(e, strength_score(e))
}

/// Whether the photo inside the verified outline is coloured otherwise than
/// the reference (`crate::search::colour`): the same design in other
/// colours, whatever else proves the design, is no `match`.
pub fn colours_differ(e: &Evidence) -> bool {
    crate::search::colour::differs(e.colour_agreement)
}

/// [`shows_part_only`] with the strength's score already known.
fn part_only(e: &Evidence, strength_score: f32) -> bool {
    judged_share(e, strength_score)
        .is_some_and(|share| e.pixel_blocks.is_some_and(|b| b.shows_less_than(share)))
}

/// The share of the reference's structure the part rule asks of this
/// evidence where that rule decides its verdict (strength enough for
/// `match`, not from the global evidence alone); None elsewhere.
pub fn part_rule_share(e: &Evidence) -> Option<f32> {
    judged_share(e, strength_score(e))
}

/// [`part_rule_share`] with the strength's score already known.
fn judged_share(e: &Evidence, strength_score: f32) -> Option<f32> {
    let judged = strength_score >= MATCH_THRESHOLD && whole_global_strength(e) < MATCH_STRENGTH;
    judged.then_some(match e.closer_look {
        true => crate::search::parts::SHOWN_SHARE_CLOSER,
        false => crate::search::parts::SHOWN_SHARE,
    })
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

    #[test]
    fn spread_agreement_matches_and_a_bunched_few_do_not() {
        let view = Evidence {
            hash_distance: 60,
            embedding_distance: 0.9,
            inliers: 40,
            cells: 18,
            ..Evidence::default()
        };
        assert_eq!(Verdict::from_score(score(&view)), Verdict::Match);
        let chance = Evidence {
            inliers: 14,
            cells: 3,
            ..view
        };
        assert_eq!(Verdict::from_score(score(&chance)), Verdict::None);
        assert!(score(&chance) < score(&view));
    }

    #[test]
    fn the_same_near_duplicate_is_weaker_evidence_among_more_references() {
        let near = Evidence {
            hash_distance: 12,
            embedding_distance: 0.3,
            ..Evidence::default()
        };
        assert_eq!(global_chance_discount(1_111), 0.0);
        assert_eq!(global_chance_discount(25_000), 0.0);
        let small = score(&near);
        let large = score(&Evidence {
            global_chance: global_chance_discount(251_111),
            ..near
        });
        assert_eq!(Verdict::from_score(small), Verdict::Match);
        assert!(large < small);
        assert_ne!(Verdict::from_score(large), Verdict::Match);
        // Local evidence is not discounted: a photo proved by its features
        // matches at any size.
        let view = Evidence {
            inliers: 60,
            cells: 20,
            global_chance: global_chance_discount(1_000_000),
            ..near
        };
        assert_eq!(Verdict::from_score(score(&view)), Verdict::Match);
    }

    #[test]
    fn a_second_look_candidate_pays_for_the_wider_net() {
        let first = Evidence {
            hash_distance: 60,
            embedding_distance: 0.9,
            inliers: 20,
            cells: 12,
            ..Evidence::default()
        };
        let second = Evidence {
            second_look: true,
            ..first
        };
        let gap = strength(&first) - strength(&second);
        assert!((gap - SECOND_LOOK_DISCOUNT).abs() < 1e-5, "{gap}");
    }

    #[test]
    fn a_strong_match_on_a_part_only_is_partial_below_match_and_keeps_its_order() {
        use crate::records::record::Status;
        use crate::search::parts::Blocks;
        let strong = Evidence {
            hash_distance: 60,
            embedding_distance: 0.9,
            inliers: 80,
            cells: 20,
            ..Evidence::default()
        };
        let whole = Evidence {
            pixel_blocks: Some(Blocks {
                agree: 12,
                differ: 1,
                ..Blocks::default()
            }),
            ..strong
        };
        assert_eq!(
            Verdict::for_record(score(&whole), Some(&whole), Status::Stolen),
            Verdict::Match
        );
        let detail = Evidence {
            pixel_blocks: Some(Blocks {
                agree: 3,
                differ: 6,
                outside: 5,
                ..Blocks::default()
            }),
            ..strong
        };
        let s = score(&detail);
        assert!((POSSIBLE_THRESHOLD..MATCH_THRESHOLD).contains(&s), "{s}");
        assert_eq!(
            Verdict::for_record(s, Some(&detail), Status::Stolen),
            Verdict::Partial
        );
        let weaker = Evidence {
            inliers: 30,
            ..detail
        };
        assert!(score(&weaker) < s);
        // Evidence too weak for `match` is not called partial.
        let weak = Evidence {
            inliers: 12,
            cells: 4,
            ..detail
        };
        assert_ne!(
            Verdict::for_record(score(&weak), Some(&weak), Status::Stolen),
            Verdict::Partial
        );
    }

    #[test]
    fn a_whole_copy_proved_by_its_hashes_is_not_judged_by_its_parts() {
        use crate::records::record::Status;
        use crate::search::parts::Blocks;
        // A mirrored copy: hashes and embedding agree on the whole picture,
        // the local transform does not line its parts up.
        let mirrored = Evidence {
            hash_distance: 3,
            embedding_distance: 0.05,
            inliers: 30,
            cells: 10,
            pixel_blocks: Some(Blocks {
                agree: 1,
                differ: 10,
                ..Blocks::default()
            }),
            ..Evidence::default()
        };
        let s = score(&mirrored);
        assert_eq!(
            Verdict::for_record(s, Some(&mirrored), Status::Stolen),
            Verdict::Match
        );
    }
}
