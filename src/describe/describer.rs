//! One place that turns pixels into descriptors, for the database and for
//! queries alike: if the two sides were computed by different code, a
//! tiny difference (a resize filter, a colour conversion) would silently
//! cost recall.
//!
//! Decoded pixels are first shrunk to a working size ([`WORK_SIDE`]); no
//! descriptor needs more, and it bounds the cost of everything after
//! decoding whatever the camera's resolution.

use crate::describe::embed::Embedder;
use crate::describe::hash::{self, ImageHashes};
use crate::describe::orb::{self, Features};
use crate::describe::{grid, quad, rectify};
use crate::imaging::decode::{decode_path, fit_within, shrunk};
use crate::imaging::dihedral::Dihedral;
use crate::imaging::geometry::Homography;
use crate::imaging::limits::DecodeLimits;
use image::{GrayImage, RgbImage};
use rayon::prelude::*;
use std::path::Path;
use std::sync::Arc;

/// Longest side of the working copy every descriptor is computed from.
pub const WORK_SIDE: u32 = 512;
/// Longest side of the grey copy a reference's local features come from:
/// enough for a few hundred well-spread corners, small enough to store.
pub const REFERENCE_FEATURE_SIDE: u32 = 640;
/// The same for a query: somewhat larger, because the object may fill
/// only part of an officer's photo; larger still finds no more
/// (docs/decisions.md, "2026-11-29 — Calibrated strength; 1,000 query
/// features at 720 px").
pub const QUERY_FEATURE_SIDE: u32 = 720;

/// What the database stores for one reference image.
#[derive(Debug, Clone)]
pub struct ReferenceDescriptors {
    pub width: u32,
    pub height: u32,
    pub hashes: ImageHashes,
    pub embedding: Vec<f32>,
    /// Local features, in the pixels of a copy at most
    /// [`REFERENCE_FEATURE_SIDE`] wide.
    pub features: Features,
    /// The coarse grey grid the pixel comparison reads (`crate::search::pixels`).
    pub grid: Vec<u8>,
}

/// What a query photo is looked up with: every descriptor in all eight
/// orientations (index i of each array is `Dihedral::ALL[i]`).
#[derive(Debug, Clone)]
pub struct QueryDescriptors {
    pub width: u32,
    pub height: u32,
    pub hashes: [ImageHashes; 8],
    pub embeddings: Vec<Vec<f32>>,
    /// Local features, in the pixels of a copy at most
    /// [`QUERY_FEATURE_SIDE`] wide (`features.width` says how wide).
    pub features: Features,
    /// Outlined regions of the photo (a picture in its frame), each
    /// warped upright and described on its own (`crate::describe::quad`).
    pub regions: Vec<RegionDescriptors>,
    /// The grey copy the features come from, kept to compare the best
    /// candidates' pixels with (`crate::search::pixels`). Empty (0×0) in a
    /// query a peer received as descriptors (`crate::describe::wire`).
    pub grey: GrayImage,
    /// The working copy (at most [`WORK_SIDE`] wide), kept to compare the
    /// best candidates' colours with (`crate::search::colour`). Empty in a
    /// query received as descriptors.
    pub colour: RgbImage,
    /// The [`TILTS`]' features, made in advance where the grey copy is not
    /// at hand (a query received as descriptors); None: made when needed.
    pub tilts: Option<Vec<RegionFeatures>>,
}

/// One outlined region of a query photo, warped to a rectangle.
#[derive(Debug, Clone)]
pub struct RegionDescriptors {
    /// Hashes in the eight orientations (index i is `Dihedral::ALL[i]`).
    pub hashes: [ImageHashes; 8],
    /// Embeddings turned by 0, 90, 180 and 270 degrees (`Dihedral::ALL[..4]`):
    /// a frame says where the picture is, not which way up it hangs.
    pub embeddings: Vec<Vec<f32>>,
    /// Local features of the region warped upright from the full-size
    /// photo (for the best [`FEATURE_REGIONS`] outlines only): the object
    /// at the resolution and without the perspective of a reference
    /// photo, free of the clutter around it.
    pub features: Option<RegionFeatures>,
    /// The outline in the photo's pixels.
    pub outline: [[f32; 2]; 4],
}

/// Local features of a warped region and the way back to the photo.
#[derive(Debug, Clone)]
pub struct RegionFeatures {
    pub features: Features,
    /// The rendered region's pixels → the photo's pixels.
    pub to_photo: Homography,
}

/// Outlines looked for in a query photo.
const REGIONS: usize = 3;
/// Outlines whose local features are extracted as well: the best one; a
/// second finds no more for its time (docs/decisions.md, "2026-11-30 —
/// Looking up a picture's outline, warped upright").
pub const FEATURE_REGIONS: usize = 1;
/// Longer side of the global descriptors' rendering of a region: enough
/// for the 32×32 hash thumbnail and the 128-pixel embedding copy.
const REGION_GLOBAL_SIDE: u32 = 128;

#[derive(Clone)]
pub struct Describer {
    embedder: Arc<dyn Embedder>,
}

impl Describer {
    pub fn new(embedder: Arc<dyn Embedder>) -> Describer {
        Describer { embedder }
    }

    pub fn embedder(&self) -> &dyn Embedder {
        self.embedder.as_ref()
    }

    /// The embedder, shared (to open another index with it).
    pub fn embedder_arc(&self) -> Arc<dyn Embedder> {
        Arc::clone(&self.embedder)
    }

    pub fn reference(&self, img: RgbImage) -> ReferenceDescriptors {
        let Prepared {
            width,
            height,
            work,
            small,
            grey,
        } = prepare(&img, REFERENCE_FEATURE_SIDE, self.embedder.input_side());
        ReferenceDescriptors {
            width,
            height,
            grid: grid::grid(&work),
            hashes: hash::hash_image(&work),
            embedding: self.embedder.embed(&small),
            features: orb::extract(&grey, &orb::REFERENCE),
        }
    }

    /// Describes a photo; the caller keeps it, to look at its parts again
    /// (`crate::describe::rest`).
    pub fn query(&self, img: &RgbImage) -> QueryDescriptors {
        let Prepared {
            width,
            height,
            work,
            small,
            grey,
        } = prepare(img, QUERY_FEATURE_SIDE, self.embedder.input_side());
        // The outlines and the photo's own features are the two slow
        // parts and independent: on two cores a lone search takes the
        // time of the slower. The global descriptors go with the
        // features, the quicker of the two.
        let (regions, (features, hashes, embeddings)) = rayon::join(
            || self.regions(img, &work),
            || {
                let features = orb::extract(&grey, &orb::QUERY);
                let embeddings = Dihedral::ALL
                    .iter()
                    .map(|d| self.embedder.embed(&d.apply_image(&small)))
                    .collect();
                (features, hash::hash_dihedral(&work), embeddings)
            },
        );
        QueryDescriptors {
            width,
            height,
            hashes,
            embeddings,
            features,
            regions,
            grey,
            colour: work,
            tilts: None,
        }
    }

    /// Finds outlined regions in the photo and describes each.
    fn regions(&self, photo: &RgbImage, work: &RgbImage) -> Vec<RegionDescriptors> {
        let small = fit_within(work.clone(), quad::SEARCH_SIDE);
        let grey = image::DynamicImage::ImageRgb8(small).into_luma8();
        let to_photo = photo.width() as f32 / grey.width().max(1) as f32;
        quad::find(&grey, REGIONS)
            .into_par_iter()
            .enumerate()
            .filter_map(|(rank, q)| {
                let (transform, size) = rectify::upright(&q)?;
                let region =
                    rectify::render(work, grey.width(), &transform, size, REGION_GLOBAL_SIDE)?;
                let corners = q.map(|[x, y]| [x * to_photo, y * to_photo]);
                let features = (rank < FEATURE_REGIONS)
                    .then(|| region_features(photo, grey.width(), &transform, size, &corners))
                    .flatten();
                Some(self.region_descriptors(&region, features, corners))
            })
            .collect()
    }

    /// Hashes and embeddings of a region of the photo outlined in its own
    /// pixels (an outline a further look found, `crate::describe::rest`),
    /// warped upright as a first-look region is, without local features.
    pub fn describe_outline(
        &self,
        photo: &RgbImage,
        outline: &[[f32; 2]; 4],
    ) -> Option<RegionDescriptors> {
        let (transform, size) = rectify::upright(outline)?;
        let region = rectify::render(photo, photo.width(), &transform, size, REGION_GLOBAL_SIDE)?;
        Some(self.region_descriptors(&region, None, *outline))
    }

    /// A region warped upright, described: hashes in eight orientations,
    /// embeddings in four turns.
    fn region_descriptors(
        &self,
        region: &RgbImage,
        features: Option<RegionFeatures>,
        outline: [[f32; 2]; 4],
    ) -> RegionDescriptors {
        let small = fit_within(region.clone(), self.embedder.input_side());
        RegionDescriptors {
            hashes: hash::hash_dihedral(region),
            embeddings: Dihedral::ALL[..4]
                .iter()
                .map(|d| self.embedder.embed(&d.apply_image(&small)))
                .collect(),
            features,
            outline,
        }
    }
}

/// Simulated tilts of a photo for the second look: the photo compressed
/// by these factors along x, then along y. A steep view foreshortens the
/// object along one axis and changes every descriptor; compressing the
/// other axis undoes part of that, as ASIFT does (Morel and Yu 2009) with
/// more views. Only the two axes: a picture hangs and lies square to them
/// more often than not, and each view costs a feature extraction and a
/// wide word lookup (docs/decisions.md, "2026-12-01 — Two simulated tilts
/// in the second look").
pub const TILTS: [(f32, f32); 2] = [(0.75, 1.0), (1.0, 0.75)];

/// The local features of each of the photo's [`TILTS`], with the way back
/// from a view's pixels to the photo's. Made from the grey copy the
/// photo's own features come from, only for a photo that needs them.
pub fn tilted_views(query: &QueryDescriptors) -> std::borrow::Cow<'_, [RegionFeatures]> {
    if let Some(tilts) = &query.tilts {
        return std::borrow::Cow::Borrowed(tilts);
    }
    let (w, h) = query.grey.dimensions();
    // The photo's size, in the proportions of its grey copy.
    let scale = query.width as f32 / w.max(1) as f32;
    let (pw, ph) = (w as f32 * scale, h as f32 * scale);
    let views: Vec<RegionFeatures> = TILTS
        .par_iter()
        .filter_map(|&(sx, sy)| {
            let vw = ((w as f32 * sx).round() as u32).max(1);
            let vh = ((h as f32 * sy).round() as u32).max(1);
            let view = crate::imaging::resample::thumbnail(&query.grey, vw, vh);
            let (fw, fh) = (vw as f32, vh as f32);
            let to_photo = Homography::from_four(
                &[[0.0, 0.0], [fw, 0.0], [fw, fh], [0.0, fh]],
                &[[0.0, 0.0], [pw, 0.0], [pw, ph], [0.0, ph]],
            )?;
            Some(RegionFeatures {
                features: orb::extract(&view, &orb::QUERY),
                to_photo,
            })
        })
        .collect();
    std::borrow::Cow::Owned(views)
}

/// Warps a region upright out of the full-size photo, at the size of a
/// reference's feature copy (smaller when the photo has fewer pixels
/// there: enlarging adds no corners), and extracts its local features.
pub(crate) fn region_features(
    photo: &RgbImage,
    copy_width: u32,
    transform: &Homography,
    size: (f32, f32),
    corners: &[[f32; 2]; 4],
) -> Option<RegionFeatures> {
    let extent = size.0.max(size.1) * photo.width() as f32 / copy_width.max(1) as f32;
    let side = (extent.round() as u32).clamp(64, REFERENCE_FEATURE_SIDE);
    let rendered = rectify::render(photo, copy_width, transform, size, side)?;
    let (w, h) = (rendered.width() as f32, rendered.height() as f32);
    let to_photo = Homography::from_four(&[[0.0, 0.0], [w, 0.0], [w, h], [0.0, h]], corners)?;
    let grey = image::DynamicImage::ImageRgb8(rendered).into_luma8();
    Some(RegionFeatures {
        features: orb::extract(&grey, &orb::QUERY),
        to_photo,
    })
}

/// The copies every descriptor is computed from, made the same way for
/// both sides.
struct Prepared {
    width: u32,
    height: u32,
    work: RgbImage,
    small: RgbImage,
    grey: GrayImage,
}

/// The hash and embedding copies are made the same way for both sides;
/// only the local-feature copy's size depends on the side.
fn prepare(img: &RgbImage, feature_side: u32, embed_side: u32) -> Prepared {
    let (width, height) = img.dimensions();
    // Shrunk from the original (no full-size copy is made; a small
    // original is copied, cheaply). Each copy reads every pixel of the
    // original: the two are made on two cores.
    let (grey, (work, small)) = rayon::join(
        || {
            let copy = shrunk(img, feature_side).unwrap_or_else(|| img.clone());
            image::DynamicImage::ImageRgb8(copy).into_luma8()
        },
        || {
            let work = shrunk(img, WORK_SIDE).unwrap_or_else(|| img.clone());
            let small = fit_within(work.clone(), embed_side);
            (work, small)
        },
    );
    Prepared {
        width,
        height,
        work,
        small,
        grey,
    }
}

/// An image imported before grids were kept in the store has its file
/// decoded for it at query time, if it has at most this many pixels:
/// decoding a larger one would take a good part of the search, or longer
/// than all of it. Re-importing such records keeps their grids
/// (docs/decisions.md, "2026-12-01 — Pixel grids kept in the store").
pub const MAX_REFERENCE_PIXELS: u64 = 12_000_000;
/// The grid of the reference image in `file`, for images imported before
/// grids were kept. None when the file can no longer be read: the match
/// then goes without the bonus, it is not refused.
pub fn reference_grid_of_file(file: &Path, limits: &DecodeLimits) -> Option<Vec<u8>> {
    Some(reference_grid(&decode_path(file, limits).ok()?))
}

/// The grid of a decoded reference image, made from the same working copy
/// as at import, so that it is the same grid.
pub fn reference_grid(img: &RgbImage) -> Vec<u8> {
    match shrunk(img, WORK_SIDE) {
        Some(work) => grid::grid(&work),
        None => grid::grid(img),
    }
}

/// Whether a reference of this size is decoded for its grid (see
/// [`MAX_REFERENCE_PIXELS`]).
pub fn worth_decoding((width, height): (u32, u32)) -> bool {
    width as u64 * height as u64 <= MAX_REFERENCE_PIXELS
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::describe::embed::ColourLayoutEmbedder;

    #[test]
    fn query_identity_equals_reference() {
        let img = RgbImage::from_fn(700, 300, |x, y| {
            image::Rgb([(x % 251) as u8, (y % 241) as u8, ((x * y) % 256) as u8])
        });
        let d = Describer::new(Arc::new(ColourLayoutEmbedder));
        let r = d.reference(img.clone());
        let q = d.query(&img);
        assert_eq!(r.hashes, q.hashes[0]);
        assert_eq!(r.embedding, q.embeddings[0]);
        assert_eq!((r.width, r.height), (700, 300));
    }

    /// A view's features, carried back by its `to_photo`, fall on the
    /// corners the photo's own features found: the way back undoes the
    /// view's compression and the photo's shrinking to its feature copy.
    #[test]
    fn tilted_views_map_back_onto_the_photo() {
        // Bright squares scattered on a dark photo twice the feature copy's size.
        let mut seed = 7u32;
        let mut next = move |n: u32| {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (seed >> 8) % n
        };
        let squares: Vec<(u32, u32, u32)> = (0..40)
            .map(|_| (next(1300) + 40, next(820) + 40, next(40) + 30))
            .collect();
        let img = RgbImage::from_fn(1440, 960, |x, y| {
            let inside = squares
                .iter()
                .any(|&(sx, sy, side)| x >= sx && x < sx + side && y >= sy && y < sy + side);
            image::Rgb(if inside {
                [230, 220, 210]
            } else {
                [20, 25, 30]
            })
        });
        let d = Describer::new(Arc::new(ColourLayoutEmbedder));
        let q = d.query(&img);
        let scale = q.width as f32 / q.features.width as f32;
        let photo_points: Vec<[f32; 2]> = q
            .features
            .keypoints
            .iter()
            .map(|k| [k.x * scale, k.y * scale])
            .collect();
        let views = tilted_views(&q);
        assert_eq!(views.len(), TILTS.len());
        for (view, &(sx, sy)) in views.iter().zip(&TILTS) {
            let f = &view.features;
            assert_eq!(f.width, (q.grey.width() as f32 * sx).round() as u32);
            assert_eq!(f.height, (q.grey.height() as f32 * sy).round() as u32);
            assert!(f.len() >= 50, "{} features", f.len());
            let near = f
                .keypoints
                .iter()
                .filter(|k| {
                    let [x, y] = view.to_photo.apply([k.x, k.y]).unwrap();
                    photo_points
                        .iter()
                        .any(|p| (p[0] - x).hypot(p[1] - y) <= 4.0 * scale)
                })
                .count();
            assert!(
                near * 10 >= f.len() * 7,
                "{near} of {} view features on a photo corner",
                f.len()
            );
        }
    }
}
