//! A real server on a real socket for the API and browser tests: the
//! `provenance serve` binary on an ephemeral port, killed when dropped,
//! and a small blocking client.

use super::util::{Index, run};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Makes a key with `provenance keys add` and returns its secret.
pub fn add_key(keys: &Path, role: &str, name: &str, rate: u32) -> String {
    let out = run(&[
        "keys",
        "add",
        "--keys",
        keys.to_str().unwrap(),
        "--role",
        role,
        "--name",
        name,
        "--rate",
        &rate.to_string(),
    ])
    .ok();
    let secret = out.stdout.trim().to_string();
    assert!(secret.starts_with("prov_"), "{secret:?}");
    secret
}

pub struct Keys {
    pub officer: String,
    pub expert: String,
    pub curator: String,
}

pub struct Server {
    child: Child,
    pub base: String,
    pub keys: Keys,
    agent: ureq::Agent,
    /// The server's stderr: its log.
    log: std::path::PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("--- server log\n{}", self.log());
        }
    }
}

pub struct Reply {
    pub status: u16,
    pub headers: ureq::http::HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "{}: not JSON ({e}): {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The error code of the one error shape.
    #[track_caller]
    pub fn error_code(&self) -> String {
        let v = self.json();
        assert!(
            v["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{v}"
        );
        v["error"]["code"].as_str().unwrap().to_string()
    }
}

/// A `multipart/form-data` body, built by hand so that tests can also
/// send broken ones.
pub struct Form {
    pub boundary: String,
    pub body: Vec<u8>,
}

impl Form {
    pub fn new() -> Form {
        Form {
            boundary: "provenance-test-boundary-7MA4YWxkTrZu0gW".into(),
            body: Vec::new(),
        }
    }

    pub fn text(mut self, name: &str, value: &str) -> Form {
        self.body.extend_from_slice(
            format!(
                "--{}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n",
                self.boundary
            )
            .as_bytes(),
        );
        self
    }

    pub fn file(mut self, name: &str, filename: &str, bytes: &[u8]) -> Form {
        self.body.extend_from_slice(
            format!(
                "--{}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\nContent-Type: application/octet-stream\r\n\r\n",
                self.boundary
            )
            .as_bytes(),
        );
        self.body.extend_from_slice(bytes);
        self.body.extend_from_slice(b"\r\n");
        self
    }

    pub fn finish(mut self) -> (String, Vec<u8>) {
        self.body
            .extend_from_slice(format!("--{}--\r\n", self.boundary).as_bytes());
        (
            format!("multipart/form-data; boundary={}", self.boundary),
            self.body,
        )
    }
}

impl Server {
    /// `serve` on `ix` with an officer, an expert and a curator key
    /// (unlimited rate, so that tests are not throttled), plus `extra`
    /// arguments.
    pub fn start(ix: &Index, extra: &[&str]) -> Server {
        let keys_path = ix.path().join("keys.json");
        let keys = Keys {
            officer: add_key(&keys_path, "officer", "officer-1", 0),
            expert: add_key(&keys_path, "expert", "expert-1", 0),
            curator: add_key(&keys_path, "curator", "curator-1", 0),
        };
        Self::start_with(ix, &ix.path().join("ix"), keys, extra)
    }

    /// `serve` on index folder `index` with keys already in `ix`'s keys
    /// file (a restart), its log appended to `ix`'s `serve.log`.
    pub fn start_with(ix: &Index, index: &Path, keys: Keys, extra: &[&str]) -> Server {
        let keys_path = ix.path().join("keys.json");
        let log = ix.path().join("serve.log");
        let log_file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_provenance"))
            .args(["serve", "--index"])
            .arg(index)
            .args(["--addr", "127.0.0.1:0", "--keys"])
            .arg(&keys_path)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(log_file)
            .spawn()
            .expect("provenance serve starts");
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        let base = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_string();
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        Server {
            child,
            base,
            keys,
            agent,
            log,
        }
    }

    /// What the server has logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends a signal (`TERM`, `KILL`) to the server.
    pub fn signal(&self, name: &str) {
        let ok = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "kill -{name} failed");
    }

    /// Waits up to `secs` for the server to exit; its exit status, or
    /// None if it is still running.
    pub fn wait_exit(&mut self, secs: u64) -> Option<std::process::ExitStatus> {
        let until = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return Some(s);
            }
            if Instant::now() > until {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The keys, for a restart on the same keys file.
    pub fn keys(&self) -> Keys {
        Keys {
            officer: self.keys.officer.clone(),
            expert: self.keys.expert.clone(),
            curator: self.keys.curator.clone(),
        }
    }

    fn reply(r: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Reply {
        Self::try_reply(r).expect("the server answers")
    }

    /// The answer, or the transport's error (a server killed mid-request).
    fn try_reply(
        r: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<Reply, ureq::Error> {
        let mut r = r?;
        Ok(Reply {
            status: r.status().as_u16(),
            headers: r.headers().clone(),
            body: r.body_mut().with_config().limit(64 << 20).read_to_vec()?,
        })
    }

    /// A request that may find no server: `method` GET, DELETE, POST or
    /// PUT (with a form).
    pub fn try_request(
        &self,
        method: &str,
        path: &str,
        key: Option<&str>,
        form: Option<Form>,
    ) -> Result<Reply, ureq::Error> {
        let url = format!("{}{path}", self.base);
        let auth = key.map(|k| format!("Bearer {k}"));
        macro_rules! send {
            ($req:expr) => {{
                let mut req = $req;
                if let Some(a) = &auth {
                    req = req.header("Authorization", a);
                }
                match form {
                    Some(f) => {
                        let (ct, body) = f.finish();
                        Self::try_reply(req.header("Content-Type", ct).send(&body[..]))
                    }
                    None => Self::try_reply(req.send_empty()),
                }
            }};
        }
        match method {
            "GET" | "DELETE" => {
                let mut req = if method == "GET" {
                    self.agent.get(url)
                } else {
                    self.agent.delete(url)
                };
                if let Some(a) = &auth {
                    req = req.header("Authorization", a);
                }
                Self::try_reply(req.call())
            }
            "POST" => send!(self.agent.post(url)),
            "PUT" => send!(self.agent.put(url)),
            other => panic!("method {other}"),
        }
    }

    /// GET with an optional key.
    pub fn get(&self, path: &str, key: Option<&str>) -> Reply {
        let mut req = self.agent.get(format!("{}{path}", self.base));
        if let Some(k) = key {
            req = req.header("Authorization", format!("Bearer {k}"));
        }
        Self::reply(req.call())
    }

    /// The status of a GET sent with this `Authorization` value as is.
    pub fn agent_get_with(&self, path: &str, authorization: &str) -> u16 {
        let req = self.agent.get(format!("{}{path}", self.base));
        Self::reply(req.header("Authorization", authorization).call()).status
    }

    pub fn delete(&self, path: &str, key: Option<&str>) -> Reply {
        let mut req = self.agent.delete(format!("{}{path}", self.base));
        if let Some(k) = key {
            req = req.header("Authorization", format!("Bearer {k}"));
        }
        Self::reply(req.call())
    }

    /// POST or PUT a form.
    pub fn send(&self, method: &str, path: &str, key: Option<&str>, form: Form) -> Reply {
        let (content_type, body) = form.finish();
        self.send_raw(method, path, key, &content_type, &body)
    }

    pub fn send_raw(
        &self,
        method: &str,
        path: &str,
        key: Option<&str>,
        content_type: &str,
        body: &[u8],
    ) -> Reply {
        let url = format!("{}{path}", self.base);
        let mut req = match method {
            "POST" => self.agent.post(url),
            "PUT" => self.agent.put(url),
            other => panic!("method {other}"),
        };
        if let Some(k) = key {
            req = req.header("Authorization", format!("Bearer {k}"));
        }
        Self::reply(req.header("Content-Type", content_type).send(body))
    }

    /// `POST /v1/search` with a photo file as the officer.
    pub fn search(&self, photo: &Path) -> Reply {
        let bytes = std::fs::read(photo).unwrap();
        let name = photo.file_name().unwrap().to_str().unwrap();
        self.send(
            "POST",
            "/v1/search",
            Some(&self.keys.officer),
            Form::new().file("photo", name, &bytes),
        )
    }

    /// Writes `request` on a fresh connection and returns what comes back
    /// (an answer, or "" when the server closed the connection) within
    /// ten seconds; `None` if the server kept silent that long. For
    /// requests no client library would send.
    pub fn raw_exchange(&self, request: &str) -> Option<String> {
        use std::io::{Read, Write};
        let addr = self.base.trim_start_matches("http://");
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.write_all(request.as_bytes()).unwrap();
        let mut buf = vec![0u8; 4096];
        match s.read(&mut buf) {
            Ok(n) => Some(String::from_utf8_lossy(&buf[..n]).into_owned()),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => Some(String::new()),
            Err(_) => None,
        }
    }

    /// Polls `cond` until it holds or `secs` pass.
    pub fn wait_for(&self, secs: u64, mut cond: impl FnMut() -> bool) -> bool {
        let until = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < until {
            if cond() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        cond()
    }
}
