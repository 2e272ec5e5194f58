//! Full-text search over record descriptions.

use crate::util::{Index, SCULPTURES, ids};

fn first(v: &serde_json::Value) -> Option<String> {
    ids(v).into_iter().next()
}

#[test]
fn misspelt_title_word_finds_the_record() {
    let ix = Index::demo();
    // "philosopher" (demo-002), "Tournesols" (demo-103), "sapphires" (demo-006).
    assert_eq!(
        first(&ix.text("philospher", &[])).as_deref(),
        Some("demo-002")
    );
    assert_eq!(
        first(&ix.text("Tournsols", &[])).as_deref(),
        Some("demo-103")
    );
    assert_eq!(
        first(&ix.text("saphires diadem", &[])).as_deref(),
        Some("demo-006")
    );
}

#[test]
fn accent_folded_maker_finds_both_records() {
    let ix = Index::demo();
    // "Atelier Bérénice Dufresne" made demo-001 (JSONL) and demo-103 (CSV).
    let mut top2 = ids(&ix.text("Berenice Dufresne", &[]));
    top2.truncate(2);
    top2.sort();
    assert_eq!(top2, ["demo-001", "demo-103"]);
    assert_eq!(
        first(&ix.text("Helene Akerstrom", &[])).as_deref(),
        Some("demo-003")
    );
}

#[test]
fn type_filter_narrows() {
    let ix = Index::demo();
    let words = "bronze gold painted stone";
    let all = ids(&ix.text(words, &[]));
    assert!(
        all.iter().any(|id| !SCULPTURES.contains(&id.as_str())),
        "{all:?}"
    );
    let mut narrowed = ids(&ix.text(words, &["--type", "sculpture"]));
    narrowed.sort();
    assert_eq!(narrowed, SCULPTURES);
    // A subtype narrows further.
    assert_eq!(
        ids(&ix.text(words, &["--type", "sculpture/bust"])),
        ["demo-002"]
    );
}

#[test]
fn status_filter_narrows() {
    let ix = Index::demo();
    let words = "unknown harp gold oil canvas";
    assert!(ids(&ix.text(words, &[])).len() > 3);
    assert_eq!(
        ids(&ix.text(words, &["--status", "recovered"])),
        ["demo-007"]
    );
    assert!(ids(&ix.text("painting", &["--status", "recovered"])).is_empty());
}

#[test]
fn text_only_record_is_searchable() {
    // demo-015 has no photograph, but its description is indexed.
    let ix = Index::demo();
    assert_eq!(
        first(&ix.text("dancing satyr", &[])).as_deref(),
        Some("demo-015")
    );
}

#[test]
fn query_syntax_is_not_an_error() {
    let ix = Index::demo();
    ix.text("title:\"harp AND (", &[]);
}

#[test]
fn unknown_status_is_an_error() {
    let ix = Index::demo();
    let out = ix.cmd("text", &["harp", "--status", "lost"]).expect_code(2);
    assert!(out.stderr.contains("lost"), "{}", out.stderr);
}
