//! The outline a pixel comparison is made at (`crate::search::pixels`),
//! refined by the pixels themselves.
//!
//! A transform fitted to a few inliers in one part of a picture is right
//! there and off at the far corners, by a different amount for each
//! re-encoding of the photo; the pixel and outline evidence inherited
//! that error (docs/decisions.md, "2026-12-06 — The outline refined by
//! the pixels"). Here the outline's corners move, coarse to fine, to
//! where the photo's gradients best correlate with the reference's grid.

use super::backdrop::Cell;
use super::pixels::cell_gradients;
use super::shrunk::Grey;
use crate::describe::grid::GRID;

/// An outline is refined only where the photo shows at least this share
/// of the reference: fitted to a small part, eight corner coordinates
/// would make unrelated gradients agree.
const REFINE_MIN_SHOWN: f32 = 0.5;
/// A refined outline replaces the verified one only where it agrees this
/// much better: twice the change of a fixed outline's agreement between
/// a photo and its re-encoded copy (about 0.025); less is the coarse
/// grid's sampling noise, and a transform proved by many inliers is
/// more exact than the grid.
pub(super) const REFINE_GAIN: f32 = 0.05;
/// Steps of the outline's refinement, in grid cells: coarse to fine.
const REFINE_STEPS: [f32; 4] = [1.0, 0.5, 0.25, 0.125];
/// Passes over the eight corner coordinates at each step.
const REFINE_PASSES: usize = 3;
/// No corner moves further than this many cells from where the verified
/// transform put it.
const REFINE_REACH: f32 = 3.0;

/// The whole-picture gradient correlation at `outline` and the grid cells
/// it compares, the backdrop's left out (`crate::search::backdrop`); None
/// when either side is flat there.
fn correlation(
    shrunk: &Grey,
    outline: &[[f32; 2]; 4],
    reference: &[f32],
    cells: &[Cell],
) -> Option<(f32, usize)> {
    let (sampled, inside) = shrunk.sample(outline)?;
    let (mut ab, mut aa, mut bb, mut k) = (0f64, 0f64, 0f64, 0usize);
    for (_, r, p) in cell_gradients(reference, &sampled, &inside, cells) {
        let Some(p) = p else { continue };
        ab += (r[0] * p[0] + r[1] * p[1]) as f64;
        aa += (r[0] * r[0] + r[1] * r[1]) as f64;
        bb += (p[0] * p[0] + p[1] * p[1]) as f64;
        k += 1;
    }
    (aa > 0.0 && bb > 0.0).then(|| ((ab / (aa * bb).sqrt()) as f32, k))
}

/// The outline moved, corner by corner, to where the photo's gradients
/// best correlate with the reference's (a pattern search, coarse to fine,
/// within [`REFINE_REACH`] cells; never with fewer cells in the photo),
/// with its correlation there and at `outline` ([`f32::MIN`] where
/// either side is flat). A transform fitted to a few inliers in one part
/// of the picture is right there and off elsewhere, by a different amount
/// for each re-encoding of the photo; the pixels themselves decide the rest.
pub(super) fn refine(
    shrunk: &Grey,
    outline: &[[f32; 2]; 4],
    reference: &[f32],
    cells: &[Cell],
) -> Refined {
    let score = |q: &[[f32; 2]; 4]| correlation(shrunk, q, reference, cells);
    let Some((start, shown)) = score(outline) else {
        return Refined {
            outline: *outline,
            correlation: f32::MIN,
            start: f32::MIN,
        };
    };
    let mut best = start;
    let n = GRID as usize;
    let inner = |i: &usize| (1..n - 1).contains(&(i / n)) && (1..n - 1).contains(&(i % n));
    let comparable = (0..n * n).filter(|i| inner(i) && cells[*i] != Cell::Backdrop);
    if (shown as f32) < REFINE_MIN_SHOWN * comparable.count() as f32 {
        return Refined {
            outline: *outline,
            correlation: best,
            start,
        };
    }
    let mut current = *outline;
    let reach = REFINE_REACH * shrunk.cell;
    for step in REFINE_STEPS.map(|s| s * shrunk.cell) {
        for _ in 0..REFINE_PASSES {
            let mut moved = false;
            for c in 0..8 {
                let (corner, axis) = (c / 2, c % 2);
                for delta in [step, -step] {
                    let mut q = current;
                    q[corner][axis] += delta;
                    if (q[corner][axis] - outline[corner][axis]).abs() > reach {
                        continue;
                    }
                    if let Some((r, k)) = score(&q)
                        && r > best
                        && k >= shown
                    {
                        (best, current, moved) = (r, q, true);
                        break;
                    }
                }
            }
            if !moved {
                break;
            }
        }
    }
    Refined {
        outline: current,
        correlation: best,
        start,
    }
}

/// An outline refined by [`refine`].
pub(super) struct Refined {
    pub outline: [[f32; 2]; 4],
    /// The correlation at the refined outline…
    pub correlation: f32,
    /// …and at the outline it started from.
    pub start: f32,
}
