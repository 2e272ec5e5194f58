//! The chance model of the global evidence (issue 23): how often an
//! unrelated reference reaches a global strength (hashes and embedding,
//! `scoring::whole_global_strength`) by chance. Every negative query of a
//! benchmark half (photos of objects not in the database) against every
//! reference of an index; prints the survival function P(S ≥ s) per pair.
//!
//! usage: global_chance INDEX TRUTH.csv [A|B|all]
use provenance::engine::Engine;
use provenance::imaging::decode::decode_path;
use provenance::imaging::limits::DecodeLimits;
use provenance::search::{candidates, scoring};
use std::path::Path;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let engine = Engine::open(Path::new(&args[1])).unwrap();
    let g = engine.generation();
    let truth = std::fs::read_to_string(&args[2]).unwrap();
    let dir = Path::new(&args[2]).parent().unwrap();
    let half = args.get(3).map(String::as_str).unwrap_or("all");
    let steps: Vec<f32> = (0..=100).map(|i| i as f32 * 0.1).collect();
    let mut above = vec![0u64; steps.len()];
    let (mut pairs, mut queries) = (0u64, 0u32);
    for line in truth.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        if !f[2].is_empty() || f[4].contains("suspect_dup") || !in_half(f[1], half) {
            continue;
        }
        let img = decode_path(&dir.join(f[1]), &DecodeLimits::default()).unwrap();
        let q = engine.describer().query(&img);
        for pos in 0..g.len() as u32 {
            let s = scoring::whole_global_strength(&candidates::global_evidence(&g, &q, pos));
            for (k, &t) in steps.iter().enumerate() {
                if s >= t {
                    above[k] += 1;
                } else {
                    break;
                }
            }
        }
        pairs += g.len() as u64;
        queries += 1;
    }
    println!(
        "# {queries} negative queries x {} references = {pairs} pairs",
        g.len()
    );
    println!("strength\tpairs_at_or_above\tP");
    for (t, n) in steps.iter().zip(&above) {
        println!("{t:.1}\t{n}\t{:.3e}", *n as f64 / pairs as f64);
    }
}

/// halves.py's rule for a negative: the first byte of sha256(file name), odd → B.
fn in_half(file: &str, half: &str) -> bool {
    if half == "all" {
        return true;
    }
    let name = Path::new(file).file_name().unwrap().to_string_lossy();
    let b = sha256_first_byte(name.as_bytes());
    (b & 1 == 1) == (half == "B")
}

fn sha256_first_byte(data: &[u8]) -> u8 {
    use sha2::{Digest, Sha256};
    Sha256::digest(data)[0]
}
