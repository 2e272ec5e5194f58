//! `verify` finds damage and names it; `rebuild` repairs what is derived;
//! `delete` takes effect at once.

use super::util::{Index, demo_part, demo_records, fixture, ids, query, top};
use std::path::{Path, PathBuf};

/// Flips one byte in the middle of a file.
fn damage(path: &Path) {
    damage_at(path, 1, 2);
}

/// Flips the byte at `num/den` of the file's length.
fn damage_at(path: &Path, num: usize, den: usize) {
    let mut bytes = std::fs::read(path).unwrap();
    let at = bytes.len() * num / den;
    bytes[at] ^= 0x5A;
    std::fs::write(path, bytes).unwrap();
}

/// Flips a byte every 512 of a features file: every image's is damaged.
fn damage_every_image(features: &Path) {
    let mut bytes = std::fs::read(features).unwrap();
    for i in (64..bytes.len()).step_by(512) {
        bytes[i] ^= 0x81;
    }
    std::fs::write(features, bytes).unwrap();
}

/// The demo records imported from a copy of their photos that a test may
/// overwrite or remove: the index, the copy's folder, the records file.
fn demo_with_own_refs() -> (Index, PathBuf, PathBuf) {
    let ix = Index::new();
    let refs = ix.scratch("refs");
    std::fs::create_dir_all(&refs).unwrap();
    for e in std::fs::read_dir(fixture("demo/refs")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), refs.join(e.file_name())).unwrap();
    }
    let records = ix.scratch("records.jsonl");
    std::fs::copy(fixture("demo/records.jsonl"), &records).unwrap();
    ix.import(&[&records]).ok();
    (ix, refs, records)
}

fn current_generation(ix: &Index) -> PathBuf {
    let root = ix.path().join("ix");
    let current = std::fs::read_to_string(root.join("CURRENT")).unwrap();
    root.join(current.trim())
}

/// The largest file of the text index (a segment's postings or store).
fn largest_text_file(ix: &Index) -> PathBuf {
    std::fs::read_dir(ix.path().join("ix/text"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e != "json" && e != "lock"))
        .max_by_key(|p| std::fs::metadata(p).unwrap().len())
        .unwrap()
}

#[test]
fn verify_names_every_damaged_file_and_rebuild_repairs_it() {
    let ix = Index::demo();
    let out = ix.cmd::<&str>("verify", &[]).ok();
    assert_eq!(
        out.stdout.lines().filter(|l| l.starts_with("ok")).count(),
        3,
        "{}",
        out.stdout
    );
    let generation = current_generation(&ix);
    let targets = [
        generation.join("vectors.bin"),
        generation.join("graph.bin"),
        generation.join("graph-upper.idx"),
        generation.join("graph-upper.bin"),
        generation.join("words.bin"),
        generation.join("features.bin"),
        generation.join("vocabulary.bin"),
        largest_text_file(&ix),
    ];
    // Several places in each file: the bytes at any one of them may be
    // padding in one build and a length field in the next (the HNSW graph
    // differs between builds), and a length read unchecked must never panic.
    for file in &targets {
        let before = std::fs::read(file).unwrap();
        for num in [1, 3, 5, 7] {
            damage_at(file, num, 8);
            let out = ix.cmd::<&str>("verify", &[]).expect_code(1);
            let name = file.file_name().unwrap().to_str().unwrap();
            assert!(
                out.stdout
                    .lines()
                    .any(|l| l.starts_with("DAMAGED") && l.contains(name)),
                "{name} at {num}/8:\n{}",
                out.stdout
            );
            std::fs::write(file, &before).unwrap();
        }
    }
    ix.cmd::<&str>("verify", &[]).ok();
    // Damage that `rebuild` regenerates from the record store.
    damage(&generation.join("vectors.bin"));
    damage(&largest_text_file(&ix));
    ix.cmd::<&str>("verify", &[]).expect_code(1);
    ix.cmd::<&str>("rebuild", &[]).ok();
    let out = ix.cmd::<&str>("verify", &["--json"]).ok();
    let checks: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert!(
        checks
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["state"] == "ok"),
        "{checks}"
    );
    assert_eq!(ids(&ix.search(&query("demo-014_grey.jpg")))[0], "demo-014");
}

#[test]
fn delete_takes_effect_at_once() {
    let ix = Index::demo();
    let photo = query("demo-013_photo_tilt.jpg");
    assert_eq!(ids(&ix.search(&photo))[0], "demo-013");
    ix.cmd("delete", &["demo-013", "demo-014"]).ok();
    assert!(!ids(&ix.search(&photo)).contains(&"demo-013".to_string()));
    assert!(!ids(&ix.text("violin", &[])).contains(&"demo-014".to_string()));
    assert_eq!(ix.counts().0, 16);
    let out = ix.cmd("delete", &["demo-013"]).expect_code(1);
    assert!(out.stderr.contains("no record demo-013"), "{}", out.stderr);
    // No image index was rebuilt for the deletion: the dead entries are
    // still there, skipped, until `compact`.
    let out = ix.cmd::<&str>("verify", &[]).ok();
    assert!(out.stdout.contains("2 deleted since"), "{}", out.stdout);
    // A crash at a rename left a half-written file beside CURRENT, long
    // ago: `compact` removes it; a fresh one may be another writer's.
    let root = ix.path().join("ix");
    let (old, fresh) = (root.join("CURRENT.1.0.tmp"), root.join("text.seq.2.0.tmp"));
    for f in [&old, &fresh] {
        std::fs::write(f, "gen-0000").unwrap();
    }
    let hours_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
    std::fs::File::options()
        .write(true)
        .open(&old)
        .unwrap()
        .set_modified(hours_ago)
        .unwrap();
    ix.cmd::<&str>("compact", &[]).ok();
    assert!(!old.exists() && fresh.exists());
    let out = ix.cmd::<&str>("verify", &[]).ok();
    assert!(!out.stdout.contains("deleted since"), "{}", out.stdout);
    assert_eq!(ix.info()["images"], 18);
    assert!(!ids(&ix.search(&photo)).contains(&"demo-013".to_string()));
}

#[test]
fn snapshot_while_serving_is_a_sound_searchable_copy() {
    let ix = Index::demo();
    let srv = super::http::Server::start(&ix, &[]);
    let copy = ix.path().join("snap");
    let out = ix
        .cmd("snapshot", &["--out".as_ref(), copy.as_os_str()])
        .ok();
    assert!(out.stderr.contains("18 records"), "{}", out.stderr);
    // The copy verifies and answers on its own; the server never stopped.
    let v = super::util::run(&["verify".as_ref(), "--index".as_ref(), copy.as_os_str()]).ok();
    assert_eq!(
        v.stdout.lines().filter(|l| l.starts_with("ok")).count(),
        3,
        "{}",
        v.stdout
    );
    let found = super::util::run(&[
        "search".as_ref(),
        "--index".as_ref(),
        copy.as_os_str(),
        query("demo-013_photo_tilt.jpg").as_os_str(),
        "--json".as_ref(),
    ])
    .ok()
    .json();
    assert_eq!(ids(&found)[0], "demo-013");
    assert_eq!(srv.get("/readyz", None).status, 200);
    // A change after the snapshot stays out of it.
    assert_eq!(
        srv.delete("/v1/records/demo-013", Some(&srv.keys.curator))
            .status,
        200
    );
    let again = super::util::run(&[
        "info".as_ref(),
        "--index".as_ref(),
        copy.as_os_str(),
        "--json".as_ref(),
    ])
    .ok()
    .json();
    assert_eq!(again["records"], 18);
    // Never over an existing folder.
    ix.cmd("snapshot", &["--out".as_ref(), copy.as_os_str()])
        .expect_code(2);
}

/// `verify` checks and writes nothing: a missing text index is named, not
/// made, and the store is not touched.
#[test]
fn verify_writes_nothing() {
    let ix = Index::demo();
    let text = ix.path().join("ix").join("text");
    std::fs::remove_dir_all(&text).unwrap();
    let store = ix.store_file();
    let before = std::fs::metadata(&store).unwrap().modified().unwrap();
    let out = ix.cmd::<&str>("verify", &[]).expect_code(1);
    assert!(out.stdout.contains("no text index"), "{}", out.stdout);
    assert!(!text.exists(), "verify made the text index");
    assert_eq!(
        std::fs::metadata(&store).unwrap().modified().unwrap(),
        before
    );
}

#[test]
fn export_then_import_gives_the_same_database() {
    let ix = Index::demo();
    // Staged beside, then renamed; another run's staging is not this one's
    // (`snap.v1` and `snap.v2` once shared `snap.partial`).
    let other_staging = ix.path().join("export.partial");
    std::fs::create_dir_all(&other_staging).unwrap();
    let out = ix.path().join("export.v2");
    ix.cmd("export", &["--out".as_ref(), out.as_os_str()]).ok();
    assert!(other_staging.is_dir(), "another run's folder was removed");
    assert!(!ix.path().join("export.v2.partial").exists());
    let snap = ix.path().join("export.v3");
    ix.cmd("snapshot", &["--out".as_ref(), snap.as_os_str()])
        .ok();
    assert!(other_staging.is_dir(), "another run's folder was removed");
    let other = Index::new();
    other.import(&[out.join("records.jsonl")]).ok();
    assert_eq!(other.counts(), ix.counts());
    for q in [
        "demo-013_photo_tilt.jpg",
        "demo-011_b_rot180.jpg",
        "demo-001_webp.webp",
    ] {
        assert_eq!(
            ids(&other.search(&query(q)))[0],
            ids(&ix.search(&query(q)))[0],
            "{q}"
        );
    }
    let a = ix.text("violin", &[]);
    let b = other.text("violin", &[]);
    assert_eq!(ids(&a), ids(&b));
}

#[test]
fn damage_is_named_when_read_never_answered_from() {
    let ix = Index::demo();
    let photo = query("demo-013_photo_tilt.jpg");
    let generation = current_generation(&ix);
    // Positions and hashes are checked when the index opens.
    let hashes = generation.join("hashes.bin");
    let before = std::fs::read(&hashes).unwrap();
    damage(&hashes);
    let out = ix.cmd("search", &[photo.as_os_str()]).expect_code(2);
    assert!(out.stderr.contains("hashes.bin"), "{}", out.stderr);
    std::fs::write(&hashes, before).unwrap();
    // Local features, image by image, when a search reads them: damage
    // every image's, and the search fails naming the file.
    let features = generation.join("features.bin");
    damage_every_image(&features);
    let out = ix.cmd("search", &[photo.as_os_str()]).expect_code(2);
    assert!(out.stderr.contains("features.bin"), "{}", out.stderr);
    ix.cmd::<&str>("rebuild", &[]).ok();
    assert_eq!(ids(&ix.search(&photo))[0], "demo-013");
}

/// The store alone copied back or lost. A generation built from another
/// store would resolve its hits to whatever images the store now holds at
/// those slots: every command refuses it, and `rebuild` indexes the store
/// anew.
#[test]
fn a_store_restored_on_its_own_is_refused_until_rebuilt() {
    let ix = demo_part(false);
    let older = ix.scratch("older.sqlite");
    std::fs::copy(ix.store_file(), &older).unwrap();
    ix.import(&[demo_records(&ix, true)]).ok();
    let photo = query("demo-013_photo_tilt.jpg");
    assert_eq!(top(&ix.search(&photo)).unwrap().0, "demo-013");

    let root = ix.path().join("ix");
    for f in ["records.sqlite-wal", "records.sqlite-shm"] {
        let _ = std::fs::remove_file(root.join(f));
    }
    std::fs::copy(&older, ix.store_file()).unwrap();
    let refused = ix.cmd("search", &[&photo]).expect_code(2);
    assert!(
        refused.stderr.contains("was not built from") && refused.stderr.contains("rebuild"),
        "{}",
        refused.stderr
    );
    ix.cmd::<&str>("rebuild", &[]).ok();
    let found = ix.search(&photo);
    assert!(
        top(&found).is_none_or(|(id, verdict, _)| id != "demo-013" && verdict != "match"),
        "{found}"
    );

    std::fs::remove_file(ix.store_file()).unwrap();
    let missing = ix.cmd::<&str>("info", &[]).expect_code(2);
    assert!(missing.stderr.contains("is missing"), "{}", missing.stderr);
    assert!(
        !ix.store_file().exists(),
        "no empty store made in its place"
    );
}

/// `CURRENT` damaged: the generation beside it is searched as it was
/// (its features not extracted again), and the next writer repairs it.
#[test]
fn a_damaged_current_opens_the_generation_beside_it() {
    let ix = Index::demo();
    let generation = current_generation(&ix);
    std::fs::write(ix.path().join("ix/CURRENT"), "garbage").unwrap();
    let photo = query("demo-013_photo_tilt.jpg");
    let (id, verdict, _) = top(&ix.search(&photo)).unwrap();
    assert_eq!((id.as_str(), verdict.as_str()), ("demo-013", "match"));
    assert_eq!(current_generation(&ix), generation, "repaired, not rebuilt");
}

/// The kept sightings are an index of their own, which retro-alerts read:
/// `verify` names its damage and `rebuild` repairs it.
#[test]
fn verify_and_rebuild_cover_the_kept_sightings() {
    let ix = Index::demo();
    let dir = ix.scratch("seen");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(query("demo-013_photo_tilt.jpg"), dir.join("a.jpg")).unwrap();
    let out = ix.scratch("seen.jsonl");
    ix.cmd(
        "batch",
        &[
            dir.as_os_str(),
            "--out".as_ref(),
            out.as_os_str(),
            "--keep".as_ref(),
        ],
    )
    .ok();
    let sightings = ix.path().join("ix").join("sightings");
    let current = std::fs::read_to_string(sightings.join("CURRENT")).unwrap();
    damage(&sightings.join(current.trim()).join("features.bin"));
    let damaged = ix.cmd::<&str>("verify", &[]).expect_code(1);
    assert!(
        damaged
            .stdout
            .lines()
            .any(|l| l.starts_with("DAMAGED") && l.contains("sightings")),
        "{}",
        damaged.stdout
    );
    ix.cmd::<&str>("rebuild", &[]).ok();
    let out = ix.cmd::<&str>("verify", &[]).ok();
    assert_eq!(
        out.stdout.lines().filter(|l| l.starts_with("ok")).count(),
        6,
        "{}",
        out.stdout
    );
}

/// An image file overwritten in place after its import, then a rebuild
/// that must extract local features again (the features file damaged):
/// the other picture's features are never put beside this one's hashes
/// (the tiger's photo once found the bedroom record `partial`), and the
/// next import describes the image again instead of calling it unchanged.
#[test]
fn a_rebuild_never_takes_features_from_a_file_that_changed_since_its_import() {
    let (ix, refs, records) = demo_with_own_refs();
    std::fs::copy(refs.join("demo-004.jpg"), refs.join("demo-001.jpg")).unwrap();
    damage_every_image(&current_generation(&ix).join("features.bin"));
    let rebuilt = ix.cmd::<&str>("rebuild", &[]).ok();
    assert!(
        rebuilt.stderr.contains("demo-001.jpg")
            && rebuilt.stderr.contains("changed since it was imported"),
        "{}",
        rebuilt.stderr
    );
    let tiger = ix.search(&query("demo-004_tiff.tif"));
    assert_eq!(ids(&tiger)[0], "demo-004", "{tiger}");
    for m in tiger["matches"].as_array().unwrap() {
        if m["id"] == "demo-001" {
            assert_eq!(m["evidence"]["inliers"], 0, "{m}");
        }
    }
    // Nor does an export take the other picture for this one.
    let out = ix.path().join("export");
    let exported = ix
        .cmd("export", &["--out".as_ref(), out.as_os_str()])
        .expect_code(1);
    assert!(
        exported.stderr.contains("record demo-001: image 0"),
        "{}",
        exported.stderr
    );
    // The file put back: imported again, the bedroom is described anew.
    std::fs::copy(fixture("demo/refs/demo-001.jpg"), refs.join("demo-001.jpg")).unwrap();
    let again = ix.import(&[&records]).ok();
    assert!(
        again.stderr.contains("imported 1 records"),
        "{}",
        again.stderr
    );
    let bedroom = ix.search(&query("demo-001_webp.webp"));
    assert_eq!(ids(&bedroom)[0], "demo-001", "{bedroom}");
    assert!(
        bedroom["matches"][0]["evidence"]["inliers"]
            .as_u64()
            .unwrap()
            > 0,
        "{bedroom}"
    );
}

/// An export copies each image as the index described it, or leaves it out
/// naming the record: a file overwritten since its import (another
/// picture) or moved away never goes into the copy, and the rest of the
/// database is exported all the same (exit 1).
#[test]
fn an_export_leaves_out_and_names_images_moved_or_changed_since_their_import() {
    let (ix, refs, _) = demo_with_own_refs();
    std::fs::copy(refs.join("demo-004.jpg"), refs.join("demo-001.jpg")).unwrap();
    std::fs::remove_file(refs.join("demo-002.jpg")).unwrap();
    let out = ix.path().join("export");
    let r = ix
        .cmd("export", &["--out".as_ref(), out.as_os_str()])
        .expect_code(1);
    assert!(
        r.stderr.contains("record demo-001: image 0")
            && r.stderr.contains("changed since it was imported"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("record demo-002: image 0"),
        "{}",
        r.stderr
    );
    let exported = std::fs::read_to_string(out.join("records.jsonl")).unwrap();
    assert_eq!(exported.lines().count(), 15, "every record, fields and all");
    let copy = Index::new();
    copy.import(&[out.join("records.jsonl")]).ok();
    // The tiger is the tiger's alone in the copy.
    let tiger = copy.search(&query("demo-004_tiff.tif"));
    assert_eq!(ids(&tiger)[0], "demo-004", "{tiger}");
    assert!(
        tiger["matches"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["id"] != "demo-001" || m["verdict"] == "none"),
        "{tiger}"
    );
}

/// A store file moved over the one a running server opened: the server's
/// connection would write into the file no one reads, or mix its
/// write-ahead log into the new one. It says so and writes nothing.
#[test]
fn a_store_replaced_under_a_running_server_is_not_written() {
    let ix = Index::demo();
    let srv = crate::http::Server::start(&ix, &[]);
    let store = ix.store_file();
    let copy = store.with_file_name("copy.sqlite");
    std::fs::copy(&store, &copy).unwrap();
    std::fs::rename(&copy, &store).unwrap();
    let r = srv.send(
        "PUT",
        "/v1/records/demo-013",
        Some(srv.keys.curator.as_str()),
        crate::http::Form::new().text("record", r#"{"title": "Written after the swap"}"#),
    );
    assert_eq!(r.status, 503, "{}", r.text());
    assert!(r.text().contains("was replaced or removed"), "{}", r.text());
    assert_eq!(srv.get("/readyz", None).status, 503);
    // An expert's decision is a write too.
    let review = serde_json::json!({"photo_sha256": "d".repeat(64), "record": "demo-013",
                                    "decision": "confirmed"});
    let r = srv.send_raw(
        "POST",
        "/v1/reviews",
        Some(srv.keys.expert.as_str()),
        "application/json",
        review.to_string().as_bytes(),
    );
    assert_eq!(r.status, 503, "{}", r.text());
    drop(srv);
    let listed = ix.cmd::<&str>("verify", &[]);
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    let hits = ix.cmd("text", &["written after the swap"]).ok().stdout;
    assert!(!hits.contains("Written after the swap"), "{hits}");
}
