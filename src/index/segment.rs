//! A segment: the image tables of one batch of reference images (slots,
//! hashes, vectors, HNSW graph, local features, visual-word postings),
//! written once and memory-mapped.
//!
//! A generation is a base segment plus the delta segments of the imports
//! since it was built: an import writes only the tables of the images it
//! added, so it costs what it adds, not what the database holds. Deltas
//! share the base's vocabulary and word weights (idf), which keeps their
//! bag-of-words scores comparable with the base's.

use crate::describe::hash::ImageHashes;
use crate::index::arrayfile::{self, MappedArray};
use crate::index::error::GenerationError;
use crate::index::inverted::{self, Consistency, InvertedIndex};
use crate::index::localfeatures::{FeatureTable, OwnedFeatures};
use crate::index::occurrence::{Occurrence, offset_step};
use crate::index::postings::OccurrenceFile;
use crate::index::vectors::{self, Neighbour, VectorIndex};
use crate::index::vocabulary::Vocabulary;
use crate::paths::GenerationPaths;
use crate::store::ImageRow;
use std::path::Path;

pub(crate) const SLOTS_MAGIC: [u8; 8] = *b"PVSLOTS1";
const HASHES_MAGIC: [u8; 8] = *b"PVHASH02";
/// Per image: phash, dhash (u64 each), width, height (u32 each).
const HASH_ENTRY: usize = 24;

/// Whose word weights a segment's postings carry.
pub enum Weights<'a> {
    /// Its own document frequencies (the base segment).
    Own,
    /// The base's (a delta).
    Base(&'a [f32]),
}

/// Writes the word postings of the segment whose other tables
/// [`write_global`] wrote into `dir`.
pub fn write_words(
    dir: &Path,
    vocabulary: &Vocabulary,
    weights: Weights<'_>,
) -> Result<(), GenerationError> {
    let p = GenerationPaths(dir);
    let table = FeatureTable::open(&p.features_index(), &p.features())?;
    // Spilled as they are quantised: held in memory, the words of 251,111
    // images took gigabytes (crate::index::postings).
    let words = OccurrenceFile::write(&p.word_occurrences(), table.len(), |pos| {
        let f = table.get(pos as u32);
        f.descriptors()
            .zip(f.shapes())
            .zip(f.points())
            .map(|((d, (angle, level)), [x, y])| Occurrence {
                word: vocabulary.quantize(&d),
                angle,
                level,
                dx: offset_step(x, f.width),
                dy: offset_step(y, f.height),
            })
            .collect()
    })?;
    let idf = match weights {
        Weights::Own => None,
        Weights::Base(idf) => Some(idf),
    };
    inverted::write(
        &p.word_offsets(),
        &p.word_postings(),
        &p.word_idf(),
        vocabulary.words(),
        &words,
        idf,
    )?;
    Ok(())
}

/// Writes every table of `rows` into `dir` (which must be new) but the
/// word postings: a base's vocabulary is learned from these features.
/// `features_of(i)` gives row i's local features (the store's blob form),
/// asked for in order.
pub fn write_global(
    dir: &Path,
    dim: usize,
    rows: &[ImageRow],
    features_of: impl FnMut(usize) -> Option<Vec<u8>>,
) -> Result<(), GenerationError> {
    std::fs::create_dir_all(dir).map_err(|source| GenerationError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let p = GenerationPaths(dir);
    let slots: Vec<u8> = rows.iter().flat_map(|r| r.slot.to_le_bytes()).collect();
    let hashes: Vec<u8> = rows
        .iter()
        .flat_map(|r| {
            let mut e = [0u8; HASH_ENTRY];
            e[0..8].copy_from_slice(&r.hashes.phash.to_le_bytes());
            e[8..16].copy_from_slice(&r.hashes.dhash.to_le_bytes());
            e[16..20].copy_from_slice(&r.width.to_le_bytes());
            e[20..24].copy_from_slice(&r.height.to_le_bytes());
            e
        })
        .collect();
    let mut flat = Vec::with_capacity(rows.len() * dim);
    for r in rows {
        assert_eq!(
            r.embedding.len(),
            dim,
            "embedding width differs from the manifest"
        );
        flat.extend_from_slice(&r.embedding);
    }
    arrayfile::write(&p.slots(), SLOTS_MAGIC, 8, &slots)?;
    arrayfile::write(&p.hashes(), HASHES_MAGIC, HASH_ENTRY as u32, &hashes)?;
    // The graph is built on one thread, so that the same images always
    // give the same graph (and every search the same answer); the local
    // features, read from the store, are written meanwhile.
    std::thread::scope(|scope| {
        let graph = scope.spawn(|| vectors::write(dir, &flat, dim));
        let features = crate::index::localfeatures::write_table(
            &p.features_index(),
            &p.features(),
            rows.len(),
            features_of,
        );
        let graph = graph
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e));
        features?;
        graph?;
        Ok(())
    })
}

pub struct Segment {
    slots: MappedArray,
    hashes: MappedArray,
    vectors: VectorIndex,
    features: FeatureTable,
    words: InvertedIndex,
}

impl Segment {
    /// Opens the segment in `dir`, which must hold `n` images of `dim`
    /// floats and postings over `words` words.
    pub fn open(dir: &Path, n: usize, dim: u32, words: usize) -> Result<Segment, GenerationError> {
        let p = GenerationPaths(dir);
        let slots = MappedArray::open(&p.slots(), SLOTS_MAGIC, 8)?;
        let hashes = MappedArray::open(&p.hashes(), HASHES_MAGIC, HASH_ENTRY as u32)?;
        for (a, path) in [(&slots, p.slots()), (&hashes, p.hashes())] {
            if a.len() != n {
                return Err(GenerationError::Manifest {
                    path,
                    message: format!("holds {} entries, the manifest lists {n}", a.len()),
                });
            }
        }
        // What turns into a verdict without further checks (which image a
        // position is, its hashes) is verified before the first search.
        slots.verify()?;
        hashes.verify()?;
        let vectors = VectorIndex::open(dir, n, dim as usize)?;
        let features = FeatureTable::open(&p.features_index(), &p.features())?;
        let postings =
            InvertedIndex::open(&p.word_offsets(), &p.word_postings(), &p.word_idf(), n)?;
        if features.len() != n || postings.words() != words {
            return Err(GenerationError::Manifest {
                path: p.features_index(),
                message: "local feature tables disagree with the manifest".into(),
            });
        }
        Ok(Segment {
            slots,
            hashes,
            vectors,
            features,
            words: postings,
        })
    }

    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn slot(&self, pos: u32) -> i64 {
        i64::from_le_bytes(self.slots.get(pos as usize).try_into().unwrap())
    }

    /// The last (highest) store slot, 0 when empty: slots grow with every
    /// image added, so the next delta holds the images above it.
    pub fn last_slot(&self) -> i64 {
        self.len()
            .checked_sub(1)
            .map_or(0, |last| self.slot(last as u32))
    }

    /// The position of store slot `slot`, if this segment holds it
    /// (slots are stored in increasing order).
    pub fn position_of(&self, slot: i64) -> Option<u32> {
        position_in(&self.slots, slot)
    }

    pub fn hashes(&self, pos: u32) -> ImageHashes {
        let b = self.hashes.get(pos as usize);
        ImageHashes {
            phash: u64::from_le_bytes(b[0..8].try_into().unwrap()),
            dhash: u64::from_le_bytes(b[8..16].try_into().unwrap()),
        }
    }

    pub fn shape(&self, pos: u32) -> (u32, u32) {
        let b = self.hashes.get(pos as usize);
        (
            u32::from_le_bytes(b[16..20].try_into().unwrap()),
            u32::from_le_bytes(b[20..24].try_into().unwrap()),
        )
    }

    pub fn vector(&self, pos: u32) -> Vec<f32> {
        self.vectors.vector(pos)
    }

    pub fn nearest(&self, query: &[f32], k: usize, ef: usize) -> Vec<Neighbour> {
        self.vectors.search(query, k, ef)
    }

    pub fn features(&self, pos: u32) -> Result<OwnedFeatures, GenerationError> {
        Ok(self.features.get_checked(pos)?)
    }

    pub fn word_candidates(
        &self,
        words: &[Occurrence],
        top: usize,
        check: Consistency,
    ) -> Result<Vec<(u32, f32)>, GenerationError> {
        Ok(self.words.search(words, top, check)?)
    }

    /// The word weights, for the deltas written on this base.
    pub fn idf(&self) -> Vec<f32> {
        self.words.idf()
    }

    /// Checks every table's checksum (reads every byte).
    pub fn verify(&self) -> Result<(), GenerationError> {
        self.slots.verify()?;
        self.hashes.verify()?;
        self.vectors.verify()?;
        self.features.verify()?;
        self.words.verify()?;
        Ok(())
    }
}
/// The position of store slot `slot` in a segment's slots table
/// (ascending), by binary search.
pub(crate) fn position_in(slots: &MappedArray, slot: i64) -> Option<u32> {
    let at = |i: usize| i64::from_le_bytes(slots.get(i).try_into().expect("8 bytes"));
    let (mut lo, mut hi) = (0usize, slots.len());
    while lo < hi {
        let mid = (lo + hi) / 2;
        match at(mid).cmp(&slot) {
            std::cmp::Ordering::Less => lo = mid + 1,
            std::cmp::Ordering::Greater => hi = mid,
            std::cmp::Ordering::Equal => return Some(mid as u32),
        }
    }
    None
}
