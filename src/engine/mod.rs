//! The engine: one index directory opened for searching and updating.
//!
//! [`Engine::search`] is the query path, one straight pipeline:
//! describe → candidates (`candidates.rs`: HNSW, visual words, geometric
//! verification) → evidence →
//! calibrated score → best image per record → filters → verdicts.
//! Writers commit to the record store first (the source of truth), then
//! bring the derived indexes up to date; readers keep an `Arc` to an
//! immutable generation, so a search never waits for a write.
//!
//! Owns: the order of every write (store, then text, then generation: the
//! [`builder`]) and the query path's glue. Must not touch: file formats,
//! argument parsing, HTTP, printing.

pub mod builder;
mod open;
mod readers;
mod remote;
mod reviews;
mod search;
mod sightings;

pub use sightings::SightingCheck;

pub use reviews::sha256_hex;

/// An upload younger than this may belong to a request that has stored it
/// and not yet committed its record: `compact` leaves it for next time.
const UPLOAD_GRACE: std::time::Duration = std::time::Duration::from_secs(3600);

use crate::describe::describer::{self, Describer};
use crate::describe::grid;
use crate::imaging::limits::{DecodeError, DecodeLimits};
use crate::index::error::GenerationError;
use crate::index::generation::Generation;
use crate::paths::IndexPaths;
use crate::records::record::Record;
pub use crate::search::response::{
    DatabaseState, Match, RecordSummary, SearchOptions, SearchResponse,
};
use crate::search::scoring::Verdict;
use crate::store::{Store, StoreError, StoredImage};
use crate::text::{TextError, TextFilter, TextIndex};
use builder::{build_generation, open_current, read_current, update_generation};
use rayon::prelude::*;
use readers::{Reader, Readers};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Generation(#[from] GenerationError),
    #[error(transparent)]
    Text(#[from] TextError),
    #[error(transparent)]
    Decode(#[from] DecodeError),
    #[error(
        "this index was built with the embedding {index:?}, not {configured:?}: open it with the same embedding options (e.g. --onnx-model), or import the records into a new index"
    )]
    Embedder { index: String, configured: String },
    #[error(
        "{current} names {names:?}, not a generation of this folder: a folder of snapshots is searched as --index FOLDER/snap-… (its CURRENT names the newest) or served with `serve --follow`"
    )]
    NotAnIndex { current: PathBuf, names: String },
    #[error(
        "{store} is missing, but {generation} was built from it: restore records.sqlite from the snapshot or backup it came with (the index is left as it is)"
    )]
    NoStore { store: PathBuf, generation: PathBuf },
    #[error(
        "{generation} was not built from {store} (the record store was replaced or restored on its own): restore the index folder from one snapshot, or run `provenance rebuild --index {root}` to index this store anew"
    )]
    ForeignGeneration {
        generation: PathBuf,
        store: PathBuf,
        root: PathBuf,
    },
    #[error(
        "another writer holds this index ({holder}); this change waited {waited} and was not made: send it again once that writer is done"
    )]
    Busy { holder: String, waited: String },
    #[error(
        "{store} was replaced or removed while this process had it open: nothing more is written to it; restart the server (or command) to use the store now there"
    )]
    StoreReplaced { store: PathBuf },
}

/// A record read from a file, against the stored one ([`Engine::compare_stored`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    /// The same fields and the same image files: nothing to write.
    Same,
    /// The same image files, other fields: written without describing them.
    FieldsOnly,
    /// New, or other image files: described and written whole.
    Changed,
}

/// What [`Engine::fill_missing_grids`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GridsFilled {
    /// Images given their grid (or its colours).
    pub filled: usize,
    /// Files that could not be read: those images keep what they had.
    pub unreadable: usize,
    /// Files that no longer hold the picture whose grey grid is kept:
    /// left as they are.
    pub changed: usize,
}

pub struct Engine {
    paths: IndexPaths,
    store: Mutex<Store>,
    /// Connections for the searches' reads (`readers.rs`).
    readers: Readers,
    text: TextIndex,
    generation: RwLock<Arc<Generation>>,
    describer: Describer,
    limits: DecodeLimits,
    /// The kept sightings' own index, opened on first use (`sightings.rs`).
    sightings: Mutex<Option<Arc<Engine>>>,
    /// The store sequence after this process's last text change not yet
    /// committed ([`Engine::text_in_sync`]).
    text_pending: Mutex<Option<i64>>,
}

impl Engine {
    /// Picks up what another process committed (a CLI import beside a
    /// running server): the generation `CURRENT` names, and the text
    /// index's last commit. Never writes. True when the generation changed.
    pub fn reload(&self) -> Result<bool, EngineError> {
        self.text.reload()?;
        let Some(id) = read_current(&self.paths) else {
            return Ok(false);
        };
        if id == self.generation().manifest.generation {
            return Ok(false);
        }
        let Some((_, next)) = open_current(&self.paths) else {
            return Ok(false);
        };
        let next = next?;
        if next.manifest.embedder != self.describer.embedder().id() && next.manifest.images > 0 {
            return Err(EngineError::Embedder {
                index: next.manifest.embedder.clone(),
                configured: self.describer.embedder().id().to_string(),
            });
        }
        *self.generation.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(next);
        Ok(true)
    }

    pub fn paths(&self) -> &IndexPaths {
        &self.paths
    }

    pub fn describer(&self) -> &Describer {
        &self.describer
    }

    pub fn limits(&self) -> &DecodeLimits {
        &self.limits
    }

    pub(crate) fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A connection for reads only, not shared with writes or with the
    /// other searches running.
    pub(crate) fn reader(&self) -> Result<Reader<'_>, EngineError> {
        Ok(self.readers.get()?)
    }

    /// The live generation; the caller's `Arc` stays valid across commits.
    pub fn generation(&self) -> Arc<Generation> {
        self.generation
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn database_state(&self) -> Result<DatabaseState, EngineError> {
        self.database_state_of(&self.generation())
    }

    /// The state as of generation `g` (the one a search read).
    pub fn database_state_of(&self, g: &Generation) -> Result<DatabaseState, EngineError> {
        // Read connections, not the writer's: a search never waits behind
        // a write that holds it.
        let (records, images) = self.reader()?.counts()?;
        Ok(DatabaseState {
            last_slot: g.last_slot(),
            records,
            images,
            generation: g.manifest.generation,
            store_seq: g.manifest.store_seq,
            updated: std::fs::metadata(crate::paths::GenerationPaths(&g.dir).manifest())
                .and_then(|m| m.modified())
                .ok()
                .map(|t| humantime::format_rfc3339_seconds(t).to_string()),
        })
    }

    /// Full-text search over record descriptions.
    pub fn search_text(
        &self,
        query: &str,
        filter: &TextFilter,
        top: usize,
    ) -> Result<SearchResponse, EngineError> {
        let hits = self.text.search(query, filter, top)?;
        let store = self.reader()?;
        let mut matches = Vec::with_capacity(hits.len());
        for h in hits {
            if let Some(record) = store.get(&h.id)? {
                matches.push(Match {
                    id: h.id,
                    score: h.score,
                    verdict: Verdict::None,
                    borderline: false,
                    cut_off: false,
                    object: None,
                    image: None,
                    image_index: None,
                    evidence: None,
                    words: None,
                    record: RecordSummary::from(&record),
                    review: None,
                    pairs: Vec::new(),
                });
            }
        }
        drop(store);
        Ok(SearchResponse {
            database: self.database_state()?,
            matches,
            words: None,
            stages: None,
        })
    }

    pub fn record(&self, id: &str) -> Result<Option<Record>, EngineError> {
        Ok(self.reader()?.get(id)?)
    }

    /// Where a record's images are stored (absolute paths), in order.
    pub fn image_paths(&self, id: &str) -> Result<Vec<String>, EngineError> {
        Ok(self.reader()?.image_paths(id)?)
    }

    /// Commits records with their described images to the store (the
    /// truth) and stages them in the text index. Searches see them after
    /// the next [`Engine::refresh`], which commits the derived indexes
    /// once for a whole import rather than once per batch.
    pub fn upsert(&self, batch: &[(Record, Vec<StoredImage>)]) -> Result<i64, EngineError> {
        Ok(self.upsert_keeping(batch, &[])?.0)
    }

    /// Replaces the fields of existing records and keeps their images (a
    /// status change, a correction): no image is described again and no
    /// image index is rebuilt, so it takes effect at the next
    /// [`Engine::refresh`] in milliseconds. `false` for unknown ids.
    pub fn update_records(&self, records: &[Record]) -> Result<Vec<bool>, EngineError> {
        self.text_in_sync()?;
        let done = self.store_to_write()?.update_records(records)?;
        for (r, ok) in records.iter().zip(&done) {
            if *ok {
                self.text.upsert(r)?;
            }
        }
        let seq = self.store().seq()?;
        self.staged_text(seq);
        self.refresh()?;
        Ok(done)
    }

    /// An import's batch in one store transaction: `batch` written with
    /// its images, and the fields of `fields`, whose image files did not
    /// change: the new sequence number, and which of `fields` existed.
    /// Refreshed by the caller.
    pub fn upsert_keeping(
        &self,
        batch: &[(Record, Vec<StoredImage>)],
        fields: &[Record],
    ) -> Result<(i64, Vec<bool>), EngineError> {
        self.text_in_sync()?;
        let (seq, done) =
            self.store()
                .upsert_keeping(batch, fields, self.describer.embedder().id())?;
        for (record, _) in batch {
            self.text.upsert(record)?;
        }
        for (r, ok) in fields.iter().zip(&done) {
            if *ok {
                self.text.upsert(r)?;
            }
        }
        self.staged_text(seq);
        Ok((seq, done))
    }

    /// How `record`, read from a file whose images are `files` (absolute
    /// path and SHA-256 of each, in order), compares with the stored one.
    pub fn compare_stored(
        &self,
        record: &Record,
        files: &[(String, String)],
    ) -> Result<Stored, EngineError> {
        let reader = self.reader()?;
        let Some(stored) = reader.get(&record.id)? else {
            return Ok(Stored::Changed);
        };
        let same_files = reader
            .image_files(&record.id, self.describer.embedder().id())?
            .iter()
            .map(|(p, s)| (p, s.as_ref()))
            .eq(files.iter().map(|(p, s)| (p, Some(s))));
        Ok(match (same_files, stored == *record) {
            (true, true) => Stored::Same,
            (true, false) => Stored::FieldsOnly,
            (false, _) => Stored::Changed,
        })
    }

    /// Rebuilds the image indexes without the entries of deleted or
    /// replaced images, and removes uploaded images no record uses any
    /// more. Returns (index entries dropped, upload files removed).
    pub fn compact(&self) -> Result<(u64, u64), EngineError> {
        let before = self.generation().manifest.images;
        let next = build_generation(
            &self.paths,
            &self.describer,
            self.generation().manifest.generation,
        )?;
        let after = next.manifest.images;
        *self.generation.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(next);
        let used: std::collections::HashSet<String> =
            self.store().all_image_paths()?.into_iter().collect();
        let young = |e: &std::fs::DirEntry| {
            e.metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| t.elapsed().is_ok_and(|age| age < UPLOAD_GRACE))
        };
        let mut removed = 0;
        if let Ok(entries) = std::fs::read_dir(self.paths.uploads()) {
            for e in entries.flatten() {
                let p = e.path();
                if p.is_file() && !young(&e) && !used.contains(&p.display().to_string()) {
                    std::fs::remove_file(&p).map_err(|source| EngineError::Io {
                        path: p.clone(),
                        source,
                    })?;
                    removed += 1;
                }
            }
        }
        // Files a crash left half written beside `CURRENT` or `text.seq`
        // (`paths::write_atomic`); old enough that no writer is at them.
        if let Ok(entries) = std::fs::read_dir(self.paths.root()) {
            for e in entries.flatten() {
                let p = e.path();
                let tmp = p
                    .file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.ends_with(crate::paths::TMP_SUFFIX));
                if tmp && p.is_file() && !young(&e) {
                    let _ = std::fs::remove_file(&p);
                }
            }
        }
        Ok((before.saturating_sub(after), removed))
    }

    /// Deletes a record everywhere; false if it did not exist.
    pub fn delete(&self, id: &str) -> Result<bool, EngineError> {
        Ok(self.delete_many(&[id.to_string()])?[0])
    }

    /// Deletes records, then brings the indexes up to date once. Searches
    /// stop returning them as soon as the store commits: every candidate
    /// is resolved through the store, where they no longer are.
    pub fn delete_many(&self, ids: &[String]) -> Result<Vec<bool>, EngineError> {
        self.text_in_sync()?;
        // One transaction: a failure or a crash part-way deletes none.
        let gone = self.store_to_write()?.delete_many(ids)?;
        if gone.iter().any(|g| *g) {
            for (id, _) in ids.iter().zip(&gone).filter(|(_, g)| **g) {
                self.text.delete(id)?;
            }
            let seq = self.store().seq()?;
            self.staged_text(seq);
            self.refresh()?;
        }
        Ok(gone)
    }

    /// Builds a new generation if the store has moved on, and switches
    /// searches to it.
    pub fn refresh(&self) -> Result<(), EngineError> {
        self.reload()?;
        let seq = self.store().seq()?;
        if self.text_seq() != seq {
            let pending = *self.text_pending.lock().unwrap_or_else(|p| p.into_inner());
            if pending == Some(seq) {
                self.commit_text(seq)?;
            } else {
                // Store changes this process never staged (a writer killed
                // between its two commits): the store heals the text.
                self.rebuild_text()?;
            }
            // And the counts must agree, whatever the sequences say.
            if self.text.num_docs() != self.store().counts()?.0 {
                self.rebuild_text()?;
            }
        }
        let current = self.generation();
        if current.manifest.store_seq >= self.store().images_seq()? {
            return Ok(());
        }
        let next = update_generation(&self.paths, &self.describer, &current)?;
        *self.generation.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(next);
        Ok(())
    }

    /// Gives every image imported before pixel grids (or their colours)
    /// were kept its grid, from its file. A grey grid is replaced only by
    /// one whose grey is the same bytes: a file changed since its import
    /// would give another picture's grid. The store's lock is held only
    /// to write each batch.
    pub fn fill_missing_grids(&self) -> Result<GridsFilled, EngineError> {
        let missing = self.store().images_without_grid()?;
        let mut done = GridsFilled::default();
        for batch in missing.chunks(256) {
            let made: Vec<(i64, Option<Vec<u8>>, bool)> = batch
                .par_iter()
                .map(|(slot, path, kept)| {
                    let grid = crate::imaging::decode::decode_path(Path::new(path), &self.limits)
                        .ok()
                        .map(|img| describer::reference_grid(&img));
                    let changed = kept.as_ref().is_some_and(|kept| {
                        grid.as_ref()
                            .is_some_and(|g| grid::grey(g).as_ref() != Some(kept))
                    });
                    (*slot, grid, changed)
                })
                .collect();
            let mut grids = Vec::new();
            for (slot, grid, changed) in made {
                match (grid, changed) {
                    (None, _) => done.unreadable += 1,
                    (Some(_), true) => done.changed += 1,
                    (Some(g), false) => grids.push((slot, g)),
                }
            }
            self.store_to_write()?.set_grids(&grids)?;
            done.filled += grids.len();
        }
        Ok(done)
    }

    /// Regenerates every derived index from the record store.
    pub fn rebuild(&self) -> Result<(), EngineError> {
        let next = build_generation(
            &self.paths,
            &self.describer,
            self.generation().manifest.generation,
        )?;
        *self.generation.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(next);
        self.rebuild_text()
    }

    pub fn rebuild_text(&self) -> Result<(), EngineError> {
        let store = Store::open(&self.paths.store())?;
        let seq = store.seq()?;
        let mut result = self.text.clear();
        let read = store.for_each_record(|r| {
            if result.is_ok() {
                result = self.text.upsert(&r);
            }
        });
        if let Err(e) = read
            .map_err(EngineError::from)
            .and(result.map_err(EngineError::from))
        {
            // The index as it was, not half cleared at the next commit.
            self.text.discard()?;
            return Err(e);
        }
        self.commit_text(seq)
    }

    fn text_seq(&self) -> i64 {
        std::fs::read_to_string(self.paths.text_seq())
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(-1)
    }

    /// Before a write (the caller holds the write lock): the text index
    /// must reflect every store change but this process's own staged ones,
    /// or this process's commit would claim changes it never indexed. A
    /// writer killed between its store commit and its text commit, after
    /// this process opened the index, leaves such a gap: the text index is
    /// rebuilt from the store first.
    fn text_in_sync(&self) -> Result<(), EngineError> {
        let pending = *self.text_pending.lock().unwrap_or_else(|p| p.into_inner());
        let seq = self.store().seq()?;
        let in_sync = match pending {
            Some(ours) => ours == seq,
            None => self.text_seq() == seq,
        };
        if !in_sync {
            tracing::warn!(
                "the text index lags the record store (a writer stopped between the two): rebuilding it"
            );
            self.rebuild_text()?;
        }
        Ok(())
    }

    fn staged_text(&self, seq: i64) {
        *self.text_pending.lock().unwrap_or_else(|p| p.into_inner()) = Some(seq);
    }

    fn commit_text(&self, seq: i64) -> Result<(), EngineError> {
        let committed = self.text.commit();
        // Committed or dropped: either way nothing is staged any more, and
        // a failure leaves the text sequence behind for the next writer.
        *self.text_pending.lock().unwrap_or_else(|p| p.into_inner()) = None;
        committed?;
        crate::paths::write_atomic(&self.paths.text_seq(), seq.to_string().as_bytes()).map_err(
            |source| EngineError::Io {
                path: self.paths.text_seq(),
                source,
            },
        )
    }
}

/// `sculpture` matches `sculpture` and `sculpture/bust`.
fn type_matches(record_type: &str, wanted: Option<&str>) -> bool {
    match wanted.map(|w| w.trim().to_ascii_lowercase()) {
        None => true,
        Some(w) if w.is_empty() => true,
        Some(w) => {
            record_type == w
                || record_type
                    .strip_prefix(&w)
                    .is_some_and(|rest| rest.starts_with('/'))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::type_matches;

    #[test]
    fn two_level_types() {
        assert!(type_matches("sculpture/bust", Some("sculpture")));
        assert!(type_matches("sculpture/bust", Some("Sculpture/Bust")));
        assert!(!type_matches("sculptures", Some("sculpture")));
        assert!(type_matches("coin", None));
    }
}
