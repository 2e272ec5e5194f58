//! Global embeddings: one vector per picture, compared by Euclidean
//! distance, indexed approximately (see [`crate::index::vectors`]).
//!
//! [`Embedder`] is the seam where a learned model (ONNX) plugs in. The
//! built-in [`ColourLayoutEmbedder`] needs no model file: it describes the
//! picture's colour layout, colour distribution and edge structure from a
//! 64×64 thumbnail. It is far weaker than a learned embedding against
//! viewpoint change, but real, fast (well under a millisecond) and stable
//! across resizing and recompression.

use image::RgbImage;

/// Maps pixels to a fixed-length, L2-normalised vector.
/// Longest side of the copy the global embedding is computed from; small
/// enough that embedding all eight orientations of a query is cheap.
pub const EMBED_SIDE: u32 = 128;

pub trait Embedder: Send + Sync {
    /// Name and version, stored beside the vectors: vectors of two
    /// embedders are never compared.
    fn id(&self) -> &str;
    fn dim(&self) -> usize;
    /// Longest side of the picture `embed` is given (a learned model wants
    /// its training resolution; the built-in embedder needs little).
    fn input_side(&self) -> u32 {
        EMBED_SIDE
    }
    /// The vector for `img`; its L2 norm is 1 (or 0 for a blank picture).
    fn embed(&self, img: &RgbImage) -> Vec<f32>;
}

/// The default embedder: spatial colour layout + colour histogram + a
/// histogram of oriented gradients, each block normalised, then
/// power-normalised (signed square root) as in Perronnin et al., which
/// keeps one dominant block from drowning the others.
#[derive(Debug, Default, Clone, Copy)]
pub struct ColourLayoutEmbedder;

const SIDE: usize = 64;
const LAYOUT_GRID: usize = 4;
const HOG_GRID: usize = 4;
const HOG_BINS: usize = 8;
const HIST_BINS: usize = 4;
const DIM: usize = LAYOUT_GRID * LAYOUT_GRID * 3
    + HIST_BINS * HIST_BINS * HIST_BINS
    + HOG_GRID * HOG_GRID * HOG_BINS;

impl Embedder for ColourLayoutEmbedder {
    fn id(&self) -> &str {
        "colour-layout-v1"
    }

    fn dim(&self) -> usize {
        DIM
    }

    fn embed(&self, img: &RgbImage) -> Vec<f32> {
        let small = image::imageops::resize(
            img,
            SIDE as u32,
            SIDE as u32,
            image::imageops::FilterType::Triangle,
        );
        // Opponent colour space: brightness, red-green, yellow-blue.
        let opp: Vec<[f32; 3]> = small
            .pixels()
            .map(|p| {
                let (r, g, b) = (
                    p[0] as f32 / 255.0,
                    p[1] as f32 / 255.0,
                    p[2] as f32 / 255.0,
                );
                [(r + g + b) / 3.0, r - g, (r + g) / 2.0 - b]
            })
            .collect();
        let mut out = Vec::with_capacity(DIM);
        let mut block = layout(&opp);
        finish_block(&mut block, 1.0);
        out.extend(block);
        let mut block = colour_histogram(&small);
        finish_block(&mut block, 0.8);
        out.extend(block);
        let mut block = gradient_histogram(&opp);
        finish_block(&mut block, 1.2);
        out.extend(block);
        l2_normalise(&mut out);
        out
    }
}

/// Mean opponent colour of each cell, centred so that a global brightness
/// change moves the vector little.
fn layout(opp: &[[f32; 3]]) -> Vec<f32> {
    let cell = SIDE / LAYOUT_GRID;
    let mut v = vec![0f32; LAYOUT_GRID * LAYOUT_GRID * 3];
    for y in 0..SIDE {
        for x in 0..SIDE {
            let c = (y / cell) * LAYOUT_GRID + x / cell;
            for k in 0..3 {
                v[c * 3 + k] += opp[y * SIDE + x][k];
            }
        }
    }
    let n = (cell * cell) as f32;
    v.iter_mut().for_each(|a| *a /= n);
    for k in 0..3 {
        let mean: f32 = (0..LAYOUT_GRID * LAYOUT_GRID)
            .map(|c| v[c * 3 + k])
            .sum::<f32>()
            / (LAYOUT_GRID * LAYOUT_GRID) as f32;
        (0..LAYOUT_GRID * LAYOUT_GRID).for_each(|c| v[c * 3 + k] -= mean);
    }
    v
}

fn colour_histogram(img: &RgbImage) -> Vec<f32> {
    let mut h = vec![0f32; HIST_BINS * HIST_BINS * HIST_BINS];
    for p in img.pixels() {
        let q = |c: u8| (c as usize * HIST_BINS) / 256;
        h[(q(p[0]) * HIST_BINS + q(p[1])) * HIST_BINS + q(p[2])] += 1.0;
    }
    h
}

/// Magnitude-weighted orientation histograms of the brightness channel,
/// one per cell, orientations soft-binned between the two nearest bins.
fn gradient_histogram(opp: &[[f32; 3]]) -> Vec<f32> {
    let cell = SIDE / HOG_GRID;
    let mut v = vec![0f32; HOG_GRID * HOG_GRID * HOG_BINS];
    let lum = |x: usize, y: usize| opp[y * SIDE + x][0];
    for y in 1..SIDE - 1 {
        for x in 1..SIDE - 1 {
            let gx = lum(x + 1, y) - lum(x - 1, y);
            let gy = lum(x, y + 1) - lum(x, y - 1);
            let mag = (gx * gx + gy * gy).sqrt();
            if mag < 1e-4 {
                continue;
            }
            let angle = gy.atan2(gx); // -pi..pi: signed orientation
            let pos =
                (angle + std::f32::consts::PI) / (2.0 * std::f32::consts::PI) * HOG_BINS as f32;
            let b0 = pos.floor() as usize % HOG_BINS;
            let b1 = (b0 + 1) % HOG_BINS;
            let w1 = pos - pos.floor();
            let c = (y / cell) * HOG_GRID + x / cell;
            v[c * HOG_BINS + b0] += mag * (1.0 - w1);
            v[c * HOG_BINS + b1] += mag * w1;
        }
    }
    v
}

fn finish_block(v: &mut [f32], weight: f32) {
    l2_normalise(v);
    for a in v.iter_mut() {
        *a = a.signum() * a.abs().sqrt();
    }
    l2_normalise(v);
    v.iter_mut().for_each(|a| *a *= weight);
}

/// Scales `v` to unit length; a zero vector stays zero.
pub fn l2_normalise(v: &mut [f32]) {
    let n = v.iter().map(|a| a * a).sum::<f32>().sqrt();
    if n > 1e-12 {
        v.iter_mut().for_each(|a| *a /= n);
    }
}

/// Squared Euclidean distance.
#[inline]
pub fn l2_squared(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn picture(seed: u32) -> RgbImage {
        RgbImage::from_fn(300, 200, |x, y| {
            let v = (x * (seed + 3) + y * (seed * 7 + 1)) % 256;
            image::Rgb([v as u8, ((x + seed * 40) % 256) as u8, (y % 256) as u8])
        })
    }

    #[test]
    fn unit_length_and_declared_dim() {
        let e = ColourLayoutEmbedder.embed(&picture(1));
        assert_eq!(e.len(), ColourLayoutEmbedder.dim());
        let n: f32 = e.iter().map(|a| a * a).sum();
        assert!((n - 1.0).abs() < 1e-4);
    }

    #[test]
    fn resized_copy_is_closer_than_another_picture() {
        let a = picture(1);
        let a_small = image::imageops::resize(&a, 150, 100, image::imageops::FilterType::Triangle);
        let b = picture(5);
        let emb = ColourLayoutEmbedder;
        let (ea, es, eb) = (emb.embed(&a), emb.embed(&a_small), emb.embed(&b));
        assert!(l2_squared(&ea, &es) < l2_squared(&ea, &eb) / 4.0);
    }
}
