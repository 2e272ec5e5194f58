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
    let (mut ab, mut aa, mut bb) = (0f64, 0f64, 0f64);
    for y in 1..n - 1 {
        for x in 1..n - 1 {
            let i = y * n + x;
            if ![i, i - 1, i + 1, i - n, i + n].iter().all(|&j| inside[j]) {
                continue;
            }
            let gradient = |v: &[f32]| [v[i + 1] - v[i - 1], v[i + n] - v[i - n]];
            let (r, p) = (gradient(&reference), gradient(&sampled));
            ab += (r[0] * p[0] + r[1] * p[1]) as f64;
            aa += (r[0] * r[0] + r[1] * r[1]) as f64;
            bb += (p[0] * p[0] + p[1] * p[1]) as f64;
        }
    }
    // Less than a grey level of gradient per cell: nothing to compare.
    let floor = (n * n) as f64;
    (aa > floor && bb > floor).then(|| (ab / (aa * bb).sqrt()) as f32)
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
