//! Federated search: a server asks its peers (other agencies' servers)
//! with every search and merges their matches by score, each marked with
//! its peer; a peer that is down, slow or refuses the key is listed with
//! its error and never fails the search.

use super::http::Server;
use super::util::{Index, demo_part, query};
use serde_json::{Value, json};

/// A port that accepts connections and never answers.
fn silent() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming() {
            held.push(s);
        }
    });
    url
}

/// A port nobody listens on.
fn closed() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("http://{}", listener.local_addr().unwrap())
}

/// A server with no records of its own that asks `peers` (PEERS.json).
fn front_with_no_records(peers: Value) -> (Index, Server) {
    let local = Index::new();
    let empty = local.scratch("none.jsonl");
    std::fs::write(&empty, "").unwrap();
    local.import(&[&empty]).ok();
    let file = local.scratch("peers.json");
    std::fs::write(&file, peers.to_string()).unwrap();
    let srv = Server::start(&local, &["--peers", file.to_str().unwrap()]);
    (local, srv)
}

#[test]
fn a_search_asks_every_peer_merges_by_score_and_survives_the_ones_that_fail() {
    let national = demo_part(true);
    let peer = Server::start(&national, &[]);
    let local = demo_part(false);
    let peers = local.scratch("peers.json");
    let key_file = local.scratch("national.key");
    std::fs::write(&key_file, format!("{}\n", peer.keys.officer)).unwrap();
    std::fs::write(
        &peers,
        json!([
            {"name": "national-it", "url": peer.base, "key_file": key_file},
            {"name": "wrong-key", "url": peer.base, "key": "prov_0000"},
            {"name": "down", "url": closed(), "key": "prov_x"},
            {"name": "slow", "url": silent(), "key": "prov_x"},
            {"name": "down-asked-by-descriptors", "url": closed(), "key": "prov_x",
             "send": "descriptors"},
        ])
        .to_string(),
    )
    .unwrap();
    let srv = Server::start(
        &local,
        &["--peers", peers.to_str().unwrap(), "--peer-timeout", "2"],
    );
    let started = std::time::Instant::now();
    let r = srv.search(&query("demo-013_photo_tilt.jpg"));
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(
        started.elapsed().as_secs() < 15,
        "the slow peer is not waited for"
    );
    let v = r.json();
    assert_eq!(v["matches"][0]["id"], "demo-013", "{v}");
    assert_eq!(v["matches"][0]["peer"], "national-it", "{v}");
    assert_eq!(v["verdict"], "match", "{v}");
    assert!(v["matches"][0].get("image_url").is_none(), "{v}");
    let states: Vec<&Value> = v["peers"].as_array().unwrap().iter().collect();
    let state = |name: &str| *states.iter().find(|s| s["name"] == name).unwrap();
    assert_eq!(state("national-it")["ok"], true, "{v}");
    assert_eq!(state("national-it")["records"], 1, "{v}");
    for name in ["wrong-key", "down", "slow", "down-asked-by-descriptors"] {
        assert_eq!(state(name)["ok"], false, "{name}: {v}");
        assert!(state(name)["error"].is_string(), "{name}: {v}");
    }
    assert!(
        state("wrong-key")["error"]
            .as_str()
            .unwrap()
            .contains("401"),
        "{v}"
    );
    // Local matches have no peer.
    assert!(
        v["matches"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m.get("peer").is_none()),
        "{v}"
    );

    // Text too.
    let t = srv
        .get("/v1/search/text?q=autumn+tondo", Some(&srv.keys.officer))
        .json();
    assert_eq!(t["matches"][0]["id"], "demo-013", "{t}");
    assert_eq!(t["matches"][0]["peer"], "national-it", "{t}");

    // The audit log says which peers were asked and what came back.
    let log = srv
        .get("/v1/audit?action=search&limit=1", Some(&srv.keys.expert))
        .json();
    let e = &log["entries"][0];
    assert_eq!(e["request"]["peers"].as_array().unwrap().len(), 5, "{log}");
    assert_eq!(
        e["request"]["sent_descriptors"],
        json!(["down-asked-by-descriptors"]),
        "the audit says which peers got no photo: {log}"
    );
    assert_eq!(e["ids"][0], "national-it:demo-013", "{log}");
    // The peer logged it under the key it was asked with, and did not
    // send it on.
    let theirs = peer
        .get("/v1/audit?action=search&limit=1", Some(&peer.keys.expert))
        .json();
    assert_eq!(theirs["entries"][0]["key"], "officer-1", "{theirs}");
}

#[test]
fn a_bad_peers_file_stops_the_server_with_a_reason() {
    let ix = demo_part(false);
    let peers = ix.scratch("peers.json");
    std::fs::write(&peers, r#"[{"name": "x", "url": "ftp://nowhere"}]"#).unwrap();
    let keys = ix.path().join("keys.json");
    super::http::add_key(&keys, "officer", "o", 0);
    let out = super::util::run(&[
        "serve",
        "--index",
        ix.path().join("ix").to_str().unwrap(),
        "--keys",
        keys.to_str().unwrap(),
        "--peers",
        peers.to_str().unwrap(),
    ])
    .expect_code(2);
    assert!(out.stderr.contains("http://"), "{}", out.stderr);
}

#[test]
fn a_server_with_no_records_of_its_own_answers_with_its_peers_matches() {
    let national = Index::demo();
    let peer = Server::start(&national, &[]);
    let (_local, srv) = front_with_no_records(
        json!([{"name": "national", "url": peer.base, "key": peer.keys.officer}]),
    );
    let v = srv.search(&query("demo-013_photo_tilt.jpg")).json();
    let matches = v["matches"].as_array().unwrap();
    assert_eq!(v["database"]["records"], 0, "{v}");
    assert_eq!(matches[0]["id"], "demo-013", "{v}");
    assert!(matches.len() > 1, "up to `top`, not up to ours: {v}");
    assert!(matches.iter().all(|m| m["peer"] == "national"), "{v}");
}

/// A peer asked with the photo's descriptors (`"send": "descriptors"`)
/// never receives the photo, and its records get the verdicts and scores
/// they get when it is sent the photo: the asker compares the pixels.
#[test]
fn a_peer_asked_with_descriptors_never_sees_the_photo_and_scores_as_if_it_had() {
    let national = Index::demo();
    let peer = Server::start(&national, &[]);
    let (_local, srv) = front_with_no_records(json!([
        {"name": "by-photo", "url": peer.base, "key": peer.keys.officer},
        {"name": "by-descriptors", "url": peer.base, "key": peer.keys.officer,
         "send": "descriptors"},
    ]));
    for photo in [
        "demo-013_photo_tilt.jpg",
        "demo-003_crop_resize.jpg",
        "demo-005_rot90.jpg",
        "demo-002_border_watermark.jpg",
        "neg_guitar.jpg",
    ] {
        let v = srv.search(&query(photo)).json();
        let states = v["peers"].as_array().unwrap();
        assert_eq!(states.len(), 2, "{v}");
        assert_eq!(states[0]["name"], "by-photo", "in PEERS.json's order: {v}");
        assert_eq!(states[1]["name"], "by-descriptors", "{v}");
        assert_eq!(states[1]["ok"], true, "{v}");
        assert_eq!(states[1]["sent"], "descriptors", "{v}");
        let from = |peer: &str| -> Vec<Value> {
            v["matches"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|m| m["peer"] == peer)
                .cloned()
                .collect()
        };
        let (a, b) = (from("by-photo"), from("by-descriptors"));
        assert!(!b.is_empty(), "{photo}: {v}");
        // The best record of each: the same record, score, verdict and
        // pixel agreement (the photo was judged on the asker's side).
        for key in ["id", "score", "verdict"] {
            assert_eq!(a[0][key], b[0][key], "{photo}: {key}: {v}");
        }
        for key in ["inliers", "pixel_agreement", "region"] {
            assert_eq!(
                a[0]["evidence"][key], b[0]["evidence"][key],
                "{photo}: {key}: {v}"
            );
        }
        if photo.starts_with("demo-") {
            assert_eq!(b[0]["verdict"], "match", "{photo}: {v}");
            assert!(
                b[0]["evidence"]["pixel_agreement"].is_number(),
                "{photo}: {v}"
            );
        } else {
            assert_ne!(b[0]["verdict"], "match", "{photo}: {v}");
        }
    }
    // The peer logged the descriptor search with no photo: no bytes, no
    // hash, nothing kept.
    let theirs = peer
        .get(
            "/v1/audit?action=search_descriptors&limit=1",
            Some(&peer.keys.expert),
        )
        .json();
    let e = &theirs["entries"][0];
    assert_eq!(e["key"], "officer-1", "{theirs}");
    assert_eq!(e["status"], 200, "{theirs}");
    for field in ["photo_sha256", "photo_bytes", "photo_saved"] {
        assert!(e.get(field).is_none(), "{field}: {theirs}");
    }
    assert!(
        e["request"]["descriptors_bytes"].as_u64().unwrap() > 1000,
        "{theirs}"
    );

    // Descriptors that are not ours, or not descriptors, are refused
    // with where they are wrong; the server stays up.
    let bad = peer.send_raw(
        "POST",
        "/v1/search/descriptors",
        Some(&peer.keys.officer),
        "application/json",
        br#"{"format": 1}"#,
    );
    assert_eq!(bad.status, 400, "{}", bad.text());
    assert!(bad.text().contains("descriptors"), "{}", bad.text());
    let other = peer.send_raw(
        "POST",
        "/v1/search/descriptors",
        Some(&peer.keys.officer),
        "application/json",
        json!({"format": 1, "embedder": "onnx:other", "calibration": "x", "width": 10,
            "height": 10, "hashes": [], "embeddings": [],
            "features": {"width": 1, "height": 1, "points": [], "levels": "", "descriptors": ""},
            "regions": [], "tilts": []})
        .to_string()
        .as_bytes(),
    );
    assert_eq!(other.status, 400, "{}", other.text());
    assert!(other.text().contains("send the photo"), "{}", other.text());
    let refused = peer.send_raw(
        "POST",
        "/v1/search/descriptors",
        None,
        "application/json",
        b"{}",
    );
    assert_eq!(refused.status, 401, "{}", refused.text());
    assert_eq!(peer.get("/healthz", None).status, 200);
}

/// Descriptors at the edges of what a peer accepts (keypoints on the
/// corners of their copy, the largest angles and levels, empty feature
/// sets, a one-pixel copy, the largest photo, zero vectors) are searched
/// without harm: the index reads only what the checks let through.
#[test]
fn extreme_descriptors_that_pass_are_searched_without_harm() {
    use base64::Engine as _;
    use provenance::describe::wire::{WireFeatures, WireQuery};
    use provenance::engine::{Engine, SearchOptions};
    use provenance::imaging::decode::decode_path;
    use provenance::imaging::limits::DecodeLimits;
    use provenance::search::scoring::CALIBRATION;
    let b64 = base64::engine::general_purpose::STANDARD;
    let ix = Index::demo();
    let engine = Engine::open(&ix.path().join("ix")).unwrap();
    let photo = decode_path(&query("demo-013_photo_tilt.jpg"), &DecodeLimits::default()).unwrap();
    let describer = engine.describer();
    let real = WireQuery::encode(&describer.query(&photo), describer.embedder(), CALIBRATION);
    let cornered = |f: &mut WireFeatures| {
        let (w, h) = (f.width as f32, f.height as f32);
        for (i, p) in f.points.chunks_exact_mut(3).enumerate() {
            p[0] = if i % 2 == 0 { 0.0 } else { w };
            p[1] = if i % 3 == 0 { 0.0 } else { h };
            p[2] = if i % 2 == 0 { 12.5 } else { -12.5 };
        }
        f.levels = b64.encode(vec![7u8; f.points.len() / 3]);
    };
    let mut cases: Vec<(&str, WireQuery)> = Vec::new();
    let mut w = real.clone();
    cornered(&mut w.features);
    for t in &mut w.tilts {
        cornered(&mut t.features);
    }
    for r in w.regions.iter_mut().filter_map(|r| r.features.as_mut()) {
        cornered(&mut r.features);
    }
    cases.push(("keypoints on the corners", w));
    let mut w = real.clone();
    let none = WireFeatures {
        width: 1,
        height: 1,
        points: Vec::new(),
        levels: String::new(),
        descriptors: String::new(),
    };
    w.features = none.clone();
    for t in &mut w.tilts {
        t.features = none.clone();
    }
    cases.push(("no features", w));
    let mut w = real.clone();
    w.features.width = 1;
    w.features.height = 1;
    for p in w.features.points.chunks_exact_mut(3) {
        p[0] = p[0].min(1.0);
        p[1] = p[1].min(1.0);
    }
    cases.push(("a one-pixel copy", w));
    let mut w = real.clone();
    w.width = 1 << 16;
    w.height = 1 << 16;
    cases.push(("the largest photo", w));
    let mut w = real.clone();
    for v in w.embeddings.iter_mut().flatten() {
        *v = 0.0;
    }
    w.regions.clear();
    w.tilts.clear();
    cases.push(("zero vectors, no regions, no tilts", w));
    for (name, w) in cases {
        let q = w
            .decode(describer.embedder(), CALIBRATION)
            .unwrap_or_else(|e| panic!("{name}: refused: {e}"));
        engine
            .search_descriptors(&q, &SearchOptions::default())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}
