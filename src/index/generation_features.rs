//! The local features a generation on disk holds, read for a rebuild
//! whatever the generation's own format version.
//!
//! The store releases each image's features once a committed generation
//! holds them, so a rebuild reads them back from the generation. A new
//! release that changes only derived tables (the vocabulary, the posting
//! lists, the vector graph) cannot open the old generation as a whole,
//! but its feature tables are still good when their own version is this
//! build's: reading them takes seconds, where decoding and describing
//! every image again takes hours on a large database.

use crate::describe::orb::FEATURES_VERSION;
use crate::index::arrayfile::MappedArray;
use crate::index::localfeatures::FeatureTable;
use crate::index::segment::{SLOTS_MAGIC, position_in};
use crate::paths::GenerationPaths;
use serde::Deserialize;
use std::path::Path;

/// The part of a manifest every format version has had since local
/// features were stored.
#[derive(Deserialize)]
struct Layout {
    #[serde(default)]
    features_version: u32,
    #[serde(default)]
    deltas: Vec<DeltaDir>,
}

#[derive(Deserialize)]
struct DeltaDir {
    dir: String,
}

/// Each segment's store slots (ascending) and feature table.
pub struct GenerationFeatures {
    segments: Vec<(MappedArray, FeatureTable)>,
}

impl GenerationFeatures {
    /// None when the generation holds no features this build can use
    /// (another features version, missing or damaged tables).
    pub fn open(dir: &Path) -> Option<GenerationFeatures> {
        let manifest = std::fs::read(GenerationPaths(dir).manifest()).ok()?;
        let layout: Layout = serde_json::from_slice(&manifest).ok()?;
        if layout.features_version != FEATURES_VERSION {
            return None;
        }
        let dirs = std::iter::once(dir.to_path_buf())
            .chain(layout.deltas.iter().map(|d| dir.join(&d.dir)));
        let mut segments = Vec::new();
        for d in dirs {
            let p = GenerationPaths(&d);
            let slots = MappedArray::open(&p.slots(), SLOTS_MAGIC, 8).ok()?;
            slots.verify().ok()?;
            let features = FeatureTable::open(&p.features_index(), &p.features()).ok()?;
            if features.len() != slots.len() {
                return None;
            }
            segments.push((slots, features));
        }
        Some(GenerationFeatures { segments })
    }

    pub fn holds_slot(&self, slot: i64) -> bool {
        self.segments
            .iter()
            .any(|(slots, _)| position_in(slots, slot).is_some())
    }

    /// The features blob (as the store keeps it) of the image in store
    /// slot `slot`: None if no segment holds it or its entry is damaged.
    pub fn features_blob_of_slot(&self, slot: i64) -> Option<Vec<u8>> {
        self.segments.iter().find_map(|(slots, table)| {
            let pos = position_in(slots, slot)?;
            table.get_checked(pos).ok().map(|f| f.as_ref().to_blob())
        })
    }
}
