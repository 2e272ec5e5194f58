//! `provenance verify`: is every file of an index sound, and do the parts
//! agree? Read-only: unlike opening an index, it never heals or rebuilds,
//! so it can be run beside a server or after a crash to see the damage.

use crate::paths::{IndexPaths, parse_generation_name};
use crate::store::Store;
use crate::text::TextIndex;
use serde::Serialize;
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Ok,
    /// Sound but behind the record store (a crash between commit steps,
    /// or a writer at work): the next open or `rebuild` brings it level.
    Behind,
    Damaged,
}

#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub part: String,
    pub state: State,
    pub message: String,
}

fn check(part: impl Into<String>, state: State, message: impl Into<String>) -> Check {
    Check {
        part: part.into(),
        state,
        message: message.into(),
    }
}

/// Every check, in order: store, generation, text.
pub fn verify(dir: &Path) -> Vec<Check> {
    let paths = IndexPaths::new(dir);
    let (store, seq, records, first) = match verify_store(&paths) {
        Ok(found) => found,
        Err(damaged) => return vec![damaged],
    };
    let mut out = vec![first];
    out.push(verify_generation(&paths, &store, seq));
    out.push(verify_text(&paths, seq, records));
    // The kept sightings are an index of their own (retro-alerts read it).
    if paths.sightings_exist() {
        out.extend(verify(&paths.sightings()));
    }
    out
}

/// The store, its sequence and record count, and its check; or the
/// check that says why nothing else can be checked.
fn verify_store(paths: &IndexPaths) -> Result<(Store, i64, u64, Check), Check> {
    let part = paths.store().display().to_string();
    let damaged = |message: String| check(part.clone(), State::Damaged, message);
    if !paths.store().is_file() {
        return Err(damaged("no record store: not an index".into()));
    }
    // Read only: checking must not upgrade or change what it checks.
    let store = Store::open_reader(&paths.store()).map_err(|e| damaged(e.to_string()))?;
    let problems = store
        .integrity_problems()
        .map_err(|e| damaged(e.to_string()))?;
    if !problems.is_empty() {
        return Err(damaged(problems.join("; ")));
    }
    let (seq, (records, images)) = store
        .seq()
        .and_then(|seq| Ok((seq, store.counts()?)))
        .map_err(|e| damaged(e.to_string()))?;
    let ok = check(
        part.clone(),
        State::Ok,
        format!("{records} records, {images} images, sequence {seq}"),
    );
    Ok((store, seq, records, ok))
}

fn verify_generation(paths: &IndexPaths, store: &Store, seq: i64) -> Check {
    let current = paths.current();
    let name = match std::fs::read_to_string(&current) {
        Ok(n) => n.trim().to_string(),
        Err(_) if seq == 0 => return check("CURRENT", State::Ok, "empty index, no generation yet"),
        Err(e) => return check(current.display().to_string(), State::Damaged, e.to_string()),
    };
    if parse_generation_name(&name).is_none() {
        return check(
            current.display().to_string(),
            State::Damaged,
            format!("names {name:?}, not a generation"),
        );
    }
    let (g, part) = match crate::engine::builder::open_current(paths) {
        Some((id, Ok(g))) => (g, paths.generation(id).display().to_string()),
        Some((id, Err(e @ crate::index::error::GenerationError::Version { .. }))) => {
            // Derived data of another release: sound, and rebuilt from the
            // store (reusing its features) the next time the index opens.
            let part = paths.generation(id).display().to_string();
            let message =
                format!("{e}: rebuilt from the record store when the index is next opened");
            return check(part, State::Behind, message);
        }
        Some((id, Err(e))) => {
            let part = paths.generation(id).display().to_string();
            return check(part, State::Damaged, e.to_string());
        }
        None => {
            let part = paths.root().join(&name).display().to_string();
            return check(part, State::Damaged, "CURRENT vanished while verifying");
        }
    };
    if let Err(e) = g.verify() {
        return check(part, State::Damaged, e.to_string());
    }
    let m = &g.manifest;
    match crate::engine::builder::built_from(m, store) {
        Ok(true) => {}
        Ok(false) => {
            let message = format!(
                "built from another record store (store sequence {}, this one is at {seq}): the store was replaced or restored on its own; restore both from one snapshot, or `rebuild`",
                m.store_seq
            );
            return check(part, State::Damaged, message);
        }
        Err(e) => return check(part, State::Damaged, e.to_string()),
    }
    let images_seq = match store.images_seq() {
        Ok(s) => s,
        Err(e) => return check(part, State::Damaged, e.to_string()),
    };
    if m.store_seq < images_seq {
        return check(
            part,
            State::Behind,
            format!(
                "reflects store sequence {}, images were added at {images_seq}",
                m.store_seq
            ),
        );
    }
    // Since the last build or delta only deletions or field changes may
    // have happened: the generation holds every live image, and maybe
    // dead ones.
    let live = match store.slots_for(&m.embedder) {
        Ok(s) => s,
        Err(e) => return check(part, State::Damaged, e.to_string()),
    };
    let mut held = g.slots();
    held.sort_unstable();
    let missing = live
        .iter()
        .filter(|s| held.binary_search(s).is_err())
        .count();
    if missing > 0 {
        return check(
            part,
            State::Damaged,
            format!(
                "lacks {missing} of the store's {} images: run `provenance rebuild`",
                live.len()
            ),
        );
    }
    let segments = if m.deltas.is_empty() {
        String::new()
    } else {
        format!(" in a base and {} deltas", m.deltas.len())
    };
    let dead = held.len().saturating_sub(live.len());
    let detail = if dead == 0 {
        format!("{} images{segments}, every checksum matches", m.images)
    } else {
        format!(
            "{} images{segments}, every checksum matches; {dead} deleted since (`compact` reclaims them)",
            m.images
        )
    };
    check(part, State::Ok, detail)
}

fn verify_text(paths: &IndexPaths, seq: i64, records: u64) -> Check {
    let part = paths.text().display().to_string();
    // Not made here if missing: checking writes nothing.
    if !paths.text().join("meta.json").is_file() {
        return check(
            part,
            State::Damaged,
            "no text index (`rebuild` makes it from the store)",
        );
    }
    let text = match TextIndex::open_or_create(&paths.text()) {
        Ok(t) => t,
        Err(e) => return check(part, State::Damaged, e.to_string()),
    };
    match text.damaged_files() {
        Ok(files) if files.is_empty() => {}
        Ok(files) => {
            let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
            return check(
                part,
                State::Damaged,
                format!("checksum mismatch in {}", names.join(", ")),
            );
        }
        Err(e) => return check(part, State::Damaged, e.to_string()),
    }
    let text_seq: Option<i64> = std::fs::read_to_string(paths.text_seq())
        .ok()
        .and_then(|s| s.trim().parse().ok());
    if text_seq != Some(seq) {
        return check(
            part,
            State::Behind,
            format!("reflects store sequence {text_seq:?}, the store is at {seq}"),
        );
    }
    let docs = text.num_docs();
    if docs == records {
        check(
            part,
            State::Ok,
            format!("{docs} records, every checksum matches"),
        )
    } else {
        check(
            part,
            State::Damaged,
            format!("holds {docs} records, the store {records}"),
        )
    }
}
