//! Property tests of the RLPx handshake state machine over many seeded random cases: both roles
//! agree on the secrets, reading in any chunking works and never over-reads, and corrupted,
//! oversized, truncated or garbage input ends in an error (never a panic, never a success).

mod common;

use common::TestRng;
use ethpeer::crypto::{SecretKey, keccak256};
use ethpeer::rlpx::ecies::{self, ECIES_OVERHEAD};
use ethpeer::rlpx::handshake::{
    ACK_LEGACY_SIZE, AUTH_LEGACY_SIZE, Established, HANDSHAKE_PACKET_SIZE_MAX,
    HANDSHAKE_PACKET_SIZE_MIN, Handshake, HandshakeError, Step,
};
use sha3::{Digest, Keccak256};

fn digest(state: &Keccak256) -> [u8; 32] {
    state.clone().finalize().into()
}

struct Pair {
    a: Handshake,
    b: Handshake,
    a_static: SecretKey,
    b_static: SecretKey,
}

fn nonce(rng: &mut TestRng) -> [u8; 32] {
    let mut n = [0u8; 32];
    rng.fill(&mut n);
    n
}

fn key(rng: &mut TestRng) -> SecretKey {
    SecretKey::generate(|b: &mut [u8]| rng.fill(b))
}

/// A fresh initiator A (towards B) and recipient B with random keys and nonces.
fn pair(rng: &mut TestRng) -> Pair {
    let a_static = key(rng);
    let b_static = key(rng);
    let a = Handshake::initiator(
        a_static.clone(),
        b_static.public_key(),
        key(rng),
        nonce(rng),
    );
    let b = Handshake::recipient(b_static.clone(), key(rng), nonce(rng));
    Pair {
        a,
        b,
        a_static,
        b_static,
    }
}

/// Feeds `stream` in chunks of random size, never more than `wanted()`. Returns the outcome and
/// the number of bytes consumed; `None` if the stream ended while the machine wanted more.
fn feed_chunked(
    hs: &mut Handshake,
    stream: &[u8],
    rng: &mut TestRng,
) -> (Option<Result<Established, HandshakeError>>, usize) {
    let mut pos = 0;
    loop {
        let want = hs.wanted();
        assert!(want > 0, "a live handshake always wants bytes");
        let available = stream.len() - pos;
        if available == 0 {
            return (None, pos);
        }
        let n = 1 + rng.below(want.min(available) as u64) as usize;
        let chunk = &stream[pos..pos + n];
        pos += n;
        let mut fill = |b: &mut [u8]| rng.fill(b);
        match hs.handle_read(chunk, &mut fill) {
            Ok(Step::NeedMore) => {}
            Ok(Step::Done(done)) => return (Some(Ok(*done)), pos),
            Err(e) => return (Some(Err(e)), pos),
        }
    }
}

/// Feeds `packet`, then zeros for as long as the machine keeps asking (a peer that sends junk
/// until the deadline), and returns the error it must end with.
fn feed_expecting_failure(hs: &mut Handshake, packet: &[u8], rng: &mut TestRng, what: &str) {
    let (mut outcome, mut total) = feed_chunked(hs, packet, rng);
    // The buffer is bounded, so the whole exchange never takes more than one maximal packet.
    let outcome = loop {
        if let Some(o) = outcome {
            break o;
        }
        let want = hs.wanted();
        total += want;
        assert!(
            total <= 2 + HANDSHAKE_PACKET_SIZE_MAX,
            "{what}: read {total} bytes"
        );
        outcome = feed_chunked(hs, &vec![0u8; want], rng).0;
    };
    match outcome {
        Ok(_) => panic!("{what}: handshake succeeded on corrupted input"),
        Err(_) => assert_eq!(hs.wanted(), 0, "{what}: a failed handshake wants nothing"),
    }
}

/// Runs a complete handshake; returns (auth, ack, A's outcome, B's outcome).
fn run(p: &mut Pair, rng: &mut TestRng) -> (Vec<u8>, Vec<u8>, Established, Established) {
    let auth =
        p.a.write_auth(&mut |b: &mut [u8]| rng.fill(b))
            .expect("write_auth");
    let (b_done, used) = feed_chunked(&mut p.b, &auth, rng);
    let b_done = b_done
        .expect("auth complete")
        .expect("recipient accepts auth");
    assert_eq!(used, auth.len());
    let ack = b_done.reply.clone().expect("recipient replies");
    let (a_done, used) = feed_chunked(&mut p.a, &ack, rng);
    let a_done = a_done
        .expect("ack complete")
        .expect("initiator accepts ack");
    assert_eq!(used, ack.len());
    (auth, ack, a_done, b_done)
}

#[test]
fn both_sides_agree_on_secrets() {
    for seed in 0..48 {
        let mut rng = TestRng::new(seed);
        let mut p = pair(&mut rng);
        let (auth, ack, a, b) = run(&mut p, &mut rng);
        for (packet, name) in [(&auth, "auth"), (&ack, "ack")] {
            assert!(
                packet.len() >= HANDSHAKE_PACKET_SIZE_MIN,
                "seed {seed}: {name} of {} bytes",
                packet.len()
            );
            let announced = usize::from(u16::from_be_bytes([packet[0], packet[1]]));
            assert_eq!(
                announced + 2,
                packet.len(),
                "seed {seed}: {name} size prefix"
            );
            assert!(
                announced <= HANDSHAKE_PACKET_SIZE_MAX,
                "seed {seed}: {name}"
            );
        }
        assert!(a.eip8 && b.eip8, "seed {seed}: we always speak EIP-8");
        assert_eq!(a.remote, p.b_static.public_key(), "seed {seed}");
        assert_eq!(b.remote, p.a_static.public_key(), "seed {seed}");
        assert_eq!(a.secrets.aes, b.secrets.aes, "seed {seed}: aes-secret");
        assert_eq!(a.secrets.mac, b.secrets.mac, "seed {seed}: mac-secret");
        assert_ne!(a.secrets.aes, a.secrets.mac, "seed {seed}");
        assert_eq!(
            digest(&a.secrets.egress_mac),
            digest(&b.secrets.ingress_mac),
            "seed {seed}: A egress = B ingress"
        );
        assert_eq!(
            digest(&a.secrets.ingress_mac),
            digest(&b.secrets.egress_mac),
            "seed {seed}: A ingress = B egress"
        );
        assert_ne!(
            digest(&a.secrets.egress_mac),
            digest(&a.secrets.ingress_mac),
            "seed {seed}"
        );
        // Both machines are finished: nothing more to read, and further input is refused.
        assert_eq!((p.a.wanted(), p.b.wanted()), (0, 0), "seed {seed}");
        let mut fill = |b: &mut [u8]| rng.fill(b);
        assert_eq!(
            p.a.handle_read(&[0], &mut fill).err(),
            Some(HandshakeError::UnexpectedState),
            "seed {seed}"
        );
    }
}

#[test]
fn reading_by_wanted_never_over_reads() {
    // The first frame may follow the ack in the same stream: reading by wanted() must stop
    // exactly at the end of the packet, whatever the chunking.
    for seed in 100..132 {
        let mut rng = TestRng::new(seed);
        let mut p = pair(&mut rng);
        let auth =
            p.a.write_auth(&mut |b: &mut [u8]| rng.fill(b))
                .expect("write_auth");
        let mut stream = auth.clone();
        let mut trailing = vec![0u8; 1 + rng.below(600) as usize];
        rng.fill(&mut trailing);
        stream.extend_from_slice(&trailing);
        let (done, used) = feed_chunked(&mut p.b, &stream, &mut rng);
        assert!(
            matches!(done, Some(Ok(_))),
            "seed {seed}: auth then frame bytes"
        );
        assert_eq!(
            used,
            auth.len(),
            "seed {seed}: stopped at the end of the auth"
        );
    }
}

#[test]
fn whole_packet_in_one_call_and_excess_refused() {
    for seed in 200..216 {
        let mut rng = TestRng::new(seed);
        let mut p = pair(&mut rng);
        let auth =
            p.a.write_auth(&mut |b: &mut [u8]| rng.fill(b))
                .expect("write_auth");
        let mut fill = |b: &mut [u8]| rng.fill(b);
        let step = p.b.handle_read(&auth, &mut fill);
        assert!(
            matches!(step, Ok(Step::Done(_))),
            "seed {seed}: whole auth at once"
        );

        let mut q = pair(&mut rng);
        let mut auth =
            q.a.write_auth(&mut |b: &mut [u8]| rng.fill(b))
                .expect("write_auth");
        let extra = 1 + rng.below(40) as usize;
        auth.extend(std::iter::repeat_n(0xab, extra));
        let mut fill = |b: &mut [u8]| rng.fill(b);
        assert_eq!(
            q.b.handle_read(&auth, &mut fill).err(),
            Some(HandshakeError::ExcessInput { extra }),
            "seed {seed}: bytes past the auth"
        );
    }
}

#[test]
fn one_flipped_bit_fails_the_handshake() {
    for seed in 300..316 {
        let mut rng = TestRng::new(seed);
        let mut p = pair(&mut rng);
        let (auth, ack, ..) = run(&mut p, &mut rng);
        // Every bit of the 2-byte prefix and of the ECIES point tag, plus random bits elsewhere.
        let mut bits: Vec<usize> = (0..24).collect();
        bits.extend((0..12).map(|_| rng.below(auth.len().min(ack.len()) as u64 * 8) as usize));
        for &bit in &bits {
            let mut bad_auth = auth.clone();
            bad_auth[bit / 8] ^= 1 << (bit % 8);
            let mut b = Handshake::recipient(p.b_static.clone(), key(&mut rng), nonce(&mut rng));
            feed_expecting_failure(
                &mut b,
                &bad_auth,
                &mut rng,
                &format!("seed {seed} auth bit {bit}"),
            );

            let mut bad_ack = ack.clone();
            bad_ack[bit / 8] ^= 1 << (bit % 8);
            let mut a = Handshake::initiator_after_auth(
                p.a_static.clone(),
                p.b_static.public_key(),
                key(&mut rng),
                nonce(&mut rng),
                auth.clone(),
            );
            feed_expecting_failure(
                &mut a,
                &bad_ack,
                &mut rng,
                &format!("seed {seed} ack bit {bit}"),
            );
        }
    }
}

#[test]
fn oversized_prefix_is_refused_before_buffering() {
    for seed in 400..464 {
        let mut rng = TestRng::new(seed);
        let size = HANDSHAKE_PACKET_SIZE_MAX
            + 1
            + rng.below((u16::MAX as usize - HANDSHAKE_PACKET_SIZE_MAX) as u64) as usize;
        let prefix = (size as u16).to_be_bytes();
        let mut b = Handshake::recipient(key(&mut rng), key(&mut rng), nonce(&mut rng));
        assert_eq!(b.wanted(), 2, "seed {seed}: the prefix is read first");
        let mut fill = |buf: &mut [u8]| rng.fill(buf);
        assert!(matches!(
            b.handle_read(&prefix[..1], &mut fill),
            Ok(Step::NeedMore)
        ));
        assert_eq!(b.wanted(), 1, "seed {seed}");
        assert_eq!(
            b.handle_read(&prefix[1..], &mut fill).err(),
            Some(HandshakeError::TooLarge {
                size,
                max: HANDSHAKE_PACKET_SIZE_MAX
            }),
            "seed {seed}: size {size}"
        );
        assert_eq!(
            b.wanted(),
            0,
            "seed {seed}: nothing more is read after the refusal"
        );
    }
    // The limit itself is allowed, and below the ECIES overhead is refused.
    let mut rng = TestRng::new(1);
    let mut fill = |buf: &mut [u8]| rng.fill(buf);
    let mut b = Handshake::recipient(
        SecretKey::from_bytes(&[1; 32]).expect("key"),
        SecretKey::from_bytes(&[2; 32]).expect("key"),
        [3; 32],
    );
    let at_max = (HANDSHAKE_PACKET_SIZE_MAX as u16).to_be_bytes();
    assert!(matches!(
        b.handle_read(&at_max, &mut fill),
        Ok(Step::NeedMore)
    ));
    assert_eq!(b.wanted(), HANDSHAKE_PACKET_SIZE_MAX);
    let mut c = Handshake::recipient(
        SecretKey::from_bytes(&[1; 32]).expect("key"),
        SecretKey::from_bytes(&[2; 32]).expect("key"),
        [3; 32],
    );
    let small = ((ECIES_OVERHEAD - 1) as u16).to_be_bytes();
    assert!(matches!(
        c.handle_read(&small, &mut fill),
        Err(HandshakeError::TooSmall { .. })
    ));
}

#[test]
fn garbage_and_truncation_error_out_cleanly() {
    for seed in 500..564 {
        let mut rng = TestRng::new(seed);
        // Random bytes, half of them starting with 0x04 to go through the legacy attempt.
        let mut junk = vec![0u8; rng.below(700) as usize];
        rng.fill(&mut junk);
        if seed % 2 == 0
            && let Some(first) = junk.first_mut()
        {
            *first = 0x04;
        }
        let mut b = Handshake::recipient(key(&mut rng), key(&mut rng), nonce(&mut rng));
        feed_expecting_failure(
            &mut b,
            &junk,
            &mut rng,
            &format!("seed {seed} garbage auth"),
        );

        // A truncated auth leaves the machine waiting: never a success, never a panic.
        let mut p = pair(&mut rng);
        let auth =
            p.a.write_auth(&mut |b: &mut [u8]| rng.fill(b))
                .expect("write_auth");
        let cut = rng.below(auth.len() as u64) as usize;
        let (outcome, used) = feed_chunked(&mut p.b, &auth[..cut], &mut rng);
        assert!(outcome.is_none(), "seed {seed}: auth cut at {cut}");
        assert_eq!(used, cut, "seed {seed}");
        // Before the prefix is complete only the prefix is wanted, afterwards the whole packet.
        let target = if cut < 2 { 2 } else { auth.len() };
        assert_eq!(p.b.wanted() + cut, target, "seed {seed}: cut at {cut}");
    }
}

#[test]
fn well_encrypted_garbage_bodies_are_refused() {
    // Valid ECIES around bodies that are not valid auths exercises the body decoders.
    for seed in 600..664 {
        let mut rng = TestRng::new(seed);
        let b_static = key(&mut rng);
        let mut body = vec![0u8; rng.below(400) as usize];
        rng.fill(&mut body);
        if seed % 3 == 0 && body.len() > 2 {
            // A list header so that RLP parsing gets further.
            body[0] = 0xf8;
            body[1] = rng.below(256) as u8;
        }
        let prefix = ((body.len() + ECIES_OVERHEAD) as u16).to_be_bytes();
        let mut packet = prefix.to_vec();
        packet.extend(ecies::encrypt(
            &b_static.public_key(),
            &body,
            &prefix,
            &mut |b: &mut [u8]| rng.fill(b),
        ));
        let mut b = Handshake::recipient(b_static, key(&mut rng), nonce(&mut rng));
        feed_expecting_failure(&mut b, &packet, &mut rng, &format!("seed {seed} body"));
    }
}

/// Builds a legacy auth by the letter of rlpx.md, as a pre-EIP-8 peer would.
fn legacy_auth(
    a_static: &SecretKey,
    a_eph: &SecretKey,
    a_nonce: &[u8; 32],
    b: &ethpeer::crypto::PublicKey,
    rng: &mut TestRng,
) -> Vec<u8> {
    let shared = a_static.ecdh(b);
    let msg: [u8; 32] = std::array::from_fn(|i| shared[i] ^ a_nonce[i]);
    let mut body = a_eph.sign_prehash(&msg).0.to_vec();
    body.extend_from_slice(&keccak256(&a_eph.public_key().to_bytes()));
    body.extend_from_slice(&a_static.public_key().to_bytes());
    body.extend_from_slice(a_nonce);
    body.push(0);
    ecies::encrypt(b, &body, &[], &mut |x: &mut [u8]| rng.fill(x))
}

#[test]
fn legacy_peers_are_understood() {
    for seed in 700..716 {
        let mut rng = TestRng::new(seed);
        let (a_static, a_eph, a_nonce) = (key(&mut rng), key(&mut rng), nonce(&mut rng));
        let b_static = key(&mut rng);
        let auth = legacy_auth(
            &a_static,
            &a_eph,
            &a_nonce,
            &b_static.public_key(),
            &mut rng,
        );
        assert_eq!(auth.len(), AUTH_LEGACY_SIZE, "seed {seed}");
        let mut b = Handshake::recipient(b_static.clone(), key(&mut rng), nonce(&mut rng));
        let (done, used) = feed_chunked(&mut b, &auth, &mut rng);
        let b_done = done.expect("complete").expect("legacy auth accepted");
        assert_eq!(used, AUTH_LEGACY_SIZE, "seed {seed}");
        assert!(!b_done.eip8, "seed {seed}");
        let ack = b_done.reply.expect("reply");
        assert_eq!(
            ack.len(),
            ACK_LEGACY_SIZE,
            "seed {seed}: legacy auth gets a legacy ack"
        );

        let mut a = Handshake::initiator_after_auth(
            a_static,
            b_static.public_key(),
            a_eph,
            a_nonce,
            auth.clone(),
        );
        let (done, used) = feed_chunked(&mut a, &ack, &mut rng);
        let a_done = done.expect("complete").expect("legacy ack accepted");
        assert_eq!(used, ACK_LEGACY_SIZE, "seed {seed}");
        assert_eq!(a_done.secrets.aes, b_done.secrets.aes, "seed {seed}");
        assert_eq!(
            digest(&a_done.secrets.egress_mac),
            digest(&b_done.secrets.ingress_mac),
            "seed {seed}"
        );
        assert_eq!(
            digest(&a_done.secrets.ingress_mac),
            digest(&b_done.secrets.egress_mac),
            "seed {seed}"
        );
    }
}

#[test]
fn calls_out_of_order_are_refused() {
    let mut rng = TestRng::new(9);
    let mut p = pair(&mut rng);
    let mut fill = |b: &mut [u8]| rng.fill(b);
    assert_eq!(
        p.a.wanted(),
        0,
        "nothing to read before the auth is written"
    );
    assert_eq!(
        p.a.handle_read(&[1, 2], &mut fill).err(),
        Some(HandshakeError::UnexpectedState)
    );
    assert_eq!(
        p.b.write_auth(&mut fill).err(),
        Some(HandshakeError::UnexpectedState)
    );
    let mut rng = TestRng::new(10);
    let mut fill = |b: &mut [u8]| rng.fill(b);
    let mut p = pair(&mut TestRng::new(11));
    assert!(p.a.write_auth(&mut fill).is_ok());
    assert_eq!(
        p.a.write_auth(&mut fill).err(),
        Some(HandshakeError::UnexpectedState)
    );
    assert_eq!(p.a.wanted(), 2, "the initiator then reads the ack's prefix");
}

/// Seals `body` EIP-8 style, padded so that the ECIES part is exactly `size` bytes.
fn seal_sized(
    remote: &ethpeer::crypto::PublicKey,
    mut body: Vec<u8>,
    size: usize,
    rng: &mut TestRng,
) -> Vec<u8> {
    body.resize(size - ECIES_OVERHEAD, 0);
    let prefix = (size as u16).to_be_bytes();
    let mut packet = prefix.to_vec();
    packet.extend(ecies::encrypt(
        remote,
        &body,
        &prefix,
        &mut |b: &mut [u8]| rng.fill(b),
    ));
    packet
}

#[test]
fn eip8_prefix_starting_with_0x04_is_not_taken_for_legacy() {
    // A size of 1024..=1279 makes the packet start with 0x04, like a legacy ECIES message; the
    // machine must try the legacy form at 307 / 210 bytes, then read the rest as EIP-8.
    for seed in 800..816 {
        let mut rng = TestRng::new(seed);
        let (a_static, a_eph, a_nonce) = (key(&mut rng), key(&mut rng), nonce(&mut rng));
        let (b_static, b_eph, b_nonce) = (key(&mut rng), key(&mut rng), nonce(&mut rng));
        let size = 1024 + rng.below(256) as usize;

        let shared = a_static.ecdh(&b_static.public_key());
        let msg: [u8; 32] = std::array::from_fn(|i| shared[i] ^ a_nonce[i]);
        let mut s = rlp::RlpStream::new_list(4);
        s.append(&&a_eph.sign_prehash(&msg).0[..]);
        s.append(&&a_static.public_key().to_bytes()[..]);
        s.append(&&a_nonce[..]);
        s.append(&4u64);
        let auth = seal_sized(&b_static.public_key(), s.out().to_vec(), size, &mut rng);
        assert_eq!(auth[0], 0x04, "seed {seed}");

        let mut b = Handshake::recipient(b_static.clone(), b_eph.clone(), b_nonce);
        let (done, used) = feed_chunked(&mut b, &auth, &mut rng);
        let b_done = done.expect("complete").expect("large EIP-8 auth accepted");
        assert!(b_done.eip8, "seed {seed}");
        assert_eq!(used, auth.len(), "seed {seed}");

        let mut s = rlp::RlpStream::new_list(3);
        s.append(&&b_eph.public_key().to_bytes()[..]);
        s.append(&&b_nonce[..]);
        s.append(&4u64);
        let ack = seal_sized(&a_static.public_key(), s.out().to_vec(), size, &mut rng);
        let mut a =
            Handshake::initiator_after_auth(a_static, b_static.public_key(), a_eph, a_nonce, auth);
        let (done, used) = feed_chunked(&mut a, &ack, &mut rng);
        let a_done = done.expect("complete").expect("large EIP-8 ack accepted");
        assert!(a_done.eip8, "seed {seed}");
        assert_eq!(used, ack.len(), "seed {seed}");
        assert_eq!(a_done.secrets.aes, b_done.secrets.aes, "seed {seed}");
        assert_eq!(
            digest(&a_done.secrets.egress_mac),
            digest(&b_done.secrets.ingress_mac),
            "seed {seed}"
        );
    }
}
