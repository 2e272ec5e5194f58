//! Development diagnostic: draws the outlines `quad::find` sees in photos
//! (first in red, then green, blue) and the time it took, and writes each
//! region warped upright (`NAME-rN.png`).
//!
//! Usage: cargo run --release --example quads -- OUT_DIR PHOTO...
use provenance::imaging::decode::{decode_path, fit_within};
use provenance::imaging::limits::DecodeLimits;
use provenance::{describe::quad, describe::rectify};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let out = std::path::Path::new(&args[1]);
    for path in &args[2..] {
        let img = decode_path(std::path::Path::new(path), &DecodeLimits::default()).unwrap();
        let small = fit_within(img.clone(), quad::SEARCH_SIDE);
        let grey = image::DynamicImage::ImageRgb8(small.clone()).into_luma8();
        let t = std::time::Instant::now();
        let quads = quad::find(&grey, 3);
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        let mut canvas = small;
        let colours = [[255, 0, 0], [0, 255, 0], [0, 0, 255]];
        for (q, c) in quads.iter().zip(colours) {
            for i in 0..4 {
                let (a, b) = (q[i], q[(i + 1) % 4]);
                for s in 0..=200 {
                    let t = s as f32 / 200.0;
                    let (x, y) = (a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1]));
                    if x >= 0.0
                        && y >= 0.0
                        && (x as u32) < canvas.width()
                        && (y as u32) < canvas.height()
                    {
                        canvas.put_pixel(x as u32, y as u32, image::Rgb(c));
                    }
                }
            }
        }
        let name = std::path::Path::new(path)
            .file_stem()
            .unwrap()
            .to_string_lossy()
            .to_string();
        canvas.save(out.join(format!("{name}.png"))).unwrap();
        for (n, q) in quads.iter().enumerate() {
            let upright = rectify::upright(q)
                .and_then(|(t, size)| rectify::render(&img, grey.width(), &t, size, 256));
            if let Some(region) = upright {
                region.save(out.join(format!("{name}-r{n}.png"))).unwrap();
            }
        }
        let scale = img.width() as f32 / grey.width() as f32;
        println!(
            "{name}: {} quads, {ms:.1} ms, scale {scale}: {quads:?}",
            quads.len()
        );
    }
}
