//! A refused request: status, error code and message, answered as JSON.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::metrics::{ErrorCode, ModelMetrics};
use crate::ServeError;

/// A refused request: its status, its error code and a message naming the problem and the fix.
/// Messages quote client input (model names, feature names, keys, values) with control
/// characters and bidi overrides escaped ([`mlflow_core::text::escape_controls`]): clients print
/// them.
#[derive(Debug)]
pub(crate) struct ApiError {
    pub(super) status: StatusCode,
    pub(super) code: ErrorCode,
    pub(super) message: String,
}

impl ApiError {
    pub(super) fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError { status, code, message: message.into() }
    }

    pub(super) fn bad(code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// Counts the error against `metrics` and turns it into the JSON answer. After a refusal
    /// whose body is left unread (a slow body, headers too large), the connection is closed.
    pub(super) fn answer(self, metrics: &ModelMetrics) -> Response {
        metrics.error(self.code);
        let body = serde_json::json!({ "error": self.message, "code": self.code.as_str() }).to_string();
        let mut response = (self.status, [(header::CONTENT_TYPE, "application/json")], body).into_response();
        if matches!(self.status, StatusCode::REQUEST_TIMEOUT | StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE) {
            response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        response
    }
}

impl From<ServeError> for ApiError {
    fn from(e: ServeError) -> ApiError {
        let code = match &e {
            ServeError::FeatureCount { .. } => ErrorCode::FeatureCount,
            ServeError::UnknownFeature { .. } => ErrorCode::UnknownFeature,
            ServeError::MissingFeature { .. } => ErrorCode::MissingFeature,
            ServeError::NonFinite { .. } => ErrorCode::NonFinite,
            ServeError::OutOfRange { .. } => ErrorCode::OutOfRange,
            _ => return ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, ErrorCode::Internal, e.to_string()),
        };
        ApiError::bad(code, e.to_string())
    }
}
