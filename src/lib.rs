//! `provenance`: is the object in this photo in a stolen-works database?
//!
//! The folders are the layers; dependencies point one way, down this list:
//!
//! - [`cli`], [`server`], [`jobs`]: the edges (commands, HTTP, batch work);
//! - [`engine`]: the one façade they call (open, search, upsert, rebuild);
//! - [`search`]: candidates, verification, scores and verdicts;
//! - [`index`]: the immutable, memory-mapped image indexes;
//!   [`text`]: the description index; [`store`]: the record store, the truth;
//! - [`describe`]: pixels → descriptors, the same code for references and photos;
//! - [`imaging`]: untrusted bytes → upright pixels, and planar geometry;
//! - [`records`]: the Object ID record model and its file formats.
//!
//! [`paths`] owns every file name under an index folder. ARCHITECTURE.md
//! is the tour; docs/decisions.md says why the constants are what they are.

// The OpenAPI document (`server/openapi.rs`) is one `json!` literal per part.
#![recursion_limit = "256"]

pub mod cli;
pub mod describe;
pub mod engine;
pub mod imaging;
pub mod index;
pub mod jobs;
pub mod paths;
pub mod records;
pub mod search;
pub mod server;
pub mod store;
pub mod text;
