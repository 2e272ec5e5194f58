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
use crate::paths::GenerationPaths;
use crate::store::{ImageRow, f32s_to_bytes};
use crate::vectors::{self, Neighbour, VectorIndex, VectorIndexError};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

const SLOTS_MAGIC: [u8; 8] = *b"PVSLOTS1";
const HASHES_MAGIC: [u8; 8] = *b"PVHASH02";
/// Per image: phash, dhash (u64 each), width, height (u32 each).
const HASH_ENTRY: usize = 24;
const VECTORS_MAGIC: [u8; 8] = *b"PVVECF32";
pub const MANIFEST_VERSION: u32 = 1;

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
    #[error(transparent)]
    Array(#[from] ArrayFileError),
    #[error(transparent)]
    Vectors(#[from] VectorIndexError),
}

/// A candidate from one of the generation's indexes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidate {
    pub pos: u32,
    pub hash_distance: u32,
}

pub struct Generation {
    pub manifest: Manifest,
    pub dir: PathBuf,
    slots: MappedArray,
    hashes: MappedArray,
    vectors: MappedArray,
    hnsw: VectorIndex,
}

impl Generation {
    /// Writes a new generation into `dir` (which must not exist yet).
    pub fn write(
        dir: &Path,
        manifest: &Manifest,
        rows: &[ImageRow],
    ) -> Result<(), GenerationError> {
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
        let json = serde_json::to_vec_pretty(manifest).expect("manifest serialises");
        crate::paths::write_atomic(&p.manifest(), &json).map_err(io)?;
        Ok(())
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
        if manifest.format_version != MANIFEST_VERSION || manifest.hash_version != HASH_VERSION {
            return Err(GenerationError::Manifest {
                path: mpath,
                message: format!(
                    "format {} / hash version {}, this build writes {MANIFEST_VERSION} / {HASH_VERSION}: run `provenance rebuild`",
                    manifest.format_version, manifest.hash_version
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
        let hnsw = VectorIndex::open(&p.hnsw(), n)?;
        Ok(Generation {
            manifest,
            dir: dir.to_path_buf(),
            slots,
            hashes,
            vectors,
            hnsw,
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

    /// Every image whose hashes lie within `max_distance` bits of any of
    /// the query's orientations: an exact popcount scan over a compact,
    /// mapped table (24 bytes per image; a million images scan in a few
    /// milliseconds on two cores).
    pub fn hash_candidates(&self, query: &[ImageHashes], max_distance: u32) -> Vec<Candidate> {
        let table = self.hashes.payload();
        table
            .par_chunks(HASH_ENTRY * 4096)
            .enumerate()
            .flat_map_iter(|(chunk, bytes)| {
                bytes
                    .chunks_exact(HASH_ENTRY)
                    .enumerate()
                    .filter_map(move |(i, b)| {
                        let h = read_hashes(b);
                        let d = query
                            .iter()
                            .map(|q| q.distance(&h))
                            .min()
                            .unwrap_or(u32::MAX);
                        (d <= max_distance).then_some(Candidate {
                            pos: (chunk * 4096 + i) as u32,
                            hash_distance: d,
                        })
                    })
            })
            .collect()
    }

    /// Approximate nearest neighbours of one query vector.
    pub fn nearest(&self, query: &[f32], k: usize, ef: usize) -> Vec<Neighbour> {
        self.hnsw.search(query, k, ef)
    }

    /// Checks every table's checksum (reads every byte).
    pub fn verify(&self) -> Result<(), GenerationError> {
        self.slots.verify()?;
        self.hashes.verify()?;
        self.vectors.verify()?;
        Ok(())
    }
}

fn read_hashes(b: &[u8]) -> ImageHashes {
    ImageHashes {
        phash: u64::from_le_bytes(b[0..8].try_into().unwrap()),
        dhash: u64::from_le_bytes(b[8..16].try_into().unwrap()),
    }
}
