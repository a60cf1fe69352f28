//! The fuzz targets' bodies: one plain function per decoder of bytes a peer or a file controls,
//! and per stateful sans-IO core, which reads its input as a script of events and checks every
//! output against a model of what it was told.
//!
//! Shared by the cargo-fuzz binaries (`fuzz/fuzz_targets/*.rs`, each a one-line `fuzz_target!`)
//! and by the main crate's tests (`tests/fuzz_smoke.rs`, `tests/alloc_bounds.rs` include this
//! file with `#[path]`), so `make test` runs every body on its seeds and seeded mutations
//! without libFuzzer. A body must never panic on any input; where a property exists it is
//! asserted (decode → encode → decode is stable; what we encode is never refused).
//!
//! Only the `ethpeer` crate's public interface and std are used here.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::OnceLock;

use ethpeer::chain::genesis::Genesis;
use ethpeer::chain::header::Header;
use ethpeer::chain::import::RlpReader;
use ethpeer::crypto::{PublicKey, SecretKey};
use ethpeer::discv4::discovery::{Config, Discovery};
use ethpeer::discv4::packet::{
    self, Endpoint, EnrRequest, FindNode, Neighbors, Packet, Ping, Pong,
};
use ethpeer::enode::Enode;
use ethpeer::enr::Record;
use ethpeer::eth::wire::receipts::Receipt;
use ethpeer::eth::wire::{EthVersion, HeaderInfo, message};
use ethpeer::nodedb::NodeRecord;
use ethpeer::p2p::{DisconnectReason, Hello, P2pMessage, session};
use ethpeer::rlpx::frame::{FrameCodec, HEADER_LEN};
use ethpeer::rlpx::handshake::{AckBody, AuthBody, Handshake, Step};
use ethpeer::rlpx::{Secrets, ecies, snappy};
use ethpeer::time::UnixMs;
use ethpeer::tx::{journal, transaction};

/// A target: its name (the cargo-fuzz binary's) and its body.
pub type Target = (&'static str, fn(&[u8]));

/// Every target, in the order `make fuzz` runs them.
pub const TARGETS: &[Target] = &[
    ("rlp_strict", rlp_strict),
    ("enode_text", enode_text),
    ("enr_text", enr_text),
    ("enr_rlp", enr_rlp),
    ("discv4_packet", discv4_packet),
    ("discv4_machine", discv4_machine),
    ("rlpx_auth_ack_plain", rlpx_auth_ack_plain),
    ("rlpx_handshake_encrypted", rlpx_handshake_encrypted),
    ("rlpx_frame_ingress", rlpx_frame_ingress),
    ("snappy", snappy),
    ("p2p_messages", p2p_messages),
    ("eth_messages", eth_messages),
    ("transactions", transactions),
    ("receipts", receipts),
    ("headers", headers),
    ("genesis_json", genesis_json),
    ("static_nodes", static_nodes),
    ("nodedb_value", nodedb_value),
    ("tx_journal", tx_journal),
    ("import_stream", import_stream),
    ("discv5_packet", discv5_packet),
    ("discv5_message", discv5_message),
    ("jsonrpc_request", jsonrpc_request),
    ("tx_fetcher", tx_fetcher),
    ("dial_scheduler", dial_scheduler),
    ("discv5_network", discv5_network),
    ("node_admission", node_admission),
    ("syncer", syncer),
    ("tx_handler", tx_handler),
    ("eth_manager", eth_manager),
];

// The stateful eth cores beyond the fetcher and the syncer, one file each (a `#[path]` keeps
// them beside this file however it is included).
#[path = "tx_handler.rs"]
mod tx_handler;
pub use tx_handler::tx_handler;
#[path = "eth_manager.rs"]
mod eth_manager;
pub use eth_manager::eth_manager;

/// RLP strict validation: what passes is one whole item the `rlp` crate can walk.
pub fn rlp_strict(data: &[u8]) {
    let whole = ethpeer::rlp::strict::validate(data);
    let prefix = ethpeer::rlp::strict::validate_prefix(data);
    if whole.is_ok() {
        assert_eq!(prefix, Ok(data.len()), "a valid item is its own prefix");
        walk(&rlp::Rlp::new(data), 0);
    }
    if let Ok(n) = prefix {
        assert!(n <= data.len());
        assert!(ethpeer::rlp::strict::validate(&data[..n]).is_ok());
    }
}

fn walk(item: &rlp::Rlp<'_>, depth: usize) {
    assert!(depth <= 64, "validate lets no item deeper than 64 through");
    if item.is_list() {
        for child in item.iter() {
            walk(&child, depth + 1);
        }
    } else {
        item.data().expect("validated data is readable");
    }
}

/// `enode://` URLs: a parsed URL prints to a URL that parses to the same node.
pub fn enode_text(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(e) = text.parse::<Enode>() {
        let again: Enode = e.to_string().parse().expect("our own enode text parses");
        assert_eq!(again, e);
    }
}

/// `enr:` text: a record read from text prints to text that reads back the same.
pub fn enr_text(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(r) = Record::from_text(text) {
        assert_eq!(Record::from_text(&r.to_text()).as_ref(), Ok(&r));
    }
}

/// ENR RLP, unverified and verified: a decoded record re-encodes to a record that decodes the same.
pub fn enr_rlp(data: &[u8]) {
    if let Ok(r) = Record::decode(data) {
        assert_eq!(Record::decode(&r.to_rlp()).as_ref(), Ok(&r));
    }
    let _ = Record::decode_verified(data);
}

/// discv4 datagrams: a decoded packet's data re-encodes (with our fixed key) to a datagram that
/// decodes to the same packet.
pub fn discv4_packet(data: &[u8]) {
    if let Ok(d) = packet::decode(data)
        && let Ok((bytes, _)) = packet::encode(&d.packet, &fixed().peers[0])
    {
        assert!(bytes.len() <= 1280, "we never send over 1280 bytes");
        let again = packet::decode(&bytes).expect("our own packet decodes");
        assert_eq!(again.packet, d.packet);
    }
}

/// The discovery state machine driven by a script: each step delivers one of a fixed set of
/// pre-signed packets (signing is slow), a pre-signed packet with one byte changed, raw bytes,
/// or moves the clock. Every datagram it sends stays within the 1280-byte limit.
pub fn discv4_machine(data: &[u8]) {
    let f = fixed();
    let mut now = NOW_MS;
    let Ok(mut disc) = Discovery::new(f.our.clone(), discovery_config(), UnixMs(now)) else {
        panic!("the fixed config is valid");
    };
    let mut script = data;
    let mut take = |n: usize| {
        let (a, b) = script.split_at(n.min(script.len()));
        script = b;
        a
    };
    for _ in 0..64 {
        let step = take(3);
        let &[op, a, b] = step else { break };
        let from = peer_addr(a);
        match op % 5 {
            0 | 1 => {
                let (pkt, sender) = &f.signed[usize::from(b) % f.signed.len()];
                let mut bytes = pkt.clone();
                if op % 5 == 1 {
                    let i = usize::from(a) * 7 % bytes.len();
                    bytes[i] ^= b | 1;
                }
                let _ = disc.handle_packet(UnixMs(now), peer_addr(*sender), &bytes);
            }
            2 => {
                let raw = take(usize::from(b));
                let _ = disc.handle_packet(UnixMs(now), from, raw);
            }
            3 => {
                now += u64::from(a) * 16 + u64::from(b) * 4096;
                disc.handle_timeout(UnixMs(now));
            }
            _ => {
                let _ = disc.start_random_lookup(UnixMs(now));
            }
        }
        while let Some((_, bytes)) = disc.poll_transmit() {
            assert!(bytes.len() <= 1280);
        }
        while disc.poll_event().is_some() {}
    }
}

/// auth/ack bodies after decryption, both forms.
pub fn rlpx_auth_ack_plain(data: &[u8]) {
    let _ = AuthBody::decode_eip8(data);
    let _ = AuthBody::decode_legacy(data);
    let _ = AckBody::decode_eip8(data);
    let _ = AckBody::decode_legacy(data);
}

/// The recipient's handshake machine fed the input as the wire packet, and fed the input
/// ECIES-sealed to it as an EIP-8 body (so the bytes past the MAC check are the fuzzer's).
pub fn rlpx_handshake_encrypted(data: &[u8]) {
    let f = fixed();
    let mut zero = |b: &mut [u8]| b.fill(7);
    let mut hs = Handshake::recipient(f.our.clone(), f.peers[1].clone(), [1; 32]);
    let mut rest = data;
    while hs.wanted() > 0 && !rest.is_empty() {
        let (now, later) = rest.split_at(hs.wanted().min(rest.len()));
        rest = later;
        match hs.handle_read(now, &mut zero) {
            Ok(Step::NeedMore) => {}
            Ok(Step::Done(_)) | Err(_) => break,
        }
    }
    // Sealed: prefix = the EIP-8 size of the ciphertext, which is also the ECIES MAC data.
    let size = data.len() + ecies::ECIES_OVERHEAD;
    let Ok(size16) = u16::try_from(size) else {
        return;
    };
    let prefix = size16.to_be_bytes();
    let mut packet = prefix.to_vec();
    packet.extend(ecies::encrypt_with(
        &f.our_pub,
        data,
        &prefix,
        &f.peers[2],
        &[3; 16],
    ));
    let mut hs = Handshake::recipient(f.our.clone(), f.peers[1].clone(), [1; 32]);
    let _ = hs.handle_read(&packet, &mut zero);
}

/// Frame ingress with known secrets and the real keccak MACs. The input is a list of messages
/// `[id, len, payload..]` sealed by the egress half; with the first byte odd one byte of the
/// stream is then flipped. Unchanged frames open to exactly what was sealed; a changed one is
/// refused (or opens to what was sealed, if the flip hit nothing the MAC covers: never). The
/// raw input is also fed to a fresh ingress as a header and body.
pub fn rlpx_frame_ingress(data: &[u8]) {
    let (mut egress, mut ingress) = codec_pair();
    let Some((&mode, mut rest)) = data.split_first() else {
        return;
    };
    let mut sealed = Vec::new();
    let mut sent = Vec::new();
    while let [id, len, tail @ ..] = rest {
        let (payload, later) = tail.split_at(usize::from(*len).min(tail.len()));
        rest = later;
        egress
            .seal(u64::from(*id), payload, &mut sealed)
            .expect("small frames seal");
        sent.push((u64::from(*id), payload.to_vec()));
    }
    let flip = (mode & 1 == 1 && !sealed.is_empty()).then(|| {
        let at = (usize::from(mode) * 131 + data.len()) % sealed.len();
        sealed[at] ^= 0x80;
        at
    });
    let mut pos = 0;
    let mut opened = Vec::new();
    while pos + HEADER_LEN <= sealed.len() {
        let mut header: [u8; HEADER_LEN] = sealed[pos..pos + HEADER_LEN].try_into().unwrap();
        let Ok(body_len) = ingress.open_header(&mut header) else {
            break;
        };
        pos += HEADER_LEN;
        let Some(body) = sealed.get_mut(pos..pos + body_len) else {
            break;
        };
        let Ok((id, payload)) = ingress.open_body(body) else {
            break;
        };
        opened.push((id, payload.to_vec()));
        pos += body_len;
    }
    match flip {
        None => assert_eq!(opened, sent, "sealed frames open to what was sealed"),
        Some(_) => assert!(opened.len() < sent.len(), "a flipped bit was not noticed"),
    }
    // Raw bytes straight into the ingress half.
    let (_, mut ingress) = codec_pair();
    if let Some((header, body)) = data.split_first_chunk::<HEADER_LEN>() {
        let mut header = *header;
        if let Ok(n) = ingress.open_header(&mut header) {
            let mut body = body.to_vec();
            if let Some(b) = body.get_mut(..n) {
                let _ = ingress.open_body(b);
            }
        }
    }
}

/// Snappy block data: what decodes re-encodes to data that decodes the same; what we encode
/// always decodes (within the limit).
pub fn snappy(data: &[u8]) {
    if let Ok(plain) = snappy::decompress(data, snappy::DECODED_SIZE_MAX) {
        let c = snappy::compress(&plain).expect("decoded data compresses");
        assert_eq!(snappy::decompress(&c, snappy::DECODED_SIZE_MAX), Ok(plain));
    }
    let c = snappy::compress(data).expect("small inputs compress");
    assert_eq!(
        snappy::decompress(&c, snappy::DECODED_SIZE_MAX).as_deref(),
        Ok(data)
    );
}

/// p2p Hello, Disconnect (all three forms, compressed or not) and the message enum by id.
pub fn p2p_messages(data: &[u8]) {
    if let Ok(h) = Hello::decode(data) {
        assert_eq!(Hello::decode(&h.encode()), Ok(h));
    }
    if let Ok(r) = DisconnectReason::decode(data) {
        assert_eq!(DisconnectReason::decode(&r.encode()), Ok(r));
    }
    let _ = session::decode_disconnect(data, true);
    let _ = session::decode_disconnect(data, false);
    if let Some((&id, payload)) = data.split_first()
        && let Ok(m) = P2pMessage::decode(u64::from(id % 4), payload)
    {
        assert_eq!(P2pMessage::decode(m.id(), &m.encode()), Ok(m));
    }
}

/// Every eth message at 68, 69 and 70: the first byte is the message id, the rest the payload.
/// A decoded message re-encodes under its version to one that decodes the same.
pub fn eth_messages(data: &[u8]) {
    let Some((&id, payload)) = data.split_first() else {
        return;
    };
    for version in EthVersion::ALL {
        let Ok(m) = message::decode(version, u64::from(id), payload) else {
            continue;
        };
        if let Ok((id2, bytes)) = message::encode(version, &m) {
            assert_eq!(id2, u64::from(id));
            assert_eq!(message::decode(version, id2, &bytes).as_ref(), Ok(&m));
        }
        match &m {
            message::EthMessage::BlockHeaders(r) => {
                let _ = r.headers();
            }
            message::EthMessage::Transactions(list) => {
                for item in list.iter().take(64) {
                    transactions(item);
                }
            }
            message::EthMessage::Receipts(r) => {
                let _ = r.receipts();
            }
            _ => {}
        }
    }
}

/// Transactions in network and consensus form: a decoded one re-encodes to one that decodes the
/// same; the sender is recovered without panicking.
pub fn transactions(data: &[u8]) {
    if let Ok(tx) = transaction::decode_network(data) {
        assert_eq!(
            transaction::decode_network(&tx.encode_network()),
            Ok(tx.clone())
        );
        let _ = tx.sender();
    }
    if let Ok(tx) = transaction::decode_consensus(data) {
        assert_eq!(
            transaction::decode_consensus(&tx.encode_consensus()),
            Ok(tx)
        );
    }
}

/// Receipts in network (eth/69) and consensus form, each round-tripped.
pub fn receipts(data: &[u8]) {
    if let Ok(r) = Receipt::from_network(data) {
        assert_eq!(Receipt::from_network(&r.to_network()).as_ref(), Ok(&r));
        let _ = r.bloom();
    }
    if let Ok(r) = Receipt::from_consensus(data) {
        assert_eq!(Receipt::from_consensus(&r.to_consensus()).as_ref(), Ok(&r));
    }
}

/// Block headers: a decoded header's RLP is exactly its input (its hash is keccak of the input).
pub fn headers(data: &[u8]) {
    if let Ok(h) = Header::decode(data) {
        assert_eq!(h.rlp(), data, "a header re-encodes to its own bytes");
        let _ = h.hash();
    }
    let _ = HeaderInfo::parse(data);
}

/// genesis.json (serde_json underneath, numbers kept as text).
pub fn genesis_json(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = Genesis::from_json(text);
}

/// `static-nodes.json` / `trusted-nodes.json`: a JSON array of enode URL strings, read as the
/// CLI reads it (serde_json, then each URL; the CLI's function is private to the binary).
pub fn static_nodes(data: &[u8]) {
    let Ok(urls) = serde_json::from_slice::<Vec<String>>(data) else {
        return;
    };
    for url in urls {
        enode_text(url.as_bytes());
    }
}

/// Node-database values: a decoded record re-encodes to one that decodes the same.
pub fn nodedb_value(data: &[u8]) {
    if let Ok(r) = NodeRecord::decode(data)
        && let Ok(bytes) = r.encode()
    {
        assert_eq!(NodeRecord::decode(&bytes).as_ref(), Ok(&r));
    }
}

/// The transaction journal: the records read back re-encode to exactly the bytes they span.
pub fn tx_journal(data: &[u8]) {
    let (txs, used) = journal::decode_records(data);
    assert!(used <= data.len());
    let again: Vec<u8> = txs.iter().flat_map(|t| journal::encode_record(t)).collect();
    assert_eq!(
        again,
        data[..used],
        "records re-encode to the bytes they came from"
    );
}

/// The import file reader (`ethpeer import`), then each item as a block to verify.
pub fn import_stream(data: &[u8]) {
    let mut reader = RlpReader::new(data, 1 << 16);
    for index in 0..16 {
        match reader.next_item() {
            Ok(Some(item)) => {
                let _ = ethpeer::chain::verify::verify_block(&item, None, index);
            }
            Ok(None) | Err(_) => break,
        }
    }
}

// ---- fixed keys and pre-signed packets ------------------------------------------------------

const NOW_MS: u64 = 1_700_000_000_000;

struct Fixed {
    our: SecretKey,
    our_pub: PublicKey,
    peers: Vec<SecretKey>,
    /// Pre-signed discv4 datagrams and the index of the sender's address.
    signed: Vec<(Vec<u8>, u8)>,
}

fn key(n: u8) -> SecretKey {
    SecretKey::from_bytes(&[n; 32]).expect("a small constant is a valid key")
}

fn peer_addr(n: u8) -> SocketAddr {
    SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, n / 16, n % 16, 1)), 30303)
}

fn discovery_config() -> Config {
    Config {
        ip: IpAddr::V4(Ipv4Addr::new(10, 200, 0, 1)),
        udp: 30303,
        tcp: 30303,
        bootnodes: Vec::new(),
        netrestrict: None,
        seed: 1,
        enr_seq: 1,
        enr_entries: Vec::new(),
    }
}

fn fixed() -> &'static Fixed {
    static FIXED: OnceLock<Fixed> = OnceLock::new();
    FIXED.get_or_init(|| {
        let our = key(1);
        let our_pub = our.public_key();
        let peers: Vec<SecretKey> = (2..8).map(key).collect();
        let exp = NOW_MS / 1000 + 1_000_000;
        let us = Endpoint {
            ip: Some(IpAddr::V4(Ipv4Addr::new(10, 200, 0, 1))),
            udp: 30303,
            tcp: 30303,
        };
        let mut signed = Vec::new();
        for (i, k) in peers.iter().enumerate() {
            let sender = i as u8;
            let addr = peer_addr(sender);
            let them = Endpoint {
                ip: Some(addr.ip()),
                udp: addr.port(),
                tcp: addr.port(),
            };
            let neighbours: Vec<packet::Node> = peers
                .iter()
                .enumerate()
                .map(|(j, p)| packet::Node {
                    ip: peer_addr(j as u8 + 16).ip(),
                    udp: 30303,
                    tcp: 30303,
                    id: p.public_key(),
                })
                .collect();
            let record = Record::builder()
                .ip(addr.ip())
                .udp(addr.port())
                .tcp(addr.port())
                .sign(k)
                .expect("a small record signs");
            let packets = [
                Packet::Ping(Ping {
                    version: 4,
                    from: them,
                    to: us,
                    expiration: exp,
                    enr_seq: Some(1),
                }),
                Packet::Pong(Pong {
                    to: us,
                    ping_hash: [i as u8; 32],
                    expiration: exp,
                    enr_seq: Some(1),
                }),
                Packet::FindNode(FindNode {
                    target: our_pub.to_bytes(),
                    expiration: exp,
                }),
                Packet::Neighbors(Neighbors {
                    nodes: neighbours,
                    expiration: exp,
                }),
                Packet::EnrRequest(EnrRequest { expiration: exp }),
                Packet::EnrResponse(packet::EnrResponse {
                    request_hash: [9; 32],
                    record,
                }),
            ];
            for p in packets {
                let (bytes, _) = packet::encode(&p, k).expect("fixed packets encode");
                signed.push((bytes, sender));
            }
        }
        Fixed {
            our,
            our_pub,
            peers,
            signed,
        }
    })
}

/// A frame codec's egress half and the matching ingress half of the other side.
fn codec_pair() -> (
    ethpeer::rlpx::frame::Egress<sha3::Keccak256>,
    ethpeer::rlpx::frame::Ingress<sha3::Keccak256>,
) {
    let f = fixed();
    let derive = |initiator| {
        Secrets::derive(
            initiator,
            f.our_pub,
            &[5; 32],
            &[6; 32],
            &[7; 32],
            b"auth packet",
            b"ack packet",
        )
    };
    let (egress, _) = FrameCodec::new(derive(true)).split();
    let (_, ingress) = FrameCodec::new(derive(false)).split();
    (egress, ingress)
}

/// The node id discovery v5 packets are addressed to here (the spec vectors' node B).
pub const DISCV5_DEST: [u8; 32] = [
    0xbb, 0xbb, 0x9d, 0x04, 0x7f, 0x04, 0x88, 0xc0, 0xb5, 0xa9, 0x3c, 0x1c, 0x3f, 0x2d, 0x8b, 0xaf,
    0xc7, 0xc8, 0xff, 0x33, 0x70, 0x24, 0xa5, 0x54, 0x34, 0xa0, 0xd0, 0x55, 0x5d, 0xe6, 0x4d, 0xb9,
];

/// Discovery v5 packet headers. The input is `masking-iv (16) || header length (2, big-endian)
/// || header || sealed message`, masked here for [`DISCV5_DEST`], so the fuzzer reaches the header parser
/// (random bytes would almost never unmask to the protocol id). A header that parses encodes
/// back to the same packet.
pub fn discv5_packet(data: &[u8]) {
    use ethpeer::discv5::packet::{decode, encode_sealed};
    let dest = ethpeer::crypto::NodeId(DISCV5_DEST);
    if data.len() < 18 {
        return;
    }
    let mut iv = [0u8; 16];
    iv.copy_from_slice(&data[..16]);
    let head_len = usize::from(u16::from_be_bytes([data[16], data[17]])).min(data.len() - 18);
    let head = data[18..18 + head_len].to_vec();
    let sealed = &data[18 + head_len..];
    let Ok(datagram) = encode_sealed(&dest, &iv, head, sealed) else {
        return;
    };
    if let Ok(d) = decode(&dest, &datagram) {
        let again = encode_sealed(&dest, &d.masking_iv, d.header.encode(), &d.message)
            .expect("a packet that decoded re-encodes");
        assert_eq!(decode(&dest, &again).as_ref(), Ok(&d));
    }
}

/// Discovery v5 message plaintexts (PING … TALKRESP): decode → encode → decode is stable.
pub fn discv5_message(data: &[u8]) {
    use ethpeer::discv5::message::Message;
    if let Ok(m) = Message::decode(data) {
        let bytes = m.encode();
        assert_eq!(Message::decode(&bytes).as_ref(), Ok(&m));
    }
}

/// A JSON-RPC request body through the server's envelope handling (batches, ids, errors,
/// limits) with a dispatcher that echoes its parameters: the answer, when there is one, is JSON.
pub fn jsonrpc_request(data: &[u8]) {
    use ethpeer::rpc::Limits;
    use ethpeer::rpc::jsonrpc::{Dispatch, RpcError, handle};
    struct Echo;
    impl Dispatch for Echo {
        async fn call(
            &self,
            method: &str,
            params: Vec<serde_json::Value>,
        ) -> Result<serde_json::Value, RpcError> {
            match method {
                "echo" => Ok(serde_json::Value::Array(params)),
                _ => Err(RpcError::method_not_found(method)),
            }
        }
    }
    let limits = Limits::default();
    let fut = std::pin::pin!(handle(&Echo, data, &limits));
    let mut fut = fut;
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    // The echo dispatcher never waits, so the answer is ready at the first poll.
    let std::task::Poll::Ready(answer) = fut.as_mut().poll(&mut cx) else {
        panic!("handle waited with a dispatcher that never waits");
    };
    if let Some(text) = answer {
        serde_json::from_str::<serde_json::Value>(&text).expect("the answer is JSON");
    }
}

/// A script reader for the stateful targets: bytes in order, zeros once the input ends.
struct Script<'a> {
    rest: &'a [u8],
}

impl Script<'_> {
    fn byte(&mut self) -> u8 {
        match self.rest.split_first() {
            Some((&b, rest)) => {
                self.rest = rest;
                b
            }
            None => 0,
        }
    }

    fn done(&self) -> bool {
        self.rest.is_empty()
    }
}

/// Peers the fetcher target speaks with.
const FETCH_PEERS: u8 = 6;

/// Hashes the fetcher target announces: more than `REQUEST_HASHES_MAX`, so that a full
/// request is not the whole set.
const FETCH_HASHES: u16 = 512;

/// Hash `i` of the fetcher target's [`FETCH_HASHES`], mapped back by [`fetch_index`].
fn fetch_hash(i: u16) -> [u8; 32] {
    let mut h = [0xfe; 32];
    h[..2].copy_from_slice(&i.to_be_bytes());
    h
}

fn fetch_index(h: &[u8; 32]) -> u16 {
    assert!(h[2..].iter().all(|&b| b == 0xfe), "a hash nobody announced");
    let i = u16::from_be_bytes([h[0], h[1]]);
    assert!(i < FETCH_HASHES, "a hash nobody announced");
    i
}

/// A script's type-and-size byte: type in the low 2 bits, size 4 KiB steps (up to 252 KiB, so
/// that a few fill `REQUEST_SIZE_MAX` and one alone may exceed it).
fn fetch_meta(m: u8) -> (u8, u32) {
    (m & 3, u32::from(m >> 2) * 4096)
}

/// One request the fetcher target believes in flight.
struct InFlight {
    id: u64,
    deadline: ethpeer::time::Mono,
    hashes: Vec<u16>,
}

/// The transaction fetcher (`eth::txs::tx_fetcher::TxFetcher`) driven by a script of steps,
/// each a kind byte and its arguments: a peer announces hashes (index, type/size), a peer
/// delivers transactions (to its request in flight, to no request or to a made-up id), the
/// clock moves, a transaction arrives by broadcast, a peer is removed or dropped. A model kept
/// beside it checks every action for any input: a request goes only to a peer that announced
/// every hash in it and has none in flight, within `REQUEST_HASHES_MAX` hashes and
/// `REQUEST_SIZE_MAX` announced bytes (unless one hash alone), never for a hash the pool knows
/// or one still in another peer's request, with an id never used before; a disconnect only
/// for the delivering peer whose delivery contradicts what it announced, with exactly those
/// hashes returned; the counters agree with the actions; nothing is tracked without a timer
/// due to move it; and no timer is left due.
pub fn tx_fetcher(data: &[u8]) {
    use ethpeer::eth::txs::tx_fetcher::{
        FetchAction, MISMATCH_REASON, REQUEST_HASHES_MAX, REQUEST_SIZE_MAX, TxFetcher,
        WAITING_COUNT_MAX,
    };
    use ethpeer::p2p::ConnId;
    use ethpeer::time::Mono;
    use std::collections::{BTreeSet, HashSet};

    let mut fetcher = TxFetcher::new();
    let mut s = Script { rest: data };
    let mut now = Mono(1_000);
    let mut known = vec![false; usize::from(FETCH_HASHES)];
    // What each peer announced since it connected: (hash index, meta byte).
    let mut announced: Vec<BTreeSet<(u16, u8)>> =
        (0..FETCH_PEERS).map(|_| BTreeSet::new()).collect();
    let mut in_flight: Vec<Option<InFlight>> = (0..FETCH_PEERS).map(|_| None).collect();
    let mut ids = HashSet::new();
    let (mut requests, mut mismatches) = (0u64, 0u64);
    let mut ever_announced = BTreeSet::new();

    for _ in 0..256 {
        if s.done() {
            break;
        }
        let op = s.byte() % 6;
        let peer = s.byte() % FETCH_PEERS;
        let p = usize::from(peer);
        let conn = ConnId(u64::from(peer));
        // The machine expires requests due by `now` on every call that carries `now`.
        let expire = |in_flight: &mut Vec<Option<InFlight>>, now: Mono| {
            for f in in_flight.iter_mut() {
                if f.as_ref().is_some_and(|f| f.deadline <= now) {
                    *f = None;
                }
            }
        };
        let mut rejected = Vec::new();
        let mut delivered = Vec::new();
        let mut schedules = true;
        match op {
            0 => {
                let n = usize::from(s.byte() % 17);
                let page = u16::from(s.byte() & 1) << 8;
                let (mut types, mut sizes, mut hashes) = (Vec::new(), Vec::new(), Vec::new());
                for _ in 0..n {
                    let (i, m) = (page | u16::from(s.byte()), s.byte());
                    let (t, size) = fetch_meta(m);
                    types.push(t);
                    sizes.push(size);
                    hashes.push(fetch_hash(i));
                    if !known[usize::from(i)] {
                        announced[p].insert((i, m));
                        ever_announced.insert(i);
                    }
                }
                expire(&mut in_flight, now);
                let is_known = |h: &[u8; 32]| known[usize::from(fetch_index(h))];
                fetcher.handle_announce(now, conn, &types, &sizes, &hashes, &is_known);
            }
            1 => {
                let sel = s.byte();
                let n = usize::from(s.byte() % 17);
                let page = u16::from(s.byte() & 1) << 8;
                let mut txs = Vec::new();
                for _ in 0..n {
                    let (i, m) = (page | u16::from(s.byte()), s.byte());
                    let (t, size) = fetch_meta(m);
                    txs.push((fetch_hash(i), t, size as usize));
                    delivered.push((i, m));
                }
                expire(&mut in_flight, now);
                let asked: Vec<u16> = in_flight[p].iter().flat_map(|f| f.hashes.clone()).collect();
                let id = match sel {
                    0 => None,
                    _ if sel % 2 == 1 => in_flight[p].as_ref().map(|f| f.id),
                    _ => Some(u64::from(sel)),
                };
                if id.is_some() && in_flight[p].as_ref().map(|f| f.id) == id {
                    in_flight[p] = None;
                }
                rejected = fetcher.handle_delivery(now, conn, id, &txs);
                let rejected_idx: Vec<u16> = rejected.iter().map(fetch_index).collect();
                for &i in &rejected_idx {
                    assert!(
                        delivered.iter().any(|d| d.0 == i),
                        "rejected, not delivered"
                    );
                    let contradicts = delivered.iter().filter(|d| d.0 == i).any(|d| {
                        announced[p]
                            .iter()
                            .any(|&(j, a)| j == i && fetch_meta(a) != fetch_meta(d.1))
                    });
                    assert!(
                        contradicts,
                        "rejected a hash the peer never announced otherwise"
                    );
                }
                // A hash asked of this peer is tracked and so is its announcement; when the
                // peer announced it one way only, any copy delivered the other way refuses it,
                // whatever other copies the reply holds.
                for &(i, m) in &delivered {
                    let metas: Vec<u8> = announced[p]
                        .iter()
                        .filter(|a| a.0 == i)
                        .map(|a| a.1)
                        .collect();
                    if asked.contains(&i) && metas.len() == 1 && metas[0] != m {
                        assert!(rejected_idx.contains(&i), "a contradicting delivery kept");
                    }
                }
                for &(i, _) in &delivered {
                    if !rejected_idx.contains(&i) {
                        known[usize::from(i)] = true;
                        for f in in_flight.iter_mut().flatten() {
                            f.hashes.retain(|&h| h != i);
                        }
                    }
                }
            }
            2 => {
                now += u64::from(s.byte()) * 64;
                expire(&mut in_flight, now);
                fetcher.handle_timeout(now);
            }
            3 => {
                let i = u16::from(peer.wrapping_mul(43) ^ s.byte()) | u16::from(s.byte() & 1) << 8;
                known[usize::from(i)] = true;
                for f in in_flight.iter_mut().flatten() {
                    f.hashes.retain(|&h| h != i);
                }
                fetcher.handle_broadcast(&fetch_hash(i));
                schedules = false;
            }
            4 => {
                // The handler's disconnect path: the peer's in-flight hashes go to their other
                // announcers at once (or get a timer), so the timer check below applies.
                expire(&mut in_flight, now);
                fetcher.drop_peer(now, conn);
                announced[p].clear();
                in_flight[p] = None;
            }
            _ => {
                announced[p].clear();
                in_flight[p] = None;
                expire(&mut in_flight, now);
                fetcher.drop_peer(now, conn);
            }
        }

        let mut actions = 0;
        let mut disconnected = false;
        while let Some(action) = fetcher.poll_action() {
            actions += 1;
            assert!(
                actions <= usize::from(FETCH_PEERS) + 1,
                "actions beyond one per peer"
            );
            match action {
                FetchAction::Request {
                    peer: to,
                    request_id,
                    hashes,
                } => {
                    requests += 1;
                    let q = usize::try_from(to.0).expect("a peer of ours");
                    assert!(
                        q < usize::from(FETCH_PEERS),
                        "a request to a peer we never had"
                    );
                    assert!(!hashes.is_empty() && hashes.len() <= REQUEST_HASHES_MAX);
                    assert!(ids.insert(request_id), "request id {request_id} used twice");
                    assert!(in_flight[q].is_none(), "two requests in flight to one peer");
                    let idx: Vec<u16> = hashes.iter().map(fetch_index).collect();
                    let distinct: BTreeSet<u16> = idx.iter().copied().collect();
                    assert_eq!(distinct.len(), idx.len(), "a hash twice in one request");
                    let mut bytes = 0u64;
                    for &i in &idx {
                        assert!(!known[usize::from(i)], "requested a hash the pool has");
                        let size = announced[q]
                            .iter()
                            .filter(|&&(j, _)| j == i)
                            .map(|&(_, m)| fetch_meta(m).1)
                            .min();
                        let size = size.expect("requested a hash the peer did not announce");
                        bytes += u64::from(size);
                        for (r, f) in in_flight.iter().enumerate() {
                            if let Some(f) = f {
                                assert!(
                                    !f.hashes.contains(&i),
                                    "hash {i} requested from peer {q} while in flight at {r}"
                                );
                            }
                        }
                    }
                    assert!(
                        idx.len() == 1 || bytes <= REQUEST_SIZE_MAX as u64,
                        "a request of {bytes} announced bytes"
                    );
                    in_flight[q] = Some(InFlight {
                        id: request_id,
                        deadline: now + ethpeer::eth::txs::tx_fetcher::FETCH_TIMEOUT,
                        hashes: idx,
                    });
                }
                FetchAction::Disconnect { peer: who, why } => {
                    mismatches += 1;
                    assert!(
                        op == 1 && who == conn,
                        "a disconnect for no delivery of its own"
                    );
                    assert!(
                        !rejected.is_empty() && !disconnected,
                        "a disconnect without cause"
                    );
                    assert_eq!(why, MISMATCH_REASON);
                    disconnected = true;
                    announced[p].clear();
                    in_flight[p] = None;
                }
            }
        }
        assert_eq!(
            rejected.is_empty(),
            !disconnected,
            "rejected bodies without a disconnect"
        );
        let stats = fetcher.stats();
        assert_eq!(stats.requests, requests);
        assert_eq!(stats.mismatches, mismatches);
        assert!(fetcher.waiting_count() <= WAITING_COUNT_MAX);
        assert!(fetcher.waiting_count() <= fetcher.tracked_count());
        assert!(fetcher.tracked_count() <= ever_announced.len());
        if schedules {
            match fetcher.poll_timeout() {
                Some(t) => assert!(t > now, "a timer due at {t:?} left after now {now:?}"),
                None => assert_eq!(fetcher.tracked_count(), 0, "hashes tracked with no timer"),
            }
        }
    }
}

/// Nodes the dial target knows; node 0 is us.
const DIAL_NODES: u8 = 10;

/// The dial target's nodes' keys and ids, derived once (key derivation is slow).
fn dial_keys() -> &'static [(PublicKey, ethpeer::crypto::NodeId)] {
    static KEYS: OnceLock<Vec<(PublicKey, ethpeer::crypto::NodeId)>> = OnceLock::new();
    KEYS.get_or_init(|| {
        (0..DIAL_NODES)
            .map(|n| {
                let k = key(n + 40).public_key();
                let id = k.node_id();
                (k, id)
            })
            .collect()
    })
}

/// Node `n`'s address in the dial target: `127.0.0.(n+1):30303`, or by `variant` port 0, the
/// unspecified address, or another port (a static node's new address).
fn dial_addr(n: u8, variant: u8) -> SocketAddr {
    let ip = IpAddr::V4(Ipv4Addr::new(127, 0, 0, n + 1));
    match variant % 8 {
        0 => SocketAddr::new(ip, 0),
        1 => SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 30303),
        2 => SocketAddr::new(ip, 30304),
        _ => SocketAddr::new(ip, 30303),
    }
}

/// A dial the dial target believes in flight.
struct DialModel {
    dial: ethpeer::dial::DialId,
    node: u8,
    kind: ethpeer::dial::DialKind,
    deadline: ethpeer::time::Mono,
}

/// The dial scheduler (`dial::DialScheduler`) driven by a script: a config from the first
/// bytes (peer slots, dial ratio, dials in flight, a `--netrestrict` or none), then steps over
/// 10 nodes (node 0 is us): static nodes added (at good or bad addresses) and removed,
/// candidates queued, dials ending connected, refused or failed (or an unknown dial id), inbound
/// and trusted peers arriving through the admission check, peers leaving, the clock moving.
/// After every step the loop's drain of `poll_dial` is done and a model checks, for any input:
/// no dial to us, to a peer, to a node being dialed, to one dialed within
/// `DIAL_HISTORY_EXPIRY`, to port 0, the unspecified address or outside `--netrestrict`; a static
/// dial only to a static node at its latest address, a dynamic one only to a queued candidate
/// not static; dials in flight within `dials_active_max`, a dynamic dial only with a free
/// dynamic slot (`max_peers / dial_ratio`) and a free peer slot; dial ids unique, deadlines
/// `DIAL_TIMEOUT` ahead; every `add_*`, `check_add_peer` and `handle_dial_done` answer what the
/// documented rules say; the counts agree; no timer left due; and a static node that is neither
/// connected nor being dialed always has a timer that will bring it back.
pub fn dial_scheduler(data: &[u8]) {
    use ethpeer::dial::{
        ConnKind, DIAL_HISTORY_EXPIRY, DIAL_TIMEOUT, DialCandidate, DialConfig, DialKind,
        DialOutcome, DialRefusal, DialScheduler, PeerRefusal,
    };
    use ethpeer::time::Mono;
    use std::collections::{BTreeMap, BTreeSet, HashSet};

    let keys = dial_keys();
    let mut s = Script { rest: data };
    let (a, b) = (s.byte(), s.byte());
    let netrestrict = (b & 0x80 != 0).then(|| "127.0.0.0/29".parse().expect("a valid netlist"));
    let config = DialConfig {
        max_peers: usize::from(a % 12),
        dial_ratio: usize::from(a / 12 % 4),
        max_active_dials: usize::from(b % 5),
        netrestrict,
    };
    let restricted = config.netrestrict.is_some();
    let (max_dyn, max_inbound, max_active) = (
        config.max_dyn_dialed(),
        config.max_inbound(),
        config.dials_active_max(),
    );
    let max_peers = config.max_peers;
    let mut sched = DialScheduler::new(config, keys[0].1, u64::from(b));
    let mut now = Mono(1_000);
    let candidate = |n: u8, v: u8| DialCandidate::new(keys[usize::from(n)].0, dial_addr(n, v));
    // What a node must pass to be dialed at all, as the documented rules say.
    let node_refusal = |n: u8, addr: SocketAddr| {
        if n == 0 {
            Some(DialRefusal::IsSelf)
        } else if addr.port() == 0 {
            Some(DialRefusal::NoPort)
        } else if addr.ip().is_unspecified() {
            Some(DialRefusal::UnspecifiedAddr)
        } else if restricted && !matches!(addr.ip(), IpAddr::V4(v4) if v4.octets()[3] < 8) {
            Some(DialRefusal::NotInNetrestrict)
        } else {
            None
        }
    };

    let mut statics: BTreeMap<u8, SocketAddr> = BTreeMap::new();
    let mut queued: BTreeSet<u8> = BTreeSet::new();
    let mut peers: BTreeMap<u8, (ConnKind, bool)> = BTreeMap::new();
    let mut dialing: Vec<DialModel> = Vec::new();
    let mut last_dial: BTreeMap<u8, Mono> = BTreeMap::new();
    let mut ids = HashSet::new();
    let mut stale_dials = Vec::new();

    for _ in 0..256 {
        if s.done() {
            break;
        }
        let op = s.byte() % 8;
        let n = s.byte() % DIAL_NODES;
        let v = s.byte();
        let id = keys[usize::from(n)].1;
        let recently = |last_dial: &BTreeMap<u8, Mono>, now: Mono| {
            last_dial
                .get(&n)
                .is_some_and(|&t| t + DIAL_HISTORY_EXPIRY > now)
        };
        match op {
            0 => {
                let node = candidate(n, v);
                let got = sched.add_static(now, node.clone());
                match node_refusal(n, node.addr()) {
                    Some(e) => assert_eq!(got, Err(e), "add_static of node {n}"),
                    None => {
                        assert_eq!(got, Ok(()), "add_static of node {n}");
                        statics.insert(n, node.addr());
                    }
                }
            }
            1 => {
                let was = sched.remove_static(now, &id);
                assert_eq!(was, statics.remove(&n).is_some(), "remove_static's answer");
            }
            2 => {
                let node = candidate(n, v);
                let got = sched.add_candidate(now, node.clone());
                let expected = node_refusal(n, node.addr()).or(if statics.contains_key(&n) {
                    Some(DialRefusal::IsStatic)
                } else if peers.contains_key(&n) {
                    Some(DialRefusal::AlreadyConnected)
                } else if dialing.iter().any(|d| d.node == n) {
                    Some(DialRefusal::AlreadyDialing)
                } else if recently(&last_dial, now) {
                    Some(DialRefusal::RecentlyDialed)
                } else {
                    None
                });
                match expected {
                    Some(e) => assert_eq!(got, Err(e), "add_candidate of node {n}"),
                    None => {
                        assert!(
                            matches!(got, Ok(()) | Err(DialRefusal::AlreadyQueued)),
                            "add_candidate of node {n}: {got:?}"
                        );
                        queued.insert(n);
                    }
                }
            }
            3 | 4 => {
                // A dial ends: picked by `n` among those in flight, or a timed-out one.
                if dialing.is_empty() && stale_dials.is_empty() {
                    continue;
                }
                let live = usize::from(n) % (dialing.len() + 1);
                let (dial, node, kind) = if live < dialing.len() {
                    let d = &dialing[live];
                    (d.dial, d.node, d.kind)
                } else if let Some(&(dial, node, kind)) = stale_dials.last() {
                    (dial, node, kind)
                } else {
                    continue;
                };
                let in_flight = live < dialing.len();
                let trusted = v & 1 == 1;
                let ckind = ConnKind::of_dial(kind);
                let nid = keys[usize::from(node)].1;
                let connected = op == 3 && sched.check_add_peer(&nid, ckind, trusted).is_ok();
                if connected {
                    sched.handle_peer_added(now, nid, ckind, trusted);
                    peers.insert(node, (ckind, trusted));
                }
                let outcome = if connected {
                    DialOutcome::Connected
                } else {
                    DialOutcome::Failed
                };
                let known = sched.handle_dial_done(now, dial, outcome);
                assert_eq!(known, in_flight, "handle_dial_done's answer for {dial:?}");
                if in_flight {
                    dialing.remove(live);
                } else {
                    stale_dials.pop();
                }
            }
            5 => {
                // A connection from node `n` finished its handshakes: inbound, or (v bit 1) as
                // a dialed peer the scheduler did not start; trusted with v bit 0.
                let trusted = v & 1 == 1;
                let kind = match v >> 1 & 3 {
                    0 | 1 => ConnKind::Inbound,
                    2 => ConnKind::DynDialed,
                    _ => ConnKind::StaticDialed,
                };
                let privileged = trusted || kind == ConnKind::StaticDialed;
                let inbound = peers.values().filter(|p| p.0 == ConnKind::Inbound).count();
                let expected = if n == 0 {
                    Err(PeerRefusal::IsSelf)
                } else if peers.contains_key(&n) {
                    Err(PeerRefusal::AlreadyConnected)
                } else if (!privileged && peers.len() >= max_peers)
                    || (!trusted && kind == ConnKind::Inbound && inbound >= max_inbound)
                {
                    Err(PeerRefusal::TooManyPeers)
                } else {
                    Ok(())
                };
                let got = sched.check_add_peer(&id, kind, trusted);
                assert_eq!(
                    got, expected,
                    "check_add_peer of node {n} ({kind:?}, {trusted})"
                );
                if got.is_ok() {
                    sched.handle_peer_added(now, id, kind, trusted);
                    peers.insert(n, (kind, trusted));
                }
            }
            6 => {
                sched.handle_peer_removed(now, &id);
                peers.remove(&n);
            }
            _ => {
                now += u64::from(v) * 256;
                sched.handle_timeout(now);
            }
        }

        // The loop drains the dials after every event.
        for d in std::mem::take(&mut dialing) {
            if d.deadline <= now {
                stale_dials.push((d.dial, d.node, d.kind));
            } else {
                dialing.push(d);
            }
        }
        stale_dials.drain(..stale_dials.len().saturating_sub(4));
        let mut started = 0;
        while let Some(task) = sched.poll_dial(now) {
            started += 1;
            assert!(
                started <= usize::from(DIAL_NODES),
                "more dials than nodes in one drain"
            );
            let node = keys
                .iter()
                .position(|k| k.1 == task.node.id())
                .expect("a node we know");
            let node = u8::try_from(node).expect("few nodes");
            assert_ne!(node, 0, "dialed ourselves");
            assert_eq!(
                node_refusal(node, task.node.addr()),
                None,
                "dialed a bad address"
            );
            assert!(!peers.contains_key(&node), "dialed a connected node");
            assert!(
                dialing.iter().all(|d| d.node != node),
                "dialed a node twice at once"
            );
            assert!(
                last_dial
                    .get(&node)
                    .is_none_or(|&t| t + DIAL_HISTORY_EXPIRY <= now),
                "node {node} redialed within DIAL_HISTORY_EXPIRY"
            );
            assert!(ids.insert(task.dial), "dial id reused");
            assert_eq!(task.deadline, now + DIAL_TIMEOUT);
            assert!(
                dialing.len() < max_active,
                "more dials in flight than allowed"
            );
            match task.kind {
                DialKind::Static => {
                    assert_eq!(statics.get(&node), Some(&task.node.addr()), "static dial");
                }
                DialKind::Dynamic => {
                    assert!(
                        !statics.contains_key(&node),
                        "a static node dialed as dynamic"
                    );
                    assert!(
                        queued.remove(&node),
                        "a dynamic dial of a node never queued"
                    );
                    let dyn_peers = peers
                        .values()
                        .filter(|p| p.0 == ConnKind::DynDialed)
                        .count();
                    let dyn_dials = dialing
                        .iter()
                        .filter(|d| d.kind == DialKind::Dynamic && !peers.contains_key(&d.node))
                        .count();
                    assert!(dyn_peers + dyn_dials < max_dyn, "no dynamic slot was free");
                    assert!(
                        peers.len() + dialing.len() < max_peers,
                        "no peer slot was free"
                    );
                }
            }
            last_dial.insert(node, now);
            dialing.push(DialModel {
                dial: task.dial,
                node,
                kind: task.kind,
                deadline: task.deadline,
            });
        }
        assert_eq!(sched.dialing_count(), dialing.len(), "dials in flight");
        assert_eq!(sched.peer_count(), peers.len(), "peers");
        assert_eq!(sched.static_count(), statics.len(), "static nodes");
        assert!(
            sched.candidate_count() <= queued.len(),
            "candidates never queued"
        );
        let timeout = sched.poll_timeout();
        assert!(timeout.is_none_or(|t| t > now), "a timer left due");
        for &n in statics.keys() {
            if !peers.contains_key(&n) && dialing.iter().all(|d| d.node != n) {
                assert!(
                    timeout.is_some(),
                    "static node {n} left with no timer to redial it"
                );
            }
        }
    }
}

/// The discv5 network target's three nodes: their addresses.
fn v5_addr(i: usize) -> SocketAddr {
    SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 5, 0, i as u8 + 1)), 9000)
}

/// Three discovery v5 machines (`discv5::discovery::Discovery`) on a network the script runs:
/// each step delivers a datagram in flight (as sent, with a byte changed, or a copy kept for a
/// replay), drops one, moves the clock, has a node PING, FINDNODE or TALKREQ another, or sends a
/// node raw bytes or a datagram in flight from a stranger or from one of the nodes' addresses. Entropy is seeded from the
/// first byte. Checked for any input: every datagram is ≤ 1280 bytes; a stranger is sent no more
/// than the packet it sent and never more than a WHOAREYOU (63 bytes: no amplification); a
/// node holds sessions only with the other two; an answer or failure of a request names the node
/// it was sent to and comes at most once; no timer is left due after a timeout.
pub fn discv5_network(data: &[u8]) {
    use ethpeer::crypto::NodeId;
    use ethpeer::discv5::discovery::{Config, Discovery, Event, seeded_entropy};
    use ethpeer::discv5::message::RequestId;
    use std::collections::VecDeque;

    /// Datagrams in flight at most; the oldest is lost first.
    const IN_FLIGHT_MAX: usize = 32;
    /// A WHOAREYOU packet's size: all a stranger may get from us.
    const WHOAREYOU_SIZE: usize = 63;

    let mut s = Script { rest: data };
    let seed = u64::from(s.byte());
    let mut now = NOW_MS;
    let mut nodes: Vec<Discovery> = (0..3)
        .map(|i| {
            let addr = v5_addr(i);
            let config = Config {
                ip: addr.ip(),
                udp: addr.port(),
                tcp: 0,
                enr_seq: 1,
                enr_entries: Vec::new(),
                bootnodes: Vec::new(),
                seed: seed + i as u64,
                fixed_endpoint: true,
            };
            let entropy = seeded_entropy(seed * 3 + i as u64);
            Discovery::new(key(60 + i as u8), config, entropy, UnixMs(now))
                .expect("the fixed config is valid")
        })
        .collect();
    let records: Vec<Record> = nodes.iter().map(|n| n.record().clone()).collect();
    let ids: Vec<NodeId> = nodes.iter().map(|n| n.self_id()).collect();
    for (i, n) in nodes.iter_mut().enumerate() {
        let others = (0..3).filter(|&j| j != i).map(|j| records[j].clone());
        n.add_seeds(UnixMs(now), others);
    }
    // (from node, to address, bytes)
    let mut wire: VecDeque<(usize, SocketAddr, Vec<u8>)> = VecDeque::new();
    // Requests issued by the script: (node, id, to) until answered or failed.
    let mut pending: Vec<(usize, RequestId, NodeId)> = Vec::new();
    let mut finished: Vec<(usize, RequestId)> = Vec::new();

    for _ in 0..128 {
        if s.done() {
            break;
        }
        let op = s.byte() % 7;
        let a = s.byte();
        let i = usize::from(a % 3);
        let mut stranger: Option<(SocketAddr, usize)> = None;
        let mut timed = false;
        match op {
            0..=2 if !wire.is_empty() => {
                let k = usize::from(s.byte()) % wire.len();
                let (from, to, mut bytes) = if op == 2 {
                    wire[k].clone()
                } else {
                    wire.remove(k).expect("k < len")
                };
                if op == 1 && !bytes.is_empty() {
                    let at = usize::from(a) * 5 % bytes.len();
                    bytes[at] ^= s.byte() | 1;
                }
                if let Some(dest) = (0..3).find(|&j| v5_addr(j) == to) {
                    let _ = nodes[dest].handle_packet(UnixMs(now), v5_addr(from), &bytes);
                }
            }
            3 if !wire.is_empty() => {
                let k = usize::from(a) % wire.len();
                wire.remove(k);
            }
            4 => {
                now += u64::from(s.byte()) * 16;
                for n in nodes.iter_mut() {
                    n.handle_timeout(UnixMs(now));
                }
                timed = true;
            }
            5 => {
                let j = (i + 1 + usize::from(a / 3 % 2)) % 3;
                let kind = s.byte();
                let rec = records[j].clone();
                let got = match kind % 3 {
                    0 => nodes[i].ping(UnixMs(now), &rec),
                    1 => nodes[i].find_node(UnixMs(now), &rec, vec![u16::from(kind) % 257, 0]),
                    _ => {
                        // Up to 2 KB: a TALKREQ too large for a datagram must be refused.
                        let body = vec![kind; usize::from(kind) * 8];
                        nodes[i].talk_req(UnixMs(now), &rec, b"fz".to_vec(), body)
                    }
                };
                if let Ok(id) = got {
                    pending.push((i, id, ids[j]));
                }
            }
            6 => {
                let n = usize::from(s.byte());
                // Bit 6: a datagram in flight, replayed from elsewhere; else the script's bytes.
                let bytes = if a & 0x40 != 0 && !wire.is_empty() {
                    wire[n % wire.len()].2.clone()
                } else {
                    let bytes = s.rest[..n.min(s.rest.len())].to_vec();
                    s.rest = &s.rest[bytes.len()..];
                    bytes
                };
                let from = if a & 0x80 != 0 {
                    let addr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 9, a, 1)), 9000);
                    stranger = Some((addr, bytes.len()));
                    addr
                } else {
                    v5_addr(usize::from(a / 3 % 3))
                };
                let _ = nodes[i].handle_packet(UnixMs(now), from, &bytes);
            }
            _ => {}
        }

        for (from, n) in nodes.iter_mut().enumerate() {
            while let Some((to, bytes)) = n.poll_transmit() {
                assert!(bytes.len() <= 1280, "a datagram of {} bytes", bytes.len());
                if (0..3).any(|j| v5_addr(j) == to) {
                    wire.push_back((from, to, bytes));
                    if wire.len() > IN_FLIGHT_MAX {
                        wire.pop_front();
                    }
                } else {
                    let Some((addr, len)) = stranger else {
                        panic!("a datagram to {to}, whom nothing was heard from");
                    };
                    assert_eq!(to, addr, "a datagram to a stranger who did not write");
                    assert!(
                        bytes.len() <= len.min(WHOAREYOU_SIZE),
                        "{} bytes to a stranger who sent {len}",
                        bytes.len()
                    );
                }
            }
            while let Some(event) = n.poll_event() {
                let (request, who) = match &event {
                    Event::Pong { request, from, .. }
                    | Event::Nodes { request, from, .. }
                    | Event::TalkResp { request, from, .. } => (request, from),
                    Event::RequestFailed { request, to, .. } => (request, to),
                    _ => continue,
                };
                let key = (from, request.clone());
                assert!(!finished.contains(&key), "a request ended twice: {event:?}");
                if let Some(p) = pending.iter().position(|p| p.0 == from && p.1 == *request) {
                    assert_eq!(pending[p].2, *who, "an answer from another node: {event:?}");
                    pending.remove(p);
                    finished.push(key);
                }
            }
            assert!(
                n.session_count() <= 2,
                "sessions beyond the two other nodes"
            );
            if timed {
                let t = n.poll_timeout();
                assert!(t.is_none_or(|t| t > UnixMs(now)), "a timer left due");
            }
        }
    }
}

/// A connection the node-admission target believes the node holds.
struct AdmissionConn {
    kind: ethpeer::dial::ConnKind,
    /// The node it proved to be at checkpoint 1 (accepted there).
    node: Option<u8>,
    /// Admitted at checkpoint 2.
    peer: bool,
    /// Refused at a checkpoint: the loop only closes it now.
    refused: bool,
}

/// The node's admission (`node::Node`: go-ethereum's `postHandshakeChecks` and
/// `addPeerChecks`) driven by a script, the way the event loop drives it: a config from the
/// first bytes (peer slots, dial ratio, which of 10 nodes are trusted and static, our
/// capabilities), then steps: an inbound connection accepted, a dial the node asked for started,
/// checkpoint 1 (the remote proves it is node n), checkpoint 2 (its Hello offers capabilities
/// from a small set), a connection closed, statics and trusted nodes added and removed,
/// candidates, the clock. The shell's contract is kept (checkpoint 1 once per connection,
/// checkpoint 2 only after it passed, nothing but a close after a refusal). A model checks every
/// answer: checkpoint 1 refuses exactly as the rules say (another connection already holds that
/// id; us; the peer slots full for a non-trusted, non-static connection; the inbound slots full
/// for a non-trusted inbound one), checkpoint 2 likewise, plus nothing shared for a connection
/// neither trusted nor static-dialed; what is shared is each common name once at its highest
/// common version, with consecutive id ranges from 0x10; no dial to us or to a node holding a
/// connection past checkpoint 1; a Disconnect names an admitted peer; the peer count agrees.
pub fn node_admission(data: &[u8]) {
    use ethpeer::dial::{ConnKind, DialConfig};
    use ethpeer::node::{Action, ConnId, Node, NodeConfig};
    use ethpeer::p2p::{Capability, Fault, LocalCapability};
    use ethpeer::time::Mono;
    use std::collections::{BTreeMap, BTreeSet};

    let keys = dial_keys();
    let mut s = Script { rest: data };
    let (a, b, c, d) = (s.byte(), s.byte(), s.byte(), s.byte());
    let max_peers = usize::from(a % 8);
    let dial_ratio = usize::from(a / 8 % 4);
    let limits = DialConfig {
        max_peers,
        dial_ratio,
        max_active_dials: 0,
        netrestrict: None,
    };
    let max_inbound = limits.max_inbound();
    let names = ["eth", "snap", "les"];
    let ours: Vec<LocalCapability> = match d % 4 {
        0 => Vec::new(),
        1 => vec![LocalCapability::new(Capability::new("eth", 69), 18)],
        2 => vec![
            LocalCapability::new(Capability::new("eth", 68), 17),
            LocalCapability::new(Capability::new("eth", 69), 18),
        ],
        _ => vec![
            LocalCapability::new(Capability::new("eth", 69), 18),
            LocalCapability::new(Capability::new("snap", 1), 8),
        ],
    };
    let mut trusted: BTreeSet<u8> = (1..DIAL_NODES).filter(|n| b >> (n % 8) & 1 == 1).collect();
    let statics: Vec<Enode> = (1..DIAL_NODES)
        .filter(|n| c >> (n % 8) & 1 == 1)
        .map(|n| Enode::new(keys[usize::from(n)].0, dial_addr(n, 3).ip(), 30303, 30303))
        .collect();
    let config = NodeConfig {
        max_peers,
        dial_ratio,
        protocols: ours.clone(),
        trusted: trusted.iter().map(|n| keys[usize::from(*n)].1).collect(),
        static_nodes: statics,
        netrestrict: None,
    };
    let mut now = Mono(1_000);
    let mut node = Node::new(keys[0].1, config, now, u64::from(d));
    let mut conns: BTreeMap<ConnId, AdmissionConn> = BTreeMap::new();
    let mut next = 1u64;
    let mut dials: Vec<ethpeer::dial::DialTask> = Vec::new();
    let id_of = |n: u8| keys[usize::from(n)].1;

    for _ in 0..256 {
        // The loop drains the node's actions after every input.
        while let Some(action) = node.poll_action(now) {
            match action {
                Action::Dial(task) => {
                    let target = task.node.id();
                    assert_ne!(target, keys[0].1, "a dial to ourselves");
                    assert!(
                        !conns
                            .values()
                            .any(|c| c.peer && c.node.is_some_and(|n| id_of(n) == target)),
                        "a dial to a node already connected"
                    );
                    if dials.len() < 16 {
                        dials.push(task);
                    }
                }
                Action::Disconnect { conn, .. } => {
                    assert!(
                        conns.get(&conn).is_some_and(|c| c.peer),
                        "a Disconnect for {conn:?}, not an admitted peer"
                    );
                }
            }
        }
        let peers = conns.values().filter(|c| c.peer).count();
        assert_eq!(node.peer_count(), peers, "the peer count");
        if s.done() {
            break;
        }
        let op = s.byte() % 9;
        let n = s.byte() % DIAL_NODES;
        let v = s.byte();
        // A connection the script names: the v-th the model holds.
        let pick = (!conns.is_empty()).then(|| {
            *conns
                .keys()
                .nth(usize::from(v) % conns.len())
                .expect("in range")
        });
        match op {
            0 => {
                let conn = ConnId(next);
                next += 1;
                node.handle_conn_started(now, conn, None, dial_addr(n, 3));
                conns.insert(
                    conn,
                    AdmissionConn {
                        kind: ConnKind::Inbound,
                        node: None,
                        peer: false,
                        refused: false,
                    },
                );
            }
            1 if !dials.is_empty() => {
                let task = dials.remove(usize::from(v) % dials.len());
                let conn = ConnId(next);
                next += 1;
                node.handle_conn_started(now, conn, Some(&task), task.node.addr());
                conns.insert(
                    conn,
                    AdmissionConn {
                        kind: ConnKind::of_dial(task.kind),
                        node: None,
                        peer: false,
                        refused: false,
                    },
                );
            }
            2 => {
                // Checkpoint 1, once per connection. A dialed connection proves the node dialed
                // unless v says it turned out to be another.
                let Some(conn) = pick.filter(|c| conns[c].node.is_none() && !conns[c].refused)
                else {
                    continue;
                };
                let m = &conns[&conn];
                let id = id_of(n);
                let got = node.handle_encrypted(now, conn, keys[usize::from(n)].0);
                let peers = conns.values().filter(|c| c.peer).count();
                let inbound_peers = conns
                    .values()
                    .filter(|c| c.peer && c.kind == ConnKind::Inbound)
                    .count();
                let is_trusted = trusted.contains(&n);
                let privileged = is_trusted || m.kind == ConnKind::StaticDialed;
                // Any other connection past checkpoint 1 holds the id until it closes, even one
                // refused at checkpoint 2.
                let held = conns
                    .iter()
                    .any(|(k, c)| *k != conn && c.node.is_some_and(|x| id_of(x) == id));
                let want = if held {
                    Err(Fault::AlreadyConnected)
                } else if n == 0 {
                    Err(Fault::IsSelf)
                } else if (!privileged && peers >= max_peers)
                    || (!is_trusted && m.kind == ConnKind::Inbound && inbound_peers >= max_inbound)
                {
                    Err(Fault::TooManyPeers)
                } else {
                    Ok(())
                };
                assert_eq!(got, want, "checkpoint 1 of node {n} ({:?})", m.kind);
                let m = conns.get_mut(&conn).expect("picked");
                match got {
                    Ok(()) => m.node = Some(n),
                    Err(_) => m.refused = true,
                }
            }
            3 => {
                // Checkpoint 2, only after checkpoint 1 passed.
                let Some(conn) =
                    pick.filter(|c| conns[c].node.is_some() && !conns[c].peer && !conns[c].refused)
                else {
                    continue;
                };
                let theirs: Vec<Capability> = (0..usize::from(v % 5))
                    .map(|i| {
                        let x = s.byte();
                        Capability::new(
                            names[usize::from(x) % names.len()],
                            66 + u32::from(x / 3 % 5) - if i % 2 == 0 { 0 } else { 65 },
                        )
                    })
                    .collect();
                let hello = Hello {
                    protocol_version: 5,
                    client_id: "fuzz".into(),
                    capabilities: theirs.clone(),
                    listen_port: 0,
                    id: keys[usize::from(conns[&conn].node.expect("checked"))].0,
                };
                let m = &conns[&conn];
                let x = m.node.expect("checked");
                let got = node.handle_hello(now, conn, &hello);
                let peers = conns.values().filter(|c| c.peer).count();
                let inbound_peers = conns
                    .values()
                    .filter(|c| c.peer && c.kind == ConnKind::Inbound)
                    .count();
                let is_trusted = trusted.contains(&x);
                let privileged = is_trusted || m.kind == ConnKind::StaticDialed;
                // What is shared: per name, the highest version both offer.
                let mut want_shared: BTreeMap<&str, u32> = BTreeMap::new();
                for l in &ours {
                    if theirs.contains(&l.capability) {
                        let e = want_shared.entry(l.capability.name.as_str()).or_insert(0);
                        *e = (*e).max(l.capability.version);
                    }
                }
                let want = if !ours.is_empty() && want_shared.is_empty() && !privileged {
                    Err(Fault::NothingShared)
                } else if (!privileged && peers >= max_peers)
                    || (!is_trusted && m.kind == ConnKind::Inbound && inbound_peers >= max_inbound)
                {
                    Err(Fault::TooManyPeers)
                } else {
                    Ok(())
                };
                match (&got, want) {
                    (Ok(shared), Ok(())) => {
                        let got_pairs: Vec<(&str, u32)> = shared
                            .iter()
                            .map(|c| (c.capability.name.as_str(), c.capability.version))
                            .collect();
                        let want_pairs: Vec<(&str, u32)> = want_shared.into_iter().collect();
                        assert_eq!(got_pairs, want_pairs, "the shared capabilities");
                        let mut offset = 0x10;
                        for c in shared {
                            assert_eq!(c.offset, offset, "id ranges are consecutive from 0x10");
                            offset += c.length;
                        }
                    }
                    (got, want) => assert_eq!(
                        got.as_ref().map(|_| ()),
                        want.as_ref().map(|_| ()),
                        "checkpoint 2 of node {x}"
                    ),
                }
                let m = conns.get_mut(&conn).expect("picked");
                match got {
                    Ok(_) => m.peer = true,
                    Err(_) => m.refused = true,
                }
            }
            4 => {
                if let Some(conn) = pick {
                    node.handle_closed(now, conn);
                    conns.remove(&conn);
                    assert!(
                        node.conn(conn).is_none(),
                        "a closed connection is forgotten"
                    );
                }
            }
            5 => {
                let e = Enode::new(
                    keys[usize::from(n)].0,
                    dial_addr(n, v).ip(),
                    dial_addr(n, v).port(),
                    30303,
                );
                if v & 1 == 0 {
                    let _ = node.add_static(now, &e);
                } else {
                    let _ = node.remove_static(now, &id_of(n));
                }
            }
            6 => {
                if v & 1 == 0 {
                    node.add_trusted(id_of(n));
                    trusted.insert(n);
                } else {
                    let was = node.remove_trusted(&id_of(n));
                    assert_eq!(was, trusted.remove(&n), "remove_trusted's answer");
                }
            }
            7 => {
                let e = Enode::new(keys[usize::from(n)].0, dial_addr(n, 3).ip(), 30303, 30303);
                node.handle_candidates(now, [e]);
            }
            _ => {
                now += u64::from(v) * 250;
                node.handle_timeout(now);
            }
        }
    }
}

// ---- chain sync ------------------------------------------------------------------------------

/// The sync target's local head: block 11 of the fixture chain, whose 10.6 MB of receipts stay
/// below it (receipts.rlp is read once; the script's blocks are 12 to [`SYNC_LAST`]).
const SYNC_BASE: u64 = 11;

/// The last fixture block the sync target uses: 24 blocks above its head.
const SYNC_LAST: u64 = 35;

/// Peers the sync target speaks with at once.
const SYNC_PEERS: u8 = 6;

/// Fixture blocks 0 to [`SYNC_LAST`], indexed by number (genesis and block 11's body and
/// receipts are left empty: the target never asks for them).
struct SyncChain {
    headers: Vec<Vec<u8>>,
    bodies: Vec<Vec<u8>>,
    hashes: Vec<[u8; 32]>,
    /// The consensus receipts list RLP, as receipts.rlp has it.
    receipts_rlp: Vec<Vec<u8>>,
    receipts: Vec<Vec<Receipt>>,
}

impl SyncChain {
    fn number(&self, hash: &[u8; 32]) -> Option<u64> {
        (SYNC_BASE..=SYNC_LAST).find(|&n| self.hashes[n as usize] == *hash)
    }
}

/// fixtures/chain/`name`, from the main crate's folder or the fuzz crate's (this file is built in
/// both).
fn fixture_file(name: &str) -> std::fs::File {
    let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    [here.join("fixtures/chain"), here.join("../fixtures/chain")]
        .iter()
        .find_map(|d| std::fs::File::open(d.join(name)).ok())
        .expect("fixtures/chain is beside the crate")
}

/// The sync target's blocks, read from chain.rlp and receipts.rlp once per process.
fn sync_chain() -> &'static SyncChain {
    use ethpeer::chain::import::{BLOCK_SIZE_MAX, RECEIPTS_SIZE_MAX};
    static CHAIN: OnceLock<SyncChain> = OnceLock::new();
    CHAIN.get_or_init(|| {
        let read = |name: &str, limit: usize| {
            let file = std::io::BufReader::new(fixture_file(name));
            let mut r = RlpReader::new(file, limit);
            (1..=SYNC_LAST)
                .map(|_| r.next_item().expect("fixture RLP").expect("enough blocks"))
                .collect::<Vec<_>>()
        };
        let blocks = read("chain.rlp", BLOCK_SIZE_MAX);
        let lists = read("receipts.rlp", RECEIPTS_SIZE_MAX);
        let mut c = SyncChain {
            headers: vec![Vec::new()],
            bodies: vec![Vec::new()],
            hashes: vec![[0; 32]],
            receipts_rlp: vec![Vec::new()],
            receipts: vec![Vec::new()],
        };
        for (i, (block, list)) in blocks.iter().zip(&lists).enumerate() {
            let n = i as u64 + 1;
            let b = ethpeer::chain::verify::verify_block(block, None, n).expect("fixture block");
            c.headers.push(b.header_rlp);
            c.hashes.push(b.hash);
            if n <= SYNC_BASE {
                c.bodies.push(Vec::new());
                c.receipts_rlp.push(Vec::new());
                c.receipts.push(Vec::new());
                continue;
            }
            c.bodies.push(b.body_rlp);
            c.receipts_rlp.push(list.clone());
            c.receipts.push(
                rlp::Rlp::new(list)
                    .iter()
                    .map(|r| Receipt::from_consensus(r.as_raw()).expect("fixture receipt"))
                    .collect(),
            );
        }
        c
    })
}

/// A peer of the sync target: what it told the syncer, and what it really has.
struct SyncPeer {
    conn: ethpeer::p2p::ConnId,
    version: EthVersion,
    /// The head number the syncer knows (None for eth/68 until its head header arrives).
    number: Option<u64>,
    /// The Status head hash (a fixture hash or a made-up one).
    hash: [u8; 32],
    /// The highest block it really serves (its claims may go beyond).
    have: u64,
    /// The earliest block it serves (eth/69+).
    earliest: u64,
}

/// A request the sync target believes in flight.
struct SyncAsked {
    conn: ethpeer::p2p::ConnId,
    deadline: ethpeer::time::Mono,
    msg: EthMessage,
}

/// A reply's items: header or body RLPs, or receipt lists.
#[derive(Clone, PartialEq)]
enum SyncItems {
    Raw(Vec<Vec<u8>>),
    Receipts(Vec<Vec<Receipt>>),
}

use ethpeer::eth::EthMessage;

/// The reply kind a request wants: 0 headers, 1 bodies, 2 receipts.
fn sync_kind(msg: &EthMessage) -> u8 {
    match msg {
        EthMessage::GetBlockHeaders(_) | EthMessage::BlockHeaders(_) => 0,
        EthMessage::GetBlockBodies(_) | EthMessage::BlockBodies(_) => 1,
        _ => 2,
    }
}

/// What the fixture chain holds for a request, up to block `have` and from `earliest` (a
/// prefix: a server stops at the first item it lacks).
fn sync_serve(c: &SyncChain, msg: &EthMessage, earliest: u64, have: u64) -> SyncItems {
    use ethpeer::eth::BlockOrigin;
    let has = |n: u64| n >= earliest && n <= have.min(SYNC_LAST);
    let by_hash = |hashes: &[[u8; 32]]| -> Vec<u64> {
        hashes
            .iter()
            .map_while(|h| c.number(h).filter(|&n| has(n)))
            .collect()
    };
    match msg {
        EthMessage::GetBlockHeaders(q) => {
            let numbers: Vec<u64> = match q.origin {
                BlockOrigin::Hash(h) => c.number(&h).filter(|&n| has(n)).into_iter().collect(),
                BlockOrigin::Number(start) => (start..start.saturating_add(q.amount))
                    .take_while(|&n| has(n))
                    .collect(),
            };
            SyncItems::Raw(
                numbers
                    .iter()
                    .map(|&n| c.headers[n as usize].clone())
                    .collect(),
            )
        }
        EthMessage::GetBlockBodies(q) => SyncItems::Raw(
            by_hash(&q.hashes)
                .iter()
                .map(|&n| c.bodies[n as usize].clone())
                .collect(),
        ),
        EthMessage::GetReceipts(q) => {
            let skip = usize::try_from(q.first_block_receipt_index).unwrap_or(usize::MAX);
            let lists = by_hash(&q.hashes)
                .iter()
                .enumerate()
                .map(|(i, &n)| {
                    let all = &c.receipts[n as usize];
                    all.get(if i == 0 { skip.min(all.len()) } else { 0 }..)
                        .unwrap_or(&[])
                        .to_vec()
                })
                .collect();
            SyncItems::Receipts(lists)
        }
        _ => SyncItems::Raw(Vec::new()),
    }
}

/// Whether a reply carries only what the fixture chain holds for the request: a prefix of the
/// whole answer, the last receipt list possibly a non-empty eth/70 page of its list.
fn sync_faultless(truth: &SyncItems, reply: &SyncItems, incomplete: bool) -> bool {
    match (truth, reply) {
        (SyncItems::Raw(t), SyncItems::Raw(r)) => r.len() <= t.len() && r[..] == t[..r.len()],
        (SyncItems::Receipts(t), SyncItems::Receipts(r)) => {
            let Some((last, rest)) = r.split_last() else {
                return !incomplete;
            };
            let k = rest.len();
            r.len() <= t.len()
                && rest[..] == t[..k]
                && if incomplete {
                    !last.is_empty() && last.len() < t[k].len() && last[..] == t[k][..last.len()]
                } else {
                    *last == t[k]
                }
        }
        _ => false,
    }
}

/// A block number and hash.
type SyncTip = (u64, [u8; 32]);

/// The model beside the syncer: its peers, requests and store.
struct SyncModel {
    config: ethpeer::eth::sync::SyncConfig,
    peers: Vec<Option<SyncPeer>>,
    asked: std::collections::BTreeMap<u64, SyncAsked>,
    late: std::collections::VecDeque<(u64, ethpeer::p2p::ConnId)>,
    ids: std::collections::HashSet<u64>,
    timeouts: std::collections::BTreeMap<ethpeer::p2p::ConnId, u32>,
    /// Peers that sent data the fixture chain does not hold, or stalled.
    guilty: std::collections::BTreeSet<ethpeer::p2p::ConnId>,
    /// Peers whose requests timed out `TIMEOUTS_MAX` times: the syncer must drop them.
    stalled: std::collections::BTreeSet<ethpeer::p2p::ConnId>,
    /// Blocks the syncer said no peer had receipts for.
    unavailable: std::collections::BTreeSet<u64>,
    /// The store's head.
    store: (u64, [u8; 32]),
    /// The last block handed over in a Write.
    handed: (u64, [u8; 32]),
    /// Outstanding writes: the first block's parent and the last block.
    writes: std::collections::VecDeque<([u8; 32], SyncTip)>,
}

impl SyncModel {
    fn slot_of(&self, conn: ethpeer::p2p::ConnId) -> Option<usize> {
        self.peers
            .iter()
            .position(|p| p.as_ref().is_some_and(|p| p.conn == conn))
    }

    /// The peer left (or was dropped): the syncer forgets its requests without a timeout.
    fn forget(&mut self, conn: ethpeer::p2p::ConnId) {
        if let Some(i) = self.slot_of(conn) {
            self.peers[i] = None;
        }
        self.asked.retain(|_, a| a.conn != conn);
    }

    /// Drains the syncer's actions as the event loop does, checking each.
    fn drain(&mut self, syncer: &mut ethpeer::eth::sync::Syncer, now: ethpeer::time::Mono) {
        use ethpeer::eth::sync::SyncAction;
        while let Some(action) = syncer.poll_action() {
            match action {
                SyncAction::Request { peer, msg } => self.request(peer, msg, now),
                SyncAction::Drop { peer, why } => {
                    assert!(
                        self.slot_of(peer).is_some(),
                        "dropped {peer}, not connected"
                    );
                    assert!(
                        self.guilty.contains(&peer),
                        "dropped {peer} for nothing it did: {why}"
                    );
                    self.stalled.remove(&peer);
                    self.forget(peer);
                    syncer.remove_peer(now, peer);
                }
                SyncAction::Write(blocks) => self.write(&blocks),
                SyncAction::Log { msg, fields, .. } => {
                    if msg == "Receipts unavailable" {
                        let n = fields.iter().find(|f| f.0 == "number").map(|f| &f.1);
                        let n = n.and_then(|n| n.parse().ok()).expect("a block number");
                        self.unavailable.insert(n);
                    }
                }
            }
        }
        assert!(
            syncer.buffered() <= self.config.blocks_buffered_max,
            "{} blocks buffered",
            syncer.buffered()
        );
    }

    fn request(&mut self, peer: ethpeer::p2p::ConnId, msg: EthMessage, now: ethpeer::time::Mono) {
        use ethpeer::eth::BlockOrigin;
        use ethpeer::eth::sync::syncer::REQUESTS_PER_PEER_MAX;
        let c = sync_chain();
        let slot = self
            .slot_of(peer)
            .expect("a request to a peer not connected");
        let p = self.peers[slot].as_ref().expect("a connected peer");
        let config = &self.config;
        let store = self.store.0;
        let in_range = |n: u64| {
            p.number.is_some_and(|top| n <= top)
                && n >= p.earliest
                && n > store
                && n <= store + config.blocks_buffered_max as u64
        };
        let numbers = |hashes: &[[u8; 32]]| -> Vec<u64> {
            let ns: Vec<u64> = hashes
                .iter()
                .map(|h| c.number(h).expect("a hash not of the chain asked for"))
                .collect();
            assert!(
                ns.windows(2).all(|w| w[0] < w[1]),
                "blocks asked out of order"
            );
            assert!(
                ns.iter().all(|&n| in_range(n)),
                "{ns:?} asked of {peer} at {:?} from {}, store {store}",
                p.number,
                p.earliest
            );
            ns
        };
        let id = match &msg {
            EthMessage::GetBlockHeaders(q) => {
                match q.origin {
                    BlockOrigin::Hash(h) => {
                        assert!(p.version == EthVersion::Eth68 && p.number.is_none());
                        assert!(
                            h == p.hash && q.amount == 1,
                            "a head request for another head"
                        );
                    }
                    BlockOrigin::Number(start) => {
                        assert!(q.amount >= 1 && q.amount <= config.headers_per_request);
                        let end = start + q.amount - 1;
                        assert!(
                            p.number.is_some_and(|top| end <= top) && start >= p.earliest,
                            "headers {start}..={end} asked of {peer} at {:?} from {}",
                            p.number,
                            p.earliest
                        );
                        // Chunks start within the window; the last may reach a chunk beyond.
                        let window =
                            config.headers_buffered_max as u64 + config.headers_per_request;
                        assert!(
                            end < store + window,
                            "headers {start}..={end} beyond the header window (store {store})"
                        );
                    }
                }
                assert!(!q.reverse && q.skip == 0);
                q.request_id
            }
            EthMessage::GetBlockBodies(q) => {
                assert!(!q.hashes.is_empty() && q.hashes.len() <= config.bodies_per_request);
                numbers(&q.hashes);
                q.request_id
            }
            EthMessage::GetReceipts(q) => {
                assert!(config.receipts, "receipts asked with receipts off");
                assert!(!q.hashes.is_empty() && q.hashes.len() <= config.receipts_per_request);
                numbers(&q.hashes);
                if q.first_block_receipt_index > 0 {
                    assert!(p.version == EthVersion::Eth70 && q.hashes.len() == 1);
                }
                q.request_id
            }
            other => panic!("not a sync request: {other:?}"),
        };
        assert!(self.ids.insert(id), "request id {id} used twice");
        let in_flight = self.asked.values().filter(|a| a.conn == peer).count();
        assert!(
            in_flight < REQUESTS_PER_PEER_MAX,
            "a request beyond {REQUESTS_PER_PEER_MAX} in flight to {peer}"
        );
        let deadline = now + config.request_timeout;
        self.asked.insert(
            id,
            SyncAsked {
                conn: peer,
                deadline,
                msg,
            },
        );
    }

    fn write(&mut self, blocks: &[ethpeer::chain::block::StoredBlock]) {
        let c = sync_chain();
        assert!(!blocks.is_empty() && blocks.len() <= self.config.write_batch_max);
        assert!(
            self.writes.len() < self.config.writes_in_flight_max,
            "a write beyond writes_in_flight_max"
        );
        let parent = self.handed.1;
        for b in blocks {
            let n = b.header.number;
            assert_eq!(
                n,
                self.handed.0 + 1,
                "a write that does not continue the head"
            );
            assert_eq!(b.header.parent_hash, self.handed.1, "a write not linked");
            assert!(n <= SYNC_LAST, "block {n} was never served");
            let i = n as usize;
            assert_eq!(b.hash, c.hashes[i], "block {n} is not the chain's");
            assert_eq!(b.header_rlp, c.headers[i]);
            assert_eq!(
                b.body_rlp, c.bodies[i],
                "block {n}'s body is not the chain's"
            );
            match &b.receipts_rlp {
                Some(r) => assert_eq!(*r, c.receipts_rlp[i], "block {n}'s receipts"),
                None => assert!(
                    !self.config.receipts || self.unavailable.contains(&n),
                    "block {n} written without receipts"
                ),
            }
            self.handed = (n, b.hash);
        }
        self.writes.push_back((parent, self.handed));
    }
}

/// The chain syncer (`eth::sync::syncer::Syncer`, with its downloader) driven by a script: a
/// config byte (receipts on or off, `min_peers`, merged or not, 1 or 2 writes in flight), then steps of four bytes
/// (kind and arguments) over up to 6 peers (eth/68, 69 or 70, serving fixture blocks 12-35 above
/// our head at 11, some claiming heads beyond what they have, a made-up head hash, a later
/// earliest block): peers added (named or not), updated, announcing, removed; a reply to a
/// request in flight, honest (whole, short, an eth/70 receipts page, empty) or not (reordered,
/// an item garbled or swapped for another block's, one too many), to a made-up id, of the wrong
/// kind, from another peer, or late; a write done or failed; the clock moved. The event loop's
/// drain follows every step. Checked for any input: a request goes only to a connected peer,
/// with an id never used, within `REQUESTS_PER_PEER_MAX` in flight to it, within its
/// per-request maximum, for blocks the peer claims to serve, above our head and within the
/// header and body windows; a reply is refused (`Unsolicited`) exactly when no request of
/// ours to that peer of that kind has its id (a timed-out one's first late reply is ignored);
/// a peer is dropped only after it sent data the chain does not hold or stalled, and a stalled
/// one (`TIMEOUTS_MAX` timeouts) is; a write carries up to `write_batch_max` of the chain's
/// blocks (header, body and receipts as the fixture has them; none only when reported
/// unavailable) continuing the last block handed over, within `writes_in_flight_max`; the head
/// is what the store confirmed; `buffered()` stays within `blocks_buffered_max`; no timer is
/// left due after a timeout, and one is set while requests are in flight.
pub fn syncer(data: &[u8]) {
    syncer_script(data);
}

/// Runs a sync script (see [`syncer`]) and returns the store's head number at its end.
pub fn syncer_script(data: &[u8]) -> u64 {
    use ethpeer::chain::block::Head;
    use ethpeer::chain::header::U256;
    use ethpeer::eth::sync::syncer::{LATE_IDS_MAX, TIMEOUTS_MAX};
    use ethpeer::eth::sync::{LocalHead, PeerHead, SyncConfig, Syncer};
    use ethpeer::eth::{RawList, RawResponse, Receipts};
    use ethpeer::p2p::ConnId;
    use ethpeer::time::Mono;

    let c = sync_chain();
    let mut s = Script { rest: data };
    let flags = s.byte();
    let config = SyncConfig {
        min_peers: usize::from(flags >> 1 & 3) + 1,
        force_interval: 2_000,
        request_timeout: 500,
        headers_per_request: 4,
        bodies_per_request: 3,
        receipts_per_request: 2,
        blocks_buffered_max: 6,
        headers_buffered_max: 12,
        write_batch_max: 3,
        writes_in_flight_max: 2 - usize::from(flags >> 4 & 1),
        receipts: flags & 1 == 0,
        merged: flags & 8 == 0,
    };
    let td = |n: u64| U256::from_u64(1_000 + n);
    let head = (SYNC_BASE, c.hashes[SYNC_BASE as usize]);
    let local = LocalHead {
        number: head.0,
        hash: head.1,
        td: td(head.0),
    };
    let mut syncer = Syncer::new(config, local);
    let mut m = SyncModel {
        config,
        peers: (0..SYNC_PEERS).map(|_| None).collect(),
        asked: Default::default(),
        late: Default::default(),
        ids: Default::default(),
        timeouts: Default::default(),
        guilty: Default::default(),
        stalled: Default::default(),
        unavailable: Default::default(),
        store: head,
        handed: head,
        writes: Default::default(),
    };
    let mut now = Mono(1_000);
    let mut next_conn = 1;
    let made_up = |b: u8| {
        let mut h = [0xee; 32];
        h[0] = b;
        h
    };
    // A number around the chain: one below our head up to a few beyond the last block.
    let around = |b: u8| SYNC_BASE - 1 + u64::from(b) % (SYNC_LAST - SYNC_BASE + 8);

    for _ in 0..256 {
        if s.done() {
            break;
        }
        let (op, a, b, x) = (s.byte() % 8, s.byte(), s.byte(), s.byte());
        let slot = usize::from(a % SYNC_PEERS);
        let conn = m.peers[slot].as_ref().map(|p| p.conn);
        let mut timed = false;
        match op {
            0 => {
                if let Some(old) = conn {
                    m.forget(old);
                    syncer.remove_peer(now, old);
                }
                let version =
                    [EthVersion::Eth68, EthVersion::Eth69, EthVersion::Eth70][usize::from(b % 3)];
                let have =
                    (SYNC_BASE - 1 + u64::from(x) % (SYNC_LAST - SYNC_BASE + 2)).min(SYNC_LAST);
                let claim = if b & 4 != 0 {
                    have + 1 + u64::from(x >> 5)
                } else {
                    have
                };
                let hash = if b & 8 != 0 || claim > SYNC_LAST {
                    made_up(x)
                } else {
                    c.hashes[claim as usize]
                };
                let eth68 = version == EthVersion::Eth68;
                let earliest = if !eth68 && b & 16 != 0 {
                    SYNC_BASE + u64::from(b >> 5) % 3
                } else {
                    0
                };
                let id = ConnId(next_conn);
                next_conn += 1;
                m.peers[slot] = Some(SyncPeer {
                    conn: id,
                    version,
                    number: (!eth68).then_some(claim),
                    hash,
                    have,
                    earliest,
                });
                if a & 0x80 != 0 {
                    syncer.prefer_peer(id);
                }
                let status = PeerHead {
                    version,
                    hash,
                    number: (!eth68).then_some(claim),
                    td: eth68.then(|| td(claim)),
                    earliest,
                };
                syncer.add_peer(now, id, status);
            }
            1 => {
                let Some(p) = m.peers[slot].as_mut() else {
                    continue;
                };
                if p.version == EthVersion::Eth68 {
                    continue;
                }
                let latest = around(b);
                let hash = match latest {
                    n if x & 1 == 0 && n <= SYNC_LAST => c.hashes[n as usize],
                    _ => made_up(b),
                };
                p.number = Some(latest);
                syncer.update_peer(now, p.conn, latest, hash);
            }
            2 => {
                let Some(p) = m.peers[slot].as_mut() else {
                    continue;
                };
                let number = around(b);
                let hash = match number {
                    n if x & 1 == 0 && n <= SYNC_LAST => c.hashes[n as usize],
                    _ => made_up(b),
                };
                if p.number.is_none_or(|old| number >= old) {
                    p.number = Some(number);
                }
                let t = (x & 2 != 0).then(|| td(number));
                syncer.announce(now, p.conn, number, hash, t);
            }
            3 => {
                let Some(id) = conn else { continue };
                m.forget(id);
                syncer.remove_peer(now, id);
            }
            4 | 7 => {
                // A reply: to a request in flight (or a late one), or a stray one (op 7).
                let late = a & 0x80 != 0 && !m.late.is_empty();
                let (id, mut from, kind, truth, served, version) = if op == 7 {
                    let Some(id) = conn else { continue };
                    let p = m.peers[slot].as_ref().expect("connected");
                    let empty = match b % 3 {
                        2 => SyncItems::Receipts(Vec::new()),
                        _ => SyncItems::Raw(Vec::new()),
                    };
                    (u64::from(x), id, b % 3, empty.clone(), empty, p.version)
                } else if late {
                    let (id, from) = m.late[usize::from(a & 0x7f) % m.late.len()];
                    let Some(i) = m.slot_of(from) else { continue };
                    let version = m.peers[i].as_ref().expect("connected").version;
                    let empty = SyncItems::Raw(Vec::new());
                    (id, from, 0, empty.clone(), empty, version)
                } else {
                    let Some((&id, q)) = m.asked.iter().nth(usize::from(a) % m.asked.len().max(1))
                    else {
                        continue;
                    };
                    let i = m
                        .slot_of(q.conn)
                        .expect("a request in flight to a gone peer");
                    let p = m.peers[i].as_ref().expect("connected");
                    let truth = sync_serve(c, &q.msg, 0, SYNC_LAST);
                    let served = sync_serve(c, &q.msg, p.earliest, p.have);
                    (id, q.conn, sync_kind(&q.msg), truth, served, p.version)
                };
                // What the script makes of the honest reply.
                let mut reply = served;
                let mut incomplete = false;
                let mode = if op == 4 && !late { b % 12 } else { 0 };
                let pick = |len: usize| usize::from(x) % len.max(1);
                let other =
                    SYNC_BASE as usize + 1 + usize::from(x) % (SYNC_LAST - SYNC_BASE) as usize;
                match (&mut reply, mode) {
                    (SyncItems::Raw(items), 3) => {
                        items.pop();
                    }
                    (SyncItems::Receipts(lists), 3) => {
                        lists.pop();
                    }
                    (SyncItems::Raw(items), 4) => items.clear(),
                    (SyncItems::Receipts(lists), 4) => lists.clear(),
                    (SyncItems::Raw(items), 5) => items.reverse(),
                    (SyncItems::Receipts(lists), 5) => lists.reverse(),
                    (SyncItems::Raw(items), 6) => {
                        let i = pick(items.len());
                        match items.get_mut(i) {
                            Some(item) => *item = vec![0x83, 1, 2, 3],
                            None => items.push(vec![0x83, 1, 2, 3]),
                        }
                    }
                    (SyncItems::Receipts(lists), 6) => {
                        let i = pick(lists.len());
                        match lists.get_mut(i) {
                            Some(list) => match list.first_mut() {
                                Some(r) => r.cumulative_gas += 1,
                                None => list.push(c.receipts[12][0].clone()),
                            },
                            None => lists.push(c.receipts[12].clone()),
                        }
                    }
                    (SyncItems::Raw(items), 7 | 8) => {
                        let swap = if kind == 0 {
                            c.headers[other].clone()
                        } else {
                            c.bodies[other].clone()
                        };
                        let i = pick(items.len());
                        match items.get_mut(i) {
                            Some(item) if mode == 7 => *item = swap,
                            _ => items.push(swap),
                        }
                    }
                    (SyncItems::Receipts(lists), 7 | 8) => {
                        let swap = c.receipts[other].clone();
                        let i = pick(lists.len());
                        match lists.get_mut(i) {
                            Some(list) if mode == 7 => *list = swap,
                            _ => lists.push(swap),
                        }
                    }
                    (SyncItems::Receipts(lists), 2) if version == EthVersion::Eth70 => {
                        // An eth/70 page: the last list cut short.
                        if let Some(last) = lists.last_mut().filter(|l| l.len() >= 2) {
                            last.truncate(1 + pick(last.len() - 1));
                            incomplete = true;
                        }
                    }
                    _ => {}
                }
                let mut id = id;
                let mut kind = kind;
                match mode {
                    9 => id += 1 << 40,
                    10 => kind = (kind + 1) % 2,
                    11 => match m.peers.iter().flatten().find(|p| p.conn != from) {
                        Some(p) => from = p.conn,
                        None => id += 1 << 40,
                    },
                    _ => {}
                }
                let msg = match (&reply, kind) {
                    (SyncItems::Raw(items), 0 | 1) => {
                        let r = RawResponse {
                            request_id: id,
                            items: RawList::from_items(items).expect("valid items"),
                        };
                        if kind == 0 {
                            EthMessage::BlockHeaders(r)
                        } else {
                            EthMessage::BlockBodies(r)
                        }
                    }
                    (SyncItems::Receipts(lists), 2) => EthMessage::Receipts(
                        Receipts::from_receipts(version, id, incomplete, lists)
                            .expect("receipts encode"),
                    ),
                    (_, 2) => EthMessage::Receipts(
                        Receipts::from_receipts(version, id, false, &[]).expect("receipts encode"),
                    ),
                    (_, k) => {
                        let r = RawResponse {
                            request_id: id,
                            items: RawList::new(),
                        };
                        if k == 0 {
                            EthMessage::BlockHeaders(r)
                        } else {
                            EthMessage::BlockBodies(r)
                        }
                    }
                };
                // The model's expectation: taken when it answers a request of ours to that
                // peer of that kind, ignored once when it answers one that timed out.
                let kind = sync_kind(&msg);
                let matched = m
                    .asked
                    .get(&id)
                    .is_some_and(|q| q.conn == from && sync_kind(&q.msg) == kind);
                let late_at = m.late.iter().position(|l| *l == (id, from));
                let mut head_asked = None;
                if matched {
                    let q = m.asked.remove(&id).expect("matched");
                    if let EthMessage::GetBlockHeaders(q) = &q.msg
                        && let ethpeer::eth::BlockOrigin::Hash(h) = q.origin
                    {
                        head_asked = Some(h);
                    }
                    if !sync_faultless(&truth, &reply, incomplete) {
                        m.guilty.insert(from);
                    }
                } else if let Some(i) = late_at {
                    m.late.remove(i);
                }
                let result = syncer.handle_response(now, from, msg);
                assert_eq!(
                    result.is_ok(),
                    matched || late_at.is_some(),
                    "reply {id} from {from}: {result:?}"
                );
                if result.is_err() {
                    // The loop disconnects a peer that sent what we never asked.
                    m.forget(from);
                    syncer.remove_peer(now, from);
                } else if let Some(asked) = head_asked
                    && let Some(i) = m.slot_of(from)
                    && let Some(p) = m.peers[i].as_mut()
                    && let SyncItems::Raw(items) = &reply
                    && let [h] = &items[..]
                    && ethpeer::crypto::keccak256(h) == asked
                {
                    // eth/68: the head's header gives its number.
                    p.number = c.number(&asked);
                }
            }
            5 => {
                let Some((parent, last)) = m.writes.pop_front() else {
                    continue;
                };
                let result = if a % 8 == 7 || parent != m.store.1 {
                    Err("disk full".to_string())
                } else {
                    m.store = last;
                    Ok(Head {
                        number: last.0,
                        hash: last.1,
                        td: td(last.0),
                    })
                };
                if result.is_err() && m.writes.is_empty() {
                    m.handed = m.store;
                }
                syncer.handle_written(now, result);
            }
            _ => {
                now = match (a, syncer.poll_timeout()) {
                    (0, Some(t)) => now.max(t),
                    _ => now + u64::from(a) * 10,
                };
                timed = true;
                let expired: Vec<u64> = m
                    .asked
                    .iter()
                    .filter(|(_, q)| q.deadline <= now)
                    .map(|(&id, _)| id)
                    .collect();
                for id in expired {
                    let Some(q) = m.asked.remove(&id) else {
                        continue;
                    };
                    if m.late.len() >= LATE_IDS_MAX {
                        m.late.pop_front();
                    }
                    m.late.push_back((id, q.conn));
                    let t = m.timeouts.entry(q.conn).or_default();
                    *t += 1;
                    if *t >= TIMEOUTS_MAX {
                        m.guilty.insert(q.conn);
                        m.stalled.insert(q.conn);
                        m.asked.retain(|_, a| a.conn != q.conn);
                    }
                }
                syncer.handle_timeout(now);
            }
        }
        m.drain(&mut syncer, now);
        assert!(m.stalled.is_empty(), "a stalled peer was not dropped");
        let local = syncer.local_head();
        assert_eq!(
            (local.number, local.hash),
            m.store,
            "the head is not the store's"
        );
        let timer = syncer.poll_timeout();
        if timed {
            assert!(timer.is_none_or(|t| t > now), "a timer left due");
        }
        if let Some(first) = m.asked.values().map(|q| q.deadline).min() {
            assert!(
                timer.is_some_and(|t| t <= first),
                "requests in flight without a timer"
            );
        }
    }
    m.store.0
}
