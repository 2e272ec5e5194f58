//! Replicas: several `serve` processes on one index folder that a single
//! writer updates (a shared volume). Each switches to what the writer
//! commits, says in `/readyz` which generation it serves, and two replicas
//! on the same generation answer byte for byte alike.

use super::http::{Server, add_key};
use super::util::{Index, query};
use serde_json::Value;

fn generation(srv: &Server) -> Value {
    srv.get("/readyz", None).json()["database"]["generation"].clone()
}

#[test]
fn two_replicas_on_one_index_answer_alike_and_follow_the_writer() {
    let ix = Index::demo();
    let one = Server::start(&ix, &[]);
    let two = Server::start_with(&ix, &ix.path().join("ix"), one.keys(), &[]);
    let photo = query("demo-013_photo_tilt.jpg");
    let (a, b) = (one.search(&photo), two.search(&photo));
    assert_eq!(a.status, 200, "{}", a.text());
    assert_eq!(a.body, b.body, "same generation, same bytes");
    assert_eq!(generation(&one), generation(&two));
    let before = generation(&one);

    // The single writer: a CLI import beside both replicas.
    let guitar = import_guitar(&ix);
    for srv in [&one, &two] {
        assert!(
            srv.wait_for(10, || generation(srv) != before),
            "a replica switches to the committed generation"
        );
    }
    assert_eq!(generation(&one), generation(&two));
    let (a, b) = (one.search(&guitar), two.search(&guitar));
    assert_eq!(a.json()["matches"][0]["id"], "guitar-1", "{}", a.text());
    assert_eq!(a.body, b.body, "same generation, same bytes");
}

/// `serve --follow` on a folder of snapshots, with the usual three keys.
fn follower(ix: &Index, root: &std::path::Path) -> Server {
    let keys_file = ix.path().join("keys.json");
    let keys = super::http::Keys {
        officer: add_key(&keys_file, "officer", "officer-1", 0),
        expert: add_key(&keys_file, "expert", "expert-1", 0),
        curator: add_key(&keys_file, "curator", "curator-1", 0),
    };
    Server::start_with(ix, root, keys, &["--follow"])
}

fn snapshot_named(srv: &Server) -> Value {
    srv.get("/readyz", None).json()["snapshot"].clone()
}

/// Copies a folder, files only (a snapshot's layout is two levels deep).
fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

#[test]
fn a_replica_follows_published_snapshots_and_never_serves_a_half_copied_one() {
    let ix = Index::demo();
    let root = ix.scratch("snapshots");
    let published = ix
        .cmd("snapshot", &["--into".as_ref(), root.as_os_str()])
        .ok();
    assert!(
        published.stderr.contains("now names snap-"),
        "{}",
        published.stderr
    );
    let replica = follower(&ix, &root);
    let first = snapshot_named(&replica);
    assert!(first.as_str().unwrap().starts_with("snap-"), "{first}");
    let v = replica.search(&query("demo-013_photo_tilt.jpg")).json();
    assert_eq!(v["matches"][0]["id"], "demo-013", "{v}");
    // Writes go to the primary.
    let r = replica.send(
        "PUT",
        "/v1/records/demo-001",
        Some(&replica.keys.curator),
        super::http::Form::new().text("record", r#"{"status": "recovered"}"#),
    );
    assert_eq!(r.status, 503, "{}", r.text());
    assert_eq!(r.error_code(), "read_only_replica");
    // A search asking to keep its photo is answered, and says it was not kept.
    let photo = std::fs::read(query("demo-013_photo_tilt.jpg")).unwrap();
    let r = replica.send(
        "POST",
        "/v1/search",
        Some(&replica.keys.officer),
        super::http::Form::new()
            .file("photo", "p.jpg", &photo)
            .text("keep", "true"),
    );
    let v = r.json();
    assert_eq!(v["matches"][0]["id"], "demo-013", "{v}");
    assert!(v["sighting"].is_null(), "{v}");
    assert!(
        v["sighting_error"].as_str().unwrap().contains("primary"),
        "{v}"
    );

    // The primary gains a record and publishes; the replica follows.
    let guitar = import_guitar(&ix);
    ix.cmd("snapshot", &["--into".as_ref(), root.as_os_str()])
        .ok();
    let second = std::fs::read_to_string(root.join("CURRENT"))
        .unwrap()
        .trim()
        .to_string();
    assert_ne!(Value::from(second.clone()), first);
    // A command pointed at the folder of snapshots by mistake says so and
    // leaves it as it is (it once made an empty index there).
    let looked = super::util::run(&["info".as_ref(), "--index".as_ref(), root.as_os_str()]);
    assert_eq!(looked.code, 2, "{}", looked.stderr);
    assert!(
        looked.stderr.contains("folder of snapshots"),
        "{}",
        looked.stderr
    );
    let still = std::fs::read_to_string(root.join("CURRENT")).unwrap();
    assert_eq!(still.trim(), second);
    assert!(replica.wait_for(15, || snapshot_named(&replica) == second.as_str()));
    let v = replica.search(&guitar).json();
    assert_eq!(v["matches"][0]["id"], "guitar-1", "{v}");

    // CURRENT names a snapshot whose copy is not complete: the replica
    // goes on serving the last whole one, and says why in its log.
    let half = root.join("snap-half");
    copy_dir(&root.join(&second), &half);
    let generation = std::fs::read_to_string(half.join("CURRENT")).unwrap();
    std::fs::remove_file(half.join(generation.trim()).join("vectors.bin")).unwrap();
    std::fs::write(root.join("CURRENT"), "snap-half\n").unwrap();
    assert!(replica.wait_for(10, || {
        replica.log().contains("not switching to snap-half yet")
    }));
    assert_eq!(snapshot_named(&replica), second.as_str());
    let v = replica.search(&guitar).json();
    assert_eq!(v["matches"][0]["id"], "guitar-1", "{v}");
}

#[test]
fn a_replica_switches_snapshots_under_load_without_a_failed_request() {
    let ix = Index::demo();
    let root = ix.scratch("snapshots");
    ix.cmd("snapshot", &["--into".as_ref(), root.as_os_str()])
        .ok();
    let replica = follower(&ix, &root);
    let stop = std::sync::atomic::AtomicBool::new(false);
    let photo = query("demo-013_photo_tilt.jpg");
    let (answered, seen) = std::thread::scope(|s| {
        let searches: Vec<_> = (0..2)
            .map(|_| {
                s.spawn(|| {
                    let mut n = 0;
                    let mut snapshots = std::collections::BTreeSet::new();
                    while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                        let r = replica.search(&photo);
                        assert_eq!(r.status, 200, "{}", r.text());
                        assert_eq!(r.json()["matches"][0]["id"], "demo-013");
                        snapshots.insert(snapshot_named(&replica).to_string());
                        n += 1;
                    }
                    (n, snapshots)
                })
            })
            .collect();
        // Three snapshots published while the searches go on.
        for _ in 0..3 {
            std::thread::sleep(std::time::Duration::from_millis(1100));
            ix.cmd("snapshot", &["--into".as_ref(), root.as_os_str()])
                .ok();
            let named = std::fs::read_to_string(root.join("CURRENT")).unwrap();
            assert!(replica.wait_for(15, || snapshot_named(&replica) == named.trim()));
        }
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        searches.into_iter().map(|h| h.join().unwrap()).fold(
            (0, std::collections::BTreeSet::new()),
            |(n, mut all), (k, s)| {
                all.extend(s);
                (n + k, all)
            },
        )
    });
    assert!(answered >= 4, "{answered} searches");
    assert!(seen.len() >= 2, "searches saw the switch: {seen:?}");
}

/// Imports one more record (the guitar of a negative photo) with the CLI;
/// returns its photo.
fn import_guitar(ix: &Index) -> std::path::PathBuf {
    let guitar = query("neg_guitar.jpg");
    let records = ix.scratch("guitar.jsonl");
    std::fs::write(
        &records,
        serde_json::json!({"id": "guitar-1", "title": "Guitar", "images": [guitar]}).to_string(),
    )
    .unwrap();
    ix.import(&[&records]).ok();
    guitar
}

/// A replica started while CURRENT names a damaged snapshot serves the
/// newest older one that verifies, says so in its log, and switches once
/// CURRENT names one that verifies; it used to refuse to start.
#[test]
fn a_replica_started_on_a_damaged_snapshot_serves_the_newest_older_one() {
    let ix = Index::demo();
    let root = ix.scratch("snapshots");
    let publish = || {
        ix.cmd("snapshot", &["--into".as_ref(), root.as_os_str()])
            .ok();
        std::fs::read_to_string(root.join("CURRENT"))
            .unwrap()
            .trim()
            .to_string()
    };
    let first = publish();
    let guitar = import_guitar(&ix);
    let second = publish();
    assert!(first < second, "{first} {second}");
    // The second damaged in place: every file at its size, one byte changed.
    let generation = std::fs::read_to_string(root.join(&second).join("CURRENT")).unwrap();
    let vectors = root
        .join(&second)
        .join(generation.trim())
        .join("vectors.bin");
    let mut bytes = std::fs::read(&vectors).unwrap();
    bytes[100] ^= 0xff;
    std::fs::remove_file(&vectors).unwrap(); // a hard link to the primary's
    std::fs::write(&vectors, &bytes).unwrap();

    let replica = follower(&ix, &root);
    assert_eq!(snapshot_named(&replica), first.as_str());
    assert!(
        replica.log().contains(&format!("serving {first}")),
        "{}",
        replica.log()
    );
    let v = replica.search(&query("demo-013_photo_tilt.jpg")).json();
    assert_eq!(v["matches"][0]["id"], "demo-013", "{v}");

    let third = publish();
    assert!(replica.wait_for(15, || snapshot_named(&replica) == third.as_str()));
    let v = replica.search(&guitar).json();
    assert_eq!(v["matches"][0]["id"], "guitar-1", "{v}");
}
