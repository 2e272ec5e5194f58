//! The candidate stage of a search: which reference images are worth
//! scoring, and the evidence for each (global distances, geometric
//! verification of local features).

use crate::describe::describer::{self, QueryDescriptors, RegionDescriptors, RegionFeatures};
use crate::describe::embed::l2_squared;
use crate::describe::hash::ImageHashes;
use crate::describe::orb::Features;
use crate::describe::quad;
use crate::imaging::dihedral::Dihedral;
use crate::index::error::GenerationError;
use crate::index::generation::Generation;
use crate::search::matching::{self, LocalMatch};
use crate::search::scoring::{self, Evidence};
use rayon::prelude::*;
use std::collections::{HashMap, HashSet};

/// Neighbours fetched from the vector index per query orientation.
const VECTOR_CANDIDATES: usize = 24;
/// Beam width of the vector index's search: a narrower beam misses true
/// neighbours (docs/decisions.md, "2026-11-29 — HNSW searched with ef 128").
const VECTOR_EF: usize = 128;
/// Images proposed by shared visual words, all verified geometrically.
/// Not more: the second look already finds what a wider first look would
/// (docs/decisions.md, "2026-12-04 — Verifying 100 first-look word candidates").
const WORD_CANDIDATES: usize = 100;
/// Neighbours fetched per outlined region (`crate::describe::quad`) and turn.
const REGION_CANDIDATES: usize = 10;
/// Word candidates looked up with an outlined region's own features
/// (`crate::describe::describer::RegionFeatures`)…
const REGION_WORD_CANDIDATES: usize = 30;
/// …when it has at least this many. The region's features verify those
/// candidates and the best [`REGION_VERIFIED`] of the rest, not every
/// candidate, which finds no more for twice the time (docs/decisions.md,
/// "2026-11-30 — Looking up a picture's outline, warped upright").
const MIN_REGION_FEATURES: usize = 40;
const REGION_VERIFIED: usize = 5;
/// Best candidates by global evidence that are verified as well.
const GLOBAL_VERIFIED: usize = 10;
/// The second look ([`second_look`]): further words per descriptor, and
/// new candidates verified from the whole photo's lookup; more of either
/// finds little more for its time (docs/decisions.md, "2026-12-01 — A
/// second look for photos with no conclusive match" and "2026-12-02 —
/// Verifying 150 second-look candidates, not 300").
const SECOND_LOOK_LEAVES: usize = 4;
const SECOND_LOOK_CANDIDATES: usize = 150;
/// New candidates verified from each outlined region's wider lookup, with
/// the regions' features only: a framed picture's region ranks its
/// reference far better than the cluttered photo does, and the whole
/// photo's features as well find little more for their time
/// (docs/decisions.md, "2026-12-02 — 150 second-look candidates per outlined region").
const REGION_SECOND_LOOK_CANDIDATES: usize = 150;
/// New candidates verified from each simulated tilt of the photo
/// (`crate::describe::describer::TILTS`; docs/decisions.md, "2026-12-01 —
/// Two simulated tilts in the second look").
const TILT_CANDIDATES: usize = 50;

/// Agreeing local features of one candidate: (reference pixel, query pixel).
pub type Pairs = Vec<([f32; 2], [f32; 2])>;

/// Every reference image worth scoring, with the evidence for it.
///
/// Two index lookups propose candidates (the embedding's nearest
/// neighbours in every orientation, images sharing consistent visual
/// words), for the whole photo and for its outlined regions; hash distances are then computed for those candidates only,
/// and the most promising are verified geometrically, in parallel. When
/// none of them is a conclusive match, a [`second_look`] widens the net.
/// Nothing here touches every reference image: an exact scan of the
/// hashes finds no reference that these two miss (docs/decisions.md,
/// "2026-11-29 — No exact scan of the hashes").
pub fn candidates(
    generation: &Generation,
    query: &QueryDescriptors,
) -> Result<Vec<(u32, Evidence, Pairs)>, GenerationError> {
    // The photo's embeddings, then each outlined region's.
    let lookups = query
        .embeddings
        .iter()
        .map(|e| (e, VECTOR_CANDIDATES))
        .chain(
            query
                .regions
                .iter()
                .flat_map(|r| r.embeddings.iter().map(|e| (e, REGION_CANDIDATES))),
        );
    let regions: Vec<&RegionFeatures> = query
        .regions
        .iter()
        .filter_map(|r| r.features.as_ref())
        .filter(|r| r.features.len() >= MIN_REGION_FEATURES)
        .collect();
    // Every lookup is independent of the others: all run in parallel.
    // The photo's word lookup comes first, the regions' after it: their
    // candidates are told apart below.
    let word_lookups: Vec<(&Features, usize)> = std::iter::once((&query.features, WORD_CANDIDATES))
        .chain(
            regions
                .iter()
                .map(|r| (&r.features, REGION_WORD_CANDIDATES)),
        )
        .collect();
    let vector_lookups: Vec<(&Vec<f32>, usize)> = lookups.collect();
    let (by_words, by_vectors) = rayon::join(
        || {
            word_lookups
                .par_iter()
                .map(|&(features, top)| generation.word_candidates(features, top))
                .collect::<Result<Vec<_>, _>>()
        },
        || {
            vector_lookups
                .par_iter()
                .flat_map_iter(|&(e, k)| {
                    generation
                        .nearest(e, k, VECTOR_EF)
                        .into_iter()
                        .map(|n| n.id)
                })
                .collect::<Vec<u32>>()
        },
    );
    let mut found = by_vectors;
    let mut by_words = by_words?.into_iter();
    let mut words = by_words.next().unwrap_or_default();
    let mut region_found: HashSet<u32> = HashSet::new();
    for found in by_words {
        region_found.extend(found.iter().map(|&(pos, _)| pos));
        words.extend(found);
    }
    let mut word_score: HashMap<u32, f32> = HashMap::new();
    for (pos, score) in words {
        let best = word_score.entry(pos).or_insert(score);
        *best = best.max(score);
    }
    found.extend(word_score.keys());
    // Positions in order, so that equal scores always resolve the same way.
    found.sort_unstable();
    found.dedup();
    let mut evidence: Vec<(u32, Evidence)> = found
        .into_iter()
        .map(|pos| {
            let mut e = global_evidence(generation, query, pos);
            e.words = word_score.get(&pos).copied().unwrap_or(0.0);
            (pos, e)
        })
        .collect();
    // Verify the word candidates and the best of the global ones. Before
    // verification a score floors every global strength below 0 alike:
    // the global strength itself orders those, not their positions.
    evidence.sort_by(|a, b| {
        scoring::score(&b.1)
            .total_cmp(&scoring::score(&a.1))
            .then(
                scoring::whole_global_strength(&b.1)
                    .total_cmp(&scoring::whole_global_strength(&a.1)),
            )
            .then(a.0.cmp(&b.0))
    });
    let every_region = SetMask::first(regions.len());
    let verify: Vec<(usize, SetMask)> = (0..evidence.len())
        .filter(|&i| i < GLOBAL_VERIFIED || evidence[i].1.words > 0.0)
        .enumerate()
        .map(|(rank, i)| {
            let use_regions = rank < REGION_VERIFIED || region_found.contains(&evidence[i].0);
            let regions = if use_regions {
                every_region
            } else {
                SetMask(0)
            };
            (i, SetMask::WHOLE.or(regions))
        })
        .collect();
    let mut pairs: Vec<Pairs> = vec![Vec::new(); evidence.len()];
    verify_some(
        generation,
        query,
        &regions,
        &mut evidence,
        &mut pairs,
        &verify,
    )?;
    if !evidence
        .iter()
        .any(|(_, e)| scoring::strength(e) >= scoring::MATCH_STRENGTH)
    {
        let verified = verify.iter().map(|&(i, _)| evidence[i].0).collect();
        second_look(
            generation,
            query,
            &regions,
            verified,
            &mut evidence,
            &mut pairs,
        )?;
    }
    Ok(evidence
        .into_iter()
        .zip(pairs)
        .map(|((pos, e), p)| (pos, e, p))
        .collect())
}

/// A photo that nothing matched conclusively gets a second, wider look:
/// its descriptors (the whole photo's, each outlined region's, and those
/// of two simulated tilts of the photo, `describe::tilted_views`) are
/// also assigned to the next [`SECOND_LOOK_LEAVES`] nearest words of
/// their branch, which finds references whose descriptors a steep angle
/// or blur moved across a word's border, and the best new candidates are
/// verified too. Only then: on every photo, the extra words' chance
/// candidates cost a few weak true matches their first place. The wider
/// lookup's shortlist is ranked by the words that agree on one transform
/// (`crate::index::hough`), not by agreeing turns and scales alone.
///
/// `verified` holds the first look's verified candidates. A candidate the
/// first look only knew by its global evidence (an embedding neighbour
/// without shared words) counts as new: it was never verified, and may be
/// the right reference the wide lookup ranks first (docs/decisions.md,
/// "2026-12-01 — Verifying global-only candidates the second look finds").
fn second_look(
    generation: &Generation,
    query: &QueryDescriptors,
    regions: &[&RegionFeatures],
    verified: HashSet<u32>,
    evidence: &mut Vec<(u32, Evidence)>,
    pairs: &mut Vec<Pairs>,
) -> Result<(), GenerationError> {
    let mut index_of: HashMap<u32, usize> = evidence
        .iter()
        .enumerate()
        .map(|(i, (p, _))| (*p, i))
        .collect();
    // Enough to find `top` new ones even if every verified one comes first.
    let already = verified.len();
    let views = describer::tilted_views(query);
    // What each lookup takes: its features, how many new candidates, and
    // the feature sets that verify them: the photo's with the whole photo,
    // a region's with every region, a view's with its own and the whole
    // photo. The lookups are independent: run in parallel.
    let mut specs: Vec<(&Features, usize, SetMask)> =
        vec![(&query.features, SECOND_LOOK_CANDIDATES, SetMask::WHOLE)];
    for r in regions {
        specs.push((
            &r.features,
            REGION_SECOND_LOOK_CANDIDATES,
            SetMask::first(regions.len()),
        ));
    }
    for (k, v) in views.iter().enumerate() {
        specs.push((
            &v.features,
            TILT_CANDIDATES,
            SetMask::WHOLE.or(SetMask::one(regions.len() + k)),
        ));
    }
    let found: Vec<Lookup> = specs
        .par_iter()
        .map(|&(features, top, sets)| {
            generation
                .word_candidates_near(features, top + already, SECOND_LOOK_LEAVES)
                .map(|found| Lookup { found, top, sets })
        })
        .collect::<Result<_, _>>()?;
    let mut verify = Vec::new();
    for (pos, words, with) in choose(found, &verified) {
        let i = *index_of.entry(pos).or_insert_with(|| {
            evidence.push((pos, global_evidence(generation, query, pos)));
            pairs.push(Vec::new());
            evidence.len() - 1
        });
        let e = &mut evidence[i].1;
        e.words = words;
        e.second_look = true;
        verify.push((i, with));
    }
    let sets: Vec<&RegionFeatures> = regions.iter().copied().chain(views.iter()).collect();
    verify_some(generation, query, &sets, evidence, pairs, &verify)
}

/// The feature sets a candidate is verified with: bit k stands for set k
/// (an outlined region, a view), [`SetMask::WHOLE`] for the whole photo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct SetMask(u32);

impl SetMask {
    const WHOLE: SetMask = SetMask(1 << 31);

    /// Sets `0..n` (at most 31 of them).
    fn first(n: usize) -> SetMask {
        SetMask((1u32 << n.min(31)) - 1)
    }

    fn one(k: usize) -> SetMask {
        SetMask(if k < 31 { 1 << k } else { 0 })
    }

    fn or(self, other: SetMask) -> SetMask {
        SetMask(self.0 | other.0)
    }

    fn has(self, k: usize) -> bool {
        k < 31 && self.0 >> k & 1 == 1
    }

    fn has_whole(self) -> bool {
        self.0 & Self::WHOLE.0 != 0
    }
}

/// One wide lookup of the second look: its candidates (best first), how
/// many new ones it may add, and the sets that verify them.
struct Lookup {
    found: Vec<(u32, f32)>,
    top: usize,
    sets: SetMask,
}

/// What the second look verifies: from each lookup, the first `top` of
/// its candidates that the first look did not verify (whether it knew
/// them or not), each with the lookup's sets. A candidate that several
/// lookups choose is verified once, with all their sets: a view that
/// ranks the right reference high has the features that agree with it,
/// even when the photo's own lookup found it first. Words: the best.
fn choose(lookups: Vec<Lookup>, verified: &HashSet<u32>) -> Vec<(u32, f32, SetMask)> {
    let mut chosen: Vec<(u32, f32, SetMask)> = Vec::new();
    let mut at: HashMap<u32, usize> = HashMap::new();
    for lookup in lookups {
        let mut new = 0;
        for (pos, words) in lookup.found {
            if new == lookup.top {
                break;
            }
            if let Some(&k) = at.get(&pos) {
                let c = &mut chosen[k];
                c.1 = c.1.max(words);
                c.2 = c.2.or(lookup.sets);
            } else if !verified.contains(&pos) {
                at.insert(pos, chosen.len());
                chosen.push((pos, words, lookup.sets));
                new += 1;
            }
        }
    }
    chosen
}

/// Verifies the candidates `which` (index into `evidence`, the feature
/// sets tried: of `sets`, and the whole photo's) and records the best
/// agreement.
fn verify_some(
    generation: &Generation,
    query: &QueryDescriptors,
    sets: &[&RegionFeatures],
    evidence: &mut [(u32, Evidence)],
    pairs: &mut [Pairs],
    which: &[(usize, SetMask)],
) -> Result<(), GenerationError> {
    let scale = query.width as f32 / query.features.width.max(1) as f32;
    // (candidate, match in photo pixels, width of the copy its features come from)
    let verified: Vec<(usize, LocalMatch, u32)> = which
        .par_iter()
        .filter_map(|(i, with)| match generation.features(evidence[*i].0) {
            Ok(reference) => {
                let reference = reference.as_ref();
                let whole = with
                    .has_whole()
                    .then(|| matching::verify(&query.features, &reference))
                    .flatten()
                    .map(|m| in_photo(m, |[x, y]| [x * scale, y * scale]));
                let best = sets
                    .iter()
                    .enumerate()
                    .filter(|&(k, _)| with.has(k))
                    .filter_map(|(_, r)| {
                        matching::verify(&r.features, &reference)
                            .map(|m| in_photo(m, |p| r.to_photo.apply(p).unwrap_or(p)))
                    })
                    .chain(whole)
                    .max_by_key(|m| m.inliers);
                best.map(|m| Ok((*i, m, reference.width)))
            }
            Err(e) => Some(Err(e)),
        })
        .collect::<Result<_, GenerationError>>()?;
    for (i, m, features_width) in verified {
        let (pos, e) = &mut evidence[i];
        pairs[i] = set_local(generation, query, *pos, e, &m, features_width, None);
    }
    Ok(())
}

/// Records a verified match as the candidate's local evidence, and
/// returns its agreeing pairs in the reference's and the photo's pixels.
/// The outline error is measured against the photo's outlines and `also`.
pub(super) fn set_local(
    generation: &Generation,
    query: &QueryDescriptors,
    pos: u32,
    e: &mut Evidence,
    m: &LocalMatch,
    features_width: u32,
    also: Option<&[[f32; 2]; 4]>,
) -> Pairs {
    e.inliers = m.inliers as u32;
    e.putative = m.putative as u32;
    e.log10_nfa = m.log10_nfa;
    e.coverage = m.coverage;
    e.cells = m.cells;
    e.region = Some(m.quad);
    e.outline_error = outline_error(query, &m.quad, also);
    let (rw, _) = generation.shape(pos);
    let ref_scale = rw as f32 / features_width.max(1) as f32;
    m.pairs
        .iter()
        .map(|(r, q)| ([r[0] * ref_scale, r[1] * ref_scale], *q))
        .collect()
}

/// How far `region` (in the photo's pixels) is from the nearest outline
/// found in the photo or `also` ([`quad::corner_error`]); None without any.
pub fn outline_error(
    query: &QueryDescriptors,
    region: &[[f32; 2]; 4],
    also: Option<&[[f32; 2]; 4]>,
) -> Option<f32> {
    query
        .regions
        .iter()
        .map(|r| &r.outline)
        .chain(also)
        .map(|outline| quad::corner_error(region, outline))
        .reduce(f32::min)
}

/// A match with its query-side points (outline and pairs) mapped from
/// the pixels of the features' copy into the photo's.
pub(super) fn in_photo(mut m: LocalMatch, to_photo: impl Fn([f32; 2]) -> [f32; 2]) -> LocalMatch {
    m.quad = m.quad.map(&to_photo);
    for (_, q) in &mut m.pairs {
        *q = to_photo(*q);
    }
    m
}

/// Hash, embedding and shape evidence for one reference image.
pub fn global_evidence(generation: &Generation, query: &QueryDescriptors, pos: u32) -> Evidence {
    let h = generation.hashes(pos);
    let v = generation.vector(pos);
    // The orientation that fits the hashes best also fixes which side of
    // the query is its width.
    let (best, hash_distance) = query
        .hashes
        .iter()
        .map(|q| q.distance(&h))
        .enumerate()
        .min_by_key(|&(_, d)| d)
        .unwrap_or((0, 128));
    let shape = if Dihedral::ALL[best].swaps_axes() {
        (query.height, query.width)
    } else {
        (query.width, query.height)
    };
    let embedding_distance = query
        .embeddings
        .iter()
        .map(|e| l2_squared(e, &v))
        .fold(f32::INFINITY, f32::min)
        .sqrt();
    let (region_hash_distance, region_embedding_distance) =
        region_distances(&query.regions, &h, &v);
    Evidence {
        hash_distance,
        embedding_distance,
        aspect_difference: aspect_difference(shape, generation.shape(pos)),
        region_hash_distance,
        region_embedding_distance,
        global_chance: scoring::global_chance_discount(generation.len()),
        ..Evidence::default()
    }
}

/// Fewest differing hash bits and smallest embedding distance between a
/// reference (its hashes `h`, its vector `v`) and any of `regions`; None
/// without regions.
pub fn region_distances(
    regions: &[RegionDescriptors],
    h: &ImageHashes,
    v: &[f32],
) -> (Option<u32>, Option<f32>) {
    let hash = regions
        .iter()
        .flat_map(|r| r.hashes.iter().map(|q| q.distance(h)))
        .min();
    let embedding = regions
        .iter()
        .flat_map(|r| r.embeddings.iter().map(|e| l2_squared(e, v)))
        .reduce(f32::min)
        .map(f32::sqrt);
    (hash, embedding)
}

fn aspect_difference(a: (u32, u32), b: (u32, u32)) -> f32 {
    let la = (a.0.max(1) as f32 / a.1.max(1) as f32).ln();
    let lb = (b.0.max(1) as f32 / b.1.max(1) as f32).ln();
    (la - lb).abs()
}

#[cfg(test)]
mod tests {
    use super::*;

    const WHOLE: u32 = SetMask::WHOLE.0;

    fn lookup(found: &[(u32, f32)], top: usize, sets: u32) -> Lookup {
        Lookup {
            found: found.to_vec(),
            top,
            sets: SetMask(sets),
        }
    }

    #[test]
    fn the_second_look_verifies_what_the_first_did_not_with_every_finder_s_sets() {
        // 3 was verified by the first look; 5 and 9 it knew only by their
        // global evidence, which is no reason to pass them over.
        let verified: HashSet<u32> = [3].into();
        let photo = lookup(
            &[(7, 0.9), (3, 0.8), (5, 0.7), (9, 0.6), (1, 0.5)],
            3,
            WHOLE,
        );
        // A view ranks 9 first: it is verified with the view's features
        // too, and does not count among the view's new ones.
        let view = lookup(&[(9, 0.95), (3, 0.9), (2, 0.4), (4, 0.3)], 1, 0b10);
        // A region's lookup verifies with the regions only: 7 with both.
        let region = lookup(&[(7, 0.5), (8, 0.45)], 2, 0b1);
        let chosen = choose(vec![photo, view, region], &verified);
        assert_eq!(
            chosen,
            vec![
                (7, 0.9, SetMask(WHOLE | 0b1)),
                (5, 0.7, SetMask(WHOLE)),
                (9, 0.95, SetMask(WHOLE | 0b10)),
                (2, 0.4, SetMask(0b10)),
                (8, 0.45, SetMask(0b1)),
            ]
        );
    }

    #[test]
    fn set_masks() {
        assert_eq!(SetMask::first(0), SetMask(0));
        assert_eq!(SetMask::first(3), SetMask(0b111));
        assert!(SetMask::one(4).has(4) && !SetMask::one(4).has(3));
        assert!(!SetMask::first(32).has(40));
        assert!(!SetMask::first(40).has_whole() && SetMask::WHOLE.has_whole());
        assert_eq!(SetMask::one(31), SetMask(0));
    }
}
