//! The `Authorization` request header of the ingest API, parsed into a credential: `Bearer` with
//! an event write key or an `api_` key, or `Basic` with a write key as the user name
//! (ingest-api.md §2.1), and its errors with their exact responses (§2.2).

use std::fmt;

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

use crate::api_key::{ApiKey, ApiKeyMalformed};

/// Standard Base64, padding optional, non-zero trailing bits tolerated.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// The message of every "not a valid `Bearer`/`Basic` credential" error.
const INVALID: &str = "Authorization header is invalid; use \"Authorization: Bearer <KEY>\" with an API key or an event write key";

/// What an `Authorization` header presents.
#[derive(Clone, PartialEq, Eq)]
pub enum Credential {
    /// An event write key (modes A and B), not format-checked: whether it exists is for the
    /// lookup to decide, and an unknown key is a 401. Bytes that are not UTF-8 are replaced by
    /// U+FFFD, which no key contains.
    WriteKey(String),
    /// A well-formed management API key (mode D).
    ApiKey(ApiKey),
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::WriteKey(key) => {
                let start: String = key.chars().take(4).collect();
                write!(f, "WriteKey({start}…)")
            }
            Self::ApiKey(key) => f.debug_tuple("ApiKey").field(key).finish(),
        }
    }
}

/// Why an `Authorization` header is rejected. `Display` is the exact response message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthHeaderError {
    /// The scheme is neither `Bearer` nor `Basic` (or is missing).
    #[error("{INVALID}")]
    Scheme,
    /// Nothing follows the scheme.
    #[error("{INVALID}")]
    Token,
    /// A `Basic` token that is not Base64.
    #[error("{INVALID}")]
    Base64,
    /// A `Basic` token that does not decode to UTF-8.
    #[error("{INVALID}")]
    Utf8,
    /// A `Basic` token with an empty user name.
    #[error("{INVALID}")]
    User,
    /// A `Bearer` token starting with `api_` that is not a well-formed API key.
    #[error("API key in the Authorization header is malformed; check that it was copied correctly")]
    MalformedApiKey(#[source] ApiKeyMalformed),
}

impl AuthHeaderError {
    /// The HTTP status of the response.
    pub fn status(&self) -> u16 {
        400
    }

    /// The `code` member of the error body.
    pub fn code(&self) -> &'static str {
        "BadRequest"
    }
}

/// Parses the value of an `Authorization` header: `<scheme><SP|HTAB>+<token>`, the scheme
/// ASCII-case-insensitive. Spaces and tabs around the value are not part of it (RFC 9110 §5.5)
/// and are ignored.
///
/// * `Bearer api_…` → [`Credential::ApiKey`], or [`AuthHeaderError::MalformedApiKey`];
/// * any other `Bearer` token → [`Credential::WriteKey`];
/// * `Basic base64(user[:password])` → [`Credential::WriteKey`] of the user name, never an
///   API key.
pub fn parse_authorization(value: &[u8]) -> Result<Credential, AuthHeaderError> {
    let value = trim_end(trim_start(value));
    let (scheme, rest) = match value.iter().position(|&b| is_blank(b)) {
        Some(at) => value.split_at(at),
        None => (value, &[][..]),
    };
    let token = trim_start(rest);
    let bearer = if scheme.eq_ignore_ascii_case(b"bearer") {
        true
    } else if scheme.eq_ignore_ascii_case(b"basic") {
        false
    } else {
        return Err(AuthHeaderError::Scheme);
    };
    if token.is_empty() {
        return Err(AuthHeaderError::Token);
    }
    if bearer {
        if token.starts_with(b"api_") {
            return ApiKey::parse_bytes(token)
                .map(Credential::ApiKey)
                .map_err(AuthHeaderError::MalformedApiKey);
        }
        return Ok(Credential::WriteKey(
            String::from_utf8_lossy(token).into_owned(),
        ));
    }
    let decoded = BASE64.decode(token).map_err(|_| AuthHeaderError::Base64)?;
    let decoded = String::from_utf8(decoded).map_err(|_| AuthHeaderError::Utf8)?;
    let user = decoded
        .split_once(':')
        .map_or(decoded.as_str(), |(user, _)| user);
    if user.is_empty() {
        return Err(AuthHeaderError::User);
    }
    Ok(Credential::WriteKey(user.to_owned()))
}

fn is_blank(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

fn trim_start(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|&b| !is_blank(b))
        .unwrap_or(bytes.len());
    &bytes[start..]
}

fn trim_end(bytes: &[u8]) -> &[u8] {
    let end = bytes
        .iter()
        .rposition(|&b| !is_blank(b))
        .map_or(0, |at| at + 1);
    &bytes[..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const API_KEY: &str = "api_AADkevdTMH3tvMdatC4XeDWPkqMhQJVbUbm6QuLSNvpCox5tI";

    fn ok(value: &[u8], expected: Credential) {
        assert_eq!(parse_authorization(value).unwrap(), expected, "{value:?}");
    }

    fn check(value: &[u8], expected: AuthHeaderError) {
        assert_eq!(
            parse_authorization(value).unwrap_err(),
            expected,
            "{value:?}"
        );
    }

    fn write_key(key: &str) -> Credential {
        Credential::WriteKey(key.to_owned())
    }

    fn basic(decoded: &[u8]) -> Vec<u8> {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(decoded)
        )
        .into_bytes()
    }

    #[test]
    fn bearer_write_key() {
        ok(b"Bearer abc123", write_key("abc123"));
    }

    #[test]
    fn scheme_is_case_insensitive() {
        for value in [&b"bearer k"[..], b"BEARER k", b"bEaReR k"] {
            ok(value, write_key("k"));
        }
        ok(b"BASIC dTo=", write_key("u"));
    }

    #[test]
    fn any_run_of_spaces_and_tabs_separates() {
        for value in [&b"Bearer\tk"[..], b"Bearer   k", b"Bearer \t \tk"] {
            ok(value, write_key("k"));
        }
    }

    #[test]
    fn surrounding_blanks_are_ignored() {
        ok(b" \tBearer k \t", write_key("k"));
    }

    #[test]
    fn bearer_token_is_not_format_checked() {
        ok(b"Bearer mcp_x", write_key("mcp_x"));
        ok(b"Bearer org_x", write_key("org_x"));
        ok(b"Bearer API_x", write_key("API_x"));
        ok(b"Bearer a b", write_key("a b"));
        ok(b"Bearer \xffk", write_key("\u{fffd}k"));
    }

    #[test]
    fn bearer_api_key() {
        let expected = Credential::ApiKey(ApiKey::parse(API_KEY).unwrap());
        ok(format!("Bearer {API_KEY}").as_bytes(), expected);
    }

    #[test]
    fn rejects_malformed_api_key() {
        check(
            b"Bearer api_",
            AuthHeaderError::MalformedApiKey(ApiKeyMalformed::Length { len: 4 }),
        );
        let bad_crc = format!("Bearer {}J", &API_KEY[..52]);
        check(
            bad_crc.as_bytes(),
            AuthHeaderError::MalformedApiKey(ApiKeyMalformed::Checksum),
        );
        let not_utf8 = [b"Bearer ".as_slice(), &API_KEY.as_bytes()[..52], b"\xff"].concat();
        let position = 52;
        check(
            &not_utf8,
            AuthHeaderError::MalformedApiKey(ApiKeyMalformed::Character { position }),
        );
    }

    #[test]
    fn rejects_empty_value() {
        check(b"", AuthHeaderError::Scheme);
        check(b" \t ", AuthHeaderError::Scheme);
    }

    #[test]
    fn rejects_other_schemes() {
        check(b"Token k", AuthHeaderError::Scheme);
        check(b"Digest k", AuthHeaderError::Scheme);
        check(b"Bearer: k", AuthHeaderError::Scheme);
        check(b"Bearerk", AuthHeaderError::Scheme);
        check(b"k", AuthHeaderError::Scheme);
    }

    #[test]
    fn rejects_scheme_without_token() {
        check(b"Bearer", AuthHeaderError::Token);
        check(b"Bearer \t ", AuthHeaderError::Token);
        check(b"Basic", AuthHeaderError::Token);
        check(b"Basic  ", AuthHeaderError::Token);
    }

    #[test]
    fn basic_user_name_is_the_write_key() {
        ok(&basic(b"KEY:"), write_key("KEY"));
        ok(&basic(b"KEY:password:with:colons"), write_key("KEY"));
        ok(&basic(b"KEY"), write_key("KEY"));
        ok(&basic("clé:".as_bytes()), write_key("clé"));
    }

    #[test]
    fn basic_padding_is_optional() {
        ok(b"Basic S0VZOg==", write_key("KEY"));
        ok(b"Basic S0VZOg", write_key("KEY"));
    }

    #[test]
    fn basic_never_yields_an_api_key() {
        ok(&basic(format!("{API_KEY}:").as_bytes()), write_key(API_KEY));
        ok(&basic(b"api_x:"), write_key("api_x"));
    }

    #[test]
    fn rejects_basic_not_base64() {
        check(b"Basic !!!!", AuthHeaderError::Base64);
        check(b"Basic S0VZ Og==", AuthHeaderError::Base64);
        check(b"Basic S0VZOg===", AuthHeaderError::Base64);
        check(b"Basic S", AuthHeaderError::Base64);
        check(b"Basic S0VZOg__", AuthHeaderError::Base64); // URL-safe alphabet
    }

    #[test]
    fn rejects_basic_not_utf8() {
        check(&basic(b"\xff\xfe:"), AuthHeaderError::Utf8);
    }

    #[test]
    fn rejects_basic_empty_user() {
        check(&basic(b":password"), AuthHeaderError::User);
        check(&basic(b":"), AuthHeaderError::User);
        check(&basic(b""), AuthHeaderError::Token); // "Basic " + nothing
    }

    #[test]
    fn responses_are_the_exact_catalogue_entries() {
        let invalid = "Authorization header is invalid; use \"Authorization: Bearer <KEY>\" with an API key or an event write key";
        let malformed =
            "API key in the Authorization header is malformed; check that it was copied correctly";
        let cases = [
            (AuthHeaderError::Scheme, invalid),
            (AuthHeaderError::Token, invalid),
            (AuthHeaderError::Base64, invalid),
            (AuthHeaderError::Utf8, invalid),
            (AuthHeaderError::User, invalid),
            (
                AuthHeaderError::MalformedApiKey(ApiKeyMalformed::Checksum),
                malformed,
            ),
        ];
        for (error, message) in cases {
            assert_eq!(
                (error.status(), error.code()),
                (400, "BadRequest"),
                "{error:?}"
            );
            assert_eq!(error.to_string(), message);
        }
    }

    #[test]
    fn malformed_api_key_keeps_its_reason_as_source() {
        let error = AuthHeaderError::MalformedApiKey(ApiKeyMalformed::Prefix);
        let source = std::error::Error::source(&error).unwrap();
        assert_eq!(source.to_string(), "API key does not start with api_");
    }

    #[test]
    fn debug_hides_write_keys() {
        let credential = write_key("Ab3dEf7hIj0lMn1pQr2tUv4xYz5aBc6d");
        assert_eq!(format!("{credential:?}"), "WriteKey(Ab3d…)");
        let credential = Credential::ApiKey(ApiKey::parse(API_KEY).unwrap());
        assert_eq!(
            format!("{credential:?}"),
            "ApiKey(ApiKey { hint: \"api_AADk…Cox5tI\" })"
        );
    }

    proptest! {
        #[test]
        fn never_panics(value in proptest::collection::vec(any::<u8>(), 0..80)) {
            let _ = parse_authorization(&value);
        }

        #[test]
        fn never_panics_on_scheme_shaped_input(
            scheme in "(?i)(bearer|basic)",
            blanks in "[ \t]{0,3}",
            token in proptest::collection::vec(any::<u8>(), 0..60),
        ) {
            let value = [scheme.as_bytes(), blanks.as_bytes(), &token].concat();
            let _ = parse_authorization(&value);
        }

        #[test]
        fn bearer_returns_the_token(token in "[!-~]([ -~]*[!-~])?") {
            prop_assume!(!token.starts_with("api_"));
            let value = format!("Bearer {token}");
            prop_assert_eq!(parse_authorization(value.as_bytes()), Ok(write_key(&token)));
        }

        #[test]
        fn basic_returns_the_user(user in "[^:]+", password in "\\PC*") {
            let value = basic(format!("{user}:{password}").as_bytes());
            prop_assert_eq!(parse_authorization(&value), Ok(write_key(&user)));
        }
    }
}
