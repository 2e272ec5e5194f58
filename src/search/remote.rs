//! A search split between two servers, for a peer asked with the photo's
//! descriptors instead of the photo (`crate::describe::wire`): the peer
//! finds and verifies its candidates ([`RemoteCandidate`], made by the
//! engine's `search_descriptors`); the asker, which holds the photo,
//! compares their pixels and gives the verdicts ([`finish`]). The two
//! halves are the same code as a local search's, so the peer's records
//! get the scores they would get had the photo been sent, under the same
//! `CALIBRATION` (checked on both sides), except that the peer takes no
//! further look for more objects: that needs the photo's pixels.

use crate::describe::describer::QueryDescriptors;
use crate::records::record::is_picture;
use crate::search::objects;
use crate::search::pixels;
use crate::search::response::{DatabaseState, Match, RecordSummary, discount_rivals};
use crate::search::scoring::{self, Evidence, Verdict};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Records a peer sends besides those the pixels judge: the best by
/// score, this many times the results asked for. The asker's rivals'
/// discount only lowers scores, so one ranked below them could reach the
/// answer only if nearly every one above it were discounted.
pub const SENT_PER_RESULT: usize = 3;

/// One reference image a peer found for the descriptors it was sent.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RemoteCandidate {
    /// The record's id.
    pub id: String,
    /// The image's position in the record's `images`.
    pub image_index: u32,
    pub record: RecordSummary,
    /// What the peer's candidate stage found; no pixel comparison yet.
    pub evidence: Evidence,
    /// Agreeing local features (reference pixel, photo pixel): the
    /// rivals' discount reads them.
    #[serde(default)]
    pub pairs: Vec<([f32; 2], [f32; 2])>,
    /// The reference's pixel grid (base64), for the candidates the pixels
    /// judge (`crate::search::pixels::chosen`); absent for the others.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grid: Option<String>,
}

/// A peer's answer to `POST /v1/search/descriptors`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RemoteAnswer {
    pub calibration: String,
    pub database: DatabaseState,
    /// In the order of the peer's candidate stage.
    pub candidates: Vec<RemoteCandidate>,
}

impl RemoteCandidate {
    /// The grid as it travels.
    pub fn encode_grid(grid: &[u8]) -> String {
        B64.encode(grid)
    }
}

/// A peer's candidate is taken only if its numbers could be ours: finite,
/// and an outline and points near the photo. A peer may be broken or
/// hostile (JSON cannot say NaN, but 1e39 reads as an infinite f32); the
/// photo's own search must not suffer for it.
fn plausible(c: &RemoteCandidate, query: &QueryDescriptors) -> bool {
    let reach = 4.0 * query.width.max(query.height) as f32;
    let near = |p: &[f32; 2]| p.iter().all(|v| v.abs() <= reach);
    let e = &c.evidence;
    let numbers = [
        e.embedding_distance,
        e.aspect_difference,
        e.log10_nfa,
        e.coverage,
        e.words,
        e.local_discount,
        e.global_discount,
        e.global_chance,
        e.region_embedding_distance.unwrap_or(0.0),
        e.outline_error.unwrap_or(0.0),
    ];
    numbers.iter().all(|v| v.is_finite())
        && e.region.is_none_or(|q| q.iter().all(near))
        && c.pairs
            .iter()
            .all(|(r, p)| r.iter().all(|v| v.is_finite()) && near(p))
}

/// The asker's half: the pixels of the candidates that came with a grid
/// compared with the photo, then the best image per record, the rivals'
/// discount, the verdicts and the order, as a local search makes them.
/// A malformed grid leaves its candidate unjudged, as a reference without
/// a grid is at home.
pub fn finish(
    query: &QueryDescriptors,
    mut candidates: Vec<RemoteCandidate>,
    top: usize,
) -> Vec<Match> {
    candidates.retain(|c| plausible(c, query));
    // No more than a peer of ours sends: what it costs us to judge a
    // reply must not grow with what the peer chose to send.
    candidates.truncate(pixels::CHECKED_MAX + SENT_PER_RESULT * top.max(1));
    let mut grids = 0;
    for c in candidates.iter_mut().filter(|c| c.grid.is_some()) {
        grids += 1;
        if grids > pixels::CHECKED_MAX {
            c.grid = None;
            // (The peer's own flag is kept: it can only lower a score.)
            c.evidence.not_compared |= c.evidence.region.is_some()
                && scoring::strength_score(&c.evidence) >= scoring::MATCH_THRESHOLD;
        }
    }
    candidates.par_iter_mut().for_each(|c| {
        // Never take the peer's word for the pixels: only ours count.
        c.evidence.pixel_agreement = None;
        c.evidence.pixel_blocks = None;
        c.evidence.colour_agreement = None;
        if let Some(grid) = c.grid.as_deref() {
            let comparison =
                (B64.decode(grid).ok())
                    .zip(c.evidence.region)
                    .and_then(|(g, region)| {
                        let picture = is_picture(&c.record.object_type);
                        pixels::compare_candidate(query, &region, &g, picture)
                    });
            pixels::record(query, &mut c.evidence, comparison);
        }
    });
    let mut best: HashMap<String, Match> = HashMap::new();
    for c in candidates {
        let score = scoring::score(&c.evidence);
        if best.get(&c.id).is_some_and(|m| m.score >= score) {
            continue;
        }
        best.insert(
            c.id.clone(),
            Match {
                verdict: Verdict::for_record(score, Some(&c.evidence), c.record.status),
                borderline: false, // marked by `discount_rivals`
                cut_off: false,
                id: c.id,
                score,
                object: None,
                image: None,
                image_index: Some(c.image_index),
                evidence: Some(c.evidence),
                words: None,
                record: c.record,
                review: None,
                pairs: c.pairs,
            },
        );
    }
    let mut matches: Vec<Match> = best.into_values().collect();
    discount_rivals(&mut matches);
    objects::number(&mut matches);
    objects::keep_every_object(&mut matches, top);
    matches
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::describe::describer::Describer;
    use crate::describe::embed::ColourLayoutEmbedder;
    use crate::records::record::Status;
    use std::sync::Arc;

    fn candidate(id: &str, region: [[f32; 2]; 4], grid: Option<String>) -> RemoteCandidate {
        RemoteCandidate {
            id: id.into(),
            image_index: 0,
            record: RecordSummary {
                title: id.into(),
                maker: String::new(),
                date: String::new(),
                object_type: "painting".into(),
                status: Status::Stolen,
                source: "peer".into(),
                made_in_multiples: false,
                inscriptions: String::new(),
                features: String::new(),
            },
            evidence: Evidence {
                inliers: 40,
                cells: 20,
                coverage: 0.8,
                region: Some(region),
                pixel_agreement: Some(1.0),
                ..Evidence::default()
            },
            pairs: vec![([1.0, 2.0], [30.0, 40.0])],
            grid,
        }
    }

    /// A textured photo's query, and an outline well inside it.
    fn photo_and_outline() -> (QueryDescriptors, [[f32; 2]; 4]) {
        let photo =
            image::RgbImage::from_fn(200, 150, |x, y| image::Rgb([(x * y % 256) as u8, 90, 30]));
        let query = Describer::new(Arc::new(ColourLayoutEmbedder)).query(&photo);
        let inside = [[10.0, 10.0], [190.0, 10.0], [190.0, 140.0], [10.0, 140.0]];
        (query, inside)
    }

    #[test]
    fn a_peer_sending_more_than_ours_would_is_judged_as_ours_is() {
        let (query, inside) = photo_and_outline();
        let grid: Vec<u8> = (0..576u32).map(|i| (i * 37 % 251) as u8).collect();
        let sent: Vec<RemoteCandidate> = (0..500)
            .map(|i| {
                let g = RemoteCandidate::encode_grid(&grid);
                candidate(&format!("r{i:03}"), inside, Some(g))
            })
            .collect();
        // Asked for more than it sent, the peer is taken whole; its grids
        // are compared for as many candidates as a search of ours compares.
        let got = finish(&query, sent, 600);
        assert_eq!(got.len(), 500);
        let judged = got
            .iter()
            .filter(|m| m.evidence.as_ref().unwrap().pixel_blocks.is_some());
        assert_eq!(judged.count(), pixels::CHECKED_MAX);
    }

    #[test]
    fn a_peers_nonsense_is_dropped_and_its_pixels_never_believed() {
        let (query, inside) = photo_and_outline();
        let mut far = inside;
        far[2] = [f32::INFINITY, 140.0];
        let got = finish(
            &query,
            vec![
                candidate("kept", inside, Some("not base64!".into())),
                candidate("far", far, Some(RemoteCandidate::encode_grid(&[7; 3]))),
                candidate("no-grid", inside, None),
            ],
            10,
        );
        let ids: Vec<&str> = got.iter().map(|m| m.id.as_str()).collect();
        assert!(ids.contains(&"kept") && ids.contains(&"no-grid"), "{ids:?}");
        assert!(
            !ids.contains(&"far"),
            "an infinite outline is dropped: {ids:?}"
        );
        for m in &got {
            let e = m.evidence.as_ref().unwrap();
            assert_eq!(
                e.pixel_agreement, None,
                "{}: the peer's pixels are not ours",
                m.id
            );
        }
    }
}
