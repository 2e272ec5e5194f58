//! Every object in the photo: which verified candidates are distinct
//! objects, and which object each result explains.
//!
//! A seized lot, a wall or a catalogue page shows several objects; each
//! found object is its own result with its own `region` (its reference's
//! outline in the photo) and its own verdict. Two results are the same
//! object when the centre of either's region lies inside the other's: the
//! variants of one picture, or one record matched by two of its images,
//! share the part of the photo they explain; different objects do not.

use crate::describe::describer::QueryDescriptors;
use crate::describe::rest::unexplained_features;
use crate::imaging::geometry::{Quad, area, centre, grow, inside_quad};
use crate::search::response::Match;
use crate::search::scoring::{self, Evidence, Verdict};

/// A region is taken as another's when it lies within this much growth of
/// it: a transform's error moves an outline's corners by a few per cent.
const SAME_OBJECT_GROWTH: f32 = 0.1;

/// The unexplained part of a photo deserves a look when a candidate that
/// is not a found object already agrees there with at least this many
/// features (a sign of another object; clutter around a single object
/// rarely gives one)…
pub const SIGN_INLIERS: u32 = 8;
/// …or when it holds at least this many of the first look's features (a
/// reference is proved by a few dozen agreeing ones)…
const MIN_REST_FEATURES: usize = 120;
/// …and this share of them, as much structure as a whole object…
const REST_SHARE_ALONE: f32 = 0.35;
/// …or this share, and a probe of them finds a sign
/// (docs/decisions.md, "2026-12-05 — Every object in the photo").
const REST_SHARE: f32 = 0.25;

/// Whether the part of the photo that the objects `found` leave
/// unexplained has enough structure to hold another object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rest {
    /// No: too little of the photo's structure is left, and no sign.
    Explained,
    /// Yes: a candidate agrees there already, or as much structure is left
    /// as a whole object has.
    Worth,
    /// Perhaps: a probe of the first look's features there decides
    /// (`crate::search::candidates::probe_rest`).
    Probe,
}

pub fn rest<'a>(
    query: &QueryDescriptors,
    found: &[(u32, Quad)],
    mut evidence: impl Iterator<Item = (u32, &'a Evidence)>,
) -> Rest {
    let quads: Vec<Quad> = found.iter().map(|f| f.1).collect();
    let sign = evidence.any(|(p, e)| {
        e.inliers >= SIGN_INLIERS
            && !found.iter().any(|f| f.0 == p)
            && e.region
                .is_some_and(|q| !quads.iter().any(|f| same_object(f, &q)))
    });
    let rest = unexplained_features(query, &quads).len();
    let share = rest as f32 / query.features.len().max(1) as f32;
    if sign || (rest >= MIN_REST_FEATURES && share >= REST_SHARE_ALONE) {
        Rest::Worth
    } else if rest >= MIN_REST_FEATURES && share >= REST_SHARE {
        Rest::Probe
    } else {
        Rest::Explained
    }
}

/// The distinct objects among verified candidates (position, region),
/// strongest first: each candidate whose score reaches `possible` with a
/// verified outline, unless a stronger one already explains that part of
/// the photo.
pub fn found<'a>(evidence: impl Iterator<Item = (u32, &'a Evidence)>) -> Vec<(u32, Quad)> {
    let mut strong: Vec<(u32, f32, Quad)> = evidence
        .filter(|(_, e)| e.inliers > 0)
        .filter_map(|(p, e)| Some((p, scoring::score(e), e.region?)))
        .filter(|&(_, s, q)| s >= scoring::POSSIBLE_THRESHOLD && area(&q) > 1.0)
        .collect();
    strong.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut objects: Vec<(u32, Quad)> = Vec::new();
    for (p, _, q) in strong {
        if !objects.iter().any(|(_, o)| same_object(o, &q)) {
            objects.push((p, q));
        }
    }
    objects
}

/// Whether two regions explain the same part of the photo.
pub fn same_object(a: &Quad, b: &Quad) -> bool {
    inside_quad(&centre(a), &grow(b, SAME_OBJECT_GROWTH))
        || inside_quad(&centre(b), &grow(a, SAME_OBJECT_GROWTH))
}

/// Numbers the objects of ranked results (best first): a result with a
/// verdict and a verified region gets the number of the first better
/// result on the same part of the photo, or the next number.
pub fn number(matches: &mut [Match]) {
    let mut regions: Vec<Quad> = Vec::new();
    for m in matches.iter_mut() {
        m.object = None;
        if m.verdict == Verdict::None {
            continue;
        }
        let Some(q) = m.evidence.as_ref().and_then(|e| e.region) else {
            continue;
        };
        let k = match regions.iter().position(|r| same_object(r, &q)) {
            Some(k) => k,
            None => {
                regions.push(q);
                regions.len() - 1
            }
        };
        m.object = Some(k as u32 + 1);
    }
}

/// Keeps the `top` best results, and beyond them the best result of every
/// object in the photo: a shelf of ten objects is answered with all ten.
pub fn keep_every_object(matches: &mut Vec<Match>, top: usize) {
    let mut seen: Vec<u32> = Vec::new();
    let mut k = 0;
    matches.retain(|m| {
        k += 1;
        let first_of_object = m.object.is_some_and(|o| !seen.contains(&o));
        if first_of_object {
            seen.extend(m.object);
        }
        k <= top || first_of_object
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(x: f32, y: f32, side: f32) -> Quad {
        [[x, y], [x + side, y], [x + side, y + side], [x, y + side]]
    }

    fn evidence(inliers: u32, region: Quad) -> Evidence {
        Evidence {
            hash_distance: 64,
            embedding_distance: 1.0,
            inliers,
            cells: 20,
            region: Some(region),
            ..Evidence::default()
        }
    }

    #[test]
    fn two_objects_side_by_side_and_a_variant_of_one() {
        let left = evidence(80, at(0.0, 0.0, 100.0));
        let variant = evidence(40, at(5.0, 3.0, 95.0));
        let right = evidence(60, at(150.0, 0.0, 100.0));
        let weak = evidence(3, at(300.0, 0.0, 100.0));
        let found = found([(1, &left), (2, &variant), (3, &right), (4, &weak)].into_iter());
        let positions: Vec<u32> = found.iter().map(|f| f.0).collect();
        assert_eq!(positions, vec![1, 3]);
    }
}
