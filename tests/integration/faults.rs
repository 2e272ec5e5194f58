//! The server under faults: a failure it cannot avoid is explained (the
//! request id in the answer, the cause in its log, the code in the audit
//! log), a full disk refuses writes and keeps searches going, and SIGTERM
//! finishes what it acknowledged.

use crate::http::{Form, Server};
use crate::util::{Index, query};
use std::process::Command;

fn guitar_form(title: &str) -> Form {
    let photo = std::fs::read(query("neg_guitar.jpg")).unwrap();
    Form::new()
        .text(
            "record",
            &format!(r#"{{"title": "{title}", "object_type": "instrument"}}"#),
        )
        .file("image", "guitar.jpg", &photo)
}

#[test]
fn a_5xx_names_its_request_in_the_answer_the_log_and_the_audit() {
    let ix = Index::demo();
    // A file where the uploads folder should be: the server cannot store
    // the photo, a fault of the machine, not of the request.
    std::fs::write(ix.path().join("ix/uploads"), "in the way").unwrap();
    let srv = Server::start(&ix, &[]);
    let r = srv.send(
        "PUT",
        "/v1/records/blocked",
        Some(&srv.keys.curator),
        guitar_form("Blocked"),
    );
    assert_eq!(r.status, 500, "{}", r.text());
    let id = r.headers["x-request-id"].to_str().unwrap().to_string();
    assert_eq!(r.json()["error"]["request_id"], id.as_str());
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("uploads")
    );
    // The log line names the request and the cause.
    assert!(
        srv.wait_for(5, || srv
            .log()
            .lines()
            .any(|l| l.contains(&id) && l.contains("uploads"))),
        "{}",
        srv.log()
    );
    // The audit entry carries the code and the id.
    let a = srv
        .get("/v1/audit?action=put_record", Some(&srv.keys.curator))
        .json();
    let e = &a["entries"][0];
    assert_eq!(e["status"], 500, "{a}");
    assert_eq!(e["error"], "internal", "{a}");
    assert_eq!(e["request_id"], id.as_str(), "{a}");
    // Every answer carries an id, not only errors.
    let ok = srv.try_request("GET", "/healthz", None, None).unwrap();
    assert_eq!(ok.headers["x-request-id"].len(), 16);
}

#[test]
fn sigterm_finishes_acknowledged_writes_and_exits_zero() {
    let ix = Index::demo();
    let mut srv = Server::start(&ix, &[]);
    let curator = srv.keys.curator.clone();
    // Writes in flight while the signal comes.
    let acknowledged: Vec<String> = std::thread::scope(|s| {
        let writers: Vec<_> = (0..4)
            .map(|n| {
                let (srv, curator) = (&srv, &curator);
                s.spawn(move || {
                    let mut ok = Vec::new();
                    for k in 0..5 {
                        let id = format!("t-{n}-{k}");
                        match srv.try_request(
                            "PUT",
                            &format!("/v1/records/{id}"),
                            Some(curator),
                            Some(guitar_form(&id)),
                        ) {
                            Ok(r) if r.status == 201 => ok.push(id),
                            Ok(r) => assert!(r.status < 500, "{id}: {}", r.text()),
                            Err(_) => {} // refused after the signal: not acknowledged
                        }
                    }
                    ok
                })
            })
            .collect();
        std::thread::sleep(std::time::Duration::from_millis(600));
        srv.signal("TERM");
        writers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    let status = srv
        .wait_exit(35)
        .expect("serve exits within its grace period");
    assert!(status.success(), "{status:?}\n{}", srv.log());
    assert!(
        !acknowledged.is_empty(),
        "no write was answered before the signal"
    );
    assert!(srv.log().contains("stopped"), "{}", srv.log());
    ix.cmd::<&str>("verify", &[]).ok();
    // Everything acknowledged is there after a restart.
    let again = Server::start_with(&ix, &ix.path().join("ix"), srv.keys(), &[]);
    for id in &acknowledged {
        let r = again.get(&format!("/v1/records/{id}"), Some(&curator));
        assert_eq!(r.status, 200, "{id} was acknowledged and is gone");
    }
}

/// A tmpfs of `mib` MiB mounted on `dir`, unmounted when dropped; None
/// where this process may not mount (not root), which the test says.
struct SmallDisk(std::path::PathBuf);

impl SmallDisk {
    fn mount(dir: &std::path::Path, mib: u32) -> Option<SmallDisk> {
        std::fs::create_dir_all(dir).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={mib}m"), "tmpfs"])
            .arg(dir)
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| SmallDisk(dir.to_path_buf()))
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Fills the file system holding `dir` with `dir/filler`; returns its size.
fn fill(dir: &std::path::Path) -> u64 {
    use std::io::Write;
    let mut f = std::fs::File::create(dir.join("filler")).unwrap();
    let block = vec![0xA5u8; 64 * 1024];
    let mut n = 0u64;
    loop {
        match f.write(&block) {
            Ok(0) | Err(_) => break,
            Ok(k) => n += k as u64,
        }
    }
    let _ = f.sync_all();
    n
}

#[test]
fn a_full_disk_refuses_writes_clearly_and_searches_go_on() {
    let ix = Index::new();
    let Some(_disk) = SmallDisk::mount(&ix.path().join("ix"), 48) else {
        eprintln!("skipped: mounting a small tmpfs needs root (CI runs as root)");
        return;
    };
    ix.import(&[
        crate::util::fixture("demo/records.jsonl"),
        crate::util::fixture("demo/records.csv"),
    ])
    .ok();
    let srv = Server::start(&ix, &[]);
    let before = srv.search(&query("demo-013_photo_tilt.jpg")).json();
    assert_eq!(before["matches"][0]["id"], "demo-013");
    let filled = fill(&ix.path().join("ix"));
    assert!(filled > 0);

    let r = srv.send(
        "PUT",
        "/v1/records/too-much",
        Some(&srv.keys.curator),
        guitar_form("Too much"),
    );
    assert_eq!(r.status, 507, "{}", r.text());
    assert_eq!(r.json()["error"]["code"], "disk_full");
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("disk is full")
    );
    let during = srv.search(&query("demo-013_photo_tilt.jpg"));
    assert_eq!(during.status, 200, "{}", during.text());
    assert_eq!(during.json()["matches"], before["matches"]);

    // Space freed: the same write goes through and is found.
    std::fs::remove_file(ix.path().join("ix/filler")).unwrap();
    let r = srv.send(
        "PUT",
        "/v1/records/too-much",
        Some(&srv.keys.curator),
        guitar_form("Too much"),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let v = srv.search(&query("neg_guitar.jpg")).json();
    assert_eq!(v["matches"][0]["id"], "too-much", "{v}");
    drop(srv);
    ix.cmd::<&str>("verify", &[]).ok();
}
