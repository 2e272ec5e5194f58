//! Imports into a live database add delta segments instead of rebuilding
//! the image indexes; searches see them at once; too many deltas are
//! folded into one, and `compact` folds everything into a new base.

use super::util::{Index, fixture, ids};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

fn current_generation(ix: &Index) -> PathBuf {
    let root = ix.path().join("ix");
    let current = std::fs::read_to_string(root.join("CURRENT")).unwrap();
    root.join(current.trim())
}

fn inode(path: &Path) -> u64 {
    std::fs::metadata(path).unwrap().ino()
}

/// A one-record file whose only photo is `fixtures/demo/refs/<photo>`.
fn record_file(ix: &Index, name: &str, id: &str, photo: &str) -> PathBuf {
    let path = ix.scratch(name);
    let image = fixture("demo/refs").join(photo);
    let line = serde_json::json!({
        "id": id, "source": "test", "status": "stolen", "object_type": "painting",
        "title": "Moved between photos", "images": [image],
    });
    std::fs::write(&path, format!("{line}\n")).unwrap();
    path
}

fn delta_images(ix: &Index) -> Vec<u64> {
    ix.info()["delta_images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect()
}

#[test]
fn imports_add_deltas_that_searches_see_and_compact_folds() {
    let ix = Index::demo();
    // The demo's second file may have gone into a delta: start from one base.
    ix.cmd::<&str>("compact", &[]).ok();
    assert!(delta_images(&ix).is_empty());
    let base = ix.info()["base_images"].as_u64().unwrap();
    let base_vectors = inode(&current_generation(&ix).join("vectors.bin"));
    // One record re-imported with another photo each time: each import
    // adds one image (and leaves one dead entry behind).
    let photos = [
        "demo-001.jpg",
        "demo-003.jpg",
        "demo-004.jpg",
        "demo-005.jpg",
        "demo-006.jpg",
        "demo-007.jpg",
        "demo-008.jpg",
        "demo-009.jpg",
        "demo-010.jpg",
    ];
    for (i, photo) in photos.iter().enumerate() {
        let file = record_file(&ix, &format!("r{i}.jsonl"), "moved-1", photo);
        ix.import(&[file]).ok();
        assert_eq!(ix.info()["base_images"].as_u64(), Some(base));
        // The ninth delta would be one too many: the eight are folded
        // into one with the live image only.
        let expected: Vec<u64> = if i < 8 { vec![1; i + 1] } else { vec![1] };
        assert_eq!(delta_images(&ix), expected, "after import {i}");
        assert_eq!(
            inode(&current_generation(&ix).join("vectors.bin")),
            base_vectors,
            "import {i} rebuilt the base"
        );
        let now = ix.search(&fixture("demo/refs").join(photo));
        assert!(
            ids(&now).contains(&"moved-1".to_string()),
            "import {i}: {now}"
        );
        if i > 0 {
            let before = ix.search(&fixture("demo/refs").join(photos[i - 1]));
            assert!(
                !ids(&before).contains(&"moved-1".to_string()),
                "import {i}: the replaced photo still matches: {before}"
            );
        }
    }
    let verify = ix.cmd::<&str>("verify", &[]).ok();
    assert!(verify.stdout.contains("deltas"), "{}", verify.stdout);
    // The demo records are still found, from the base.
    assert_eq!(
        ids(&ix.search(&super::util::query("demo-013_photo_tilt.jpg")))[0],
        "demo-013"
    );
    ix.cmd::<&str>("compact", &[]).ok();
    assert!(delta_images(&ix).is_empty());
    assert_eq!(ix.info()["base_images"].as_u64(), Some(base + 1));
    assert_ne!(
        inode(&current_generation(&ix).join("vectors.bin")),
        base_vectors
    );
    let last = ix.search(&fixture("demo/refs").join(photos[8]));
    assert!(ids(&last).contains(&"moved-1".to_string()), "{last}");
    ix.cmd::<&str>("verify", &[]).ok();
}

#[test]
fn an_import_larger_than_half_the_base_rebuilds_it() {
    let ix = Index::new();
    let one = record_file(&ix, "one.jsonl", "first", "demo-001.jpg");
    ix.import(&[one]).ok();
    assert_eq!(ix.info()["base_images"].as_u64(), Some(1));
    ix.import(&[fixture("demo/records.jsonl")]).ok();
    let info = ix.info();
    assert!(delta_images(&ix).is_empty(), "{info}");
    assert_eq!(info["base_images"], info["images"]);
    // The replaced generation is gone: a rebuild does not double the disk.
    let generations = std::fs::read_dir(ix.path().join("ix"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("gen-")
        })
        .count();
    assert_eq!(generations, 1);
}

#[test]
fn features_are_kept_once_and_a_lost_index_is_rebuilt_from_the_images() {
    let ix = Index::demo();
    let info = ix.info();
    let images = info["images"].as_u64().unwrap();
    // Each image's local features take about 18 KB; once a generation
    // holds them the store keeps none (about 9 KB an image remains, its
    // pixel grid 1.7 KB of it).
    assert!(
        info["bytes_store"].as_u64().unwrap() < images * 12 * 1024,
        "{info}"
    );
    let photo = super::util::query("demo-013_photo_tilt.jpg");
    let inliers =
        |v: &serde_json::Value| super::util::matches(v)[0]["evidence"]["inliers"].as_u64();
    let before = ix.search(&photo);
    assert_eq!(ids(&before)[0], "demo-013");
    assert!(inliers(&before).unwrap() >= 12, "{before}");
    // Every image index lost: `rebuild` reads the images again.
    let root = ix.path().join("ix");
    for e in std::fs::read_dir(&root).unwrap() {
        let p = e.unwrap().path();
        if p.file_name().unwrap().to_str().unwrap().starts_with("gen-") {
            std::fs::remove_dir_all(p).unwrap();
        }
    }
    ix.cmd::<&str>("verify", &[]).expect_code(1);
    let out = ix.cmd::<&str>("rebuild", &[]).ok();
    assert!(
        out.stderr.contains("extracting them again"),
        "{}",
        out.stderr
    );
    ix.cmd::<&str>("verify", &[]).ok();
    let after = ix.search(&photo);
    assert_eq!(ids(&after)[0], "demo-013");
    assert_eq!(inliers(&after), inliers(&before), "{after}");
}
