//! RLPx frame vectors (devp2p rlpx.md "Framing", "MAC"): the 2015 legacy interop Hello frames
//! with real keccak MACs, the frames derived from the EIP-8 Auth2/Ack2 handshake (Hello each way,
//! then snappy Ping/Pong), and go-ethereum's TestFrameReadWrite with its fake MAC hash.

mod common;

use common::{fixture_json, h, h32, hv};
use ethpeer::crypto::{PublicKey, SecretKey};
use ethpeer::p2p::{Hello, P2pMessage, snappy_enabled};
use ethpeer::rlpx::Secrets;
use ethpeer::rlpx::frame::{FrameCodec, HEADER_LEN, MacState};
use ethpeer::rlpx::snappy;
use serde_json::Value;
use sha3::Keccak256;

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("missing string field {key}"))
}

fn digest(state: &Keccak256) -> [u8; 32] {
    MacState::digest(state)
}

/// Opens one whole frame with `rx`, returning the msg-id and payload.
fn open<M: MacState>(rx: &mut FrameCodec<M>, frame: &[u8], name: &str) -> (u64, Vec<u8>) {
    let mut header = [0u8; HEADER_LEN];
    header.copy_from_slice(&frame[..HEADER_LEN]);
    let body_len = rx
        .open_header(&mut header)
        .unwrap_or_else(|e| panic!("{name}: open_header: {e}"));
    assert_eq!(body_len, frame.len() - HEADER_LEN, "{name}: body length");
    let mut body = frame[HEADER_LEN..].to_vec();
    let (id, payload) = rx
        .open_body(&mut body)
        .unwrap_or_else(|e| panic!("{name}: open_body: {e}"));
    (id, payload.to_vec())
}

fn seal<M: MacState>(tx: &mut FrameCodec<M>, id: u64, payload: &[u8], name: &str) -> Vec<u8> {
    let mut out = Vec::new();
    tx.seal(id, payload, &mut out)
        .unwrap_or_else(|e| panic!("{name}: seal: {e}"));
    out
}

fn check_hello(hello: &Hello, want: &Value, name: &str) {
    assert_eq!(
        hello.protocol_version,
        want["version"].as_u64().unwrap(),
        "{name}: version"
    );
    assert_eq!(hello.client_id, s(want, "client_id"), "{name}: client id");
    let caps: Vec<(String, u64)> = want["caps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c[0].as_str().unwrap().to_owned(), c[1].as_u64().unwrap()))
        .collect();
    let got: Vec<(String, u64)> = hello
        .capabilities
        .iter()
        .map(|c| (c.name.clone(), c.version as u64))
        .collect();
    assert_eq!(got, caps, "{name}: capabilities");
    assert_eq!(
        hello.listen_port as u64,
        want["listen_port"].as_u64().unwrap(),
        "{name}: port"
    );
    assert_eq!(
        hello.id.to_bytes().to_vec(),
        hv(&want["node_id"]),
        "{name}: node id"
    );
}

#[test]
fn legacy_interop_vector() {
    let v = &fixture_json("rlpx/handshake_vectors.json")["legacy_interop_vector"];
    let init_eph = SecretKey::from_bytes(&h(s(v, "initiator_ephemeral_private_key"))).unwrap();
    let recv_eph = SecretKey::from_bytes(&h(s(v, "receiver_ephemeral_private_key"))).unwrap();
    let init_pub = PublicKey::from_bytes(&h(s(v, "initiator_pubkey"))).unwrap();
    let recv_pub = PublicKey::from_bytes(&h(s(v, "receiver_pubkey"))).unwrap();
    let ecdhe = init_eph.ecdh(&recv_eph.public_key());
    assert_eq!(
        ecdhe,
        recv_eph.ecdh(&init_eph.public_key()),
        "ECDH symmetric"
    );
    assert_eq!(ecdhe, h32(s(v, "ecdhe_shared_secret")), "ecdhe");
    let init_nonce = h32(s(v, "initiator_nonce"));
    let recv_nonce = h32(s(v, "receiver_nonce"));
    // Legacy packets carry no size prefix: the wire bytes are the ciphertexts alone.
    let auth = h(s(v, "auth_ciphertext"));
    let ack = h(s(v, "authresp_ciphertext"));

    let initiator = Secrets::derive(
        true,
        recv_pub,
        &ecdhe,
        &init_nonce,
        &recv_nonce,
        &auth,
        &ack,
    );
    let receiver = Secrets::derive(
        false,
        init_pub,
        &ecdhe,
        &init_nonce,
        &recv_nonce,
        &auth,
        &ack,
    );
    for (side, sec) in [("initiator", &initiator), ("receiver", &receiver)] {
        assert_eq!(sec.aes, h32(s(v, "aes_secret")), "{side}: aes-secret");
        assert_eq!(sec.mac, h32(s(v, "mac_secret")), "{side}: mac-secret");
    }
    let egress0 = h32(s(v, "initial_egress_MAC"));
    let ingress0 = h32(s(v, "initial_ingress_MAC"));
    assert_eq!(digest(&initiator.egress_mac), egress0, "initiator egress");
    assert_eq!(
        digest(&initiator.ingress_mac),
        ingress0,
        "initiator ingress"
    );
    assert_eq!(digest(&receiver.ingress_mac), egress0, "receiver ingress");
    assert_eq!(digest(&receiver.egress_mac), ingress0, "receiver egress");

    let mut init_codec = FrameCodec::new(initiator);
    let mut recv_codec = FrameCodec::new(receiver);
    let decoded = &v["hello_frames_decoded"];
    let directions = [
        ("initiator", "initiator_hello_frame"),
        ("receiver", "receiver_hello_frame"),
    ];
    for (side, frame_key) in directions {
        let frame = h(s(v, frame_key));
        let want = &decoded[side];
        let id = want["msg_code"].as_u64().unwrap();
        let hello_rlp = hv(&want["hello_rlp"]);
        let (tx, rx) = if side == "initiator" {
            (&mut init_codec, &mut recv_codec)
        } else {
            (&mut recv_codec, &mut init_codec)
        };
        assert_eq!(
            seal(tx, id, &hello_rlp, side),
            frame,
            "{side}: sealed bytes"
        );
        let (got_id, payload) = open(rx, &frame, side);
        assert_eq!((got_id, &payload), (id, &hello_rlp), "{side}: opened frame");
        let hello = Hello::decode(&payload).unwrap_or_else(|e| panic!("{side}: Hello: {e}"));
        check_hello(&hello, &want["hello"], side);
        assert_eq!(hello.encode(), hello_rlp, "{side}: Hello re-encodes");
    }
}

#[test]
fn auth2_ack2_derived_frames() {
    let fx = fixture_json("rlpx/handshake_vectors.json");
    let keys = &fx["keys"];
    let hs = fx["handshakes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"] == "Auth2/Ack2")
        .expect("Auth2/Ack2 present");
    let eph_a = SecretKey::from_bytes(&h(s(keys, "ephemeral_private_key_A"))).unwrap();
    let eph_b = SecretKey::from_bytes(&h(s(keys, "ephemeral_private_key_B"))).unwrap();
    let pub_a = PublicKey::from_bytes(&h(s(keys, "static_public_key_A"))).unwrap();
    let pub_b = PublicKey::from_bytes(&h(s(keys, "static_public_key_B"))).unwrap();
    let ecdhe = eph_a.ecdh(&eph_b.public_key());
    let nonce_a = h32(s(keys, "nonce_A"));
    let nonce_b = h32(s(keys, "nonce_B"));
    // EIP-8 wire packets include their 2-byte size prefix.
    let auth = h(s(hs, "auth_hex"));
    let ack = h(s(hs, "ack_hex"));
    let a = Secrets::derive(true, pub_b, &ecdhe, &nonce_a, &nonce_b, &auth, &ack);
    let b = Secrets::derive(false, pub_a, &ecdhe, &nonce_a, &nonce_b, &auth, &ack);

    let ds = &hs["derived_secrets"];
    assert_eq!(ecdhe, h32(s(ds, "ephemeral_shared_secret")), "ecdhe");
    for (side, sec) in [("A", &a), ("B", &b)] {
        assert_eq!(
            sec.aes,
            h32(s(&hs["upstream_expected"], "aes_secret")),
            "{side}: aes"
        );
        assert_eq!(
            sec.mac,
            h32(s(&hs["upstream_expected"], "mac_secret")),
            "{side}: mac"
        );
    }
    let pairs = [
        (&a.egress_mac, "initiator_egress_mac_initial_digest"),
        (&a.ingress_mac, "initiator_ingress_mac_initial_digest"),
        (&b.egress_mac, "recipient_egress_mac_initial_digest"),
        (&b.ingress_mac, "recipient_ingress_mac_initial_digest"),
    ];
    for (state, key) in pairs {
        assert_eq!(digest(state), h32(s(ds, key)), "{key}");
    }
    let mut foo = b.ingress_mac.clone();
    MacState::update(&mut foo, b"foo");
    assert_eq!(
        digest(&foo),
        h32(s(
            &hs["upstream_expected"],
            "recipient_ingress_mac_after_update_foo"
        )),
        "EIP-8 ingress-mac after 'foo'"
    );

    // Two pairs of codecs: one pair seals (to reproduce the bytes), the other opens (to check
    // the receiving side), so each direction's states advance exactly once per role.
    let (mut seal_a, mut seal_b) = (FrameCodec::new(a.clone()), FrameCodec::new(b.clone()));
    let (mut open_a, mut open_b) = (FrameCodec::new(a), FrameCodec::new(b));
    let mut versions = [None, None];
    for (i, f) in hs["derived_frames"]["frames"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
    {
        let dir = s(f, "direction");
        let name = format!("derived frame {i} ({dir})");
        let from_a = dir.starts_with("A->B");
        let (tx, rx) = if from_a {
            (&mut seal_a, &mut open_b)
        } else {
            (&mut seal_b, &mut open_a)
        };
        let id = f["msg_code"].as_u64().unwrap();
        let payload_rlp = hv(&f["payload_rlp"]);
        let compressed = f["snappy"].as_bool().unwrap();
        let on_wire = if compressed {
            hv(&f["payload_on_wire"])
        } else {
            payload_rlp.clone()
        };
        let frame = hv(&f["frame"]);
        assert_eq!(seal(tx, id, &on_wire, &name), frame, "{name}: sealed bytes");
        let (got_id, got) = open(rx, &frame, &name);
        assert_eq!((got_id, &got), (id, &on_wire), "{name}: opened frame");

        // Snappy is on exactly when both Hellos (already seen) say version >= 5.
        let snappy_now = match versions {
            [Some(x), Some(y)] => snappy_enabled(x, y),
            _ => false,
        };
        assert_eq!(snappy_now, compressed, "{name}: snappy state");
        let plain = if compressed {
            snappy::decompress(&got, snappy::DECODED_SIZE_MAX)
                .unwrap_or_else(|e| panic!("{name}: snappy: {e}"))
        } else {
            got
        };
        assert_eq!(plain, payload_rlp, "{name}: decompressed payload");
        let msg = P2pMessage::decode(id, &plain).unwrap_or_else(|e| panic!("{name}: {e}"));
        if let P2pMessage::Hello(hello) = &msg {
            let sender = if from_a { &pub_a } else { &pub_b };
            assert_eq!(&hello.id, sender, "{name}: Hello id is the sender's key");
            versions[usize::from(!from_a)] = Some(hello.protocol_version);
        }
    }
}

/// go-ethereum's fake hash: every digest is 32 bytes of 0x01, whatever was written.
#[derive(Clone)]
struct FakeMac;

impl MacState for FakeMac {
    fn update(&mut self, _data: &[u8]) {}
    fn digest(&self) -> [u8; 32] {
        [1u8; 32]
    }
}

#[test]
fn geth_frame_golden() {
    let v = &fixture_json("rlpx/handshake_vectors.json")["geth_frame_golden"];
    // Setup as the fixture describes: aes-secret = mac-secret = keccak256(""), fake MAC hashes.
    let key = ethpeer::crypto::keccak256(b"");
    assert!(
        s(v, "setup").contains(&ethpeer::crypto::hex(&key)),
        "setup names keccak256('')"
    );
    let id = v["msg_code"].as_u64().unwrap();
    let payload = hv(&v["payload_rlp"]);
    let frame = hv(&v["frame"]);

    let mut tx = FrameCodec::with_mac_states(&key, &key, FakeMac, FakeMac);
    assert_eq!(
        seal(&mut tx, id, &payload, "geth golden"),
        frame,
        "sealed bytes"
    );

    let mut rx = FrameCodec::with_mac_states(&key, &key, FakeMac, FakeMac);
    let mut header = [0u8; HEADER_LEN];
    header.copy_from_slice(&frame[..HEADER_LEN]);
    let body_len = rx.open_header(&mut header).expect("header opens");
    assert_eq!(
        &header[..16],
        &hv(&v["header_plaintext"])[..],
        "decrypted header"
    );
    let mut body = frame[HEADER_LEN..].to_vec();
    assert_eq!(body_len, body.len(), "body length");
    let (got_id, got) = rx.open_body(&mut body).expect("body opens");
    assert_eq!((got_id, got), (id, &payload[..]), "opened frame");
    let mut frame_data = rlp::encode(&got_id).to_vec();
    frame_data.extend_from_slice(got);
    assert_eq!(frame_data, hv(&v["frame_data"]), "frame data");
}
