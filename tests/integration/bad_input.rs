//! Hostile or broken inputs are rejected cleanly: an exit code, a message
//! naming the file, never a panic.

use crate::util::{Index, fixture, ids};
use std::time::{Duration, Instant};

/// `search` on a bad file: exit code 2, the file named on stderr.
#[track_caller]
fn rejected(ix: &Index, name: &str) -> String {
    let path = fixture("bad").join(name);
    let out = ix.cmd("search", &[path.as_os_str(), "--json".as_ref()]);
    assert_eq!(
        out.code, 2,
        "{name}: exit {}\nstdout: {}\nstderr: {}",
        out.code, out.stdout, out.stderr
    );
    assert!(!out.stderr.contains("panicked"), "{name}: {}", out.stderr);
    assert!(
        out.stderr.contains(name),
        "{name} not named in: {}",
        out.stderr
    );
    assert!(
        out.stdout.is_empty(),
        "{name}: printed a result: {}",
        out.stdout
    );
    out.stderr
}

/// A file name need not be UTF-8 (Linux allows any bytes): the photo is
/// searched, nothing panics (the write lock's note used to).
#[test]
fn a_file_name_that_is_not_utf8_is_searched() {
    use std::os::unix::ffi::OsStrExt;
    let ix = Index::demo();
    let name = std::ffi::OsStr::from_bytes(b"caf\xe9.jpg");
    let path = ix.path().join(name);
    std::fs::copy(crate::util::query("demo-013_photo_tilt.jpg"), &path).unwrap();
    let out = ix.cmd("search", &[path.as_os_str(), "--json".as_ref()]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    assert_eq!(ids(&out.json())[0], "demo-013", "{}", out.stdout);
}

#[test]
fn truncated_jpeg_is_rejected() {
    rejected(&Index::demo(), "truncated.jpg");
}

#[test]
fn garbage_is_rejected() {
    let err = rejected(&Index::demo(), "garbage.jpg");
    assert!(err.contains("not an image"), "{err}");
}

#[test]
fn empty_file_is_rejected() {
    let err = rejected(&Index::demo(), "empty.png");
    assert!(err.contains("empty"), "{err}");
}

#[test]
fn text_file_is_rejected() {
    rejected(&Index::demo(), "text.png");
}

#[test]
fn decompression_bomb_is_rejected_by_the_pixel_limit() {
    let ix = Index::demo();
    let t = Instant::now();
    let err = rejected(&ix, "bomb.png");
    // Decoding 60000×60000 would take seconds and gigabytes.
    assert!(
        t.elapsed() < Duration::from_secs(3),
        "took {:?}",
        t.elapsed()
    );
    assert!(err.contains("limit"), "{err}");
}

#[test]
fn missing_photo_is_an_error() {
    let ix = Index::demo();
    let out = ix.cmd("search", &["/nonexistent/photo.jpg"]).expect_code(2);
    assert!(
        out.stderr.contains("/nonexistent/photo.jpg"),
        "{}",
        out.stderr
    );
}

#[test]
fn bad_records_import_the_valid_one_and_name_the_bad_lines() {
    let ix = Index::new();
    let out = ix
        .import(&[fixture("bad/bad_records.jsonl")])
        .expect_code(1);
    for line in 2..=5 {
        let at = format!("bad_records.jsonl:{line}:");
        assert!(out.stderr.contains(&at), "{at} not in:\n{}", out.stderr);
    }
    assert!(out.stderr.contains("language"), "{}", out.stderr);
    assert!(
        !out.stderr.contains("bad_records.jsonl:1:"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("does-not-exist.jpg"), "{}", out.stderr);
    assert_eq!(ix.counts(), (1, 1));
    assert_eq!(ids(&ix.text("valid record", &[])), ["bad-ok-1"]);
}

#[test]
fn import_of_a_missing_file_fails() {
    let ix = Index::new();
    let out = ix.import(&["/nonexistent/records.jsonl"]);
    assert_ne!(out.code, 0);
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    assert!(
        out.stderr.contains("/nonexistent/records.jsonl"),
        "{}",
        out.stderr
    );
    // And no empty index is left behind to answer "no match" later.
    assert!(!ix.path().join("ix").exists());
}

#[test]
fn serve_on_a_folder_with_no_index_is_refused_and_makes_none() {
    let ix = Index::new();
    let typo = ix.path().join("idnex");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_provenance"))
        .args(["serve", "--addr", "127.0.0.1:0", "--index"])
        .arg(&typo)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Bounded: a server that starts instead must fail the test, not hang it.
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > std::time::Duration::from_secs(60) {
            let _ = child.kill();
            panic!("serve started on a folder with no index");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("no index here"), "{stderr}");
    assert!(
        !typo.exists(),
        "an empty index was made at {}",
        typo.display()
    );
}

#[test]
fn bad_images_in_batch_become_error_lines() {
    let ix = Index::demo();
    let out_file = ix.scratch("bad.jsonl");
    ix.cmd(
        "batch",
        &[
            fixture("bad").as_os_str(),
            "--out".as_ref(),
            out_file.as_os_str(),
        ],
    )
    // Exit 1: searched, but some photos cannot be (a job engine must not
    // count the lot as clean, nor retry it for them).
    .expect_code(1);
    // Resumed, the lot is the same: still 1, though nothing is searched.
    let again = ix
        .cmd(
            "batch",
            &[
                fixture("bad").as_os_str(),
                "--out".as_ref(),
                out_file.as_os_str(),
                "--resume".as_ref(),
            ],
        )
        .expect_code(1);
    assert!(
        again.stderr.contains("unreadable") && !again.stderr.contains(" 0 unreadable"),
        "{}",
        again.stderr
    );
    let text = std::fs::read_to_string(&out_file).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let queries: Vec<&str> = lines.iter().map(|l| l["query"].as_str().unwrap()).collect();
    assert_eq!(
        queries,
        [
            "bad_records.jsonl", // not an image at all: a line too, with its error
            "bomb.png",
            "empty.png",
            "garbage.jpg",
            "text.png",
            "truncated.jpg"
        ]
    );
    // (truncated.jpg is covered by `truncated_jpeg_is_rejected`.)
    for l in lines.iter().filter(|l| l["query"] != "truncated.jpg") {
        assert!(l["error"].is_string(), "no error for {l}");
        assert!(l["matches"].as_array().unwrap().is_empty(), "{l}");
    }
}

/// A record line in another encoding or with a field too many is skipped
/// naming its line and its id, as every other skipped record is.
#[test]
fn a_row_in_another_encoding_or_with_a_field_too_many_names_its_record() {
    let ix = Index::new();
    let csv = ix.scratch("latin.csv");
    std::fs::write(&csv, b"id,title,images\ne1,Caf\xe9,\nm3,a,b,c\nok1,fine,\n").unwrap();
    let jsonl = ix.scratch("latin.jsonl");
    std::fs::write(&jsonl, b"{\"id\": \"j1\", \"title\": \"Caf\xe9\"}\n").unwrap();
    let out = ix.import(&[&csv, &jsonl]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    // An empty CSV is no records, as an empty JSONL is.
    let empty = ix.scratch("empty.csv");
    std::fs::write(&empty, b"").unwrap();
    assert_eq!(ix.import(&[&empty]).code, 0);
    for said in [
        "latin.csv:2: record e1: not UTF-8 text",
        "latin.csv:3: record m3: invalid CSV row: 4 fields where the header has 3",
        "latin.jsonl:1: record j1: not UTF-8 text",
    ] {
        assert!(out.stderr.contains(said), "{said}\n{}", out.stderr);
    }
}
