//! How much a true pair's inlier count depends on RANSAC's seed, and on a
//! re-encoding of the photo (docs/decisions.md, "Local optimisation in
//! RANSAC").
//!
//! `ransac_seeds INDEX PAIRS.tsv DIR...`: PAIRS.tsv holds `photo<TAB>record
//! id` lines; for each pair and each folder holding the photo, prints the
//! inliers under the first seed, then the least, median and most of 10.
mod common;

use provenance::imaging::decode::decode_path;
use provenance::imaging::limits::DecodeLimits;
use provenance::search::matching;
use rayon::prelude::*;
use std::path::Path;

fn main() {
    let a: Vec<String> = std::env::args().collect();
    let index = Path::new(&a[1]);
    let (engine, g, pos) = common::open(index);
    let pairs: Vec<(String, String)> = std::fs::read_to_string(&a[2])
        .unwrap()
        .lines()
        .map(|l| {
            let (q, r) = l.split_once('\t').unwrap();
            (q.to_string(), r.to_string())
        })
        .collect();
    let lines: Vec<String> = pairs
        .par_iter()
        .map(|(q, r)| {
            let f = g.features(pos[r]).unwrap();
            let mut out = q.clone();
            for dir in &a[3..] {
                let img = decode_path(&Path::new(dir).join(q), &DecodeLimits::default()).unwrap();
                let qf = engine.describer().query(&img);
                let mut c: Vec<u32> = (0..10u64)
                    .map(|s| {
                        matching::verify_seeded(&qf.features, &f.as_ref(), s * 7919 + 1)
                            .map_or(0, |m| m.inliers as u32)
                    })
                    .collect();
                let first = c[0];
                c.sort();
                out += &format!("\t{first} {} {} {}", c[0], c[5], c[9]);
            }
            out
        })
        .collect();
    // Pairs whose count swings by more than 30% of its largest: with the
    // seed (first folder), and between the first two folders' first seeds.
    let (mut by_seed, mut by_folder) = (0, 0);
    for l in &lines {
        println!("{l}");
        let cols: Vec<Vec<f32>> = l
            .split('\t')
            .skip(1)
            .map(|c| c.split(' ').map(|v| v.parse().unwrap()).collect())
            .collect();
        let swings = |a: f32, b: f32| (a - b).abs() > 0.3 * a.max(b);
        by_seed += usize::from(swings(cols[0][1], cols[0][3]));
        if cols.len() > 1 {
            by_folder += usize::from(swings(cols[0][0], cols[1][0]));
        }
    }
    eprintln!(
        "{} pairs: count swings over 30% with the seed for {by_seed}, between the first two folders for {by_folder}",
        lines.len()
    );
}
