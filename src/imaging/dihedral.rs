//! The eight rotations and flips of a picture (the dihedral group D4).
//!
//! An officer's photo may be turned a quarter, or a catalogue may print a
//! mirrored plate. Rather than making every descriptor invariant (which
//! costs discrimination), the query is described in all eight orientations
//! and each is looked up; references are described once, upright.

/// One of the eight orientations; `Identity` is the picture as decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dihedral {
    Identity,
    Rot90,
    Rot180,
    Rot270,
    FlipH,
    FlipV,
    Transpose,
    AntiTranspose,
}

impl Dihedral {
    pub const ALL: [Dihedral; 8] = [
        Dihedral::Identity,
        Dihedral::Rot90,
        Dihedral::Rot180,
        Dihedral::Rot270,
        Dihedral::FlipH,
        Dihedral::FlipV,
        Dihedral::Transpose,
        Dihedral::AntiTranspose,
    ];

    /// True for the transforms that turn width into height.
    pub fn swaps_axes(self) -> bool {
        matches!(
            self,
            Dihedral::Rot90 | Dihedral::Rot270 | Dihedral::Transpose | Dihedral::AntiTranspose
        )
    }

    /// Where the pixel at (x, y) of the result comes from, for an `n`×`n` grid.
    #[inline]
    fn source(self, x: usize, y: usize, n: usize) -> (usize, usize) {
        let m = n - 1;
        match self {
            Dihedral::Identity => (x, y),
            Dihedral::Rot90 => (y, m - x),
            Dihedral::Rot180 => (m - x, m - y),
            Dihedral::Rot270 => (m - y, x),
            Dihedral::FlipH => (m - x, y),
            Dihedral::FlipV => (x, m - y),
            Dihedral::Transpose => (y, x),
            Dihedral::AntiTranspose => (m - y, m - x),
        }
    }

    /// Applies the transform to a square row-major grid of side `n`.
    pub fn apply_square<T: Copy>(self, grid: &[T], n: usize) -> Vec<T> {
        debug_assert_eq!(grid.len(), n * n);
        let mut out = Vec::with_capacity(n * n);
        for y in 0..n {
            for x in 0..n {
                let (sx, sy) = self.source(x, y, n);
                out.push(grid[sy * n + sx]);
            }
        }
        out
    }

    /// Applies the transform to an RGB image of any shape.
    pub fn apply_image(self, img: &image::RgbImage) -> image::RgbImage {
        use image::imageops as ops;
        match self {
            Dihedral::Identity => img.clone(),
            Dihedral::Rot90 => ops::rotate90(img),
            Dihedral::Rot180 => ops::rotate180(img),
            Dihedral::Rot270 => ops::rotate270(img),
            Dihedral::FlipH => ops::flip_horizontal(img),
            Dihedral::FlipV => ops::flip_vertical(img),
            Dihedral::Transpose => ops::flip_horizontal(&ops::rotate90(img)),
            Dihedral::AntiTranspose => ops::flip_horizontal(&ops::rotate270(img)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eight_distinct_orientations() {
        let grid: Vec<u8> = (0..9).collect();
        let mut seen: Vec<Vec<u8>> = Dihedral::ALL
            .iter()
            .map(|d| d.apply_square(&grid, 3))
            .collect();
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 8);
    }

    #[test]
    fn grid_and_image_transforms_agree() {
        let n = 4u32;
        let img = image::RgbImage::from_fn(n, n, |x, y| image::Rgb([(y * n + x) as u8, 0, 0]));
        let grid: Vec<u8> = img.pixels().map(|p| p[0]).collect();
        for d in Dihedral::ALL {
            let a: Vec<u8> = d.apply_image(&img).pixels().map(|p| p[0]).collect();
            assert_eq!(a, d.apply_square(&grid, n as usize), "{d:?}");
        }
    }
}
