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

use crate::describe::grid::GRID;
use crate::describe::rectify::bilinear;
use crate::imaging::geometry::Homography;
use crate::search::scoring::{self, Evidence};
use image::{GrayImage, imageops};

/// Candidates compared pixel by pixel: the best few, which decide the
/// verdict and the order at the top.
pub const CHECKED: usize = 2;
/// Below this share of the grid inside the photo there is too little of
/// the reference to judge it by.
const MIN_VISIBLE: f32 = 0.25;

/// Positions of the candidates to compare: the [`CHECKED`] best by score
/// with a verified outline.
pub fn chosen<'a>(evidence: impl Iterator<Item = &'a Evidence>) -> Vec<usize> {
    let mut best: Vec<(usize, f32)> = evidence
        .enumerate()
        .filter(|(_, e)| e.inliers > 0 && e.region.is_some())
        .map(|(i, e)| (i, scoring::score(e)))
        .collect();
    best.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    best.truncate(CHECKED);
    best.into_iter().map(|(i, _)| i).collect()
}

/// Gradient correlation in [-1, 1] between a reference grid and the photo
/// inside `outline` (the reference's corners TL, TR, BR, BL in `photo`'s
/// pixels); None when too little of it is in the photo or either side is
/// flat.
pub fn agreement(photo: &GrayImage, outline: &[[f32; 2]; 4], grid: &[u8]) -> Option<f32> {
    compare(photo, outline, grid).map(|c| c.0)
}

/// Side of a block, in grid cells: the reference judged in 4×4 parts.
const BLOCK: usize = 6;
/// A block's correlation at or above this: that part of the reference is
/// what the photo shows there.
const BLOCK_AGREES: f32 = 0.4;
/// A block is textured on one side when its gradient energy per cell is
/// at least this share of that side's mean (a photo's contrast is not the
/// reference's) and a few grey levels in absolute terms.
const TEXTURED_SHARE: f64 = 0.25;
const TEXTURED_FLOOR: f64 = 16.0;

/// The reference's parts compared with what the photo shows there: where
/// both have structure, they agree or differ; where only the reference
/// has, the photo is missing it (a torn fragment, glare, out of frame);
/// where only the photo has, the photo adds something the reference
/// lacks (a sticker, another picture around a shared detail).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct Blocks {
    pub agree: u8,
    pub differ: u8,
    pub missing: u8,
    pub added: u8,
}

/// The whole-picture correlation and the comparison block by block.
pub fn compare(photo: &GrayImage, outline: &[[f32; 2]; 4], grid: &[u8]) -> Option<(f32, Blocks)> {
    let n = GRID as usize;
    if grid.len() != n * n || photo.width() < 2 || photo.height() < 2 {
        return None;
    }
    let reference: Vec<f32> = grid.iter().map(|&v| v as f32).collect();
    let g = GRID as f32;
    let to_photo = Homography::from_four(&[[0.0, 0.0], [g, 0.0], [g, g], [0.0, g]], outline)?;
    let (sampled, inside) = sample(photo, &to_photo, outline)?;
    if (inside.iter().filter(|&&i| i).count() as f32) < MIN_VISIBLE * (n * n) as f32 {
        return None;
    }
    let side = n / BLOCK;
    // Per block: ab, aa, bb, cells.
    let mut parts = vec![[0f64; 4]; side * side];
    for y in 1..n - 1 {
        for x in 1..n - 1 {
            let i = y * n + x;
            if ![i, i - 1, i + 1, i - n, i + n].iter().all(|&j| inside[j]) {
                continue;
            }
            let gradient = |v: &[f32]| [v[i + 1] - v[i - 1], v[i + n] - v[i - n]];
            let (r, p) = (gradient(&reference), gradient(&sampled));
            let part = &mut parts[(y / BLOCK) * side + x / BLOCK];
            part[0] += (r[0] * p[0] + r[1] * p[1]) as f64;
            part[1] += (r[0] * r[0] + r[1] * r[1]) as f64;
            part[2] += (p[0] * p[0] + p[1] * p[1]) as f64;
            part[3] += 1.0;
        }
    }
    let [ab, aa, bb, cells] = parts.iter().fold([0f64; 4], |s, p| {
        [s[0] + p[0], s[1] + p[1], s[2] + p[2], s[3] + p[3]]
    });
    // Less than a grey level of gradient per cell: nothing to compare.
    let floor = (n * n) as f64;
    if !(aa > floor && bb > floor) {
        return None;
    }
    let whole = (ab / (aa * bb).sqrt()) as f32;
    let (mean_a, mean_b) = (aa / cells, bb / cells);
    let mut blocks = Blocks::default();
    // A block with fewer than half its cells in the photo is not judged.
    let half = (BLOCK * BLOCK / 2) as f64;
    for &[ab, aa, bb, k] in parts.iter().filter(|p| p[3] >= half) {
        let textured = |e: f64, mean: f64| e / k >= (TEXTURED_SHARE * mean).max(TEXTURED_FLOOR);
        match (textured(aa, mean_a), textured(bb, mean_b)) {
            (true, true) if (ab / (aa * bb).sqrt()) as f32 >= BLOCK_AGREES => blocks.agree += 1,
            (true, true) => blocks.differ += 1,
            (true, false) => blocks.missing += 1,
            (false, true) => blocks.added += 1,
            (false, false) => {}
        }
    }
    Some((whole, blocks))
}

/// The photo at each grid cell's centre, from a copy shrunk so that one
/// cell is about one pixel (the same averaging as the reference's grid),
/// and whether that centre is inside the photo.
fn sample(
    photo: &GrayImage,
    to_photo: &Homography,
    outline: &[[f32; 2]; 4],
) -> Option<(Vec<f32>, Vec<bool>)> {
    let area = 0.5
        * (0..4)
            .map(|i| {
                let (a, b) = (outline[i], outline[(i + 1) % 4]);
                a[0] * b[1] - b[0] * a[1]
            })
            .sum::<f32>()
            .abs();
    let cell = (area.sqrt() / GRID as f32).max(1.0);
    if !cell.is_finite() {
        return None;
    }
    let small = if cell > 1.5 {
        imageops::resize(
            photo,
            ((photo.width() as f32 / cell).round() as u32).max(2),
            ((photo.height() as f32 / cell).round() as u32).max(2),
            imageops::FilterType::Triangle,
        )
    } else {
        photo.clone()
    };
    let fx = small.width() as f32 / photo.width() as f32;
    let fy = small.height() as f32 / photo.height() as f32;
    let (w, h) = ((small.width() - 1) as f32, (small.height() - 1) as f32);
    let dims = (small.width() as usize, small.height() as usize);
    let n = GRID as usize;
    let mut values = vec![0f32; n * n];
    let mut inside = vec![false; n * n];
    for y in 0..n {
        for x in 0..n {
            let Some([px, py]) = to_photo.apply([x as f32 + 0.5, y as f32 + 0.5]) else {
                continue;
            };
            // Pixel centres: the copy's pixel i covers [i, i + 1).
            let (sx, sy) = (px * fx - 0.5, py * fy - 0.5);
            if !(0.0..=w).contains(&sx) || !(0.0..=h).contains(&sy) {
                continue;
            }
            values[y * n + x] = bilinear::<1>(small.as_raw(), dims, sx, sy)[0];
            inside[y * n + x] = true;
        }
    }
    Some((values, inside))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::describe::grid::grid;
    use image::{DynamicImage, Luma};

    fn picture(seed: u32) -> GrayImage {
        GrayImage::from_fn(300, 200, |x, y| {
            let v = ((x / 25 + y / 20 + seed) % 3) * 90 + ((x * seed + y) % 7) * 3;
            Luma([v as u8])
        })
    }

    fn grid_of(g: &GrayImage) -> Vec<u8> {
        grid(&DynamicImage::ImageLuma8(g.clone()).to_rgb8())
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
        let other = agreement(&photo, &outline, &grid_of(&picture(2))).unwrap();
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
        let (_, whole) = compare(&photo, &outline, &g).unwrap();
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
        let (_, part) = compare(&photo, &outline, &g).unwrap();
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
        let (_, fragment) = compare(&photo, &outline, &g).unwrap();
        // (The torn edge is structure the reference lacks: one column.)
        assert!(
            fragment.missing >= 4 && fragment.differ <= 4,
            "{fragment:?}"
        );
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
