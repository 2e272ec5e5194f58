//! The router in-process (`oneshot`, no socket): every route the OpenAPI
//! document lists is served, and the document is served as it is built.

use super::util::Index;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use provenance::engine::Engine;
use provenance::server::keys::{KeyFile, Role};
use provenance::server::openapi::{ROUTES, document};
use provenance::server::{AppState, ServeOptions, router};
use std::sync::Arc;
use tower::ServiceExt;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_route_is_served() {
    let ix = Index::demo();
    let dir = ix.path().join("ix");
    let mut opts = ServeOptions::for_index(&dir);
    opts.keys = ix.path().join("keys.json");
    let (secret, _) = KeyFile::add(&opts.keys, "admin-1", Role::Admin, None, false).unwrap();
    let engine = Engine::open(&dir).unwrap();
    let app = router(AppState::new(Arc::new(engine), opts).unwrap());
    for (method, path) in ROUTES {
        let uri = path.replace("{id}", "demo-015").replace("{n}", "0");
        let req = Request::builder()
            .method(method.to_uppercase().as_str())
            .uri(&uri)
            .header("Authorization", format!("Bearer {secret}"))
            .body(Body::empty())
            .unwrap();
        let resp = app.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        let text = String::from_utf8_lossy(&body);
        // Whatever the answer (a body-less PUT is a 400), it comes from
        // the route, not from the fallbacks.
        assert!(
            !text.contains("\"no_route\"") && status != StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}: {status} {text}"
        );
        if status.is_client_error() || status.is_server_error() {
            let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert!(v["error"]["code"].is_string(), "{method} {path}: {v}");
        }
    }
    let resp = app
        .oneshot(Request::get("/openapi.json").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    let served: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(served, document());
}
