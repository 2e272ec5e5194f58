//! Building generations from the record store: a whole new base, or a
//! delta segment with the images added since the current generation.
//!
//! Local features are kept once: the store holds an image's features
//! until a committed generation holds them, then releases them (they are
//! most of an image's bytes). Builds take them from the store, or from the
//! generation on disk, or, where that is lost or damaged, from the image
//! file itself, so `rebuild` still regenerates every derived index.

use super::sha256_hex;
use crate::describe::describer::Describer;
use crate::describe::hash::HASH_VERSION;
use crate::engine::EngineError;
use crate::imaging::decode::{decode_bytes, read_limited};
use crate::imaging::limits::DecodeError;
use crate::imaging::limits::DecodeLimits;
use crate::index::error::GenerationError;
use crate::index::generation::{Generation, MANIFEST_VERSION, MAX_DELTAS, Manifest};
use crate::index::generation_features::GenerationFeatures;
use crate::paths::{IndexPaths, parse_generation_name};
use crate::store::{FeatureSource, ImageRow, Store, StoreError};
use rayon::prelude::*;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Finds each row's local features while a segment is written, one image
/// at a time, so that no build holds every image's features in memory.
struct Features<'a> {
    store: &'a Store,
    source: Option<GenerationFeatures>,
    describer: &'a Describer,
    /// Extracted again from the image file: released, and not in the
    /// source generation.
    recovered: HashMap<i64, Vec<u8>>,
    /// The first store error met while writing: the build then fails
    /// rather than commit a generation missing features.
    error: Option<StoreError>,
}

impl<'a> Features<'a> {
    /// Recovers, in parallel, the features the store released and
    /// `source` does not hold (all of them when the index was lost).
    fn new(
        store: &'a Store,
        source: Option<GenerationFeatures>,
        describer: &'a Describer,
        rows: &[ImageRow],
    ) -> Features<'a> {
        let lost: Vec<&ImageRow> = rows
            .par_iter()
            .filter(|r| r.features == FeatureSource::Released)
            .filter(|r| source.as_ref().is_none_or(|g| !g.holds_slot(r.slot)))
            .collect();
        if !lost.is_empty() {
            eprintln!(
                "{} images' local features are not in the index: extracting them again from the image files",
                lost.len()
            );
        }
        // What each file held when imported: read on this thread, the
        // store's connection being one thread's.
        let lost: Vec<(&ImageRow, Option<String>)> = lost
            .into_iter()
            .map(|r| (r, store.file_sha256(r.slot).ok().flatten()))
            .collect();
        let recovered = lost
            .into_par_iter()
            .map(|(r, sha)| (r.slot, extract(describer, r, sha.as_deref())))
            .collect::<Vec<_>>()
            // The store's connection is one thread's: forgotten in turn.
            .into_iter()
            .map(|(slot, features)| (slot, kept_or_forgotten(store, slot, features)))
            .collect();
        Features {
            store,
            source,
            describer,
            recovered,
            error: None,
        }
    }

    /// Fails if any feature could not be read from the store.
    fn finish(self) -> Result<(), EngineError> {
        match self.error {
            Some(e) => Err(e.into()),
            None => Ok(()),
        }
    }

    fn of(&mut self, row: &ImageRow) -> Option<Vec<u8>> {
        match row.features {
            FeatureSource::Store => match self.store.features_of(row.slot) {
                Ok(blob) => blob,
                Err(e) => {
                    self.error.get_or_insert(e);
                    None
                }
            },
            // Held but failing its checksum (damage): read the image too.
            FeatureSource::Released => self
                .recovered
                .remove(&row.slot)
                .or_else(|| self.source.as_ref()?.features_blob_of_slot(row.slot))
                .or_else(|| {
                    let sha = self.store.file_sha256(row.slot).ok().flatten();
                    let features = extract(self.describer, row, sha.as_deref());
                    Some(kept_or_forgotten(self.store, row.slot, features))
                }),
            FeatureSource::Unusable => None,
        }
    }
}

/// An image's local features, extracted again from its file (None, and
/// said, when the file cannot be read any more, or holds other bytes than
/// the import described: features of another picture beside this one's
/// hashes and embedding would make a record match photos of that one).
fn extract(
    describer: &Describer,
    row: &ImageRow,
    imported_sha256: Option<&str>,
) -> Option<Vec<u8>> {
    let limits = DecodeLimits::default();
    let decoded = read_limited(Path::new(&row.path), &limits).and_then(|bytes| {
        if let Some(sha) = imported_sha256
            && sha256_hex(&bytes) != sha
        {
            return Err(DecodeError::Io {
                name: row.path.clone(),
                source: std::io::Error::other(
                    "the file changed since it was imported (its SHA-256 differs)",
                ),
            });
        }
        decode_bytes(&bytes, &row.path, &limits)
    });
    match decoded {
        Ok(img) => Some(crate::index::localfeatures::encode(
            &describer.reference(img).features,
        )),
        Err(e) => {
            eprintln!(
                "{e}: the image is matched by its global descriptors only until it is imported again"
            );
            None
        }
    }
}

/// The features extracted again, or none, with the file's fingerprint
/// forgotten so that the next import describes the image again instead of
/// leaving it as it is (`crate::jobs::import`).
fn kept_or_forgotten(store: &Store, slot: i64, features: Option<Vec<u8>>) -> Vec<u8> {
    features.unwrap_or_else(|| {
        if let Err(e) = store.forget_file(slot) {
            eprintln!("{e}: image {slot} may be left as it is by the next import");
        }
        Vec::new()
    })
}

pub(crate) fn read_current(paths: &IndexPaths) -> Option<u64> {
    let name = std::fs::read_to_string(paths.current()).ok()?;
    parse_generation_name(name.trim())
}

/// The generation `CURRENT` names, if it is there.
pub(crate) fn named_generation(paths: &IndexPaths) -> Option<u64> {
    read_current(paths).filter(|id| paths.generation(*id).exists())
}

/// Points `CURRENT` at generation `id` (atomically: a reader sees the old
/// name or the new one).
pub(crate) fn point_current(paths: &IndexPaths, id: u64) -> Result<(), EngineError> {
    let name = crate::paths::generation_name(id);
    crate::paths::write_atomic(&paths.current(), name.as_bytes()).map_err(|source| {
        EngineError::Io {
            path: paths.current(),
            source,
        }
    })
}

/// The newest generation on disk that was finished (its manifest is
/// written last), whatever `CURRENT` says: what a lost or damaged
/// `CURRENT` pointed at, or a build a crash stopped just before the switch.
pub(crate) fn newest_finished(paths: &IndexPaths) -> Option<u64> {
    std::fs::read_dir(paths.root())
        .ok()?
        .flatten()
        .filter_map(|e| e.file_name().to_str().and_then(parse_generation_name))
        .filter(|id| Generation::read_manifest(&paths.generation(*id)).is_ok())
        .max()
}

/// Whether the generation of manifest `m` was built from this record store:
/// the same store (where the manifest names it) and no change the store
/// has not seen. A store replaced or restored on its own hands out again
/// the image slots the generation already uses, so each of its hits would
/// resolve to another record's image.
pub(crate) fn built_from(m: &Manifest, store: &Store) -> Result<bool, StoreError> {
    if let (Some(id), Some(ours)) = (m.store_id, store.store_id()?)
        && id != ours
    {
        return Ok(false);
    }
    Ok(m.store_seq <= store.seq()?)
}

/// The features a whole build may reuse: the generation `CURRENT` names,
/// or the newest finished one where `CURRENT` names none that is there,
/// if it was built from this store.
fn feature_source(paths: &IndexPaths, store: &Store) -> Option<GenerationFeatures> {
    let id = named_generation(paths).or_else(|| newest_finished(paths))?;
    let dir = paths.generation(id);
    let manifest = Generation::read_manifest(&dir).ok()?;
    if !built_from(&manifest, store).unwrap_or(false) {
        eprintln!(
            "{}: not built from this record store: its features are not reused",
            dir.display()
        );
        return None;
    }
    GenerationFeatures::open(&dir)
}

/// Removes a generation whose build failed (a full disk): nothing names
/// it, and it may hold most of the disk's free space.
fn discard_on_error<T, E>(dir: &Path, built: Result<T, E>) -> Result<T, E> {
    if built.is_err() {
        let _ = std::fs::remove_dir_all(dir);
    }
    built
}

/// Writes generation `previous + 1` with every image of the store in one
/// base segment, points `CURRENT` at it and removes the older ones.
pub(crate) fn build_generation(
    paths: &IndexPaths,
    describer: &Describer,
    previous: u64,
) -> Result<Generation, EngineError> {
    // A connection of its own: the build reads the whole table and must
    // not hold the engine's store lock meanwhile.
    let store = Store::open(&paths.store())?;
    let seq = store.seq()?;
    let embedder = describer.embedder();
    let rows = image_rows(&store, 0, embedder.dim())?;
    // The generation on disk holds the features the store released (it
    // may be damaged, or hold another features version: then the images
    // are read; another format version's features are fine).
    let source = feature_source(paths, &store);
    let mut features = Features::new(&store, source, describer, &rows);
    let (id, dir) = next_generation_dir(paths, previous)?;
    let manifest = Manifest {
        format_version: MANIFEST_VERSION,
        generation: id,
        store_seq: seq,
        store_id: store.store_id()?,
        images: rows.len() as u64,
        dim: embedder.dim() as u32,
        embedder: embedder.id().to_string(),
        hash_version: HASH_VERSION,
        features_version: 0,
        words: 0,
        base_images: 0,
        deltas: Vec::new(),
    };
    let written = Generation::write(&dir, &manifest, &rows, |i| features.of(&rows[i]));
    discard_on_error(&dir, written)?;
    discard_on_error(&dir, features.finish())?;
    commit_generation(paths, id, &dir, &store, describer)
}

/// Brings `current` up to the store: a new delta segment with the images
/// added since it was built, or, when the deltas would be too many or
/// hold more than half as many images as the base, a whole new build
/// (which also drops deleted images and relearns the vocabulary).
///
/// Deltas cost only what they add, so a day's imports into a large
/// database take seconds; the rebuilds they defer double the base each
/// time at most, so their cost per image stays bounded.
pub(crate) fn update_generation(
    paths: &IndexPaths,
    describer: &Describer,
    current: &Generation,
) -> Result<Generation, EngineError> {
    let store = Store::open(&paths.store())?;
    let seq = store.seq()?;
    let dim = describer.embedder().dim();
    let base = current.base_len();
    let added = image_rows(&store, current.last_slot(), dim)?;
    let deltas = current.manifest.deltas.len();
    // Too many deltas: fold them into one (cheap while they are small).
    let (keep, rows) = if deltas < MAX_DELTAS {
        (deltas, added)
    } else {
        (0, image_rows(&store, current.base_last_slot(), dim)?)
    };
    let delta_images: usize = current.manifest.deltas[..keep]
        .iter()
        .map(|d| d.images as usize)
        .sum::<usize>()
        + rows.len();
    if base == 0
        || delta_images * 2 > base
        || current.manifest.embedder != describer.embedder().id()
    {
        drop(rows);
        return build_generation(paths, describer, current.manifest.generation);
    }
    let mut features = Features::new(
        &store,
        GenerationFeatures::open(&current.dir),
        describer,
        &rows,
    );
    let (id, dir) = next_generation_dir(paths, current.manifest.generation)?;
    let written = current.extend(&dir, id, seq, keep, &rows, |i| features.of(&rows[i]));
    discard_on_error(&dir, written)?;
    discard_on_error(&dir, features.finish())?;
    commit_generation(paths, id, &dir, &store, describer)
}

/// The live images above `after` (a store slot) that the embedder
/// described.
fn image_rows(store: &Store, after: i64, dim: usize) -> Result<Vec<ImageRow>, EngineError> {
    let mut rows = Vec::new();
    store.for_each_image_after(after, |r| rows.push(r))?;
    rows.retain(|r| r.embedding.len() == dim);
    Ok(rows)
}

/// The number and directory of the next generation, cleared of the
/// debris of a crashed build.
fn next_generation_dir(paths: &IndexPaths, previous: u64) -> Result<(u64, PathBuf), EngineError> {
    // Another process may have committed a later generation than the one
    // this engine has open: never reuse its number.
    let id = previous.max(read_current(paths).unwrap_or(0)) + 1;
    let dir = paths.generation(id);
    if dir.exists() {
        std::fs::remove_dir_all(&dir).map_err(|source| EngineError::Io {
            path: dir.clone(),
            source,
        })?;
    }
    Ok((id, dir))
}

/// Makes the generation written into `dir` durable, points `CURRENT` at
/// it, releases the store's copy of the features it now holds, and
/// removes generations older than the previous one.
fn commit_generation(
    paths: &IndexPaths,
    id: u64,
    dir: &Path,
    store: &Store,
    describer: &Describer,
) -> Result<Generation, EngineError> {
    crate::paths::sync_dir(dir).map_err(|source| EngineError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    point_current(paths, id)?;
    let generation = Generation::open(dir)?;
    // Only after the switch: until then the store's copy is the one a
    // crash would leave.
    store.release_features(generation.last_slot(), describer.embedder().id())?;
    remove_old_generations(paths.root(), id);
    Ok(generation)
}

/// Opens the generation `CURRENT` names (None: no generation yet). A
/// writer removes the previous generation as soon as `CURRENT` names the
/// next, so a reader that read the old name may find its files gone: it
/// then reads `CURRENT` again.
pub(crate) fn open_current(
    paths: &IndexPaths,
) -> Option<(u64, Result<Generation, GenerationError>)> {
    let mut id = read_current(paths)?;
    for _ in 0..8 {
        let opened = Generation::open(&paths.generation(id));
        match (&opened, read_current(paths)) {
            (Err(_), Some(now)) if now != id => id = now,
            _ => return Some((id, opened)),
        }
    }
    Some((id, Generation::open(&paths.generation(id))))
}

/// Removes every generation before `current`: readers that still map one
/// keep reading it (on Unix its files live on until unmapped and closed),
/// and one that is just opening it finds `CURRENT` moved and follows
/// ([`open_current`]). Keeping the previous generation would double the
/// disk after every full rebuild. Best effort: leftovers are retried at
/// the next build.
fn remove_old_generations(root: &Path, current: u64) {
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        if let Some(id) = name.to_str().and_then(parse_generation_name)
            && id < current
        {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}
