//! Management API keys: `api_` + 43 base62 characters (32 random payload bytes) + 6 base62
//! characters (CRC-32 of the payload); their hint; and their storage hash, HMAC-SHA-256 under a
//! server secret, verified in constant time (storage-and-pipelines.md §12, §13).

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::base62::{self, DecodeError};
use crate::random;

/// The prefix of every API key.
const PREFIX: &str = "api_";
/// Payload size, in bytes.
const PAYLOAD: usize = 32;
/// Base62 characters of the payload.
const PAYLOAD_CHARS: usize = 43;
/// Base62 characters of the checksum.
const CRC_CHARS: usize = 6;
/// Length of a whole key, in characters.
const LEN: usize = PREFIX.len() + PAYLOAD_CHARS + CRC_CHARS;

/// A management API key.
///
/// The token is shown to its owner once, at creation; afterwards only [`ApiKey::hint`] and the
/// [`ApiKeyHasher`] hash are kept. Equality is constant-time; `Debug` shows only the hint.
#[derive(Clone)]
pub struct ApiKey {
    token: String,
    payload: [u8; PAYLOAD],
}

/// Why a token is not a well-formed API key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiKeyMalformed {
    /// Does not start with `api_`.
    #[error("API key does not start with api_")]
    Prefix,
    /// Not exactly 53 bytes long.
    #[error("API key must be 53 characters long, not {len} bytes")]
    Length {
        /// The length received, in bytes.
        len: usize,
    },
    /// A byte outside the base62 alphabet after the prefix.
    #[error("API key has a character outside the base62 alphabet at byte {position}")]
    Character {
        /// Byte index, in the whole token, of the first offending character.
        position: usize,
    },
    /// The payload is 2^256 or more, or the checksum 2^32 or more.
    #[error("API key encodes a number that is out of range")]
    Overflow,
    /// The checksum is not the CRC-32 of the payload.
    #[error("API key checksum does not match")]
    Checksum,
}

impl ApiKey {
    /// A new key from 32 bytes of the CSPRNG. Its token is to be shown once.
    pub fn generate() -> Self {
        let mut payload = [0u8; PAYLOAD];
        random::fill(&mut payload);
        Self::from_payload(payload)
    }

    /// Checks the token's format: prefix, length, alphabet, range and checksum.
    pub fn parse(token: &str) -> Result<Self, ApiKeyMalformed> {
        Self::parse_bytes(token.as_bytes())
    }

    /// As [`ApiKey::parse`], for a token that may not be UTF-8 (from an HTTP header).
    pub(crate) fn parse_bytes(token: &[u8]) -> Result<Self, ApiKeyMalformed> {
        let Some(body) = token.strip_prefix(PREFIX.as_bytes()) else {
            return Err(ApiKeyMalformed::Prefix);
        };
        if token.len() != LEN {
            return Err(ApiKeyMalformed::Length { len: token.len() });
        }
        if let Some(index) = body.iter().position(|c| !c.is_ascii_alphanumeric()) {
            return Err(ApiKeyMalformed::Character {
                position: PREFIX.len() + index,
            });
        }
        let (payload_chars, crc_chars) = body.split_at(PAYLOAD_CHARS);
        let mut payload = [0u8; PAYLOAD];
        let mut crc = [0u8; 4];
        decode_part(payload_chars, PREFIX.len(), &mut payload)?;
        decode_part(crc_chars, PREFIX.len() + PAYLOAD_CHARS, &mut crc)?;
        if u32::from_be_bytes(crc) != crc32fast::hash(&payload) {
            return Err(ApiKeyMalformed::Checksum);
        }
        Ok(Self::from_payload(payload))
    }

    /// The key whose payload is `payload`.
    fn from_payload(payload: [u8; PAYLOAD]) -> Self {
        let mut chars = [0u8; PAYLOAD_CHARS + CRC_CHARS];
        let (payload_chars, crc_chars) = chars.split_at_mut(PAYLOAD_CHARS);
        // 62^43 > 2^256 and 62^6 > 2^32: the fixed widths always suffice.
        let fits = base62::encode(&payload, payload_chars)
            && base62::encode(&crc32fast::hash(&payload).to_be_bytes(), crc_chars);
        debug_assert!(fits);
        let mut token = String::with_capacity(LEN);
        token.push_str(PREFIX);
        token.extend(chars.iter().map(|&c| char::from(c)));
        Self { token, payload }
    }

    /// The whole token, `api_…`.
    pub fn as_str(&self) -> &str {
        &self.token
    }

    /// What lists show instead of the token: `api_` + the first 4 characters after the prefix +
    /// `…` + the last 6 characters, e.g. `api_ABCD…xyz123`.
    pub fn hint(&self) -> String {
        let body = &self.token[PREFIX.len()..];
        format!("{PREFIX}{}…{}", &body[..4], &body[body.len() - CRC_CHARS..])
    }
}

/// Decodes one base62 part of a token that starts at byte `offset`.
fn decode_part(digits: &[u8], offset: usize, out: &mut [u8]) -> Result<(), ApiKeyMalformed> {
    base62::decode(digits, out).map_err(|error| match error {
        DecodeError::Character(index) => ApiKeyMalformed::Character {
            position: offset + index,
        },
        DecodeError::Overflow => ApiKeyMalformed::Overflow,
    })
}

impl PartialEq for ApiKey {
    fn eq(&self, other: &Self) -> bool {
        self.payload.ct_eq(&other.payload).into()
    }
}

impl Eq for ApiKey {}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKey")
            .field("hint", &self.hint())
            .finish()
    }
}

/// Hashes API keys for storage: HMAC-SHA-256 under the server secret of the 32 payload bytes.
#[derive(Clone)]
pub struct ApiKeyHasher {
    mac: Hmac<Sha256>,
}

impl ApiKeyHasher {
    /// A hasher keyed with `server_secret` (any length; 32 random bytes or more recommended).
    pub fn new(server_secret: &[u8]) -> Self {
        let mac = <Hmac<Sha256> as Mac>::new_from_slice(server_secret)
            .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
        Self { mac }
    }

    /// The value to store for `key`.
    pub fn hash(&self, key: &ApiKey) -> [u8; 32] {
        let mut mac = self.mac.clone();
        mac.update(&key.payload);
        mac.finalize().into_bytes().into()
    }

    /// Whether `stored` is the hash of `key`, compared in constant time.
    pub fn verify(&self, key: &ApiKey, stored: &[u8; 32]) -> bool {
        self.hash(key).ct_eq(stored).into()
    }
}

impl fmt::Debug for ApiKeyHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKeyHasher").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::BASE62;
    use proptest::prelude::*;

    /// Payload 0x00 0x01 … 0x1f.
    const COUNTING: &str = "api_AADkevdTMH3tvMdatC4XeDWPkqMhQJVbUbm6QuLSNvpCox5tI";
    /// Payload of 32 zero bytes; CRC-32 = 0x190A55AD = "AcatMh".
    const ZEROS: &str = concat!(
        "api_",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "AcatMh"
    );
    /// Payload of 32 0xff bytes: the largest payload.
    const ONES: &str = "api_8rt2u6nKGYjBKVBiwRgjgwIVVQHRtx4MKCtF1Y6IhzBEqAtVh";

    fn check(input: &str, expected: ApiKeyMalformed) {
        assert_eq!(ApiKey::parse(input).unwrap_err(), expected, "{input:?}");
    }

    /// `COUNTING` with the byte at `index` replaced by `c`.
    fn counting_with(index: usize, c: char) -> String {
        let mut s = COUNTING.to_owned();
        s.replace_range(index..index + 1, &c.to_string());
        s
    }

    #[test]
    fn known_answer_all_zero_payload() {
        assert_eq!(crc32fast::hash(&[0; 32]), 0x190A_55AD);
        let key = ApiKey::from_payload([0; 32]);
        let expected = format!("api_{}AcatMh", "A".repeat(43));
        assert_eq!(expected, ZEROS);
        assert_eq!(key.as_str(), ZEROS);
        assert_eq!(ApiKey::parse(ZEROS).unwrap().payload, [0; 32]);
    }

    #[test]
    fn known_answer_counting_payload() {
        let payload: [u8; 32] = std::array::from_fn(|i| i as u8);
        assert_eq!(ApiKey::from_payload(payload).as_str(), COUNTING);
        assert_eq!(ApiKey::parse(COUNTING).unwrap().payload, payload);
    }

    #[test]
    fn known_answer_largest_payload() {
        assert_eq!(ApiKey::from_payload([0xff; 32]).as_str(), ONES);
        assert_eq!(ApiKey::parse(ONES).unwrap().payload, [0xff; 32]);
    }

    #[test]
    fn rejects_missing_prefix() {
        check(&COUNTING[4..], ApiKeyMalformed::Prefix);
        check(&COUNTING.replace("api_", "API_"), ApiKeyMalformed::Prefix);
        check(&COUNTING.replace("api_", "key_"), ApiKeyMalformed::Prefix);
        check("", ApiKeyMalformed::Prefix);
    }

    #[test]
    fn rejects_prefix_alone() {
        check("api_", ApiKeyMalformed::Length { len: 4 });
    }

    #[test]
    fn rejects_one_character_short() {
        check(&COUNTING[..52], ApiKeyMalformed::Length { len: 52 });
    }

    #[test]
    fn rejects_one_character_long() {
        check(&format!("{COUNTING}A"), ApiKeyMalformed::Length { len: 54 });
    }

    #[test]
    fn rejects_foreign_character_in_payload() {
        check(
            &counting_with(10, '-'),
            ApiKeyMalformed::Character { position: 10 },
        );
    }

    #[test]
    fn rejects_foreign_character_in_checksum() {
        check(
            &counting_with(52, '_'),
            ApiKeyMalformed::Character { position: 52 },
        );
    }

    #[test]
    fn foreign_character_is_reported_before_overflow() {
        // Overflowing payload ('9' first) and a foreign character in the checksum.
        let mut s = counting_with(4, '9');
        s.replace_range(50..51, "+");
        check(&s, ApiKeyMalformed::Character { position: 50 });
    }

    #[test]
    fn rejects_non_ascii_of_the_right_byte_length() {
        let s = format!("{}é", &COUNTING[..51]);
        check(&s, ApiKeyMalformed::Character { position: 51 });
    }

    #[test]
    fn rejects_payload_of_2_pow_256() {
        // ONES's payload is 2^256 - 1; one more overflows.
        let s = format!(
            "api_8rt2u6nKGYjBKVBiwRgjgwIVVQHRtx4MKCtF1Y6IhzC{}",
            &ONES[47..]
        );
        check(&s, ApiKeyMalformed::Overflow);
    }

    #[test]
    fn rejects_payload_with_top_digit_9() {
        check(&counting_with(4, '9'), ApiKeyMalformed::Overflow);
    }

    #[test]
    fn rejects_checksum_of_2_pow_32() {
        // "EqpPMD" is 2^32 - 1.
        check(
            &format!("{}EqpPME", &COUNTING[..47]),
            ApiKeyMalformed::Overflow,
        );
        check(
            &format!("{}999999", &COUNTING[..47]),
            ApiKeyMalformed::Overflow,
        );
    }

    #[test]
    fn rejects_checksum_mismatch() {
        check(&counting_with(52, 'J'), ApiKeyMalformed::Checksum);
        check(&counting_with(20, 'A'), ApiKeyMalformed::Checksum);
        check(
            &format!("{}EqpPMD", &COUNTING[..47]),
            ApiKeyMalformed::Checksum,
        );
    }

    #[test]
    fn error_messages() {
        let cases = [
            (ApiKeyMalformed::Prefix, "API key does not start with api_"),
            (
                ApiKeyMalformed::Length { len: 7 },
                "API key must be 53 characters long, not 7 bytes",
            ),
            (
                ApiKeyMalformed::Character { position: 9 },
                "API key has a character outside the base62 alphabet at byte 9",
            ),
            (
                ApiKeyMalformed::Overflow,
                "API key encodes a number that is out of range",
            ),
            (ApiKeyMalformed::Checksum, "API key checksum does not match"),
        ];
        for (error, message) in cases {
            assert_eq!(error.to_string(), message);
        }
    }

    #[test]
    fn hint() {
        let key = ApiKey::parse(COUNTING).unwrap();
        assert_eq!(key.hint(), "api_AADk…Cox5tI");
        assert_eq!(format!("{key:?}"), "ApiKey { hint: \"api_AADk…Cox5tI\" }");
    }

    #[test]
    fn generated_keys_parse() {
        for _ in 0..100 {
            let key = ApiKey::generate();
            assert_eq!(key.as_str().len(), 53);
            let parsed = ApiKey::parse(key.as_str()).unwrap();
            assert_eq!(parsed, key);
            assert_eq!(parsed.as_str(), key.as_str());
        }
    }

    #[test]
    fn generated_keys_use_the_whole_alphabet() {
        let mut seen = [false; 256];
        for _ in 0..500 {
            for b in ApiKey::generate().as_str()[4..].bytes() {
                seen[usize::from(b)] = true;
            }
        }
        for &c in BASE62 {
            assert!(seen[usize::from(c)], "{} never generated", c as char);
        }
    }

    #[test]
    fn equality() {
        assert_eq!(ApiKey::parse(ZEROS).unwrap(), ApiKey::from_payload([0; 32]));
        assert_ne!(ApiKey::parse(ZEROS).unwrap(), ApiKey::parse(ONES).unwrap());
    }

    #[test]
    fn hash_known_answers() {
        // HMAC-SHA-256(secret, 32 zero bytes), computed independently (Python's hmac module).
        let zeros = ApiKey::parse(ZEROS).unwrap();
        let cases: [(&[u8], &str); 3] = [
            (
                b"secret",
                "92831b78f39baa6c689a42f5e7d26372717f50d1d0635a42b49cc3643b18956c",
            ),
            // Longer than SHA-256's 64-byte block: HMAC hashes the secret first.
            (
                &[b'k'; 100],
                "454624699bbc2ec716511a9b76fa5926af290df28e28b42435801a126ec7987d",
            ),
            (
                b"",
                "33ad0a1c607ec03b09e6cd9893680ce210adf300aa1f2660e1b22e10f170f92a",
            ),
        ];
        for (secret, expected) in cases {
            assert_eq!(hex(&ApiKeyHasher::new(secret).hash(&zeros)), expected);
        }
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn verify() {
        let key = ApiKey::generate();
        let hasher = ApiKeyHasher::new(b"one secret");
        let stored = hasher.hash(&key);
        assert!(hasher.verify(&key, &stored));
        assert!(!hasher.verify(&ApiKey::generate(), &stored));
        assert!(!ApiKeyHasher::new(b"another secret").verify(&key, &stored));
        let mut flipped = stored;
        flipped[31] ^= 1;
        assert!(!hasher.verify(&key, &flipped));
    }

    #[test]
    fn hasher_debug_hides_the_secret() {
        assert_eq!(
            format!("{:?}", ApiKeyHasher::new(b"s3cr3t")),
            "ApiKeyHasher { .. }"
        );
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in any::<String>()) {
            let _ = ApiKey::parse(&s);
        }

        #[test]
        fn parse_never_panics_on_key_shaped_input(s in "api_[A-Za-z0-9_é-]{45,52}") {
            let _ = ApiKey::parse(&s);
        }

        #[test]
        fn every_payload_round_trips(payload in proptest::array::uniform32(any::<u8>())) {
            let key = ApiKey::from_payload(payload);
            prop_assert_eq!(ApiKey::parse(key.as_str()).unwrap().payload, payload);
        }
    }
}
