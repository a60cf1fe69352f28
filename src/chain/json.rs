//! JSON values for our own configuration files, such as a geth `genesis.json` (RFC 8259),
//! parsed by `serde_json`.
//!
//! A genesis file needs only a tree of values, with numbers kept as their exact text (chain ids,
//! balances and total difficulties overflow a float, and each caller knows which integer width
//! it wants): `serde_json` with `arbitrary_precision` reads them so, and [`parse`] turns its
//! value into this small tree. The input is bounded ([`JSON_SIZE_MAX`]) and so is the nesting
//! ([`JSON_DEPTH_MAX`], serde_json's recursion limit); any malformed input is an error, never a
//! panic. A key named twice in one object takes its last value, as geth's decoder does.

use std::fmt;

/// Largest document accepted, in bytes. The biggest file we read is a public network's genesis
/// (mainnet's allocation of 8893 accounts is under 1 MiB of JSON; testnet allocations are a few
/// MiB); 64 MiB leaves room for large devnet allocations while bounding what a bad file costs.
pub const JSON_SIZE_MAX: usize = 64 * 1024 * 1024;

/// Deepest nesting of arrays and objects accepted: serde_json's recursion limit (128, the 128th
/// level refused). A genesis file nests four levels (root, alloc, account, storage).
pub const JSON_DEPTH_MAX: usize = 127;

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

/// Why a document was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JsonError {
    /// The document is larger than [`JSON_SIZE_MAX`].
    TooBig { size: usize },
    /// Not JSON, or nested deeper than [`JSON_DEPTH_MAX`]: serde_json's message, with the line
    /// and column where reading stopped.
    Syntax(String),
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JsonError::TooBig { size } => {
                write!(f, "JSON document of {size} bytes exceeds {JSON_SIZE_MAX}")
            }
            JsonError::Syntax(e) => write!(f, "bad JSON: {e}"),
        }
    }
}

impl std::error::Error for JsonError {}

/// Parses one JSON document (surrounding whitespace allowed).
pub fn parse(text: &str) -> Result<Json, JsonError> {
    if text.len() > JSON_SIZE_MAX {
        return Err(JsonError::TooBig { size: text.len() });
    }
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| JsonError::Syntax(e.to_string()))?;
    Ok(Json::from(value))
}

impl From<serde_json::Value> for Json {
    fn from(v: serde_json::Value) -> Json {
        use serde_json::Value as V;
        match v {
            V::Null => Json::Null,
            V::Bool(b) => Json::Bool(b),
            // With `arbitrary_precision` this is the number's text as written.
            V::Number(n) => Json::Number(n.to_string()),
            V::String(s) => Json::String(s),
            V::Array(items) => Json::Array(items.into_iter().map(Json::from).collect()),
            V::Object(members) => Json::Object(
                members
                    .into_iter()
                    .map(|(k, v)| (k, Json::from(v)))
                    .collect(),
            ),
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
        // Integers keep their text; serde_json writes an exponent with its sign.
        assert_eq!(a[1].as_number(), Some("-2.5e+3"));
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
    fn a_duplicate_key_takes_its_last_value_as_in_geth() {
        let v = parse(r#"{"a":1,"a":2}"#).unwrap();
        assert_eq!(v.get("a").and_then(Json::as_number), Some("2"));
    }

    #[test]
    fn big_numbers_keep_their_text() {
        let v = parse(r#"{"ttd": 58750000000000000000000, "x": -0, "f": 1.50}"#).unwrap();
        assert_eq!(
            v.get("ttd").and_then(Json::as_number),
            Some("58750000000000000000000")
        );
        assert_eq!(v.get("f").and_then(Json::as_number), Some("1.50"));
    }

    #[test]
    fn nesting_is_bounded() {
        let ok = "[".repeat(JSON_DEPTH_MAX) + &"]".repeat(JSON_DEPTH_MAX);
        assert!(parse(&ok).is_ok());
        let deep = "[".repeat(JSON_DEPTH_MAX + 1) + &"]".repeat(JSON_DEPTH_MAX + 1);
        let err = parse(&deep).unwrap_err().to_string();
        assert!(err.contains("recursion limit"), "{err}");
        // Far deeper than the limit: refused without exhausting the stack.
        let very_deep = "[{\"a\":".repeat(100_000);
        assert!(parse(&very_deep).is_err());
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
