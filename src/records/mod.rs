//! The record model (Getty/ICOM Object ID) and its file formats.
//!
//! Owns: what a record is and when it is valid ([`record`]), and reading
//! records from JSONL and CSV, one line at a time ([`io`]). Knows nothing
//! of images, indexes or storage: every other layer may use it.

pub mod io;
pub mod record;
pub mod sighting;
