//! The query path: describe → candidates → pixels → every object in the
//! photo → best image per record → rivals → verdicts.

use super::{Engine, EngineError, type_matches};
use crate::describe::describer::{self, QueryDescriptors, RegionDescriptors};
use crate::describe::rest;
use crate::imaging::geometry::Quad;
use crate::index::generation::Generation;
use crate::records::record::is_picture;
use crate::search::candidates::{Pairs, candidates};
use crate::search::further::{
    Look, SETTLE_FROM, keep_small_finds, look_again, look_closer, look_up_outlines, probe_rest,
};
use crate::search::objects::{self, Rest};
use crate::search::pixels;
use crate::search::response::{
    Match, RecordSummary, SearchOptions, SearchResponse, Stages, discount_rivals,
};
use crate::search::scoring::{self, Evidence, Verdict};
use crate::search::words;
use crate::store::{ImageRef, StoreError};
use crate::text::TextFilter;
use image::RgbImage;
use rayon::prelude::*;
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::Instant;

/// Further looks for another object one search takes at most: a photo of
/// a whole shelf is searched in bounded work, its strongest objects first.
/// Work, not time: a deadline would make the answer depend on the load, and
/// the same photo differ between replicas and runs. Photos of 2 to 8
/// objects took 1 to 3 looks (at most 0.45 s on the development machine;
/// docs/decisions.md, "Looks for more objects bounded by work").
const MAX_FURTHER_LOOKS: usize = 8;

/// A candidate that a further look verified with at least this many
/// inliers is compared with the photo pixel by pixel (a few milliseconds).
const JUDGED_INLIERS: u32 = 8;
/// Records the words given with a photo are looked up in: candidates
/// beyond them get no words score.
const WORDS_HITS: usize = 1000;

impl Engine {
    /// Searches with a photo file.
    pub fn search_path(
        &self,
        photo: &Path,
        opts: &SearchOptions,
    ) -> Result<SearchResponse, EngineError> {
        let img = crate::imaging::decode::decode_path(photo, &self.limits)?;
        match &opts.photo_sha256 {
            Some(_) => self.search(img, opts),
            None => {
                let photo_sha256 = self.reviewed_sha256(photo)?;
                self.search(
                    img,
                    &SearchOptions {
                        photo_sha256,
                        ..opts.clone()
                    },
                )
            }
        }
    }

    /// The query path.
    pub fn search(
        &self,
        img: RgbImage,
        opts: &SearchOptions,
    ) -> Result<SearchResponse, EngineError> {
        let started = Instant::now();
        let query = self.describer.query(&img);
        self.search_described(&query, img, opts, started)
    }

    /// The query path after the photo's descriptors (made from `img` since
    /// `started`, which the describe stage's time counts from): for a
    /// caller that also sends them elsewhere (`crate::search::remote`).
    pub fn search_described(
        &self,
        query: &QueryDescriptors,
        img: RgbImage,
        opts: &SearchOptions,
        started: Instant,
    ) -> Result<SearchResponse, EngineError> {
        let mut lap = Lap(started);
        let mut stages = Stages {
            describe: lap.next(),
            ..Stages::default()
        };
        let generation = self.generation();
        let mut evidence = candidates(&generation, query)?;
        stages.candidates = lap.next();
        let chosen = pixels::chosen(evidence.iter().map(|(_, e, _)| e));
        for i in pixels::left_out(evidence.iter().map(|(_, e, _)| e), &chosen) {
            evidence[i].1.not_compared = true;
        }
        self.compare_pixels(&generation, query, &mut evidence, &chosen)?;
        stages.pixels = lap.next();
        self.look_for_more_objects(&generation, query, &img, &mut evidence, opts)?;
        stages.objects = lap.next();
        drop(img);
        let mut best: HashMap<String, Match> = HashMap::new();
        {
            let store = self.reader()?;
            for (pos, ev, pairs) in evidence {
                let Some(image) = store.image(generation.slot(pos))? else {
                    continue; // replaced since this generation was built
                };
                let score = scoring::score(&ev);
                if best.get(&image.record_id).is_some_and(|m| m.score >= score) {
                    continue;
                }
                let Some(record) = store.get(&image.record_id)? else {
                    continue;
                };
                if !type_matches(&record.object_type, opts.object_type.as_deref()) {
                    continue;
                }
                best.insert(
                    image.record_id.clone(),
                    Match {
                        id: image.record_id,
                        score,
                        verdict: Verdict::for_record(score, Some(&ev), record.status),
                        borderline: false, // marked by `discount_rivals`
                        cut_off: false,
                        object: None,
                        image: Some(image.path),
                        image_index: Some(image.n),
                        evidence: Some(ev),
                        words: None,
                        record: RecordSummary::from(&record),
                        review: None,
                        pairs,
                    },
                );
            }
        }
        let mut matches: Vec<Match> = best.into_values().collect();
        discount_rivals(&mut matches);
        let words = match opts.text.as_deref().filter(|t| !t.trim().is_empty()) {
            Some(text) => {
                let hits = self.text.search(text, &TextFilter::default(), WORDS_HITS)?;
                let by_id: HashMap<&str, f32> =
                    hits.iter().map(|h| (h.id.as_str(), h.score)).collect();
                Some(words::order(&mut matches, |id| by_id.get(id).copied()))
            }
            None => None,
        };
        objects::number(&mut matches);
        objects::keep_every_object(&mut matches, opts.top);
        if let Some(sha) = &opts.photo_sha256 {
            self.attach_reviews(&mut matches, sha)?;
        }
        Ok(SearchResponse {
            database: self.database_state_of(&generation)?,
            matches,
            words,
            stages: Some(Stages {
                rank: lap.next(),
                ..stages
            }),
        })
    }

    /// Every object in the photo (issue 24): while the objects found so far
    /// leave part of the photo unexplained with enough structure to hold
    /// another (`crate::search::objects`), that part is described on its own
    /// (`crate::describe::rest`) and looked up again (`crate::search::further`), until a look finds no new object, the photo
    /// holds `opts.max_objects`, or [`MAX_FURTHER_LOOKS`] looks were taken. A photo of
    /// one object takes no further look; a large one in which the first look
    /// found nothing is looked at closer, once (`crate::describe::rest::close_views`).
    fn look_for_more_objects(
        &self,
        generation: &Generation,
        query: &QueryDescriptors,
        photo: &RgbImage,
        evidence: &mut Vec<(u32, Evidence, Pairs)>,
        opts: &SearchOptions,
    ) -> Result<(), EngineError> {
        let mut looked = HashSet::new();
        if !evidence
            .iter()
            .any(|(_, e, _)| scoring::score(e) >= scoring::MATCH_THRESHOLD)
        {
            self.settle_unsure(generation, query, photo, &mut looked, evidence)?;
        }
        let mut found = objects::found(evidence.iter().map(|(p, e, _)| (*p, e)));
        let mut rest_photo = None;
        let mut looked_closer = false;
        for _ in 0..MAX_FURTHER_LOOKS {
            let quads: Vec<Quad> = found.iter().map(|f| f.1).collect();
            if found.len() >= opts.max_objects {
                return Ok(());
            }
            let positions: HashSet<u32> = found.iter().map(|f| f.0).collect();
            // The views, and for a look where nothing was found the evidence
            // before it (what it finds counts only where it is small).
            let (views, look, before) = if found.is_empty() {
                // Nothing found: a picture small in a large photo may be
                // too small in the first look's copy. Looked for closer,
                // once (a photo too small for that has had its look).
                let closer = (!looked_closer)
                    .then(|| rest::RestPhoto::closer(photo))
                    .flatten();
                let Some(closer) = closer else {
                    return Ok(());
                };
                looked_closer = true;
                (
                    rest::close_views(&closer, query),
                    Look::Closer,
                    Some(evidence.clone()),
                )
            } else {
                let worth =
                    match objects::rest(query, &found, evidence.iter().map(|(p, e, _)| (*p, e))) {
                        Rest::Explained => false,
                        Rest::Worth => true,
                        Rest::Probe => {
                            let features = rest::unexplained_subset(query, &quads);
                            probe_rest(generation, &features, &positions)?
                        }
                    };
                if !worth {
                    return Ok(());
                }
                let rest_photo = rest_photo.get_or_insert_with(|| rest::RestPhoto::new(photo));
                (
                    rest::rest_views(rest_photo, query, &quads),
                    Look::Rest,
                    None,
                )
            };
            if views.views.is_empty() {
                return Ok(());
            }
            let mut changed = look_again(generation, query, &views, look, &positions, evidence)?;
            let outlines: Vec<RegionDescriptors> = views
                .outlines
                .par_iter()
                .filter_map(|q| self.describer.describe_outline(photo, q))
                .collect();
            changed.extend(look_up_outlines(
                generation, query, &outlines, &positions, evidence,
            ));
            changed.extend(look_closer(
                generation,
                query,
                photo,
                &found,
                f32::MIN,
                &mut looked,
                evidence,
            )?);
            changed.sort_unstable();
            changed.dedup();
            if let Some(before) = &before {
                changed = keep_small_finds(generation, query, before, evidence, changed);
            }
            self.judge_changed(generation, query, evidence, &changed)?;
            let now = objects::found(evidence.iter().map(|(p, e, _)| (*p, e)));
            if now.len() <= found.len() {
                return Ok(());
            }
            found = now;
        }
        Ok(())
    }

    /// A photo without a `match`: its candidates near or above `possible`
    /// ([`SETTLE_FROM`]) are looked at closer (`look_closer`: their region
    /// warped upright out of the full-size photo and verified again) and
    /// judged as a whole picture again, before any verdict is given; a
    /// candidate keeps the closer evidence only where it scores higher
    /// (docs/decisions.md, "A closer look before an unsure verdict").
    fn settle_unsure(
        &self,
        generation: &Generation,
        query: &QueryDescriptors,
        photo: &RgbImage,
        looked: &mut HashSet<u32>,
        evidence: &mut [(u32, Evidence, Pairs)],
    ) -> Result<(), EngineError> {
        let before: HashMap<usize, (u32, Evidence, Pairs)> = evidence
            .iter()
            .enumerate()
            .filter(|(_, (_, e, _))| scoring::strength(e) >= SETTLE_FROM)
            .map(|(i, c)| (i, c.clone()))
            .collect();
        let changed = look_closer(generation, query, photo, &[], SETTLE_FROM, looked, evidence)?;
        self.judge_changed(generation, query, evidence, &changed)?;
        for i in changed {
            if let Some(old) = before.get(&i)
                && scoring::score(&evidence[i].1) < scoring::score(&old.1)
            {
                evidence[i] = old.clone();
            }
        }
        Ok(())
    }

    /// The candidates a further look `changed`, judged as a whole picture
    /// like the first look's best, so that none is called `match` on its
    /// features alone, and none stays below `possible` for want of that
    /// judgement.
    fn judge_changed(
        &self,
        generation: &Generation,
        query: &QueryDescriptors,
        evidence: &mut [(u32, Evidence, Pairs)],
        changed: &[usize],
    ) -> Result<(), EngineError> {
        let judge: Vec<usize> = changed
            .iter()
            .copied()
            .filter(|&i| evidence[i].1.inliers >= JUDGED_INLIERS)
            .collect();
        self.compare_pixels(generation, query, evidence, &judge)
    }

    /// Compares the photo with the `chosen` candidates' reference images
    /// (`crate::search::pixels`), by the grids the store keeps; an image imported
    /// before grids were kept has its file decoded, without the store's lock.
    fn compare_pixels(
        &self,
        generation: &Generation,
        query: &QueryDescriptors,
        evidence: &mut [(u32, Evidence, Pairs)],
        chosen: &[usize],
    ) -> Result<(), EngineError> {
        let images: Vec<Option<ImageRef>> = {
            let store = self.reader()?;
            chosen
                .iter()
                .map(|&i| store.image(generation.slot(evidence[i].0)))
                .collect::<Result<_, StoreError>>()?
        };
        let agreements: Vec<Option<pixels::Comparison>> = chosen
            .par_iter()
            .zip(images)
            .map(|(&i, image)| {
                let (pos, e, _) = &evidence[i];
                let region = e.region?;
                let image = image?;
                let picture = is_picture(&image.object_type);
                let grid = self.grid_of(generation, *pos, image)?;
                pixels::compare_candidate(query, &region, &grid, picture)
            })
            .collect();
        for (&i, c) in chosen.iter().zip(agreements) {
            pixels::record(query, &mut evidence[i].1, c);
        }
        Ok(())
    }

    /// A reference image's pixel grid: as the store keeps it, or, for an
    /// image imported before grids were kept, from its file (decoded
    /// without the store's lock, if small enough to be worth it).
    pub(crate) fn grid_of(
        &self,
        generation: &Generation,
        pos: u32,
        image: ImageRef,
    ) -> Option<Vec<u8>> {
        match image.grid {
            Some(grid) => Some(grid),
            None if describer::worth_decoding(generation.shape(pos)) => {
                describer::reference_grid_of_file(Path::new(&image.path), &self.limits)
            }
            None => None,
        }
    }
}

/// A stopwatch started at the search's start: seconds since the previous lap.
struct Lap(Instant);

impl Lap {
    fn next(&mut self) -> f64 {
        let now = Instant::now();
        let seconds = now.duration_since(self.0).as_secs_f64();
        self.0 = now;
        seconds
    }
}
