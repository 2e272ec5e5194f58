//! Helpers so that each test is a few lines: a fresh index per test, the
//! real binary, and parsed `--json` output.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use tempfile::TempDir;

/// Records of type `sculpture/*` in the demo database, sorted.
pub const SCULPTURES: [&str; 3] = ["demo-002", "demo-015", "demo-101"];
/// Records of type `painting`.
pub const PAINTINGS: [&str; 5] = ["demo-001", "demo-003", "demo-004", "demo-013", "demo-103"];

/// A file under `fixtures/`, as an absolute path.
pub fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(rel)
}

/// `fixtures/demo/queries/<name>`.
pub fn query(name: &str) -> PathBuf {
    fixture("demo/queries").join(name)
}

/// What a run of the binary produced.
#[derive(Debug)]
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// Panics (with both streams) unless the exit code is `code`.
    #[track_caller]
    pub fn expect_code(self, code: i32) -> Output {
        assert_eq!(
            self.code, code,
            "expected exit code {code}, got {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        );
        assert!(!self.stderr.contains("panicked"), "panic:\n{}", self.stderr);
        self
    }

    #[track_caller]
    pub fn ok(self) -> Output {
        self.expect_code(0)
    }

    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\n--- stderr\n{}",
                self.stdout, self.stderr
            )
        })
    }
}

/// Runs `provenance <args>`.
pub fn run<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_provenance"))
        .args(args)
        .output()
        .expect("provenance binary runs");
    Output {
        // A signal (e.g. SIGSEGV, SIGABRT) has no code: report it as -1.
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A fresh, empty index directory, removed when dropped.
pub struct Index {
    pub dir: TempDir,
}

impl Index {
    pub fn new() -> Index {
        Index {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// An index holding the whole demo database (18 records, 20 images).
    pub fn demo() -> Index {
        let ix = Index::new();
        ix.import(&[fixture("demo/records.jsonl"), fixture("demo/records.csv")])
            .ok();
        ix
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A scratch file path beside (not inside) the index.
    pub fn scratch(&self, name: &str) -> PathBuf {
        let p = self.dir.path().join("scratch");
        std::fs::create_dir_all(&p).unwrap();
        p.join(name)
    }

    /// Runs `provenance <cmd> --index <dir> <args>`.
    pub fn cmd<S: AsRef<std::ffi::OsStr>>(&self, cmd: &str, args: &[S]) -> Output {
        let mut all: Vec<std::ffi::OsString> =
            vec![cmd.into(), "--index".into(), self.path().join("ix").into()];
        all.extend(args.iter().map(|a| a.as_ref().to_os_string()));
        run(&all)
    }

    pub fn import<P: AsRef<Path>>(&self, files: &[P]) -> Output {
        let args: Vec<&Path> = files.iter().map(|f| f.as_ref()).collect();
        self.cmd("import", &args)
    }

    /// `info --json`.
    pub fn info(&self) -> Value {
        self.cmd::<&str>("info", &["--json"]).ok().json()
    }

    /// The record store's file.
    pub fn store_file(&self) -> PathBuf {
        self.path().join("ix").join("records.sqlite")
    }

    /// Turns the record store back into the previous release's (schema 3:
    /// no pixel grid per image), as an index it wrote would be.
    pub fn as_schema_3(&self) {
        rusqlite::Connection::open(self.store_file())
            .unwrap()
            .execute_batch(
                "ALTER TABLE images DROP COLUMN grid; UPDATE meta SET value=3 WHERE key='schema';",
            )
            .unwrap();
    }

    /// `(records, images)` from `info --json`.
    pub fn counts(&self) -> (u64, u64) {
        let v = self.info();
        (
            v["records"].as_u64().unwrap(),
            v["images"].as_u64().unwrap(),
        )
    }

    /// `search --json <photo>`, which must succeed.
    pub fn search(&self, photo: &Path) -> Value {
        self.cmd("search", &[photo.as_os_str(), "--json".as_ref()])
            .ok()
            .json()
    }

    /// `text --json <words> <extra...>`, which must succeed.
    pub fn text(&self, words: &str, extra: &[&str]) -> Value {
        let mut args = vec![words, "--json"];
        args.extend_from_slice(extra);
        self.cmd("text", &args).ok().json()
    }
}

/// The ids of a `--json` result, best first.
pub fn ids(v: &Value) -> Vec<String> {
    matches(v)
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_string())
        .collect()
}

pub fn matches(v: &Value) -> &Vec<Value> {
    v["matches"]
        .as_array()
        .unwrap_or_else(|| panic!("no `matches` array in {v}"))
}

/// `(id, verdict, score)` of the best match, if any.
pub fn top(v: &Value) -> Option<(String, String, f64)> {
    let m = matches(v).first()?;
    Some((
        m["id"].as_str()?.to_string(),
        m["verdict"].as_str()?.to_string(),
        m["score"].as_f64()?,
    ))
}

/// Every file name in the demo query folder, sorted.
pub fn demo_queries() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(fixture("demo/queries"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

/// The demo JSONL records with (`true`) or without demo-013, the painting
/// the tilted photo shows, written beside `ix` with absolute image paths:
/// a record that arrives after its photo was seen, or that only a peer holds.
pub fn demo_records(ix: &Index, with_013: bool) -> PathBuf {
    let refs = fixture("demo/refs");
    let text = std::fs::read_to_string(fixture("demo/records.jsonl")).unwrap();
    let text = text.replace("\"refs/", &format!("\"{}/", refs.display()));
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("\"demo-013\"") == with_013)
        .collect();
    let file = ix.scratch(if with_013 {
        "demo-013.jsonl"
    } else {
        "without-013.jsonl"
    });
    std::fs::write(&file, lines.join("\n")).unwrap();
    file
}

/// An index of [`demo_records`].
pub fn demo_part(with_013: bool) -> Index {
    let ix = Index::new();
    ix.import(&[demo_records(&ix, with_013)]).ok();
    ix
}

/// The record a query is named after: `demo-011_b_rot180.jpg` → `demo-011`.
pub fn expected_id(query: &str) -> Option<&str> {
    let (id, _) = query.split_once('_')?;
    id.starts_with("demo-").then_some(id)
}
