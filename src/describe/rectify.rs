//! A region of a photo warped upright onto a rectangle.
//!
//! A framed picture photographed at an angle is a quadrilateral in the
//! photo (`crate::describe::quad` finds it). Warped back onto a rectangle it looks
//! like a re-used catalogue photo of the picture, which the global
//! descriptors (hashes, embedding) recognise even when its own corners
//! are too blurred or washed out for local features.

use crate::imaging::geometry::Homography;
use image::{Rgb, RgbImage};
use rayon::prelude::*;

/// Most samples per rendered pixel along each axis, so that a large
/// region is averaged rather than aliased (fewer when the region has
/// fewer photo pixels than the rendering).
const SUPERSAMPLE: u32 = 3;

/// The rectangle a quadrilateral (corners clockwise from the top-left)
/// is warped onto, its sides the mean of the opposite sides' lengths,
/// and the transform from the rectangle's pixels to the quad's.
pub fn upright(q: &[[f32; 2]; 4]) -> Option<(Homography, (f32, f32))> {
    let side = |a: [f32; 2], b: [f32; 2]| (a[0] - b[0]).hypot(a[1] - b[1]);
    let w = (side(q[0], q[1]) + side(q[3], q[2])) / 2.0;
    let h = (side(q[1], q[2]) + side(q[0], q[3])) / 2.0;
    let rect = [[0.0, 0.0], [w, 0.0], [w, h], [0.0, h]];
    Some((Homography::from_four(&rect, q)?, (w, h)))
}

/// Renders a rectangle of `size`, scaled so its longer side is `side`
/// pixels, out of `photo`, where `transform` maps
/// the rectangle's pixels to the pixels of a copy of the photo
/// `copy_width` wide (the copy the region was found in).
/// Parts of the rectangle outside the photo (a crop cut them off) take
/// the mean colour of the parts inside. None when under a quarter of it
/// is inside the photo or the transform sends it to infinity.
pub fn render(
    photo: &RgbImage,
    copy_width: u32,
    transform: &Homography,
    size: (f32, f32),
    side: u32,
) -> Option<RgbImage> {
    let (rw, rh) = size;
    if rw < 1.0 || rh < 1.0 || side == 0 || photo.width() < 2 || photo.height() < 2 {
        return None;
    }
    let (w, h) = if rw >= rh {
        (side, ((side as f32 * rh / rw).round() as u32).max(1))
    } else {
        (((side as f32 * rw / rh).round() as u32).max(1), side)
    };
    let to_photo = photo.width() as f64 / copy_width.max(1) as f64;
    let per_pixel = rw.max(rh) as f64 * to_photo / side as f64;
    let samples = (per_pixel.ceil() as u32).clamp(1, SUPERSAMPLE);
    // One matrix from sample coordinates (in rendered pixels) to photo
    // pixels (centres at .5 → the bilinear grid), so that the loop below
    // is a few multiply-adds and one division per sample.
    let (sx, sy) = (rw as f64 / w as f64, rh as f64 / h as f64);
    let t = &transform.0;
    let m: [f64; 9] = [
        t[0] * sx * to_photo - 0.5 * t[6] * sx,
        t[1] * sy * to_photo - 0.5 * t[7] * sy,
        t[2] * to_photo - 0.5 * t[8],
        t[3] * sx * to_photo - 0.5 * t[6] * sx,
        t[4] * sy * to_photo - 0.5 * t[7] * sy,
        t[5] * to_photo - 0.5 * t[8],
        t[6] * sx,
        t[7] * sy,
        t[8],
    ];
    let (pw, ph) = (photo.width() as f64, photo.height() as f64);
    let dims = (photo.width() as usize, photo.height() as usize);
    let offsets: Vec<f64> = (0..samples)
        .map(|k| (k as f64 + 0.5) / samples as f64)
        .collect();
    let n = samples as usize;
    // Every sample's u in a row's order (pixel by pixel, then its offsets),
    // the same for every row.
    let us: Vec<f64> = (0..w)
        .flat_map(|x| offsets.iter().map(move |&ox| x as f64 + ox))
        .collect();
    // Rows are independent: sampled in parallel (warping is most of the
    // time a photo's outlined regions take), then summed in order, so
    // that the mean is the same whatever the threads did. Within a row, a
    // sample line's photo coordinates are computed first, in a loop of
    // plain arithmetic the compiler vectorises (the divisions were most of
    // the time), then read pixel by pixel in the order the sums always had.
    let rows: Vec<Vec<Option<[f32; 3]>>> = (0..h)
        .into_par_iter()
        .map(|y| {
            let mut at = vec![[0f64; 2]; n * us.len()];
            for (line, &oy) in at.chunks_exact_mut(us.len()).zip(&offsets) {
                let v = y as f64 + oy;
                let (zv, xv, yv) = (m[7] * v, m[1] * v, m[4] * v);
                let mut behind = false;
                for (p, &u) in line.iter_mut().zip(&us) {
                    let z = m[6] * u + zv + m[8];
                    behind |= z <= 1e-12;
                    *p = [(m[0] * u + xv + m[2]) / z, (m[3] * u + yv + m[5]) / z];
                }
                if behind {
                    return None;
                }
            }
            let values = sample_rgb(photo.as_raw(), dims, &at);
            let mut row = Vec::with_capacity(w as usize);
            for x in 0..w as usize {
                let mut acc = [0f32; 3];
                let mut count = 0u32;
                for line in 0..n {
                    let first = line * us.len() + x * n;
                    for (&[px, py], c) in at[first..first + n].iter().zip(&values[first..first + n])
                    {
                        if !(px >= -0.5 && py >= -0.5 && px <= pw - 0.5 && py <= ph - 0.5) {
                            continue;
                        }
                        for k in 0..3 {
                            acc[k] += c[k];
                        }
                        count += 1;
                    }
                }
                row.push((count > 0).then(|| acc.map(|a| a / count as f32)));
            }
            Some(row)
        })
        .collect::<Option<_>>()?;
    let mut inside = 0usize;
    let mut sum = [0f32; 3];
    for c in rows.iter().flatten().flatten() {
        for k in 0..3 {
            sum[k] += c[k];
        }
        inside += 1;
    }
    if inside * 4 < (w * h) as usize {
        return None;
    }
    let mean = sum.map(|s| s / inside as f32);
    let mut out = RgbImage::new(w, h);
    for (p, c) in out.pixels_mut().zip(rows.into_iter().flatten()) {
        let c = c.unwrap_or(mean);
        *p = Rgb(c.map(crate::imaging::resample::round_u8));
    }
    Some(out)
}

/// [`bilinear`] samples of an RGB image's raw buffer at each of `at`'s
/// points (photo pixels, rounded to f32 as one sample would be), in
/// order; a point outside the image gets a value that means nothing,
/// which the caller skips. Eight at a time where the CPU has AVX2 (the
/// same operations on each lane, so the same values); the warp's samples
/// were most of a phone photo's description.
fn sample_rgb(raw: &[u8], dims: (usize, usize), at: &[[f64; 2]]) -> Vec<[f32; 3]> {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && (4..i32::MAX as usize).contains(&raw.len()) {
        // SAFETY: the CPU has AVX2; a buffer of at least four bytes holds
        // the four-byte gathers the last-pixel test lets through.
        return unsafe { avx2::sample_rgb(raw, dims, at) };
    }
    at.iter()
        .map(|&[x, y]| bilinear::<3>(raw, dims, x as f32, y as f32))
        .collect()
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::bilinear;
    use std::arch::x86_64::*;

    /// `super::sample_rgb` with AVX2: each lane does what [`bilinear`]
    /// does, in the same order, with no fused multiply-add. A lane's four
    /// corners are gathered as four bytes each (the channels and one byte
    /// more); a group that would read past the buffer's end is sampled one
    /// by one.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn sample_rgb(
        raw: &[u8],
        (w, h): (usize, usize),
        at: &[[f64; 2]],
    ) -> Vec<[f32; 3]> {
        let mut out = Vec::with_capacity(at.len());
        let (wi, hi) = (w.min(1 << 24) as i32, h.min(1 << 24) as i32);
        let last = _mm256_set1_epi32(raw.len().saturating_sub(4) as i32);
        let (zero, one) = (_mm256_setzero_ps(), _mm256_set1_ps(1.0));
        let (izero, ione, three) = (
            _mm256_setzero_si256(),
            _mm256_set1_epi32(1),
            _mm256_set1_epi32(3),
        );
        let (wmax, hmax, width) = (
            _mm256_set1_epi32(wi - 1),
            _mm256_set1_epi32(hi - 1),
            _mm256_set1_epi32(wi),
        );
        let byte = _mm256_set1_epi32(0xFF);
        let mut groups = at.chunks_exact(8);
        for g in &mut groups {
            let xs: [f32; 8] = std::array::from_fn(|i| g[i][0] as f32);
            let ys: [f32; 8] = std::array::from_fn(|i| g[i][1] as f32);
            // SAFETY (loads, stores): whole [f32; 8] arrays, unaligned.
            let (x, y) = unsafe {
                (
                    _mm256_max_ps(_mm256_loadu_ps(xs.as_ptr()), zero),
                    _mm256_max_ps(_mm256_loadu_ps(ys.as_ptr()), zero),
                )
            };
            // Clamped at 0 as well, so that a point far outside reads inside.
            let x0 = _mm256_min_epi32(_mm256_max_epi32(_mm256_cvttps_epi32(x), izero), wmax);
            let y0 = _mm256_min_epi32(_mm256_max_epi32(_mm256_cvttps_epi32(y), izero), hmax);
            let fx = _mm256_min_ps(_mm256_sub_ps(x, _mm256_cvtepi32_ps(x0)), one);
            let fy = _mm256_min_ps(_mm256_sub_ps(y, _mm256_cvtepi32_ps(y0)), one);
            let x1 = _mm256_min_epi32(_mm256_add_epi32(x0, ione), wmax);
            let y1 = _mm256_min_epi32(_mm256_add_epi32(y0, ione), hmax);
            let (r0, r1) = (_mm256_mullo_epi32(y0, width), _mm256_mullo_epi32(y1, width));
            let at = |r, x| _mm256_mullo_epi32(_mm256_add_epi32(r, x), three);
            let (a, b, c, d) = (at(r0, x0), at(r0, x1), at(r1, x0), at(r1, x1));
            // `d` is the largest offset: past `last`, four bytes would
            // read past the end.
            if _mm256_movemask_epi8(_mm256_cmpgt_epi32(d, last)) != 0 {
                out.extend(
                    g.iter()
                        .map(|&[x, y]| bilinear::<3>(raw, (w, h), x as f32, y as f32)),
                );
                continue;
            }
            // SAFETY: every offset is at most `raw.len() - 4`.
            let gather = |o| unsafe { _mm256_i32gather_epi32::<1>(raw.as_ptr().cast(), o) };
            let (a, b, c, d) = (gather(a), gather(b), gather(c), gather(d));
            let channel = |v: __m256i, k: usize| {
                let shifted = match k {
                    0 => v,
                    1 => _mm256_srli_epi32::<8>(v),
                    _ => _mm256_srli_epi32::<16>(v),
                };
                _mm256_cvtepi32_ps(_mm256_and_si256(shifted, byte))
            };
            let (rx, ry) = (_mm256_sub_ps(one, fx), _mm256_sub_ps(one, fy));
            let mut v = [[0f32; 8]; 3];
            for (k, v) in v.iter_mut().enumerate() {
                let top = _mm256_add_ps(
                    _mm256_mul_ps(channel(a, k), rx),
                    _mm256_mul_ps(channel(b, k), fx),
                );
                let bottom = _mm256_add_ps(
                    _mm256_mul_ps(channel(c, k), rx),
                    _mm256_mul_ps(channel(d, k), fx),
                );
                let value = _mm256_add_ps(_mm256_mul_ps(top, ry), _mm256_mul_ps(bottom, fy));
                unsafe { _mm256_storeu_ps(v.as_mut_ptr(), value) };
            }
            out.extend((0..8).map(|i| [v[0][i], v[1][i], v[2][i]]));
        }
        out.extend(
            groups
                .remainder()
                .iter()
                .map(|&[x, y]| bilinear::<3>(raw, (w, h), x as f32, y as f32)),
        );
        out
    }
}

/// Bilinear sample at (x, y) of an image's raw buffer with `C` channels
/// per pixel, `w`×`h`, edges clamped; reads the raw buffer (`get_pixel`'s
/// bounds checks cost more than the arithmetic).
pub(crate) fn bilinear<const C: usize>(
    raw: &[u8],
    (w, h): (usize, usize),
    x: f32,
    y: f32,
) -> [f32; C] {
    let (x, y) = (x.max(0.0), y.max(0.0));
    // Through i32, whose conversions are one instruction each (usize's
    // are not); the same values for any image side under 2^24.
    let (wi, hi) = (w.min(1 << 24) as i32, h.min(1 << 24) as i32);
    let (x0, y0) = ((x as i32).min(wi - 1), (y as i32).min(hi - 1));
    let (fx, fy) = (x - x0 as f32, (y - y0 as f32));
    let (fx, fy) = (fx.min(1.0), fy.min(1.0));
    let (x1, y1) = ((x0 + 1).min(wi - 1) as usize, (y0 + 1).min(hi - 1) as usize);
    let (x0, y0) = (x0 as usize, y0 as usize);
    let at = |xx: usize, yy: usize| C * (yy * w + xx);
    let (a, b, c, d) = (at(x0, y0), at(x1, y0), at(x0, y1), at(x1, y1));
    // Each corner's channels read as one slice: one bounds check, not C.
    let px = |i: usize| -> [f32; C] {
        let p = &raw[i..i + C];
        std::array::from_fn(|k| p[k] as f32)
    };
    let (a, b, c, d) = (px(a), px(b), px(c), px(d));
    std::array::from_fn(|k| {
        let top = a[k] * (1.0 - fx) + b[k] * fx;
        let bottom = c[k] * (1.0 - fx) + d[k] * fx;
        top * (1.0 - fy) + bottom * fy
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_renders_the_photo_itself() {
        let photo = RgbImage::from_fn(256, 128, |x, y| Rgb([x as u8, y as u8, 77]));
        let r = render(&photo, 256, &Homography::identity(), (256.0, 128.0), 128).unwrap();
        assert_eq!(r.dimensions(), (128, 64));
        let p = r.get_pixel(64, 32);
        assert!(
            (p[0] as i32 - 129).abs() <= 2 && (p[1] as i32 - 65).abs() <= 2,
            "{p:?}"
        );
    }

    #[test]
    fn samples_eight_at_a_time_are_the_single_samples() {
        let (w, h) = (37usize, 23usize);
        let photo = RgbImage::from_fn(w as u32, h as u32, |x, y| {
            Rgb([(x * 7 + y) as u8, (y * 11) as u8, (x * y + 3) as u8])
        });
        let mut at = Vec::new();
        let mut s = 12345u64;
        for i in 0..4000 {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let r = |k: u32| ((s >> k) & 0xFFFF) as f64 / 65535.0;
            at.push([r(3) * w as f64 - 0.5, r(23) * h as f64 - 0.5]);
            // The edges and the last pixel, which the wide reads must avoid.
            if i % 50 == 0 {
                at.push([w as f64 - 0.5, h as f64 - 0.5]);
                at.push([-0.5, r(40) * h as f64 - 0.5]);
                at.push([w as f64 - 1.0, h as f64 - 1.0]);
            }
        }
        let dims = (w, h);
        let one_by_one: Vec<[f32; 3]> = at
            .iter()
            .map(|&[x, y]| bilinear::<3>(photo.as_raw(), dims, x as f32, y as f32))
            .collect();
        assert_eq!(sample_rgb(photo.as_raw(), dims, &at), one_by_one);
    }

    #[test]
    fn a_frame_mostly_outside_the_photo_renders_nothing() {
        let photo = RgbImage::new(100, 100);
        let shifted = Homography([1.0, 0.0, 90.0, 0.0, 1.0, 90.0, 0.0, 0.0, 1.0]);
        assert!(render(&photo, 100, &shifted, (100.0, 100.0), 128).is_none());
    }
}
