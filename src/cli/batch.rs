//! `provenance batch`: a whole lot searched, one JSON line per photo, and
//! what an expert works through after it (the report), with the photos
//! kept as sightings on request.

use super::Bar;
use super::args::{DEFAULT_INDEX, EmbeddingArgs, open_existing};
use crate::engine::SearchOptions;
use crate::jobs::{batch, inputs};
use crate::search::response::DEFAULT_MAX_OBJECTS;
use anyhow::{Context, Result, bail};
use std::io::Write;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct BatchArgs {
    /// The index folder (made by `import`).
    #[arg(long, default_value = DEFAULT_INDEX)]
    index: PathBuf,
    /// A folder (every file under it, hidden ones aside), or a text
    /// file listing image paths.
    input: PathBuf,
    #[arg(long)]
    out: PathBuf,
    /// Results per photo, besides the best of each object found.
    #[arg(long, default_value_t = 10, value_parser = crate::cli::args::top)]
    top: usize,
    /// Objects looked for in one photo (a seized lot, a wall, a
    /// catalogue page): each found is its own result and region.
    #[arg(long, default_value_t = DEFAULT_MAX_OBJECTS, value_parser = super::args::max_objects)]
    max_objects: usize,
    /// Keep the lines already in --out (not those marked retry) and search
    /// only the rest; the exit code is the whole lot's.
    #[arg(long)]
    resume: bool,
    /// Photos searched at once (default: one per core). With 1 each
    /// photo has every core, and its `sec` is one search's latency.
    #[arg(long)]
    jobs: Option<usize>,
    /// Only shard I of N (I from 0 to N-1): N runs with the same N
    /// cover every input exactly once, e.g. `--shard
    /// $(JOB_COMPLETION_INDEX)/8` in a Kubernetes Indexed Job or
    /// `--shard $SLURM_ARRAY_TASK_ID/8` in a Slurm array.
    #[arg(long, value_name = "I/N")]
    shard: Option<inputs::Shard>,
    /// Also write a report to work through: one page opened from disk,
    /// matches first, thumbnails in PAGE_files/ beside it.
    #[arg(long, value_name = "PAGE.html")]
    report: Option<PathBuf>,
    /// Also write the report's rows as CSV, for a spreadsheet.
    #[arg(long, value_name = "FILE.csv")]
    report_csv: Option<PathBuf>,
    /// Keep every photo as a sighting: a record imported later that
    /// it shows raises an alert (`provenance alerts`).
    #[arg(long)]
    keep: bool,
    /// The case the kept photos belong to (with --keep).
    #[arg(long, value_name = "CASE", requires = "keep")]
    case: Option<String>,
    /// Where each photo was seen, one JSON line per image: {"image":
    /// "a.jpg", "url", "title", "seller", "seen"} (with --keep).
    #[arg(long, value_name = "LISTINGS.jsonl", requires = "keep")]
    listings: Option<PathBuf>,
}

pub fn batch(args: BatchArgs, emb: &EmbeddingArgs) -> Result<i32> {
    let BatchArgs {
        index,
        input,
        out,
        top,
        max_objects,
        resume,
        jobs,
        shard,
        report,
        report_csv,
        keep,
        case,
        listings,
    } = args;
    let engine = open_existing(&index, emb)?;
    let keep = match keep {
        false => None,
        true => {
            let user = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
            let mut k = batch::Keep {
                case: case.unwrap_or_default(),
                kept_by: format!("cli:{user}"),
                ..Default::default()
            };
            if let Some(file) = &listings {
                k.read_listings(file)?;
            }
            Some(k)
        }
    };
    let listed = inputs::list_inputs_and_left_out(&input)?;
    let (mut inputs, hidden) = (listed.inputs, listed.hidden);
    if !hidden.is_empty() {
        // Left out as `ls` leaves them out, but never in silence.
        eprintln!(
            "left out {} hidden files or folders (names starting with '.'): {}; name them in a list file to search them",
            hidden.len(),
            first_names(&hidden, 5)
        );
    }
    if !listed.earlier.is_empty() {
        eprintln!(
            "left out {} results, reports or report thumbnails of earlier runs: {}",
            listed.earlier.len(),
            first_names(&listed.earlier, 5)
        );
    }
    // What this run reads and writes may be inside the folder searched (a
    // report's thumbnails are photos too): never an input, and never one
    // another.
    let mut written = Written::default();
    if !input.is_dir() {
        written.add(&input); // the list of photos
    }
    if let Some(file) = &listings {
        written.add(file);
    }
    if written.holds(&out) {
        bail!(
            "{}: is a file this run reads (the list of photos or the listings); give the results another name",
            out.display()
        );
    }
    written.add(&out);
    if let Some(page) = &report {
        written.add_report(page, true)?;
    }
    if let Some(csv) = &report_csv {
        written.add_report(csv, false)?;
    }
    let outputs = [Some(&out), report.as_ref(), report_csv.as_ref()];
    refuse_over_photos(&inputs, outputs.into_iter().flatten())?;
    inputs.retain(|i| !written.holds(&i.path));
    if inputs.is_empty() {
        bail!("{}: no files found", input.display());
    }
    if let Some(shard) = shard {
        inputs.retain(|i| shard.holds(&i.query));
    }
    // Every input of this run, the resumed ones too: the report covers them all.
    let all_inputs = inputs.clone();
    let mut skipped = 0;
    // What the run resumed answered: the summary and the exit code are the
    // lot's, not this run's alone.
    let (mut unreadable_before, mut matched_before, mut borderline_before, mut cut_off_before) =
        (0, 0, 0, 0);
    if resume {
        let done = batch::prepare_resume(&out)?;
        let before = inputs.len();
        for answered in inputs.iter().filter_map(|i| done.get(&i.query)) {
            unreadable_before += usize::from(answered.unreadable);
            matched_before += usize::from(answered.matched);
            borderline_before += usize::from(answered.borderline_matched);
            cut_off_before += usize::from(answered.cut_off);
        }
        inputs.retain(|i| !done.contains_key(&i.query));
        skipped = before - inputs.len();
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(resume)
        .write(true)
        .truncate(!resume)
        .open(&out)
        .with_context(|| format!("cannot write {}", out.display()))?;
    let mut w = std::io::BufWriter::new(file);
    let opts = SearchOptions {
        top,
        max_objects,
        ..SearchOptions::default()
    };
    let summary = batch::run(
        &engine,
        &inputs,
        &opts,
        keep.as_ref(),
        jobs.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
        }),
        &mut w,
        &Bar::new("searching"),
    )?;
    w.flush()?;
    let cut_off = match summary.cut_off + cut_off_before {
        0 => String::new(),
        n => format!(", {n} cut off (photograph the whole object)"),
    };
    eprintln!(
        "{} images searched ({} already done), {} with a match ({} borderline: photograph them again before acting){cut_off}, {} unreadable; results in {}",
        summary.images,
        skipped,
        summary.matched + matched_before,
        summary.borderline_matched + borderline_before,
        summary.errors + unreadable_before,
        out.display()
    );
    if summary.failed > 0 {
        eprintln!(
            "{} photos not searched for a reason not theirs (see each line's error): --resume searches them again",
            summary.failed
        );
    }
    if let Some(stages) = summary.median_stages() {
        let parts: Vec<String> = stages
            .iter()
            .map(|(name, s)| format!("{name} {:.0} ms", s * 1e3))
            .collect();
        eprintln!("median time per photo by stage: {}", parts.join(", "));
    }
    if keep.is_some() {
        eprintln!("{} photos kept as sightings", summary.kept);
        // Records added while the batch ran, which its searches missed.
        crate::cli::output::print_alerts(&summary.alerts);
    }
    if let Some(page) = report {
        let rows = crate::jobs::report::write_html(
            &engine,
            std::slice::from_ref(&out),
            &all_inputs,
            &page,
        )?;
        eprintln!("report of {rows} photos in {}", page.display());
    }
    if let Some(csv) = report_csv {
        let rows = crate::jobs::report::write_csv(&engine, std::slice::from_ref(&out), &csv)?;
        eprintln!("{rows} rows in {}", csv.display());
    }
    Ok(batch_exit_code(
        summary.failed,
        summary.errors + unreadable_before,
    ))
}

/// 0: every photo searched; 1: some photos cannot be searched (each line
/// says why; running again will not help); 3: some were not searched for a
/// reason not theirs (`--resume` searches them). A job engine can retry
/// on 3 and stop on 1 (deploy/kubernetes/batch-job.yaml does).
fn batch_exit_code(failed: usize, unreadable: usize) -> i32 {
    if failed > 0 {
        3
    } else if unreadable > 0 {
        1
    } else {
        0
    }
}

/// `provenance report`: one report from the outputs of several runs (the
/// shards of one lot, `batch --shard I/N`).
#[derive(clap::Args)]
pub struct ReportArgs {
    /// The index folder (made by `import`).
    #[arg(long, default_value = DEFAULT_INDEX)]
    index: PathBuf,
    /// The folder (or list file) the batches searched: where the photos are.
    #[arg(long)]
    input: PathBuf,
    /// The batches' outputs; a photo in several counts once (the last).
    #[arg(required = true, value_name = "PART.jsonl")]
    parts: Vec<PathBuf>,
    /// The page to write (thumbnails in PAGE_files/ beside it).
    #[arg(long, value_name = "PAGE.html", required_unless_present = "csv")]
    out: Option<PathBuf>,
    /// The rows as CSV, for a spreadsheet.
    #[arg(long, value_name = "FILE.csv")]
    csv: Option<PathBuf>,
}

pub fn report(args: ReportArgs, emb: &EmbeddingArgs) -> Result<i32> {
    let engine = open_existing(&args.index, emb)?;
    let mut inputs = inputs::list_inputs(&args.input)?;
    // The parts and the report may be written inside the folder searched;
    // a report written over a part would lose that part's results.
    let mut written = Written::default();
    if !args.input.is_dir() {
        written.add(&args.input); // the list of photos
    }
    for part in &args.parts {
        written.add(part);
    }
    if let Some(page) = &args.out {
        written.add_report(page, true)?;
    }
    if let Some(csv) = &args.csv {
        written.add_report(csv, false)?;
    }
    refuse_over_photos(&inputs, args.out.iter().chain(&args.csv))?;
    inputs.retain(|i| !written.holds(&i.path));
    let answered = crate::jobs::report::answered(&args.parts)?;
    let unsearched = crate::jobs::report::unsearched(answered.iter().map(String::as_str), &inputs);
    if let Some(page) = &args.out {
        let rows = crate::jobs::report::write_html(&engine, &args.parts, &inputs, page)?;
        eprintln!(
            "report of {rows} photos from {} parts in {}",
            args.parts.len(),
            page.display()
        );
    }
    if let Some(csv) = &args.csv {
        let rows = crate::jobs::report::write_csv(&engine, &args.parts, csv)?;
        eprintln!("{rows} rows in {}", csv.display());
    }
    if !unsearched.is_empty() {
        // Written all the same, and said: the lot is not reconciled yet.
        eprintln!(
            "{} of {} photos have no result line in these parts (a shard not run or not finished: run it, or --resume it): {}",
            unsearched.len(),
            inputs.len(),
            first_names(&unsearched, 10)
        );
        return Ok(1);
    }
    Ok(0)
}

/// Refuses an output that is one of the photos searched, by any name or
/// link: it would be written over the photo (an empty file, or an
/// earlier run's output, is only replaced).
fn refuse_over_photos<'a>(
    photos: &[inputs::BatchInput],
    outputs: impl Iterator<Item = &'a PathBuf>,
) -> Result<()> {
    let outputs: Vec<(&PathBuf, (u64, u64))> = outputs
        .filter(|out| inputs::holds_users_file(out))
        .filter_map(|out| Some((out, crate::paths::file_identity(out)?)))
        .collect();
    if outputs.is_empty() {
        return Ok(());
    }
    for photo in photos {
        let Some(id) = crate::paths::file_identity(&photo.path) else {
            continue;
        };
        if let Some((out, _)) = outputs.iter().find(|(_, o)| *o == id) {
            bail!(
                "{}: is one of the photos this run searches ({}); it would be written over: give the output another name",
                out.display(),
                photo.query
            );
        }
    }
    Ok(())
}

/// Files (and report thumbnail folders) a run writes, by absolute path.
#[derive(Default)]
struct Written {
    files: Vec<PathBuf>,
    dirs: Vec<PathBuf>,
}

impl Written {
    fn add(&mut self, file: &std::path::Path) {
        self.files.push(absolute(file));
    }

    fn holds(&self, path: &std::path::Path) -> bool {
        let p = absolute(path);
        self.files.contains(&p) || self.dirs.iter().any(|d| p.starts_with(d))
    }

    /// A report (`html`: with its thumbnails' folder), refused where it
    /// would be written over a file this run reads or writes.
    fn add_report(&mut self, report: &std::path::Path, html: bool) -> Result<()> {
        if self.holds(report) {
            bail!(
                "{}: is one of the result files read or written by this run (it would be written twice); give the report another name",
                report.display()
            );
        }
        self.add(report);
        if html {
            self.dirs
                .push(absolute(&crate::jobs::report::files_dir(report)));
        }
        Ok(())
    }
}

/// `p` as the file system resolves it (symbolic links, `..`), for a file
/// that may not exist yet too: its nearest existing folder resolved, the
/// rest as named. Two spellings of one file are then one path.
fn absolute(p: &std::path::Path) -> PathBuf {
    let abs = std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let mut rest = Vec::new();
    let mut at = abs.as_path();
    loop {
        if let Ok(mut real) = std::fs::canonicalize(at) {
            real.extend(rest.iter().rev());
            return real;
        }
        match (at.parent(), at.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                at = parent;
            }
            _ => return abs,
        }
    }
}

/// The first `n` names, then "..." if there are more.
fn first_names(names: &[String], n: usize) -> String {
    let mut out = names[..names.len().min(n)].join(", ");
    if names.len() > n {
        out.push_str(", ...");
    }
    out
}
