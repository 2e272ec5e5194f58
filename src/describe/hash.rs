//! Perceptual hashes: 64-bit fingerprints that survive resizing,
//! recompression, small crops and colour shifts.
//!
//! They catch near-duplicates (a catalogue re-using the database photo)
//! cheaply and exactly. Two hashes are kept because they fail differently:
//! the DCT hash follows low-frequency structure, the gradient hash follows
//! relative brightness of neighbouring cells. Both are computed from the
//! same 32×32 grey thumbnail, so the eight dihedral variants of a query
//! cost eight transforms of 1,024 numbers, not eight image resizes.
//!
//! Not bit-compatible with other pHash implementations: the algorithm
//! version is stored beside every hash ([`HASH_VERSION`]).

use crate::imaging::dihedral::Dihedral;
use image::RgbImage;
use std::sync::OnceLock;

/// Bumped whenever hash bits would change for the same pixels.
pub const HASH_VERSION: u32 = 1;

const N: usize = 32;

/// The fingerprints of one image in one orientation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ImageHashes {
    /// DCT hash: signs of the 8×8 lowest frequencies against their median.
    pub phash: u64,
    /// Gradient hash: is each cell of a 9×8 grid darker than its right neighbour.
    pub dhash: u64,
}

impl ImageHashes {
    /// Bits that differ, over both hashes (0..=128).
    #[inline]
    pub fn distance(&self, other: &ImageHashes) -> u32 {
        (self.phash ^ other.phash).count_ones() + (self.dhash ^ other.dhash).count_ones()
    }
}

/// The grey thumbnail every hash is computed from.
pub fn grey_thumbnail(img: &RgbImage) -> Vec<f32> {
    let small = image::imageops::resize(
        img,
        N as u32,
        N as u32,
        image::imageops::FilterType::Triangle,
    );
    small
        .pixels()
        .map(|p| 0.299 * p[0] as f32 + 0.587 * p[1] as f32 + 0.114 * p[2] as f32)
        .collect()
}

/// Hashes of the image as it is (what the database stores).
pub fn hash_image(img: &RgbImage) -> ImageHashes {
    hash_grey(&grey_thumbnail(img))
}

/// Hashes of the image in all eight orientations (what a query looks up).
pub fn hash_dihedral(img: &RgbImage) -> [ImageHashes; 8] {
    let grey = grey_thumbnail(img);
    Dihedral::ALL.map(|d| hash_grey(&d.apply_square(&grey, N)))
}

fn hash_grey(grey: &[f32]) -> ImageHashes {
    ImageHashes {
        phash: dct_hash(grey),
        dhash: gradient_hash(grey),
    }
}

/// DCT-II basis for the 8 lowest frequencies of a 32-point signal.
fn dct_basis() -> &'static [[f32; N]; 8] {
    static BASIS: OnceLock<[[f32; N]; 8]> = OnceLock::new();
    BASIS.get_or_init(|| {
        let mut b = [[0f32; N]; 8];
        for (u, row) in b.iter_mut().enumerate() {
            for (x, v) in row.iter_mut().enumerate() {
                *v = (std::f32::consts::PI * u as f32 * (2 * x + 1) as f32 / (2 * N) as f32).cos();
            }
        }
        b
    })
}

fn dct_hash(grey: &[f32]) -> u64 {
    let basis = dct_basis();
    // Separable transform, keeping only the 8 lowest frequencies on each axis.
    let mut rows = [[0f32; 8]; N];
    for y in 0..N {
        let line = &grey[y * N..(y + 1) * N];
        for (u, b) in basis.iter().enumerate() {
            rows[y][u] = line.iter().zip(b).map(|(a, c)| a * c).sum();
        }
    }
    let mut coeffs = [0f32; 64];
    for v in 0..8 {
        for u in 0..8 {
            coeffs[v * 8 + u] = (0..N).map(|y| rows[y][u] * basis[v][y]).sum();
        }
    }
    // The DC term says only how bright the picture is; leave it out of the median.
    let mut sorted: Vec<f32> = coeffs[1..].to_vec();
    sorted.sort_by(f32::total_cmp);
    let median = sorted[sorted.len() / 2];
    bits(coeffs.iter().map(|&c| c > median))
}

fn gradient_hash(grey: &[f32]) -> u64 {
    // Area-average the 32×32 grid into 9 columns × 8 rows.
    let mut cells = [[0f32; 9]; 8];
    for (cy, row) in cells.iter_mut().enumerate() {
        let (y0, y1) = (cy * N / 8, (cy + 1) * N / 8);
        for (cx, cell) in row.iter_mut().enumerate() {
            let (x0, x1) = (cx * N / 9, ((cx + 1) * N / 9).max(cx * N / 9 + 1));
            let mut s = 0.0;
            for y in y0..y1 {
                for x in x0..x1 {
                    s += grey[y * N + x];
                }
            }
            *cell = s / ((y1 - y0) * (x1 - x0)) as f32;
        }
    }
    bits(
        cells
            .iter()
            .flat_map(|r| (0..8).map(move |x| r[x] < r[x + 1])),
    )
}

fn bits(it: impl Iterator<Item = bool>) -> u64 {
    it.enumerate()
        .fold(0u64, |acc, (i, b)| acc | (u64::from(b) << i))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(w: u32, h: u32) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| {
            let v = ((x as f32 / w as f32 * 6.0).sin() * 80.0
                + (y as f32 / h as f32 * 4.0).cos() * 60.0
                + 128.0) as u8;
            image::Rgb([v, v / 2, 255 - v])
        })
    }

    #[test]
    fn resize_keeps_hash_close() {
        let a = sample(400, 300);
        let b = image::imageops::resize(&a, 200, 150, image::imageops::FilterType::Lanczos3);
        assert!(hash_image(&a).distance(&hash_image(&b)) <= 6);
    }

    #[test]
    fn rotated_query_finds_upright_reference() {
        let a = sample(300, 300);
        let reference = hash_image(&a);
        let rotated = image::imageops::rotate90(&a);
        assert!(hash_image(&rotated).distance(&reference) > 20);
        let best = hash_dihedral(&rotated)
            .iter()
            .map(|h| h.distance(&reference))
            .min()
            .unwrap();
        assert!(best <= 4, "best {best}");
    }
}
