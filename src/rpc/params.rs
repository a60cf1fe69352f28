//! Reading positional arguments as geth's `rpc` package does (go-ethereum `rpc/types.go`,
//! `common/hexutil`): quantities are `0x`-hex without leading zeros, data is `0x`-hex of even
//! length, block numbers may be tags. Every failure is "invalid argument N: …" (-32602); a missing
//! required argument is "missing value for required argument N", too many is "too many arguments,
//! want at most N".

use serde_json::Value;

use super::jsonrpc::RpcError;

/// A block named by number or tag (geth `rpc.BlockNumber`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockTag {
    Number(u64),
    Latest,
    Earliest,
    Pending,
    Safe,
    Finalized,
}

/// The positional arguments of one call.
pub struct Params {
    items: Vec<Value>,
}

impl Params {
    /// `items`, refused when there are more than `max` (trailing nulls are dropped first, as geth
    /// does).
    pub fn new(mut items: Vec<Value>, max: usize) -> Result<Params, RpcError> {
        while items.last().is_some_and(Value::is_null) {
            items.pop();
        }
        if items.len() > max {
            return Err(RpcError::invalid_params(format!(
                "too many arguments, want at most {max}"
            )));
        }
        Ok(Params { items })
    }

    fn get(&self, i: usize) -> Result<&Value, RpcError> {
        self.items.get(i).ok_or_else(|| {
            RpcError::invalid_params(format!("missing value for required argument {i}"))
        })
    }

    fn text(&self, i: usize) -> Result<&str, RpcError> {
        self.get(i)?
            .as_str()
            .ok_or_else(|| bad(i, "expected a string"))
    }

    /// Whether argument `i` was given.
    pub fn has(&self, i: usize) -> bool {
        self.items.get(i).is_some_and(|v| !v.is_null())
    }

    /// A quantity (`0x`-hex, no leading zeros), up to 64 bits.
    pub fn quantity(&self, i: usize) -> Result<u64, RpcError> {
        let v = self.get(i)?;
        // geth also takes a plain JSON number for some integer arguments (eth_feeHistory's count).
        if let Some(n) = v.as_u64() {
            return Ok(n);
        }
        let s = v
            .as_str()
            .ok_or_else(|| bad(i, "expected a hex quantity"))?;
        parse_quantity(s).map_err(|e| bad(i, e))
    }

    /// A boolean.
    pub fn boolean(&self, i: usize) -> Result<bool, RpcError> {
        self.get(i)?.as_bool().ok_or_else(|| {
            bad(
                i,
                "json: cannot unmarshal into Go value of type bool".to_string(),
            )
        })
    }

    /// A 32-byte hash.
    pub fn hash(&self, i: usize) -> Result<[u8; 32], RpcError> {
        let b = parse_data(self.text(i)?).map_err(|e| bad(i, e))?;
        b.try_into().map_err(|b: Vec<u8>| {
            bad(
                i,
                format!(
                    "hex string has length {}, want 64 for common.Hash",
                    b.len() * 2
                ),
            )
        })
    }

    /// Arbitrary `0x` data.
    pub fn data(&self, i: usize) -> Result<Vec<u8>, RpcError> {
        parse_data(self.text(i)?).map_err(|e| bad(i, e))
    }

    /// A string.
    pub fn string(&self, i: usize) -> Result<String, RpcError> {
        self.text(i).map(String::from)
    }

    /// A block number or tag.
    pub fn block(&self, i: usize) -> Result<BlockTag, RpcError> {
        parse_block(self.text(i)?).map_err(|e| bad(i, e))
    }

    /// A list of numbers (eth_feeHistory's percentiles).
    pub fn floats(&self, i: usize) -> Result<Vec<f64>, RpcError> {
        let a = self
            .get(i)?
            .as_array()
            .ok_or_else(|| bad(i, "expected an array"))?;
        a.iter()
            .map(|v| v.as_f64().ok_or_else(|| bad(i, "expected numbers")))
            .collect()
    }
}

fn bad(i: usize, why: impl std::fmt::Display) -> RpcError {
    RpcError::invalid_params(format!("invalid argument {i}: {why}"))
}

/// geth `hexutil.DecodeUint64` wording.
pub fn parse_quantity(s: &str) -> Result<u64, &'static str> {
    let digits = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .ok_or("hex string without 0x prefix")?;
    if digits.is_empty() {
        return Err("hex string \"0x\"");
    }
    if digits.len() > 1 && digits.starts_with('0') {
        return Err("hex number with leading zero digits");
    }
    if digits.len() > 16 {
        return Err("hex number > 64 bits");
    }
    u64::from_str_radix(digits, 16).map_err(|_| "invalid hex string")
}

/// geth `hexutil.Decode` wording.
pub fn parse_data(s: &str) -> Result<Vec<u8>, &'static str> {
    let digits = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .ok_or("hex string without 0x prefix")?;
    if digits.len() % 2 == 1 {
        return Err("hex string of odd length");
    }
    (0..digits.len())
        .step_by(2)
        .map(|i| {
            digits
                .get(i..i + 2)
                .and_then(|d| u8::from_str_radix(d, 16).ok())
                .ok_or("invalid hex string")
        })
        .collect()
}

fn parse_block(s: &str) -> Result<BlockTag, &'static str> {
    Ok(match s {
        "latest" => BlockTag::Latest,
        "earliest" => BlockTag::Earliest,
        "pending" => BlockTag::Pending,
        "safe" => BlockTag::Safe,
        "finalized" => BlockTag::Finalized,
        _ => {
            let n = parse_quantity(s)?;
            if n > i64::MAX as u64 {
                return Err("block number larger than int64");
            }
            BlockTag::Number(n)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn quantities_and_data_follow_hexutil() {
        assert_eq!(parse_quantity("0x0"), Ok(0));
        assert_eq!(parse_quantity("0x1f"), Ok(31));
        assert_eq!(parse_quantity("1f"), Err("hex string without 0x prefix"));
        assert_eq!(
            parse_quantity("0x01"),
            Err("hex number with leading zero digits")
        );
        assert_eq!(
            parse_quantity("0x10000000000000000"),
            Err("hex number > 64 bits")
        );
        assert_eq!(parse_quantity("0xzz"), Err("invalid hex string"));
        assert_eq!(parse_data("0x"), Ok(vec![]));
        assert_eq!(parse_data("0x0aff"), Ok(vec![10, 255]));
        assert_eq!(parse_data("0xabc"), Err("hex string of odd length"));
        assert_eq!(parse_data("0xzz"), Err("invalid hex string"));
        assert_eq!(parse_data("0xé1"), Err("hex string of odd length"));
    }

    #[test]
    fn params_count_and_messages() {
        let p = Params::new(vec![json!("0x1"), json!(true), Value::Null], 2).unwrap();
        assert_eq!(p.block(0), Ok(BlockTag::Number(1)));
        assert_eq!(p.boolean(1), Ok(true));
        let e = p.hash(0).unwrap_err();
        assert_eq!(e.code, -32602);
        assert!(
            e.message.starts_with("invalid argument 0:"),
            "{}",
            e.message
        );
        assert_eq!(
            p.quantity(2).unwrap_err().message,
            "missing value for required argument 2"
        );
        let e = Params::new(vec![json!(1), json!(2), json!(3)], 2)
            .err()
            .unwrap();
        assert_eq!(e.message, "too many arguments, want at most 2");
        let p = Params::new(vec![json!("0x8000000000000000"), json!("pending")], 2).unwrap();
        assert!(p.block(0).is_err());
        assert_eq!(p.block(1), Ok(BlockTag::Pending));
    }
}
