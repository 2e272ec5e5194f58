//! `snapshot` (a consistent copy of an index, taken while it serves) and
//! `export` (portable JSONL + images that `import` reads back).

use crate::paths::{IndexPaths, parse_generation_name};
use crate::store::writelock::WriteLock;
use crate::store::{Store, StoreError};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}: already exists; a snapshot or export goes into a new folder")]
    Exists(PathBuf),
    #[error("{0}: no index here")]
    NoIndex(PathBuf),
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> SnapshotError + '_ {
    move |source| SnapshotError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// What a snapshot or export wrote.
#[derive(Debug, Default, serde::Serialize)]
pub struct Written {
    pub records: u64,
    pub files: u64,
    pub bytes: u64,
    /// Images an export left out, each named with its record and why.
    pub left_out: Vec<String>,
}

/// [`crate::paths::link_tree`], counted in `w`.
fn link_tree(from: &Path, to: &Path, w: &mut Written) -> Result<(), SnapshotError> {
    let linked = crate::paths::link_tree(from, to)
        .map_err(|(path, source)| SnapshotError::Io { path, source })?;
    w.files += linked.files;
    w.bytes += linked.bytes;
    Ok(())
}

/// Copies a file and makes the copy durable (a snapshot reported done must
/// survive a power cut as it was reported).
fn copy_file(from: &Path, to: &Path, w: &mut Written) -> Result<(), SnapshotError> {
    if from.is_file() {
        w.bytes += std::fs::copy(from, to).map_err(io(from))?;
        std::fs::File::open(to)
            .and_then(|f| f.sync_all())
            .map_err(io(to))?;
        w.files += 1;
    }
    Ok(())
}

/// The folder a snapshot or an export is written in before it is renamed
/// to `out`: beside it, named after all of it (`a.v1` and `a.v2` must not
/// share one).
fn staging(out: &Path) -> PathBuf {
    let name = out
        .file_name()
        .map_or("out".into(), |n| n.to_string_lossy());
    out.with_file_name(format!("{name}.partial"))
}

/// Renames the staged folder to `out` and makes the rename durable.
fn finish(tmp: &Path, out: &Path) -> Result<(), SnapshotError> {
    crate::paths::sync_dir(tmp).map_err(io(tmp))?;
    std::fs::rename(tmp, out).map_err(io(out))?;
    let parent = out.parent().filter(|d| !d.as_os_str().is_empty());
    crate::paths::sync_dir(parent.unwrap_or(Path::new("."))).map_err(io(out))
}

/// Copies the index in `dir` to `out` (a new folder) so that the copy is
/// one committed state: the write lock is held meanwhile, so writers
/// wait and readers (a running server) go on. Generations and tantivy
/// segments are immutable once written, so they are hard-linked; the
/// store is copied by SQLite itself. Reference images outside the index
/// (imported from files) are not copied: `export` carries them.
pub fn snapshot(dir: &Path, out: &Path) -> Result<Written, SnapshotError> {
    let src = IndexPaths::new(dir);
    if !src.store().is_file() {
        return Err(SnapshotError::NoIndex(dir.to_path_buf()));
    }
    if out.exists() {
        return Err(SnapshotError::Exists(out.to_path_buf()));
    }
    let dst = IndexPaths::new(out);
    let _lock = WriteLock::acquire(&src.write_lock()).map_err(io(&src.write_lock()))?;
    // Written beside, renamed at the end: a crash leaves no half snapshot
    // under the name asked for.
    let tmp = staging(out);
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(io(&tmp))?;
    }
    let staged = IndexPaths::new(&tmp);
    std::fs::create_dir_all(&tmp).map_err(io(&tmp))?;
    let mut w = Written::default();
    let store = Store::open(&src.store())?;
    store.copy_to(&staged.store())?;
    w.records = store.counts()?.0;
    w.files += 1;
    if let Some(name) = std::fs::read_to_string(src.current())
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|n| parse_generation_name(n).is_some())
    {
        link_tree(&src.root().join(&name), &staged.root().join(&name), &mut w)?;
        copy_file(&src.current(), &staged.current(), &mut w)?;
    }
    if src.text().is_dir() {
        link_tree(&src.text(), &staged.text(), &mut w)?;
        // meta.json is replaced on commit, never written in place, but a
        // copy keeps the snapshot independent of the next commit anyway.
        let meta = staged.text().join("meta.json");
        if meta.exists() {
            std::fs::remove_file(&meta).map_err(io(&meta))?;
            copy_file(&src.text().join("meta.json"), &meta, &mut w)?;
        }
        let _ = std::fs::remove_file(staged.text().join(".tantivy-writer.lock"));
        let _ = std::fs::remove_file(staged.text().join(".tantivy-meta.lock"));
        crate::paths::sync_dir(&staged.text()).map_err(io(&staged.text()))?;
        copy_file(&src.text_seq(), &staged.text_seq(), &mut w)?;
    }
    if src.uploads().is_dir() {
        link_tree(&src.uploads(), &staged.uploads(), &mut w)?;
    }
    for name in ["keys.json", "audit.jsonl"] {
        copy_file(&src.root().join(name), &staged.root().join(name), &mut w)?;
    }
    // Kept sightings are an index of their own, copied the same way
    // under their own lock.
    if src.sightings_exist() {
        let inner = snapshot(&src.sightings(), &staged.sightings())?;
        w.files += inner.files;
        w.bytes += inner.bytes;
    }
    write_manifest(&tmp)?;
    finish(&tmp, dst.root())?;
    Ok(w)
}

/// Every file of a snapshot with its size, written last: a copy of the
/// snapshot is whole when every file it lists is there at that size
/// ([`is_whole`]), which a replica checks before it opens anything.
const MANIFEST: &str = "MANIFEST";

fn write_manifest(dir: &Path) -> Result<(), SnapshotError> {
    let mut lines = Vec::new();
    list_files(dir, dir, &mut lines)?;
    lines.sort();
    let text: String = lines.iter().map(|(p, n)| format!("{n}\t{p}\n")).collect();
    let path = dir.join(MANIFEST);
    crate::paths::write_atomic(&path, text.as_bytes()).map_err(io(&path))
}

fn list_files(root: &Path, dir: &Path, out: &mut Vec<(String, u64)>) -> Result<(), SnapshotError> {
    for e in std::fs::read_dir(dir).map_err(io(dir))? {
        let e = e.map_err(io(dir))?;
        let path = e.path();
        let meta = e.metadata().map_err(io(&path))?;
        if meta.is_dir() {
            list_files(root, &path, out)?;
        } else {
            let rel = path.strip_prefix(root).unwrap_or(&path);
            out.push((rel.to_string_lossy().into_owned(), meta.len()));
        }
    }
    Ok(())
}

/// Whether a copy of a snapshot is whole: every file its MANIFEST lists
/// is there at its size. Reads sizes only, writes nothing.
pub fn is_whole(dir: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(dir.join(MANIFEST))
        .map_err(|e| format!("no {MANIFEST} yet ({e})"))?;
    for line in text.lines().filter(|l| !l.is_empty()) {
        let (size, rel) = line
            .split_once('\t')
            .ok_or_else(|| format!("{MANIFEST}: a line without a size: {line:?}"))?;
        if rel.split('/').any(|part| part == "..") {
            return Err(format!("{MANIFEST} names {rel:?} outside the snapshot"));
        }
        let want: u64 = size
            .parse()
            .map_err(|_| format!("{MANIFEST}: not a size: {size:?}"))?;
        match std::fs::metadata(dir.join(rel)) {
            Ok(m) if m.len() == want => {}
            Ok(m) => return Err(format!("{rel} has {} of its {want} bytes", m.len())),
            Err(_) => return Err(format!("{rel} is not there yet")),
        }
    }
    Ok(())
}

/// The file in a folder of snapshots that names the live one.
pub fn current_file(root: &Path) -> PathBuf {
    root.join("CURRENT")
}

/// The snapshot a folder of snapshots names as live, if any.
pub fn current_snapshot(root: &Path) -> Option<String> {
    std::fs::read_to_string(current_file(root))
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty() && !s.contains('/') && s != "." && s != "..")
}

/// Takes a snapshot into `root/snap-<UTC time>` and then names it live in
/// `root/CURRENT` (an atomic rename): replicas that follow `root`
/// (`serve --follow`) switch to it once it verifies. Returns its name.
pub fn publish(dir: &Path, root: &Path) -> Result<(String, Written), SnapshotError> {
    std::fs::create_dir_all(root).map_err(io(root))?;
    let stamp: String = humantime::format_rfc3339_seconds(std::time::SystemTime::now())
        .to_string()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect();
    let mut name = format!("snap-{stamp}");
    let mut n = 1;
    while root.join(&name).exists() {
        n += 1;
        name = format!("snap-{stamp}-{n}");
    }
    let w = snapshot(dir, &root.join(&name))?;
    crate::paths::write_atomic(&current_file(root), format!("{name}\n").as_bytes())
        .map_err(io(&current_file(root)))?;
    Ok((name, w))
}

/// Writes every record to `out/records.jsonl` with its images copied to
/// `out/images/` (named by content, so shared photos are stored once), in
/// the form `import` reads: a portable copy for another site or system.
pub fn export(dir: &Path, out: &Path) -> Result<Written, SnapshotError> {
    let src = IndexPaths::new(dir);
    if !src.store().is_file() {
        return Err(SnapshotError::NoIndex(dir.to_path_buf()));
    }
    if out.exists() {
        return Err(SnapshotError::Exists(out.to_path_buf()));
    }
    // Written beside, renamed at the end: a crash leaves no export cut
    // short under the name asked for (an import would take it as whole).
    let tmp = staging(out);
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(io(&tmp))?;
    }
    let w = export_into(&src, &tmp)?;
    finish(&tmp, out)?;
    Ok(w)
}

fn export_into(src: &IndexPaths, out: &Path) -> Result<Written, SnapshotError> {
    use std::io::Write;
    let images = out.join("images");
    std::fs::create_dir_all(&images).map_err(io(&images))?;
    // One read transaction for the whole export: a consistent state even
    // while imports go on.
    let store = Store::open(&src.store())?;
    let jsonl = out.join("records.jsonl");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&jsonl).map_err(io(&jsonl))?);
    let mut w = Written::default();
    store.in_read_transaction(|store| {
        let mut records = Vec::new();
        store.for_each_record(|r| records.push(r))?;
        records.sort_by(|a, b| a.id.cmp(&b.id));
        for mut r in records {
            let mut names = Vec::new();
            for (n, (p, imported)) in store.imported_files(&r.id)?.into_iter().enumerate() {
                let path = PathBuf::from(&p);
                // An image is exported as the index described it, or not at
                // all: a file since moved, or holding other bytes, would
                // give the copy another picture (or none) under this record.
                let left_out = |why: String| format!("record {}: image {n} ({p}): {why}", r.id);
                let bytes = match std::fs::read(&path) {
                    Ok(b) => b,
                    Err(e) => {
                        w.left_out.push(left_out(format!("cannot be read ({e})")));
                        continue;
                    }
                };
                // As the import hashed it, so that the two compare.
                let sha = crate::engine::sha256_hex(&bytes);
                if imported.as_ref().is_some_and(|i| *i != sha) {
                    w.left_out.push(left_out(
                        "the file changed since it was imported (its SHA-256 differs); import the record again to describe it as it is now".into(),
                    ));
                    continue;
                }
                let ext = path
                    .extension()
                    .and_then(|e| e.to_str())
                    .map(|e| format!(".{}", e.to_ascii_lowercase()))
                    .unwrap_or_default();
                let name = format!("images/{}{ext}", &sha[..32]);
                let dest = out.join(&name);
                if !dest.exists() {
                    std::fs::File::create(&dest)
                        .and_then(|mut f| f.write_all(&bytes).and_then(|()| f.sync_all()))
                        .map_err(io(&dest))?;
                    w.files += 1;
                    w.bytes += bytes.len() as u64;
                }
                names.push(name);
            }
            r.images = names;
            let line = serde_json::to_string(&r).expect("records serialise");
            writeln!(f, "{line}").map_err(io(&jsonl))?;
            w.records += 1;
        }
        Ok::<(), SnapshotError>(())
    })?;
    f.flush().map_err(io(&jsonl))?;
    f.get_ref().sync_all().map_err(io(&jsonl))?;
    crate::paths::sync_dir(&images).map_err(io(&images))?;
    Ok(w)
}
