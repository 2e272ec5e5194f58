//! `batch`: one JSON line per image, in sorted order, resumable.

use crate::util::{Index, demo_queries, expected_id, fixture};
use serde_json::Value;
use std::path::Path;

fn lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad line ({e}): {l}")))
        .collect()
}

fn queries(lines: &[Value]) -> Vec<String> {
    lines
        .iter()
        .map(|l| l["query"].as_str().unwrap().to_string())
        .collect()
}

fn batch(ix: &Index, out: &Path, resume: bool) -> String {
    let dir = fixture("demo/queries");
    let mut args = vec![dir.as_os_str(), "--out".as_ref(), out.as_os_str()];
    if resume {
        args.push("--resume".as_ref());
    }
    ix.cmd("batch", &args).ok().stderr
}

#[test]
fn one_line_per_image_in_sorted_order() {
    let ix = Index::demo();
    let out = ix.scratch("out.jsonl");
    let said = batch(&ix, &out, false);
    let got = lines(&out);
    assert_eq!(queries(&got), demo_queries());
    // The summary says where the time went, for an operator sizing a run.
    let stages = said
        .lines()
        .find(|l| l.starts_with("median time per photo by stage: describe "))
        .unwrap_or_else(|| panic!("{said}"));
    for stage in ["candidates", "pixels", "objects", "rank"] {
        assert!(stages.contains(&format!(", {stage} ")), "{stages}");
    }
    assert!(queries(&got).contains(&"demo-005_rot90.jpg".to_string()));
    for l in &got {
        assert!(l["error"].is_null(), "{l}");
        assert!(l["sec"].as_f64().is_some_and(|s| s >= 0.0), "{l}");
        // Where the time went: each stage's seconds, within the whole.
        let stages = l["stages"].as_object().unwrap_or_else(|| panic!("{l}"));
        let sum: f64 = stages.values().map(|v| v.as_f64().unwrap()).sum();
        assert_eq!(stages.len(), 5, "{l}");
        assert!(sum <= l["sec"].as_f64().unwrap(), "{l}");
    }
    // Batch and search agree on the easy ones.
    let rot = got
        .iter()
        .find(|l| l["query"] == "demo-005_rot90.jpg")
        .unwrap();
    assert_eq!(rot["matches"][0]["id"], "demo-005");
    assert_eq!(rot["matches"][0]["verdict"], "match");
    // A plain run overwrites rather than appends.
    batch(&ix, &out, false);
    assert_eq!(lines(&out).len(), got.len());
}

#[test]
fn any_number_of_jobs_writes_the_same_lines_in_order() {
    let ix = Index::demo();
    let dir = fixture("demo/queries");
    let top = |jobs: &str| {
        let out = ix.scratch(&format!("jobs-{jobs}.jsonl"));
        let args = [
            dir.as_os_str(),
            "--out".as_ref(),
            out.as_os_str(),
            "--jobs".as_ref(),
            jobs.as_ref(),
        ];
        ix.cmd("batch", &args).ok();
        lines(&out)
            .iter()
            .map(|l| {
                (
                    l["query"].to_string(),
                    l["matches"][0]["id"].to_string(),
                    l["matches"][0]["verdict"].to_string(),
                )
            })
            .collect::<Vec<_>>()
    };
    let one = top("1");
    assert_eq!(
        one.iter()
            .map(|l| l.0.trim_matches('"').to_string())
            .collect::<Vec<_>>(),
        demo_queries()
    );
    assert_eq!(top("5"), one);
}

#[test]
fn resume_completes_a_partial_file() {
    let ix = Index::demo();
    let out = ix.scratch("out.jsonl");
    batch(&ix, &out, false);
    let full = lines(&out);
    let text = std::fs::read_to_string(&out).unwrap();
    let head: String = text.lines().take(3).map(|l| format!("{l}\n")).collect();
    std::fs::write(&out, &head).unwrap();

    batch(&ix, &out, true);
    let resumed = lines(&out);
    assert_eq!(
        queries(&resumed),
        queries(&full),
        "resumed file differs from a full run"
    );
    assert!(
        std::fs::read_to_string(&out).unwrap().starts_with(&head),
        "kept lines were rewritten"
    );
    for (a, b) in resumed.iter().zip(&full) {
        assert_eq!(
            a["matches"][0]["id"], b["matches"][0]["id"],
            "{}",
            a["query"]
        );
    }
    // Resuming a complete file adds nothing.
    batch(&ix, &out, true);
    assert_eq!(lines(&out).len(), full.len());
}

/// A line whose error was not the photo's (`retry`: the index could not be
/// read, a bug) is searched again by `--resume`; the photo's own errors
/// are not.
#[test]
fn resume_searches_again_what_failed_for_a_reason_not_the_photos() {
    let ix = Index::demo();
    let out = ix.scratch("out.jsonl");
    batch(&ix, &out, false);
    let full = lines(&out);
    let mut head: Vec<Value> = full.iter().take(3).cloned().collect();
    let again = head[1]["query"].as_str().unwrap().to_string();
    head[1] = serde_json::json!({"query": again, "matches": [], "sec": 0.0,
        "error": "the index could not be read", "retry": true});
    let text: String = head.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(&out, text).unwrap();
    let said = batch(&ix, &out, true);
    let resumed = lines(&out);
    let mut got = queries(&resumed);
    got.sort();
    let mut want = queries(&full);
    want.sort();
    assert_eq!(got, want, "each photo once: {said}");
    let line = resumed
        .iter()
        .find(|l| l["query"] == again.as_str())
        .unwrap();
    assert!(
        line["error"].is_null() && line.get("retry").is_none(),
        "{line}"
    );
    assert_eq!(
        line["matches"][0]["id"],
        full.iter().find(|l| l["query"] == again.as_str()).unwrap()["matches"][0]["id"]
    );
}

#[test]
fn resume_after_a_torn_last_line() {
    // A crash can leave half a line behind; resuming must still give a
    // valid JSONL file with every query exactly once.
    let ix = Index::demo();
    let out = ix.scratch("out.jsonl");
    batch(&ix, &out, false);
    let full = lines(&out);
    let text = std::fs::read_to_string(&out).unwrap();
    let mut partial: String = text.lines().take(3).map(|l| format!("{l}\n")).collect();
    let fourth = text.lines().nth(3).unwrap();
    partial.push_str(&fourth[..fourth.len() / 2]);
    std::fs::write(&out, &partial).unwrap();

    batch(&ix, &out, true);
    let got = std::fs::read_to_string(&out).unwrap();
    let parsed: Vec<Value> = got
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let mut q = queries(&parsed);
    q.sort();
    assert_eq!(
        q,
        queries(&full),
        "every query once, each on a valid line:\n{got}"
    );
}

#[test]
fn list_file_names_queries_as_written() {
    let ix = Index::demo();
    let list = ix.scratch("list.txt");
    let dir = fixture("demo/queries");
    std::fs::write(
        &list,
        format!(
            "# seizure lot 7\n{}\n\n{}\n",
            dir.join("demo-014_grey.jpg").display(),
            dir.join("neg_guitar.jpg").display()
        ),
    )
    .unwrap();
    let out = ix.scratch("out.jsonl");
    ix.cmd(
        "batch",
        &[list.as_os_str(), "--out".as_ref(), out.as_os_str()],
    )
    .ok();
    let got = lines(&out);
    assert_eq!(got.len(), 2);
    assert!(
        got[0]["query"]
            .as_str()
            .unwrap()
            .ends_with("demo-014_grey.jpg")
    );
    assert_eq!(
        got[0]["matches"][0]["id"].as_str(),
        expected_id("demo-014_grey.jpg")
    );
}

#[test]
fn empty_folder_is_an_error() {
    let ix = Index::demo();
    let empty = ix.scratch("nothing");
    std::fs::create_dir_all(&empty).unwrap();
    let out = ix
        .cmd(
            "batch",
            &[
                empty.as_os_str(),
                "--out".as_ref(),
                ix.scratch("o.jsonl").as_os_str(),
            ],
        )
        .expect_code(2);
    assert!(out.stderr.contains("no files"), "{}", out.stderr);
}

/// An empty folder for a lot, and a photo to put in it.
fn a_lot(ix: &Index, name: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let lot = ix.scratch(name);
    std::fs::create_dir_all(&lot).unwrap();
    (lot, fixture("demo/queries/demo-005_rot90.jpg"))
}

/// What a seized phone's dump may hold besides photos: a pipe, a link to a
/// device. Each gets a line with its error; none hangs or fills memory.
#[cfg(unix)]
#[test]
fn pipes_and_devices_in_a_folder_get_an_error_line_not_a_hang() {
    let ix = Index::demo();
    let (lot, photo) = a_lot(&ix, "lot");
    std::fs::copy(&photo, lot.join("a.jpg")).unwrap();
    std::fs::copy(&photo, lot.join(".trashed-a.jpg")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", lot.join("b.jpg")).unwrap();
    // Pipes, one named as an earlier run's output would be: looking at
    // what it holds must not wait for a writer either.
    let made = std::process::Command::new("mkfifo")
        .arg(lot.join("c.jpg"))
        .arg(lot.join("d.csv"))
        .status()
        .unwrap();
    assert!(made.success());
    for keep in [false, true] {
        let out = ix.scratch("lot.jsonl");
        let mut args = vec![lot.as_os_str(), "--out".as_ref(), out.as_os_str()];
        if keep {
            args.push("--keep".as_ref());
        }
        // Exit 1: three of the files cannot be searched.
        let said = ix.cmd("batch", &args).expect_code(1).stderr;
        // Hidden files are left out, as `ls` leaves them out, and said so.
        assert!(
            said.contains(
                "left out 1 hidden files or folders (names starting with '.'): .trashed-a.jpg"
            ),
            "{said}"
        );
        let got = lines(&out);
        assert_eq!(queries(&got), ["a.jpg", "b.jpg", "c.jpg", "d.csv"]);
        assert_eq!(got[0]["matches"][0]["id"], "demo-005", "{}", got[0]);
        for l in &got[1..] {
            let e = l["error"].as_str().unwrap_or_else(|| panic!("{l}"));
            assert!(e.contains("not a regular file"), "{e}");
        }
    }
}

/// Names that are not UTF-8 (an old camera's card, a Windows-1252 copy)
/// stay distinct queries, so `--resume` does not take one for the other.
#[cfg(unix)]
#[test]
fn names_that_are_not_utf8_stay_apart() {
    use std::os::unix::ffi::OsStrExt;
    let ix = Index::demo();
    let (lot, photo) = a_lot(&ix, "card");
    for b in [0xE9u8, 0xE8] {
        let name = [b'c', b'a', b'f', b, b'.', b'j', b'p', b'g'];
        std::fs::copy(&photo, lot.join(std::ffi::OsStr::from_bytes(&name))).unwrap();
    }
    let out = ix.scratch("card.jsonl");
    let args = [lot.as_os_str(), "--out".as_ref(), out.as_os_str()];
    ix.cmd("batch", &args).ok();
    let got = lines(&out);
    assert_eq!(queries(&got), ["caf\\xE8.jpg", "caf\\xE9.jpg"]);
    // Cut back to the first line: the resumed run searches the second.
    let first = std::fs::read_to_string(&out).unwrap();
    std::fs::write(&out, format!("{}\n", first.lines().next().unwrap())).unwrap();
    let mut resumed = args.to_vec();
    resumed.push("--resume".as_ref());
    let said = ix.cmd("batch", &resumed).ok().stderr;
    assert_eq!(queries(&lines(&out)), ["caf\\xE8.jpg", "caf\\xE9.jpg"]);
    // The summary is the lot's: the resumed line's match counts too.
    assert!(said.contains("(1 already done), 2 with a match"), "{said}");
}

/// `--shard I/N`: three runs cover every photo exactly once, each line as
/// the unsharded run wrote it (timing aside).
#[test]
fn three_shards_equal_one_unsharded_run() {
    let ix = Index::demo();
    let dir = fixture("demo/queries");
    let run = |name: &str, shard: Option<&str>| {
        let out = ix.scratch(name);
        let mut args = vec![dir.as_os_str(), "--out".as_ref(), out.as_os_str()];
        if let Some(s) = shard {
            args.push(std::ffi::OsStr::new("--shard"));
            args.push(std::ffi::OsStr::new(s));
        }
        ix.cmd("batch", &args).ok();
        lines(&out)
            .into_iter()
            .map(|mut l| {
                let timing = l.as_object_mut().unwrap();
                timing.remove("sec");
                timing.remove("stages");
                (l["query"].as_str().unwrap().to_string(), l)
            })
            .collect::<Vec<_>>()
    };
    let whole = run("whole.jsonl", None);
    let mut parts: Vec<(String, Value)> = Vec::new();
    for i in 0..3 {
        let part = run(&format!("part-{i}.jsonl"), Some(&format!("{i}/3")));
        assert!(
            !part.is_empty(),
            "shard {i} of 3 got no photo of {}",
            whole.len()
        );
        parts.extend(part);
    }
    parts.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(parts, whole);

    // One report from the three parts holds the unsharded run's rows.
    let csv_of = |args: &[&std::ffi::OsStr], name: &str| {
        let csv = ix.scratch(name);
        let mut all: Vec<&std::ffi::OsStr> = args.to_vec();
        all.extend(["--csv".as_ref(), csv.as_os_str()]);
        ix.cmd("report", &all).ok();
        let mut rows: Vec<String> = std::fs::read_to_string(&csv)
            .unwrap()
            .lines()
            .map(String::from)
            .collect();
        rows.sort();
        rows
    };
    let (p0, p1, p2, w) = (
        ix.scratch("part-0.jsonl"),
        ix.scratch("part-1.jsonl"),
        ix.scratch("part-2.jsonl"),
        ix.scratch("whole.jsonl"),
    );
    let page = ix.scratch("lot.html");
    let merged = csv_of(
        &[
            "--input".as_ref(),
            dir.as_os_str(),
            p0.as_os_str(),
            p1.as_os_str(),
            p2.as_os_str(),
            // A shard run twice counts once.
            p2.as_os_str(),
            "--out".as_ref(),
            page.as_os_str(),
        ],
        "merged.csv",
    );
    let single = csv_of(
        &["--input".as_ref(), dir.as_os_str(), w.as_os_str()],
        "whole.csv",
    );
    assert_eq!(merged, single);
    assert_eq!(
        merged.len(),
        whole.len() + 1,
        "a header and a row per photo"
    );
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("part-2.jsonl"), "the page names its parts");
    assert!(
        html.contains(r#""unsearched_count":0"#),
        "every photo answered"
    );
    // A shard missing: the report is written, says which photos have no
    // line, and exits 1.
    let short = ix.scratch("short.html");
    let said = ix
        .cmd(
            "report",
            &[
                "--input".as_ref(),
                dir.as_os_str(),
                p0.as_os_str(),
                p1.as_os_str(),
                "--out".as_ref(),
                short.as_os_str(),
            ],
        )
        .expect_code(1);
    let missing = whole.len() - lines(&p0).len() - lines(&p1).len();
    assert!(
        said.stderr.contains(&format!(
            "{missing} of {} photos have no result line",
            whole.len()
        )),
        "{}",
        said.stderr
    );
    let html = std::fs::read_to_string(&short).unwrap();
    assert!(
        html.contains(&format!(r#""unsearched_count":{missing}"#)),
        "the page says so"
    );
    // A shard stopped mid-line, and one whose last photo waits for a
    // retry: those photos are unsearched (exit 1), the report is written.
    let text = std::fs::read_to_string(&p2).unwrap();
    let torn = ix.scratch("torn.jsonl");
    std::fs::write(&torn, &text[..text.len() - 40]).unwrap();
    let mut kept: Vec<Value> = lines(&p1);
    kept.last_mut().unwrap()["retry"] = Value::Bool(true);
    let retried = ix.scratch("retried.jsonl");
    let body: String = kept.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(&retried, body).unwrap();
    // Cut inside a character: still only that line is lost.
    let mut cut = std::fs::read(&p0).unwrap();
    cut.extend_from_slice(b"{\"query\":\"caf\xC3");
    let p0_cut = ix.scratch("p0-cut.jsonl");
    std::fs::write(&p0_cut, cut).unwrap();
    let said = ix
        .cmd(
            "report",
            &[
                "--input".as_ref(),
                dir.as_os_str(),
                p0_cut.as_os_str(),
                retried.as_os_str(),
                torn.as_os_str(),
                "--out".as_ref(),
                ix.scratch("torn.html").as_os_str(),
            ],
        )
        .expect_code(1);
    assert!(
        said.stderr
            .contains(&format!("2 of {} photos have no result line", whole.len())),
        "{}",
        said.stderr
    );
    let bad = ix
        .cmd(
            "batch",
            &[
                dir.as_os_str(),
                "--out".as_ref(),
                ix.scratch("x").as_os_str(),
                "--shard".as_ref(),
                "3/3".as_ref(),
            ],
        )
        .expect_code(2);
    assert!(bad.stderr.contains("0 <= I < N"), "{}", bad.stderr);
}

/// What earlier runs left in the folder searched (their results, a report
/// and its thumbnails, which are database photos and would all be
/// `match`es) is left out and said; the folder spelled through a link or
/// `..` is the same folder; the list of photos is never written over.
#[cfg(unix)]
#[test]
fn earlier_outputs_in_the_folder_are_not_photos_and_a_list_is_never_overwritten() {
    let ix = Index::demo();
    let (lot, photo) = a_lot(&ix, "lot");
    std::fs::copy(&photo, lot.join("a.jpg")).unwrap();
    std::fs::copy(
        fixture("demo/queries/demo-013_photo_tilt.jpg"),
        lot.join("b.jpg"),
    )
    .unwrap();
    let first = ix.cmd(
        "batch",
        &[
            lot.as_os_str(),
            "--out".as_ref(),
            lot.join("r1.jsonl").as_os_str(),
            "--report".as_ref(),
            lot.join("rep.html").as_os_str(),
            "--report-csv".as_ref(),
            lot.join("rep.csv").as_os_str(),
        ],
    );
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert!(lot.join("rep_files").is_dir());
    // A second run, the folder named through a link, its results named
    // with `..`: the two photos only.
    let link = ix.scratch("lot-link");
    std::os::unix::fs::symlink(&lot, &link).unwrap();
    let spelled = lot.join("..").join("lot").join("r2.jsonl");
    let second = ix.cmd(
        "batch",
        &[link.as_os_str(), "--out".as_ref(), spelled.as_os_str()],
    );
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert_eq!(
        queries(&lines(&lot.join("r2.jsonl"))),
        ["a.jpg", "b.jpg"],
        "{}",
        second.stderr
    );
    assert!(
        second
            .stderr
            .contains("left out 4 results, reports or report thumbnails"),
        "{}",
        second.stderr
    );
    // A list of photos, with a byte-order mark as Notepad writes it.
    let list = lot.join("list.txt");
    std::fs::write(&list, "\u{feff}a.jpg\r\nb.jpg\r\n").unwrap();
    let listed = ix.cmd(
        "batch",
        &[
            list.as_os_str(),
            "--out".as_ref(),
            lot.join("r3.jsonl").as_os_str(),
        ],
    );
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    assert_eq!(queries(&lines(&lot.join("r3.jsonl"))), ["a.jpg", "b.jpg"]);
    for (flag, target) in [
        ("--out", &list),
        ("--report", &list),
        ("--report-csv", &list),
    ] {
        let mut args = vec![list.as_os_str(), flag.as_ref(), target.as_os_str()];
        if flag != "--out" {
            args.extend([
                "--out".as_ref(),
                lot.join("r4.jsonl").into_os_string().leak() as &std::ffi::OsStr,
            ]);
        }
        let r = ix.cmd("batch", &args);
        assert_eq!(r.code, 2, "{flag}: {}", r.stderr);
        assert_eq!(
            std::fs::read_to_string(&list).unwrap(),
            "\u{feff}a.jpg\r\nb.jpg\r\n",
            "{flag}"
        );
    }
}

/// A loop of symbolic links or a path through a file can never be read:
/// exit 1 (searching again will not help), not 3 (retry).
#[cfg(unix)]
#[test]
fn a_link_loop_is_unreadable_not_a_retry() {
    let ix = Index::demo();
    let (lot, photo) = a_lot(&ix, "lot");
    std::fs::copy(&photo, lot.join("a.jpg")).unwrap();
    std::os::unix::fs::symlink(lot.join("loop-b"), lot.join("loop-a")).unwrap();
    std::os::unix::fs::symlink(lot.join("loop-a"), lot.join("loop-b")).unwrap();
    let out = ix.scratch("loop.jsonl");
    let r = ix.cmd(
        "batch",
        &[lot.as_os_str(), "--out".as_ref(), out.as_os_str()],
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    let got = lines(&out);
    assert_eq!(got.len(), 3);
    assert!(got.iter().all(|l| l["retry"] != true), "{got:?}");
}

/// An output named as a photo of the lot (or `--explain` as the photo
/// searched) is refused before anything is written: the photo is evidence.
#[test]
fn no_output_is_written_over_a_photo_searched() {
    let ix = Index::demo();
    let (lot, photo) = a_lot(&ix, "lot");
    for name in ["a.jpg", "b.jpg"] {
        std::fs::copy(&photo, lot.join(name)).unwrap();
    }
    let original = std::fs::read(&photo).unwrap();
    for (flag, name) in [
        ("--out", "a.jpg"),
        ("--report", "b.jpg"),
        ("--report-csv", "b.jpg"),
    ] {
        let mut args = vec![
            lot.as_os_str(),
            flag.as_ref(),
            lot.join(name).into_os_string().leak() as &std::ffi::OsStr,
        ];
        if flag != "--out" {
            args.extend([
                "--out".as_ref(),
                ix.scratch("r.jsonl").into_os_string().leak() as &std::ffi::OsStr,
            ]);
        }
        let r = ix.cmd("batch", &args);
        assert_eq!(r.code, 2, "{flag}: {}", r.stderr);
        assert!(
            r.stderr.contains("photos this run searches"),
            "{}",
            r.stderr
        );
        assert_eq!(std::fs::read(lot.join(name)).unwrap(), original, "{flag}");
    }
    // The photo reached through a link, the output named by its own path.
    let other = ix.scratch("other");
    std::fs::create_dir_all(&other).unwrap();
    let real = other.join("real.jpg");
    std::fs::copy(&photo, &real).unwrap();
    std::os::unix::fs::symlink(&real, lot.join("link.jpg")).unwrap();
    let r = ix.cmd(
        "batch",
        &[lot.as_os_str(), "--out".as_ref(), real.as_os_str()],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert_eq!(std::fs::read(&real).unwrap(), original);
    // An earlier run's results, whatever they are named, are resumed.
    let results = lot.join("results.txt");
    let args = [lot.as_os_str(), "--out".as_ref(), results.as_os_str()];
    assert_eq!(ix.cmd("batch", &args).code, 0);
    let resumed = ix.cmd("batch", &[&args[..], &["--resume".as_ref()]].concat());
    assert_eq!(resumed.code, 0, "{}", resumed.stderr);
    let a = lot.join("a.jpg");
    let r = ix.cmd(
        "search",
        &[a.as_os_str(), "--explain".as_ref(), a.as_os_str()],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert_eq!(std::fs::read(&a).unwrap(), original);
}
