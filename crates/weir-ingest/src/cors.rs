//! CORS headers of the ingest paths (`ingest-api.md` §8, README resolved question 3) and of
//! the settings endpoint (§10).

use http::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS,
    ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE,
    CACHE_CONTROL, HeaderMap, HeaderValue, VARY,
};

/// Headers on every ingest response (errors included).
pub(crate) fn add_response_headers(headers: &mut HeaderMap, origin: Option<&HeaderValue>) {
    add_origin(headers, origin);
    headers.insert(
        ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("Request-Id, Retry-After"),
    );
    if origin.is_some() {
        headers.insert(
            ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
    }
}

/// The 204 preflight of an ingest path.
pub(crate) fn add_preflight_headers(headers: &mut HeaderMap, origin: Option<&HeaderValue>) {
    add_origin(headers, origin);
    headers.insert(
        ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("POST"),
    );
    headers.insert(
        ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("Authorization, Content-Type, Content-Encoding, Weir-Report"),
    );
    headers.insert(
        ACCESS_CONTROL_ALLOW_CREDENTIALS,
        HeaderValue::from_static("true"),
    );
    headers.insert(ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("86400"));
    headers.insert(
        CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=86400, immutable"),
    );
}

/// The 204 preflight of the settings endpoint.
pub(crate) fn add_settings_preflight_headers(
    headers: &mut HeaderMap,
    origin: Option<&HeaderValue>,
) {
    add_origin(headers, origin);
    headers.insert(
        ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET"),
    );
    headers.insert(ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("900"));
    headers.insert(
        CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=900, immutable"),
    );
}

pub(crate) fn add_origin(headers: &mut HeaderMap, origin: Option<&HeaderValue>) {
    let value = origin
        .cloned()
        .unwrap_or_else(|| HeaderValue::from_static("*"));
    headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, value);
    headers.insert(VARY, HeaderValue::from_static("Origin"));
}
