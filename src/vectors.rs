//! Approximate nearest-neighbour search over global embeddings (HNSW,
//! through `hnsw_rs`), written to disk and reloaded with its vectors
//! memory-mapped.
//!
//! Ids are dense positions (0..n) in the generation's tables. The graph
//! itself is rebuilt when a generation is written; it is loaded onto the
//! heap on open (an `hnsw_rs` limitation: ~3.4 KB per point at M=16).

use hnsw_rs::hnswio::{HnswIo, ReloadOptions};
use hnsw_rs::prelude::{AnnT, DistL2, Hnsw};
use std::mem::ManuallyDrop;
use std::path::{Path, PathBuf};

const BASENAME: &str = "vectors";
/// Graph degree: 16 links per node is the usual recall/memory balance.
const MAX_CONNECTIONS: usize = 16;
/// `hnsw_rs` can only dump graphs created with 16 layers.
const MAX_LAYERS: usize = 16;
const EF_CONSTRUCTION: usize = 200;

#[derive(Debug, thiserror::Error)]
pub enum VectorIndexError {
    #[error("{path}: vector index file missing")]
    Missing { path: PathBuf },
    #[error("{path}: cannot write or read the vector index: {message}")]
    Hnsw { path: PathBuf, message: String },
}

/// A neighbour: dense id and squared... (hnsw_rs DistL2 is the plain L2 distance).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Neighbour {
    pub id: u32,
    pub distance: f32,
}

/// Builds an index over `vectors` (row-major, `dim` wide; id = row).
pub fn build(vectors: &[f32], dim: usize) -> Hnsw<'static, f32, DistL2> {
    let n = vectors.len() / dim.max(1);
    let hnsw = Hnsw::<f32, DistL2>::new(
        MAX_CONNECTIONS,
        n.max(1),
        MAX_LAYERS,
        EF_CONSTRUCTION,
        DistL2 {},
    );
    let rows: Vec<Vec<f32>> = vectors.chunks_exact(dim).map(|c| c.to_vec()).collect();
    let items: Vec<(&Vec<f32>, usize)> = rows.iter().enumerate().map(|(i, v)| (v, i)).collect();
    hnsw.parallel_insert(&items);
    hnsw
}

/// Builds and writes the index for `vectors` into `dir` (which must be new:
/// dumps write in place and must never touch files a reader has mapped).
pub fn write(dir: &Path, vectors: &[f32], dim: usize) -> Result<(), VectorIndexError> {
    let err = |message: String| VectorIndexError::Hnsw {
        path: dir.to_path_buf(),
        message,
    };
    std::fs::create_dir_all(dir).map_err(|e| err(e.to_string()))?;
    if vectors.is_empty() {
        return Ok(());
    }
    let hnsw = build(vectors, dim);
    let name = hnsw
        .file_dump(dir, BASENAME)
        .map_err(|e| err(e.to_string()))?;
    if name != BASENAME {
        return Err(err(format!(
            "dump chose basename {name}, expected {BASENAME}"
        )));
    }
    for f in files(dir) {
        std::fs::File::open(&f)
            .and_then(|h| h.sync_all())
            .map_err(|e| err(e.to_string()))?;
    }
    Ok(())
}

/// The files of a dumped index (hnsw_rs's format has no checksum: the
/// generation's manifest keeps one for each).
pub fn files(dir: &Path) -> [PathBuf; 2] {
    [
        dir.join(format!("{BASENAME}.hnsw.graph")),
        dir.join(format!("{BASENAME}.hnsw.data")),
    ]
}

/// A loaded, searchable index. Empty when the database holds no vectors.
pub struct VectorIndex {
    // Field order matters: the graph borrows from the loader, so it is
    // dropped first (see Drop).
    hnsw: Option<ManuallyDrop<Hnsw<'static, f32, DistL2>>>,
    loader: *mut HnswIo,
}

// SAFETY: `loader` is only touched in Drop; Hnsw is Send + Sync and the
// loader's mapped data is read-only.
unsafe impl Send for VectorIndex {}
unsafe impl Sync for VectorIndex {}

impl VectorIndex {
    /// Opens the index in `dir`; `expected` is how many vectors it must hold.
    pub fn open(dir: &Path, expected: usize) -> Result<VectorIndex, VectorIndexError> {
        if expected == 0 {
            return Ok(VectorIndex {
                hnsw: None,
                loader: std::ptr::null_mut(),
            });
        }
        // hnsw_rs exits the process on a missing file: check first.
        for f in files(dir) {
            if !f.is_file() {
                return Err(VectorIndexError::Missing { path: f });
            }
        }
        let mut loader = Box::new(HnswIo::new(dir, BASENAME));
        loader.set_options(ReloadOptions::default().set_mmap(true));
        let loader = Box::into_raw(loader);
        // SAFETY: `loader` lives until Drop, after the graph that borrows it.
        let loaded = unsafe { (*loader).load_hnsw::<f32, DistL2>() };
        let mut hnsw = match loaded {
            Ok(h) => h,
            Err(e) => {
                // SAFETY: nothing borrows the loader any more.
                drop(unsafe { Box::from_raw(loader) });
                return Err(VectorIndexError::Hnsw {
                    path: dir.to_path_buf(),
                    message: e.to_string(),
                });
            }
        };
        hnsw.set_searching_mode(true);
        if hnsw.get_nb_point() != expected {
            let found = hnsw.get_nb_point();
            drop(hnsw);
            drop(unsafe { Box::from_raw(loader) });
            return Err(VectorIndexError::Hnsw {
                path: dir.to_path_buf(),
                message: format!("holds {found} vectors, the generation lists {expected}"),
            });
        }
        Ok(VectorIndex {
            hnsw: Some(ManuallyDrop::new(hnsw)),
            loader,
        })
    }

    /// The `k` nearest neighbours of `query`, nearest first.
    pub fn search(&self, query: &[f32], k: usize, ef: usize) -> Vec<Neighbour> {
        let Some(h) = &self.hnsw else {
            return Vec::new();
        };
        h.search(query, k, ef.max(k))
            .into_iter()
            .map(|n| Neighbour {
                id: n.d_id as u32,
                distance: n.distance,
            })
            .collect()
    }
}

impl Drop for VectorIndex {
    fn drop(&mut self) {
        if let Some(h) = self.hnsw.as_mut() {
            // SAFETY: dropped exactly once, before the loader it borrows from.
            unsafe { ManuallyDrop::drop(h) };
        }
        if !self.loader.is_null() {
            // SAFETY: created by Box::into_raw in `open`, freed once here.
            drop(unsafe { Box::from_raw(self.loader) });
        }
    }
}
