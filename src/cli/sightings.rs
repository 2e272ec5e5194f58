//! `provenance sightings` and `provenance alerts`: the photos kept by
//! searches (`batch --keep`, the API's `keep`) and the records found in
//! them after the fact.

use super::args::{DEFAULT_INDEX, EmbeddingArgs, open_existing};
use crate::cli::output::printable;
use anyhow::Result;
use std::io::Write;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct SightingsArgs {
    /// The index folder (made by `import`).
    #[arg(long, default_value = DEFAULT_INDEX)]
    index: PathBuf,
    /// Print every sighting as one JSON line (an export).
    #[arg(long)]
    json: bool,
    /// Delete this sighting, its alerts and its uploaded photo.
    #[arg(long, value_name = "ID")]
    delete: Option<String>,
}

#[derive(clap::Args, Debug)]
pub struct AlertsArgs {
    /// The index folder (made by `import`).
    #[arg(long, default_value = DEFAULT_INDEX)]
    index: PathBuf,
    #[arg(long)]
    json: bool,
    /// Only alerts raised on or after this date (2026-05-01) or time
    /// (RFC 3339, UTC).
    #[arg(long, value_name = "DATE")]
    since: Option<String>,
    /// Only these verdicts, e.g. `match` or `match,partial`.
    #[arg(long, value_name = "LIST")]
    verdict: Option<String>,
}

pub fn sightings(args: SightingsArgs, emb: &EmbeddingArgs) -> Result<i32> {
    let engine = open_existing(&args.index, emb)?;
    if let Some(id) = args.delete {
        let _lock = engine.lock_writes()?;
        if !engine.delete_sighting(&id)? {
            eprintln!("no sighting {id}");
            return Ok(1);
        }
        super::service::audit_local_change(
            &args.index,
            "delete_sighting",
            serde_json::json!({"id": id}),
        );
        eprintln!("deleted sighting {id}");
        return Ok(0);
    }
    let all = engine.list_sightings()?;
    let mut out = std::io::stdout().lock();
    for s in &all {
        if args.json {
            writeln!(out, "{}", serde_json::to_string(s)?)?;
        } else {
            let c = &s.context;
            let place = [&c.case, &c.url, &c.seller]
                .into_iter()
                .filter(|x| !x.is_empty())
                .cloned()
                .collect::<Vec<_>>()
                .join("  ");
            let (query, place) = (printable(&s.query), printable(&place));
            writeln!(out, "{}  {}  {query}  {place}", s.id, s.kept)?;
        }
    }
    if !args.json {
        writeln!(out, "{} sightings", all.len())?;
    }
    Ok(0)
}

pub fn alerts(args: AlertsArgs, emb: &EmbeddingArgs) -> Result<i32> {
    let filter = crate::store::AlertFilter::parse(args.since.as_deref(), args.verdict.as_deref())
        .map_err(|e| anyhow::anyhow!("--{e}"))?;
    let engine = open_existing(&args.index, emb)?;
    // A check a crash cut short is finished first, when nobody else writes.
    if let Some(_lock) = crate::store::writelock::WriteLock::try_acquire(
        &crate::paths::IndexPaths::new(&args.index).write_lock(),
    )? {
        engine.check_sightings()?;
    }
    let alerts = engine.alerts(&filter)?;
    let mut out = std::io::stdout().lock();
    if args.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&alerts)?)?;
        return Ok(0);
    }
    for a in &alerts {
        let c = &a.sighting.context;
        let place = [&c.case, &c.url]
            .into_iter()
            .find(|x| !x.is_empty())
            .cloned()
            .unwrap_or_default();
        writeln!(
            out,
            "{}  record {}  {} {:.2}  sighting {} ({}, kept {})  {}",
            a.raised,
            a.record,
            a.verdict,
            a.score,
            a.sighting.id,
            printable(&a.sighting.query),
            a.sighting.kept,
            printable(&place)
        )?;
    }
    writeln!(out, "{} alerts", alerts.len())?;
    Ok(0)
}
