//! ENR records (EIP-778 / devp2p enr.md, go-ethereum and ethereumjs test data) from
//! `fixtures/enr/records.json`, and go-ethereum's enode URL cases from
//! `fixtures/enr/enode_urls.json`.

mod common;

use std::net::IpAddr;

use common::{fixture_json, h, hv};
use ethpeer::crypto::{SecretKey, keccak256};
use ethpeer::enode::{Enode, Host};
use ethpeer::enr::{Builder, EnrError, ForkId, Record};
use serde_json::Value;

fn s(v: &Value) -> &str {
    v.as_str()
        .unwrap_or_else(|| panic!("expected a string, got {v}"))
}

/// The raw RLP a fixture pair's value should have: hex strings are byte-string payloads,
/// `{"rlp": ...}` objects are already encoded.
fn pair_value_rlp(v: &Value) -> Vec<u8> {
    match v {
        Value::String(_) => rlp::encode(&hv(v)).to_vec(),
        Value::Object(o) => hv(&o["rlp"]),
        other => panic!("unexpected pair value {other}"),
    }
}

#[test]
fn records_decode_encode_and_verify() {
    let json = fixture_json("enr/records.json");
    let records = json["records"].as_array().expect("records");
    assert_eq!(records.len(), 5, "record count changed");
    for rec in records {
        let name = s(&rec["name"]);
        let text = s(&rec["enr"]);
        let rlp_bytes = hv(&rec["rlp"]);
        let r = Record::from_text(text).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(r.to_rlp(), rlp_bytes, "{name}: RLP form");
        assert_eq!(
            rlp_bytes.len() as u64,
            rec["rlp_size"].as_u64().unwrap(),
            "{name}"
        );
        assert_eq!(
            Record::decode(&rlp_bytes).as_ref(),
            Ok(&r),
            "{name}: decode of RLP"
        );
        assert_eq!(r.to_text(), text, "{name}: text round trip");
        assert_eq!(r.seq(), rec["seq"].as_u64().unwrap(), "{name}: seq");
        assert_eq!(r.signature(), hv(&rec["signature"]), "{name}: signature");

        let want_pairs = rec["pairs"].as_array().expect("pairs");
        assert_eq!(r.pairs().count(), want_pairs.len(), "{name}: pair count");
        for pair in want_pairs {
            let key = s(&pair[0]);
            assert_eq!(
                r.get(key.as_bytes()),
                Some(pair_value_rlp(&pair[1]).as_slice()),
                "{name}: value of {key}"
            );
        }

        let content = r.signed_content();
        assert_eq!(
            content,
            hv(&rec["signed_content_rlp"]),
            "{name}: signed content"
        );
        assert_eq!(
            keccak256(&content).to_vec(),
            hv(&rec["signed_hash_keccak256"]),
            "{name}: signed hash"
        );
        let pubkey = r
            .public_key()
            .unwrap_or_else(|| panic!("{name}: no public key"));
        assert_eq!(
            pubkey.to_bytes().to_vec(),
            hv(&rec["public_key_uncompressed_64"]),
            "{name}"
        );
        assert_eq!(
            r.node_id().unwrap().0.to_vec(),
            hv(&rec["node_id"]),
            "{name}: node id"
        );
        assert_eq!(r.id_scheme(), Some(&b"v4"[..]), "{name}: id scheme");

        if rec["expect_valid_signature"].as_bool().unwrap() {
            assert_eq!(r.verify(), Ok(pubkey), "{name}: verify");
            assert!(Record::decode_verified(&rlp_bytes).is_ok(), "{name}");
        } else {
            let err = r.verify().expect_err(name);
            assert_eq!(err, EnrError::InvalidSignature, "{name}");
            assert_eq!(err.to_string(), s(&rec["expect_error"]), "{name}: message");
            assert_eq!(Record::decode_verified(&rlp_bytes), Err(err), "{name}");
        }

        if let Some(key) = rec.get("private_key") {
            // k256 and go-ethereum both sign with RFC 6979 nonces, so re-signing the same content
            // with the same key must reproduce the record byte for byte.
            let sk = SecretKey::from_bytes(&hv(key)).unwrap();
            assert_eq!(sk.public_key(), pubkey, "{name}: private key matches");
            let mut b = Record::builder().seq(r.seq());
            for (k, v) in r.pairs() {
                b = b.raw(k, v.to_vec());
            }
            assert_eq!(b.sign(&sk).as_ref(), Ok(&r), "{name}: re-signed record");
            let copy = Builder::from_record(&r).sign(&sk).unwrap();
            assert_eq!(copy, r, "{name}: Builder::from_record");
        }

        let expect = &rec["expect"];
        if let Some(seq) = expect.get("seq") {
            assert_eq!(r.seq(), seq.as_u64().unwrap(), "{name}: expect.seq");
        }
        if let Some(id) = expect.get("node_id") {
            assert_eq!(
                r.node_id().unwrap().0.to_vec(),
                hv(id),
                "{name}: expect.node_id"
            );
        }
        if let Some(ip) = expect.get("ip") {
            assert_eq!(
                r.ip().map(|a| a.to_string()).as_deref(),
                ip.as_str(),
                "{name}: ip"
            );
        }
        if let Some(udp) = expect.get("udp") {
            assert_eq!(r.udp().map(u64::from), udp.as_u64(), "{name}: udp");
        }
        match expect.get("eth_entry_forkid") {
            Some(f) => {
                let want = ForkId {
                    hash: hv(&f["hash"]).try_into().unwrap(),
                    next: f["next"].as_u64().unwrap(),
                };
                assert_eq!(r.eth(), Some(want), "{name}: eth entry");
            }
            None => assert_eq!(r.eth(), None, "{name}: no eth entry"),
        }

        let enode = r.to_enode().unwrap_or_else(|| panic!("{name}: no enode"));
        assert_eq!(enode.id, pubkey, "{name}: enode id");
        assert_eq!(enode.ip(), r.ip().map(IpAddr::V4), "{name}: enode ip");
        assert_eq!(enode.udp, r.udp().unwrap_or(0), "{name}: enode udp");
    }
}

#[test]
fn malformed_text_is_refused() {
    let json = fixture_json("enr/records.json");
    for case in json["malformed_text"].as_array().expect("malformed_text") {
        let input = s(&case["input"]);
        let expect = s(&case["expect_error"]);
        let err = Record::from_text(input).expect_err(input);
        if expect.contains("base64") {
            assert!(matches!(err, EnrError::Base64(_)), "{input:?}: {err:?}");
        } else {
            assert!(expect.contains("empty"), "unclassified case {input:?}");
            assert_eq!(err.to_string(), "empty record", "{input:?}");
        }
    }
}

#[test]
fn rlp_decode_cases() {
    let json = fixture_json("enr/records.json");
    for case in json["rlp_decode_cases"]
        .as_array()
        .expect("rlp_decode_cases")
    {
        let name = s(&case["rlp"]);
        let bytes = h(name);
        let got = Record::decode(&bytes);
        match case["expect_error"].as_str() {
            None => {
                let r = got.unwrap_or_else(|e| panic!("{name}: {e}"));
                assert_eq!(r.to_rlp(), bytes, "{name}: re-encoding");
            }
            Some(e) if e.starts_with("incomplete key/value pair") => {
                assert_eq!(got, Err(EnrError::IncompletePair), "{name}");
            }
            Some(e) if e.starts_with("incomplete list") => {
                assert_eq!(got, Err(EnrError::Incomplete), "{name}");
            }
            Some(e) => panic!("{name}: unclassified expectation {e:?}"),
        }
    }
}

#[test]
fn enode_urls() {
    let json = fixture_json("enr/enode_urls.json");
    let cases = json["cases"].as_array().expect("cases");
    assert!(cases.len() >= 14, "only {} cases", cases.len());
    for case in cases {
        let input = s(&case["input"]);
        let got = input.parse::<Enode>();
        if let Some(err) = case.get("expect_error") {
            let e = got.expect_err(input);
            assert_eq!(e.to_string(), s(err), "{input:?}");
            continue;
        }
        let node = got.unwrap_or_else(|e| panic!("{input:?}: {e}"));
        let expect = &case["expect"];
        assert_eq!(
            node.id.to_bytes().to_vec(),
            hv(&expect["pubkey"]),
            "{input}: key"
        );
        assert_eq!(
            node.ip().map(|a| a.to_string()).as_deref(),
            expect["ip"].as_str(),
            "{input}: ip"
        );
        match expect.get("hostname") {
            Some(name) => assert_eq!(node.host, Host::Name(s(name).to_string()), "{input}"),
            None if expect["ip"].is_null() => assert_eq!(node.host, Host::Unknown, "{input}"),
            None => {}
        }
        assert_eq!(
            u64::from(node.tcp),
            expect["tcp"].as_u64().unwrap(),
            "{input}: tcp"
        );
        assert_eq!(
            u64::from(node.udp),
            expect["udp"].as_u64().unwrap(),
            "{input}: udp"
        );
        assert_eq!(
            node.to_string(),
            input,
            "{input}: Display reproduces the input"
        );
    }
}
