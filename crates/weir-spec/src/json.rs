//! The strict JSON reader of the ingest API (`ingest-api.md` §3.2).
//!
//! One pass over the body builds a flat *tape* of nodes (no recursion, so hostile nesting can
//! neither overflow the stack while parsing nor while dropping), rejecting duplicate member
//! names, invalid UTF-8 and nesting deeper than [`MAX_DEPTH`], with Go-style error details.
//! Strings and numbers stay borrowed from the body; raw subtrees can be re-emitted compactly
//! with their original number spelling and string escapes.

use std::borrow::Cow;
use std::cell::Cell;
use std::collections::HashSet;
use std::fmt;

/// Maximum nesting of arrays and objects.
pub(crate) const MAX_DEPTH: usize = 10_000;

/// Objects with more members than this switch from a linear duplicate scan to a hash set.
const LINEAR_DUPLICATE_SCAN: usize = 16;

/// A syntax error; its `Display` is the `<detail>` of `error parsing the request body as JSON`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyntaxError {
    UnexpectedEof,
    /// `invalid character <c> <place>`.
    InvalidCharacter {
        found: QuotedChar,
        place: Place,
    },
    InvalidEscape(String),
    DuplicateName,
    InvalidUtf8,
    TooDeep,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SyntaxError::UnexpectedEof => f.write_str("unexpected EOF"),
            SyntaxError::InvalidCharacter { found, place } => {
                write!(f, "invalid character {found} {place}")
            }
            SyntaxError::InvalidEscape(escape) => {
                write!(f, "invalid escape sequence `{escape}` in string")
            }
            SyntaxError::DuplicateName => f.write_str("duplicate object member name"),
            SyntaxError::InvalidUtf8 => f.write_str("invalid UTF-8"),
            SyntaxError::TooDeep => f.write_str("exceeded max depth"),
        }
    }
}

impl std::error::Error for SyntaxError {}

/// Where an invalid character was met.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    StartOfValue,
    AfterObjectName,
    AfterObjectValue,
    AfterArrayElement,
    StartOfString,
    InString,
    InNumber,
    InLiteral {
        literal: &'static str,
        expecting: char,
    },
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Place::StartOfValue => f.write_str("at start of value"),
            Place::AfterObjectName => f.write_str("after object name (expecting ':')"),
            Place::AfterObjectValue => f.write_str("after object value (expecting ',' or '}')"),
            Place::AfterArrayElement => f.write_str("after array element (expecting ',' or ']')"),
            Place::StartOfString => f.write_str("at start of string (expecting '\"')"),
            Place::InString => f.write_str("in string (expecting non-control character)"),
            Place::InNumber => f.write_str("in number (expecting digit)"),
            Place::InLiteral { literal, expecting } => {
                write!(f, "in literal {literal} (expecting '{expecting}')")
            }
        }
    }
}

/// The character at an error position, quoted like Go's `strconv.QuoteRune`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotedChar(String);

impl QuotedChar {
    fn at(bytes: &[u8], position: usize) -> QuotedChar {
        let rest = &bytes[position.min(bytes.len())..];
        let first = rest.first().copied().unwrap_or(0);
        let mut out = String::from("'");
        if first < 0x80 {
            quote_char_into(&mut out, char::from(first), '\'');
        } else {
            let width = utf8_width(first).min(rest.len());
            match std::str::from_utf8(&rest[..width])
                .ok()
                .and_then(|s| s.chars().next())
            {
                Some(c) => quote_char_into(&mut out, c, '\''),
                None => out.push_str(&format!("\\x{first:02x}")),
            }
        }
        out.push('\'');
        QuotedChar(out)
    }
}

impl fmt::Display for QuotedChar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn utf8_width(first: u8) -> usize {
    match first {
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF7 => 4,
        _ => 1,
    }
}

/// Appends `c` escaped the way Go's `strconv.Quote`/`QuoteRune` would, with `quote` as the
/// delimiter that must be escaped.
pub(crate) fn quote_char_into(out: &mut String, c: char, quote: char) {
    match c {
        '\x07' => out.push_str("\\a"),
        '\x08' => out.push_str("\\b"),
        '\x0c' => out.push_str("\\f"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\x0b' => out.push_str("\\v"),
        '\\' => out.push_str("\\\\"),
        c if c == quote => {
            out.push('\\');
            out.push(c);
        }
        c if (c as u32) < 0x20 || c == '\x7f' => out.push_str(&format!("\\x{:02x}", c as u32)),
        c if c.is_control() => {
            let code = c as u32;
            if code > 0xFFFF {
                out.push_str(&format!("\\U{code:08x}"));
            } else {
                out.push_str(&format!("\\u{code:04x}"));
            }
        }
        c => out.push(c),
    }
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// The bytes a JSON string cannot hold as they are: `"`, `\\` and the controls 0x00–0x1F.
fn is_json_special(byte: u8) -> bool {
    byte == b'"' || byte == b'\\' || byte < 0x20
}

/// Index of the first byte at or after `from` that [`is_json_special`], or `bytes.len()`;
/// eight bytes at a time.
pub(crate) fn find_json_special(bytes: &[u8], from: usize) -> usize {
    let mut at = from;
    while let Some(chunk) = bytes.get(at..).and_then(<[u8]>::first_chunk::<8>) {
        let found = json_special_flags(u64::from_le_bytes(*chunk));
        if found != 0 {
            return at + (found.trailing_zeros() / 8) as usize;
        }
        at += 8;
    }
    while let Some(&byte) = bytes.get(at) {
        if is_json_special(byte) {
            return at;
        }
        at += 1;
    }
    at
}

/// Whether any byte of `bytes` [`is_json_special`].
pub(crate) fn has_json_special(bytes: &[u8]) -> bool {
    let mut chunks = bytes.chunks_exact(8);
    let mut found = 0;
    for chunk in &mut chunks {
        found |= json_special_flags(u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8])));
    }
    let rest = chunks.remainder();
    if rest.is_empty() {
        return found != 0;
    }
    // The last eight bytes (overlapping checked ones, which is harmless for a yes/no answer).
    match bytes
        .len()
        .checked_sub(8)
        .and_then(|last| bytes.get(last..))
    {
        Some(last) => {
            found |= json_special_flags(u64::from_le_bytes(last.try_into().unwrap_or([0; 8])));
            found != 0
        }
        None => rest.iter().copied().any(is_json_special),
    }
}

/// The high bit of every byte of `word` (little-endian) that [`is_json_special`]. Each of the
/// three has-byte tests flags its lowest hit exactly (a borrow can only flag bytes above a
/// true hit), so the lowest flag of their union is exact too, and no flag means no hit.
fn json_special_flags(word: u64) -> u64 {
    let quote = word ^ (ONES * u64::from(b'"'));
    let backslash = word ^ (ONES * u64::from(b'\\'));
    let found = (quote.wrapping_sub(ONES) & !quote)
        | (backslash.wrapping_sub(ONES) & !backslash)
        | (word.wrapping_sub(ONES * 0x20) & !word);
    found & HIGHS
}

/// One node of the tape. Containers know where their subtree ends, so siblings can be skipped
/// in O(1). An object's members are laid out as key (a `String` node), then the value subtree.
#[derive(Debug, Clone, Copy)]
enum Node {
    Null,
    True,
    False,
    Number {
        start: u32,
        end: u32,
    },
    /// `start..end` is the raw content between the quotes.
    String {
        start: u32,
        end: u32,
        escaped: bool,
    },
    /// `end` is the index of the node after the subtree; `span_start..span_end` the source
    /// text; `compact` says that text has no whitespace outside strings.
    Array {
        end: u32,
        span_start: u32,
        span_end: u32,
        compact: bool,
    },
    Object {
        end: u32,
        span_start: u32,
        span_end: u32,
        compact: bool,
    },
}

/// A parsed JSON value: the tape plus the source text it borrows from.
#[derive(Debug)]
pub(crate) struct Document<'a> {
    src: &'a str,
    nodes: Vec<Node>,
}

/// Tapes with room for more nodes than this (1 MiB) are freed, not kept for reuse.
const MAX_SPARE_NODES: usize = 1 << 16;

thread_local! {
    /// The tape of this thread's last dropped [`Document`], kept for its next parse. The tape
    /// is a request's largest allocation (about 1.3 times the body); freeing it makes the
    /// allocator consolidate and return the request's memory to the OS, which then has to be
    /// faulted back in for the next request.
    static SPARE_TAPE: Cell<Vec<Node>> = const { Cell::new(Vec::new()) };
}

/// An empty tape with room for at least `capacity` nodes, reusing this thread's spare one.
fn spare_tape(capacity: usize) -> Vec<Node> {
    let mut nodes = SPARE_TAPE.try_with(Cell::take).unwrap_or_default();
    nodes.clear();
    nodes.reserve(capacity);
    nodes
}

impl Drop for Document<'_> {
    fn drop(&mut self) {
        let mut nodes = std::mem::take(&mut self.nodes);
        if nodes.capacity() <= MAX_SPARE_NODES {
            nodes.clear();
            // During thread teardown the tape is simply freed.
            let _ = SPARE_TAPE.try_with(|spare| spare.set(nodes));
        }
    }
}

/// The JSON kind of a value, as named in rejection messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Null,
    True,
    False,
    Number,
    String,
    Array,
    Object,
}

impl Kind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Null => "null",
            Kind::True => "true",
            Kind::False => "false",
            Kind::Number => "number",
            Kind::String => "string",
            Kind::Array => "array",
            Kind::Object => "object",
        }
    }
}

impl<'a> Document<'a> {
    /// Parses the first JSON value of `bytes` (after leading whitespace); whatever follows it is
    /// ignored, as the spec requires.
    pub(crate) fn parse(bytes: &'a [u8]) -> Result<Document<'a>, SyntaxError> {
        // The longest valid UTF-8 prefix of the input, checked once.
        let text = match std::str::from_utf8(bytes) {
            Ok(text) => text,
            Err(error) => bytes
                .get(..error.valid_up_to())
                .and_then(|prefix| std::str::from_utf8(prefix).ok())
                .unwrap_or(""),
        };
        let mut parser = Parser {
            bytes,
            text,
            position: 0,
            // Typical request bodies hold one node per 12–16 bytes.
            nodes: spare_tape(bytes.len() / 12 + 4),
            frames: Vec::new(),
            keys: Vec::new(),
            whitespace_runs: 0,
        };
        let end = parser.run()?;
        // Outside strings only ASCII is accepted and every string was checked, so the consumed
        // prefix is valid UTF-8; map a violation of that reasoning to an error, never a panic.
        let src = match text.get(..end) {
            Some(src) => src,
            None => std::str::from_utf8(bytes.get(..end).unwrap_or_default())
                .map_err(|_| SyntaxError::InvalidUtf8)?,
        };
        Ok(Document {
            src,
            nodes: parser.nodes,
        })
    }

    pub(crate) fn root(&self) -> Value<'_, 'a> {
        Value {
            doc: self,
            index: 0,
        }
    }
}

/// A reference to one value inside a [`Document`].
#[derive(Clone, Copy)]
pub(crate) struct Value<'d, 'a> {
    doc: &'d Document<'a>,
    index: usize,
}

impl fmt::Debug for Value<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = String::new();
        self.write_compact(&mut text);
        f.write_str(&text)
    }
}

impl<'d, 'a> Value<'d, 'a> {
    fn node(&self) -> Node {
        self.doc
            .nodes
            .get(self.index)
            .copied()
            .unwrap_or(Node::Null)
    }

    fn slice(&self, start: u32, end: u32) -> &'a str {
        self.doc.src.get(start as usize..end as usize).unwrap_or("")
    }

    /// Index of the node following this value's subtree.
    fn next_index(&self) -> usize {
        match self.node() {
            Node::Array { end, .. } | Node::Object { end, .. } => end as usize,
            _ => self.index + 1,
        }
    }

    pub(crate) fn kind(&self) -> Kind {
        match self.node() {
            Node::Null => Kind::Null,
            Node::True => Kind::True,
            Node::False => Kind::False,
            Node::Number { .. } => Kind::Number,
            Node::String { .. } => Kind::String,
            Node::Array { .. } => Kind::Array,
            Node::Object { .. } => Kind::Object,
        }
    }

    pub(crate) fn is_null(&self) -> bool {
        matches!(self.node(), Node::Null)
    }

    pub(crate) fn as_bool(&self) -> Option<bool> {
        match self.node() {
            Node::True => Some(true),
            Node::False => Some(false),
            _ => None,
        }
    }

    /// The number exactly as written.
    pub(crate) fn as_number_text(&self) -> Option<&'a str> {
        match self.node() {
            Node::Number { start, end } => Some(self.slice(start, end)),
            _ => None,
        }
    }

    /// The unescaped string.
    pub(crate) fn as_str(&self) -> Option<Cow<'a, str>> {
        match self.node() {
            Node::String {
                start,
                end,
                escaped,
            } => {
                let raw = self.slice(start, end);
                Some(if escaped {
                    Cow::Owned(unescape(raw))
                } else {
                    Cow::Borrowed(raw)
                })
            }
            _ => None,
        }
    }

    /// Number of elements (array) or members (object); 0 for scalars.
    pub(crate) fn len(&self) -> usize {
        match self.node() {
            Node::Array { .. } => self.elements().count(),
            Node::Object { .. } => self.members().count(),
            _ => 0,
        }
    }

    pub(crate) fn elements(&self) -> Elements<'d, 'a> {
        let (next, end) = match self.node() {
            Node::Array { end, .. } => (self.index + 1, end as usize),
            _ => (0, 0),
        };
        Elements {
            doc: self.doc,
            next,
            end,
        }
    }

    pub(crate) fn members(&self) -> Members<'d, 'a> {
        let (next, end) = match self.node() {
            Node::Object { end, .. } => (self.index + 1, end as usize),
            _ => (0, 0),
        };
        Members {
            doc: self.doc,
            next,
            end,
        }
    }

    /// The value of the member named `name` (top level of this object only).
    pub(crate) fn member(&self, name: &str) -> Option<Value<'d, 'a>> {
        self.members()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value)
    }

    /// The source text of this value exactly as sent (whitespace included).
    pub(crate) fn raw_text(&self) -> &'a str {
        match self.node() {
            Node::Array {
                span_start,
                span_end,
                ..
            }
            | Node::Object {
                span_start,
                span_end,
                ..
            } => self.slice(span_start, span_end),
            Node::Number { start, end } => self.slice(start, end),
            Node::String { start, end, .. } => self.slice(start.saturating_sub(1), end + 1),
            Node::Null => "null",
            Node::True => "true",
            Node::False => "false",
        }
    }

    /// Appends this value as JSON with insignificant whitespace removed; member order, number
    /// spelling and string escapes are kept as sent.
    pub(crate) fn write_compact(&self, out: &mut String) {
        let raw = self.raw_text();
        match self.node() {
            Node::Array { compact: false, .. } | Node::Object { compact: false, .. } => {
                compact_into(raw, out)
            }
            _ => out.push_str(raw),
        }
    }
}

/// Copies syntactically valid JSON text, dropping whitespace outside strings.
fn compact_into(raw: &str, out: &mut String) {
    out.reserve(raw.len());
    let bytes = raw.as_bytes();
    let mut copied_from = 0;
    let mut in_string = false;
    let mut index = 0;
    while index < bytes.len() {
        let byte = bytes[index];
        if in_string {
            match byte {
                b'\\' => index += 1,
                b'"' => in_string = false,
                _ => {}
            }
        } else {
            match byte {
                b'"' => in_string = true,
                b' ' | b'\t' | b'\n' | b'\r' => {
                    out.push_str(raw.get(copied_from..index).unwrap_or(""));
                    copied_from = index + 1;
                }
                _ => {}
            }
        }
        index += 1;
    }
    out.push_str(raw.get(copied_from..).unwrap_or(""));
}

/// Iterator over the elements of an array.
pub(crate) struct Elements<'d, 'a> {
    doc: &'d Document<'a>,
    next: usize,
    /// The node after the array's subtree.
    end: usize,
}

impl<'d, 'a> Iterator for Elements<'d, 'a> {
    type Item = Value<'d, 'a>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.next >= self.end {
            return None;
        }
        let value = Value {
            doc: self.doc,
            index: self.next,
        };
        self.next = value.next_index();
        Some(value)
    }
}

/// Iterator over the members of an object, in document order, with unescaped names.
pub(crate) struct Members<'d, 'a> {
    doc: &'d Document<'a>,
    next: usize,
    /// The node after the object's subtree.
    end: usize,
}

impl<'d, 'a> Iterator for Members<'d, 'a> {
    type Item = (Cow<'a, str>, Value<'d, 'a>);

    fn next(&mut self) -> Option<Self::Item> {
        if self.next >= self.end {
            return None;
        }
        let key = Value {
            doc: self.doc,
            index: self.next,
        };
        let value = Value {
            doc: self.doc,
            index: self.next + 1,
        };
        self.next = value.next_index();
        Some((key.as_str().unwrap_or(Cow::Borrowed("")), value))
    }
}

/// Decodes the escapes of a syntactically valid JSON string body. Lone surrogates become
/// U+FFFD, as Go's decoder does.
fn unescape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('b') => out.push('\x08'),
            Some('f') => out.push('\x0c'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some('u') => {
                let high = hex4(&mut chars);
                if (0xD800..0xDC00).contains(&high) {
                    let mut lookahead = chars.clone();
                    if lookahead.next() == Some('\\') && lookahead.next() == Some('u') {
                        let low = hex4(&mut lookahead);
                        if (0xDC00..0xE000).contains(&low) {
                            let code = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00);
                            out.push(char::from_u32(code).unwrap_or('\u{FFFD}'));
                            chars = lookahead;
                            continue;
                        }
                    }
                    out.push('\u{FFFD}');
                } else {
                    out.push(char::from_u32(high).unwrap_or('\u{FFFD}'));
                }
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

fn hex4(chars: &mut std::str::Chars<'_>) -> u32 {
    let mut value = 0;
    for _ in 0..4 {
        let digit = chars.next().and_then(|c| c.to_digit(16)).unwrap_or(0);
        value = value * 16 + digit;
    }
    value
}

/// An open container while parsing.
struct Frame {
    node: usize,
    is_object: bool,
    /// [`Parser::whitespace_runs`] when the container opened.
    whitespace_runs: usize,
    /// Where this object's member names start in `Parser::keys`.
    keys_start: usize,
    /// Built once an object grows past [`LINEAR_DUPLICATE_SCAN`] members.
    key_set: Option<HashSet<Cow<'static, str>>>,
}

struct Parser<'a> {
    bytes: &'a [u8],
    /// The longest valid UTF-8 prefix of `bytes`; strings wholly inside it need no further
    /// UTF-8 check and are sliced from it.
    text: &'a str,
    position: usize,
    nodes: Vec<Node>,
    frames: Vec<Frame>,
    /// Member names of the open objects (unescaped), innermost last.
    keys: Vec<Cow<'a, str>>,
    /// How many runs of insignificant whitespace were skipped so far.
    whitespace_runs: usize,
}

/// What the parser expects next.
#[derive(Clone, Copy)]
enum Expect {
    Value,
    /// After `[`: a value or `]`.
    FirstElement,
    /// After `{`: a name or `}`.
    FirstName,
    /// After `,` in an object.
    Name,
    /// After a value inside a container (or at the top level).
    AfterValue,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.position).copied()
    }

    fn skip_whitespace(&mut self) {
        if let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.whitespace_runs += 1;
            self.position += 1;
            while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
                self.position += 1;
            }
        }
    }

    fn invalid(&self, place: Place) -> SyntaxError {
        SyntaxError::InvalidCharacter {
            found: QuotedChar::at(self.bytes, self.position),
            place,
        }
    }

    fn offset(&self) -> u32 {
        // Bodies are capped far below 4 GiB by the ingest limits; saturate rather than wrap.
        u32::try_from(self.position).unwrap_or(u32::MAX)
    }

    /// Runs to the end of the first value; returns the byte offset just after it.
    fn run(&mut self) -> Result<usize, SyntaxError> {
        let mut expect = Expect::Value;
        loop {
            self.skip_whitespace();
            match expect {
                Expect::Value | Expect::FirstElement => {
                    let Some(byte) = self.peek() else {
                        return Err(SyntaxError::UnexpectedEof);
                    };
                    if matches!(expect, Expect::FirstElement) && byte == b']' {
                        self.close_container();
                        expect = Expect::AfterValue;
                    } else {
                        expect = self.value(byte)?;
                    }
                }
                Expect::FirstName | Expect::Name => {
                    let Some(byte) = self.peek() else {
                        return Err(SyntaxError::UnexpectedEof);
                    };
                    if matches!(expect, Expect::FirstName) && byte == b'}' {
                        self.close_container();
                        expect = Expect::AfterValue;
                        continue;
                    }
                    if byte != b'"' {
                        return Err(self.invalid(Place::StartOfString));
                    }
                    self.name()?;
                    self.skip_whitespace();
                    match self.peek() {
                        None => return Err(SyntaxError::UnexpectedEof),
                        Some(b':') => self.position += 1,
                        Some(_) => return Err(self.invalid(Place::AfterObjectName)),
                    }
                    expect = Expect::Value;
                }
                Expect::AfterValue => {
                    let Some(frame) = self.frames.last() else {
                        return Ok(self.position);
                    };
                    let is_object = frame.is_object;
                    match (self.peek(), is_object) {
                        (None, _) => return Err(SyntaxError::UnexpectedEof),
                        (Some(b','), true) => {
                            self.position += 1;
                            expect = Expect::Name;
                        }
                        (Some(b','), false) => {
                            self.position += 1;
                            expect = Expect::Value;
                        }
                        (Some(b'}'), true) | (Some(b']'), false) => {
                            self.close_container();
                        }
                        (Some(_), true) => {
                            return Err(self.invalid(Place::AfterObjectValue));
                        }
                        (Some(_), false) => {
                            return Err(self.invalid(Place::AfterArrayElement));
                        }
                    }
                }
            }
        }
    }

    /// Parses a value starting with `byte`; returns what to expect next.
    fn value(&mut self, byte: u8) -> Result<Expect, SyntaxError> {
        match byte {
            b'{' | b'[' => {
                if self.frames.len() >= MAX_DEPTH {
                    return Err(SyntaxError::TooDeep);
                }
                let is_object = byte == b'{';
                let start = self.offset();
                self.frames.push(Frame {
                    node: self.nodes.len(),
                    is_object,
                    whitespace_runs: self.whitespace_runs,
                    keys_start: self.keys.len(),
                    key_set: None,
                });
                self.nodes.push(if is_object {
                    Node::Object {
                        end: 0,
                        span_start: start,
                        span_end: start,
                        compact: true,
                    }
                } else {
                    Node::Array {
                        end: 0,
                        span_start: start,
                        span_end: start,
                        compact: true,
                    }
                });
                self.position += 1;
                Ok(if is_object {
                    Expect::FirstName
                } else {
                    Expect::FirstElement
                })
            }
            b'"' => {
                let (start, end, escaped) = self.string()?;
                self.nodes.push(Node::String {
                    start,
                    end,
                    escaped,
                });
                Ok(Expect::AfterValue)
            }
            b't' => self.literal("true", Node::True),
            b'f' => self.literal("false", Node::False),
            b'n' => self.literal("null", Node::Null),
            b'-' | b'0'..=b'9' => {
                let start = self.offset();
                self.number()?;
                self.nodes.push(Node::Number {
                    start,
                    end: self.offset(),
                });
                Ok(Expect::AfterValue)
            }
            _ => Err(self.invalid(Place::StartOfValue)),
        }
    }

    /// Consumes the `}` or `]` of the innermost open container.
    fn close_container(&mut self) {
        self.position += 1;
        let Some(frame) = self.frames.pop() else {
            return;
        };
        let end = u32::try_from(self.nodes.len()).unwrap_or(u32::MAX);
        let span_end = self.offset();
        let compact_span = frame.whitespace_runs == self.whitespace_runs;
        if let Some(
            Node::Array {
                end: e,
                span_end: s,
                compact,
                ..
            }
            | Node::Object {
                end: e,
                span_end: s,
                compact,
                ..
            },
        ) = self.nodes.get_mut(frame.node)
        {
            *e = end;
            *s = span_end;
            *compact = compact_span;
        }
        if frame.is_object {
            self.keys.truncate(frame.keys_start);
        }
    }

    fn literal(&mut self, literal: &'static str, node: Node) -> Result<Expect, SyntaxError> {
        for expecting in literal.bytes().skip(1) {
            self.position += 1;
            match self.peek() {
                None => return Err(SyntaxError::UnexpectedEof),
                Some(found) if found == expecting => {}
                Some(_) => {
                    let expecting = char::from(expecting);
                    return Err(self.invalid(Place::InLiteral { literal, expecting }));
                }
            }
        }
        self.position += 1;
        self.nodes.push(node);
        Ok(Expect::AfterValue)
    }

    fn digits(&mut self) -> Result<(), SyntaxError> {
        match self.peek() {
            None => return Err(SyntaxError::UnexpectedEof),
            Some(b'0'..=b'9') => {}
            Some(_) => return Err(self.invalid(Place::InNumber)),
        }
        while let Some(b'0'..=b'9') = self.peek() {
            self.position += 1;
        }
        Ok(())
    }

    fn number(&mut self) -> Result<(), SyntaxError> {
        if self.peek() == Some(b'-') {
            self.position += 1;
        }
        match self.peek() {
            None => return Err(SyntaxError::UnexpectedEof),
            Some(b'0') => self.position += 1,
            Some(b'1'..=b'9') => self.digits()?,
            Some(_) => return Err(self.invalid(Place::InNumber)),
        }
        if self.peek() == Some(b'.') {
            self.position += 1;
            self.digits()?;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.position += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.position += 1;
            }
            self.digits()?;
        }
        Ok(())
    }

    /// Scans a string starting at the opening quote; returns its content range.
    fn string(&mut self) -> Result<(u32, u32, bool), SyntaxError> {
        self.position += 1;
        let start = self.position;
        let mut escaped = false;
        loop {
            self.position = find_json_special(self.bytes, self.position);
            let Some(byte) = self.peek() else {
                return Err(SyntaxError::UnexpectedEof);
            };
            match byte {
                b'"' => break,
                b'\\' => {
                    escaped = true;
                    self.escape()?;
                }
                _ => return Err(self.invalid(Place::InString)),
            }
        }
        let end = self.position;
        self.position += 1;
        if end > self.text.len()
            && self
                .bytes
                .get(start..end)
                .is_none_or(|raw| std::str::from_utf8(raw).is_err())
        {
            return Err(SyntaxError::InvalidUtf8);
        }
        let to_u32 = |v: usize| u32::try_from(v).unwrap_or(u32::MAX);
        Ok((to_u32(start), to_u32(end), escaped))
    }

    fn escape(&mut self) -> Result<(), SyntaxError> {
        let escape_start = self.position;
        self.position += 1;
        let Some(kind) = self.peek() else {
            return Err(SyntaxError::UnexpectedEof);
        };
        self.position += 1;
        match kind {
            b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => Ok(()),
            b'u' => {
                for _ in 0..4 {
                    match self.peek() {
                        None => return Err(SyntaxError::UnexpectedEof),
                        Some(b'0'..=b'9' | b'a'..=b'f' | b'A'..=b'F') => self.position += 1,
                        Some(_) => {
                            let end = (self.position + 1).min(self.bytes.len());
                            let text = String::from_utf8_lossy(&self.bytes[escape_start..end]);
                            return Err(SyntaxError::InvalidEscape(text.into_owned()));
                        }
                    }
                }
                Ok(())
            }
            _ => {
                let end = (escape_start + 1 + utf8_width(kind)).min(self.bytes.len());
                let text = String::from_utf8_lossy(&self.bytes[escape_start..end]);
                Err(SyntaxError::InvalidEscape(text.into_owned()))
            }
        }
    }

    /// Parses a member name and checks it against the names already seen in the object.
    fn name(&mut self) -> Result<(), SyntaxError> {
        let (start, end, escaped) = self.string()?;
        self.nodes.push(Node::String {
            start,
            end,
            escaped,
        });
        let range = start as usize..end as usize;
        let raw = match self.text.get(range.clone()) {
            Some(raw) => raw,
            None => self
                .bytes
                .get(range)
                .and_then(|raw| std::str::from_utf8(raw).ok())
                .ok_or(SyntaxError::InvalidUtf8)?,
        };
        let key: Cow<'a, str> = if escaped {
            Cow::Owned(unescape(raw))
        } else {
            Cow::Borrowed(raw)
        };
        let Some(frame) = self.frames.last_mut() else {
            return Ok(());
        };
        let seen = &self.keys[frame.keys_start..];
        if let Some(set) = frame.key_set.as_mut() {
            if !set.insert(Cow::Owned(key.to_string())) {
                return Err(SyntaxError::DuplicateName);
            }
        } else {
            if seen.contains(&key) {
                return Err(SyntaxError::DuplicateName);
            }
            if seen.len() >= LINEAR_DUPLICATE_SCAN {
                let mut set: HashSet<Cow<'static, str>> =
                    seen.iter().map(|k| Cow::Owned(k.to_string())).collect();
                set.insert(Cow::Owned(key.to_string()));
                frame.key_set = Some(set);
            }
        }
        self.keys.push(key);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(input: &str) -> String {
        match Document::parse(input.as_bytes()) {
            Ok(_) => "ok".to_string(),
            Err(e) => e.to_string(),
        }
    }

    fn check_error(input: &str, expected: &str) {
        assert_eq!(error(input), expected, "input: {input:?}");
    }

    fn compact(input: &str) -> String {
        let doc = Document::parse(input.as_bytes()).expect("valid JSON");
        let mut out = String::new();
        doc.root().write_compact(&mut out);
        out
    }

    #[test]
    fn syntax_errors_use_go_style_details() {
        check_error("", "unexpected EOF");
        check_error("   ", "unexpected EOF");
        check_error("{", "unexpected EOF");
        check_error(r#"[{"type":"page"}"#, "unexpected EOF");
        check_error(
            r#"{"batch":[]"}"#,
            "invalid character '\"' after object value (expecting ',' or '}')",
        );
        check_error(
            "[1 2]",
            "invalid character '2' after array element (expecting ',' or ']')",
        );
        check_error(
            r#"{"a" 1}"#,
            "invalid character '1' after object name (expecting ':')",
        );
        check_error(
            "{1:2}",
            "invalid character '1' at start of string (expecting '\"')",
        );
        check_error(
            r#"{"a":1,}"#,
            "invalid character '}' at start of string (expecting '\"')",
        );
        check_error("[1,]", "invalid character ']' at start of value");
        check_error("[x]", "invalid character 'x' at start of value");
        check_error(
            "[tru]",
            "invalid character ']' in literal true (expecting 'e')",
        );
        check_error(
            "[nul]",
            "invalid character ']' in literal null (expecting 'l')",
        );
        check_error("[fals", "unexpected EOF");
        check_error("[-x]", "invalid character 'x' in number (expecting digit)");
        check_error("[1.]", "invalid character ']' in number (expecting digit)");
        check_error("[1e+]", "invalid character ']' in number (expecting digit)");
        check_error(
            "[\"a\nb\"]",
            "invalid character '\\n' in string (expecting non-control character)",
        );
        check_error(r#"["\x"]"#, "invalid escape sequence `\\x` in string");
        check_error(
            r#"["\u12G4"]"#,
            "invalid escape sequence `\\u12G` in string",
        );
        check_error(r#"{"a":1,"a":2}"#, "duplicate object member name");
        check_error(
            r#"{"batch":1,"b\u0061tch":2}"#,
            "duplicate object member name",
        );
        check_error("['a']", "invalid character '\\'' at start of value");
        check_error(
            "\u{feff}[]",
            "invalid character '\u{feff}' at start of value",
        );
    }

    #[test]
    fn invalid_utf8_inside_strings_is_reported() {
        assert_eq!(
            Document::parse(b"[\"a\xffb\"]").unwrap_err().to_string(),
            "invalid UTF-8"
        );
        assert_eq!(
            Document::parse(b"[\xff]").unwrap_err().to_string(),
            "invalid character '\\xff' at start of value"
        );
        // Trailing bytes after the top-level value are ignored, even invalid ones.
        assert!(Document::parse(b"{}\xff").is_ok());
    }

    #[test]
    fn duplicate_names_are_found_in_large_objects_and_only_per_object() {
        let mut members: Vec<String> = (0..40).map(|i| format!("\"k{i}\":{i}")).collect();
        let ok = format!("{{{}}}", members.join(","));
        assert!(Document::parse(ok.as_bytes()).is_ok());
        members.push("\"k3\":0".to_string());
        let duplicate = format!("{{{}}}", members.join(","));
        check_error(&duplicate, "duplicate object member name");
        // The same name in sibling or nested objects is fine.
        assert_eq!(error(r#"{"a":{"a":1},"b":{"a":2}}"#), "ok");
    }

    #[test]
    fn depth_is_limited_without_recursion() {
        let deep_ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(Document::parse(deep_ok.as_bytes()).is_ok());
        let too_deep = "[".repeat(MAX_DEPTH + 1);
        check_error(&too_deep, "exceeded max depth");
        let nested_objects = "{\"a\":".repeat(MAX_DEPTH + 1);
        check_error(&nested_objects, "exceeded max depth");
    }

    #[test]
    fn bytes_after_the_value_are_ignored() {
        assert_eq!(error("{} trailing"), "ok");
        assert_eq!(error("[1]]"), "ok");
        assert_eq!(error("0abc"), "ok");
    }

    #[test]
    fn navigation_reads_members_and_elements() {
        let doc = Document::parse(br#" {"a":[1,"x",true,null,{"b":-2.5e3}],"c\u0041":"d\n"} "#)
            .expect("valid");
        let root = doc.root();
        assert_eq!(root.kind(), Kind::Object);
        assert_eq!(root.len(), 2);
        let names: Vec<_> = root.members().map(|(k, _)| k.into_owned()).collect();
        assert_eq!(names, ["a", "cA"]);
        let array = root.member("a").expect("a");
        let kinds: Vec<_> = array.elements().map(|v| v.kind()).collect();
        assert_eq!(
            kinds,
            [
                Kind::Number,
                Kind::String,
                Kind::True,
                Kind::Null,
                Kind::Object
            ]
        );
        let nested = array
            .elements()
            .nth(4)
            .expect("object")
            .member("b")
            .expect("b");
        assert_eq!(nested.as_number_text(), Some("-2.5e3"));
        assert_eq!(
            root.member("cA").and_then(|v| v.as_str()).as_deref(),
            Some("d\n")
        );
        assert!(root.member("zz").is_none());
    }

    #[test]
    fn unescape_handles_surrogates() {
        assert_eq!(unescape(r"\ud83d\ude00"), "😀");
        assert_eq!(unescape(r"\ud83dx"), "\u{FFFD}x");
        assert_eq!(unescape(r#"\"\\\/\b\f\n\r\t"#), "\"\\/\x08\x0c\n\r\t");
    }

    #[test]
    fn compact_keeps_spelling_and_escapes() {
        assert_eq!(
            compact("{ \"a\" : [ 1.50 , \"x y\\\" z\" ] ,\n\"b\":{}}"),
            r#"{"a":[1.50,"x y\" z"],"b":{}}"#
        );
        assert_eq!(compact(r#"{"k":"\u00e9 \n"}"#), r#"{"k":"\u00e9 \n"}"#);
    }

    #[test]
    fn compact_containers_are_copied_and_others_compacted() {
        let doc = Document::parse(b"[{\"a\":[1, 2]},{\"b\":\"x y\"}, {\"c\" :{}}]").expect("valid");
        let texts: Vec<String> = doc
            .root()
            .elements()
            .map(|element| {
                let mut out = String::new();
                element.write_compact(&mut out);
                out
            })
            .collect();
        assert_eq!(texts, [r#"{"a":[1,2]}"#, r#"{"b":"x y"}"#, r#"{"c":{}}"#]);
        assert_eq!(doc.root().len(), 3);
        assert_eq!(doc.root().elements().nth(2).map(|e| e.len()), Some(1));
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        /// Bytes rich in what the word-at-a-time scans must get right: the special bytes, and
        /// the bytes a borrow can turn into false hits right above them.
        fn scan_bytes() -> impl Strategy<Value = Vec<u8>> {
            let byte = prop_oneof![
                Just(b'"'),
                Just(b'\\'),
                Just(b'#'),
                Just(b']'),
                Just(b'!'),
                Just(b'['),
                0u8..0x22,
                Just(b'a'),
                any::<u8>(),
            ];
            proptest::collection::vec(byte, 0..40)
        }

        proptest! {
            #[test]
            fn word_scans_match_the_byte_definition(bytes in scan_bytes(), from in 0usize..48) {
                let naive = (from..bytes.len())
                    .find(|&i| is_json_special(bytes[i]))
                    .unwrap_or(bytes.len().max(from));
                prop_assert_eq!(find_json_special(&bytes, from), naive);
                let any = bytes.iter().copied().any(is_json_special);
                prop_assert_eq!(has_json_special(&bytes), any);
            }

            #[test]
            fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
                let _ = Document::parse(&bytes);
            }

            #[test]
            fn compact_output_reparses_to_the_same_compact_text(value in json_value()) {
                let text = serde_json::to_string_pretty(&value).expect("serialises");
                let once = compact(&text);
                prop_assert_eq!(&compact(&once), &once);
                let reparsed: serde_json::Value = serde_json::from_str(&once).expect("valid");
                prop_assert_eq!(reparsed, value);
            }
        }

        fn json_value() -> impl Strategy<Value = serde_json::Value> {
            let leaf = prop_oneof![
                Just(serde_json::Value::Null),
                any::<bool>().prop_map(serde_json::Value::Bool),
                any::<i64>().prop_map(serde_json::Value::from),
                "[a-z \\\\\"é\n]{0,8}".prop_map(serde_json::Value::String),
            ];
            leaf.prop_recursive(4, 32, 6, |inner| {
                prop_oneof![
                    proptest::collection::vec(inner.clone(), 0..6)
                        .prop_map(serde_json::Value::Array),
                    proptest::collection::btree_map("[a-z]{1,4}", inner, 0..6)
                        .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
                ]
            })
        }
    }
}
