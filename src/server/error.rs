//! The one error shape every 4xx and 5xx answer has:
//! `{"error": {"code": "...", "message": "..."}}`.

use crate::engine::EngineError;
use crate::imaging::limits::DecodeError;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An error answer's code, beside its body, for the middleware that
/// audits refusals (`refusals.rs`).
#[derive(Debug, Clone, Copy)]
pub struct ErrorCode(pub &'static str);

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    /// Stable, machine-readable; clients branch on it.
    pub code: &'static str,
    /// For people: says what was wrong and where.
    pub message: String,
    /// Seconds, for 429 and 503.
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// A body that could not be read: over the upload limit (413), or
    /// not what it should be (400).
    pub fn unreadable_body(status: StatusCode, message: impl Into<String>) -> ApiError {
        match status {
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(status, "upload_too_large", message),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => {
                ApiError::new(status, "unsupported_media_type", message)
            }
            _ => ApiError::bad_request(message),
        }
    }

    /// A form route's body that is no multipart form, said once the key
    /// is checked (the extractor runs before the handler).
    pub fn not_a_form(r: axum::extract::multipart::MultipartRejection) -> ApiError {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!("send a multipart/form-data body ({})", r.body_text()),
        )
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
    }

    pub fn retry_after(mut self, seconds: u64) -> ApiError {
        self.retry_after = Some(seconds);
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let ctx = super::request::current();
        if self.status.is_server_error() {
            self.log(ctx.as_ref());
        }
        let mut error = json!({"code": self.code, "message": self.message});
        if let Some(c) = &ctx {
            error["request_id"] = json!(c.id);
        }
        let mut resp = (self.status, axum::Json(json!({ "error": error }))).into_response();
        resp.extensions_mut().insert(ErrorCode(self.code));
        if self.status == StatusCode::UNAUTHORIZED {
            resp.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(s) = self.retry_after {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        resp
    }
}

impl ApiError {
    /// Every 5xx is explained in the server's log, with the request's id
    /// (which the client got back): a 503 of a full queue is a warning,
    /// anything else an error.
    fn log(&self, ctx: Option<&super::request::RequestContext>) {
        let (id, method, path) = ctx.map_or(("", "", ""), |c| {
            (c.id.as_str(), c.method.as_str(), c.path.as_str())
        });
        let status = self.status.as_u16();
        macro_rules! log {
            ($level:ident) => {
                tracing::$level!(
                    request_id = id,
                    method,
                    path,
                    status,
                    code = self.code,
                    "{}",
                    self.message
                )
            };
        }
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            log!(warn);
        } else {
            log!(error);
        }
    }
}

impl From<DecodeError> for ApiError {
    fn from(e: DecodeError) -> ApiError {
        let (status, code) = match &e {
            DecodeError::Io { .. } => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
            DecodeError::Empty { .. } => (StatusCode::BAD_REQUEST, "empty_image"),
            DecodeError::Unsupported { .. } | DecodeError::NotBuiltIn { .. } => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_image")
            }
            DecodeError::FileTooLarge { .. } | DecodeError::TooManyPixels { .. } => {
                (StatusCode::PAYLOAD_TOO_LARGE, "image_too_large")
            }
            DecodeError::Corrupt { .. } => (StatusCode::BAD_REQUEST, "corrupt_image"),
        };
        ApiError::new(status, code, e.to_string())
    }
}

/// When to send a change again that another writer kept waiting: an
/// import may write for an hour, and a retry every half minute costs
/// nothing.
const WRITER_RETRY_S: u64 = 30;

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> ApiError {
        match e {
            EngineError::Decode(d) => d.into(),
            // Not done, and safe to send again: a client or a load balancer
            // retries it; the message names the writer it waited for.
            busy @ EngineError::Busy { .. } => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "busy", busy.to_string())
                    .retry_after(WRITER_RETRY_S)
            }
            // Not this request's fault, nor made better by waiting here: a
            // load balancer sends it to another server; an operator restarts.
            replaced @ EngineError::StoreReplaced { .. } => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "store_replaced",
                replaced.to_string(),
            ),
            other if is_disk_full(&other) => ApiError::disk_full(&other),
            other => ApiError::internal(other.to_string()),
        }
    }
}

impl ApiError {
    /// 507: the index's file system is full. The change may have reached
    /// the record store before a derived index failed to write (the index
    /// heals once there is room), so the client is told to send it again:
    /// a PUT or a DELETE repeated is the same change.
    pub fn disk_full(cause: &dyn std::fmt::Display) -> ApiError {
        ApiError::new(
            StatusCode::INSUFFICIENT_STORAGE,
            "disk_full",
            format!(
                "the index's disk is full, so this change may not have been made ({cause}); searches still answer from the last committed database: free space on that disk and send the change again"
            ),
        )
        .retry_after(60)
    }

    /// A failed write of a file under the index: 507 when the disk is full.
    pub fn io(path: &std::path::Path, e: std::io::Error) -> ApiError {
        let message = format!("{}: {e}", path.display());
        if is_disk_full(&e) {
            ApiError::disk_full(&message)
        } else {
            ApiError::internal(message)
        }
    }
}

/// Whether an error, or any error behind it, says the disk is full (the
/// file system's ENOSPC or EDQUOT, SQLite's SQLITE_FULL).
pub fn is_disk_full(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<std::io::Error>()
            && (io.kind() == std::io::ErrorKind::StorageFull
                || io.kind() == std::io::ErrorKind::QuotaExceeded)
        {
            return true;
        }
        if let Some(rusqlite::Error::SqliteFailure(f, _)) = err.downcast_ref::<rusqlite::Error>()
            && f.code == rusqlite::ErrorCode::DiskFull
        {
            return true;
        }
        cur = err.source();
    }
    // Some libraries keep only the text of the I/O error they hit.
    let text = e.to_string();
    text.contains("No space left on device") || text.contains("database or disk is full")
}

impl From<axum::extract::multipart::MultipartError> for ApiError {
    fn from(e: axum::extract::multipart::MultipartError) -> ApiError {
        // A chunked body over the limit: the limit's error sits deeper in
        // the chain than `status` looks (two limits wrap the body).
        let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&e);
        while let Some(c) = cause {
            if c.is::<http_body_util::LengthLimitError>() {
                return ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "upload_too_large",
                    "the request body is over the server's upload limit (--max-upload-mb)",
                );
            }
            cause = c.source();
        }
        let status = e.status();
        let code = if status == StatusCode::PAYLOAD_TOO_LARGE {
            "upload_too_large"
        } else {
            "bad_multipart"
        };
        ApiError::new(status, code, e.body_text())
    }
}

/// A blocking task died: a panic in a decoder, say. The request fails,
/// the server does not.
impl From<tokio::task::JoinError> for ApiError {
    fn from(e: tokio::task::JoinError) -> ApiError {
        ApiError::internal(format!("the request's worker failed: {e}"))
    }
}

/// Middleware: answers that did not come from [`ApiError`] (axum's
/// extractor rejections, the body-size limit, the timeout) get the one
/// error shape too, their text as the message.
pub async fn json_errors(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let resp = next.run(req).await;
    let status = resp.status();
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if status.as_u16() < 400 || is_json {
        return resp;
    }
    let retry = resp.headers().get(header::RETRY_AFTER).cloned();
    let body = axum::body::to_bytes(resp.into_body(), 64 * 1024)
        .await
        .unwrap_or_default();
    let text = String::from_utf8_lossy(&body).trim().to_string();
    // The body limit's own text ("length limit exceeded") says nothing to
    // an officer.
    let text = if status == StatusCode::PAYLOAD_TOO_LARGE {
        "the upload is larger than the server accepts (--max-upload-mb): send a smaller photo"
            .to_string()
    } else {
        text
    };
    let code = match status {
        StatusCode::PAYLOAD_TOO_LARGE => "upload_too_large",
        StatusCode::REQUEST_TIMEOUT => "timeout",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        s if s.is_server_error() => "internal",
        _ => "bad_request",
    };
    let message = if text.is_empty() {
        status.canonical_reason().unwrap_or("error").to_string()
    } else {
        text
    };
    let mut out = ApiError::new(status, code, message).into_response();
    if let Some(r) = retry {
        out.headers_mut().insert(header::RETRY_AFTER, r);
    }
    out
}
