//! The command line: argument parsing and printing. The work lives in the
//! library; each command is a few calls into it.
//!
//! Owns: the commands' arguments ([`args`] for what they share), what they
//! print for people ([`output`]), and the service's commands ([`service`]).
//! Must not touch: matching, indexes or storage directly: only through
//! `crate::engine` and `crate::jobs`.

pub mod args;
pub mod batch;
pub mod output;
pub mod service;
pub mod sightings;

use crate::cli::output::{print_import, print_response, write_explanation};
pub use crate::cli::service::{KeysCommand, ServeArgs};
use crate::engine::{Engine, SearchOptions};
use crate::jobs::batch::BatchLine;
use crate::jobs::import::{self, Progress};
use crate::jobs::info;
use crate::records::record::Status;
use crate::search::response::DEFAULT_MAX_OBJECTS;
use crate::text::TextFilter;
use anyhow::{Context, Result, bail};
use args::{DEFAULT_INDEX, EmbeddingArgs, is_index, open, open_existing};
use clap::{Parser, Subcommand};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

#[derive(Parser)]
#[command(
    name = "provenance",
    version,
    about = "Cross-check photos of seized cultural goods against stolen-works databases"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    #[command(flatten)]
    pub embedding: EmbeddingArgs,
}

#[derive(Subcommand)]
pub enum Command {
    /// Add or update records (JSONL or CSV, Object ID fields) and their images;
    /// a record as stored (the same fields and image files) is left as it
    /// is, one whose fields alone changed keeps its images.
    Import {
        /// The index folder (made by `import`).
        #[arg(long, default_value = DEFAULT_INDEX)]
        index: PathBuf,
        /// Records files; image paths inside are relative to each file.
        #[arg(required = true)]
        records: Vec<PathBuf>,
    },
    /// Search the database with a photo.
    Search {
        /// The index folder (made by `import`).
        #[arg(long, default_value = DEFAULT_INDEX)]
        index: PathBuf,
        photo: PathBuf,
        /// Words describing the object (help order close candidates).
        #[arg(long)]
        text: Option<String>,
        /// Only records of this object type (e.g. painting, sculpture).
        #[arg(long = "type")]
        object_type: Option<String>,
        /// Results, besides the best of each object found.
        #[arg(long, default_value_t = 10, value_parser = args::top)]
        top: usize,
        /// Objects looked for in the photo (a seized lot, a wall, a
        /// catalogue page): each found is its own result and region.
        #[arg(long, default_value_t = DEFAULT_MAX_OBJECTS, value_parser = args::max_objects)]
        max_objects: usize,
        /// Print the result as one JSON object.
        #[arg(long)]
        json: bool,
        /// Write a picture of the best candidate beside the photo (outline
        /// of the matched region, agreeing features joined) to this PNG;
        /// with several objects found, every object's region is outlined
        /// and labelled with its record id.
        #[arg(long, value_name = "OUT.png")]
        explain: Option<PathBuf>,
    },
    /// Full-text search over record descriptions (typos tolerated).
    Text {
        /// The index folder (made by `import`).
        #[arg(long, default_value = DEFAULT_INDEX)]
        index: PathBuf,
        query: String,
        #[arg(long, default_value_t = 10, value_parser = args::top)]
        top: usize,
        #[arg(long = "type")]
        object_type: Option<String>,
        /// stolen, missing, recovered or disputed.
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        source: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Search every file of a folder (or a list file) and write JSON lines;
    /// a file that cannot be read gets a line with its error. Exits 0 when
    /// every photo was searched, 1 when some cannot be (their lines say
    /// why), 3 when some were not searched for a reason not theirs
    /// (`--resume` searches them again).
    Batch(crate::cli::batch::BatchArgs),
    /// One report from several batch outputs (the shards of one lot).
    Report(crate::cli::batch::ReportArgs),
    /// Photos kept by searches (batch --keep, the API's keep), newest first.
    Sightings(crate::cli::sightings::SightingsArgs),
    /// Records added after a kept sighting showed them, newest first.
    Alerts(crate::cli::sightings::AlertsArgs),
    /// Experts' decisions on candidates (confirmed, rejected), newest first.
    Reviews {
        /// The index folder (made by `import`).
        #[arg(long, default_value = DEFAULT_INDEX)]
        index: PathBuf,
        /// Only the decisions on this photo's candidates: its SHA-256, or
        /// the first 12 or more of its hex digits as this listing prints them.
        #[arg(long)]
        photo: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Counts, versions and sizes of an index.
    Info {
        /// The index folder (made by `import`).
        #[arg(long, default_value = DEFAULT_INDEX)]
        index: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Regenerate every derived index from the record store.
    Rebuild {
        /// The index folder (made by `import`).
        #[arg(long, default_value = DEFAULT_INDEX)]
        index: PathBuf,
    },
    /// Serve the JSON API (/v1) and the web page for officers and experts.
    Serve(ServeArgs),
    /// Manage the API keys `serve` accepts.
    Keys {
        #[command(subcommand)]
        action: KeysCommand,
    },
    /// Check every file's checksum and that the parts agree (read-only);
    /// exits 1 naming what is damaged.
    Verify {
        /// The index folder (made by `import`).
        #[arg(long, default_value = DEFAULT_INDEX)]
        index: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Delete records: searches stop finding them at once; their images and
    /// the alerts raised for them go with them, in one transaction.
    Delete {
        /// The index folder (made by `import`).
        #[arg(long, default_value = DEFAULT_INDEX)]
        index: PathBuf,
        #[arg(required = true)]
        ids: Vec<String>,
    },
    /// Rebuild the image indexes without deleted images; remove uploads
    /// no record uses.
    Compact {
        /// The index folder (made by `import`).
        #[arg(long, default_value = DEFAULT_INDEX)]
        index: PathBuf,
    },
    /// Copy the index as one committed state, while it keeps serving.
    Snapshot {
        /// The index folder (made by `import`).
        #[arg(long, default_value = DEFAULT_INDEX)]
        index: PathBuf,
        /// A new folder.
        #[arg(long, required_unless_present = "into", conflicts_with = "into")]
        out: Option<PathBuf>,
        /// A folder of snapshots: a new one goes in it, and its CURRENT
        /// then names it, for replicas that `serve --follow` it.
        #[arg(long, value_name = "ROOT")]
        into: Option<PathBuf>,
    },
    /// Write every record as JSONL with its images copied beside, for `import`; an image
    /// file moved or changed since its import is left out and named (exit 1), never copied as
    /// another picture.
    Export {
        /// The index folder (made by `import`).
        #[arg(long, default_value = DEFAULT_INDEX)]
        index: PathBuf,
        /// A new folder: records.jsonl and images/.
        #[arg(long)]
        out: PathBuf,
    },
    /// Build the bundled demo database and run a photo and a text search on it.
    Demo {
        /// The index folder (made by `import`).
        #[arg(long, default_value = DEFAULT_INDEX)]
        index: PathBuf,
    },
}

/// Runs a command; the exit code is non-zero when anything was skipped.
pub fn run(cli: Cli) -> Result<i32> {
    let emb = &cli.embedding;
    match cli.command {
        Command::Import { index, records } => {
            // A records file that is not there makes no index either (a
            // mistyped name left an empty index that answered "no match").
            if let Some(missing) = records.iter().find(|f| !f.exists()) {
                bail!("{}: no such records file", missing.display());
            }
            let engine = open(&index, emb)?;
            let mut code = 0;
            for file in &records {
                let report = import::import_file(&engine, file, &Bar::new("importing"))
                    .with_context(|| format!("importing {}", file.display()))?;
                print_import(file, &report);
                crate::cli::service::audit_local_change(
                    &index,
                    "import",
                    serde_json::json!({"file": file, "records": report.records,
                        "images": report.images, "unchanged": report.unchanged,
                        "skipped": report.skipped.len()}),
                );
                if !report.skipped.is_empty() {
                    code = 1;
                }
            }
            Ok(code)
        }
        Command::Search {
            index,
            photo,
            text,
            object_type,
            top,
            max_objects,
            json,
            explain,
        } => {
            let engine = open_existing(&index, emb)?;
            let opts = SearchOptions {
                top,
                text,
                object_type,
                photo_sha256: None,
                max_objects,
            };
            // Decode to verdict, as `batch` times each photo (`sec`).
            let started = std::time::Instant::now();
            let resp = match explain {
                // The picture needs the decoded photo after the search.
                Some(out) => {
                    if same_file(&out, &photo) {
                        anyhow::bail!(
                            "{}: is the photo searched; the picture would be written over it: give --explain another name",
                            out.display()
                        );
                    }
                    let query = crate::imaging::decode::decode_path(&photo, engine.limits())?;
                    let opts = SearchOptions {
                        photo_sha256: engine.reviewed_sha256(&photo)?,
                        ..opts
                    };
                    let resp = engine.search(query.clone(), &opts)?;
                    write_explanation(&engine, &query, &resp, &out)?;
                    resp
                }
                None => engine.search_path(&photo, &opts)?,
            };
            let sec = started.elapsed().as_secs_f64();
            if json {
                let line = BatchLine::from_response(photo.display().to_string(), &resp, sec);
                writeln!(
                    std::io::stdout().lock(),
                    "{}",
                    serde_json::to_string(&line)?
                )?;
            } else {
                print_response(&resp, true)?;
            }
            Ok(0)
        }
        Command::Text {
            index,
            query,
            top,
            object_type,
            status,
            source,
            json,
        } => {
            let engine = open_existing(&index, emb)?;
            let (object_type, source) = (args::given(object_type), args::given(source));
            let status = match args::given(status) {
                None => None,
                Some(s) => {
                    Some(Status::parse(&s).with_context(|| format!("unknown status {s:?}"))?)
                }
            };
            let filter = TextFilter {
                object_type,
                status,
                source,
            };
            let started = std::time::Instant::now();
            let resp = engine.search_text(&query, &filter, top)?;
            if json {
                let sec = started.elapsed().as_secs_f64();
                let line = BatchLine::from_response(query, &resp, sec);
                writeln!(
                    std::io::stdout().lock(),
                    "{}",
                    serde_json::to_string(&line)?
                )?;
            } else {
                print_response(&resp, false)?;
            }
            Ok(0)
        }
        Command::Batch(args) => crate::cli::batch::batch(args, emb),
        Command::Reviews { index, photo, json } => {
            let photo = photo.map(|p| p.to_ascii_lowercase());
            if let Some(p) = &photo
                && !(p.len() >= 12 && p.len() <= 64 && p.bytes().all(|b| b.is_ascii_hexdigit()))
            {
                anyhow::bail!(
                    "--photo {p:?}: not a photo's SHA-256 (64 hex digits, or the first 12 or more of them)"
                );
            }
            let engine = open_existing(&index, emb)?;
            // A whole hash is looked up; a prefix is kept from them all.
            let mut reviews = engine.reviews(photo.as_deref().filter(|p| p.len() == 64))?;
            if let Some(p) = &photo {
                reviews.retain(|r| r.photo_sha256.starts_with(p.as_str()));
            }
            let mut out = std::io::stdout().lock();
            if json {
                writeln!(out, "{}", serde_json::to_string_pretty(&reviews)?)?;
            } else {
                for r in &reviews {
                    let photo = &r.photo_sha256[..r.photo_sha256.len().min(12)];
                    let line = format!("{}  photo {photo}  {r}", r.record);
                    writeln!(out, "{}", crate::cli::output::printable(&line))?;
                }
                writeln!(out, "{} decisions", reviews.len())?;
            }
            Ok(0)
        }
        Command::Info { index, json } => {
            if !is_index(&index) {
                bail!(
                    "{}: no index here (run `provenance import` first)",
                    index.display()
                );
            }
            let engine = open(&index, emb)?;
            let info = info::collect(&engine)?;
            if json {
                writeln!(
                    std::io::stdout().lock(),
                    "{}",
                    serde_json::to_string_pretty(&info)?
                )?;
            } else {
                write!(std::io::stdout().lock(), "{info}")?;
            }
            Ok(0)
        }
        Command::Rebuild { index } => {
            if !crate::paths::IndexPaths::new(&index).store().is_file() {
                bail!("{}: no index here", index.display());
            }
            rebuild_one(&index, emb)?;
            // The kept sightings are an index of their own (retro-alerts).
            let paths = crate::paths::IndexPaths::new(&index);
            if paths.sightings_exist() {
                rebuild_one(&paths.sightings(), emb)?;
            }
            Ok(0)
        }
        Command::Verify { index, json } => {
            let checks = crate::jobs::verify::verify(&index);
            if json {
                println!("{}", serde_json::to_string_pretty(&checks)?);
            } else {
                for c in &checks {
                    let state = match c.state {
                        crate::jobs::verify::State::Ok => "ok",
                        crate::jobs::verify::State::Behind => "behind",
                        crate::jobs::verify::State::Damaged => "DAMAGED",
                    };
                    println!("{state:8} {}: {}", c.part, c.message);
                }
            }
            let damaged = checks
                .iter()
                .any(|c| c.state == crate::jobs::verify::State::Damaged);
            Ok(i32::from(damaged))
        }
        Command::Delete { index, ids } => {
            let engine = open_existing(&index, emb)?;
            let _lock = engine.lock_writes()?;
            let gone = engine.delete_many(&ids)?;
            let mut code = 0;
            for (id, existed) in ids.iter().zip(&gone) {
                if *existed {
                    eprintln!("deleted {id}");
                } else {
                    eprintln!("no record {id}");
                    code = 1;
                }
            }
            crate::cli::service::audit_local_change(
                &index,
                "delete",
                serde_json::json!({"ids": ids, "deleted": gone.iter().filter(|g| **g).count()}),
            );
            Ok(code)
        }
        Command::Compact { index } => {
            let engine = open_existing(&index, emb)?;
            let _lock = engine.lock_writes()?;
            let (entries, files) = engine.compact()?;
            eprintln!(
                "compacted {}: {entries} index entries of deleted images dropped, {files} unused uploads removed",
                index.display()
            );
            Ok(0)
        }
        Command::Snapshot { index, out, into } => {
            // A writer killed mid-way leaves the derived indexes behind the
            // store, which replicas (they take no writes) refuse to serve:
            // opening the index brings it level first, when no one writes.
            if is_index(&index)
                && let Err(e) = open(&index, emb)
            {
                eprintln!(
                    "{}: not brought level before the snapshot ({e}); copied as it is",
                    index.display()
                );
            }
            let (out, w) = match (out, into) {
                (Some(out), _) => {
                    let w = crate::jobs::snapshot::snapshot(&index, &out)?;
                    (out, w)
                }
                (None, Some(root)) => {
                    let (name, w) = crate::jobs::snapshot::publish(&index, &root)?;
                    eprintln!("{} now names {name}", root.join("CURRENT").display());
                    (root.join(name), w)
                }
                (None, None) => bail!("--out or --into"),
            };
            eprintln!(
                "snapshot of {} ({} records) in {}: {} files, {} bytes",
                index.display(),
                w.records,
                out.display(),
                w.files,
                w.bytes
            );
            Ok(0)
        }
        Command::Export { index, out } => {
            let w = crate::jobs::snapshot::export(&index, &out)?;
            for why in &w.left_out {
                eprintln!("left out: {why}");
            }
            eprintln!(
                "exported {} records and {} images ({} bytes) to {}{}",
                w.records,
                w.files,
                w.bytes,
                out.join("records.jsonl").display(),
                if w.left_out.is_empty() {
                    String::new()
                } else {
                    format!(
                        "; {} images left out (above), their records exported without them",
                        w.left_out.len()
                    )
                }
            );
            Ok(i32::from(!w.left_out.is_empty()))
        }
        Command::Report(args) => crate::cli::batch::report(args, emb),
        Command::Sightings(args) => crate::cli::sightings::sightings(args, emb),
        Command::Alerts(args) => crate::cli::sightings::alerts(args, emb),
        Command::Serve(args) => crate::cli::service::serve(args, emb),
        Command::Keys { action } => crate::cli::service::keys(action),
        Command::Demo { index } => demo(&index, emb),
    }
}

fn demo(index: &Path, emb: &EmbeddingArgs) -> Result<i32> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/demo");
    let engine = open(index, emb)?;
    for file in ["records.jsonl", "records.csv"] {
        let path = root.join(file);
        let report = import::import_file(&engine, &path, &Bar::new("importing"))?;
        print_import(&path, &report);
    }
    // A simulated officer's photo: the painting tilted on a background.
    let photo = root.join("queries/demo-013_photo_tilt.jpg");
    let explanation = index.join("demo-explain.png");
    println!(
        "\n$ provenance search --index {} {} --explain {}",
        index.display(),
        photo.display(),
        explanation.display()
    );
    let query = crate::imaging::decode::decode_path(&photo, engine.limits())?;
    let resp = engine.search(query.clone(), &SearchOptions::default())?;
    write_explanation(&engine, &query, &resp, &explanation)?;
    print_response(&resp, true)?;
    let words = "bearded philosofer";
    println!(
        "\n$ provenance text --index {} \"{words}\"",
        index.display()
    );
    print_response(
        &engine.search_text(words, &TextFilter::default(), 5)?,
        false,
    )?;
    Ok(0)
}

/// A progress bar on stderr, drawn only when stderr is a terminal.
/// A progress bar on a terminal; in logs, a line per committed batch
/// (what a crashed import had made durable).
struct Bar(indicatif::ProgressBar, bool);

impl Bar {
    fn new(what: &str) -> Bar {
        let tty = std::io::stderr().is_terminal();
        let bar = if tty {
            indicatif::ProgressBar::new(0)
        } else {
            indicatif::ProgressBar::hidden()
        };
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{msg} {bar:40} {pos}/{len} ({per_sec}, eta {eta})",
            )
            .expect("valid template"),
        );
        bar.set_message(what.to_string());
        Bar(bar, tty)
    }
}

impl Progress for Bar {
    fn start(&self, total: u64) {
        self.0.set_length(total);
    }
    fn advance(&self, n: u64) {
        self.0.inc(n);
    }
    fn committed(&self, through: usize, records: usize) {
        if !self.1 {
            eprintln!("committed: {records} records, through line {through}");
        }
    }
    fn finish(&self) {
        self.0.finish_and_clear();
    }
}

/// Regenerates every derived index of the index in `dir` from its store.
fn rebuild_one(dir: &Path, emb: &EmbeddingArgs) -> Result<()> {
    // Opening for a rebuild writes a new generation from the store
    // without reading the current one, which may be damaged.
    let engine = Engine::open_for_rebuild(dir, emb.embedder()?)
        .with_context(|| format!("cannot rebuild index {}", dir.display()))?;
    let _lock = engine.lock_writes()?;
    engine.rebuild_text()?;
    let grids = engine.fill_missing_grids()?;
    if grids.filled > 0 {
        eprintln!(
            "kept the pixel grid (with its colours) of {} images imported before grids or their colours were kept",
            grids.filled
        );
    }
    if grids.unreadable > 0 {
        eprintln!(
            "{} image files could not be read: those images keep what they had (matched without colour comparison, and without pixel comparison where they had no grid)",
            grids.unreadable
        );
    }
    if grids.changed > 0 {
        eprintln!(
            "{} image files no longer hold the picture imported: their grids were left as they are (re-import those records)",
            grids.changed
        );
    }
    eprintln!("rebuilt every derived index in {}", dir.display());
    Ok(())
}

/// Whether two paths name one existing file (by any name or link).
fn same_file(a: &Path, b: &Path) -> bool {
    let a = crate::paths::file_identity(a);
    a.is_some() && a == crate::paths::file_identity(b)
}
