//! The RLPx handshake and its ECIES against fixtures/rlpx/handshake_vectors.json: the ECIES
//! primitives (aleth), the EIP-8 Auth1/Ack1 .. Auth3/Ack3 exchanges, the 2015 go/cpp interop
//! vector and aleth's secret-derivation vector.

mod common;

use common::{TestRng, fixture_json, h, h32, hv};
use ethpeer::crypto::{PublicKey, SecretKey, Signature, keccak256, keccak256_concat};
use ethpeer::rlpx::ecies::{self, ECIES_OVERHEAD};
use ethpeer::rlpx::handshake::{
    ACK_LEGACY_SIZE, AckBody, AuthBody, Established, HANDSHAKE_PACKET_SIZE_MIN, Handshake,
    HandshakeError, Step,
};
use ethpeer::rlpx::secrets::Secrets;
use hmac::{KeyInit, Mac};
use serde_json::Value;
use sha2::Sha256;
use sha3::{Digest, Keccak256};

fn vectors() -> Value {
    fixture_json("rlpx/handshake_vectors.json")
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("fixture field {key} is not a string: {v}"))
}

fn secret(v: &Value, key: &str) -> SecretKey {
    SecretKey::from_bytes(&hv(&v[key])).unwrap_or_else(|e| panic!("fixture key {key}: {e}"))
}

fn public(v: &Value, key: &str) -> PublicKey {
    PublicKey::from_bytes(&hv(&v[key])).unwrap_or_else(|e| panic!("fixture key {key}: {e}"))
}

fn digest(state: &Keccak256) -> [u8; 32] {
    // Taking a digest must not disturb the running state, so hash a clone.
    state.clone().finalize().into()
}

/// Feeds `stream` to `hs` the way a connection task does: exactly `wanted()` bytes at a time.
/// Returns the outcome and how many bytes were consumed.
fn drive(
    hs: &mut Handshake,
    stream: &[u8],
    rng: &mut TestRng,
) -> (Result<Established, HandshakeError>, usize) {
    let mut pos = 0;
    loop {
        let want = hs.wanted();
        assert!(want > 0, "handshake wants nothing but has not finished");
        let Some(chunk) = stream.get(pos..pos + want) else {
            panic!("handshake wants {want} bytes at offset {pos}, beyond the packet");
        };
        pos += want;
        match hs.handle_read(chunk, &mut |b: &mut [u8]| rng.fill(b)) {
            Ok(Step::NeedMore) => {}
            Ok(Step::Done(done)) => return (Ok(*done), pos),
            Err(e) => return (Err(e), pos),
        }
    }
}

/// shared-secret = keccak(ecdhe || keccak(recipient-nonce || initiator-nonce)) (rlpx.md).
fn shared_secret(ecdhe: &[u8; 32], initiator_nonce: &[u8], recipient_nonce: &[u8]) -> [u8; 32] {
    keccak256_concat(&[
        ecdhe,
        &keccak256_concat(&[recipient_nonce, initiator_nonce]),
    ])
}

#[test]
fn ecies_primitives() {
    let v = &vectors()["ecies_primitives"];
    for (i, c) in v["sha256"].as_array().expect("sha256").iter().enumerate() {
        let out: [u8; 32] = Sha256::digest(hv(&c["input"])).into();
        assert_eq!(out.to_vec(), hv(&c["output"]), "sha256 vector {i}");
    }
    for (i, c) in v["hmac_sha256"]
        .as_array()
        .expect("hmac")
        .iter()
        .enumerate()
    {
        let mut mac = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(&hv(&c["key"]))
            .expect("HMAC takes any key length");
        mac.update(&hv(&c["input"]));
        assert_eq!(
            mac.finalize().into_bytes().to_vec(),
            hv(&c["output"]),
            "hmac_sha256 vector {i}"
        );
    }
    for (i, c) in v["concat_kdf_sha256"]
        .as_array()
        .expect("kdf")
        .iter()
        .enumerate()
    {
        let len = c["length"].as_u64().expect("length") as usize;
        let mut out = vec![0u8; len];
        ecies::concat_kdf(&hv(&c["z"]), &mut out);
        assert_eq!(out, hv(&c["output"]), "concat_kdf_sha256 vector {i}");
    }
    for (i, c) in v["ecdh"].as_array().expect("ecdh").iter().enumerate() {
        let shared = secret(c, "private_key").ecdh(&public(c, "public_key"));
        assert_eq!(shared.to_vec(), hv(&c["shared_x"]), "ecdh vector {i}");
    }
    for (i, c) in v["privkey_to_pubkey"]
        .as_array()
        .expect("pubkey")
        .iter()
        .enumerate()
    {
        assert_eq!(
            secret(c, "private_key").public_key(),
            public(c, "public_key"),
            "privkey_to_pubkey vector {i}"
        );
    }
    let decryptions = v["ecies_decrypt"].as_array().expect("ecies_decrypt");
    assert_eq!(
        decryptions.len(),
        4,
        "expected the four aleth ECIES decryptions"
    );
    for (i, c) in decryptions.iter().enumerate() {
        let key = secret(c, "private_key");
        let ciphertext = hv(&c["ciphertext"]);
        let plain = ecies::decrypt(&key, &ciphertext, &hv(&c["shared_mac_data"]))
            .unwrap_or_else(|e| panic!("ecies_decrypt vector {i}: {e}"));
        assert_eq!(
            plain,
            s(c, "plaintext_ascii").as_bytes(),
            "ecies_decrypt vector {i}"
        );
        assert_eq!(
            ciphertext.len(),
            plain.len() + ECIES_OVERHEAD,
            "ecies_decrypt vector {i}"
        );
        // The same ciphertext under another key or with MAC data attached must not open.
        assert!(
            ecies::decrypt(&key, &ciphertext, b"x").is_err(),
            "ecies_decrypt vector {i}"
        );
    }
}

#[test]
fn eip8_keys_and_auth_signature() {
    let k = &vectors()["keys"];
    for who in ["static", "ephemeral"] {
        for node in ["A", "B"] {
            assert_eq!(
                secret(k, &format!("{who}_private_key_{node}")).public_key(),
                public(k, &format!("{who}_public_key_{node}")),
                "keys: {who} key of {node}"
            );
        }
    }
    let shared = secret(k, "static_private_key_A").ecdh(&public(k, "static_public_key_B"));
    assert_eq!(
        shared,
        h32(s(k, "static_shared_secret")),
        "keys: static shared secret (A side)"
    );
    let shared_b = secret(k, "static_private_key_B").ecdh(&public(k, "static_public_key_A"));
    assert_eq!(shared_b, shared, "keys: static shared secret (B side)");
    // The signature covers static-shared-secret ^ nonce and recovers to A's ephemeral key.
    let nonce = h32(s(k, "nonce_A"));
    let msg: [u8; 32] = std::array::from_fn(|i| shared[i] ^ nonce[i]);
    let sig = Signature::from_bytes(&hv(&k["auth_signature"])).expect("signature");
    assert_eq!(
        sig.recover(&msg),
        Ok(public(k, "ephemeral_public_key_A")),
        "keys: auth_signature"
    );
}

/// One `handshakes` entry, checked from both sides.
fn check_handshake(v: &Value, k: &Value, rng: &mut TestRng) {
    let name = s(v, "name");
    let legacy = s(v, "format").starts_with("legacy");
    let auth = hv(&v["auth_hex"]);
    let ack = hv(&v["ack_hex"]);
    assert_eq!(
        auth.len() as u64,
        v["auth_len"].as_u64().expect("auth_len"),
        "{name}"
    );
    assert_eq!(
        ack.len() as u64,
        v["ack_len"].as_u64().expect("ack_len"),
        "{name}"
    );
    let (static_a, static_b) = (
        secret(k, "static_private_key_A"),
        secret(k, "static_private_key_B"),
    );
    let (eph_a, eph_b) = (
        secret(k, "ephemeral_private_key_A"),
        secret(k, "ephemeral_private_key_B"),
    );
    let (nonce_a, nonce_b) = (h32(s(k, "nonce_A")), h32(s(k, "nonce_B")));

    // Decryption and body decoding, independently of the state machine.
    let (auth_plain, ack_plain) = if legacy {
        (
            ecies::decrypt(&static_b, &auth, &[]),
            ecies::decrypt(&static_a, &ack, &[]),
        )
    } else {
        for (packet, field) in [(&auth, "auth_size_prefix"), (&ack, "ack_size_prefix")] {
            let prefix = u16::from_be_bytes([packet[0], packet[1]]) as u64;
            assert_eq!(prefix, v[field].as_u64().expect(field), "{name}: {field}");
            assert_eq!(
                packet.len() as u64,
                prefix + 2,
                "{name}: {field} covers the rest"
            );
        }
        (
            ecies::decrypt(&static_b, &auth[2..], &auth[..2]),
            ecies::decrypt(&static_a, &ack[2..], &ack[..2]),
        )
    };
    let auth_plain = auth_plain.unwrap_or_else(|e| panic!("{name}: decrypting auth: {e}"));
    let ack_plain = ack_plain.unwrap_or_else(|e| panic!("{name}: decrypting ack: {e}"));
    assert_eq!(
        auth_plain,
        hv(&v["auth_plaintext"]),
        "{name}: auth plaintext"
    );
    assert_eq!(ack_plain, hv(&v["ack_plaintext"]), "{name}: ack plaintext");

    let (auth_body, ack_body) = if legacy {
        (
            AuthBody::decode_legacy(&auth_plain),
            AckBody::decode_legacy(&ack_plain),
        )
    } else {
        (
            AuthBody::decode_eip8(&auth_plain),
            AckBody::decode_eip8(&ack_plain),
        )
    };
    let auth_body = auth_body.unwrap_or_else(|e| panic!("{name}: decoding auth: {e}"));
    let ack_body = ack_body.unwrap_or_else(|e| panic!("{name}: decoding ack: {e}"));
    let ad = &v["auth_decoded"];
    assert_eq!(
        auth_body.signature.0.to_vec(),
        hv(&ad["signature"]),
        "{name}: auth signature"
    );
    assert_eq!(
        auth_body.initiator_pubkey,
        public(ad, "initiator_pubkey"),
        "{name}: auth pubkey"
    );
    assert_eq!(
        auth_body.initiator_nonce,
        h32(s(ad, "initiator_nonce")),
        "{name}: auth nonce"
    );
    let kd = &v["ack_decoded"];
    assert_eq!(
        ack_body.recipient_ephemeral,
        public(kd, "recipient_ephemeral_pubkey"),
        "{name}: ack ephemeral key"
    );
    assert_eq!(
        ack_body.recipient_nonce,
        h32(s(kd, "recipient_nonce")),
        "{name}: ack nonce"
    );
    if legacy {
        assert_eq!(auth_body.version, None, "{name}");
        assert_eq!(
            keccak256(&hv(&k["ephemeral_public_key_A"])).to_vec(),
            hv(&ad["ephemeral_pubkey_hash"]),
            "{name}: legacy auth carries keccak(ephemeral-pubk)"
        );
        assert_eq!(auth_plain[auth_plain.len() - 1], 0, "{name}: token flag");
    } else {
        assert_eq!(
            auth_body.version,
            ad["version"].as_u64(),
            "{name}: auth-vsn"
        );
        assert_eq!(ack_body.version, kd["version"].as_u64(), "{name}: ack-vsn");
        for (plain, which) in [(&auth_plain, "auth"), (&ack_plain, "ack")] {
            let rlp_len = v[format!("{which}_rlp_len")].as_u64().expect("rlp_len");
            let pad_len = v[format!("{which}_padding_len")]
                .as_u64()
                .expect("padding_len");
            assert_eq!(
                plain.len() as u64,
                rlp_len + pad_len,
                "{name}: {which} rlp + padding"
            );
        }
    }

    let d = &v["derived_secrets"];
    let ecdhe = eph_b.ecdh(&eph_a.public_key());
    assert_eq!(ecdhe, h32(s(d, "ephemeral_shared_secret")), "{name}: ecdhe");
    assert_eq!(
        shared_secret(&ecdhe, &nonce_a, &nonce_b),
        h32(s(d, "shared_secret")),
        "{name}: shared secret"
    );

    // B, the recipient, reads the recorded auth.
    let mut b = Handshake::recipient(static_b.clone(), eph_b.clone(), nonce_b);
    let (done_b, used) = drive(&mut b, &auth, rng);
    let done_b = done_b.unwrap_or_else(|e| panic!("{name}: recipient reading auth: {e}"));
    assert_eq!(
        used,
        auth.len(),
        "{name}: recipient consumed exactly the auth"
    );
    assert_eq!(
        b.wanted(),
        0,
        "{name}: recipient wants nothing after the auth"
    );
    assert_eq!(done_b.eip8, !legacy, "{name}: recipient's format detection");
    assert_eq!(
        done_b.remote,
        static_a.public_key(),
        "{name}: recipient learns A's key"
    );
    assert_eq!(done_b.secrets.remote, static_a.public_key(), "{name}");
    assert_eq!(
        done_b.secrets.aes,
        h32(s(d, "aes_secret")),
        "{name}: recipient aes-secret"
    );
    assert_eq!(
        done_b.secrets.mac,
        h32(s(d, "mac_secret")),
        "{name}: recipient mac-secret"
    );
    assert_eq!(
        digest(&done_b.secrets.ingress_mac),
        h32(s(d, "recipient_ingress_mac_initial_digest")),
        "{name}: recipient initial ingress MAC"
    );
    let mut ingress = done_b.secrets.ingress_mac.clone();
    ingress.update(b"foo");
    assert_eq!(
        digest(&ingress),
        h32(s(d, "recipient_ingress_mac_after_update_foo")),
        "{name}: recipient ingress MAC after 'foo'"
    );
    if let Some(up) = v.get("upstream_expected") {
        assert_eq!(
            done_b.secrets.aes,
            h32(s(up, "aes_secret")),
            "{name}: upstream aes-secret"
        );
        assert_eq!(
            done_b.secrets.mac,
            h32(s(up, "mac_secret")),
            "{name}: upstream mac-secret"
        );
        assert_eq!(
            digest(&ingress),
            h32(s(up, "recipient_ingress_mac_after_update_foo")),
            "{name}: upstream ingress-mac('foo')"
        );
    }
    // B answers in the form of the auth it got, and A can read that answer.
    let reply = done_b
        .reply
        .clone()
        .expect("the recipient has an ack to send");
    if legacy {
        assert_eq!(reply.len(), ACK_LEGACY_SIZE, "{name}: legacy ack size");
    } else {
        assert!(
            reply.len() >= HANDSHAKE_PACKET_SIZE_MIN,
            "{name}: ack size {}",
            reply.len()
        );
        assert_eq!(
            usize::from(u16::from_be_bytes([reply[0], reply[1]])) + 2,
            reply.len(),
            "{name}: ack size prefix"
        );
    }
    let mut a2 = Handshake::initiator_after_auth(
        static_a.clone(),
        static_b.public_key(),
        eph_a.clone(),
        nonce_a,
        auth.clone(),
    );
    let (done_a2, _) = drive(&mut a2, &reply, rng);
    let done_a2 = done_a2.unwrap_or_else(|e| panic!("{name}: initiator reading our ack: {e}"));
    assert_eq!(done_a2.eip8, !legacy, "{name}");
    assert_eq!(
        done_a2.secrets.aes, done_b.secrets.aes,
        "{name}: both sides' aes-secret"
    );
    assert_eq!(
        digest(&done_a2.secrets.egress_mac),
        digest(&done_b.secrets.ingress_mac),
        "{name}"
    );
    assert_eq!(
        digest(&done_a2.secrets.ingress_mac),
        digest(&done_b.secrets.egress_mac),
        "{name}"
    );

    // A, the initiator that sent the recorded auth, reads the recorded ack.
    let mut a = Handshake::initiator_after_auth(
        static_a,
        static_b.public_key(),
        eph_a.clone(),
        nonce_a,
        auth.clone(),
    );
    let (done_a, used) = drive(&mut a, &ack, rng);
    let done_a = done_a.unwrap_or_else(|e| panic!("{name}: initiator reading ack: {e}"));
    assert_eq!(
        used,
        ack.len(),
        "{name}: initiator consumed exactly the ack"
    );
    assert!(
        done_a.reply.is_none(),
        "{name}: the initiator sends nothing more"
    );
    assert_eq!(done_a.eip8, !legacy, "{name}: initiator's format detection");
    assert_eq!(done_a.remote, static_b.public_key(), "{name}");
    assert_eq!(
        done_a.secrets.aes,
        h32(s(d, "aes_secret")),
        "{name}: initiator aes-secret"
    );
    assert_eq!(
        done_a.secrets.mac,
        h32(s(d, "mac_secret")),
        "{name}: initiator mac-secret"
    );
    assert_eq!(
        digest(&done_a.secrets.egress_mac),
        h32(s(d, "initiator_egress_mac_initial_digest")),
        "{name}: initiator initial egress MAC"
    );
    assert_eq!(
        digest(&done_a.secrets.ingress_mac),
        h32(s(d, "initiator_ingress_mac_initial_digest")),
        "{name}: initiator initial ingress MAC"
    );

    // The recipient's egress state over the recorded ack (B's live ack differs: ECIES is random).
    let b_recorded = Secrets::derive(
        false,
        static_a_pub(k),
        &ecdhe,
        &nonce_a,
        &nonce_b,
        &auth,
        &ack,
    );
    assert_eq!(
        digest(&b_recorded.egress_mac),
        h32(s(d, "recipient_egress_mac_initial_digest")),
        "{name}: recipient initial egress MAC"
    );
    assert_eq!(
        digest(&b_recorded.ingress_mac),
        h32(s(d, "recipient_ingress_mac_initial_digest")),
        "{name}: recipient initial ingress MAC (derive)"
    );
}

fn static_a_pub(k: &Value) -> PublicKey {
    public(k, "static_public_key_A")
}

#[test]
fn eip8_handshakes() {
    let all = vectors();
    let list = all["handshakes"].as_array().expect("handshakes");
    let names: Vec<&str> = list.iter().map(|v| s(v, "name")).collect();
    assert_eq!(names, ["Auth1/Ack1", "Auth2/Ack2", "Auth3/Ack3"]);
    let mut rng = TestRng::new(8);
    for v in list {
        check_handshake(v, &all["keys"], &mut rng);
    }
}

#[test]
fn legacy_interop_vector() {
    let v = &vectors()["legacy_interop_vector"];
    let init = secret(v, "initiator_private_key");
    let recv = secret(v, "receiver_private_key");
    let init_eph = secret(v, "initiator_ephemeral_private_key");
    let recv_eph = secret(v, "receiver_ephemeral_private_key");
    let init_nonce = h32(s(v, "initiator_nonce"));
    let recv_nonce = h32(s(v, "receiver_nonce"));
    let auth = hv(&v["auth_ciphertext"]);
    let ack = hv(&v["authresp_ciphertext"]);
    for (key, field) in [
        (&init, "initiator_pubkey"),
        (&recv, "receiver_pubkey"),
        (&init_eph, "initiator_ephemeral_pubkey"),
        (&recv_eph, "receiver_ephemeral_pubkey"),
    ] {
        assert_eq!(
            key.public_key(),
            public(v, field),
            "legacy_interop_vector: {field}"
        );
    }

    assert_eq!(
        ecies::decrypt(&recv, &auth, &[]).as_deref(),
        Ok(&h(s(v, "auth_plaintext"))[..]),
        "legacy_interop_vector: auth plaintext"
    );
    assert_eq!(
        ecies::decrypt(&init, &ack, &[]).as_deref(),
        Ok(&h(s(v, "authresp_plaintext"))[..]),
        "legacy_interop_vector: authresp plaintext"
    );
    let ecdhe = init_eph.ecdh(&recv_eph.public_key());
    assert_eq!(
        ecdhe,
        h32(s(v, "ecdhe_shared_secret")),
        "legacy_interop_vector: ecdhe"
    );
    let shared = shared_secret(&ecdhe, &init_nonce, &recv_nonce);
    assert_eq!(
        shared,
        h32(s(v, "shared_secret")),
        "legacy_interop_vector: shared secret"
    );
    assert_eq!(
        keccak256(&shared),
        h32(s(v, "token")),
        "legacy_interop_vector: token"
    );

    let mut rng = TestRng::new(2015);
    let mut b = Handshake::recipient(recv.clone(), recv_eph, recv_nonce);
    let (done_b, used) = drive(&mut b, &auth, &mut rng);
    let done_b = done_b.unwrap_or_else(|e| panic!("legacy_interop_vector: receiver: {e}"));
    assert_eq!(
        used,
        auth.len(),
        "legacy_interop_vector: receiver consumed the auth"
    );
    assert!(
        !done_b.eip8,
        "legacy_interop_vector: auth detected as legacy"
    );
    assert_eq!(
        done_b.remote,
        init.public_key(),
        "legacy_interop_vector: receiver's remote"
    );
    assert_eq!(
        done_b.reply.as_ref().map(Vec::len),
        Some(ACK_LEGACY_SIZE),
        "legacy ack reply"
    );
    assert_eq!(
        done_b.secrets.aes,
        h32(s(v, "aes_secret")),
        "legacy_interop_vector: receiver aes"
    );
    assert_eq!(
        done_b.secrets.mac,
        h32(s(v, "mac_secret")),
        "legacy_interop_vector: receiver mac"
    );
    assert_eq!(
        digest(&done_b.secrets.ingress_mac),
        h32(s(v, "initial_egress_MAC")),
        "legacy_interop_vector: receiver ingress = initiator egress"
    );

    let mut a =
        Handshake::initiator_after_auth(init, recv.public_key(), init_eph, init_nonce, auth);
    let (done_a, used) = drive(&mut a, &ack, &mut rng);
    let done_a = done_a.unwrap_or_else(|e| panic!("legacy_interop_vector: initiator: {e}"));
    assert_eq!(
        used,
        ack.len(),
        "legacy_interop_vector: initiator consumed the ack"
    );
    assert!(
        !done_a.eip8,
        "legacy_interop_vector: ack detected as legacy"
    );
    assert_eq!(
        done_a.secrets.aes,
        h32(s(v, "aes_secret")),
        "legacy_interop_vector: aes-secret"
    );
    assert_eq!(
        done_a.secrets.mac,
        h32(s(v, "mac_secret")),
        "legacy_interop_vector: mac-secret"
    );
    assert_eq!(
        digest(&done_a.secrets.egress_mac),
        h32(s(v, "initial_egress_MAC")),
        "legacy_interop_vector: initial egress MAC"
    );
    assert_eq!(
        digest(&done_a.secrets.ingress_mac),
        h32(s(v, "initial_ingress_MAC")),
        "legacy_interop_vector: initial ingress MAC"
    );
}

#[test]
fn aleth_secret_derivation_vector() {
    let v = &vectors()["aleth_secret_derivation_vector"];
    // Every key is keccak256 of the ASCII string named in key_derivation_inputs.
    let inputs = v["key_derivation_inputs"].as_object().expect("inputs");
    for (field, recipe) in inputs {
        let text = recipe
            .as_str()
            .and_then(|r| r.strip_prefix("keccak256('"))
            .and_then(|r| r.strip_suffix("')"))
            .unwrap_or_else(|| panic!("aleth vector: unexpected recipe {recipe}"));
        assert_eq!(
            keccak256(text.as_bytes()),
            h32(s(v, field)),
            "aleth vector: {field}"
        );
    }
    let e = &v["expected"];
    let init_eph = secret(v, "initiator_ephemeral_private_key");
    let recv_eph = secret(v, "recipient_ephemeral_private_key");
    let init_nonce = h32(s(v, "initiator_nonce"));
    let recv_nonce = h32(s(v, "recipient_nonce"));
    let ecdhe = init_eph.ecdh(&recv_eph.public_key());
    assert_eq!(
        ecdhe,
        h32(s(e, "ephemeral_shared_secret")),
        "aleth vector: ecdhe"
    );
    let shared = shared_secret(&ecdhe, &init_nonce, &recv_nonce);
    assert_eq!(
        shared,
        h32(s(e, "shared_secret")),
        "aleth vector: shared secret"
    );
    assert_eq!(
        keccak256(&shared),
        h32(s(e, "token")),
        "aleth vector: token"
    );

    let remote = secret(v, "recipient_private_key").public_key();
    let ours = Secrets::derive(true, remote, &ecdhe, &init_nonce, &recv_nonce, &[], &[]);
    assert_eq!(
        ours.aes,
        h32(s(e, "aes_secret")),
        "aleth vector: aes-secret"
    );
    assert_eq!(
        ours.mac,
        h32(s(e, "mac_secret")),
        "aleth vector: mac-secret"
    );
    assert_eq!(
        digest(&ours.egress_mac)[..16],
        h(s(e, "initiator_egress_mac_digest_first16"))[..],
        "aleth vector: initiator egress MAC"
    );
    assert_eq!(
        digest(&ours.ingress_mac)[..16],
        h(s(e, "initiator_ingress_mac_digest_first16"))[..],
        "aleth vector: initiator ingress MAC"
    );
    // The recipient's view is the mirror image.
    let theirs = Secrets::derive(false, remote, &ecdhe, &init_nonce, &recv_nonce, &[], &[]);
    assert_eq!(
        digest(&theirs.ingress_mac),
        digest(&ours.egress_mac),
        "aleth vector: mirror"
    );
    assert_eq!(
        digest(&theirs.egress_mac),
        digest(&ours.ingress_mac),
        "aleth vector: mirror"
    );
}
