//! Untrusted bytes → upright pixels, and the geometry of image planes.
//!
//! Owns: decoding with limits checked before any allocation ([`decode`],
//! [`heic`], errors and limits in [`limits`]), the pyramid's resize
//! ([`resample`]), the eight rotations/flips ([`dihedral`]), and the
//! homographies that map one image plane onto another, with their robust
//! estimation ([`geometry`], [`ransac`], which counts only the views a camera could
//! produce: [`plausible`]): both describing (an outline warped upright)
//! and verifying (a reference found in a photo) need them.
//! Must not touch: descriptors, indexes or records.

pub mod decode;
pub mod dihedral;
pub mod geometry;
pub mod heic;
pub mod limits;
pub mod plausible;
pub mod ransac;
pub mod resample;
