//! Reading a request body: refused early when its declared length is over the limit, read
//! through a length-capped body (chunked bodies included) within the read timeout, and, when not
//! empty, required to be labelled `application/json`.

use std::time::Duration;

use bytes::Bytes;
use http::HeaderMap;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use http_body_util::{BodyExt, Limited};
use hyper::body::Body;

use crate::error::ApiError;

/// Reads the whole body, at most `limit` bytes, within `timeout`.
pub(crate) async fn read<B>(
    headers: &HeaderMap,
    body: B,
    limit: usize,
    timeout: Duration,
) -> Result<Bytes, ApiError>
where
    B: Body<Data = Bytes> + Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|text| text.trim().parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return Err(ApiError::TooLarge);
    }
    let collected = tokio::time::timeout(timeout, Limited::new(body, limit).collect())
        .await
        .map_err(|_| ApiError::RequestTimeout)?;
    let bytes = match collected {
        Ok(collected) => collected.to_bytes(),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => {
            return Err(ApiError::TooLarge);
        }
        Err(error) => {
            return Err(ApiError::bad_request(format!(
                "request body could not be read: {error}"
            )));
        }
    };
    if !bytes.is_empty() && !is_json(headers) {
        return Err(ApiError::bad_request(
            "request's content type must be 'application/json'",
        ));
    }
    Ok(bytes)
}

/// Whether `Content-Type` is `application/json`, with a UTF-8 charset if one is named.
fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let mut parts = value.split(';');
    let media_type = parts.next().unwrap_or_default().trim();
    if !media_type.eq_ignore_ascii_case("application/json") {
        return false;
    }
    parts.all(|parameter| match parameter.split_once('=') {
        Some((name, value)) if name.trim().eq_ignore_ascii_case("charset") => {
            let value = value.trim().trim_matches('"');
            value.eq_ignore_ascii_case("utf-8") || value.eq_ignore_ascii_case("utf8")
        }
        _ => true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;
    use http_body_util::Full;

    const SECOND: Duration = Duration::from_secs(1);

    fn headers(content_type: Option<&str>) -> HeaderMap {
        let mut map = HeaderMap::new();
        if let Some(value) = content_type {
            map.insert(CONTENT_TYPE, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    async fn read_full(
        headers: &HeaderMap,
        body: &'static [u8],
        limit: usize,
    ) -> Result<Bytes, ApiError> {
        read(headers, Full::new(Bytes::from_static(body)), limit, SECOND).await
    }

    #[tokio::test]
    async fn reads_json() {
        let body = read_full(&headers(Some("application/json")), b"{}", 10)
            .await
            .unwrap();
        assert_eq!(&body[..], b"{}");
        let charset = headers(Some("Application/JSON; charset=\"UTF-8\""));
        assert!(read_full(&charset, b"{}", 10).await.is_ok());
    }

    #[tokio::test]
    async fn empty_body_needs_no_content_type() {
        assert!(read_full(&headers(None), b"", 10).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn other_content_types_are_refused() {
        for content_type in [
            None,
            Some("text/plain"),
            Some("application/json; charset=latin1"),
        ] {
            let error = read_full(&headers(content_type), b"{}", 10)
                .await
                .unwrap_err();
            assert_eq!(
                error.client_message(),
                "request's content type must be 'application/json'"
            );
        }
    }

    #[tokio::test]
    async fn over_the_limit() {
        let error = read_full(&headers(Some("application/json")), b"{\"a\":1}", 3)
            .await
            .unwrap_err();
        assert!(matches!(error, ApiError::TooLarge), "{error:?}");
        let mut declared = headers(Some("application/json"));
        declared.insert(CONTENT_LENGTH, HeaderValue::from_static("999999999"));
        let error = read_full(&declared, b"{}", 3).await.unwrap_err();
        assert!(matches!(error, ApiError::TooLarge), "{error:?}");
    }
}
