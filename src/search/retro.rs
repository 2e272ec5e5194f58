//! The retro-check's lookup: which kept sightings (photos searched
//! before, indexed like references in their own generation) may show a
//! reference image that was just added.
//!
//! The reference's own features are looked up in the sightings'
//! visual words and the few best are verified geometrically, which costs
//! a few milliseconds whatever the number of sightings and needs no
//! second description of the image. What it finds is only a lead: the
//! engine then searches the kept photo again, so that an alert carries
//! exactly the verdict a search today would give
//! (`crate::engine::Engine::check_sightings`).

use crate::describe::hash::ImageHashes;
use crate::index::error::GenerationError;
use crate::index::generation::Generation;
use crate::index::localfeatures::RefFeatures;
use crate::search::matching;
use crate::search::scoring::Evidence;

/// Sightings proposed by shared visual words, each verified.
const LEAD_CANDIDATES: usize = 50;
/// Up to this many sightings, every one is verified: the vocabulary of a
/// handful of photos has too few words to tell them apart (two photos
/// share every word), and verifying them all costs less than a search.
const VERIFY_ALL: usize = 64;
/// Inliers that make a verified sighting a lead worth searching again.
/// Low on purpose: the search that follows decides, and a lead it does
/// not confirm costs one search. 8 and 50 candidates, not 10 and 20,
/// alert 282 rather than 276 of the 288 right pairs a search flags on
/// half A of the dev split (docs/decisions.md, "2026-12-05 —
/// Retro-alerts: a lead, then the search again").
pub const LEAD_INLIERS: usize = 8;

/// A sighting whose hashes differ from the reference's in at most this
/// many of 128 bits is a lead whatever its features say: a listing that
/// re-uses the owner's photo (cropped, watermarked) can have few
/// corners, and two unrelated pictures differ in about half the bits.
pub const LEAD_HASH_BITS: u32 = 40;
/// Nearest sightings by embedding whose hashes are compared.
const LEAD_NEIGHBOURS: usize = 5;

/// A reference image, as the database holds it.
pub struct Reference<'a> {
    pub features: RefFeatures<'a>,
    pub hashes: ImageHashes,
    pub vector: Vec<f32>,
}

/// A sighting that may show the reference.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lead {
    /// Position in the sightings' generation.
    pub pos: u32,
    pub inliers: usize,
}

/// Sightings that share at least [`LEAD_INLIERS`] verified features with
/// the reference, or nearly its hashes, most inliers first.
pub fn leads(sightings: &Generation, reference: &Reference) -> Result<Vec<Lead>, GenerationError> {
    if sightings.is_empty() {
        return Ok(Vec::new());
    }
    let mut out: Vec<Lead> = sightings
        .nearest(&reference.vector, LEAD_NEIGHBOURS, 64)
        .into_iter()
        .filter(|n| sightings.hashes(n.id).distance(&reference.hashes) <= LEAD_HASH_BITS)
        .map(|n| Lead {
            pos: n.id,
            inliers: 0,
        })
        .collect();
    if reference.features.len() >= LEAD_INLIERS {
        out.extend(local_leads(sightings, &reference.features)?);
    }
    out.sort_by(|a, b| b.inliers.cmp(&a.inliers).then(a.pos.cmp(&b.pos)));
    out.dedup_by_key(|l| l.pos);
    Ok(out)
}

fn local_leads(
    sightings: &Generation,
    reference: &RefFeatures,
) -> Result<Vec<Lead>, GenerationError> {
    let query = reference.to_features();
    let candidates: Vec<u32> = if sightings.len() <= VERIFY_ALL {
        (0..sightings.len() as u32).collect()
    } else {
        sightings
            .word_candidates(&query, LEAD_CANDIDATES)?
            .into_iter()
            .map(|(pos, _)| pos)
            .collect()
    };
    let mut out = Vec::new();
    for pos in candidates {
        let seen = sightings.features(pos)?;
        if let Some(m) = matching::verify(&query, &seen.as_ref())
            && m.inliers >= LEAD_INLIERS
        {
            out.push(Lead {
                pos,
                inliers: m.inliers,
            });
        }
    }
    Ok(out)
}

/// Evidence that a sighting shows the reference from the kept features
/// alone (the photo is gone): the sighting's features verified against
/// the reference's, as a search would, without the outline, pixel and
/// global evidence a search adds.
pub fn descriptor_evidence(sighting: &RefFeatures, reference: &RefFeatures) -> Option<Evidence> {
    let m = matching::verify(&sighting.to_features(), reference)?;
    Some(Evidence {
        // Nothing global is known: as far from the reference as can be.
        hash_distance: 128,
        embedding_distance: 2.0,
        inliers: m.inliers as u32,
        putative: m.putative as u32,
        log10_nfa: m.log10_nfa,
        coverage: m.coverage,
        cells: m.cells,
        ..Evidence::default()
    })
}
