//! One test per fixed bug, named after it: each failed before its fix.

use crate::http::{Form, Server};
use crate::util::{Index, fixture, query};
use serde_json::Value;

/// Issue 29: twelve curators PUT the same photo at once; every write
/// succeeds (each renamed its own temporary file into `uploads/`, where one
/// shared name let the first rename take another request's file: 500).
#[test]
fn concurrent_puts_of_one_photo_all_succeed() {
    let ix = Index::demo();
    let srv = Server::start(&ix, &[]);
    let photo = std::fs::read(query("neg_guitar.jpg")).unwrap();
    let curator = Some(srv.keys.curator.as_str());
    let statuses: Vec<(u16, String)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..12)
            .map(|n| {
                let (srv, photo) = (&srv, &photo);
                s.spawn(move || {
                    let r = srv.send(
                        "PUT",
                        &format!("/v1/records/r-{n}"),
                        curator,
                        Form::new()
                            .text(
                                "record",
                                r#"{"title": "Guitar", "object_type": "instrument"}"#,
                            )
                            .file("image", "guitar.jpg", photo),
                    );
                    (r.status, r.text())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (status, body) in &statuses {
        assert_eq!(*status, 201, "{body}");
    }
    for n in 0..12 {
        let r = srv.get(&format!("/v1/records/r-{n}"), curator);
        assert_eq!(r.status, 200, "r-{n}: {}", r.text());
        let r = srv.get(&format!("/v1/records/r-{n}/images/0"), curator);
        assert_eq!(r.body, photo, "r-{n}'s photo");
    }
    let v = srv.search(&query("neg_guitar.jpg")).json();
    assert!(
        v["matches"][0]["id"].as_str().unwrap().starts_with("r-"),
        "{v}"
    );
    drop(srv);
    ix.cmd::<&str>("verify", &[]).ok();
}

/// Issue 29: `batch` over a folder listed images by extension and skipped
/// HEIC photos (and anything else it could not read) without a line. Every
/// file now gets a line, an unreadable one with its error, and the summary
/// counts them.
#[test]
fn batch_over_a_folder_reports_every_file_heic_included() {
    let ix = Index::demo();
    let dir = ix.scratch("seizure");
    std::fs::create_dir_all(&dir).unwrap();
    let copy = |from: std::path::PathBuf, to: &str| std::fs::copy(from, dir.join(to)).unwrap();
    copy(fixture("heic/demo-013_photo_tilt.heic"), "iphone.heic");
    copy(fixture("heic/truncated.heic"), "IMG_0002.HEIC");
    copy(fixture("bad/truncated.jpg"), "broken.jpg");
    copy(query("demo-005_rot90.jpg"), "plain.jpg");
    std::fs::write(dir.join("notes.txt"), "seized 2026-03-02, lot 7").unwrap();
    std::fs::write(dir.join(".DS_Store"), "hidden").unwrap();
    let out = dir.join("matches.jsonl"); // inside the folder: not an input
    let run = ix
        .cmd(
            "batch",
            &[dir.as_os_str(), "--out".as_ref(), out.as_os_str()],
        )
        .ok();
    let lines: Vec<Value> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let by_name = |q: &str| {
        lines
            .iter()
            .find(|l| l["query"] == q)
            .unwrap_or_else(|| panic!("no line for {q}: {lines:?}"))
    };
    assert_eq!(lines.len(), 5, "{lines:?}");
    for bad in ["IMG_0002.HEIC", "broken.jpg", "notes.txt"] {
        assert!(by_name(bad)["error"].is_string(), "{}", by_name(bad));
    }
    assert_eq!(by_name("plain.jpg")["matches"][0]["id"], "demo-005");
    let heic = by_name("iphone.heic");
    let unreadable = if cfg!(feature = "heic") {
        assert_eq!(heic["matches"][0]["id"], "demo-013", "{heic}");
        3
    } else {
        let e = heic["error"].as_str().unwrap();
        assert!(e.contains("heic"), "{e}");
        4
    };
    assert!(
        run.stderr.contains(&format!("{unreadable} unreadable")),
        "{}",
        run.stderr
    );
}
