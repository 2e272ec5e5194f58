//! `provenance info`: what an index holds and what it costs on disk.

use crate::engine::{Engine, EngineError};
use serde::Serialize;
use std::fmt;
use std::path::Path;

#[derive(Debug, Clone, Serialize)]
pub struct IndexInfo {
    pub index: String,
    pub records: u64,
    pub images: u64,
    pub generation: u64,
    pub store_seq: i64,
    pub embedder: String,
    pub embedding_dim: u32,
    pub hash_version: u32,
    pub features_version: u32,
    /// Size of the visual vocabulary of the current generation.
    pub visual_words: u32,
    pub format_version: u32,
    pub bytes_store: u64,
    pub bytes_text: u64,
    pub bytes_generation: u64,
    pub bytes_total: u64,
}

pub fn collect(engine: &Engine) -> Result<IndexInfo, EngineError> {
    let db = engine.database_state()?;
    let g = engine.generation();
    let p = engine.paths();
    let m = &g.manifest;
    let bytes_store = file_size(&p.store())
        + file_size(&p.store().with_extension("sqlite-wal"))
        + file_size(&p.store().with_extension("sqlite-shm"));
    Ok(IndexInfo {
        index: p.root().display().to_string(),
        records: db.records,
        images: db.images,
        generation: m.generation,
        store_seq: m.store_seq,
        embedder: m.embedder.clone(),
        embedding_dim: m.dim,
        hash_version: m.hash_version,
        features_version: m.features_version,
        visual_words: m.words,
        format_version: m.format_version,
        bytes_store,
        bytes_text: dir_size(&p.text()),
        bytes_generation: dir_size(&g.dir),
        bytes_total: dir_size(p.root()),
    })
}

fn file_size(p: &Path) -> u64 {
    std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)
}

fn dir_size(p: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(p) else {
        return file_size(p);
    };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_size(&e.path()),
            _ => e.metadata().map(|m| m.len()).unwrap_or(0),
        })
        .sum()
}

fn mib(b: u64) -> String {
    format!("{:.2} MiB", b as f64 / (1024.0 * 1024.0))
}

impl fmt::Display for IndexInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "index:        {}", self.index)?;
        writeln!(f, "records:      {}", self.records)?;
        writeln!(f, "images:       {}", self.images)?;
        writeln!(
            f,
            "generation:   {} (store change {}, format {})",
            self.generation, self.store_seq, self.format_version
        )?;
        writeln!(
            f,
            "descriptors:  {} ({} dims), hash version {}",
            self.embedder, self.embedding_dim, self.hash_version
        )?;
        writeln!(
            f,
            "local:        ORB version {}, {} visual words",
            self.features_version, self.visual_words
        )?;
        writeln!(f, "record store: {}", mib(self.bytes_store))?;
        writeln!(f, "text index:   {}", mib(self.bytes_text))?;
        writeln!(f, "image index:  {}", mib(self.bytes_generation))?;
        writeln!(f, "total:        {}", mib(self.bytes_total))
    }
}
