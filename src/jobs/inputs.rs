//! What a batch searches: the photos of a folder or a list, the shard a
//! photo belongs to, and what earlier runs wrote beside them (left out, and
//! named, so that a report's thumbnails are never searched as photos).

use super::batch::{BatchError, io_err};
use std::path::{Path, PathBuf};

/// Shard `index` of `count` (`--shard I/N`): an input belongs to the shard
/// its name hashes to, so that N runs cover every input exactly once
/// whatever order they list them in, and a file added later does not move
/// the others to another shard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

impl Shard {
    pub fn holds(&self, query: &str) -> bool {
        use sha2::{Digest, Sha256};
        let h = Sha256::digest(query.as_bytes());
        let first = u64::from_be_bytes(h[..8].try_into().expect("8 bytes"));
        first % self.count == self.index
    }
}

impl std::str::FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Shard, String> {
        let bad = || format!("{s:?}: a shard is I/N with 0 <= I < N, e.g. 0/4");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let index: u64 = i.trim().parse().map_err(|_| bad())?;
        let count: u64 = n.trim().parse().map_err(|_| bad())?;
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

/// One input: where to read it, and how to name it in the output.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchInput {
    pub path: PathBuf,
    pub query: String,
}

/// A folder (every file under it, recursively, sorted, named relative to
/// the folder; hidden ones left out) or a list file (one path per line, named as written,
/// resolved against the list's folder).
pub fn list_inputs(input: &Path) -> Result<Vec<BatchInput>, BatchError> {
    Ok(list_inputs_and_left_out(input)?.inputs)
}

/// What a folder or list holds to search, and what of a folder is left out.
#[derive(Debug, Default)]
pub struct Listed {
    pub inputs: Vec<BatchInput>,
    /// Hidden files and folders (names starting with '.', as `ls` leaves
    /// them out: `.thumbnails`, a copy's `._IMG_0001.JPG`).
    pub hidden: Vec<String>,
    /// What earlier runs wrote there: result lines, reports and their
    /// thumbnails (a database photo's thumbnail is a `match`).
    pub earlier: Vec<String>,
}

/// [`list_inputs`], with what was left out, so that a run can say so.
pub fn list_inputs_and_left_out(input: &Path) -> Result<Listed, BatchError> {
    let meta = std::fs::metadata(input).map_err(io_err(input))?;
    if meta.is_dir() {
        let mut listed = Listed::default();
        walk(input, input, &mut listed)?;
        listed.inputs.sort_by(|a, b| a.query.cmp(&b.query));
        listed.hidden.sort();
        listed.earlier.sort();
        return Ok(listed);
    }
    let text = std::fs::read_to_string(input).map_err(io_err(input))?;
    let base = input.parent().unwrap_or(Path::new("."));
    // A list saved by Windows' Notepad starts with a byte-order mark.
    let inputs = text
        .trim_start_matches('\u{feff}')
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| BatchInput {
            path: base.join(l),
            query: l.to_string(),
        })
        .collect();
    Ok(Listed {
        inputs,
        ..Listed::default()
    })
}

fn walk(root: &Path, dir: &Path, listed: &mut Listed) -> Result<(), BatchError> {
    for entry in std::fs::read_dir(dir).map_err(io_err(dir))? {
        let entry = entry.map_err(io_err(dir))?;
        let path = entry.path();
        let name = || name_of(path.strip_prefix(root).unwrap_or(&path));
        // Every file, whatever its name says: the decoder sniffs the format,
        // and a file it cannot read gets a line with its error rather than
        // none (a folder of iPhone photos was once skipped without a word).
        if entry.file_name().to_string_lossy().starts_with('.') {
            listed.hidden.push(name());
            continue;
        }
        let is_dir = entry.file_type().map_err(io_err(&path))?.is_dir();
        if written_by_us(&path, is_dir) {
            listed.earlier.push(name());
        } else if is_dir {
            walk(root, &path, listed)?;
        } else {
            listed.inputs.push(BatchInput {
                path: path.clone(),
                query: name(),
            });
        }
    }
    Ok(())
}

/// The head of what `batch` and `report` write, by which an earlier
/// run's output is told from a photo whatever it is named.
const REPORT_TITLE: &str = "<title>provenance — batch report</title>";
const REPORT_CSV_HEAD: &str = "query,verdict,score,record,";
pub(super) const BATCH_LINE_HEAD: &str = "{\"query\":\"";

/// An earlier run's report (`.html`), its thumbnails (`NAME_files/` beside
/// `NAME.html`), its CSV, or result lines. Judged by content: a photo
/// named `.csv` is still searched.
fn written_by_us(path: &Path, is_dir: bool) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    if is_dir {
        // `NAME_files/` beside the page `NAME` with any extension, or none.
        return name.strip_suffix("_files").is_some_and(|stem| {
            let pages = std::fs::read_dir(path.parent().unwrap_or(Path::new(".")));
            pages.into_iter().flatten().flatten().any(|e| {
                let p = e.path();
                p != path
                    && p.file_stem().is_some_and(|s| s.to_string_lossy() == stem)
                    && head(&p).contains(REPORT_TITLE)
            })
        });
    }
    // Only names our outputs take are read: a folder of photos is listed
    // without opening each one.
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    matches!(ext.as_str(), "html" | "htm" | "" | "csv" | "jsonl" | "json") && ours(&head(path))
}

/// Whether a file's head is that of a page, CSV or result lines of ours.
fn ours(head: &str) -> bool {
    // A result line starts with its query (`BatchLine`'s first field); the
    // whole line may run past what is read.
    head.starts_with(BATCH_LINE_HEAD)
        || head.starts_with(REPORT_CSV_HEAD)
        || head.contains(REPORT_TITLE)
}

/// The first kilobyte of a regular file, as text (lossy); empty for
/// anything else: opening a pipe waits for a writer.
fn head(p: &Path) -> String {
    use std::io::Read;
    if !std::fs::metadata(p).is_ok_and(|m| m.is_file()) {
        return String::new();
    }
    let mut buf = [0u8; 1024];
    let n = std::fs::File::open(p)
        .and_then(|mut f| f.read(&mut buf))
        .unwrap_or(0);
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

/// Whether writing `path` would destroy something of the user's: it holds
/// bytes and is not what an earlier run wrote (a photo named as an output).
pub fn holds_users_file(path: &Path) -> bool {
    // Our own outputs are told by their head whatever they are named
    // (`--out results.txt`), so that `--resume` is never refused.
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.len() > 0) && !ours(&head(path))
}

/// A file's name as a result line's `query`: as written where it is
/// UTF-8, each other byte as `\xHH`, so that two names differing in such a
/// byte stay two queries (the lossy form made them one, and `--resume`
/// then skipped the second).
pub(super) fn name_of(path: &Path) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let mut out = String::new();
        for chunk in path.as_os_str().as_bytes().utf8_chunks() {
            out.push_str(chunk.valid());
            for b in chunk.invalid() {
                out.push_str(&format!("\\x{b:02X}"));
            }
        }
        out
    }
    #[cfg(not(unix))]
    {
        path.to_string_lossy().replace('\\', "/")
    }
}

#[cfg(test)]
mod tests {
    use super::Shard;

    #[test]
    fn shards_parse_and_partition_every_name_once() {
        assert_eq!("2/5".parse::<Shard>(), Ok(Shard { index: 2, count: 5 }));
        for bad in ["5/5", "1/0", "-1/3", "1", "a/b", ""] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
        let shards: Vec<Shard> = (0..4).map(|i| Shard { index: i, count: 4 }).collect();
        let mut sizes = [0usize; 4];
        for n in 0..2000 {
            let q = format!("seizure/lot-{n}.jpg");
            let holders: Vec<usize> = (0..4).filter(|&i| shards[i].holds(&q)).collect();
            assert_eq!(holders.len(), 1, "{q}");
            sizes[holders[0]] += 1;
        }
        // Balanced: each holds about a quarter.
        assert!(sizes.iter().all(|&s| (420..=580).contains(&s)), "{sizes:?}");
    }
}
