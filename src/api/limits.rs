//! What one client may hold of the server: how long it may take to send a request, keep an idle
//! connection or wait for an answer, and how many connections are open at once. Without these,
//! clients that send half a request and stall keep their sockets until the server runs out of
//! file descriptors.

use super::ApiError;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::time::Duration;

/// The server's limits (`[api]` in gild.toml); `Default` holds the documented defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerLimits {
    /// Time to receive a request's line and headers: from connecting for the first request, from
    /// its first byte for the next ones on a kept-alive connection.
    pub header_read_timeout: Duration,
    /// Time a kept-alive connection may stay silent between requests.
    pub idle_timeout: Duration,
    /// Time to answer a request once its headers are in; past it the answer is a 503.
    pub request_timeout: Duration,
    /// Connections open at once; further ones wait in the listen queue until one closes.
    pub max_connections: u32,
}

pub const DEFAULT_HEADER_READ_TIMEOUT_SECONDS: u64 = 10;
pub const DEFAULT_IDLE_TIMEOUT_SECONDS: u64 = 30;
pub const DEFAULT_REQUEST_TIMEOUT_SECONDS: u64 = 30;
pub const DEFAULT_MAX_CONNECTIONS: u32 = 4096;

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits {
            header_read_timeout: Duration::from_secs(DEFAULT_HEADER_READ_TIMEOUT_SECONDS),
            idle_timeout: Duration::from_secs(DEFAULT_IDLE_TIMEOUT_SECONDS),
            request_timeout: Duration::from_secs(DEFAULT_REQUEST_TIMEOUT_SECONDS),
            max_connections: DEFAULT_MAX_CONNECTIONS,
        }
    }
}

/// Answers 503 when the rest of the stack takes longer than the limit; the work is dropped, so a
/// store that hangs does not pile up requests.
pub async fn request_timeout(
    State(limit): State<Duration>,
    request: Request,
    next: Next,
) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(
                seconds = limit.as_secs_f64(),
                "a request was not answered in time"
            );
            ApiError::TimedOut {
                seconds: limit.as_secs_f64(),
            }
            .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::StatusCode;
    use axum::routing::get;
    use axum::{middleware, Router};
    use tower::ServiceExt;

    #[tokio::test]
    async fn a_slow_answer_becomes_a_503_at_the_limit() {
        let app = Router::new()
            .route(
                "/slow",
                get(|| async {
                    tokio::time::sleep(Duration::from_secs(30)).await;
                    "late"
                }),
            )
            .route("/fast", get(|| async { "ok" }))
            .layer(middleware::from_fn_with_state(
                Duration::from_millis(200),
                request_timeout,
            ));
        let started = std::time::Instant::now();
        let slow = app
            .clone()
            .oneshot(Request::get("/slow").body(Body::empty()).expect("request"))
            .await
            .expect("answers");
        assert_eq!(slow.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(started.elapsed() < Duration::from_secs(5));
        let body = axum::body::to_bytes(slow.into_body(), usize::MAX)
            .await
            .expect("body");
        let j: serde_json::Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(j["error"]["code"], "timeout", "{j}");
        let fast = app
            .oneshot(Request::get("/fast").body(Body::empty()).expect("request"))
            .await
            .expect("answers");
        assert_eq!(fast.status(), StatusCode::OK);
    }
}
