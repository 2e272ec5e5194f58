//! Pixel agreement: does the photo, inside the verified outline, look like
//! the reference, or only share a few details with it?
//!
//! Local features prove that some corners agree on one transform. Two
//! different drawings built from the same clip-art (a light bulb, a
//! rounded frame, a boat) do that too, with twenty inliers, and so do two
//! states of a print. Carrying the whole reference into the photo with the
//! verified transform and comparing what lies there tells them apart: a
//! true view agrees over the whole picture, a look-alike only on the part
//! it shares.
//!
//! The comparison is the correlation of intensity gradients on a
//! [`GRID`]×[`GRID`] grid over the reference, with the photo sampled at the
//! grid's image under the transform and at the same scale. Gradients, and
//! their correlation, ignore the brightness, contrast and colour cast of
//! the photo; the coarse grid ignores blur, noise, compression and small
//! errors of the transform. True views mostly agree highly and negative
//! queries' best candidates hardly at all, but glare, a hand or a steep
//! angle lower a true view's agreement too (docs/decisions.md,
//! "2026-12-01 — Pixel agreement inside a verified outline").

use super::align::{REFINE_GAIN, refine};
use super::backdrop::{self, Cell};
use super::shrunk::{Grey, Shrunk};
use crate::describe::describer::QueryDescriptors;
use crate::describe::grid::{self, GRID};
use crate::describe::quad;
use crate::search::candidates::outline_error;
use crate::search::colour;
use crate::search::parts::{BLOCK, Blocks, FINE_BLOCK, Part, SHOWN_SHARE};
use crate::search::scoring::{self, Evidence};
use image::GrayImage;

/// Candidates compared pixel by pixel: the best few, which decide the
/// verdict and the order at the top…
pub const CHECKED: usize = 2;
/// …and any other whose local evidence alone would make a `match`, so
/// that no candidate is called `match` without its whole picture judged
/// (a sticker of one reference on a photo of another), up to this many.
pub const CHECKED_MAX: usize = 8;
/// A photo outline this close to a verified one (corner error over its
/// size) is also tried as the place of the reference in the photo.
const NEAR_OUTLINE: f32 = 0.5;
/// Below this share of the grid inside the photo there is too little of
/// the reference to judge it by.
const MIN_VISIBLE: f32 = 0.25;

/// Positions of the candidates to compare: those with a verified outline,
/// the [`CHECKED`] best by score and then any that would be a `match`.
pub fn chosen<'a>(evidence: impl Iterator<Item = &'a Evidence>) -> Vec<usize> {
    let mut best: Vec<(usize, f32)> = evidence
        .enumerate()
        .filter(|(_, e)| e.inliers > 0 && e.region.is_some())
        .map(|(i, e)| (i, scoring::strength_score(e)))
        .collect();
    best.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let would_match = best
        .iter()
        .filter(|(_, s)| *s >= scoring::MATCH_THRESHOLD)
        .count();
    best.truncate(would_match.clamp(CHECKED, CHECKED_MAX));
    best.into_iter().map(|(i, _)| i).collect()
}

/// Positions of the candidates that would be a `match` by their local
/// evidence, with a verified outline, but are not among `chosen`: beyond
/// [`CHECKED_MAX`], they are not judged, so they are no `match`.
pub fn left_out<'a>(evidence: impl Iterator<Item = &'a Evidence>, chosen: &[usize]) -> Vec<usize> {
    evidence
        .enumerate()
        .filter(|(i, e)| {
            e.inliers > 0
                && e.region.is_some()
                && scoring::strength_score(e) >= scoring::MATCH_THRESHOLD
                && !chosen.contains(i)
        })
        .map(|(i, _)| i)
        .collect()
}

/// Gradient correlation in [-1, 1] between a reference grid and the photo
/// inside `outline` (the reference's corners TL, TR, BR, BL in `photo`'s
/// pixels); None when too little of it is in the photo or either side is
/// flat.
pub fn agreement(photo: &GrayImage, outline: &[[f32; 2]; 4], grid: &[u8]) -> Option<f32> {
    compare(photo, &[*outline], grid, true).and_then(|c| c.whole)
}

/// What the photo shows where the reference should be.
#[derive(Debug, Clone, Copy)]
pub struct Comparison {
    /// The whole-picture correlation (None when too little of the
    /// reference is in the photo, or either side is flat there).
    pub whole: Option<f32>,
    pub blocks: Blocks,
    /// The outline compared: the start that refined best.
    pub outline: [[f32; 2]; 4],
    /// Which of the starts it was refined from.
    pub start: usize,
    /// The colours' agreement at `outline` (`crate::search::colour`), where
    /// both sides have colours to compare.
    pub colour: Option<f32>,
}

/// A block's correlation at or above this: that part of the reference is
/// what the photo shows there.
const BLOCK_AGREES: f32 = 0.4;
/// A block is textured on one side when its gradient energy per cell is
/// at least this share of that side's mean (a photo's contrast is not the
/// reference's) and a few grey levels in absolute terms.
const TEXTURED_SHARE: f64 = 0.25;
const TEXTURED_FLOOR: f64 = 16.0;

/// The photo compared with the reference at the best of `starts` (the
/// verified outline first, then outlines found in the photo near it), each
/// refined by the pixels ([`refine`]): the whole-picture correlation and
/// the comparison block by block. A reference on a plain backdrop is read
/// both as it is and, unless it is a `picture` (its record's type,
/// `crate::records::record::is_picture`), as the object off its backdrop
/// ([`backdrop::cells`]); the photo is judged by the reading it supports
/// more. None only for a degenerate outline or reference, or no start.
pub fn compare(
    photo: &GrayImage,
    starts: &[[[f32; 2]; 4]],
    grid: &[u8],
    picture: bool,
) -> Option<Comparison> {
    let n = GRID as usize;
    if grid.len() != n * n || photo.width() < 2 || photo.height() < 2 {
        return None;
    }
    let reference: Vec<f32> = grid.iter().map(|&v| v as f32).collect();
    let shrunk = Shrunk::new(photo, starts.first()?)?;
    let as_printed = compare_at(&shrunk, starts, &reference, &vec![Cell::Object; n * n]);
    let cells = match picture {
        true => return as_printed,
        false => backdrop::cells(&reference),
    };
    if cells.iter().all(|&c| c == Cell::Object) {
        return as_printed;
    }
    // On a plain backdrop the reference may be photographed on it (a print,
    // a catalogue page) or off it (the object itself on a table): the photo
    // is judged by the reading in which it shows more of the reference (the
    // part rule's margin, then the whole correlation); as printed on a tie.
    let cut_out = compare_at(&shrunk, starts, &reference, &cells).map(|mut c| {
        c.blocks.off_backdrop = true;
        c
    });
    let support = |c: &Option<Comparison>| {
        c.as_ref().map_or((f32::MIN, f32::MIN), |c| {
            let margin = c.blocks.shown_margin(SHOWN_SHARE);
            (margin.unwrap_or(f32::MIN), c.whole.unwrap_or(f32::MIN))
        })
    };
    match support(&cut_out) > support(&as_printed) {
        true => cut_out,
        false => as_printed,
    }
}

/// [`compare`] with the reference's grid `cells` as [`backdrop::cells`]
/// says (all [`Cell::Object`]: as it is).
fn compare_at(
    shrunk: &Grey,
    starts: &[[[f32; 2]; 4]],
    reference: &[f32],
    cells: &[Cell],
) -> Option<Comparison> {
    let refined: Vec<_> = starts
        .iter()
        .map(|s| refine(shrunk, s, reference, cells))
        .collect();
    // The parts are judged where the local features put the reference:
    // refined, unrelated parts around a shared detail agree more often
    // than [`crate::search::parts::CHANCE_AGREE`] says.
    let (at_verified, blocks) = judge(shrunk, &starts[0], reference, cells)?;
    let mut best = (0, starts[0], refined[0].start + REFINE_GAIN);
    for (k, r) in refined.iter().enumerate() {
        if r.correlation >= best.2 {
            best = (k, r.outline, r.correlation);
        }
    }
    let (start, outline, _) = best;
    let whole = match outline == starts[0] {
        true => at_verified,
        false => judge(shrunk, &outline, reference, cells)?.0,
    };
    Some(Comparison {
        whole,
        blocks,
        outline,
        start,
        colour: None,
    })
}

fn judge(
    shrunk: &Grey,
    outline: &[[f32; 2]; 4],
    reference: &[f32],
    cells: &[Cell],
) -> Option<(Option<f32>, Blocks)> {
    let n = GRID as usize;
    let (sampled, inside) = shrunk.sample(outline)?;
    let visible = inside.iter().filter(|&&i| i).count() as f32 >= MIN_VISIBLE * (n * n) as f32;
    let parts = part_sums(reference, &sampled, &inside, cells, BLOCK);
    let [ab, aa, bb, compared, own_energy, _, cells_all] =
        parts.iter().fold([0f64; 7], |mut s, p| {
            s.iter_mut().zip(p).for_each(|(s, p)| *s += p);
            s
        });
    // Less than a grey level of gradient per cell: nothing to compare.
    let floor = (n * n) as f64;
    let whole = (visible && aa > floor && bb > floor).then(|| (ab / (aa * bb).sqrt()) as f32);
    // The reference's texture is judged against its own mean over the
    // whole picture, so that what the photo shows does not change it.
    if own_energy <= floor {
        return None; // a flat reference: no part of it to judge
    }
    let means = [own_energy / cells_all, bb / compared.max(1.0)];
    let mut blocks = Blocks::default();
    // A block with fewer than half its cells in the photo is not judged
    // (of its cells not the backdrop's).
    let half = (BLOCK * BLOCK / 2) as f64;
    for (b, sums) in parts.iter().enumerate() {
        let part = part_of(sums, half * sums[5] / sums[6].max(1.0), means);
        blocks.tally(part);
        blocks.map.0[b] = part;
    }
    // The finer parts: one with fewer than half of its cells in the photo
    // is outside it.
    for sums in part_sums(reference, &sampled, &inside, cells, FINE_BLOCK)
        .iter()
        .filter(|s| s[6] > 0.0)
    {
        blocks.fine.tally(part_of(sums, sums[5] / 2.0, means));
    }
    Some((whole, blocks))
}

/// Per part of `block` × `block` grid cells, row by row: the gradients'
/// ab, aa, bb and the cells compared; the reference's own gradient energy
/// and cells, inside the photo or not; and its cells, the backdrop's
/// included.
fn part_sums(
    reference: &[f32],
    sampled: &[f32],
    inside: &[bool],
    cells: &[Cell],
    block: usize,
) -> Vec<[f64; 7]> {
    let n = GRID as usize;
    let side = n / block;
    let mut parts = vec![[0f64; 7]; side * side];
    for i in (1..n - 1).flat_map(|y| (1..n - 1).map(move |x| y * n + x)) {
        parts[(i / n / block) * side + (i % n) / block][6] += 1.0;
    }
    for (i, r, p) in cell_gradients(reference, sampled, inside, cells) {
        let part = &mut parts[(i / n / block) * side + (i % n) / block];
        part[4] += (r[0] * r[0] + r[1] * r[1]) as f64;
        part[5] += 1.0;
        let Some(p) = p else { continue };
        part[0] += (r[0] * p[0] + r[1] * p[1]) as f64;
        part[1] += (r[0] * r[0] + r[1] * r[1]) as f64;
        part[2] += (p[0] * p[0] + p[1] * p[1]) as f64;
        part[3] += 1.0;
    }
    parts
}

/// What one part is in the photo, from its [`part_sums`]: outside it where
/// fewer than `shown` of its cells were compared; textured on a side where
/// its energy per cell reaches [`TEXTURED_SHARE`] of that side's mean
/// (`[reference, photo]`).
fn part_of(
    &[ab, aa, bb, k, own_e, own_k, all_k]: &[f64; 7],
    shown: f64,
    [mean_a, mean_b]: [f64; 2],
) -> Part {
    let textured = |e: f64, k: f64, mean: f64| e / k >= (TEXTURED_SHARE * mean).max(TEXTURED_FLOOR);
    if own_k == 0.0 {
        return Part::Unjudged; // all backdrop
    }
    // Textured or not over all its cells: the backdrop's are flat, and a
    // part's texture does not depend on whether the photo shows it.
    if k < shown {
        return match textured(own_e, all_k, mean_a) {
            true => Part::Outside,
            false => Part::Unjudged,
        };
    }
    match (textured(aa, k, mean_a), textured(bb, k, mean_b)) {
        (true, true) if (ab / (aa * bb).sqrt()) as f32 >= BLOCK_AGREES => Part::Agree,
        (true, true) => Part::Differ,
        (true, false) => Part::Missing,
        (false, true) => Part::Added,
        (false, false) => Part::Unjudged,
    }
}

/// Each interior grid cell (its index) not on the reference's backdrop,
/// the reference's intensity gradient there, and the photo's where the
/// cell and its four neighbours are in the photo; on the object's
/// silhouette, both without their sign ([`backdrop::unsigned`]), since
/// the edge's contrast there is the backdrop's.
pub(super) fn cell_gradients<'a>(
    reference: &'a [f32],
    sampled: &'a [f32],
    inside: &'a [bool],
    cells: &'a [Cell],
) -> impl Iterator<Item = (usize, [f32; 2], Option<[f32; 2]>)> + 'a {
    let n = GRID as usize;
    (1..n - 1)
        .flat_map(move |y| (1..n - 1).map(move |x| y * n + x))
        .filter(move |&i| cells[i] != Cell::Backdrop)
        .map(move |i| {
            let gradient = |v: &[f32]| [v[i + 1] - v[i - 1], v[i + n] - v[i - n]];
            let shown = [i, i - 1, i + 1, i - n, i + n].iter().all(|&j| inside[j]);
            let (r, p) = (gradient(reference), shown.then(|| gradient(sampled)));
            match cells[i] {
                Cell::Silhouette => (i, backdrop::unsigned(r), p.map(backdrop::unsigned)),
                _ => (i, r, p),
            }
        })
}

/// Compares the photo (`query.grey`) with a candidate's reference grid as
/// the store keeps it (`crate::describe::grid`), starting from its
/// verified outline `region` (photo pixels) and from each outline found in
/// the photo near it: where the transform is off, the picture's edges may
/// not be. Its colours are compared where the grey grid is compared best.
pub fn compare_candidate(
    query: &QueryDescriptors,
    region: &[[f32; 2]; 4],
    kept: &[u8],
    picture: bool,
) -> Option<Comparison> {
    let grey = grid::grey(kept)?;
    let s = query.grey.width() as f32 / query.width.max(1) as f32;
    let starts: Vec<[[f32; 2]; 4]> = std::iter::once(*region)
        .chain(
            query
                .regions
                .iter()
                .filter(|r| quad::corner_error(region, &r.outline) < NEAR_OUTLINE)
                .map(|r| quad::aligned(region, &r.outline)),
        )
        .map(|q| q.map(|[x, y]| [x * s, y * s]))
        .collect();
    let mut c = compare(&query.grey, &starts, &grey, picture)?;
    let k = query.colour.width() as f32 / query.width.max(1) as f32;
    c.colour = grid::colour(kept).and_then(|rgb| {
        let outline = c.outline.map(|[x, y]| [x / s * k, y / s * k]);
        colour::agreement(&query.colour, &outline, rgb, &c.blocks.agreeing_cells())
    });
    Some(c)
}

/// Records a comparison in the candidate's evidence. Where the pixels
/// confirm the whole picture, the outline they agree best at is the
/// object's outline: its fit to the photo's outlines is measured there.
pub fn record(query: &QueryDescriptors, e: &mut Evidence, c: Option<Comparison>) {
    let s = query.grey.width() as f32 / query.width.max(1) as f32;
    e.pixel_agreement = c.and_then(|c| c.whole);
    e.pixel_blocks = c.map(|c| c.blocks);
    e.colour_agreement = c.and_then(|c| c.colour);
    if let Some(c) = c.filter(|c| c.whole.is_some_and(|w| w >= scoring::PIXEL_FLOOR)) {
        let region = c.outline.map(|[x, y]| [x / s, y / s]);
        e.outline_error = outline_error(query, &region, None);
        e.region = Some(region);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::describe::grid::grid;
    use crate::search::parts::PARTS_SIDE;
    use image::{DynamicImage, Luma, imageops};

    fn picture(seed: u32) -> GrayImage {
        GrayImage::from_fn(300, 200, |x, y| {
            let v = ((x / 25 + y / 20 + seed) % 3) * 90 + ((x * seed + y) % 7) * 3;
            Luma([v as u8])
        })
    }

    /// A picture that is not `picture(1)` at any shift: `picture(2)` is
    /// `picture(1)` moved by a stripe, and after refinement agrees with it
    /// as a shifted copy would.
    fn unrelated() -> GrayImage {
        GrayImage::from_fn(300, 200, |x, y| {
            let v = ((x * x / 97 + y * y / 61 + x * y / 53) % 5) * 50;
            Luma([v as u8])
        })
    }

    fn grid_of(g: &GrayImage) -> Vec<u8> {
        crate::describe::grid::grey(&grid(&DynamicImage::ImageLuma8(g.clone()).to_rgb8())).unwrap()
    }

    /// `inner` pasted into a larger, darker photo at (100, 50), twice as big.
    fn photo_of(inner: &GrayImage) -> (GrayImage, [[f32; 2]; 4]) {
        let big = imageops::resize(inner, 600, 400, imageops::FilterType::Triangle);
        let mut photo = GrayImage::from_pixel(800, 500, Luma([30]));
        imageops::replace(&mut photo, &big, 100, 50);
        let outline = [[100.0, 50.0], [700.0, 50.0], [700.0, 450.0], [100.0, 450.0]];
        (photo, outline)
    }

    #[test]
    fn the_same_picture_agrees_and_another_does_not() {
        let (photo, outline) = photo_of(&picture(1));
        let same = agreement(&photo, &outline, &grid_of(&picture(1))).unwrap();
        assert!(same > 0.9, "{same}");
        let other = agreement(&photo, &outline, &grid_of(&unrelated())).unwrap();
        assert!(other < 0.5, "{other}");
        // Brightness and contrast do not matter.
        let mut washed = photo.clone();
        washed.pixels_mut().for_each(|p| p[0] = 60 + p[0] / 3);
        let washed = agreement(&washed, &outline, &grid_of(&picture(1))).unwrap();
        assert!(washed > 0.9, "{washed}");
    }

    #[test]
    fn blocks_tell_a_shared_part_from_the_whole_picture_and_a_torn_one() {
        let reference = picture(1);
        let g = grid_of(&reference);
        let (photo, outline) = photo_of(&reference);
        let whole = compare(&photo, &[outline], &g, false).unwrap().blocks;
        assert!(whole.agree >= 12 && whole.differ == 0, "{whole:?}");
        // The reference's left half in another picture: the right half differs.
        let mut shared = picture(2);
        imageops::replace(
            &mut shared,
            &imageops::crop_imm(&reference, 0, 0, 150, 200).to_image(),
            0,
            0,
        );
        let (photo, outline) = photo_of(&shared);
        let part = compare(&photo, &[outline], &g, false).unwrap().blocks;
        assert!(part.differ >= 4 && part.agree >= 4, "{part:?}");
        // Only the left half, torn off on a plain table: the rest is missing.
        let mut torn = GrayImage::from_pixel(300, 200, Luma([200]));
        imageops::replace(
            &mut torn,
            &imageops::crop_imm(&reference, 0, 0, 150, 200).to_image(),
            0,
            0,
        );
        let (photo, outline) = photo_of(&torn);
        let fragment = compare(&photo, &[outline], &g, false).unwrap().blocks;
        // (The torn edge is structure the reference lacks: one column.)
        assert!(
            fragment.missing >= 4 && fragment.differ <= 4,
            "{fragment:?}"
        );
    }

    #[test]
    fn an_outline_off_at_its_far_corners_is_refined_by_the_pixels() {
        let reference = picture(1);
        let g = grid_of(&reference);
        let (photo, outline) = photo_of(&reference);
        // As a transform fitted to inliers on the left only: right on the
        // left, two cells (50 px) off on the right.
        let mut skewed = outline;
        skewed[1][1] += 40.0;
        skewed[2][0] -= 50.0;
        let shrunk = Shrunk::new(&photo, &skewed).unwrap();
        let r: Vec<f32> = g.iter().map(|&v| v as f32).collect();
        let cells = backdrop::cells(&r);
        let before = judge(&shrunk, &skewed, &r, &cells).unwrap().0.unwrap();
        let c = compare(&photo, &[skewed], &g, false).unwrap();
        let after = c.whole.unwrap();
        assert!(after > 0.9 && after > before + 0.1, "{before} -> {after}");
        let off = c
            .outline
            .iter()
            .zip(&outline)
            .map(|(a, b)| (a[0] - b[0]).hypot(a[1] - b[1]))
            .fold(0f32, f32::max);
        assert!(off < 15.0, "{:?}", c.outline);
        // The parts are judged where the features put the reference.
        assert_eq!(c.blocks, judge(&shrunk, &skewed, &r, &cells).unwrap().1);
        // A right outline stays where the transform put it: what the
        // grid could gain there is its own sampling noise.
        let right = compare(&photo, &[outline], &g, false).unwrap();
        assert_eq!(right.outline, outline);
    }

    #[test]
    fn an_outline_of_the_photo_is_tried_where_the_transform_is_far_off() {
        let reference = picture(1);
        let g = grid_of(&reference);
        let (photo, outline) = photo_of(&reference);
        let far = outline.map(|[x, y]| [x + 120.0, y + 70.0]);
        let c = compare(&photo, &[far, outline], &g, false).unwrap();
        assert_eq!(c.start, 1);
        assert!(c.whole.unwrap() > 0.9);
        // Refined, an unrelated picture still does not agree.
        let other = compare(&photo, &[far, outline], &grid_of(&unrelated()), false).unwrap();
        assert!(other.whole.unwrap() < 0.5, "{:?}", other.whole);
    }

    #[test]
    fn the_map_says_which_part_is_which() {
        let reference = picture(1);
        let g = grid_of(&reference);
        let (photo, _) = photo_of(&reference);
        // The outline shifted right by half the picture: its left half is
        // in the photo over the picture's right half, its right half on the
        // wall or outside.
        let outline = [
            [400.0, 50.0],
            [1000.0, 50.0],
            [1000.0, 450.0],
            [400.0, 450.0],
        ];
        let blocks = compare(&photo, &[outline], &g, false).unwrap().blocks;
        let map = serde_json::to_value(blocks.map).unwrap();
        let map = map.as_str().unwrap();
        assert_eq!(map.len(), PARTS_SIDE * PARTS_SIDE + PARTS_SIDE - 1, "{map}");
        assert!(blocks.outside >= 4, "{blocks:?}");
        for row in map.split(' ') {
            assert!(row.ends_with('o'), "{map}");
        }
    }

    #[test]
    fn only_references_cheap_to_decode_are_compared() {
        assert!(crate::describe::describer::worth_decoding((4000, 3000)));
        assert!(!crate::describe::describer::worth_decoding((
            10_000, 10_000
        )));
    }

    #[test]
    fn an_outline_mostly_outside_the_photo_or_a_flat_one_is_not_judged() {
        let (photo, _) = photo_of(&picture(1));
        let outside = [
            [700.0, 400.0],
            [2700.0, 400.0],
            [2700.0, 1900.0],
            [700.0, 1900.0],
        ];
        assert_eq!(agreement(&photo, &outside, &grid_of(&picture(1))), None);
        let flat = GrayImage::from_pixel(100, 100, Luma([128]));
        let inside = [[100.0, 50.0], [700.0, 50.0], [700.0, 450.0], [100.0, 450.0]];
        assert_eq!(agreement(&photo, &inside, &grid_of(&flat)), None);
    }
}
