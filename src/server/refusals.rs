//! Refusals no handler audited: a body that could not be read, a request
//! the framework answered before its handler ran, a key whose role is too
//! small. The audit holds every refused change and search made with a
//! valid key; requests with no valid key and over a key's rate are only
//! logged, so that a flood of them cannot slow the audit (each line is
//! fsynced) on which every search waits.

use super::AppState;
use super::audit::AuditEntry;
use super::error::ErrorCode;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use serde_json::json;
use std::net::SocketAddr;
use std::sync::Arc;

/// Paths are kept to this many bytes in the entry.
const MAX_PATH: usize = 200;

/// Middleware, inside `request::track`.
pub async fn refusals(State(st): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let remote = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string());
    // The key is looked up only for a refusal: answers that went well
    // cost nothing more.
    let authorization = req.headers().get(header::AUTHORIZATION).cloned();
    let resp = next.run(req).await;
    let status = resp.status();
    let write = !matches!(method, Method::GET | Method::HEAD | Method::OPTIONS);
    let refused = status.is_client_error() || status == StatusCode::SERVICE_UNAVAILABLE;
    let audited = super::request::current()
        .is_some_and(|c| c.audited.load(std::sync::atomic::Ordering::Relaxed));
    if !refused
        || audited
        || status == StatusCode::TOO_MANY_REQUESTS
        || !(write || status == StatusCode::FORBIDDEN)
    {
        return resp;
    }
    let key = authorization
        .as_ref()
        .and_then(|v| v.to_str().ok())
        .and_then(super::auth::bearer)
        .and_then(|secret| {
            let keys = st.keys();
            keys.find(secret).map(|k| (k.name.clone(), k.role.as_str()))
        });
    let Some((name, role)) = key else {
        return resp;
    };
    let shown = super::bounded(&path, MAX_PATH);
    let mut entry = AuditEntry::new(
        name,
        role,
        "refused",
        remote,
        json!({"method": method.as_str(), "path": shown}),
    );
    let code = resp
        .extensions()
        .get::<ErrorCode>()
        .map_or("error", |c| c.0);
    entry.failed(status.as_u16(), code);
    st.record(entry).await;
    resp
}
