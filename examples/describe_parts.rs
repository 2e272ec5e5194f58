//! Development timing of a photo's description and of its best outline's
//! warp at the local features' size, as `describer::region_features` does it.
use provenance::describe::describer::{REFERENCE_FEATURE_SIDE, WORK_SIDE};
use provenance::describe::{quad, rectify};
use provenance::engine::Engine;
use provenance::imaging::decode::{decode_path, fit_within, shrunk};
use provenance::imaging::limits::DecodeLimits;
use std::path::Path;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let engine = Engine::open(Path::new(&args[1])).unwrap();
    let files: Vec<String> = std::fs::read_to_string(&args[2])
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    let (mut tq, mut tr, mut n) = (0f64, 0f64, 0);
    for f in &files {
        let img = decode_path(Path::new(f), &DecodeLimits::default()).unwrap();
        let t0 = Instant::now();
        let _q = engine.describer().query(&img);
        let t1 = Instant::now();
        let work = shrunk(&img, WORK_SIDE).unwrap_or_else(|| img.clone());
        let small = fit_within(work.clone(), quad::SEARCH_SIDE);
        let grey = image::DynamicImage::ImageRgb8(small).into_luma8();
        let t2 = Instant::now();
        if let Some(q) = quad::find(&grey, 3).first() {
            let (transform, size) = rectify::upright(q).unwrap();
            let extent = size.0.max(size.1) * img.width() as f32 / grey.width() as f32;
            let side = (extent.round() as u32).clamp(64, REFERENCE_FEATURE_SIDE);
            let _r = rectify::render(&img, grey.width(), &transform, size, side);
        }
        let t3 = Instant::now();
        tq += (t1 - t0).as_secs_f64() * 1e3;
        tr += (t3 - t2).as_secs_f64() * 1e3;
        n += 1;
    }
    println!(
        "{n} photos: query {:.1} ms, find+render {:.1} ms",
        tq / n as f64,
        tr / n as f64
    );
}
