//! The image indexes: immutable, checksummed, memory-mapped tables.
//!
//! Owns: flat array files ([`arrayfile`]); one batch of images' tables
//! ([`segment`]: hashes, vectors with their HNSW graph in [`vectors`],
//! local features in [`localfeatures`], visual words in [`inverted`],
//! written in bounded memory by [`postings`]);
//! a committed snapshot of segments ([`generation`]); the visual
//! vocabulary ([`vocabulary`]); what a posting holds ([`occurrence`]) and
//! the Hough vote over postings ([`hough`]).
//! Must not touch: the record store's writes, scoring, verdicts. Every
//! table is written once, then only read; it can be rebuilt from the store.

pub mod arrayfile;
pub mod error;
pub mod generation;
pub mod generation_features;
pub mod hough;
pub mod inverted;
pub mod localfeatures;
pub mod occurrence;
pub mod postings;
pub mod segment;
pub mod vectors;
pub mod vocabulary;
