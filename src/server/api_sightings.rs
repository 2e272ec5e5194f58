//! Sightings and retro-alerts through the API (role expert):
//! `GET /v1/sightings`, `DELETE /v1/sightings/{id}`, `GET /v1/alerts`.
//! A search keeps its photo as a sighting with `keep=true`
//! (`api_search.rs`); a record added later that the photo shows raises
//! an alert (`crate::engine::Engine::check_sightings`).

use super::AppState;
use super::api_records::{audit_entry, audited};
use super::auth::Remote;
use super::error::ApiError;
use super::keys::Role;
use crate::records::sighting::Sighting;
use crate::store::Alert;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;

/// A sighting as the API shows it: where the server keeps the photo is
/// nobody's business.
pub fn sighting_json(s: &Sighting) -> Value {
    let mut v = serde_json::to_value(s).expect("sightings serialise");
    if let Some(obj) = v.as_object_mut() {
        obj.remove("photo");
    }
    v
}

pub fn alert_json(a: &Alert) -> Value {
    let mut v = serde_json::to_value(a).expect("alerts serialise");
    if let Some(obj) = v.as_object_mut() {
        obj.insert("sighting".into(), sighting_json(&a.sighting));
    }
    v
}

#[derive(Debug, Deserialize)]
pub struct ListParams {
    limit: Option<String>,
}

/// `GET /v1/sightings[?limit=N]` (expert): the newest `limit` (1,000) kept
/// sightings, and how many there are.
pub async fn list_sightings(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(p): Query<ListParams>,
) -> Result<Json<Value>, ApiError> {
    st.authorize(&headers, Role::Expert)?;
    let limit = super::listing_limit(p.limit.as_deref(), 1_000, 1..=10_000)?;
    let engine = st.engine();
    let all = tokio::task::spawn_blocking(move || engine.list_sightings()).await??;
    Ok(Json(json!({
        "count": all.len(),
        "sightings": all.iter().take(limit).map(sighting_json).collect::<Vec<_>>(),
    })))
}

/// `DELETE /v1/sightings/{id}` (expert): the sighting, its alerts and
/// its uploaded photo.
pub async fn delete_sighting(
    State(st): State<Arc<AppState>>,
    Remote(remote): Remote,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let caller = st.authorize(&headers, Role::Expert)?;
    st.writable()?;
    let entry = audit_entry(&caller, "delete_sighting", remote, &id);
    let engine = st.engine();
    audited(&st, entry, async move {
        tokio::task::spawn_blocking(move || {
            if !engine.delete_sighting(&id)? {
                return Err(ApiError::not_found(format!("no sighting with id {id:?}")));
            }
            Ok(Json(json!({"id": id, "deleted": true})))
        })
        .await?
    })
    .await
}

#[derive(Debug, Deserialize)]
pub struct AlertParams {
    since: Option<String>,
    verdict: Option<String>,
    limit: Option<String>,
}

/// Alerts in one answer unless `limit` says otherwise, and the most it
/// may say: each alert carries its listing and evidence (a few KB), and a
/// page that only shows the count must not fetch them all.
const ALERTS_SHOWN: usize = 100;
const MAX_ALERTS_SHOWN: usize = 1_000;

/// `GET /v1/alerts[?since=DATE][&verdict=match,partial][&limit=N]`
/// (expert): the newest `limit` (100) of those the filters keep, how many
/// they keep (`matching`), and the total of every alert kept.
pub async fn list_alerts(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(p): Query<AlertParams>,
) -> Result<Json<Value>, ApiError> {
    st.authorize(&headers, Role::Expert)?;
    let filter = crate::store::AlertFilter::parse(p.since.as_deref(), p.verdict.as_deref())
        .map_err(ApiError::bad_request)?;
    // 0: the counts alone.
    let limit = super::listing_limit(p.limit.as_deref(), ALERTS_SHOWN, 0..=MAX_ALERTS_SHOWN)?;
    // The page's header asks the count alone, on every navigation: no
    // alert is read for it.
    let count_only = limit == 0 && filter.is_empty();
    let engine = st.engine();
    let (alerts, total) = tokio::task::spawn_blocking(move || {
        let alerts = match count_only {
            true => Vec::new(),
            false => engine.alerts(&filter)?,
        };
        Ok::<_, crate::engine::EngineError>((alerts, engine.alert_count()?))
    })
    .await??;
    let matching = if count_only {
        total as usize
    } else {
        alerts.len()
    };
    Ok(Json(json!({
        "total": total,
        "matching": matching,
        "alerts": alerts.iter().take(limit).map(alert_json).collect::<Vec<_>>(),
    })))
}
