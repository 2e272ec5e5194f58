//! What the development diagnostics share.
use provenance::engine::Engine;
use provenance::index::generation::Generation;
use provenance::store::Store;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

/// The engine of `index`, its generation, and each record's image
/// position there ([`record_positions`]).
pub fn open(index: &Path) -> (Engine, Arc<Generation>, HashMap<String, u32>) {
    let engine = Engine::open(index).unwrap();
    let g = engine.generation();
    let pos = record_positions(index, &g);
    (engine, g, pos)
}

/// Each record's image position in the index's generation `g` (the last
/// image of a record with several).
pub fn record_positions(index: &Path, g: &Generation) -> HashMap<String, u32> {
    let store = Store::open(&index.join("records.sqlite")).unwrap();
    let mut pos = HashMap::new();
    for p in 0..g.len() as u32 {
        if let Some(im) = store.image(g.slot(p)).unwrap() {
            pos.insert(im.record_id, p);
        }
    }
    pos
}
