//! One integration-test binary, organised by topic (ripgrep style).
//!
//! Most tests drive the real `provenance` binary against a fresh index in
//! a temporary directory; a few check library-level properties (EXIF
//! decoding, HNSW recall) through the public API. Run with
//! `cargo test --release`: pixel code is far too slow in a debug build.

mod api;
mod bad_input;
mod batch;
mod colour;
mod crash;
mod deploy;
mod explain;
mod faults;
mod federation;
mod framed;
mod http;
mod import;
mod integrity;
mod objects;
#[cfg(feature = "onnx")]
mod onnx;
mod persistence;
mod pixels;
mod regressions;
mod replicas;
mod report;
mod reviews;
mod rivals;
mod routes;
mod search;
mod second_look;
mod sightings;
mod soak;
mod text;
mod updates;
mod util;
mod vectors;
mod verdicts;
mod web;
