//! The web page in a real browser: headless Chromium driven over
//! WebDriver (Debian's chromium and chromium-driver; `.ci/run` installs
//! them). An officer enters the key once, picks a photo, and reads the
//! top card; an expert searches descriptions and opens a record.

use super::http::Server;
use super::util::{Index, query};
use serde_json::{Value, json};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

struct Driver {
    child: Child,
    base: String,
    session: String,
    agent: ureq::Agent,
    /// Chromium's profile and scratch files (its TMPDIR): removed when the
    /// driver is dropped, after the browser is gone. Left to themselves,
    /// they stay in /tmp, a few MB a run.
    _scratch: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self
            .agent
            .delete(format!("{}/session/{}", self.base, self.session))
            .call();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Driver {
    fn start() -> Driver {
        assert!(
            std::path::Path::new(CHROMIUM).exists() && std::path::Path::new(CHROMEDRIVER).exists(),
            "browser tests need Debian's chromium and chromium-driver: apt-get install chromium chromium-driver (.ci/run does)"
        );
        let port = free_port();
        let scratch = tempfile::tempdir().expect("a scratch folder for the browser");
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .env("TMPDIR", scratch.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let base = format!("http://127.0.0.1:{port}");
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        let until = Instant::now() + Duration::from_secs(20);
        while agent.get(format!("{base}/status")).call().is_err() {
            assert!(Instant::now() < until, "chromedriver did not come up");
            std::thread::sleep(Duration::from_millis(100));
        }
        let mut d = Driver {
            child,
            base,
            session: String::new(),
            agent,
            _scratch: scratch,
        };
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": CHROMIUM, "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                // A phone's screen.
                "--window-size=412,915"]}}}});
        let v = d.call("POST", "/session", Some(caps));
        d.session = v["value"]["sessionId"]
            .as_str()
            .expect("a session")
            .to_string();
        d
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}{path}", self.base);
        let resp = match method {
            "GET" => self.agent.get(url).call(),
            "POST" => self
                .agent
                .post(url)
                .header("Content-Type", "application/json")
                .send(body.unwrap_or(json!({})).to_string().as_bytes()),
            other => panic!("{other}"),
        };
        let mut resp = resp.expect("chromedriver answers");
        let status = resp.status().as_u16();
        let v: Value = serde_json::from_str(&resp.body_mut().read_to_string().unwrap()).unwrap();
        assert!(status < 400, "WebDriver {path}: {status} {v}");
        v
    }

    fn s(&self, rest: &str) -> String {
        format!("/session/{}{rest}", self.session)
    }

    fn goto(&self, url: &str) {
        self.call("POST", &self.s("/url"), Some(json!({"url": url})));
    }

    fn find(&self, css: &str) -> String {
        let v = self.call(
            "POST",
            &self.s("/element"),
            Some(json!({"using": "css selector", "value": css})),
        );
        v["value"][ELEMENT].as_str().unwrap().to_string()
    }

    fn type_into(&self, css: &str, text: &str) {
        let e = self.find(css);
        self.call(
            "POST",
            &self.s(&format!("/element/{e}/value")),
            Some(json!({"text": text})),
        );
    }

    fn click(&self, css: &str) {
        let e = self.find(css);
        self.call("POST", &self.s(&format!("/element/{e}/click")), None);
    }

    /// Saves `key` on the page's key screen.
    fn sign_in(&self, base: &str, key: &str) {
        self.goto(&format!("{base}/#/key"));
        self.type_into("#key", key);
        self.click("#save-key");
    }

    fn script(&self, js: &str) -> Value {
        self.call(
            "POST",
            &self.s("/execute/sync"),
            Some(json!({"script": js, "args": []})),
        )["value"]
            .clone()
    }

    /// Polls a script until it returns something truthy.
    fn wait_for(&self, js: &str, secs: u64) -> Value {
        let until = Instant::now() + Duration::from_secs(secs);
        loop {
            let v = self.script(js);
            if !(v.is_null() || v == json!(false) || v == json!("")) {
                return v;
            }
            assert!(
                Instant::now() < until,
                "timed out waiting for {js}; page: {}",
                self.script("return document.body.innerText")
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

#[test]
fn officer_uploads_a_photo_and_reads_the_top_card() {
    let ix = Index::demo();
    let srv = Server::start(&ix, &[]);
    let d = Driver::start();
    // Without a key, the page asks for one first.
    d.goto(&format!("{}/", srv.base));
    d.wait_for("return location.hash === '#/key'", 10);
    d.type_into("#key", &srv.keys.officer);
    d.click("#save-key");
    d.wait_for("return !document.querySelector('#view-search').hidden", 10);
    d.type_into("#photo", query("demo-013_photo_tilt.jpg").to_str().unwrap());
    d.click("#search-btn");
    d.wait_for("return document.querySelector('.card')", 60);
    let card = d.script(
        "const c = document.querySelector('.card'); \
         return {id: c.dataset.id, verdict: c.dataset.verdict, text: c.innerText, \
                 canvas: !!c.querySelector('canvas'), status: document.querySelector('#search-status').innerText}",
    );
    assert_eq!(card["id"], "demo-013", "{card}");
    assert_eq!(card["verdict"], "match", "{card}");
    assert!(
        card["canvas"].as_bool().unwrap(),
        "the photo with its outline: {card}"
    );
    assert!(
        card["status"].as_str().unwrap().contains("18 records"),
        "{card}"
    );
    // The reference photo, fetched with the key, has loaded.
    d.wait_for(
        "const i = document.querySelector('.card img'); return i && i.complete && i.naturalWidth > 0",
        20,
    );
    // The search is in the audit log under the key. The photo (578 x 616)
    // needed no shrinking: the page sent its bytes as they are, so the
    // server searched the very file `batch` would.
    let log = srv
        .get("/v1/audit?action=search&limit=1", Some(&srv.keys.expert))
        .json();
    assert_eq!(log["entries"][0]["key"], "officer-1", "{log}");
    assert_eq!(log["entries"][0]["ids"][0], "demo-013", "{log}");
    let file = std::fs::read(query("demo-013_photo_tilt.jpg")).unwrap();
    assert_eq!(
        log["entries"][0]["photo_sha256"],
        provenance::engine::sha256_hex(&file),
        "{log}"
    );

    // An officer's key cannot open whole records or review: the page
    // offers neither (and asks for no alerts, which would be refused).
    let offered = d.script(
        "return {links: document.querySelectorAll('a.rid, .weak a').length, \
                 reviews: document.querySelectorAll('.review-box').length, \
                 alerts: document.querySelector('#alerts-link').hidden}",
    );
    assert_eq!(offered, json!({"links": 0, "reviews": 0, "alerts": true}));
    let refused = srv
        .get("/v1/audit?action=refused", Some(&srv.keys.expert))
        .json();
    assert_eq!(refused["entries"], json!([]), "{refused}");
}

#[test]
fn expert_searches_descriptions_with_filters_and_opens_a_record() {
    let ix = Index::demo();
    let srv = Server::start(&ix, &[]);
    let d = Driver::start();
    d.sign_in(&srv.base, &srv.keys.expert);
    d.goto(&format!("{}/#/text", srv.base));
    d.wait_for("return !document.querySelector('#view-text').hidden", 10);
    d.type_into("#q", "violin");
    d.click("#text-btn");
    let id = d.wait_for(
        "return document.querySelector('#text-results .card')?.dataset.id",
        30,
    );
    assert_eq!(id, "demo-014");
    // A filter that excludes it.
    d.script("document.querySelector('#t-status').value = 'recovered'");
    d.click("#text-btn");
    d.wait_for(
        "return /record\\(s\\)/.test(document.querySelector('#text-status').innerText)",
        30,
    );
    let ids = d.script(
        "return [...document.querySelectorAll('#text-results .card')].map(c => c.dataset.id)",
    );
    assert!(
        !ids.as_array().unwrap().contains(&json!("demo-014")),
        "{ids}"
    );
    // The record page shows every photo of a two-photo record.
    d.goto(&format!("{}/#/record/demo-002", srv.base));
    d.wait_for(
        "const i = [...document.querySelectorAll('#record .photos img')]; return i.length === 2 && i.every(x => x.complete && x.naturalWidth > 0)",
        30,
    );
    let title = d.script("return document.querySelector('#record h1').innerText");
    assert_eq!(title, "Head of a bearded philosopher");
    // Back where the expert came from.
    d.click("#back");
    d.wait_for("return location.hash === '#/text'", 10);
}

#[test]
fn a_shared_detail_shows_as_partial_with_its_differences_and_a_coin_as_made_in_multiples() {
    let ix = Index::demo();
    let srv = Server::start(&ix, &[]);
    let d = Driver::start();
    d.sign_in(&srv.base, &srv.keys.officer);
    d.wait_for("return !document.querySelector('#view-search').hidden", 10);
    // demo-001's corner pasted into a photo of demo-003.
    let photo = ix.scratch("detail.jpg");
    crate::verdicts::detail_in_scene(
        &crate::rivals::demo_picture("demo-001"),
        &crate::rivals::demo_picture("demo-003"),
    )
    .save(&photo)
    .unwrap();
    d.type_into("#photo", photo.to_str().unwrap());
    d.click("#search-btn");
    let card = d.wait_for(
        "const c = document.querySelector('.card[data-id=\"demo-001\"]'); \
         return c && {verdict: c.dataset.verdict, text: c.innerText}",
        60,
    );
    assert_eq!(card["verdict"], "partial", "{card}");
    let text = card["text"].as_str().unwrap();
    assert!(text.contains("Shares only part of its picture"), "{card}");
    assert!(text.contains("differ"), "{card}");
    // The picture the detail was stuck on is shown whole: that one is a match.
    let scene =
        d.script("return document.querySelector('.card[data-id=\"demo-003\"]')?.dataset.verdict");
    assert_eq!(scene, "match", "{scene}");

    // A coin: the card says a match proves the design, with what tells the object.
    d.type_into(
        "#photo",
        super::util::fixture("demo/refs/demo-010.jpg")
            .to_str()
            .unwrap(),
    );
    d.click("#search-btn");
    let multiples = d.wait_for(
        "const c = document.querySelector('.card[data-id=\"demo-010\"]'); \
         return c && c.querySelector('.multiples')?.innerText",
        60,
    );
    let multiples = multiples.as_str().unwrap();
    assert!(multiples.contains("same design"), "{multiples}");
    assert!(multiples.contains("Legends worn"), "{multiples}");

    // A verdict near its threshold: the card says borderline, and to take
    // another photo.
    let picture = crate::rivals::demo_picture("demo-001");
    let (near, _) = crate::verdicts::borderline_photo(&ix, &picture, "demo-001");
    let (near, _) = near
        .into_iter()
        .next()
        .expect("some size lies near a threshold");
    d.type_into("#photo", near.to_str().unwrap());
    d.click("#search-btn");
    let card = d.wait_for(
        "const c = document.querySelector('.card[data-id=\"demo-001\"]'); \
         return c && {borderline: c.dataset.borderline || '', text: c.innerText}",
        60,
    );
    assert_eq!(card["borderline"], "true", "{card}");
    assert!(
        card["text"]
            .as_str()
            .unwrap()
            .contains("Take another photo"),
        "{card}"
    );

    // A frame that cuts most of the picture off: the card says so, and
    // asks for a photo of the whole object.
    let close = ix.scratch("close-up.jpg");
    crate::verdicts::close_up(&picture, 0.5)
        .save(&close)
        .unwrap();
    d.type_into("#photo", close.to_str().unwrap());
    d.click("#search-btn");
    let card = d.wait_for(
        "const c = document.querySelector('.card[data-id=\"demo-001\"][data-cut-off]'); \
         return c && {verdict: c.dataset.verdict, text: c.innerText}",
        60,
    );
    assert_eq!(card["verdict"], "partial", "{card}");
    assert!(
        card["text"]
            .as_str()
            .unwrap()
            .contains("Photograph the whole object"),
        "{card}"
    );
}

#[test]
fn the_batch_report_opens_from_disk_and_filters_by_verdict() {
    let ix = Index::demo();
    let (_, page, _) = crate::report::batch_with_report(&ix);
    let d = Driver::start();
    let url = page.display().to_string();
    d.goto(&format!(
        "file://{}",
        url.replace(' ', "%20").replace('#', "%23")
    ));
    let counts = d.wait_for("return document.querySelector('#counts')?.innerText", 20);
    assert!(
        counts.as_str().unwrap().contains("1 unreadable"),
        "{counts}"
    );
    // By default, the rows to look at: matches first, each with its pictures loaded.
    let first = d.wait_for(
        "const r = document.querySelector('#rows .row'); const i = r && r.querySelector('img'); \
         return i && i.complete && i.naturalWidth > 0 && r.dataset.verdict",
        20,
    );
    assert_eq!(first, "match", "{first}");
    let shown = |d: &Driver| {
        d.script("return [...document.querySelectorAll('#rows .row')].map(r => r.dataset.verdict)")
    };
    let work = shown(&d);
    assert!(
        work.as_array()
            .unwrap()
            .iter()
            .all(|v| v != "none" && v != "error"),
        "{work}"
    );
    // The unreadable file, on its own.
    d.script(
        "const s = document.querySelector('#f-verdict'); s.value = 'error'; \
         s.dispatchEvent(new Event('change'))",
    );
    let errors = shown(&d);
    assert_eq!(errors, json!(["error"]), "{errors}");
    let text = d.script("return document.querySelector('#rows').innerText");
    let name = crate::report::NOT_A_PHOTO;
    assert!(text.as_str().unwrap().contains(name), "{text}");
}

#[test]
fn an_expert_rejects_a_candidate_on_its_card() {
    let ix = Index::demo();
    let srv = Server::start(&ix, &[]);
    let d = Driver::start();
    d.sign_in(&srv.base, &srv.keys.expert);
    d.wait_for("return !document.querySelector('#view-search').hidden", 10);
    d.type_into("#photo", query("demo-013_photo_tilt.jpg").to_str().unwrap());
    d.click("#search-btn");
    d.wait_for("return document.querySelector('.card .review-note')", 60);
    d.type_into(".card .review-note", "the frame is a later copy");
    d.click(".card .reject");
    let text = d.wait_for(
        "const r = document.querySelector('.card .review'); \
         return r && /rejected by/.test(r.innerText) && r.innerText",
        20,
    );
    assert!(text.as_str().unwrap().contains("expert-1"), "{text}");
    let list = srv.get("/v1/reviews", Some(&srv.keys.expert)).json();
    assert_eq!(list["reviews"][0]["record"], "demo-013", "{list}");
    assert_eq!(
        list["reviews"][0]["note"], "the frame is a later copy",
        "{list}"
    );
}

#[test]
fn a_photo_kept_on_the_page_alerts_the_expert_when_its_record_comes_later() {
    let ix = super::util::demo_part(false);
    let srv = Server::start(&ix, &[]);
    let d = Driver::start();
    d.sign_in(&srv.base, &srv.keys.expert);
    d.wait_for("return !document.querySelector('#view-search').hidden", 10);
    // An expert's header shows the alerts, none yet.
    d.wait_for(
        "return !document.querySelector('#alerts-link').hidden && document.querySelector('#alert-count').innerText === '0'",
        20,
    );
    d.type_into("#photo", query("demo-013_photo_tilt.jpg").to_str().unwrap());
    d.click("#keep");
    d.type_into("#case", "C-42");
    d.click("#search-btn");
    let status = d.wait_for(
        "const s = document.querySelector('#search-status').innerText; return /kept as sighting/.test(s) && s",
        60,
    );
    assert!(status.as_str().unwrap().contains("S-"), "{status}");

    // The painting's record arrives through the API.
    let painting = std::fs::read(super::util::fixture("demo/refs/demo-013.jpg")).unwrap();
    let r = srv.send(
        "PUT",
        "/v1/records/demo-013",
        Some(&srv.keys.curator),
        super::http::Form::new()
            .text("record", r#"{"title": "Autumn tondo"}"#)
            .file("image", "t.jpg", &painting),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    d.goto(&format!("{}/#/alerts", srv.base));
    let card = d.wait_for(
        "const c = document.querySelector('.alert-card'); \
         return c && {record: c.dataset.record, text: c.innerText, count: document.querySelector('#alert-count').innerText}",
        20,
    );
    assert_eq!(card["record"], "demo-013", "{card}");
    assert_eq!(card["count"], "1", "{card}");
    assert!(
        card["text"].as_str().unwrap().contains("case C-42"),
        "{card}"
    );
    let png = d.call("GET", &d.s("/screenshot"), None)["value"]
        .as_str()
        .map(str::to_string);
    if let (Some(b64), Ok(dir)) = (png, std::env::var("PROVENANCE_SCREENSHOTS")) {
        use base64::Engine as _;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap();
        std::fs::write(std::path::Path::new(&dir).join("alerts.png"), bytes).unwrap();
    }
}

#[test]
fn the_page_says_which_peers_answered_and_marks_a_peers_match() {
    // The peer holds the painting; this server holds the rest, and sends
    // the peer only the photo's descriptors.
    let national = super::util::demo_part(true);
    let peer = Server::start(&national, &[]);
    let local = super::util::demo_part(false);
    let nobody = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let down = format!("http://{}", nobody.local_addr().unwrap());
    drop(nobody);
    let peers = local.scratch("peers.json");
    std::fs::write(
        &peers,
        json!([
            {"name": "national-it", "url": peer.base, "key": peer.keys.officer,
             "send": "descriptors"},
            {"name": "interpol", "url": down, "key": "prov_x"},
        ])
        .to_string(),
    )
    .unwrap();
    let srv = Server::start(&local, &["--peers", peers.to_str().unwrap()]);
    let d = Driver::start();
    d.sign_in(&srv.base, &srv.keys.officer);
    d.wait_for("return !document.querySelector('#view-search').hidden", 10);
    d.type_into("#photo", query("demo-013_photo_tilt.jpg").to_str().unwrap());
    d.click("#search-btn");
    let got = d.wait_for(
        "const c = document.querySelector('.card'); const p = document.querySelector('.peers'); \
         return c && p && {id: c.dataset.id, peer: c.dataset.peer, card: c.innerText, peers: p.innerText}",
        60,
    );
    assert_eq!(got["id"], "demo-013", "{got}");
    assert_eq!(got["peer"], "national-it", "{got}");
    assert!(
        got["card"].as_str().unwrap().contains("from national-it"),
        "{got}"
    );
    let line = got["peers"].as_str().unwrap();
    assert!(
        line.contains("Also searched: national-it (1 records; sent descriptors, not the photo)"),
        "{got}"
    );
    assert!(line.contains("Did not answer: interpol"), "{got}");
}

#[test]
fn a_lot_photo_shows_every_object_outlined_and_numbered_with_a_card_each() {
    let ix = Index::demo();
    let srv = Server::start(&ix, &[]);
    let d = Driver::start();
    d.sign_in(&srv.base, &srv.keys.officer);
    d.wait_for("return !document.querySelector('#view-search').hidden", 10);
    let pictures: Vec<image::RgbImage> = ["demo-003", "demo-013"]
        .iter()
        .map(|id| crate::rivals::demo_picture(id))
        .collect();
    let (photo, _) = crate::objects::lot_photo(&[&pictures[0], &pictures[1]], 2);
    let path = ix.scratch("lot.jpg");
    photo.save(&path).unwrap();
    d.type_into("#photo", path.to_str().unwrap());
    d.click("#search-btn");
    let objects = d.wait_for(
        "return document.querySelector('.overview')?.dataset.objects",
        60,
    );
    assert_eq!(
        objects,
        "2",
        "{}",
        d.script("return document.body.innerText")
    );
    // One card per object, numbered like the photo's outlines (the cards
    // come in as their reference photos load).
    let cards = d.wait_for(
        "const c = [...document.querySelectorAll('#results .card')]; \
         return c.length >= 2 && c.map(c => [c.dataset.id, c.dataset.object])",
        30,
    );
    let cards = cards.as_array().unwrap();
    for id in ["demo-003", "demo-013"] {
        assert!(
            cards.iter().any(|c| c[0] == id && c[1] != ""),
            "{id} has no numbered card: {cards:?}"
        );
    }
    // The photo once, each object outlined in its own colour.
    let colours = d.script(
        "const c = document.querySelector('.overview canvas'), g = c.getContext('2d'); \
         const px = g.getImageData(0, 0, c.width, c.height).data; let green = 0, blue = 0; \
         for (let i = 0; i < px.length; i += 4) { \
           if (px[i] < 20 && px[i + 1] > 210 && px[i + 2] > 40 && px[i + 2] < 90) green++; \
           if (px[i] < 20 && px[i + 1] > 150 && px[i + 1] < 190 && px[i + 2] > 235) blue++; } \
         return [green, blue]",
    );
    assert!(
        colours[0].as_u64().unwrap() > 200 && colours[1].as_u64().unwrap() > 200,
        "outlines in two colours: {colours}"
    );
    // Each card's "object N" label wears its outline's colour (an inline
    // style attribute would be refused by the page's policy).
    let labels = d.script(
        "return [...document.querySelectorAll('.card .object')].map(e => getComputedStyle(e).backgroundColor)",
    );
    let labels = labels.as_array().unwrap();
    assert!(
        labels.len() >= 2 && labels.iter().all(|c| c != "rgba(0, 0, 0, 0)"),
        "{labels:?}"
    );
}

#[test]
fn a_small_picture_in_a_large_photo_is_shown_zoomed_on_its_card() {
    let ix = Index::demo();
    let srv = Server::start(&ix, &[]);
    let d = Driver::start();
    d.sign_in(&srv.base, &srv.keys.officer);
    d.wait_for("return !document.querySelector('#view-search').hidden", 10);
    // A painting 480 px wide in a 3,200-px photo; the page sends it at
    // 1,600 px, where the closer look finds it 240 px wide.
    let picture = crate::rivals::demo_picture("demo-004");
    let (photo, _) = crate::objects::one_small_picture(&picture, 480.0, 2100.0, 600.0);
    let path = ix.scratch("far.jpg");
    photo.save(&path).unwrap();
    d.type_into("#photo", path.to_str().unwrap());
    d.click("#search-btn");
    d.wait_for("return document.querySelector('.card')", 60);
    let card = d.script(
        "const c = document.querySelector('.card'), v = c.querySelector('canvas'); \
         const px = v.getContext('2d').getImageData(0, 0, v.width, v.height).data; \
         let top = v.height, bottom = 0; \
         for (let i = 0; i < px.length; i += 4) { \
           const y = Math.floor(i / 4 / v.width); \
           if (y > v.height * 0.3 && px[i] < 20 && px[i + 1] > 210 && px[i + 2] > 40 && px[i + 2] < 90) \
             { top = Math.min(top, y); bottom = Math.max(bottom, y); } } \
         return {id: c.dataset.id, verdict: c.dataset.verdict, height: v.height, \
                 outline: bottom - top, caption: c.querySelector('figcaption').innerText}",
    );
    assert_eq!(card["id"], "demo-004", "{card}");
    assert_eq!(card["verdict"], "match", "{card}");
    // A photo over 1,600 px is shrunk before it goes up: the server
    // searched other bytes than the file's, and fewer of them.
    let log = srv
        .get("/v1/audit?action=search&limit=1", Some(&srv.keys.expert))
        .json();
    let file = std::fs::read(&path).unwrap();
    assert_ne!(
        log["entries"][0]["photo_sha256"],
        provenance::engine::sha256_hex(&file),
        "{log}"
    );
    assert!(
        log["entries"][0]["photo_bytes"].as_u64().unwrap() < file.len() as u64,
        "{log}"
    );
    assert!(
        card["caption"].as_str().unwrap().contains("zoomed"),
        "{card}"
    );
    // Below the inset, the painting's outline spans most of the figure
    // (in the whole photo it would be a fifth of its height).
    let (outline, height) = (
        card["outline"].as_f64().unwrap(),
        card["height"].as_f64().unwrap(),
    );
    assert!(outline > 0.35 * height, "{card}");
}

#[test]
fn words_typed_with_a_photo_say_on_the_page_when_they_reorder() {
    let ix = Index::demo();
    let srv = Server::start(&ix, &[]);
    let d = Driver::start();
    d.sign_in(&srv.base, &srv.keys.officer);
    d.wait_for("return !document.querySelector('#view-search').hidden", 10);
    d.type_into("#photo", query("neg_guitar.jpg").to_str().unwrap());
    d.type_into("#words", "harp");
    d.click("#search-btn");
    let note = d.wait_for(
        "return document.querySelector('.note.words')?.innerText",
        60,
    );
    assert!(
        note.as_str().unwrap().contains("changed the order"),
        "{note}"
    );
    // Nothing in the database: the harp leads the weak candidates, with
    // the photo's own score and no card of its own.
    let first = d.script("return document.querySelector('.weak li .wid').textContent");
    assert_eq!(first, "demo-007");
    assert_eq!(
        d.script("return document.querySelectorAll('.card').length"),
        0
    );
}

/// An officer who searches again before the first answer came (a slow
/// line) sees the second photo's results only.
#[test]
fn a_second_search_replaces_a_slow_first_one() {
    let ix = Index::demo();
    let srv = Server::start(&ix, &[]);
    let d = Driver::start();
    d.sign_in(&srv.base, &srv.keys.officer);
    d.wait_for("return !document.querySelector('#view-search').hidden", 10);
    // The first photo search's answer is held back 3 s, as on a slow line.
    d.script(
        "const real = window.fetch; let first = true; \
         window.fetch = (u, o) => { \
           if (first && String(u) === '/v1/search') { first = false; \
             return new Promise((ok, err) => { \
               o.signal.addEventListener('abort', () => err(new DOMException('aborted', 'AbortError'))); \
               setTimeout(() => real(u, o).then(ok, err), 3000); }); } \
           return real(u, o); }",
    );
    d.type_into("#photo", query("demo-005_rot90.jpg").to_str().unwrap());
    d.click("#search-btn");
    d.type_into("#photo", query("demo-013_photo_tilt.jpg").to_str().unwrap());
    d.click("#search-btn");
    d.wait_for("return document.querySelector('.card')", 60);
    std::thread::sleep(std::time::Duration::from_secs(4));
    let ids = d.script("return [...document.querySelectorAll('.card')].map(c => c.dataset.id)");
    assert_eq!(ids, json!(["demo-013"]), "{ids}");
}
