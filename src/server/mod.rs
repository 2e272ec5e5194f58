//! `provenance serve`: the HTTP API and the web page, on axum/tokio.
//!
//! Searches run on tokio's blocking pool, at most a few at a time (a
//! search is CPU-bound and already parallel inside); the rest wait in a
//! bounded queue and are told to come back (503) beyond it, so a burst
//! degrades latency instead of memory. Writes take the index's write lock
//! on the blocking pool too; searches keep the `Arc` of the generation
//! they started with and never wait for a write. A watcher picks up what
//! other processes (a CLI import) commit, within a second.
//!
//! Owns: routes, keys and roles, rate limits, the audit log, request ids,
//! metrics, the error shape. Must not touch: matching logic; handlers are
//! thin calls into `crate::engine` on the blocking pool.

mod api_descriptors;
mod api_records;
mod api_reviews;
mod api_search;
mod api_sightings;
pub mod audit;
mod auth;
mod follow;

pub use follow::open as follow_open;
pub mod error;
pub mod keys;
pub mod metrics;
pub mod openapi;
pub mod peers;
pub mod ratelimit;
mod refusals;
pub mod request;
mod slots;
mod turns;
mod web;
mod webhook;

use crate::engine::Engine;
use audit::AuditLog;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use error::ApiError;
use keys::{KeyFile, KeySet};
use metrics::Metrics;
use ratelimit::RateLimiter;
use slots::SearchSlots;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How long SIGTERM waits for the requests in flight (Kubernetes' default
/// termination grace period is 30 s: stop before it sends SIGKILL).
const SHUTDOWN_GRACE: Duration = Duration::from_secs(25);

/// How the server faces the world.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub keys: PathBuf,
    pub audit: PathBuf,
    /// Keep searched photos here (by SHA-256); by default only their hash
    /// is logged.
    pub audit_photos: Option<PathBuf>,
    /// Largest request body (a photo upload, a record with its images).
    pub max_upload_bytes: usize,
    /// Whole-request deadline, slow uploads included.
    pub request_timeout: Duration,
    /// Searches computed at once.
    pub concurrent_searches: usize,
    /// Searches allowed to wait for a slot; beyond, 503.
    pub search_queue: usize,
    /// A connection must send its request headers within this.
    pub header_timeout: Duration,
    /// Connections open at once; more are refused.
    pub max_connections: usize,
    /// POST every retro-alert here (`webhook.rs`).
    pub alert_webhook: Option<String>,
    /// Serve the snapshot this folder's CURRENT names, and follow it
    /// (`follow.rs`); no writes.
    pub follow: Option<PathBuf>,
    /// Other servers asked with every search (`peers.rs`), and how long
    /// each may take.
    pub peers: Vec<peers::Peer>,
    pub peer_timeout: Duration,
}

impl ServeOptions {
    pub fn for_index(index: &std::path::Path) -> ServeOptions {
        ServeOptions {
            keys: index.join("keys.json"),
            audit: index.join("audit.jsonl"),
            audit_photos: None,
            max_upload_bytes: 32 << 20,
            request_timeout: Duration::from_secs(60),
            concurrent_searches: std::thread::available_parallelism().map_or(2, |n| n.get()),
            search_queue: 64,
            header_timeout: Duration::from_secs(10),
            max_connections: 1024,
            alert_webhook: None,
            follow: None,
            peers: Vec::new(),
            peer_timeout: Duration::from_secs(3),
        }
    }
}

struct Served {
    engine: Arc<Engine>,
    snapshot: Option<String>,
}

pub struct AppState {
    /// The index served and, when following a folder of snapshots, which
    /// snapshot it is: replaced together when a followed snapshot changes
    /// (`follow.rs`), so take the engine once per request with
    /// [`AppState::engine`].
    served: RwLock<Served>,
    pub opts: ServeOptions,
    keys: RwLock<Arc<KeySet>>,
    keys_stamp: Mutex<Option<FileStamp>>,
    pub limiter: RateLimiter,
    pub audit: AuditLog,
    pub metrics: Arc<Metrics>,
    searches: SearchSlots,
    /// The API's changes, one at a time, in arrival order (`turns.rs`).
    writers: Arc<tokio::sync::Mutex<()>>,
}

/// What tells that the keys file was written again: its inode, size and
/// change time too, not its modification time alone, which `cp -p`,
/// `rsync -t` or `install -p` carry over from the old file.
type FileStamp = (u64, u64, i64, i64, Option<SystemTime>);

fn stamp(path: &std::path::Path) -> Option<FileStamp> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path).ok()?;
    Some((
        m.ino(),
        m.len(),
        m.ctime(),
        m.ctime_nsec(),
        m.modified().ok(),
    ))
}

impl AppState {
    pub fn new(engine: Arc<Engine>, opts: ServeOptions) -> anyhow::Result<Arc<AppState>> {
        let keys = KeySet::new(KeyFile::load(&opts.keys)?);
        let audit = AuditLog::open(&opts.audit, opts.audit_photos.clone())
            .map_err(|e| anyhow::anyhow!("{}: {e}", opts.audit.display()))?;
        Ok(Arc::new(AppState {
            served: RwLock::new(Served {
                engine,
                snapshot: None,
            }),
            keys_stamp: Mutex::new(stamp(&opts.keys)),
            keys: RwLock::new(Arc::new(keys)),
            limiter: RateLimiter::default(),
            audit,
            metrics: Arc::new(Metrics::default()),
            // Half the request's time at most in the queue: the other half
            // is the search's.
            writers: Arc::new(tokio::sync::Mutex::new(())),
            searches: SearchSlots::new(
                opts.concurrent_searches,
                opts.search_queue,
                opts.request_timeout / 2,
            ),
            opts,
        }))
    }

    /// A change's window to write in, from now (its arrival): at most half
    /// the request's time waiting for other writers, as a search waits for
    /// a slot, so that it is never answered 408 and written later.
    pub(super) fn write_window(&self) -> turns::WriteWindow {
        turns::WriteWindow::new(&self.writers, self.opts.request_timeout)
    }

    /// The index as of now: a request keeps this one to its end.
    pub fn engine(&self) -> Arc<Engine> {
        Arc::clone(&self.served.read().unwrap_or_else(|p| p.into_inner()).engine)
    }

    /// The snapshot served, when following.
    pub fn snapshot(&self) -> Option<String> {
        self.served().1
    }

    /// The index and the snapshot it is, read together.
    fn served(&self) -> (Arc<Engine>, Option<String>) {
        let s = self.served.read().unwrap_or_else(|p| p.into_inner());
        (Arc::clone(&s.engine), s.snapshot.clone())
    }

    /// Serves `engine` (snapshot `name`) from the next request on.
    fn switch(&self, name: String, engine: Engine) {
        let new = Served {
            engine: Arc::new(engine),
            snapshot: Some(name),
        };
        let old = std::mem::replace(
            &mut *self.served.write().unwrap_or_else(|p| p.into_inner()),
            new,
        );
        // Unmapped outside the lock, if no request still holds it.
        drop(old);
    }

    /// Writes go to the primary: a replica following snapshots refuses them.
    pub fn writable(&self) -> Result<(), ApiError> {
        match &self.opts.follow {
            None => Ok(()),
            Some(_) => Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "read_only_replica",
                "this server is a replica serving a snapshot: send writes to the primary",
            )),
        }
    }

    pub fn keys(&self) -> Arc<KeySet> {
        self.keys.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Re-reads the keys file when it changed (a key added or revoked
    /// with the server running). A file that does not parse keeps the old
    /// keys and says so.
    fn reload_keys(&self) {
        let now = stamp(&self.opts.keys);
        let mut seen = self.keys_stamp.lock().unwrap_or_else(|p| p.into_inner());
        if *seen == now {
            return;
        }
        match KeyFile::load(&self.opts.keys) {
            Ok(f) => {
                *self.keys.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(KeySet::new(f));
                *seen = now;
                tracing::info!(keys = %self.opts.keys.display(), "keys reloaded");
            }
            Err(e) => tracing::error!("keys not reloaded (the previous keys stay): {e}"),
        }
    }

    /// Searches running and waiting, for `/metrics`.
    pub fn search_load(&self) -> (usize, usize) {
        self.searches.load()
    }

    /// A slot to compute a search in, after waiting in a bounded queue.
    async fn search_slot(&self) -> Result<OwnedSemaphorePermit, ApiError> {
        self.searches.acquire().await
    }

    /// Appends to the audit log off the async threads (it fsyncs). When the
    /// log cannot be written (its disk is full), the entry goes to the
    /// server's log instead, whole, and the request is still answered: an
    /// officer's search must not fail because of the audit's disk.
    pub(super) async fn record(self: &Arc<Self>, entry: audit::AuditEntry) {
        let st = Arc::clone(self);
        let line = serde_json::to_string(&entry).unwrap_or_default();
        let written = tokio::task::spawn_blocking(move || st.audit.append(&entry)).await;
        let error = match written {
            Ok(Ok(())) => return,
            Ok(Err(e)) => e.to_string(),
            Err(e) => e.to_string(),
        };
        tracing::error!(
            audit = %line,
            "cannot write the audit log {}: {error}; the entry is kept in this line",
            self.audit.path().display()
        );
    }
}

/// Reads what is left of a form refused part-way (bounded by the upload
/// limit): the client is still sending it, and answering before it is
/// read would close the connection under it (a broken pipe, not the
/// error that says what was wrong).
pub(super) async fn drain(mut form: axum::extract::Multipart) {
    while let Ok(Some(mut field)) = form.next_field().await {
        while let Ok(Some(_)) = field.chunk().await {}
    }
}

/// At most `max` bytes of `s`, cut at a character's boundary: what a
/// client sent, quoted back or kept, within bounds.
pub(super) fn bounded(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// A listing's `limit`: `default` when not given, else a whole number in
/// `allowed`; anything else is refused rather than quietly clamped.
pub(super) fn listing_limit(
    given: Option<&str>,
    default: usize,
    allowed: std::ops::RangeInclusive<usize>,
) -> Result<usize, error::ApiError> {
    match given.map(|s| s.trim().parse::<usize>()) {
        None => Ok(default),
        Some(Ok(n)) if allowed.contains(&n) => Ok(n),
        _ => Err(error::ApiError::bad_request(format!(
            "`limit` must be a whole number from {} to {}",
            allowed.start(),
            allowed.end()
        ))),
    }
}

/// Every route; `openapi.json` describes exactly these (a test checks).
pub fn router(state: Arc<AppState>) -> Router {
    use axum::routing::{get, post};
    let api = Router::new()
        .route("/v1/search", post(api_search::search_photo))
        .route("/v1/search/text", get(api_search::search_text))
        .route(
            "/v1/search/descriptors",
            post(api_descriptors::search_descriptors),
        )
        .route(
            "/v1/records/{id}",
            get(api_records::get_record)
                .put(api_records::put_record)
                .delete(api_records::delete_record),
        )
        .route("/v1/records/{id}/images/{n}", get(api_records::get_image))
        .route("/v1/audit", get(api_records::read_audit))
        .route(
            "/v1/reviews",
            get(api_reviews::list_reviews).post(api_reviews::post_review),
        )
        .route("/v1/sightings", get(api_sightings::list_sightings))
        .route(
            "/v1/sightings/{id}",
            axum::routing::delete(api_sightings::delete_sighting),
        )
        .route("/v1/alerts", get(api_sightings::list_alerts))
        .route("/healthz", get(health))
        .route("/readyz", get(ready))
        .route("/metrics", get(api_search::metrics))
        .route("/v1/me", get(api_search::me))
        .route("/openapi.json", get(openapi::serve));
    let metrics = Arc::clone(&state.metrics);
    web::routes()
        .merge(api)
        .fallback(no_route)
        .method_not_allowed_fallback(wrong_method)
        .layer(DefaultBodyLimit::max(state.opts.max_upload_bytes))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(
            state.opts.max_upload_bytes,
        ))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            state.opts.request_timeout,
        ))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(panicked))
        .layer(axum::middleware::from_fn(error::json_errors))
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state),
            refusals::refusals,
        ))
        .layer(axum::middleware::from_fn(request::track))
        // Outermost: counts and times every answer, refusals included.
        .layer(axum::middleware::from_fn_with_state(
            metrics,
            metrics::track,
        ))
        .with_state(state)
}

async fn health() -> &'static str {
    "ok\n"
}

/// Ready when the database answers; says how much it holds.
async fn ready(
    axum::extract::State(st): axum::extract::State<Arc<AppState>>,
) -> Result<axum::Json<serde_json::Value>, ApiError> {
    let (engine, snapshot) = st.served();
    let db = tokio::task::spawn_blocking(move || {
        engine.check_store()?;
        engine.database_state()
    })
    .await??;
    Ok(axum::Json(
        serde_json::json!({"ready": true, "database": db, "snapshot": snapshot}),
    ))
}

async fn no_route(uri: axum::http::Uri) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "no_route",
        format!("no such endpoint: {}", uri.path()),
    )
}

async fn wrong_method(method: axum::http::Method, uri: axum::http::Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{method} is not allowed on {}", uri.path()),
    )
}

fn panicked(_: Box<dyn std::any::Any + Send + 'static>) -> axum::response::Response {
    use axum::response::IntoResponse;
    ApiError::internal("the request failed inside the server; it keeps running").into_response()
}

/// Runs the server until SIGINT/SIGTERM. Prints `listening on http://ADDR`
/// on stdout once it accepts connections (tests and scripts wait for it).
pub fn serve(engine: Engine, addr: SocketAddr, opts: ServeOptions) -> anyhow::Result<()> {
    serve_snapshot(engine, None, addr, opts)
}

/// [`serve`], saying which snapshot `engine` is (`serve --follow`).
pub fn serve_snapshot(
    engine: Engine,
    snapshot: Option<String>,
    addr: SocketAddr,
    opts: ServeOptions,
) -> anyhow::Result<()> {
    let state = AppState::new(Arc::new(engine), opts)?;
    state
        .served
        .write()
        .unwrap_or_else(|p| p.into_inner())
        .snapshot = snapshot;
    if state.keys().is_empty() {
        anyhow::bail!(
            "{}: no API keys: make one with `provenance keys add --keys {} --role officer --name NAME`",
            state.opts.keys.display(),
            state.opts.keys.display()
        );
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let local = listener.local_addr()?;
        tokio::spawn(watch(Arc::clone(&state)));
        if let Some(root) = state.opts.follow.clone() {
            tokio::spawn(follow::watch(Arc::clone(&state), root));
        }
        if let Some(url) = state.opts.alert_webhook.clone() {
            tokio::spawn(webhook::deliver(Arc::clone(&state), url));
        }
        let limits = (state.opts.header_timeout, state.opts.max_connections);
        let app = router(state);
        println!("listening on http://{local}");
        use std::io::Write;
        std::io::stdout().flush()?;
        accept(listener, app, limits.0, limits.1).await;
        tracing::info!("stopped");
        Ok(())
    })
}

/// The accept loop. `axum::serve` sets no header deadline, so a client
/// that sends half a request line and waits would hold its connection
/// (and a file descriptor) forever; here every connection must deliver
/// its headers within `header_timeout`, and at most `max_connections`
/// are open at once (more are closed at once rather than queued).
async fn accept(
    listener: tokio::net::TcpListener,
    app: Router,
    header_timeout: Duration,
    max_connections: usize,
) {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use tower::ServiceExt;
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let open = Arc::new(Semaphore::new(max_connections));
    let mut stop = std::pin::pin!(shutdown());
    loop {
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(c) => c,
                Err(e) => {
                    // Out of descriptors, say: wait rather than spin.
                    tracing::error!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = &mut stop => break,
        };
        let Ok(permit) = Arc::clone(&open).try_acquire_owned() else {
            continue; // over the limit: dropped, the client sees a reset
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let service =
            hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
                req.extensions_mut()
                    .insert(axum::extract::ConnectInfo(remote));
                app.clone().oneshot(req.map(axum::body::Body::new))
            });
        let conn = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(header_timeout)
            .serve_connection(TokioIo::new(stream), service);
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            let _ = conn.await;
            drop(permit);
        });
    }
    // Let requests in flight finish, for a while.
    tracing::info!(
        in_flight = max_connections - open.available_permits(),
        "stopping: no new connections; finishing the requests in flight"
    );
    tokio::select! {
        _ = graceful.shutdown() => {}
        _ = tokio::time::sleep(SHUTDOWN_GRACE) => {
            tracing::warn!("requests still in flight after {SHUTDOWN_GRACE:?}: stopping anyway");
        }
    }
}

/// Once a second: commits by other processes, and the keys file.
async fn watch(state: Arc<AppState>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let st = Arc::clone(&state);
        let result = tokio::task::spawn_blocking(move || {
            st.reload_keys();
            st.engine().reload()
        })
        .await;
        match result {
            Ok(Ok(true)) => tracing::info!(
                generation = state.engine().generation().manifest.generation,
                "serving a newer generation"
            ),
            Ok(Ok(false)) => {}
            // Keep serving what was last opened: consistent, only older.
            Ok(Err(e)) => {
                tracing::error!("index reload failed (still serving the previous state): {e}")
            }
            Err(e) => tracing::error!("index reload failed: {e}"),
        }
    }
}

async fn shutdown() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        tokio::select! {
            _ = ctrl_c => {},
            _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {},
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
