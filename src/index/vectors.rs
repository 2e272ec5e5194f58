//! Approximate nearest-neighbour search over global embeddings: the
//! vectors of a segment and their HNSW graph, both memory-mapped.
//!
//! The graph is built with `hnsw_rs` and then written in a format of our
//! own, because `hnsw_rs` reloads its graph onto the heap (about 3.4 KB
//! per point at M=16: 3.4 GB per million images) and panics on a
//! malformed dump (docs/decisions.md, "2026-11-29 — Our own HNSW graph
//! tables"). Here the links are flat arrays in checksummed files:
//! layer 0 (where every point lives, 2·M links each) is one fixed-stride
//! table, the few points of the upper layers a sorted sparse table. The
//! search (greedy descent through the upper layers, then a beam of width
//! `ef` on layer 0, as in Malkov & Yashunin) reads them in place, so
//! opening costs a checksum pass and resident memory stays what the
//! searches touch.
//!
//! Ids are dense positions (0..n) in the segment's tables.

use crate::index::arrayfile::{self, ArrayFileError, MappedArray};
use hnsw_rs::prelude::{DistL2, Hnsw};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::path::{Path, PathBuf};

/// Graph degree: 16 links per node is the usual recall/memory balance.
const MAX_CONNECTIONS: usize = 16;
/// Links per point on layer 0 (hnsw_rs keeps twice as many there).
const LAYER0_LINKS: usize = 2 * MAX_CONNECTIONS;
const MAX_LAYERS: usize = 16;
const EF_CONSTRUCTION: usize = 200;
/// No link (a point with fewer neighbours than the table's width).
const NONE: u32 = u32::MAX;

const VECTORS_MAGIC: [u8; 8] = *b"PVVECF32";
const LAYER0_MAGIC: [u8; 8] = *b"PVGRAPH0";
/// Per upper-layer point: id, top level, offset of its links (u32 each).
const UPPER_INDEX_MAGIC: [u8; 8] = *b"PVGRUPIX";
const UPPER_INDEX_ENTRY: usize = 12;
const UPPER_LINKS_MAGIC: [u8; 8] = *b"PVGRUPLK";

#[derive(Debug, thiserror::Error)]
pub enum VectorIndexError {
    #[error(transparent)]
    File(#[from] ArrayFileError),
    #[error("{path}: {message}")]
    Inconsistent { path: PathBuf, message: String },
}

/// A neighbour: dense id and L2 distance.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Neighbour {
    pub id: u32,
    pub distance: f32,
}

/// The files of a segment's vector index, in `dir`.
pub fn files(dir: &Path) -> [PathBuf; 4] {
    [
        dir.join("vectors.bin"),
        dir.join("graph.bin"),
        dir.join("graph-upper.idx"),
        dir.join("graph-upper.bin"),
    ]
}

/// Builds the HNSW graph of `vectors` (row-major, `dim` wide; id = row).
///
/// One point after another: `hnsw_rs`'s parallel insertion links each
/// point to whatever its racing neighbours have linked so far, so two
/// builds of the same vectors give different graphs, and some photos
/// different answers. A graph built in order is the same every time, for
/// a longer build (docs/decisions.md, "2026-12-02 — Building the HNSW
/// graph one point at a time").
fn build(vectors: &[f32], dim: usize) -> Hnsw<'static, f32, DistL2> {
    let n = vectors.len() / dim.max(1);
    let hnsw = Hnsw::<f32, DistL2>::new(
        MAX_CONNECTIONS,
        n.max(1),
        MAX_LAYERS,
        EF_CONSTRUCTION,
        DistL2 {},
    );
    for (id, row) in vectors.chunks_exact(dim).enumerate() {
        hnsw.insert_slice((row, id));
    }
    hnsw
}

/// Writes `vectors` and their graph into `dir` (new files, fsynced).
pub fn write(dir: &Path, vectors: &[f32], dim: usize) -> Result<(), VectorIndexError> {
    std::fs::create_dir_all(dir).map_err(|source| ArrayFileError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let [vpath, l0path, uipath, ulpath] = files(dir);
    let n = vectors.len() / dim.max(1);
    let bytes: Vec<u8> = vectors.iter().flat_map(|x| x.to_le_bytes()).collect();
    arrayfile::write(&vpath, VECTORS_MAGIC, 4 * dim as u32, &bytes)?;
    let mut layer0 = vec![NONE; n * LAYER0_LINKS];
    // (id, top level, links of levels 1..=top, MAX_CONNECTIONS each)
    let mut upper: Vec<(u32, u32, Vec<u32>)> = Vec::new();
    if n > 0 {
        let hnsw = build(vectors, dim);
        for point in hnsw.get_point_indexation() {
            let id = point.get_origin_id();
            let top = point.get_point_id().0 as usize;
            let layers = point.get_neighborhood_id();
            for (slot, nb) in layers[0].iter().take(LAYER0_LINKS).enumerate() {
                layer0[id * LAYER0_LINKS + slot] = nb.d_id as u32;
            }
            if top > 0 {
                let mut links = vec![NONE; top * MAX_CONNECTIONS];
                for (level, layer) in layers.iter().enumerate().take(top + 1).skip(1) {
                    let at = (level - 1) * MAX_CONNECTIONS;
                    for (slot, nb) in layer.iter().take(MAX_CONNECTIONS).enumerate() {
                        links[at + slot] = nb.d_id as u32;
                    }
                }
                upper.push((id as u32, top as u32, links));
            }
        }
    }
    upper.sort_unstable_by_key(|u| u.0);
    let mut index = Vec::with_capacity(upper.len() * UPPER_INDEX_ENTRY);
    let mut links = Vec::new();
    for (id, top, l) in &upper {
        index.extend_from_slice(&id.to_le_bytes());
        index.extend_from_slice(&top.to_le_bytes());
        index.extend_from_slice(&(links.len() as u32).to_le_bytes());
        links.extend_from_slice(l);
    }
    let le = |v: &[u32]| -> Vec<u8> { v.iter().flat_map(|x| x.to_le_bytes()).collect() };
    arrayfile::write(
        &l0path,
        LAYER0_MAGIC,
        (4 * LAYER0_LINKS) as u32,
        &le(&layer0),
    )?;
    arrayfile::write(&uipath, UPPER_INDEX_MAGIC, UPPER_INDEX_ENTRY as u32, &index)?;
    arrayfile::write(&ulpath, UPPER_LINKS_MAGIC, 4, &le(&links))?;
    Ok(())
}

/// A segment's vectors and graph, memory-mapped and searchable.
pub struct VectorIndex {
    vectors: MappedArray,
    layer0: MappedArray,
    upper_index: MappedArray,
    upper_links: MappedArray,
    entry: u32,
    top: u32,
}

impl VectorIndex {
    /// Opens the index in `dir`, which must hold `n` vectors of `dim`
    /// floats. The graph's tables are checked whole (a damaged link would
    /// send searches astray); the vectors only for their length here.
    pub fn open(dir: &Path, n: usize, dim: usize) -> Result<VectorIndex, VectorIndexError> {
        let [vpath, l0path, uipath, ulpath] = files(dir);
        let vectors = MappedArray::open(&vpath, VECTORS_MAGIC, 4 * dim as u32)?;
        let layer0 = MappedArray::open(&l0path, LAYER0_MAGIC, (4 * LAYER0_LINKS) as u32)?;
        let upper_index = MappedArray::open(&uipath, UPPER_INDEX_MAGIC, UPPER_INDEX_ENTRY as u32)?;
        let upper_links = MappedArray::open(&ulpath, UPPER_LINKS_MAGIC, 4)?;
        vectors.advise_random();
        layer0.advise_random();
        layer0.verify()?;
        upper_index.verify()?;
        upper_links.verify()?;
        for (a, path) in [(&vectors, &vpath), (&layer0, &l0path)] {
            if a.len() != n {
                return Err(VectorIndexError::Inconsistent {
                    path: path.clone(),
                    message: format!("holds {} entries, the manifest lists {n}", a.len()),
                });
            }
        }
        // The entry point: the (first) point of the highest level.
        let mut ix = VectorIndex {
            vectors,
            layer0,
            upper_index,
            upper_links,
            entry: 0,
            top: 0,
        };
        let mut last = None;
        for i in 0..ix.upper_index.len() {
            let (id, top, offset) = ix.upper_entry(i);
            let end = offset as usize + top as usize * MAX_CONNECTIONS;
            if id as usize >= n || last.is_some_and(|l| l >= id) || end > ix.upper_links.len() {
                return Err(VectorIndexError::Inconsistent {
                    path: uipath,
                    message: format!("entry {i} is out of order or out of range"),
                });
            }
            last = Some(id);
            if top > ix.top {
                (ix.entry, ix.top) = (id, top);
            }
        }
        Ok(ix)
    }

    pub fn len(&self) -> usize {
        self.vectors.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The stored vector of `id`.
    pub fn vector(&self, id: u32) -> Vec<f32> {
        crate::store::bytes_to_f32s(self.vectors.get(id as usize))
    }

    /// Checks the vectors' checksum too (reads every byte).
    pub fn verify(&self) -> Result<(), ArrayFileError> {
        self.vectors.verify()?;
        self.layer0.verify()?;
        self.upper_index.verify()?;
        self.upper_links.verify()
    }

    fn upper_entry(&self, i: usize) -> (u32, u32, u32) {
        let b = self.upper_index.get(i);
        let word = |k: usize| u32::from_le_bytes(b[4 * k..4 * k + 4].try_into().expect("4 bytes"));
        (word(0), word(1), word(2))
    }

    /// The links of `id` on `level`, without padding or ids out of range.
    fn links(&self, id: u32, level: u32) -> impl Iterator<Item = u32> + '_ {
        let bytes: &[u8] = if level == 0 {
            self.layer0.get(id as usize)
        } else {
            let n = self.upper_index.len();
            let (mut lo, mut hi) = (0, n);
            while lo < hi {
                let mid = (lo + hi) / 2;
                if self.upper_entry(mid).0 < id {
                    lo = mid + 1;
                } else {
                    hi = mid;
                }
            }
            match (lo < n).then(|| self.upper_entry(lo)) {
                Some((found, top, offset)) if found == id && level <= top => {
                    let start = 4 * (offset as usize + (level as usize - 1) * MAX_CONNECTIONS);
                    &self.upper_links.payload()[start..start + 4 * MAX_CONNECTIONS]
                }
                _ => &[],
            }
        };
        let n = self.len() as u32;
        bytes
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes(c.try_into().expect("4 bytes")))
            .filter(move |&l| l < n)
    }

    fn distance(&self, query: &[f32], id: u32) -> f32 {
        self.side_by_side::<1>(query, &[id])[0]
    }

    /// Squared distances from `query` to each of `ids`, in order. Each is
    /// summed dimension by dimension as a plain loop would; eight (then
    /// four, then one) are summed side by side, so that their additions
    /// do not wait on each other: one sum alone waits on its previous
    /// addition at every dimension, and that was most of a search's time.
    fn distances(&self, query: &[f32], ids: &[u32], out: &mut Vec<f32>) {
        out.clear();
        let mut rest = ids;
        while rest.len() >= 8 {
            out.extend(self.side_by_side::<8>(query, &rest[..8]));
            rest = &rest[8..];
        }
        if rest.len() >= 4 {
            out.extend(self.side_by_side::<4>(query, &rest[..4]));
            rest = &rest[4..];
        }
        for &id in rest {
            out.extend(self.side_by_side::<1>(query, &[id]));
        }
    }

    fn side_by_side<const N: usize>(&self, query: &[f32], ids: &[u32]) -> [f32; N] {
        // Every row has the table's one width.
        let dims = query.len().min(self.vectors.get(ids[0] as usize).len() / 4);
        let rows: [&[u8]; N] =
            std::array::from_fn(|k| &self.vectors.get(ids[k] as usize)[..4 * dims]);
        let mut sums = [0f32; N];
        for (d, q) in query[..dims].iter().enumerate() {
            for (sum, row) in sums.iter_mut().zip(&rows) {
                let v = f32::from_le_bytes(row[4 * d..4 * d + 4].try_into().expect("4 bytes")) - q;
                *sum += v * v;
            }
        }
        sums
    }

    /// The `k` nearest neighbours of `query`, nearest first.
    pub fn search(&self, query: &[f32], k: usize, ef: usize) -> Vec<Neighbour> {
        if self.is_empty() || k == 0 {
            return Vec::new();
        }
        let ef = ef.max(k);
        let mut ep = self.entry;
        let mut best = self.distance(query, ep);
        let mut ids: Vec<u32> = Vec::with_capacity(LAYER0_LINKS);
        let mut ds: Vec<f32> = Vec::with_capacity(LAYER0_LINKS);
        for level in (1..=self.top).rev() {
            loop {
                let mut moved = false;
                ids.clear();
                ids.extend(self.links(ep, level));
                self.distances(query, &ids, &mut ds);
                for (l, &d) in ids.iter().zip(&ds) {
                    if d < best {
                        (ep, best, moved) = (*l, d, true);
                    }
                }
                if !moved {
                    break;
                }
            }
        }
        // Beam search on layer 0: `frontier` nearest first, `found` the
        // ef best so far with the farthest on top.
        let mut visited = Visited::new(self.len());
        visited.insert(ep);
        let mut frontier = BinaryHeap::from([Reverse((Dist(best), ep))]);
        let mut found = BinaryHeap::from([(Dist(best), ep)]);
        while let Some(Reverse((Dist(d), c))) = frontier.pop() {
            if found.len() >= ef && found.peek().is_some_and(|w| d > w.0.0) {
                break;
            }
            ids.clear();
            ids.extend(self.links(c, 0).filter(|&l| visited.insert(l)));
            self.distances(query, &ids, &mut ds);
            for (&l, &dl) in ids.iter().zip(&ds) {
                if found.len() < ef || found.peek().is_some_and(|w| dl < w.0.0) {
                    frontier.push(Reverse((Dist(dl), l)));
                    found.push((Dist(dl), l));
                    if found.len() > ef {
                        found.pop();
                    }
                }
            }
        }
        let mut out: Vec<Neighbour> = found
            .into_iter()
            .map(|(Dist(d), id)| Neighbour {
                id,
                distance: d.sqrt(),
            })
            .collect();
        out.sort_by(|a, b| a.distance.total_cmp(&b.distance).then(a.id.cmp(&b.id)));
        out.truncate(k);
        out
    }
}

/// The points a search has reached, one bit each.
struct Visited(Vec<u64>);

impl Visited {
    fn new(points: usize) -> Visited {
        Visited(vec![0; points.div_ceil(64)])
    }

    /// Marks `id`; true if it was not marked before.
    fn insert(&mut self, id: u32) -> bool {
        let (word, bit) = (id as usize / 64, 1u64 << (id % 64));
        let new = self.0[word] & bit == 0;
        self.0[word] |= bit;
        new
    }
}

/// A distance ordered totally (NaN last), for the heaps.
#[derive(Clone, Copy, PartialEq)]
struct Dist(f32);

impl Eq for Dist {}

impl PartialOrd for Dist {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Dist {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}
