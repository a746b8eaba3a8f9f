//! Fixed-width base62 of big-endian unsigned integers held in byte arrays, as API keys use it
//! (alphabet [`BASE62`], `A`=0 … `9`=61, most significant digit first, left-padded with `A`).

use crate::random::BASE62;

/// Why a base62 digit string does not decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DecodeError {
    /// The byte at this index is not in the alphabet.
    Character(usize),
    /// The number does not fit in the output bytes.
    Overflow,
}

/// Writes the big-endian integer `bytes` into `out` as exactly `out.len()` base62 digits.
/// Returns `false` (leaving `out` unspecified) when the number needs more digits.
pub(crate) fn encode(bytes: &[u8], out: &mut [u8]) -> bool {
    let mut number = bytes.to_vec();
    for digit in out.iter_mut().rev() {
        // Schoolbook long division of `number` by 62; the remainder is the next digit.
        let mut remainder = 0u32;
        for byte in &mut number {
            let value = (remainder << 8) | u32::from(*byte);
            // value < 62 * 256, so the quotient fits in a byte.
            *byte = (value / 62) as u8;
            remainder = value % 62;
        }
        *digit = BASE62[remainder as usize];
    }
    number.iter().all(|&b| b == 0)
}

/// Reads the base62 digits `digits` into `out` as a big-endian integer of `out.len()` bytes.
pub(crate) fn decode(digits: &[u8], out: &mut [u8]) -> Result<(), DecodeError> {
    out.fill(0);
    for (index, &c) in digits.iter().enumerate() {
        let digit = value_of(c).ok_or(DecodeError::Character(index))?;
        // out = out * 62 + digit, from the least significant byte up.
        let mut carry = u32::from(digit);
        for byte in out.iter_mut().rev() {
            let value = u32::from(*byte) * 62 + carry;
            *byte = (value & 0xff) as u8;
            carry = value >> 8;
        }
        if carry != 0 {
            return Err(DecodeError::Overflow);
        }
    }
    Ok(())
}

/// The value of one base62 digit.
fn value_of(c: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn encoded<const W: usize>(bytes: &[u8]) -> String {
        let mut out = [0u8; W];
        assert!(encode(bytes, &mut out));
        String::from_utf8(out.to_vec()).unwrap()
    }

    #[test]
    fn digit_values_follow_the_alphabet() {
        for (value, &c) in BASE62.iter().enumerate() {
            assert_eq!(value_of(c), Some(value as u8));
        }
        for c in [b'-', b'_', b'+', b'/', b'=', b' ', 0, 0x80, 0xff] {
            assert_eq!(value_of(c), None);
        }
    }

    #[test]
    fn known_answers() {
        assert_eq!(encoded::<6>(&[0; 4]), "AAAAAA");
        assert_eq!(encoded::<6>(&61u32.to_be_bytes()), "AAAAA9");
        assert_eq!(encoded::<6>(&62u32.to_be_bytes()), "AAAABA");
        assert_eq!(encoded::<6>(&u32::MAX.to_be_bytes()), "EqpPMD");
        assert_eq!(
            encoded::<43>(&[0xff; 32]),
            "8rt2u6nKGYjBKVBiwRgjgwIVVQHRtx4MKCtF1Y6IhzB"
        );
    }

    #[test]
    fn encode_reports_too_few_digits() {
        let mut out = [0u8; 2];
        assert!(!encode(&[0, 0, 0x0f, 0x04], &mut out)); // 3844 = 62^2
        assert!(encode(&[0, 0, 0x0f, 0x03], &mut out)); // 3843 = "99"
        assert_eq!(&out, b"99");
    }

    #[test]
    fn decode_rejects_overflow_at_the_boundary() {
        let mut out = [0u8; 4];
        assert_eq!(decode(b"EqpPMD", &mut out), Ok(()));
        assert_eq!(out, [0xff; 4]);
        assert_eq!(decode(b"EqpPME", &mut out), Err(DecodeError::Overflow));
        assert_eq!(decode(b"999999", &mut out), Err(DecodeError::Overflow));
    }

    #[test]
    fn decode_reports_the_first_foreign_character() {
        let mut out = [0u8; 4];
        assert_eq!(decode(b"AB-D_F", &mut out), Err(DecodeError::Character(2)));
    }

    proptest! {
        #[test]
        fn round_trip_32_bytes(bytes in proptest::array::uniform32(any::<u8>())) {
            let mut digits = [0u8; 43];
            prop_assert!(encode(&bytes, &mut digits));
            let mut back = [0u8; 32];
            prop_assert_eq!(decode(&digits, &mut back), Ok(()));
            prop_assert_eq!(back, bytes);
        }

        #[test]
        fn matches_u64_arithmetic(n in any::<u64>()) {
            let mut digits = [0u8; 11];
            prop_assert!(encode(&n.to_be_bytes(), &mut digits));
            let mut expected = [b'A'; 11];
            let mut rest = n;
            for slot in expected.iter_mut().rev() {
                *slot = BASE62[(rest % 62) as usize];
                rest /= 62;
            }
            prop_assert_eq!(digits, expected);
        }
    }
}
