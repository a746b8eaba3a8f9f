//! Request bodies: the header checks of `ingest-api.md` §5 steps 2–5 and reading the body at
//! step 10 — capped before and after gzip (a gzip bomb costs no more memory than the limit),
//! within the read timeout, then Unicode NFC.

use std::io::Read;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use flate2::read::MultiGzDecoder;
use http::header::{CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE, TRANSFER_ENCODING};
use http::{HeaderMap, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use weir_http::ErrorResponse;

/// How the body is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Coding {
    Identity,
    Gzip,
}

/// Steps 2–5: declared length, missing body, content type (strict paths only), coding.
pub(crate) fn check_headers(
    headers: &HeaderMap,
    limit: usize,
    strict_content_type: bool,
) -> Result<Coding, ErrorResponse> {
    let declared = match headers.get(CONTENT_LENGTH) {
        Some(value) => Some(
            value
                .to_str()
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
                .ok_or_else(|| bad_request("request's body is missing"))?,
        ),
        None => None,
    };
    if declared.is_some_and(|length| length > limit as u64) {
        return Err(ErrorResponse::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLarge",
            format!("request's content length must be in the range [1,{limit}]"),
        ));
    }
    let has_framing = declared.is_some() || headers.contains_key(TRANSFER_ENCODING);
    if declared == Some(0) || !has_framing {
        return Err(bad_request("request's body is missing"));
    }
    if strict_content_type {
        check_content_type(headers)?;
    }
    coding(headers)
}

/// `application/json` or `text/plain`, with no parameter but `charset=utf-8`.
fn check_content_type(headers: &HeaderMap) -> Result<(), ErrorResponse> {
    let wrong_type = || bad_request("request's content type must be 'application/json'");
    let mut values = headers.get_all(CONTENT_TYPE).iter();
    let value = values.next().ok_or_else(wrong_type)?;
    if values.next().is_some() {
        return Err(wrong_type());
    }
    let value = value.to_str().map_err(|_| wrong_type())?;
    let mut parts = value.split(';');
    let media_type = parts.next().unwrap_or("").trim();
    if !media_type.eq_ignore_ascii_case("application/json")
        && !media_type.eq_ignore_ascii_case("text/plain")
    {
        return Err(wrong_type());
    }
    for parameter in parts {
        let parameter = parameter.trim();
        if parameter.is_empty() {
            continue;
        }
        let (name, value) = parameter.split_once('=').ok_or_else(wrong_type)?;
        if !name.trim().eq_ignore_ascii_case("charset") {
            return Err(wrong_type());
        }
        let value = value.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(value);
        if !value.eq_ignore_ascii_case("utf-8") {
            return Err(bad_request(
                "request's content type charset must be 'utf-8'",
            ));
        }
    }
    Ok(())
}

fn coding(headers: &HeaderMap) -> Result<Coding, ErrorResponse> {
    let mut values = headers.get_all(CONTENT_ENCODING).iter();
    let Some(value) = values.next() else {
        return Ok(Coding::Identity);
    };
    if values.next().is_some() {
        return Err(unsupported_media_type());
    }
    match value.to_str().map(str::trim) {
        Ok(v) if v.eq_ignore_ascii_case("identity") || v.is_empty() => Ok(Coding::Identity),
        Ok(v) if v.eq_ignore_ascii_case("gzip") => Ok(Coding::Gzip),
        _ => Err(unsupported_media_type()),
    }
}

/// Step 10: reads at most `limit` bytes (before and after gunzip) within `timeout`.
pub(crate) async fn read(
    body: Incoming,
    coding: Coding,
    limit: usize,
    timeout: Duration,
) -> Result<Bytes, ErrorResponse> {
    let raw = match tokio::time::timeout(timeout, collect_capped(body, limit)).await {
        Ok(result) => result?,
        Err(_) => {
            return Err(ErrorResponse::new(
                StatusCode::REQUEST_TIMEOUT,
                "RequestTimeout",
                "Request Timeout",
            ));
        }
    };
    let decoded = match coding {
        Coding::Identity => raw,
        Coding::Gzip => gunzip_capped(&raw, limit)?,
    };
    if decoded.is_empty() {
        return Err(bad_request("request's body is empty"));
    }
    Ok(decoded)
}

async fn collect_capped(mut body: Incoming, limit: usize) -> Result<Bytes, ErrorResponse> {
    let mut collected = BytesMut::new();
    while let Some(frame) = body.frame().await {
        // A client that breaks the stream mid-body gets no answer it can read; 400 is moot.
        let frame = frame.map_err(|_| bad_request("request's body could not be read"))?;
        if let Ok(data) = frame.into_data() {
            if collected.len() + data.len() > limit {
                return Err(too_large());
            }
            collected.extend_from_slice(&data);
        }
    }
    Ok(collected.freeze())
}

/// Inflates (single or multi-member gzip), stopping at byte `limit + 1`.
fn gunzip_capped(compressed: &[u8], limit: usize) -> Result<Bytes, ErrorResponse> {
    if compressed.is_empty() {
        return Ok(Bytes::new());
    }
    let mut decoded = Vec::with_capacity(compressed.len().saturating_mul(4).min(limit + 1));
    let mut decoder = MultiGzDecoder::new(compressed).take(limit as u64 + 1);
    decoder
        .read_to_end(&mut decoded)
        .map_err(|_| unsupported_media_type())?;
    if decoded.len() > limit {
        return Err(too_large());
    }
    Ok(Bytes::from(decoded))
}

pub(crate) fn bad_request(message: &str) -> ErrorResponse {
    ErrorResponse::new(StatusCode::BAD_REQUEST, "BadRequest", message)
}

fn too_large() -> ErrorResponse {
    ErrorResponse::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "RequestEntityTooLarge",
        "Request Entity Too Large",
    )
}

fn unsupported_media_type() -> ErrorResponse {
    ErrorResponse::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "UnsupportedMediaType",
        "Unsupported Media Type",
    )
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use flate2::Compression;
    use flate2::write::GzEncoder;
    use http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                http::HeaderName::from_bytes(name.as_bytes()).expect("name"),
                HeaderValue::from_str(value).expect("value"),
            );
        }
        map
    }

    fn message(result: Result<Coding, ErrorResponse>) -> String {
        match result {
            Ok(coding) => format!("{coding:?}"),
            Err(error) => format!("{} {}", error.status.as_u16(), error.message),
        }
    }

    #[test]
    fn header_checks_in_order() {
        let check = |pairs: &[(&str, &str)]| message(check_headers(&headers(pairs), 512_000, true));
        assert_eq!(
            check(&[("content-length", "600000")]),
            "413 request's content length must be in the range [1,512000]"
        );
        assert_eq!(
            check(&[("content-length", "0"), ("content-type", "x/y")]),
            "400 request's body is missing"
        );
        assert_eq!(check(&[]), "400 request's body is missing");
        assert_eq!(
            check(&[("content-length", "5")]),
            "400 request's content type must be 'application/json'"
        );
        assert_eq!(
            check(&[("content-length", "5"), ("content-type", "application/xml")]),
            "400 request's content type must be 'application/json'"
        );
        assert_eq!(
            check(&[
                ("content-length", "5"),
                ("content-type", "application/json; boundary=x")
            ]),
            "400 request's content type must be 'application/json'"
        );
        assert_eq!(
            check(&[
                ("content-length", "5"),
                ("content-type", "application/json; charset=latin1")
            ]),
            "400 request's content type charset must be 'utf-8'"
        );
        assert_eq!(
            check(&[
                ("content-length", "5"),
                ("content-type", "Application/JSON; Charset=\"UTF-8\"")
            ]),
            "Identity"
        );
        assert_eq!(
            check(&[
                ("transfer-encoding", "chunked"),
                ("content-type", "text/plain")
            ]),
            "Identity"
        );
        assert_eq!(
            check(&[
                ("content-length", "5"),
                ("content-type", "text/plain"),
                ("content-encoding", "GZIP")
            ]),
            "Gzip"
        );
        assert_eq!(
            check(&[
                ("content-length", "5"),
                ("content-type", "text/plain"),
                ("content-encoding", "br")
            ]),
            "415 Unsupported Media Type"
        );
        assert_eq!(
            check(&[
                ("content-length", "5"),
                ("content-type", "text/plain"),
                ("content-encoding", "gzip, br")
            ]),
            "415 Unsupported Media Type"
        );
        // Segment paths accept any content type.
        assert_eq!(
            message(check_headers(
                &headers(&[
                    ("content-length", "5"),
                    ("content-type", "application/x-www-form-urlencoded")
                ]),
                512_000,
                false
            )),
            "Identity"
        );
    }

    #[test]
    fn gunzip_is_capped_and_strict() {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
        encoder.write_all(&vec![b'a'; 10_000_000]).expect("write");
        let bomb = encoder.finish().expect("finish");
        assert!(bomb.len() < 20_000);
        assert_eq!(
            gunzip_capped(&bomb, 512_000).expect_err("too large").status,
            413
        );
        assert_eq!(
            gunzip_capped(b"not gzip", 512_000).expect_err("bad").status,
            415
        );
        let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
        encoder.write_all(b"[1]").expect("write");
        let mut two_members = encoder.finish().expect("finish");
        let first = two_members.clone();
        two_members.extend_from_slice(&first);
        assert_eq!(
            &gunzip_capped(&two_members, 100).expect("ok")[..],
            b"[1][1]"
        );
        let truncated = &first[..first.len() - 4];
        assert_eq!(
            gunzip_capped(truncated, 100).expect_err("truncated").status,
            415
        );
    }
}
