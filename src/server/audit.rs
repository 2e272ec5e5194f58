//! The audit log: who searched or changed what, when, and what came back.
//!
//! One JSON object per line, appended to a file that is never rewritten,
//! and on disk (fsync) before the answer leaves the server: an officer's
//! search that found a stolen object must be provable later. Photos are
//! recorded by SHA-256 and size, not kept, unless the server is told to
//! keep them (`serve --audit-photos DIR`).

use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AuditEntry {
    pub time: String,
    /// The key's name (never its secret).
    pub key: String,
    pub role: String,
    /// `search`, `search_text`, `search_descriptors`, `read_record`, `put_record`, `delete_record`.
    pub action: String,
    pub status: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote: Option<String>,
    /// The text query, filters, record id: what was asked.
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub request: serde_json::Value,
    /// Record ids that came back (or were changed), best first.
    #[serde(default)]
    pub ids: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub photo_sha256: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub photo_bytes: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub photo_saved: Option<String>,
    /// The error code of a refused or failed request (as in its body).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The sighting a search kept its photo as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sighting: Option<String>,
    /// The request's id (`x-request-id`), as in the server's log lines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl AuditEntry {
    /// An entry stamped now, with status 200 until the request says
    /// otherwise.
    pub fn new(
        key: impl Into<String>,
        role: impl Into<String>,
        action: &str,
        remote: Option<String>,
        request: serde_json::Value,
    ) -> AuditEntry {
        super::request::mark_audited();
        AuditEntry {
            time: now(),
            key: key.into(),
            role: role.into(),
            action: action.into(),
            status: 200,
            remote,
            request,
            ids: Vec::new(),
            photo_sha256: None,
            photo_bytes: None,
            photo_saved: None,
            error: None,
            sighting: None,
            request_id: super::request::current_id(),
        }
    }

    /// The request ended in an error: its status and code.
    pub fn failed(&mut self, status: u16, code: &str) {
        self.status = status;
        self.error = Some(code.to_string());
    }
}

/// What [`AuditLog::read`] returns: newest first, filtered.
#[derive(Debug, Default, Clone)]
pub struct AuditQuery {
    pub limit: usize,
    pub action: Option<String>,
    pub key: Option<String>,
    pub id: Option<String>,
}

impl AuditQuery {
    fn accepts(&self, e: &AuditEntry) -> bool {
        self.action.as_ref().is_none_or(|a| &e.action == a)
            && self.key.as_ref().is_none_or(|k| &e.key == k)
            && self.id.as_ref().is_none_or(|i| e.ids.contains(i))
    }
}

pub struct AuditLog {
    path: PathBuf,
    /// The log, and whether its last line may be torn (a crash or a full
    /// disk cut a write short): the next entry then starts on a new line.
    file: Mutex<(File, bool)>,
    photos: Option<PathBuf>,
}

impl AuditLog {
    pub fn open(path: &Path, photos: Option<PathBuf>) -> std::io::Result<AuditLog> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        if let Some(dir) = &photos {
            std::fs::create_dir_all(dir)?;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .read(true)
            .open(path)?;
        let torn = ends_without_newline(&file)?;
        Ok(AuditLog {
            path: path.to_path_buf(),
            file: Mutex::new((file, torn)),
            photos,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Keeps the photo if configured; returns where.
    pub fn keep_photo(&self, sha256: &str, bytes: &[u8]) -> Option<String> {
        let dir = self.photos.as_ref()?;
        let path = dir.join(sha256);
        if !path.exists() {
            crate::paths::write_atomic(&path, bytes).ok()?;
        }
        Some(path.display().to_string())
    }

    /// Appends one entry durably. The line is written with one `write`
    /// on an append-only descriptor, so lines never interleave.
    pub fn append(&self, entry: &AuditEntry) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(entry).expect("audit entries serialise");
        line.push(b'\n');
        let mut guard = self.file.lock().unwrap_or_else(|p| p.into_inner());
        let (f, torn) = &mut *guard;
        if *torn {
            line.insert(0, b'\n');
        }
        let written = f.write_all(&line).and_then(|()| f.sync_data());
        *torn = written.is_err();
        written
    }

    /// Reads backwards from the end, so that the newest entries of a long
    /// log cost only the blocks they are in.
    pub fn read(&self, q: &AuditQuery) -> std::io::Result<Vec<AuditEntry>> {
        const BLOCK: u64 = 64 * 1024;
        let mut f = File::open(&self.path)?;
        let mut pos = f.seek(SeekFrom::End(0))?;
        let mut out = Vec::new();
        // Bytes of a line whose start lies in an earlier block.
        let mut tail: Vec<u8> = Vec::new();
        while pos > 0 && out.len() < q.limit {
            let start = pos.saturating_sub(BLOCK);
            let mut buf = vec![0u8; (pos - start) as usize];
            f.seek(SeekFrom::Start(start))?;
            f.read_exact(&mut buf)?;
            buf.extend_from_slice(&tail);
            let mut lines: Vec<&[u8]> = buf.split(|&b| b == b'\n').collect();
            // The first piece may be the end of a line begun further back.
            tail = if start > 0 {
                lines.remove(0).to_vec()
            } else {
                Vec::new()
            };
            for line in lines.iter().rev() {
                if out.len() >= q.limit {
                    break;
                }
                if let Ok(e) = serde_json::from_slice::<AuditEntry>(line)
                    && q.accepts(&e)
                {
                    out.push(e);
                }
            }
            pos = start;
        }
        Ok(out)
    }
}

/// True when a non-empty log does not end with a newline (a write cut
/// short by a crash).
fn ends_without_newline(mut f: &File) -> std::io::Result<bool> {
    let len = f.metadata()?.len();
    if len == 0 {
        return Ok(false);
    }
    let mut last = [0u8; 1];
    f.seek(SeekFrom::Start(len - 1))?;
    f.read_exact(&mut last)?;
    Ok(last[0] != b'\n')
}

pub fn now() -> String {
    humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(i: usize, action: &str) -> AuditEntry {
        AuditEntry {
            time: now(),
            key: format!("k{}", i % 3),
            role: "officer".into(),
            action: action.into(),
            status: 200,
            remote: None,
            request: serde_json::json!({"n": i, "pad": "x".repeat(200)}),
            ids: vec![format!("rec-{i}")],
            photo_sha256: None,
            photo_bytes: None,
            photo_saved: None,
            error: None,
            sighting: None,
            request_id: None,
        }
    }

    #[test]
    fn an_entry_after_a_torn_line_stands_on_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        std::fs::write(&path, "{\"time\": \"cut short by a cra").unwrap();
        let log = AuditLog::open(&path, None).unwrap();
        log.append(&entry(7, "search")).unwrap();
        let got = log
            .read(&AuditQuery {
                limit: 10,
                ..Default::default()
            })
            .unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].ids, vec!["rec-7".to_string()]);
    }

    #[test]
    fn newest_first_across_blocks_with_filters() {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::open(&dir.path().join("audit.jsonl"), None).unwrap();
        for i in 0..1000 {
            log.append(&entry(i, if i % 2 == 0 { "search" } else { "put_record" }))
                .unwrap();
        }
        let q = AuditQuery {
            limit: 600,
            ..Default::default()
        };
        let all = log.read(&q).unwrap();
        assert_eq!(all.len(), 600);
        assert_eq!(all[0].ids, vec!["rec-999"]);
        assert_eq!(all[599].ids, vec!["rec-400"]);
        let q = AuditQuery {
            limit: 5,
            action: Some("put_record".into()),
            key: Some("k0".into()),
            id: None,
        };
        let some = log.read(&q).unwrap();
        let ids: Vec<&str> = some.iter().map(|e| e.ids[0].as_str()).collect();
        assert_eq!(ids, ["rec-999", "rec-993", "rec-987", "rec-981", "rec-975"]);
    }
}
