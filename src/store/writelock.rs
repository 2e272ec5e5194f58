//! One writer per index at a time, across processes.
//!
//! A `provenance import` in a shell and `provenance serve` taking a PUT
//! may run against the same index: both append to the store and then
//! build the next generation, and two builders of `gen-N+1` would destroy
//! each other's files. Every write path holds this lock (an advisory
//! `flock` on `write.lock`, released by the kernel when the process dies,
//! so a killed import never leaves the index locked). Readers never take it.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::Path;

/// Held while writing; dropping it lets the next writer in.
#[derive(Debug)]
pub struct WriteLock {
    _file: File,
}

fn open(path: &Path) -> std::io::Result<File> {
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
}

impl WriteLock {
    /// Waits for the lock, saying so: an import that seems to hang is
    /// waiting for another writer.
    pub fn acquire(path: &Path) -> std::io::Result<WriteLock> {
        let file = open(path)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                eprintln!(
                    "{}: another process is writing to this index; waiting for it to finish",
                    path.display()
                );
                file.lock()?;
            }
            Err(TryLockError::Error(e)) => return Err(e),
        }
        Ok(WriteLock { _file: file })
    }

    /// Takes the lock if nobody holds it.
    pub fn try_acquire(path: &Path) -> std::io::Result<Option<WriteLock>> {
        let file = open(path)?;
        match file.try_lock() {
            Ok(()) => Ok(Some(WriteLock { _file: file })),
            Err(TryLockError::WouldBlock) => Ok(None),
            Err(TryLockError::Error(e)) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::WriteLock;

    #[test]
    fn second_writer_waits_until_the_first_is_done() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("write.lock");
        let first = WriteLock::acquire(&path).unwrap();
        assert!(WriteLock::try_acquire(&path).unwrap().is_none());
        drop(first);
        assert!(WriteLock::try_acquire(&path).unwrap().is_some());
    }
}
