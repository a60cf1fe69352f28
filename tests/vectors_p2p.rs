//! p2p base protocol vectors (devp2p rlpx.md "p2p Capability", EIP-8): every entry of
//! fixtures/p2p/messages.json — message ids, capability offsets, Hello (including EIP-8's extra
//! elements and version 55), Disconnect (list, legacy bare byte, empty), Ping/Pong and snappy.

mod common;

use common::{fixture_json, h, hv};
use ethpeer::p2p::{
    BASE_PROTOCOL_LENGTH, Capability, DISCONNECT_ID, DisconnectReason, HELLO_ID, Hello,
    LocalCapability, P2pMessage, PING_ID, PONG_ID, match_capabilities, snappy_enabled,
};
use ethpeer::rlpx::snappy;
use serde_json::Value;

fn fx() -> Value {
    fixture_json("p2p/messages.json")
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("missing string field {key}"))
}

#[test]
fn message_ids() {
    let ids = &fx()["message_ids"];
    let ours = [
        ("Hello", HELLO_ID),
        ("Disconnect", DISCONNECT_ID),
        ("Ping", PING_ID),
        ("Pong", PONG_ID),
    ];
    for (name, id) in ours {
        assert_eq!(ids[name].as_u64(), Some(id), "message id of {name}");
    }
    assert!(str_of(ids, "reserved_range").contains("0x00-0x0f"));
    assert_eq!(BASE_PROTOCOL_LENGTH, 0x10, "first capability id");
}

/// Parses "eth/69 (18 messages)" into a capability and its length.
fn parse_shared(text: &str) -> LocalCapability {
    let (cap, rest) = text.split_once(' ').expect("'name/version (n messages)'");
    let (name, version) = cap.split_once('/').expect("name/version");
    let length = rest
        .trim_start_matches('(')
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .expect("message count");
    LocalCapability::new(
        Capability::new(name, version.parse().expect("version")),
        length,
    )
}

fn parse_range(text: &str) -> (u64, u64) {
    let (lo, hi) = text.split_once('-').expect("lo-hi");
    let num = |x: &str| u64::from_str_radix(x.trim_start_matches("0x"), 16).expect("hex id");
    (num(lo), num(hi))
}

#[test]
fn capability_offsets_example() {
    let offsets = &fx()["capability_offsets"];
    let example = &offsets["example"];
    let shared: Vec<LocalCapability> = example["shared"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| parse_shared(t.as_str().unwrap()))
        .collect();
    // The lengths in the example agree with the per-version tables.
    for local in &shared {
        let c = &local.capability;
        let table = if c.name == "eth" {
            &offsets["eth_lengths"]
        } else {
            &offsets["snap_length"]
        };
        assert_eq!(
            table[c.to_string()].as_u64(),
            Some(local.length),
            "length of {c}"
        );
    }
    // We list them in reverse, plus eth/68 that the remote also has (only the highest shared
    // version counts) and a capability the remote lacks; the remote adds one we lack.
    let mut ours: Vec<LocalCapability> = shared.iter().rev().cloned().collect();
    ours.push(LocalCapability::new(
        Capability::new("eth", 68),
        offsets["eth_lengths"]["eth/68"].as_u64().unwrap(),
    ));
    ours.push(LocalCapability::new(Capability::new("aaa", 1), 3));
    let mut theirs: Vec<Capability> = shared.iter().map(|l| l.capability.clone()).collect();
    theirs.push(Capability::new("eth", 68));
    theirs.push(Capability::new("les", 4));

    let got = match_capabilities(&ours, &theirs);
    assert_eq!(got.len(), shared.len(), "shared capability count");
    for (want, got) in shared.iter().zip(&got) {
        let name = &want.capability.name;
        assert_eq!(got.capability, want.capability, "capability order");
        let (lo, hi) = parse_range(str_of(example, name));
        assert_eq!(
            (got.offset, got.offset + got.length - 1),
            (lo, hi),
            "range of {name}"
        );
    }
}

#[test]
fn hello_vectors() {
    let fx = fx();
    // The size rule: go-ethereum refuses a Hello over 2 KiB, and so do we.
    let rules: Vec<&str> = fx["hello_rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert!(
        rules.iter().any(|r| r.contains("larger than 2 KiB")),
        "2 KiB rule present"
    );
    assert_eq!(ethpeer::p2p::BASE_PROTOCOL_MESSAGE_SIZE_MAX, 2 * 1024);
    assert!(rules.iter().any(|r| r.contains("Current p2p version is 5")));
    assert_eq!(ethpeer::p2p::P2P_VERSION, 5);
    for v in fx["hello_vectors"].as_array().unwrap() {
        let name = str_of(v, "name");
        let rlp = hv(&v["rlp"]);
        let d = &v["decoded"];
        let hello = Hello::decode(&rlp).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            hello.protocol_version,
            d["version"].as_u64().unwrap(),
            "{name}: version"
        );
        assert_eq!(hello.client_id, str_of(d, "client_id"), "{name}: client id");
        let caps: Vec<Capability> = d["caps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| Capability::new(c[0].as_str().unwrap(), c[1].as_u64().unwrap() as u32))
            .collect();
        assert_eq!(hello.capabilities, caps, "{name}: capabilities");
        assert_eq!(
            hello.listen_port as u64,
            d["listen_port"].as_u64().unwrap(),
            "{name}: port"
        );
        assert_eq!(
            hello.id.to_bytes().to_vec(),
            hv(&d["node_id"]),
            "{name}: node id"
        );
        assert_eq!(
            Hello::decode(&hello.encode()),
            Ok(hello.clone()),
            "{name}: roundtrip"
        );
        match d.get("extra_elements_raw").and_then(Value::as_array) {
            // Our encoding is the vector minus its extra elements.
            Some(extras) => {
                let extra_len: usize = extras.iter().map(|x| hv(x).len()).sum();
                let ours = hello.encode();
                assert_eq!(
                    &ours[ours.len() - 64..],
                    &rlp[rlp.len() - extra_len - 64..rlp.len() - extra_len],
                    "{name}: node id is the last field before the extras"
                );
            }
            None => assert_eq!(hello.encode(), rlp, "{name}: encoding"),
        }
        // Snappy follows the versions: on for 55 against our 5, off for 3.
        let v5 = hello.protocol_version >= 5;
        assert_eq!(
            snappy_enabled(ethpeer::p2p::P2P_VERSION, hello.protocol_version),
            v5,
            "{name}: snappy"
        );
    }
}

#[test]
fn disconnect_encodings() {
    let d = &fx()["disconnect"];
    for e in d["encodings"].as_array().unwrap() {
        let name = str_of(e, "name");
        let rlp = hv(&e["rlp"]);
        let code = e["reason"].as_u64().unwrap() as u8;
        let reason = DisconnectReason::decode(&rlp).unwrap_or_else(|err| panic!("{name}: {err}"));
        assert_eq!(reason.code(), code, "{name}: decoded reason");
        assert_eq!(reason.encode(), rlp, "{name}: encoding");
        assert_eq!(
            P2pMessage::decode(DISCONNECT_ID, &rlp),
            Ok(P2pMessage::Disconnect(reason)),
            "{name}: as message"
        );
    }
    // Legacy bare byte: the vector's byte is the reason code itself.
    let legacy = hv(&d["legacy_encoding"]["rlp"]);
    let reason = DisconnectReason::decode(&legacy).expect("legacy bare byte accepted");
    assert_eq!(vec![reason.code()], legacy, "legacy bare byte");
    // The reason is optional: an empty list, or nothing at all, reads as "requested".
    for empty in [&[0xc0u8][..], &[]] {
        assert_eq!(
            DisconnectReason::decode(empty),
            Ok(DisconnectReason::DisconnectRequested),
            "empty Disconnect {empty:02x?}"
        );
    }
}

#[test]
fn disconnect_reason_table() {
    let reasons = fx()["disconnect"]["reasons"].clone();
    let table = reasons.as_object().unwrap();
    for (code, text) in table {
        let code = u8::from_str_radix(code.trim_start_matches("0x"), 16).unwrap();
        let reason = DisconnectReason::from_code(code);
        assert!(
            !matches!(reason, DisconnectReason::Unknown(_)),
            "code {code:#04x} is known"
        );
        assert_eq!(reason.code(), code, "code {code:#04x}");
        assert_eq!(
            reason.to_string(),
            text.as_str().unwrap(),
            "text of {code:#04x}"
        );
    }
    // Every other code is unknown but still a disconnect.
    for code in 0..=u8::MAX {
        let known = table.contains_key(&format!("0x{code:02x}"));
        let unknown = matches!(
            DisconnectReason::from_code(code),
            DisconnectReason::Unknown(_)
        );
        assert_eq!(known, !unknown, "code {code:#04x}");
    }
}

#[test]
fn ping_pong() {
    let payload = hv(&fx()["ping_pong"]["payload_rlp"]);
    for (msg, id) in [(P2pMessage::Ping, PING_ID), (P2pMessage::Pong, PONG_ID)] {
        assert_eq!(msg.id(), id);
        assert_eq!(msg.encode(), payload, "{msg:?} payload");
        assert_eq!(
            P2pMessage::decode(id, &payload),
            Ok(msg.clone()),
            "{msg:?} decode"
        );
    }
}

#[test]
fn snappy_vectors() {
    let sn = &fx()["snappy"];
    assert!(str_of(sn, "format").contains("BLOCK format"));
    for v in sn["vectors"].as_array().unwrap() {
        let name = str_of(v, "name");
        let plain = hv(&v["uncompressed"]);
        let packed = hv(&v["compressed"]);
        assert_eq!(
            snappy::decompress(&packed, snappy::DECODED_SIZE_MAX),
            Ok(plain.clone()),
            "{name}: decode"
        );
        let ours = snappy::compress(&plain).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            snappy::decompress(&ours, snappy::DECODED_SIZE_MAX),
            Ok(plain.clone()),
            "{name}: roundtrip"
        );
        // A limit one byte short of the decoded length refuses it before decoding.
        if !plain.is_empty() {
            assert!(
                matches!(
                    snappy::decompress(&packed, plain.len() - 1),
                    Err(snappy::SnappyError::TooLarge { .. })
                ),
                "{name}: limit"
            );
        }
    }
    // The limit the fixture states: more than 0xFFFFFF decoded bytes is refused.
    assert_eq!(snappy::DECODED_SIZE_MAX, 0xFF_FFFF);
    let over = h("0x8080800800"); // varint 2^24, then junk
    assert!(matches!(
        snappy::decompress(&over, usize::MAX),
        Err(snappy::SnappyError::TooLarge {
            size: 0x100_0000,
            ..
        })
    ));
}
