//! Benchmarks of the query pipeline, stage by stage and end to end.
//!
//! `cargo bench --bench pipeline` (add `-- --sample-count 10` for a quick run).
//! Shared state (a demo index, a 10k-vector HNSW index) is built once, in
//! temporary directories removed when the run ends.

use image::RgbImage;
use provenance::describe::describer::Describer;
use provenance::describe::embed::{ColourLayoutEmbedder, Embedder};
use provenance::engine::{Engine, SearchOptions};
use provenance::imaging::decode;
use provenance::imaging::limits::DecodeLimits;
use provenance::index::vectors::{self, VectorIndex};
use provenance::jobs::import::{NoProgress, import_file};
use provenance::{
    describe::hash, describe::orb, describe::quad, index::localfeatures, search::matching,
    search::pixels,
};
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex};

fn main() {
    divan::main();
    // Statics are never dropped: remove their directories by hand.
    for dir in TEMP_DIRS.lock().unwrap().drain(..) {
        let _ = std::fs::remove_dir_all(dir);
    }
}

static TEMP_DIRS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn temp_dir() -> PathBuf {
    let dir = tempfile::tempdir().expect("temp dir").keep();
    TEMP_DIRS.lock().unwrap().push(dir.clone());
    dir
}

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(rel)
}

/// A 720 px reference JPEG (q90).
const JPEG: &str = "demo/refs/demo-001.jpg";
/// A query photo (rotated 90°, JPEG q85).
const QUERY: &str = "demo/queries/demo-005_rot90.jpg";

fn decoded(rel: &str) -> RgbImage {
    decode::decode_path(&fixture(rel), &DecodeLimits::default()).expect("fixture decodes")
}

/// The 512 px working copy every descriptor starts from.
static WORK: LazyLock<RgbImage> = LazyLock::new(|| decode::fit_within(decoded(JPEG), 512));
/// The 128 px copy the embedding is computed from.
static SMALL: LazyLock<RgbImage> = LazyLock::new(|| decode::fit_within(decoded(JPEG), 128));

#[divan::bench]
fn decode_jpeg_720px() -> RgbImage {
    let path = fixture(JPEG);
    decode::decode_path(black_box(&path), &DecodeLimits::default()).unwrap()
}

#[divan::bench]
fn hash_image_512px() -> hash::ImageHashes {
    hash::hash_image(black_box(&WORK))
}

#[divan::bench]
fn hash_dihedral_512px() -> [hash::ImageHashes; 8] {
    hash::hash_dihedral(black_box(&WORK))
}

#[divan::bench]
fn embed_128px() -> Vec<f32> {
    ColourLayoutEmbedder.embed(black_box(&SMALL))
}

/// Every query descriptor (8 orientations) from a decoded 720 px photo.
#[divan::bench]
fn describe_query(bencher: divan::Bencher) {
    let describer = Describer::new(Arc::new(ColourLayoutEmbedder));
    let img = decoded(JPEG);
    bencher
        .with_inputs(|| img.clone())
        .bench_values(|img| describer.query(&img));
}

/// The grey copies local features come from, at each side's size: a
/// reference and a simulated phone photo of it.
static GREY_REF: LazyLock<image::GrayImage> = LazyLock::new(|| {
    image::DynamicImage::ImageRgb8(decode::fit_within(decoded("demo/refs/demo-013.jpg"), 640))
        .into_luma8()
});
static GREY_QUERY: LazyLock<image::GrayImage> = LazyLock::new(|| {
    image::DynamicImage::ImageRgb8(decode::fit_within(
        decoded("demo/queries/demo-013_photo_tilt.jpg"),
        720,
    ))
    .into_luma8()
});

#[divan::bench]
fn orb_reference_640px() -> orb::Features {
    orb::extract(black_box(&GREY_REF), &orb::REFERENCE)
}

#[divan::bench]
fn orb_query_720px() -> orb::Features {
    orb::extract(black_box(&GREY_QUERY), &orb::QUERY)
}

/// Finding a picture's outline (`quad`) in a photo of it at 320 px.
#[divan::bench]
fn quad_find_320px(bencher: divan::Bencher) {
    let grey = image::DynamicImage::ImageRgb8(decode::fit_within(
        decoded("demo/queries/demo-013_photo_tilt.jpg"),
        quad::SEARCH_SIDE,
    ))
    .into_luma8();
    bencher.bench(|| quad::find(black_box(&grey), 3));
}

/// Geometric verification of one candidate (the true one): ratio-tested
/// matching of 1,000 query features against 500, then RANSAC.
#[divan::bench]
fn verify_one_candidate(bencher: divan::Bencher) {
    let query = orb::extract(&GREY_QUERY, &orb::QUERY);
    let blob = localfeatures::encode(&orb::extract(&GREY_REF, &orb::REFERENCE));
    let reference = localfeatures::decode(&blob).unwrap();
    bencher.bench(|| matching::verify(black_box(&query), &reference));
}

/// Pixel agreement of one candidate (`pixels.rs`): the photo (here the
/// reference itself, whole) sampled inside the outline and compared with
/// the grid the store keeps.
#[divan::bench]
fn pixel_agreement_one_candidate(bencher: divan::Bencher) {
    let reference = decoded(JPEG);
    let grid = provenance::describe::grid::grid(&reference);
    let photo = image::DynamicImage::ImageRgb8(reference).into_luma8();
    let (w, h) = (photo.width() as f32, photo.height() as f32);
    let outline = [[0.0, 0.0], [w, 0.0], [w, h], [0.0, h]];
    bencher.bench(|| pixels::agreement(black_box(&photo), &outline, &grid).expect("agrees"));
}

/// The same for an image imported before grids were kept: its 720 px
/// JPEG decoded for the grid first.
#[divan::bench]
fn pixel_grid_from_file(bencher: divan::Bencher) {
    let path = fixture(JPEG);
    let limits = DecodeLimits::default();
    bencher.bench(|| {
        provenance::describe::describer::reference_grid_of_file(black_box(&path), &limits)
            .expect("decodes")
    });
}

/// The demo database (18 records, 20 images), imported once.
static DEMO: LazyLock<Engine> = LazyLock::new(|| {
    let engine = Engine::open(&temp_dir().join("index")).expect("index opens");
    for file in ["demo/records.jsonl", "demo/records.csv"] {
        let report = import_file(&engine, &fixture(file), &NoProgress).expect("demo imports");
        assert!(report.skipped.is_empty(), "{:?}", report.skipped);
    }
    engine
});

/// `Engine::search` on a decoded query photo: describe, candidates,
/// scoring, record lookups.
#[divan::bench]
fn engine_search(bencher: divan::Bencher) {
    let engine = &*DEMO;
    let img = decoded(QUERY);
    let opts = SearchOptions::default();
    bencher
        .with_inputs(|| img.clone())
        .bench_values(|img| engine.search(img, &opts).unwrap());
}

/// `Engine::search_path`: the same, decoding included.
#[divan::bench]
fn engine_search_path(bencher: divan::Bencher) {
    let engine = &*DEMO;
    let path = fixture(QUERY);
    let opts = SearchOptions::default();
    bencher.bench(|| engine.search_path(black_box(&path), &opts).unwrap());
}

const VEC_N: usize = 10_000;
const VEC_DIM: usize = 64;

/// xorshift64* → L2-normalised vectors around 100 gaussian-ish centres.
fn clustered(seed: u64, n: usize) -> Vec<f32> {
    let mut s = seed;
    let mut next = move || {
        s ^= s >> 12;
        s ^= s << 25;
        s ^= s >> 27;
        let u = (s.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 40) as f32 / (1u64 << 24) as f32;
        u - 0.5
    };
    let centres: Vec<f32> = (0..100 * VEC_DIM).map(|_| next()).collect();
    let mut out = Vec::with_capacity(n * VEC_DIM);
    for i in 0..n {
        let c = &centres[(i % 100) * VEC_DIM..(i % 100 + 1) * VEC_DIM];
        let mut v: Vec<f32> = c.iter().map(|x| x + 0.2 * next()).collect();
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter_mut().for_each(|x| *x /= norm);
        out.extend(v);
    }
    out
}

static VECTORS: LazyLock<(VectorIndex, Vec<f32>)> = LazyLock::new(|| {
    let dir = temp_dir().join("hnsw");
    vectors::write(&dir, &clustered(1, VEC_N), VEC_DIM).expect("index writes");
    let index = VectorIndex::open(&dir, VEC_N, VEC_DIM).expect("index opens");
    (index, clustered(2, 256))
});

/// k = 10 nearest of 10,000 vectors (dim 64) after a reload, at several ef.
#[divan::bench(args = [64, 128])]
fn vector_search_10k(bencher: divan::Bencher, ef: usize) {
    let (index, queries) = &*VECTORS;
    let mut i = 0;
    bencher.bench_local(|| {
        i = (i + 1) % 256;
        index.search(&queries[i * VEC_DIM..(i + 1) * VEC_DIM], 10, ef)
    });
}

/// Writing a 10,000-vector index (dim 64): the HNSW graph's build, the
/// import's share of the vector index.
#[divan::bench(sample_count = 3)]
fn vector_index_write_10k(bencher: divan::Bencher) {
    let vectors = clustered(1, VEC_N);
    let dir = temp_dir();
    bencher
        .bench_local(|| vectors::write(&dir.join("w"), &vectors, VEC_DIM).expect("index writes"));
}
