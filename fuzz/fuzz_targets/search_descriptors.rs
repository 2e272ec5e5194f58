//! What a peer (or anyone with a key) can send to
//! `POST /v1/search/descriptors`: the query is checked on receipt, never
//! panicking, and what passes holds what an index may read (coordinates
//! inside the feature copy, levels of the pyramid, unit vectors). Searching
//! with it takes a second unoptimised, too long for a fuzzer: the
//! integration test `federation::extreme_descriptors…` searches with the
//! extremes that pass. The input is either
//! a JSON body as sent, or (most of the time) edits of one number each to
//! a real query of a demo photo: byte mutations of JSON rarely stay JSON,
//! while the numbers are where a hostile query would try its luck.
#![no_main]

use libfuzzer_sys::fuzz_target;
use provenance::describe::describer::Describer;
use provenance::describe::embed::ColourLayoutEmbedder;
use provenance::describe::wire::WireQuery;
use provenance::imaging::decode::decode_path;
use provenance::imaging::limits::DecodeLimits;
use provenance::search::scoring::CALIBRATION;
use std::path::Path;
use std::sync::{Arc, OnceLock};

struct Setup {
    describer: Describer,
    query: WireQuery,
}

/// A query of one of the demo photos, once per fuzzing process.
fn setup() -> &'static Setup {
    static SETUP: OnceLock<Setup> = OnceLock::new();
    SETUP.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let describer = Describer::new(Arc::new(ColourLayoutEmbedder));
        let photo = decode_path(
            &root.join("fixtures/demo/queries/demo-013_photo_tilt.jpg"),
            &DecodeLimits::default(),
        )
        .unwrap();
        let query = WireQuery::encode(&describer.query(&photo), describer.embedder(), CALIBRATION);
        Setup { describer, query }
    })
}

fuzz_target!(
    // Described before the first input, whose time limit it would exceed.
    init: {
        setup();
    },
    |data: &[u8]| {
    let s = setup();
    let wire = if data.first() == Some(&b'{') {
        match serde_json::from_slice::<WireQuery>(data) {
            Ok(w) => w,
            Err(_) => return,
        }
    } else {
        let mut w = s.query.clone();
        for edit in data.chunks_exact(9) {
            let f = f32::from_le_bytes(edit[1..5].try_into().unwrap());
            let n = u32::from_le_bytes(edit[5..9].try_into().unwrap());
            let at = |len: usize| n as usize % len.max(1);
            match edit[0] % 8 {
                0 if !w.features.points.is_empty() => {
                    let k = at(w.features.points.len());
                    w.features.points[k] = f;
                }
                1 => w.width = n,
                2 => w.height = n,
                3 => w.features.width = n,
                4 if !w.regions.is_empty() => {
                    let k = at(w.regions.len());
                    w.regions[k].outline[at(4)][(n >> 8) as usize % 2] = f;
                }
                5 if !w.tilts.is_empty() => {
                    let k = at(w.tilts.len());
                    w.tilts[k].to_photo[(n >> 8) as usize % 9] = f as f64;
                }
                6 if !w.embeddings.is_empty() => {
                    let k = at(w.embeddings.len());
                    let v = &mut w.embeddings[k];
                    let i = (n >> 8) as usize % v.len().max(1);
                    if let Some(x) = v.get_mut(i) {
                        *x = f;
                    }
                }
                7 => {
                    let keep = at(w.features.points.len() + 1);
                    w.features.points.truncate(keep);
                }
                _ => {}
            }
        }
        w
    };
    if let Ok(query) = wire.decode(s.describer.embedder(), CALIBRATION) {
        for f in std::iter::once(&query.features)
            .chain(query.regions.iter().filter_map(|r| r.features.as_ref()).map(|r| &r.features))
            .chain(query.tilts.iter().flatten().map(|t| &t.features))
        {
            assert_eq!(f.keypoints.len(), f.descriptors.len());
            for k in &f.keypoints {
                assert!(k.x >= 0.0 && k.x <= f.width as f32 && k.y >= 0.0 && k.y <= f.height as f32);
                assert!(k.angle.is_finite() && (k.level as usize) < 8);
            }
        }
        assert!(query.embeddings.iter().flatten().all(|v| v.abs() <= 1.001));
    }
});
