//! Development timing of the word lookups alone: each photo's first-look
//! lookup and its second look's wide lookup, one thread, best of three.
use provenance::engine::Engine;
use provenance::imaging::decode::decode_path;
use provenance::imaging::limits::DecodeLimits;
use std::path::Path;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let engine = Engine::open(Path::new(&args[1])).unwrap();
    let g = engine.generation();
    let features: Vec<_> = std::fs::read_to_string(&args[2])
        .unwrap()
        .lines()
        .map(|f| {
            let img = decode_path(Path::new(f), &DecodeLimits::default()).unwrap();
            engine.describer().query(&img).features
        })
        .collect();
    let mut best = [f64::INFINITY; 2];
    for _ in 0..3 {
        let mut t = [0f64; 2];
        for f in &features {
            let t0 = Instant::now();
            g.word_candidates(f, 100).unwrap();
            let t1 = Instant::now();
            g.word_candidates_near(f, 250, 4).unwrap();
            let t2 = Instant::now();
            t[0] += (t1 - t0).as_secs_f64() * 1e3;
            t[1] += (t2 - t1).as_secs_f64() * 1e3;
        }
        for k in 0..2 {
            best[k] = best[k].min(t[k] / features.len() as f64);
        }
    }
    println!(
        "{} photos: first look {:.2} ms, wide lookup {:.2} ms",
        features.len(),
        best[0],
        best[1]
    );
}
