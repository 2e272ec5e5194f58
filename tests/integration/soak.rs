//! Load and faults together: officers searching by photo and by text,
//! curators writing records (new photos and one shared photo) and deleting
//! some, a CLI import into the same index, and `serve` killed with SIGKILL
//! at random moments and restarted. After every restart and at the end:
//! every write answered 2xx is there with its content, no answer was a 5xx
//! but 503, and at the end `verify` is clean.
//!
//! `SOAK_SECONDS` sets the length (default 40, the CI version);
//! `scripts/soak.sh MINUTES` runs the long one.

use crate::http::{Form, Reply, Server};
use crate::util::{Index, fixture, query};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

/// What the acknowledged writes say a record must be.
#[derive(Debug, Clone, PartialEq)]
enum Want {
    /// Its title and the SHA-256 of its photo.
    Present(String, [u8; 32]),
    Absent,
}

#[derive(Default)]
struct Ledger {
    /// None: the last write to it got no answer (a kill), so either state.
    want: HashMap<String, Option<Want>>,
    /// Every id any write named: what a search may return besides the demo.
    ever: std::collections::HashSet<String>,
}

#[derive(Default)]
struct Counts {
    searches: AtomicU64,
    writes: AtomicU64,
    deletes: AtomicU64,
    imports: AtomicU64,
    kills: AtomicU64,
    unavailable: AtomicU64,
    no_answer: AtomicU64,
    checks: AtomicU64,
}

struct Soak {
    ix: Index,
    server: RwLock<Server>,
    ledger: Mutex<Ledger>,
    counts: Counts,
    /// Clients wait while set (the ledger is being checked).
    paused: AtomicBool,
    in_flight: AtomicUsize,
    stop: AtomicBool,
    failures: Mutex<Vec<String>>,
}

/// A small deterministic generator (xorshift), seeded per thread.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// A photo no other write has used: the shared one with a few pixels
/// changed by `n`, re-encoded.
fn new_photo(base: &image::RgbImage, n: u64) -> Vec<u8> {
    let mut img = base.clone();
    for i in 0..8u32 {
        img.put_pixel(i, 0, image::Rgb([(n >> (i * 8)) as u8, 0, 255]));
    }
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
        .encode_image(&img)
        .unwrap();
    out
}

impl Soak {
    fn fail(&self, what: String) {
        eprintln!("soak failure: {what}");
        self.failures.lock().unwrap().push(what);
    }

    /// One request through whichever server is up; counts the outcome.
    /// Err: no answer (the server was killed), so the outcome is unknown.
    fn request(
        &self,
        method: &str,
        path: &str,
        role: &str,
        form: Option<Form>,
    ) -> Result<Reply, ()> {
        let srv = self.server.read().unwrap();
        let key = match role {
            "officer" => srv.keys.officer.clone(),
            _ => srv.keys.curator.clone(),
        };
        match srv.try_request(method, path, Some(&key), form) {
            Ok(r) if r.status == 503 => {
                self.counts.unavailable.fetch_add(1, Ordering::Relaxed);
                Ok(r)
            }
            Ok(r) if r.status >= 500 => {
                self.fail(format!("{method} {path}: {} {}", r.status, r.text()));
                Ok(r)
            }
            Ok(r) => Ok(r),
            Err(_) => {
                self.counts.no_answer.fetch_add(1, Ordering::Relaxed);
                Err(())
            }
        }
    }

    /// Waits while a check runs; false once the soak is over.
    fn enter(&self) -> bool {
        loop {
            while self.paused.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(20));
            }
            self.in_flight.fetch_add(1, Ordering::SeqCst);
            if !self.paused.load(Ordering::SeqCst) {
                break;
            }
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
        }
        if self.stop.load(Ordering::SeqCst) {
            self.leave();
            return false;
        }
        true
    }

    fn leave(&self) {
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
    }

    fn searcher(&self, seed: u64) {
        let mut rng = Rng(seed);
        let photos = [
            "demo-013_photo_tilt.jpg",
            "demo-005_rot90.jpg",
            "neg_guitar.jpg",
        ];
        while self.enter() {
            let photo =
                (rng.below(4) != 0).then(|| photos[rng.below(photos.len() as u64) as usize]);
            let result = match photo {
                None => self.request("GET", "/v1/search/text?q=guitar", "officer", None),
                Some(name) => {
                    let bytes = std::fs::read(query(name)).unwrap();
                    let form = Form::new().file("photo", name, &bytes);
                    self.request("POST", "/v1/search", "officer", Some(form))
                }
            };
            if let Ok(r) = result
                && r.status == 200
            {
                self.counts.searches.fetch_add(1, Ordering::Relaxed);
                self.check_search(photo, &r);
            }
            self.leave();
        }
    }

    /// Every id a search returns is a demo record or one some write named;
    /// the demo photos, which no write touches, still find their record.
    fn check_search(&self, photo: Option<&str>, r: &Reply) {
        let v = r.json();
        let ledger = self.ledger.lock().unwrap();
        for m in v["matches"].as_array().into_iter().flatten() {
            let id = m["id"].as_str().unwrap_or("");
            if !id.starts_with("demo-") && !ledger.ever.contains(id) {
                self.fail(format!("a search returned {id}, which no write made: {v}"));
            }
        }
        if let Some(name) = photo
            && let Some(want) = name.split('_').next().filter(|n| n.starts_with("demo-"))
            && v["matches"][0]["id"] != want
        {
            self.fail(format!("{name} no longer finds {want} first: {v}"));
        }
    }

    fn curator(&self, t: u64, seed: u64, base: &image::RgbImage, shared: &[u8]) {
        let mut rng = Rng(seed ^ ((t + 1) * 0x9E37_79B9));
        let counter = AtomicU64::new(t << 32);
        while self.enter() {
            let id = format!("c{t}-{}", rng.below(10));
            let delete = rng.below(4) == 0;
            self.ledger.lock().unwrap().ever.insert(id.clone());
            let outcome = if delete {
                self.request("DELETE", &format!("/v1/records/{id}"), "curator", None)
                    .map(|r| (r, Want::Absent))
            } else {
                let photo = if rng.below(2) == 0 {
                    shared.to_vec()
                } else {
                    new_photo(base, counter.fetch_add(1, Ordering::Relaxed))
                };
                let title = format!("Soak {id} {}", rng.below(1_000_000));
                let sha: [u8; 32] = Sha256::digest(&photo).into();
                let form = Form::new()
                    .text(
                        "record",
                        &format!(r#"{{"title": "{title}", "object_type": "instrument"}}"#),
                    )
                    .file("image", "photo.jpg", &photo);
                self.request("PUT", &format!("/v1/records/{id}"), "curator", Some(form))
                    .map(|r| (r, Want::Present(title, sha)))
            };
            let mut ledger = self.ledger.lock().unwrap();
            match outcome {
                Ok((r, want)) if (200..300).contains(&r.status) => {
                    let counter = if delete {
                        &self.counts.deletes
                    } else {
                        &self.counts.writes
                    };
                    counter.fetch_add(1, Ordering::Relaxed);
                    ledger.want.insert(id, Some(want));
                }
                Ok((r, _)) if delete && r.status == 404 => {
                    ledger.want.insert(id, Some(Want::Absent));
                }
                Ok((r, _)) if r.status < 500 => {
                    self.fail(format!("{id}: refused with {}: {}", r.status, r.text()));
                }
                Ok(_) => {} // 503: not done; a 5xx is already a failure
                Err(()) => {
                    ledger.want.insert(id, None);
                }
            }
            drop(ledger);
            self.leave();
        }
    }

    /// A CLI import into the same index now and then, the server running.
    fn importer(&self) {
        let dir = self.ix.scratch("cli");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(query("neg_guitar.jpg"), dir.join("guitar.jpg")).unwrap();
        let mut n = 0;
        while self.enter() {
            let id = format!("cli-{n}");
            let title = format!("Imported {n}");
            let file = dir.join(format!("{id}.jsonl"));
            std::fs::write(
                &file,
                format!(r#"{{"id": "{id}", "title": "{title}", "object_type": "instrument", "images": ["guitar.jpg"]}}"#),
            )
            .unwrap();
            self.ledger.lock().unwrap().ever.insert(id.clone());
            let out = self.ix.import(&[&file]);
            if out.code == 0 {
                let sha: [u8; 32] =
                    Sha256::digest(std::fs::read(dir.join("guitar.jpg")).unwrap()).into();
                self.ledger
                    .lock()
                    .unwrap()
                    .want
                    .insert(id, Some(Want::Present(title, sha)));
                self.counts.imports.fetch_add(1, Ordering::Relaxed);
            } else {
                self.fail(format!("import {id} failed: {}", out.stderr));
            }
            self.leave();
            n += 1;
            std::thread::sleep(Duration::from_millis(1500));
        }
    }

    /// Every settled entry of the ledger against the server.
    fn check(&self) {
        self.counts.checks.fetch_add(1, Ordering::Relaxed);
        let want: Vec<(String, Want)> = {
            let l = self.ledger.lock().unwrap();
            l.want
                .iter()
                .filter_map(|(id, w)| w.clone().map(|w| (id.clone(), w)))
                .collect()
        };
        let srv = self.server.read().unwrap();
        let key = Some(srv.keys.curator.as_str());
        for (id, w) in want {
            let r = srv.get(&format!("/v1/records/{id}"), key);
            match w {
                Want::Absent if r.status != 404 => {
                    self.fail(format!(
                        "{id} was deleted (acknowledged) and is back: {}",
                        r.text()
                    ));
                }
                Want::Present(title, sha) => {
                    if r.status != 200 || r.json()["record"]["title"] != title.as_str() {
                        self.fail(format!(
                            "{id}: acknowledged as {title:?}, now {} {}",
                            r.status,
                            r.text()
                        ));
                        continue;
                    }
                    let img = srv.get(&format!("/v1/records/{id}/images/0"), key);
                    let got: [u8; 32] = Sha256::digest(&img.body).into();
                    if got != sha {
                        self.fail(format!("{id}: its photo is not the one acknowledged"));
                    }
                }
                Want::Absent => {}
            }
        }
    }

    /// Waits until no client is inside a request, with new ones held.
    fn drain(&self) {
        self.paused.store(true, Ordering::SeqCst);
        while self.in_flight.load(Ordering::SeqCst) > 0 {
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn restart(&self) {
        // Killed while requests are in flight; replaced once they failed.
        self.server.read().unwrap().signal("KILL");
        let mut srv = self.server.write().unwrap();
        srv.wait_exit(10).expect("a killed server exits");
        let keys = srv.keys();
        *srv = Server::start_with(&self.ix, &self.ix.path().join("ix"), keys, &[]);
        self.counts.kills.fetch_add(1, Ordering::Relaxed);
    }
}

#[test]
fn soak_kills_under_load_lose_no_acknowledged_write() {
    let seconds: u64 = std::env::var("SOAK_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(40);
    let seed = std::env::var("SOAK_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    eprintln!("soak: {seconds} s, SOAK_SEED={seed}");
    let ix = Index::demo();
    let server = RwLock::new(Server::start(&ix, &[]));
    let soak = Soak {
        ix,
        server,
        ledger: Mutex::default(),
        counts: Counts::default(),
        paused: AtomicBool::new(false),
        in_flight: AtomicUsize::new(0),
        stop: AtomicBool::new(false),
        failures: Mutex::default(),
    };
    let shared = std::fs::read(query("neg_guitar.jpg")).unwrap();
    let base = image::open(fixture("demo/queries/neg_guitar.jpg"))
        .unwrap()
        .to_rgb8();
    let start = Instant::now();
    std::thread::scope(|s| {
        for t in 0..2 {
            let soak = &soak;
            s.spawn(move || soak.searcher(seed ^ (t + 11)));
        }
        for t in 0..3 {
            let (soak, base, shared) = (&soak, &base, &shared);
            s.spawn(move || soak.curator(t, seed, base, shared));
        }
        s.spawn(|| soak.importer());
        let mut rng = Rng(seed);
        while start.elapsed() < Duration::from_secs(seconds) {
            std::thread::sleep(Duration::from_millis(800 + rng.below(2200)));
            soak.restart(); // at a random moment, requests in flight
            soak.drain();
            soak.check();
            soak.paused.store(false, Ordering::SeqCst);
        }
        soak.stop.store(true, Ordering::SeqCst);
    });
    soak.drain();
    soak.check();
    {
        let mut srv = soak.server.write().unwrap();
        srv.signal("TERM");
        let status = srv.wait_exit(30).expect("serve stops on SIGTERM");
        assert!(status.success(), "{status:?}");
    }
    soak.ix.cmd::<&str>("verify", &[]).ok();
    let c = &soak.counts;
    eprintln!(
        "soak: {} s, {} kills, {} searches, {} writes, {} deletes, {} CLI imports, {} answered 503, {} unanswered (killed), {} ledger checks",
        start.elapsed().as_secs(),
        c.kills.load(Ordering::Relaxed),
        c.searches.load(Ordering::Relaxed),
        c.writes.load(Ordering::Relaxed),
        c.deletes.load(Ordering::Relaxed),
        c.imports.load(Ordering::Relaxed),
        c.unavailable.load(Ordering::Relaxed),
        c.no_answer.load(Ordering::Relaxed),
        c.checks.load(Ordering::Relaxed),
    );
    let failures = soak.failures.lock().unwrap();
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(c.kills.load(Ordering::Relaxed) >= 3);
    assert!(c.writes.load(Ordering::Relaxed) > 0 && c.searches.load(Ordering::Relaxed) > 0);
}
