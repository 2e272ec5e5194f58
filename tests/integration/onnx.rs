//! The `onnx` feature: a site's own embedding model, end to end through the
//! CLI, with the tiny model `scripts/make-tiny-onnx.py` made.

use crate::util::{Index, expected_id, fixture, query, run, top};

fn model_args() -> [String; 4] {
    [
        "--onnx-model".into(),
        fixture("onnx/tiny.onnx").display().to_string(),
        "--onnx-input-size".into(),
        "64".into(),
    ]
}

#[test]
fn an_index_built_with_an_onnx_model_searches_with_it() {
    let ix = Index::new();
    let dir = ix.path().join("ix");
    let mut args: Vec<String> = vec!["import".into(), "--index".into(), dir.display().to_string()];
    args.push(fixture("demo/records.jsonl").display().to_string());
    args.extend(model_args());
    run(&args).ok();

    let photo = "demo-013_photo_tilt.jpg";
    let mut search: Vec<String> =
        vec!["search".into(), "--index".into(), dir.display().to_string()];
    search.push(query(photo).display().to_string());
    search.push("--json".into());
    search.extend(model_args());
    let res = run(&search).ok().json();
    let (id, verdict, _) = top(&res).unwrap();
    assert_eq!(id, expected_id(photo).unwrap());
    assert_eq!(verdict, "match");

    // The generation records the model it was built with…
    let mut info: Vec<String> = vec!["info".into(), "--index".into(), dir.display().to_string()];
    info.push("--json".into());
    info.extend(model_args());
    let text = run(&info).ok().json().to_string();
    assert!(text.contains("onnx:tiny.onnx:"), "{text}");
    // …and opening it without the model is refused rather than rebuilt
    // without its images.
    let plain = run(&["info", "--index", &dir.display().to_string()]);
    assert_eq!(plain.code, 2, "{}", plain.stderr);
    assert!(plain.stderr.contains("onnx:tiny.onnx"), "{}", plain.stderr);
}

#[test]
fn a_missing_model_is_a_clear_error() {
    let ix = Index::new();
    let out = run(&[
        "import",
        "--index",
        &ix.path().join("ix").display().to_string(),
        &fixture("demo/records.jsonl").display().to_string(),
        "--onnx-model",
        "/nonexistent/model.onnx",
    ]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("/nonexistent/model.onnx"),
        "{}",
        out.stderr
    );
}
