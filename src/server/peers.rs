//! Federated search (`serve --peers PEERS.json`): a photo or text search
//! is also sent to other agencies' `provenance` servers, in parallel, each
//! with a deadline; their matches are merged with ours by score, each
//! saying which peer it came from. Scores are merged only from a peer
//! whose calibration is ours (`crate::search::scoring::CALIBRATION`); a peer that is down, slow,
//! refuses the key or answers another calibration is listed with its
//! error and never fails the search. A request that came from a peer is
//! not sent on (no loops).

use crate::search::remote::{RemoteAnswer, RemoteCandidate};
use serde::Deserialize;
use serde_json::{Value, json};
use std::path::Path;
use std::time::{Duration, Instant};

pub use crate::search::scoring::CALIBRATION;

/// Set on a request sent to a peer: the peer answers for its own records
/// and sends it no further.
pub const FORWARDED: &str = "x-provenance-forwarded";

/// One other server, as PEERS.json lists it.
#[derive(Debug, Clone, Deserialize)]
pub struct Peer {
    pub name: String,
    pub url: String,
    #[serde(default)]
    pub key: Option<String>,
    #[serde(default)]
    pub key_file: Option<std::path::PathBuf>,
    /// What a photo search sends it: the photo (the default), or only the
    /// photo's descriptors, for a peer that may not receive seizure photos
    /// (`crate::search::remote`).
    #[serde(default)]
    pub send: Sends,
}

/// What a photo search sends a peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sends {
    #[default]
    Photo,
    Descriptors,
}

/// Reads PEERS.json: `[{"name", "url", "key" | "key_file", "send"}]`.
pub fn load(path: &Path) -> anyhow::Result<Vec<Peer>> {
    let text =
        std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let mut peers: Vec<Peer> = serde_json::from_str(&text).map_err(|e| {
        anyhow::anyhow!(
            "{}: not a peers file ({e}); expected [{{\"name\", \"url\", \"key\" or \"key_file\", optionally \"send\": \"photo\" or \"descriptors\"}}]",
            path.display()
        )
    })?;
    let mut names = std::collections::HashSet::new();
    for p in &mut peers {
        if p.name.trim().is_empty() || !names.insert(p.name.clone()) {
            anyhow::bail!("{}: peer names must be given and distinct", path.display());
        }
        if !p.url.starts_with("http://") {
            anyhow::bail!("{}: peer {}: an http:// URL", path.display(), p.name);
        }
        p.url = p.url.trim_end_matches('/').to_string();
        if p.key.is_none()
            && let Some(file) = &p.key_file
        {
            let key = std::fs::read_to_string(file)
                .map_err(|e| anyhow::anyhow!("peer {}: {}: {e}", p.name, file.display()))?;
            p.key = Some(key.trim().to_string());
        }
        if p.key.is_none() {
            anyhow::bail!("{}: peer {}: a key or key_file", path.display(), p.name);
        }
    }
    Ok(peers)
}

/// What one peer answered.
pub struct PeerAnswer {
    pub name: String,
    /// Its matches, each marked with `"peer": name`.
    pub matches: Vec<Value>,
    /// The line the response lists: `{"name", "ok", "error", "records",
    /// "generation", "ms"}` (and `"sent": "descriptors"` for such a peer).
    pub state: Value,
    /// For a peer asked with descriptors: its candidates, for the asker to
    /// judge by the photo's pixels (`crate::search::remote::finish`).
    pub remote: Vec<RemoteCandidate>,
}

/// What to ask every peer.
pub enum Ask {
    Photo {
        bytes: Vec<u8>,
        fields: Vec<(&'static str, String)>,
    },
    Text {
        query: String,
    },
    /// The photo's descriptors (`crate::describe::wire`), JSON.
    Descriptors {
        body: Vec<u8>,
        fields: Vec<(&'static str, String)>,
    },
}

/// Asks every peer at once; each answer, or its failure, within `deadline`.
pub async fn ask_all(peers: &[Peer], ask: Ask, deadline: Duration) -> Vec<PeerAnswer> {
    let ask = std::sync::Arc::new(ask);
    let tasks: Vec<_> = peers
        .iter()
        .cloned()
        .map(|peer| {
            let ask = std::sync::Arc::clone(&ask);
            tokio::task::spawn_blocking(move || ask_one(&peer, &ask, deadline))
        })
        .collect();
    let mut out = Vec::with_capacity(tasks.len());
    for (task, peer) in tasks.into_iter().zip(peers) {
        out.push(
            task.await
                .unwrap_or_else(|e| failed(&peer.name, e.to_string(), 0)),
        );
    }
    out
}

fn failed(name: &str, error: String, ms: u128) -> PeerAnswer {
    PeerAnswer {
        name: name.to_string(),
        matches: Vec::new(),
        state: json!({"name": name, "ok": false, "error": error, "ms": ms}),
        remote: Vec::new(),
    }
}

fn ask_one(peer: &Peer, ask: &Ask, deadline: Duration) -> PeerAnswer {
    let started = Instant::now();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(deadline))
        .build()
        .into();
    let auth = format!("Bearer {}", peer.key.as_deref().unwrap_or_default());
    let sent = match ask {
        Ask::Photo { bytes, fields } => {
            let (content_type, body) = multipart(bytes, fields);
            agent
                .post(format!("{}/v1/search", peer.url))
                .header("authorization", &auth)
                .header(FORWARDED, "1")
                .header("content-type", &content_type)
                .send(&body[..])
        }
        Ask::Text { query } => agent
            .get(format!("{}/v1/search/text", peer.url))
            .query("q", query)
            .query("top", "20")
            .header("authorization", &auth)
            .header(FORWARDED, "1")
            .call(),
        Ask::Descriptors { body, fields } => agent
            .post(format!("{}/v1/search/descriptors", peer.url))
            .query_pairs(fields.iter().map(|(k, v)| (*k, v.as_str())))
            .header("authorization", &auth)
            .header(FORWARDED, "1")
            .header("content-type", "application/json")
            .send(&body[..]),
    };
    let ms = started.elapsed().as_millis();
    let mut resp = match sent {
        Ok(r) => r,
        Err(e) => return failed(&peer.name, format!("did not answer: {e}"), ms),
    };
    let status = resp.status().as_u16();
    let body: Value = match resp
        .body_mut()
        .with_config()
        .limit(16 << 20)
        .read_to_vec()
        .map_err(|e| e.to_string())
        .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()))
    {
        Ok(v) => v,
        Err(e) => return failed(&peer.name, format!("answered {status}, not JSON: {e}"), ms),
    };
    if status != 200 {
        let why = body["error"]["message"]
            .as_str()
            .unwrap_or("no reason given");
        return failed(&peer.name, format!("answered {status}: {why}"), ms);
    }
    if body["calibration"] != CALIBRATION {
        return failed(
            &peer.name,
            format!(
                "its scores are calibrated as {}, ours as {CALIBRATION}: not merged",
                body["calibration"]
            ),
            ms,
        );
    }
    let db = &body["database"];
    let mut state = json!({"name": peer.name, "ok": true, "records": db["records"],
        "generation": db["generation"], "ms": ms});
    if let Ask::Descriptors { .. } = ask {
        state["sent"] = json!("descriptors");
        return match serde_json::from_value::<RemoteAnswer>(body) {
            Ok(answer) => PeerAnswer {
                name: peer.name.clone(),
                matches: Vec::new(),
                state,
                remote: answer.candidates,
            },
            Err(e) => failed(&peer.name, format!("answered 200, not candidates: {e}"), ms),
        };
    }
    let matches = body["matches"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|m| mark(m, &peer.name))
        .collect();
    PeerAnswer {
        name: peer.name.clone(),
        matches,
        state,
        remote: Vec::new(),
    }
}

/// A peer's match as we answer it: marked with the peer's name, without
/// an image URL (the peer's URLs name the peer's routes, not ours).
pub fn mark(mut m: Value, peer: &str) -> Value {
    if let Some(o) = m.as_object_mut() {
        o.remove("image_url");
        o.insert("peer".into(), Value::String(peer.to_string()));
    }
    m
}

/// A multipart/form-data body: the photo and the search's other fields.
fn multipart(photo: &[u8], fields: &[(&'static str, String)]) -> (String, Vec<u8>) {
    let boundary = format!("provenance-{:016x}", rand_u64());
    let mut body = Vec::with_capacity(photo.len() + 512);
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"photo\"\r\nContent-Type: application/octet-stream\r\n\r\n")
            .as_bytes(),
    );
    body.extend_from_slice(photo);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

fn rand_u64() -> u64 {
    let mut b = [0u8; 8];
    let _ = getrandom::fill(&mut b);
    u64::from_le_bytes(b)
}

/// Ours and the peers' matches in one list by score, each side keeping its
/// own order (ours may be ordered by words given with the photo): the two
/// are merged head to head and cut at `top`, except that every one of ours
/// that explains an object of the photo (`object`) is kept.
pub fn merge(ours: Vec<Value>, answers: &[PeerAnswer], top: usize) -> Vec<Value> {
    let score = |v: &Value| v["score"].as_f64().unwrap_or(0.0);
    let mut theirs: Vec<Value> = answers
        .iter()
        .flat_map(|a| a.matches.iter().cloned())
        .collect();
    if theirs.is_empty() {
        return ours;
    }
    theirs.sort_by(|a, b| score(b).total_cmp(&score(a)));
    let mut out = Vec::with_capacity(ours.len() + theirs.len());
    let (mut ours, mut theirs) = (ours.into_iter().peekable(), theirs.into_iter().peekable());
    loop {
        let (m, object) = match (ours.peek(), theirs.peek()) {
            (Some(a), Some(b)) if score(a) < score(b) => (theirs.next(), false),
            (Some(a), _) => {
                let object = a.get("object").is_some_and(|o| !o.is_null());
                (ours.next(), object)
            }
            (None, Some(_)) => (theirs.next(), false),
            (None, None) => break,
        };
        if out.len() < top || object {
            out.extend(m);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_keeps_each_sides_order_and_every_object() {
        let m = |id: &str, score: f64, object: Option<u32>| json!({"id": id, "score": score, "object": object});
        // Ours as words ordered them (0.3 before 0.5); the first explains object 1.
        let ours = vec![m("o1", 0.3, Some(1)), m("o2", 0.5, None)];
        let peer = PeerAnswer {
            name: "p".into(),
            matches: vec![m("p1", 0.4, None)],
            state: json!({}),
            remote: Vec::new(),
        };
        let merged = merge(ours, &[peer], 2);
        let ids: Vec<&str> = merged.iter().map(|v| v["id"].as_str().unwrap()).collect();
        assert_eq!(
            ids,
            ["p1", "o1"],
            "o2 is cut at top, o1 kept for its object"
        );
        let alone = merge(vec![m("o1", 0.3, Some(1)), m("o2", 0.5, None)], &[], 1);
        assert_eq!(
            alone.len(),
            2,
            "without peers, ours stay as the engine gave them"
        );
    }
}
