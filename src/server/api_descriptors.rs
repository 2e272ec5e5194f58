//! `POST /v1/search/descriptors`: a peer's photo search sent as the
//! photo's descriptors (`crate::describe::wire`), answered with our
//! candidates for the asker to judge by the pixels it holds
//! (`crate::search::remote`). No photo reaches this server, and none is
//! kept or audited: the audit line says what was asked with, not a hash.

use super::AppState;
use super::api_records::audited_with;
use super::api_search::parse_top;
use super::audit::AuditEntry;
use super::auth::Remote;
use super::error::ApiError;
use super::keys::Role;
use crate::describe::wire::WireQuery;
use crate::search::remote::RemoteAnswer;
use crate::search::response::SearchOptions;
use crate::search::scoring::CALIBRATION;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequest, Query, Request, State};
use axum::http::HeaderMap;
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;

#[derive(Deserialize)]
pub struct DescriptorParams {
    top: Option<String>,
    #[serde(rename = "type")]
    object_type: Option<String>,
}

/// `POST /v1/search/descriptors?top=…&type=…`, a JSON body.
pub async fn search_descriptors(
    State(st): State<Arc<AppState>>,
    Remote(remote): Remote,
    headers: HeaderMap,
    Query(p): Query<DescriptorParams>,
    request: Request,
) -> Result<Json<Value>, ApiError> {
    let caller = st.authorize(&headers, Role::Officer)?;
    // Read only once the key is good: a body is up to the upload limit.
    let body = Bytes::from_request(request, &st)
        .await
        .map_err(|r| ApiError::unreadable_body(r.status(), r.body_text()))?;
    let entry = AuditEntry::new(
        caller.name,
        caller.role.as_str(),
        "search_descriptors",
        remote,
        json!({"type": p.object_type, "top": p.top, "descriptors_bytes": body.len()}),
    );
    // Audited even when the request times out (`api_search::search_photo`).
    let state = Arc::clone(&st);
    audited_with(&st, entry, move |mut entry| async move {
        let result = run(&state, p, body).await;
        if let Ok(answer) = &result {
            let mut ids: Vec<String> = Vec::new();
            for c in &answer.candidates {
                if !ids.contains(&c.id) {
                    ids.push(c.id.clone());
                }
            }
            entry.ids = ids;
        }
        let answer = result.map(|a| Json(serde_json::to_value(a).expect("answers serialise")));
        (entry, answer)
    })
    .await
}

async fn run(
    st: &Arc<AppState>,
    p: DescriptorParams,
    body: Bytes,
) -> Result<RemoteAnswer, ApiError> {
    let top = p.top.as_deref().map(parse_top).transpose()?.unwrap_or(10);
    let wire: WireQuery = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("descriptors: not a query ({e})")))?;
    let slot = st.search_slot().await?;
    let engine = st.engine();
    let opts = SearchOptions {
        top,
        object_type: p.object_type.filter(|t| !t.trim().is_empty()),
        ..SearchOptions::default()
    };
    let answer = tokio::task::spawn_blocking(move || {
        let _slot = slot; // held by the work, not by the request
        let query = wire
            .decode(engine.describer().embedder(), CALIBRATION)
            .map_err(|e| ApiError::bad_request(format!("descriptors: {e}")))?;
        let (database, candidates) = engine.search_descriptors(&query, &opts)?;
        Ok::<_, ApiError>(RemoteAnswer {
            calibration: CALIBRATION.to_string(),
            database,
            candidates,
        })
    })
    .await??;
    Ok(answer)
}
