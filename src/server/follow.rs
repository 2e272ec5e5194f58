//! `serve --follow ROOT`: a replica serving the snapshot that
//! `ROOT/CURRENT` names (`provenance snapshot --into ROOT`, or a copy of
//! such a folder on each replica's own disk). It switches to a newer one
//! only once the newer one verifies whole (every checksum, store and
//! indexes agreeing): a snapshot still being copied, in any order, is
//! never served; the one before goes on answering meanwhile. A request
//! keeps the index it started with to its end. A replica takes no writes:
//! they would land in a copy the next switch drops.

use super::AppState;
use crate::engine::Engine;
use crate::jobs::snapshot::current_snapshot;
use crate::jobs::verify::{State, verify};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// Opens the snapshot `root/CURRENT` names, if it verifies whole.
pub fn open(
    root: &Path,
    embedder: Arc<dyn crate::describe::embed::Embedder>,
) -> anyhow::Result<(String, Engine)> {
    let name = current_snapshot(root).ok_or_else(|| {
        anyhow::anyhow!(
            "{}: no snapshot named (make one with `provenance snapshot --index DIR --into {}`)",
            crate::jobs::snapshot::current_file(root).display(),
            root.display()
        )
    })?;
    let refused = match open_named(root, name.clone(), Arc::clone(&embedder)) {
        Ok(served) => return Ok(served),
        Err(e) => e,
    };
    // Starting on a snapshot that cannot be served (damaged, or copied in
    // part): the newest older one that verifies answers meanwhile, as a
    // running replica keeps its last one; the watcher switches once
    // CURRENT names one that verifies. None at all: the first error.
    for older in older_snapshots(root, &name) {
        if let Ok((older, engine)) = open_named(root, older, Arc::clone(&embedder)) {
            tracing::error!(
                "{refused}; serving {older}, the newest older snapshot that verifies, until {} names one that does",
                crate::jobs::snapshot::current_file(root).display()
            );
            return Ok((older, engine));
        }
    }
    Err(refused)
}

/// Snapshots in `root` named before `name` (their names are their UTC
/// times), newest first. A folder named after it is not yet published.
fn older_snapshots(root: &Path, name: &str) -> Vec<String> {
    let mut older: Vec<String> = std::fs::read_dir(root)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.starts_with("snap-") && n.as_str() < name)
        .collect();
    older.sort_unstable_by(|a, b| b.cmp(a));
    older
}

/// Opens snapshot `name` of `root`, if it verifies whole.
fn open_named(
    root: &Path,
    name: String,
    embedder: Arc<dyn crate::describe::embed::Embedder>,
) -> anyhow::Result<(String, Engine)> {
    let dir = root.join(&name);
    // Sizes first, touching nothing: a copy in progress is left alone.
    crate::jobs::snapshot::is_whole(&dir)
        .map_err(|e| anyhow::anyhow!("snapshot {name} is not whole (still being copied?): {e}"))?;
    let problems: Vec<String> = verify(&dir)
        .into_iter()
        .filter(|c| c.state != State::Ok)
        .map(|c| format!("{}: {}", c.part, c.message))
        .collect();
    if !problems.is_empty() {
        anyhow::bail!("snapshot {name} is damaged: {}", problems.join("; "));
    }
    Ok((name, Engine::open_with(&dir, embedder)?))
}

/// Every second: a snapshot named that is not the one served is opened
/// and swapped in once it verifies.
pub async fn watch(st: Arc<AppState>, root: std::path::PathBuf) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut refused: Option<String> = None;
    let mut damaged: Option<String> = None;
    loop {
        tick.tick().await;
        let named = current_snapshot(&root);
        if named.is_none() || named == st.snapshot() || named == damaged {
            continue;
        }
        // Whole or not is a look at sizes, every second; verifying reads
        // every byte, once per whole snapshot.
        if let Some(name) = &named
            && let Err(e) = crate::jobs::snapshot::is_whole(&root.join(name))
        {
            if refused != named {
                tracing::warn!(
                    "not switching to {name} yet (the previous snapshot goes on serving): {e}"
                );
                refused = named;
            }
            continue;
        }
        let Some(name) = named.clone() else { continue };
        let embedder = st.engine().describer().embedder_arc();
        let from = root.clone();
        // The snapshot looked at, not CURRENT read again: it may have moved
        // on, and a damaged one must be the one remembered as damaged.
        match tokio::task::spawn_blocking(move || open_named(&from, name, embedder)).await {
            Ok(Ok((name, engine))) => {
                tracing::info!(snapshot = %name, "serving a newer snapshot");
                st.switch(name, engine);
                refused = None;
            }
            Ok(Err(e)) => {
                // Whole but damaged: not tried again until CURRENT moves on.
                tracing::error!("not switching (the previous snapshot goes on serving): {e}");
                damaged = named;
            }
            Err(e) => tracing::error!("snapshot switch failed: {e}"),
        }
    }
}
