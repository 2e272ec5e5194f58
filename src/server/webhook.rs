//! `serve --alert-webhook URL`: every retro-alert POSTed as JSON to the
//! site's own alerting (a chat bridge, a case system), whoever raised it
//! (a PUT, a CLI import). A task of its own reads the store's alerts
//! after the last one delivered, so delivery never holds up an import or
//! a request; a failed POST is retried with a growing pause, and the last
//! delivered id is kept in a file beside the index, so a restart
//! resumes where delivery stopped (at least once: a crash between the
//! POST and the file may send one alert twice; its `id` tells).
//!
//! Only one process delivers from a folder (replicas may share it): the
//! others wait on a lock file and take over when it is released. A
//! redirect is never followed (a POST followed by GET would deliver
//! nothing and look delivered). An alert the receiver refuses for its
//! content (400, 413, 422) is set aside after a few tries, in
//! `alerts.undelivered`, so that it cannot hold back the alerts after it;
//! any other failure (the receiver down, a wrong URL or key) is retried
//! until it passes, so nothing is skipped while a site fixes its end.

use super::AppState;
use super::api_sightings::alert_json;
use crate::store::writelock::WriteLock;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// How often the store is looked at for new alerts.
const POLL: Duration = Duration::from_secs(1);
/// Longest pause between two tries of a failing endpoint.
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// A POST that takes longer has failed.
const POST_TIMEOUT: Duration = Duration::from_secs(10);
/// Tries of an alert the receiver refuses for its content before it is
/// set aside: a refusal that a retry cannot change, but a receiver being
/// redeployed may answer oddly for a moment.
const REFUSALS: u32 = 5;
/// How often a server that does not deliver looks whether it may.
const TAKE_OVER: Duration = Duration::from_secs(10);

/// What became of one POST.
enum Sent {
    Delivered,
    /// Retry it: the receiver is down, busy or wrongly configured.
    Failed(String),
    /// The receiver refuses this alert's content.
    Refused(String),
}

/// Where the last delivered alert's id is kept.
fn cursor_file(st: &AppState) -> PathBuf {
    st.engine().paths().root().join("alerts.delivered")
}

/// Delivers alerts to `url` until the server stops.
pub async fn deliver(st: Arc<AppState>, url: String) {
    let root = st.engine().paths().root().to_path_buf();
    let _deliverer = loop {
        match WriteLock::try_acquire(&root.join("alerts.delivering")) {
            Ok(Some(lock)) => break lock,
            Ok(None) => {
                tracing::info!("alert webhook: another server delivers this folder's alerts");
            }
            Err(e) => tracing::error!("alert webhook: lock file: {e}"),
        }
        tokio::time::sleep(TAKE_OVER).await;
    };
    let file = cursor_file(&st);
    // First start: alerts from now on, not every past one.
    let mut cursor = match std::fs::read_to_string(&file) {
        Ok(s) => s.trim().parse::<i64>().unwrap_or(0),
        Err(_) => {
            let engine = st.engine();
            let last = tokio::task::spawn_blocking(move || engine.last_alert_id())
                .await
                .ok()
                .and_then(Result::ok)
                .unwrap_or(0);
            save(&file, last);
            last
        }
    };
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(POST_TIMEOUT))
        .build()
        .into();
    let mut backoff = POLL;
    let mut refused = 0;
    loop {
        tokio::time::sleep(backoff).await;
        let engine = st.engine();
        let pending =
            match tokio::task::spawn_blocking(move || engine.alerts_after(cursor, 100)).await {
                Ok(Ok(p)) => p,
                Ok(Err(e)) => {
                    tracing::error!("alert webhook: cannot read the alerts: {e}");
                    continue;
                }
                Err(_) => continue,
            };
        let (scanned, pending) = pending;
        if pending.is_empty() && scanned > cursor {
            // Rows no build can read are passed over, not waited on.
            cursor = scanned;
            save(&file, cursor);
        }
        for alert in pending {
            let body = alert_json(&alert).to_string();
            let agent = agent.clone();
            let to = url.clone();
            let sent = tokio::task::spawn_blocking(move || post(&agent, &to, &body))
                .await
                .unwrap_or_else(|e| Sent::Failed(e.to_string()));
            let (e, refusal) = match sent {
                Sent::Delivered => {
                    cursor = alert.id;
                    save(&file, cursor);
                    st.metrics.alert_delivered("delivered");
                    backoff = POLL;
                    refused = 0;
                    continue;
                }
                Sent::Refused(e) => (e, true),
                Sent::Failed(e) => (e, false),
            };
            // Only refusals of this very alert, one after another, count;
            // a receiver that refuses is up, so they are not waited out.
            refused = if refusal { refused + 1 } else { 0 };
            if refused >= REFUSALS {
                tracing::error!(
                    alert = alert.id,
                    "alert webhook {url}: {e}, {REFUSALS} times; set aside in alerts.undelivered"
                );
                set_aside(&root, alert.id, &e);
                cursor = alert.id;
                save(&file, cursor);
                st.metrics.alert_delivered("set_aside");
                refused = 0;
                continue;
            }
            st.metrics.alert_delivered("failed");
            tracing::warn!(alert = alert.id, "alert webhook {url}: {e}; retrying");
            backoff = match refusal {
                true => POLL,
                false => (backoff * 2).min(MAX_BACKOFF),
            };
            break;
        }
    }
}

/// One POST, and what its answer means for the alert.
fn post(agent: &ureq::Agent, url: &str, body: &str) -> Sent {
    let r = match agent
        .post(url)
        .header("content-type", "application/json")
        .send(body.as_bytes())
    {
        Ok(r) => r,
        Err(e) => return Sent::Failed(e.to_string()),
    };
    let code = r.status().as_u16();
    match code {
        200..=299 => Sent::Delivered,
        300..=399 => {
            let to = r
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("?");
            Sent::Failed(format!(
                "answered {code}, a redirect to {to:?}: give --alert-webhook the URL it points to"
            ))
        }
        400 | 413 | 422 => Sent::Refused(format!("refused this alert with {code}")),
        _ => Sent::Failed(format!("answered {code}")),
    }
}

/// Notes an alert the receiver would not take, for the site to look at
/// (`GET /v1/alerts` still lists it).
fn set_aside(root: &std::path::Path, id: i64, why: &str) {
    use std::io::Write;
    let line = serde_json::json!({"alert": id, "why": why}).to_string();
    let path = root.join("alerts.undelivered");
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut f| writeln!(f, "{line}"));
    if let Err(e) = written {
        tracing::error!("{}: {e}", path.display());
    }
}

fn save(file: &std::path::Path, id: i64) {
    if let Err(e) = crate::paths::write_atomic(file, format!("{id}\n").as_bytes()) {
        tracing::error!("{}: {e}", file.display());
    }
}
