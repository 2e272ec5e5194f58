//! Records: read, create or replace (with images), delete; their images;
//! and the audit log for experts.

use super::AppState;
use super::api_search::{database_json, urlencode};
use super::audit::{AuditEntry, AuditQuery};
use super::auth::{Caller, Remote};
use super::error::ApiError;
use super::keys::Role;
use crate::imaging::decode::{decode_bytes, decode_path};
use crate::imaging::limits::DecodeLimits;
use crate::records::record::Record;
use axum::Json;
use axum::body::Body;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rayon::prelude::*;
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;

/// A record as the API shows it: image paths replaced by URLs.
fn record_json(r: &Record) -> Value {
    let mut v = serde_json::to_value(r).expect("records serialise");
    let urls: Vec<String> = (0..r.images.len())
        .map(|n| format!("/v1/records/{}/images/{n}", urlencode(&r.id)))
        .collect();
    v["images"] = json!(urls);
    v
}

pub(super) fn audit_entry(
    caller: &Caller,
    action: &str,
    remote: Option<String>,
    id: &str,
) -> AuditEntry {
    let mut e = AuditEntry::new(
        caller.name.as_str(),
        caller.role.as_str(),
        action,
        remote,
        json!({"id": id}),
    );
    e.ids = vec![id.to_string()];
    e
}

/// Runs `f`, then audits it with the status it ended in. On a task of its
/// own: a write whose request is dropped (timed out describing its photos,
/// its client gone) still ends, and is still audited.
pub(super) async fn audited<T: Answer + Send + 'static>(
    st: &Arc<AppState>,
    entry: AuditEntry,
    f: impl Future<Output = Result<T, ApiError>> + Send + 'static,
) -> Result<T, ApiError> {
    audited_with(st, entry, |entry| async move { (entry, f.await) }).await
}

/// [`audited`] for work that fills in its entry as it goes (a search's
/// record ids, its sighting): `f` is given the entry and hands it back.
pub(super) async fn audited_with<T, F, Fut>(
    st: &Arc<AppState>,
    entry: AuditEntry,
    f: F,
) -> Result<T, ApiError>
where
    T: Answer + Send + 'static,
    F: FnOnce(AuditEntry) -> Fut,
    Fut: Future<Output = (AuditEntry, Result<T, ApiError>)> + Send + 'static,
{
    let st = Arc::clone(st);
    let work = f(entry);
    tokio::spawn(async move {
        let (mut entry, result) = work.await;
        match &result {
            Ok(answer) => entry.status = answer.status(),
            Err(e) => entry.failed(e.status.as_u16(), e.code),
        }
        st.record(entry).await;
        result
    })
    .await?
}

/// The status an audited answer goes out with (a created record's 201).
pub(super) trait Answer {
    fn status(&self) -> u16 {
        200
    }
}

impl<T> Answer for Json<T> {}

impl Answer for Response {
    fn status(&self) -> u16 {
        Response::status(self).as_u16()
    }
}

/// No such record; an id longer than any record's (200 bytes, as import
/// refuses) is a malformed request, and is not echoed whole.
pub(super) fn not_found(id: &str) -> ApiError {
    if id.len() > crate::records::record::MAX_ID_BYTES {
        return ApiError::bad_request(format!(
            "a record id is at most {} bytes; this one is {} bytes, starting {:?}",
            crate::records::record::MAX_ID_BYTES,
            id.len(),
            super::bounded(id, 40)
        ));
    }
    ApiError::not_found(format!("no record with id {id:?}"))
}

/// `GET /v1/records/{id}` (expert).
pub async fn get_record(
    State(st): State<Arc<AppState>>,
    Remote(remote): Remote,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let caller = st.authorize(&headers, Role::Expert)?;
    let entry = audit_entry(&caller, "read_record", remote, &id);
    let engine = st.engine();
    audited(&st, entry, async move {
        let key = id.clone();
        let record = tokio::task::spawn_blocking(move || engine.record(&key))
            .await??
            .ok_or_else(|| not_found(&id))?;
        Ok(Json(json!({"record": record_json(&record)})))
    })
    .await
}

#[derive(Debug, Deserialize)]
pub struct ImageParams {
    /// Longest side wanted; the image is re-encoded as JPEG to fit.
    max: Option<String>,
}

/// The sizes `?max=` may ask for: a thumbnail to a large screen.
const MIN_SIDE: u32 = 16;
const MAX_SIDE: u32 = 4096;

/// `GET /v1/records/{id}/images/{n}` (officer: a result card shows it).
/// Phones cannot show every format a database holds (TIFF, HEIC), so
/// `?max=N` returns a JPEG of at most N pixels a side.
pub async fn get_image(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    Path((id, n)): Path<(String, String)>,
    Query(p): Query<ImageParams>,
) -> Result<Response, ApiError> {
    st.authorize(&headers, Role::Officer)?;
    // Parsed once the key is good, with a message that names the part.
    let n: usize = n.parse().map_err(|_| {
        ApiError::bad_request(format!(
            "the image number `n` is a whole number from 0, not {:?}",
            super::bounded(&n, 40)
        ))
    })?;
    let max = match p.max.as_deref().map(str::parse::<u32>) {
        None => None,
        Some(Ok(m)) if (MIN_SIDE..=MAX_SIDE).contains(&m) => Some(m),
        Some(_) => {
            return Err(ApiError::bad_request(format!(
                "`max` is the longest side wanted, a whole number of pixels ({MIN_SIDE} to {MAX_SIDE}), not {:?}",
                super::bounded(p.max.as_deref().unwrap_or_default(), 40)
            )));
        }
    };
    let engine = st.engine();
    tokio::task::spawn_blocking(move || {
        let paths = engine.image_paths(&id)?;
        if paths.is_empty() && engine.record(&id)?.is_none() {
            return Err(not_found(&id));
        }
        let path = paths.get(n).ok_or_else(|| {
            ApiError::not_found(format!(
                "record {id:?} has {} images; there is no image {n}",
                paths.len()
            ))
        })?;
        let path = std::path::Path::new(path);
        match max {
            None => {
                let bytes = std::fs::read(path).map_err(|e| {
                    // Where the server keeps its files is for its log, not the client.
                    tracing::error!("image {n} of record {id:?}: {}: {e}", path.display());
                    ApiError::internal(format!("image {n} of record {id:?} cannot be read"))
                })?;
                let mime = if crate::imaging::heic::is_heif(&bytes) {
                    "image/heic"
                } else {
                    image::guess_format(&bytes)
                        .map(|f| f.to_mime_type())
                        .unwrap_or("application/octet-stream")
                };
                Ok(([(header::CONTENT_TYPE, mime)], bytes).into_response())
            }
            Some(max) => {
                // The stored file, not the client's request, is at fault.
                let img = decode_path(path, engine.limits()).map_err(|e| {
                    tracing::error!("image {n} of record {id:?}: {e}");
                    ApiError::internal(format!("image {n} of record {id:?} cannot be shown"))
                })?;
                let img = crate::imaging::decode::fit_within(img, max);
                let mut out = Vec::new();
                image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85)
                    .encode_image(&img)
                    .map_err(|e| ApiError::internal(e.to_string()))?;
                Ok(([(header::CONTENT_TYPE, "image/jpeg")], Body::from(out)).into_response())
            }
        }
    })
    .await?
}

/// One uploaded image, checked and stored.
struct Upload {
    name: String,
    bytes: Vec<u8>,
}

async fn read_record_form(mut form: Multipart) -> Result<(Option<String>, Vec<Upload>), ApiError> {
    let read = read_record_fields(&mut form).await;
    if read.is_err() {
        super::drain(form).await;
    }
    read
}

async fn read_record_fields(
    form: &mut Multipart,
) -> Result<(Option<String>, Vec<Upload>), ApiError> {
    let mut record = None;
    let mut uploads = Vec::new();
    while let Some(field) = form.next_field().await? {
        let name = field.name().unwrap_or("").to_string();
        match name.as_str() {
            "record" => record = Some(field.text().await?),
            "image" | "images" => {
                let file = field
                    .file_name()
                    .map_or_else(|| format!("image {}", uploads.len()), str::to_string);
                uploads.push(Upload {
                    name: file,
                    bytes: field.bytes().await?.to_vec(),
                });
            }
            other => {
                return Err(ApiError::bad_request(format!(
                    "unknown form field {other:?} (expected record and image parts)"
                )));
            }
        }
    }
    Ok((record, uploads))
}

/// Parses the `record` part; the id comes from the URL when the JSON
/// leaves it out, and must agree with it otherwise.
fn parse_record(
    id: &str,
    json_text: Option<&str>,
    existing: Option<&Record>,
) -> Result<Record, ApiError> {
    let mut value: Value = match json_text {
        Some(t) => serde_json::from_str(t)
            .map_err(|e| ApiError::bad_request(format!("the `record` part is not JSON: {e}")))?,
        None => match existing {
            Some(r) => serde_json::to_value(r).expect("records serialise"),
            None => return Err(ApiError::bad_request("the form has no `record` part")),
        },
    };
    let obj = value
        .as_object_mut()
        .ok_or_else(|| ApiError::bad_request("the `record` part must be a JSON object"))?;
    // As an import reads it: a number is its text, blanks at the ends go.
    let given = match obj.get("id") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.trim().to_string()),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "the record's `id` must be text, not {other}"
            )));
        }
    };
    match given.as_deref() {
        None | Some("") => {}
        Some(other) if other != id => {
            return Err(ApiError::bad_request(format!(
                "the record's id {other:?} differs from the URL's {id:?}"
            )));
        }
        Some(_) => {}
    }
    obj.insert("id".into(), Value::String(id.into()));
    crate::records::io::parse_json_record(&value.to_string())
        .map_err(|e| ApiError::bad_request(format!("record {id:?}: {e}")))
}

/// Checks, stores (by SHA-256 under `uploads/`) and describes uploads.
fn store_uploads(
    st: &AppState,
    uploads: Vec<Upload>,
    limits: &DecodeLimits,
) -> Result<Vec<crate::store::StoredImage>, ApiError> {
    let dir = st.engine().paths().uploads();
    std::fs::create_dir_all(&dir).map_err(|e| ApiError::io(&dir, e))?;
    // Each image on a core of its own: a record's ten photos are described
    // in the time of a few; a bad one is named by its place and name.
    uploads
        .into_par_iter()
        .enumerate()
        .map(|(i, u)| {
            let img = decode_bytes(&u.bytes, &format!("image {i} ({})", u.name), limits)?;
            let path = dir.join(crate::engine::sha256_hex(&u.bytes));
            // Written even when present: the new mtime keeps `compact` from
            // removing it as unused before this request commits.
            crate::paths::write_atomic(&path, &u.bytes).map_err(|e| ApiError::io(&path, e))?;
            Ok(st
                .engine()
                .describe_reference(path.display().to_string(), img))
        })
        .collect()
}

/// `PUT /v1/records/{id}` (curator): multipart with a `record` JSON part
/// and `image` parts. The image parts, in order, become the record's
/// images; without any, the record keeps the images it has (a status
/// change, a corrected title). Image paths inside the JSON are ignored:
/// the API never reads files the client names on the server.
pub async fn put_record(
    State(st): State<Arc<AppState>>,
    Remote(remote): Remote,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Result<Multipart, MultipartRejection>,
) -> Result<Response, ApiError> {
    let caller = st.authorize(&headers, Role::Curator)?;
    st.writable()?;
    let form = form.map_err(ApiError::not_a_form)?;
    // Ids are stored trimmed: "rec-1 " would replace "rec-1" while
    // answering that it created a record.
    if id.trim() != id || id.is_empty() || id.chars().any(char::is_control) {
        return Err(ApiError::bad_request(format!(
            "record id {id:?}: blanks at its ends or control characters"
        )));
    }
    let entry = audit_entry(&caller, "put_record", remote, &id);
    let state = Arc::clone(&st);
    let window = st.write_window();
    audited(&st, entry, async move {
        let (json_text, uploads) = read_record_form(form).await?;
        tokio::task::spawn_blocking(move || {
            let engine = &state.engine();
            let existing = engine.record(&id)?;
            let mut record = parse_record(&id, json_text.as_deref(), existing.as_ref())?;
            if uploads.is_empty() {
                // Fields only (a status change): the photos and their
                // descriptors stay; nothing is described or rebuilt.
                if existing.is_none() {
                    return Err(ApiError::bad_request(format!(
                        "record {id:?} is new: send its photos as `image` parts"
                    )));
                }
                let _turn = window.take(engine)?;
                record.images = engine.image_paths(&id)?;
                if !engine.update_records(std::slice::from_ref(&record))?[0] {
                    return Err(not_found(&id)); // deleted meanwhile
                }
                let db = engine.database_state()?;
                return Ok(Json(json!({
                    "id": id,
                    "created": false,
                    "images": record.images.len(),
                    "record": record_json(&record),
                    "database": database_json(&db),
                }))
                .into_response());
            }
            let images = store_uploads(&state, uploads, engine.limits())?;
            record.images = images.iter().map(|i| i.path.clone()).collect();
            let count = images.len();
            let turn = window.take(engine)?;
            // Decided under the lock: of two PUTs creating one id, one creates.
            let created = engine.record(&id)?.is_none();
            engine.upsert(&[(record.clone(), images)])?;
            engine.refresh()?;
            // Searched without the lock: other writers need not wait.
            drop(turn);
            // The record is committed whatever the check says: a failed
            // check is retried by the next writer.
            let alerts = match engine.check_sightings() {
                Ok(check) => check.alerts,
                Err(e) => {
                    tracing::error!("kept sightings not checked for {id:?}: {e}");
                    Vec::new()
                }
            };
            let db = engine.database_state()?;
            let status = if !created {
                StatusCode::OK
            } else {
                StatusCode::CREATED
            };
            Ok((
                status,
                Json(json!({
                    "id": id,
                    "created": created,
                    "images": count,
                    "record": record_json(&record),
                    "database": database_json(&db),
                    "alerts": alerts.iter().map(super::api_sightings::alert_json).collect::<Vec<_>>(),
                })),
            )
                .into_response())
        })
        .await?
    })
    .await
}

/// `DELETE /v1/records/{id}` (curator).
pub async fn delete_record(
    State(st): State<Arc<AppState>>,
    Remote(remote): Remote,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let caller = st.authorize(&headers, Role::Curator)?;
    st.writable()?;
    let entry = audit_entry(&caller, "delete_record", remote, &id);
    let engine = st.engine();
    let window = st.write_window();
    audited(&st, entry, async move {
        tokio::task::spawn_blocking(move || {
            let _turn = window.take(&engine)?;
            if !engine.delete(&id)? {
                return Err(not_found(&id));
            }
            let db = engine.database_state()?;
            Ok(Json(
                json!({"id": id, "deleted": true, "database": database_json(&db)}),
            ))
        })
        .await?
    })
    .await
}

#[derive(Debug, Deserialize)]
pub struct AuditParams {
    limit: Option<String>,
    action: Option<String>,
    key: Option<String>,
    id: Option<String>,
}

/// `GET /v1/audit` (expert): newest first.
pub async fn read_audit(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(p): Query<AuditParams>,
) -> Result<Json<Value>, ApiError> {
    st.authorize(&headers, Role::Expert)?;
    let q = AuditQuery {
        limit: super::listing_limit(p.limit.as_deref(), 100, 1..=10_000)?,
        action: p.action.filter(|s| !s.is_empty()),
        key: p.key.filter(|s| !s.is_empty()),
        id: p.id.filter(|s| !s.is_empty()),
    };
    let state = Arc::clone(&st);
    let entries = tokio::task::spawn_blocking(move || state.audit.read(&q))
        .await?
        .map_err(|e| ApiError::internal(format!("cannot read the audit log: {e}")))?;
    Ok(Json(json!({"entries": entries})))
}
