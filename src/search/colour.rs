//! Colour agreement: is the photo, inside the verified outline, coloured as
//! the reference is, or is it the same design in other colours?
//!
//! Local features and the pixel comparison (`crate::search::pixels`) read
//! grey gradients: they cannot tell a colour cast from a colourway. A copy
//! of a picture with its colour channels swapped, or its hues turned, is a
//! `match` by them; so is a print of the same plate in another colour, or a
//! motif repeated in a series. A cast of the light, the camera's white
//! balance, a faded print or a washed-out photo multiply each channel by
//! about one factor, which in log-chromaticity (`ln R/G`, `ln B/G`) is one
//! shift for the whole picture, and scale its saturation; a colourway
//! permutes or turns the hues. So the chromaticities of the reference's
//! grid cells and of the photo at the same places are correlated, both
//! centred: a true view's correlate highly, whatever the light; a
//! recoloured copy's hardly, or negatively (docs/decisions.md,
//! "2026-12-07 — Colour inside the verified outline").

use super::shrunk::Shrunk;
use crate::describe::grid::GRID;
use image::RgbImage;

/// Below this correlation of chromaticities, the photo is not coloured as
/// the reference is: fewer than a tenth of its colour differences are the
/// reference's (r² < 0.09). True views' stay far above it through casts,
/// glare and washed-out prints (dev split: none of the 361 right first
/// candidates judged, 1st percentile 0.67), and most recoloured copies far
/// below.
pub const COLOUR_AGREES: f32 = 0.3;
/// Added to each channel (of 255) before the ratios: dark cells' ratios
/// are noise.
const DARK: f32 = 8.0;
/// The reference is judged only where its chromaticities spread at least
/// this much (standard deviation, summed over the two): a reference nearly
/// grey has no colours to change, and its chromaticities are noise. The
/// most conservative of the floors half A could not tell apart
/// (docs/decisions.md).
const REFERENCE_COLOURFUL: f32 = 0.15;
/// …and the photo only where its own spread this much: a grey photo of a
/// coloured picture (a black-and-white document photo) is not judged.
const PHOTO_COLOURFUL: f32 = 0.03;
/// …and where its colours vary beyond what its brightness explains, by
/// this much (root mean square within [`BRIGHTNESS_BINS`]): a toned
/// photo or print (sepia, cyanotype) has colour, but as a function of
/// its brightness, not the reference's.
const BEYOND_BRIGHTNESS: f32 = 0.04;
const BRIGHTNESS_BINS: usize = 16;
/// At least this many cells must be compared: three parts of the
/// reference (`crate::search::parts::SHOWN_MIN`), less their outer ring.
const MIN_CELLS: usize = 3 * 5 * 5;

/// The correlation (-1..1) of the reference's colours (its kept RGB grid)
/// with the photo's inside `outline` (the reference's corners TL, TR, BR,
/// BL in `photo`'s pixels), over the grid cells `shown` says the photo
/// shows (row by row): where its structure agrees with the reference's,
/// not the table around a torn fragment or a hand over the picture. None
/// where either side has too little colour to judge, or the photo shows
/// too little of the reference.
pub fn agreement(
    photo: &RgbImage,
    outline: &[[f32; 2]; 4],
    reference: &[u8],
    shown: &[bool],
) -> Option<f32> {
    let n = GRID as usize;
    if reference.len() != 3 * n * n
        || shown.len() != n * n
        || photo.width() < 2
        || photo.height() < 2
    {
        return None;
    }
    let pairs = as_bright(sample(photo, outline, reference, shown)?);
    if pairs.len() < MIN_CELLS {
        return None;
    }
    let ours: Vec<[f32; 2]> = pairs.iter().map(|(r, _)| chromaticity(*r)).collect();
    let theirs: Vec<[f32; 2]> = pairs.iter().map(|(_, p)| chromaticity(*p)).collect();
    let (ours, spread_ours) = centred(&ours);
    let (theirs, spread_theirs) = centred(&theirs);
    let photo_rgb: Vec<[f32; 3]> = pairs.iter().map(|(_, p)| *p).collect();
    if spread_ours < REFERENCE_COLOURFUL
        || spread_theirs < PHOTO_COLOURFUL
        || beyond_brightness(&photo_rgb) < BEYOND_BRIGHTNESS
    {
        return None;
    }
    let (mut ab, mut aa, mut bb) = (0f64, 0f64, 0f64);
    for (a, b) in ours.iter().zip(&theirs) {
        ab += (a[0] * b[0] + a[1] * b[1]) as f64;
        aa += (a[0] * a[0] + a[1] * a[1]) as f64;
        bb += (b[0] * b[0] + b[1] * b[1]) as f64;
    }
    Some((ab / (aa * bb).sqrt()) as f32)
}

/// Whether the photo is coloured otherwise than the reference, by an
/// [`agreement`].
pub fn differs(agreement: Option<f32>) -> bool {
    agreement.is_some_and(|a| a < COLOUR_AGREES)
}

/// Each grid cell `shown`, but the outer ring, whose centre falls inside
/// the photo: the reference's colour and the photo's there, the photo
/// shrunk so that a cell is about one pixel (the same averaging as the
/// reference's grid).
fn sample(
    photo: &RgbImage,
    outline: &[[f32; 2]; 4],
    reference: &[u8],
    shown: &[bool],
) -> Option<Vec<([f32; 3], [f32; 3])>> {
    let cells = Shrunk::new(photo, outline)?.cells::<3>(outline)?;
    let n = GRID as usize;
    let mut pairs = Vec::with_capacity(n * n);
    // The outer ring is left out: its cells mix in what surrounds the
    // picture (a wall, a frame), whose colours are not the reference's.
    for y in 1..n - 1 {
        for x in (1..n - 1).filter(|x| shown[y * n + x]) {
            let Some(p) = cells[y * n + x] else { continue };
            let i = 3 * (y * n + x);
            pairs.push(([0, 1, 2].map(|k| reference[i + k] as f32), p));
        }
    }
    Some(pairs)
}

/// A cell shows the reference where its brightness is the reference's
/// under one brightness and contrast for the whole picture, within this
/// many robust standard deviations of the residuals…
const BRIGHTNESS_SPREAD: f32 = 3.0;
/// …or this many grey levels, whichever is more.
const BRIGHTNESS_FLOOR: f32 = 8.0;

/// The cells whose brightness is the reference's under one linear map of
/// brightness (fitted by least squares, twice, the second time without
/// the cells the first put out): a part that agrees in structure may
/// still hold, beside a torn edge, a hand or a frame, cells of the table,
/// the hand or the frame, whose colours are not the reference's. A
/// colourway changes brightness too, but smoothly with the hues, so most
/// of its cells stay.
fn as_bright(pairs: Vec<([f32; 3], [f32; 3])>) -> Vec<([f32; 3], [f32; 3])> {
    let luma = |[r, g, b]: [f32; 3]| 0.2126 * r + 0.7152 * g + 0.0722 * b;
    let xy: Vec<(f32, f32)> = pairs.iter().map(|(r, p)| (luma(*r), luma(*p))).collect();
    let mut keep = vec![true; pairs.len()];
    for _ in 0..2 {
        let kept: Vec<(f32, f32)> = xy
            .iter()
            .zip(&keep)
            .filter(|(_, k)| **k)
            .map(|(v, _)| *v)
            .collect();
        if kept.len() < 3 {
            break;
        }
        let (a, b) = line_fit(&kept);
        let residual = |(x, y): (f32, f32)| y - (a * x + b);
        let mut e: Vec<f32> = kept.iter().map(|&v| residual(v)).collect();
        let mid = median(&mut e);
        let mut spread: Vec<f32> = e.iter().map(|v| (v - mid).abs()).collect();
        let scale = 1.4826 * median(&mut spread);
        let within = (BRIGHTNESS_SPREAD * scale).max(BRIGHTNESS_FLOOR);
        keep = xy
            .iter()
            .map(|&v| (residual(v) - mid).abs() <= within)
            .collect();
    }
    pairs
        .into_iter()
        .zip(keep)
        .filter_map(|(p, k)| k.then_some(p))
        .collect()
}

/// Least-squares `y = a x + b`; a flat `x` gives `a = 0`.
fn line_fit(xy: &[(f32, f32)]) -> (f32, f32) {
    let k = xy.len() as f64;
    let (mx, my) = xy.iter().fold((0f64, 0f64), |(sx, sy), &(x, y)| {
        (sx + x as f64 / k, sy + y as f64 / k)
    });
    let (sxy, sxx) = xy.iter().fold((0f64, 0f64), |(sxy, sxx), &(x, y)| {
        let dx = x as f64 - mx;
        (sxy + dx * (y as f64 - my), sxx + dx * dx)
    });
    let a = if sxx > 0.0 { sxy / sxx } else { 0.0 };
    (a as f32, (my - a * mx) as f32)
}

fn median(v: &mut [f32]) -> f32 {
    v.sort_by(f32::total_cmp);
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// `ln R/G` and `ln B/G`, each channel lifted by [`DARK`].
fn chromaticity([r, g, b]: [f32; 3]) -> [f32; 2] {
    [
        ((r + DARK) / (g + DARK)).ln(),
        ((b + DARK) / (g + DARK)).ln(),
    ]
}

/// The values less their mean, and their spread (the standard deviations
/// of the two, summed in quadrature).
fn centred(values: &[[f32; 2]]) -> (Vec<[f32; 2]>, f32) {
    let k = values.len().max(1) as f32;
    let mean = values
        .iter()
        .fold([0f32; 2], |m, v| [m[0] + v[0] / k, m[1] + v[1] / k]);
    let centred: Vec<[f32; 2]> = values
        .iter()
        .map(|v| [v[0] - mean[0], v[1] - mean[1]])
        .collect();
    let variance = centred
        .iter()
        .map(|c| c[0] * c[0] + c[1] * c[1])
        .sum::<f32>()
        / k;
    (centred, variance.sqrt())
}

/// How much the photo's chromaticities vary among cells of about the same
/// brightness (root mean square about each brightness bin's mean).
fn beyond_brightness(photo: &[[f32; 3]]) -> f32 {
    let bin = |[r, g, b]: [f32; 3]| {
        let y = (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255.0;
        ((y * BRIGHTNESS_BINS as f32) as usize).min(BRIGHTNESS_BINS - 1)
    };
    let mut sums = [[0f32; 3]; BRIGHTNESS_BINS];
    for &p in photo {
        let c = chromaticity(p);
        let s = &mut sums[bin(p)];
        *s = [s[0] + c[0], s[1] + c[1], s[2] + 1.0];
    }
    let within: f32 = photo
        .iter()
        .map(|&p| {
            let (c, s) = (chromaticity(p), sums[bin(p)]);
            let (du, dv) = (c[0] - s[0] / s[2], c[1] - s[1] / s[2]);
            du * du + dv * dv
        })
        .sum();
    (within / photo.len().max(1) as f32).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::describe::grid::grid;
    use image::{Rgb, imageops};

    /// Patches of six hues at three brightnesses, on a light ground.
    fn picture() -> RgbImage {
        let hues = [
            [200, 40, 40],
            [40, 160, 60],
            [50, 70, 200],
            [220, 200, 40],
            [150, 60, 170],
            [40, 170, 180],
        ];
        RgbImage::from_fn(300, 200, |x, y| {
            let (i, j) = ((x / 50) as usize, (y / 50) as usize);
            if (x / 10 + y / 10) % 5 == 0 {
                return Rgb([235, 230, 220]);
            }
            let [r, g, b] = hues[(i + 2 * j) % hues.len()];
            let k = [1.0, 0.75, 0.5][(i + j) % 3];
            Rgb([r, g, b].map(|v: i32| (v as f32 * k) as u8))
        })
    }

    /// `inner` twice as big on a grey wall at (100, 50), and its outline.
    fn photo_of(inner: &RgbImage) -> (RgbImage, [[f32; 2]; 4]) {
        let big = imageops::resize(inner, 600, 400, imageops::FilterType::Triangle);
        let mut photo = RgbImage::from_pixel(800, 500, Rgb([90, 90, 90]));
        imageops::replace(&mut photo, &big, 100, 50);
        let outline = [[100.0, 50.0], [700.0, 50.0], [700.0, 450.0], [100.0, 450.0]];
        (photo, outline)
    }

    fn all() -> Vec<bool> {
        vec![true; (GRID * GRID) as usize]
    }

    fn map(img: &RgbImage, f: impl Fn([u8; 3]) -> [u8; 3]) -> RgbImage {
        RgbImage::from_fn(img.width(), img.height(), |x, y| {
            Rgb(f(img.get_pixel(x, y).0))
        })
    }

    #[test]
    fn a_cast_keeps_the_colours_and_a_colourway_does_not() {
        let reference = picture();
        let g = grid(&reference);
        let at = |img: &RgbImage| {
            let (photo, outline) = photo_of(img);
            agreement(&photo, &outline, &g, &all())
        };
        assert!(at(&reference).unwrap() > 0.9, "{:?}", at(&reference));
        // Warm light, a washed-out print, a darker photo: the same colours.
        let warm = map(&reference, |[r, g, b]| {
            [r, (g as f32 * 0.8) as u8, (b as f32 * 0.55) as u8]
        });
        let washed = map(&reference, |c| c.map(|v| 90 + v / 2));
        let dark = map(&reference, |c| c.map(|v| v / 2));
        for (name, img) in [("warm", &warm), ("washed", &washed), ("dark", &dark)] {
            let a = at(img).unwrap();
            assert!(a > COLOUR_AGREES + 0.3, "{name}: {a}");
        }
        // Channels swapped, hues turned: the same design, other colours.
        let swapped = map(&reference, |[r, g, b]| [b, g, r]);
        let turned = map(&reference, |[r, g, b]| [g, b, r]);
        for (name, img) in [("swapped", &swapped), ("turned", &turned)] {
            let a = at(img);
            assert!(differs(a), "{name}: {a:?}");
        }
    }

    #[test]
    fn grey_or_toned_photos_and_grey_references_are_not_judged() {
        let reference = picture();
        let g = grid(&reference);
        let luma = |[r, g, b]: [u8; 3]| 0.2126 * r as f32 + 0.7152 * g as f32 + 0.0722 * b as f32;
        let grey = map(&reference, |c| [luma(c) as u8; 3]);
        let sepia = map(&reference, |c| {
            let y = luma(c);
            [1.07 * y, 0.74 * y, 0.43 * y].map(|v| v.min(255.0) as u8)
        });
        for (name, img) in [("grey", grey), ("sepia", sepia)] {
            let (photo, outline) = photo_of(&img);
            let a = agreement(&photo, &outline, &g, &all());
            assert_eq!(a, None, "{name}");
        }
        // A grey reference has no colours to compare, whatever the photo's.
        let grey_ref = grid(&map(&reference, |c| [luma(c) as u8; 3]));
        let (photo, outline) = photo_of(&reference);
        assert_eq!(agreement(&photo, &outline, &grey_ref, &all()), None);
        // A reference kept before colours were (a grey grid) is not judged.
        assert_eq!(
            agreement(
                &photo,
                &outline,
                &g[..GRID as usize * GRID as usize],
                &all()
            ),
            None
        );
        // Nor one mostly outside the photo.
        let outside = outline.map(|[x, y]| [x + 650.0, y + 380.0]);
        assert_eq!(agreement(&photo, &outside, &g, &all()), None);
    }

    #[test]
    fn only_the_cells_the_photo_shows_are_compared() {
        // A torn fragment: the picture's left half on a green table.
        let reference = picture();
        let g = grid(&reference);
        let mut torn = RgbImage::from_pixel(300, 200, Rgb([40, 150, 60]));
        imageops::replace(
            &mut torn,
            &imageops::crop_imm(&reference, 0, 0, 150, 200).to_image(),
            0,
            0,
        );
        let (photo, outline) = photo_of(&torn);
        let n = GRID as usize;
        let left: Vec<bool> = (0..n * n).map(|i| i % n < n / 2).collect();
        let shown = agreement(&photo, &outline, &g, &left).unwrap();
        assert!(shown > 0.9, "{shown}");
        let whole = agreement(&photo, &outline, &g, &all()).unwrap();
        assert!(whole < shown - 0.2, "{whole} vs {shown}");
        // Too few cells shown: not judged.
        let few: Vec<bool> = (0..n * n).map(|i| i % n < 4 && i / n < 8).collect();
        assert_eq!(agreement(&photo, &outline, &g, &few), None);
    }
}
