//! Re-encodes every photo of a folder as the web page sends it (longest side
//! at most 1,600 px, JPEG quality 90: `server/web/app.js`), to measure whether
//! a verdict survives re-compression (issue 23):
//!
//! ```text
//! cargo run --release --example reencode -- ../shared/bench/dev/queries /tmp/reenc
//! provenance batch --index IDX /tmp/reenc --out /tmp/reenc.jsonl
//! python3 scripts/verdict-stability.py /tmp/dev.jsonl /tmp/reenc.jsonl
//! ```
//!
//! Names are kept (extension and all), so result lines pair up by `query`.

use provenance::imaging::decode::{decode_path, fit_within};
use provenance::imaging::limits::DecodeLimits;
use rayon::prelude::*;
use std::path::Path;

/// The web page's `MAX_SIDE` and `toBlob` quality.
const MAX_SIDE: u32 = 1600;
const QUALITY: u8 = 90;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (input, output) = match &args[..] {
        [_, i, o] => (Path::new(i), Path::new(o)),
        _ => {
            eprintln!("usage: reencode IN_DIR OUT_DIR");
            std::process::exit(2);
        }
    };
    std::fs::create_dir_all(output).unwrap();
    let mut files: Vec<_> = std::fs::read_dir(input)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    let limits = DecodeLimits::default();
    let failed: usize = files
        .par_iter()
        .map(|p| {
            let Ok(img) = decode_path(p, &limits) else {
                eprintln!("{}: cannot decode, skipped", p.display());
                return 1;
            };
            // A browser's canvas scales with a smooth filter; Triangle is close.
            let img = fit_within(img, MAX_SIDE);
            let mut out = Vec::new();
            image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, QUALITY)
                .encode_image(&img)
                .unwrap();
            std::fs::write(output.join(p.file_name().unwrap()), out).unwrap();
            0
        })
        .sum();
    eprintln!(
        "{} photos re-encoded into {}, {failed} skipped",
        files.len() - failed,
        output.display()
    );
}
