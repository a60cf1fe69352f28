//! ethereum/tests RLPTests: `rlptest.json` (encode `in` → `out`, decode `out` → `in`),
//! `RandomRLPTests/example.json` (must decode and re-encode to itself) and `invalidRLPTest.json`
//! (every case must be refused by the strict validator and by the ENR decoder that relies on it).

mod common;

use common::{fixture_json, h};
use ethpeer::enr::Record;
use ethpeer::rlp::strict;
use rlp::{Rlp, RlpStream};
use serde_json::Value;

/// An RLP value as the vectors describe it: byte strings and lists.
#[derive(Debug, PartialEq)]
enum Tree {
    Bytes(Vec<u8>),
    List(Vec<Tree>),
}

/// A decimal integer as minimal big-endian bytes (zero is the empty string).
fn decimal_to_bytes(digits: &str) -> Vec<u8> {
    let mut out: Vec<u8> = Vec::new(); // big-endian, no leading zeros
    for c in digits.bytes() {
        assert!(c.is_ascii_digit(), "bad decimal digit in {digits:?}");
        let mut carry = u32::from(c - b'0');
        for b in out.iter_mut().rev() {
            let v = u32::from(*b) * 10 + carry;
            *b = v as u8;
            carry = v >> 8;
        }
        while carry > 0 {
            out.insert(0, carry as u8);
            carry >>= 8;
        }
    }
    out
}

/// The `in` side of a vector as a tree.
fn tree_of_json(v: &Value) -> Tree {
    match v {
        Value::String(s) => match s.strip_prefix('#') {
            Some(digits) => Tree::Bytes(decimal_to_bytes(digits)),
            None => Tree::Bytes(s.as_bytes().to_vec()),
        },
        Value::Number(n) => {
            let n = n
                .as_u64()
                .unwrap_or_else(|| panic!("integer {n} out of range"));
            let be = n.to_be_bytes();
            let first = be.iter().position(|&b| b != 0).unwrap_or(be.len());
            Tree::Bytes(be[first..].to_vec())
        }
        Value::Array(items) => Tree::List(items.iter().map(tree_of_json).collect()),
        other => panic!("unexpected vector input {other}"),
    }
}

fn encode(tree: &Tree, s: &mut RlpStream) {
    match tree {
        Tree::Bytes(b) => {
            s.append(&b.as_slice());
        }
        Tree::List(items) => {
            s.begin_list(items.len());
            for item in items {
                encode(item, s);
            }
        }
    }
}

/// Decodes through our path: strict validation, then `rlp::Rlp` navigation.
fn decode(bytes: &[u8]) -> Result<Tree, String> {
    strict::validate(bytes).map_err(|e| e.to_string())?;
    fn walk(r: &Rlp) -> Tree {
        if r.is_list() {
            Tree::List(r.iter().map(|item| walk(&item)).collect())
        } else {
            Tree::Bytes(r.data().expect("validated RLP").to_vec())
        }
    }
    Ok(walk(&Rlp::new(bytes)))
}

#[test]
fn decimal_conversion_is_right() {
    assert_eq!(decimal_to_bytes("0"), Vec::<u8>::new());
    assert_eq!(decimal_to_bytes("255"), vec![0xff]);
    assert_eq!(decimal_to_bytes("256"), vec![1, 0]);
    assert_eq!(decimal_to_bytes("100000"), vec![0x01, 0x86, 0xa0]);
}

#[test]
fn rlptest_encodes_and_decodes() {
    let json = fixture_json("rlp/rlptest.json");
    let cases = json.as_object().expect("rlptest.json is an object");
    assert!(cases.len() >= 28, "only {} vectors", cases.len());
    for (name, case) in cases {
        let want = h(case["out"].as_str().expect("out is a string"));
        let tree = tree_of_json(&case["in"]);
        let mut s = RlpStream::new();
        encode(&tree, &mut s);
        assert_eq!(s.out().to_vec(), want, "{name}: encoding");
        assert_eq!(decode(&want), Ok(tree), "{name}: decoding");
    }
}

#[test]
fn random_rlp_example_decodes_and_reencodes() {
    let json = fixture_json("rlp/RandomRLPTests_example.json");
    for (name, case) in json.as_object().expect("object") {
        assert_eq!(case["in"], "VALID", "{name}");
        let bytes = h(case["out"].as_str().expect("out is a string"));
        let tree = decode(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut s = RlpStream::new();
        encode(&tree, &mut s);
        assert_eq!(s.out().to_vec(), bytes, "{name}: re-encoding");
    }
}

#[test]
fn invalid_rlp_is_refused() {
    let json = fixture_json("rlp/invalidRLPTest.json");
    let cases = json.as_object().expect("object");
    assert_eq!(cases.len(), 26, "vector count changed");
    for (name, case) in cases {
        assert_eq!(case["in"], "INVALID", "{name}");
        let bytes = h(case["out"].as_str().expect("out is a string"));
        assert!(
            strict::validate(&bytes).is_err(),
            "{name}: strict validation accepted {bytes:02x?}"
        );
        assert!(decode(&bytes).is_err(), "{name}: decoding accepted it");
        assert!(
            Record::decode(&bytes).is_err(),
            "{name}: the ENR decoder accepted it"
        );
    }
}
