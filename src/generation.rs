//! A generation: one immutable, memory-mapped snapshot of the image indexes
//! (hashes, vectors, HNSW graph), built from the record store.
//!
//! Generations are never modified: a change to the store produces a new
//! directory, fsynced, then `CURRENT` is switched by an atomic rename.
//! Readers holding the old generation keep using it until they drop it;
//! a crash mid-build leaves an unreferenced directory that the next build
//! removes. Dense positions (0..n) index every table; `slots.bin` maps a
//! position back to the image's row in the store.

use crate::arrayfile::{self, ArrayFileError, MappedArray};
use crate::hash::{HASH_VERSION, ImageHashes};
use crate::inverted::{self, InvertedIndex, Occurrence};
use crate::localfeatures::{self, FeatureTable, RefFeatures};
use crate::orb::{Descriptor, FEATURES_VERSION, Features};
use crate::paths::GenerationPaths;
use crate::store::{ImageRow, f32s_to_bytes};
use crate::vectors::{self, Neighbour, VectorIndex, VectorIndexError};
use crate::vocabulary::Vocabulary;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

const SLOTS_MAGIC: [u8; 8] = *b"PVSLOTS1";
const HASHES_MAGIC: [u8; 8] = *b"PVHASH02";
/// Per image: phash, dhash (u64 each), width, height (u32 each).
const HASH_ENTRY: usize = 24;
const VECTORS_MAGIC: [u8; 8] = *b"PVVECF32";
const VOCABULARY_MAGIC: [u8; 8] = *b"PVVOCAB1";
/// 2: local features, vocabulary and inverted index.
/// 3: per-image feature checksums, small tables checked at open.
pub const MANIFEST_VERSION: u32 = 3;
/// Descriptors the vocabulary is learned from, at most: enough for the
/// widest tree (65k words, 30 descriptors each), and a bounded cost however
/// large the database. With 51k references 65k words measured 0.8 points
/// R@1 better than 33k (1M sample); 193k words no better again.
const VOCABULARY_SAMPLE: usize = 2_000_000;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    pub format_version: u32,
    pub generation: u64,
    /// The store sequence this generation reflects.
    pub store_seq: i64,
    pub images: u64,
    pub dim: u32,
    pub embedder: String,
    pub hash_version: u32,
    #[serde(default)]
    pub features_version: u32,
    /// Size of the visual vocabulary.
    #[serde(default)]
    pub words: u32,
    /// CRC-32 of the files that carry no checksum of their own (the HNSW
    /// dump), by path relative to the generation, for `verify`.
    #[serde(default)]
    pub checksums: std::collections::BTreeMap<String, u32>,
}

#[derive(Debug, thiserror::Error)]
pub enum GenerationError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: unreadable manifest: {message}")]
    Manifest { path: PathBuf, message: String },
    /// Written by another version of this program: derived data, rebuilt
    /// from the record store rather than read.
    #[error("{path}: {message}")]
    Version { path: PathBuf, message: String },
    #[error(transparent)]
    Array(#[from] ArrayFileError),
    #[error(transparent)]
    Vectors(#[from] VectorIndexError),
    #[error("{path}: checksum mismatch (damaged): run `provenance rebuild`")]
    Checksum { path: PathBuf },
}

/// CRC-32 of a whole file, read in blocks.
fn file_crc(path: &Path) -> std::io::Result<u32> {
    use std::io::Read;
    let mut f = std::fs::File::open(path)?;
    let mut h = crc32fast::Hasher::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            return Ok(h.finalize());
        }
        h.update(&buf[..n]);
    }
}

pub struct Generation {
    pub manifest: Manifest,
    pub dir: PathBuf,
    slots: MappedArray,
    hashes: MappedArray,
    vectors: MappedArray,
    hnsw: VectorIndex,
    features: FeatureTable,
    vocabulary: Vocabulary,
    words: InvertedIndex,
}

impl Generation {
    /// Writes a new generation into `dir` (which must not exist yet).
    /// Writes a new generation into `dir` (which must not exist yet);
    /// returns the manifest with the vocabulary size filled in.
    pub fn write(
        dir: &Path,
        manifest: &Manifest,
        rows: &[ImageRow],
    ) -> Result<Manifest, GenerationError> {
        let io = |source| GenerationError::Io {
            path: dir.to_path_buf(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        let p = GenerationPaths(dir);
        let dim = manifest.dim as usize;
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
        arrayfile::write(
            &p.vectors(),
            VECTORS_MAGIC,
            4 * manifest.dim,
            &f32s_to_bytes(&flat),
        )?;
        vectors::write(&p.hnsw(), &flat, dim)?;
        let blobs: Vec<Option<&[u8]>> = rows.iter().map(|r| Some(r.features.as_slice())).collect();
        localfeatures::write_table(&p.features_index(), &p.features(), &blobs)?;
        let table = FeatureTable::open(&p.features_index(), &p.features())?;
        let vocabulary = Vocabulary::train(&vocabulary_sample(&table));
        arrayfile::write(&p.vocabulary(), VOCABULARY_MAGIC, 1, &vocabulary.to_bytes())?;
        let words: Vec<Vec<Occurrence>> = (0..table.len() as u32)
            .into_par_iter()
            .map(|pos| {
                let f = table.get(pos);
                f.descriptors()
                    .zip(f.shapes())
                    .map(|(d, (angle, level))| Occurrence {
                        word: vocabulary.quantize(&d),
                        angle,
                        level,
                    })
                    .collect()
            })
            .collect();
        inverted::write(
            &p.word_offsets(),
            &p.word_postings(),
            &p.word_idf(),
            vocabulary.words(),
            &words,
        )?;
        let mut checksums = std::collections::BTreeMap::new();
        if !rows.is_empty() {
            for f in vectors::files(&p.hnsw()) {
                let rel = f.strip_prefix(dir).unwrap_or(&f).display().to_string();
                checksums.insert(rel, file_crc(&f).map_err(io)?);
            }
        }
        let manifest = Manifest {
            words: vocabulary.words() as u32,
            features_version: FEATURES_VERSION,
            checksums,
            ..manifest.clone()
        };
        let json = serde_json::to_vec_pretty(&manifest).expect("manifest serialises");
        crate::paths::write_atomic(&p.manifest(), &json).map_err(io)?;
        Ok(manifest)
    }

    pub fn open(dir: &Path) -> Result<Generation, GenerationError> {
        let p = GenerationPaths(dir);
        let mpath = p.manifest();
        let bytes = std::fs::read(&mpath).map_err(|source| GenerationError::Io {
            path: mpath.clone(),
            source,
        })?;
        let manifest: Manifest =
            serde_json::from_slice(&bytes).map_err(|e| GenerationError::Manifest {
                path: mpath.clone(),
                message: e.to_string(),
            })?;
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
        let n = manifest.images as usize;
        let slots = MappedArray::open(&p.slots(), SLOTS_MAGIC, 8)?;
        let hashes = MappedArray::open(&p.hashes(), HASHES_MAGIC, HASH_ENTRY as u32)?;
        let vectors = MappedArray::open(&p.vectors(), VECTORS_MAGIC, 4 * manifest.dim)?;
        for (a, path) in [
            (&slots, p.slots()),
            (&hashes, p.hashes()),
            (&vectors, p.vectors()),
        ] {
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
        // hnsw_rs panics on a malformed dump rather than returning an error,
        // so its files are checked before it reads them.
        verify_listed(dir, &manifest)?;
        let hnsw = VectorIndex::open(&p.hnsw(), n)?;
        let features = FeatureTable::open(&p.features_index(), &p.features())?;
        let vocab_file = MappedArray::open(&p.vocabulary(), VOCABULARY_MAGIC, 1)?;
        let vocabulary = Vocabulary::from_bytes(vocab_file.payload()).ok_or_else(|| {
            GenerationError::Manifest {
                path: p.vocabulary(),
                message: "not a vocabulary".into(),
            }
        })?;
        let words = InvertedIndex::open(&p.word_offsets(), &p.word_postings(), &p.word_idf(), n)?;
        if features.len() != n || words.words() != vocabulary.words() {
            return Err(GenerationError::Manifest {
                path: p.features_index(),
                message: "local feature tables disagree with the manifest".into(),
            });
        }
        Ok(Generation {
            manifest,
            dir: dir.to_path_buf(),
            slots,
            hashes,
            vectors,
            hnsw,
            features,
            vocabulary,
            words,
        })
    }

    pub fn len(&self) -> usize {
        self.manifest.images as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The store slot of position `pos`.
    pub fn slot(&self, pos: u32) -> i64 {
        i64::from_le_bytes(self.slots.get(pos as usize).try_into().unwrap())
    }

    pub fn hashes(&self, pos: u32) -> ImageHashes {
        read_hashes(self.hashes.get(pos as usize))
    }

    /// Width and height of the reference image (upright, as imported).
    pub fn shape(&self, pos: u32) -> (u32, u32) {
        let b = self.hashes.get(pos as usize);
        (
            u32::from_le_bytes(b[16..20].try_into().unwrap()),
            u32::from_le_bytes(b[20..24].try_into().unwrap()),
        )
    }

    pub fn vector(&self, pos: u32) -> Vec<f32> {
        crate::store::bytes_to_f32s(self.vectors.get(pos as usize))
    }

    /// Approximate nearest neighbours of one query vector.
    pub fn nearest(&self, query: &[f32], k: usize, ef: usize) -> Vec<Neighbour> {
        self.hnsw.search(query, k, ef)
    }

    /// The local features of the image at `pos`.
    /// A reference's local features, checked against their CRC.
    pub fn features(&self, pos: u32) -> Result<RefFeatures<'_>, GenerationError> {
        Ok(self.features.get_checked(pos)?)
    }

    /// The visual word of a descriptor (for diagnostics).
    pub fn quantize(&self, d: &Descriptor) -> u32 {
        self.vocabulary.quantize(d)
    }

    /// Images sharing the most distinctive visual words with the query's
    /// descriptors, best first, with their bag-of-words similarity.
    ///
    /// One word per descriptor: assigning query descriptors to their
    /// nearest few words as well (multiple assignment), with or without
    /// a Hamming check inside the word, measured worse on the benchmark.
    pub fn word_candidates(&self, query: &Features, top: usize) -> Vec<(u32, f32)> {
        let words: Vec<Occurrence> = query
            .keypoints
            .iter()
            .zip(&query.descriptors)
            .map(|(k, d)| Occurrence {
                word: self.vocabulary.quantize(d),
                angle: localfeatures::angle_step(k.angle),
                level: k.level,
            })
            .collect();
        self.words.search(&words, top)
    }

    /// Checks every table's checksum (reads every byte).
    pub fn verify(&self) -> Result<(), GenerationError> {
        self.slots.verify()?;
        self.hashes.verify()?;
        self.vectors.verify()?;
        self.features.verify()?;
        self.words.verify()?;
        MappedArray::open(
            &GenerationPaths(&self.dir).vocabulary(),
            VOCABULARY_MAGIC,
            1,
        )?
        .verify()?;
        verify_listed(&self.dir, &self.manifest)
    }
}

/// Checks the files whose checksums the manifest lists.
fn verify_listed(dir: &Path, manifest: &Manifest) -> Result<(), GenerationError> {
    for (rel, crc) in &manifest.checksums {
        let path = dir.join(rel);
        let found = file_crc(&path).map_err(|source| GenerationError::Io {
            path: path.clone(),
            source,
        })?;
        if found != *crc {
            return Err(GenerationError::Checksum { path });
        }
    }
    Ok(())
}

/// An even sample of the database's descriptors: every k-th image's
/// features, so no single image dominates the vocabulary.
fn vocabulary_sample(table: &FeatureTable) -> Vec<Descriptor> {
    let total: usize = (0..table.len() as u32).map(|p| table.get(p).len()).sum();
    let step = total.div_ceil(VOCABULARY_SAMPLE).max(1);
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

fn read_hashes(b: &[u8]) -> ImageHashes {
    ImageHashes {
        phash: u64::from_le_bytes(b[0..8].try_into().unwrap()),
        dhash: u64::from_le_bytes(b[8..16].try_into().unwrap()),
    }
}
