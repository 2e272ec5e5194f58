//! The batch report: what an expert works through after `batch`, one
//! self-contained page opened from disk (no server, no network), and the
//! same rows as CSV for a spreadsheet.
//!
//! The page holds every result as JSON and draws a page of rows at a time,
//! so that 50,000 photos open in a second; thumbnails (the photo with the
//! matched region outlined, the database photo) are written beside it in
//! `NAME_files/`, only for rows an expert must look at (`match`,
//! `partial`, `possible`): the rest are listed, folded, without pictures.

use crate::engine::Engine;
use crate::jobs::inputs::BatchInput;
use crate::search::explain;
use crate::store::Review;
use image::{Rgb, RgbImage};
use rayon::prelude::*;
use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Longest side of a thumbnail.
const THUMB: u32 = 360;
const OUTLINE: Rgb<u8> = Rgb([0, 230, 64]);
const PAGE: &str = include_str!("report.html");

/// One row: a searched photo and its best candidate.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub query: String,
    pub verdict: String,
    pub score: f32,
    /// Another photo may change the verdict (`Match::borderline`).
    pub borderline: bool,
    /// A photo of the whole object may change it (`Match::cut_off`).
    pub cut_off: bool,
    pub id: String,
    pub title: String,
    pub maker: String,
    pub object_type: String,
    pub source: String,
    pub status: String,
    pub inliers: u32,
    /// The parts map of the evidence (`crate::search::parts::PartMap`).
    pub parts: String,
    /// The colours' agreement (`crate::search::colour`), where judged…
    #[serde(skip_serializing_if = "Option::is_none")]
    pub colour_agreement: Option<f32>,
    /// …and whether it says the design is in other colours.
    pub colours_differ: bool,
    pub made_in_multiples: bool,
    /// An expert's decision on this candidate: `confirmed` or `rejected`,
    /// by whom and when.
    pub review: String,
    pub error: String,
    /// Thumbnails, relative to the page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub photo_thumb: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference_thumb: Option<String>,
    /// The best candidate's reference image and its outline in the photo,
    /// for the thumbnails; not on the page.
    #[serde(skip)]
    image: Option<String>,
    #[serde(skip)]
    region: Option<[[f32; 2]; 4]>,
}

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}:{line}: not a batch result line: {reason}")]
    Line {
        path: PathBuf,
        line: usize,
        reason: String,
    },
    #[error(transparent)]
    Engine(#[from] crate::engine::EngineError),
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> ReportError + '_ {
    move |source| ReportError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Rows of a batch output file, in the order an expert works: `match`,
/// `partial`, `possible`, the rest, each by score, best first.
pub fn rows(engine: &Engine, results: &[PathBuf]) -> Result<Vec<Row>, ReportError> {
    // A query in several files (a shard run again) counts once: the last.
    let mut by_query: HashMap<String, Row> = HashMap::new();
    for_each_line(results, |v| {
        let row = row(engine, &v)?;
        by_query.insert(row.query.clone(), row);
        Ok(())
    })?;
    let mut rows: Vec<Row> = by_query.into_values().collect();
    rows.sort_by(|a, b| {
        rank(&a.verdict)
            .cmp(&rank(&b.verdict))
            .then(b.score.total_cmp(&a.score))
            .then_with(|| a.query.cmp(&b.query))
    });
    Ok(rows)
}

fn rank(verdict: &str) -> u8 {
    match verdict {
        "match" => 0,
        "partial" => 1,
        "possible" => 2,
        "none" => 3,
        _ => 4,
    }
}

fn row(engine: &Engine, v: &Value) -> Result<Row, ReportError> {
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let best = &v["matches"][0];
    let mut row = Row {
        query: text(&v["query"]),
        verdict: if v["error"].is_string() {
            "error".into()
        } else {
            best["verdict"].as_str().unwrap_or("none").into()
        },
        score: best["score"].as_f64().unwrap_or(0.0) as f32,
        borderline: best["borderline"].as_bool().unwrap_or(false),
        cut_off: best["cut_off"].as_bool().unwrap_or(false),
        id: text(&best["id"]),
        title: String::new(),
        maker: String::new(),
        object_type: String::new(),
        source: String::new(),
        status: String::new(),
        inliers: best["evidence"]["inliers"].as_u64().unwrap_or(0) as u32,
        parts: text(&best["evidence"]["pixel_blocks"]["map"]),
        colour_agreement: best["evidence"]["colour_agreement"]
            .as_f64()
            .map(|a| a as f32),
        colours_differ: crate::search::colour::differs(
            best["evidence"]["colour_agreement"]
                .as_f64()
                .map(|a| a as f32),
        ),
        made_in_multiples: best["made_in_multiples"].as_bool().unwrap_or(false),
        review: serde_json::from_value::<Review>(best["review"].clone())
            .map(|r| r.to_string())
            .unwrap_or_default(),
        error: text(&v["error"]),
        photo_thumb: None,
        reference_thumb: None,
        image: best["image"].as_str().map(String::from),
        region: region(best),
    };
    if !row.id.is_empty()
        && let Some(r) = engine.record(&row.id)?
    {
        row.title = r.title;
        row.maker = r.maker;
        row.object_type = r.object_type;
        row.source = r.source;
        row.status = r.status.as_str().into();
    }
    Ok(row)
}

/// Every line of the result files, parsed, in order; a line that is not
/// JSON is an error naming its file and line.
fn for_each_line(
    results: &[PathBuf],
    mut f: impl FnMut(Value) -> Result<(), ReportError>,
) -> Result<(), ReportError> {
    for results in results {
        let bytes = std::fs::read(results).map_err(io(results))?;
        // A run stopped mid-line (killed, its disk full) leaves its last
        // line cut short, maybe inside a character: that photo is not
        // answered yet, as `--resume` takes it, and is named unsearched,
        // not the whole report refused. A last line whole but for its
        // newline (a file edited by hand) is read.
        let whole = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
        let text = std::str::from_utf8(&bytes[..whole])
            .map_err(|e| io(results)(std::io::Error::new(std::io::ErrorKind::InvalidData, e)))?;
        let tail = std::str::from_utf8(&bytes[whole..])
            .ok()
            .filter(|t| serde_json::from_str::<Value>(t).is_ok());
        for (n, line) in text
            .lines()
            .chain(tail)
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let v: Value = serde_json::from_str(line).map_err(|e| ReportError::Line {
                path: results.to_path_buf(),
                line: n + 1,
                reason: e.to_string(),
            })?;
            // Not searched yet, for a reason not the photo's: `--resume`
            // searches it again.
            if v["retry"] == true {
                continue;
            }
            f(v)?;
        }
    }
    Ok(())
}

/// The inputs that no answered query names, in input order.
pub fn unsearched<'a>(
    answered: impl Iterator<Item = &'a str>,
    inputs: &[BatchInput],
) -> Vec<String> {
    let answered: std::collections::HashSet<&str> = answered.collect();
    inputs
        .iter()
        .filter(|i| !answered.contains(i.query.as_str()))
        .map(|i| i.query.clone())
        .collect()
}

/// The queries the result files answer (their lines' `query`), without
/// making their rows.
pub fn answered(results: &[PathBuf]) -> Result<Vec<String>, ReportError> {
    let mut out = Vec::new();
    for_each_line(results, |v| {
        out.extend(v["query"].as_str().map(String::from));
        Ok(())
    })?;
    Ok(out)
}

/// The folder of a report page's thumbnails: `PAGE_files/` beside it.
pub fn files_dir(page: &Path) -> PathBuf {
    let stem = page
        .file_stem()
        .map_or("report".into(), |s| s.to_string_lossy().into_owned());
    page.parent()
        .unwrap_or(Path::new("."))
        .join(format!("{stem}_files"))
}

/// Writes `page` (HTML) with its thumbnails in `PAGE_files/` beside it,
/// and the inputs no result line answers named at its top. `inputs` says
/// where each query's photo is; `results` is the batch output the rows
/// come from. Returns the rows written.
pub fn write_html(
    engine: &Engine,
    results: &[PathBuf],
    inputs: &[BatchInput],
    page: &Path,
) -> Result<usize, ReportError> {
    let mut rows = rows(engine, results)?;
    let unsearched = unsearched(rows.iter().map(|r| r.query.as_str()), inputs);
    let dir = files_dir(page);
    // The thumbnails' folder as a relative URL: a page named "lot #7.html"
    // would otherwise point into "lot " with the fragment "7_files/...".
    let files_name = dir.file_name().map_or("report_files".into(), url_segment);
    std::fs::create_dir_all(&dir).map_err(io(&dir))?;
    let paths: HashMap<&str, &Path> = inputs
        .iter()
        .map(|i| (i.query.as_str(), i.path.as_path()))
        .collect();
    let limits = engine.limits();
    rows.par_iter_mut()
        .enumerate()
        .filter(|(_, r)| rank(&r.verdict) <= 2)
        .for_each(|(n, r)| {
            if let Some(photo) = paths.get(r.query.as_str())
                && let Ok(img) = crate::imaging::decode::decode_path(photo, limits)
            {
                let name = format!("{n:06}-photo.jpg");
                if save(&outlined(img, r.region), &dir.join(&name)) {
                    r.photo_thumb = Some(format!("{files_name}/{name}"));
                }
            }
            if let Some(reference) = &r.image
                && let Ok(img) = crate::imaging::decode::decode_path(Path::new(reference), limits)
            {
                let name = format!("{n:06}-record.jpg");
                if save(
                    &crate::imaging::decode::fit_within(img, THUMB),
                    &dir.join(&name),
                ) {
                    r.reference_thumb = Some(format!("{files_name}/{name}"));
                }
            }
        });
    let data = serde_json::json!({
        "database": engine.database_state()?,
        "results": results.iter().map(|r| r.display().to_string()).collect::<Vec<_>>().join(", "),
        "made": humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
        "rows": rows,
        // Named up to a screenful; counted in full.
        "unsearched": unsearched.iter().take(100).collect::<Vec<_>>(),
        "unsearched_count": unsearched.len(),
    });
    // The JSON sits in a <script> element: no "<" at all, or a name such
    // as "<!--<script>" (legal in a seized folder) would change how the
    // browser reads the rest of the page ("\u003c" is the same string).
    let json = serde_json::to_string(&data)
        .expect("rows serialise")
        .replace('<', "\\u003c");
    let html = PAGE.replace("/*DATA*/null", &json);
    crate::paths::write_atomic(page, html.as_bytes()).map_err(io(page))?;
    Ok(rows.len())
}

fn region(best: &Value) -> Option<[[f32; 2]; 4]> {
    let r = best["evidence"]["region"].as_array()?;
    let mut quad = [[0f32; 2]; 4];
    for (q, p) in quad.iter_mut().zip(r) {
        *q = [p[0].as_f64()? as f32, p[1].as_f64()? as f32];
    }
    (r.len() == 4).then_some(quad)
}

/// The photo shrunk to a thumbnail, with the matched region outlined.
fn outlined(img: RgbImage, region: Option<[[f32; 2]; 4]>) -> RgbImage {
    let scale = (THUMB as f32 / img.width().max(img.height()) as f32).min(1.0);
    let mut thumb = crate::imaging::decode::fit_within(img, THUMB);
    if let Some(quad) = region {
        explain::draw_quad(
            &mut thumb,
            &quad.map(|[x, y]| [x * scale, y * scale]),
            OUTLINE,
        );
    }
    thumb
}

/// A thumbnail written as JPEG; a failure costs the picture, not the report.
fn save(img: &RgbImage, path: &Path) -> bool {
    img.save_with_format(path, image::ImageFormat::Jpeg).is_ok()
}

/// The rows as CSV (RFC 4180), for a spreadsheet.
pub fn write_csv(engine: &Engine, results: &[PathBuf], out: &Path) -> Result<usize, ReportError> {
    let rows = rows(engine, results)?;
    let mut csv = String::from(
        "query,verdict,score,record,title,maker,object_type,source,status,inliers,parts,made_in_multiples,review,error\r\n",
    );
    for r in &rows {
        let fields = [
            r.query.clone(),
            r.verdict.clone(),
            format!("{:.4}", r.score),
            r.id.clone(),
            r.title.clone(),
            r.maker.clone(),
            r.object_type.clone(),
            r.source.clone(),
            r.status.clone(),
            r.inliers.to_string(),
            r.parts.clone(),
            r.made_in_multiples.to_string(),
            r.review.clone(),
            r.error.clone(),
        ];
        let quoted: Vec<String> = fields.iter().map(|f| quote(f)).collect();
        csv.push_str(&quoted.join(","));
        csv.push_str("\r\n");
    }
    crate::paths::write_atomic(out, csv.as_bytes()).map_err(io(out))?;
    Ok(rows.len())
}

/// A file name as one segment of a relative URL: every byte but the
/// unreserved ones percent-encoded (RFC 3986), the name's own bytes on Unix.
fn url_segment(name: &std::ffi::OsStr) -> String {
    #[cfg(unix)]
    let bytes = std::os::unix::ffi::OsStrExt::as_bytes(name).to_vec();
    #[cfg(not(unix))]
    let bytes = name.to_string_lossy().into_owned().into_bytes();
    bytes
        .iter()
        .map(|&b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn quote(field: &str) -> String {
    // A leading = + - @ (or a tab or carriage return before one, which
    // spreadsheets skip) would be a formula: quoted as text (OWASP's list).
    let formula =
        field.starts_with(['=', '+', '-', '@', '\t', '\r']) && field.parse::<f64>().is_err();
    if formula || field.contains([',', '"', '\n', '\r']) {
        format!(
            "\"{}{}\"",
            if formula { "'" } else { "" },
            field.replace('"', "\"\"")
        )
    } else {
        field.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_formulas_defused() {
        assert_eq!(quote("plain"), "plain");
        assert_eq!(quote("a, b"), "\"a, b\"");
        assert_eq!(quote("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(quote("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(quote("-0.5"), "-0.5");
        assert_eq!(quote("\t=1+1"), "\"'\t=1+1\"");
        assert_eq!(quote("\r=1+1"), "\"'\r=1+1\"");
    }

    #[test]
    fn a_folder_name_is_one_url_segment() {
        let name = std::ffi::OsStr::new("lot #7 ?%é_files");
        assert_eq!(url_segment(name), "lot%20%237%20%3F%25%C3%A9_files");
    }

    #[test]
    fn matches_come_first_then_partial_then_possible() {
        let mut v = ["none", "possible", "error", "match", "partial"];
        v.sort_by_key(|s| rank(s));
        assert_eq!(v, ["match", "partial", "possible", "none", "error"]);
    }
}
