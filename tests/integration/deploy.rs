//! What can be checked of `deploy/` here: the Indexed Job's command, run
//! as Kubernetes would run it, once per `JOB_COMPLETION_INDEX`, covers
//! every photo of the lot exactly once.

use super::util::{Index, fixture};
use std::collections::HashMap;

/// The shell line the Indexed Job gives `sh -c`.
fn shard_command() -> String {
    let file =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/kubernetes/batch-job.yaml");
    let text = std::fs::read_to_string(file).unwrap();
    let line = text
        .lines()
        .skip_while(|l| !l.contains("# shard-command"))
        .nth(1)
        .expect("the args line after the shard-command mark");
    let start = line.find("['").expect("args: ['...']") + 2;
    let end = line.rfind("']").unwrap();
    line[start..end].to_string()
}

#[test]
fn the_indexed_jobs_command_covers_every_photo_once() {
    let ix = Index::demo();
    let lot = fixture("demo/queries");
    let out = ix.scratch("out");
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_provenance"));
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let command = shard_command();
    for index in 0..4 {
        let status = std::process::Command::new("sh")
            .args(["-c", &command])
            .env("PATH", &path)
            .env("INDEX", ix.path().join("ix"))
            .env("LOT", &lot)
            .env("OUT", &out)
            .env("SHARDS", "4")
            .env("JOB_COMPLETION_INDEX", index.to_string())
            .status()
            .unwrap();
        assert!(status.success(), "pod {index}: {status:?}");
    }
    let mut seen: HashMap<String, usize> = HashMap::new();
    for index in 0..4 {
        let part = std::fs::read_to_string(out.join(format!("part-{index}.jsonl"))).unwrap();
        for line in part.lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            *seen
                .entry(v["query"].as_str().unwrap().to_string())
                .or_default() += 1;
        }
    }
    let photos = std::fs::read_dir(&lot).unwrap().count();
    assert_eq!(seen.len(), photos, "{seen:?}");
    assert!(seen.values().all(|&n| n == 1), "{seen:?}");
}
