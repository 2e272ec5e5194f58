//! The API's changes to the index, one at a time: first in this server,
//! in the order they came (the index's file lock is polled, which would
//! let a newcomer overtake), then against other processes (an import)
//! through the file lock. Both waits together end within half of the
//! request's time, counted from its arrival, and a change that reaches them
//! later is refused: the write has the other half, so a change is made and
//! answered in its request, or refused and never made later.

use super::error::ApiError;
use crate::engine::{Engine, EngineError};
use crate::store::writelock::WriteLock;
use axum::http::StatusCode;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{Mutex, OwnedMutexGuard};

/// This server's turn to write and the index's lock, held together.
pub struct Turn {
    _lock: WriteLock,
    _ours: OwnedMutexGuard<()>,
}

/// One change's window to write in.
pub struct WriteWindow {
    arrived: Instant,
    timeout: Duration,
    turns: Arc<Mutex<()>>,
}

impl WriteWindow {
    pub fn new(turns: &Arc<Mutex<()>>, timeout: Duration) -> WriteWindow {
        WriteWindow {
            arrived: Instant::now(),
            timeout,
            turns: Arc::clone(turns),
        }
    }

    /// Waits for this change's turn, then for the index's lock. Called on a
    /// blocking thread (its work is there).
    pub fn take(&self, engine: &Engine) -> Result<Turn, ApiError> {
        let spent = self.arrived.elapsed();
        let half = self.timeout / 2;
        if spent >= half {
            // The write needs the other half: begun later, it could end
            // after the client was answered 408.
            return Err(ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "timeout",
                format!(
                    "reading and describing this change took {}, more than half of the request's time, which the write needs: nothing was changed",
                    secs(spent)
                ),
            ));
        }
        let bound = half - spent;
        let started = Instant::now();
        let turns = Arc::clone(&self.turns);
        let ours = tokio::runtime::Handle::current()
            .block_on(tokio::time::timeout(bound, turns.lock_owned()))
            .map_err(|_| {
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "busy",
                    format!(
                        "this server is making other changes to the index; this one waited {} for its turn and was not made: send it again",
                        secs(started.elapsed())
                    ),
                )
                .retry_after(1)
            })?;
        let left = bound.saturating_sub(started.elapsed());
        let lock = engine.lock_writes_within(left).map_err(|e| match e {
            EngineError::Busy { holder, .. } => EngineError::Busy {
                holder,
                waited: secs(started.elapsed()),
            },
            other => other,
        })?;
        Ok(Turn {
            _lock: lock,
            _ours: ours,
        })
    }
}

fn secs(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}
