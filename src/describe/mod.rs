//! Pixels → descriptors: the *one* code path for references (at import)
//! and for photos (at search), so that both sides are always comparable.
//!
//! Owns: the [`describer`] that runs every descriptor, local features
//! ([`orb`]), perceptual hashes ([`hash`]), global embeddings ([`embed`],
//! [`embed_onnx`]), the pixel grid of a reference ([`grid`]), and finding
//! and rectifying a picture's outline in a photo ([`quad`], [`rectify`]).
//! Must not touch: indexes, the store, scores. Every descriptor is versioned
//! (`FEATURES_VERSION`, `HASH_VERSION`), and a change to one bumps it.

pub mod describer;
pub mod embed;
#[cfg(feature = "onnx")]
pub mod embed_onnx;
pub mod grid;
pub mod hash;
pub mod orb;
pub mod quad;
pub mod rectify;
pub mod rest;
pub mod wire;
