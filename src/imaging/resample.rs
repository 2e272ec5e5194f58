//! Triangle-filter resizing of grey images: the step between two levels
//! of the local features' pyramid (`crate::describe::orb`), made for every query
//! photo, its outlined region and its simulated tilts, and for every
//! reference at import. And box-filter shrinking ([`thumbnail`]), which
//! makes the working copies of every decoded photo.
//!
//! `image::imageops::resize` does the same through its generic pixel
//! path: every grey pixel widened to four `f32` channels and fetched one
//! by one, a tenth of a search's time (docs/decisions.md, "2026-12-02 —
//! Grey-channel resize and packed AVX2 keys"). This is the same
//! arithmetic on the one channel, row by row so that it vectorises, and
//! gives *bit for bit* the same pixels (a test holds it to that): the
//! features of references described by an earlier release stay
//! comparable with a query's.

use image::{GrayImage, ImageBuffer, Pixel};

/// The pixels `image::imageops::resize(src, width, height,
/// FilterType::Triangle)` gives, computed on the one grey channel.
pub fn resize_triangle(src: &GrayImage, width: u32, height: u32) -> GrayImage {
    let (sw, sh) = src.dimensions();
    if sw == 0 || sh == 0 {
        return GrayImage::new(width, height);
    }
    if (width, height) == (sw, sh) {
        return src.clone();
    }
    // As `image` does: the columns first, into f32 without rounding…
    let (sw, sh) = (sw as usize, sh as usize);
    let pixels = src.as_raw();
    let mut tmp = vec![0f32; sw * height as usize];
    for (row, taps) in tmp.chunks_exact_mut(sw).zip(taps(sh as u32, height)) {
        for (k, &w) in taps.weights.iter().enumerate() {
            let y = taps.first as usize + k;
            let line = &pixels[y * sw..(y + 1) * sw];
            for (t, &p) in row.iter_mut().zip(line) {
                *t += p as f32 * w;
            }
        }
    }
    // …then the rows, rounded to the nearest level and clamped.
    let columns = taps(sw as u32, width);
    let mut out = Vec::with_capacity(width as usize * height as usize);
    for row in tmp.chunks_exact(sw) {
        out.extend(columns.iter().map(|taps| {
            let line = &row[taps.first as usize..];
            let t = taps
                .weights
                .iter()
                .zip(line)
                .fold(0f32, |t, (&w, &p)| t + p * w);
            round_u8(t)
        }));
    }
    GrayImage::from_raw(width, height, out).expect("width × height pixels")
}

/// The pixels `image::imageops::thumbnail(src, width, height)` gives, for
/// 8-bit pixels of any channel count. `image` fetches every source pixel
/// one by one through its generic pixel path, 9 ms for a photo's 720-pixel
/// copy (docs/decisions.md, "Box-filter shrinking in two passes"); this sums
/// each output row's box column by column, then the columns box by box: the
/// same integer sums, so the same pixels bit for bit (a test holds it to
/// that), and the features of references described before stay comparable.
pub fn thumbnail<P>(
    src: &ImageBuffer<P, Vec<u8>>,
    width: u32,
    height: u32,
) -> ImageBuffer<P, Vec<u8>>
where
    P: Pixel<Subpixel = u8> + 'static,
{
    let (sw, sh) = src.dimensions();
    let (Some(columns), Some(rows)) = (boxes(sw, width), boxes(sh, height)) else {
        // A box narrower than a pixel (enlarging, or an empty image): the
        // crate's own fractional path.
        return image::imageops::thumbnail(src, width, height);
    };
    let ch = P::CHANNEL_COUNT as usize;
    let line = sw as usize * ch;
    let pixels = src.as_raw();
    let mut sums = vec![0u32; line];
    let mut out = Vec::with_capacity(width as usize * height as usize * ch);
    for &(bottom, top) in &rows {
        sums.fill(0);
        for y in bottom..top {
            let row = &pixels[y as usize * line..(y as usize + 1) * line];
            for (s, &p) in sums.iter_mut().zip(row) {
                *s += p as u32;
            }
        }
        for &(left, right) in &columns {
            let n = (right - left) * (top - bottom);
            let mut acc = [0u32; 4];
            for px in sums[left as usize * ch..right as usize * ch].chunks_exact(ch) {
                for (a, &p) in acc.iter_mut().zip(px) {
                    *a += p;
                }
            }
            out.extend(acc[..ch].iter().map(|&a| ((a + n / 2) / n).min(255) as u8));
        }
    }
    ImageBuffer::from_raw(width, height, out).expect("width × height pixels")
}

/// Each output pixel's box along one axis, `from` input pixels to `to`,
/// with `image`'s arithmetic (`thumbnail`); None where a box would be
/// empty, which that function fills by interpolation instead.
fn boxes(from: u32, to: u32) -> Option<Vec<(u32, u32)>> {
    if from == 0 || to == 0 {
        return None;
    }
    let ratio = from as f32 / to as f32;
    (0..to)
        .map(|out| {
            let startf = out as f32 * ratio;
            let endf = startf + ratio;
            let start = (startf.ceil() as u32).clamp(0, from - 1);
            let end = (endf.ceil() as u32).clamp(start, from);
            (start != end).then_some((start, end))
        })
        .collect()
}

/// The input pixels one output pixel is made of: from `first` on, one
/// weight each.
struct Taps {
    first: u32,
    weights: Vec<f32>,
}

/// Each output pixel's taps along one axis, `from` input pixels to `to`,
/// with `image`'s arithmetic (its `horizontal_sample`, support 1).
fn taps(from: u32, to: u32) -> Vec<Taps> {
    let ratio = from as f32 / to as f32;
    let sratio = if ratio < 1.0 { 1.0 } else { ratio };
    let support = sratio;
    (0..to)
        .map(|out| {
            let centre = (out as f32 + 0.5) * ratio;
            let left = ((centre - support).floor() as i64).clamp(0, from as i64 - 1);
            let right = ((centre + support).ceil() as i64).clamp(left + 1, from as i64);
            let centre = centre - 0.5;
            let mut weights: Vec<f32> = (left..right)
                .map(|i| triangle((i as f32 - centre) / sratio))
                .collect();
            let sum = weights.iter().fold(0f32, |s, &w| s + w);
            for w in &mut weights {
                *w /= sum;
            }
            Taps {
                first: left as u32,
                weights,
            }
        })
        .collect()
}

/// `v.clamp(0.0, 255.0).round() as u8` (halves away from zero, NaN to 0)
/// without `round`'s libm call, which was 4% of a photo's description.
pub fn round_u8(v: f32) -> u8 {
    let c = v.clamp(0.0, 255.0);
    let t = c as u8;
    // Exact: `c` and its integer part differ only in the fraction's bits.
    t + u8::from(c - t as f32 >= 0.5)
}

fn triangle(x: f32) -> f32 {
    if x.abs() < 1.0 { 1.0 - x.abs() } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_u8_is_clamped_round() {
        // The float on either side (`next_up` needs a newer Rust than 1.85).
        let around = |v: f32| {
            let b = v.to_bits();
            [v, f32::from_bits(b.wrapping_sub(1)), f32::from_bits(b + 1)]
        };
        let mut values = vec![
            f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            -1e9,
            1e9,
            0.0,
            -0.0,
        ];
        for k in -4..=260 {
            for v in around(k as f32 + 0.5).into_iter().chain(around(k as f32)) {
                values.extend(around(v));
            }
        }
        values.extend((0..300_000).map(|i| i as f32 / 1024.0 - 20.0));
        for v in values {
            assert_eq!(round_u8(v), v.clamp(0.0, 255.0).round() as u8, "{v}");
            assert_eq!(round_u8(v), v.round().clamp(0.0, 255.0) as u8, "{v}");
        }
    }
    use image::imageops::{FilterType, resize};

    fn noise(w: u32, h: u32, seed: u32) -> GrayImage {
        let mut s = seed | 1;
        GrayImage::from_fn(w, h, |x, y| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            // Smooth gradients with noise, and runs of the extremes.
            let v = (x * 3 + y * 5) as i32 % 256 + (s % 41) as i32 - 20;
            image::Luma([if (x / 7 + y / 5) % 9 == 0 {
                255
            } else {
                v.clamp(0, 255) as u8
            }])
        })
    }

    /// (width, height) → (new width, new height): a pyramid step, a photo's
    /// working copies, shrinking by less than one pixel, enlarging, a
    /// single pixel.
    const SIZES: [(u32, u32, u32, u32); 11] = [
        (720, 540, 554, 415),
        (554, 415, 426, 319),
        (1600, 1200, 720, 540),
        (1613, 1075, 720, 480),
        (720, 540, 512, 384),
        (97, 61, 75, 47),
        (640, 480, 640, 479),
        (33, 40, 60, 80),
        (5, 3, 1, 1),
        (1, 9, 1, 4),
        (24, 24, 24, 24),
    ];

    #[test]
    fn the_same_pixels_as_image_s_resize() {
        for (i, &(w, h, nw, nh)) in SIZES.iter().enumerate() {
            let src = noise(w, h, i as u32 + 7);
            let ours = resize_triangle(&src, nw, nh);
            let theirs = resize(&src, nw, nh, FilterType::Triangle);
            assert_eq!(ours.dimensions(), theirs.dimensions());
            assert!(
                ours.as_raw() == theirs.as_raw(),
                "{w}×{h} → {nw}×{nh} differs"
            );
        }
        let empty = GrayImage::new(0, 0);
        assert_eq!(resize_triangle(&empty, 3, 2).dimensions(), (3, 2));
    }

    #[test]
    fn the_same_pixels_as_image_s_thumbnail() {
        for (i, &(w, h, nw, nh)) in SIZES.iter().enumerate() {
            let grey = noise(w, h, i as u32 + 3);
            let ours = thumbnail(&grey, nw, nh);
            let theirs = image::imageops::thumbnail(&grey, nw, nh);
            assert!(ours == theirs, "grey {w}×{h} → {nw}×{nh} differs");
            let rgb = image::RgbImage::from_fn(w, h, |x, y| {
                let g = grey.get_pixel(x, y)[0];
                image::Rgb([g, g.wrapping_mul(7), 255 - g])
            });
            let ours = thumbnail(&rgb, nw, nh);
            let theirs = image::imageops::thumbnail(&rgb, nw, nh);
            assert!(ours == theirs, "rgb {w}×{h} → {nw}×{nh} differs");
        }
    }
}
