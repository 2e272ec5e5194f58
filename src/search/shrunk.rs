//! The photo shrunk so that one grid cell of an outline is about one pixel
//! (the same averaging as the reference's grid), read at the cells'
//! centres: the one geometry the pixel comparison (`crate::search::pixels`),
//! its outline's refinement (`align`) and the colour agreement
//! ([`crate::search::colour`]) share, in grey or in colour.

use crate::describe::grid::GRID;
use crate::describe::rectify::bilinear;
use crate::imaging::geometry::{Homography, area};
use image::{ImageBuffer, Luma, Pixel, imageops};
use std::borrow::Cow;

/// A photo of `P` pixels, shrunk for one outline's grid cells.
pub(super) struct Shrunk<'a, P: Pixel<Subpixel = u8>> {
    small: Cow<'a, ImageBuffer<P, Vec<u8>>>,
    /// Photo pixels to the copy's pixels, per axis.
    scale: (f32, f32),
    /// Side of a grid cell in photo pixels.
    pub cell: f32,
}

/// The grey photo the pixel comparison reads.
pub(super) type Grey<'a> = Shrunk<'a, Luma<u8>>;

impl<'a, P: Pixel<Subpixel = u8> + 'static> Shrunk<'a, P> {
    /// The copy for `outline`'s cells (the reference's corners TL, TR, BR,
    /// BL in `photo`'s pixels); the photo itself, not copied, where a cell
    /// is already about one pixel. None for a degenerate outline.
    pub(super) fn new(photo: &'a ImageBuffer<P, Vec<u8>>, outline: &[[f32; 2]; 4]) -> Option<Self> {
        let cell = (area(outline).sqrt() / GRID as f32).max(1.0);
        if !cell.is_finite() || photo.width() < 2 || photo.height() < 2 {
            return None;
        }
        let small = match cell > 1.5 {
            true => Cow::Owned(imageops::resize(
                photo,
                ((photo.width() as f32 / cell).round() as u32).max(2),
                ((photo.height() as f32 / cell).round() as u32).max(2),
                imageops::FilterType::Triangle,
            )),
            false => Cow::Borrowed(photo),
        };
        let scale = (
            small.width() as f32 / photo.width() as f32,
            small.height() as f32 / photo.height() as f32,
        );
        Some(Shrunk { small, scale, cell })
    }

    /// The copy at each grid cell's centre under `outline` (row by row),
    /// None where that centre is outside the photo. `C` is `P`'s channels.
    pub(super) fn cells<const C: usize>(
        &self,
        outline: &[[f32; 2]; 4],
    ) -> Option<Vec<Option<[f32; C]>>> {
        debug_assert_eq!(C, P::CHANNEL_COUNT as usize);
        let g = GRID as f32;
        let to_photo = Homography::from_four(&[[0.0, 0.0], [g, 0.0], [g, g], [0.0, g]], outline)?;
        let small = &self.small;
        let (fx, fy) = self.scale;
        let (w, h) = ((small.width() - 1) as f32, (small.height() - 1) as f32);
        let dims = (small.width() as usize, small.height() as usize);
        let n = GRID as usize;
        let mut values = vec![None; n * n];
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
                values[y * n + x] = Some(bilinear::<C>(small.as_raw(), dims, sx, sy));
            }
        }
        Some(values)
    }
}

impl Grey<'_> {
    /// The grey photo at each grid cell's centre under `outline`, and
    /// whether that centre is inside the photo (0 where it is not).
    pub(super) fn sample(&self, outline: &[[f32; 2]; 4]) -> Option<(Vec<f32>, Vec<bool>)> {
        let cells = self.cells::<1>(outline)?;
        let inside = cells.iter().map(Option::is_some).collect();
        let values = cells.iter().map(|c| c.map_or(0.0, |[v]| v)).collect();
        Some((values, inside))
    }
}
