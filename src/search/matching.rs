//! Geometric verification of one candidate: are the query's local
//! features a (perspective) view of the reference's?
//!
//! Descriptors are matched by nearest neighbour with Lowe's ratio test
//! (a match must be clearly better than the runner-up, which discards the
//! repetitive texture and the background of a cluttered photo), then
//! RANSAC looks for the homography most of them agree on. Unrelated
//! images yield a handful of accidental inliers; a true view yields tens
//! to hundreds, laid out over the object.

use crate::describe::orb::{Descriptor, Features};
use crate::imaging::geometry::Homography;
use crate::imaging::ransac::{self, Model, RansacParams};
use crate::index::localfeatures::RefFeatures;
use crate::search::nearest;

/// A descriptor match must be at most this many bits (of 256) away…
const MAX_DISTANCE: u32 = 64;
/// …and closer than this fraction of the second-nearest.
const RATIO: f32 = 0.8;
/// Reprojection tolerance, as a fraction of the query copy's longer side.
const INLIER_TOLERANCE: f32 = 0.008;
/// RANSAC reports nothing below this many inliers.
const MIN_INLIERS: usize = 6;

#[derive(Debug, Clone)]
pub struct LocalMatch {
    pub inliers: usize,
    /// Ratio-test matches RANSAC chose from.
    pub putative: usize,
    pub model: Model,
    /// Reference feature pixels → query feature pixels.
    pub transform: Homography,
    /// The reference's outline in query feature pixels (TL, TR, BR, BL).
    pub quad: [[f32; 2]; 4],
    /// Share of the reference's area spanned by its inlier keypoints
    /// (bounding box): a real view is spread over the object.
    pub coverage: f32,
    /// Cells of an 8×8 grid over the reference holding an inlier: chance
    /// agreements bunch up on one detail, a true view spreads out.
    pub cells: u32,
    /// Inlier pairs (reference point, query point), for the expert's picture.
    pub pairs: Vec<([f32; 2], [f32; 2])>,
    /// log10 of the number of false alarms of this agreement against one
    /// reference under the a-contrario model of [`log10_nfa`].
    pub log10_nfa: f32,
}

/// Matches the query against one reference image; None when there is no
/// plausible geometric agreement.
pub fn verify(query: &Features, reference: &RefFeatures) -> Option<LocalMatch> {
    verify_seeded(query, reference, RansacParams::default().seed)
}

/// [`verify`] with RANSAC's seed given: to measure how much a pair's count
/// depends on it (`examples/ransac_seeds.rs`).
pub fn verify_seeded(query: &Features, reference: &RefFeatures, seed: u64) -> Option<LocalMatch> {
    if query.is_empty() || reference.len() < MIN_INLIERS {
        return None;
    }
    let ref_desc: Vec<Descriptor> = reference.descriptors().collect();
    let ref_pts: Vec<[f32; 2]> = reference.points().collect();
    let best_for_ref = nearest_matches(&query.descriptors, &ref_desc);
    let mut pairs: Vec<(u32, usize, u32)> = best_for_ref
        .iter()
        .enumerate()
        .filter(|(_, (d, _))| *d != u32::MAX)
        .map(|(ri, &(d, qi))| (d, ri, qi))
        .collect();
    if pairs.len() < MIN_INLIERS {
        return None;
    }
    pairs.sort_unstable();
    let src: Vec<[f32; 2]> = pairs.iter().map(|&(_, ri, _)| ref_pts[ri]).collect();
    let dst: Vec<[f32; 2]> = pairs
        .iter()
        .map(|&(_, _, qi)| {
            let k = &query.keypoints[qi as usize];
            [k.x, k.y]
        })
        .collect();
    let ref_size = (reference.width as f32, reference.height as f32);
    let query_size = (query.width as f32, query.height as f32);
    let params = RansacParams {
        threshold: (INLIER_TOLERANCE * query_size.0.max(query_size.1)).max(2.0),
        min_inliers: MIN_INLIERS,
        seed,
        ..RansacParams::default()
    };
    let found = ransac::ransac(&src, &dst, ref_size, query_size, &params)?;
    let quad = found.transform.project_rect(ref_size.0, ref_size.1)?;
    let inlier_pairs: Vec<([f32; 2], [f32; 2])> =
        found.inliers.iter().map(|&i| (src[i], dst[i])).collect();
    let disc = std::f32::consts::PI * params.threshold.powi(2);
    let chance = (disc / (query_size.0 * query_size.1).max(1.0)).min(1.0);
    Some(LocalMatch {
        log10_nfa: log10_nfa(pairs.len(), found.inliers.len(), chance as f64) as f32,
        inliers: found.inliers.len(),
        putative: pairs.len(),
        model: found.model,
        transform: found.transform,
        quad,
        coverage: coverage(&inlier_pairs, ref_size),
        cells: cells(&inlier_pairs, ref_size),
        pairs: inlier_pairs,
    })
}

/// Points that fix a homography: RANSAC's sample.
const SAMPLE: usize = 4;

/// The number of false alarms of `k` inliers among `n` putative matches
/// when a match lands within the tolerance by chance with probability
/// `p` (the tolerance disc's share of the photo), as in Moisan & Stival's
/// ORSA: `(n − 4) · C(k, 4) · P[Binomial(n − 4, p) ≥ k − 4]`, in log10.
/// Counted against one reference; the search multiplies by the number
/// of references it could have found.
pub fn log10_nfa(n: usize, k: usize, p: f64) -> f64 {
    if n <= SAMPLE || k <= SAMPLE || !(p > 0.0 && p < 1.0) {
        return 0.0;
    }
    let (trials, hits) = (n - SAMPLE, k - SAMPLE);
    (trials as f64).log10() + log10_choose(k, SAMPLE) + log10_binomial_tail(trials, hits, p)
}

fn log10_choose(n: usize, k: usize) -> f64 {
    (1..=k.min(n - k))
        .map(|i| ((n - i + 1) as f64 / i as f64).log10())
        .sum()
}

/// log10 P[Binomial(n, p) ≥ k], summed in log space (terms fall fast).
fn log10_binomial_tail(n: usize, k: usize, p: f64) -> f64 {
    if k == 0 {
        return 0.0;
    }
    if k > n {
        return f64::NEG_INFINITY;
    }
    let (lp, lq) = (p.log10(), (1.0 - p).log10());
    let mut term = log10_choose(n, k) + k as f64 * lp + (n - k) as f64 * lq;
    let first = term;
    let mut sum = 1.0f64; // terms relative to the first
    for j in k..n {
        // C(n, j+1) / C(n, j) = (n − j) / (j + 1)
        term += ((n - j) as f64 / (j + 1) as f64).log10() + lp - lq;
        let r = 10f64.powf(term - first);
        sum += r;
        if r < 1e-12 {
            break;
        }
    }
    first + sum.log10()
}

/// For each reference feature, the query feature that matched it best
/// under the ratio test: (distance, query index), or `u32::MAX`.
fn nearest_matches(query: &[Descriptor], reference: &[Descriptor]) -> Vec<(u32, u32)> {
    let mut best_for_ref: Vec<(u32, u32)> = vec![(u32::MAX, 0); reference.len()];
    for (qi, n) in nearest::two_nearest(query, reference)
        .into_iter()
        .enumerate()
    {
        let passes = n.d1 <= MAX_DISTANCE && (n.d1 as f32) < RATIO * n.d2 as f32;
        if passes && n.d1 < best_for_ref[n.i1 as usize].0 {
            best_for_ref[n.i1 as usize] = (n.d1, qi as u32);
        }
    }
    best_for_ref
}

fn cells(pairs: &[([f32; 2], [f32; 2])], (w, h): (f32, f32)) -> u32 {
    let mut seen = 0u64;
    for (r, _) in pairs {
        let cx = ((r[0] / w.max(1.0) * 8.0) as i64).clamp(0, 7);
        let cy = ((r[1] / h.max(1.0) * 8.0) as i64).clamp(0, 7);
        seen |= 1 << (cy * 8 + cx);
    }
    seen.count_ones()
}

fn coverage(pairs: &[([f32; 2], [f32; 2])], (w, h): (f32, f32)) -> f32 {
    if pairs.is_empty() || w <= 0.0 || h <= 0.0 {
        return 0.0;
    }
    let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
    for (r, _) in pairs {
        x0 = x0.min(r[0]);
        y0 = y0.min(r[1]);
        x1 = x1.max(r[0]);
        y1 = y1.max(r[1]);
    }
    ((x1 - x0) * (y1 - y0) / (w * h)).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_binomial_tail_is_exact_on_small_cases() {
        // P[Bin(4, 0.5) >= 3] = 5/16
        assert!((log10_binomial_tail(4, 3, 0.5) - (5.0f64 / 16.0).log10()).abs() < 1e-9);
        assert_eq!(log10_binomial_tail(4, 0, 0.3), 0.0);
        assert!((log10_binomial_tail(10, 10, 0.1) + 10.0).abs() < 1e-9);
    }

    #[test]
    fn more_inliers_are_less_likely_by_chance() {
        let p = 2e-3;
        let few = log10_nfa(200, 8, p);
        let many = log10_nfa(200, 30, p);
        assert!(many < few, "{many} {few}");
        // A handful of inliers among many tries with a loose tolerance is chance.
        assert!(log10_nfa(500, 6, 0.05) > 0.0);
    }
}
