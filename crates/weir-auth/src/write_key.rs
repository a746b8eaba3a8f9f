//! Event write keys: 32 characters from `A-Za-z0-9`, generated uniformly from the CSPRNG and
//! compared in constant time (storage-and-pipelines.md §13).

use std::fmt;

use subtle::ConstantTimeEq;

use crate::random::{self, BASE62};

/// Length of an event write key, in characters.
const LEN: usize = 32;

/// An event write key: it authenticates ingestion to one source connection.
///
/// Equality is constant-time. `Debug` shows only the first four characters.
#[derive(Clone)]
pub struct WriteKey(String);

/// Why a string is not a well-formed event write key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// Not exactly 32 bytes long.
    #[error("event write key must be 32 characters long, not {len} bytes")]
    Length {
        /// The length received, in bytes.
        len: usize,
    },
    /// A byte outside `A-Za-z0-9`.
    #[error("event write key has a character outside A-Za-z0-9 at byte {position}")]
    Character {
        /// Byte index of the first offending character.
        position: usize,
    },
}

impl WriteKey {
    /// A new random key: 32 characters, each uniform over `A-Za-z0-9`.
    pub fn generate() -> Self {
        let chars: [u8; LEN] = random::chars(BASE62);
        Self(chars.iter().map(|&c| char::from(c)).collect())
    }

    /// Checks the format only (32 characters of `A-Za-z0-9`); whether the key exists is for the
    /// lookup to decide.
    pub fn parse(s: &str) -> Result<Self, KeyError> {
        if s.len() != LEN {
            return Err(KeyError::Length { len: s.len() });
        }
        if let Some(position) = s.bytes().position(|b| !b.is_ascii_alphanumeric()) {
            return Err(KeyError::Character { position });
        }
        Ok(Self(s.to_owned()))
    }

    /// The key itself.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `presented` (for example a token from a request) is this key, in constant time.
    pub fn matches(&self, presented: &str) -> bool {
        self.0.as_bytes().ct_eq(presented.as_bytes()).into()
    }
}

impl PartialEq for WriteKey {
    fn eq(&self, other: &Self) -> bool {
        self.matches(&other.0)
    }
}

impl Eq for WriteKey {}

impl fmt::Debug for WriteKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WriteKey({}…)", self.0.get(..4).unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const GOOD: &str = "Ab3dEf7hIj0lMn1pQr2tUv4xYz5aBc6d";

    fn check(input: &str, expected: KeyError) {
        assert_eq!(WriteKey::parse(input).unwrap_err(), expected, "{input:?}");
    }

    #[test]
    fn accepts_32_alphanumerics() {
        assert_eq!(WriteKey::parse(GOOD).unwrap().as_str(), GOOD);
    }

    #[test]
    fn rejects_empty() {
        check("", KeyError::Length { len: 0 });
    }

    #[test]
    fn rejects_31_characters() {
        check(&GOOD[..31], KeyError::Length { len: 31 });
    }

    #[test]
    fn rejects_33_characters() {
        check(&format!("{GOOD}A"), KeyError::Length { len: 33 });
    }

    #[test]
    fn rejects_punctuation() {
        check(
            "Ab3dEf7hIj0lMn1pQr2tUv4xYz5aBc6-",
            KeyError::Character { position: 31 },
        );
        check(
            "_b3dEf7hIj0lMn1pQr2tUv4xYz5aBc6d",
            KeyError::Character { position: 0 },
        );
    }

    #[test]
    fn rejects_non_ascii_of_the_right_byte_length() {
        // 30 ASCII bytes + "é" (2 bytes) = 32 bytes.
        check(
            "Ab3dEf7hIj0lMn1pQr2tUv4xYz5aBcé",
            KeyError::Character { position: 30 },
        );
    }

    #[test]
    fn error_messages() {
        assert_eq!(
            KeyError::Length { len: 3 }.to_string(),
            "event write key must be 32 characters long, not 3 bytes"
        );
        assert_eq!(
            KeyError::Character { position: 5 }.to_string(),
            "event write key has a character outside A-Za-z0-9 at byte 5"
        );
    }

    #[test]
    fn generated_keys_parse() {
        for _ in 0..100 {
            let key = WriteKey::generate();
            assert_eq!(WriteKey::parse(key.as_str()).unwrap(), key);
        }
    }

    #[test]
    fn generated_characters_cover_the_alphabet_evenly() {
        let mut counts = [0usize; 256];
        let keys = 2000;
        for _ in 0..keys {
            for b in WriteKey::generate().as_str().bytes() {
                counts[usize::from(b)] += 1;
            }
        }
        // 64000 draws, about 1032 per character (σ ≈ 32); the bounds are ~10σ away.
        for &c in BASE62 {
            let n = counts[usize::from(c)];
            assert!((700..1400).contains(&n), "{} drawn {n} times", c as char);
        }
        let total: usize = counts.iter().sum();
        assert_eq!(total, keys * LEN);
    }

    #[test]
    fn equality_and_matching() {
        let key = WriteKey::parse(GOOD).unwrap();
        assert_eq!(key, WriteKey::parse(GOOD).unwrap());
        assert_ne!(key, WriteKey::generate());
        assert!(key.matches(GOOD));
        assert!(!key.matches(&GOOD[..31]));
        assert!(!key.matches(&GOOD.to_lowercase()));
        assert!(!key.matches(""));
    }

    #[test]
    fn debug_hides_most_of_the_key() {
        let key = WriteKey::parse(GOOD).unwrap();
        assert_eq!(format!("{key:?}"), "WriteKey(Ab3d…)");
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in any::<String>()) {
            let _ = WriteKey::parse(&s);
        }

        #[test]
        fn parse_accepts_exactly_the_format(s in "[A-Za-z0-9]{32}") {
            let key = WriteKey::parse(&s).unwrap();
            prop_assert_eq!(key.as_str(), s.as_str());
        }
    }
}
