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
    /// Images in the base segment, and in each delta segment since.
    pub base_images: u64,
    pub delta_images: Vec<u64>,
    /// Images whose colours are not compared: imported before their grid,
    /// or its colours, were kept (`rebuild` keeps them).
    pub images_without_colours: u64,
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
        base_images: m.base_images,
        delta_images: m.deltas.iter().map(|d| d.images).collect(),
        images_without_colours: engine.store().count_without_grid()?,
        bytes_store,
        bytes_text: dir_size(&p.text()),
        bytes_generation: dir_size(&g.dir),
        bytes_total: dir_size(p.root()),
    })
}

fn file_size(p: &Path) -> u64 {
    std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)
}

/// Bytes on disk under `p`, each file counted once however many
/// generations hard-link it.
fn dir_size(p: &Path) -> u64 {
    fn walk(p: &Path, seen: &mut std::collections::HashSet<(u64, u64)>) -> u64 {
        use std::os::unix::fs::MetadataExt;
        let Ok(entries) = std::fs::read_dir(p) else {
            return file_size(p);
        };
        entries
            .flatten()
            .map(|e| match e.file_type() {
                Ok(t) if t.is_dir() => walk(&e.path(), seen),
                _ => match e.metadata() {
                    Ok(m) if seen.insert((m.dev(), m.ino())) => m.len(),
                    _ => 0,
                },
            })
            .sum()
    }
    walk(p, &mut Default::default())
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
        if self.delta_images.is_empty() {
            writeln!(f, "segments:     one base of {} images", self.base_images)?;
        } else {
            writeln!(
                f,
                "segments:     a base of {} images and {} deltas ({} images)",
                self.base_images,
                self.delta_images.len(),
                self.delta_images.iter().sum::<u64>()
            )?;
        }
        if self.images_without_colours > 0 {
            writeln!(
                f,
                "colours:      {} images imported before their colours were kept are matched without them: run `provenance rebuild`",
                self.images_without_colours
            )?;
        }
        writeln!(f, "record store: {}", mib(self.bytes_store))?;
        writeln!(f, "text index:   {}", mib(self.bytes_text))?;
        writeln!(f, "image index:  {}", mib(self.bytes_generation))?;
        writeln!(f, "total:        {}", mib(self.bytes_total))
    }
}
