//! The reference as the pixel comparison sees it (`crate::search::pixels`,
//! `crate::search::colour`): its pixels averaged into a [`GRID`]×[`GRID`]
//! grid of colours, made at import from the same working copy as every
//! other descriptor and kept in the store (1,728 bytes an image). An image
//! imported before colours were kept has a grey grid of 576 bytes: its
//! structure is compared, its colours are not.

use crate::imaging::resample::thumbnail;
use image::{DynamicImage, RgbImage};

/// Cells per side of the grid over the reference.
pub const GRID: u32 = 24;
/// Cells in the grid.
const CELLS: usize = (GRID * GRID) as usize;
/// Bytes of the grid kept for an image imported now: one RGB triple a cell.
pub const KEPT_BYTES: usize = 3 * CELLS;

/// The reference as the comparison sees it, kept in the store for each
/// image: its pixels averaged into [`GRID`]×[`GRID`] cells, RGB, row by
/// row (its aspect does not matter: the grid is mapped by the same
/// transform as its outline). The same from any copy at least a few times
/// larger than the grid.
pub fn grid(reference: &RgbImage) -> Vec<u8> {
    thumbnail(reference, GRID, GRID).into_raw()
}

/// The grey grid of a kept grid, colour or grey: the same bytes as the grey
/// grids kept before colours were. None for a blob of any other size.
pub fn grey(kept: &[u8]) -> Option<Vec<u8>> {
    match kept.len() {
        CELLS => Some(kept.to_vec()),
        KEPT_BYTES => {
            let rgb = RgbImage::from_raw(GRID, GRID, kept.to_vec())?;
            Some(DynamicImage::ImageRgb8(rgb).into_luma8().into_raw())
        }
        _ => None,
    }
}

/// The colours of a kept grid (RGB, row by row); None for a grey one.
pub fn colour(kept: &[u8]) -> Option<&[u8]> {
    (kept.len() == KEPT_BYTES).then_some(kept)
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgb;

    #[test]
    fn a_colour_grid_gives_the_grey_grid_kept_before_colours_were() {
        let img = RgbImage::from_fn(300, 200, |x, y| {
            Rgb([(x % 256) as u8, (y % 256) as u8, ((x * y) % 256) as u8])
        });
        let kept = grid(&img);
        assert_eq!(kept.len(), KEPT_BYTES);
        let before = DynamicImage::ImageRgb8(thumbnail(&img, GRID, GRID))
            .into_luma8()
            .into_raw();
        assert_eq!(grey(&kept).unwrap(), before);
        assert_eq!(grey(&before).unwrap(), before);
        assert_eq!(colour(&kept), Some(&kept[..]));
        assert_eq!(colour(&before), None);
        assert_eq!(grey(&kept[1..]), None);
    }
}
