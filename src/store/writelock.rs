//! One writer per index at a time, across processes.
//!
//! A `provenance import` in a shell and `provenance serve` taking a PUT
//! may run against the same index: both append to the store and then
//! build the next generation, and two builders of `gen-N+1` would destroy
//! each other's files. Every write path holds this lock (an advisory
//! `flock` on `write.lock`, released by the kernel when the process dies,
//! so a killed import never leaves the index locked). Readers never take it.
//!
//! The holder writes who it is into the file (process, command, since when)
//! and empties it when done, so that a writer kept waiting can say what
//! it waits for: an officer's change refused during a nightly import is
//! told so, not left hanging (`Engine::lock_writes_within`).

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Seek, Write};
use std::path::Path;
use std::time::{Duration, Instant};

/// Held while writing; dropping it lets the next writer in.
#[derive(Debug)]
pub struct WriteLock {
    file: File,
}

/// The lock stayed taken for the whole wait.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Busy {
    /// Who holds it, as the holder wrote it ("pid 4242: provenance import
    /// nightly.jsonl, since 2026-12-06T02:00:13Z"), or a plain phrase when
    /// it wrote nothing (a release before this one).
    pub holder: String,
}

/// Between two tries while waiting with a bound: a writer's turn comes a
/// few milliseconds late at most, against writes that take seconds.
const POLL: Duration = Duration::from_millis(20);

fn open(path: &Path) -> std::io::Result<File> {
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(path)
}

/// Who holds the lock at `path`, as its holder wrote it.
pub fn holder(path: &Path) -> String {
    let note = std::fs::read_to_string(path).unwrap_or_default();
    let note = note.trim();
    if note.is_empty() {
        "another process".to_string()
    } else {
        note.chars().take(300).collect()
    }
}

impl WriteLock {
    /// Writes who holds it; a note that cannot be written (a full disk)
    /// only makes a waiter's message vaguer.
    fn taken(mut file: File) -> WriteLock {
        // The program by its name, its arguments as given (lossily: a
        // file name need not be UTF-8).
        // A URL may carry a token (a webhook's): never shown to a waiter.
        let mut args: Vec<String> = std::env::args_os()
            .map(|a| a.to_string_lossy().into_owned())
            .map(|a| {
                if a.contains("://") {
                    "<url>".to_string()
                } else {
                    a
                }
            })
            .collect();
        if let Some(name) = args
            .first()
            .and_then(|p| Path::new(p).file_name())
            .map(|n| n.to_string_lossy().into_owned())
        {
            args[0] = name;
        }
        let since = humantime::format_rfc3339_seconds(std::time::SystemTime::now());
        let note = format!(
            "pid {}: {}, since {since}\n",
            std::process::id(),
            args.join(" ")
        );
        let _ = file
            .set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| file.write_all(note.as_bytes()));
        WriteLock { file }
    }

    /// Waits for the lock, saying so and for whom: an import that seems to
    /// hang is waiting for another writer.
    pub fn acquire(path: &Path) -> std::io::Result<WriteLock> {
        let file = open(path)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                eprintln!(
                    "{}: another process is writing to this index ({}); waiting for it to finish",
                    path.display(),
                    holder(path)
                );
                file.lock()?;
            }
            Err(TryLockError::Error(e)) => return Err(e),
        }
        Ok(WriteLock::taken(file))
    }

    /// Takes the lock if nobody holds it.
    pub fn try_acquire(path: &Path) -> std::io::Result<Option<WriteLock>> {
        let file = open(path)?;
        match file.try_lock() {
            Ok(()) => Ok(Some(WriteLock::taken(file))),
            Err(TryLockError::WouldBlock) => Ok(None),
            Err(TryLockError::Error(e)) => Err(e),
        }
    }

    /// Waits at most `wait` for the lock; past it, says who holds it.
    pub fn acquire_within(path: &Path, wait: Duration) -> std::io::Result<Result<WriteLock, Busy>> {
        let file = open(path)?;
        let started = Instant::now();
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(Ok(WriteLock::taken(file))),
                Err(TryLockError::WouldBlock) if started.elapsed() < wait => {
                    std::thread::sleep(POLL.min(wait.saturating_sub(started.elapsed())));
                }
                Err(TryLockError::WouldBlock) => {
                    return Ok(Err(Busy {
                        holder: holder(path),
                    }));
                }
                Err(TryLockError::Error(e)) => return Err(e),
            }
        }
    }
}

impl Drop for WriteLock {
    /// Empties the note before the lock goes (closing the file releases
    /// it): a stale note would name a writer long gone.
    fn drop(&mut self) {
        let _ = self.file.set_len(0);
    }
}

#[cfg(test)]
mod tests {
    use super::{WriteLock, holder};

    #[test]
    fn second_writer_waits_until_the_first_is_done() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("write.lock");
        let first = WriteLock::acquire(&path).unwrap();
        assert!(WriteLock::try_acquire(&path).unwrap().is_none());
        drop(first);
        assert!(WriteLock::try_acquire(&path).unwrap().is_some());
    }

    #[test]
    fn a_bounded_wait_names_the_holder_and_a_freed_lock_forgets_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("write.lock");
        let first = WriteLock::acquire(&path).unwrap();
        let wait = std::time::Duration::from_millis(60);
        let busy = WriteLock::acquire_within(&path, wait).unwrap().unwrap_err();
        let pid = format!("pid {}: ", std::process::id());
        assert!(busy.holder.starts_with(&pid), "{busy:?}");
        assert!(busy.holder.contains(", since 20"), "{busy:?}");
        drop(first);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "");
        assert_eq!(holder(&path), "another process");
        let second = WriteLock::acquire_within(&path, wait).unwrap();
        assert!(second.is_ok());
    }
}
