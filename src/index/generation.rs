//! A generation: one immutable, memory-mapped snapshot of the image indexes
//! (hashes, vectors, HNSW graph, local features, visual words), built from
//! the record store.
//!
//! Generations are never modified: a change to the store produces a new
//! directory, fsynced, then `CURRENT` is switched by an atomic rename.
//! Readers holding the old generation keep using it until they drop it;
//! a crash mid-build leaves an unreferenced directory that the next build
//! removes.
//!
//! A generation is a base segment (its tables at the top of the directory,
//! with the vocabulary learned from it) and up to [`MAX_DELTAS`] delta
//! segments (`delta-K/`) holding the images added since. An import writes
//! a new generation that hard-links every file of the previous one and
//! adds one delta: it costs what it adds. When the deltas grow past half
//! the base, everything is rebuilt into one base (see the engine).
//! Dense positions index the segments one after the other; `slots.bin`
//! maps a position back to the image's row in the store.

use crate::describe::hash::{HASH_VERSION, ImageHashes};
use crate::describe::orb::{Descriptor, FEATURES_VERSION, Features};
use crate::index::arrayfile::{self, MappedArray};
use crate::index::error::GenerationError;
use crate::index::inverted::Consistency;
use crate::index::localfeatures::{self, FeatureTable, OwnedFeatures};
use crate::index::occurrence::{Occurrence, offset_step};
use crate::index::segment::{self, Segment, Weights};
use crate::index::vectors::Neighbour;
use crate::index::vocabulary::Vocabulary;
use crate::paths::GenerationPaths;
use crate::store::ImageRow;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

const VOCABULARY_MAGIC: [u8; 8] = *b"PVVOCAB1";
/// 2: local features, vocabulary and inverted index.
/// 3: per-image feature checksums, small tables checked at open.
/// 4: delta segments.
/// 5: the HNSW graph in memory-mapped tables of our own.
/// 6: postings hold each feature's offset from its image's centre.
pub const MANIFEST_VERSION: u32 = 6;
/// Delta segments a generation holds at most: every search visits each.
pub const MAX_DELTAS: usize = 8;
/// Descriptors the vocabulary is learned from: 80 per image, at least 2M
/// (65k words of 30 descriptors each) and at most 8M (the widest tree,
/// 262k words), so that the cost of learning stays bounded however large
/// the database. More words buy a large database speed, not matches:
/// posting lists, which a query walks, grow with the images per word
/// (docs/decisions.md, "2026-11-29 — A vocabulary that grows with the
/// database").
const VOCABULARY_SAMPLE_PER_IMAGE: usize = 80;
const VOCABULARY_SAMPLE_MIN: usize = 2_000_000;
const VOCABULARY_SAMPLE_MAX: usize = 8_000_000;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    pub format_version: u32,
    pub generation: u64,
    /// The store sequence this generation reflects.
    pub store_seq: i64,
    /// The record store it was built from (`Store::store_id`): a store
    /// replaced or restored on its own must not be read through it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_id: Option<i64>,
    pub images: u64,
    pub dim: u32,
    pub embedder: String,
    pub hash_version: u32,
    #[serde(default)]
    pub features_version: u32,
    /// Size of the visual vocabulary.
    #[serde(default)]
    pub words: u32,
    /// Images in the base segment (`images` counts every segment).
    #[serde(default)]
    pub base_images: u64,
    /// The delta segments, oldest first.
    #[serde(default)]
    pub deltas: Vec<Delta>,
}

/// A delta segment as the manifest lists it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Delta {
    /// Its directory, relative to the generation.
    pub dir: String,
    pub images: u64,
    /// The store sequence it brought the generation to.
    pub store_seq: i64,
}

pub struct Generation {
    pub manifest: Manifest,
    pub dir: PathBuf,
    vocabulary: Vocabulary,
    /// The base, then the deltas.
    segments: Vec<Segment>,
    /// The first position of each segment.
    starts: Vec<u32>,
}

impl Generation {
    /// Writes a new generation with every image in one base segment into
    /// `dir` (which must not exist yet); returns the manifest with the
    /// vocabulary size filled in.
    pub fn write(
        dir: &Path,
        manifest: &Manifest,
        rows: &[ImageRow],
        features_of: impl FnMut(usize) -> Option<Vec<u8>>,
    ) -> Result<Manifest, GenerationError> {
        let io = |source| GenerationError::Io {
            path: dir.to_path_buf(),
            source,
        };
        let p = GenerationPaths(dir);
        segment::write_global(dir, manifest.dim as usize, rows, features_of)?;
        let table = FeatureTable::open(&p.features_index(), &p.features())?;
        let vocabulary = Vocabulary::train(&vocabulary_sample(&table));
        drop(table);
        arrayfile::write(&p.vocabulary(), VOCABULARY_MAGIC, 1, &vocabulary.to_bytes())?;
        segment::write_words(dir, &vocabulary, Weights::Own)?;
        let manifest = Manifest {
            words: vocabulary.words() as u32,
            features_version: FEATURES_VERSION,
            images: rows.len() as u64,
            base_images: rows.len() as u64,
            deltas: Vec::new(),
            ..manifest.clone()
        };
        let json = serde_json::to_vec_pretty(&manifest).expect("manifest serialises");
        crate::paths::write_atomic(&p.manifest(), &json).map_err(io)?;
        Ok(manifest)
    }

    /// Writes a new generation into `dir` (which must not exist yet) that
    /// shares this one's base and its first `keep` deltas (hard links: no
    /// copy) and adds `rows`, the images added since, as a new delta;
    /// `generation` and `store_seq` are the new generation's.
    pub fn extend(
        &self,
        dir: &Path,
        generation: u64,
        store_seq: i64,
        keep: usize,
        rows: &[ImageRow],
        features_of: impl FnMut(usize) -> Option<Vec<u8>>,
    ) -> Result<Manifest, GenerationError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| GenerationError::Io { path, source }
        };
        let kept = &self.manifest.deltas[..keep.min(self.manifest.deltas.len())];
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        // The base's files, then the kept deltas' directories.
        for e in std::fs::read_dir(&self.dir).map_err(io(&self.dir))? {
            let e = e.map_err(io(&self.dir))?;
            let name = e.file_name();
            let name = name.to_string_lossy();
            if name == "manifest.json" || name.ends_with(".tmp") || name.starts_with("delta-") {
                continue;
            }
            link_tree(&e.path(), &dir.join(&*name))?;
        }
        for d in kept {
            link_tree(&self.dir.join(&d.dir), &dir.join(&d.dir))?;
        }
        let name = format!("delta-{generation}");
        let delta_dir = dir.join(&name);
        segment::write_global(&delta_dir, self.manifest.dim as usize, rows, features_of)?;
        let idf = self.segments[0].idf();
        segment::write_words(&delta_dir, &self.vocabulary, Weights::Base(&idf))?;
        crate::paths::sync_dir(&delta_dir).map_err(io(&delta_dir))?;
        let mut deltas = kept.to_vec();
        deltas.push(Delta {
            dir: name,
            images: rows.len() as u64,
            store_seq,
        });
        let manifest = Manifest {
            generation,
            store_seq,
            images: self.manifest.base_images + deltas.iter().map(|d| d.images).sum::<u64>(),
            deltas,
            ..self.manifest.clone()
        };
        let json = serde_json::to_vec_pretty(&manifest).expect("manifest serialises");
        let mpath = GenerationPaths(dir).manifest();
        crate::paths::write_atomic(&mpath, &json).map_err(io(&mpath))?;
        Ok(manifest)
    }

    /// The manifest of the generation in `dir`, whatever its version.
    pub fn read_manifest(dir: &Path) -> Result<Manifest, GenerationError> {
        let mpath = GenerationPaths(dir).manifest();
        let bytes = std::fs::read(&mpath).map_err(|source| GenerationError::Io {
            path: mpath.clone(),
            source,
        })?;
        serde_json::from_slice(&bytes).map_err(|e| GenerationError::Manifest {
            path: mpath,
            message: e.to_string(),
        })
    }

    pub fn open(dir: &Path) -> Result<Generation, GenerationError> {
        let p = GenerationPaths(dir);
        let mpath = p.manifest();
        let manifest = Self::read_manifest(dir)?;
        if manifest.format_version != MANIFEST_VERSION
            || manifest.hash_version != HASH_VERSION
            || manifest.features_version != FEATURES_VERSION
        {
            return Err(GenerationError::Version {
                path: mpath,
                message: format!(
                    "format {} / hash version {} / features version {}, this build writes {MANIFEST_VERSION} / {HASH_VERSION} / {FEATURES_VERSION}",
                    manifest.format_version, manifest.hash_version, manifest.features_version
                ),
            });
        }
        let listed = manifest.base_images + manifest.deltas.iter().map(|d| d.images).sum::<u64>();
        if listed != manifest.images {
            return Err(GenerationError::Manifest {
                path: mpath,
                message: format!(
                    "its segments hold {listed} images, its total says {}",
                    manifest.images
                ),
            });
        }
        let vocab_file = MappedArray::open(&p.vocabulary(), VOCABULARY_MAGIC, 1)?;
        let vocabulary = Vocabulary::from_bytes(vocab_file.payload()).ok_or_else(|| {
            GenerationError::Manifest {
                path: p.vocabulary(),
                message: "not a vocabulary".into(),
            }
        })?;
        let words = vocabulary.words();
        let mut segments = vec![Segment::open(
            dir,
            manifest.base_images as usize,
            manifest.dim,
            words,
        )?];
        for d in &manifest.deltas {
            segments.push(Segment::open(
                &dir.join(&d.dir),
                d.images as usize,
                manifest.dim,
                words,
            )?);
        }
        let mut starts = Vec::with_capacity(segments.len());
        let mut next = 0u32;
        for s in &segments {
            starts.push(next);
            next += s.len() as u32;
        }
        Ok(Generation {
            manifest,
            dir: dir.to_path_buf(),
            vocabulary,
            segments,
            starts,
        })
    }

    pub fn len(&self) -> usize {
        self.manifest.images as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Images in the base segment.
    pub fn base_len(&self) -> usize {
        self.segments[0].len()
    }

    /// The highest store slot the generation holds: images added to the
    /// store later belong in the next delta.
    pub fn last_slot(&self) -> i64 {
        self.segments
            .iter()
            .map(Segment::last_slot)
            .max()
            .unwrap_or(0)
    }

    /// The highest store slot of the base segment.
    pub fn base_last_slot(&self) -> i64 {
        self.segments[0].last_slot()
    }

    /// The segment holding position `pos`, and the position within it.
    fn locate(&self, pos: u32) -> (&Segment, u32) {
        let i = self.starts.partition_point(|&s| s <= pos) - 1;
        (&self.segments[i], pos - self.starts[i])
    }

    /// The store slot of position `pos`.
    pub fn slot(&self, pos: u32) -> i64 {
        let (s, p) = self.locate(pos);
        s.slot(p)
    }

    pub fn hashes(&self, pos: u32) -> ImageHashes {
        let (s, p) = self.locate(pos);
        s.hashes(p)
    }

    /// Width and height of the reference image (upright, as imported).
    pub fn shape(&self, pos: u32) -> (u32, u32) {
        let (s, p) = self.locate(pos);
        s.shape(p)
    }

    pub fn vector(&self, pos: u32) -> Vec<f32> {
        let (s, p) = self.locate(pos);
        s.vector(p)
    }

    /// Approximate nearest neighbours of one query vector, over every
    /// segment.
    pub fn nearest(&self, query: &[f32], k: usize, ef: usize) -> Vec<Neighbour> {
        let mut all: Vec<Neighbour> = self
            .segments
            .iter()
            .zip(&self.starts)
            .flat_map(|(s, &start)| {
                s.nearest(query, k, ef).into_iter().map(move |n| Neighbour {
                    id: n.id + start,
                    distance: n.distance,
                })
            })
            .collect();
        all.sort_by(|a, b| a.distance.total_cmp(&b.distance).then(a.id.cmp(&b.id)));
        all.truncate(k);
        all
    }

    /// A reference's local features, checked against their CRC.
    pub fn features(&self, pos: u32) -> Result<OwnedFeatures, GenerationError> {
        let (s, p) = self.locate(pos);
        s.features(p)
    }

    /// Whether a segment holds the image in store slot `slot`.
    pub fn holds_slot(&self, slot: i64) -> bool {
        self.segments.iter().any(|s| s.position_of(slot).is_some())
    }

    /// The position of the image in store slot `slot`, if a segment holds it.
    pub fn position_of_slot(&self, slot: i64) -> Option<u32> {
        self.segments
            .iter()
            .zip(&self.starts)
            .find_map(|(s, &start)| s.position_of(slot).map(|p| p + start))
    }

    /// The features blob (as the store keeps it) of the image in store
    /// slot `slot`: None if no segment holds it or its entry is damaged.
    pub fn features_blob_of_slot(&self, slot: i64) -> Option<Vec<u8>> {
        self.segments.iter().find_map(|s| {
            let pos = s.position_of(slot)?;
            s.features(pos).ok().map(|f| f.as_ref().to_blob())
        })
    }

    /// The visual word of a descriptor (for diagnostics).
    pub fn quantize(&self, d: &Descriptor) -> u32 {
        self.vocabulary.quantize(d)
    }

    /// Images sharing the most distinctive visual words with the query's
    /// descriptors, best first, with their bag-of-words similarity.
    ///
    /// One word per descriptor: assigning every query's descriptors to
    /// their nearest few words as well (multiple assignment) costs weak
    /// true matches their place to chance candidates, so
    /// `crate::search::candidates` uses it only for a second look at
    /// photos that nothing matched conclusively (docs/decisions.md,
    /// "2026-12-01 — A second look for photos with no conclusive match").
    pub fn word_candidates(
        &self,
        query: &Features,
        top: usize,
    ) -> Result<Vec<(u32, f32)>, GenerationError> {
        self.word_candidates_near(query, top, 0)
    }

    /// [`Self::word_candidates`] with each query descriptor assigned to
    /// its nearest word and the `extra` next nearest of its branch. With
    /// extra words, the shortlist is checked for one similarity transform
    /// rather than for agreeing turns and scales alone: more words bring
    /// more chance matches (docs/decisions.md, "2026-12-01 — Ranking the
    /// second look's shortlist by one transform").
    pub fn word_candidates_near(
        &self,
        query: &Features,
        top: usize,
        extra: usize,
    ) -> Result<Vec<(u32, f32)>, GenerationError> {
        let check = if extra > 0 {
            Consistency::Transform
        } else {
            Consistency::Weak
        };
        self.word_candidates_checked(query, top, extra, check)
    }

    /// [`Self::word_candidates_near`] with the shortlist's check given.
    pub fn word_candidates_checked(
        &self,
        query: &Features,
        top: usize,
        extra: usize,
        check: Consistency,
    ) -> Result<Vec<(u32, f32)>, GenerationError> {
        let words: Vec<Occurrence> = query
            .keypoints
            .iter()
            .zip(&query.descriptors)
            .flat_map(|(k, d)| {
                let angle = localfeatures::angle_step(k.angle);
                let dx = offset_step(k.x, query.width);
                let dy = offset_step(k.y, query.height);
                self.vocabulary
                    .quantize_near(d, extra)
                    .into_iter()
                    .map(move |word| Occurrence {
                        word,
                        angle,
                        level: k.level,
                        dx,
                        dy,
                    })
            })
            .collect();
        let mut all: Vec<(u32, f32)> = Vec::new();
        for (s, &start) in self.segments.iter().zip(&self.starts) {
            all.extend(
                s.word_candidates(&words, top, check)?
                    .into_iter()
                    .map(|(p, score)| (p + start, score)),
            );
        }
        all.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        all.truncate(top);
        Ok(all)
    }

    /// Checks every table's checksum (reads every byte).
    pub fn verify(&self) -> Result<(), GenerationError> {
        for s in &self.segments {
            s.verify()?;
        }
        MappedArray::open(
            &GenerationPaths(&self.dir).vocabulary(),
            VOCABULARY_MAGIC,
            1,
        )?
        .verify()?;
        Ok(())
    }

    /// Every store slot the generation holds, in position order.
    pub fn slots(&self) -> Vec<i64> {
        (0..self.len() as u32).map(|p| self.slot(p)).collect()
    }
}

/// [`crate::paths::link_tree`], its error as a generation's.
fn link_tree(from: &Path, to: &Path) -> Result<(), GenerationError> {
    crate::paths::link_tree(from, to)
        .map(|_| ())
        .map_err(|(path, source)| GenerationError::Io { path, source })
}

/// An even sample of the database's descriptors: every k-th image's
/// features, so no single image dominates the vocabulary.
fn vocabulary_sample(table: &FeatureTable) -> Vec<Descriptor> {
    let total: usize = (0..table.len() as u32).map(|p| table.get(p).len()).sum();
    let wanted = (table.len() * VOCABULARY_SAMPLE_PER_IMAGE)
        .clamp(VOCABULARY_SAMPLE_MIN, VOCABULARY_SAMPLE_MAX);
    let step = total.div_ceil(wanted).max(1);
    let mut sample = Vec::with_capacity(total / step + 1);
    let mut i = 0usize;
    for pos in 0..table.len() as u32 {
        for d in table.get(pos).descriptors() {
            if i.is_multiple_of(step) {
                sample.push(d);
            }
            i += 1;
        }
    }
    if sample.is_empty() {
        sample.push([0; 4]); // an empty database still gets a (trivial) vocabulary
    }
    // The same descriptors give the same vocabulary whatever the order the
    // images were stored in (a re-import must not change results).
    sample.sort_unstable();
    sample
}
