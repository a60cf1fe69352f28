//! discv5 wire test vectors (fixtures/discv5/wire_vectors.json, transcribed from devp2p
//! `discv5/discv5-wire-test-vectors.md`): the four packets decoded by node B and re-encoded by
//! node A byte for byte, and the five cryptographic primitives (ECDH, key derivation, id
//! signature, AES-GCM).
//!
//! The id signature is deterministic (RFC 6979), so a handshake packet re-encodes exactly from
//! the listed ephemeral key.

mod common;

use common::{fixture_json, h, hv};
use ethpeer::crypto::{NodeId, PublicKey, SecretKey};
use ethpeer::discv5::crypto::{self as c5, SessionKeys};
use ethpeer::discv5::message::{Message, RequestId};
use ethpeer::discv5::packet::{self, AuthData, Decoded, Handshake, Header, WhoAreYou};
use ethpeer::enr::Record;
use serde_json::Value;

fn vectors() -> Value {
    fixture_json("discv5/wire_vectors.json")
}

fn key(v: &Value, name: &str) -> SecretKey {
    SecretKey::from_bytes(&hv(&v["keys"][name])).unwrap()
}

fn id(v: &Value) -> NodeId {
    NodeId(hv(v).try_into().expect("32-byte node id"))
}

fn arr<const N: usize>(v: &Value) -> [u8; N] {
    hv(v).try_into().expect("fixed-size field")
}

fn packet_case<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["packets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("no packet vector {name}"))
}

#[test]
fn vector_keys_give_the_listed_node_ids() {
    let v = vectors();
    let p = packet_case(&v, "ping_message");
    assert_eq!(
        key(&v, "node-a-key").public_key().node_id(),
        id(&p["src-node-id"])
    );
    assert_eq!(
        key(&v, "node-b-key").public_key().node_id(),
        id(&p["dest-node-id"])
    );
}

fn decode_as_b(v: &Value, case: &Value) -> Decoded {
    let b_id = key(v, "node-b-key").public_key().node_id();
    packet::decode(&b_id, &hv(&case["packet"])).expect("vector decodes")
}

fn expected_ping(case: &Value) -> Message {
    Message::Ping {
        id: RequestId::new(&hv(&case["ping.req-id"])).unwrap(),
        enr_seq: case["ping.enr-seq"].as_u64().unwrap(),
    }
}

#[test]
fn ping_message_packet_decodes_and_reencodes() {
    let v = vectors();
    let case = packet_case(&v, "ping_message");
    let d = decode_as_b(&v, case);
    assert_eq!(
        d.header.auth,
        AuthData::Message {
            src_id: id(&case["src-node-id"])
        }
    );
    assert_eq!(d.header.nonce, arr::<12>(&case["nonce"]));
    let read_key = arr::<16>(&case["read-key"]);
    let pt = c5::decrypt(
        &read_key,
        &d.header.nonce,
        &d.message,
        &d.authenticated_data(),
    )
    .expect("message authenticates under the read key");
    assert_eq!(Message::decode(&pt).unwrap(), expected_ping(case));

    let again = packet::encode(
        &id(&case["dest-node-id"]),
        &d.masking_iv,
        &d.header,
        Some((&read_key, &expected_ping(case).encode())),
    )
    .unwrap();
    assert_eq!(again, hv(&case["packet"]));
    // A wrong key does not authenticate.
    assert!(
        c5::decrypt(
            &[1; 16],
            &d.header.nonce,
            &d.message,
            &d.authenticated_data()
        )
        .is_none()
    );
}

#[test]
fn whoareyou_packet_decodes_and_reencodes() {
    let v = vectors();
    let case = packet_case(&v, "whoareyou");
    let d = decode_as_b(&v, case);
    let want = WhoAreYou {
        id_nonce: arr::<16>(&case["whoareyou.id-nonce"]),
        enr_seq: case["whoareyou.enr-seq"].as_u64().unwrap(),
    };
    assert_eq!(d.header.auth, AuthData::WhoAreYou(want));
    assert_eq!(d.header.nonce, arr::<12>(&case["whoareyou.request-nonce"]));
    assert!(d.message.is_empty());
    assert_eq!(
        d.authenticated_data(),
        hv(&case["whoareyou.challenge-data"])
    );
    let again = packet::encode(&id(&case["dest-node-id"]), &d.masking_iv, &d.header, None).unwrap();
    assert_eq!(again, hv(&case["packet"]));
}

/// Node B's side of a handshake vector: keys, id signature, message; then node A's side
/// rebuilds the packet from the ephemeral key.
fn check_handshake(name: &str, with_record: bool) {
    let v = vectors();
    let case = packet_case(&v, name);
    let (a, b) = (key(&v, "node-a-key"), key(&v, "node-b-key"));
    let (a_id, b_id) = (a.public_key().node_id(), b.public_key().node_id());
    let d = decode_as_b(&v, case);
    let AuthData::Handshake(hs) = &d.header.auth else {
        panic!("{name}: not a handshake packet: {:?}", d.header.auth);
    };
    assert_eq!(hs.src_id, a_id);
    assert_eq!(hs.ephemeral_key, arr::<33>(&case["ephemeral-pubkey"]));
    assert_eq!(hs.record.is_some(), with_record, "{name}: record presence");
    if let Some(r) = &hs.record {
        let rec = Record::decode_verified(r).expect("handshake record verifies");
        assert_eq!(rec.node_id(), Some(a_id));
    }
    let challenge = hv(&case["whoareyou.challenge-data"]);
    // B: verify A's id signature and derive the keys from its static key.
    assert!(c5::id_verify(
        &a.public_key(),
        &hs.id_signature,
        &challenge,
        &hs.ephemeral_key,
        &b_id
    ));
    let eph_pub = PublicKey::from_sec1(&hs.ephemeral_key).unwrap();
    let keys = c5::recipient_keys(&b, &eph_pub, &a_id, &b_id, &challenge);
    let read_key = arr::<16>(&case["read-key"]);
    assert_eq!(keys.initiator_key, read_key);
    let pt = c5::decrypt(
        &read_key,
        &d.header.nonce,
        &d.message,
        &d.authenticated_data(),
    )
    .expect("handshake message authenticates");
    assert_eq!(Message::decode(&pt).unwrap(), expected_ping(case));

    // A: from the ephemeral key, the same keys, the same signature, the same bytes.
    let eph = SecretKey::from_bytes(&hv(&case["ephemeral-key"])).unwrap();
    assert_eq!(eph.public_key().to_compressed(), hs.ephemeral_key);
    let a_keys: SessionKeys = c5::initiator_keys(&eph, &b.public_key(), &a_id, &challenge);
    assert_eq!(a_keys, keys);
    let sig = c5::id_sign(&a, &challenge, &hs.ephemeral_key, &b_id);
    assert_eq!(sig, hs.id_signature, "{name}: RFC 6979 signature");
    let header = Header {
        nonce: arr::<12>(&case["nonce"]),
        auth: AuthData::Handshake(Handshake {
            src_id: a_id,
            id_signature: sig,
            ephemeral_key: hs.ephemeral_key,
            record: hs.record.clone(),
        }),
    };
    let again = packet::encode(
        &b_id,
        &d.masking_iv,
        &header,
        Some((&a_keys.initiator_key, &expected_ping(case).encode())),
    )
    .unwrap();
    assert_eq!(again, hv(&case["packet"]), "{name}: byte-exact re-encoding");
}

#[test]
fn ping_handshake_packet_decodes_and_reencodes() {
    check_handshake("ping_handshake", false);
}

#[test]
fn ping_handshake_packet_with_record_decodes_and_reencodes() {
    check_handshake("ping_handshake_enr", true);
}

#[test]
fn ecdh_gives_the_compressed_shared_point() {
    let p = &vectors()["primitives"]["ecdh"];
    let sk = SecretKey::from_bytes(&hv(&p["secret-key"])).unwrap();
    let pk = PublicKey::from_sec1(&hv(&p["public-key"])).unwrap();
    assert_eq!(sk.ecdh_compressed(&pk).to_vec(), hv(&p["shared-secret"]));
}

#[test]
fn key_derivation_gives_the_listed_keys() {
    let p = &vectors()["primitives"]["key_derivation"];
    let eph = SecretKey::from_bytes(&hv(&p["ephemeral-key"])).unwrap();
    let dest = PublicKey::from_sec1(&hv(&p["dest-pubkey"])).unwrap();
    let secret = eph.ecdh_compressed(&dest);
    let keys = c5::derive_keys(
        &secret,
        &id(&p["node-id-a"]),
        &id(&p["node-id-b"]),
        &hv(&p["challenge-data"]),
    );
    assert_eq!(keys.initiator_key.to_vec(), hv(&p["initiator-key"]));
    assert_eq!(keys.recipient_key.to_vec(), hv(&p["recipient-key"]));
}

#[test]
fn id_signature_signs_and_verifies() {
    let p = &vectors()["primitives"]["id_nonce_signing"];
    let sk = SecretKey::from_bytes(&hv(&p["static-key"])).unwrap();
    let challenge = hv(&p["challenge-data"]);
    let eph = hv(&p["ephemeral-pubkey"]);
    let dest = id(&p["node-id-B"]);
    let sig = c5::id_sign(&sk, &challenge, &eph, &dest);
    assert_eq!(sig.to_vec(), hv(&p["id-signature"]));
    assert!(c5::id_verify(
        &sk.public_key(),
        &sig,
        &challenge,
        &eph,
        &dest
    ));
    // Bound to the recipient: another id does not verify.
    let other = NodeId([0xcc; 32]);
    assert!(!c5::id_verify(
        &sk.public_key(),
        &sig,
        &challenge,
        &eph,
        &other
    ));
}

#[test]
fn aes_gcm_seals_and_opens() {
    let p = &vectors()["primitives"]["encryption_decryption"];
    let k: [u8; 16] = arr(&p["encryption-key"]);
    let n: [u8; 12] = arr(&p["nonce"]);
    let (pt, ad) = (hv(&p["pt"]), hv(&p["ad"]));
    let sealed = c5::encrypt(&k, &n, &pt, &ad);
    assert_eq!(sealed, hv(&p["message-ciphertext"]));
    assert_eq!(c5::decrypt(&k, &n, &sealed, &ad), Some(pt));
    let mut tampered = sealed.clone();
    tampered[0] ^= 1;
    assert_eq!(c5::decrypt(&k, &n, &tampered, &ad), None);
    assert_eq!(c5::decrypt(&k, &n, &sealed, &h("00")), None);
}
