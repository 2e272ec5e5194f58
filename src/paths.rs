//! Every file name under an index directory, in one place.
//!
//! ```text
//! index-data/
//!   records.sqlite        source of truth (records + per-image descriptors)
//!   text/                 tantivy index of the record fields
//!   text.seq              store sequence the text index was last committed at
//!   CURRENT               name of the live generation, replaced atomically
//!   gen-000042/           one immutable generation of the image indexes
//!     manifest.json       counts, versions, store sequence, its delta segments
//!     vocabulary.bin      visual words, shared by every segment
//!     slots.bin           the base segment: dense position -> image slot in the store
//!     hashes.bin          perceptual hashes, one pair per position
//!     vectors.bin         embeddings, one row per position
//!     graph.bin           approximate-neighbour (HNSW) graph over vectors.bin, layer 0
//!     graph-upper.*       its upper layers (.idx, .bin); these and vectors.bin are
//!                         named in `index::vectors::files`
//!     features.*          local features per position (.idx, .bin)
//!     words.*             visual-word postings (.idx, .bin) and word weights (.idf)
//!     delta-41/           a delta segment: the base segment's files above, for the
//!                         images imported since (no manifest, no vocabulary)
//!   uploads/              images uploaded through the HTTP API, by SHA-256
//!   sightings/            kept sightings: an index laid out like this one,
//!                         its uploads/ the photos kept from API searches
//!   keys.json, audit.jsonl  `serve`'s API keys (hashes) and audit log
//!   write.lock            held by the one process writing
//! ```

use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct IndexPaths {
    root: PathBuf,
}

impl IndexPaths {
    pub fn new(root: &Path) -> IndexPaths {
        IndexPaths {
            root: root.to_path_buf(),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn store(&self) -> PathBuf {
        self.root.join("records.sqlite")
    }

    pub fn text(&self) -> PathBuf {
        self.root.join("text")
    }

    pub fn text_seq(&self) -> PathBuf {
        self.root.join("text.seq")
    }

    pub fn current(&self) -> PathBuf {
        self.root.join("CURRENT")
    }

    pub fn generation(&self, id: u64) -> PathBuf {
        self.root.join(generation_name(id))
    }

    /// Images uploaded through the API, named by their SHA-256 (never
    /// overwritten, so a search reading one never sees it change).
    pub fn uploads(&self) -> PathBuf {
        self.root.join("uploads")
    }

    /// Kept sightings: an index of its own, laid out like this one
    /// (`crate::records::sighting`).
    pub fn sightings(&self) -> PathBuf {
        self.root.join("sightings")
    }

    /// Whether a photo was ever kept as a sighting.
    pub fn sightings_exist(&self) -> bool {
        IndexPaths::new(&self.sightings()).store().exists()
    }

    /// Lock file held by the one process allowed to write at a time.
    pub fn write_lock(&self) -> PathBuf {
        self.root.join("write.lock")
    }
}

pub fn generation_name(id: u64) -> String {
    format!("gen-{id:06}")
}

/// Parses `gen-000042` back to 42.
pub fn parse_generation_name(name: &str) -> Option<u64> {
    name.strip_prefix("gen-")?.parse().ok()
}

pub struct GenerationPaths<'a>(pub &'a Path);

impl GenerationPaths<'_> {
    pub fn manifest(&self) -> PathBuf {
        self.0.join("manifest.json")
    }
    pub fn slots(&self) -> PathBuf {
        self.0.join("slots.bin")
    }
    pub fn hashes(&self) -> PathBuf {
        self.0.join("hashes.bin")
    }
    pub fn features_index(&self) -> PathBuf {
        self.0.join("features.idx")
    }
    pub fn features(&self) -> PathBuf {
        self.0.join("features.bin")
    }
    pub fn vocabulary(&self) -> PathBuf {
        self.0.join("vocabulary.bin")
    }
    pub fn word_offsets(&self) -> PathBuf {
        self.0.join("words.idx")
    }
    pub fn word_postings(&self) -> PathBuf {
        self.0.join("words.bin")
    }
    /// Each image's words while the postings are written; removed after.
    pub fn word_occurrences(&self) -> PathBuf {
        self.0.join("words.occ.tmp")
    }
    pub fn word_idf(&self) -> PathBuf {
        self.0.join("words.idf")
    }
}

/// Writes `contents` to `path` atomically: a reader sees the old file or
/// the new one, never a mix, even after a crash.
pub fn write_atomic(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = unique_tmp(path);
    let written = std::fs::File::create(&tmp)
        .and_then(|mut f| f.write_all(contents).and_then(|()| f.sync_all()))
        .and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = written {
        // A full disk must not keep the half-written copy's bytes.
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    // A bare file name's parent is "", which names no directory.
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    sync_dir(dir.unwrap_or(Path::new(".")))
}

/// A temporary name beside `path` that no other writer uses: two requests
/// storing the same upload at once each rename their own file into place
/// (one shared `.tmp` name let the first rename take the second's file).
fn unique_tmp(path: &Path) -> PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{}.{n}{TMP_SUFFIX}", std::process::id()));
    path.with_file_name(name)
}

/// Ends the name of every file [`write_atomic`] has not renamed into
/// place yet; one left by a crash is garbage (`compact` removes it).
pub const TMP_SUFFIX: &str = ".tmp";

/// Makes a rename or a new file in `dir` durable.
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

/// What [`link_tree`] made: files and their bytes.
#[derive(Debug, Default, Clone, Copy)]
pub struct Linked {
    pub files: u64,
    pub bytes: u64,
}

/// Hard-links a file, or every file under a directory, to `to` (copying
/// across file systems), and makes the new directories durable. Only for
/// files never modified in place (generations, tantivy segments,
/// uploads): a link to them is as good as a copy. An error names the path
/// it concerns.
pub fn link_tree(from: &Path, to: &Path) -> Result<Linked, (PathBuf, std::io::Error)> {
    let at = |p: &Path| {
        let p = p.to_path_buf();
        move |e| (p, e)
    };
    let meta = std::fs::metadata(from).map_err(at(from))?;
    if !meta.is_dir() {
        if std::fs::hard_link(from, to).is_err() {
            std::fs::copy(from, to).map_err(at(from))?;
        }
        return Ok(Linked {
            files: 1,
            bytes: meta.len(),
        });
    }
    std::fs::create_dir_all(to).map_err(at(to))?;
    let mut linked = Linked::default();
    for e in std::fs::read_dir(from).map_err(at(from))? {
        let e = e.map_err(at(from))?;
        let sub = link_tree(&e.path(), &to.join(e.file_name()))?;
        linked.files += sub.files;
        linked.bytes += sub.bytes;
    }
    sync_dir(to).map_err(at(to))?;
    Ok(linked)
}

/// `path`'s device and inode (links followed); None where it is gone or
/// not on Unix. Two names of one file, by any links, have one identity.
pub fn file_identity(path: &Path) -> Option<(u64, u64)> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}
