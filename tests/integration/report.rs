//! `batch --report` and `--report-csv`: the page an expert works through
//! after a batch, and the same rows for a spreadsheet.

use crate::util::{Index, demo_queries, fixture};
use serde_json::Value;
use std::path::Path;

/// A file that is not a photo, named to end a script early.
pub(crate) const NOT_A_PHOTO: &str = "notes <!--<script>.txt";

/// A copy of the demo queries with a file that is not a photo, searched
/// with both reports; returns (folder, page, csv).
pub(crate) fn batch_with_report(
    ix: &Index,
) -> (std::path::PathBuf, std::path::PathBuf, std::path::PathBuf) {
    let dir = ix.scratch("photos");
    std::fs::create_dir_all(&dir).unwrap();
    for q in demo_queries() {
        std::fs::copy(fixture(&format!("demo/queries/{q}")), dir.join(&q)).unwrap();
    }
    // Named as a hostile folder may name a file: the page must still work.
    std::fs::write(dir.join(NOT_A_PHOTO), "not a photo").unwrap();
    let (out, page, csv) = (
        ix.scratch("out.jsonl"),
        // A page name a URL would cut at '#': the thumbnails still show.
        ix.scratch("lot #7.html"),
        ix.scratch("lot.csv"),
    );
    ix.cmd(
        "batch",
        &[
            dir.as_os_str(),
            "--out".as_ref(),
            out.as_os_str(),
            "--report".as_ref(),
            page.as_os_str(),
            "--report-csv".as_ref(),
            csv.as_os_str(),
        ],
    )
    .expect_code(1); // the file that is not a photo
    (dir, page, csv)
}

/// The JSON the page carries.
fn page_data(page: &Path) -> Value {
    let html = std::fs::read_to_string(page).unwrap();
    let start = html
        .find("<script id=\"data\" type=\"application/json\">")
        .unwrap();
    let body = &html[start..];
    let body = &body[body.find('>').unwrap() + 1..body.find("</script>").unwrap()];
    assert!(!body.contains('<'), "a < in the page's data");
    serde_json::from_str(body).unwrap()
}

#[test]
fn the_report_lists_every_photo_matches_first_with_thumbnails_beside_it() {
    let ix = Index::demo();
    let (_, page, csv) = batch_with_report(&ix);
    let data = page_data(&page);
    let rows = data["rows"].as_array().unwrap();
    assert_eq!(rows.len(), demo_queries().len() + 1, "{data}");
    assert_eq!(data["database"]["records"], 18, "{data}");
    // Matches first, best first; the unreadable file last, with its error.
    assert_eq!(rows[0]["verdict"], "match");
    let order: Vec<&str> = rows
        .iter()
        .map(|r| r["verdict"].as_str().unwrap())
        .collect();
    let rank = |v: &str| {
        ["match", "partial", "possible", "none", "error"]
            .iter()
            .position(|x| *x == v)
            .unwrap()
    };
    assert!(
        order.windows(2).all(|w| rank(w[0]) <= rank(w[1])),
        "{order:?}"
    );
    let last = rows.last().unwrap();
    assert_eq!(last["verdict"], "error", "{last}");
    assert_eq!(last["query"], NOT_A_PHOTO);
    assert!(!last["error"].as_str().unwrap().is_empty());
    // Every match has its two pictures on disk, beside the page.
    let dir = page.parent().unwrap();
    for r in rows.iter().filter(|r| r["verdict"] == "match") {
        for key in ["photo_thumb", "reference_thumb"] {
            let rel = r[key].as_str().unwrap_or_else(|| panic!("no {key}: {r}"));
            assert!(rel.starts_with("lot%20%237_files/"), "{rel}");
            let img = image::open(dir.join(rel.replace("%20", " ").replace("%23", "#"))).unwrap();
            assert!(img.width().max(img.height()) <= 360, "{rel}");
        }
        assert!(!r["title"].as_str().unwrap().is_empty(), "{r}");
    }
    // No pictures for rows that need no look.
    assert!(
        rows.iter()
            .filter(|r| r["verdict"] == "none")
            .all(|r| r.get("photo_thumb").is_none())
    );

    // The CSV: a header and the same rows in the same order.
    let text = std::fs::read_to_string(&csv).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with("query,verdict,score,record,title"),
        "{text}"
    );
    assert_eq!(lines.len(), rows.len() + 1, "{text}");
    assert!(lines[1].contains(",match,"), "{text}");
    assert!(
        lines
            .last()
            .unwrap()
            .starts_with(&format!("{NOT_A_PHOTO},error,")),
        "{text}"
    );
}

/// What a run writes is never read as an input, nor written over another
/// output: a report inside the folder searched (its thumbnails are
/// photos) and a report named like the results it reads.
#[test]
fn a_report_never_overwrites_results_nor_becomes_an_input() {
    let ix = Index::demo();
    let dir = ix.scratch("lot");
    std::fs::create_dir_all(&dir).unwrap();
    for q in ["demo-013_photo_tilt.jpg", "demo-003_crop_resize.jpg"] {
        std::fs::copy(fixture(&format!("demo/queries/{q}")), dir.join(q)).unwrap();
    }
    let (out, page) = (dir.join("out.jsonl"), dir.join("lot.html"));
    let run = || {
        ix.cmd(
            "batch",
            &[
                dir.as_os_str(),
                "--out".as_ref(),
                out.as_os_str(),
                "--report".as_ref(),
                page.as_os_str(),
            ],
        )
        .ok()
    };
    run();
    run();
    let lines = std::fs::read_to_string(&out).unwrap();
    assert_eq!(lines.lines().count(), 2, "{lines}");
    // A report over the results it reads, or a batch writing one file twice.
    let over = ix
        .cmd(
            "report",
            &[
                "--input".as_ref(),
                dir.as_os_str(),
                out.as_os_str(),
                "--out".as_ref(),
                out.as_os_str(),
            ],
        )
        .expect_code(2);
    assert!(over.stderr.contains("result files read"), "{}", over.stderr);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), lines);
    let twice = ix
        .cmd(
            "batch",
            &[
                dir.as_os_str(),
                "--out".as_ref(),
                out.as_os_str(),
                "--report".as_ref(),
                out.as_os_str(),
            ],
        )
        .expect_code(2);
    assert!(twice.stderr.contains("written twice"), "{}", twice.stderr);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), lines);
}
