//! `provenance`: is the object in this photo in a stolen-works database?
//!
//! See ARCHITECTURE.md for a tour. Dependencies point one way:
//! `cli` / `batch` / `import` → `engine` → indexes (`generation`,
//! `vectors`, `text`, `store`) and descriptors (`describe`, `hash`,
//! `embed`) → `decode`.

pub mod arrayfile;
pub mod batch;
pub mod builder;
pub mod candidates;
pub mod cli;
pub mod cli_output;
pub mod cli_service;
pub mod decode;
pub mod describe;
pub mod dihedral;
pub mod embed;
#[cfg(feature = "onnx")]
pub mod embed_onnx;
pub mod engine;
pub mod explain;
pub mod generation;
pub mod generation_features;
pub mod geometry;
pub mod hash;
pub mod heic;
pub mod hough;
pub mod import;
pub mod info;
pub mod inverted;
pub mod localfeatures;
pub mod matching;
pub mod nearest;
pub mod orb;
pub mod paths;
pub mod pixels;
pub mod quad;
pub mod record;
pub mod records_io;
pub mod rectify;
pub mod resample;
pub mod response;
pub mod rivals;
pub mod scoring;
pub mod segment;
pub mod server;
pub mod snapshot;
pub mod store;
pub mod text;
pub mod vectors;
pub mod verify;
pub mod vocabulary;
pub mod writelock;
