//! The picture an expert checks a match by: query and reference side by
//! side, the reference's outline drawn where it was found in the query,
//! and every agreeing pair of local features joined by a line; where the
//! reference was compared part by part (`crate::search::pixels`), each part
//! that does not agree is tinted on the reference and outlined where it
//! lies in the photo: red where the two differ, magenta where the photo
//! adds something, orange where the photo lacks what the reference has,
//! grey where that part is outside the photo. A find small in a large
//! photo is drawn zoomed, the whole photo inset in a corner.
//!
//! A score says how sure the engine is; this says why, in a form a person
//! can verify by eye in seconds (same corners of the same brush strokes,
//! or not).

use crate::imaging::geometry::{Homography, bounds};
use crate::search::parts::{Blocks, PARTS_SIDE, Part};
use image::{Rgb, RgbImage, imageops};

/// Height both halves are scaled to.
const HEIGHT: u32 = 600;
/// The widest a half may be: a photo wider than 2:1 is scaled to this
/// width instead (lower than [`HEIGHT`]), so that a strip photo (20,000 × 2
/// is within the decode limits) cannot make a picture of millions of pixels.
const MAX_HALF_WIDTH: u32 = 2 * HEIGHT;
const GAP: u32 = 8;
/// The best candidate's region is shown zoomed when its box is under this
/// share of the photo's longer side: at [`HEIGHT`] it
/// would be under 200 px, too small to check corners by eye (a picture
/// on a far wall, one the closer look found).
const ZOOM_BELOW: f32 = 1.0 / 3.0;
/// The zoomed view keeps this share of the found box's longer side around
/// it on each side: the frame and what lies by it stay in view.
const CONTEXT: f32 = 0.5;
/// The whole photo, shrunk to this share of [`HEIGHT`], is inset in a corner
/// of a zoomed view with the view's box and every object on it: where in
/// the photo it is.
const INSET: f32 = 0.25;
const OUTLINE: Rgb<u8> = Rgb([0, 230, 64]);
/// The other objects found in the photo.
const OBJECT: Rgb<u8> = Rgb([0, 170, 255]);
/// Font pixels per glyph pixel of a label (8×8 glyphs).
const LABEL_SCALE: u32 = 1;

/// What to draw, in each image's own pixel coordinates.
pub struct Explanation<'a> {
    pub query: &'a RgbImage,
    pub reference: &'a RgbImage,
    /// The reference's outline in the query (TL, TR, BR, BL).
    pub region: Option<[[f32; 2]; 4]>,
    /// Agreeing features: (reference point, query point).
    pub pairs: &'a [([f32; 2], [f32; 2])],
    /// The reference compared part by part with the photo.
    pub blocks: Option<&'a Blocks>,
    /// Every object found in the photo (its number, record id, verdict and
    /// region in the query), outlined and labelled on the query half.
    pub objects: &'a [FoundObject],
}

/// One object found in the photo, as the expert's picture labels it.
pub struct FoundObject {
    pub number: u32,
    pub id: String,
    pub verdict: &'static str,
    pub region: [[f32; 2]; 4],
}

/// The colour a part that does not agree is drawn in; None for one that
/// agrees or was not judged.
fn part_colour(p: Part) -> Option<Rgb<u8>> {
    match p {
        Part::Differ => Some(Rgb([230, 20, 20])),
        Part::Added => Some(Rgb([220, 0, 220])),
        Part::Missing => Some(Rgb([255, 150, 0])),
        Part::Outside => Some(Rgb([128, 128, 128])),
        Part::Agree | Part::Unjudged => None,
    }
}

pub fn render(e: &Explanation) -> RgbImage {
    let view = zoomed(e);
    let shown = match view {
        Some([x0, y0, x1, y1]) => std::borrow::Cow::Owned(
            imageops::crop_imm(e.query, x0, y0, x1 - x0, y1 - y0).to_image(),
        ),
        None => std::borrow::Cow::Borrowed(e.query),
    };
    let (sq, qw, qh) = fit(&shown);
    let (sr, rw, rh) = fit(e.reference);
    let mut q = imageops::resize(&*shown, qw, qh, imageops::FilterType::Triangle);
    let r = imageops::resize(e.reference, rw, rh, imageops::FilterType::Triangle);
    let [ox, oy] = view.map_or([0.0, 0.0], |v| [v[0] as f32, v[1] as f32]);
    let to_query = |p: [f32; 2]| [(p[0] - ox) * sq, (p[1] - oy) * sq];
    // What belongs to the photo is drawn on its half alone: an outline
    // running off the photo must not mark the reference beside it.
    draw_on_photo(&mut q, e, view, &to_query);
    let mut out = RgbImage::from_pixel(qw + GAP + rw, HEIGHT, Rgb([255, 255, 255]));
    imageops::replace(&mut out, &q, 0, 0);
    imageops::replace(&mut out, &r, (qw + GAP) as i64, 0);
    let to_ref = |p: [f32; 2]| [p[0] * sr + (qw + GAP) as f32, p[1] * sr];
    for (i, (rp, qp)) in e.pairs.iter().enumerate() {
        let colour = palette(i);
        let (a, b) = (to_query(*qp), to_ref(*rp));
        line(&mut out, a, b, colour);
        dot(&mut out, a, colour);
        dot(&mut out, b, colour);
    }
    if let Some(blocks) = e.blocks.filter(|_| e.region.is_some()) {
        tint_parts(&mut out, e, blocks, sr, qw + GAP);
    }
    if e.region.is_some() {
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

/// The photo's half: each part that does not agree outlined where the
/// transform puts it, every object outlined and labelled, the best
/// candidate's outline, and for a zoomed view the whole photo inset.
fn draw_on_photo(
    q: &mut RgbImage,
    e: &Explanation,
    view: Option<[u32; 4]>,
    to_query: &dyn Fn([f32; 2]) -> [f32; 2],
) {
    let (qw, qh) = (q.width(), q.height());
    if let (Some(blocks), Some(quad)) = (e.blocks, e.region) {
        outline_parts(q, e, blocks, &quad, to_query);
    }
    for o in e.objects {
        let quad = o.region.map(to_query);
        let colour = if Some(o.region) == e.region {
            OUTLINE
        } else {
            OBJECT
        };
        draw_quad(q, &quad, colour);
        // The label sits on the outline's centre, inside the half; an
        // object outside a zoomed view is shown on its inset only.
        let [[x0, y0], [x1, y1]] = bounds(&quad);
        if x1 < 0.0 || y1 < 0.0 || x0 > qw as f32 || y0 > qh as f32 {
            continue;
        }
        let c = quad
            .iter()
            .fold([0.0, 0.0], |c, p| [c[0] + p[0] / 4.0, c[1] + p[1] / 4.0]);
        let text = format!("{} {} {}", o.number, o.id, o.verdict);
        let (w, h) = label_size(&text);
        let x = (c[0] as i64 - w as i64 / 2).clamp(0, (qw as i64 - w as i64).max(0));
        let y = (c[1] as i64 - h as i64 / 2).clamp(0, (qh as i64 - h as i64).max(0));
        label(q, &text, x, y, colour);
    }
    if let Some(quad) = e.region {
        draw_quad(q, &quad.map(to_query), OUTLINE);
    }
    if let (Some(v), Some(region)) = (view, e.region) {
        inset(q, e, v, bounds(&region.map(to_query)));
    }
}

/// The box of the photo (x0, y0, x1, y1) to show instead of the whole
/// photo, where the best candidate's region is small in it
/// ([`ZOOM_BELOW`]); None to show the whole photo. The picture explains
/// that candidate: the other objects are outlined where the view shows
/// them, and on the inset.
fn zoomed(e: &Explanation) -> Option<[u32; 4]> {
    let [[x0, y0], [x1, y1]] = bounds(e.region.as_ref()?);
    let (w, h) = (e.query.width() as f32, e.query.height() as f32);
    let side = (x1 - x0).max(y1 - y0);
    if side.is_nan() || side <= 0.0 || side >= ZOOM_BELOW * w.max(h) {
        return None;
    }
    let margin = CONTEXT * side;
    let clamp = |v: f32, hi: f32| v.clamp(0.0, hi) as u32;
    let b = [
        clamp(x0 - margin, w),
        clamp(y0 - margin, h),
        clamp(x1 + margin, w),
        clamp(y1 + margin, h),
    ];
    (b[2] > b[0] + 1 && b[3] > b[1] + 1).then_some(b)
}

/// The whole photo, shrunk, with the zoomed box and every object found
/// outlined on it, in a corner of the zoomed half `q` that does not cover
/// `found` (the best region's box in `q`), or covers least of it.
fn inset(q: &mut RgbImage, e: &Explanation, view: [u32; 4], found: [[f32; 2]; 2]) {
    let (pw, ph) = (
        e.query.width().max(1) as f32,
        e.query.height().max(1) as f32,
    );
    let s = (INSET * HEIGHT as f32 / ph).min(q.width() as f32 / 2.0 / pw);
    let (tw, th) = (((pw * s) as u32).max(1), ((ph * s) as u32).max(1));
    let mut thumb = imageops::resize(e.query, tw, th, imageops::FilterType::Triangle);
    let to_thumb = |p: [f32; 2]| [p[0] * s, p[1] * s];
    for o in e.objects {
        draw_quad(&mut thumb, &o.region.map(to_thumb), OBJECT);
    }
    let [x0, y0, x1, y1] = view.map(|v| v as f32);
    draw_quad(
        &mut thumb,
        &[[x0, y0], [x1, y0], [x1, y1], [x0, y1]].map(to_thumb),
        OUTLINE,
    );
    let (bw, bh) = (tw + 4, th + 4);
    let (right, bottom) = (q.width().saturating_sub(bw), q.height().saturating_sub(bh));
    // Left corners first: the lines to the reference leave the find
    // rightwards.
    let overlap = |&(x, y): &(u32, u32)| {
        let w = (found[1][0].min((x + bw) as f32) - found[0][0].max(x as f32)).max(0.0);
        let h = (found[1][1].min((y + bh) as f32) - found[0][1].max(y as f32)).max(0.0);
        w * h
    };
    let corners = [(0, 0), (0, bottom), (right, 0), (right, bottom)];
    let (x, y) = corners
        .iter()
        .copied()
        .min_by(|a, b| overlap(a).total_cmp(&overlap(b)))
        .unwrap_or((0, 0));
    let border = RgbImage::from_pixel(bw, bh, Rgb([255, 255, 255]));
    imageops::replace(q, &border, x as i64, y as i64);
    imageops::replace(q, &thumb, x as i64 + 2, y as i64 + 2);
}

/// The scale that fits `img` into [`HEIGHT`] high and [`MAX_HALF_WIDTH`]
/// wide, and the size it gives.
fn fit(img: &RgbImage) -> (f32, u32, u32) {
    let (w, h) = (img.width().max(1) as f32, img.height().max(1) as f32);
    let s = (HEIGHT as f32 / h).min(MAX_HALF_WIDTH as f32 / w);
    let size = |x: f32| ((x * s).round() as u32).clamp(1, HEIGHT.max(MAX_HALF_WIDTH));
    (s, size(w), size(h))
}

/// The corners of part `i` of the reference's grid of parts, in its pixels.
fn part_corners(e: &Explanation, i: usize) -> [[f32; 2]; 4] {
    let (w, h) = (e.reference.width() as f32, e.reference.height() as f32);
    let n = PARTS_SIDE as f32;
    let (cx, cy) = ((i % PARTS_SIDE) as f32, (i / PARTS_SIDE) as f32);
    [
        [cx, cy],
        [cx + 1.0, cy],
        [cx + 1.0, cy + 1.0],
        [cx, cy + 1.0],
    ]
    .map(|[x, y]| [x * w / n, y * h / n])
}

/// Tints each part that does not agree on the reference half, so that
/// what agrees stays readable.
fn tint_parts(out: &mut RgbImage, e: &Explanation, blocks: &Blocks, sr: f32, ref_left: u32) {
    for (i, &part) in blocks.map.0.iter().enumerate() {
        let Some(colour) = part_colour(part) else {
            continue;
        };
        let corners = part_corners(e, i);
        let [x0, y0] = [corners[0][0] * sr, corners[0][1] * sr];
        let [x1, y1] = [corners[2][0] * sr, corners[2][1] * sr];
        for y in y0.round() as i64..y1.round() as i64 {
            for x in x0.round() as i64..x1.round() as i64 {
                let (px, py) = (x + ref_left as i64, y);
                if px >= 0 && py >= 0 && (px as u32) < out.width() && (py as u32) < out.height() {
                    let p = out.get_pixel_mut(px as u32, py as u32);
                    for c in 0..3 {
                        p[c] = ((p[c] as u16 + colour[c] as u16) / 2) as u8;
                    }
                }
            }
        }
    }
}

/// Outlines each part that does not agree where the verified transform
/// puts it in the photo.
fn outline_parts(
    q: &mut RgbImage,
    e: &Explanation,
    blocks: &Blocks,
    quad: &[[f32; 2]; 4],
    to_query: &dyn Fn([f32; 2]) -> [f32; 2],
) {
    let (w, h) = (e.reference.width() as f32, e.reference.height() as f32);
    let Some(to_photo) = Homography::from_four(&[[0.0, 0.0], [w, 0.0], [w, h], [0.0, h]], quad)
    else {
        return;
    };
    for (i, &part) in blocks.map.0.iter().enumerate() {
        let Some(colour) = part_colour(part) else {
            continue;
        };
        let projected: Vec<[f32; 2]> = part_corners(e, i)
            .iter()
            .filter_map(|&c| to_photo.apply(c))
            .map(to_query)
            .collect();
        if projected.len() == 4 {
            for k in 0..4 {
                let (a, b) = (projected[k], projected[(k + 1) % 4]);
                line(q, a, b, colour);
                line(
                    q,
                    [a[0] + 1.0, a[1] + 1.0],
                    [b[0] + 1.0, b[1] + 1.0],
                    colour,
                );
            }
        }
    }
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

/// A quadrilateral's outline in three parallel strokes: visible on any
/// background (the expert's picture, the report's thumbnails).
pub fn draw_quad(img: &mut RgbImage, quad: &[[f32; 2]; 4], c: Rgb<u8>) {
    for k in 0..4 {
        let (a, b) = (quad[k], quad[(k + 1) % 4]);
        for d in [-1.0, 0.0, 1.0] {
            line(img, [a[0] + d, a[1]], [b[0] + d, b[1]], c);
            line(img, [a[0], a[1] + d], [b[0], b[1] + d], c);
        }
    }
}

/// The size of a label's box in pixels.
fn label_size(text: &str) -> (u32, u32) {
    let n = text.chars().count() as u32;
    (n * 8 * LABEL_SCALE + 4, 8 * LABEL_SCALE + 4)
}

/// Writes `text` in white on a box of `colour`, its top-left at (x, y);
/// a character outside ASCII is drawn as `?`.
fn label(img: &mut RgbImage, text: &str, x: i64, y: i64, colour: Rgb<u8>) {
    let (w, h) = label_size(text);
    for dy in 0..h as i64 {
        for dx in 0..w as i64 {
            put(img, x + dx, y + dy, colour);
        }
    }
    let white = Rgb([255, 255, 255]);
    for (k, c) in text.chars().enumerate() {
        let glyph = font8x8::legacy::BASIC_LEGACY[if c.is_ascii() {
            c as usize
        } else {
            b'?' as usize
        }];
        let left = x + 2 + (k as u32 * 8 * LABEL_SCALE) as i64;
        for (row, bits) in glyph.iter().enumerate() {
            for col in 0..8 {
                if bits >> col & 1 == 1 {
                    for sy in 0..LABEL_SCALE as i64 {
                        for sx in 0..LABEL_SCALE as i64 {
                            put(
                                img,
                                left + col * LABEL_SCALE as i64 + sx,
                                y + 2 + row as i64 * LABEL_SCALE as i64 + sy,
                                white,
                            );
                        }
                    }
                }
            }
        }
    }
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
            blocks: None,
            objects: &[],
        });
        assert_eq!(out.height(), HEIGHT);
        assert_eq!(out.width(), 800 + GAP + 600);
        // The outline's top edge at y = 50 * 2 = 100 in the query half.
        assert_eq!(*out.get_pixel(400, 100), OUTLINE);
        // The pair's end point in the reference half.
        assert_eq!(*out.get_pixel(800 + GAP + 300, 300), palette(0));
    }

    #[test]
    fn a_strip_photo_is_drawn_within_bounds() {
        // 20,000 × 2 is within the decode limits; scaled to 600 high it
        // would be 6 million pixels wide.
        let query = RgbImage::from_pixel(20_000, 2, Rgb([0, 0, 0]));
        let reference = RgbImage::from_pixel(200, 200, Rgb([0, 0, 0]));
        let region = [[0.0, 0.0], [20_000.0, 0.0], [20_000.0, 2.0], [0.0, 2.0]];
        let objects = [FoundObject {
            number: 1,
            id: "r1".into(),
            verdict: "match",
            region,
        }];
        let out = render(&Explanation {
            query: &query,
            reference: &reference,
            region: Some(region),
            pairs: &[([10.0, 10.0], [19_990.0, 1.0])],
            blocks: None,
            objects: &objects,
        });
        assert_eq!(out.width(), MAX_HALF_WIDTH + GAP + 600);
        assert_eq!(out.height(), HEIGHT);
    }

    #[test]
    fn every_object_is_outlined_and_labelled() {
        let query = RgbImage::from_pixel(400, 300, Rgb([0, 0, 0]));
        let reference = RgbImage::from_pixel(200, 200, Rgb([0, 0, 0]));
        let left = [[20.0, 100.0], [180.0, 100.0], [180.0, 250.0], [20.0, 250.0]];
        let right = [
            [220.0, 100.0],
            [380.0, 100.0],
            [380.0, 250.0],
            [220.0, 250.0],
        ];
        let objects = [
            FoundObject {
                number: 1,
                id: "a".into(),
                verdict: "match",
                region: left,
            },
            FoundObject {
                number: 2,
                id: "b".into(),
                verdict: "possible",
                region: right,
            },
        ];
        let out = render(&Explanation {
            query: &query,
            reference: &reference,
            region: Some(left),
            pairs: &[],
            blocks: None,
            objects: &objects,
        });
        // Both bottom edges (y = 250 * 2), each in its colour.
        assert_eq!(*out.get_pixel(200, 500), OUTLINE);
        assert_eq!(*out.get_pixel(600, 500), OBJECT);
        // The second label's box sits on its outline's centre (600, 350).
        assert_eq!(*out.get_pixel(551, 344), OBJECT);
        // Some of its text, in white, in the query half (800 wide).
        let white = (0..800).any(|x| *out.get_pixel(x, 350) == Rgb([255, 255, 255]));
        assert!(white, "no label text drawn");
    }

    /// The picture of a black 300 × 200 reference found at the box
    /// (x0, y0)-(x1, y1) of a black 3,000 × 2,000 photo.
    fn found_in_black_photo(
        [x0, y0, x1, y1]: [f32; 4],
        pairs: &[([f32; 2], [f32; 2])],
    ) -> RgbImage {
        let query = RgbImage::from_pixel(3000, 2000, Rgb([0, 0, 0]));
        let reference = RgbImage::from_pixel(300, 200, Rgb([0, 0, 0]));
        render(&Explanation {
            query: &query,
            reference: &reference,
            region: Some([[x0, y0], [x1, y0], [x1, y1], [x0, y1]]),
            pairs,
            blocks: None,
            objects: &[],
        })
    }

    #[test]
    fn a_small_find_is_shown_zoomed_with_the_whole_photo_inset() {
        // 300 × 200 of a 3,000 × 2,000 photo: 60 px high if the whole photo
        // were drawn 600 high.
        let out = found_in_black_photo(
            [2000.0, 900.0, 2300.0, 1100.0],
            &[([150.0, 100.0], [2150.0, 1000.0])],
        );
        // The view is the region and half its width around it (600 × 500
        // px of the photo): 720 × 600 drawn, the region 360 px wide.
        let green: Vec<(u32, u32)> = out
            .enumerate_pixels()
            .filter(|(x, y, p)| *x < 720 && *y > 160 && p.0 == OUTLINE.0)
            .map(|(x, y, _)| (x, y))
            .collect();
        let xs = green.iter().map(|p| p.0);
        let width = xs.clone().max().unwrap() - xs.min().unwrap();
        assert!((350..=370).contains(&width), "outline {width} px wide");
        // The pair's end in the photo is at the view's centre.
        assert_eq!(*out.get_pixel(360, 300), palette(0));
        // The inset: the whole photo 150 px high at the top left, the
        // view's box on it (its left edge at x = 1,850 × 0.075 + 2), in a
        // white border.
        assert_eq!(*out.get_pixel(141, 75), OUTLINE);
        assert_eq!(*out.get_pixel(40, 40), Rgb([0, 0, 0]));
        assert_eq!(*out.get_pixel(1, 1), Rgb([255, 255, 255]));
    }

    #[test]
    fn the_inset_does_not_cover_a_find_in_the_photos_corner() {
        let out = found_in_black_photo([40.0, 40.0, 340.0, 240.0], &[]);
        // The view is (0, 0)-(490, 390), drawn at 600 / 390: the find's
        // top-left corner at (62, 62) is not under the inset, which went to
        // the bottom left (its white border's top at 600 - 154).
        let s = 600.0 / 390.0;
        let corner = ((40.0 * s) as u32, (40.0 * s) as u32);
        assert_eq!(*out.get_pixel(corner.0 + 20, corner.1), OUTLINE);
        assert_eq!(*out.get_pixel(1, 599), Rgb([255, 255, 255]));
    }

    #[test]
    fn an_outline_off_the_photo_does_not_mark_the_reference() {
        let query = RgbImage::from_pixel(3000, 2000, Rgb([0, 0, 0]));
        let reference = RgbImage::from_pixel(300, 200, Rgb([255, 255, 255]));
        // Half of it beyond the photo's right edge, found as object 1.
        let region = [
            [1800.0, 500.0],
            [3600.0, 500.0],
            [3600.0, 1500.0],
            [1800.0, 1500.0],
        ];
        let objects = [FoundObject {
            number: 1,
            id: "r1".into(),
            verdict: "match",
            region,
        }];
        let mut blocks = Blocks::default();
        blocks.map.0[3] = Part::Outside;
        let out = render(&Explanation {
            query: &query,
            reference: &reference,
            region: Some(region),
            pairs: &[],
            blocks: Some(&blocks),
            objects: &objects,
        });
        // The photo is drawn whole, 900 wide: the reference half inside its
        // box is its own white, or tinted grey where the part is outside.
        let left = 900 + GAP;
        for y in 5..595 {
            for x in left + 5..left + 595 {
                let p = out.get_pixel(x, y).0;
                assert!(p == [255; 3] || p == [191; 3], "({x}, {y}) is {p:?}");
            }
        }
        // Its label is drawn, though its centre is off the photo: white
        // text on the black photo.
        let white = (0..900)
            .flat_map(|x| (0..600).map(move |y| (x, y)))
            .any(|(x, y)| *out.get_pixel(x, y) == Rgb([255, 255, 255]));
        assert!(white, "no label");
    }

    #[test]
    fn a_large_find_is_shown_in_the_whole_photo() {
        let out = found_in_black_photo([1000.0, 500.0, 2200.0, 1300.0], &[]);
        // Scaled 0.3 as a whole: the region's top edge at y = 150.
        assert_eq!(*out.get_pixel(450, 150), OUTLINE);
        assert_eq!(*out.get_pixel(1, 1), Rgb([0, 0, 0]), "an inset");
    }

    #[test]
    fn a_differing_part_is_tinted_on_the_reference() {
        let query = RgbImage::from_pixel(400, 300, Rgb([0, 0, 0]));
        let reference = RgbImage::from_pixel(200, 200, Rgb([255, 255, 255]));
        let mut blocks = Blocks::default();
        blocks.map.0[0] = Part::Differ;
        let out = render(&Explanation {
            query: &query,
            reference: &reference,
            region: Some([[50.0, 50.0], [350.0, 50.0], [350.0, 250.0], [50.0, 250.0]]),
            pairs: &[],
            blocks: Some(&blocks),
            objects: &[],
        });
        // The reference's top-left part, half white and half red.
        let left = 800 + GAP;
        assert_eq!(*out.get_pixel(left + 40, 40), Rgb([242, 137, 137]));
        // Its neighbour agrees: untouched.
        assert_eq!(*out.get_pixel(left + 200, 40), Rgb([255, 255, 255]));
    }
}
