//! Development timing of the query stages on a few benchmark queries.
use provenance::engine::Engine;
use provenance::imaging::decode::decode_path;
use provenance::imaging::limits::DecodeLimits;
use provenance::search::matching;
use std::path::Path;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let engine = Engine::open(Path::new(&args[1])).unwrap();
    let g = engine.generation();
    let mut files: Vec<_> = std::fs::read_dir(&args[2])
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let mut t = [0f64; 5];
    for f in files.iter().take(60) {
        let t0 = Instant::now();
        let img = decode_path(f, &DecodeLimits::default()).unwrap();
        let t1 = Instant::now();
        let q = engine.describer().query(&img);
        let t2 = Instant::now();
        let words = g.word_candidates(&q.features, 100).unwrap();
        let t3 = Instant::now();
        for (p, _) in &words {
            matching::verify(&q.features, &g.features(*p).unwrap().as_ref());
        }
        let t4 = Instant::now();
        for e in &q.embeddings {
            g.nearest(e, 24, 128);
        }
        let t5 = Instant::now();
        for (i, d) in [t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4]
            .iter()
            .enumerate()
        {
            t[i] += d.as_secs_f64() * 1000.0 / 60.0;
        }
    }
    println!(
        "mean ms over 60 queries, one thread each stage: decode {:.1} describe {:.1} words {:.1} verify100 (sequential) {:.1} nearest x8 {:.1}",
        t[0], t[1], t[2], t[3], t[4]
    );
}
