//! What the command line prints for people: import summaries, result
//! lists, the expert's picture. `--json` output is serde's, not here.

use crate::engine::{Engine, SearchResponse};
use crate::jobs::import::ImportReport;
use crate::search::explain::FoundObject;
use anyhow::{Context, Result, bail};
use std::io::Write;
use std::path::Path;

/// Text from outside (a listing's seller, a batch input's name) as a
/// terminal may show it: control and direction-changing characters
/// escaped, so that it can neither clear the screen nor forge a line.
pub(crate) fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    let hostile =
        |c: char| c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
    if !text.chars().any(hostile) {
        return std::borrow::Cow::Borrowed(text);
    }
    text.chars()
        .map(|c| match hostile(c) {
            true => c.escape_unicode().to_string(),
            false => c.to_string(),
        })
        .collect::<String>()
        .into()
}

/// One `ALERT:` line a raised alert, on stderr.
pub(crate) fn print_alerts(alerts: &[crate::store::Alert]) {
    for a in alerts {
        eprintln!(
            "ALERT: record {} is shown by sighting {} ({}, kept {} by {}): {} {:.2}",
            a.record,
            a.sighting.id,
            printable(&a.sighting.query),
            a.sighting.kept,
            printable(&a.sighting.kept_by),
            a.verdict,
            a.score
        );
    }
}

pub(crate) fn print_import(file: &Path, r: &ImportReport) {
    for p in &r.skipped {
        eprintln!("skipped: {}", printable(&p.to_string()));
    }
    for p in &r.warnings {
        eprintln!("warning: {}", printable(&p.to_string()));
    }
    // The import's own rate; checking the sightings is said apart.
    let importing = r.seconds - r.alerts_seconds;
    let rate = if importing > 0.0 {
        r.images as f64 / importing
    } else {
        0.0
    };
    eprintln!(
        "{}: imported {} records ({} images, {:.1} images/s), {} unchanged, skipped {}",
        file.display(),
        r.records,
        r.images,
        rate,
        r.unchanged,
        r.skipped.len()
    );
    let c = &r.sightings;
    if c.sightings > 0 {
        eprintln!(
            "{} new images looked up among {} kept sightings in {:.1} s; {} sightings that may show one searched again in {:.1} s: {} alerts",
            c.images,
            c.sightings,
            c.lookup_seconds,
            c.leads,
            c.search_seconds,
            c.alerts.len()
        );
    }
    print_alerts(&c.alerts);
    if let Some(e) = &r.alerts_error {
        eprintln!("warning: the kept sightings were not checked: {e}");
    }
}

/// Renders the best candidate for an expert; without a candidate there
/// is nothing to explain, which is said rather than silently skipped.
pub(crate) fn write_explanation(
    engine: &Engine,
    query: &image::RgbImage,
    resp: &SearchResponse,
    out: &Path,
) -> Result<()> {
    let Some(best) = resp.matches.first() else {
        bail!("no candidate to explain: the database has no image close to this photo");
    };
    let path = best
        .image
        .as_deref()
        .context("the best candidate has no image")?;
    let reference = crate::imaging::decode::decode_path(Path::new(path), engine.limits())
        .with_context(|| format!("reading the reference image of {}", best.id))?;
    // Every object found: the best result of each.
    let mut objects: Vec<FoundObject> = Vec::new();
    for m in &resp.matches {
        if let (Some(number), Some(region)) = (m.object, m.evidence.and_then(|e| e.region))
            && !objects.iter().any(|o| o.number == number)
        {
            objects.push(FoundObject {
                number,
                id: m.id.clone(),
                verdict: m.verdict.as_str(),
                region,
            });
        }
    }
    let picture = crate::search::explain::render(&crate::search::explain::Explanation {
        query,
        reference: &reference,
        region: best.evidence.and_then(|e| e.region),
        pairs: &best.pairs,
        blocks: best.evidence.as_ref().and_then(|e| e.pixel_blocks.as_ref()),
        objects: &objects,
    });
    picture
        .save_with_format(out, image::ImageFormat::Png)
        .with_context(|| format!("writing {}", out.display()))?;
    match objects.len() {
        0 | 1 => eprintln!("explanation of {} written to {}", best.id, out.display()),
        n => eprintln!(
            "explanation of {} and the {n} objects found written to {}",
            best.id,
            out.display()
        ),
    }
    Ok(())
}

pub(crate) fn print_response(resp: &SearchResponse, photo: bool) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    let db = &resp.database;
    writeln!(
        out,
        "Searched {} records ({} images), database generation {} (change {}).",
        db.records, db.images, db.generation, db.store_seq
    )?;
    // For a photo, weak candidates are noise to an officer: show every
    // match and possible match, and at most three of the closest others
    // (`--json` keeps them all).
    let mut weak = 0;
    for (i, m) in resp.matches.iter().enumerate() {
        // A reviewed candidate is never hidden.
        if photo && m.verdict == crate::search::scoring::Verdict::None && m.review.is_none() {
            weak += 1;
            if weak > 3 {
                continue;
            }
        }
        let r = &m.record;
        let verdict = if photo { m.verdict.as_str() } else { "" };
        writeln!(
            out,
            "{:>3}. {:<16} {:.3} {:<8} {} — {} ({}, {})",
            i + 1,
            printable(&m.id),
            m.score,
            verdict,
            if r.title.is_empty() {
                "(untitled)".into()
            } else {
                printable(&r.title)
            },
            if r.maker.is_empty() {
                "unknown maker".into()
            } else {
                printable(&r.maker)
            },
            if r.object_type.is_empty() {
                "object".into()
            } else {
                printable(&r.object_type)
            },
            r.status
        )?;
        if photo && m.verdict != crate::search::scoring::Verdict::None {
            explain_line(&mut out, m)?;
        } else if let Some(review) = &m.review {
            writeln!(out, "     reviewed: {}", printable(&review.to_string()))?;
        }
    }
    if photo
        && !resp
            .matches
            .iter()
            .any(|m| m.verdict != crate::search::scoring::Verdict::None)
    {
        writeln!(
            out,
            "No match in {} records. No match is not a clearance: the object may be unreported or photographed beyond recognition.",
            db.records
        )?;
        if resp.matches.first().is_some_and(|m| m.borderline) {
            writeln!(
                out,
                "The best candidate is close to a verdict threshold: another photo, taken straight on and close, may settle it."
            )?;
        }
    }
    Ok(())
}

/// What an officer must know beyond the verdict: which parts of the
/// record's picture the photo does not show as it is, and, for objects made
/// in multiples, that the picture proves the design and what proves the
/// object.
fn explain_line(out: &mut impl Write, m: &crate::search::response::Match) -> std::io::Result<()> {
    use crate::search::scoring::Verdict;
    if let Some(b) = m.evidence.as_ref().and_then(|e| e.pixel_blocks) {
        let lead = if m.verdict == Verdict::Partial {
            "shares only part of its picture:"
        } else {
            "parts of its picture:"
        };
        if m.verdict == Verdict::Partial || b.differ + b.missing + b.added + b.outside > 0 {
            writeln!(
                out,
                "     {lead} {} of {} agree, {} differ, {} not in the photo, {} missing from it, {} added in it; in parts a quarter as large {} of {} agree",
                b.agree,
                b.structure(),
                b.differ,
                b.outside,
                b.missing,
                b.added,
                b.fine.agree,
                b.fine.structure()
            )?;
        }
        if b.off_backdrop {
            writeln!(
                out,
                "     judged as the object off its catalogue backdrop: its surroundings in the photo are not compared"
            )?;
        }
    }
    if let Some(a) = m
        .evidence
        .as_ref()
        .and_then(|e| e.colour_agreement)
        .filter(|&a| crate::search::colour::differs(Some(a)))
    {
        writeln!(
            out,
            "     coloured otherwise (colour agreement {a:.2}): the same design in other colours, a colourway or a copy, not this object unless coloured light explains it"
        )?;
    }
    if m.borderline {
        writeln!(
            out,
            "     borderline: this verdict is within what a re-taken or re-saved photo changes; take another photo before acting on it"
        )?;
    }
    if m.cut_off {
        writeln!(
            out,
            "     cut off: most of this picture lies outside the photo, which cannot tell a close-up of it from a detail another picture shares; photograph the whole object and search again"
        )?;
    }
    if m.evidence.as_ref().is_some_and(|e| e.not_compared) {
        writeln!(
            out,
            "     not compared pixel by pixel: more candidates would match than a search compares (many images or colourways of one design); an expert should compare"
        )?;
    }
    if let Some(review) = &m.review {
        writeln!(out, "     reviewed: {}", printable(&review.to_string()))?;
    }
    let r = &m.record;
    if r.made_in_multiples {
        writeln!(
            out,
            "     made in multiples: the same design, not necessarily this object; compare{}{}",
            if r.inscriptions.is_empty() {
                String::new()
            } else {
                format!(" inscriptions: {};", printable(&r.inscriptions))
            },
            if r.features.is_empty() {
                " the object's own marks (the record lists none)".to_string()
            } else {
                format!(" distinguishing features: {}", printable(&r.features))
            }
        )?;
    }
    Ok(())
}
