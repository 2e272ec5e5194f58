//! The part of a photo that the objects found so far do not explain,
//! described again on its own: a seized lot, a wall of pictures or a
//! catalogue page shows several objects, and the first look spends most
//! of its features, and its best outline, on the strongest one.
//!
//! The objects found are blanked out (a flat grey, which has no corners),
//! the rest of the photo is cropped to where the first look's features
//! still lie and described at the query's feature resolution, so the
//! remaining objects get the feature budget and the pixels the found ones
//! took; and the best outline found in that view (a picture's frame) is
//! warped upright from the full-size photo and described too, like the
//! first look's best outline.

use crate::describe::describer::{self, QUERY_FEATURE_SIDE, QueryDescriptors, RegionFeatures};
use crate::describe::{orb, quad, rectify};
use crate::imaging::geometry::{Homography, Quad, area, bounds, centre, grow, inside_quad};
use crate::imaging::resample::resize_triangle;
use image::{GrayImage, RgbImage};
use rayon::prelude::*;

/// An object's outline is blanked this much larger than found: its frame
/// and the transform's error lie just outside it.
const GROW: f32 = 0.06;
/// An outline in the rest must cover this share of the photo to be
/// described on its own (smaller pictures are seen well enough in the
/// rest's own features).
const MIN_OUTLINE_AREA: f32 = 0.015;

/// Positions (photo pixels) of the first look's features, and whether
/// each lies outside every found object.
fn unexplained(query: &QueryDescriptors, found: &[Quad]) -> Vec<([f32; 2], bool)> {
    let grown: Vec<Quad> = found.iter().map(|q| grow(q, GROW)).collect();
    let scale = query.width as f32 / query.features.width.max(1) as f32;
    query
        .features
        .keypoints
        .iter()
        .map(|k| {
            let p = [k.x * scale, k.y * scale];
            (p, !grown.iter().any(|q| inside_quad(&p, q)))
        })
        .collect()
}

/// The first look's features that lie outside every found object.
pub fn unexplained_features(query: &QueryDescriptors, found: &[Quad]) -> Vec<[f32; 2]> {
    unexplained(query, found)
        .into_iter()
        .filter_map(|(p, rest)| rest.then_some(p))
        .collect()
}

/// The same features as features of the photo's feature copy: what a
/// probe of the rest is looked up with.
pub fn unexplained_subset(query: &QueryDescriptors, found: &[Quad]) -> orb::Features {
    let f = &query.features;
    let (keypoints, descriptors) = unexplained(query, found)
        .into_iter()
        .zip(f.keypoints.iter().zip(&f.descriptors))
        .filter(|((_, rest), _)| *rest)
        .map(|(_, (k, d))| (*k, *d))
        .unzip();
    orb::Features {
        width: f.width,
        height: f.height,
        keypoints,
        descriptors,
    }
}

/// The photo's unexplained part, described: its features and those of
/// its best outline not yet explained (each with the way back to the
/// photo), and every outline not yet explained.
#[derive(Default)]
pub struct RestViews {
    pub views: Vec<RegionFeatures>,
    /// Every outline found in the rest, the whole part's then its quarters',
    /// best first (the first one's features are among `views`), each to be
    /// looked up by its hashes and embedding: a small flat picture has too
    /// few corners for its features.
    pub outlines: Vec<Quad>,
}

/// A grey copy of the photo at twice the query's feature resolution, made
/// once for every further look at one photo: the views are cut from it.
pub struct RestPhoto<'a> {
    pub photo: &'a RgbImage,
    grey: GrayImage,
    /// Photo pixels per pixel of `grey`.
    scale: f32,
}

impl<'a> RestPhoto<'a> {
    pub fn new(photo: &'a RgbImage) -> RestPhoto<'a> {
        Self::at(photo, 2 * QUERY_FEATURE_SIDE)
    }

    /// The copy at most `side` pixels on its longer side.
    fn at(photo: &'a RgbImage, side: u32) -> RestPhoto<'a> {
        // Grey first: the shrinking then reads one channel, not three.
        let grey = shrunk_grey(&luma(photo), side);
        let scale = photo.width() as f32 / grey.width().max(1) as f32;
        RestPhoto { photo, grey, scale }
    }

    /// For a closer look at a photo in which the first look found nothing
    /// ([`close_views`]): None where the photo is too small for one to
    /// see more than the first look saw.
    pub fn closer(photo: &'a RgbImage) -> Option<RestPhoto<'a>> {
        let side = photo.width().max(photo.height());
        (side as f32 >= CLOSER_ABOVE * QUERY_FEATURE_SIDE as f32)
            // The finest tiles at the feature resolution.
            .then(|| Self::at(photo, (QUERY_FEATURE_SIDE as f32 / CLOSE_TILES[1].1) as u32))
    }
}

/// A photo is looked at closer only where its longer side is at least
/// this many times the first look's feature copy: a smaller one's tiles
/// would show its pictures little larger than the first look did.
const CLOSER_ABOVE: f32 = 2.0;
/// The closer look's tiles: (k, share) for k by k tiles, each that share
/// of the photo's width and height, each seen at the query's feature
/// resolution. 3 by 3 at 0.4 (neighbours overlapping by a tenth of the
/// photo) show a picture a tenth of a phone photo's width, about 70 px in
/// the first look, 170 px wide, and hold it whole; 5 by 5 at 0.25 show it
/// 290 px wide, where two in five of the small pictures lost at 170 px
/// verify, but cut one wider than 6% of the photo in every tile
/// (docs/decisions.md, "The closer look at two scales").
const CLOSE_TILES: [(u32, f32); 2] = [(3, 0.4), (5, 0.25)];
/// A finer scale is looked at only where its tiles show the photo's
/// pictures at least this many times as large as the coarser ones do:
/// below that (a photo under 2,250 px, whose coarse tiles are hardly
/// shrunk), its 25 tiles cost as much again for little more to see.
const FINER_GAIN: f32 = 1.25;

/// Describes the photo's unexplained part; no views when nothing is left
/// to look at.
pub fn rest_views(rest_photo: &RestPhoto, query: &QueryDescriptors, found: &[Quad]) -> RestViews {
    let rest = unexplained_features(query, found);
    let Some(whole) = features_box(rest_photo.photo, &rest) else {
        return RestViews::default();
    };
    // A large part is seen in overlapping quarters instead, each at the
    // feature resolution: the objects left are the small ones, which a
    // copy of the whole part shows too small for their references'
    // features. The whole part is still looked at for an outline.
    let tiles = match whole.w().max(whole.h()) as f32 > TILE_ABOVE * QUERY_FEATURE_SIDE as f32 {
        true => tiles(&whole, 2, TILE, &rest),
        false => Vec::new(),
    };
    described(rest_photo, found, whole, tiles, false)
}

/// Describes a photo in which the first look found nothing, in
/// overlapping tiles at two scales ([`CLOSE_TILES`]) of a copy made by
/// [`RestPhoto::closer`], each at the query's feature resolution: a
/// picture small in a large photo (a painting on a far wall, a coin on a
/// table) is too small in the first look's 720-px copy for its
/// reference's features.
pub fn close_views(rest_photo: &RestPhoto, query: &QueryDescriptors) -> RestViews {
    let rest = unexplained_features(query, &[]);
    let Some(whole) = features_box(rest_photo.photo, &rest) else {
        return RestViews::default();
    };
    let copy_side = rest_photo.grey.width().max(rest_photo.grey.height()) as f32;
    let tiles = close_scales(copy_side)
        .into_iter()
        .flat_map(|(k, share)| tiles(&whole, k, share, &rest))
        .collect();
    described(rest_photo, &[], whole, tiles, true)
}

/// The scales of [`CLOSE_TILES`] worth looking at in a copy `copy_side`
/// pixels long (see [`FINER_GAIN`]).
fn close_scales(copy_side: f32) -> Vec<(u32, f32)> {
    // How large a tile of this share shows the copy's pixels.
    let seen = |share: f32| (QUERY_FEATURE_SIDE as f32 / (share * copy_side)).min(1.0);
    let mut scales = vec![CLOSE_TILES[0]];
    for &(k, share) in &CLOSE_TILES[1..] {
        if seen(share) >= FINER_GAIN * seen(scales[scales.len() - 1].1) {
            scales.push((k, share));
        }
    }
    scales
}

/// The box of the photo where the `rest` features lie, with a margin for
/// the patches around them; None without any.
fn features_box(photo: &RgbImage, rest: &[[f32; 2]]) -> Option<Rect> {
    if rest.is_empty() || photo.width() < 2 || photo.height() < 2 {
        return None;
    }
    let (pw, ph) = (photo.width() as f32, photo.height() as f32);
    let pad = 0.03 * pw.max(ph);
    let [[x0, y0], [x1, y1]] = bounds(rest);
    Some(Rect {
        x0: (x0 - pad).max(0.0).floor() as u32,
        y0: (y0 - pad).max(0.0).floor() as u32,
        x1: ((x1 + pad).ceil() as u32).min(photo.width()),
        y1: ((y1 + pad).ceil() as u32).min(photo.height()),
    })
}

/// `k` by `k` overlapping tiles of `whole`, each `share` of its width and
/// height, that hold at least [`MIN_TILE_FEATURES`] of the `rest` features.
fn tiles(whole: &Rect, k: u32, share: f32, rest: &[[f32; 2]]) -> Vec<Rect> {
    let (w, h) = (whole.w(), whole.h());
    let (tw, th) = ((w as f32 * share) as u32, (h as f32 * share) as u32);
    let step = |span: u32, t: u32, i: u32| (span - t) * i / (k - 1).max(1);
    (0..k)
        .flat_map(|fy| (0..k).map(move |fx| (fx, fy)))
        .map(|(fx, fy)| {
            let (x0, y0) = (whole.x0 + step(w, tw, fx), whole.y0 + step(h, th, fy));
            Rect {
                x0,
                y0,
                x1: x0 + tw,
                y1: y0 + th,
            }
        })
        .filter(|t| rest.iter().filter(|p| t.holds(p)).count() >= MIN_TILE_FEATURES)
        .collect()
}

/// The views of `whole` (its features only without `tiles`, its outlines)
/// and of each tile (features and outlines). An outline must cover
/// [`MIN_OUTLINE_AREA`] of the photo, or with `tile_outlines` of its tile.
fn described(
    rest_photo: &RestPhoto,
    found: &[Quad],
    whole: Rect,
    tiles: Vec<Rect>,
    tile_outlines: bool,
) -> RestViews {
    let photo = rest_photo.photo;
    let photo_area = photo.width() as f32 * photo.height() as f32;
    // (rectangle, extract its features, least area of an outline in it)
    let mut rects = vec![(whole, tiles.is_empty(), MIN_OUTLINE_AREA * photo_area)];
    // Outlines in the tiles too: a small picture is too small a share
    // of the whole part for an outline there.
    rects.extend(tiles.into_iter().map(|t| {
        let area = match tile_outlines {
            true => t.w() as f32 * t.h() as f32,
            false => photo_area,
        };
        (t, true, MIN_OUTLINE_AREA * area)
    }));
    let described: Vec<(Option<RegionFeatures>, Vec<Quad>)> = rects
        .par_iter()
        .map(|&(r, features, min_area)| view(rest_photo, r, found, features, min_area))
        .collect();
    let mut out = RestViews::default();
    for (features, outlines) in described {
        out.views.extend(features);
        for q in outlines {
            if !out
                .outlines
                .iter()
                .any(|o| inside_quad(&centre(o), &q) || inside_quad(&centre(&q), o))
            {
                out.outlines.push(q);
            }
        }
    }
    if let Some(&q) = out.outlines.first() {
        out.views
            .extend(rectify::upright(&q).and_then(|(transform, size)| {
                describer::region_features(photo, photo.width(), &transform, size, &q)
            }));
    }
    out
}

/// A part of the photo larger than this many times the feature copy's side
/// is seen in quarters…
const TILE_ABOVE: f32 = 1.4;
/// …each this share of its width and height (neighbours overlap, so that
/// an object on a border is whole in one of them)…
const TILE: f32 = 0.6;
/// …that hold at least this many of the first look's unexplained features.
const MIN_TILE_FEATURES: usize = 40;

/// A rectangle of photo pixels.
#[derive(Debug, Clone, Copy)]
struct Rect {
    x0: u32,
    y0: u32,
    x1: u32,
    y1: u32,
}

impl Rect {
    fn w(&self) -> u32 {
        self.x1.saturating_sub(self.x0)
    }

    fn h(&self) -> u32 {
        self.y1.saturating_sub(self.y0)
    }

    fn holds(&self, p: &[f32; 2]) -> bool {
        p[0] >= self.x0 as f32
            && p[0] < self.x1 as f32
            && p[1] >= self.y0 as f32
            && p[1] < self.y1 as f32
    }
}

/// One rectangle of the photo with the found objects blanked, at the
/// query's feature resolution: its features (`with_features`) and the
/// outlines in it of at least `min_area` (photo pixels) that no found
/// object explains, best first.
fn view(
    rest_photo: &RestPhoto,
    r: Rect,
    found: &[Quad],
    with_features: bool,
    min_area: f32,
) -> (Option<RegionFeatures>, Vec<Quad>) {
    let k = rest_photo.scale;
    // The rectangle in the grey copy's pixels.
    let (gx0, gy0) = ((r.x0 as f32 / k) as u32, (r.y0 as f32 / k) as u32);
    let (g, (gw, gh)) = (&rest_photo.grey, rest_photo.grey.dimensions());
    let gx1 = ((r.x1 as f32 / k).ceil() as u32).min(gw);
    let gy1 = ((r.y1 as f32 / k).ceil() as u32).min(gh);
    if gx1 < gx0 + 16 || gy1 < gy0 + 16 {
        return (None, Vec::new());
    }
    let crop = image::imageops::crop_imm(g, gx0, gy0, gx1 - gx0, gy1 - gy0).to_image();
    let mut grey = shrunk_grey(&crop, QUERY_FEATURE_SIDE);
    // View pixels ↔ photo pixels.
    let s = (gx1 - gx0) as f32 * k / grey.width().max(1) as f32;
    let (ox, oy) = (gx0 as f32 * k, gy0 as f32 * k);
    let to_photo_point = |[x, y]: [f32; 2]| [x * s + ox, y * s + oy];
    let to_view = |[x, y]: [f32; 2]| [(x - ox) / s, (y - oy) / s];
    let blanked: Vec<Quad> = found.iter().map(|q| grow(q, GROW).map(to_view)).collect();
    blank(&mut grey, &blanked);
    let outlines = outlines(&grey, found, min_area, to_photo_point);
    let (w, h) = (grey.width() as f32, grey.height() as f32);
    let corners = [[0.0, 0.0], [w, 0.0], [w, h], [0.0, h]];
    let features = with_features
        .then(|| Homography::from_four(&corners, &corners.map(to_photo_point)))
        .flatten()
        .map(|to_photo| RegionFeatures {
            features: orb::extract(&grey, &orb::QUERY),
            to_photo,
        });
    (features, outlines)
}

/// The outlines in the blanked view whose centre no found object covers,
/// best first, in photo pixels.
fn outlines(
    grey: &GrayImage,
    found: &[Quad],
    min_area: f32,
    to_photo: impl Fn([f32; 2]) -> [f32; 2],
) -> Vec<Quad> {
    let small = shrunk_grey(grey, quad::SEARCH_SIDE);
    let up = grey.width() as f32 / small.width().max(1) as f32;
    let grown: Vec<Quad> = found.iter().map(|q| grow(q, GROW)).collect();
    quad::find(&small, 3)
        .into_iter()
        .map(|q| q.map(|[x, y]| to_photo([x * up, y * up])))
        .filter(|q| area(q) >= min_area && !grown.iter().any(|f| inside_quad(&centre(q), f)))
        .collect()
}

fn shrunk_grey(grey: &GrayImage, side: u32) -> GrayImage {
    let (w, h) = grey.dimensions();
    if w.max(h) <= side {
        return grey.clone();
    }
    let k = side as f32 / w.max(h) as f32;
    resize_triangle(
        grey,
        ((w as f32 * k).round() as u32).max(1),
        ((h as f32 * k).round() as u32).max(1),
    )
}

/// Paints the quads a flat grey (the mean of what is left), so that they
/// hold no corners and leave the features to the rest.
fn blank(grey: &mut GrayImage, quads: &[Quad]) {
    let (w, h) = (grey.width() as usize, grey.height() as usize);
    let mut mask = vec![false; w * h];
    // Each quad marks the pixels of its bounding box that it holds.
    for q in quads {
        let [[x0, y0], [x1, y1]] = bounds(q);
        let (x0, x1) = (x0.max(0.0) as usize, (x1.max(0.0).ceil() as usize).min(w));
        let (y0, y1) = (y0.max(0.0) as usize, (y1.max(0.0).ceil() as usize).min(h));
        for y in y0..y1 {
            for x in x0..x1 {
                if inside_quad(&[x as f32 + 0.5, y as f32 + 0.5], q) {
                    mask[y * w + x] = true;
                }
            }
        }
    }
    let pixels: &mut [u8] = grey;
    let (sum, n) = pixels
        .iter()
        .zip(&mask)
        .filter(|(_, m)| !**m)
        .fold((0u64, 0u64), |(s, n), (&p, _)| (s + p as u64, n + 1));
    let mean = (sum / n.max(1)) as u8;
    for (p, &m) in pixels.iter_mut().zip(&mask) {
        if m {
            *p = mean;
        }
    }
}

/// `x / 10000` for any `x` a luma sum can reach (under 2^22), as a
/// multiplication and a shift, which vectorise where a division does not.
fn tenth_thousand(x: u32) -> u32 {
    ((x as u64 * 1_717_987) >> 34) as u32
}

/// Rec. 709 luma of one pixel, rounded.
#[inline(always)]
fn grey(r: u32, g: u32, b: u32) -> u8 {
    tenth_thousand(2126 * r + 7152 * g + 722 * b + 5000) as u8
}

/// The photo in grey (Rec. 709 luma rounded; `image`'s conversion differs by
/// a level for 0.4% of colours, which only the further looks see), rows in
/// parallel: the generic per-pixel conversion takes tens of milliseconds
/// on a phone photo.
fn luma(photo: &RgbImage) -> GrayImage {
    let (w, h) = photo.dimensions();
    let mut out = vec![0u8; w as usize * h as usize];
    out.par_chunks_mut(w.max(1) as usize)
        .zip(photo.as_raw().par_chunks(3 * w.max(1) as usize))
        .for_each(|(row, rgb)| {
            // Eight pixels at a time, their channels gathered first, so
            // that the arithmetic vectorises.
            let mut outs = row.chunks_exact_mut(8);
            let mut ins = rgb.chunks_exact(24);
            for (o, p) in (&mut outs).zip(&mut ins) {
                let c = |k: usize| -> [u32; 8] { std::array::from_fn(|i| p[3 * i + k] as u32) };
                let (r, g, b) = (c(0), c(1), c(2));
                for i in 0..8 {
                    o[i] = grey(r[i], g[i], b[i]);
                }
            }
            for (o, p) in outs
                .into_remainder()
                .iter_mut()
                .zip(ins.remainder().chunks_exact(3))
            {
                *o = grey(p[0] as u32, p[1] as u32, p[2] as u32);
            }
        });
    GrayImage::from_raw(w, h, out).expect("w × h pixels")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_luma_division_by_a_multiplication_is_exact() {
        for x in 0..=(10_000 * 255 + 5000) {
            assert_eq!(tenth_thousand(x), x / 10_000, "{x}");
        }
    }

    #[test]
    fn a_picture_a_tenth_of_the_photo_lies_whole_in_a_coarse_closer_tile() {
        let whole = Rect {
            x0: 0,
            y0: 0,
            x1: 3000,
            y1: 2000,
        };
        // Features everywhere, so that no tile is left out for want of them.
        let rest: Vec<[f32; 2]> = (0..60)
            .flat_map(|i| (0..40).map(move |j| [i as f32 * 50.0 + 1.0, j as f32 * 50.0 + 1.0]))
            .collect();
        let [(k, share), (fine_k, fine_share)] = CLOSE_TILES;
        // The fine tiles only where they show pictures a quarter larger.
        assert_eq!(close_scales(2880.0), CLOSE_TILES.to_vec());
        assert_eq!(close_scales(2300.0), CLOSE_TILES.to_vec());
        assert_eq!(close_scales(2200.0), vec![CLOSE_TILES[0]]);
        assert_eq!(close_scales(1500.0), vec![CLOSE_TILES[0]]);
        assert_eq!(tiles(&whole, fine_k, fine_share, &rest).len(), 25);
        let tiles = tiles(&whole, k, share, &rest);
        assert_eq!(tiles.len(), 9);
        let (w, h) = (300u32, 200u32);
        for x in (0..=3000 - w).step_by(50) {
            for y in (0..=2000 - h).step_by(50) {
                assert!(
                    tiles
                        .iter()
                        .any(|t| t.x0 <= x && t.y0 <= y && x + w <= t.x1 && y + h <= t.y1),
                    "a picture at ({x}, {y}) is cut by every tile"
                );
            }
        }
        // Where the first look saw no features, no tile is described.
        let left: Vec<[f32; 2]> = rest.into_iter().filter(|p| p[0] < 1000.0).collect();
        let some = super::tiles(&whole, k, share, &left);
        assert!(!some.is_empty() && some.iter().all(|t| t.x0 < 1000));
    }

    #[test]
    fn blanking_leaves_no_corners_inside() {
        let mut grey = GrayImage::from_fn(200, 100, |x, y| {
            image::Luma([if (x / 10 + y / 10) % 2 == 0 { 30 } else { 220 }])
        });
        let q = [[10.0, 10.0], [90.0, 10.0], [90.0, 90.0], [10.0, 90.0]];
        blank(&mut grey, &[q]);
        let f = orb::extract(&grey, &orb::QUERY);
        assert!(f.len() > 20);
        assert!(
            f.keypoints
                .iter()
                .all(|k| !inside_quad(&[k.x, k.y], &grow(&q, -0.3))),
            "a corner inside the blanked quad"
        );
    }
}
