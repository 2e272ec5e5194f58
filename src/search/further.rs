//! Further looks at a photo of several objects (`crate::engine`'s
//! object loop): the part the objects found so far leave unexplained,
//! looked up again ([`look_again`]), probed cheaply first where it may hold
//! nothing ([`probe_rest`]), and weak candidates pointing there verified
//! from a closer view ([`look_closer`]). Each adopts only agreement
//! stronger than what a candidate had ([`adopt_stronger`]).

use crate::describe::describer::{self, QueryDescriptors, RegionDescriptors};
use crate::describe::orb::Features;
use crate::describe::rectify;
use crate::describe::rest::RestViews;
use crate::imaging::geometry::{Quad, area, bounds};
use crate::index::error::GenerationError;
use crate::index::generation::Generation;
use crate::index::inverted::Consistency;
use crate::search::borderline;
use crate::search::candidates::{Pairs, global_evidence, in_photo, region_distances, set_local};
use crate::search::matching::{self, LocalMatch};
use crate::search::objects;
use crate::search::scoring::{self, Evidence};
use rayon::prelude::*;
use std::collections::{HashMap, HashSet};

/// Candidates looked up with each view of a photo's unexplained part
/// (`crate::describe::rest`), besides the objects already found there.
const REST_CANDIDATES: usize = 20;
/// …and with each tile of the closer look at a photo in which nothing was
/// found, ranked by the words that agree on one transform: a small
/// picture's words are a small share of its tile's, and with 50,000
/// references the chance words of the rest outrank them by turn and scale
/// alone (docs/decisions.md, "The closer look's tiles ranked by one
/// transform").
const CLOSER_TILE_CANDIDATES: usize = 50;

/// Which further look a set of views is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Look {
    /// The part the objects found so far leave unexplained.
    Rest,
    /// The tiles of a photo in which nothing was found.
    Closer,
}

/// Another look at the part of the photo that the objects found so far
/// do not explain (`crate::describe::rest`): its views' words propose
/// candidates, which are verified with the views' features; a candidate
/// whose agreement there is stronger than what it had takes it as its
/// local evidence, counted as found by a wider look (its chance inliers
/// are one more net's). `found` holds the positions of the objects found,
/// which are not looked up again. Returns the indices of `evidence` whose
/// local evidence changed (new candidates are appended).
pub fn look_again(
    generation: &Generation,
    query: &QueryDescriptors,
    rest: &RestViews,
    look: Look,
    found: &HashSet<u32>,
    evidence: &mut Vec<(u32, Evidence, Pairs)>,
) -> Result<Vec<usize>, GenerationError> {
    let (top, check) = match look {
        Look::Rest => (REST_CANDIDATES, Consistency::Weak),
        Look::Closer => (CLOSER_TILE_CANDIDATES, Consistency::Transform),
    };
    let lookups: Vec<Vec<(u32, f32)>> = rest
        .views
        .par_iter()
        .map(|v| generation.word_candidates_checked(&v.features, top + found.len(), 0, check))
        .collect::<Result<_, _>>()?;
    let mut index_of: HashMap<u32, usize> = evidence
        .iter()
        .enumerate()
        .map(|(i, (p, _, _))| (*p, i))
        .collect();
    // Each candidate, with the views whose lookup proposed it (a bit
    // each): verified with those only, whose features hold its object.
    let mut chosen: Vec<(usize, u32)> = Vec::new();
    for (k, lookup) in lookups.into_iter().enumerate() {
        for (pos, words) in lookup
            .into_iter()
            .filter(|(p, _)| !found.contains(p))
            .take(top)
        {
            let i = *index_of.entry(pos).or_insert_with(|| {
                let mut e = global_evidence(generation, query, pos);
                e.second_look = true;
                evidence.push((pos, e, Vec::new()));
                evidence.len() - 1
            });
            let e = &mut evidence[i].1;
            e.words = e.words.max(words);
            match chosen.iter_mut().find(|c| c.0 == i) {
                Some(c) => c.1 |= 1 << k.min(31),
                None => chosen.push((i, 1 << k.min(31))),
            }
        }
    }
    let verified: Vec<(usize, LocalMatch, u32)> = chosen
        .par_iter()
        .filter_map(|&(i, views)| match generation.features(evidence[i].0) {
            Ok(reference) => {
                let reference = reference.as_ref();
                rest.views
                    .iter()
                    .enumerate()
                    .filter(|&(k, _)| views >> k.min(31) & 1 == 1)
                    .filter_map(|(_, v)| {
                        matching::verify(&v.features, &reference)
                            .map(|m| in_photo(m, |p| v.to_photo.apply(p).unwrap_or(p)))
                    })
                    .max_by_key(|m| m.inliers)
                    .map(|m| Ok((i, m, reference.width)))
            }
            Err(e) => Some(Err(e)),
        })
        .collect::<Result<_, GenerationError>>()?;
    Ok(adopt_stronger(
        generation,
        query,
        evidence,
        verified,
        rest.outlines.first(),
    ))
}

/// Nearest references fetched per embedding of an outline in the rest,
/// as for a first-look region (`crate::search::candidates`).
const OUTLINE_NEIGHBOURS: usize = 10;
const OUTLINE_EF: usize = 128;

/// The outlines a further look found in the unexplained part
/// (`RestViews::outlines`), looked up by their hashes and embeddings as the
/// first look's regions are: a small flat picture (a flag, a logo) among
/// several objects has too few corners for its features, and its outline
/// was too small a share of the photo for the first look. Each candidate's
/// region evidence takes the closest of these outlines where it is closer
/// (and that outline as its region, if it has no verified one); returns the
/// indices that changed (new candidates are appended).
pub fn look_up_outlines(
    generation: &Generation,
    query: &QueryDescriptors,
    outlines: &[RegionDescriptors],
    found: &HashSet<u32>,
    evidence: &mut Vec<(u32, Evidence, Pairs)>,
) -> Vec<usize> {
    if outlines.is_empty() {
        return Vec::new();
    }
    let proposed: Vec<u32> = outlines
        .par_iter()
        .flat_map_iter(|r| r.embeddings.iter())
        .flat_map_iter(|e| {
            generation
                .nearest(e, OUTLINE_NEIGHBOURS, OUTLINE_EF)
                .into_iter()
                .map(|n| n.id)
        })
        .collect();
    let mut index_of: HashMap<u32, usize> = evidence
        .iter()
        .enumerate()
        .map(|(i, (p, _, _))| (*p, i))
        .collect();
    for pos in proposed.into_iter().filter(|p| !found.contains(p)) {
        index_of.entry(pos).or_insert_with(|| {
            let mut e = global_evidence(generation, query, pos);
            e.second_look = true;
            evidence.push((pos, e, Vec::new()));
            evidence.len() - 1
        });
    }
    let mut changed = Vec::new();
    for (i, (pos, e, _)) in evidence.iter_mut().enumerate() {
        if found.contains(pos) {
            continue;
        }
        let h = generation.hashes(*pos);
        let v = generation.vector(*pos);
        // The closest outline, as a first-look region is judged.
        let Some((outline, closer)) = outlines
            .iter()
            .map(|r| {
                let (hash, embedding) = region_distances(std::slice::from_ref(r), &h, &v);
                let closer = Evidence {
                    region_hash_distance: hash,
                    region_embedding_distance: embedding,
                    ..*e
                };
                (r.outline, closer)
            })
            .max_by(|a, b| {
                scoring::whole_global_strength(&a.1)
                    .total_cmp(&scoring::whole_global_strength(&b.1))
            })
        else {
            continue;
        };
        if scoring::whole_global_strength(&closer) > scoring::whole_global_strength(e) {
            *e = closer;
            // With no verified transform, the outline is where the object is.
            if e.inliers == 0 {
                e.region = Some(outline);
            }
            changed.push(i);
        }
    }
    changed
}

/// Candidates a probe of the unexplained part verifies: a sign of another
/// object ranks near the top of a lookup that the found objects no longer
/// crowd.
const PROBE: usize = 10;

/// Whether the first look's features outside the found objects (`rest`)
/// agree with a reference not found already on at least
/// `objects::SIGN_INLIERS`: a cheap sign of another object (one word lookup
/// and [`PROBE`] verifications, no new features).
pub fn probe_rest(
    generation: &Generation,
    rest: &Features,
    found: &HashSet<u32>,
) -> Result<bool, GenerationError> {
    let lookup = generation.word_candidates(rest, PROBE + found.len())?;
    let chosen: Vec<u32> = lookup
        .into_iter()
        .map(|(p, _)| p)
        .filter(|p| !found.contains(p))
        .take(PROBE)
        .collect();
    let signs: Vec<bool> = chosen
        .par_iter()
        .map(|&pos| {
            let reference = generation.features(pos)?;
            Ok(matching::verify(rest, &reference.as_ref())
                .is_some_and(|m| m.inliers as u32 >= objects::SIGN_INLIERS))
        })
        .collect::<Result<_, GenerationError>>()?;
    Ok(signs.into_iter().any(|s| s))
}

/// What a look at a photo in which the first look found nothing
/// (`crate::describe::rest::close_views`) finds counts only where its
/// region's longer side is under this share of the photo's: that look is
/// for pictures too small in the first look's copy. One larger was seen
/// there at a third of its 720 px or more, enough to be judged, and a
/// second try at it is one more chance of a detail shared with the
/// reference (docs/decisions.md, "2026-12-07 — A closer look where nothing
/// was found").
pub const CLOSER_FIND_MAX: f32 = 1.0 / 3.0;

/// Undoes what the look at a photo in which nothing was found changed
/// (`changed`, indices into `evidence`) where the region it gave is not
/// small ([`CLOSER_FIND_MAX`]): such a candidate gets back its evidence
/// from `before` the look (found by its position), or, proposed by the
/// look, its global evidence alone. The changes kept are marked
/// `closer_look`, and returned.
pub fn keep_small_finds(
    generation: &Generation,
    query: &QueryDescriptors,
    before: &[(u32, Evidence, Pairs)],
    evidence: &mut [(u32, Evidence, Pairs)],
    changed: Vec<usize>,
) -> Vec<usize> {
    let side = query.width.max(query.height) as f32;
    let small = |q: &Quad| {
        let [lo, hi] = bounds(q);
        (hi[0] - lo[0]).max(hi[1] - lo[1]) < CLOSER_FIND_MAX * side
    };
    let was: HashMap<u32, &(u32, Evidence, Pairs)> = before.iter().map(|b| (b.0, b)).collect();
    let mut kept = Vec::new();
    for i in changed {
        if evidence[i].1.region.as_ref().is_some_and(small) {
            evidence[i].1.closer_look = true;
            kept.push(i);
            continue;
        }
        evidence[i] = match was.get(&evidence[i].0) {
            Some(&b) => b.clone(),
            None => {
                let pos = evidence[i].0;
                let mut e = global_evidence(generation, query, pos);
                e.second_look = true;
                (pos, e, Vec::new())
            }
        };
    }
    kept
}

/// A photo without a `match` has its candidates from this strength up
/// looked at closer before its verdicts are given: within the noise of a
/// re-taken photo of `possible` (`crate::search::borderline`) or above it,
/// another view may settle them, while one further below has nothing a
/// closer view could prove (docs/decisions.md, "A closer look before an
/// unsure verdict").
pub const SETTLE_FROM: f32 = scoring::POSSIBLE_STRENGTH - borderline::REENCODE_NOISE;

/// A closer look at this many weak candidates per look at most…
const CLOSER: usize = 6;
/// …each with at least this many inliers already: enough to say where in
/// the photo its object would be.
const CLOSER_MIN_INLIERS: u32 = 8;

/// A closer look at weak candidates of a photo with several objects: a
/// candidate whose features agree a little, somewhere no object found so
/// far explains, has the part of the photo its transform points to warped
/// upright out of the full-size photo at the resolution of a reference
/// photo and verified again (`crate::describe::describer::region_features`):
/// a small object on a crowded photo gets the pixels and the feature
/// budget it had to share. At most [`CLOSER`], strongest first, one per
/// part of the photo, each once (`looked`), of strength `min_strength` at
/// least. Returns the indices whose local evidence changed, which counts
/// as found by a wider look.
pub fn look_closer(
    generation: &Generation,
    query: &QueryDescriptors,
    photo: &image::RgbImage,
    found: &[(u32, [[f32; 2]; 4])],
    min_strength: f32,
    looked: &mut HashSet<u32>,
    evidence: &mut [(u32, Evidence, Pairs)],
) -> Result<Vec<usize>, GenerationError> {
    let photo_area = photo.width() as f32 * photo.height() as f32;
    let mut weak: Vec<(usize, f32, [[f32; 2]; 4])> = evidence
        .iter()
        .enumerate()
        .filter(|(_, (p, e, _))| e.inliers >= CLOSER_MIN_INLIERS && !looked.contains(p))
        .filter(|(_, (p, _, _))| !found.iter().any(|f| f.0 == *p))
        .filter_map(|(i, (_, e, _))| Some((i, scoring::strength(e), e.region?)))
        .filter(|&(_, strength, _)| strength >= min_strength)
        .filter(|(_, _, q)| {
            let a = area(q);
            a >= MIN_CLOSER_AREA * photo_area
                && a <= photo_area
                && !found.iter().any(|f| objects::same_object(&f.1, q))
        })
        .collect();
    weak.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut chosen: Vec<(usize, [[f32; 2]; 4])> = Vec::new();
    for (i, _, q) in weak {
        if chosen.len() == CLOSER {
            break;
        }
        if !chosen.iter().any(|c| objects::same_object(&c.1, &q)) {
            chosen.push((i, q));
        }
    }
    looked.extend(chosen.iter().map(|&(i, _)| evidence[i].0));
    let verified: Vec<(usize, LocalMatch, u32)> = chosen
        .par_iter()
        .filter_map(|&(i, q)| {
            let (transform, size) = rectify::upright(&q)?;
            let view = describer::region_features(photo, photo.width(), &transform, size, &q)?;
            match generation.features(evidence[i].0) {
                Ok(reference) => {
                    let reference = reference.as_ref();
                    matching::verify(&view.features, &reference)
                        .map(|m| in_photo(m, |p| view.to_photo.apply(p).unwrap_or(p)))
                        .map(|m| Ok((i, m, reference.width)))
                }
                Err(e) => Some(Err(e)),
            }
        })
        .collect::<Result<_, GenerationError>>()?;
    Ok(adopt_stronger(generation, query, evidence, verified, None))
}

/// A closer look is for a candidate whose region covers at least this
/// share of the photo: smaller, it holds too few pixels to describe.
const MIN_CLOSER_AREA: f32 = 0.002;

/// Takes each verified match that has more inliers than its candidate's
/// evidence as that evidence, counted as found by a wider look (its chance
/// inliers are one more net's, and pay that discount), its pixels to be
/// judged again; returns the indices that changed. The outline error is
/// measured against the photo's outlines and `also`.
fn adopt_stronger(
    generation: &Generation,
    query: &QueryDescriptors,
    evidence: &mut [(u32, Evidence, Pairs)],
    verified: Vec<(usize, LocalMatch, u32)>,
    also: Option<&Quad>,
) -> Vec<usize> {
    let mut changed = Vec::new();
    for (i, m, features_width) in verified {
        let (pos, e, pairs) = &mut evidence[i];
        if m.inliers as u32 <= e.inliers {
            continue;
        }
        *pairs = set_local(generation, query, *pos, e, &m, features_width, also);
        e.second_look = true;
        e.pixel_agreement = None;
        e.pixel_blocks = None;
        e.colour_agreement = None;
        changed.push(i);
    }
    changed
}
