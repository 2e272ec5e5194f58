//! From a described photo to ranked, scored, explained matches.
//!
//! Owns: proposing candidates from the indexes ([`candidates`]), proving
//! them geometrically ([`matching`], [`nearest`]), comparing pixels inside
//! a proven outline ([`pixels`]) part by part ([`parts`]) refined by them
//! (`align`), and their
//! colours ([`colour`]), all read at the grid's cells (`shrunk`),
//! turning evidence into a calibrated score and a verdict
//! ([`scoring`]), which verdicts another photo may change
//! ([`borderline`]), discounting variants of a stronger
//! candidate ([`rivals`]), further looks at a photo of several
//! objects ([`further`]), which results are distinct objects in the photo
//! ([`objects`]), the answer's shape ([`response`]), the
//! expert's picture ([`explain`]) and the retro-check's lookup among kept
//! sightings ([`retro`]).
//! Must not touch: writes of any kind; it reads a generation and the store.

mod align;
pub mod backdrop;
pub mod borderline;
pub mod candidates;
pub mod colour;
pub mod explain;
pub mod further;
pub mod matching;
pub mod nearest;
pub mod objects;
pub mod parts;
pub mod pixels;
pub mod remote;
pub mod response;
pub mod retro;
pub mod rivals;
pub mod scoring;
mod shrunk;
pub mod words;
