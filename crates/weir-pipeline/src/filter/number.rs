//! Exact decimal numbers for filter comparisons: condition values, JSON numbers (whose spelling
//! the event keeps verbatim, so `12345678901234567890` must not be rounded through `f64`) and
//! the event's float and decimal fields all compare through one total order.

use std::cmp::Ordering;

/// Largest exponent magnitude kept; beyond it every number compares as huge or tiny, which no
/// condition value (≤ 60 characters) can tell apart.
const EXPONENT_LIMIT: i64 = 1 << 40;

/// A finite decimal number: `±0.d₁d₂… × 10^point`, normalised (no leading or trailing zero
/// digits; zero has no digits and is never negative), so equal numbers are equal structs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Decimal {
    negative: bool,
    digits: Vec<u8>,
    point: i64,
}

impl Decimal {
    /// Parses `[+-]digits[.digits]`, followed by `[eE][+-]digits` when `exponent` is allowed.
    pub(crate) fn parse(text: &str, exponent: bool) -> Option<Decimal> {
        let bytes = text.as_bytes();
        let (negative, rest) = match bytes.first() {
            Some(b'-') => (true, &bytes[1..]),
            Some(b'+') => (false, &bytes[1..]),
            _ => (false, bytes),
        };
        let integer_len = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        if integer_len == 0 {
            return None;
        }
        let (integer, mut rest) = rest.split_at(integer_len);
        let mut fraction: &[u8] = &[];
        if let Some((b'.', after)) = rest.split_first() {
            let len = after.iter().take_while(|b| b.is_ascii_digit()).count();
            if len == 0 {
                return None;
            }
            fraction = &after[..len];
            rest = &after[len..];
        }
        let mut power: i64 = 0;
        if let Some((&marker, after)) = rest.split_first() {
            if !exponent || (marker != b'e' && marker != b'E') {
                return None;
            }
            let (exponent_negative, digits) = match after.first() {
                Some(b'-') => (true, &after[1..]),
                Some(b'+') => (false, &after[1..]),
                _ => (false, after),
            };
            if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
                return None;
            }
            for &digit in digits {
                power = (power * 10 + i64::from(digit - b'0')).min(EXPONENT_LIMIT);
            }
            if exponent_negative {
                power = -power;
            }
        }
        let len = i64::try_from(integer.len()).ok()?;
        Some(Decimal::normalise(
            negative,
            integer.iter().chain(fraction).copied().collect(),
            len.saturating_add(power),
        ))
    }

    /// The exact value of the shortest decimal that round-trips to `value` (what the event's
    /// canonical JSON prints); `None` for NaN and infinities.
    pub(crate) fn from_f64(value: f64) -> Option<Decimal> {
        if !value.is_finite() {
            return None;
        }
        Decimal::parse(&format!("{value}"), true)
    }

    fn normalise(negative: bool, mut digits: Vec<u8>, mut point: i64) -> Decimal {
        let leading = digits.iter().take_while(|&&d| d == b'0').count();
        digits.drain(..leading);
        point -= i64::try_from(leading).unwrap_or(0);
        while digits.last() == Some(&b'0') {
            digits.pop();
        }
        if digits.is_empty() {
            return Decimal {
                negative: false,
                digits,
                point: 0,
            };
        }
        Decimal {
            negative,
            digits,
            point,
        }
    }

    fn sign(&self) -> i8 {
        match (self.digits.is_empty(), self.negative) {
            (true, _) => 0,
            (false, true) => -1,
            (false, false) => 1,
        }
    }
}

impl Ord for Decimal {
    fn cmp(&self, other: &Self) -> Ordering {
        match self.sign().cmp(&other.sign()) {
            Ordering::Equal => {}
            unequal => return unequal,
        }
        let magnitude = self
            .point
            .cmp(&other.point)
            .then_with(|| self.digits.cmp(&other.digits));
        if self.negative {
            magnitude.reverse()
        } else {
            magnitude
        }
    }
}

impl PartialOrd for Decimal {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> Decimal {
        Decimal::parse(text, true).unwrap()
    }

    #[test]
    fn equal_spellings_are_equal() {
        assert_eq!(d("1"), d("1.0"));
        assert_eq!(d("1"), d("+001.000"));
        assert_eq!(d("1e3"), d("1000"));
        assert_eq!(d("0.5"), d("5E-1"));
        assert_eq!(d("-0"), d("0"));
        assert_eq!(d("0.000"), d("0"));
        assert_eq!(d("-120"), d("-1.2e2"));
        assert_eq!(Decimal::from_f64(1.36), Some(d("1.36")));
    }

    #[test]
    fn order_is_numeric() {
        let ascending = [
            "-1e30",
            "-12",
            "-11.5",
            "-0.001",
            "0",
            "0.001",
            "0.1",
            "0.11",
            "1",
            "9",
            "10",
            "10.01",
            "12345678901234567890",
            "12345678901234567891",
            "1e30",
        ];
        for pair in ascending.windows(2) {
            assert!(d(pair[0]) < d(pair[1]), "{} < {}", pair[0], pair[1]);
            assert!(d(pair[1]) > d(pair[0]), "{} > {}", pair[1], pair[0]);
        }
    }

    #[test]
    fn rejects_what_is_not_a_number() {
        for text in [
            "", "-", "+", ".5", "5.", "1e", "1e+", "abc", "1.2.3", "0x10", " 1", "1 ",
        ] {
            assert_eq!(Decimal::parse(text, true), None, "{text:?}");
        }
        assert_eq!(Decimal::parse("1e3", false), None);
        assert_eq!(Decimal::from_f64(f64::NAN), None);
        assert!(Decimal::parse("1e99999999999999999999", true).is_some());
    }
}
