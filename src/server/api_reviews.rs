//! Experts' decisions on candidates: `POST /v1/reviews` keeps one,
//! `GET /v1/reviews` lists them (`crate::store::Review`). A search of the
//! same photo shows the decision beside the candidate.

use super::api_records::{audit_entry, audited};
use super::auth::Remote;
use super::error::ApiError;
use super::keys::Role;
use super::{AppState, bounded};
use crate::store::{Decision, Review};
use axum::Json;
use axum::extract::{FromRequest, Query, State};
use axum::http::HeaderMap;
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;

/// A note longer than this is refused: a decision is not a report.
const MAX_NOTE: usize = 4_000;

#[derive(Debug, Deserialize)]
pub struct ReviewBody {
    photo_sha256: String,
    record: String,
    decision: String,
    #[serde(default)]
    note: String,
}

/// `POST /v1/reviews` (expert): `{"photo_sha256", "record", "decision":
/// "confirmed" | "rejected", "note"}`, the photo as the search answered it
/// (`query.sha256`).
pub async fn post_review(
    State(st): State<Arc<AppState>>,
    Remote(remote): Remote,
    headers: HeaderMap,
    request: axum::extract::Request,
) -> Result<Json<Value>, ApiError> {
    let caller = st.authorize(&headers, Role::Expert)?;
    st.writable()?;
    // Read only once the key is good.
    let Json(body) = Json::<ReviewBody>::from_request(request, &st)
        .await
        .map_err(|e| ApiError::unreadable_body(e.status(), format!("review body: {e}")))?;
    // A refused review is audited too, but not with whatever it carried:
    // a 2 MB note would be copied into the log before being refused.
    let mut entry = audit_entry(&caller, "review", remote, bounded(&body.record, 200));
    entry.request = match body.note.len() <= MAX_NOTE {
        true => json!({"decision": bounded(&body.decision, 20), "note": body.note}),
        false => json!({"decision": bounded(&body.decision, 20), "note_bytes": body.note.len()}),
    };
    entry.photo_sha256 = Some(bounded(&body.photo_sha256, 64).to_string());
    let engine = st.engine();
    audited(&st, entry, async move {
        let decision = Decision::parse(&body.decision).ok_or_else(|| {
            ApiError::bad_request(format!(
                "decision {:?}: it is \"confirmed\" or \"rejected\"",
                body.decision
            ))
        })?;
        let sha = body.photo_sha256.to_ascii_lowercase();
        if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ApiError::bad_request(
                "photo_sha256: the 64 hex digits of the photo's SHA-256, as a search answers in query.sha256",
            ));
        }
        if body.note.len() > MAX_NOTE {
            return Err(ApiError::bad_request(format!(
                "note: at most {MAX_NOTE} bytes"
            )));
        }
        let review = Review {
            photo_sha256: sha,
            record: body.record,
            decision,
            note: body.note,
            by: caller.name.clone(),
            at: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
        };
        tokio::task::spawn_blocking(move || {
            if engine.record(&review.record)?.is_none() {
                return Err(super::api_records::not_found(&review.record));
            }
            engine.review(&review)?;
            Ok(Json(json!({"review": review})))
        })
        .await?
    })
    .await
}

#[derive(Debug, Deserialize)]
pub struct ReviewParams {
    photo: Option<String>,
    limit: Option<String>,
}

/// `GET /v1/reviews[?photo=SHA256]` (expert): newest first.
pub async fn list_reviews(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(p): Query<ReviewParams>,
) -> Result<Json<Value>, ApiError> {
    st.authorize(&headers, Role::Expert)?;
    let limit = super::listing_limit(p.limit.as_deref(), 1_000, 1..=10_000)?;
    let engine = st.engine();
    let photo = p
        .photo
        .filter(|s| !s.is_empty())
        .map(|s| s.to_ascii_lowercase());
    if let Some(sha) = &photo
        && (sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        return Err(ApiError::bad_request(format!(
            "`photo` is a photo's SHA-256 (64 hexadecimal digits), not {:?}",
            bounded(sha, 80)
        )));
    }
    let mut reviews =
        tokio::task::spawn_blocking(move || engine.reviews(photo.as_deref())).await??;
    reviews.truncate(limit);
    Ok(Json(json!({"reviews": reviews})))
}
