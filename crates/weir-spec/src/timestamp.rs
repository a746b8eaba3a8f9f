//! Timestamps of the event model (`event-model.md` §4 and §13.2): the lenient ISO 8601 parser
//! shared by every timestamp member, the UTC year rule, clock-skew correction and the canonical
//! `YYYY-MM-DDTHH:MM:SS[.fraction]Z` serialisation.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, Visitor};
use serde::ser::{Serialize, Serializer};
use time::{Date, Duration, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// A UTC instant with nanosecond precision, always within years 1..=9999.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(PrimitiveDateTime);

/// Why a string is not an acceptable timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimestampError {
    /// Outside the §4.1 grammar, or a component out of range:
    /// `property '<k>' is not a valid ISO 8601 timestamp`.
    Syntax,
    /// Well formed, but the year in UTC is outside 1..=9999:
    /// `property '<k>' has an invalid year value`.
    Year,
}

impl fmt::Display for TimestampError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Syntax => "not a valid ISO 8601 timestamp",
            Self::Year => "invalid year value",
        })
    }
}

impl std::error::Error for TimestampError {}

impl Timestamp {
    /// Parses the lenient grammar of §4.1 and converts the result to UTC.
    pub fn parse(s: &str) -> Result<Timestamp, TimestampError> {
        let bytes = s.as_bytes();
        Fields::parse_common(bytes)
            .or_else(|| Fields::parse(bytes))
            .ok_or(TimestampError::Syntax)?
            .resolve()
    }

    /// The instant `ms` milliseconds after the Unix epoch, if its year is within 1..=9999.
    pub fn from_unix_millis(ms: i64) -> Option<Timestamp> {
        let nanos = i128::from(ms) * 1_000_000;
        Self::from_offset_date_time(OffsetDateTime::from_unix_timestamp_nanos(nanos).ok()?)
    }

    /// Milliseconds since the Unix epoch, rounded towards the past.
    pub fn unix_millis(self) -> i64 {
        let utc = self.0.assume_utc();
        utc.unix_timestamp() * 1000 + i64::from(utc.millisecond())
    }

    /// A wall-clock reading (e.g. `SystemTime::now()`), truncated to milliseconds as
    /// `receivedAt` requires; `None` outside years 1..=9999.
    pub fn from_system_time(time: std::time::SystemTime) -> Option<Timestamp> {
        Self::from_offset_date_time(OffsetDateTime::from(time)).map(Self::truncate_to_millis)
    }

    /// Converts to UTC; `None` when the UTC year is outside 1..=9999.
    pub fn from_offset_date_time(dt: OffsetDateTime) -> Option<Timestamp> {
        let utc = dt.checked_to_offset(UtcOffset::UTC)?;
        Self::from_utc(PrimitiveDateTime::new(utc.date(), utc.time()))
    }

    /// Drops the sub-millisecond part (truncation, never rounding).
    pub fn truncate_to_millis(self) -> Timestamp {
        let nanos = self.0.nanosecond() / 1_000_000 * 1_000_000;
        Timestamp(self.0.replace_nanosecond(nanos).unwrap_or(self.0))
    }

    /// §4.2: `sent_timestamp + (received_at − sent_at)` truncated to milliseconds, or
    /// `received_at` when that leaves years 1..=9999.
    pub(crate) fn skew_corrected(
        sent_timestamp: Timestamp,
        received_at: Timestamp,
        sent_at: Timestamp,
    ) -> Timestamp {
        sent_timestamp
            .0
            .checked_add(received_at.0 - sent_at.0)
            .and_then(Self::from_utc)
            .map_or(received_at, Self::truncate_to_millis)
    }

    /// Appends the canonical form (§13.2) to `out`.
    pub fn write_canonical(&self, out: &mut String) {
        out.push_str(self.canonical().as_str());
    }

    fn from_utc(dt: PrimitiveDateTime) -> Option<Timestamp> {
        (1..=9999).contains(&dt.year()).then_some(Timestamp(dt))
    }

    fn canonical(&self) -> Canonical {
        let dt = self.0;
        let mut buf = *b"0000-00-00T00:00:00.000000000Z";
        put_digits(&mut buf[0..4], dt.year().unsigned_abs());
        put_digits(&mut buf[5..7], u32::from(u8::from(dt.month())));
        put_digits(&mut buf[8..10], u32::from(dt.day()));
        put_digits(&mut buf[11..13], u32::from(dt.hour()));
        put_digits(&mut buf[14..16], u32::from(dt.minute()));
        put_digits(&mut buf[17..19], u32::from(dt.second()));
        let nanos = dt.nanosecond();
        let (fraction, width) = match nanos {
            0 => (0, 0),
            n if n % 1_000_000 == 0 => (n / 1_000_000, 3),
            n if n % 1_000 == 0 => (n / 1_000, 6),
            n => (n, 9),
        };
        let len = if width == 0 {
            buf[19] = b'Z';
            20
        } else {
            put_digits(&mut buf[20..20 + width], fraction);
            buf[20 + width] = b'Z';
            21 + width
        };
        Canonical { buf, len }
    }
}

/// The canonical form on the stack: `YYYY-MM-DDTHH:MM:SS[.fraction]Z`, at most 30 bytes.
struct Canonical {
    buf: [u8; 30],
    len: usize,
}

impl Canonical {
    fn as_str(&self) -> &str {
        // Always ASCII digits and separators.
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or_default()
    }
}

/// Writes `value` as zero-padded decimal digits filling `out`.
fn put_digits(out: &mut [u8], mut value: u32) {
    for slot in out.iter_mut().rev() {
        *slot = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.canonical().as_str())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.canonical().as_str())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TimestampVisitor;
        impl Visitor<'_> for TimestampVisitor {
            type Value = Timestamp;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an ISO 8601 timestamp string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Timestamp, E> {
                Timestamp::parse(v).map_err(E::custom)
            }
        }
        deserializer.deserialize_str(TimestampVisitor)
    }
}

/// A run of ASCII digits: saturating value, digit count and (for the year only, see
/// [`Cursor::year`]) value modulo 400.
#[derive(Default)]
struct Digits {
    value: u64,
    len: u32,
    rem400: u16,
}

struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn eat(&mut self, byte: u8) -> bool {
        let hit = self.bytes.get(self.pos) == Some(&byte);
        self.pos += usize::from(hit);
        hit
    }

    /// Zero or more digits.
    fn digits(&mut self) -> Digits {
        let mut d = Digits::default();
        while let Some(&b) = self.bytes.get(self.pos).filter(|b| b.is_ascii_digit()) {
            let digit = b - b'0';
            d.value = d.value.saturating_mul(10).saturating_add(u64::from(digit));
            d.len = d.len.saturating_add(1);
            self.pos += 1;
        }
        d
    }

    /// The year: one or more digits, with their value modulo 400 when that is needed (a
    /// value above 9999, which `time` may not represent).
    fn year(&mut self) -> Option<Digits> {
        let start = self.pos;
        let mut year = self.some_digits()?;
        if year.value > 9999 {
            let digits = self.bytes.get(start..self.pos).unwrap_or_default();
            year.rem400 = digits
                .iter()
                .fold(0, |rem, b| (rem * 10 + u16::from(b - b'0')) % 400);
        }
        Some(year)
    }

    /// One or more digits.
    fn some_digits(&mut self) -> Option<Digits> {
        Some(self.digits()).filter(|d| d.len > 0)
    }

    fn two_digits(&mut self) -> Option<u32> {
        match self.bytes.get(self.pos..)? {
            [a, b, ..] if a.is_ascii_digit() && b.is_ascii_digit() => {
                self.pos += 2;
                Some(u32::from(a - b'0') * 10 + u32::from(b - b'0'))
            }
            _ => None,
        }
    }

    /// An optional zone, as seconds east of UTC (0 when absent).
    fn zone(&mut self) -> Option<i64> {
        if self.eat(b'Z') {
            return Some(0);
        }
        let negative = self.eat(b'-');
        if !negative && !self.eat(b'+') {
            return Some(0);
        }
        let hours = self.two_digits()?;
        let next_is_digit = self.bytes.get(self.pos).is_some_and(u8::is_ascii_digit);
        let minutes = if self.eat(b':') || next_is_digit {
            self.two_digits()?
        } else {
            0
        };
        let seconds = i64::from(hours * 3600 + minutes * 60);
        match (negative, seconds) {
            (true, 0) => None, // negative zero offset
            (true, s) => Some(-s),
            (false, s) => Some(s),
        }
    }
}

enum DayOfYear {
    Calendar { month: u64, day: u64 },
    Ordinal(u64),
}

/// The components of a syntactically valid timestamp, not yet range checked.
struct Fields {
    year: Digits,
    date: DayOfYear,
    hour: u64,
    minute: u64,
    second: u64,
    nanos: u64,
    offset: i64,
}

impl Fields {
    /// `YYYY-MM-DDTHH:MM:SS[.fraction]Z`, with 1 to 9 fraction digits: the canonical form, and
    /// JavaScript's `toISOString` (what browsers send), read at fixed places. `None` for
    /// anything else, which [`Fields::parse`] reads; for these strings both give the same.
    fn parse_common(bytes: &[u8]) -> Option<Fields> {
        const SHAPE: &[u8; 19] = b"0000-00-00T00:00:00";
        let (head, rest) = bytes.split_at_checked(SHAPE.len())?;
        let fits = head.iter().zip(SHAPE).all(|(&byte, &shape)| match shape {
            b'0' => byte.is_ascii_digit(),
            separator => byte == separator,
        });
        if !fits {
            return None;
        }
        // Digits only, at most 9 of them.
        let number = |digits: &[u8]| {
            digits
                .iter()
                .fold(0u64, |value, &digit| value * 10 + u64::from(digit - b'0'))
        };
        let field = |at: usize, len: usize| number(head.get(at..at + len).unwrap_or_default());
        let nanos = match rest {
            [b'Z'] => 0,
            [b'.', fraction @ .., b'Z']
                if (1..=9).contains(&fraction.len()) && fraction.iter().all(u8::is_ascii_digit) =>
            {
                let scale = 10u64.pow(9 - u32::try_from(fraction.len()).ok()?);
                number(fraction) * scale
            }
            _ => return None,
        };
        Some(Fields {
            year: Digits {
                value: field(0, 4),
                len: 4,
                rem400: 0,
            },
            date: DayOfYear::Calendar {
                month: field(5, 2),
                day: field(8, 2),
            },
            hour: field(11, 2),
            minute: field(14, 2),
            second: field(17, 2),
            nanos,
            offset: 0,
        })
    }

    fn parse(bytes: &[u8]) -> Option<Fields> {
        let mut c = Cursor { bytes, pos: 0 };
        c.eat(b'+');
        let year = c.year()?;
        let mut date = DayOfYear::Calendar { month: 1, day: 1 };
        if c.eat(b'-') {
            let first = c.some_digits()?;
            date = if first.len == 3 {
                DayOfYear::Ordinal(first.value)
            } else {
                let day = if c.eat(b'-') {
                    c.some_digits()?.value
                } else {
                    1
                };
                DayOfYear::Calendar {
                    month: first.value,
                    day,
                }
            };
        }
        let ordinal = matches!(date, DayOfYear::Ordinal(_));
        let mut f = Fields {
            year,
            date,
            hour: 0,
            minute: 0,
            second: 0,
            nanos: 0,
            offset: 0,
        };
        if c.eat(b'T') || c.eat(b' ') {
            if let Some(hour) = c.some_digits() {
                f.hour = hour.value;
                if c.eat(b':') {
                    f.minute = c.some_digits()?.value;
                    if c.eat(b':') {
                        f.second = c.some_digits()?.value;
                        if c.eat(b'.') {
                            let fraction = c.digits();
                            if fraction.len > 9 {
                                return None;
                            }
                            f.nanos = fraction.value * 10u64.pow(9 - fraction.len);
                        }
                    }
                }
            }
            f.offset = c.zone()?;
        } else if ordinal {
            // Only an ordinal date may be followed directly by a zone.
            f.offset = c.zone()?;
        }
        (c.pos == bytes.len()).then_some(f)
    }

    /// Range checks (Syntax), then conversion to UTC and the year rule (Year).
    fn resolve(self) -> Result<Timestamp, TimestampError> {
        use TimestampError::{Syntax, Year};
        fn narrow<T: TryFrom<u64>>(v: u64) -> Result<T, TimestampError> {
            T::try_from(v).map_err(|_| Syntax)
        }
        // A year `time` cannot represent never converts into 1..=9999; its days are checked on
        // the year at the same place in the 400-year Gregorian cycle.
        let (year, representable) = match i32::try_from(self.year.value) {
            Ok(y) if y <= Date::MAX.year() => (y, true),
            _ => (2000 + i32::from(self.year.rem400), false),
        };
        let date = match self.date {
            DayOfYear::Calendar { month, day } => {
                let month = Month::try_from(narrow::<u8>(month)?).map_err(|_| Syntax)?;
                Date::from_calendar_date(year, month, narrow(day)?)
            }
            DayOfYear::Ordinal(day) => Date::from_ordinal_date(year, narrow(day)?),
        }
        .map_err(|_| Syntax)?;
        let (h, m, s, ns) = (self.hour, self.minute, self.second, self.nanos);
        let time = Time::from_hms_nano(narrow(h)?, narrow(m)?, narrow(s)?, narrow(ns)?)
            .map_err(|_| Syntax)?;
        if !representable {
            return Err(Year);
        }
        let local = PrimitiveDateTime::new(date, time);
        let utc = if self.offset == 0 {
            Some(local)
        } else {
            local.checked_sub(Duration::seconds(self.offset))
        };
        utc.and_then(Timestamp::from_utc).ok_or(Year)
    }
}

#[cfg(test)]
mod tests {
    use super::TimestampError::{Syntax, Year};
    use super::*;
    use proptest::prelude::*;
    use time::macros::datetime;

    fn check(input: &str, expected: Result<&str, TimestampError>) {
        let got = Timestamp::parse(input).map(|t| t.to_string());
        assert_eq!(got.as_deref(), expected.as_ref().copied(), "{input:?}");
    }

    fn ts(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    #[test]
    #[rustfmt::skip]
    fn calendar_dates_and_defaults() {
        check("2024", Ok("2024-01-01T00:00:00Z"));
        check("2024-10", Ok("2024-10-01T00:00:00Z"));
        check("2024-10-23", Ok("2024-10-23T00:00:00Z"));
        check("+2024-10-23", Ok("2024-10-23T00:00:00Z"));
        check("2024-1-5", Ok("2024-01-05T00:00:00Z"));
        check("2024-0010-0023", Ok("2024-10-23T00:00:00Z"));
        check("24-10-23", Ok("0024-10-23T00:00:00Z"));
        check("2024-02-29", Ok("2024-02-29T00:00:00Z"));
        check("2000-02-29", Ok("2000-02-29T00:00:00Z"));
        check("2024-12-31", Ok("2024-12-31T00:00:00Z"));
    }

    #[test]
    #[rustfmt::skip]
    fn ordinal_dates() {
        check("2024-297", Ok("2024-10-23T00:00:00Z"));
        check("2024-297Z", Ok("2024-10-23T00:00:00Z"));
        check("2024-297+01:00", Ok("2024-10-22T23:00:00Z"));
        check("2024-297-01", Ok("2024-10-23T01:00:00Z"));
        check("2024-297T12:30", Ok("2024-10-23T12:30:00Z"));
        check("2024-001", Ok("2024-01-01T00:00:00Z"));
        check("2024-366", Ok("2024-12-31T00:00:00Z"));
        check("2023-366", Err(Syntax));
        check("2024-367", Err(Syntax));
        check("2024-000", Err(Syntax));
        check("2024-297-10-01", Err(Syntax));
    }

    #[test]
    #[rustfmt::skip]
    fn times_and_fractions() {
        check("2024-10-23T14", Ok("2024-10-23T14:00:00Z"));
        check("2024-10-23T14:08", Ok("2024-10-23T14:08:00Z"));
        check("2024-10-23 14:08:07", Ok("2024-10-23T14:08:07Z"));
        check("2024-10-23T1:2:3", Ok("2024-10-23T01:02:03Z"));
        check("2024T10", Ok("2024-01-01T10:00:00Z"));
        check("2024-10-23T", Ok("2024-10-23T00:00:00Z"));
        check("2024-10-23 ", Ok("2024-10-23T00:00:00Z"));
        check("2024-10-23TZ", Ok("2024-10-23T00:00:00Z"));
        check("2024-10-23T+01:00", Ok("2024-10-22T23:00:00Z"));
        check("2024-10-23T14:08:07.", Ok("2024-10-23T14:08:07Z"));
        check("2024-10-23T14:08:07.Z", Ok("2024-10-23T14:08:07Z"));
        check("2024-10-23T14:08:07.1", Ok("2024-10-23T14:08:07.100Z"));
        check("2024-10-23T14:08:07.1234", Ok("2024-10-23T14:08:07.123400Z"));
        check("2024-10-23T14:08:07.000000001", Ok("2024-10-23T14:08:07.000000001Z"));
        check("2024-10-23T14:08:07.288305712", Ok("2024-10-23T14:08:07.288305712Z")); // C11
        check("2024-10-23T23:59:59.999999999Z", Ok("2024-10-23T23:59:59.999999999Z"));
    }

    #[test]
    #[rustfmt::skip]
    fn zones() {
        check("2024-10-23T14:08:07Z", Ok("2024-10-23T14:08:07Z"));
        check("2024-10-23T14:08:07+00", Ok("2024-10-23T14:08:07Z"));
        check("2024-10-23T14:08:07+01", Ok("2024-10-23T13:08:07Z"));
        check("2024-10-23T14:08:07+0100", Ok("2024-10-23T13:08:07Z"));
        check("2024-10-23T14:08:07-01:30", Ok("2024-10-23T15:38:07Z"));
        check("2024-10-23T14:08:07+05:45", Ok("2024-10-23T08:23:07Z"));
        check("2024-10-23T14:08:07.+01:00", Ok("2024-10-23T13:08:07Z"));
        check("2024-10-23T14Z", Ok("2024-10-23T14:00:00Z"));
        check("2024-10-23T14-02", Ok("2024-10-23T16:00:00Z"));
        check("2024-10-31T14:39:12.647123+00:00", Ok("2024-10-31T14:39:12.647123Z")); // W02
        check("2024-01-01T00:30:00+01:00", Ok("2023-12-31T23:30:00Z"));
        // §4.1 puts no range on offsets beyond two digits each.
        check("2024-10-23T14:08:07+99:99", Ok("2024-10-19T09:29:07Z"));
    }

    #[test]
    #[rustfmt::skip]
    fn invalid_forms() {
        for bad in [
            // Signs, separators and stray characters.
            "", "+", "-", "-2024", "--2024", "++2024", "+-2024", " 2024", "abc", "2024/10/23",
            "2024-", "2024-10-", "2024--10", "2024-10--23", "2024-10-23-", "2024-10-23TT",
            "2024-10-23T 14", "２０２４-10-23", "2024-10-23T14:08:07\u{0}", "2024-10-23T14:08:07 ",
            // Time parts: `::`, missing components, a second `.`, more than 9 fraction digits.
            "2024-10-23T14:", "2024-10-23T14::08", "2024-10-23T14:08:", "2024-10-23T:08",
            "2024-10-23T14:08:07.1.2", "2024-10-23T14:08:07..", "2024-10-23T14:08:07.1234567890",
            // Lowercase designators, characters after `Z`, a zone right after a calendar date.
            "2024-10-23t14:08:07", "2024-10-23T14:08:07z", "2024-10-23T14:08:07Zx",
            "2024-10-23T14:08:07ZZ", "2024-10-23T14:08:07Z ", "2024-10-23Z", "2024-10-23+01:00",
            "2024-10Z", "2024Z", "2024+01",
            // Negative zero offsets and malformed offsets.
            "2024-10-23T14:08:07-00", "2024-10-23T14:08:07-0000", "2024-10-23T14:08:07-00:00",
            "2024-297-00", "2024-10-23T14:08:07+1", "2024-10-23T14:08:07+010",
            "2024-10-23T14:08:07+01:0", "2024-10-23T14:08:07+01:", "2024-10-23T14:08:07+01:000",
            "2024-10-23T14:08:07+01:00:00", "2024-10-23T14:08:07+0100x",
            "2024-10-23T14:08:07+01::00",
        ] {
            check(bad, Err(Syntax));
        }
    }

    #[test]
    #[rustfmt::skip]
    fn ranges() {
        for bad in [
            "2024-00", "2024-13", "2024-10-00", "2024-10-32", "2024-04-31", "2023-02-29",
            "1900-02-29", "0000-02-30", "2024-10-23T24", "2024-10-23T23:60", "2024-10-23T23:59:60",
            // Digit runs that overflow any integer type.
            "2024-99999999999999999999999", "2024-10-23T99999999999999999999999",
            "2024-10-23T00:00:99999999999999999999999",
            "2024-10-23T00:00:00.99999999999999999999999",
        ] {
            check(bad, Err(Syntax));
        }
    }

    #[test]
    #[rustfmt::skip]
    fn year_rule() {
        check("0000-01-01T12:56:23", Err(Year)); // C10
        check("10000-01-01T12:56:23", Err(Year)); // C10
        check("0001-01-01T00:00:00+01:00", Err(Year));
        check("9999-12-31T23:30:00-01:00", Err(Year));
        check("0000-02-29", Err(Year));
        check("999999-12-31T23:00-99:99", Err(Year));
        check("1000000-01-01", Err(Year));
        check("99999999999999999999999999-01-01T00:00:00Z", Err(Year));
        check("100000000000000000000000000000-02-29", Err(Year)); // ≡ 0 (mod 400): leap
        check("100000000000000000000000000100-02-29", Err(Syntax)); // ≡ 100: not leap
        check("100000000000000000000000000000-13", Err(Syntax));
        check("100000000000000000000000000000T24", Err(Syntax));
        check("10000-01-01T00:30:00+01:00", Ok("9999-12-31T23:30:00Z"));
        check("0000-12-31T23:30:00-01:00", Ok("0001-01-01T00:30:00Z"));
        check("0001-01-01", Ok("0001-01-01T00:00:00Z"));
        check("9999-12-31T23:59:59.999999999", Ok("9999-12-31T23:59:59.999999999Z"));
    }

    #[test]
    #[rustfmt::skip]
    fn formatting_and_write_canonical() {
        for (input, want) in [
            ("2024-10-23T14:08:07.0", "2024-10-23T14:08:07Z"),
            ("2024-10-23T14:08:07.05", "2024-10-23T14:08:07.050Z"),
            ("2024-10-23T14:08:07.000001", "2024-10-23T14:08:07.000001Z"),
            ("2024-10-23T14:08:07.123456700", "2024-10-23T14:08:07.123456700Z"),
            ("0001-02-03T04:05:06.7", "0001-02-03T04:05:06.700Z"),
        ] {
            let t = ts(input);
            let mut out = String::from(">");
            t.write_canonical(&mut out);
            assert_eq!(out, format!(">{want}"));
            assert_eq!(t.to_string(), want);
            assert_eq!(ts(want), t);
        }
    }

    #[test]
    fn equality_and_order_are_on_the_instant() {
        assert_eq!(ts("2024-10-23T14:00:00+02:00"), ts("2024-10-23T12:00:00Z"));
        assert!(ts("2024-10-23T13:00:00+02:00") < ts("2024-10-23T12:00:00Z"));
        assert!(ts("2024-10-23T12:00:00.000000001Z") > ts("2024-10-23T12:00:00Z"));
    }

    #[test]
    #[rustfmt::skip]
    fn skew_correction() {
        for (timestamp, received, sent, want) in [
            // §4.2 worked example; C32 (<R> − 6.597 s); C34 (<R> − 22 ms).
            ("2024-10-23T12:00:00Z", "2024-10-23T12:00:15Z", "2024-10-23T12:00:10Z",
                "2024-10-23T12:00:05Z"),
            ("2024-10-31T14:39:06.050Z", "2024-11-01T08:00:00Z", "2024-10-31T14:39:12.647Z",
                "2024-11-01T07:59:53.403Z"),
            ("2026-03-31T09:51:27.802Z", "2026-04-01T00:00:00Z", "2026-03-31T09:51:27.824Z",
                "2026-03-31T23:59:59.978Z"),
            // Truncated to milliseconds, never rounded.
            ("2024-10-23T12:00:00.123999999Z", "2024-10-23T12:00:01Z", "2024-10-23T12:00:00Z",
                "2024-10-23T12:00:01.123Z"),
            // Leaving 1..=9999 falls back to receivedAt, in both directions; the edge stays.
            ("9999-12-31T23:59:59Z", "2024-10-23T12:00:10Z", "2024-10-23T12:00:00Z",
                "2024-10-23T12:00:10Z"),
            ("0001-01-01T00:00:01Z", "2024-10-23T12:00:00Z", "2024-10-23T12:00:10Z",
                "2024-10-23T12:00:00Z"),
            ("0001-01-01T00:00:10Z", "2024-10-23T12:00:00Z", "2024-10-23T12:00:10Z",
                "0001-01-01T00:00:00Z"),
        ] {
            let got = Timestamp::skew_corrected(ts(timestamp), ts(received), ts(sent));
            assert_eq!(got.to_string(), want, "{timestamp} {received} {sent}");
        }
    }

    #[test]
    fn unix_millis_and_conversions() {
        let millis = |s| ts(s).unix_millis();
        assert_eq!(millis("2024-10-31T14:39:12.647Z"), 1_730_385_552_647);
        assert_eq!(millis("1969-12-31T23:59:59.9995Z"), -1);
        assert_eq!(millis("0001-01-01"), -62_135_596_800_000);
        assert_eq!(millis("9999-12-31T23:59:59.999"), 253_402_300_799_999);
        let from = |ms| Timestamp::from_unix_millis(ms).map(|t| t.to_string());
        assert_eq!(from(0).as_deref(), Some("1970-01-01T00:00:00Z"));
        assert_eq!(from(-1).as_deref(), Some("1969-12-31T23:59:59.999Z"));
        for out_of_range in [253_402_300_800_000, -62_135_596_800_001, i64::MAX, i64::MIN] {
            assert_eq!(from(out_of_range), None);
        }
        let from = |odt| Timestamp::from_offset_date_time(odt).map(|t| t.to_string());
        let got = from(datetime!(2024-10-23 14:08:07.5 +02:00));
        assert_eq!(got.as_deref(), Some("2024-10-23T12:08:07.500Z"));
        assert_eq!(from(datetime!(9999-12-31 23:00 -02:00)), None);
        assert_eq!(from(datetime!(0001-01-01 00:00 +01:00)), None);
        let t = ts("2024-10-23T14:08:07.288305712Z").truncate_to_millis();
        assert_eq!(t.to_string(), "2024-10-23T14:08:07.288Z");
    }

    #[test]
    fn serde_round_trip() {
        let t = ts("2024-10-31T14:39:12.647123+00:00");
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(json, r#""2024-10-31T14:39:12.647123Z""#);
        assert_eq!(serde_json::from_str::<Timestamp>(&json).unwrap(), t);
        let escaped = serde_json::from_str::<Timestamp>(r#""2024\u002d10\u002d31""#).unwrap();
        assert_eq!(escaped, ts("2024-10-31"));
        let err = serde_json::from_str::<Timestamp>(r#""0000-01-01""#).unwrap_err();
        assert!(err.to_string().contains("invalid year value"), "{err}");
        assert!(serde_json::from_str::<Timestamp>(r#""nope""#).is_err());
        assert!(serde_json::from_str::<Timestamp>("20241031").is_err());
    }

    fn any_timestamp() -> impl Strategy<Value = Timestamp> {
        let secs = -62_135_596_800i64..=253_402_300_799;
        let millis = (0u32..1000).prop_map(|n| n * 1_000_000);
        let nanos = prop_oneof![Just(0u32), millis, 0u32..1_000_000_000];
        (secs, nanos).prop_map(|(s, n)| {
            let odt = OffsetDateTime::from_unix_timestamp(s).unwrap();
            Timestamp::from_offset_date_time(odt.replace_nanosecond(n).unwrap()).unwrap()
        })
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in any::<String>()) {
            let _ = Timestamp::parse(&s);
        }

        #[test]
        fn parse_never_panics_on_near_misses(s in "[-+0-9TZtz:. ]{0,40}") {
            let _ = Timestamp::parse(&s);
        }

        #[test]
        fn the_common_form_reads_as_the_general_parser_does(
            s in "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{0,10})?Z?"
        ) {
            let general = Fields::parse(s.as_bytes()).ok_or(Syntax).and_then(Fields::resolve);
            prop_assert_eq!(Timestamp::parse(&s), general);
        }

        #[test]
        fn valid_common_forms_read_as_the_general_parser_does(
            t in any_timestamp(),
            digits in 0usize..=9,
        ) {
            let canonical = t.to_string();
            let seconds = canonical.get(..19).unwrap_or_default();
            let nanos = format!("{:09}", t.0.nanosecond());
            let s = match digits {
                0 => format!("{seconds}Z"),
                n => format!("{seconds}.{}Z", &nanos[..n]),
            };
            let general = Fields::parse(s.as_bytes()).ok_or(Syntax).and_then(Fields::resolve);
            prop_assert!(general.is_ok(), "{}", s);
            prop_assert_eq!(Timestamp::parse(&s), general);
        }

        #[test]
        fn canonical_form_round_trips(t in any_timestamp()) {
            let text = t.to_string();
            prop_assert!([20, 24, 27, 30].contains(&text.len()), "{}", text);
            prop_assert_eq!(Timestamp::parse(&text), Ok(t));
            let millis = Timestamp::from_unix_millis(t.unix_millis());
            prop_assert_eq!(millis, Some(t.truncate_to_millis()));
        }
    }
}
