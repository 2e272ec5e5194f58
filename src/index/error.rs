//! Why a generation could not be written or read.

use crate::index::arrayfile::ArrayFileError;
use crate::index::vectors::VectorIndexError;
use std::path::PathBuf;

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
}
