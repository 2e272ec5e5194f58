//! The picture an expert checks a match by: query and reference side by
//! side, the reference's outline drawn where it was found in the query,
//! and every agreeing pair of local features joined by a line.
//!
//! A score says how sure the engine is; this says why, in a form a person
//! can verify by eye in seconds (same corners of the same brush strokes,
//! or not).

use image::{Rgb, RgbImage, imageops};

/// Height both halves are scaled to.
const HEIGHT: u32 = 600;
const GAP: u32 = 8;
const OUTLINE: Rgb<u8> = Rgb([0, 230, 64]);

/// What to draw, in each image's own pixel coordinates.
pub struct Explanation<'a> {
    pub query: &'a RgbImage,
    pub reference: &'a RgbImage,
    /// The reference's outline in the query (TL, TR, BR, BL).
    pub region: Option<[[f32; 2]; 4]>,
    /// Agreeing features: (reference point, query point).
    pub pairs: &'a [([f32; 2], [f32; 2])],
}

pub fn render(e: &Explanation) -> RgbImage {
    let sq = HEIGHT as f32 / e.query.height().max(1) as f32;
    let sr = HEIGHT as f32 / e.reference.height().max(1) as f32;
    let qw = ((e.query.width() as f32 * sq).round() as u32).max(1);
    let rw = ((e.reference.width() as f32 * sr).round() as u32).max(1);
    let q = imageops::resize(e.query, qw, HEIGHT, imageops::FilterType::Triangle);
    let r = imageops::resize(e.reference, rw, HEIGHT, imageops::FilterType::Triangle);
    let mut out = RgbImage::from_pixel(qw + GAP + rw, HEIGHT, Rgb([255, 255, 255]));
    imageops::replace(&mut out, &q, 0, 0);
    imageops::replace(&mut out, &r, (qw + GAP) as i64, 0);
    let to_query = |p: [f32; 2]| [p[0] * sq, p[1] * sq];
    let to_ref = |p: [f32; 2]| [p[0] * sr + (qw + GAP) as f32, p[1] * sr];
    for (i, (rp, qp)) in e.pairs.iter().enumerate() {
        let colour = palette(i);
        let (a, b) = (to_query(*qp), to_ref(*rp));
        line(&mut out, a, b, colour);
        dot(&mut out, a, colour);
        dot(&mut out, b, colour);
    }
    if let Some(quad) = e.region {
        for k in 0..4 {
            let (a, b) = (to_query(quad[k]), to_query(quad[(k + 1) % 4]));
            // Three parallel strokes: visible on any background.
            for d in [-1.0, 0.0, 1.0] {
                line(&mut out, [a[0] + d, a[1]], [b[0] + d, b[1]], OUTLINE);
                line(&mut out, [a[0], a[1] + d], [b[0], b[1] + d], OUTLINE);
            }
        }
        let ref_box = [
            [0.0, 0.0],
            [e.reference.width() as f32, 0.0],
            [e.reference.width() as f32, e.reference.height() as f32],
            [0.0, e.reference.height() as f32],
        ];
        for k in 0..4 {
            line(
                &mut out,
                to_ref(ref_box[k]),
                to_ref(ref_box[(k + 1) % 4]),
                OUTLINE,
            );
        }
    }
    out
}

fn palette(i: usize) -> Rgb<u8> {
    const COLOURS: [[u8; 3]; 6] = [
        [255, 210, 0],
        [0, 200, 255],
        [255, 80, 200],
        [120, 255, 80],
        [255, 120, 40],
        [160, 120, 255],
    ];
    Rgb(COLOURS[i % COLOURS.len()])
}

fn put(img: &mut RgbImage, x: i64, y: i64, c: Rgb<u8>) {
    if x >= 0 && y >= 0 && (x as u32) < img.width() && (y as u32) < img.height() {
        img.put_pixel(x as u32, y as u32, c);
    }
}

fn dot(img: &mut RgbImage, p: [f32; 2], c: Rgb<u8>) {
    let (x, y) = (p[0].round() as i64, p[1].round() as i64);
    for dy in -2..=2 {
        for dx in -2..=2 {
            if dx * dx + dy * dy <= 5 {
                put(img, x + dx, y + dy, c);
            }
        }
    }
}

/// A straight segment, one pixel wide; points outside are clipped.
fn line(img: &mut RgbImage, a: [f32; 2], b: [f32; 2], c: Rgb<u8>) {
    let steps = (b[0] - a[0])
        .abs()
        .max((b[1] - a[1]).abs())
        .ceil()
        .min(20_000.0) as i64;
    for s in 0..=steps.max(1) {
        let t = s as f32 / steps.max(1) as f32;
        let x = a[0] + (b[0] - a[0]) * t;
        let y = a[1] + (b[1] - a[1]) * t;
        put(img, x.round() as i64, y.round() as i64, c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_outline_and_pairs() {
        let query = RgbImage::from_pixel(400, 300, Rgb([0, 0, 0]));
        let reference = RgbImage::from_pixel(200, 200, Rgb([0, 0, 0]));
        let pairs = [([100.0, 100.0], [200.0, 150.0])];
        let out = render(&Explanation {
            query: &query,
            reference: &reference,
            region: Some([[50.0, 50.0], [350.0, 50.0], [350.0, 250.0], [50.0, 250.0]]),
            pairs: &pairs,
        });
        assert_eq!(out.height(), HEIGHT);
        assert_eq!(out.width(), 800 + GAP + 600);
        // The outline's top edge at y = 50 * 2 = 100 in the query half.
        assert_eq!(*out.get_pixel(400, 100), OUTLINE);
        // The pair's end point in the reference half.
        assert_eq!(*out.get_pixel(800 + GAP + 300, 300), palette(0));
    }
}
