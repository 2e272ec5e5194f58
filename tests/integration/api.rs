//! The JSON API over a real socket: search, access control, audit,
//! hostile uploads, writes while serving, metrics.

use super::http::{Form, Server, add_key};
use super::util::{Index, fixture, query};

#[test]
fn photo_search_returns_evidence_and_is_audited() {
    let ix = Index::demo();
    let srv = Server::start(&ix, &[]);
    let r = srv.search(&query("demo-013_photo_tilt.jpg"));
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["database"]["records"], 18, "{v}");
    assert_eq!(v["database"]["images"], 20, "{v}");
    assert!(v["database"]["updated"].is_string(), "{v}");
    let m = &v["matches"][0];
    assert_eq!(m["id"], "demo-013", "{v}");
    assert_eq!(m["verdict"], "match", "{v}");
    assert_eq!(v["verdict"], "match");
    assert!(m["evidence"]["inliers"].as_u64().unwrap() >= 10, "{m}");
    assert_eq!(m["evidence"]["region"].as_array().unwrap().len(), 4, "{m}");
    assert!(m.get("image").is_none(), "server paths stay private: {m}");
    // The matched image, shrunk for a phone, is a real JPEG.
    let url = m["image_url"].as_str().unwrap();
    let img = srv.get(&format!("{url}?max=200"), Some(&srv.keys.officer));
    assert_eq!(img.status, 200, "{}", img.text());
    let decoded = image::load_from_memory(&img.body).unwrap();
    assert!(decoded.width().max(decoded.height()) <= 200);
    // An id no record can have is a bad request, not echoed whole.
    let long = "x".repeat(50_000);
    let r = srv.get(&format!("/v1/records/{long}"), Some(&srv.keys.expert));
    assert_eq!(r.status, 400, "{}", r.status);
    assert!(r.body.len() < 1_000, "{} bytes", r.body.len());
    // A size it cannot keep its promise for is refused, not changed.
    for bad in ["0", "1", "5000", "-1", "big"] {
        let r = srv.get(&format!("{url}?max={bad}"), Some(&srv.keys.officer));
        assert_eq!(r.status, 400, "max={bad}: {}", r.text());
        assert!(r.text().contains("16 to 4096"), "{}", r.text());
    }

    // Experts read the audit log; officers may not.
    let log = srv.get("/v1/audit?action=search", Some(&srv.keys.expert));
    assert_eq!(log.status, 200, "{}", log.text());
    let e = &log.json()["entries"][0];
    assert_eq!(e["key"], "officer-1", "{e}");
    assert_eq!(e["ids"][0], "demo-013", "{e}");
    assert_eq!(e["photo_sha256"], v["query"]["sha256"], "{e}");
    assert!(
        !log.text().contains(&srv.keys.officer),
        "secrets never logged"
    );
    let denied = srv.get("/v1/audit", Some(&srv.keys.officer));
    assert_eq!(denied.status, 403);
    assert_eq!(denied.error_code(), "forbidden");
}

#[test]
fn no_match_says_how_much_was_searched() {
    let ix = Index::demo();
    let srv = Server::start(&ix, &[]);
    let v = srv.search(&query("neg_guitar.jpg")).json();
    assert_ne!(v["verdict"], "match", "{v}");
    let note = v["note"].as_str().unwrap();
    assert!(
        note.contains("18 records") && note.contains("not a clearance"),
        "{note}"
    );
}

#[test]
fn keys_and_roles_are_enforced() {
    let ix = Index::demo();
    let srv = Server::start(&ix, &[]);
    let none = srv.get("/v1/search/text?q=violin", None);
    assert_eq!(none.status, 401);
    assert_eq!(none.error_code(), "unauthorized");
    let wrong = srv.get("/v1/search/text?q=violin", Some("prov_0000"));
    assert_eq!(wrong.status, 401);
    let ok = srv.get("/v1/search/text?q=violin&top=3", Some(&srv.keys.officer));
    assert_eq!(ok.status, 200, "{}", ok.text());
    assert_eq!(ok.json()["matches"][0]["id"], "demo-014");
    // Reading whole records is for experts; writing for curators.
    assert_eq!(
        srv.get("/v1/records/demo-014", Some(&srv.keys.officer))
            .status,
        403
    );
    let rec = srv.get("/v1/records/demo-014", Some(&srv.keys.expert));
    assert_eq!(rec.status, 200);
    assert_eq!(
        rec.json()["record"]["images"][0],
        "/v1/records/demo-014/images/0"
    );
    assert_eq!(
        srv.delete("/v1/records/demo-014", Some(&srv.keys.expert))
            .status,
        403
    );
    assert_eq!(
        srv.get("/v1/records/nope", Some(&srv.keys.expert))
            .error_code(),
        "not_found"
    );
    // Health and readiness need no key; metrics need any valid one.
    assert_eq!(srv.get("/healthz", None).status, 200);
    assert_eq!(srv.get("/readyz", None).json()["database"]["records"], 18);
    assert_eq!(srv.get("/metrics", None).status, 401);
    let reply = srv.get("/metrics", Some(&srv.keys.officer));
    // prometheus-client writes OpenMetrics (`_total` samples, `# EOF`).
    let kind = reply.headers["content-type"].to_str().unwrap().to_string();
    assert!(
        kind.starts_with("application/openmetrics-text; version=1.0.0"),
        "{kind}"
    );
    let m = reply.text();
    assert!(m.contains("provenance_records 18"), "{m}");
    // A replica's load, for the site's autoscaler or alerts.
    assert!(m.contains("provenance_searches_running 0"), "{m}");
    assert!(m.contains("provenance_searches_queued 0"), "{m}");
    assert!(
        m.contains(
            r#"provenance_http_requests_total{route="/v1/search/text",method="GET",status="200"} 1"#
        ),
        "{m}"
    );
    assert!(
        m.contains("provenance_http_request_duration_seconds_bucket"),
        "{m}"
    );
    // Unknown routes and methods get the same error shape.
    assert_eq!(srv.get("/v2/nothing", None).error_code(), "no_route");
    assert_eq!(srv.delete("/v1/search/text", None).status, 405);
    // Any token is a method to HTTP: unknown ones share one metrics label.
    let odd = srv.raw_exchange("FROBNICATE123 /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(odd.is_some_and(|a| a.starts_with("HTTP/1.1 405")));
    let m = srv.get("/metrics", Some(&srv.keys.officer)).text();
    assert!(!m.contains("FROBNICATE123"), "{m}");
    assert!(m.contains(r#"method="other""#), "{m}");
    let doc = srv.get("/openapi.json", None).json();
    assert!(doc["paths"]["/v1/search"]["post"].is_object());
}

#[test]
fn rate_limit_answers_429_with_retry_after() {
    let ix = Index::demo();
    let srv = Server::start(&ix, &[]);
    // 6 a minute: a burst of five (a minute's first requests, up to 5),
    // then one every ten seconds. The server rereads the keys file within
    // a second.
    let slow = add_key(&ix.path().join("keys.json"), "officer", "slow-post", 6);
    let mut first = None;
    assert!(srv.wait_for(10, || {
        let r = srv.get("/v1/search/text?q=violin", Some(&slow));
        let ok = r.status == 200;
        if ok {
            first = Some(r);
        }
        ok
    }));
    for _ in 0..4 {
        let r = srv.get("/v1/search/text?q=violin", Some(&slow));
        assert_eq!(r.status, 200, "{}", r.text());
    }
    let r = srv.get("/v1/search/text?q=violin", Some(&slow));
    assert_eq!(r.status, 429, "{}", r.text());
    assert_eq!(r.error_code(), "rate_limited");
    assert!(r.headers.get("retry-after").is_some());
    // Other keys are not affected.
    assert_eq!(
        srv.get("/v1/search/text?q=violin", Some(&srv.keys.officer))
            .status,
        200
    );
}

#[test]
fn hostile_uploads_get_clear_errors_and_the_server_stays_up() {
    let ix = Index::demo();
    let srv = Server::start(&ix, &["--max-upload-mb", "1"]);
    let officer = Some(srv.keys.officer.as_str());
    let post = |name: &str, bytes: &[u8]| {
        srv.send(
            "POST",
            "/v1/search",
            officer,
            Form::new().file("photo", name, bytes),
        )
    };
    let cases: [(&str, u16, &str); 5] = [
        ("bad/garbage.jpg", 415, "unsupported_image"),
        ("bad/truncated.jpg", 400, "corrupt_image"),
        ("bad/empty.png", 400, "empty_image"),
        ("bad/bomb.png", 413, "image_too_large"),
        (
            "heic/truncated.heic",
            if cfg!(feature = "heic") { 400 } else { 415 },
            "",
        ),
    ];
    for (file, status, code) in cases {
        let r = post(file, &std::fs::read(fixture(file)).unwrap());
        assert_eq!(r.status, status, "{file}: {}", r.text());
        if !code.is_empty() {
            assert_eq!(r.error_code(), code, "{file}");
        }
    }
    // Over --max-upload-mb: refused from the declared length, before a
    // byte of the body is read.
    let head = srv.raw_exchange(&format!(
        "POST /v1/search HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: multipart/form-data; boundary=x\r\nContent-Length: {}\r\n\r\n",
        srv.keys.officer,
        3 << 20
    ))
    .expect("an answer");
    assert!(head.starts_with("HTTP/1.1 413"), "{head}");
    // The same, sent in chunks: no declared length, refused once read past.
    let head = chunked_upload(&srv, 3 << 20);
    assert!(
        head.starts_with("HTTP/1.1 413") && head.contains("upload_too_large"),
        "{head}"
    );
    // A form without a photo, with an unknown field, or not a form at all.
    let r = srv.send(
        "POST",
        "/v1/search",
        officer,
        Form::new().text("text", "icon"),
    );
    assert_eq!((r.status, r.error_code().as_str()), (400, "bad_request"));
    let r = srv.send(
        "POST",
        "/v1/search",
        officer,
        Form::new().text("photos", "x"),
    );
    assert_eq!(r.status, 400);
    let r = srv.send_raw(
        "POST",
        "/v1/search",
        officer,
        "multipart/form-data; boundary=x",
        b"--x\r\ngarbage",
    );
    assert_eq!(r.status, 400, "{}", r.text());
    let r = srv.send_raw("POST", "/v1/search", officer, "application/json", b"{}");
    assert!(r.status == 400 || r.status == 415, "{}", r.text());
    // A photo with one more field.
    let photo_and = |name: &str, value: &str| {
        let photo = std::fs::read(query("demo-005_rot90.jpg")).unwrap();
        let form = Form::new().file("photo", "q.jpg", &photo).text(name, value);
        srv.send("POST", "/v1/search", officer, form)
    };
    let r = photo_and("top", "100000");
    assert_eq!(r.status, 400, "{}", r.text());
    // Words past 2,000 bytes, with a photo or alone: refused, not searched.
    let words = "gold ".repeat(500);
    let r = photo_and("text", &words);
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(
        r.text().contains("`text`: at most 2000 bytes"),
        "{}",
        r.text()
    );
    let r = srv.get(
        &format!("/v1/search/text?q={}", words.replace(' ', "+")),
        officer,
    );
    assert_eq!(r.status, 400, "{}", r.text());
    // A body is not read before its key is checked: a request without a
    // key that declares a large body is refused at once, the body unsent.
    for path in ["/v1/search/descriptors", "/v1/reviews"] {
        let head = srv.raw_exchange(&format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            512 << 10
        ));
        let head = head.expect("an answer before the body");
        assert!(head.starts_with("HTTP/1.1 401"), "{path}: {head}");
    }
    // Every failure was audited with its status; the server still works.
    let log = srv
        .get("/v1/audit?action=search&limit=50", Some(&srv.keys.expert))
        .json();
    assert!(
        log["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["status"] == 415),
        "{log}"
    );
    assert_eq!(srv.get("/healthz", None).status, 200);
    let v = srv.search(&query("demo-005_rot90.jpg")).json();
    assert_eq!(v["matches"][0]["id"], "demo-005");
}

#[cfg(feature = "heic")]
#[test]
fn heic_photos_from_phones_match() {
    let ix = Index::demo();
    let photo = fixture("heic/demo-013_photo_tilt.heic");
    let v = ix.search(&photo);
    assert_eq!(v["matches"][0]["id"], "demo-013", "{v}");
    assert_eq!(v["matches"][0]["verdict"], "match", "{v}");
    let srv = Server::start(&ix, &[]);
    let v = srv.search(&photo).json();
    assert_eq!(v["matches"][0]["id"], "demo-013", "{v}");
}

#[test]
fn records_written_through_the_api_or_the_cli_are_searchable_at_once() {
    let ix = Index::demo();
    let srv = Server::start(&ix, &[]);
    let curator = Some(srv.keys.curator.as_str());
    let guitar = std::fs::read(query("neg_guitar.jpg")).unwrap();
    // A curator adds a record with its photo.
    let rec = r#"{"title": "Guitar with inlaid rosette", "object_type": "instrument", "maker": "Workshop of Ramírez"}"#;
    let r = srv.send(
        "PUT",
        "/v1/records/new-guitar",
        curator,
        Form::new()
            .text("record", rec)
            .file("image", "guitar.jpg", &guitar),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["database"]["records"], 19);
    let v = srv.search(&query("neg_guitar.jpg")).json();
    assert_eq!(v["matches"][0]["id"], "new-guitar", "{v}");
    assert_eq!(v["matches"][0]["verdict"], "match", "{v}");
    // Recovered: keeps its photos, no longer an alarm.
    let r = srv.send(
        "PUT",
        "/v1/records/new-guitar",
        curator,
        Form::new().text("record", &rec.replace('{', r#"{"status": "recovered", "#)),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let v = srv.search(&query("neg_guitar.jpg")).json();
    assert_eq!(v["matches"][0]["id"], "new-guitar", "{v}");
    assert_eq!(v["matches"][0]["verdict"], "possible", "{v}");
    // Bad writes: a bad image, a record without photos, mismatched ids.
    let r = srv.send(
        "PUT",
        "/v1/records/x1",
        curator,
        Form::new()
            .text("record", "{}")
            .file("image", "g.jpg", b"junk"),
    );
    assert_eq!(r.status, 415, "{}", r.text());
    let r = srv.send(
        "PUT",
        "/v1/records/x1",
        curator,
        Form::new().text("record", "{}"),
    );
    assert_eq!(r.status, 400, "{}", r.text());
    let r = srv.send(
        "PUT",
        "/v1/records/x1",
        curator,
        Form::new()
            .text("record", r#"{"id": "x2"}"#)
            .file("image", "g.jpg", &guitar),
    );
    assert_eq!(r.status, 400, "{}", r.text());
    let r = srv.send(
        "PUT",
        "/v1/records/x1",
        curator,
        Form::new()
            .text("record", r#"{"status": "lost?"}"#)
            .file("image", "g.jpg", &guitar),
    );
    assert_eq!(r.status, 400, "{}", r.text());
    // An id with a blank at its end would be stored trimmed: it would
    // replace "new-guitar" while answering that it created a record.
    let r = srv.send(
        "PUT",
        "/v1/records/new-guitar%20",
        curator,
        Form::new()
            .text("record", r#"{"title": "Not this one"}"#)
            .file("image", "g.jpg", &guitar),
    );
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("blanks"), "{}", r.text());
    assert_eq!(srv.get("/readyz", None).json()["database"]["records"], 19);
    // Deleted: gone from searches.
    assert_eq!(srv.delete("/v1/records/new-guitar", curator).status, 200);
    assert_eq!(srv.delete("/v1/records/new-guitar", curator).status, 404);
    let v = srv.search(&query("neg_guitar.jpg")).json();
    assert_ne!(
        v["matches"].get(0).map(|m| &m["id"]),
        Some(&"new-guitar".into()),
        "{v}"
    );

    // An import by the CLI into the same index, while the server runs.
    let dir = ix.scratch("more");
    std::fs::write(
        dir.with_extension("jsonl"),
        format!(
            "{{\"id\": \"cli-lantern\", \"title\": \"Brass lantern\", \"images\": [{:?}]}}\n",
            query("neg_lantern.jpg").display().to_string()
        ),
    )
    .unwrap();
    ix.import(&[dir.with_extension("jsonl")]).ok();
    assert!(
        srv.wait_for(
            10,
            || srv.search(&query("neg_lantern.jpg")).json()["matches"][0]["id"] == "cli-lantern"
        ),
        "the server did not pick up the CLI's import"
    );
    // The audit log has every change, by whom: the CLI's import too.
    let log = srv
        .get("/v1/audit?action=import&limit=1", Some(&srv.keys.expert))
        .json();
    let e = &log["entries"][0];
    assert!(e["key"].as_str().unwrap().starts_with("cli:"), "{log}");
    assert_eq!(e["request"]["records"], 1, "{log}");
    let log = srv
        .get("/v1/audit?id=new-guitar", Some(&srv.keys.expert))
        .json();
    let actions: Vec<&str> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(
        actions.contains(&"put_record") && actions.contains(&"delete_record"),
        "{actions:?}"
    );
    // Audited with the status the client got: 201 for the record created.
    let statuses: Vec<u64> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "put_record")
        .map(|e| e["status"].as_u64().unwrap())
        .collect();
    assert!(
        statuses.contains(&201) && statuses.contains(&200),
        "{statuses:?}"
    );
}

#[test]
fn slow_clients_are_cut_off_while_others_are_served() {
    let ix = Index::demo();
    let srv = Server::start(&ix, &["--header-timeout", "1", "--timeout", "2"]);
    let officer = srv.keys.officer.clone();
    // Clients that open connections and stall do not stop the others.
    let stalled: Vec<std::net::TcpStream> = (0..8)
        .map(|_| {
            use std::io::Write;
            let mut s =
                std::net::TcpStream::connect(srv.base.trim_start_matches("http://")).unwrap();
            s.write_all(b"GET /healthz HTTP/1.1\r\nHo").unwrap();
            s
        })
        .collect();
    assert_eq!(srv.get("/readyz", None).status, 200);
    // Headers that never end: the server hangs up (after --header-timeout).
    let r = srv.raw_exchange("POST /v1/search HTTP/1.1\r\nHost: x\r\n");
    assert!(r.is_some(), "the server kept a half-sent request open");
    // A body that never arrives: 408 after --timeout.
    let r = srv
        .raw_exchange(&format!(
            "POST /v1/search HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {officer}\r\nContent-Type: multipart/form-data; boundary=x\r\nContent-Length: 100000\r\n\r\n--x\r\n"
        ))
        .expect("an answer");
    assert!(r.starts_with("HTTP/1.1 408"), "{r}");
    assert!(r.contains("\"timeout\""), "{r}");
    assert_eq!(srv.get("/healthz", None).status, 200);
    drop(stalled);
}

#[test]
fn a_keys_file_named_without_a_folder_is_written_in_the_current_one() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_provenance"))
        .args(["keys", "add", "--keys", "keys.json", "--role", "officer"])
        .args(["--name", "desk"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("prov_"));
    assert!(dir.path().join("keys.json").is_file());
}

#[test]
fn a_partial_best_result_is_said_to_be_no_match_of_the_object() {
    // An index of demo-001 alone; the photo holds a corner of it in demo-005.
    let picture = crate::rivals::demo_picture("demo-001");
    let ix = crate::rivals::index_of(&[("original", &picture)]);
    let srv = Server::start(&ix, &[]);
    let path = ix.scratch("detail.jpg");
    crate::verdicts::detail_in_scene(&picture, &crate::rivals::demo_picture("demo-005"))
        .save(&path)
        .unwrap();
    let v = srv.search(&path).json();
    assert_eq!(v["verdict"], "partial", "{v}");
    assert_eq!(v["matches"][0]["verdict"], "partial", "{v}");
    let blocks = &v["matches"][0]["evidence"]["pixel_blocks"];
    assert!(blocks["map"].is_string(), "{v}");
    let note = v["note"].as_str().unwrap();
    assert!(note.contains("shares only part of its picture"), "{note}");
    // The page's metrics count it apart from matches.
    let metrics = srv.get("/metrics", Some(&srv.keys.officer)).text();
    assert!(metrics.contains("verdict=\"partial\""), "{metrics}");
    // …and say where the search's time went, stage by stage.
    for stage in ["describe", "candidates", "pixels", "objects", "rank"] {
        let count = format!("provenance_search_stage_seconds_count{{stage=\"{stage}\"}} 1");
        assert!(metrics.contains(&count), "{count}\n{metrics}");
    }
}

/// The words given with a photo, through the API: the answer says they
/// reordered weak candidates, and the lifted card carries its words score.
#[test]
fn words_given_with_a_photo_say_when_they_reorder() {
    let ix = Index::demo();
    let srv = Server::start(&ix, &[]);
    let bytes = std::fs::read(query("neg_guitar.jpg")).unwrap();
    let r = srv.send(
        "POST",
        "/v1/search",
        Some(&srv.keys.officer),
        Form::new()
            .file("photo", "neg_guitar.jpg", &bytes)
            .text("text", "harp"),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["words"]["reordered"], true, "{v}");
    assert_eq!(v["matches"][0]["id"], "demo-007", "{v}");
    assert_eq!(v["matches"][0]["verdict"], "none", "{v}");
    assert_eq!(v["verdict"], "none", "{v}");
    assert!(v["matches"][0]["words"].as_f64().unwrap() > 0.0, "{v}");
}

#[test]
fn a_write_kept_waiting_by_another_writer_is_refused_naming_it_and_never_made_later() {
    let ix = Index::demo();
    let srv = Server::start(&ix, &["--timeout", "2"]);
    // Another writer (a CLI import) holds the index's write lock, and says
    // who it is as every holder does.
    let mut lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(ix.path().join("ix").join("write.lock"))
        .unwrap();
    lock.lock().unwrap();
    std::io::Write::write_all(&mut lock, b"pid 4242: provenance import nightly.jsonl\n").unwrap();
    let r = srv.delete("/v1/records/demo-014", Some(&srv.keys.curator));
    assert_eq!(r.status, 503, "{}", r.text());
    let retry = r.headers.get("retry-after").and_then(|v| v.to_str().ok());
    assert_eq!(retry, Some("30"), "{}", r.text());
    let v = r.json();
    assert_eq!(v["error"]["code"], "busy", "{v}");
    let message = v["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("pid 4242: provenance import nightly.jsonl")
            && message.contains("was not made"),
        "{message}"
    );
    let put = srv.send(
        "PUT",
        "/v1/records/demo-014",
        Some(&srv.keys.curator),
        Form::new().text("record", r#"{"title": "changed while an import ran"}"#),
    );
    assert_eq!(put.status, 503, "{}", put.text());
    drop(lock);
    // Refused means not done, then or later: the record is as it was.
    std::thread::sleep(std::time::Duration::from_secs(2));
    let expert = Some(srv.keys.expert.as_str());
    let record = srv.get("/v1/records/demo-014", expert);
    assert_eq!(record.status, 200, "{}", record.text());
    assert_ne!(
        record.json()["record"]["title"],
        "changed while an import ran"
    );
    // Both refusals are audited, as refusals.
    let log = srv.get("/v1/audit?action=delete_record", expert).json();
    let refused = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["ids"][0] == "demo-014" && e["status"] == 503 && e["key"] == "curator-1");
    assert!(refused, "{log}");
    // Once the lock is free the same change is made.
    let r = srv.delete("/v1/records/demo-014", Some(&srv.keys.curator));
    assert_eq!(r.status, 200, "{}", r.text());
}

/// A change whose upload took half the request's time is refused before
/// it writes: begun later, its write could end after the client was told
/// 408, which would then be untrue.
#[test]
fn a_change_whose_upload_took_half_the_time_is_refused_before_it_writes() {
    use std::io::{Read, Write};
    let ix = Index::demo();
    let srv = Server::start(&ix, &["--timeout", "2"]);
    let body = "--x\r\nContent-Disposition: form-data; name=\"record\"\r\n\r\n{\"title\": \"sent slowly\"}\r\n--x--\r\n";
    let head = format!(
        "PUT /v1/records/demo-014 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: multipart/form-data; boundary=x\r\nContent-Length: {}\r\n\r\n",
        srv.keys.curator,
        body.len()
    );
    let addr = srv.base.trim_start_matches("http://").to_string();
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    s.write_all(head.as_bytes()).unwrap();
    // Half the body, then the rest 1.3 s later: past half of the 2 s.
    let (first, rest) = body.split_at(body.len() / 2);
    s.write_all(first.as_bytes()).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1300));
    s.write_all(rest.as_bytes()).unwrap();
    let mut buf = vec![0u8; 4096];
    let n = s.read(&mut buf).unwrap_or(0);
    let answer = String::from_utf8_lossy(&buf[..n]).into_owned();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("nothing was changed"), "{answer}");
    std::thread::sleep(std::time::Duration::from_secs(2));
    let expert = Some(srv.keys.expert.as_str());
    let record = srv.get("/v1/records/demo-014", expert).json();
    assert_ne!(record["record"]["title"], "sent slowly", "{record}");
}

#[test]
fn changes_sent_at_once_take_turns_and_are_all_made() {
    let ix = Index::demo();
    let srv = Server::start(&ix, &[]);
    let ids: Vec<String> = (1..=12).map(|i| format!("demo-{i:03}")).collect();
    std::thread::scope(|s| {
        for id in &ids {
            let srv = &srv;
            s.spawn(move || {
                let record = format!(r#"{{"title": "retitled {id}"}}"#);
                let r = srv.send(
                    "PUT",
                    &format!("/v1/records/{id}"),
                    Some(&srv.keys.curator),
                    Form::new().text("record", &record),
                );
                assert_eq!(r.status, 200, "{id}: {}", r.text());
            });
        }
    });
    let expert = Some(srv.keys.expert.as_str());
    for id in &ids {
        let r = srv.get(&format!("/v1/records/{id}"), expert).json();
        assert_eq!(r["record"]["title"], format!("retitled {id}"), "{r}");
    }
}

#[test]
fn a_search_that_outlives_its_request_is_still_audited() {
    let ix = Index::demo();
    let srv = Server::start(&ix, &["--timeout", "1"]);
    // Another process keeping a sighting holds the sightings' write lock,
    // so this search's keep waits past the request's timeout.
    let sightings = ix.path().join("ix").join("sightings");
    std::fs::create_dir_all(&sightings).unwrap();
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(sightings.join("write.lock"))
        .unwrap();
    lock.lock().unwrap();
    let bytes = std::fs::read(query("demo-013_photo_tilt.jpg")).unwrap();
    let r = srv.send(
        "POST",
        "/v1/search",
        Some(&srv.keys.officer),
        Form::new()
            .file("photo", "tilt.jpg", &bytes)
            .text("keep", "true")
            .text("case", "LATE-1"),
    );
    assert_eq!(r.status, 408, "{}", r.text());
    drop(lock);
    // The search goes on, keeps its sighting, and the audit says so.
    let expert = Some(srv.keys.expert.as_str());
    let audited =
        || {
            let log = srv.get("/v1/audit?action=search", expert).json();
            log["entries"].as_array().unwrap().iter().any(|e| {
                e["status"] == 200 && e["sighting"].is_string() && e["ids"][0] == "demo-013"
            })
        };
    assert!(srv.wait_for(20, audited), "the search was not audited");
}

/// A multipart photo of `bytes` bytes posted with `Transfer-Encoding:
/// chunked`; the answer's head and start. The body is written on a thread
/// of its own: the server may answer, and close, before it has all of it.
fn chunked_upload(srv: &Server, bytes: usize) -> String {
    use std::io::{Read, Write};
    let addr = srv.base.trim_start_matches("http://").to_string();
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    let mut w = s.try_clone().unwrap();
    let head = format!(
        "POST /v1/search HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: multipart/form-data; boundary=x\r\nTransfer-Encoding: chunked\r\n\r\n",
        srv.keys.officer
    );
    let writer = std::thread::spawn(move || {
        let part =
            "--x\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"a.jpg\"\r\n\r\n";
        let mut body = part.as_bytes().to_vec();
        body.resize(body.len() + bytes, b'j');
        body.extend_from_slice(b"\r\n--x--\r\n");
        let _ = w.write_all(head.as_bytes());
        for chunk in body.chunks(64 << 10) {
            let framed = [format!("{:x}\r\n", chunk.len()).as_bytes(), chunk, b"\r\n"].concat();
            if w.write_all(&framed).is_err() {
                return;
            }
        }
        let _ = w.write_all(b"0\r\n\r\n");
    });
    let mut buf = vec![0u8; 4096];
    let n = s.read(&mut buf).unwrap_or(0);
    // Unblocks the writer if the server stopped reading.
    let _ = s.shutdown(std::net::Shutdown::Both);
    let _ = writer.join();
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

/// A key revoked by a keys file copied in with the old file's times kept
/// (`cp -p`, `rsync -t`): the server still sees the change.
#[test]
fn a_key_revoked_by_a_file_with_the_same_mtime_stops_working() {
    let ix = Index::demo();
    let srv = Server::start(&ix, &[]);
    let keys = ix.path().join("keys.json");
    let officer = Some(srv.keys.officer.as_str());
    assert_eq!(srv.get("/v1/search/text?q=icon", officer).status, 200);
    let mut file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&keys).unwrap()).unwrap();
    file["keys"]
        .as_array_mut()
        .unwrap()
        .retain(|k| k["name"] != "officer-1");
    let old_mtime = std::fs::metadata(&keys).unwrap().modified().unwrap();
    let staged = ix.scratch("keys.json");
    std::fs::write(&staged, serde_json::to_string_pretty(&file).unwrap()).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&staged)
        .unwrap()
        .set_modified(old_mtime)
        .unwrap();
    std::fs::rename(&staged, &keys).unwrap();
    let revoked = || srv.get("/v1/search/text?q=icon", officer).status == 401;
    assert!(srv.wait_for(10, revoked), "the revoked key still works");
}

/// A change refused before its handler could audit it (too small a role,
/// a body that does not parse) is audited with its status and code; a
/// request with no valid key is not (a flood of them must not slow the
/// audit every search waits on).
#[test]
fn refused_changes_by_a_valid_key_are_audited() {
    let ix = Index::demo();
    let srv = Server::start(&ix, &[]);
    let officer = Some(srv.keys.officer.as_str());
    let expert = Some(srv.keys.expert.as_str());
    assert_eq!(srv.delete("/v1/records/demo-014", officer).status, 403);
    let r = srv.send_raw(
        "POST",
        "/v1/reviews",
        expert,
        "application/json",
        b"{not json",
    );
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(
        srv.delete("/v1/records/demo-014", Some("prov_not_a_key"))
            .status,
        401
    );
    let log = srv.get("/v1/audit?action=refused", expert).json();
    let entries = log["entries"].as_array().unwrap();
    let seen: Vec<(String, u64, String)> = entries
        .iter()
        .map(|e| {
            (
                e["key"].as_str().unwrap().to_string(),
                e["status"].as_u64().unwrap(),
                e["request"]["path"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(seen.len(), 2, "{log}");
    assert!(
        seen.contains(&("officer-1".into(), 403, "/v1/records/demo-014".into())),
        "{log}"
    );
    assert!(
        seen.contains(&("expert-1".into(), 400, "/v1/reviews".into())),
        "{log}"
    );
    assert!(entries.iter().all(|e| e["error"].is_string()), "{log}");
}

/// The properties `/openapi.json` documents for a schema (following a
/// `$ref` into `components`).
fn documented(doc: &serde_json::Value, schema: &serde_json::Value) -> Vec<String> {
    let schema = match schema["$ref"].as_str() {
        Some(r) => &doc["components"]["schemas"][r.trim_start_matches("#/components/schemas/")],
        None => schema,
    };
    schema["properties"]
        .as_object()
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default()
}

/// Every field of `value` is one `schema` documents.
fn assert_documented(
    doc: &serde_json::Value,
    schema: &serde_json::Value,
    value: &serde_json::Value,
    what: &str,
) {
    let known = documented(doc, schema);
    for key in value.as_object().unwrap().keys() {
        assert!(
            known.contains(key),
            "{what}: `{key}` is not in /openapi.json ({known:?})"
        );
    }
}

/// What the server answers is what `/openapi.json` says it answers: every
/// field of a photo search (its matches, their evidence and record), a
/// text search, a record written and `/readyz`.
#[test]
fn answers_carry_only_documented_fields() {
    let ix = Index::demo();
    let srv = Server::start(&ix, &[]);
    let doc = srv.get("/openapi.json", None).json();
    let schemas = &doc["components"]["schemas"];
    let search = srv.search(&query("demo-013_photo_tilt.jpg")).json();
    assert!(search["words"].is_null(), "{search}");
    assert_eq!(
        doc["components"]["schemas"]["SearchResult"]["properties"]["words"]["type"],
        serde_json::json!(["object", "null"])
    );
    assert_documented(&doc, &schemas["SearchResult"], &search, "search");
    for m in search["matches"].as_array().unwrap() {
        assert_documented(&doc, &schemas["Match"], m, "match");
        let props = &schemas["Match"]["properties"];
        assert_documented(&doc, &props["evidence"], &m["evidence"], "evidence");
        assert_documented(&doc, &props["record"], &m["record"], "record");
    }
    let officer = Some(srv.keys.officer.as_str());
    let text = srv.get("/v1/search/text?q=icon", officer).json();
    assert_documented(&doc, &schemas["TextResult"], &text, "text search");
    let guitar = std::fs::read(query("neg_guitar.jpg")).unwrap();
    let r = srv.send(
        "PUT",
        "/v1/records/doc-guitar",
        Some(&srv.keys.curator),
        Form::new()
            .text("record", r#"{"title": "Guitar"}"#)
            .file("image", "guitar.jpg", &guitar),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let put = &doc["paths"]["/v1/records/{id}"]["put"]["responses"]["201"]["content"]["application/json"]
        ["schema"];
    assert_documented(&doc, put, &r.json(), "record written");
    let ready = srv.get("/readyz", None).json();
    let schema = &doc["paths"]["/readyz"]["get"]["responses"]["200"]["content"]["application/json"]
        ["schema"];
    assert_documented(&doc, schema, &ready, "readyz");
}

/// Requests a client gets wrong are told what is wrong, with the status
/// that says it, once their key is checked.
#[test]
fn malformed_requests_get_the_status_that_names_the_fault() {
    let ix = Index::demo();
    let srv = Server::start(&ix, &[]);
    let officer = Some(srv.keys.officer.as_str());
    let expert = Some(srv.keys.expert.as_str());
    let curator = Some(srv.keys.curator.as_str());
    // No key: 401 saying how to authenticate, before the body is judged.
    let r = srv.send_raw("PUT", "/v1/records/x", None, "application/json", b"{}");
    assert_eq!(r.status, 401, "{}", r.text());
    assert_eq!(r.headers.get("www-authenticate").unwrap(), "Bearer");
    // A JSON body where a form is expected: 415, and audited.
    let r = srv.send_raw("PUT", "/v1/records/x", curator, "application/json", b"{}");
    assert_eq!(
        (r.status, r.error_code()),
        (415, "unsupported_media_type".into()),
        "{}",
        r.text()
    );
    let r = srv.send_raw("POST", "/v1/reviews", expert, "text/plain", b"{}");
    assert_eq!(r.status, 415, "{}", r.text());
    // Numbers and names in the URL.
    let r = srv.get("/v1/records/demo-015/images/abc", officer);
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("`n`"), "{}", r.text());
    assert_eq!(srv.get("/v1/audit?limit=0", expert).status, 400);
    assert_eq!(srv.get("/v1/reviews?photo=nothex", expert).status, 400);
    assert_eq!(srv.get("/v1/sightings?limit=20000", expert).status, 400);
    // The scheme's case does not matter.
    let r = srv.agent_get_with(
        "/v1/search/text?q=icon",
        &format!("bearer {}", srv.keys.officer),
    );
    assert_eq!(r, 200);
    // A record whose JSON id is a number is that number's text.
    let guitar = std::fs::read(query("neg_guitar.jpg")).unwrap();
    let r = srv.send(
        "PUT",
        "/v1/records/num-id",
        curator,
        Form::new()
            .text("record", r#"{"id": 12345, "title": "n"}"#)
            .file("image", "guitar.jpg", &guitar),
    );
    assert_eq!(r.status, 400, "{}", r.text());
    let log = srv.get("/v1/audit?action=refused", expert).json();
    let statuses: Vec<u64> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["status"].as_u64().unwrap())
        .collect();
    assert!(statuses.contains(&415), "{log}");
}

#[test]
fn a_borderline_best_result_says_to_take_another_photo() {
    let picture = crate::rivals::demo_picture("demo-001");
    let ix = crate::rivals::index_of(&[("original", &picture)]);
    let (near, _) = crate::verdicts::borderline_photo(&ix, &picture, "original");
    let (path, verdict) = near
        .into_iter()
        .next()
        .expect("some size lies near a threshold");
    let srv = Server::start(&ix, &[]);
    let v = srv.search(&path).json();
    let best = &v["matches"][0];
    assert_eq!(best["id"], "original", "{v}");
    assert_eq!(best["borderline"], true, "{v}");
    assert_eq!(v["verdict"], verdict.as_str(), "{v}");
    let note = v["note"].as_str().unwrap();
    let says = match verdict.as_str() {
        "match" => "a borderline one",
        "partial" => "shares only part of its picture",
        _ => "close to a verdict threshold",
    };
    assert!(note.contains(says), "{note}");
}

#[test]
fn a_photo_that_cuts_the_picture_off_is_asked_for_the_whole_object() {
    let picture = crate::rivals::demo_picture("demo-001");
    let ix = crate::rivals::index_of(&[("original", &picture)]);
    let path = ix.scratch("close-up.jpg");
    crate::verdicts::close_up(&picture, 0.5)
        .save(&path)
        .unwrap();
    let srv = Server::start(&ix, &[]);
    let v = srv.search(&path).json();
    assert_eq!(v["verdict"], "partial", "{v}");
    assert_eq!(v["matches"][0]["cut_off"], true, "{v}");
    let note = v["note"].as_str().unwrap();
    assert!(note.contains("Photograph the whole object"), "{note}");
}
