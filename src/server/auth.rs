//! Who is asking, and may they: the bearer key, its role, its rate.

use super::AppState;
use super::error::ApiError;
use super::keys::Role;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use std::net::SocketAddr;

/// The key a request was made with (its name, never its secret).
#[derive(Debug, Clone)]
pub struct Caller {
    pub name: String,
    pub role: Role,
    /// Every photo this key searches is kept as a sighting.
    pub keep_searches: bool,
}

/// The client's address when the server runs on a socket (absent in
/// in-process tests).
#[derive(Debug, Clone)]
pub struct Remote(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for Remote {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Remote(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip().to_string()),
        ))
    }
}

/// The secret of an `Authorization: Bearer SECRET` value; the scheme's
/// case does not matter (RFC 7235).
pub(super) fn bearer(value: &str) -> Option<&str> {
    let (scheme, secret) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| secret.trim())
        .filter(|s| !s.is_empty())
}

impl AppState {
    /// 401 without a valid key, 403 with too small a role, 429 over the
    /// key's rate.
    pub fn authorize(&self, headers: &HeaderMap, need: Role) -> Result<Caller, ApiError> {
        let unauthorized =
            |m: &str| ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", m.to_string());
        let value = headers.get(header::AUTHORIZATION).ok_or_else(|| {
            unauthorized("an API key is needed: send `Authorization: Bearer KEY`")
        })?;
        let secret = value
            .to_str()
            .ok()
            .and_then(bearer)
            .ok_or_else(|| unauthorized("the Authorization header must be `Bearer KEY`"))?;
        let keys = self.keys();
        let key = keys
            .find(secret)
            .ok_or_else(|| unauthorized("this API key is not valid (revoked or mistyped)"))?;
        if key.role < need {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!(
                    "the key {:?} has the role {}; this needs {} or above",
                    key.name,
                    key.role.as_str(),
                    need.as_str()
                ),
            ));
        }
        self.limiter
            .check(&key.name, key.rate_per_minute)
            .map_err(|wait| {
                ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate_limited",
                    format!(
                        "the key {:?} is limited to {} requests a minute; retry in {wait} s",
                        key.name, key.rate_per_minute
                    ),
                )
                .retry_after(wait)
            })?;
        Ok(Caller {
            name: key.name.clone(),
            role: key.role,
            keep_searches: key.keep_searches,
        })
    }
}
