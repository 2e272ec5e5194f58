//! One place that turns pixels into descriptors, for the database and for
//! queries alike: if the two sides were computed by different code, a
//! tiny difference (a resize filter, a colour conversion) would silently
//! cost recall.
//!
//! Decoded pixels are first shrunk to a working size ([`WORK_SIDE`]); no
//! descriptor needs more, and it bounds the cost of everything after
//! decoding whatever the camera's resolution.

use crate::decode::{fit_within, shrunk};
use crate::dihedral::Dihedral;
use crate::embed::Embedder;
use crate::hash::{self, ImageHashes};
use crate::orb::{self, Features};
use image::{GrayImage, RgbImage};
use std::sync::Arc;

/// Longest side of the working copy every descriptor is computed from.
pub const WORK_SIDE: u32 = 512;
/// Longest side of the copy the global embedding is computed from; small
/// enough that embedding all eight orientations of a query is cheap.
pub const EMBED_SIDE: u32 = 128;
/// Longest side of the grey copy a reference's local features come from:
/// enough for a few hundred well-spread corners, small enough to store.
pub const REFERENCE_FEATURE_SIDE: u32 = 640;
/// The same for a query: somewhat larger, because the object may fill
/// only part of an officer's photo (960 measured no better than 720).
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
}

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

    pub fn reference(&self, img: RgbImage) -> ReferenceDescriptors {
        let Prepared {
            width,
            height,
            work,
            small,
            grey,
        } = prepare(img, REFERENCE_FEATURE_SIDE, self.embedder.input_side());
        ReferenceDescriptors {
            width,
            height,
            hashes: hash::hash_image(&work),
            embedding: self.embedder.embed(&small),
            features: orb::extract(&grey, &orb::REFERENCE),
        }
    }

    pub fn query(&self, img: RgbImage) -> QueryDescriptors {
        let Prepared {
            width,
            height,
            work,
            small,
            grey,
        } = prepare(img, QUERY_FEATURE_SIDE, self.embedder.input_side());
        QueryDescriptors {
            width,
            height,
            hashes: hash::hash_dihedral(&work),
            embeddings: Dihedral::ALL
                .iter()
                .map(|d| self.embedder.embed(&d.apply_image(&small)))
                .collect(),
            features: orb::extract(&grey, &orb::QUERY),
        }
    }
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
fn prepare(img: RgbImage, feature_side: u32, embed_side: u32) -> Prepared {
    let (width, height) = img.dimensions();
    // Shrunk from the original (no full-size copy is made; a small
    // original is copied, cheaply).
    let copy = shrunk(&img, feature_side).unwrap_or_else(|| img.clone());
    let grey = image::DynamicImage::ImageRgb8(copy).into_luma8();
    let work = fit_within(img, WORK_SIDE);
    let small = fit_within(work.clone(), embed_side);
    Prepared {
        width,
        height,
        work,
        small,
        grey,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embed::ColourLayoutEmbedder;

    #[test]
    fn query_identity_equals_reference() {
        let img = RgbImage::from_fn(700, 300, |x, y| {
            image::Rgb([(x % 251) as u8, (y % 241) as u8, ((x * y) % 256) as u8])
        });
        let d = Describer::new(Arc::new(ColourLayoutEmbedder));
        let r = d.reference(img.clone());
        let q = d.query(img);
        assert_eq!(r.hashes, q.hashes[0]);
        assert_eq!(r.embedding, q.embeddings[0]);
        assert_eq!((r.width, r.height), (700, 300));
    }
}
