//! The index survives the process that wrote it.

use crate::util::{Index, ids, query, top};

#[test]
fn a_second_process_searches_the_saved_index() {
    let ix = Index::demo();
    // Every command is its own process: this search reloads the HNSW
    // graph (memory-mapped) that the import wrote.
    let (id, verdict, _) = top(&ix.search(&query("demo-011_b_rot180.jpg"))).unwrap();
    assert_eq!((id.as_str(), verdict.as_str()), ("demo-011", "match"));
    // The text index too.
    assert_eq!(
        ids(&ix.text("violin", &[])).first().map(String::as_str),
        Some("demo-014")
    );
}

#[test]
fn rebuild_keeps_results() {
    let ix = Index::demo();
    let photos = [
        "demo-001_webp.webp",
        "demo-005_rot90.jpg",
        "demo-014_grey.jpg",
        "neg_lantern.jpg",
    ];
    let before: Vec<_> = photos.iter().map(|p| ids(&ix.search(&query(p)))).collect();
    let gen_before = ix.info()["generation"].as_u64().unwrap();
    let out = ix.cmd::<&str>("rebuild", &[]).ok();
    assert!(out.stderr.contains("rebuilt"), "{}", out.stderr);
    let info = ix.info();
    assert!(info["generation"].as_u64().unwrap() > gen_before, "{info}");
    // The rebuilt generation has its own vocabulary, learned from the
    // stored features.
    assert!(info["visual_words"].as_u64().unwrap() >= 4, "{info}");
    assert_eq!(info["features_version"].as_u64(), Some(2), "{info}");
    assert_eq!(
        (info["records"].as_u64(), info["images"].as_u64()),
        (Some(18), Some(20))
    );
    let after: Vec<_> = photos.iter().map(|p| ids(&ix.search(&query(p)))).collect();
    for ((p, b), a) in photos.iter().zip(&before).zip(&after) {
        assert_eq!(b.first(), a.first(), "{p}: top changed after rebuild");
    }
    assert_eq!(
        ids(&ix.text("violin", &[])).first().map(String::as_str),
        Some("demo-014")
    );
}

#[test]
fn deleted_generation_files_are_rebuilt_or_reported() {
    // A derived index lost on disk must not crash a search: the engine
    // either heals it or reports it, never panics.
    let ix = Index::demo();
    let root = ix.path().join("ix");
    let current = std::fs::read_to_string(root.join("CURRENT")).unwrap();
    std::fs::remove_file(root.join(current.trim()).join("graph.bin")).unwrap();
    let out = ix.cmd(
        "search",
        &[query("demo-005_rot90.jpg").as_os_str(), "--json".as_ref()],
    );
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    assert!(
        out.code == 0 || out.code == 2,
        "exit {}: {}",
        out.code,
        out.stderr
    );
}

#[test]
fn info_on_a_missing_index_is_an_error() {
    let ix = Index::new();
    let out = ix.cmd("info", &["--json"]).expect_code(2);
    assert!(out.stderr.contains("no index"), "{}", out.stderr);
}

fn current_generation(ix: &Index) -> std::path::PathBuf {
    let root = ix.path().join("ix");
    let current = std::fs::read_to_string(root.join("CURRENT")).unwrap();
    root.join(current.trim())
}

#[test]
fn a_truncated_feature_table_is_named_and_rebuild_repairs_it() {
    let ix = Index::demo();
    let features = current_generation(&ix).join("features.bin");
    let len = std::fs::metadata(&features).unwrap().len();
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&features)
        .unwrap();
    f.set_len(len / 2).unwrap();
    drop(f);
    let photo = query("demo-013_photo_tilt.jpg");
    let out = ix.cmd("search", &[photo.as_os_str()]).expect_code(2);
    assert!(out.stderr.contains("features.bin"), "{}", out.stderr);

    ix.cmd::<&str>("rebuild", &[]).ok();
    let (id, verdict, _) = top(&ix.search(&photo)).unwrap();
    assert_eq!((id.as_str(), verdict.as_str()), ("demo-013", "match"));
}

#[test]
fn a_generation_of_another_version_is_rebuilt_from_the_store() {
    let ix = Index::demo();
    let manifest = current_generation(&ix).join("manifest.json");
    let text = std::fs::read_to_string(&manifest).unwrap();
    let old = text.replace("\"features_version\": 2", "\"features_version\": 1");
    assert_ne!(old, text, "the manifest names its features version");
    std::fs::write(&manifest, old).unwrap();
    let photo = query("demo-013_photo_tilt.jpg");
    let out = ix
        .cmd("search", &[photo.as_os_str(), "--json".as_ref()])
        .ok();
    // Features of another version are described again from the images.
    assert!(
        out.stderr.contains("extracting them again"),
        "{}",
        out.stderr
    );
    let (id, verdict, _) = top(&out.json()).unwrap();
    assert_eq!((id.as_str(), verdict.as_str()), ("demo-013", "match"));
}

#[test]
fn a_new_format_reuses_the_stored_local_features() {
    let ix = Index::demo();
    let generation = ix.info()["generation"].as_u64().unwrap();
    let manifest = current_generation(&ix).join("manifest.json");
    let text = std::fs::read_to_string(&manifest).unwrap();
    let other = text.replace("\"format_version\": ", "\"format_version\": 1");
    assert_ne!(other, text, "the manifest names its format version");
    std::fs::write(&manifest, other).unwrap();
    // Not damage: derived data of another release, rebuilt on opening.
    let out = ix.cmd::<&str>("verify", &[]).ok();
    assert!(out.stdout.contains("behind"), "{}", out.stdout);
    assert!(!out.stdout.contains("DAMAGED"), "{}", out.stdout);
    // Opening rebuilds the derived tables: the features come from the
    // old generation, not from decoding every image again.
    let photo = query("demo-013_photo_tilt.jpg");
    let out = ix
        .cmd("search", &[photo.as_os_str(), "--json".as_ref()])
        .ok();
    assert!(
        !out.stderr.contains("extracting them again"),
        "{}",
        out.stderr
    );
    let (id, verdict, _) = top(&out.json()).unwrap();
    assert_eq!((id.as_str(), verdict.as_str()), ("demo-013", "match"));
    assert!(ix.info()["generation"].as_u64().unwrap() > generation);
}

#[test]
fn a_store_from_before_pixel_grids_is_upgraded_in_place() {
    let ix = Index::demo();
    let photo = query("demo-011_b_rot180.jpg");
    let agreement = |v: &serde_json::Value| v["matches"][0]["evidence"]["pixel_agreement"].as_f64();
    let fresh = ix.search(&photo);
    let kept = agreement(&fresh).unwrap_or_else(|| panic!("no agreement: {fresh}"));
    // The previous release's store: schema 3, no grid per image.
    ix.as_schema_3();
    // Its images' grids now come from their files: the same answer.
    let old = ix.search(&photo);
    let (id, verdict, _) = top(&old).unwrap();
    assert_eq!((id.as_str(), verdict.as_str()), ("demo-011", "match"));
    let decoded = agreement(&old).unwrap_or_else(|| panic!("no agreement: {old}"));
    assert_eq!(decoded, kept, "the same grid as at import");
    ix.cmd::<&str>("verify", &[]).ok();
    // `rebuild` keeps the grids, from the files, once.
    let out = ix.cmd::<&str>("rebuild", &[]).ok();
    let said = &out.stderr;
    assert!(
        said.contains("kept the pixel grid (with its colours) of 20 images"),
        "{said}"
    );
    let out = ix.cmd::<&str>("rebuild", &[]).ok();
    assert!(!out.stderr.contains("pixel grid"), "{}", out.stderr);
    assert_eq!(agreement(&ix.search(&photo)), Some(kept));
    let schema: i64 = rusqlite::Connection::open(ix.store_file())
        .unwrap()
        .query_row("SELECT value FROM meta WHERE key='schema'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(schema, 4);
}
