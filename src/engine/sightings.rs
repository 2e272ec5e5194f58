//! Sightings and retro-alerts.
//!
//! A searched photo can be kept as a sighting (`crate::records::sighting`):
//! described like a reference and committed to a second index,
//! `sightings/` inside this one, opened with the same code. Whenever
//! images are added to the database, [`Engine::check_sightings`] looks
//! each new image up among the sightings (`crate::search::retro`) and
//! searches every lead's photo again; a new record that this search gives
//! as `match`, `partial` or `possible` raises an alert, kept in the record
//! store with the watermark of images checked (`crate::store::Alert`).

use super::{Engine, EngineError, SearchOptions};
use crate::records::record::Record;
use crate::records::sighting::Sighting;
use crate::search::retro;
use crate::search::scoring::{self, Verdict};
use crate::store::{Alert, AlertFilter, StoredImage};
use image::RgbImage;
use rayon::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

/// What a check of new images against the kept sightings did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct SightingCheck {
    /// New images looked up, and the sightings they were looked up among.
    pub images: usize,
    pub sightings: usize,
    /// Sightings that may show a new image, each searched again.
    pub leads: usize,
    /// Seconds spent looking the new images up among the sightings, and
    /// searching the leads' photos again.
    pub lookup_seconds: f64,
    pub search_seconds: f64,
    /// The alerts raised (pairs alerted before are not raised again).
    pub alerts: Vec<Alert>,
}

/// Candidates a lead's photo search returns: enough that a new record
/// among several look-alikes still comes back.
const RECHECK_TOP: usize = 20;

impl Engine {
    /// The sightings index; None when no photo was ever kept, unless
    /// `create`.
    pub fn sightings(&self, create: bool) -> Result<Option<Arc<Engine>>, EngineError> {
        let mut slot = self.sightings.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = slot.as_ref() {
            s.reload()?;
            return Ok(Some(Arc::clone(s)));
        }
        let dir = self.paths.sightings();
        if !create && !self.paths.sightings_exist() {
            return Ok(None);
        }
        let s = Arc::new(Engine::open_with(&dir, self.describer.embedder_arc())?);
        *slot = Some(Arc::clone(&s));
        Ok(Some(s))
    }

    /// Describes an image like a reference, to be stored at `path`.
    pub fn describe_reference(&self, path: String, img: RgbImage) -> StoredImage {
        let d = self.describer.reference(img);
        StoredImage {
            path,
            width: d.width,
            height: d.height,
            hashes: d.hashes,
            embedding: d.embedding,
            features: crate::index::localfeatures::encode(&d.features),
            grid: d.grid,
            file_sha256: None,
        }
    }

    /// Commits photos as sightings, each described by
    /// [`Engine::describe_reference`] (the same photo and context again
    /// replaces its sighting). Searches of the sightings see them after
    /// [`Engine::refresh_sightings`].
    pub fn keep_sightings(&self, kept: Vec<(Sighting, StoredImage)>) -> Result<(), EngineError> {
        self.keep_sightings_after(kept, || Ok(()))
    }

    /// [`Self::keep_sightings`], running `first` under the sightings' write
    /// lock before anything is committed.
    fn keep_sightings_after(
        &self,
        kept: Vec<(Sighting, StoredImage)>,
        first: impl FnOnce() -> Result<(), EngineError>,
    ) -> Result<(), EngineError> {
        if kept.is_empty() {
            return Ok(());
        }
        let s = self.sightings(true)?.expect("created on demand");
        let batch: Vec<(Record, Vec<StoredImage>)> = kept
            .into_iter()
            .map(|(sighting, image)| (sighting.to_record(), vec![image]))
            .collect();
        let _lock = s.lock_writes()?;
        first()?;
        s.upsert(&batch)?;
        // The text now, under the lock: another process keeping a photo
        // meanwhile must find the text index level with the store and
        // tantivy's writer free. The image index follows at
        // `refresh_sightings`.
        let seq = s.store().seq()?;
        s.commit_text(seq)?;
        Ok(())
    }

    /// Keeps one uploaded photo as a sighting, its bytes written to
    /// `sighting.photo`, and makes it searchable at once (a search through
    /// the API with `keep`). The file is written under the sightings' lock,
    /// which a deletion holds while it decides whether the file is still
    /// used: a photo kept again while its other sighting is deleted stays.
    pub fn keep_upload(
        &self,
        sighting: Sighting,
        img: RgbImage,
        photo: &[u8],
    ) -> Result<(), EngineError> {
        let path = std::path::PathBuf::from(&sighting.photo);
        let image = self.describe_reference(sighting.photo.clone(), img);
        self.keep_sightings_after(vec![(sighting, image)], || {
            crate::paths::write_atomic(&path, photo).map_err(|source| EngineError::Io {
                path: path.clone(),
                source,
            })
        })?;
        self.refresh_sightings()
    }

    /// Where the sightings index keeps uploaded photos.
    pub fn sightings_uploads(&self) -> std::path::PathBuf {
        crate::paths::IndexPaths::new(&self.paths.sightings()).uploads()
    }

    /// Brings the sightings' image index up to date with what was kept.
    pub fn refresh_sightings(&self) -> Result<(), EngineError> {
        if let Some(s) = self.sightings(false)? {
            let _lock = s.lock_writes()?;
            s.refresh()?;
        }
        Ok(())
    }

    /// Every kept sighting, newest first.
    pub fn list_sightings(&self) -> Result<Vec<Sighting>, EngineError> {
        let Some(s) = self.sightings(false)? else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        s.store()
            .for_each_record(|r| out.push(Sighting::from_record(&r)))?;
        out.sort_by(|a, b| b.kept.cmp(&a.kept).then_with(|| a.id.cmp(&b.id)));
        Ok(out)
    }

    pub fn sighting(&self, id: &str) -> Result<Option<Sighting>, EngineError> {
        let Some(s) = self.sightings(false)? else {
            return Ok(None);
        };
        Ok(s.record(id)?.map(|r| Sighting::from_record(&r)))
    }

    /// Deletes a sighting, its alerts, and its photo if the sightings
    /// index kept the photo itself (an upload); false if there was none.
    pub fn delete_sighting(&self, id: &str) -> Result<bool, EngineError> {
        let Some(s) = self.sightings(false)? else {
            return Ok(false);
        };
        let Some(sighting) = self.sighting(id)? else {
            return Ok(false);
        };
        // Its alerts first: a crash between the two leaves a sighting
        // without alerts, never an alert (still delivered) for a sighting
        // that is gone.
        self.store_to_write()?.delete_alerts_of(id)?;
        // Held until the photo is removed or kept: a keep of the same
        // upload writes its file under this lock (`keep_upload`).
        let _lock = s.lock_writes()?;
        s.delete(id)?;
        let photo = Path::new(&sighting.photo);
        let ours = photo.starts_with(s.paths.uploads());
        let shared = s
            .store()
            .all_image_paths()?
            .iter()
            .any(|p| p == &sighting.photo);
        if ours && !shared {
            let _ = std::fs::remove_file(photo);
        }
        Ok(true)
    }

    /// The alerts `filter` keeps, newest first.
    pub fn alerts(&self, filter: &AlertFilter) -> Result<Vec<Alert>, EngineError> {
        Ok(self.reader()?.alerts(filter)?)
    }

    /// Up to `limit` alerts after id `after`, oldest first.
    pub fn alerts_after(&self, after: i64, limit: usize) -> Result<(i64, Vec<Alert>), EngineError> {
        Ok(self.reader()?.alerts_after(after, limit)?)
    }

    pub fn last_alert_id(&self) -> Result<i64, EngineError> {
        Ok(self.reader()?.last_alert_id()?)
    }

    pub fn alert_count(&self) -> Result<u64, EngineError> {
        Ok(self.reader()?.alert_count()?)
    }

    /// After photos are kept: the latest database, then
    /// [`Self::check_sightings`], so that a photo searched before a record
    /// was added, and kept after that record's check, still alerts.
    pub fn check_kept(&self) -> Result<SightingCheck, EngineError> {
        self.reload()?;
        self.check_sightings()
    }

    /// Checks every image added since the last check against the kept
    /// sightings, and returns the alerts raised. Called by every writer
    /// after it commits images (import, `PUT`) and after photos are kept;
    /// the caller holds the write lock. A crash before the alerts are
    /// written leaves the watermarks where they were, so the next check
    /// repeats the work; a pair already alerted is never alerted again.
    ///
    /// A photo searched before a record was added but kept as a sighting
    /// only after that record's check (a long `batch --keep` beside an
    /// import) was in neither comparison: each sighting kept since the
    /// last check is also compared with the images added between its
    /// search and that check.
    pub fn check_sightings(&self) -> Result<SightingCheck, EngineError> {
        let generation = self.generation();
        let through = generation.last_slot();
        let from = self.store().alerts_checked_slot()?;
        let caught = self.store().alerts_sightings_slot()?;
        let mut check = SightingCheck::default();
        let sightings = match self.sightings(false)? {
            Some(s) if !s.generation().is_empty() => s,
            _ => {
                if through > from {
                    self.store_to_write()?.raise_alerts(&[], through, caught)?;
                }
                return Ok(check);
            }
        };
        let seen = sightings.generation();
        // Late sightings are caught up only by an engine that has every
        // image checked so far (another process may have checked more).
        let (late, seen_through) = match through >= from {
            true => (
                self.late_sightings(&sightings, &seen, caught, from)?,
                seen.last_slot(),
            ),
            false => (Vec::new(), caught),
        };
        if through <= from && late.is_empty() {
            if seen_through > caught {
                self.store_to_write()?
                    .raise_alerts(&[], from, seen_through)?;
            }
            return Ok(check);
        }
        let new: Vec<(i64, String)> = self
            .store()
            .image_slots_after(from)?
            .into_iter()
            .filter(|(slot, _)| *slot <= through)
            .collect();
        // Leads: (sighting position → the new records it may show).
        let started = std::time::Instant::now();
        let found: Vec<(u32, i64, String)> = new
            .par_iter()
            .map(|(slot, record)| {
                let Some(pos) = generation.position_of_slot(*slot) else {
                    return Ok(Vec::new());
                };
                let features = generation.features(pos)?;
                let reference = retro::Reference {
                    features: features.as_ref(),
                    hashes: generation.hashes(pos),
                    vector: generation.vector(pos),
                };
                Ok(retro::leads(&seen, &reference)?
                    .into_iter()
                    .map(|l| (l.pos, *slot, record.clone()))
                    .collect::<Vec<_>>())
            })
            .collect::<Result<Vec<_>, EngineError>>()?
            .into_iter()
            .flatten()
            .collect();
        check.images = new.len();
        check.sightings = seen.len();
        let mut by_sighting: BTreeMap<u32, BTreeSet<(String, i64)>> = BTreeMap::new();
        for (pos, slot, record) in found {
            by_sighting.entry(pos).or_default().insert((record, slot));
        }
        // A late sighting may show any record with an image added between
        // its search and the last check: its photo is searched again.
        if let Some(oldest) = late.iter().map(|l| l.1).min() {
            let added = self.store().image_slots_after(oldest)?;
            for (pos, searched) in &late {
                let missed = added.iter().filter(|(s, _)| *s > *searched && *s <= from);
                let leads = by_sighting.entry(*pos).or_default();
                leads.extend(missed.map(|(s, record)| (record.clone(), *s)));
            }
        }
        by_sighting.retain(|_, records| !records.is_empty());
        check.lookup_seconds = started.elapsed().as_secs_f64();
        check.leads = by_sighting.len();
        let started = std::time::Instant::now();
        let raised = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
        // Each lead's search is parallel inside, but not all through (the
        // decode, the description's first steps): two at a time fill the cores.
        let alerts: Vec<Alert> = by_sighting
            .into_par_iter()
            .map(|(pos, records)| {
                let Some(image) = sightings.store().image(seen.slot(pos))? else {
                    return Ok(Vec::new()); // deleted since
                };
                let Some(record) = sightings.record(&image.record_id)? else {
                    return Ok(Vec::new());
                };
                let sighting = Sighting::from_record(&record);
                self.confirm(&sighting, &seen, pos, &records, &generation, &raised)
            })
            .collect::<Result<Vec<Vec<Alert>>, EngineError>>()?
            .into_iter()
            .flatten()
            .collect();
        check.search_seconds = started.elapsed().as_secs_f64();
        check.alerts = self
            .store()
            .raise_alerts(&alerts, through.max(from), seen_through)?;
        Ok(check)
    }

    /// Sightings indexed after slot `caught` whose search compared them
    /// with fewer images than were checked by then (`from`): their
    /// positions, and the last image slot their search saw.
    fn late_sightings(
        &self,
        sightings: &Engine,
        seen: &crate::index::generation::Generation,
        caught: i64,
        from: i64,
    ) -> Result<Vec<(u32, i64)>, EngineError> {
        let mut late = Vec::new();
        for pos in (0..seen.len() as u32).filter(|&p| seen.slot(p) > caught) {
            let Some(image) = sightings.store().image(seen.slot(pos))? else {
                continue;
            };
            let Some(record) = sightings.record(&image.record_id)? else {
                continue;
            };
            match Sighting::from_record(&record).searched_through {
                Some(searched) if searched < from => late.push((pos, searched)),
                _ => {}
            }
        }
        Ok(late)
    }

    /// The alerts one sighting raises for the new records it may show: its
    /// photo searched again, or, if the photo cannot be read any more, its
    /// kept features verified against each record's (at most `possible`).
    fn confirm(
        &self,
        sighting: &Sighting,
        seen: &crate::index::generation::Generation,
        pos: u32,
        records: &BTreeSet<(String, i64)>,
        generation: &crate::index::generation::Generation,
        raised: &str,
    ) -> Result<Vec<Alert>, EngineError> {
        let alert = |record: &str, score: f32, verdict: Verdict, evidence, checked: &str| Alert {
            id: 0,
            record: record.to_string(),
            sighting: sighting.clone(),
            score,
            verdict: verdict.as_str().to_string(),
            evidence: Some(serde_json::to_value(evidence).expect("evidence serialises")),
            checked: checked.to_string(),
            raised: raised.to_string(),
        };
        let opts = SearchOptions {
            top: RECHECK_TOP,
            ..SearchOptions::default()
        };
        match self.search_path(Path::new(&sighting.photo), &opts) {
            Ok(resp) => Ok(resp
                .matches
                .iter()
                .filter(|m| m.verdict != Verdict::None)
                .filter(|m| records.iter().any(|(id, _)| *id == m.id))
                .map(|m| alert(&m.id, m.score, m.verdict, m.evidence, "photo"))
                .collect()),
            // Anything but an unreadable photo is this server's trouble:
            // the check stops, the mark stays, and the next one retries.
            Err(e @ (EngineError::Io { .. } | EngineError::Decode(_))) => {
                tracing::warn!(sighting = %sighting.id, "photo no longer readable ({e}): judged from its kept features");
                let kept = seen.features(pos)?;
                let mut out = Vec::new();
                for (id, slot) in records {
                    let Some(blob) = generation.features_blob_of_slot(*slot) else {
                        continue;
                    };
                    let Some(reference) = crate::index::localfeatures::decode(&blob) else {
                        continue;
                    };
                    let Some(e) = retro::descriptor_evidence(&kept.as_ref(), &reference) else {
                        continue;
                    };
                    let score = scoring::score(&e).min(scoring::MATCH_THRESHOLD - 0.01);
                    if score >= scoring::POSSIBLE_THRESHOLD {
                        out.push(alert(id, score, Verdict::Possible, Some(e), "descriptors"));
                    }
                }
                Ok(out)
            }
            Err(e) => Err(e),
        }
    }
}
