//! Crash safety: `provenance import` killed with SIGKILL at random
//! moments, again and again, on one index. After every kill the index
//! must verify (nothing damaged), every batch the import reported as
//! committed must be there whole, no batch may be there in part, and
//! after the next open the store, generation and text must agree.
//!
//! `PROVENANCE_CRASH_CYCLES` sets the number of kills (default 12; the
//! closing note of issue 5 reports a run of 200).

use super::util::{Index, fixture, run};
use provenance::store::Store;
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::Instant;

const RECORDS: usize = 200;
const BATCH: usize = 64;

/// xorshift64*: reproducible kill times without a dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// A records file of `RECORDS` records whose titles name the cycle, with
/// the demo photos.
fn records_file(ix: &Index, cycle: usize) -> std::path::PathBuf {
    let refs: Vec<String> = std::fs::read_dir(fixture("demo/refs"))
        .unwrap()
        .map(|e| e.unwrap().path().display().to_string())
        .collect();
    let mut text = String::new();
    for i in 0..RECORDS {
        let rec = serde_json::json!({
            "id": format!("crash-{i:03}"),
            "title": format!("cycle {cycle}"),
            // Other images each cycle: an unchanged image is not written
            // again, and the import must describe to be killed mid-way.
            "images": [refs[(i + cycle) % refs.len()]],
        });
        text.push_str(&rec.to_string());
        text.push('\n');
    }
    let path = ix.scratch(&format!("cycle-{cycle}.jsonl"));
    std::fs::write(&path, text).unwrap();
    path
}

/// Titles of crash-000.. in the store, straight from SQLite.
fn titles(ix: &Index) -> Vec<Option<String>> {
    let store = Store::open(&ix.path().join("ix/records.sqlite")).unwrap();
    (0..RECORDS)
        .map(|i| {
            store
                .get(&format!("crash-{i:03}"))
                .unwrap()
                .map(|r| r.title)
        })
        .collect()
}

/// `committed: N records, through line L` lines of a killed import.
fn last_commit(stderr: &str) -> usize {
    stderr
        .lines()
        .filter_map(|l| l.strip_prefix("committed: "))
        .filter_map(|l| l.split("through line ").nth(1)?.trim().parse().ok())
        .max()
        .unwrap_or(0)
}

#[test]
fn import_killed_at_random_moments_never_loses_or_damages_commits() {
    let cycles: usize = std::env::var("PROVENANCE_CRASH_CYCLES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(12);
    let ix = Index::new();
    let index = ix.path().join("ix");
    // One uninterrupted import, to learn how long one takes.
    let started = Instant::now();
    ix.import(&[records_file(&ix, 0)]).ok();
    let full = started.elapsed();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut killed_mid_way = 0;
    for cycle in 1..=cycles {
        let file = records_file(&ix, cycle);
        let mut child = Command::new(env!("CARGO_BIN_EXE_provenance"))
            .args(["import", "--index"])
            .arg(&index)
            .arg(&file)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let wait = full.mul_f64((rng.next() % 1200) as f64 / 1000.0);
        std::thread::sleep(wait);
        let finished = child.try_wait().unwrap().is_some();
        let _ = child.kill(); // SIGKILL
        child.wait().unwrap();
        let mut stderr = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        let through = last_commit(&stderr);
        let ctx = format!("cycle {cycle}, killed after {wait:?} (finished: {finished})\n{stderr}");

        // Nothing is damaged; parts may only be behind.
        let v = run(&["verify".as_ref(), "--index".as_ref(), index.as_os_str()]);
        assert_eq!(v.code, 0, "{ctx}\n{}", v.stdout);
        // Every reported commit is there; batches are whole.
        let now = format!("cycle {cycle}");
        let t = titles(&ix);
        let new = t
            .iter()
            .filter(|x| x.as_deref() == Some(now.as_str()))
            .count();
        assert!(
            new >= through,
            "{ctx}: only {new} records of this cycle, {through} committed"
        );
        assert!(
            new % BATCH == 0 || new == RECORDS,
            "{ctx}: {new} records of this cycle: a batch was committed in part"
        );
        assert!(
            t[..new].iter().all(|x| x.as_deref() == Some(now.as_str())),
            "{ctx}: batches committed out of order"
        );
        if new > 0 && new < RECORDS {
            killed_mid_way += 1;
            // A snapshot of what the kill left is brought level first:
            // replicas, which cannot heal it, refuse a lagging one.
            if killed_mid_way == 1 {
                let root = ix.scratch("snapshots");
                let s = run(&[
                    "snapshot".as_ref(),
                    "--index".as_ref(),
                    index.as_os_str(),
                    "--into".as_ref(),
                    root.as_os_str(),
                ]);
                assert_eq!(s.code, 0, "{ctx}\n{}", s.stderr);
                let name = std::fs::read_to_string(root.join("CURRENT")).unwrap();
                let snap = root.join(name.trim());
                let v = run(&["verify".as_ref(), "--index".as_ref(), snap.as_os_str()]);
                assert_eq!(
                    v.stdout.lines().filter(|l| l.starts_with("ok")).count(),
                    3,
                    "{ctx}: the snapshot is not level\n{}",
                    v.stdout
                );
            }
        }
        // The next open heals whatever lags: then every part agrees.
        run(&["info".as_ref(), "--index".as_ref(), index.as_os_str()]);
        let v = run(&["verify".as_ref(), "--index".as_ref(), index.as_os_str()]);
        assert_eq!(v.code, 0, "{ctx}\n{}", v.stdout);
        assert_eq!(
            v.stdout.lines().filter(|l| l.starts_with("ok")).count(),
            3,
            "{ctx}: not level after reopening\n{}",
            v.stdout
        );
    }
    eprintln!("{cycles} kills, {killed_mid_way} between two batches of one import");
}
