//! Batch reconciliation: a whole seizure lot or catalogue against the
//! database, one JSON line per input image, in input order.
//!
//! Images are searched in parallel (`--jobs` at once); lines are written in order as
//! soon as every earlier one is done, so a partial output file after a
//! crash is a clean prefix, and `--resume` carries on after it.

use super::inputs::BatchInput;
use crate::engine::{Engine, SearchOptions, SearchResponse};
use crate::imaging::limits::DecodeError;
use crate::jobs::import::Progress;
use crate::records::sighting::{Context, ListingLine, Sighting};
use crate::search::response::Stages;
use crate::store::StoredImage;
use serde::Serialize;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{path}:{line}: not a listing ({message}); expected {{\"image\": \"a.jpg\", \"url\", \"title\", \"seller\", \"seen\"}}"
    )]
    Listing {
        path: PathBuf,
        line: usize,
        message: String,
    },
}

pub(super) fn io_err(path: &Path) -> impl Fn(std::io::Error) -> BatchError + '_ {
    move |source| BatchError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// One output line.
#[derive(Debug, Serialize)]
pub struct BatchLine {
    pub query: String,
    pub matches: Vec<LineMatch>,
    /// Seconds spent on this image, decode to verdict.
    pub sec: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The error was not the photo's (the index could not be read, the
    /// store stayed busy, a bug): `--resume` searches the photo again.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub retry: bool,
    /// The sighting this photo was kept as (`--keep`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sighting: Option<String>,
    /// What words given with the photo did to the order (`search --text`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub words: Option<crate::search::words::WordsUse>,
    /// Seconds by stage of the search (`describe`, `candidates`, `pixels`,
    /// `objects`, `rank`): which part of `sec` grows with the database.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stages: Option<Stages>,
}

#[derive(Debug, Serialize)]
pub struct LineMatch {
    pub id: String,
    pub score: f32,
    pub verdict: &'static str,
    /// Another photo may change the verdict (`Match::borderline`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub borderline: bool,
    /// A photo of the whole object may change the verdict
    /// (`Match::cut_off`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub cut_off: bool,
    /// Which object of the photo this result explains (1 = strongest).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// The raw evidence behind the score, for an expert (and calibration).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence: Option<crate::search::scoring::Evidence>,
    /// How well the record's text matches the words given with the photo.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub words: Option<f32>,
    /// The record's objects are made in multiples (coins, prints, casts):
    /// a `match` proves the design, not that this is the stolen object.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub made_in_multiples: bool,
    /// An expert's decision on this candidate for this photo.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub review: Option<crate::store::Review>,
}

impl BatchLine {
    /// The line of a photo not searched, and why.
    fn failed(query: &str, sec: f64, error: String, retry: bool) -> BatchLine {
        BatchLine {
            query: query.to_string(),
            matches: Vec::new(),
            sec,
            error: Some(error),
            retry,
            sighting: None,
            words: None,
            stages: None,
        }
    }

    /// The line of an engine error: the photo's fault only if it could not
    /// be read or decoded.
    fn engine_failed(query: &str, sec: f64, e: &crate::engine::EngineError) -> BatchLine {
        let retry = match e {
            crate::engine::EngineError::Decode(d) => may_read_later(d),
            _ => true,
        };
        BatchLine::failed(query, sec, e.to_string(), retry)
    }

    pub fn from_response(query: String, resp: &SearchResponse, sec: f64) -> BatchLine {
        BatchLine {
            query,
            matches: resp
                .matches
                .iter()
                .map(|m| LineMatch {
                    id: m.id.clone(),
                    score: m.score,
                    verdict: m.verdict.as_str(),
                    borderline: m.borderline,
                    cut_off: m.cut_off,
                    object: m.object,
                    image: m.image.clone(),
                    evidence: m.evidence,
                    words: m.words,
                    made_in_multiples: m.record.made_in_multiples,
                    review: m.review.clone(),
                })
                .collect(),
            sec,
            error: None,
            retry: false,
            sighting: None,
            words: resp.words,
            stages: resp.stages,
        }
    }
}

/// How often a long `--keep` run indexes the photos it kept so far, so
/// that an import meanwhile checks them at once rather than when the run
/// ends (a seizure's batch runs for days; each indexing adds a small delta).
const SIGHTINGS_INDEXED_EVERY: std::time::Duration = std::time::Duration::from_secs(300);

/// `--keep`: every photo searched is kept as a sighting, with the case
/// and, where LISTINGS.jsonl names it, its listing.
#[derive(Debug, Clone, Default)]
pub struct Keep {
    pub case: String,
    /// Context by input name (as the batch names its inputs), or by file name.
    pub listings: std::collections::HashMap<String, Context>,
    pub kept_by: String,
}

impl Keep {
    /// Reads LISTINGS.jsonl: one `{"image", "url", "title", "seller",
    /// "seen"}` per line; a line that is not one is an error naming it.
    pub fn read_listings(&mut self, file: &Path) -> Result<(), BatchError> {
        let text = std::fs::read_to_string(file).map_err(io_err(file))?;
        for (n, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let error = |message: String| BatchError::Listing {
                path: file.to_path_buf(),
                line: n + 1,
                message,
            };
            let l: ListingLine = serde_json::from_str(line).map_err(|e| error(e.to_string()))?;
            if let Some(message) = l.context.too_long() {
                return Err(error(message));
            }
            self.listings.insert(l.image, l.context);
        }
        Ok(())
    }

    fn context_of(&self, input: &BatchInput) -> Context {
        let file_name = input
            .path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned());
        let listing = self
            .listings
            .get(&input.query)
            .or_else(|| file_name.and_then(|f| self.listings.get(&f)));
        let mut c = listing.cloned().unwrap_or_default();
        if c.case.is_empty() {
            c.case = self.case.clone();
        }
        c
    }
}

#[derive(Debug, Default, Clone, Serialize)]
pub struct BatchSummary {
    pub images: usize,
    pub skipped_done: usize,
    pub errors: usize,
    /// Of the errors, those not the photo's (`retry`).
    pub failed: usize,
    pub matched: usize,
    /// Of the matched, those whose `match` is borderline: to photograph
    /// again before acting on them.
    pub borderline_matched: usize,
    /// Photos whose best result is cut off (`Match::cut_off`): to
    /// photograph whole.
    pub cut_off: usize,
    /// Photos kept as sightings (`--keep`).
    pub kept: usize,
    /// Alerts the kept photos raised: records added while the batch ran.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alerts: Vec<crate::store::Alert>,
    /// Each photo searched: where its time went.
    #[serde(skip)]
    pub stages: Vec<Stages>,
}

impl BatchSummary {
    /// Each stage's median seconds over the photos searched, by name.
    pub fn median_stages(&self) -> Option<Vec<(&'static str, f64)>> {
        if self.stages.is_empty() {
            return None;
        }
        let named: Vec<_> = self.stages.iter().map(Stages::named).collect();
        let median = |k: usize| {
            let mut xs: Vec<f64> = named.iter().map(|n| n[k].1).collect();
            xs.sort_by(f64::total_cmp);
            xs[xs.len() / 2]
        };
        Some(
            named[0]
                .iter()
                .enumerate()
                .map(|(k, &(name, _))| (name, median(k)))
                .collect(),
        )
    }
}

/// What a line already in a resumed output said of its photo: the run's
/// summary and exit code are the whole lot's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Answered {
    pub unreadable: bool,
    /// Its first result is a `match`…
    pub matched: bool,
    /// …a borderline one.
    pub borderline_matched: bool,
    /// Its first result is cut off (`Match::cut_off`).
    pub cut_off: bool,
}

/// Prepares an existing output file for `--resume`: cuts a line torn by
/// a crash, drops the lines to search again (`retry`), and returns the
/// queries already answered, each with what its line said.
pub fn prepare_resume(
    out: &Path,
) -> Result<std::collections::HashMap<String, Answered>, BatchError> {
    let bytes = match std::fs::read(out) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Default::default()),
        Err(e) => return Err(io_err(out)(e)),
    };
    let whole = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
    let text = String::from_utf8_lossy(&bytes[..whole]);
    let mut done = std::collections::HashMap::new();
    let mut kept = String::with_capacity(text.len());
    let mut dropped = false;
    for line in text.lines() {
        let v = serde_json::from_str::<serde_json::Value>(line).ok();
        if v.as_ref().is_some_and(|v| v["retry"] == true) {
            dropped = true;
            continue;
        }
        if let Some(v) = &v
            && let Some(q) = v["query"].as_str()
        {
            let best = &v["matches"][0];
            let matched = best["verdict"] == "match";
            let answered = Answered {
                unreadable: !v["error"].is_null(),
                matched,
                borderline_matched: matched && best["borderline"] == true,
                cut_off: best["cut_off"] == true,
            };
            done.insert(q.to_string(), answered);
        }
        kept.push_str(line);
        kept.push('\n');
    }
    if dropped {
        crate::paths::write_atomic(out, kept.as_bytes()).map_err(io_err(out))?;
    } else if whole < bytes.len() {
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(out)
            .map_err(io_err(out))?;
        f.set_len(whole as u64).map_err(io_err(out))?;
    }
    Ok(done)
}

/// Runs every input, writing lines to `out` in input order, with `jobs`
/// photos searched at once (at least one).
///
/// Each photo's own work (verifying its candidates, its second look) runs
/// on rayon's pool whatever `jobs` is; the photos themselves are taken by
/// `jobs` plain threads rather than by that pool, because a pool thread
/// that waits inside one photo's search may start another photo, and that
/// photo's time would be counted in the first one's `sec`. With `jobs = 1`
/// every photo has every core: its `sec` is what one officer's search costs.
pub fn run(
    engine: &Engine,
    inputs: &[BatchInput],
    opts: &SearchOptions,
    keep: Option<&Keep>,
    jobs: usize,
    out: &mut dyn Write,
    progress: &dyn Progress,
) -> Result<BatchSummary, crate::engine::EngineError> {
    let mut summary = BatchSummary {
        images: inputs.len(),
        ..Default::default()
    };
    let write_err = |source| crate::engine::EngineError::Io {
        path: PathBuf::from("the results file"),
        source,
    };
    progress.start(inputs.len() as u64);
    let mut indexed = std::time::Instant::now();
    // Chunks bound memory and keep the output flowing in order.
    for chunk in inputs.chunks(64) {
        let (lines, kept): (Vec<BatchLine>, Vec<Option<(Sighting, StoredImage)>>) =
            search_chunk(engine, chunk, opts, keep, jobs.max(1), progress)
                .into_iter()
                .unzip();
        // Kept before their lines are written: a resumed run skips them.
        engine.keep_sightings(kept.into_iter().flatten().collect())?;
        if keep.is_some() && indexed.elapsed() >= SIGHTINGS_INDEXED_EVERY {
            engine.refresh_sightings()?;
            indexed = std::time::Instant::now();
        }
        summary.kept += lines.iter().filter(|l| l.sighting.is_some()).count();
        for line in lines {
            summary.errors += usize::from(line.error.is_some() && !line.retry);
            summary.failed += usize::from(line.retry);
            summary.stages.extend(line.stages);
            let best = line.matches.first().filter(|m| m.verdict == "match");
            summary.matched += usize::from(best.is_some());
            summary.borderline_matched += usize::from(best.is_some_and(|m| m.borderline));
            summary.cut_off += usize::from(line.matches.first().is_some_and(|m| m.cut_off));
            serde_json::to_writer(&mut *out, &line)
                .map_err(std::io::Error::from)
                .map_err(write_err)?;
            out.write_all(b"\n").map_err(write_err)?;
        }
        out.flush().map_err(write_err)?;
    }
    if keep.is_some() {
        engine.refresh_sightings()?;
        summary.alerts = engine.check_kept()?.alerts;
    }
    progress.finish();
    Ok(summary)
}

/// The lines of one chunk, in its order: `jobs` threads take the next
/// photo until none is left.
fn search_chunk(
    engine: &Engine,
    chunk: &[BatchInput],
    opts: &SearchOptions,
    keep: Option<&Keep>,
    jobs: usize,
    progress: &dyn Progress,
) -> Vec<(BatchLine, Option<(Sighting, StoredImage)>)> {
    let next = AtomicUsize::new(0);
    type Done = (usize, (BatchLine, Option<(Sighting, StoredImage)>));
    let mut lines: Vec<Done> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..jobs.min(chunk.len()))
            .map(|_| {
                s.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(input) = chunk.get(i) else { break };
                        // A bug met on one photo fails that photo's line,
                        // not the lot (a seizure is searched for hours).
                        let done =
                            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match keep {
                                None => (search_one(engine, input, opts), None),
                                Some(keep) => search_and_keep(engine, input, opts, keep),
                            }))
                            .unwrap_or_else(|panic| (panicked(input, panic.as_ref()), None));
                        mine.push((i, done));
                        progress.advance(1);
                    }
                    mine
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    lines.sort_by_key(|(i, _)| *i);
    lines.into_iter().map(|(_, line)| line).collect()
}

/// Whether a photo that could not be read may be read on another try: the
/// read failed on the way (a network volume's hiccup, an I/O error), not
/// because the file is missing, forbidden, not a file, or not an image. A
/// retried shard (`--resume`, exit 3) then reads it again.
/// `ELOOP` on Linux (and on the other Unixes, 62).
#[cfg(target_os = "linux")]
const ELOOP: i32 = 40;
#[cfg(not(target_os = "linux"))]
const ELOOP: i32 = 62;

fn may_read_later(e: &DecodeError) -> bool {
    use std::io::ErrorKind::*;
    match e {
        // What the path or the file itself is: reading again cannot help.
        // A loop of symbolic links (ELOOP) has no stable kind yet.
        DecodeError::Io { source, .. } => {
            !matches!(
                source.kind(),
                NotFound
                    | PermissionDenied
                    | InvalidInput
                    | InvalidData
                    | IsADirectory
                    | NotADirectory
                    | InvalidFilename
                    | UnexpectedEof
            ) && source.raw_os_error() != Some(ELOOP)
        }
        _ => false,
    }
}

/// One photo's line, and the photo described as a sighting: the file is
/// read and decoded once for both.
fn search_and_keep(
    engine: &Engine,
    input: &BatchInput,
    opts: &SearchOptions,
    keep: &Keep,
) -> (BatchLine, Option<(Sighting, StoredImage)>) {
    let t = std::time::Instant::now();
    let failed = |e: DecodeError| {
        let retry = may_read_later(&e);
        BatchLine::failed(
            &input.query,
            t.elapsed().as_secs_f64(),
            e.to_string(),
            retry,
        )
    };
    let bytes = match crate::imaging::decode::read_limited(&input.path, engine.limits()) {
        Ok(b) => b,
        Err(e) => return (failed(e), None),
    };
    let sha = crate::engine::sha256_hex(&bytes);
    let img = match crate::imaging::decode::decode_bytes(&bytes, &input.query, engine.limits()) {
        Ok(img) => img,
        Err(e) => return (failed(e), None),
    };
    drop(bytes);
    let opts = SearchOptions {
        photo_sha256: Some(sha.clone()),
        ..opts.clone()
    };
    let resp = match engine.search(img.clone(), &opts) {
        Ok(r) => r,
        Err(e) => {
            let sec = t.elapsed().as_secs_f64();
            return (BatchLine::engine_failed(&input.query, sec, &e), None);
        }
    };
    let context = keep.context_of(input);
    let photo = std::path::absolute(&input.path).unwrap_or_else(|_| input.path.clone());
    let sighting = Sighting {
        id: Sighting::id_for(&sha, &context),
        query: input.query.clone(),
        photo_sha256: sha,
        photo: photo.display().to_string(),
        context,
        kept_by: keep.kept_by.clone(),
        kept: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
        searched_through: Some(resp.database.last_slot),
    };
    let image = engine.describe_reference(sighting.photo.clone(), img);
    let line = BatchLine {
        sighting: Some(sighting.id.clone()),
        ..BatchLine::from_response(input.query.clone(), &resp, t.elapsed().as_secs_f64())
    };
    (line, Some((sighting, image)))
}

/// The line of a photo whose search panicked: its error names the file and
/// says it is a fault of provenance, not of the photo.
fn panicked(input: &BatchInput, panic: &(dyn std::any::Any + Send)) -> BatchLine {
    let what = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    let error = format!(
        "{}: the search failed inside provenance (a bug, please report it): {what}",
        input.path.display()
    );
    BatchLine::failed(&input.query, 0.0, error, true)
}

/// One photo's line, timed from reading its file to its verdicts.
fn search_one(engine: &Engine, input: &BatchInput, opts: &SearchOptions) -> BatchLine {
    let t = std::time::Instant::now();
    let line = match engine.search_path(&input.path, opts) {
        Ok(resp) => BatchLine::from_response(input.query.clone(), &resp, 0.0),
        Err(e) => BatchLine::engine_failed(&input.query, 0.0, &e),
    };
    BatchLine {
        sec: t.elapsed().as_secs_f64(),
        ..line
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_result_line_starts_as_an_earlier_run_is_told_by() {
        let line = super::BatchLine::failed("a.jpg", 0.1, "unreadable".into(), false);
        let json = serde_json::to_string(&line).unwrap();
        assert!(
            json.starts_with(crate::jobs::inputs::BATCH_LINE_HEAD),
            "{json}"
        );
    }

    #[test]
    fn only_a_read_that_failed_on_the_way_is_tried_again() {
        use super::{DecodeError, may_read_later};
        use std::io::{Error, ErrorKind};
        let io = |kind| DecodeError::Io {
            name: "lot/a.jpg".into(),
            source: Error::new(kind, "x"),
        };
        assert!(may_read_later(&io(ErrorKind::TimedOut)));
        assert!(may_read_later(&io(ErrorKind::StaleNetworkFileHandle)));
        let eio = DecodeError::Io {
            name: "lot/a.jpg".into(),
            source: Error::from_raw_os_error(5),
        };
        assert!(may_read_later(&eio));
        for kind in [
            ErrorKind::NotFound,
            ErrorKind::PermissionDenied,
            ErrorKind::InvalidInput,
        ] {
            assert!(!may_read_later(&io(kind)), "{kind:?}");
        }
        assert!(!may_read_later(&DecodeError::Empty { name: "a".into() }));
    }
}
