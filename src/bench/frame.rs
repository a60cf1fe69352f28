//! Figure group "frame": RLPx frame seal+open throughput (rlpx.md "Framing" and "MAC") at
//! 1 KiB, 16 KiB and 1 MiB of payload, beside keccak-256 over buffers of the same sizes.
//!
//! keccak-256 is the peer because it bounds the codec: the sender's egress MAC and the receiver's
//! ingress MAC each absorb every byte of frame ciphertext, so one seal+open hashes each byte
//! twice and can at best reach half the keccak rate ("ceiling" below). AES-256-CTR (both sides)
//! and one copy of the payload into the frame make up the rest.

use ethpeer::crypto::SecretKey;
use ethpeer::rlpx::Secrets;
use ethpeer::rlpx::frame::{FrameCodec, HEADER_LEN};
use sha3::{Digest, Keccak256};

use crate::timing::{Op, Rng, keep, rates};

/// Payload sizes measured: a small message, a typical block-body batch, and a large one.
const SIZES: [(usize, &str); 3] = [(1 << 10, "1 KiB"), (16 << 10, "16 KiB"), (1 << 20, "1 MiB")];

/// The size the throughput targets refer to.
const TARGET_SIZE: usize = 16 << 10;

/// The target for seal+open at 16 KiB, in MB/s (10^6 bytes per second).
const TARGET_MBPS: f64 = 300.0;

/// go-ethereum's published RLPx throughput on one connection, in MB/s: a published figure, not
/// one measured here, so it is printed as a reference only.
const GETH_PUBLISHED_MBPS: f64 = 155.0;

/// An arbitrary message id above the p2p range, as an eth message would have.
const MSG_ID: u64 = 0x10;

/// Runs the group and prints one line per size, then the 16 KiB figure beside the fixed target
/// and reference.
pub fn run() {
    let mut rng = Rng::new(4);
    let mut at_target = None;
    for (size, label) in SIZES {
        let mut payload = vec![0u8; size];
        rng.fill(&mut payload);
        let (mut sender, mut receiver) = mirrored_pair(&mut rng);
        let mut wire = Vec::with_capacity(size + 2 * HEADER_LEN);

        // Check one frame crosses intact before timing: a broken codec would time nonsense.
        let opened = seal_open(&mut sender, &mut receiver, &payload, &mut wire);
        assert_eq!(
            opened,
            (MSG_ID, size),
            "frame of {label} did not round-trip"
        );
        let body = &wire[HEADER_LEN..HEADER_LEN + 1 + size];
        assert_eq!(
            &body[1..],
            &payload[..],
            "frame of {label} changed the payload"
        );

        let found = rates(vec![
            Op::new("frame", || {
                keep(seal_open(&mut sender, &mut receiver, &payload, &mut wire));
            }),
            Op::new("keccak", || keep(Keccak256::digest(&payload))),
        ]);
        let frame = found[0] * size as f64 / 1e6;
        let keccak = found[1] * size as f64 / 1e6;
        println!(
            "frame {label:>6}  {frame:8.1} MB/s   keccak {keccak:8.1} MB/s   ratio {:.2}   \
             ratio to ceiling keccak/2 (two MACs per byte) {:.2}",
            frame / keccak,
            frame / (keccak / 2.0),
        );
        if size == TARGET_SIZE {
            at_target = Some(frame);
        }
    }
    // Fixed figures, not measured here: printed beside the measured rate, never divided into it
    // nor judged (a rate on this machine against a number from elsewhere says nothing).
    if let Some(frame) = at_target {
        println!(
            "frame 16 KiB  {frame:8.1} MB/s   target {TARGET_MBPS} MB/s (fixed)   \
             reference: geth published {GETH_PUBLISHED_MBPS} MB/s (another machine)",
        );
    }
}

/// Two codecs facing each other: what one side's egress MAC absorbs, the other side's ingress
/// MAC absorbs too, exactly as after a real handshake.
fn mirrored_pair(rng: &mut Rng) -> (FrameCodec, FrameCodec) {
    let mut seed = || {
        let mut b = [0u8; 32];
        rng.fill(&mut b);
        b
    };
    let (aes, mac, a_to_b, b_to_a) = (seed(), seed(), seed(), seed());
    let state = |s: &[u8; 32]| Keccak256::new().chain_update(s);
    let remote = SecretKey::generate(|b: &mut [u8]| rng.fill(b)).public_key();
    let secrets = |egress: &[u8; 32], ingress: &[u8; 32]| Secrets {
        remote,
        aes,
        mac,
        egress_mac: state(egress),
        ingress_mac: state(ingress),
    };
    (
        FrameCodec::new(secrets(&a_to_b, &b_to_a)),
        FrameCodec::new(secrets(&b_to_a, &a_to_b)),
    )
}

/// Seals `payload` on `sender` into `wire` and opens it on `receiver`, as a writer and a reader
/// would; returns the msg-id and payload length read back.
fn seal_open(
    sender: &mut FrameCodec,
    receiver: &mut FrameCodec,
    payload: &[u8],
    wire: &mut Vec<u8>,
) -> (u64, usize) {
    wire.clear();
    sender.seal(MSG_ID, payload, wire).expect("seal");
    let (header, body) = wire.split_at_mut(HEADER_LEN);
    let header: &mut [u8; HEADER_LEN] = header.try_into().expect("header length");
    let body_len = receiver.open_header(header).expect("open header");
    let (id, data) = receiver
        .open_body(&mut body[..body_len])
        .expect("open body");
    (id, data.len())
}
