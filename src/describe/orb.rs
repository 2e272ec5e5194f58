//! Local features: ORB (oriented FAST corners, steered BRIEF) on an image
//! pyramid, after Rublee et al. 2011.
//!
//! Global descriptors see the whole frame; an officer's photo shows the
//! object tilted, framed, on a table, partly covered. Local features see
//! corners of the object itself, whatever surrounds them: the pyramid
//! makes them scale-invariant, the intensity-centroid angle rotation-
//! invariant, and a 256-bit binary descriptor keeps them compact (32
//! bytes) and cheap to compare (four popcounts).
//!
//! The test pattern is a fixed pseudo-random Gaussian one (BRIEF's G II),
//! generated from a constant seed: it must never change without bumping
//! [`FEATURES_VERSION`], since stored reference descriptors depend on it.

use crate::imaging::resample::resize_triangle;
use image::GrayImage;

/// Bump when anything changes what a descriptor means.
pub const FEATURES_VERSION: u32 = 2;

/// A 256-bit binary descriptor.
pub type Descriptor = [u64; 4];

#[inline]
pub fn hamming(a: &Descriptor, b: &Descriptor) -> u32 {
    (a[0] ^ b[0]).count_ones()
        + (a[1] ^ b[1]).count_ones()
        + (a[2] ^ b[2]).count_ones()
        + (a[3] ^ b[3]).count_ones()
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Keypoint {
    /// Position in the pixel coordinates of the image given to [`extract`].
    pub x: f32,
    pub y: f32,
    /// Pyramid level it was found on (scale = `scale_factor^level`).
    pub level: u8,
    /// Orientation in radians.
    pub angle: f32,
}

#[derive(Debug, Clone, Default)]
pub struct Features {
    /// Size of the image the coordinates refer to.
    pub width: u32,
    pub height: u32,
    pub keypoints: Vec<Keypoint>,
    pub descriptors: Vec<Descriptor>,
}

impl Features {
    pub fn len(&self) -> usize {
        self.keypoints.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keypoints.is_empty()
    }
}

#[derive(Debug, Clone, Copy)]
pub struct OrbParams {
    pub max_features: usize,
    pub levels: usize,
    pub scale_factor: f32,
    /// FAST threshold; levels with too few corners are searched again at
    /// `low_threshold` so faded drawings still get features.
    pub threshold: u8,
    pub low_threshold: u8,
}

/// Reference images: a few hundred well-spread features keep the stored
/// size per image small (40 bytes each).
pub const REFERENCE: OrbParams = OrbParams {
    max_features: 500,
    levels: 6,
    scale_factor: 1.3,
    threshold: 20,
    low_threshold: 7,
};

/// Queries: more levels, because the object may fill only part of the
/// photo and be smaller or larger than its reference; twice the
/// reference's features, not more: the extra corners come from background
/// clutter and only add chance matches (docs/decisions.md, "2026-11-29 —
/// Calibrated strength; 1,000 query features at 720 px").
pub const QUERY: OrbParams = OrbParams {
    max_features: 1000,
    levels: 8,
    scale_factor: 1.3,
    threshold: 20,
    low_threshold: 7,
};

/// Radius of the orientation and descriptor patch.
const PATCH_RADIUS: i32 = 15;
/// Keypoints closer than this to a border have an incomplete patch.
const EDGE: i32 = PATCH_RADIUS + 1;
/// Steered BRIEF: the pattern pre-rotated to this many angles.
const ANGLE_BINS: usize = 30;
/// Spread keypoints over the image: a grid cell this many pixels wide
/// takes at most its share before the rest are filled by strength.
const GRID_CELL: u32 = 32;

/// Extracts up to `params.max_features` features, strongest and
/// best-spread first.
pub fn extract(grey: &GrayImage, params: &OrbParams) -> Features {
    let (w, h) = grey.dimensions();
    let mut out = Features {
        width: w,
        height: h,
        ..Features::default()
    };
    let pattern = pattern();
    let quotas = level_quotas(params);
    let mut level_img = grey.clone();
    for (level, &quota) in quotas.iter().enumerate() {
        if level > 0 {
            let lw = (w as f32 / params.scale_factor.powi(level as i32)).round() as u32;
            let lh = (h as f32 / params.scale_factor.powi(level as i32)).round() as u32;
            if lw < 2 * EDGE as u32 + 8 || lh < 2 * EDGE as u32 + 8 {
                break;
            }
            level_img = resize_triangle(&level_img, lw, lh);
        }
        let (lw, lh) = level_img.dimensions();
        let sx = w as f32 / lw as f32;
        let sy = h as f32 / lh as f32;
        let corners = detect(&level_img, params, quota);
        if corners.is_empty() {
            continue;
        }
        let blurred = gaussian_blur(&level_img);
        for (cx, cy) in corners {
            let angle = orientation(&level_img, cx, cy);
            out.descriptors
                .push(describe(&blurred, cx, cy, angle, pattern));
            out.keypoints.push(Keypoint {
                x: (cx as f32 + 0.5) * sx - 0.5,
                y: (cy as f32 + 0.5) * sy - 0.5,
                level: level as u8,
                angle,
            });
        }
    }
    out
}

/// Features per level, proportional to the level's linear size so coarse
/// levels (large objects seen small) are not starved.
fn level_quotas(p: &OrbParams) -> Vec<usize> {
    let f = 1.0 / p.scale_factor;
    let first = p.max_features as f32 * (1.0 - f) / (1.0 - f.powi(p.levels as i32));
    let mut quotas: Vec<usize> = (0..p.levels)
        .map(|l| (first * f.powi(l as i32)).round() as usize)
        .collect();
    let assigned: usize = quotas.iter().sum();
    if let Some(last) = quotas.last_mut() {
        *last = (*last + p.max_features).saturating_sub(assigned);
    }
    quotas
}

/// FAST corners of one level, non-maximum suppressed, ranked by Harris
/// response, spread over a grid, at most `quota`.
fn detect(img: &GrayImage, params: &OrbParams, quota: usize) -> Vec<(i32, i32)> {
    if quota == 0 {
        return Vec::new();
    }
    let mut corners = fast_nms(img, params.threshold);
    if corners.len() < quota && params.low_threshold < params.threshold {
        corners = fast_nms(img, params.low_threshold);
    }
    let mut scored: Vec<(f32, i32, i32)> = corners
        .into_iter()
        .map(|(x, y)| (harris(img, x, y), x, y))
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    let (w, h) = img.dimensions();
    let gw = w.div_ceil(GRID_CELL) as usize;
    let gh = h.div_ceil(GRID_CELL) as usize;
    let cap = (2 * quota).div_ceil(gw * gh).max(1);
    let mut per_cell = vec![0usize; gw * gh];
    let mut taken = Vec::with_capacity(quota);
    let mut rest = Vec::new();
    for &(_, x, y) in &scored {
        let cell = (y as u32 / GRID_CELL) as usize * gw + (x as u32 / GRID_CELL) as usize;
        if per_cell[cell] < cap && taken.len() < quota {
            per_cell[cell] += 1;
            taken.push((x, y));
        } else {
            rest.push((x, y));
        }
    }
    let missing = quota.saturating_sub(taken.len());
    taken.extend(rest.into_iter().take(missing));
    taken
}

/// The 16 pixels of the Bresenham circle of radius 3, clockwise from top.
const CIRCLE: [(i32, i32); 16] = [
    (0, -3),
    (1, -3),
    (2, -2),
    (3, -1),
    (3, 0),
    (3, 1),
    (2, 2),
    (1, 3),
    (0, 3),
    (-1, 3),
    (-2, 2),
    (-3, 1),
    (-3, 0),
    (-3, -1),
    (-2, -2),
    (-1, -3),
];

/// FAST-9 with a 3×3 non-maximum suppression on the corner score (sum of
/// the absolute differences beyond the threshold).
fn fast_nms(img: &GrayImage, t: u8) -> Vec<(i32, i32)> {
    let (w, h) = (img.width() as i32, img.height() as i32);
    let px = img.as_raw();
    let stride = w as usize;
    let offsets: [isize; 16] = CIRCLE.map(|(dx, dy)| dy as isize * stride as isize + dx as isize);
    let mut score = vec![0u16; px.len()];
    let t = t as i16;
    if w <= 2 * EDGE {
        return Vec::new();
    }
    let (first, len) = (EDGE as usize, (w - 2 * EDGE) as usize);
    let mut maybe = vec![false; len];
    for y in EDGE..h - EDGE {
        let row = y as usize * stride + first;
        // Quick rejection, a whole row at once so that it vectorises: a
        // 9-arc covers at least two of the four compass points.
        let centre = &px[row..row + len];
        let up = &px[row - 3 * stride..][..len];
        let down = &px[row + 3 * stride..][..len];
        let left = &px[row - 3..][..len];
        let right = &px[row + 3..][..len];
        for (j, m) in maybe.iter_mut().enumerate() {
            let v = centre[j] as i16;
            let (hi, lo) = (v + t, v - t);
            let compass = [
                up[j] as i16,
                right[j] as i16,
                down[j] as i16,
                left[j] as i16,
            ];
            let bright = compass.iter().map(|&p| (p > hi) as u8).sum::<u8>();
            let dark = compass.iter().map(|&p| (p < lo) as u8).sum::<u8>();
            *m = bright >= 2 || dark >= 2;
        }
        for j in maybe
            .iter()
            .enumerate()
            .filter(|(_, m)| **m)
            .map(|(j, _)| j)
        {
            let i = row + j;
            let v = px[i] as i16;
            let at = |k: usize| px[(i as isize + offsets[k]) as usize] as i16;
            let mut bmask = 0u32;
            let mut dmask = 0u32;
            let mut sum_b = 0u16;
            let mut sum_d = 0u16;
            for k in 0..16 {
                let p = at(k);
                if p > v + t {
                    bmask |= 1 << k;
                    sum_b += (p - v - t) as u16;
                } else if p < v - t {
                    dmask |= 1 << k;
                    sum_d += (v - t - p) as u16;
                }
            }
            if has_arc(bmask) {
                score[i] = sum_b.max(1);
            } else if has_arc(dmask) {
                score[i] = sum_d.max(1);
            }
        }
    }
    let mut out = Vec::new();
    for y in EDGE..h - EDGE {
        let row = y as usize * stride;
        for x in EDGE..w - EDGE {
            let i = row + x as usize;
            let s = score[i];
            if s == 0 {
                continue;
            }
            let neighbours = [
                i - stride - 1,
                i - stride,
                i - stride + 1,
                i - 1,
                i + 1,
                i + stride - 1,
                i + stride,
                i + stride + 1,
            ];
            // Ties broken towards the earlier pixel so a plateau yields one corner.
            let is_max = neighbours
                .iter()
                .all(|&n| score[n] < s || (score[n] == s && n > i));
            if is_max {
                out.push((x, y));
            }
        }
    }
    out
}

/// Nine contiguous set bits on the 16-bit circle (wrapping).
#[inline]
fn has_arc(mask: u32) -> bool {
    let m = mask | (mask << 16);
    let mut run = m;
    for s in 1..9 {
        run &= m >> s;
    }
    run != 0
}

/// Harris corner response over a 7×7 block of Sobel gradients: FAST fires
/// along edges too, Harris ranks true corners first.
fn harris(img: &GrayImage, x: i32, y: i32) -> f32 {
    let (mut a, mut b, mut c) = (0i64, 0i64, 0i64);
    for yy in y - 3..=y + 3 {
        for xx in x - 3..=x + 3 {
            let (ix, iy) = sobel(img, xx as usize, yy as usize);
            a += (ix * ix) as i64;
            b += (iy * iy) as i64;
            c += (ix * iy) as i64;
        }
    }
    let (a, b, c) = (a as f64, b as f64, c as f64);
    (a * b - c * c - 0.04 * (a + b) * (a + b)) as f32
}

/// The Sobel gradient (x, y) at an inner pixel (not on the border).
#[inline(always)]
pub fn sobel(img: &GrayImage, x: usize, y: usize) -> (i32, i32) {
    let px = img.as_raw();
    let stride = img.width() as usize;
    let p = |xx: usize, yy: usize| px[yy * stride + xx] as i32;
    let gx = (p(x + 1, y - 1) + 2 * p(x + 1, y) + p(x + 1, y + 1))
        - (p(x - 1, y - 1) + 2 * p(x - 1, y) + p(x - 1, y + 1));
    let gy = (p(x - 1, y + 1) + 2 * p(x, y + 1) + p(x + 1, y + 1))
        - (p(x - 1, y - 1) + 2 * p(x, y - 1) + p(x + 1, y - 1));
    (gx, gy)
}

/// Half-widths of the circular patch, row by row.
fn circle_half_widths() -> [i32; (2 * PATCH_RADIUS + 1) as usize] {
    let mut u = [0i32; (2 * PATCH_RADIUS + 1) as usize];
    for dy in -PATCH_RADIUS..=PATCH_RADIUS {
        let r2 = (PATCH_RADIUS * PATCH_RADIUS - dy * dy) as f32;
        u[(dy + PATCH_RADIUS) as usize] = r2.sqrt().floor() as i32;
    }
    u
}

/// Orientation by the intensity centroid of the circular patch.
fn orientation(img: &GrayImage, x: i32, y: i32) -> f32 {
    let px = img.as_raw();
    let stride = img.width() as usize;
    let half = circle_half_widths();
    let (mut m10, mut m01) = (0i64, 0i64);
    for dy in -PATCH_RADIUS..=PATCH_RADIUS {
        let u = half[(dy + PATCH_RADIUS) as usize];
        let row = (y + dy) as usize * stride;
        for dx in -u..=u {
            let v = px[row + (x + dx) as usize] as i64;
            m10 += dx as i64 * v;
            m01 += dy as i64 * v;
        }
    }
    (m01 as f32).atan2(m10 as f32)
}

/// The pattern rotated to every angle bin: `[bin][test] = (dx1, dy1, dx2, dy2)`.
struct Pattern {
    rotated: Vec<[[i8; 4]; 256]>,
}

fn pattern() -> &'static Pattern {
    static PATTERN: std::sync::OnceLock<Pattern> = std::sync::OnceLock::new();
    PATTERN.get_or_init(|| {
        let base = base_pattern();
        let rotated = (0..ANGLE_BINS)
            .map(|bin| {
                let a = bin as f32 * std::f32::consts::TAU / ANGLE_BINS as f32;
                let (s, c) = a.sin_cos();
                let rot = |x: f32, y: f32| {
                    let rx = (c * x - s * y).round().clamp(-15.0, 15.0);
                    let ry = (s * x + c * y).round().clamp(-15.0, 15.0);
                    (rx as i8, ry as i8)
                };
                let mut tests = [[0i8; 4]; 256];
                for (t, &[x1, y1, x2, y2]) in tests.iter_mut().zip(base.iter()) {
                    let (a1, b1) = rot(x1, y1);
                    let (a2, b2) = rot(x2, y2);
                    *t = [a1, b1, a2, b2];
                }
                tests
            })
            .collect();
        Pattern { rotated }
    })
}

/// 256 point pairs drawn i.i.d. from an isotropic Gaussian (σ = 31/5) and
/// kept inside the patch circle, so every rotation stays inside it too.
fn base_pattern() -> Vec<[f32; 4]> {
    let mut state: u64 = 0x0BB5_EED5_1234_5678;
    let mut next = move || {
        // splitmix64
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    };
    let sigma = 31.0 / 5.0;
    let mut point = move || loop {
        let (u1, u2) = (next().max(1e-12), next());
        let r = (-2.0 * u1.ln()).sqrt() * sigma;
        let (x, y) = (
            r * (std::f64::consts::TAU * u2).cos(),
            r * (std::f64::consts::TAU * u2).sin(),
        );
        if x * x + y * y <= 14.5 * 14.5 {
            return (x as f32, y as f32);
        }
    };
    (0..256)
        .map(|_| {
            loop {
                let (x1, y1) = point();
                let (x2, y2) = point();
                if (x1 - x2).abs() + (y1 - y2).abs() >= 2.0 {
                    return [x1, y1, x2, y2];
                }
            }
        })
        .collect()
}

fn describe(blurred: &GrayImage, x: i32, y: i32, angle: f32, pattern: &Pattern) -> Descriptor {
    let turns = angle.rem_euclid(std::f32::consts::TAU) / std::f32::consts::TAU;
    let bin = ((turns * ANGLE_BINS as f32).round() as usize) % ANGLE_BINS;
    let px = blurred.as_raw();
    let stride = blurred.width() as isize;
    let centre = y as isize * stride + x as isize;
    let at = |dx: i8, dy: i8| px[(centre + dy as isize * stride + dx as isize) as usize];
    let mut d = [0u64; 4];
    for (i, t) in pattern.rotated[bin].iter().enumerate() {
        if at(t[0], t[1]) < at(t[2], t[3]) {
            d[i / 64] |= 1 << (i % 64);
        }
    }
    d
}

/// 7-tap Gaussian (σ ≈ 2), separable, edges clamped: BRIEF compares
/// single pixels, which must first be made robust to noise.
fn gaussian_blur(img: &GrayImage) -> GrayImage {
    let (w, h) = (img.width() as usize, img.height() as usize);
    if w == 0 || h == 0 {
        return img.clone();
    }
    let src = img.as_raw();
    let mut sums = vec![0u16; w];
    let mut tmp = vec![0u8; src.len()];
    let mut padded = vec![0u8; w + 6];
    for (row, out) in src.chunks_exact(w).zip(tmp.chunks_exact_mut(w)) {
        // The row with its end pixels repeated three times: the clamped edge.
        padded[..3].fill(row[0]);
        padded[3..w + 3].copy_from_slice(row);
        padded[w + 3..].fill(row[w - 1]);
        let taps: [&[u8]; 7] = std::array::from_fn(|k| &padded[k..k + w]);
        blur_taps(&taps, &mut sums, out);
    }
    let rows: Vec<&[u8]> = tmp.chunks_exact(w).collect();
    let mut out = vec![0u8; src.len()];
    for (y, line) in out.chunks_exact_mut(w).enumerate() {
        let taps: [&[u8]; 7] = std::array::from_fn(|k| rows[(y + k).saturating_sub(3).min(h - 1)]);
        blur_taps(&taps, &mut sums, line);
    }
    GrayImage::from_raw(w as u32, h as u32, out).expect("same size")
}

const BLUR: [u16; 7] = [18, 34, 49, 54, 49, 34, 18];

/// One line of the blur from its seven taps' lines, a whole line per tap
/// so that it vectorises (the sum, at most 256 × 255 + 128, fits a u16).
fn blur_taps(taps: &[&[u8]; 7], sums: &mut [u16], out: &mut [u8]) {
    sums.fill(128);
    for (&wk, tap) in BLUR.iter().zip(taps) {
        for (s, &p) in sums.iter_mut().zip(*tap) {
            *s += wk * p as u16;
        }
    }
    for (o, &s) in out.iter_mut().zip(sums.iter()) {
        *o = (s >> 8) as u8;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The blur as first written, a pixel and a tap at a time, clamped
    /// at the edges: along x (`dx` 1), then along y (`dy` 1).
    fn blur_reference(img: &GrayImage) -> GrayImage {
        const K: [u32; 7] = [18, 34, 49, 54, 49, 34, 18];
        let (w, h) = (img.width() as i32, img.height() as i32);
        let pass = |src: &[u8], dx: i32, dy: i32| {
            let mut out = vec![0u8; src.len()];
            for y in 0..h {
                for x in 0..w {
                    let mut acc = 0u32;
                    for (k, &wk) in K.iter().enumerate() {
                        let d = k as i32 - 3;
                        let (xx, yy) = ((x + d * dx).clamp(0, w - 1), (y + d * dy).clamp(0, h - 1));
                        acc += wk * src[(yy * w + xx) as usize] as u32;
                    }
                    out[(y * w + x) as usize] = ((acc + 128) >> 8) as u8;
                }
            }
            out
        };
        let out = pass(&pass(img.as_raw(), 1, 0), 0, 1);
        GrayImage::from_raw(w as u32, h as u32, out).unwrap()
    }

    #[test]
    fn the_blur_a_line_at_a_time_gives_the_same_pixels() {
        for (w, h) in [(1, 1), (2, 5), (7, 7), (9, 3), (64, 48), (333, 121)] {
            let discs = texture(w, h, 5 + w as u64);
            let noise = GrayImage::from_fn(w, h, |x, y| {
                image::Luma([(x.wrapping_mul(7919) ^ y.wrapping_mul(104_729) ^ (x * y)) as u8])
            });
            let white = GrayImage::from_pixel(w, h, image::Luma([255]));
            for img in [discs, noise, white] {
                assert_eq!(gaussian_blur(&img), blur_reference(&img), "{w}×{h}");
            }
        }
    }

    /// Random overlapping discs: corners at every scale, no grid.
    fn texture(w: u32, h: u32, seed: u64) -> GrayImage {
        let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let mut rnd = move |n: u32| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as i64
        };
        let discs: Vec<(i64, i64, i64, u8)> = (0..250)
            .map(|_| (rnd(w), rnd(h), 3 + rnd(18), rnd(256) as u8))
            .collect();
        GrayImage::from_fn(w, h, |x, y| {
            let mut v = 128u8;
            for &(cx, cy, r, c) in &discs {
                let (dx, dy) = (x as i64 - cx, y as i64 - cy);
                if dx * dx + dy * dy <= r * r {
                    v = c;
                }
            }
            image::Luma([v])
        })
    }

    #[test]
    fn arc_detection() {
        assert!(has_arc(0b1_1111_1111));
        assert!(has_arc(0b1111_0000_0001_1111)); // wraps: 4 + 5
        assert!(!has_arc(0b1111_1111));
        assert!(!has_arc(0b0101_0101_0101_0101));
    }

    #[test]
    fn quotas_sum_to_max() {
        assert_eq!(level_quotas(&REFERENCE).iter().sum::<usize>(), 500);
        assert_eq!(level_quotas(&QUERY).iter().sum::<usize>(), 1000);
    }

    #[test]
    fn flat_image_has_no_features() {
        let f = extract(
            &GrayImage::from_pixel(300, 200, image::Luma([90])),
            &REFERENCE,
        );
        assert!(f.is_empty());
    }

    #[test]
    fn features_survive_rotation() {
        let img = texture(320, 240, 1);
        let a = extract(&img, &REFERENCE);
        assert!(a.len() > 200, "only {} features", a.len());
        // A quarter turn: a corner at (x, y) moves to (h-1-y, x).
        let turned = image::imageops::rotate90(&img);
        let b = extract(&turned, &REFERENCE);
        let mut good = 0;
        for (ka, da) in a.keypoints.iter().zip(&a.descriptors) {
            let (ex, ey) = (239.0 - ka.y, ka.x);
            let best = b
                .keypoints
                .iter()
                .zip(&b.descriptors)
                .filter(|(kb, _)| (kb.x - ex).abs() < 2.0 && (kb.y - ey).abs() < 2.0)
                .map(|(_, db)| hamming(da, db))
                .min();
            if best.is_some_and(|d| d < 50) {
                good += 1;
            }
        }
        assert!(
            good * 3 > a.len(),
            "{good} of {} features matched after a quarter turn",
            a.len()
        );
    }

    #[test]
    fn different_textures_have_distant_descriptors() {
        let a = extract(&texture(320, 240, 1), &REFERENCE);
        let b = extract(&texture(320, 240, 2), &REFERENCE);
        let mean: f64 = a
            .descriptors
            .iter()
            .take(100)
            .map(|da| {
                b.descriptors
                    .iter()
                    .map(|db| hamming(da, db))
                    .min()
                    .unwrap() as f64
            })
            .sum::<f64>()
            / 100.0;
        // Disc edges all look alike, so this is far from the 128 of random bits.
        assert!(mean > 25.0, "nearest unrelated descriptor at {mean} bits");
    }
}
