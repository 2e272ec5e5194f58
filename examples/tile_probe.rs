//! How small a closer tile must be to verify a small picture
//! (docs/decisions.md, "The closer look at two scales"): the inliers of a
//! record against square crops centred on its object, 0.4 to 0.2 of the
//! photo's longer side, each described like a query (at most 720 px).
//!
//! `tile_probe INDEX LIST`, LIST holding lines `PHOTO RECORD_ID CX CY`
//! (the object's centre in photo pixels).
mod common;
use provenance::imaging::decode::decode_path;
use provenance::imaging::limits::DecodeLimits;
use provenance::search::matching;
use std::path::Path;

fn main() {
    let a: Vec<String> = std::env::args().collect();
    let index = Path::new(&a[1]);
    let (engine, g, pos) = common::open(index);
    for line in std::fs::read_to_string(&a[2]).unwrap().lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let (photo, rid, cx, cy) = (
            f[0],
            f[1],
            f[2].parse::<f32>().unwrap(),
            f[3].parse::<f32>().unwrap(),
        );
        let img = decode_path(Path::new(photo), &DecodeLimits::default()).unwrap();
        let side = img.width().max(img.height()) as f32;
        let r = g.features(pos[rid]).unwrap();
        let mut out = format!(
            "{} {rid}:",
            Path::new(photo).file_name().unwrap().to_string_lossy()
        );
        for share in [0.4f32, 0.3, 0.25, 0.2] {
            let s = (share * side) as u32;
            let x0 = ((cx - s as f32 / 2.0).max(0.0) as u32).min(img.width().saturating_sub(s));
            let y0 = ((cy - s as f32 / 2.0).max(0.0) as u32).min(img.height().saturating_sub(s));
            let crop =
                image::imageops::crop_imm(&img, x0, y0, s.min(img.width()), s.min(img.height()))
                    .to_image();
            let q = engine.describer().query(&crop);
            let inl = matching::verify(&q.features, &r.as_ref()).map_or(0, |m| m.inliers);
            out += &format!(" {share}:{inl}");
        }
        println!("{out}");
    }
}
