//! Runs known-item text queries in process, for the text benchmark
//! (`scripts/bench-text.sh` runs the CLI once per query instead, which
//! also counts opening the index):
//!
//! ```text
//! cut -d, -f1,2 truth.csv | tail -n +2 | tr , '\t' \
//!   | cargo run --release --example textbench -- INDEX/text > results.jsonl
//! ```
//!
//! `textbench --build RECORDS.jsonl DIR` first builds a fresh text index of
//! the records in DIR (text only, no images), to try an analysis change
//! without a whole import.
//!
//! Reads `qid<TAB>query` lines, writes one `{"query", "matches"}` line per
//! query and the median time per query on stderr.

use provenance::records::io::read_records;
use provenance::text::{TextFilter, TextIndex};
use std::io::BufRead;
use std::path::Path;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = match &args[..] {
        [build, records, dir] if build == "--build" => {
            let _ = std::fs::remove_dir_all(dir);
            let idx = TextIndex::open_or_create(Path::new(dir)).expect("create text index");
            let t = Instant::now();
            let lines = read_records(Path::new(records)).expect("read records");
            for rec in lines.into_iter().filter_map(|l| l.result.ok()) {
                idx.upsert(&rec).expect("index record");
            }
            idx.commit().expect("commit");
            eprintln!("built in {:.1} s", t.elapsed().as_secs_f64());
            return;
        }
        [dir] => dir.clone(),
        _ => panic!("usage: textbench TEXT_INDEX_DIR | textbench --build RECORDS DIR"),
    };
    let idx = TextIndex::open_or_create(Path::new(&dir)).expect("open text index");
    let filter = TextFilter::default();
    let mut times = Vec::new();
    for line in std::io::stdin().lock().lines() {
        let line = line.expect("read stdin");
        let Some((qid, query)) = line.split_once('\t') else {
            continue;
        };
        let t = Instant::now();
        let hits = idx.search(query, &filter, 10).expect("search");
        times.push(t.elapsed().as_secs_f64());
        let matches: Vec<_> = hits
            .iter()
            .map(|h| serde_json::json!({"id": h.id, "score": h.score}))
            .collect();
        println!("{}", serde_json::json!({"query": qid, "matches": matches}));
    }
    times.sort_by(|a, b| a.total_cmp(b));
    if !times.is_empty() {
        let p = |q: f64| times[((times.len() - 1) as f64 * q) as usize] * 1000.0;
        eprintln!(
            "{} queries: p50 {:.2} ms, p99 {:.2} ms",
            times.len(),
            p(0.5),
            p(0.99)
        );
    }
}
