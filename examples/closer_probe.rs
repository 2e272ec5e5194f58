//! Where a small picture is lost by the closer look (docs/decisions.md,
//! "A small find shown zoomed; the closer look with 50,000 references"):
//! for each photo and its record, each closer tile's rank of the record
//! in its word lookup (`-`: not in the first 2,000), ranked by agreeing
//! turns and scales / by one transform (the look verifies the first 50 by
//! one transform), and the inliers verifying the record with that tile's
//! features give.
//!
//! `closer_probe INDEX PHOTO RECORD_ID [PHOTO RECORD_ID...]`
mod common;

use provenance::describe::rest;
use provenance::imaging::decode::decode_path;
use provenance::imaging::limits::DecodeLimits;
use provenance::index::inverted::Consistency;
use provenance::search::matching;
use std::path::Path;

fn main() {
    let a: Vec<String> = std::env::args().collect();
    let index = Path::new(&a[1]);
    let (engine, g, pos) = common::open(index);
    for pair in a[2..].chunks(2) {
        let (photo, rid) = (&pair[0], &pair[1]);
        let p = pos[rid];
        let img = decode_path(Path::new(photo), &DecodeLimits::default()).unwrap();
        let q = engine.describer().query(&img);
        let closer = rest::RestPhoto::closer(&img).unwrap();
        let views = rest::close_views(&closer, &q);
        let f = g.features(p).unwrap();
        let mut line = format!(
            "{} {rid}:",
            Path::new(photo).file_name().unwrap().to_string_lossy()
        );
        let rank_of = |list: Vec<(u32, f32)>| {
            list.iter()
                .position(|(c, _)| *c == p)
                .map_or("-".into(), |r| r.to_string())
        };
        for v in &views.views {
            let weak = rank_of(g.word_candidates(&v.features, 2000).unwrap());
            let one = g.word_candidates_checked(&v.features, 2000, 0, Consistency::Transform);
            let inl = matching::verify(&v.features, &f.as_ref()).map_or(0, |m| m.inliers);
            line += &format!(" [{weak}/{}:{inl}]", rank_of(one.unwrap()));
        }
        println!("{line}");
    }
}
