//! Property tests of the RLPx frame codec, snappy bounds and the p2p decoders, driven by the
//! seeded TestRng (every failure names its seed).
//!
//! - A pair of codecs with mirrored secrets carries frames of random sizes both ways.
//! - One flipped bit anywhere in a sealed frame makes opening fail; it never panics or yields data.
//! - A header announcing more than the receiver's limit is refused by `open_header`.
//! - A snappy length varint over the limit is refused before allocating.
//! - Random and mutated bytes never make the p2p decoders panic.

mod common;

use common::TestRng;
use ethpeer::crypto::{PublicKey, SecretKey};
use ethpeer::p2p::{
    Capability, DisconnectReason, Hello, LocalCapability, P2pMessage, match_capabilities,
};
use ethpeer::rlpx::Secrets;
use ethpeer::rlpx::frame::{FRAME_SIZE_MAX, FrameCodec, FrameError, HEADER_LEN};
use ethpeer::rlpx::snappy::{self, SnappyError};
use sha3::{Digest, Keccak256};

fn key(rng: &mut TestRng) -> PublicKey {
    loop {
        let mut b = [0u8; 32];
        rng.fill(&mut b);
        if let Ok(k) = SecretKey::from_bytes(&b) {
            return k.public_key();
        }
    }
}

/// Fills `buf` eight bytes per draw: `TestRng::fill` draws per byte, too slow for megabytes in
/// debug builds.
fn fill_fast(rng: &mut TestRng, buf: &mut [u8]) {
    for chunk in buf.chunks_mut(8) {
        let word = rng.next_u64().to_le_bytes();
        chunk.copy_from_slice(&word[..chunk.len()]);
    }
}

/// Two codecs whose secrets mirror each other, as after a real handshake.
fn pair(rng: &mut TestRng) -> (FrameCodec, FrameCodec) {
    let (mut aes, mut mac, mut seed_a, mut seed_b) = ([0u8; 32], [0u8; 32], [0u8; 40], [0u8; 40]);
    rng.fill(&mut aes);
    rng.fill(&mut mac);
    rng.fill(&mut seed_a);
    rng.fill(&mut seed_b);
    let (mut a_out, mut b_out) = (Keccak256::new(), Keccak256::new());
    a_out.update(seed_a);
    b_out.update(seed_b);
    let pub_key = key(rng);
    let a = Secrets {
        remote: pub_key,
        aes,
        mac,
        egress_mac: a_out.clone(),
        ingress_mac: b_out.clone(),
    };
    let b = Secrets {
        remote: pub_key,
        aes,
        mac,
        egress_mac: b_out,
        ingress_mac: a_out,
    };
    (FrameCodec::new(a), FrameCodec::new(b))
}

/// Mostly up to 16 or 70 KiB (a few tiny), rarely about 1 MiB. Debug builds hash slowly, so the big
/// ones are kept rare.
fn random_size(rng: &mut TestRng) -> usize {
    match rng.below(64) {
        0 => (1 << 20) - rng.below(64) as usize,
        1..=12 => rng.below(64) as usize,
        13..=36 => rng.below(70 * 1024) as usize,
        _ => rng.below(16 * 1024) as usize,
    }
}

/// Opens one frame on `rx`; the error of whichever step failed.
fn open(rx: &mut FrameCodec, frame: &[u8]) -> Result<(u64, Vec<u8>), FrameError> {
    let mut header = [0u8; HEADER_LEN];
    header.copy_from_slice(&frame[..HEADER_LEN]);
    let n = rx.open_header(&mut header)?;
    let mut body = frame[HEADER_LEN..].to_vec();
    if n != body.len() {
        return Err(FrameError::BodyLength {
            expected: n,
            got: body.len(),
        });
    }
    let (id, payload) = rx.open_body(&mut body)?;
    Ok((id, payload.to_vec()))
}

#[test]
fn frames_roundtrip_both_ways_in_random_order() {
    for seed in 0..8u64 {
        let mut rng = TestRng::new(seed);
        let (mut a, mut b) = pair(&mut rng);
        let mut wire = Vec::new();
        for n in 0..16 {
            // The very first frame is a 1 MiB one, so at least one always runs.
            let size = if seed == 0 && n == 0 {
                1 << 20
            } else {
                random_size(&mut rng)
            };
            let mut payload = vec![0u8; size];
            fill_fast(&mut rng, &mut payload);
            let id = match rng.below(3) {
                0 => rng.below(16),
                1 => rng.below(0x200),
                _ => rng.next_u64(),
            };
            let a_to_b = rng.below(2) == 0;
            let (tx, rx) = if a_to_b {
                (&mut a, &mut b)
            } else {
                (&mut b, &mut a)
            };
            // Frames are appended after leftovers to check `seal` only appends.
            wire.clear();
            wire.extend_from_slice(b"junk");
            tx.seal(id, &payload, &mut wire).unwrap();
            assert_eq!(&wire[..4], b"junk", "seed {seed} frame {n}: prefix kept");
            let frame = &wire[4..];
            let size = rlp::encode(&id).len() + payload.len();
            assert_eq!(
                frame.len(),
                HEADER_LEN + size.div_ceil(16) * 16 + 16,
                "seed {seed} frame {n}: length"
            );
            let got = open(rx, frame).unwrap_or_else(|e| panic!("seed {seed} frame {n}: {e}"));
            assert!(
                got == (id, payload),
                "seed {seed} frame {n}: payload mismatch"
            );
        }
    }
}

#[test]
fn one_flipped_bit_anywhere_is_detected() {
    for seed in 0..300u64 {
        let mut rng = TestRng::new(1000 + seed);
        let (mut a, mut b) = pair(&mut rng);
        // A few good frames first so the cipher and MAC states are mid-stream.
        for _ in 0..rng.below(3) {
            let mut frame = Vec::new();
            a.seal(0x10, &[1, 2, 3], &mut frame).unwrap();
            open(&mut b, &frame).unwrap();
        }
        let mut payload = vec![0u8; rng.below(300) as usize];
        rng.fill(&mut payload);
        let mut frame = Vec::new();
        a.seal(rng.below(0x100), &payload, &mut frame).unwrap();
        // Pick the region first so the small header and MACs are hit as often as the body.
        let body_len = frame.len() - HEADER_LEN - 16;
        let (region, start, len) = match rng.below(4) {
            0 => ("header", 0, 16),
            1 => ("header-mac", 16, 16),
            2 => ("body", HEADER_LEN, body_len),
            _ => ("frame-mac", HEADER_LEN + body_len, 16),
        };
        let byte = start + rng.below(len as u64) as usize;
        frame[byte] ^= 1 << rng.below(8);
        let result = open(&mut b, &frame);
        assert!(
            result.is_err(),
            "seed {seed}: flip in {region} byte {byte} was accepted"
        );
        let expected_header_error = region.starts_with("header");
        let got_header_error = matches!(result, Err(FrameError::HeaderMac));
        assert_eq!(
            got_header_error, expected_header_error,
            "seed {seed}: {region} -> {result:?}"
        );
    }
}

#[test]
fn header_over_the_limit_is_refused_before_the_body() {
    for seed in 0..50u64 {
        let mut rng = TestRng::new(5000 + seed);
        let (mut a, mut b) = pair(&mut rng);
        let len = 1 + rng.below(4096) as usize;
        let mut frame = Vec::new();
        a.seal(0x20, &vec![7u8; len], &mut frame).unwrap();
        let size = 1 + len; // rlp(0x20) is one byte
        b.set_frame_size_max(size - 1);
        let mut header = [0u8; HEADER_LEN];
        header.copy_from_slice(&frame[..HEADER_LEN]);
        assert_eq!(
            b.open_header(&mut header),
            Err(FrameError::TooLarge {
                size,
                max: size - 1
            }),
            "seed {seed}"
        );
    }
    // The limit can never be raised above what the 3-byte field allows.
    let mut rng = TestRng::new(1);
    let (mut a, mut b) = pair(&mut rng);
    b.set_frame_size_max(usize::MAX);
    let mut frame = Vec::new();
    a.seal(1, &[], &mut frame).unwrap();
    assert!(open(&mut b, &frame).is_ok());
    assert!(matches!(
        a.seal(1, &vec![0u8; FRAME_SIZE_MAX], &mut frame),
        Err(FrameError::TooLarge { .. })
    ));
}

#[test]
fn random_headers_are_refused_without_panic() {
    let mut rng = TestRng::new(77);
    let (_, mut b) = pair(&mut rng);
    for _ in 0..2000 {
        let mut header = [0u8; HEADER_LEN];
        rng.fill(&mut header);
        assert_eq!(b.open_header(&mut header), Err(FrameError::HeaderMac));
    }
    let mut body = vec![0u8; 48];
    assert!(b.open_body(&mut body).is_err());
}

/// The snappy varint of `n`.
fn varint(mut n: u64) -> Vec<u8> {
    let mut out = Vec::new();
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
    out
}

#[test]
fn snappy_length_over_limit_is_refused_before_allocating() {
    // 1 GiB announced by five bytes, then junk: refused at once, whatever limit is asked for.
    let mut bomb = varint(1 << 30);
    bomb.extend_from_slice(&[0xff; 8]);
    for max in [0, 100, snappy::DECODED_SIZE_MAX, usize::MAX] {
        assert_eq!(
            snappy::decompress(&bomb, max),
            Err(SnappyError::TooLarge {
                size: 1 << 30,
                max: max.min(snappy::DECODED_SIZE_MAX)
            }),
            "limit {max}"
        );
    }
    let mut rng = TestRng::new(9);
    for _ in 0..500 {
        let limit = rng.below(1 << 20) as usize;
        // Snappy varints are at most 5 bytes (< 2^35); longer ones are corrupt, checked below.
        let announced = limit as u64 + 1 + rng.below(1 << 34);
        let mut src = varint(announced);
        let mut junk = vec![0u8; rng.below(16) as usize];
        rng.fill(&mut junk);
        src.extend_from_slice(&junk);
        assert!(
            matches!(
                snappy::decompress(&src, limit),
                Err(SnappyError::TooLarge { .. })
            ),
            "announced {announced} limit {limit}"
        );
    }
    let mut long = varint(1 << 40);
    long.push(0);
    assert!(matches!(
        snappy::decompress(&long, usize::MAX),
        Err(SnappyError::Corrupt(_))
    ));
}

#[test]
fn snappy_roundtrips_and_garbage_never_panics() {
    let mut rng = TestRng::new(10);
    for _ in 0..300 {
        let mut data = vec![0u8; rng.below(5000) as usize];
        // Half the inputs are repetitive so the encoder emits copy elements.
        if rng.below(2) == 0 {
            rng.fill(&mut data);
        } else {
            let period = 1 + rng.below(20) as usize;
            for (i, b) in data.iter_mut().enumerate() {
                *b = (i % period) as u8;
            }
        }
        let packed = snappy::compress(&data).unwrap();
        assert_eq!(snappy::decompress(&packed, data.len()), Ok(data.clone()));
        let mut garbage = packed.clone();
        if !garbage.is_empty() {
            let i = rng.below(garbage.len() as u64) as usize;
            garbage[i] ^= 1 << rng.below(8);
        }
        let _ = snappy::decompress(&garbage, snappy::DECODED_SIZE_MAX);
    }
}

fn valid_messages(rng: &mut TestRng) -> Vec<(u64, Vec<u8>)> {
    let hello = Hello {
        protocol_version: 5,
        client_id: "ethpeer/props".into(),
        capabilities: vec![Capability::new("eth", 68), Capability::new("snap", 1)],
        listen_port: 30303,
        id: key(rng),
    };
    vec![
        (0, hello.encode()),
        (1, DisconnectReason::TooManyPeers.encode()),
        (1, vec![0x08]),
        (2, vec![0xc0]),
        (3, vec![0xc0]),
    ]
}

#[test]
fn p2p_decoders_never_panic_on_garbage() {
    let mut rng = TestRng::new(11);
    let ours = [LocalCapability::new(Capability::new("eth", 68), 17)];
    let msgs = valid_messages(&mut rng);
    for round in 0..20_000 {
        let bytes = if round % 2 == 0 {
            let mut b = vec![0u8; rng.below(200) as usize];
            rng.fill(&mut b);
            // Bias the first byte toward list prefixes so decoding goes deeper.
            let to_list = rng.below(2) == 0;
            if let Some(first) = b.first_mut().filter(|_| to_list) {
                *first |= 0xc0;
            }
            b
        } else {
            let (_, mut b) = msgs[rng.below(msgs.len() as u64) as usize].clone();
            for _ in 0..1 + rng.below(3) {
                let i = rng.below(b.len() as u64) as usize;
                match rng.below(3) {
                    0 => b[i] ^= 1 << rng.below(8),
                    1 => b.truncate(i),
                    _ => b.insert(i, rng.next_u64() as u8),
                }
                if b.is_empty() {
                    break;
                }
            }
            b
        };
        for id in 0..5 {
            if let Ok(P2pMessage::Hello(h)) = P2pMessage::decode(id, &bytes) {
                // Whatever decodes must re-encode and decode to the same value.
                assert_eq!(Hello::decode(&h.encode()), Ok(h.clone()), "round {round}");
                let _ = match_capabilities(&ours, &h.capabilities);
            }
        }
        let _ = Capability::decode(&bytes);
        let _ = DisconnectReason::decode(&bytes);
    }
}
