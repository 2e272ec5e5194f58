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
//!
//! With `--as-sent`, a photo the page sends as it is (no side over 1,600
//! px, a format the server reads, at most 4 MiB: `AS_IS_*` in `app.js`) is
//! copied unchanged: what the server gets from the page, to measure how
//! often the page and `batch` disagree on the same file.

use provenance::imaging::decode::{decode_path, fit_within};
use provenance::imaging::limits::DecodeLimits;
use rayon::prelude::*;
use std::path::Path;

/// The web page's `MAX_SIDE` and `toBlob` quality.
const MAX_SIDE: u32 = 1600;
const QUALITY: u8 = 90;

fn main() {
    let mut args: Vec<String> = std::env::args().collect();
    let as_sent = args.iter().any(|a| a == "--as-sent");
    args.retain(|a| a != "--as-sent");
    let (input, output) = match &args[..] {
        [_, i, o] => (Path::new(i), Path::new(o)),
        _ => {
            eprintln!("usage: reencode [--as-sent] IN_DIR OUT_DIR");
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
    let (failed, copied): (usize, usize) = files
        .par_iter()
        .map(|p| {
            let Ok(img) = decode_path(p, &limits) else {
                eprintln!("{}: cannot decode, skipped", p.display());
                return (1, 0);
            };
            if as_sent && sent_as_is(p, &img) {
                std::fs::copy(p, output.join(p.file_name().unwrap())).unwrap();
                return (0, 1);
            }
            // A browser's canvas scales with a smooth filter; Triangle is close.
            let img = fit_within(img, MAX_SIDE);
            let mut out = Vec::new();
            image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, QUALITY)
                .encode_image(&img)
                .unwrap();
            std::fs::write(output.join(p.file_name().unwrap()), out).unwrap();
            (0, 0)
        })
        .reduce(|| (0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    eprintln!(
        "{} photos written into {} ({copied} as they were), {failed} skipped",
        files.len() - failed,
        output.display()
    );
}

/// The page's `AS_IS_TYPES` (by extension here) and `AS_IS_MAX_BYTES`.
fn sent_as_is(p: &Path, img: &image::RgbImage) -> bool {
    let ext = p.extension().and_then(|e| e.to_str()).unwrap_or("");
    let types = ["jpg", "jpeg", "png", "webp", "gif", "bmp"];
    img.width().max(img.height()) <= MAX_SIDE
        && types.contains(&ext.to_ascii_lowercase().as_str())
        && std::fs::metadata(p).is_ok_and(|m| m.len() <= 4 << 20)
}
