//! Importing records: counts, idempotence, updates.

use crate::util::{Index, fixture, ids, query, top};

#[test]
fn demo_import_counts_records_and_images() {
    let ix = Index::new();
    let out = ix
        .import(&[fixture("demo/records.jsonl"), fixture("demo/records.csv")])
        .ok();
    assert!(out.stderr.contains("skipped 0"), "{}", out.stderr);
    // 15 JSONL records (demo-015 has no image) + 3 CSV records.
    assert_eq!(ix.counts(), (18, 20));
}

#[test]
fn csv_alone_imports_its_three_records() {
    let ix = Index::new();
    ix.import(&[fixture("demo/records.csv")]).ok();
    // demo-103 has two images separated by `;`.
    assert_eq!(ix.counts(), (3, 4));
}

#[test]
fn reimport_is_idempotent() {
    let ix = Index::demo();
    let before_counts = ix.counts();
    let results = || -> Vec<_> {
        [
            "demo-005_rot90.jpg",
            "demo-011_b_rot180.jpg",
            "neg_guitar.jpg",
        ]
        .iter()
        .map(|q| ids(&ix.search(&query(q))))
        .collect()
    };
    let before = results();
    let generation = ix.info()["generation"].clone();
    let out = ix.import(&[fixture("demo/records.jsonl")]).ok();
    // Nothing changed: nothing described, written or rebuilt.
    assert!(
        out.stderr.contains("imported 0 records (0 images") && out.stderr.contains("15 unchanged"),
        "{}",
        out.stderr
    );
    assert_eq!(ix.info()["generation"], generation);
    assert_eq!(ix.counts(), before_counts);
    let after = results();
    assert_eq!(before, after);
}

/// A nightly import of a whole database: a record whose fields changed is
/// written without describing its images again, one whose image file
/// changed (the same name, other pixels) is described again, the rest is
/// left as it is. Images stored before files were fingerprinted are
/// described once more.
#[test]
fn a_reimport_describes_only_what_changed() {
    let ix = Index::new();
    let dir = ix.scratch("db");
    std::fs::create_dir_all(dir.join("refs")).unwrap();
    for e in std::fs::read_dir(fixture("demo/refs")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), dir.join("refs").join(e.file_name())).unwrap();
    }
    let records = dir.join("records.jsonl");
    std::fs::copy(fixture("demo/records.jsonl"), &records).unwrap();
    ix.import(&[&records]).ok();
    // Imports the file again; its summary must say all of `said`.
    let import_says = |said: &[&str]| {
        let out = ix.import(&[&records]).ok();
        assert!(
            said.iter().all(|s| out.stderr.contains(s)),
            "{}",
            out.stderr
        );
    };
    let (generation, counts) = (ix.info()["generation"].as_u64().unwrap(), ix.counts());

    let text = std::fs::read_to_string(&records).unwrap().replace(
        "La chambre à Arles (copie d'atelier)",
        "Bedroom in Arles, workshop copy",
    );
    std::fs::write(&records, text).unwrap();
    std::fs::copy(
        fixture("demo/refs/demo-003.jpg"),
        dir.join("refs/demo-002_b.jpg"),
    )
    .unwrap();
    import_says(&["imported 2 records (2 images", "13 unchanged"]);
    assert_eq!(ix.counts(), counts);
    // demo-002's two images, described again: one more generation.
    assert_eq!(ix.info()["generation"].as_u64().unwrap(), generation + 1);
    assert_eq!(
        ids(&ix.text("workshop copy Arles", &[]))
            .first()
            .map(String::as_str),
        Some("demo-001")
    );
    // demo-001 kept its image: its photo still finds it.
    let found = top(&ix.search(&query("demo-001_webp.webp"))).unwrap();
    assert_eq!(found.0, "demo-001", "{found:?}");

    // A store from before fingerprints: every image is described once more.
    rusqlite::Connection::open(ix.store_file())
        .unwrap()
        .execute("DELETE FROM image_files", [])
        .unwrap();
    import_says(&["imported 14 records (16 images", "1 unchanged"]);
    import_says(&["15 unchanged"]);

    // The index lost, and an image file unreadable while it was rebuilt:
    // that image's local features are lost, and the next import (the file
    // back) describes it again rather than leave it as it is.
    for e in std::fs::read_dir(ix.path().join("ix")).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        if name.starts_with("gen-") {
            std::fs::remove_dir_all(&p).unwrap();
        } else if name == "CURRENT" {
            std::fs::remove_file(&p).unwrap();
        }
    }
    let (file, away) = (dir.join("refs/demo-005.jpg"), dir.join("away.jpg"));
    std::fs::rename(&file, &away).unwrap();
    let rebuilt = ix.cmd::<&str>("rebuild", &[]).ok();
    assert!(
        rebuilt.stderr.contains("until it is imported again"),
        "{}",
        rebuilt.stderr
    );
    std::fs::rename(&away, &file).unwrap();
    import_says(&["imported 1 records (1 images", "14 unchanged"]);
    let found = top(&ix.search(&query("demo-005_rot90.jpg"))).unwrap();
    assert_eq!(
        (found.0.as_str(), found.1.as_str()),
        ("demo-005", "match"),
        "{found:?}"
    );
}

#[test]
fn updated_record_replaces_the_old_one() {
    let ix = Index::demo();
    // demo-004 again, retitled, with its image given as an absolute path.
    let line = std::fs::read_to_string(fixture("demo/records.jsonl"))
        .unwrap()
        .lines()
        .find(|l| l.contains("\"demo-004\""))
        .unwrap()
        .to_string();
    let mut rec: serde_json::Value = serde_json::from_str(&line).unwrap();
    rec["title"] = "Sleeping leopard".into();
    rec["images"] = serde_json::json!([fixture("demo/refs/demo-004.jpg")]);
    let file = ix.scratch("update.jsonl");
    std::fs::write(&file, format!("{rec}\n")).unwrap();

    ix.import(&[&file]).ok();
    assert_eq!(
        ix.counts(),
        (18, 20),
        "an update must not add a record or an image"
    );
    assert_eq!(
        ids(&ix.text("leopard", &[])).first().map(String::as_str),
        Some("demo-004")
    );
    assert!(!ids(&ix.text("marchant", &[])).contains(&"demo-004".to_string()));
    // The photo still finds it, once.
    let res = ix.search(&query("demo-004_tiff.tif"));
    let found = ids(&res);
    assert_eq!(
        found.iter().filter(|id| *id == "demo-004").count(),
        1,
        "{found:?}"
    );
    assert_eq!(top(&res).unwrap().0, "demo-004");
}

#[test]
fn later_line_with_the_same_id_wins() {
    let ix = Index::new();
    let img = fixture("demo/refs/demo-010.jpg");
    let a = serde_json::json!({"id": "dup", "title": "First coin hoard", "images": [img]});
    let b = serde_json::json!({"id": "dup", "title": "Second ducats stack", "images": [img]});
    let file = ix.scratch("dup.jsonl");
    std::fs::write(&file, format!("{a}\n{b}\n")).unwrap();
    let out = ix.import(&[&file]).ok();
    // The line it replaces is named: a mistyped id must not lose an object
    // in silence.
    assert!(
        out.stderr
            .contains("dup.jsonl:1: record dup: not imported: line 2 has the same id"),
        "{}",
        out.stderr
    );
    assert_eq!(ix.counts(), (1, 1));
    assert_eq!(ids(&ix.text("ducats", &[])), ["dup"]);
    assert!(ids(&ix.text("first", &[])).is_empty());
}

/// A later version that cannot be imported (its image is missing) does
/// not take the good one before it down with it.
#[test]
fn a_rejected_later_line_falls_back_to_the_version_before_it() {
    let ix = Index::new();
    let img = fixture("demo/refs/demo-010.jpg");
    let a = serde_json::json!({"id": "dup", "title": "First coin hoard", "images": [img]});
    let b =
        serde_json::json!({"id": "dup", "title": "Second ducats stack", "images": ["missing.jpg"]});
    let file = ix.scratch("dup.jsonl");
    std::fs::write(&file, format!("{a}\n{b}\n")).unwrap();
    let out = ix.import(&[&file]).expect_code(1);
    assert!(
        out.stderr.contains("dup.jsonl:2: record dup: image"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("dup.jsonl:1: record dup: imported instead of a later line"),
        "{}",
        out.stderr
    );
    assert_eq!(ix.counts(), (1, 1));
    assert_eq!(ids(&ix.text("hoard", &[])), ["dup"]);
}

#[test]
fn a_json_array_is_refused_whole_and_a_misnamed_field_is_named() {
    let ix = Index::new();
    let img = fixture("demo/refs/demo-010.jpg");
    let a = serde_json::json!({"id": "a1", "title": "Coin hoard", "images": [img]});
    let b = serde_json::json!({"id": "a2", "title": "Ducats", "images": [img]});
    // Pretty-printed, as an export writes it: read line by line, its last
    // element alone would import.
    let array = ix.scratch("records.json");
    std::fs::write(&array, serde_json::to_string_pretty(&[&a, &b]).unwrap()).unwrap();
    let out = ix.import(&[&array]).expect_code(2);
    assert!(out.stderr.contains("a JSON array"), "{}", out.stderr);
    // A spreadsheet's header "Title": kept, not searched, and said so.
    let csv = ix.scratch("records.csv");
    std::fs::write(&csv, "id,Title,status\nc1,Annunciation,\n").unwrap();
    let out = ix.import(&[&csv]).ok();
    assert!(
        out.stderr.contains(
            "field \"Title\" is kept as given but is not searched: the record field is `title`"
        ),
        "{}",
        out.stderr
    );
    assert_eq!(ix.counts().0, 1);
    // A column "image" for "images": the record's photos are named missing.
    let csv = ix.scratch("photos.csv");
    std::fs::write(
        &csv,
        format!("id,title,image\nc2,Ducat,{}\n", img.display()),
    )
    .unwrap();
    let out = ix.import(&[&csv]).ok();
    assert!(
        out.stderr
            .contains("photos are listed in `images`, and this record has none"),
        "{}",
        out.stderr
    );
}

/// A line without images replaces a record that had some (a line is the
/// whole record): said, naming the record, since a file of status changes
/// may not have meant it.
#[test]
fn a_record_that_loses_its_images_is_warned_about() {
    let ix = Index::demo();
    let update = ix.scratch("update.jsonl");
    std::fs::write(
        &update,
        r#"{"id": "demo-003", "title": "retitled", "status": "recovered"}"#,
    )
    .unwrap();
    let out = ix.import(&[&update]).ok();
    assert!(
        out.stderr.contains("demo-003")
            && out
                .stderr
                .contains("has no images: its 1 stored images are no longer searched"),
        "{}",
        out.stderr
    );
}
