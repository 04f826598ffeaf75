//! The API's one error shape: `{"error": {"status": 404, "code": "not_found", "message": "..."}}`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// What went wrong with a request, as the client sees it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    /// No usable token; `invalid` when one was presented and refused.
    #[error("{message}")]
    Unauthorized { message: String, invalid: bool },
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    MethodNotAllowed(String),
    #[error("{0}")]
    Unavailable(String),
    /// Not answered within `[api] request_timeout_seconds`.
    #[error("the request was not answered within {seconds} s; try again later")]
    TimedOut { seconds: f64 },
    /// The details are in the server log, never in the response.
    #[error("internal error; the server log has the details")]
    Internal,
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Unavailable(_) | ApiError::TimedOut { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "bad_request",
            ApiError::Unauthorized { .. } => "unauthorized",
            ApiError::NotFound(_) => "not_found",
            ApiError::MethodNotAllowed(_) => "method_not_allowed",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::TimedOut { .. } => "timeout",
            ApiError::Internal => "internal",
        }
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        // Store errors name what was being done, never the values bound to the query.
        tracing::error!(error = %e, "a request failed in the store");
        ApiError::Internal
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = serde_json::json!({
            "error": {"status": status.as_u16(), "code": self.code(), "message": self.to_string()}
        });
        let mut response = (status, axum::Json(body)).into_response();
        if let ApiError::Unauthorized { invalid, .. } = self {
            let challenge = if invalid {
                r#"Bearer realm="gild", error="invalid_token""#
            } else {
                r#"Bearer realm="gild""#
            };
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        }
        response
    }
}

/// Unknown paths answer in the same JSON shape as every other error.
pub async fn no_route(uri: axum::http::Uri) -> ApiError {
    // The path only: a query string may hold an e-mail address.
    ApiError::NotFound(format!(
        "no route {}; GET /openapi.json lists them",
        uri.path()
    ))
}

pub async fn wrong_method(method: axum::http::Method) -> ApiError {
    ApiError::MethodNotAllowed(format!(
        "{method} is not allowed here: the API is read-only (GET)"
    ))
}
