//! Development diagnostic: would simulated tilts of a photo (ASIFT-style
//! views, one axis compressed) bring its true reference into the second
//! look's shortlist? For each query qid given, prints the truth's rank in
//! the wide word lookup of the photo as it is and of each simulated view,
//! and the inliers each view's features verify with the truth, and the
//! time each view's feature extraction and lookup take.
//!
//! `cargo run --release --example tilt -- INDEX truth.csv QIDS.txt [EXTRA]`
//! (EXTRA: further words per descriptor, 4 as in the second look).
mod common;

use image::imageops::thumbnail;
use provenance::describe::orb;
use provenance::imaging::decode::decode_path;
use provenance::imaging::limits::DecodeLimits;
use provenance::search::matching;
use rayon::prelude::*;
use std::path::Path;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let index = Path::new(&args[1]);
    let truth_file = Path::new(&args[2]);
    let wanted: Vec<String> = std::fs::read_to_string(&args[3])
        .unwrap()
        .split_whitespace()
        .map(String::from)
        .collect();
    let base = truth_file.parent().unwrap();
    let extra: usize = args.get(4).map(|a| a.parse().unwrap()).unwrap_or(4);
    let (engine, g, pos_of) = common::open(index);
    let rows: Vec<Vec<String>> = std::fs::read_to_string(truth_file)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(String::from).collect())
        .filter(|r: &Vec<String>| wanted.contains(&r[0]))
        .collect();
    let tilts: Vec<(f32, f32)> = vec![(1.0, 1.0), (0.6, 1.0), (1.0, 0.6), (0.75, 1.0), (1.0, 0.75)];
    let out: Vec<String> = rows
        .par_iter()
        .map(|r| {
            let img = decode_path(&base.join(&r[1]), &DecodeLimits::default()).unwrap();
            let q = engine.describer().query(&img);
            let t = pos_of[&r[2]];
            let reference = g.features(t).unwrap();
            let mut line = format!("{} {}", r[0], r[3]);
            for &(sx, sy) in &tilts {
                let (w, h) = q.grey.dimensions();
                let view = thumbnail(
                    &q.grey,
                    ((w as f32 * sx).round() as u32).max(1),
                    ((h as f32 * sy).round() as u32).max(1),
                );
                let t0 = std::time::Instant::now();
                let f = orb::extract(&view, &orb::QUERY);
                let t1 = std::time::Instant::now();
                let wide = g.word_candidates_near(&f, 10000, extra).unwrap();
                let t2 = std::time::Instant::now();
                let ms =
                    |a: std::time::Instant, b: std::time::Instant| (b - a).as_secs_f64() * 1000.0;
                let (orb_ms, look_ms) = (ms(t0, t1), ms(t1, t2));
                let rank = wide
                    .iter()
                    .position(|(p, _)| *p == t)
                    .map(|x| x as i64)
                    .unwrap_or(-1);
                let inl = matching::verify(&f, &reference.as_ref())
                    .map(|m| m.inliers)
                    .unwrap_or(0);
                line += &format!(
                    "  {sx}x{sy}: rank {rank} inl {inl} orb {orb_ms:.0} look {look_ms:.0}"
                );
            }
            line
        })
        .collect();
    for l in out {
        println!("{l}");
    }
}
