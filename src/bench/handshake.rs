//! Figure group "handshake": complete RLPx handshakes (rlpx.md "Initial Handshake", EIP-8) per
//! second, both sides in one process on one core, beside the secp256k1 floor measured in the same
//! run.
//!
//! One handshake here is everything a real one computes: both ephemeral keys and nonces, the
//! initiator's `auth`, the recipient's reading of it and its `ack`, the initiator's reading of
//! the `ack`, and both sides' session secrets. Only the sockets are missing.
//!
//! The floor is the elliptic-curve work no implementation can skip, counted from the protocol:
//!
//! | side      | keygen                      | ECDH                                         | other   |
//! |-----------|-----------------------------|----------------------------------------------|---------|
//! | initiator | ephemeral, ECIES ephemeral  | static-shared, ECIES seal, ECIES open, ecdhe | sign    |
//! | recipient | ephemeral, ECIES ephemeral  | ECIES open, static-shared, ECIES seal, ecdhe | recover |
//!
//! so one handshake costs 4 keygen + 8 ECDH + 1 sign + 1 recover. Everything else (the KDF,
//! AES, HMAC, keccak, RLP, the buffers) is our overhead, and the ratio says how small it is.

use ethpeer::crypto::{PublicKey, SecretKey};
use ethpeer::rlpx::handshake::{Established, Handshake, Step};

use crate::timing::{Op, Rng, keep, rates};

/// The target: the handshake at this fraction of the floor (printed, not judged).
const FLOOR_RATIO_TARGET: f64 = 0.85;

/// Runs the group and prints its line.
pub fn run() {
    let mut rng = Rng::new(1);
    let initiator_key = SecretKey::generate(|b: &mut [u8]| rng.fill(b));
    let recipient_key = SecretKey::generate(|b: &mut [u8]| rng.fill(b));

    // A handshake that fails or disagrees would make the figure meaningless: check one first.
    let (i, r) = handshake(&initiator_key, &recipient_key, &mut rng);
    assert_eq!(
        i.remote,
        recipient_key.public_key(),
        "initiator authenticated the wrong key"
    );
    assert_eq!(
        r.remote,
        initiator_key.public_key(),
        "recipient authenticated the wrong key"
    );
    assert!(
        i.secrets.aes == r.secrets.aes && i.secrets.mac == r.secrets.mac,
        "the two sides derived different secrets"
    );

    let mut hs_rng = Rng::new(2);
    let mut floor_rng = Rng::new(3);
    let found = rates(vec![
        Op::new("handshake", || {
            keep(handshake(&initiator_key, &recipient_key, &mut hs_rng));
        }),
        Op::new("floor", || keep(floor(&mut floor_rng))),
    ]);
    let (rate, floor_rate) = (found[0], found[1]);
    let ratio = rate / floor_rate;
    // The ratio is to the floor timed in the same rounds; the fixed fraction is printed as the
    // target beside it, not turned into a verdict.
    println!(
        "handshake      {rate:8.0} /s     floor {floor_rate:8.0} /s      ratio {ratio:.2}   \
         target ratio >= {FLOOR_RATIO_TARGET} (fixed)   [floor = 4 keygen + 8 ECDH + 1 sign + 1 recover]"
    );
}

/// One complete handshake; returns what each side established (initiator, recipient).
fn handshake(
    initiator_key: &SecretKey,
    recipient_key: &SecretKey,
    rng: &mut Rng,
) -> (Established, Established) {
    let mut fill = |b: &mut [u8]| rng.fill(b);

    let ephemeral = SecretKey::generate(&mut fill);
    let mut nonce = [0u8; 32];
    fill(&mut nonce);
    let mut initiator = Handshake::initiator(
        initiator_key.clone(),
        recipient_key.public_key(),
        ephemeral,
        nonce,
    );
    let auth = initiator.write_auth(&mut fill).expect("write auth");

    let ephemeral = SecretKey::generate(&mut fill);
    fill(&mut nonce);
    let mut recipient = Handshake::recipient(recipient_key.clone(), ephemeral, nonce);
    let r = read_packet(&mut recipient, &auth, &mut fill);
    let ack = r
        .reply
        .as_deref()
        .expect("the recipient replies with an ack");
    let i = read_packet(&mut initiator, ack, &mut fill);
    (i, r)
}

/// Feeds `packet` to `side` the way the connection task does: never more than `wanted()`.
fn read_packet(
    side: &mut Handshake,
    mut packet: &[u8],
    fill: &mut dyn FnMut(&mut [u8]),
) -> Established {
    loop {
        let (now, later) = packet.split_at(side.wanted().min(packet.len()));
        packet = later;
        match side.handle_read(now, fill).expect("handshake step") {
            Step::NeedMore => continue,
            Step::Done(established) => {
                assert!(packet.is_empty(), "bytes left after the handshake packet");
                return *established;
            }
        }
    }
}

/// The secp256k1 work of one handshake and nothing else; returns values so none is optimised
/// away.
pub fn floor(rng: &mut Rng) -> ([u8; 32], PublicKey) {
    let mut fill = |b: &mut [u8]| rng.fill(b);
    // keygen: a fresh scalar and its public key, as SecretKey::generate + public_key do.
    let keys: [(SecretKey, PublicKey); 4] = std::array::from_fn(|_| {
        let k = SecretKey::generate(&mut fill);
        let p = k.public_key();
        (k, p)
    });
    let mut acc = [0u8; 32];
    for n in 0..8 {
        let shared = keys[n % 4].0.ecdh(&keys[(n + 1) % 4].1);
        for (a, s) in acc.iter_mut().zip(shared) {
            *a ^= s;
        }
    }
    let signature = keys[0].0.sign_prehash(&acc);
    let signer = signature.recover(&acc).expect("recover our own signature");
    (acc, signer)
}
