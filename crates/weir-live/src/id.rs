//! Listener ids: 12 random characters of the Base58 alphabet (storage spec §13).

use std::fmt;

use rand::Rng;

const BASE58: &[u8; 58] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
const LEN: usize = 12;

/// The id of a listener, unique within its workspace.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ListenerId(String);

impl ListenerId {
    /// A new id, each character drawn uniformly from the Base58 alphabet by the thread-local
    /// CSPRNG.
    pub(crate) fn generate() -> ListenerId {
        let mut rng = rand::rng();
        ListenerId(
            (0..LEN)
                .map(|_| char::from(BASE58[rng.random_range(0..BASE58.len())]))
                .collect(),
        )
    }

    /// The id itself.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ListenerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for ListenerId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl From<ListenerId> for String {
    fn from(id: ListenerId) -> String {
        id.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_12_base58_characters_and_differ() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..1000 {
            let id = ListenerId::generate();
            assert_eq!(id.as_str().len(), LEN, "{id}");
            assert!(id.as_str().bytes().all(|b| BASE58.contains(&b)), "{id}");
            assert!(seen.insert(id));
        }
    }
}
