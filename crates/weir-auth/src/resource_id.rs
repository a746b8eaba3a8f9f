//! Resource ids (12 random Base58 characters: workspaces, connections, pipelines, listeners, API
//! key ids, dead letters, batches) and `Request-Id` values (Base58 of 12 random bytes)
//! (storage-and-pipelines.md §13, ingest-api.md §11).

use std::fmt;

use crate::random::{self, BASE58};

/// Length of a resource id, in characters.
const LEN: usize = 12;

/// A resource id: 12 characters of the Base58 alphabet
/// `123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz`. The same rule checks a body
/// `connectionId` and the `Weir-Workspace` header.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResourceId(String);

/// Why a string is not a well-formed resource id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// Not exactly 12 bytes long.
    #[error("resource id must be 12 characters long, not {len} bytes")]
    Length {
        /// The length received, in bytes.
        len: usize,
    },
    /// A byte outside the Base58 alphabet.
    #[error("resource id has a character outside the Base58 alphabet at byte {position}")]
    Character {
        /// Byte index of the first offending character.
        position: usize,
    },
}

impl ResourceId {
    /// A new random id, each character uniform over the Base58 alphabet.
    pub fn generate() -> Self {
        let chars: [u8; LEN] = random::chars(BASE58);
        Self(chars.iter().map(|&c| char::from(c)).collect())
    }

    /// Checks the format: exactly 12 characters of the Base58 alphabet.
    pub fn parse(s: &str) -> Result<Self, IdError> {
        if s.len() != LEN {
            return Err(IdError::Length { len: s.len() });
        }
        if let Some(position) = s.bytes().position(|b| !BASE58.contains(&b)) {
            return Err(IdError::Character { position });
        }
        Ok(Self(s.to_owned()))
    }

    /// The id itself.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ResourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for ResourceId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// A new `Request-Id` value: the Base58 (Bitcoin alphabet) encoding of 12 random bytes.
pub fn request_id() -> String {
    let mut bytes = [0u8; 12];
    random::fill(&mut bytes);
    bs58::encode(bytes).into_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn check(input: &str, expected: IdError) {
        assert_eq!(ResourceId::parse(input).unwrap_err(), expected, "{input:?}");
    }

    #[test]
    fn accepts_12_base58_characters() {
        let id = ResourceId::parse("2Hx9kLmNpQrZ").unwrap();
        assert_eq!(id.as_str(), "2Hx9kLmNpQrZ");
        assert_eq!(id.to_string(), "2Hx9kLmNpQrZ");
    }

    #[test]
    fn rejects_empty() {
        check("", IdError::Length { len: 0 });
    }

    #[test]
    fn rejects_11_characters() {
        check("2Hx9kLmNpQr", IdError::Length { len: 11 });
    }

    #[test]
    fn rejects_13_characters() {
        check("2Hx9kLmNpQrZa", IdError::Length { len: 13 });
    }

    #[test]
    fn rejects_each_excluded_base58_character() {
        for (c, position) in [('0', 0), ('O', 3), ('I', 7), ('l', 11)] {
            let mut s = String::from("2Hx9kLmNpQrZ");
            s.replace_range(position..position + 1, &c.to_string());
            check(&s, IdError::Character { position });
        }
    }

    #[test]
    fn rejects_punctuation() {
        check("2Hx9kLmNpQr-", IdError::Character { position: 11 });
    }

    #[test]
    fn rejects_non_ascii_of_the_right_byte_length() {
        check("2Hx9kLmNpQé", IdError::Character { position: 10 });
    }

    #[test]
    fn error_messages() {
        assert_eq!(
            IdError::Length { len: 2 }.to_string(),
            "resource id must be 12 characters long, not 2 bytes"
        );
        assert_eq!(
            IdError::Character { position: 4 }.to_string(),
            "resource id has a character outside the Base58 alphabet at byte 4"
        );
    }

    #[test]
    fn generated_ids_parse() {
        for _ in 0..100 {
            let id = ResourceId::generate();
            assert_eq!(ResourceId::parse(id.as_str()).unwrap(), id);
        }
    }

    #[test]
    fn generated_characters_cover_the_alphabet_evenly() {
        let mut counts = [0usize; 256];
        for _ in 0..2000 {
            for b in ResourceId::generate().as_str().bytes() {
                counts[usize::from(b)] += 1;
            }
        }
        // 24000 draws, about 414 per character (σ ≈ 20); the bounds are ~10σ away.
        for &c in BASE58 {
            let n = counts[usize::from(c)];
            assert!((214..614).contains(&n), "{} drawn {n} times", c as char);
        }
    }

    #[test]
    fn request_ids_are_base58_of_12_bytes() {
        let mut lengths = std::collections::BTreeSet::new();
        for _ in 0..200 {
            let id = request_id();
            assert!(id.bytes().all(|b| BASE58.contains(&b)), "{id}");
            let bytes = bs58::decode(&id).into_vec().unwrap();
            assert_eq!(bytes.len(), 12, "{id}");
            lengths.insert(id.len());
        }
        // 12 bytes take at most 17 Base58 digits, usually 16 or 17.
        assert!(lengths.iter().all(|n| (12..=17).contains(n)), "{lengths:?}");
    }

    #[test]
    fn request_ids_differ() {
        assert_ne!(request_id(), request_id());
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in any::<String>()) {
            let _ = ResourceId::parse(&s);
        }

        #[test]
        fn parse_accepts_exactly_the_format(
            s in "[123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz]{12}"
        ) {
            let id = ResourceId::parse(&s).unwrap();
            prop_assert_eq!(id.as_str(), s.as_str());
        }
    }
}
