//! The peer's half of a search asked with a photo's descriptors
//! (`crate::search::remote`): candidates found and verified here, sent
//! back with the grids of those whose pixels decide the verdict.

use super::{DatabaseState, Engine, EngineError, type_matches};
use crate::describe::describer::QueryDescriptors;
use crate::search::candidates::candidates;
use crate::search::pixels;
use crate::search::remote::{RemoteCandidate, SENT_PER_RESULT};
use crate::search::response::{RecordSummary, SearchOptions};
use crate::search::scoring;
use crate::store::ImageRef;
use rayon::prelude::*;
use std::collections::{HashMap, HashSet};

impl Engine {
    /// Searches with descriptors a peer sent: every candidate the pixels
    /// would judge (with its reference grid), and the best image of each
    /// other record, in the order the candidate stage found them.
    pub fn search_descriptors(
        &self,
        query: &QueryDescriptors,
        opts: &SearchOptions,
    ) -> Result<(DatabaseState, Vec<RemoteCandidate>), EngineError> {
        let generation = self.generation();
        let mut evidence = candidates(&generation, query)?;
        let chosen = pixels::chosen(evidence.iter().map(|(_, e, _)| e));
        // Sent without a grid, they are not judged where the photo is.
        for i in pixels::left_out(evidence.iter().map(|(_, e, _)| e), &chosen) {
            evidence[i].1.not_compared = true;
        }
        let chosen: HashSet<usize> = chosen.into_iter().collect();
        // (evidence index, candidate, its position and image for its grid)
        let mut judged: Vec<(usize, RemoteCandidate, u32, ImageRef)> = Vec::new();
        // (evidence index, candidate, score)
        let mut others: Vec<(usize, RemoteCandidate, f32)> = Vec::new();
        let mut other_of: HashMap<String, usize> = HashMap::new();
        {
            let store = self.reader()?;
            for (i, (pos, ev, pairs)) in evidence.into_iter().enumerate() {
                let Some(image) = store.image(generation.slot(pos))? else {
                    continue; // replaced since this generation was built
                };
                let score = scoring::score(&ev);
                let is_judged = chosen.contains(&i);
                let known = other_of.get(&image.record_id).copied();
                if !is_judged && known.is_some_and(|k| others[k].2 >= score) {
                    continue;
                }
                let Some(record) = store.get(&image.record_id)? else {
                    continue;
                };
                if !type_matches(&record.object_type, opts.object_type.as_deref()) {
                    continue;
                }
                let candidate = RemoteCandidate {
                    id: image.record_id.clone(),
                    image_index: image.n,
                    record: RecordSummary::from(&record),
                    evidence: ev,
                    pairs,
                    grid: None,
                };
                match (is_judged, known) {
                    (true, _) => judged.push((i, candidate, pos, image)),
                    (false, Some(k)) => others[k] = (i, candidate, score),
                    (false, None) => {
                        other_of.insert(image.record_id, others.len());
                        others.push((i, candidate, score));
                    }
                }
            }
        }
        // As the answer orders them: by score, then by id.
        others.sort_by(|a, b| b.2.total_cmp(&a.2).then_with(|| a.1.id.cmp(&b.1.id)));
        others.truncate(SENT_PER_RESULT * opts.top.max(1));
        let mut sent: Vec<(usize, RemoteCandidate)> = judged
            .into_par_iter()
            .map(|(i, mut c, pos, image)| {
                c.grid = self
                    .grid_of(&generation, pos, image)
                    .map(|g| RemoteCandidate::encode_grid(&g));
                (i, c)
            })
            .collect();
        sent.extend(others.into_iter().map(|(i, c, _)| (i, c)));
        sent.sort_by_key(|(i, _)| *i);
        Ok((
            self.database_state()?,
            sent.into_iter().map(|(_, c)| c).collect(),
        ))
    }
}
