//! The JSON error shape (`ingest-api.md` §7.1):
//! `{"error":{"code":"<Code>","message":"<text>"}}` + LF, with no-cache headers.

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, EXPIRES, HeaderValue, PRAGMA, RETRY_AFTER};
use http::{HeaderName, Response, StatusCode};

use crate::Body;

/// An error as the client sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorResponse {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// `Retry-After` in seconds (429, 503).
    pub retry_after: Option<u64>,
}

impl ErrorResponse {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ErrorResponse {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds.max(1));
        self
    }

    /// The response: JSON body and the error headers.
    pub fn into_response(self) -> Response<Body> {
        json_error(self.status, self.code, &self.message, self.retry_after)
    }
}

/// Builds an error response with the exact body and headers of §7.1.
pub fn json_error(
    status: StatusCode,
    code: &str,
    message: &str,
    retry_after: Option<u64>,
) -> Response<Body> {
    let mut body = String::with_capacity(message.len() + code.len() + 32);
    body.push_str(r#"{"error":{"code":"#);
    weir_spec::write_json_string(&mut body, code);
    body.push_str(r#","message":"#);
    weir_spec::write_json_string(&mut body, message);
    body.push_str("}}\n");
    let mut response = Response::new(crate::full(Bytes::from(body)));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    headers.insert(
        HeaderName::from_static("x-content-type-options"),
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        CACHE_CONTROL,
        HeaderValue::from_static("no-store, max-age=0"),
    );
    headers.insert(PRAGMA, HeaderValue::from_static("no-cache"));
    headers.insert(EXPIRES, HeaderValue::from_static("0"));
    if let Some(seconds) = retry_after {
        headers.insert(RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

/// Adds the `Request-Id` header every response carries.
pub fn set_common_headers(response: &mut Response<Body>, request_id: &str) {
    if let Ok(value) = HeaderValue::from_str(request_id) {
        response
            .headers_mut()
            .insert(HeaderName::from_static("request-id"), value);
    }
}

#[cfg(test)]
mod tests {
    use http_body_util::BodyExt;

    use super::*;

    #[tokio::test]
    async fn error_body_is_exact() {
        let response = json_error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "Authorization header is invalid; use \"Authorization: Bearer <KEY>\" with an API key or an event write key",
            None,
        );
        assert_eq!(response.status(), 400);
        assert_eq!(
            response.headers()[CONTENT_TYPE],
            "application/json; charset=utf-8"
        );
        assert_eq!(response.headers()[CACHE_CONTROL], "no-store, max-age=0");
        let body = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        assert_eq!(
            &body[..],
            br#"{"error":{"code":"BadRequest","message":"Authorization header is invalid; use \"Authorization: Bearer <KEY>\" with an API key or an event write key"}}
"#
        );
    }
}
