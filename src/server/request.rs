//! Every request's id: the caller's `x-request-id` (a load balancer's) when
//! it is sane, one made here otherwise. It comes back in the response's
//! header and in every error body, and stands in the audit entry and in
//! each log line about the request, so that one id ties a 5xx to its cause.

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::Response;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// What the log and the audit know about the request being answered.
#[derive(Debug, Clone)]
pub struct RequestContext {
    pub id: String,
    pub method: Method,
    pub path: String,
    /// Set when its handler made an audit entry for it: a refusal no
    /// handler audited is audited by `audit::refusals`.
    pub audited: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

tokio::task_local! {
    static CONTEXT: RequestContext;
}

/// The request this task answers, if any (not on the blocking pool: take
/// what is needed before `spawn_blocking`).
pub fn current() -> Option<RequestContext> {
    CONTEXT.try_with(Clone::clone).ok()
}

pub fn current_id() -> Option<String> {
    CONTEXT.try_with(|c| c.id.clone()).ok()
}

/// Marks the request being answered as audited by its handler.
pub fn mark_audited() {
    let _ = CONTEXT.try_with(|c| c.audited.store(true, std::sync::atomic::Ordering::Relaxed));
}

/// Middleware, outermost but for the metrics: gives the request its id
/// for everything inside, and returns it in the `x-request-id` header.
pub async fn track(req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| is_sane(v))
        .map_or_else(new_id, str::to_string);
    let ctx = RequestContext {
        id: id.clone(),
        method: req.method().clone(),
        path: req.uri().path().to_string(),
        audited: Default::default(),
    };
    let mut resp = CONTEXT.scope(ctx, next.run(req)).await;
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert(REQUEST_ID, v);
    }
    resp
}

/// A caller's id is kept when it is short and plain (it is logged and
/// echoed: no control characters, no log injection).
fn is_sane(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
}

/// 64 random bits in hex: unique enough to find one request in a log.
fn new_id() -> String {
    let mut b = [0u8; 8];
    if getrandom::fill(&mut b).is_err() {
        // No entropy source: a counter still tells requests apart.
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(0);
        b = NEXT.fetch_add(1, Ordering::Relaxed).to_be_bytes();
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_ids_are_kept() {
        assert!(is_sane("lb-7f3a.9:1"));
        assert!(!is_sane(""));
        assert!(!is_sane("a\nforged log line"));
        assert!(!is_sane(&"x".repeat(65)));
        assert_eq!(new_id().len(), 16);
        assert_ne!(new_id(), new_id());
    }
}
