//! Rival references: when two references explain the same part of the
//! photo, the one that explains it worse is discounted.
//!
//! Databases of stolen art hold families of near-variants: a study and
//! the finished painting, a print in two states, clip-art redrawn with a
//! different face. A photo of one of them matches the others too, often
//! with a hundred inliers, and a score from that evidence alone would
//! call each of them a `match`. What tells them apart is the comparison:
//! the object photographed agrees with its own reference better than with
//! any variant, on the same pixels. So a candidate's strength is lowered
//! by how much less of the same evidence it has than a stronger
//! candidate:
//!
//! - local: when at least half of its inliers lie inside the outline of a
//!   stronger candidate with more inliers, by `γ · ln((1 + n_better) /
//!   (1 + n))`;
//! - global: by `γ` times the gap between its photo-level global strength
//!   and a stronger candidate's (both describe the whole photo).
//!
//! Only a stronger candidate whose evidence of that kind reaches
//! `possible` on its own discounts others: weak evidence explains nothing.
//!
//! Two different objects in one photo (two paintings side by side) do not
//! overlap, and the same object recorded twice gives equal evidence: both
//! keep their strength. The best candidate is never discounted, so the
//! verdict on the photo and every threshold read off the negative queries
//! stay as they were; what changes is that the variants below it no
//! longer rank with true matches of other photos (docs/decisions.md,
//! "2026-11-30 — Rival references, outline agreement and combined
//! evidence").

use crate::imaging::geometry::inside_quad;
use crate::search::scoring::{self, Evidence};

/// Strength taken off per unit of evidence gap (natural-log inlier ratio,
/// or global strength).
const GAMMA: f32 = 4.0;
/// Share of a candidate's inliers that must lie inside the stronger
/// candidate's outline for the two to explain the same part of the photo.
const SAME_PART: f32 = 0.5;

/// One candidate as rivals see it: its evidence and the photo-side
/// points of its inliers (photo pixels).
pub struct Candidate<'a> {
    pub evidence: &'a mut Evidence,
    pub points: Vec<[f32; 2]>,
}

/// Sets each candidate's discounts against the stronger ones before it;
/// `candidates` must be sorted by score, best first.
pub fn discount(candidates: &mut [Candidate<'_>]) {
    for k in 1..candidates.len() {
        let (better, rest) = candidates.split_at_mut(k);
        let c = &mut rest[0];
        let inliers = c.evidence.inliers;
        let global = scoring::photo_global_strength(c.evidence);
        let mut local_discount = 0f32;
        let mut global_discount = 0f32;
        for b in better.iter() {
            let e = &*b.evidence;
            if inliers > 0
                && e.inliers > inliers
                && scoring::local_strength(e) >= scoring::POSSIBLE_STRENGTH
                && let Some(outline) = &e.region
                && share_inside(&c.points, outline) >= SAME_PART
            {
                let gap = ((1.0 + e.inliers as f32) / (1.0 + inliers as f32)).ln();
                local_discount = local_discount.max(GAMMA * gap);
            }
            let better_global = scoring::photo_global_strength(e);
            if better_global >= scoring::POSSIBLE_STRENGTH {
                global_discount = global_discount.max(GAMMA * (better_global - global));
            }
        }
        c.evidence.local_discount = local_discount;
        c.evidence.global_discount = global_discount;
    }
}

/// Share of `points` inside the convex quadrilateral `q` (either winding).
fn share_inside(points: &[[f32; 2]], q: &[[f32; 2]; 4]) -> f32 {
    if points.is_empty() {
        return 0.0;
    }
    let inside = points.iter().filter(|p| inside_quad(p, q)).count();
    inside as f32 / points.len() as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local(inliers: u32, region: Option<[[f32; 2]; 4]>) -> Evidence {
        Evidence {
            hash_distance: 60,
            embedding_distance: 1.0,
            inliers,
            cells: 12,
            region,
            ..Evidence::default()
        }
    }

    const SQUARE: [[f32; 2]; 4] = [[0.0, 0.0], [100.0, 0.0], [100.0, 100.0], [0.0, 100.0]];

    #[test]
    fn a_variant_on_the_same_pixels_is_discounted_and_the_best_is_not() {
        let mut best = local(150, Some(SQUARE));
        let mut variant = local(60, Some(SQUARE));
        let before = scoring::score(&variant);
        let mut cs = vec![
            Candidate {
                evidence: &mut best,
                points: vec![[50.0, 50.0]; 150],
            },
            Candidate {
                evidence: &mut variant,
                points: vec![[20.0, 30.0], [80.0, 90.0]],
            },
        ];
        discount(&mut cs);
        assert_eq!(best.local_discount, 0.0);
        assert!(variant.local_discount > 3.0, "{variant:?}");
        assert!(scoring::score(&variant) < before);
        assert!(scoring::score(&variant) < scoring::score(&best));
    }

    #[test]
    fn another_object_elsewhere_in_the_photo_keeps_its_strength() {
        let mut left = local(150, Some(SQUARE));
        let mut right = local(60, Some(SQUARE.map(|[x, y]| [x + 200.0, y])));
        let mut cs = vec![
            Candidate {
                evidence: &mut left,
                points: vec![[50.0, 50.0]; 150],
            },
            Candidate {
                evidence: &mut right,
                points: vec![[250.0, 50.0], [260.0, 70.0]],
            },
        ];
        discount(&mut cs);
        assert_eq!(right.local_discount, 0.0);
    }
}
