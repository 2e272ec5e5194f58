//! Prometheus metrics: requests and latency by route and status, searches
//! by verdict and their time by stage, the size of the database, and the
//! retro-alerts raised.

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::sync::Arc;
use std::time::Instant;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub route: String,
    pub method: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub route: String,
    pub method: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StageLabels {
    pub stage: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct VerdictLabels {
    pub verdict: String,
}

type HistogramFamily = Family<RouteLabels, Histogram, fn() -> Histogram>;

pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: HistogramFamily,
    searches: Family<VerdictLabels, Counter>,
    /// Photo searches' seconds by stage (`crate::search::response::Stages`).
    stages: Family<StageLabels, Histogram, fn() -> Histogram>,
    records: Gauge,
    images: Gauge,
    running: Gauge,
    queued: Gauge,
    alerts: Counter,
    /// Alerts POSTed to `--alert-webhook`, by outcome.
    deliveries: Family<OutcomeLabels, Counter>,
    /// The store's last alert id when last rendered: the counter grows by
    /// the difference (alerts raised by a CLI import count too).
    alerts_seen: std::sync::atomic::AtomicU64,
}

fn latency_histogram() -> Histogram {
    // 5 ms to ~20 s.
    Histogram::new(exponential_buckets(0.005, 2.0, 13))
}

fn stage_histogram() -> Histogram {
    // 1 ms to ~8 s: a stage can take a millisecond.
    Histogram::new(exponential_buckets(0.001, 2.0, 14))
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        let latency: HistogramFamily = Family::new_with_constructor(latency_histogram);
        let searches = Family::<VerdictLabels, Counter>::default();
        let stages: Family<StageLabels, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(stage_histogram);
        registry.register(
            "provenance_search_stage_seconds",
            "Photo search time by stage (describe, candidates, pixels, objects, rank)",
            stages.clone(),
        );
        let records = Gauge::default();
        let images = Gauge::default();
        registry.register(
            "provenance_http_requests",
            "HTTP requests by route, method and status",
            requests.clone(),
        );
        registry.register(
            "provenance_http_request_duration_seconds",
            "HTTP request latency by route and method",
            latency.clone(),
        );
        registry.register(
            "provenance_searches",
            "Photo searches by the verdict of the best candidate",
            searches.clone(),
        );
        registry.register(
            "provenance_records",
            "Records in the database",
            records.clone(),
        );
        registry.register(
            "provenance_images",
            "Reference images indexed",
            images.clone(),
        );
        let (running, queued) = (Gauge::default(), Gauge::default());
        registry.register(
            "provenance_searches_running",
            "Photo searches computing now (at most --concurrent-searches)",
            running.clone(),
        );
        registry.register(
            "provenance_searches_queued",
            "Photo searches waiting for a slot (beyond the queue, 503): a replica's load",
            queued.clone(),
        );
        let alerts = Counter::default();
        registry.register(
            "provenance_alerts",
            "Retro-alerts raised: a record added after a kept sighting showed it",
            alerts.clone(),
        );
        let deliveries = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "provenance_alert_webhook_posts",
            "Alerts POSTed to the webhook, by outcome (delivered, failed: retried)",
            deliveries.clone(),
        );
        Metrics {
            registry,
            deliveries,
            requests,
            latency,
            searches,
            stages,
            records,
            images,
            running,
            queued,
            alerts,
            alerts_seen: Default::default(),
        }
    }
}

impl Metrics {
    pub fn search_verdict(&self, verdict: &str) {
        self.searches
            .get_or_create(&VerdictLabels {
                verdict: verdict.into(),
            })
            .inc();
    }

    /// Where one photo search's time went.
    pub fn search_stages(&self, stages: &crate::search::response::Stages) {
        for (stage, seconds) in stages.named() {
            self.stages
                .get_or_create(&StageLabels {
                    stage: stage.into(),
                })
                .observe(seconds);
        }
    }

    /// One POST of an alert: `delivered`, `failed` (retried) or
    /// `set_aside` (refused for its content, not retried).
    pub fn alert_delivered(&self, outcome: &str) {
        self.deliveries
            .get_or_create(&OutcomeLabels {
                outcome: outcome.into(),
            })
            .inc();
    }

    /// The text exposition, with the database counts and the searches
    /// (running, queued) as of now.
    pub fn render(&self, records: u64, images: u64, alerts: u64, load: (usize, usize)) -> String {
        self.records.set(records as i64);
        self.images.set(images as i64);
        self.running.set(load.0 as i64);
        self.queued.set(load.1 as i64);
        use std::sync::atomic::Ordering;
        let before = self.alerts_seen.swap(alerts, Ordering::SeqCst);
        if alerts > before {
            self.alerts.inc_by(alerts - before);
        }
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String cannot fail");
        out
    }
}

/// Middleware: counts and times every request under its route pattern
/// (`/v1/records/{id}`, not the id: label values must stay few).
pub async fn track(State(metrics): State<Arc<Metrics>>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    // Any token is a method to HTTP: unknown ones share one label, or a
    // client could grow the metrics without end.
    const KNOWN: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"];
    let method = match KNOWN.contains(&req.method().as_str()) {
        true => req.method().as_str(),
        false => "other",
    }
    .to_string();
    let started = Instant::now();
    let resp = next.run(req).await;
    metrics
        .latency
        .get_or_create(&RouteLabels {
            route: route.clone(),
            method: method.clone(),
        })
        .observe(started.elapsed().as_secs_f64());
    metrics
        .requests
        .get_or_create(&RequestLabels {
            route,
            method,
            status: resp.status().as_u16(),
        })
        .inc();
    resp
}
