//! The reference as the pixel comparison sees it (`crate::search::pixels`):
//! its pixels averaged into a [`GRID`]×[`GRID`] grey grid, made at import
//! from the same working copy as every other descriptor and kept in the
//! store (576 bytes an image).

use crate::imaging::resample::thumbnail;
use image::{DynamicImage, RgbImage};

/// Cells per side of the grid over the reference.
pub const GRID: u32 = 24;
/// The reference as the comparison sees it, kept in the store for each
/// image: its pixels averaged into [`GRID`]×[`GRID`] cells, then grey (its
/// aspect does not matter: the grid is mapped by the same transform as its
/// outline). 576 bytes; the same from any copy at least a few times
/// larger than the grid.
pub fn grid(reference: &RgbImage) -> Vec<u8> {
    DynamicImage::ImageRgb8(thumbnail(reference, GRID, GRID))
        .into_luma8()
        .into_raw()
}
