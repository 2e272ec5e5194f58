//! `serve --alert-webhook URL`: every retro-alert POSTed as JSON to the
//! site's own alerting (a chat bridge, a case system), whoever raised it
//! (a PUT, a CLI import). A task of its own reads the store's alerts
//! after the last one delivered, so delivery never holds up an import or
//! a request; a failed POST is retried with a growing pause, and the last
//! delivered id is kept in a file beside the index, so a restart
//! resumes where delivery stopped (at least once: a crash between the
//! POST and the file may send one alert twice; its `id` tells).

use super::AppState;
use super::api_sightings::alert_json;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// How often the store is looked at for new alerts.
const POLL: Duration = Duration::from_secs(1);
/// Longest pause between two tries of a failing endpoint.
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// A POST that takes longer has failed.
const POST_TIMEOUT: Duration = Duration::from_secs(10);

/// Where the last delivered alert's id is kept.
fn cursor_file(st: &AppState) -> PathBuf {
    st.engine().paths().root().join("alerts.delivered")
}

/// Delivers alerts to `url` until the server stops.
pub async fn deliver(st: Arc<AppState>, url: String) {
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
        .timeout_global(Some(POST_TIMEOUT))
        .build()
        .into();
    let mut backoff = POLL;
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
            let sent = tokio::task::spawn_blocking(move || {
                let r = agent
                    .post(&to)
                    .header("content-type", "application/json")
                    .send(body.as_bytes())
                    .map_err(|e| e.to_string())?;
                match r.status().as_u16() {
                    200..=299 => Ok(()),
                    code => Err(format!("answered {code}")),
                }
            })
            .await
            .unwrap_or_else(|e| Err(e.to_string()));
            match sent {
                Ok(()) => {
                    cursor = alert.id;
                    save(&file, cursor);
                    st.metrics.alert_delivered(true);
                    backoff = POLL;
                }
                Err(e) => {
                    st.metrics.alert_delivered(false);
                    tracing::warn!(alert = alert.id, "alert webhook {url}: {e}; retrying");
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    break;
                }
            }
        }
    }
}

fn save(file: &std::path::Path, id: i64) {
    if let Err(e) = crate::paths::write_atomic(file, format!("{id}\n").as_bytes()) {
        tracing::error!("{}: {e}", file.display());
    }
}
