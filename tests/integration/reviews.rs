//! Experts' decisions on candidates: kept through the API, shown beside
//! the candidate whenever the same photo comes back (API, CLI, batch and
//! its report), listed, audited; officers may not decide.

use super::http::Server;
use super::util::{Index, query};
use serde_json::{Value, json};

fn post(srv: &Server, key: &str, body: Value) -> super::http::Reply {
    srv.send_raw(
        "POST",
        "/v1/reviews",
        Some(key),
        "application/json",
        body.to_string().as_bytes(),
    )
}

#[test]
fn a_rejected_candidate_comes_back_marked_everywhere_and_only_experts_decide() {
    let ix = Index::demo();
    let srv = Server::start(&ix, &[]);
    let photo = query("demo-013_photo_tilt.jpg");
    let first = srv.search(&photo).json();
    let sha = first["query"]["sha256"].as_str().unwrap().to_string();
    assert_eq!(first["matches"][0]["id"], "demo-013", "{first}");
    assert!(first["matches"][0].get("review").is_none(), "{first}");
    let body = json!({"photo_sha256": sha, "record": "demo-013", "decision": "rejected", "note": "a later copy"});

    // Officers search; experts decide.
    let denied = post(&srv, &srv.keys.officer, body.clone());
    assert_eq!(denied.status, 403, "{}", denied.text());
    for (bad, code) in [
        (
            json!({"photo_sha256": sha, "record": "demo-013", "decision": "maybe"}),
            400,
        ),
        (
            json!({"photo_sha256": "abc", "record": "demo-013", "decision": "rejected"}),
            400,
        ),
        (
            json!({"photo_sha256": sha, "record": "no-such", "decision": "rejected"}),
            404,
        ),
        // Refused, and audited without the megabytes it carried.
        (
            json!({"photo_sha256": sha, "record": "demo-013", "decision": "rejected",
                   "note": "x".repeat(1 << 20)}),
            400,
        ),
    ] {
        let r = post(&srv, &srv.keys.expert, bad.clone());
        assert_eq!(r.status, code, "{bad}: {}", r.text());
        assert!(r.json()["error"]["message"].is_string(), "{}", r.text());
    }
    let kept = post(&srv, &srv.keys.expert, body);
    assert_eq!(kept.status, 200, "{}", kept.text());
    assert_eq!(kept.json()["review"]["by"], "expert-1", "{}", kept.text());

    // The same photo again: the candidate is still shown, marked.
    let again = srv.search(&photo).json();
    let m = &again["matches"][0];
    assert_eq!(m["id"], "demo-013", "{again}");
    assert_eq!(m["review"]["decision"], "rejected", "{again}");
    assert_eq!(m["review"]["note"], "a later copy", "{again}");
    assert!(again["matches"][1].get("review").is_none(), "{again}");

    // Listed, and audited.
    let list = srv
        .get(&format!("/v1/reviews?photo={sha}"), Some(&srv.keys.expert))
        .json();
    assert_eq!(list["reviews"].as_array().unwrap().len(), 1, "{list}");
    let log = srv
        .get("/v1/audit?action=review", Some(&srv.keys.expert))
        .json();
    let e = &log["entries"][0];
    assert_eq!(e["ids"][0], "demo-013", "{log}");
    assert_eq!(e["photo_sha256"], sha.as_str(), "{log}");
    assert!(
        log.to_string().len() < 100_000,
        "the refused note is not in the log"
    );

    // A later decision replaces it.
    let body = json!({"photo_sha256": sha, "record": "demo-013", "decision": "confirmed"});
    assert_eq!(post(&srv, &srv.keys.expert, body).status, 200);
    drop(srv);

    // The CLI sees the same decision, by the photo file's own hash.
    let cli = ix.search(&photo);
    assert_eq!(
        cli["matches"][0]["review"]["decision"], "confirmed",
        "{cli}"
    );
    let listed = ix.cmd("reviews", &["--json"]).ok().json();
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed[0]["record"], "demo-013", "{listed}");
    let text = ix.cmd("search", &[photo.as_os_str()]).ok().stdout;
    assert!(text.contains("reviewed: confirmed by expert-1"), "{text}");

    // And a batch's report shows it on the row.
    let out = ix.scratch("out.jsonl");
    let csv = ix.scratch("lot.csv");
    ix.cmd(
        "batch",
        &[
            photo.parent().unwrap().as_os_str(),
            "--out".as_ref(),
            out.as_os_str(),
            "--report-csv".as_ref(),
            csv.as_os_str(),
        ],
    )
    .ok();
    let csv = std::fs::read_to_string(&csv).unwrap();
    let row = csv
        .lines()
        .find(|l| l.starts_with("demo-013_photo_tilt.jpg,"))
        .unwrap();
    assert!(row.contains("confirmed by expert-1"), "{row}");
}

/// An expert's note is someone else's text on an officer's terminal: shown
/// escaped, and on a weak candidate too (a reviewed one is never hidden);
/// `reviews --photo` takes the hash as its listing prints it.
#[test]
fn a_note_on_a_weak_candidate_is_shown_escaped() {
    let ix = Index::demo();
    let srv = Server::start(&ix, &[]);
    let photo = query("demo-013_photo_tilt.jpg");
    let first = srv.search(&photo).json();
    let sha = first["query"]["sha256"].as_str().unwrap().to_string();
    let matches = first["matches"].as_array().unwrap();
    let weak = matches.last().unwrap();
    assert_eq!(weak["verdict"], "none", "{first}");
    let body = json!({"photo_sha256": sha, "record": weak["id"], "decision": "rejected",
                      "note": "\u{1b}]0;pwned\u{7}\u{1b}[2Jcleared"});
    assert_eq!(post(&srv, &srv.keys.expert, body).status, 200);
    drop(srv);
    let text = ix.cmd("search", &[photo.as_os_str()]).ok().stdout;
    assert!(text.contains("reviewed: rejected by expert-1"), "{text}");
    assert!(!text.contains('\u{1b}'), "{text:?}");
    let listed = ix.cmd("reviews", &["--photo", &sha[..12]]).ok().stdout;
    assert!(listed.contains("1 decisions"), "{listed}");
    assert!(
        listed.contains("\\u{1b}[2Jcleared") && !listed.contains('\u{1b}'),
        "{listed:?}"
    );
    let bad = ix.cmd("reviews", &["--photo", "e98d"]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
}
