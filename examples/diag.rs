//! Development diagnostic: where does the true reference of each benchmark
//! query get lost (candidate stage or verification)?
mod common;

use provenance::imaging::decode::decode_path;
use provenance::imaging::limits::DecodeLimits;
use provenance::search::matching;
use rayon::prelude::*;
use std::path::Path;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let index = Path::new(&args[1]);
    let truth = std::fs::read_to_string(&args[2]).unwrap();
    let base = Path::new(&args[2]).parent().unwrap();
    let (engine, g, pos_of) = common::open(index);
    let rows: Vec<Vec<String>> = truth
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(String::from).collect())
        .collect();
    let out: Vec<String> = rows
        .par_iter()
        .map(|r| {
            let img = decode_path(&base.join(&r[1]), &DecodeLimits::default()).unwrap();
            let q = engine.describer().query(&img);
            let words = g.word_candidates(&q.features, 1000).unwrap();
            let truth_pos = pos_of.get(&r[2]).copied();
            let rank = truth_pos
                .and_then(|t| words.iter().position(|(p, _)| *p == t))
                .map(|x| x as i64)
                .unwrap_or(-1);
            let tm = truth_pos
                .and_then(|t| matching::verify(&q.features, &g.features(t).unwrap().as_ref()));
            let true_inl = tm.as_ref().map(|m| m.inliers).unwrap_or(0);
            let same_word = tm
                .as_ref()
                .map(|m| {
                    let t = g
                        .features(truth_pos.unwrap())
                        .unwrap()
                        .as_ref()
                        .to_features();
                    m.pairs
                        .iter()
                        .filter(|(rp, qp)| {
                            let ri = t
                                .keypoints
                                .iter()
                                .position(|k| k.x == rp[0] && k.y == rp[1])
                                .unwrap();
                            let qi = q
                                .features
                                .keypoints
                                .iter()
                                .position(|k| k.x == qp[0] && k.y == qp[1])
                                .unwrap();
                            g.quantize(&t.descriptors[ri])
                                == g.quantize(&q.features.descriptors[qi])
                        })
                        .count()
                })
                .unwrap_or(0);
            let other = words
                .iter()
                .take(30)
                .filter(|(p, _)| Some(*p) != truth_pos)
                .filter_map(|(p, _)| {
                    matching::verify(&q.features, &g.features(*p).unwrap().as_ref())
                })
                .map(|m| m.inliers)
                .max()
                .unwrap_or(0);
            // The best outlined region's own features, looked up alone.
            let region = q.regions.iter().find_map(|x| x.features.as_ref());
            let (region_rank, region_inliers, region_features) = match region {
                Some(rf) => {
                    let found = g.word_candidates(&rf.features, 1000).unwrap();
                    let rank = truth_pos
                        .and_then(|t| found.iter().position(|(p, _)| *p == t))
                        .map(|x| x as i64)
                        .unwrap_or(-1);
                    let inl = truth_pos
                        .and_then(|t| {
                            matching::verify(&rf.features, &g.features(t).unwrap().as_ref())
                        })
                        .map(|m| m.inliers as i64)
                        .unwrap_or(0);
                    (rank, inl, rf.features.len() as i64)
                }
                None => (-2, -1, -1),
            };
            format!(
                "{},{},{},{},{},{},{},{},{},{},{}",
                r[0],
                region_rank,
                region_inliers,
                region_features,
                same_word,
                r[3],
                rank,
                true_inl,
                other,
                q.features.len(),
                r[4].replace(',', ";")
            )
        })
        .collect();
    println!(
        "qid,region_rank,region_inliers,region_features,same_word,difficulty,word_rank,true_inliers,best_other_inliers,query_features,transforms"
    );
    for l in out {
        println!("{l}");
    }
}
