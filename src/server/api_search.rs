//! Searching: by photo (multipart upload) and by text; and the metrics.

use super::AppState;
use super::api_records::audited_with;
use super::audit::AuditEntry;
use super::auth::Remote;
use super::error::ApiError;
use super::keys::Role;
use super::peers;
use crate::describe::wire::WireQuery;
use crate::engine::{DatabaseState, Match, SearchOptions};
use crate::records::record::Status;
use crate::records::sighting::{Context, Sighting, too_long};
use crate::search::scoring::Verdict;
use crate::text::TextFilter;
use axum::Json;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;

pub const MAX_TOP: usize = 100;

/// A result as the API shows it: the reference image by URL (the path on
/// the server's disk is nobody's business).
fn match_json(m: &Match) -> Value {
    let mut v = serde_json::to_value(m).expect("matches serialise");
    if let Some(obj) = v.as_object_mut() {
        obj.remove("image");
        if let Some(n) = m.image_index {
            obj.insert(
                "image_url".into(),
                Value::String(format!("/v1/records/{}/images/{n}", urlencode(&m.id))),
            );
        }
    }
    v
}

/// Percent-encodes an id for a URL path segment.
pub fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub fn database_json(db: &DatabaseState) -> Value {
    serde_json::to_value(db).expect("database state serialises")
}

/// Says plainly what an answer without a `match` means, for the officer's
/// screen.
fn note(db: &DatabaseState, best: Verdict, borderline: bool, cut_off: bool) -> Option<String> {
    let searched = format!("{} records ({} images) searched", db.records, db.images);
    match best {
        Verdict::Partial | Verdict::Possible if cut_off => Some(format!(
            "No match among {searched} yet: your photo cuts off most of the best candidate's \
             picture, so it cannot tell a close-up of that picture from a detail another \
             picture shares. Photograph the whole object and search again."
        )),
        Verdict::Match if borderline => Some(
            "A match, but a borderline one: a re-taken or re-saved photo changes a verdict this \
             close to its threshold about one time in three. Take another photo, or have an \
             expert compare, before acting on it."
                .to_string(),
        ),
        Verdict::Match => None,
        Verdict::Possible | Verdict::None if borderline => Some(format!(
            "No match among {searched}, but the best candidate is close to a verdict \
             threshold: another photo, taken straight on and close, may settle it. No match \
             is not a clearance; report it to an expert if in doubt."
        )),
        Verdict::Partial => Some(format!(
            "No match among {searched}. The best candidate shares only part of its picture \
             with your photo (a motif, a print of the same plate, a detail): that is not the \
             same object. An expert should compare them if in doubt."
        )),
        _ => Some(format!(
            "No match among {searched}. No match is not a clearance: \
             the object may be unreported, or photographed too differently; \
             report it to an expert if in doubt."
        )),
    }
}

fn verdict_str(v: Verdict) -> &'static str {
    v.as_str()
}

struct PhotoRequest {
    photo: Vec<u8>,
    opts: SearchOptions,
    /// Keep the photo as a sighting (`keep=true`), with this context.
    keep: Option<bool>,
    context: Context,
}

/// A field a person types (words, a case, a listing's title), refused
/// past its bound ([`too_long`]), so that neither what is kept nor what a
/// search costs grows with what a client sends.
fn check_length(name: &str, text: &str) -> Result<(), ApiError> {
    too_long(name, text).map_or(Ok(()), |m| Err(ApiError::bad_request(m)))
}

async fn read_search_form(mut form: Multipart) -> Result<PhotoRequest, ApiError> {
    let read = read_search_fields(&mut form).await;
    if read.is_err() {
        super::drain(form).await;
    }
    read
}

async fn read_search_fields(form: &mut Multipart) -> Result<PhotoRequest, ApiError> {
    let mut photo = None;
    let mut opts = SearchOptions::default();
    let mut keep = None;
    let mut context = Context::default();
    while let Some(field) = form.next_field().await? {
        let name = field.name().unwrap_or("").to_string();
        match name.as_str() {
            "photo" => photo = Some(field.bytes().await?.to_vec()),
            "text" => {
                let text = field.text().await?;
                check_length("text", &text)?;
                opts.text = Some(text).filter(|t| !t.trim().is_empty());
            }
            "type" => opts.object_type = Some(field.text().await?).filter(|t| !t.trim().is_empty()),
            "top" => opts.top = parse_top(&field.text().await?)?,
            "max_objects" => opts.max_objects = parse_max_objects(&field.text().await?)?,
            "keep" => keep = Some(parse_bool("keep", &field.text().await?)?),
            "case" | "url" | "title" | "seller" | "seen" => {
                let value = field.text().await?.trim().to_string();
                check_length(&name, &value)?;
                *match name.as_str() {
                    "case" => &mut context.case,
                    "url" => &mut context.url,
                    "title" => &mut context.title,
                    "seller" => &mut context.seller,
                    _ => &mut context.seen,
                } = value;
            }
            other => {
                return Err(ApiError::bad_request(format!(
                    "unknown form field {other:?} (expected photo, text, type, top, max_objects, keep, case, url, title, seller, seen)"
                )));
            }
        }
    }
    let photo = photo.ok_or_else(|| ApiError::bad_request("the form has no `photo` file part"))?;
    Ok(PhotoRequest {
        photo,
        opts,
        keep,
        context,
    })
}

fn parse_bool(field: &str, s: &str) -> Result<bool, ApiError> {
    match s.trim() {
        "true" | "1" | "on" | "yes" => Ok(true),
        "false" | "0" | "off" | "no" | "" => Ok(false),
        _ => Err(ApiError::bad_request(format!(
            "`{field}` is true or false, not {s:?}"
        ))),
    }
}

pub(super) fn parse_top(s: &str) -> Result<usize, ApiError> {
    match s.trim().parse::<usize>() {
        Ok(n) if (1..=MAX_TOP).contains(&n) => Ok(n),
        _ => Err(ApiError::bad_request(format!(
            "`top` must be a whole number from 1 to {MAX_TOP}, not {s:?}"
        ))),
    }
}

/// Objects one search may look for: each further one costs a look.
pub const MAX_OBJECTS: usize = 100;

fn parse_max_objects(s: &str) -> Result<usize, ApiError> {
    match s.trim().parse::<usize>() {
        Ok(n) if (1..=MAX_OBJECTS).contains(&n) => Ok(n),
        _ => Err(ApiError::bad_request(format!(
            "`max_objects` must be a whole number from 1 to {MAX_OBJECTS}, not {s:?}"
        ))),
    }
}

/// `POST /v1/search`.
pub async fn search_photo(
    State(st): State<Arc<AppState>>,
    Remote(remote): Remote,
    headers: HeaderMap,
    form: Result<Multipart, MultipartRejection>,
) -> Result<Json<Value>, ApiError> {
    let forwarded = headers.contains_key(peers::FORWARDED);
    let caller = st.authorize(&headers, Role::Officer)?;
    let form = form.map_err(ApiError::not_a_form)?;
    let entry = AuditEntry::new(
        caller.name.clone(),
        caller.role.as_str(),
        "search",
        remote,
        Value::Null,
    );
    // On a task of its own, like a write: a search whose request times out
    // still runs to its end (and may keep a sighting), and is audited with
    // what it did.
    let state = Arc::clone(&st);
    audited_with(&st, entry, move |mut entry| async move {
        let result = run_photo_search(&state, &caller, form, forwarded, &mut entry).await;
        (entry, result)
    })
    .await
}

async fn run_photo_search(
    st: &Arc<AppState>,
    caller: &super::auth::Caller,
    form: Multipart,
    forwarded: bool,
    entry: &mut AuditEntry,
) -> Result<Json<Value>, ApiError> {
    let PhotoRequest {
        photo,
        opts,
        keep,
        context,
    } = read_search_form(form).await?;
    // A key may be set to keep every search; `keep=false` cannot undo it.
    let keep = keep.unwrap_or(false) || caller.keep_searches;
    let peers = if forwarded {
        &[][..]
    } else {
        &st.opts.peers[..]
    };
    // A peer that may not receive the photo is sent its descriptors, once
    // they are made: the photo's own search makes them anyway.
    let (by_photo, by_descriptors): (Vec<peers::Peer>, Vec<peers::Peer>) = peers
        .iter()
        .cloned()
        .partition(|p| p.send == peers::Sends::Photo);
    entry.request = json!({"text": opts.text, "type": opts.object_type, "top": opts.top,
        "keep": keep, "case": (!context.case.is_empty()).then_some(&context.case),
        "peers": peers.iter().map(|p| &p.name).collect::<Vec<_>>(),
        "sent_descriptors": by_descriptors.iter().map(|p| &p.name).collect::<Vec<_>>()});
    let mut fields = vec![("top", opts.top.to_string())];
    fields.extend(opts.object_type.clone().map(|t| ("type", t)));
    let peer_ask = (!by_photo.is_empty()).then(|| {
        let mut fields = fields.clone();
        fields.extend(opts.text.clone().map(|t| ("text", t)));
        peers::Ask::Photo {
            bytes: photo.clone(),
            fields,
        }
    });
    let (wire_tx, wire_rx) = tokio::sync::oneshot::channel::<Vec<u8>>();
    let wire_tx = (!by_descriptors.is_empty()).then_some(wire_tx);
    entry.photo_bytes = Some(photo.len());
    // Hashed (and kept, if configured) before queueing: a refused search
    // is audited with its photo too. Off the async threads: it is I/O
    // and a few milliseconds of hashing.
    let state = Arc::clone(st);
    let (photo, sha, saved) = tokio::task::spawn_blocking(move || {
        let sha = crate::engine::sha256_hex(&photo);
        let saved = state.audit.keep_photo(&sha, &photo);
        (photo, sha, saved)
    })
    .await?;
    entry.photo_saved = saved;
    entry.photo_sha256 = Some(sha.clone());
    let slot = st.search_slot().await?;
    // The peers search while we do; a search refused above asks none.
    let deadline = st.opts.peer_timeout;
    let asked = peer_ask
        .map(|ask| tokio::spawn(async move { peers::ask_all(&by_photo, ask, deadline).await }));
    let asked_by_descriptors = (!by_descriptors.is_empty()).then(|| {
        tokio::spawn(async move {
            match wire_rx.await {
                Ok(body) => {
                    let ask = peers::Ask::Descriptors { body, fields };
                    peers::ask_all(&by_descriptors, ask, deadline).await
                }
                // The photo could not be searched: the search fails.
                Err(_) => Vec::new(),
            }
        })
    });
    let engine = st.engine();
    let opts = SearchOptions {
        photo_sha256: Some(sha.clone()),
        ..opts
    };
    let kept_by = caller.name.clone();
    let top = opts.top;
    let photo_sha = sha.clone();
    let read_only = st.writable().err().map(|e| e.message);
    let (resp, (w, h), kept, query) = tokio::task::spawn_blocking(move || {
        // Held by the work itself: a request dropped (timed out, its
        // client gone) does not free the slot while the search still runs.
        let slot = slot;
        let img = crate::imaging::decode::decode_bytes(&photo, "photo", engine.limits())?;
        let dims = img.dimensions();
        let started = std::time::Instant::now();
        let mut query = engine.describer().query(&img);
        if let Some(tx) = wire_tx {
            // Made once, for the peers and for our own second look.
            query.tilts = Some(crate::describe::describer::tilted_views(&query).into_owned());
            let wire = WireQuery::encode(&query, engine.describer().embedder(), peers::CALIBRATION);
            let _ = tx.send(serde_json::to_vec(&wire).expect("descriptors serialise"));
        }
        let resp = engine.search_described(&query, img.clone(), &opts, started)?;
        // Keeping the photo waits on the sightings' own lock and builds
        // their index: other officers' searches must not wait for it.
        drop(slot);
        // The search is answered whatever becomes of keeping the photo;
        // the answer says when it was not kept, and why.
        let kept = match (keep, read_only) {
            (false, _) => None,
            (true, Some(why)) => Some(Err(why)),
            (true, None) => Some(
                keep_sighting(
                    &engine,
                    &photo,
                    img,
                    &photo_sha,
                    context,
                    kept_by,
                    resp.database.last_slot,
                )
                .map_err(|e| e.message),
            ),
        };
        Ok::<_, ApiError>((resp, dims, kept, query))
    })
    .await??;
    if let Some(stages) = &resp.stages {
        st.metrics.search_stages(stages);
    }
    // Our part is done: the slot was freed with it, not held while the
    // peers finish.
    let (sighting, sighting_error) = match kept {
        None => (None, None),
        Some(Ok(id)) => (Some(id), None),
        Some(Err(why)) => {
            tracing::error!("a searched photo was not kept as a sighting: {why}");
            (None, Some(why))
        }
    };
    entry.sighting = sighting.clone();
    let mut answers = match asked {
        Some(task) => task.await.unwrap_or_default(),
        None => Vec::new(),
    };
    if let Some(task) = asked_by_descriptors {
        let remote = task.await.unwrap_or_default();
        let judged = tokio::task::spawn_blocking(move || {
            remote
                .into_iter()
                .map(|mut a| {
                    let found = std::mem::take(&mut a.remote);
                    a.matches = crate::search::remote::finish(&query, found, top)
                        .iter()
                        .map(|m| {
                            peers::mark(
                                serde_json::to_value(m).expect("matches serialise"),
                                &a.name,
                            )
                        })
                        .collect();
                    a
                })
                .collect::<Vec<_>>()
        })
        .await?;
        answers.extend(judged);
        // Listed as PEERS.json lists them, however they were asked.
        answers.sort_by_key(|a| peers.iter().position(|p| p.name == a.name));
    }
    let ours = resp.matches.iter().map(match_json).collect();
    let matches = peers::merge(ours, &answers, top);
    let best = matches
        .first()
        .and_then(|m| m["verdict"].as_str())
        .map_or(Verdict::None, Verdict::parse);
    let flag = |name: &str| {
        matches
            .first()
            .and_then(|m| m[name].as_bool())
            .unwrap_or(false)
    };
    let (borderline, cut_off) = (flag("borderline"), flag("cut_off"));
    st.metrics.search_verdict(verdict_str(best));
    entry.ids = matches.iter().map(match_id).collect();
    Ok(Json(json!({
        "database": database_json(&resp.database),
        "calibration": peers::CALIBRATION,
        "query": {"width": w, "height": h, "sha256": sha},
        "verdict": verdict_str(best),
        "note": note(&resp.database, best, borderline, cut_off),
        "matches": matches,
        "peers": answers.iter().map(|a| &a.state).collect::<Vec<_>>(),
        "sighting": sighting,
        "sighting_error": sighting_error,
        "words": resp.words,
    })))
}

/// A merged match's id in the audit log: a peer's as `peer:id`.
fn match_id(m: &Value) -> String {
    let id = m["id"].as_str().unwrap_or_default();
    match m["peer"].as_str() {
        Some(peer) => format!("{peer}:{id}"),
        None => id.to_string(),
    }
}

/// Keeps a searched photo as a sighting: the photo under the sightings'
/// `uploads/` by its SHA-256, described and committed; returns its id.
fn keep_sighting(
    engine: &Arc<crate::engine::Engine>,
    photo: &[u8],
    img: image::RgbImage,
    sha: &str,
    context: Context,
    kept_by: String,
    searched_through: i64,
) -> Result<String, ApiError> {
    let dir = engine.sightings_uploads();
    std::fs::create_dir_all(&dir).map_err(|e| ApiError::io(&dir, e))?;
    let path = dir.join(sha);
    let sighting = Sighting {
        id: Sighting::id_for(sha, &context),
        query: "upload".into(),
        photo_sha256: sha.to_string(),
        photo: path.display().to_string(),
        context,
        kept_by,
        kept: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
        searched_through: Some(searched_through),
    };
    let id = sighting.id.clone();
    engine.keep_upload(sighting, img, photo)?;
    // A record added while this photo was searched was checked without
    // it: the check catches it up, beside the answer, not before it.
    let engine = engine.clone();
    rayon::spawn(move || {
        if let Err(e) = engine.check_sightings() {
            tracing::error!("checking a kept photo against the records added meanwhile: {e}");
        }
    });
    Ok(id)
}

#[derive(Debug, Deserialize)]
pub struct TextParams {
    q: Option<String>,
    top: Option<String>,
    #[serde(rename = "type")]
    object_type: Option<String>,
    status: Option<String>,
    source: Option<String>,
}

/// `GET /v1/search/text?q=…`.
pub async fn search_text(
    State(st): State<Arc<AppState>>,
    Remote(remote): Remote,
    headers: HeaderMap,
    Query(p): Query<TextParams>,
) -> Result<Json<Value>, ApiError> {
    let caller = st.authorize(&headers, Role::Officer)?;
    let forwarded = headers.contains_key(peers::FORWARDED);
    let entry = AuditEntry::new(
        caller.name,
        caller.role.as_str(),
        "search_text",
        remote,
        json!({"q": p.q, "type": p.object_type, "status": p.status, "source": p.source}),
    );
    // Audited even when the request times out (see `search_photo`).
    let state = Arc::clone(&st);
    audited_with(&st, entry, move |mut entry| async move {
        let result = run_text_search(&state, p, forwarded).await;
        if let Ok((ids, _)) = &result {
            entry.ids = ids.clone();
        }
        (entry, result.map(|(_, v)| Json(v)))
    })
    .await
}

async fn run_text_search(
    st: &Arc<AppState>,
    p: TextParams,
    forwarded: bool,
) -> Result<(Vec<String>, Value), ApiError> {
    let q = p.q.unwrap_or_default();
    if q.trim().is_empty() {
        return Err(ApiError::bad_request("the query `q` is empty"));
    }
    check_length("q", &q)?;
    let top = p.top.as_deref().map(parse_top).transpose()?.unwrap_or(10);
    let status = match p.status.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(Status::parse(s).ok_or_else(|| {
            ApiError::bad_request(format!(
                "`status` must be stolen, missing, recovered or disputed, not {s:?}"
            ))
        })?),
    };
    let filter = TextFilter {
        object_type: p.object_type.filter(|s| !s.trim().is_empty()),
        status,
        source: p.source.filter(|s| !s.trim().is_empty()),
    };
    // Filters name this database's sources and types: a filtered search
    // stays here.
    let peers = if forwarded
        || filter.object_type.is_some()
        || filter.source.is_some()
        || filter.status.is_some()
    {
        &[][..]
    } else {
        &st.opts.peers[..]
    };
    let asked = (!peers.is_empty()).then(|| {
        let (list, deadline) = (peers.to_vec(), st.opts.peer_timeout);
        let ask = peers::Ask::Text { query: q.clone() };
        tokio::spawn(async move { peers::ask_all(&list, ask, deadline).await })
    });
    let engine = st.engine();
    let resp = tokio::task::spawn_blocking(move || engine.search_text(&q, &filter, top)).await??;
    let answers = match asked {
        Some(task) => task.await.unwrap_or_default(),
        None => Vec::new(),
    };
    let ours = resp.matches.iter().map(match_json).collect();
    let matches = peers::merge(ours, &answers, top);
    let ids = matches.iter().map(match_id).collect();
    Ok((
        ids,
        json!({
            "database": database_json(&resp.database),
            "calibration": peers::CALIBRATION,
            "matches": matches,
            "peers": answers.iter().map(|a| &a.state).collect::<Vec<_>>(),
        }),
    ))
}

/// `GET /v1/me`: the key's name and role, so that the web page offers
/// only what the key may do.
pub async fn me(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let caller = st.authorize(&headers, Role::Officer)?;
    Ok(Json(
        json!({"name": caller.name, "role": caller.role.as_str()}),
    ))
}

/// `GET /metrics`: any valid key.
pub async fn metrics(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<impl IntoResponse, ApiError> {
    st.authorize(&headers, Role::Officer)?;
    let engine = st.engine();
    let (db, alerts) = tokio::task::spawn_blocking(move || {
        // The last alert's id, not their count: ids only grow (deleting a
        // record or a sighting deletes its alerts), so the counter counts
        // every alert raised.
        let last = engine.last_alert_id()?.max(0) as u64;
        Ok::<_, crate::engine::EngineError>((engine.database_state()?, last))
    })
    .await??;
    Ok((
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            // What prometheus-client writes (`_total` samples, `# EOF`);
            // read as the 0.0.4 text format, counters lose their type.
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        st.metrics
            .render(db.records, db.images, alerts, st.search_load()),
    ))
}
