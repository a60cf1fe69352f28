//! A small JSON reader (RFC 8259) for our own configuration files, such as a geth `genesis.json`.
//!
//! The crate carries no serde at run time, and a genesis file needs only a tree of values, so
//! this reader builds one: objects, arrays, strings, `true`/`false`/`null`, and numbers kept as
//! their raw text (chain ids, balances and total difficulties overflow a float, and each caller
//! knows which integer width it wants). The input is bounded ([`JSON_SIZE_MAX`]) and so is the
//! nesting ([`JSON_DEPTH_MAX`]); any malformed input is an error, never a panic. Duplicate keys in
//! one object are refused, since a file that names an account twice is ambiguous.

use std::collections::BTreeSet;
use std::fmt;

/// Largest document accepted, in bytes. The biggest file we read is a public network's genesis
/// (mainnet's allocation of 8893 accounts is under 1 MiB of JSON; testnet allocations are a few
/// MiB); 64 MiB leaves room for large devnet allocations while bounding what a bad file costs.
pub const JSON_SIZE_MAX: usize = 64 * 1024 * 1024;

/// Deepest nesting of arrays and objects accepted. A genesis file nests four levels
/// (root, alloc, account, storage); 64 keeps the recursive reader's stack use small and fixed.
pub const JSON_DEPTH_MAX: usize = 64;

/// A JSON value. Numbers are kept as the text that was read; object members keep file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Json {
    Null,
    Bool(bool),
    /// The number's text exactly as written (already checked against the RFC 8259 grammar).
    Number(String),
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl Json {
    /// The member `key` of an object; `None` for a missing key or a value that is not an object.
    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Object(members) => members.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The member `key`, treating an explicit `null` like a missing member (geth writes optional
    /// genesis fields such as `excessBlobGas` as `null`).
    pub fn get_present(&self, key: &str) -> Option<&Json> {
        self.get(key).filter(|v| !v.is_null())
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Json::Null)
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Json::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The raw text of a number.
    pub fn as_number(&self) -> Option<&str> {
        match self {
            Json::Number(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[Json]> {
        match self {
            Json::Array(items) => Some(items),
            _ => None,
        }
    }

    pub fn as_object(&self) -> Option<&[(String, Json)]> {
        match self {
            Json::Object(members) => Some(members),
            _ => None,
        }
    }
}

/// Why a document was refused; `offset` is the byte position where reading stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JsonError {
    /// The document is larger than [`JSON_SIZE_MAX`].
    TooBig { size: usize },
    /// Arrays and objects nest deeper than [`JSON_DEPTH_MAX`].
    TooDeep { offset: usize },
    /// The input ended inside a value.
    UnexpectedEnd,
    /// A byte that cannot start or continue the value being read.
    Unexpected { offset: usize, byte: u8 },
    /// A malformed escape sequence or an unpaired UTF-16 surrogate inside a string.
    BadEscape { offset: usize },
    /// A number that does not follow the JSON grammar (leading zeros, a bare `-`, `1.`, ...).
    BadNumber { offset: usize },
    /// An object names the same key twice.
    DuplicateKey { offset: usize, key: String },
    /// Something other than whitespace follows the top-level value.
    TrailingData { offset: usize },
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JsonError::TooBig { size } => {
                write!(f, "JSON document of {size} bytes exceeds {JSON_SIZE_MAX}")
            }
            JsonError::TooDeep { offset } => {
                write!(
                    f,
                    "JSON nests deeper than {JSON_DEPTH_MAX} at byte {offset}"
                )
            }
            JsonError::UnexpectedEnd => write!(f, "JSON document ends inside a value"),
            JsonError::Unexpected { offset, byte } => {
                write!(f, "unexpected byte 0x{byte:02x} in JSON at byte {offset}")
            }
            JsonError::BadEscape { offset } => write!(f, "bad string escape at byte {offset}"),
            JsonError::BadNumber { offset } => write!(f, "malformed number at byte {offset}"),
            JsonError::DuplicateKey { offset, key } => {
                write!(f, "duplicate key {key:?} at byte {offset}")
            }
            JsonError::TrailingData { offset } => {
                write!(f, "data after the JSON value at byte {offset}")
            }
        }
    }
}

impl std::error::Error for JsonError {}

/// Parses one JSON document (surrounding whitespace allowed).
pub fn parse(text: &str) -> Result<Json, JsonError> {
    if text.len() > JSON_SIZE_MAX {
        return Err(JsonError::TooBig { size: text.len() });
    }
    let mut reader = Reader {
        bytes: text.as_bytes(),
        pos: 0,
    };
    let value = reader.value(0)?;
    reader.skip_whitespace();
    if reader.pos < reader.bytes.len() {
        return Err(JsonError::TrailingData { offset: reader.pos });
    }
    Ok(value)
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn next_byte(&mut self) -> Result<u8, JsonError> {
        let b = self.peek().ok_or(JsonError::UnexpectedEnd)?;
        self.pos += 1;
        Ok(b)
    }

    fn unexpected(&self) -> JsonError {
        match self.peek() {
            Some(byte) => JsonError::Unexpected {
                offset: self.pos,
                byte,
            },
            None => JsonError::UnexpectedEnd,
        }
    }

    fn skip_whitespace(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn expect(&mut self, byte: u8) -> Result<(), JsonError> {
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }

    /// One value; `depth` counts the arrays and objects already open around it.
    fn value(&mut self, depth: usize) -> Result<Json, JsonError> {
        self.skip_whitespace();
        match self.peek() {
            Some(b'{') => self.object(depth + 1),
            Some(b'[') => self.array(depth + 1),
            Some(b'"') => self.string().map(Json::String),
            Some(b't') => self.literal("true", Json::Bool(true)),
            Some(b'f') => self.literal("false", Json::Bool(false)),
            Some(b'n') => self.literal("null", Json::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err(self.unexpected()),
        }
    }

    fn literal(&mut self, word: &str, value: Json) -> Result<Json, JsonError> {
        for &w in word.as_bytes() {
            self.expect(w)?;
        }
        Ok(value)
    }

    fn object(&mut self, depth: usize) -> Result<Json, JsonError> {
        if depth > JSON_DEPTH_MAX {
            return Err(JsonError::TooDeep { offset: self.pos });
        }
        self.expect(b'{')?;
        let mut members = Vec::new();
        let mut seen = BTreeSet::new();
        self.skip_whitespace();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(Json::Object(members));
        }
        loop {
            self.skip_whitespace();
            let key_offset = self.pos;
            if self.peek() != Some(b'"') {
                return Err(self.unexpected());
            }
            let key = self.string()?;
            if !seen.insert(key.clone()) {
                return Err(JsonError::DuplicateKey {
                    offset: key_offset,
                    key,
                });
            }
            self.skip_whitespace();
            self.expect(b':')?;
            let value = self.value(depth)?;
            members.push((key, value));
            self.skip_whitespace();
            match self.next_byte()? {
                b',' => continue,
                b'}' => return Ok(Json::Object(members)),
                byte => {
                    return Err(JsonError::Unexpected {
                        offset: self.pos - 1,
                        byte,
                    });
                }
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<Json, JsonError> {
        if depth > JSON_DEPTH_MAX {
            return Err(JsonError::TooDeep { offset: self.pos });
        }
        self.expect(b'[')?;
        let mut items = Vec::new();
        self.skip_whitespace();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(Json::Array(items));
        }
        loop {
            items.push(self.value(depth)?);
            self.skip_whitespace();
            match self.next_byte()? {
                b',' => continue,
                b']' => return Ok(Json::Array(items)),
                byte => {
                    return Err(JsonError::Unexpected {
                        offset: self.pos - 1,
                        byte,
                    });
                }
            }
        }
    }

    /// A string, opening quote included. The input is a `&str`, so runs of unescaped bytes are
    /// valid UTF-8 and are copied whole; escapes are decoded one by one.
    fn string(&mut self) -> Result<String, JsonError> {
        self.expect(b'"')?;
        let mut out = String::new();
        loop {
            let start = self.pos;
            while let Some(b) = self.peek() {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.pos += 1;
            }
            // Both ends sit on ASCII bytes (or the end of input), so this is a char boundary.
            let run = std::str::from_utf8(self.bytes.get(start..self.pos).unwrap_or_default())
                .map_err(|_| JsonError::Unexpected {
                    offset: start,
                    byte: 0,
                })?;
            out.push_str(run);
            match self.next_byte()? {
                b'"' => return Ok(out),
                b'\\' => out.push(self.escape()?),
                byte => {
                    // RFC 8259 section 7: control characters must be escaped.
                    return Err(JsonError::Unexpected {
                        offset: self.pos - 1,
                        byte,
                    });
                }
            }
        }
    }

    /// The character of an escape sequence, the backslash already read.
    fn escape(&mut self) -> Result<char, JsonError> {
        let offset = self.pos - 1;
        let c = match self.next_byte()? {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let high = self.hex4(offset)?;
                let code = if (0xd800..0xdc00).contains(&high) {
                    // A high surrogate must be followed by an escaped low surrogate.
                    if self.next_byte()? != b'\\' || self.next_byte()? != b'u' {
                        return Err(JsonError::BadEscape { offset });
                    }
                    let low = self.hex4(offset)?;
                    if !(0xdc00..0xe000).contains(&low) {
                        return Err(JsonError::BadEscape { offset });
                    }
                    0x10000 + ((high - 0xd800) << 10) + (low - 0xdc00)
                } else {
                    high
                };
                char::from_u32(code).ok_or(JsonError::BadEscape { offset })?
            }
            _ => return Err(JsonError::BadEscape { offset }),
        };
        Ok(c)
    }

    fn hex4(&mut self, offset: usize) -> Result<u32, JsonError> {
        let mut v = 0u32;
        for _ in 0..4 {
            let d = (self.next_byte()? as char)
                .to_digit(16)
                .ok_or(JsonError::BadEscape { offset })?;
            v = v << 4 | d;
        }
        Ok(v)
    }

    /// A number, checked against `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    fn number(&mut self) -> Result<Json, JsonError> {
        let start = self.pos;
        let bad = JsonError::BadNumber { offset: start };
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => self.digits(),
            _ => return Err(bad),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(bad);
            }
            self.digits();
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(bad);
            }
            self.digits();
        }
        // Every byte of the number is ASCII, so the slice is valid UTF-8.
        let text = self.bytes.get(start..self.pos).unwrap_or_default();
        Ok(Json::Number(String::from_utf8_lossy(text).into_owned()))
    }

    fn digits(&mut self) {
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_kind_of_value() {
        let v = parse(
            r#" {"a": [1, -2.5e3, true, false, null], "b": {"c": "x\"\u00e9\ud83d\ude00"}} "#,
        )
        .unwrap();
        let a = v.get("a").unwrap().as_array().unwrap();
        assert_eq!(a[0], Json::Number("1".into()));
        assert_eq!(a[1].as_number(), Some("-2.5e3"));
        assert_eq!(a[2].as_bool(), Some(true));
        assert_eq!(a[3].as_bool(), Some(false));
        assert!(a[4].is_null());
        let c = v.get("b").unwrap().get("c").unwrap().as_str().unwrap();
        assert_eq!(c, "x\"é😀");
        assert_eq!(v.get("missing"), None);
        assert_eq!(parse("[]").unwrap(), Json::Array(vec![]));
        assert_eq!(parse("{}").unwrap(), Json::Object(vec![]));
    }

    #[test]
    fn null_members_count_as_absent() {
        let v = parse(r#"{"x": null, "y": 1}"#).unwrap();
        assert!(v.get("x").is_some());
        assert!(v.get_present("x").is_none());
        assert!(v.get_present("y").is_some());
    }

    #[test]
    fn refuses_malformed_documents() {
        for bad in [
            "",
            "{",
            "[1,]",
            "{\"a\" 1}",
            "{\"a\":1,}",
            "01",
            "-",
            "1.",
            "1e",
            "+1",
            "tru",
            "\"abc",
            "\"\\x\"",
            "\"\\ud800\"",
            "\"\\udc00\"",
            "\"a\nb\"",
            "[1] 2",
            "{1:2}",
            "nul",
            "[\"\\u12\"]",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn refuses_duplicate_keys() {
        assert!(matches!(
            parse(r#"{"a":1,"a":2}"#),
            Err(JsonError::DuplicateKey { .. })
        ));
    }

    #[test]
    fn nesting_is_bounded() {
        let ok = "[".repeat(JSON_DEPTH_MAX) + &"]".repeat(JSON_DEPTH_MAX);
        assert!(parse(&ok).is_ok());
        let deep = "[".repeat(JSON_DEPTH_MAX + 1) + &"]".repeat(JSON_DEPTH_MAX + 1);
        assert!(matches!(parse(&deep), Err(JsonError::TooDeep { .. })));
        // Far deeper than the limit: refused without exhausting the stack.
        let very_deep = "[{\"a\":".repeat(100_000);
        assert!(matches!(parse(&very_deep), Err(JsonError::TooDeep { .. })));
    }

    #[test]
    fn truncations_of_a_document_never_panic() {
        let doc = r#"{"k": [1, 2.5, "s\u0041\n", {"n": null, "t": true}], "z": -0}"#;
        assert!(parse(doc).is_ok());
        for end in 0..doc.len() {
            if let Some(prefix) = doc.get(..end) {
                assert!(
                    parse(prefix).is_err(),
                    "prefix {prefix:?} should be refused"
                );
            }
        }
    }
}
