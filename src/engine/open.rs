//! Opening an index (healing what a crash left behind) and its one
//! writer's lock.

use super::builder::{
    build_generation, built_from, named_generation, newest_finished, open_current, point_current,
    update_generation,
};
use super::{Engine, EngineError, Readers};
use crate::describe::describer::Describer;
use crate::describe::embed::{ColourLayoutEmbedder, Embedder};
use crate::imaging::limits::DecodeLimits;
use crate::index::error::GenerationError;
use crate::index::generation::Generation;
use crate::paths::IndexPaths;
use crate::store::Store;
use crate::store::writelock::WriteLock;
use crate::text::TextIndex;
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};

impl Engine {
    /// Opens (creating if needed) the index in `dir`, healing derived
    /// indexes that lag behind the record store (e.g. after a crash).
    pub fn open(dir: &Path) -> Result<Engine, EngineError> {
        Self::open_with(dir, Arc::new(ColourLayoutEmbedder))
    }

    pub fn open_with(dir: &Path, embedder: Arc<dyn Embedder>) -> Result<Engine, EngineError> {
        Self::open_inner(dir, embedder, false)
    }

    /// Opens an index to regenerate its derived indexes: the current
    /// generation is not read at all (it may be damaged), a new one is
    /// built from the record store.
    pub fn open_for_rebuild(
        dir: &Path,
        embedder: Arc<dyn Embedder>,
    ) -> Result<Engine, EngineError> {
        Self::open_inner(dir, embedder, true)
    }

    fn open_inner(
        dir: &Path,
        embedder: Arc<dyn Embedder>,
        ignore_generation: bool,
    ) -> Result<Engine, EngineError> {
        std::fs::create_dir_all(dir).map_err(|source| EngineError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let paths = IndexPaths::new(dir);
        let lock_io = |source| EngineError::Io {
            path: paths.write_lock(),
            source,
        };
        // A `CURRENT` lost or damaged, or naming a generation that is not
        // there: the newest finished generation is what it named (or a
        // build a crash stopped at the switch), and its features are kept.
        let named = named_generation(&paths);
        let adopted = named.is_none().then(|| newest_finished(&paths)).flatten();
        if let Some(id) = adopted
            && paths.current().exists()
        {
            eprintln!(
                "{}: unreadable or naming no generation; opening {} beside it",
                paths.current().display(),
                paths.generation(id).display()
            );
        }
        let current = named.or(adopted);
        // A `CURRENT` that names no generation, with neither a generation
        // nor a record store beside it: a folder of snapshots (its
        // `CURRENT` names `snap-…`) or something else; never turned into a
        // new, empty index.
        if current.is_none()
            && !paths.store().exists()
            && let Ok(text) = std::fs::read_to_string(paths.current())
        {
            return Err(EngineError::NotAnIndex {
                current: paths.current(),
                names: text.trim().chars().take(80).collect(),
            });
        }
        // Healing (building a generation, re-indexing text) is a write.
        // While another process writes, open what it last committed: it
        // is consistent, only behind, and the writer brings it up to date.
        let mut lock = WriteLock::try_acquire(&paths.write_lock()).map_err(lock_io)?;
        if lock.is_none() && (ignore_generation || current.is_none()) {
            lock = Some(WriteLock::acquire(&paths.write_lock()).map_err(lock_io)?);
        }
        // Never a new, empty store beside a generation built from another.
        if let Some(id) = current
            && !paths.store().exists()
        {
            return Err(EngineError::NoStore {
                store: paths.store(),
                generation: paths.generation(id),
            });
        }
        let store = Store::open(&paths.store())?;
        let text = open_text(&paths, lock.is_some())?;
        let seq = store.seq()?;
        let describer = Describer::new(embedder);
        let generation = match current {
            Some(_) if ignore_generation => None,
            Some(_) => match adopted
                .map(|id| Generation::open(&paths.generation(id)))
                .or_else(|| open_current(&paths).map(|(_, g)| g))
            {
                Some(Ok(g)) => Some(g),
                // Another version's format: derived data, rebuilt below.
                Some(Err(GenerationError::Version { .. })) if lock.is_some() => None,
                Some(Err(e)) => return Err(e.into()),
                None => None,
            },
            None => None,
        };
        if let Some(g) = &generation
            && !built_from(&g.manifest, &store)?
        {
            return Err(EngineError::ForeignGeneration {
                generation: g.dir.clone(),
                store: paths.store(),
                root: paths.root().to_path_buf(),
            });
        }
        if let Some(g) = &generation
            && g.manifest.embedder != describer.embedder().id()
            && g.manifest.images > 0
        {
            // Rebuilding would drop every image described by the other
            // embedder: refuse, and say how to open it.
            return Err(EngineError::Embedder {
                index: g.manifest.embedder.clone(),
                configured: describer.embedder().id().to_string(),
            });
        }
        // Only added images make a generation stale: deletions and field
        // changes take effect through the store, which every candidate is
        // resolved against (`compact` reclaims the dead entries).
        let images_seq = store.images_seq()?;
        let stale = generation.as_ref().is_none_or(|g| {
            g.manifest.store_seq < images_seq || g.manifest.embedder != describer.embedder().id()
        });
        if let (Some(id), Some(_)) = (adopted, &lock)
            && !stale
        {
            point_current(&paths, id)?;
        }
        let generation = match generation {
            Some(g) if !stale || lock.is_none() => g,
            // A heal that fails (a full disk) must not keep the committed,
            // only older, generation from being searched.
            Some(g) => update_generation(&paths, &describer, &g).unwrap_or_else(|e| {
                eprintln!(
                    "cannot bring {} up to the record store ({e}): searching it as it is",
                    g.dir.display()
                );
                g
            }),
            None => build_generation(&paths, &describer, current.unwrap_or(0))?,
        };
        let engine = Engine {
            readers: Readers::new(paths.store()),
            paths,
            store: Mutex::new(store),
            text,
            generation: RwLock::new(Arc::new(generation)),
            describer,
            limits: DecodeLimits::default(),
            sightings: Mutex::new(None),
            text_pending: Mutex::new(None),
        };
        if lock.is_some()
            && engine.text_seq() != seq
            && let Err(e) = engine.rebuild_text()
        {
            eprintln!(
                "cannot bring the text index up to the record store ({e}): searching it as it is"
            );
        }
        Ok(engine)
    }

    /// Waits until no other process writes to this index, then holds it
    /// off until the lock is dropped. Every caller of [`Engine::upsert`],
    /// [`Engine::delete`], [`Engine::refresh`] and [`Engine::rebuild`]
    /// holds it.
    pub fn lock_writes(&self) -> Result<WriteLock, EngineError> {
        let lock =
            WriteLock::acquire(&self.paths.write_lock()).map_err(|source| EngineError::Io {
                path: self.paths.write_lock(),
                source,
            })?;
        self.check_store()?;
        Ok(lock)
    }

    /// Refuses to go on with a store file replaced under this process.
    pub fn check_store(&self) -> Result<(), EngineError> {
        self.store_to_write().map(drop)
    }

    /// The store, to write to: refused where its file was replaced under
    /// this process (what it wrote would be lost, or mixed into the new
    /// file through the write-ahead log). Every write takes it this way.
    pub(crate) fn store_to_write(
        &self,
    ) -> Result<std::sync::MutexGuard<'_, crate::store::Store>, EngineError> {
        let store = self.store();
        match store.replaced() {
            true => Err(EngineError::StoreReplaced {
                store: self.paths.store(),
            }),
            false => Ok(store),
        }
    }

    /// As [`Engine::lock_writes`], waiting at most `wait`: a request must
    /// not wait out an hour's import and then write after its client was
    /// told it timed out. [`EngineError::Busy`] names the holder.
    pub fn lock_writes_within(&self, wait: std::time::Duration) -> Result<WriteLock, EngineError> {
        let io = |source| EngineError::Io {
            path: self.paths.write_lock(),
            source,
        };
        let lock = WriteLock::acquire_within(&self.paths.write_lock(), wait)
            .map_err(io)?
            .map_err(|busy| EngineError::Busy {
                holder: busy.holder,
                waited: format!("{:.1} s", wait.as_secs_f64()),
            })?;
        self.check_store()?;
        Ok(lock)
    }
}

/// Opens the text index. It is derived data: one this build cannot read
/// (an older schema or analysis, a damaged file) is set aside and rebuilt
/// from the record store, never served; but only by the process holding
/// the write lock (`may_heal`), never from under another process writing.
fn open_text(paths: &IndexPaths, may_heal: bool) -> Result<TextIndex, EngineError> {
    match TextIndex::open_or_create(&paths.text()) {
        Ok(t) => Ok(t),
        Err(e) if !may_heal => Err(e.into()),
        Err(_) => {
            let io = |source| EngineError::Io {
                path: paths.text(),
                source,
            };
            std::fs::remove_dir_all(paths.text()).map_err(io)?;
            let _ = std::fs::remove_file(paths.text_seq());
            Ok(TextIndex::open_or_create(&paths.text())?)
        }
    }
}
