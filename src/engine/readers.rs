//! Read connections to the record store, kept for reuse: the searches
//! running at once read their candidates' images and records each on its
//! own connection, not in turn behind the one that writes.

use crate::store::{Store, StoreError};
use std::ops::Deref;
use std::path::PathBuf;
use std::sync::Mutex;

pub(crate) struct Readers {
    path: PathBuf,
    idle: Mutex<Vec<Store>>,
    /// Idle connections kept: one per search that can run at once; more
    /// would only hold page caches.
    keep: usize,
}

impl Readers {
    pub fn new(path: PathBuf) -> Readers {
        let keep = std::thread::available_parallelism().map_or(2, |n| n.get());
        Readers {
            path,
            idle: Mutex::new(Vec::new()),
            keep,
        }
    }

    /// An idle connection, or a new one when all are in use.
    pub fn get(&self) -> Result<Reader<'_>, StoreError> {
        let idle = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let store = match idle {
            Some(s) => s,
            None => Store::open_reader(&self.path)?,
        };
        Ok(Reader {
            store: Some(store),
            pool: self,
        })
    }
}

/// A read connection, back to the pool when dropped.
pub(crate) struct Reader<'a> {
    store: Option<Store>,
    pool: &'a Readers,
}

impl Deref for Reader<'_> {
    type Target = Store;
    fn deref(&self) -> &Store {
        self.store
            .as_ref()
            .expect("a reader holds its store until dropped")
    }
}

impl Drop for Reader<'_> {
    fn drop(&mut self) {
        let mut idle = self.pool.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < self.pool.keep
            && let Some(s) = self.store.take()
        {
            idle.push(s);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readers_read_side_by_side_and_never_write() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("records.sqlite");
        let writer = Store::open(&path).unwrap();
        let readers = Readers::new(path);
        let (a, b) = (readers.get().unwrap(), readers.get().unwrap());
        assert_eq!(a.seq().unwrap(), writer.seq().unwrap());
        assert_eq!(b.counts().unwrap(), (0, 0));
        assert!(
            a.delete_alerts_of("anything").is_err(),
            "a reader cannot write"
        );
        drop((a, b));
        assert_eq!(readers.idle.lock().unwrap().len(), 2, "kept for reuse");
    }
}
