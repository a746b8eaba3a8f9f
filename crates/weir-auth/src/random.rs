//! Randomness: the CSPRNG source and uniform sampling of characters from an alphabet.

use rand::RngCore;

/// The 62-character alphabet of event write keys and API keys (`A`=0 … `9`=61).
pub(crate) const BASE62: &[u8; 62] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// The Bitcoin Base58 alphabet of resource ids and request ids.
pub(crate) const BASE58: &[u8; 58] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/// Fills `buf` from the thread-local CSPRNG (ChaCha, seeded and reseeded from the OS).
pub(crate) fn fill(buf: &mut [u8]) {
    rand::rng().fill_bytes(buf);
}

/// `N` characters drawn uniformly and independently from `alphabet`, using the CSPRNG.
pub(crate) fn chars<const N: usize>(alphabet: &[u8]) -> [u8; N] {
    chars_from(alphabet, fill)
}

/// `N` characters drawn uniformly from `alphabet` (1 to 256 entries) out of the bytes that
/// `source` produces. Rejection sampling: a byte is used only when it is below the largest
/// multiple of the alphabet size that fits in a byte, so that `byte % len` is unbiased.
fn chars_from<const N: usize>(alphabet: &[u8], mut source: impl FnMut(&mut [u8])) -> [u8; N] {
    let len = alphabet.len();
    debug_assert!((1..=256).contains(&len), "alphabet of {len} characters");
    let limit = 256 - 256 % len;
    let mut out = [0u8; N];
    let mut filled = 0;
    let mut pool = [0u8; 64];
    while filled < N {
        source(&mut pool);
        for &byte in &pool {
            let byte = usize::from(byte);
            if byte < limit {
                out[filled] = alphabet[byte % len];
                filled += 1;
                if filled == N {
                    break;
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A byte source that replays `bytes` cyclically.
    fn replay(bytes: &[u8]) -> impl FnMut(&mut [u8]) + '_ {
        let mut at = 0;
        move |buf: &mut [u8]| {
            for slot in buf {
                *slot = bytes[at % bytes.len()];
                at += 1;
            }
        }
    }

    #[test]
    fn base62_rejects_bytes_from_248_up() {
        // 248..=255 would make `byte % 62` favour A..H; they must be skipped.
        let out: [u8; 4] = chars_from(BASE62, replay(&[248, 255, 0, 250, 61, 62, 247]));
        assert_eq!(&out, b"A9A9");
    }

    #[test]
    fn base58_rejects_bytes_from_232_up() {
        let out: [u8; 3] = chars_from(BASE58, replay(&[232, 0, 255, 57, 231]));
        assert_eq!(&out, b"1zz");
    }

    #[test]
    fn sampler_keeps_drawing_when_a_whole_pool_is_rejected() {
        let mut calls = 0;
        let out: [u8; 2] = chars_from(BASE62, |buf: &mut [u8]| {
            calls += 1;
            buf.fill(if calls < 3 { 255 } else { 1 });
        });
        assert_eq!(&out, b"BB");
        assert_eq!(calls, 3);
    }

    #[test]
    fn alphabets_have_distinct_characters() {
        for alphabet in [&BASE62[..], &BASE58[..]] {
            let mut seen = [false; 256];
            for &c in alphabet {
                assert!(!seen[usize::from(c)], "duplicate {}", c as char);
                seen[usize::from(c)] = true;
            }
        }
    }
}
