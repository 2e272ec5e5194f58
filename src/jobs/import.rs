//! Importing a records file: parse, decode and describe images in
//! parallel, commit in batches, then bring the image indexes up to date.
//!
//! A record is imported whole or not at all: if one of its images is
//! missing or undecodable, the record is reported and skipped (a record
//! silently missing a photo would look searchable and not be). Batches
//! are committed as they complete, so a crash loses at most the batch in
//! flight, and re-running the import is idempotent (ids are upserted).

use crate::engine::{Engine, EngineError, Stored, sha256_hex};
use crate::imaging::decode::{decode_bytes, read_limited};
use crate::records::io::{self as records_io, ReadError};
use crate::records::record::Record;
use crate::store::StoredImage;
use rayon::prelude::*;
use serde::Serialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Records per store transaction.
const BATCH: usize = 64;

/// One thing that was skipped, and where.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Problem {
    pub file: String,
    pub line: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: ", self.file, self.line)?;
        if let Some(id) = &self.id {
            write!(f, "record {id}: ")?;
        }
        f.write_str(&self.message)
    }
}

#[derive(Debug, Default, Clone, Serialize)]
pub struct ImportReport {
    /// Records written (new, or changed).
    pub records: usize,
    /// Records as stored already (the same fields and image files): left
    /// as they were.
    pub unchanged: usize,
    pub images: usize,
    pub skipped: Vec<Problem>,
    /// Imported, but with something the file most likely meant otherwise
    /// (a field named `Title`, which is kept but not searched).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<Problem>,
    pub seconds: f64,
    /// The check of this import's images against the kept sightings,
    /// with the alerts it raised.
    pub sightings: crate::engine::SightingCheck,
    /// Why the sightings could not be checked (the records are imported;
    /// the next import or `provenance alerts` checks them again).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alerts_error: Option<String>,
    /// Of `seconds`, the time spent checking the kept sightings.
    pub alerts_seconds: f64,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error(transparent)]
    Engine(#[from] EngineError),
}

/// Told about progress; the CLI draws a bar with it.
pub trait Progress: Sync {
    fn start(&self, _total: u64) {}
    fn advance(&self, _n: u64) {}
    /// A batch is durable in the store: `through` is the line number of
    /// the last record read so far whose fate is sealed, `records` how
    /// many records have been committed in all.
    fn committed(&self, _through: usize, _records: usize) {}
    fn finish(&self) {}
}

pub struct NoProgress;
impl Progress for NoProgress {}

pub fn import_file(
    engine: &Engine,
    file: &Path,
    progress: &dyn Progress,
) -> Result<ImportReport, ImportError> {
    let started = std::time::Instant::now();
    let lock = engine.lock_writes()?;
    let lines = records_io::read_records(file)?;
    let name = file.display().to_string();
    let mut report = ImportReport::default();
    let mut valid: Vec<(usize, Record)> = Vec::new();
    for l in lines {
        match l.result {
            Ok(r) => valid.push((l.line, r)),
            Err(e) => report.skipped.push(Problem {
                file: name.clone(),
                line: l.line,
                id: l.id,
                message: e.to_string(),
            }),
        }
    }
    let (valid, mut earlier) = latest_versions(valid, &name, &mut report);
    progress.start(
        valid
            .iter()
            .map(|(_, r)| r.images.len().max(1) as u64)
            .sum(),
    );
    let mut rejected: Vec<String> = Vec::new();
    for chunk in valid.chunks(BATCH) {
        rejected.extend(import_chunk(
            engine,
            file,
            &name,
            chunk,
            &mut report,
            progress,
        )?);
        progress.committed(chunk.last().map_or(0, |(line, _)| *line), report.records);
    }
    // A rejected last version falls back to the one before it, so that a
    // bad line never takes a good one down with it.
    loop {
        let fallbacks: Vec<(usize, Record)> = rejected
            .drain(..)
            .filter_map(|id| earlier.get_mut(&id).and_then(Vec::pop))
            .collect();
        if fallbacks.is_empty() {
            break;
        }
        rejected = import_chunk(engine, file, &name, &fallbacks, &mut report, progress)?;
        let imported = fallbacks.iter().filter(|(_, r)| !rejected.contains(&r.id));
        let lines: Vec<usize> = imported.map(|(line, _)| *line).collect();
        // Only the warning that said the line was not imported: others on
        // the line (its images lost, a misnamed field) still hold.
        for w in report
            .warnings
            .iter_mut()
            .filter(|w| lines.contains(&w.line) && w.message.starts_with("not imported: line"))
        {
            w.message =
                "imported instead of a later line with the same id, which was rejected".into();
        }
    }
    engine.refresh()?;
    // The check searches, which needs no lock: the generation it reads is
    // immutable and its alerts are written once per pair, so other writers
    // need not wait for it.
    drop(lock);
    // Objects often surface before they are reported stolen.
    let checking = std::time::Instant::now();
    match engine.check_sightings() {
        Ok(check) => report.sightings = check,
        Err(e) => report.alerts_error = Some(e.to_string()),
    }
    report.alerts_seconds = checking.elapsed().as_secs_f64();
    progress.finish();
    report.skipped.sort_by_key(|p| p.line);
    report.warnings.sort_by_key(|p| p.line);
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// Records with their line numbers, in file order.
type Lines = Vec<(usize, Record)>;

/// The last valid version of each id, in file order, with warnings for
/// misnamed fields; and the earlier versions of each id (oldest first),
/// each named: the later line is imported instead.
fn latest_versions(
    valid: Vec<(usize, Record)>,
    name: &str,
    report: &mut ImportReport,
) -> (Lines, HashMap<String, Lines>) {
    // Each id's last valid version: its position and its line.
    let mut last: HashMap<String, (usize, usize)> = HashMap::new();
    for (i, (line, r)) in valid.iter().enumerate() {
        last.insert(r.id.clone(), (i, *line));
    }
    let problem = |line: usize, id: &str, message: String| Problem {
        file: name.to_string(),
        line,
        id: Some(id.to_string()),
        message,
    };
    let mut kept = Vec::with_capacity(last.len());
    let mut earlier: HashMap<String, Lines> = HashMap::new();
    for (i, (line, r)) in valid.into_iter().enumerate() {
        let (winner, winner_line) = last[&r.id];
        if winner == i {
            let misnamed = misnamed_fields(&r).map(|m| problem(line, &r.id, m));
            report.warnings.extend(misnamed);
            kept.push((line, r));
        } else {
            let message =
                format!("not imported: line {winner_line} has the same id and is imported instead");
            report.warnings.push(problem(line, &r.id, message));
            earlier.entry(r.id.clone()).or_default().push((line, r));
        }
    }
    (kept, earlier)
}

/// What became of one record of a batch.
enum Prepared {
    /// As stored: nothing to write.
    Same,
    /// The same image files, other fields.
    Fields(Record),
    Described(Record, Vec<StoredImage>),
}

/// Describes and commits one batch of records; the ids of those rejected
/// (an image missing or unreadable), each reported.
fn import_chunk(
    engine: &Engine,
    file: &Path,
    name: &str,
    chunk: &[(usize, Record)],
    report: &mut ImportReport,
    progress: &dyn Progress,
) -> Result<Vec<String>, ImportError> {
    let prepared: Vec<Result<Prepared, Problem>> = chunk
        .par_iter()
        .map(|(line, record)| {
            let out = prepare_record(engine, file, record)?.map_err(|message| Problem {
                file: name.to_string(),
                line: *line,
                id: Some(record.id.clone()),
                message,
            });
            progress.advance(record.images.len().max(1) as u64);
            Ok(out)
        })
        .collect::<Result<_, EngineError>>()?;
    let mut batch = Vec::with_capacity(prepared.len());
    let mut fields = Vec::new();
    let mut rejected = Vec::new();
    for (p, (line, _)) in prepared.into_iter().zip(chunk) {
        match p {
            Ok(Prepared::Same) => report.unchanged += 1,
            Ok(Prepared::Fields(r)) => fields.push(r),
            Ok(Prepared::Described(r, images)) => {
                // A line is the whole record: one without images (a file
                // of status changes) takes the stored ones out of photo
                // search, which the file may not have meant.
                let stored = engine.image_paths(&r.id)?.len();
                if images.is_empty() && stored > 0 {
                    report.warnings.push(Problem {
                        file: name.to_string(),
                        line: *line,
                        id: Some(r.id.clone()),
                        message: format!(
                            "has no images: its {stored} stored images are no longer searched (a line is the whole record: name its images to keep them)"
                        ),
                    });
                }
                batch.push((r, images))
            }
            Err(p) => {
                rejected.extend(p.id.clone());
                report.skipped.push(p);
            }
        }
    }
    if !batch.is_empty() || !fields.is_empty() {
        // One transaction: the batch is whole or not there. `fields` were
        // compared under the import's write lock: every one is still there.
        let (_, done) = engine.upsert_keeping(&batch, &fields)?;
        report.records += batch.len() + done.iter().filter(|d| **d).count();
        report.images += batch.iter().map(|(_, i)| i.len()).sum::<usize>();
    }
    Ok(rejected)
}

/// Reads a record's image files and, unless they and the record are as
/// stored, describes them: a nightly import of a whole database describes
/// only what changed, and an unchanged record's images stay searchable
/// while the import runs (replaced, they would be out of the index until
/// its end). The error is the record's (a file missing or unreadable).
fn prepare_record(
    engine: &Engine,
    file: &Path,
    record: &Record,
) -> Result<Result<Prepared, String>, EngineError> {
    let limits = engine.limits();
    // Each file read once: hashed here, decoded below if it must be.
    let mut read = Vec::with_capacity(record.images.len());
    // As the store names them: absolute path and SHA-256.
    let mut named = Vec::with_capacity(record.images.len());
    for rel in &record.images {
        let path = records_io::resolve_image(file, rel);
        let bytes = match read_limited(&path, limits) {
            Ok(b) => b,
            Err(e) => return Ok(Err(format!("image {rel:?}: {e}"))),
        };
        named.push((absolute(&path).display().to_string(), sha256_hex(&bytes)));
        read.push((rel, path, bytes));
    }
    match engine.compare_stored(record, &named)? {
        Stored::Same => return Ok(Ok(Prepared::Same)),
        Stored::FieldsOnly => return Ok(Ok(Prepared::Fields(record.clone()))),
        Stored::Changed => {}
    }
    let mut images = Vec::with_capacity(read.len());
    for ((rel, path, bytes), (stored_path, sha)) in read.into_iter().zip(named) {
        let img = match decode_bytes(&bytes, &path.display().to_string(), limits) {
            Ok(img) => img,
            Err(e) => return Ok(Err(format!("image {rel:?}: {e}"))),
        };
        let mut image = engine.describe_reference(stored_path, img);
        image.file_sha256 = Some(sha);
        images.push(image);
    }
    Ok(Ok(Prepared::Described(record.clone(), images)))
}

/// A field the record keeps as an extra one whose name is a record field's
/// but for case, blanks or hyphens (`Title`, `Object Type`): its text is
/// not searched, which the file surely did not mean.
fn misnamed_fields(r: &Record) -> impl Iterator<Item = String> + '_ {
    r.extra.keys().filter_map(|key| {
        records_io::field_named_like(key).map(|field| match field {
            // Without `images`, the record is imported with no photo: its
            // old ones are gone.
            "images" if r.images.is_empty() => format!(
                "field {key:?} is not read: photos are listed in `images`, and this record has none"
            ),
            "images" => format!(
                "field {key:?} is not read: photos are listed in `images` (this record's {} are imported)",
                r.images.len()
            ),
            _ => format!(
                "field {key:?} is kept as given but is not searched: the record field is `{field}`"
            ),
        })
    })
}

/// An image's path as the file system resolves it: the store names each
/// image by it, so that two spellings of one file are one.
fn absolute(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}
