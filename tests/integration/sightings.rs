//! Sightings and retro-alerts: a photo searched before its object was
//! reported stolen is kept (`batch --keep`, the API's `keep`), and the
//! record imported later raises an alert, once, with the sighting's
//! context; an unrelated record raises none.

use super::http::{Form, Keys, Server};
use super::util::{Index, demo_records, fixture, query};
use serde_json::Value;
use std::path::PathBuf;

/// The demo database without demo-013 (the painting the tilted photo
/// shows), and demo-013's record on its own, with absolute image paths.
fn without_013(ix: &Index) -> (PathBuf, PathBuf) {
    (demo_records(ix, false), demo_records(ix, true))
}

/// An unrelated record reported later: the lantern no photo shows.
fn unrelated(ix: &Index) -> PathBuf {
    let path = ix.scratch("lantern.jsonl");
    let rec = serde_json::json!({"id": "lantern-1", "object_type": "lamp",
        "title": "Brass lantern", "images": [query("neg_lantern.jpg")]});
    std::fs::write(&path, rec.to_string()).unwrap();
    path
}

fn alerts(ix: &Index) -> Vec<Value> {
    ix.cmd("alerts", &["--json"])
        .ok()
        .json()
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn a_kept_photo_alerts_once_when_its_record_is_imported_later_and_never_for_an_unrelated_one() {
    let ix = Index::new();
    let (first, later) = without_013(&ix);
    ix.import(&[&first]).ok();
    // A seizure searched today: the tilted painting is in no record yet.
    let lot = ix.scratch("lot");
    std::fs::create_dir_all(&lot).unwrap();
    for name in ["demo-013_photo_tilt.jpg", "neg_guitar.jpg"] {
        std::fs::copy(query(name), lot.join(name)).unwrap();
    }
    let listings = ix.scratch("listings.jsonl");
    std::fs::write(
        &listings,
        r#"{"image": "demo-013_photo_tilt.jpg", "url": "https://market.example/item/9", "title": "old round painting", "seller": "antik_77", "seen": "2026-03-02"}"#,
    )
    .unwrap();
    let out = ix.scratch("out.jsonl");
    let run = ix
        .cmd(
            "batch",
            &[
                lot.as_os_str(),
                "--out".as_ref(),
                out.as_os_str(),
                "--keep".as_ref(),
                "--case".as_ref(),
                "C-7".as_ref(),
                "--listings".as_ref(),
                listings.as_os_str(),
            ],
        )
        .ok();
    assert!(run.stderr.contains("2 photos kept"), "{}", run.stderr);
    let lines: Vec<Value> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(lines.iter().all(|l| l["sighting"].is_string()), "{lines:?}");
    let kept = ix.cmd("sightings", &["--json"]).ok().stdout;
    let kept: Vec<Value> = kept
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(kept.len(), 2, "{kept:?}");
    let tilt = kept
        .iter()
        .find(|s| s["query"] == "demo-013_photo_tilt.jpg")
        .unwrap();
    assert_eq!(tilt["case"], "C-7", "{tilt}");
    assert_eq!(tilt["seller"], "antik_77", "{tilt}");
    // A sighting is never a record of the database.
    let found = ix.text("antik_77 old round painting", &[]);
    assert!(
        super::util::ids(&found)
            .iter()
            .all(|id| !id.starts_with("S-")),
        "{found}"
    );

    // An unrelated record: no alert.
    let imported = ix.import(&[unrelated(&ix)]).ok();
    assert!(!imported.stderr.contains("ALERT"), "{}", imported.stderr);
    assert!(alerts(&ix).is_empty());

    // The painting is reported stolen in May: the March photo shows it.
    let imported = ix.import(&[&later]).ok();
    assert!(
        imported.stderr.contains("ALERT: record demo-013"),
        "{}",
        imported.stderr
    );
    let all = alerts(&ix);
    assert_eq!(all.len(), 1, "{all:?}");
    let a = &all[0];
    assert_eq!(a["record"], "demo-013", "{a}");
    assert_eq!(a["verdict"], "match", "{a}");
    assert_eq!(a["checked"], "photo", "{a}");
    assert_eq!(a["sighting"]["id"], tilt["id"], "{a}");
    assert_eq!(a["sighting"]["url"], "https://market.example/item/9", "{a}");
    assert!(a["evidence"]["inliers"].as_u64().unwrap() > 20, "{a}");

    // Imported again (new images for the same record): the pair is not
    // alerted twice.
    ix.import(&[&later]).ok();
    assert_eq!(alerts(&ix).len(), 1);
    let matches = ix.cmd("alerts", &["--json", "--verdict", "match"]).ok();
    assert_eq!(matches.json().as_array().unwrap().len(), 1);
    let possible = ix.cmd("alerts", &["--json", "--verdict", "possible"]).ok();
    assert_eq!(possible.json().as_array().unwrap().len(), 0);
    ix.cmd("alerts", &["--verdict", "maybe"]).expect_code(2);
    let none = ix.cmd("alerts", &["--json", "--since", "2999-01-01"]).ok();
    assert_eq!(none.json().as_array().unwrap().len(), 0);
    ix.cmd("alerts", &["--since", "May"]).expect_code(2);

    // A crash after the import committed and before its check wrote the
    // alerts (simulated: the watermark and the alert rolled back) is
    // caught up by the next writer, and still raises the alert once.
    {
        let db = rusqlite::Connection::open(ix.path().join("ix/records.sqlite")).unwrap();
        db.execute_batch(
            "DELETE FROM alerts; UPDATE meta SET value = 0 WHERE key = 'alerts_slot';",
        )
        .unwrap();
    }
    assert_eq!(alerts(&ix).len(), 1, "the check is finished by `alerts`");
    assert_eq!(alerts(&ix).len(), 1);

    // A snapshot carries the sightings and their alerts.
    let copy = ix.scratch("copy");
    ix.cmd("snapshot", &["--out".as_ref(), copy.as_os_str()])
        .ok();
    let listed = super::util::run(&[
        "sightings".as_ref(),
        "--index".as_ref(),
        copy.as_os_str(),
        "--json".as_ref(),
    ])
    .ok();
    assert_eq!(listed.stdout.lines().count(), 2, "{}", listed.stdout);

    // Deleting the record (there, in the copy) deletes its alerts: they
    // call for nothing any more, and no check raises them again.
    let in_copy = |command: &str, rest: &[&str]| {
        let mut args = vec![command, "--index", copy.to_str().unwrap()];
        args.extend_from_slice(rest);
        super::util::run(&args)
    };
    let before = in_copy("alerts", &["--json"]).ok();
    assert_eq!(
        before.json().as_array().unwrap().len(),
        1,
        "{}",
        before.stdout
    );
    in_copy("delete", &["demo-013"]).ok();
    let after = in_copy("alerts", &["--json"]).ok();
    assert_eq!(
        after.json().as_array().unwrap().len(),
        0,
        "{}",
        after.stdout
    );

    // Deleting the sighting deletes its alerts.
    let id = tilt["id"].as_str().unwrap();
    ix.cmd("sightings", &["--delete", id]).ok();
    assert!(alerts(&ix).is_empty());
    ix.cmd("sightings", &["--delete", id]).expect_code(1);
}

/// A photo searched before its record was added, but kept as a sighting
/// only after that record's import had checked the sightings (a long
/// `batch --keep` beside the import), still raises the alert: the next
/// check compares it with every image added since its search.
#[test]
fn a_photo_kept_after_its_records_check_still_alerts() {
    let ix = Index::new();
    let (first, later) = without_013(&ix);
    ix.import(&[&first]).ok();
    let batch = |photo: &str| {
        let lot = ix.scratch(photo);
        std::fs::create_dir_all(&lot).unwrap();
        std::fs::copy(query(photo), lot.join(photo)).unwrap();
        let out = ix.scratch(&format!("{photo}.jsonl"));
        let args = [
            lot.as_os_str(),
            "--out".as_ref(),
            out.as_os_str(),
            "--keep".as_ref(),
        ];
        ix.cmd("batch", &args).ok()
    };
    batch("demo-013_photo_tilt.jpg");
    ix.import(&[&later]).ok();
    // As the race leaves it: the import's check ran before the sighting
    // was indexed, so no alert, and the sighting is newer than the check.
    {
        let db = rusqlite::Connection::open(ix.path().join("ix/records.sqlite")).unwrap();
        db.execute_batch(
            "DELETE FROM alerts; UPDATE meta SET value = 0 WHERE key = 'alerts_sightings_slot';",
        )
        .unwrap();
    }
    // Caught up by the next check: here a batch keeping another photo.
    let run = batch("neg_guitar.jpg");
    assert!(
        run.stderr.contains("ALERT: record demo-013"),
        "{}",
        run.stderr
    );
    let all = alerts(&ix);
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(all[0]["record"], "demo-013", "{all:?}");
    assert_eq!(all[0]["verdict"], "match", "{all:?}");
}

#[test]
fn the_api_keeps_a_search_and_alerts_experts_when_a_curator_adds_its_record() {
    let ix = Index::new();
    let (first, _) = without_013(&ix);
    ix.import(&[&first]).ok();
    let srv = Server::start(&ix, &[]);
    let photo = std::fs::read(query("demo-013_photo_tilt.jpg")).unwrap();
    let kept = srv.send(
        "POST",
        "/v1/search",
        Some(&srv.keys.officer),
        Form::new()
            .file("photo", "p.jpg", &photo)
            .text("keep", "true")
            .text("case", "border-2026-11"),
    );
    assert_eq!(kept.status, 200, "{}", kept.text());
    let id = kept.json()["sighting"].as_str().unwrap().to_string();
    let log = srv
        .get("/v1/audit?action=search&limit=1", Some(&srv.keys.expert))
        .json();
    assert_eq!(log["entries"][0]["sighting"], id.as_str(), "{log}");
    let bad = srv.send(
        "POST",
        "/v1/search",
        Some(&srv.keys.officer),
        Form::new()
            .file("photo", "p.jpg", &photo)
            .text("keep", "perhaps"),
    );
    assert_eq!(bad.status, 400, "{}", bad.text());

    // Experts read sightings and alerts; officers do not.
    assert_eq!(srv.get("/v1/alerts", Some(&srv.keys.officer)).status, 403);
    let list = srv.get("/v1/sightings", Some(&srv.keys.expert)).json();
    assert_eq!(list["count"], 1, "{list}");
    assert_eq!(list["sightings"][0]["case"], "border-2026-11", "{list}");
    assert_eq!(list["sightings"][0]["kept_by"], "officer-1", "{list}");
    assert!(list["sightings"][0].get("photo").is_none(), "{list}");

    // An unrelated record, then the painting's.
    let curator = Some(srv.keys.curator.as_str());
    let lantern = std::fs::read(query("neg_lantern.jpg")).unwrap();
    let r = srv.send(
        "PUT",
        "/v1/records/lantern-1",
        curator,
        Form::new()
            .text("record", r#"{"title": "Brass lantern"}"#)
            .file("image", "l.jpg", &lantern),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["alerts"].as_array().unwrap().len(), 0);
    let painting = std::fs::read(fixture("demo/refs/demo-013.jpg")).unwrap();
    let r = srv.send(
        "PUT",
        "/v1/records/demo-013",
        curator,
        Form::new()
            .text(
                "record",
                r#"{"title": "Autumn tondo", "object_type": "painting"}"#,
            )
            .file("image", "t.jpg", &painting),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let raised = r.json()["alerts"].clone();
    assert_eq!(raised[0]["record"], "demo-013", "{raised}");
    assert_eq!(raised[0]["sighting"]["id"], id.as_str(), "{raised}");
    let all = srv.get("/v1/alerts", Some(&srv.keys.expert)).json();
    assert_eq!(all["total"], 1, "{all}");
    assert_eq!(all["alerts"][0]["verdict"], "match", "{all}");
    let since = srv.get("/v1/alerts?since=2999-01-01", Some(&srv.keys.expert));
    assert_eq!(since.json()["alerts"].as_array().unwrap().len(), 0);
    // The count alone, as the page's header asks it.
    let count = srv.get("/v1/alerts?limit=0", Some(&srv.keys.expert)).json();
    assert_eq!(
        (count["total"].as_u64(), count["matching"].as_u64()),
        (Some(1), Some(1))
    );
    assert!(count["alerts"].as_array().unwrap().is_empty(), "{count}");
    assert_eq!(
        srv.get("/v1/alerts?limit=5000", Some(&srv.keys.expert))
            .status,
        400
    );
    assert_eq!(
        srv.get("/v1/alerts?since=soon", Some(&srv.keys.expert))
            .status,
        400
    );
    let metrics = srv.get("/metrics", Some(&srv.keys.officer)).text();
    assert!(metrics.contains("provenance_alerts_total 1"), "{metrics}");

    // Deleted: the sighting, its alert and the photo kept for it.
    let uploads = ix.path().join("ix/sightings/uploads");
    assert_eq!(std::fs::read_dir(&uploads).unwrap().count(), 1);
    let gone = srv.delete(&format!("/v1/sightings/{id}"), Some(&srv.keys.expert));
    assert_eq!(gone.status, 200, "{}", gone.text());
    assert_eq!(std::fs::read_dir(&uploads).unwrap().count(), 0);
    let all = srv.get("/v1/alerts", Some(&srv.keys.expert)).json();
    assert_eq!(all["total"], 0, "{all}");
    let again = srv.delete(&format!("/v1/sightings/{id}"), Some(&srv.keys.expert));
    assert_eq!(again.status, 404);
}

#[test]
fn a_key_can_keep_every_search() {
    let ix = Index::new();
    let (first, _) = without_013(&ix);
    ix.import(&[&first]).ok();
    let srv = Server::start(&ix, &[]);
    let keys = ix.path().join("keys.json");
    let out = super::util::run(&[
        "keys",
        "add",
        "--keys",
        keys.to_str().unwrap(),
        "--role",
        "officer",
        "--name",
        "market-crawler",
        "--keep-searches",
    ])
    .ok();
    let secret = out.stdout.trim().to_string();
    // The server re-reads the keys file when it changes.
    assert!(srv.wait_for(10, || {
        srv.get("/v1/search/text?q=icon", Some(&secret)).status == 200
    }));
    let photo = std::fs::read(query("neg_guitar.jpg")).unwrap();
    let r = srv.send(
        "POST",
        "/v1/search",
        Some(&secret),
        Form::new()
            .file("photo", "g.jpg", &photo)
            .text("keep", "false"),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.json()["sighting"].is_string(), "{}", r.text());
    let list = srv.get("/v1/sightings", Some(&srv.keys.expert)).json();
    assert_eq!(list["sightings"][0]["kept_by"], "market-crawler", "{list}");
}

/// A listing is written by the other side of a market: a field past the
/// API's bound is refused with its line, and the terminal never receives
/// its control characters.
#[test]
fn a_listing_is_bounded_and_its_control_characters_are_shown_escaped() {
    let ix = Index::demo();
    let lot = ix.scratch("lot");
    std::fs::create_dir_all(&lot).unwrap();
    std::fs::copy(query("neg_guitar.jpg"), lot.join("g.jpg")).unwrap();
    let listings = ix.scratch("listings.jsonl");
    let run = |listing: &str| {
        std::fs::write(&listings, listing).unwrap();
        let out = ix.scratch("out.jsonl");
        let _ = std::fs::remove_file(&out);
        let args = [
            lot.as_os_str(),
            "--out".as_ref(),
            out.as_os_str(),
            "--keep".as_ref(),
            "--listings".as_ref(),
            listings.as_os_str(),
        ];
        ix.cmd("batch", &args)
    };
    let long = serde_json::json!({"image": "g.jpg", "title": "x".repeat(3000)});
    let refused = run(&format!("\n{long}\n")).expect_code(2);
    assert!(
        refused.stderr.contains("listings.jsonl:2") && refused.stderr.contains("`title`"),
        "{}",
        refused.stderr
    );
    let forged = serde_json::json!({"image": "g.jpg", "seller": "evil\u{1b}[2J\rFAKE: 0 alerts"});
    run(&forged.to_string()).ok();
    let shown = ix.cmd::<&str>("sightings", &[]).ok().stdout;
    assert!(
        !shown.contains('\u{1b}') && !shown.contains('\r'),
        "{shown:?}"
    );
    assert!(shown.contains("evil\\u{1b}[2J\\u{d}FAKE"), "{shown:?}");
}

/// A webhook endpoint on a real socket: answers its n-th request with
/// `answers[n]` (a status line and any headers), then 200; hands over each
/// request line and the body of every request answered 200.
fn receiver(answers: &[&'static str]) -> (String, std::sync::mpsc::Receiver<(String, String)>) {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    let answers = answers.to_vec();
    std::thread::spawn(move || {
        for (n, stream) in listener.incoming().enumerate() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let (mut length, mut request) = (0, String::new());
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if request.is_empty() {
                    request = line.trim().to_string();
                }
                if let Some((k, v)) = line.split_once(':')
                    && k.eq_ignore_ascii_case("content-length")
                {
                    length = v.trim().parse().unwrap();
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let answer = answers.get(n).copied().unwrap_or("200 OK");
            let _ = write!(
                stream,
                "HTTP/1.1 {answer}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            );
            if answer.starts_with("200") || !request.starts_with("POST") {
                let _ = tx.send((request, String::from_utf8(body).unwrap()));
            }
        }
    });
    (url, rx)
}

/// A webhook endpoint that refuses the first POST (500), accepts the rest,
/// and hands over each body it accepted.
fn webhook() -> (String, std::sync::mpsc::Receiver<String>) {
    let (url, requests) = receiver(&["500 Busy"]);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for (_, body) in requests {
            let _ = tx.send(body);
        }
    });
    (url, rx)
}

/// A redirect is not followed (a POST turned into a GET would deliver
/// nothing), and an alert the receiver refuses for its content is set
/// aside after a few tries instead of holding back the alerts after it.
#[test]
fn a_redirect_is_no_delivery_and_a_refused_alert_does_not_block_the_next() {
    let ix = Index::new();
    let (first, later) = without_013(&ix);
    ix.import(&[&first]).ok();
    let refusals: &[&str] = &[
        "302 Found\r\nlocation: /elsewhere",
        "413 Too Large",
        "413 Too Large",
        "413 Too Large",
        "413 Too Large",
        "413 Too Large",
    ];
    let (url, requests) = receiver(refusals);
    let srv = Server::start(&ix, &["--alert-webhook", &url]);
    for photo in ["demo-013_photo_tilt.jpg", "neg_lantern.jpg"] {
        let bytes = std::fs::read(query(photo)).unwrap();
        let form = Form::new()
            .file("photo", photo, &bytes)
            .text("keep", "true");
        let kept = srv.send("POST", "/v1/search", Some(&srv.keys.officer), form);
        assert_eq!(kept.status, 200, "{}", kept.text());
    }
    // Two alerts: demo-013's, then the lantern's.
    ix.import(&[&later]).ok();
    ix.import(&[&unrelated(&ix)]).ok();
    let (request, body) = requests
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("the second alert is delivered");
    assert!(request.starts_with("POST /hook"), "not followed: {request}");
    let alert: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(alert["record"], "lantern-1", "{alert}");
    let aside = std::fs::read_to_string(ix.path().join("ix/alerts.undelivered")).unwrap();
    assert!(aside.contains("413"), "{aside}");
    let metrics = srv.get("/metrics", Some(&srv.keys.officer)).text();
    assert!(
        metrics.contains(r#"provenance_alert_webhook_posts_total{outcome="set_aside"} 1"#),
        "{metrics}"
    );
}

#[test]
fn an_alert_is_posted_to_the_webhook_and_retried_until_it_is_taken() {
    let ix = Index::new();
    let (first, later) = without_013(&ix);
    ix.import(&[&first]).ok();
    let (url, bodies) = webhook();
    let srv = Server::start(&ix, &["--alert-webhook", &url]);
    // A second server on the same folder (a replica) delivers nothing
    // twice: one process delivers a folder's alerts.
    let keys = Keys {
        officer: srv.keys.officer.clone(),
        expert: srv.keys.expert.clone(),
        curator: srv.keys.curator.clone(),
    };
    let folder = ix.path().join("ix");
    let _replica = Server::start_with(&ix, &folder, keys, &["--alert-webhook", &url]);
    let photo = std::fs::read(query("demo-013_photo_tilt.jpg")).unwrap();
    let kept = srv.send(
        "POST",
        "/v1/search",
        Some(&srv.keys.officer),
        Form::new()
            .file("photo", "p.jpg", &photo)
            .text("keep", "true"),
    );
    assert_eq!(kept.status, 200, "{}", kept.text());
    // The record comes through a CLI import while the server runs: the
    // server delivers what another process raised.
    let imported = ix.import(&[&later]).ok();
    assert!(imported.stderr.contains("ALERT"), "{}", imported.stderr);
    let body = bodies
        .recv_timeout(std::time::Duration::from_secs(30))
        .expect("the alert is delivered after one refusal");
    let alert: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(alert["record"], "demo-013", "{alert}");
    assert_eq!(alert["sighting"]["id"], kept.json()["sighting"], "{alert}");
    assert!(alert["sighting"].get("photo").is_none(), "{alert}");
    let metrics = srv.get("/metrics", Some(&srv.keys.officer)).text();
    assert!(
        metrics.contains(r#"provenance_alert_webhook_posts_total{outcome="failed"} 1"#),
        "{metrics}"
    );
    assert!(
        bodies
            .recv_timeout(std::time::Duration::from_secs(3))
            .is_err(),
        "delivered once"
    );
}
