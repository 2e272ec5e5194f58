//! A reference photographed on a plain backdrop: which of its grid cells
//! are the object, so that the pixel comparison (`crate::search::pixels`)
//! judges the object and not what it stood on.
//!
//! A catalogue photographs a sculpture, a coin or a vase on white or grey;
//! a seized one is photographed on a table, a cloth, a car seat. Around the
//! object the reference is flat and the photo is not, which the parts
//! already call `added`, not a difference. But the object's silhouette is
//! an edge against the backdrop in the reference and against anything in
//! the photo, of any strength and either sign: compared as it was, it made
//! true views of cut-out objects `differ` part by part (dev split: 27% of
//! them right and `match`, against 86% of the other photos).

use crate::describe::grid::GRID;

/// A grid cell is the backdrop's when it is within this many grey levels of
/// the backdrop's median (JPEG noise and a studio sweep's gentle fall-off
/// stay within it; an object's own pale parts, mostly, do not).
const BACKDROP_TOLERANCE: f32 = 12.0;
/// A reference has a backdrop only when this share of its border cells is
/// one grey: a painting's edge is rarely one colour all round.
const BACKDROP_BORDER_SHARE: f32 = 0.7;
/// …and only where the object covers at least this share of the grid: a
/// drawing's paper reaches between its lines, and a small object says too
/// little; the paper is then part of the picture.
const MIN_OBJECT_SHARE: f32 = 0.25;

/// What a grid cell of the reference is to the comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cell {
    /// Compared as it is.
    Object,
    /// Its gradient stencil (the cell and its four neighbours) meets the
    /// backdrop: the object's outline, compared by its direction alone,
    /// since its contrast is the backdrop's.
    Silhouette,
    /// The backdrop: not compared.
    Backdrop,
}

/// Each cell of the reference's grid (grey, row by row): all
/// [`Cell::Object`] but where the reference stands on a plain backdrop.
pub fn cells(reference: &[f32]) -> Vec<Cell> {
    let n = GRID as usize;
    let mut cells = vec![Cell::Object; n * n];
    let Some(backdrop) = backdrop(reference) else {
        return cells;
    };
    for (i, c) in cells.iter_mut().enumerate() {
        // The gradient's stencil: the cell and its four neighbours.
        let stencil = || std::iter::once(i).chain(neighbours(i));
        let on_backdrop = stencil().filter(|&j| backdrop[j]).count();
        *c = match on_backdrop {
            0 => Cell::Object,
            k if k == stencil().count() => Cell::Backdrop,
            _ => Cell::Silhouette,
        };
    }
    let object = cells.iter().filter(|&&c| c != Cell::Backdrop).count();
    if (object as f32) < MIN_OBJECT_SHARE * (n * n) as f32 {
        cells.fill(Cell::Object);
    }
    cells
}

/// A gradient with its sign taken off: its angle doubled, its length kept,
/// so that an edge agrees with itself whichever side is the brighter.
pub fn unsigned([x, y]: [f32; 2]) -> [f32; 2] {
    let length = (x * x + y * y).sqrt();
    match length > 0.0 {
        true => [(x * x - y * y) / length, 2.0 * x * y / length],
        false => [0.0, 0.0],
    }
}

/// The backdrop's cells: those within [`BACKDROP_TOLERANCE`] of the border's
/// median grey and connected to the border through such cells; None where
/// the border is not one grey ([`BACKDROP_BORDER_SHARE`]).
fn backdrop(reference: &[f32]) -> Option<Vec<bool>> {
    let n = GRID as usize;
    if reference.len() != n * n {
        return None;
    }
    let border: Vec<usize> = (0..n * n)
        .filter(|&i| i / n == 0 || i / n == n - 1 || i % n == 0 || i % n == n - 1)
        .collect();
    let mut greys: Vec<f32> = border.iter().map(|&i| reference[i]).collect();
    greys.sort_by(f32::total_cmp);
    let median = greys[greys.len() / 2];
    let plain = |i: usize| (reference[i] - median).abs() <= BACKDROP_TOLERANCE;
    let seeds: Vec<usize> = border.into_iter().filter(|&i| plain(i)).collect();
    if (seeds.len() as f32) < BACKDROP_BORDER_SHARE * greys.len() as f32 {
        return None;
    }
    let mut backdrop = vec![false; n * n];
    let mut stack = seeds;
    while let Some(i) = stack.pop() {
        if backdrop[i] {
            continue;
        }
        backdrop[i] = true;
        stack.extend(neighbours(i).filter(|&j| !backdrop[j] && plain(j)));
    }
    Some(backdrop)
}

/// The grid cells left, right, above and below cell `i`, where there are.
fn neighbours(i: usize) -> impl Iterator<Item = usize> {
    let n = GRID as usize;
    let (y, x) = (i / n, i % n);
    [
        (x > 0).then(|| i - 1),
        (x + 1 < n).then_some(i + 1),
        (y > 0).then(|| i - n),
        (y + 1 < n).then_some(i + n),
    ]
    .into_iter()
    .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A grid with a textured disc on a flat backdrop of `grey`.
    fn disc_on(grey: f32) -> Vec<f32> {
        let n = GRID as usize;
        (0..n * n)
            .map(|i| {
                let (y, x) = ((i / n) as f32 - 11.5, (i % n) as f32 - 11.5);
                match x * x + y * y < 64.0 {
                    true => 60.0 + ((i * 37) % 90) as f32,
                    false => grey,
                }
            })
            .collect()
    }

    #[test]
    fn an_object_on_a_plain_backdrop_is_compared_inside_its_silhouette() {
        let n = GRID as usize;
        let cells = cells(&disc_on(245.0));
        assert_eq!(cells[12 * n + 12], Cell::Object);
        assert_eq!(cells[0], Cell::Backdrop);
        assert_eq!(cells[12 * n + 4], Cell::Silhouette);
        let object = cells.iter().filter(|&&c| c == Cell::Object).count();
        assert!(object > 80 && object < 200, "{object}");
    }

    #[test]
    fn a_picture_without_a_backdrop_is_compared_everywhere() {
        let n = GRID as usize;
        let painting: Vec<f32> = (0..n * n).map(|i| ((i * 53) % 200) as f32).collect();
        assert!(cells(&painting).iter().all(|&c| c == Cell::Object));
    }

    #[test]
    fn an_edge_agrees_with_itself_in_either_contrast() {
        let (dark_to_light, light_to_dark) = (unsigned([3.0, 4.0]), unsigned([-3.0, -4.0]));
        assert_eq!(dark_to_light, light_to_dark);
        let length = |[x, y]: [f32; 2]| (x * x + y * y).sqrt();
        assert!((length(dark_to_light) - 5.0).abs() < 1e-5);
        // A crossing edge (at right angles) is the opposite, not unrelated.
        let crossing = unsigned([4.0, -3.0]);
        assert!(dark_to_light[0] * crossing[0] + dark_to_light[1] * crossing[1] < 0.0);
    }
}
