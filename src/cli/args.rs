//! What every command shares: the default index folder, the choice of
//! embedder, and how an index is opened for a command.

use crate::engine::Engine;
use anyhow::{Context, Result, bail};
use std::path::Path;

pub(crate) const DEFAULT_INDEX: &str = "index-data";

/// Which global embedding to use. The same choice must be made for every
/// command on an index: vectors of two embedders are never compared, and
/// switching means importing again.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct EmbeddingArgs {
    /// A learned image-embedding model (ONNX) instead of the built-in
    /// colour-layout embedding.
    #[cfg(feature = "onnx")]
    #[arg(long, global = true, value_name = "MODEL.onnx")]
    pub onnx_model: Option<std::path::PathBuf>,
    /// Side of the square picture the ONNX model takes.
    #[cfg(feature = "onnx")]
    #[arg(long, global = true, default_value_t = 224)]
    pub onnx_input_size: u32,
}

impl EmbeddingArgs {
    pub fn embedder(&self) -> Result<std::sync::Arc<dyn crate::describe::embed::Embedder>> {
        #[cfg(feature = "onnx")]
        if let Some(model) = &self.onnx_model {
            let e = crate::describe::embed_onnx::OnnxEmbedder::load(model, self.onnx_input_size)?;
            return Ok(std::sync::Arc::new(e));
        }
        Ok(std::sync::Arc::new(
            crate::describe::embed::ColourLayoutEmbedder,
        ))
    }
}

/// Opens an index, creating it (for `import` and `demo`).
pub(crate) fn open(index: &Path, emb: &EmbeddingArgs) -> Result<Engine> {
    Engine::open_with(index, emb.embedder()?)
        .with_context(|| format!("cannot open index {}", index.display()))
}

/// Whether `index` holds an index: a record store, or a generation whose
/// store is lost (which opening then names; as it names a `CURRENT` that
/// names no generation, such as a folder of snapshots').
pub(crate) fn is_index(index: &Path) -> bool {
    let paths = crate::paths::IndexPaths::new(index);
    paths.store().is_file() || paths.current().is_file()
}

/// Opens an index that must already exist: searching a mistyped path must
/// not answer "no match in 0 records".
pub(crate) fn open_existing(index: &Path, emb: &EmbeddingArgs) -> Result<Engine> {
    if !is_index(index) {
        bail!(
            "{}: no index here (run `provenance import --index {} RECORDS` first; an empty records file makes an empty index)",
            index.display(),
            index.display()
        );
    }
    open(index, emb)
}

/// Most results a command lists (`--top`): a client of the API gets at
/// most 100; a command line may want more for a report, not unbounded (the
/// result list is allocated up front).
pub const MAX_CLI_TOP: usize = 10_000;

/// `--top`: from 1 to [`MAX_CLI_TOP`].
pub fn top(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if (1..=MAX_CLI_TOP).contains(&n) => Ok(n),
        _ => Err(format!("a whole number from 1 to {MAX_CLI_TOP}, not {s:?}")),
    }
}

/// A filter given blank (`--status ""`) filters nothing, as the API's
/// empty query parameter does.
pub fn given(filter: Option<String>) -> Option<String> {
    filter.filter(|s| !s.trim().is_empty())
}

/// `--max-objects`: from 1 to 100 (each further object costs a look).
pub fn max_objects(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if (1..=100).contains(&n) => Ok(n),
        _ => Err(format!("a whole number from 1 to 100, not {s:?}")),
    }
}
