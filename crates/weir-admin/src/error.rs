//! The management API's error type. Each variant knows its status, its `code` and the message
//! the client sees; internal details (storage failures, a crashed worker) are logged once and
//! never sent.

use http::StatusCode;
use http::header::{ALLOW, HeaderValue};
use weir_catalog::CatalogError;
use weir_http::{HttpResponse, json_error};

/// Why a management request failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ApiError {
    /// The request is malformed; the message says what is wrong and where.
    #[error("{0}")]
    BadRequest(String),
    /// Missing, malformed or unknown API key (§12.1).
    #[error("{0}")]
    Unauthorized(&'static str),
    /// The key may not do this, or an instance key did not name a workspace.
    #[error("{0}")]
    Forbidden(String),
    /// No route has this path (404 with an empty message, as for ingest).
    #[error("no route")]
    RouteNotFound,
    /// A routed resource does not exist (e.g. a malformed id in the path).
    #[error("{0}")]
    NotFound(String),
    /// A route has this path, but not this method.
    #[error("Method Not Allowed")]
    MethodNotAllowed {
        /// The `Allow` header.
        allow: String,
    },
    /// A well-formed request that refers to something that does not exist (422).
    #[error("{message}")]
    Unprocessable {
        /// The `code` member.
        code: &'static str,
        /// The `message` member.
        message: String,
    },
    /// The body did not arrive within the read timeout.
    #[error("Request Timeout")]
    RequestTimeout,
    /// The body is larger than the limit.
    #[error("Request Entity Too Large")]
    TooLarge,
    /// The workspace's warehouse cannot be reached or is busy right now (503); retrying later
    /// may succeed. The message is the warehouse's, which never shows a password.
    #[error("the warehouse cannot be reached: {0}")]
    WarehouseUnavailable(String),
    /// The workspace's warehouse refused the operation and will keep refusing it (502): wrong
    /// credentials, missing rights, an unknown database.
    #[error("the warehouse refused the query: {0}")]
    WarehouseRejected(String),
    /// Weir cannot do this right now (e.g. the event log is unavailable); retrying later may
    /// succeed. The message says what is unavailable.
    #[error("{0}")]
    Unavailable(String),
    /// What the catalog refused, or its storage failure.
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    /// Anything else that went wrong inside; the detail is for logs only.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// A 400 with `message`.
    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::BadRequest(message.into())
    }

    /// The response status.
    pub(crate) fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::RouteNotFound | Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::WarehouseUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::WarehouseRejected(_) => StatusCode::BAD_GATEWAY,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Catalog(error) => {
                StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            }
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The `code` member of the error body.
    pub(crate) fn code(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "BadRequest",
            Self::Unauthorized(_) => "Unauthorized",
            Self::Forbidden(_) => "Forbidden",
            Self::RouteNotFound | Self::NotFound(_) => "NotFound",
            Self::MethodNotAllowed { .. } => "MethodNotAllowed",
            Self::Unprocessable { code, .. } => code,
            Self::RequestTimeout => "RequestTimeout",
            Self::TooLarge => "RequestEntityTooLarge",
            Self::WarehouseUnavailable(_) => "WarehouseUnavailable",
            Self::WarehouseRejected(_) => "WarehouseRejected",
            Self::Unavailable(_) => "ServiceUnavailable",
            Self::Catalog(error) => error.code(),
            Self::Internal(_) => "InternalServerError",
        }
    }

    /// The `message` member of the error body.
    pub(crate) fn client_message(&self) -> String {
        match self {
            Self::RouteNotFound => String::new(),
            Self::Catalog(error) => error.client_message(),
            Self::Internal(_) => "Internal Server Error".to_owned(),
            other => other.to_string(),
        }
    }

    /// The JSON error response; server errors are logged here, with their details.
    pub(crate) fn into_response(self) -> HttpResponse {
        let status = self.status();
        match &self {
            // An outside system's state, not Weir's failure.
            Self::WarehouseUnavailable(_) | Self::WarehouseRejected(_) => {
                tracing::warn!(error = %self, "management request failed");
            }
            _ if status.is_server_error() => {
                tracing::error!(error = %self, "management request failed");
            }
            _ => {}
        }
        let mut response = json_error(status, self.code(), &self.client_message(), None);
        if let Self::MethodNotAllowed { allow } = &self
            && let Ok(value) = HeaderValue::from_str(allow)
        {
            response.headers_mut().insert(ALLOW, value);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(error: ApiError, status: u16, code: &str, message: &str) {
        assert_eq!(error.status().as_u16(), status, "{error:?}");
        assert_eq!(error.code(), code, "{error:?}");
        assert_eq!(error.client_message(), message, "{error:?}");
    }

    #[test]
    fn statuses_codes_and_messages() {
        check(
            ApiError::bad_request("name is required"),
            400,
            "BadRequest",
            "name is required",
        );
        check(ApiError::Unauthorized("x"), 401, "Unauthorized", "x");
        check(ApiError::Forbidden("no".into()), 403, "Forbidden", "no");
        check(ApiError::RouteNotFound, 404, "NotFound", "");
        check(
            ApiError::RequestTimeout,
            408,
            "RequestTimeout",
            "Request Timeout",
        );
        check(
            ApiError::TooLarge,
            413,
            "RequestEntityTooLarge",
            "Request Entity Too Large",
        );
        check(
            ApiError::Catalog(CatalogError::SingleEventWriteKey),
            422,
            "SingleEventWriteKey",
            "key cannot be deleted as it is the connection\u{2019}s only key",
        );
    }

    #[test]
    fn warehouse_errors_show_the_warehouse_message() {
        check(
            ApiError::WarehouseUnavailable(
                "cannot connect to PostgreSQL at db:5432: refused".into(),
            ),
            503,
            "WarehouseUnavailable",
            "the warehouse cannot be reached: cannot connect to PostgreSQL at db:5432: refused",
        );
        check(
            ApiError::WarehouseRejected("password authentication failed".into()),
            502,
            "WarehouseRejected",
            "the warehouse refused the query: password authentication failed",
        );
    }

    #[test]
    fn unavailable_is_a_503_with_its_message() {
        check(
            ApiError::Unavailable("the event log is unavailable".into()),
            503,
            "ServiceUnavailable",
            "the event log is unavailable",
        );
    }

    #[test]
    fn internal_details_are_not_shown() {
        let error = ApiError::Internal("worker panicked: secret".into());
        check(error, 500, "InternalServerError", "Internal Server Error");
    }

    #[test]
    fn method_not_allowed_sets_allow() {
        let response = ApiError::MethodNotAllowed {
            allow: "GET, POST".into(),
        }
        .into_response();
        assert_eq!(response.status(), 405);
        assert_eq!(response.headers()[ALLOW], "GET, POST");
    }
}
